"""DDL's regex AST (ddl.syntax.ast R* nodes, expanded by ddl.types) → the engine's regex AST (ddl.regular)."""

from __future__ import annotations

from typing import Any

from ddl.regular import CharSet, Regex, alt, any_char, chars, comp, inter, lit, rep, seq
from ddl.regular.ast import named, shuffle
from ddl.syntax import ast as A


class UnresolvedReference(Exception):
    def __init__(self, name: str, span: Any) -> None:
        super().__init__(f"'{name}' cannot be referred to here")
        self.name = name
        self.span = span


def convert_regex(rx: A.Regex, capture: Any = None) -> Regex:
    """DDL's regex AST → the engine's. ``capture(node, span)`` builds captures and constant settings.

    The tree must be expanded (no rule references or calls); a Text pattern has no captures.
    """
    if isinstance(rx, A.RLit):
        return lit(rx.text)
    if isinstance(rx, A.RClass):
        cs = CharSet.from_ranges([(chr(a), chr(b)) for a, b in rx.ranges])
        return chars(cs.complement() if rx.negated else cs)
    if isinstance(rx, A.RAny):
        return any_char()
    if isinstance(rx, (A.RCapture, A.RValue)):
        if capture is None:
            raise UnresolvedReference(rx.param, rx.span)
        return capture(rx, rx.span)  # type: ignore[no-any-return]
    if isinstance(rx, A.RNamed):
        return named(rx.label, convert_regex(rx.item, capture))
    if isinstance(rx, A.RSeq):
        return seq(*(convert_regex(i, capture) for i in rx.items))
    if isinstance(rx, A.RAlt):
        return alt(*(convert_regex(i, capture) for i in rx.items))
    if isinstance(rx, A.RAnd):
        return inter(*(convert_regex(i, capture) for i in rx.items))
    if isinstance(rx, A.RNot):
        return comp(convert_regex(rx.item, capture))
    if isinstance(rx, A.RAnyOrder):
        return shuffle([convert_regex(i, capture) for i in rx.items], rx.required, convert_regex(rx.sep, capture))
    if isinstance(rx, A.RRepeat):
        return rep(convert_regex(rx.item, capture), rx.lo, rx.hi)
    if isinstance(rx, (A.RRef, A.RCall, A.RSet)):
        raise UnresolvedReference(getattr(rx, "name", "{...}"), rx.span)
    raise TypeError(f"not a regular expression: {rx!r}")
