"""DDL's regex AST (ddl.syntax.ast R* nodes, expanded by ddl.types) → the engine's regex AST (ddl.regular)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ddl.regular import (
    AutomatonTooLarge,
    CharSet,
    Limits,
    Regex,
    alt,
    any_char,
    chars,
    comp,
    inter,
    lit,
    rep,
    seq,
)
from ddl.regular.ast import named, shuffle
from ddl.syntax import ast as A

# A Text pattern whose minimal DFA has at most this many states is matched with that DFA (built once,
# shared by every thread); a larger one with a lazily built DFA (ddl.regular.Matcher), whose memory is
# bounded whatever the pattern: `[ab]* "a" [ab]{30}` has a minimal DFA of 2^31 states.
PATTERN_DFA_STATES = 10_000


class UnresolvedReference(Exception):
    def __init__(self, name: str, span: Any) -> None:
        super().__init__(f"'{name}' cannot be referred to here")
        self.name = name
        self.span = span


@lru_cache(maxsize=256)
def pattern_matcher(pattern: A.Regex) -> Callable[[str], bool]:
    """A full-match predicate for an expanded Text pattern: linear in the text, no backtracking.

    Raises :class:`~ddl.regular.RegularError` only when not even the lazy matcher can be built (a
    ``&``, ``~`` or difference whose own DFA is over the engine's limit): the checker reports that
    pattern (DDL510, :func:`check_pattern`), so a checked module never raises here.
    """
    from ddl.regular import Lang, Matcher  # deferred: the automata load only when a pattern is matched

    regex = convert_regex(pattern)
    try:
        return Lang.from_regex(regex, limits=Limits(max_dfa_states=PATTERN_DFA_STATES)).contains
    except AutomatonTooLarge:
        pass  # too many states to build in full: match with a lazily built DFA instead
    matcher = Matcher(regex)
    lock = threading.Lock()  # a Matcher's lazy caches are not thread-safe; runs may share this one

    def matches(text: str) -> bool:
        with lock:
            return matcher.matches(text)

    return matches


def check_pattern(pattern: A.Regex) -> None:
    """Raise :class:`~ddl.regular.RegularError` when :func:`pattern_matcher` could not match ``pattern``."""
    from ddl.regular import Matcher  # deferred: the automata load only when a pattern is checked

    Matcher(convert_regex(pattern))


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
