"""The ``ddl`` command line: the top floor (contract in DESIGN §9; keep it stable).

Each subcommand is a module here with ``register(subparsers)``, which sets ``func`` on its parser,
and a ``run(args, out)`` that parses arguments, calls the facade (:mod:`ddl.api`) or a phase's public
face, and prints.  :mod:`ddl.commands.base` holds what they share: exit codes (0 success, 1 errors
in the input, 2 usage or I/O errors), :class:`UsageError`, loading ``FILE[:FAMILY]``.  Only entry
points import this package: ``ddl/cli.py`` (the console script), ``python -m ddl`` and the llm plugin.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ddl.api import InputError
from ddl.commands import check, distill, fmt, grammar, handler, refine, run, test
from ddl.commands.base import EXIT_USAGE, Parser, UsageError
from ddl.version import __version__

# The order of `ddl --help`.
SUBCOMMANDS = (check, run, test, handler, distill, refine, grammar, fmt)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ddl",
        description="DDL, the Discrete Distillation Language: check, run and format task families.",
        epilog="Exit codes: 0 success, 1 errors in the input, 2 usage or I/O error. "
               "Diagnostics print as path:line:col: CODE: message with the source line and a caret.",
    )
    parser.add_argument("--version", action="version", version=f"ddl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in SUBCOMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args, sys.stdout))
    except (UsageError, InputError) as err:
        print(f"ddl {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


__all__ = ["build_parser", "main"]
