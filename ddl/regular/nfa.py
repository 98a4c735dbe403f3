"""Thompson NFAs ("programs") with priority-ordered splits and capture tags.

A :class:`Prog` is an array of instructions, each an integer state:

* ``CHAR cs → out``: consume one character from ``cs``;
* ``SPLIT outs``: ε-transitions, *ordered by priority* (earlier = preferred);
  an empty ``outs`` is a dead end (used for ∅);
* ``SAVE slot → out``: ε-transition that records the current position in a
  capture slot (slot ``2k`` opens capture ``names[k]``, ``2k + 1`` closes it);
* ``MATCH``: the single accepting state;
* ``TAG → out``: an ε-transition marking a value (:class:`~ddl.regular.ast.Tag`): plain ε
  for languages and matching, a symbol for the capture automata (:mod:`ddl.regular.tagged`).

The same program serves the language algebra (SAVE is plain ε, priorities are
irrelevant), the matcher (a Pike-VM-style walk that respects priorities,
giving ``re``'s leftmost-first parse) and the ambiguity search (tags).

Compilation is continuation-passing: ``_compile(node, next)`` returns the entry
state of ``node`` followed by ``next``.  Notes on shapes chosen for matching:

* ``x*`` is ``L: SPLIT(body, exit); body; E: SPLIT(L, exit)`` — returning to
  ``L`` after an iteration that consumed nothing hits a state already visited at
  this position, so the walk falls through to ``exit`` *keeping* that empty
  iteration's captures, like Python ``re`` (``(?P<x>a*)*`` on ``""`` gives ``x=""``).
* ``x+`` (and the tail of ``x{m,}``) is the same loop with the exit removed
  from ``L``, not ``x·x*``, so both loops treat empty iterations alike.
* ``x{m,n}`` expands to ``m`` copies followed by nested optionals
  ``(x(x(x)?)?)?``, so the subset construction sees one position at a time.
* Boolean nodes (``&``, ``~``, difference) and :class:`LangRef` are compiled by
  the caller-provided ``embed`` to a minimal DFA and spliced in as a fragment.
* An any-order group (:class:`~ddl.regular.ast.Shuffle`) of n items has one junction state
  per set of items already read, built from the full set down; item i after set S is one
  copy of item i continuing at the junction of S ∪ {i}.  So 2^n junctions and n·2^(n-1)
  item copies, never n! branches.
* Every state records the innermost :class:`~ddl.regular.ast.Named` label (or capture name)
  around it (``origin``), so that a construction that outgrows its limit can name the part
  of the grammar that drove it.
"""

from __future__ import annotations

import functools
from array import array
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

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
    capture_names,
    depth,
    spliced_size,
)
from ddl.regular.charset import CharSet
from ddl.regular.errors import AutomatonTooLarge, Limits, RegexTooLarge

if TYPE_CHECKING:
    from ddl.regular.dfa import DFA

CHAR, SPLIT, SAVE, MATCH, TAG = 0, 1, 2, 3, 4

_EMPTY_OUTS: tuple[int, ...] = ()


class FlatSuccessors:
    """``succ[q]``: the slice of one flat array of states that belongs to state ``q``: per-state lists of states
    as two arrays, which a pickle loads as two byte strings instead of a Python object per state."""

    __slots__ = ("start", "flat")

    def __init__(self, start: array[int], flat: array[int]) -> None:
        self.start, self.flat = start, flat

    @classmethod
    def of(cls, lists: Iterable[Iterable[int]]) -> FlatSuccessors:
        start, flat = array("i", [0]), array("i")
        for states in lists:
            flat.extend(states)
            start.append(len(flat))
        return cls(start, flat)

    def __getitem__(self, q: int) -> array[int]:
        return self.flat[self.start[q]:self.start[q + 1]]


def small_ints(values: Iterable[int], limit: int) -> array[int]:
    """``values`` (each in -1 .. ``limit`` - 1) as an array of the narrowest C type that holds them: a saved
    automaton's tables are read whole by every process that loads one, one or two bytes a state instead of four."""
    code = "b" if limit <= 1 << 7 else "h" if limit <= 1 << 15 else "i"
    return array(code, values)


class Prog:
    """A compiled NFA (see the module docstring)."""

    __slots__ = ("kind", "cs", "out", "outs", "slot", "enc", "start", "match", "names", "limit", "cur_enc",
                 "tags", "origin", "labels", "cur_origin")

    def __init__(self, limit: int = 1 << 62) -> None:
        self.kind: list[int] = []
        self.cs: list[CharSet | None] = []
        self.out: list[int] = []
        self.outs: list[tuple[int, ...]] = []
        self.slot: list[int] = []
        # Bitmask of the captures (by index in `names`) enclosing each state in the AST.
        self.enc: list[int] = []
        self.cur_enc = 0
        # TAG states: tags[slot[q]] is the (capture name, key) the state marks.
        self.tags: list[tuple[str, object]] = []
        # origin[q]: index in `labels` of the innermost label around q (0: none).
        self.origin: list[int] = []
        self.labels: list[str] = [""]
        self.cur_origin = 0
        self.start = 0
        self.match = -1
        self.names: tuple[str, ...] = ()
        self.limit = limit

    def __len__(self) -> int:
        return len(self.kind)

    def _new(self, kind: int, cs: CharSet | None, out: int, outs: tuple[int, ...], slot: int) -> int:
        i = len(self.kind)
        if i >= self.limit:
            raise AutomatonTooLarge("NFA compilation", self.limit, "NFA states")
        self.kind.append(kind)
        self.cs.append(cs)
        self.out.append(out)
        self.outs.append(outs)
        self.slot.append(slot)
        self.enc.append(self.cur_enc)
        self.origin.append(self.cur_origin)
        return i

    def char(self, cs: CharSet, out: int) -> int:
        if cs.is_empty():
            return self.split(())
        return self._new(CHAR, cs, out, _EMPTY_OUTS, -1)

    def split(self, outs: tuple[int, ...] | list[int]) -> int:
        return self._new(SPLIT, None, -1, tuple(outs), -1)

    def save(self, slot: int, out: int) -> int:
        return self._new(SAVE, None, out, _EMPTY_OUTS, slot)

    def tag(self, name: str, key: object, out: int) -> int:
        self.tags.append((name, key))
        return self._new(TAG, None, out, _EMPTY_OUTS, len(self.tags) - 1)

    def label(self, text: str) -> int:
        """The index of a state label (see ``origin``)."""
        try:
            return self.labels.index(text)
        except ValueError:
            self.labels.append(text)
            return len(self.labels) - 1

    def add_match(self) -> int:
        self.match = self._new(MATCH, None, -1, _EMPTY_OUTS, -1)
        return self.match

    def patch(self, state: int, outs: tuple[int, ...] | list[int]) -> None:
        self.outs[state] = tuple(outs)

    def char_states(self) -> list[int]:
        return [i for i, k in enumerate(self.kind) if k == CHAR]

    def eps_successors(self, i: int) -> tuple[int, ...]:
        k = self.kind[i]
        if k == SPLIT:
            return self.outs[i]
        if k == SAVE or k == TAG:
            return (self.out[i],)
        return _EMPTY_OUTS


def live_states(prog: Prog, matches: Iterable[int] | None = None) -> set[int]:
    """States from which MATCH (or one of ``matches``: a program of many languages) is reachable (∅
    fragments are dead ends); used by matching, ambiguity and the combined automaton of a LangSet."""
    rev: list[list[int]] = [[] for _ in prog.kind]
    for s, k in enumerate(prog.kind):
        for t in prog.eps_successors(s) if k != CHAR else (prog.out[s],):
            rev[t].append(s)
    live = {prog.match} if matches is None else set(matches)
    stack = list(live)
    while stack:
        t = stack.pop()
        for s in rev[t]:
            if s not in live:
                live.add(s)
                stack.append(s)
    return live


Embedder = Callable[[Regex], "DFA"]


def check_regex(node: Regex, limits: Limits) -> None:
    """Raise :class:`RegexTooLarge` if ``node`` exceeds the AST limits."""
    d = depth(node)
    if d > limits.max_depth:
        raise RegexTooLarge(f"regex nesting depth {d} exceeds the limit of {limits.max_depth}")
    n = spliced_size(node)
    if n > limits.max_regex_size:
        raise RegexTooLarge(
            f"regex size {n:,} (with bounded repetitions expanded) exceeds the limit of {limits.max_regex_size:,}"
        )


def compile_regex(node: Regex, *, tags: bool, limits: Limits, embed: Embedder) -> Prog:
    """Compile ``node`` to a :class:`Prog`; with ``tags`` captures become SAVE states."""
    check_regex(node, limits)
    prog = Prog(limits.max_nfa_states)
    names = capture_names(node) if tags else ()
    prog.names = names
    slot_of = {n: 2 * i for i, n in enumerate(names)}
    m = prog.add_match()
    prog.start = _Compiler(prog, slot_of, tags, embed).compile(node, m)
    return prog


class _Compiler:
    def __init__(self, prog: Prog, slot_of: dict[str, int], tags: bool, embed: Embedder) -> None:
        self.p = prog
        self.slot_of = slot_of
        self.tags = tags
        self.embed = embed

    def compile(self, node: Regex, nxt: int) -> int:
        p = self.p
        if isinstance(node, Chars):
            return p.char(node.cs, nxt)
        if isinstance(node, Concat):
            for item in reversed(node.items):
                nxt = self.compile(item, nxt)
            return nxt
        if isinstance(node, Alt):
            return p.split([self.compile(it, nxt) for it in node.items])
        if isinstance(node, Epsilon):
            return nxt
        if isinstance(node, Empty):
            return p.split(())
        if isinstance(node, Star):
            return self.star(node.inner, node.greedy, nxt)
        if isinstance(node, Repeat):
            lo = node.lo
            if node.hi is None:
                if lo == 0:
                    cur = self.star(node.inner, node.greedy, nxt)
                else:
                    cur = self.plus(node.inner, node.greedy, nxt)
                    lo -= 1
            else:
                cur = nxt
                for _ in range(node.hi - node.lo):
                    body = self.compile(node.inner, cur)
                    cur = p.split((body, nxt) if node.greedy else (nxt, body))
            for _ in range(lo):
                cur = self.compile(node.inner, cur)
            return cur
        if isinstance(node, Capture):
            outer_origin = p.cur_origin
            p.cur_origin = p.label(node.name)
            try:
                if not self.tags:
                    return self.compile(node.inner, nxt)
                k = self.slot_of[node.name]
                close = p.save(k + 1, nxt)
                outer = p.cur_enc
                p.cur_enc = outer | (1 << (k // 2))
                body = self.compile(node.inner, close)
                p.cur_enc = outer
                return p.save(k, body)
            finally:
                p.cur_origin = outer_origin
        if isinstance(node, Tag):
            return p.tag(node.name, node.key, nxt) if self.tags else nxt
        if isinstance(node, Named):
            outer_origin = p.cur_origin
            p.cur_origin = p.label(node.label)
            try:
                return self.compile(node.inner, nxt)
            finally:
                p.cur_origin = outer_origin
        if isinstance(node, Shuffle):
            return self.shuffle(node, nxt)
        if isinstance(node, (Intersect, Complement, Difference, LangRef)):
            try:
                dfa = self.embed(node)
            except AutomatonTooLarge as err:
                # Name the capture or rule whose Boolean part grew (the innermost label around it).
                if err.inside is None and p.cur_origin:
                    err.inside = p.labels[p.cur_origin]
                raise
            return embed_dfa(p, dfa, nxt)
        raise TypeError(f"not a regex node: {node!r}")

    def shuffle(self, node: Shuffle, nxt: int) -> int:
        """Junction per set of items read (bitmask), built from the full set down (see the module docstring)."""
        p = self.p
        n = len(node.items)
        need = sum(1 << i for i, r in enumerate(node.required) if r)
        junction: dict[int, int] = {}
        for used in range((1 << n) - 1, -1, -1):
            outs: list[int] = []
            for i in range(n):
                if used >> i & 1:
                    continue
                entry = self.compile(node.items[i], junction[used | 1 << i])
                if used:
                    entry = self.compile(node.sep, entry)
                outs.append(entry)
            if used & need == need:
                outs.append(nxt)
            junction[used] = p.split(outs)
        return junction[0]

    def plus(self, inner: Regex, greedy: bool, nxt: int) -> int:
        # A loop whose first iteration is mandatory, rather than x·x*: an empty
        # iteration right after a consuming one revisits `loop` and is cut, as in RE2.
        p = self.p
        loop = p.split(())
        again = p.split(())
        body = self.compile(inner, again)
        p.patch(loop, (body,))
        p.patch(again, (loop, nxt) if greedy else (nxt, loop))
        return loop

    def star(self, inner: Regex, greedy: bool, nxt: int) -> int:
        p = self.p
        loop = p.split(())
        again = p.split(())
        body = self.compile(inner, again)
        p.patch(loop, (body, nxt) if greedy else (nxt, body))
        p.patch(again, (loop, nxt) if greedy else (nxt, loop))
        return loop


def embed_dfa(p: Prog, dfa: DFA, nxt: int) -> int:
    """Splice a DFA into ``p`` as a fragment continuing at ``nxt``; returns its entry.

    States that cannot reach acceptance are dropped.  Each state becomes a
    SPLIT over one CHAR per distinct target (atoms to the same target merged
    into one set), then ``nxt`` if accepting — consuming more is preferred.
    """
    plan = _splice_plan(dfa)
    if not plan:
        return p.split(())
    entry = {s: p.split(()) for s, _, _ in plan}
    for s, edges, accepting in plan:
        outs = [p.char(cs, entry[t]) for cs, t in edges]
        if accepting:
            outs.append(nxt)
        p.patch(entry[s], outs)
    return entry[dfa.start]


@functools.lru_cache(maxsize=1024)
def _splice_plan(dfa: DFA) -> tuple[tuple[int, tuple[tuple[CharSet, int], ...], bool], ...]:
    """Per live state (start first): its edges as (character set, target) and whether it accepts.

    Memoized per DFA (by identity; embedded DFAs are themselves memoized), because
    the same sub-language — a Text capture's "pattern & at most n characters" —
    is spliced into many grammars.
    """
    live = dfa.live_states()
    if dfa.start not in live:
        return ()
    atoms = dfa.part.atoms
    plan = []
    for s in [dfa.start, *sorted(live - {dfa.start})]:
        by_target: dict[int, list[int]] = {}
        for a, t in enumerate(dfa.delta[s]):
            if t in live:
                by_target.setdefault(t, []).append(a)
        edges = tuple((CharSet.empty().union(*(atoms[a] for a in al)), t) for t, al in by_target.items())
        plan.append((s, edges, dfa.accept[s]))
    return tuple(plan)


def reverse_dfa_prog(dfa: DFA, limit: int) -> Prog:
    """An NFA for the reversal of ``dfa``'s language (edges flipped)."""
    p = Prog(limit)
    m = p.add_match()
    live = dfa.live_states()
    entry = {s: p.split(()) for s in sorted(live)}
    atoms = dfa.part.atoms
    incoming: dict[int, dict[int, list[int]]] = {s: {} for s in live}
    for s in sorted(live):
        for a, t in enumerate(dfa.delta[s]):
            if t in live:
                incoming[t].setdefault(s, []).append(a)
    for t in sorted(live):
        outs = [p.char(CharSet.empty().union(*(atoms[a] for a in al)), entry[s]) for s, al in incoming[t].items()]
        if t == dfa.start:
            outs.append(m)
        p.patch(entry[t], outs)
    p.start = p.split([entry[s] for s in sorted(live) if dfa.accept[s]])
    return p
