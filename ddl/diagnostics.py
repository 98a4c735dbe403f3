"""Source spans and diagnostics shared by every phase.

A diagnostic renders as ``path:line:col: CODE: message`` followed by the source
line and a caret underline, plus optional notes (each with its own span) and a
hint.  Codes come from one catalogue, :mod:`ddl.errors`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
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

    def headline(self) -> str:
        """The first line of the rendering: ``path:line:col: CODE: message``."""
        return f"{self.span.path}:{self.span.line}:{self.span.col}: {self.code}: {self.message}"

    def render(self, sources: SourceMap | None = None) -> str:
        sources = sources or SourceMap()
        out = [self.headline()]
        out.extend(_excerpt(self.span, sources))
        for note in self.notes:
            if note.span is not None:
                out.append(f"{note.span.path}:{note.span.line}:{note.span.col}: note: {note.message}")
                out.extend(_excerpt(note.span, sources))
            else:
                out.append(f"  note: {note.message}")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)

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


def _excerpt(span: Span, sources: SourceMap) -> list[str]:
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
    return [gutter + src, " " * len(gutter) + " " * (col - 1) + "^" + "~" * max(0, width - 1)]


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
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None
