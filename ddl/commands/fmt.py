"""`ddl fmt PATH...`: print, check, diff or rewrite .ddl files in canonical form (comments kept).

``-`` formats standard input to standard output (with ``--check`` or ``--diff``: exit 1 if it would
change, print nothing else or the diff), as ``ruff format -`` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from ddl.api import collect_files
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, UsageError, print_diagnostics, read_bytes, reason
from ddl.commands.conventions import STDIN, colour, inputs, settings
from ddl.diagnostics import SourceMap
from ddl.files import text_diff
from ddl.syntax.fmt import format_source


def run(args: argparse.Namespace, out: TextIO) -> int:
    given = inputs(args, settings(args))
    if given.stdin is not None and args.write:
        raise UsageError("--write rewrites files in place; standard input (-) is formatted to standard output")
    status = EXIT_OK
    unformatted: list[str] = []
    # Every path is looked at before anything is printed: a missing one is a usage error up front.
    work = [(item, [] if item == STDIN else collect_files([item], given.discovery)) for item in given.paths]
    for item, files in work:
        if item == STDIN and given.stdin is not None:
            name, data = given.stdin
            if given.stdin_excluded:  # as ruff: an excluded --stdin-filename passes through unchanged
                if not (args.check or args.diff):
                    out.write(data.decode("utf-8", errors="replace"))
                continue
            status = max(status, _one(name, data, args, out, unformatted, stdin=True))
            continue
        for path in files:
            status = max(status, _one(str(path), read_bytes(path), args, out, unformatted, stdin=False))
    if unformatted and args.check:
        for name in unformatted:
            hint = "ddl fmt - < file" if name == STDIN else f"ddl fmt --write {name}"
            print(f"{name}: not formatted (run `{hint}`)", file=sys.stderr)
    if unformatted:
        return EXIT_ERRORS
    return status


def _one(name: str, data: bytes, args: argparse.Namespace, out: TextIO, unformatted: list[str], *,
         stdin: bool) -> int:
    """Format one source: print, rewrite, or note that it would change (``--check``, ``--diff``)."""
    text, diags = format_source(data, name)
    if text is None:
        sources = SourceMap()
        sources.add(name, data.decode("utf-8", errors="replace"))
        print_diagnostics(diags, sources, color=colour(args, sys.stderr))
        return EXIT_ERRORS
    original = data.decode("utf-8", errors="replace")
    changed = text != original
    if args.check or args.diff:
        if changed:
            unformatted.append(STDIN if stdin and not args.stdin_filename else name)
            if args.diff:
                out.write(text_diff(original, text, name))
    elif args.write:
        if changed:
            try:
                Path(name).write_text(text, encoding="utf-8")
            except OSError as err:
                raise UsageError(f"cannot write '{name}': {reason(err)}") from None
            print(f"formatted {name}", file=sys.stderr)
    else:
        out.write(text)
    return EXIT_OK
