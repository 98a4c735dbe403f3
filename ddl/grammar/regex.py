"""DDL's regex AST (ddl.syntax.ast R* nodes) → the engine's regex AST (ddl.regular)."""

from __future__ import annotations

from typing import Any

from ddl.regular import CharSet, Regex, alt, any_char, chars, comp, inter, lit, rep, seq
from ddl.syntax import ast as A


class UnresolvedReference(Exception):
    def __init__(self, name: str, span: Any) -> None:
        super().__init__(f"'{name}' cannot be referred to here")
        self.name = name
        self.span = span


def convert_regex(rx: A.Regex, resolve: Any = None) -> Regex:
    """DDL's regex AST → the engine's. ``resolve(name, span)`` handles references."""
    if isinstance(rx, A.RLit):
        return lit(rx.text)
    if isinstance(rx, A.RClass):
        cs = CharSet.from_ranges([(chr(a), chr(b)) for a, b in rx.ranges])
        return chars(cs.complement() if rx.negated else cs)
    if isinstance(rx, A.RAny):
        return any_char()
    if isinstance(rx, A.RRef):
        if resolve is None:
            raise UnresolvedReference(rx.name, rx.span)
        return resolve(rx.name, rx.span)  # type: ignore[no-any-return]
    if isinstance(rx, A.RSeq):
        return seq(*(convert_regex(i, resolve) for i in rx.items))
    if isinstance(rx, A.RAlt):
        return alt(*(convert_regex(i, resolve) for i in rx.items))
    if isinstance(rx, A.RAnd):
        return inter(*(convert_regex(i, resolve) for i in rx.items))
    if isinstance(rx, A.RNot):
        return comp(convert_regex(rx.item, resolve))
    assert isinstance(rx, A.RRepeat)
    return rep(convert_regex(rx.item, resolve), rx.lo, rx.hi)


