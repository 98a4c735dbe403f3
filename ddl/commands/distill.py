"""``ddl distill UTTERANCE -m MODEL``: have a model write a family for a teaching utterance.

Its arguments are in :mod:`ddl.commands.parser`; :func:`run` returns the exit code: 0 a family passed and was written; 1 the model never produced a passing family
within the rounds, or failed mid-run (the last diagnostics and the transcript path are printed,
nothing is written); 2 usage or I/O: no model given, an unknown model (nothing was asked), an
output file that exists without ``--force``, a transcript or output that cannot be written.

Without ``-o``, the module goes to ``./<family>.ddl`` once the family's name is known (it is
never overwritten without ``--force``; the module is still in the transcript).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError, read_text, text_argument
from ddl.distill.loop import distill, note_written
from ddl.files import write_atomic
from ddl.handler.config import load_config
from ddl.handler.records import HandlerError
from ddl.handler.registry import Registry

COMMAND = "distill"


def run(args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
    """Run ``ddl distill``; returns the exit code."""
    err = sys.stderr if err is None else err
    try:
        return _run(args, out, err)
    except UsageError as exc:
        print(f"ddl {COMMAND}: error: {exc}", file=err)
        return EXIT_USAGE


def _system(args: argparse.Namespace) -> str | None:
    if args.system_file is None:
        return None if args.system is None else text_argument(args.system, "--system")
    return read_text(args.system_file, "--system-file")


def _writable_target(path: Path, force: bool) -> None:
    if path.is_dir():
        raise UsageError(f"'{path}' is a directory; give -o a file name")
    if path.exists() and not force:
        raise UsageError(f"'{path}' already exists; use --force to overwrite it")


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    model_id = args.model or os.environ.get("DDL_MODEL") or None
    if not model_id:
        raise UsageError("no model: pass -m MODEL or set DDL_MODEL (any model `llm models` lists)")
    if not text_argument(args.utterance, "the utterance").strip():
        raise UsageError("the utterance is empty")
    if args.rounds < 0:
        raise UsageError(f"--rounds must be 0 or more, not {args.rounds}")
    if args.phrasings < 0:
        raise UsageError(f"--phrasings must be 0 or more, not {args.phrasings}")
    system = _system(args)
    target = Path(args.output) if args.output is not None else None
    if target is not None:
        _writable_target(target, args.force)
    registry = None
    if args.dir is not None:

        try:  # the registry as its handler serves it: [handler].max_model_priority of its config
            registry = Registry.load(args.dir, max_model_priority=load_config(None, Path(args.dir)).max_model_priority)
        except HandlerError as exc:
            raise UsageError(f"--dir: {exc.message}") from None


    try:
        result = distill(args.utterance, model_id, rounds=args.rounds, temperature=args.temperature, system=system,
                         out=target, log_dir=Path(args.log_dir) if args.log_dir is not None else None,
                         registry=registry, phrasings=args.phrasings,
                         max_priority=registry.model_priority_cap if registry is not None else None)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or 'a file'}: {exc.strerror or exc}") from None
    for note in result.notes:
        print(f"ddl {COMMAND}: note: {note}", file=err)
    path = result.path
    if result.ok and path is None:
        assert result.family is not None and result.source is not None
        path = Path(f"{result.family}.ddl")
        if path.exists() and not args.force:
            print(f"ddl {COMMAND}: error: family {result.family} passed, but '{path}' already exists; use -o FILE or "
                  f"--force (the module is in the transcript {result.transcript})", file=err)
            return EXIT_USAGE
        try:
            write_atomic(path, result.source)
            note_written(result.transcript, path)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    unusable = result.error is not None and not result.rounds  # no model, or an unknown one: nothing was asked
    code = EXIT_OK if result.ok else (EXIT_USAGE if unusable else EXIT_ERRORS)
    if args.format == "json":
        json.dump(_to_json(result, path), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif result.ok:
        print(f"wrote {path}: family {result.family}, {_rounds(len(result.rounds))}, "
              f"tokens {result.tokens_in} in / {result.tokens_out} out", file=out)
        print(f"transcript: {result.transcript}", file=out)
    else:
        for diagnostic in result.diagnostics:
            print(diagnostic, file=out)
    if not result.ok:
        if result.error is not None:
            print(f"ddl {COMMAND}: error: {result.error['code']}: {result.error['message']}", file=err)
        if result.rounds and result.error is None:  # a failed model call is the error above, not a verdict
            print(f"ddl {COMMAND}: no family passed after {_rounds(len(result.rounds))}; nothing was written "
                  f"(transcript: {result.transcript})", file=err)
        else:
            print(f"ddl {COMMAND}: nothing was written (transcript: {result.transcript})", file=err)
    return code


def _rounds(n: int) -> str:
    return f"{n} round{'s' if n != 1 else ''}"


def _to_json(result: Any, path: Path | None) -> dict[str, Any]:
    return {
        "ok": result.ok, "utterance": result.utterance, "model": result.model, "family": result.family,
        "path": str(path) if path is not None and result.ok else None, "transcript": str(result.transcript),
        "rounds": len(result.rounds), "tokens_in": result.tokens_in, "tokens_out": result.tokens_out,
        "diagnostics": result.diagnostics, "error": result.error, "notes": result.notes, "source": result.source,
    }
