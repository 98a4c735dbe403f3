"""The ``ddl`` command line: the top floor (contract in DESIGN §9; keep it stable).

:mod:`ddl.commands.parser` defines every subcommand's arguments and loads nothing of the language,
so ``ddl --help`` and ``ddl --version`` start at once.  Each subcommand is a module here with a
``run(args, out) -> int`` that calls the facade (:mod:`ddl.api`) or a phase's public face and
prints; :func:`main` loads only the module of the command that runs.  :mod:`ddl.commands.base`
holds what they share: exit codes (0 success, 1 errors in the input, 2 usage or I/O errors) and
:class:`UsageError`.  Only entry points import this package: ``ddl/cli.py`` (the console script),
``python -m ddl`` and the llm plugin.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from ddl.commands.base import EXIT_BROKEN_PIPE, EXIT_ERRORS, EXIT_USAGE, Failed, Reported, UsageError
from ddl.commands.parser import build_parser
from ddl.diagnostics import InputError


def command_module(name: str) -> ModuleType:
    """The module that runs subcommand ``name`` (``args.module``); it loads the floors it uses."""
    return importlib.import_module(f"ddl.commands.{name}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)  # only the named subcommand's options are built
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        from ddl.files import collector_paused  # deferred: the parser alone (ddl --help) loads nothing more

        with collector_paused():  # importing the command's floors makes classes and functions, not garbage
            module = command_module(args.module)
        code = int(module.run(args, sys.stdout))
        sys.stdout.flush()  # here, so that a reader that went away is noticed below, not at exit
        return code
    except (UsageError, InputError) as err:  # InputError: the facade's (a path, a family, a --param)
        print(f"ddl {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except Failed:  # the diagnostics are printed (a file with errors under `ddl run`)
        return EXIT_ERRORS
    except Reported:  # a usage error, printed as a diagnostic (a bad key of a config file)
        return EXIT_USAGE
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return 130


def _reader_gone() -> int:
    """The output's reader closed the pipe (``ddl fmt a b | head``): stop quietly, as Unix tools do on
    SIGPIPE (which Python ignores, and which ``ddl serve`` needs ignored), with the shell's 128 + 13."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):  # nothing more reaches the closed pipe, not even at exit
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


__all__ = ["build_parser", "command_module", "main"]
