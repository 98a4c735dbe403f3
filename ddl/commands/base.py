"""What every ``ddl`` subcommand shares: exit codes, usage errors, the argument parser class and
printing diagnostics (nothing of the language: ``ddl --help`` loads this).

Exit codes (DESIGN §9): 0 success; 1 the input has errors (diagnostics, failed examples, runtime
failures, unformatted files under --check); 2 usage or I/O errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ddl.diagnostics import Diagnostic, SourceMap

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line cannot be carried out as given; printed as ``ddl CMD: error: …``, exit 2."""


class Failed(Exception):
    """Diagnostics were printed; exit 1."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 on usage errors, as we want
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def print_diagnostics(diags: Sequence[Diagnostic], sources: SourceMap, out: TextIO | None = None) -> None:
    for d in diags:
        print(d.render(sources), file=out or sys.stderr)
