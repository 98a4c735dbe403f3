"""A self-contained regular-language engine over all of Unicode.

Independent of the rest of DDL (it imports nothing from ``ddl.syntax``,
``ddl.types`` or ``ddl.eval``).  Layers, bottom up:

* :mod:`~ddl.regular.charset` — :class:`CharSet`, code-point sets as ranges;
* :mod:`~ddl.regular.ast` / :mod:`~ddl.regular.parse` — the regex AST and a
  parser for ``re``-style patterns (plus ``&``/``~`` in extended mode);
* :mod:`~ddl.regular.partition` — alphabet partitions (atoms), so automata
  have one edge per atom, never one per code point;
* :mod:`~ddl.regular.nfa` — tagged Thompson NFAs;
* :mod:`~ddl.regular.dfa` — subset construction, Hopcroft minimization into a
  canonical form, products, breadth-first witness search;
* :mod:`~ddl.regular.lang` — :class:`Lang`: the algebra (union, concatenation,
  star, repetition, intersection, complement, difference, reverse), decisions
  with shortest witnesses, counting and uniform sampling;
* :mod:`~ddl.regular.match` — :class:`Matcher`: linear-time whole-string
  matching with named captures (``re``/RE2 leftmost-first semantics);
* :mod:`~ddl.regular.multi` — :class:`LangSet`: many languages keyed by id at
  once — which accept a string (one lazy combined DFA), and :func:`overlaps`:
  which pairs intersect, each with a shortest witness;
* :mod:`~ddl.regular.paths` — reachability questions on NFA × filter (witnesses without
  determinizing);
* :mod:`~ddl.regular.tagged` — capture automata and :func:`find_ambiguity` on them
  (:mod:`~ddl.regular.ambiguity` keeps the original NFA search as a baseline);
* :mod:`~ddl.regular.strategies` — Hypothesis strategies (import explicitly).

Resource use is bounded by :class:`Limits` (:class:`AutomatonTooLarge`,
:class:`RegexTooLarge`; the overlap search's budget: :class:`SearchTooLarge`).

Quick tour::

    >>> from ddl.regular import Lang, Matcher, parse
    >>> a = Lang.parse("[a-z]{1,30}( [a-z]{1,30}){0,10}")
    >>> a.disjoint(Lang.parse("([a-z]+ )*books"))
    (False, 'books')
    >>> Matcher(parse("(?P<n>[0-9]+) (?P<g>[a-z]+)")).fullmatch("3 mystery")
    {'n': '3', 'g': 'mystery'}
"""

import importlib
from typing import TYPE_CHECKING

from ddl.regular.ast import (
    EMPTY,
    EPSILON,
    Alt,
    Capture,
    Chars,
    Complement,
    Concat,
    Difference,
    Empty,
    Epsilon,
    Intersect,
    LangRef,
    Regex,
    Repeat,
    Star,
    alt,
    any_char,
    cap,
    capture_names,
    case_key,
    comp,
    diff,
    dot,
    ignore_case,
    inter,
    lit,
    opt,
    plus,
    rep,
    seq,
    size,
    spliced_size,
    star,
    to_pattern,
)
from ddl.regular.charset import DIGIT, DOT, MAX_CODE_POINT, SPACE, WORD, CharSet
from ddl.regular.errors import (
    DEFAULT_LIMITS,
    AutomatonTooLarge,
    Limits,
    RegexSyntaxError,
    RegexTooLarge,
    RegularError,
)
from ddl.regular.parse import chars, parse  # eager: the submodule's name would shadow the function

if TYPE_CHECKING:
    from ddl.regular.ambiguity import find_ambiguity_nfa
    from ddl.regular.lang import Lang, share_repeated
    from ddl.regular.match import Matcher
    from ddl.regular.multi import LangSet, Overlap, SearchTooLarge, overlaps
    from ddl.regular.tagged import Ambiguity, Key, TaggedDFA, Undecided, find_ambiguity

# The automata are imported when first asked for: a `ddl handle` served from the cache matches with a
# stored kit, and never runs the ambiguity search (whose import was a tenth of its start-up).
_LAZY = {
    "find_ambiguity_nfa": "ddl.regular.ambiguity",
    **dict.fromkeys(("Lang", "share_repeated"), "ddl.regular.lang"),
    "Matcher": "ddl.regular.match",
    **dict.fromkeys(("LangSet", "Overlap", "SearchTooLarge", "overlaps"), "ddl.regular.multi"),
    **dict.fromkeys(("Ambiguity", "Key", "TaggedDFA", "Undecided", "find_ambiguity"), "ddl.regular.tagged"),
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ddl.regular' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_LIMITS",
    "DIGIT",
    "DOT",
    "EMPTY",
    "EPSILON",
    "MAX_CODE_POINT",
    "SPACE",
    "WORD",
    "Alt",
    "Ambiguity",
    "AutomatonTooLarge",
    "Capture",
    "CharSet",
    "Chars",
    "Complement",
    "Concat",
    "Difference",
    "Empty",
    "Epsilon",
    "Intersect",
    "Key",
    "Lang",
    "LangRef",
    "LangSet",
    "Limits",
    "Matcher",
    "Overlap",
    "Regex",
    "RegexSyntaxError",
    "RegexTooLarge",
    "RegularError",
    "Repeat",
    "SearchTooLarge",
    "Star",
    "TaggedDFA",
    "Undecided",
    "alt",
    "any_char",
    "cap",
    "capture_names",
    "case_key",
    "chars",
    "comp",
    "diff",
    "dot",
    "find_ambiguity",
    "find_ambiguity_nfa",
    "ignore_case",
    "inter",
    "lit",
    "opt",
    "overlaps",
    "parse",
    "plus",
    "rep",
    "seq",
    "share_repeated",
    "size",
    "spliced_size",
    "star",
    "to_pattern",
]
