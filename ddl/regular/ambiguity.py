"""Capture ambiguity on the NFA: the engine's first algorithm, kept as a baseline.

``ddl check`` decides ambiguity with :func:`ddl.regular.tagged.find_ambiguity`, which runs the
same self-product on the *capture automaton* (determinized over characters and tags) and scales
to grammars of real size.  This module's :func:`find_ambiguity_nfa` is the original search on the
NFA itself; ``bench/grammar_scale.py`` measures the two side by side and the tests use it as an
independent oracle on small grammars.

:func:`find_ambiguity_nfa` searches the *self-product* of the tagged Thompson NFA.
Two copies A and B read the same string in lock step; breadth-first search
gives a shortest witness.  A product state holds, between two characters:

* the CHAR/MATCH state of each copy;
* ``d``: the capture slots whose recorded positions currently differ;
* which names have a completed capture in A and in B (participation);
* per name and copy, what is known about the current capture's *text*.

Moving across one character, both copies consume a character of the
intersection of their sets, then each follows ε-paths to its next CHAR/MATCH
state.  The *tagged closure* enumerates every (target, slots written) pair —
different ε-paths with different tags are different parses; a slot written
twice at one position holds the same value, so sets of slots suffice.  Slots
written by both copies become equal, slots written by one become different:
``d' = (d & ~(Ta & Tb)) | (Ta ^ Tb)``.

Only differences in captured *values* count.  At ``(MATCH, MATCH)`` a name's
values differ when exactly one copy captured it; when both did with the same
span they are equal; with different spans:

* if some position inside either span allows several characters, the witness
  can choose characters so that the texts differ (positions are independent,
  and two spans of equal length at different starts compare distinct positions);
* if every position is a single character (literal text), the texts are fixed
  by the path.  For names whose possible texts form a small finite set (the
  usual enum of literals) the texts are part of the state, which makes the
  search exact; two parses capturing the same literal at different places are
  not ambiguous.  For other names (e.g. ``(?P<x>a+)`` shifted by one) the
  shortest path into the state is checked concretely and, if its texts happen
  to be equal, the search continues without re-expanding that state — the one
  remaining approximation.
"""

from __future__ import annotations

from collections import deque
from typing import Union

from ddl.regular.ast import Capture, Regex, alt, walk
from ddl.regular.charset import CharSet
from ddl.regular.errors import DEFAULT_LIMITS, AutomatonTooLarge, Limits, RegularError
from ddl.regular.lang import Lang, embedder
from ddl.regular.nfa import CHAR, MATCH, SPLIT, TAG, Prog, compile_regex, live_states

Captures = dict[str, "str | None"]


def _tagged_closure(prog: Prog, live: set[int], x: int) -> list[tuple[int, int]]:
    """All (CHAR-or-MATCH state, slot mask) reachable from ``x`` by ε-paths."""
    kind, out, outs, slot = prog.kind, prog.out, prog.outs, prog.slot
    seen = {(x, 0)}
    stack = [(x, 0)]
    res = []
    while stack:
        s, m = stack.pop()
        k = kind[s]
        if k == CHAR or k == MATCH:
            res.append((s, m))
            continue
        if k == SPLIT:
            nxt = [(t, m) for t in outs[s]]
        elif k == TAG:
            nxt = [(out[s], m)]
        else:  # SAVE
            nxt = [(out[s], m | (1 << slot[s]))]
        for item in nxt:
            if item[0] in live and item not in seen:
                seen.add(item)
                stack.append(item)
    res.sort()
    return res


_NS = 0  # the capture covers a position whose character set has several members
_LONG = 1  # the capture's text is longer than _TEXT_CAP: no longer tracked
_TEXT_CAP = 32
_MAX_TRACKED = 256  # captures with at most this many possible texts have their texts tracked

Text = Union[str, int]


def _extend(t: Text, ch: str | None, tracked: bool) -> Text:
    """Account for one more position inside a capture (``ch`` None: several characters possible)."""
    if ch is None or t == _NS:
        return _NS
    if not tracked or isinstance(t, int) or len(t) >= _TEXT_CAP:
        return _LONG
    return t + ch


def _small_finite_names(node: Regex, names: tuple[str, ...], limits: Limits) -> list[bool]:
    """For each name: is its captured text drawn from a small finite set (e.g. an enum of literals)?"""
    inner: dict[str, list[Regex]] = {n: [] for n in names}
    for n in walk(node):
        if isinstance(n, Capture):
            inner[n.name].append(n.inner)
    out = []
    for name in names:
        try:
            lang = Lang.from_regex(alt(*inner[name]), limits=limits)
        except RegularError:
            out.append(False)
            continue
        ok = lang.is_finite() and lang.num_states <= _TEXT_CAP
        out.append(ok and sum(lang.count(k) for k in range(lang.num_states + 1)) <= _MAX_TRACKED)
    return out


def find_ambiguity_nfa(node: Regex, *, limits: Limits = DEFAULT_LIMITS) -> tuple[str, Captures, Captures] | None:
    """An utterance with two parses that capture different values, or None.

    Returns ``(utterance, captures_a, captures_b)`` where each captures dict maps
    every capture name to its text (None when the capture did not participate).
    The utterance is a shortest one.  Parses that differ only outside captures,
    or capture the same text at different places, are not ambiguity.
    """
    prog = compile_regex(node, tags=True, limits=limits, embed=embedder(limits, allow_captures=False))
    names = prog.names
    if not names:
        return None
    live = live_states(prog)
    if prog.start not in live:
        return None
    out, css, enc = prog.out, prog.cs, prog.enc
    tracked = _small_finite_names(node, names, limits)
    match = prog.match
    nn = len(names)
    clo_memo: dict[int, list[tuple[int, int]]] = {}

    def tclo(x: int) -> list[tuple[int, int]]:
        got = clo_memo.get(x)
        if got is None:
            got = clo_memo[x] = _tagged_closure(prog, live, x)
        return got

    inter_memo: dict[tuple[int, int], CharSet] = {}

    def common(a: int, b: int) -> CharSet:
        key = (a, b) if a <= b else (b, a)
        got = inter_memo.get(key)
        if got is None:
            ca, cb = css[a], css[b]
            assert ca is not None and cb is not None
            got = inter_memo[key] = ca & cb
        return got

    def opened(tags: int) -> list[int]:
        return [x for x in range(nn) if tags >> (2 * x) & 1]

    def closed(tags: int) -> int:
        return sum(1 << x for x in range(nn) if tags >> (2 * x + 1) & 1)

    # A product state: (state A, state B, slots whose positions differ, names closed
    # in A, names closed in B, tracked texts (A0, B0, A1, B1, ...)).
    State = tuple[int, int, int, int, int, tuple[Text, ...]]
    parent: dict[State, tuple[State | None, CharSet | None, int, int]] = {}
    queue: deque[State] = deque()
    max_states = limits.max_dfa_states

    def verdict(st: State) -> bool | None:
        """At (MATCH, MATCH): True = values differ, None = maybe (untracked long texts), False = equal."""
        _, _, d, pa, pb, texts = st
        maybe = False
        for x in range(nn):
            if (pa ^ pb) >> x & 1:
                return True
            if not pa >> x & 1 or not (d >> (2 * x)) & 3:
                continue
            ta, tb = texts[2 * x], texts[2 * x + 1]
            if ta == _NS or tb == _NS:
                return True  # shifted spans over a class: characters can be chosen to differ
            if isinstance(ta, str) and isinstance(tb, str):
                if ta != tb:
                    return True
            else:
                maybe = True
        return None if maybe else False

    def visit(
        st: State, prev: State | None, cs: CharSet | None, ta: int, tb: int
    ) -> tuple[str, Captures, Captures] | None:
        if st in parent:
            return None
        if len(parent) >= max_states:
            raise AutomatonTooLarge("ambiguity search", max_states, "state pairs")
        parent[st] = (prev, cs, ta, tb)
        a, b = st[0], st[1]
        if a == match and b == match:
            if st[2] and verdict(st) is not False:
                return _witness(parent, st, names)
            return None
        if a != match and b != match:
            queue.append(st)
        return None

    def after_tags(texts: list[Text], ta: int, tb: int) -> tuple[Text, ...]:
        for x in opened(ta):
            texts[2 * x] = ""
        for x in opened(tb):
            texts[2 * x + 1] = ""
        return tuple(texts)

    start = tclo(prog.start)
    blank: list[Text] = [""] * (2 * nn)
    for a, ta in start:
        for b, tb in start:
            st0: State = (a, b, ta ^ tb, closed(ta), closed(tb), after_tags(list(blank), ta, tb))
            hit = visit(st0, None, None, ta, tb)
            if hit:
                return hit
    while queue:
        st = queue.popleft()
        a, b, d, pa, pb, texts = st
        cs = common(a, b)
        if not cs:
            continue
        ch = chr(cs.min()) if cs.size() == 1 else None
        moved = list(texts)
        ea, eb = enc[a], enc[b]
        for x in range(nn):
            if ea >> x & 1:
                moved[2 * x] = _extend(moved[2 * x], ch, tracked[x])
            if eb >> x & 1:
                moved[2 * x + 1] = _extend(moved[2 * x + 1], ch, tracked[x])
        ca, cb = tclo(out[a]), tclo(out[b])
        for na, ta in ca:
            for nb, tb in cb:
                if (na == match) != (nb == match):
                    continue  # one parse ended, the other needs more input: never both accept
                nd = (d & ~(ta & tb)) | (ta ^ tb)
                nst: State = (na, nb, nd, pa | closed(ta), pb | closed(tb), after_tags(list(moved), ta, tb))
                hit = visit(nst, st, cs, ta, tb)
                if hit:
                    return hit
    return None


def _witness(parent: dict, st: tuple, names: tuple[str, ...]) -> tuple[str, Captures, Captures] | None:  # type: ignore[type-arg]
    """Spell the path to ``st``; choose characters so that captured values differ."""
    sets: list[CharSet] = []
    tags_a: list[int] = []
    tags_b: list[int] = []
    cur = st
    while True:
        prev, cs, ta, tb = parent[cur]
        tags_a.append(ta)
        tags_b.append(tb)
        if prev is None:
            break
        sets.append(cs)
        cur = prev
    sets.reverse()
    tags_a.reverse()
    tags_b.reverse()
    slots_a = _replay(tags_a, 2 * len(names))
    slots_b = _replay(tags_b, 2 * len(names))
    chars = [cs.representative() for cs in sets]

    def caps(slots: list[int]) -> Captures:
        text = "".join(chars)
        return {
            n: (text[slots[2 * k] : slots[2 * k + 1]] if slots[2 * k + 1] >= 0 else None) for k, n in enumerate(names)
        }

    ca, cb = caps(slots_a), caps(slots_b)
    if ca != cb:
        return "".join(chars), ca, cb
    # Values coincide for the chosen characters: try to make one shifted span differ.
    for k in range(len(names)):
        a1, a2, b1, b2 = slots_a[2 * k], slots_a[2 * k + 1], slots_b[2 * k], slots_b[2 * k + 1]
        if a2 < 0 or b2 < 0 or a1 == b1:
            continue
        for off in range(a2 - a1):
            p, q = a1 + off, b1 + off
            others_q = sets[q] - CharSet.char(chars[p])
            if others_q:
                chars[q] = others_q.representative()
            else:
                others_p = sets[p] - CharSet.char(chars[q])
                if not others_p:
                    continue
                chars[p] = others_p.representative()
            ca, cb = caps(slots_a), caps(slots_b)
            if ca != cb:
                return "".join(chars), ca, cb
    return None


def _replay(tags: list[int], nslots: int) -> list[int]:
    slots = [-1] * nslots
    for pos, mask in enumerate(tags):
        for sl in range(nslots):
            if mask >> sl & 1:
                slots[sl] = pos
    return slots
