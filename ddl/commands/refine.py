"""``ddl refine FAMILY DIR``: split a served family by the feedback its answers received.

Reads the accepted and rejected answers of FAMILY from the store (the handler's, by default
DIR's), learns the split (over θ, or over wording: RPNI or ``-m MODEL`` as the oracle), checks
it with the language algebra (G+ and G− non-empty, G+ accepts every accepted utterance, G−
every rejected one), rewrites the family's file, checks the result as ``ddl check`` does and
prints the diff.  With ``--write`` the file is replaced — only when every check passed — and a
running ``ddl serve`` picks it up on ``POST /reload``.

Exit codes: 0 the split is checked (and written with ``--write``); 1 no valid split, or the
refined family does not pass ``ddl check`` (nothing written); 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, directory_argument
from ddl.handler.config import load_config, resolve
from ddl.handler.records import HandlerError
from ddl.refine.pipeline import refine

COMMAND = "refine"


def run(args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
    err = sys.stderr if err is None else err
    directory = directory_argument(args.directory)
    try:
        config = resolve(load_config(args.config, directory), directory=directory, store=args.store)
        outcome = refine(args.family, directory, store_url=config.store or "", method=args.method,
                         model_id=args.model, write=args.write)
    except HandlerError as exc:
        print(f"ddl refine: error: {exc.code}: {exc.message}", file=err)
        return EXIT_USAGE if exc.code in ("DDL702", "DDL705", "DDL900") else EXIT_ERRORS
    if args.format == "json":
        json.dump(outcome, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        _print(outcome, out)
    return EXIT_OK if outcome["ok"] else EXIT_ERRORS


def _print(report: dict[str, Any], out: TextIO) -> None:
    split = report["split"]
    print(f"{report['family']}: {report['accepted']} accepted, {report['rejected']} rejected answers in "
          f"{report['store']}", file=out)
    for c in report["inconsistent"]:
        print(f"  inconsistent (not learned from): {c['utterance']!r} accepted ({c['accept_ids']}) and rejected "
              f"({c['reject_ids']})", file=out)
    what = split.get("predicate_text") or split.get("source") or "nothing"
    print(f"split ({split['method']}): keep {what}", file=out)
    for check in split["checks"]:
        mark = "ok " if check["ok"] else "FAILED"
        witness = f" — {check['witness']!r}" if check.get("witness") else ""
        print(f"  {mark} {check['name']}{witness}{': ' + check['message'] if check.get('message') else ''}", file=out)
    for message in split["messages"]:
        print(f"  note: {message}", file=out)
    for b in report.get("branches", []):
        print(f"  branch: {b.get('description') or b}", file=out)
    if report.get("diff"):
        out.write(report["diff"])
    for d in report["diagnostics"]:
        print(d, file=out)
    if report["written"]:
        print(f"wrote {report['path']}; a running `ddl serve` loads it on POST /reload", file=out)
    elif report["ok"]:
        print("the refined family passes ddl check; run again with --write to replace the file", file=out)
    else:
        print("no refinement written", file=out)
