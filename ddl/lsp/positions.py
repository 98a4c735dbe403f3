"""Positions: DDL counts lines split at line feeds and columns in code points (spec/syntax.md, 1.1);
LSP counts 0-based lines and columns in the client's code units (UTF-16 unless the client negotiated
UTF-8 or UTF-32).  One :class:`Lines` per document text converts both ways."""

from __future__ import annotations

from collections.abc import Callable

# How many client code units a piece of text takes (pygls' PositionCodec.client_num_units).
Units = Callable[[str], int]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class Lines:
    """A document's text split as DDL splits it (at ``\\n`` only), with its line start offsets."""

    def __init__(self, text: str, units: Units = utf16_units) -> None:
        self.text = text
        self.units = units
        self.starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.starts.append(i + 1)

    def line_text(self, line: int) -> str:
        """The 0-based line ``line`` without its line feed ('' past the end)."""
        if line >= len(self.starts):
            return ""
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[line]:end]

    def to_client(self, line: int, col: int) -> tuple[int, int]:
        """DDL's 1-based ``line``/``col`` (code points) → 0-based (line, client units)."""
        row = max(line - 1, 0)
        if row >= len(self.starts):  # past the end: the end of the text
            row = len(self.starts) - 1
            return row, self.units(self.line_text(row))
        return row, self.units(self.line_text(row)[:max(col - 1, 0)])

    def offset_to_client(self, offset: int) -> tuple[int, int]:
        """A code-point offset into the text → 0-based (line, client units)."""
        offset = min(max(offset, 0), len(self.text))
        row = self.row_of(offset)
        return row, self.units(self.text[self.starts[row]:offset])

    def row_of(self, offset: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def offset(self, line: int, character: int) -> int:
        """A 0-based (line, client units) position → the code-point offset into the text; a position past
        the end of its line is the end of the line, a line past the end is the end of the text."""
        if line >= len(self.starts):
            return len(self.text)
        text = self.line_text(max(line, 0))
        used = 0
        for i, ch in enumerate(text):
            if used >= character:
                return self.starts[line] + i
            used += self.units(ch)
        return self.starts[line] + len(text)
