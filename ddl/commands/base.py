"""What every ``ddl`` subcommand shares: exit codes, usage errors, the argument parser class,
printing diagnostics, and reading what the user named (nothing of the language: ``ddl --help`` loads this).

Exit codes (DESIGN §9): 0 success; 1 the input has errors (diagnostics, failed examples, runtime
failures, unformatted files under --check); 2 usage or I/O errors: a path that cannot be read (any
command, any file), text that is not UTF-8; 141 (128 + SIGPIPE) when the reader of the output went
away (``ddl fmt a b | head``), quietly, as other Unix tools.

Every file or directory a command reads because the user named it goes through :func:`read_bytes`,
:func:`read_text` or :func:`is_file`/:func:`is_dir`, and every text argument through
:func:`text_argument`, so that an unreadable path or undecodable text is one clear usage error.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ddl.diagnostics import Diagnostic, SourceMap, did_you_mean

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool stopped by a closed pipe


class UsageError(Exception):
    """The command line cannot be carried out as given; printed as ``ddl CMD: error: …``, exit 2."""


class Failed(Exception):
    """Diagnostics were printed; exit 1."""


class Reported(Exception):
    """A usage error was printed as a diagnostic (a bad key in a config file); exit 2."""


def terminal_columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` tells it ($COLUMNS, else standard output's terminal,
    else 80), without importing shutil (see :meth:`Parser._get_formatter`)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Parser(argparse.ArgumentParser):
    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse makes a formatter at every add_argument, and a formatter without a width imports shutil to
        # ask for the terminal's (shutil loads the compression modules: 3 ms of a one-query `ddl handle`, whose
        # parser formats nothing). The same width, as HelpFormatter computes it.
        # (typeshed's formatter_class takes prog only; every HelpFormatter takes width.)
        return self.formatter_class(prog=self.prog, width=terminal_columns() - 2)  # type: ignore[call-arg]

    def error(self, message: str) -> Any:  # argparse exits 2 on usage errors, as we want
        chosen = re.match(r"argument \w+: invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if chosen:  # `ddl chek`: the one did-you-mean of the project
            hint = did_you_mean(chosen.group(1), re.findall(r"'([^']*)'", chosen.group(2)))
            message += f"; {hint}" if hint else ""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        # An option the subcommand does not know is the subcommand's error, with its usage
        # (`ddl check: error: unrecognized arguments: --bogus`), not the top level's.
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            sub = self.subcommand(command) if command else None
            (sub or self).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def subcommand(self, name: str) -> argparse.ArgumentParser | None:
        """The parser of subcommand ``name`` (None if this parser has no such subcommand)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                found = action.choices.get(name)
                return found if isinstance(found, argparse.ArgumentParser) else None
        return None


def print_diagnostics(diags: Sequence[Diagnostic], sources: SourceMap, out: TextIO | None = None, *,
                      color: bool = False) -> None:
    for d in diags:
        print(d.render(sources, color=color), file=out or sys.stderr)


# ---------------------------------------------------------------------------- what the user named


def reason(err: OSError) -> str:
    """An OSError in words (``Permission denied``), without the errno and path Python adds."""
    return err.strerror or str(err)


def is_file(path: str | Path, what: str = "") -> bool:
    """``path`` is a file; a path that cannot even be looked at (a directory on the way that cannot
    be searched, a name too long) is a usage error, not a traceback."""
    try:
        return Path(path).is_file()
    except OSError as err:
        raise UsageError(f"cannot read {what + ' ' if what else ''}'{path}': {reason(err)}") from None


def is_dir(path: str | Path, what: str = "") -> bool:
    """As :func:`is_file`, for a directory."""
    try:
        return Path(path).is_dir()
    except OSError as err:
        raise UsageError(f"cannot read {what + ' ' if what else ''}'{path}': {reason(err)}") from None


def directory_argument(raw: str | None) -> Path:
    """The directory of .ddl files a command works in (the current one when not given)."""
    path = Path(raw if raw is not None else ".")
    if not is_dir(path):
        if path.exists():
            raise UsageError(f"'{path}' is not a directory (give the directory holding the .ddl files)")
        raise UsageError(f"no such directory: '{path}'")
    return path


def read_bytes(path: str | Path, what: str = "") -> bytes:
    """The bytes of a file the user named; any OSError is a usage error (exit 2) naming the file."""
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {what + ' ' if what else ''}'{path}': {reason(err)}") from None


def read_text(path: str | Path, what: str = "") -> str:
    """A UTF-8 text file the user named; unreadable or not UTF-8 is a usage error naming the first bad byte."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(f"{what + ' ' if what else ''}'{path}' is not UTF-8 text: byte 0x{data[err.start]:02X} "
                         f"at offset {err.start} cannot be decoded") from None


def text_argument(value: str, what: str) -> str:
    """A text argument as the user typed it.  The command line hands Python undecodable bytes as lone
    surrogates (U+DC80..U+DCFF for byte 0x80..0xFF); no text can hold them, so refuse them here, naming
    the byte, before anything is computed or recorded."""
    for at, ch in enumerate(value):
        if 0xD800 <= ord(ch) <= 0xDFFF:
            if 0xDC80 <= ord(ch) <= 0xDCFF:
                raise UsageError(f"{what} is not valid UTF-8: byte 0x{ord(ch) - 0xDC00:02X} at character {at} "
                                 "cannot be decoded")
            raise UsageError(f"{what} contains a lone surrogate U+{ord(ch):04X} at character {at}, which is not text")
    return value
