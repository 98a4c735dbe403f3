"""``ddl widen FAMILY DIR``: widen a served family's grammar from the phrasings it missed (spec/widen.md).

Exit codes: 0 a widening passed the gate (and was written with ``--write``); 1 nothing could be
admitted (the reasons are printed); 2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, directory_argument
from ddl.handler.config import load_config, resolve
from ddl.handler.records import HandlerError
from ddl.handler.registry import Registry
from ddl.handler.store import open_store
from ddl.handler.widening import WidenReport, widen_family


def run(args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
    err = sys.stderr if err is None else err
    directory = directory_argument(args.directory)
    try:
        config = resolve(load_config(args.config, directory), directory=directory, store=args.store,
                         model=args.model)
        registry = Registry.load(directory)
        store = open_store(config.store or "")
        try:
            report = widen_family(registry, store, args.family, method=args.method, model_id=config.model,
                                  timeout=config.timeout, write=args.write)
        finally:
            store.close()
    except HandlerError as exc:
        print(f"ddl widen: error: {exc.code}: {exc.message}", file=err)
        return EXIT_USAGE if exc.code in ("DDL702", "DDL705", "DDL707", "DDL900") else EXIT_ERRORS
    if args.format == "json":
        json.dump(report.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        _print(report, out)
    return EXIT_OK if report.ok else EXIT_ERRORS


def _print(report: WidenReport, out: TextIO) -> None:
    print(f"{report.family} ({report.path}): {report.candidates} candidate phrasing"
          f"{'s' if report.candidates != 1 else ''}, learner {report.method}", file=out)
    for u in report.learned.unaligned:
        print(f"  not learned: {u.utterance!r}: {u.reason}", file=out)
    gate = report.gate
    if gate is not None:
        for a in gate.admitted:
            print(f"  admitted: {a.written}   (from {len(a.utterances)} phrasing"
                  f"{'s' if len(a.utterances) != 1 else ''})", file=out)
        for r in gate.refused:
            print(f"  refused: {r.alternative}: {r.reason}", file=out)
        for check in gate.checks:
            print(f"  proved: {check}", file=out)
        if gate.diff:
            out.write(gate.diff)
    if report.written:
        print(f"wrote {report.path}; a running `ddl serve` loads it on POST /reload", file=out)
    elif report.ok:
        print("the widened family passes every check; run again with --write to replace the file", file=out)
    else:
        print(f"nothing widened{': ' + report.message if report.message else ''}", file=out)
