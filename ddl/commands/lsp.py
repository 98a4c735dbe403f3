"""`ddl lsp`: the language server for editors, on stdin/stdout (spec/editor.md)."""

from __future__ import annotations

import argparse
from typing import TextIO

from ddl.commands.base import EXIT_OK, UsageError


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from ddl.lsp.server import serve  # deferred: pygls loads only for the language server
    except ImportError as err:
        raise UsageError(f"the language server needs pygls ({err}): pip install --upgrade ddl-lang") from None
    serve()
    return EXIT_OK
