"""`ddl fmt PATH...`: print, check or rewrite .ddl files in canonical form (comments kept)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from ddl.api import collect_files
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, print_diagnostics
from ddl.diagnostics import SourceMap
from ddl.syntax.fmt import format_source


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "fmt", help="print .ddl files in canonical form",
        description="Format .ddl files canonically (comments kept). Prints a single file to stdout unless "
                    "--write; with --check, lists files that are not formatted and exits 1.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help=".ddl files or directories")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="exit 1 if any file is not formatted; change nothing")
    mode.add_argument("--write", "-w", action="store_true", help="rewrite files in place")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO) -> int:
    files = collect_files(args.paths)
    status = EXIT_OK
    unformatted: list[Path] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as err:
            print(f"ddl fmt: error: cannot read '{path}': {err.strerror}", file=sys.stderr)
            return EXIT_USAGE
        text, diags = format_source(data, str(path))
        if text is None:
            sources = SourceMap()
            sources.add(str(path), data.decode("utf-8", errors="replace"))
            print_diagnostics(diags, sources)
            status = EXIT_ERRORS
            continue
        original = data.decode("utf-8", errors="replace")
        if args.check:
            if text != original:
                unformatted.append(path)
        elif args.write:
            if text != original:
                path.write_text(text, encoding="utf-8")
                print(f"formatted {path}", file=sys.stderr)
        else:
            out.write(text)
    if args.check and unformatted:
        for path in unformatted:
            print(f"{path}: not formatted (run `ddl fmt --write {path}`)", file=sys.stderr)
        return EXIT_ERRORS
    return status
