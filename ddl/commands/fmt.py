"""`ddl fmt PATH...`: print, check or rewrite .ddl files in canonical form (comments kept)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from ddl.api import collect_files
from ddl.commands.base import EXIT_ERRORS, EXIT_OK, UsageError, print_diagnostics, read_bytes, reason
from ddl.diagnostics import SourceMap
from ddl.syntax.fmt import format_source


def run(args: argparse.Namespace, out: TextIO) -> int:
    files = collect_files(args.paths)
    status = EXIT_OK
    unformatted: list[Path] = []
    for path in files:
        data = read_bytes(path)
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
                try:
                    path.write_text(text, encoding="utf-8")
                except OSError as err:
                    raise UsageError(f"cannot write '{path}': {reason(err)}") from None
                print(f"formatted {path}", file=sys.stderr)
        else:
            out.write(text)
    if args.check and unformatted:
        for path in unformatted:
            print(f"{path}: not formatted (run `ddl fmt --write {path}`)", file=sys.stderr)
        return EXIT_ERRORS
    return status
