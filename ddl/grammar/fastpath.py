"""A fast, safe capture extractor for routed utterances: Python ``re`` with no backtracking.

The router has already decided, with its automaton, that the utterance belongs to the
family.  What remains is to find the captures.  ``ddl.regular.Matcher`` does that in linear
time but in Python, two passes over the text; the ``re`` module does it in C — but a
backtracking engine must never see an arbitrary grammar (``(a+)+b`` is exponential).

So the grammar is translated with every alternation *atomic* (``(?>a|b)``) and every
quantifier *possessive* (``x*+``, ``x{2,5}+``).  Such a pattern never re-enters a group it has
left: each group, at each position it is tried, yields at most one match, so matching takes
time polynomial (in practice linear) in the input, whatever the grammar.  The price is that
it may *fail* on an utterance the grammar accepts (an atomic choice that turns out wrong);
then the caller falls back to the Matcher.  A success is always a parse of the original
grammar (atomicity only prunes the search), and the families the handler serves are proved
``unambiguous`` by ``ddl check`` — every parse yields the same captures — so a success gives
exactly the θ the Matcher would.

Intersections and complements have no ``re`` form.  Inside a capture (``Text(max n,
pattern p)`` is ``p & .{0,n}``) the translation keeps an over-approximation and the caller
checks the captured text against the capture's exact language; anywhere else there is no
fast path for the family.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ddl.regular.ast import (
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
    Named,
    Regex,
    Repeat,
    Shuffle,
    Star,
    Tag,
    case_closure,
    expand_shuffle,
    walk,
)
from ddl.regular.charset import CharSet
from ddl.regular.lang import Lang

_MAX_CP = 0x10FFFF
_SPECIAL_IN_CLASS = set("\\]^-[")


class _NoFastPath(Exception):
    pass


class FastExtractor:
    """``fullmatch(text)`` → captured texts (None if a capture did not participate), or None."""

    __slots__ = ("pattern", "names", "exact", "_regex", "_checks", "_checked", "_groups", "_plan", "_once", "_none")

    def __init__(self, pattern: str, groups: list[tuple[str, str]], checked: dict[str, Regex],
                 exact: bool) -> None:
        self.pattern = pattern
        self.exact = exact  # no commitment can lose a match: "no match" means "not in the language"
        self._groups = groups  # (re group, parameter): a parameter may be captured in several places
        self.names = tuple(dict.fromkeys(param for _, param in groups))
        self._regex = re.compile(pattern, re.DOTALL)
        # Per over-approximated re group: a test of the exact language its text must be in, built now
        # (no first-hit penalty) from parts shared by every family (see membership_test).
        self._checked = checked
        index = self._regex.groupindex
        self._checks = [(index[group], membership_test(inner)) for group, inner in checked.items()]
        # Captures by group number (m.groups() is 0-based), and whether each name has one group only
        # (then no end positions need comparing).
        self._plan = [(index[group] - 1, name) for group, name in groups]
        self._once = len(self.names) == len(groups)
        self._none: dict[str, str | None] = dict.fromkeys(self.names)

    def __reduce__(self) -> tuple[Any, ...]:
        # The compiled re and the membership tests are rebuilt from what made them.
        return (FastExtractor, (self.pattern, self._groups, self._checked, self.exact))

    @property
    def regex(self) -> re.Pattern[str]:
        return self._regex

    @property
    def checks(self) -> bool:
        """Whether some capture's text is checked against its exact language after the match."""
        return bool(self._checks)

    def fullmatch(self, text: str) -> dict[str, str | None] | None:
        return self.decide(text)[0]

    def decide(self, text: str) -> tuple[dict[str, str | None] | None, bool]:
        """(captures or None, whether None proves that ``text`` is not in the language)."""
        if len(text) > MAX_FAST_LENGTH:
            return None, False
        m = self._regex.fullmatch(text)
        if m is None:
            # Over-approximated captures only widen the pattern, so no match is still conclusive
            # when every commitment was exact.
            return None, self.exact
        groups = m.groups()  # one C call; the loops below index it
        for index, test in self._checks:
            captured = groups[index - 1]
            if captured is not None and not test(captured):
                return None, False  # the over-approximation chose a split the grammar rejects; others may exist
        out = dict(self._none)
        if self._once:
            for index, name in self._plan:
                captured = groups[index]
                if captured is not None:
                    out[name] = captured
            return out, True
        regs = m.regs
        ends: dict[str, int] = {}
        for index, name in self._plan:
            captured = groups[index]
            # A parameter captured more than once takes the last capture (spec/grammar.md).
            if captured is not None and regs[index + 1][1] >= ends.get(name, -1):
                out[name] = captured
                ends[name] = regs[index + 1][1]
        return out, True

    @property
    def single_groups(self) -> tuple[tuple[int, str], ...] | None:
        """(index in ``m.groups()``, capture name) of every capture, when no name is captured in two places
        (then no end positions need comparing: :meth:`decide`'s captures are these groups); else None."""
        return tuple(self._plan) if self._once else None

    @property
    def tests(self) -> tuple[tuple[int, Callable[[str], bool]], ...]:
        """(group number, test) of each over-approximated capture: a matched text of that group (not None)
        is in the grammar only if it passes the test (else :meth:`decide` is undecided)."""
        return tuple(self._checks)


@lru_cache(maxsize=16384)
def membership_test(node: Regex) -> Callable[[str], bool]:
    """A test of membership in ``node``'s language, built from shared parts.

    A Text capture is ``pattern & .{0,n}`` (and maybe ``& R``): one DFA of the whole
    intersection is the product of the parts' DFAs (n times the pattern's: slow to build, and
    built once per family).  Testing each part on its own is the same answer: a length bound is
    a ``len`` check, and every other part's DFA is cached by its (hashable) tree, so families
    with the same Text types share it.
    """
    if isinstance(node, (Capture, Named)):
        return membership_test(node.inner)
    if isinstance(node, Intersect):
        tests = [membership_test(x) for x in node.items]
        return lambda text: all(t(text) for t in tests)
    if isinstance(node, Difference):
        keep, drop = membership_test(node.left), membership_test(node.right)
        return lambda text: keep(text) and not drop(text)
    if isinstance(node, Complement):
        inner = membership_test(node.inner)
        return lambda text: not inner(text)
    if isinstance(node, Repeat) and isinstance(node.inner, Chars) and node.inner.cs == CharSet.any():
        lo, hi = node.lo, node.hi
        return lambda text: lo <= len(text) and (hi is None or len(text) <= hi)
    if isinstance(node, Alt):
        alternatives = [membership_test(x) for x in node.items]
        return lambda text: any(t(text) for t in alternatives)
    return _exact_test(node) or _search_test(node) or Lang.from_regex(node).contains


def _any_star(node: Regex) -> bool:
    return (isinstance(node, (Star, Repeat)) and isinstance(node.inner, Chars) and node.inner.cs == CharSet.any()
            and (isinstance(node, Star) or (node.lo == 0 and node.hi is None)))


def _search_test(node: Regex) -> Callable[[str], bool] | None:
    """``.*X.*``, ``X.*``, ``.*X`` (a Text capture's "no double space" and the like) as one ``re``
    search, match or search-to-the-end, when X's translation loses nothing wherever it stops."""
    if not isinstance(node, Concat) or len(node.items) < 2:
        return None
    items = node.items
    lead, trail = _any_star(items[0]), _any_star(items[-1])
    middle = items[int(lead):len(items) - int(trail)]
    if not (lead or trail) or not middle or any(_any_star(x) for x in middle):
        return None
    inner = Concat(middle)
    if any(isinstance(n, (Capture, Intersect, Complement, Difference, LangRef, Shuffle)) or _has_loop(n)
           for n in walk(inner)):
        return None
    translator = _Translator()
    try:  # nothing or anything may follow X: translated for "anything follows", exact only if no commitment loses
        pattern = translator.tr(inner, inside_capture=None, follow=None if trail else CharSet.empty())
    except _NoFastPath:
        return None
    if not translator.exact:
        return None
    try:
        regex = re.compile(_merge_folded(pattern) + ("" if trail else r"\Z"), re.DOTALL)
    except (re.error, RecursionError, OverflowError):
        return None
    if lead:
        search = regex.search
        return lambda text: search(text) is not None
    match = regex.match
    return lambda text: match(text) is not None


def _exact_test(node: Regex) -> Callable[[str], bool] | None:
    """``node``'s membership as one C-speed ``re.fullmatch``, when its translation loses nothing
    (exact, nothing checked afterwards); texts past MAX_FAST_LENGTH go to the DFA."""
    extractor = fast_extractor(node)
    if extractor is None or not extractor.exact or extractor.checks:
        return None
    fullmatch = extractor.regex.fullmatch

    def test(text: str) -> bool:
        if len(text) <= MAX_FAST_LENGTH:
            return fullmatch(text) is not None
        return Lang.from_regex(node).contains(text)  # rare (a capture that long): built when met

    return test


def fast_extractor(regex: Regex) -> FastExtractor | None:
    """The extractor for ``regex``, or None when it has no safe ``re`` form."""
    translator = _Translator()
    try:
        pattern = translator.tr(regex, inside_capture=None, follow=CharSet.empty())  # fullmatch: nothing follows
    except _NoFastPath:
        return None
    try:
        return FastExtractor(_merge_folded(pattern), translator.groups, translator.checked, translator.exact)
    except (re.error, RecursionError, OverflowError):
        return None


class OrderedExtractor:
    """The extractor of an ordered grammar, ``first`` then ``second`` (a widened grammar: its authored part,
    then its learned rule, spec/grammar.md): an utterance ``first`` accepts is read by it even where
    ``second`` would read it otherwise, so ``second`` is asked only once ``first`` has *proved* the
    utterance is not its (an exact failure); otherwise the caller falls back to the leftmost-first
    Matcher, which gives the same reading.  ``second`` may be None (it has no ``re`` form)."""

    __slots__ = ("first", "second", "exact")

    def __init__(self, first: FastExtractor, second: FastExtractor | None) -> None:
        self.first = first
        self.second = second
        self.exact = first.exact and second is not None and second.exact

    def fullmatch(self, text: str) -> dict[str, str | None] | None:
        return self.decide(text)[0]

    def decide(self, text: str) -> tuple[dict[str, str | None] | None, bool]:
        """(captures or None, whether None proves that ``text`` is not in the language)."""
        groups, decided = self.first.decide(text)
        if groups is not None or not decided or self.second is None:
            return (groups, False) if groups is None else (groups, True)
        return self.second.decide(text)


def ordered_extractor(first: Regex, second: Regex) -> OrderedExtractor | None:
    """The extractor of the ordered grammar ``first`` then ``second``, or None when ``first`` has no safe
    ``re`` form."""
    head = fast_extractor(first)
    return OrderedExtractor(head, fast_extractor(second)) if head is not None else None


_MAX_SHUFFLE_ORDERS = 4  # any-order groups of at most this many parts are spelled out for re (≤ 64 orders)
_BACKTRACKING_BUDGET = 1  # greedy (non-possessive) loops allowed per pattern: O(n^(budget+1)) worst case
MAX_FAST_LENGTH = 1000  # longer utterances go to the Matcher (bounds the polynomial above)


@lru_cache(maxsize=65536)
def first(node: Regex) -> tuple[CharSet, bool]:
    """(characters a non-empty match can start with — an over-approximation, nullable)."""
    if isinstance(node, Chars):
        return node.cs, False
    if isinstance(node, (Epsilon,)):
        return CharSet.empty(), True
    if isinstance(node, Empty):
        return CharSet.empty(), False
    if isinstance(node, Concat):
        acc = CharSet.empty()
        for item in node.items:
            cs, nullable = first(item)
            acc = acc.union(cs)
            if not nullable:
                return acc, False
        return acc, True
    if isinstance(node, Alt):
        acc, any_nullable = CharSet.empty(), False
        for item in node.items:
            cs, nullable = first(item)
            acc, any_nullable = acc.union(cs), any_nullable or nullable
        return acc, any_nullable
    if isinstance(node, Star):
        return first(node.inner)[0], True
    if isinstance(node, Repeat):
        cs, nullable = first(node.inner)
        return cs, nullable or node.lo == 0
    if isinstance(node, (Capture, Named)):
        return first(node.inner)
    if isinstance(node, Tag):
        return CharSet.empty(), True
    if isinstance(node, Shuffle):
        acc = CharSet.empty()
        for item in node.items:
            acc = acc.union(first(item)[0])
        return acc, not any(node.required) or all(first(x)[1] for x, r in zip(node.items, node.required) if r)
    return CharSet.any(), True  # Boolean nodes: anything (conservative)


class _Translator:
    """Translation with the follow set in hand: possessive/atomic exactly where that loses nothing."""

    def __init__(self) -> None:
        self.groups: list[tuple[str, str]] = []  # (re group name, parameter)
        self.checked: dict[str, Regex] = {}  # over-approximated groups: re group -> exact language
        self.inner_of: dict[str, Regex] = {}
        self.budget = _BACKTRACKING_BUDGET
        # True while every commitment made so far loses no match: then a failed match means
        # "not in the language", and the router needs no second opinion.
        self.exact = True

    def tr(self, node: Regex, inside_capture: str | None, follow: CharSet | None = None,
           in_loop: bool = False) -> str:
        """A single-unit pattern for ``node``; ``follow``: what may come right after it (None: anything)."""
        after = CharSet.any() if follow is None else follow
        if isinstance(node, Chars):
            return _char_class(node.cs)
        if isinstance(node, (Epsilon, Tag)):
            return "(?:)"
        if isinstance(node, Named):
            return self.tr(node.inner, inside_capture, follow, in_loop)
        if isinstance(node, Shuffle):
            if len(node.items) > _MAX_SHUFFLE_ORDERS:
                raise _NoFastPath  # n! orders: the Matcher's 2^n-state automaton is the better engine
            return self.tr(expand_shuffle(node), inside_capture, follow, in_loop)
        if isinstance(node, Empty):
            return "(?!)"
        if isinstance(node, Concat):
            parts: list[str] = []
            items = node.items
            for i, item in enumerate(items):
                parts.append(self.tr(item, inside_capture, self._follow(items[i + 1:], follow), in_loop))
            return "(?:" + "".join(parts) + ")"
        if isinstance(node, Alt):
            branches = [self.tr(x, inside_capture, follow, in_loop) for x in node.items]
            if deterministic(node, after):
                # The next character decides every choice inside: committing to the first match loses
                # nothing — provided a branch that can match nothing is tried last (it would succeed
                # first on any input). Reordering is safe: deterministic branches never compete.
                nullable = [first(x)[1] for x in node.items]
                ordered = [b for b, e in zip(branches, nullable) if not e] + [b for b, e in zip(branches, nullable) if e]
                return "(?>" + "|".join(ordered) + ")"
            if in_loop:
                # Inside a loop, commit anyway (longest branch first) to keep backtracking polynomial.
                order = sorted(range(len(branches)), key=lambda i: -_min_length(node.items[i]))
                if not _longest_first_is_exact([node.items[i] for i in order], follow):
                    self.exact = False
                return "(?>" + "|".join(branches[i] for i in order) + ")"
            return "(?:" + "|".join(branches) + ")"  # backtracking bounded by the grammar's size, not the input's
        if isinstance(node, (Star, Repeat)):
            if not node.greedy:
                raise _NoFastPath  # a lazy loop cannot be made possessive without changing its meaning
            body_first, _ = first(node.inner)
            lo, hi = (0, None) if isinstance(node, Star) else (node.lo, node.hi)
            # An optional part (x{0,1}) is not a loop: nothing in it can repeat.
            looping = in_loop or hi is None or hi > 1
            inner = "(?:" + self.tr(node.inner, inside_capture, body_first.union(after), in_loop=looping) + ")"
            if hi is not None and hi == lo:
                return inner + "{" + str(lo) + "}"
            counts = "*" if (lo, hi) == (0, None) else "{" + f"{lo},{'' if hi is None else hi}" + "}"
            if deterministic(node, after):
                return inner + counts + "+"  # possessive, and exact: the next character decides every step
            if not in_loop and hi == 1:
                return inner + counts  # an optional part may backtrack: bounded by the grammar, not the input
            if not in_loop and self.budget > 0 and (not _has_loop(node.inner)
                                                    or deterministic(node.inner, body_first.union(after))):
                # One greedy loop that may give back: polynomial backtracking.  Its body has no loop, or
                # the next character decides every step inside it (its loops are possessive and exact),
                # so an iteration matches in one way at most and only the count is given back
                # ("add <words> to the list": the words' loop gives back the words " to the list").
                self.budget -= 1
                return inner + counts
            self.exact = False
            return inner + counts + "+"  # possessive to stay polynomial; a failure is then not conclusive
        if isinstance(node, Capture):
            if in_loop:
                raise _NoFastPath  # a capture inside a loop: re keeps one iteration, like us, but not provably
            group = f"g{len(self.groups)}"  # distinct re names: a parameter may be captured in several places
            self.groups.append((group, node.name))
            self.inner_of[group] = node.inner
            return f"(?P<{group}>" + self.tr(node.inner, group, follow, in_loop) + ")"
        if isinstance(node, LangRef) and node.source is not None:  # a shared rule: spelt out as written
            return self.tr(node.source, inside_capture, follow, in_loop)
        if isinstance(node, (Intersect, Complement, Difference, LangRef)):
            if inside_capture is None:
                raise _NoFastPath
            # Over-approximate; the captured text is checked afterwards (FastExtractor.decide).
            self.checked[inside_capture] = self.inner_of[inside_capture]
            if isinstance(node, Intersect):
                return self.tr(node.items[0], inside_capture, follow, in_loop)
            if isinstance(node, Difference):
                return self.tr(node.left, inside_capture, follow, in_loop)
            return "(?:.*+)" if follow is None or follow.is_empty() else "(?:.*)"
        raise _NoFastPath

    @staticmethod
    def _follow(rest: tuple[Regex, ...], outer: CharSet | None) -> CharSet | None:
        acc = CharSet.empty()
        for item in rest:
            cs, nullable = first(item)
            acc = acc.union(cs)
            if not nullable:
                return acc
        return None if outer is None else acc.union(outer)


@lru_cache(maxsize=65536)
def deterministic(node: Regex, follow: CharSet) -> bool:
    """Whether, matching ``node`` before text starting in ``follow``, the next character decides every choice.

    The LL(1) condition: alternatives start with disjoint characters (a nullable one only where
    the follow cannot start another), and a loop's body cannot start what follows the loop, nor
    match nothing.  Then an atomic group or possessive loop around ``node`` commits to the only
    match there is, so it loses none.
    """
    if isinstance(node, (Chars, Epsilon, Empty, Tag)):
        return True
    if isinstance(node, (Capture, Named)):
        return deterministic(node.inner, follow)
    if isinstance(node, Shuffle):
        return len(node.items) <= _MAX_SHUFFLE_ORDERS and deterministic(expand_shuffle(node), follow)
    if isinstance(node, Concat):
        items = node.items
        for i, item in enumerate(items):
            after = _Translator._follow(items[i + 1:], follow)
            if not deterministic(item, CharSet.any() if after is None else after):
                return False
        return True
    if isinstance(node, Alt):
        seen = CharSet.empty()
        nullable_branches = 0
        for item in node.items:
            cs, nullable = first(item)
            if not cs.isdisjoint(seen):
                return False
            seen = seen.union(cs)
            nullable_branches += nullable
        if nullable_branches > 1 or (nullable_branches == 1 and not seen.isdisjoint(follow)):
            return False
        return all(deterministic(item, follow) for item in node.items)
    if isinstance(node, (Star, Repeat)):
        body_first, body_nullable = first(node.inner)
        fixed = isinstance(node, Repeat) and node.hi == node.lo
        if not fixed and (body_nullable or not body_first.isdisjoint(follow)):
            return False
        return deterministic(node.inner, body_first.union(follow))
    return False  # Boolean nodes


def _literal(node: Regex) -> tuple[CharSet, ...] | None:
    if isinstance(node, Chars):
        return (node.cs,)
    if isinstance(node, Concat):
        sets: list[CharSet] = []
        for x in node.items:
            if not isinstance(x, Chars):
                return None
            sets.append(x.cs)
        return tuple(sets)
    return None


def _longest_first_is_exact(items: list[Regex], follow: CharSet | None) -> bool:
    """Committing to the first (longest) literal branch that matches never loses a match.

    It could only lose one if a shorter branch Y matched where a longer X did and the text
    after Y started with X's next character — impossible when that character cannot follow.
    """
    literals = [_literal(x) for x in items]
    if any(lit is None for lit in literals):
        return False
    for i, x in enumerate(literals):
        for y in literals[i + 1:]:
            assert x is not None and y is not None
            if len(y) < len(x) and all(not a.isdisjoint(b) for a, b in zip(x, y)):
                if follow is None or not x[len(y)].isdisjoint(follow):
                    return False
            elif len(y) >= len(x) and y != x and all(not a.isdisjoint(b) for a, b in zip(x, y)):
                return False  # same length, overlapping: committing to x may pick the wrong text
    return True


def _has_loop(node: Regex) -> bool:
    return any(isinstance(n, Star) or (isinstance(n, Repeat) and n.hi != n.lo) for n in walk(node))


def _min_length(node: Regex) -> int:
    if isinstance(node, Chars):
        return 1
    if isinstance(node, Concat):
        return sum(_min_length(x) for x in node.items)
    if isinstance(node, Alt):
        return min((_min_length(x) for x in node.items), default=0)
    if isinstance(node, Repeat):
        return node.lo * _min_length(node.inner)
    if isinstance(node, (Capture, Named)):
        return _min_length(node.inner)
    if isinstance(node, Shuffle):
        return sum(_min_length(x) for x, r in zip(node.items, node.required) if r)
    return 0


def _escape(cp: int) -> str:
    c = chr(cp)
    if c.isalnum() and cp < 128:
        return c
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


# A folded ASCII letter — ``ignore_case`` makes "t" the class [Tt] (and "k" [Kk\u212a], "s"
# [Ss\u017f]) — is exactly what ``re.IGNORECASE`` matches for that letter, for every letter but
# "i" (re also takes U+0130 for it; tests/test_fastpath.py checks the table against re).  Such a
# letter is spelt ``(?i:t)`` and runs of them merged (``(?i:turn)``): sre compiles a literal in a
# case-insensitive group several times faster than a class of two or three characters, and the
# extractors of a big registry are compiled when the router is built.  "i" ([Ii\u0131]) is spelt
# ``(?i:i)`` after a lookahead refusing U+0130: a class with a character past U+00FF compiles to a
# 256-byte block map (about half of a typical extractor's compiled code, and memory a hit at 10,000
# families finds cold), the lookahead to a few words.  Made on first use: the case table behind
# case_closure costs tens of milliseconds, which `ddl handle` (no extractor) never pays.
@lru_cache(maxsize=1)
def _folded_letters() -> dict[CharSet, str]:
    letters = {case_closure(CharSet.char(c)): f"(?i:{c})" for c in "abcdefghjklmnopqrstuvwxyz"}
    letters[case_closure(CharSet.char("i"))] = "(?:(?!\\u0130)(?i:i))"
    return letters


_ADJACENT_FOLDED = re.compile(r"\(\?i:([a-z]+)\)\(\?i:([a-z]+)\)")


def _merge_folded(pattern: str) -> str:
    """``(?i:t)(?i:u)`` → ``(?i:tu)``.  (The translation escapes ``(`` in text, so every ``(?i:``
    is one of ours and holds letters only.)"""
    while True:
        merged = _ADJACENT_FOLDED.sub(r"(?i:\1\2)", pattern)
        if merged == pattern:
            return pattern
        pattern = merged


@lru_cache(maxsize=8192)
def _char_class(cs: CharSet) -> str:
    folded = _folded_letters().get(cs)
    if folded is not None:
        return folded
    ranges = cs.ranges()
    if not ranges:
        return "(?!)"
    if ranges == ((0, _MAX_CP),):
        return "."  # compiled with DOTALL
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _escape(ranges[0][0])
    # A class with many ranges is shorter as the complement of its complement.
    inverse = (~cs).ranges()
    if len(inverse) < len(ranges):
        return "[^" + "".join(_range(lo, hi) for lo, hi in inverse) + "]"
    return "[" + "".join(_range(lo, hi) for lo, hi in ranges) + "]"


def _range(lo: int, hi: int) -> str:
    if lo == hi:
        return _escape(lo)
    return f"{_escape(lo)}-{_escape(hi)}"
