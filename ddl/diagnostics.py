"""Source spans and diagnostics shared by every phase.

A diagnostic renders as ``path:line:col: CODE: message`` followed by the source
line and a caret underline, plus optional notes (each with its own span) and a
hint.  Codes come from one catalogue, :mod:`ddl.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

Severity = Literal["error", "warning", "note"]


@attrs.frozen
class Span:
    """A half-open character range in one source file, with 1-based line/col."""

    path: str
    start: int
    end: int
    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def point(path: str, line: int = 1, col: int = 1, offset: int = 0) -> Span:
        return Span(path, offset, offset, line, col, line, col)

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
        }


@attrs.frozen
class Note:
    message: str
    span: Span | None = None


@attrs.frozen
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: Severity = "error"
    notes: tuple[Note, ...] = ()
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def headline(self, color: bool = False) -> str:
        """The first line of the rendering: ``path:line:col: CODE: message``."""
        paint = _Paint(color)
        where = paint(BOLD, f"{self.span.path}:{self.span.line}:{self.span.col}:")
        return f"{where} {paint(SEVERITY_COLOUR[self.severity], self.code + ':')} {paint(BOLD, self.message)}"

    def render(self, sources: SourceMap | None = None, *, color: bool = False) -> str:
        """The headline, the source line with a caret under the span, the notes and the hint; with
        ``color``, ANSI escapes colour the code and caret by severity (red error, yellow warning, cyan
        note) and put the location and message in bold."""
        sources = sources or SourceMap()
        paint = _Paint(color)
        out = [self.headline(color)]
        out.extend(_excerpt(self.span, sources, paint, SEVERITY_COLOUR[self.severity]))
        for note in self.notes:
            label = paint(SEVERITY_COLOUR["note"], "note:")
            if note.span is not None:
                out.append(f"{paint(BOLD, f'{note.span.path}:{note.span.line}:{note.span.col}:')} {label} {note.message}")
                out.extend(_excerpt(note.span, sources, paint, SEVERITY_COLOUR["note"]))
            else:
                out.append(f"  {label} {note.message}")
        if self.hint:
            out.append(f"  {paint(HINT_COLOUR, 'hint:')} {self.hint}")
        return "\n".join(out)

    def github_annotation(self) -> str:
        """The diagnostic as a GitHub Actions workflow command (``--output-format github``):
        ``::error file=…,line=…,col=…,endLine=…,endColumn=…,title=CODE::message``, escaped as the
        runner expects (``%``, CR and LF everywhere; also ``:`` and ``,`` in the properties)."""
        level = {"error": "error", "warning": "warning", "note": "notice"}[self.severity]
        span = self.span
        props = [("file", span.path), ("line", str(max(1, span.line))), ("col", str(max(1, span.col))),
                 ("endLine", str(max(1, span.end_line, span.line))), ("endColumn", str(max(1, span.end_col))),
                 ("title", self.code)]
        message = self.message + "".join(f"\nnote: {n.message}" for n in self.notes)
        if self.hint:
            message += f"\nhint: {self.hint}"
        fields = ",".join(f"{k}={_escape_property(v)}" for k, v in props)
        return f"::{level} {fields}::{_escape_data(message)}"

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "path": self.span.path,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "notes": [
                {"message": n.message, **(n.span.to_json() if n.span else {})} for n in self.notes
            ],
            "hint": self.hint,
        }


class SourceMap:
    """Source texts by path, so diagnostics can quote the offending line."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}

    def add(self, path: str, text: str) -> None:
        self._texts[path] = text

    def text(self, path: str) -> str | None:
        """The text held for ``path`` (never read from disk here)."""
        return self._texts.get(path)

    def line(self, path: str, line: int) -> str | None:
        text = self._texts.get(path)
        if text is None:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                return None
            self._texts[path] = text
        lines = text.split("\n")
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return None


_MAX_QUOTED = 200


def _excerpt(span: Span, sources: SourceMap, paint: _Paint | None = None, colour: str = "") -> list[str]:
    src = sources.line(span.path, span.line)
    if src is None:
        return []
    src = src.replace("\t", " ").rstrip("\r")
    col = max(1, span.col)
    width = 1
    if span.end_line == span.line and span.end_col > span.col:
        width = span.end_col - span.col
    elif span.end_line > span.line:
        width = max(1, len(src) - col + 1)
    if len(src) > _MAX_QUOTED:
        # Quote a window around the column so a huge line stays readable.
        lo = max(0, col - 1 - _MAX_QUOTED // 2)
        src = src[lo : lo + _MAX_QUOTED]
        col -= lo
        width = min(width, _MAX_QUOTED)
    gutter = f"{span.line:>4} | "
    caret = "^" + "~" * max(0, width - 1)
    return [gutter + src, " " * len(gutter) + " " * (col - 1) + (paint(colour, caret) if paint else caret)]


# ---------------------------------------------------------------------------- colour (ddl check --color)

RESET, BOLD = "\x1b[0m", "\x1b[1m"
SEVERITY_COLOUR: dict[str, str] = {"error": "\x1b[1;31m", "warning": "\x1b[1;33m", "note": "\x1b[1;36m"}
HINT_COLOUR = "\x1b[1;32m"


class _Paint:
    """Wraps text in an ANSI colour when colour is on, else leaves it as it is."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, colour: str, text: str) -> str:
        return f"{colour}{text}{RESET}" if self.on and text else text


def use_colour(choice: str, stream: object, environ: Mapping[str, str]) -> bool:
    """``--color auto|always|never``: ``always``/``never`` win; under ``auto``, a non-empty ``NO_COLOR``
    turns colour off (no-color.org), then a non-empty ``FORCE_COLOR`` turns it on, else colour is on when
    ``stream`` is a terminal and ``TERM`` is not ``dumb``."""
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):  # a closed stream
        tty = False
    return tty and environ.get("TERM") != "dumb"


# ---------------------------------------------------------------------------- GitHub annotations


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class InputError(ValueError):
    """What the caller named cannot be used: a path, a family, a ``--param`` item.

    The message names the culprit and the way out; the command line reports it as a usage error.
    """


class DDLError(Exception):
    """Raised by the Python API when a phase reports errors; carries the diagnostics."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...], sources: SourceMap | None = None):
        self.diagnostics = tuple(diagnostics)
        self.sources = sources
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render(self.sources) for d in self.diagnostics)

def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The one "did you mean 'x'?" hint of every lookup (names, families, modules, parameters)."""
    import difflib  # deferred: only a failed lookup needs it (running a checked family never does)

    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None
