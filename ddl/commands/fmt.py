"""`ddl fmt PATH...`: print, check or rewrite .ddl files in canonical form (comments kept)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from ddl.api import collect_files
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, print_diagnostics
from ddl.diagnostics import SourceMap
from ddl.syntax.fmt import format_source


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
