"""Whole-string matching with named captures in time linear in the input.

No backtracking anywhere.  :class:`Matcher` compiles the regex to a tagged
Thompson NFA (:mod:`ddl.regular.nfa`) and answers ``fullmatch`` in three passes:

1. **Forward pass** — a lazily built DFA over *sets of NFA states* runs over the
   input and records, for every position ``i``, the set ``F[i]`` of CHAR states
   (and MATCH at the end) reachable by reading ``s[:i]``.  ``s`` matches iff
   MATCH is in ``F[n]``.
2. **Backward pass** — right to left, ``V[i]`` is the part of ``F[i]`` from which
   the rest of the input ``s[i:]`` leads to acceptance (one step per character,
   cached per (F[i], V[i+1], character)).  Restricting to ``F[i]`` keeps the sets
   small even where a grammar has many copies of a phrase (any_order groups):
   the states that *could* read a suffix like " please" are most of them.  Each
   step is one dict lookup once cached (at most one new lazy state per character,
   so even an exponentially large DFA costs O(len × NFA) in the worst case and
   never needs to be built in full).
3. **Forward walk** — one thread.  At each position it explores the ε-graph
   from its current state depth-first *in priority order*, skipping states
   already visited at this position (exactly the Pike VM's ``addthread``), and
   takes the first CHAR state in ``V[i]``; SAVE states on the way record the
   capture slots.  Since ``V[i]`` tells which branches can still succeed, the
   first viable branch is exactly the one a backtracking matcher (Python ``re``)
   would commit to, and also the Pike VM's highest-priority surviving thread —
   so captures follow ``re``'s leftmost-first, greedy/lazy semantics, without
   ever trying a dead branch.  Walk results are cached per
   (state, viable-set), so typical inputs cost one lookup per character.

``(a+)+$`` or ``(a|a)*b`` against 100,000 characters therefore take a few
tens of milliseconds.

Semantics where the references disagree: a loop never runs two iterations at
the same position (the Pike VM rule), so an iteration that matches nothing ends
the loop.  Python ``re`` instead runs one extra empty iteration after the last
consuming one (``(?:(?P<x>a*))*`` on ``"aa"``: ``re`` gives ``x=""``, RE2 and
this engine ``x="aa"``); RE2 departs from leftmost-first order for *lazy* loops
over bodies that can match nothing (``(?:(?P<x>a*?))*?`` on ``"aa"``: ``re`` and
this engine give ``x="a"``, RE2 ``"aa"``).  Everywhere else all three agree
(tested differentially).  :meth:`Matcher.longest_prefix` runs the lazy DFA forward to
report how far the input can be read before no member is possible any more.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any, Union

from ddl.regular.ast import Regex
from ddl.regular.dfa import closures
from ddl.regular.errors import DEFAULT_LIMITS, Limits
from ddl.regular.lang import embedder
from ddl.regular.nfa import CHAR, MATCH, SAVE, SPLIT, TAG, FlatSuccessors, Prog, compile_regex, live_states, small_ints
from ddl.regular.partition import Partition

# Slots saved along an ε-path, as a persistent linked list (slot, rest).
_Chain = Union[tuple[int, Any], None]

_CACHE_LIMIT = 20_000  # lazy-DFA transitions kept before the caches are flushed
_STOPS = bytes(1 if k in (CHAR, MATCH) else 0 for k in range(256))  # a state's kind → whether an ε-closure stops there


class _FlatProg:
    """The part of a :class:`Prog` a matcher reads, as flat arrays: a saved matcher (a family's hit kit) loads
    them as a few byte strings, where the program's lists of numbers cost a Python object per state."""

    def __init__(self, prog: Prog) -> None:
        self.kind = bytes(prog.kind)
        self.out = array("i", prog.out)
        self.outs = FlatSuccessors.of(prog.outs)  # a SPLIT's ε-successors, in priority order
        self.slot = small_ints(prog.slot, max(prog.slot, default=-1) + 1)
        self.start = prog.start
        self.match = prog.match


class _LiveClosures:
    """``c[x]``: the live CHAR/MATCH states ε-reachable from ``x`` (from ``through[x]`` if given), memoized."""

    __slots__ = ("_close", "_live", "_through", "_memo")

    def __init__(self, close: Any, live: bytes, through: Sequence[int] | None = None) -> None:
        self._close = close
        self._live = live  # live[q] is 1 when MATCH is reachable from q
        self._through = through
        self._memo: dict[int, frozenset[int]] = {}

    def __getitem__(self, x: int) -> frozenset[int]:
        got = self._memo.get(x)
        if got is None:
            y = self._through[x] if self._through is not None else x
            live = self._live
            got = frozenset(q for q in self._close(y) if live[q]) if y >= 0 and live[y] else frozenset()
            self._memo[x] = got
        return got


class Matcher:
    """Match whole strings against a regex and extract its named captures.

    A Matcher keeps lazily built transition caches (flushed when large); share
    one per thread, not across threads.
    """

    def __init__(self, node: Regex, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self.regex: Regex | None = node  # None in a matcher loaded from bytes (see __getstate__)
        prog = compile_regex(node, tags=True, limits=limits, embed=embedder(limits, allow_captures=False))
        self.names: tuple[str, ...] = prog.names
        kind, css = prog.kind, prog.cs

        # Only states from which MATCH is reachable matter (∅ fragments are dead ends).
        live = live_states(prog)
        bits = bytearray(len(kind))
        for q in live:
            bits[q] = 1
        self._live = bytes(bits)

        chars = [q for q in range(len(kind)) if kind[q] == CHAR and q in live]
        set_index: dict[object, int] = {}
        for q in chars:
            set_index.setdefault(css[q], len(set_index))
        part, covers = Partition.from_sets(list(set_index))  # type: ignore[arg-type]
        self._part = part
        # The atoms a state reads: reads[q] is the index of its character set (-1: not a live CHAR state), and
        # set_atoms[i] that set's atoms.  Per state, not per atom: a step asks it of the few states it is in.
        reads = [-1] * len(kind)
        for q in chars:
            reads[q] = set_index[css[q]]
        self._reads = small_ints(reads, len(set_index))
        self._set_atoms = [frozenset(c) for c in covers]
        self._prog = _FlatProg(prog)
        # ε-closures restricted to live states, computed on first use: a registry builds
        # matchers for thousands of grammars and most states' closures are never needed.
        self._closures()

        # Lazy-DFA caches, keyed by character (not atom) so that a cached step is one
        # dict lookup with no atom computation: per set id, backward row char → set id and
        # forward-walk row NFA state → (next state, saved slots).
        self._sets: list[frozenset[int]] = []
        self._set_id: dict[frozenset[int], int] = {}
        self._walk_rows: list[dict[int, tuple[int, tuple[int, ...]]]] = []
        self._back: dict[tuple[int, int, int], int] = {}
        self._fwd: dict[int, int] = {}
        self._cached = 0
        self._end = self._intern(frozenset({prog.match}))
        self._begin = self._intern(self._clo[prog.start])
        self._empty = self._intern(frozenset())

    def _closures(self) -> None:
        prog = self._prog
        close = closures(prog, prog.kind.translate(_STOPS))
        self._clo = _LiveClosures(close, self._live)
        self._after = _LiveClosures(close, self._live, through=prog.out)

    def __getstate__(self) -> dict[str, Any]:
        # The ε-closures are memoized closures (functions): recomputed on load.  The regex is not needed to
        # match (a saved matcher answers from its program) and holds whole automata: not kept.
        state = dict(self.__dict__)
        del state["_clo"], state["_after"]
        state["regex"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._closures()

    # ------------------------------------------------------------ lazy DFA

    def _intern(self, s: frozenset[int]) -> int:
        i = self._set_id.get(s)
        if i is None:
            i = self._set_id[s] = len(self._sets)
            self._sets.append(s)
            self._walk_rows.append({})
        return i

    def _flush(self) -> None:
        if self._cached + len(self._back) + len(self._fwd) > _CACHE_LIMIT:
            self._back.clear()
            self._fwd.clear()
            self._cached = 0
            keep = [self._sets[self._end], self._sets[self._begin]]
            self._sets.clear()
            self._set_id.clear()
            self._walk_rows.clear()
            self._end = self._intern(keep[0])
            self._begin = self._intern(keep[1])
            self._empty = self._intern(frozenset())

    def _forward(self, fid: int, atom: int) -> int:
        """The lazy forward DFA: the live states reached from set ``fid`` by reading ``atom``."""
        key = fid * self._part.n_atoms + atom  # an int key hashes faster than a tuple
        nxt = self._fwd.get(key)
        if nxt is None:
            acc: set[int] = set()
            after, reads, set_atoms = self._after, self._reads, self._set_atoms
            for q in self._sets[fid]:
                i = reads[q]
                if i >= 0 and atom in set_atoms[i]:
                    acc |= after[q]
            nxt = self._fwd[key] = self._intern(frozenset(acc))
            self._cached += 1
        return nxt

    def _viable(self, text: str) -> list[int] | None:
        """Ids of V[0..n] (see the module docstring), or None if ``text`` does not match.

        Only states reachable from the start along the text matter to the walk, so V[i] is
        computed within the forward set F[i] (one lazy-DFA step each way per character): far
        smaller than every state that could read the rest of the text, which in a grammar with
        many copies of a phrase (any_order) is most of them.
        """
        self._flush()
        n = len(text)
        atoms = self._part.atoms_of_text(text)
        fs = [0] * (n + 1)
        f = fs[0] = self._begin
        empty = self._empty
        forward = self._forward
        for i, a in enumerate(atoms):
            f = fs[i + 1] = forward(f, a)
            if f == empty:
                return None
        if self._prog.match not in self._sets[f]:
            return None
        vs = [0] * (n + 1)
        v = vs[n] = self._end
        back = self._back
        for i in range(n - 1, -1, -1):
            key = (fs[i], v, atoms[i])
            nv = back.get(key)
            if nv is None:
                nv = back[key] = self._back_step(fs[i], v, atoms[i])
                self._cached += 1
            v = vs[i] = nv
        return vs

    def _back_step(self, fid: int, vid: int, atom: int) -> int:
        """The CHAR states of F[i] that read ``atom`` and lead into V[i+1]."""
        v = self._sets[vid]
        after, reads, set_atoms = self._after, self._reads, self._set_atoms
        return self._intern(frozenset(q for q in self._sets[fid]
                                      if (i := reads[q]) >= 0 and atom in set_atoms[i] and not after[q].isdisjoint(v)))

    # ------------------------------------------------------------ forward walk

    def _step(self, state: int, vid: int) -> tuple[int, tuple[int, ...]]:
        """The next state after the first viable CHAR state (-1 at MATCH) and the slots saved on the way.

        Explores the ε-graph from ``state`` depth-first in priority order,
        skipping states visited at this position, and stops at the first CHAR
        (or MATCH) state in the viable set — see the module docstring.
        """
        prog = self._prog
        kind, out, outs, slot, clo = prog.kind, prog.out, prog.outs, prog.slot, self._clo
        v = self._sets[vid]
        visited: set[int] = set()
        # Stack entries: (state, saved-slots chain as nested pairs).
        stack: list[tuple[int, _Chain]] = [(state, None)]
        while stack:
            s, chain = stack.pop()
            if s in visited:
                continue
            visited.add(s)
            k = kind[s]
            if k == CHAR or k == MATCH:
                if s in v:
                    saves: list[int] = []
                    c = chain
                    while c is not None:
                        saves.append(c[0])
                        c = c[1]
                    res = (out[s] if k == CHAR else -1, tuple(reversed(saves)))
                    self._walk_rows[vid][state] = res
                    self._cached += 1
                    return res
            elif k == SPLIT:
                for t in reversed(outs[s]):
                    if t not in visited and not clo[t].isdisjoint(v):
                        stack.append((t, chain))
            elif k == SAVE:
                t = out[s]
                if not clo[t].isdisjoint(v):
                    stack.append((t, (slot[s], chain)))
            elif k == TAG:
                t = out[s]
                if not clo[t].isdisjoint(v):
                    stack.append((t, chain))
        raise AssertionError("viable set promised a continuation")  # pragma: no cover

    def fullmatch_spans(self, text: str) -> dict[str, tuple[int, int] | None] | None:
        """Spans ``(start, end)`` of each named capture if ``text`` matches as a whole, else None."""
        vs = self._viable(text)
        if vs is None:
            return None
        names = self.names
        if not names:
            return {}
        slots = [-1] * (2 * len(names))
        state = self._prog.start
        rows = self._walk_rows
        step = self._step
        for i, vid in enumerate(vs):
            got = rows[vid].get(state)
            if got is None:
                got = step(state, vid)
            state, saves = got
            if saves:
                for sl in saves:
                    slots[sl] = i
        return {
            name: (slots[2 * k], slots[2 * k + 1]) if slots[2 * k + 1] >= 0 else None for k, name in enumerate(names)
        }

    def fullmatch(self, text: str) -> dict[str, str | None] | None:
        """Captured text of each named capture (None if it did not participate), or None if no match."""
        spans = self.fullmatch_spans(text)
        if spans is None:
            return None
        return {name: (text[sp[0] : sp[1]] if sp is not None else None) for name, sp in spans.items()}

    def matches(self, text: str) -> bool:
        """Whether ``text`` as a whole is in the language."""
        return self._viable(text) is not None

    def longest_prefix(self, text: str) -> int:
        """Length of the longest prefix of ``text`` that can still be extended to a match.

        ``text[:k]`` is readable but ``text[k]`` (if any) is where every match fails;
        equals ``len(text)`` for a match or a proper prefix of one.
        """
        self._flush()
        cur = self._begin
        if not self._sets[cur]:
            return 0
        empty = self._empty
        for i, a in enumerate(self._part.atoms_of_text(text)):
            cur = self._forward(cur, a)
            if cur == empty:
                return i
        return len(text)
