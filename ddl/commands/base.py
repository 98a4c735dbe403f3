"""What every ``ddl`` subcommand shares: exit codes, usage errors, the argument parser, printing
diagnostics, and loading ``FILE[:FAMILY]`` through the facade.

Exit codes (DESIGN §9): 0 success; 1 the input has errors (diagnostics, failed examples, runtime
failures, unformatted files under --check); 2 usage or I/O errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from ddl.api import ModuleLoader, compile_file, find_family
from ddl.diagnostics import Diagnostic, SourceMap
from ddl.eval import Evaluator
from ddl.types.checked import CheckedFamily, CheckedModule

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


@attrs.frozen
class LoadedFamily:
    module: CheckedModule
    family: CheckedFamily
    evaluator: Evaluator
    sources: SourceMap


def load_module(path: Path) -> tuple[CheckedModule, SourceMap]:
    """A file compiled; its errors printed (raises :class:`Failed`) or a usage error when it is missing."""
    if not path.is_file():
        raise UsageError(f"no such file: '{path}'")
    loader = ModuleLoader()
    checked, diags = compile_file(path, loader)
    errors = [d for d in diags if d.is_error]
    if checked is None or errors:
        print_diagnostics(errors or diags, loader.sources)
        raise Failed()
    return checked, loader.sources


def load_family(ref: str, name: str | None = None) -> LoadedFamily:
    """``FILE`` or ``FILE:FAMILY`` (or FILE with ``name``) → the module's family; the name is looked up by
    the facade (with "did you mean"); a file with several families needs the name."""
    path_text, _, given = ref.partition(":") if not Path(ref).is_file() else (ref, "", "")
    checked, sources = load_module(Path(path_text))
    family = find_family(checked, name or given or None, path_text)
    return LoadedFamily(checked, family, Evaluator(checked), sources)
