"""Deterministic automata over alphabet partitions.

A :class:`DFA` is *complete*: ``delta[s][a]`` is defined for every state ``s``
and atom ``a`` of its :class:`~ddl.regular.partition.Partition` (a dead state
absorbs everything else), so complement is just flipping ``accept``.  States are
integers ``0..n-1``; rows are plain lists (fast indexing in CPython).

* :func:`determinize` — subset construction over the partition atoms.  Subsets
  are frozensets of NFA states, interned in a dict; ε-closures are computed
  once per NFA state; the target of "these NFA states on some atom" is cached by
  the tuple of those states, so atoms that behave alike cost one lookup.
* :func:`minimize` — Hopcroft's algorithm (array-based partition refinement,
  "process the smaller half") after merging atoms with identical columns, then
  a *canonical* form: atoms merged again and renumbered by smallest code point,
  states renumbered breadth-first from the start.  Two minimal DFAs of the same
  language are then identical, so language equality is structural equality.
* :func:`product` — reachable part of the product of two DFAs over the common
  refinement of their partitions, with any Boolean acceptance.
* :func:`search` / :func:`shortest` — breadth-first search for a shortest
  accepted string (of one DFA, or of a product with a Boolean predicate, on the
  fly with early exit), expanding atoms in preference order and writing each
  atom's representative character — never enumerating strings.  The product
  search needs only the overlapping atom pairs of the two partitions
  (:meth:`~ddl.regular.partition.Partition.overlaps`), not a joint partition,
  and prunes pairs of sink states that can no longer satisfy the predicate.

Every construction counts states against :class:`~ddl.regular.errors.Limits`
and raises :class:`~ddl.regular.errors.AutomatonTooLarge` when exceeded.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Container, Sequence
from typing import Protocol

from ddl.regular.errors import AutomatonTooLarge
from ddl.regular.nfa import CHAR, MATCH, SPLIT, Prog
from ddl.regular.partition import Partition


class DFA:
    """A complete DFA: ``delta[s][a]`` for every state and atom; start state ``start``."""

    __slots__ = ("part", "delta", "accept", "start", "_live", "_sink")

    def __init__(self, part: Partition, delta: list[list[int]], accept: list[bool], start: int = 0) -> None:
        self.part = part
        self.delta = delta
        self.accept = accept
        self.start = start
        self._live: frozenset[int] | None = None
        self._sink: list[int] | None = None

    @property
    def n(self) -> int:
        return len(self.delta)

    def run(self, text: str) -> int:
        """The state reached after reading ``text`` from the start."""
        delta = self.delta
        s = self.start
        for a in self.part.atoms_of_text(text):
            s = delta[s][a]
        return s

    def accepts(self, text: str) -> bool:
        return self.accept[self.run(text)]

    def run_from(self, state: int, text: str) -> int:
        """The state reached after reading ``text`` from ``state``."""
        delta = self.delta
        s = state
        for a in self.part.atoms_of_text(text):
            s = delta[s][a]
        return s

    def live_states(self) -> frozenset[int]:
        """States from which some accepting state is reachable."""
        if self._live is None:
            rev: list[list[int]] = [[] for _ in range(self.n)]
            for s, row in enumerate(self.delta):
                for t in set(row):
                    rev[t].append(s)
            seen = {s for s in range(self.n) if self.accept[s]}
            stack = list(seen)
            while stack:
                t = stack.pop()
                for s in rev[t]:
                    if s not in seen:
                        seen.add(s)
                        stack.append(s)
            self._live = frozenset(seen)
        return self._live

    @property
    def sink_kind(self) -> list[int]:
        """For each state: 0/1 if it is a rejecting/accepting sink (every edge loops), else 2."""
        if self._sink is None:
            k = self.part.n_atoms
            acc = self.accept
            self._sink = [int(acc[s]) if row.count(s) == k else 2 for s, row in enumerate(self.delta)]
        return self._sink

    def key(self) -> tuple[object, ...]:
        """Structural identity (meaningful for canonical minimal DFAs)."""
        return (tuple(self.part.starts), tuple(self.part.ids), tuple(map(tuple, self.delta)), tuple(self.accept))


# ------------------------------------------------------------------ subset construction


class Successors(Protocol):
    """Each state's ε-successors, by state: a list of tuples, or a matcher's flat array of them."""

    def __getitem__(self, state: int, /) -> Sequence[int]: ...


class EpsilonGraph(Protocol):
    """What an ε-closure reads of a program: a :class:`Prog`, or a matcher's flat copy of one."""

    @property
    def kind(self) -> Sequence[int]: ...

    @property
    def out(self) -> Sequence[int]: ...

    @property
    def outs(self) -> Successors: ...


def closures(prog: EpsilonGraph, stop: Sequence[bool] | Sequence[int] | None = None,
             live: Container[int] | None = None) -> Callable[[int], frozenset[int]]:
    """A memoized ε-closure function: the *stop* states reachable by ε-moves (by default CHAR and
    MATCH; every other state is passed through).  States outside ``live`` are not entered."""
    kind, out, outs = prog.kind, prog.out, prog.outs
    if stop is None:
        stop = [k == CHAR or k == MATCH for k in kind]
    memo: dict[int, frozenset[int]] = {}

    def close(x: int) -> frozenset[int]:
        got = memo.get(x)
        if got is not None:
            return got
        seen = {x}
        stack = [x]
        res = []
        while stack:
            s = stack.pop()
            if live is not None and s not in live:
                continue
            if stop[s]:
                res.append(s)
            elif kind[s] == SPLIT:
                for t in outs[s]:
                    if t not in seen:
                        seen.add(t)
                        stack.append(t)
            else:  # SAVE or TAG passed through
                t = out[s]
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        fs = frozenset(res)
        memo[x] = fs
        return fs

    return close


def determinize(prog: Prog, max_states: int, what: str = "subset construction") -> DFA:
    """Subset construction of ``prog`` over its alphabet partition (not minimized)."""
    kind, out, css = prog.kind, prog.out, prog.cs
    set_index: dict[object, int] = {}
    for q in range(len(kind)):
        if kind[q] == CHAR:
            set_index.setdefault(css[q], len(set_index))
    part, covers = Partition.from_sets(list(set_index))  # type: ignore[arg-type]
    atoms_of: dict[int, list[int]] = {q: covers[set_index[css[q]]] for q in range(len(kind)) if kind[q] == CHAR}
    close = closures(prog)
    tclose: dict[int, frozenset[int]] = {}
    match = prog.match
    k = part.n_atoms

    start = close(prog.start)
    index: dict[frozenset[int], int] = {start: 0}
    members: list[tuple[int, ...]] = [tuple(sorted(start))]
    delta: list[list[int]] = []
    accept: list[bool] = []
    cache: dict[tuple[int, ...], int] = {}

    def intern(subset: frozenset[int]) -> int:
        i = index.get(subset)
        if i is None:
            i = index[subset] = len(members)
            if i >= max_states:
                raise AutomatonTooLarge(what, max_states, "DFA states")
            members.append(tuple(sorted(subset)))
        return i

    i = 0
    while i < len(members):
        subset = members[i]
        by_atom: dict[int, list[int]] = {}
        for q in subset:
            if kind[q] == CHAR:
                for a in atoms_of[q]:
                    lst = by_atom.get(a)
                    if lst is None:
                        by_atom[a] = [q]
                    else:
                        lst.append(q)
        if len(by_atom) < k:
            dead = intern(frozenset())
            row = [dead] * k
        else:
            row = [0] * k
        for a, qs in by_atom.items():
            key = tuple(qs)
            t = cache.get(key)
            if t is None:
                parts = []
                for q in qs:
                    c = tclose.get(q)
                    if c is None:
                        c = tclose[q] = close(out[q])
                    parts.append(c)
                t = cache[key] = intern(parts[0] if len(parts) == 1 else frozenset().union(*parts))
            row[a] = t
        delta.append(row)
        accept.append(match in subset)
        i += 1
    return DFA(part, delta, accept, 0)


# ------------------------------------------------------------------ minimization


def _compress(part: Partition, delta: list[list[int]]) -> tuple[Partition, list[list[int]]]:
    """Merge atoms whose columns are identical (they can never be told apart)."""
    if part.n_atoms == 1:
        return part, delta
    cols = list(zip(*delta))
    group_of: dict[tuple[int, ...], int] = {}
    group = [group_of.setdefault(c, len(group_of)) for c in cols]
    if len(group_of) == part.n_atoms:
        return part, delta
    new_part, old_to_new = part.coarsen(group)
    # the representative old atom for each new atom
    rep = [0] * new_part.n_atoms
    for a in range(part.n_atoms - 1, -1, -1):
        rep[old_to_new[a]] = a
    return new_part, [[row[r] for r in rep] for row in delta]


def _hopcroft(n: int, k: int, delta: list[list[int]], accept: list[bool]) -> tuple[list[int], int]:
    """Coarsest stable partition of the states; returns (block of each state, number of blocks)."""
    # Array-based partition refinement: each block is a contiguous slice of
    # `elems`; marking moves a state to the front of its block's slice.
    acc = [s for s in range(n) if accept[s]]
    rej = [s for s in range(n) if not accept[s]]
    if not acc or not rej:
        return [0] * n, 1
    elems = acc + rej
    loc = [0] * n
    for i, s in enumerate(elems):
        loc[s] = i
    blk = [0] * n
    for s in rej:
        blk[s] = 1
    first = [0, len(acc)]
    end = [len(acc), n]
    mark = [0, 0]
    # Inverse transitions, per atom: target -> sources.
    inv: list[dict[int, list[int]]] = []
    for col in zip(*delta):
        d: dict[int, list[int]] = {}
        for s, t in enumerate(col):
            lst = d.get(t)
            if lst is None:
                d[t] = [s]
            else:
                lst.append(s)
        inv.append(d)
    small = 0 if len(acc) <= len(rej) else 1
    work = [small]
    in_work = [small == 0, small == 1]
    while work:
        b = work.pop()
        in_work[b] = False
        splitter = elems[first[b] : end[b]]
        for a in range(k):
            inva = inv[a]
            touched: list[int] = []
            for t in splitter:
                srcs = inva.get(t)
                if srcs is None:
                    continue
                for s in srcs:
                    c = blk[s]
                    m = mark[c]
                    if m == 0:
                        touched.append(c)
                    # swap s to position first[c] + m
                    pos = loc[s]
                    tgt = first[c] + m
                    if pos != tgt:
                        other = elems[tgt]
                        elems[tgt] = s
                        elems[pos] = other
                        loc[s] = tgt
                        loc[other] = pos
                    mark[c] = m + 1
            for c in touched:
                m = mark[c]
                mark[c] = 0
                if m == end[c] - first[c]:
                    continue
                nb = len(first)
                first.append(first[c])
                end.append(first[c] + m)
                mark.append(0)
                first[c] += m
                for i in range(first[nb], end[nb]):
                    blk[elems[i]] = nb
                if in_work[c]:
                    in_work.append(True)
                    work.append(nb)
                elif m <= end[c] - first[c]:
                    in_work.append(True)
                    work.append(nb)
                else:
                    in_work.append(False)
                    in_work[c] = True
                    work.append(c)
    return blk, len(first)


def minimize(dfa: DFA) -> DFA:
    """The canonical minimal DFA of ``dfa``'s language (see the module docstring)."""
    part, delta = _compress(dfa.part, dfa.delta)
    k = part.n_atoms
    blk, nb = _hopcroft(len(delta), k, delta, dfa.accept)
    qdelta: list[list[int] | None] = [None] * nb
    qaccept = [False] * nb
    for s, row in enumerate(delta):
        b = blk[s]
        if qdelta[b] is None:
            qdelta[b] = [blk[t] for t in row]
            qaccept[b] = dfa.accept[s]
    quotient: list[list[int]] = [r for r in qdelta if r is not None]
    part, quotient = _compress(part, quotient)
    return _renumber(part, quotient, qaccept, blk[dfa.start])


def _renumber(part: Partition, delta: list[list[int]], accept: list[bool], start: int) -> DFA:
    """Breadth-first renumbering from ``start`` (atoms in id order); drops unreachable states."""
    order = {start: 0}
    queue = [start]
    i = 0
    while i < len(queue):
        for t in delta[queue[i]]:
            if t not in order:
                order[t] = len(queue)
                queue.append(t)
        i += 1
    new_delta = [[order[t] for t in delta[s]] for s in queue]
    dfa = DFA(part, new_delta, [accept[s] for s in queue], 0)
    _ = dfa.sink_kind  # computed once here, with the automaton, rather than in every search
    return dfa


def trim_unreachable(dfa: DFA) -> DFA:
    return _renumber(dfa.part, dfa.delta, dfa.accept, dfa.start)


# ------------------------------------------------------------------ products


def product(a: DFA, b: DFA, op: Callable[[bool, bool], bool], max_states: int, what: str = "product") -> DFA:
    """Reachable product of two DFAs; a state accepts iff ``op(accept_a, accept_b)``."""
    part, ma, mb = a.part.join(b.part)
    k = part.n_atoms
    da, db, aa, ab = a.delta, b.delta, a.accept, b.accept
    nb = b.n
    start = a.start * nb + b.start
    index = {start: 0}
    pairs = [start]
    delta: list[list[int]] = []
    accept: list[bool] = []
    i = 0
    while i < len(pairs):
        p, q = divmod(pairs[i], nb)
        rp, rq = da[p], db[q]
        row = []
        for c in range(k):
            key = rp[ma[c]] * nb + rq[mb[c]]
            t = index.get(key)
            if t is None:
                t = index[key] = len(pairs)
                if t >= max_states:
                    raise AutomatonTooLarge(what, max_states, "DFA states")
                pairs.append(key)
            row.append(t)
        delta.append(row)
        accept.append(op(aa[p], ab[q]))
        i += 1
    return DFA(part, delta, accept, 0)


# ------------------------------------------------------------------ searches


def shortest(dfa: DFA, start: int | None = None) -> str | None:
    """A shortest accepted string (preferring nice characters), or None if empty."""
    s0 = dfa.start if start is None else start
    if dfa.accept[s0]:
        return ""
    live = dfa.live_states()
    if s0 not in live:
        return None
    pref = dfa.part.pref_order
    parent: dict[int, tuple[int, int]] = {s0: (-1, -1)}
    queue = deque([s0])
    delta, accept = dfa.delta, dfa.accept
    while queue:
        s = queue.popleft()
        row = delta[s]
        for a in pref:
            t = row[a]
            if t in parent or t not in live:
                continue
            parent[t] = (s, a)
            if accept[t]:
                return _spell(dfa.part, parent, t)
            queue.append(t)
    return None  # unreachable: s0 is live


def _spell(part: Partition, parent: dict[int, tuple[int, int]], t: int) -> str:
    reps = part.reps
    out = []
    while True:
        s, a = parent[t]
        if s < 0:
            break
        out.append(reps[a])
        t = s
    return "".join(reversed(out))


@functools.lru_cache(maxsize=64)
def _tables(pred: Callable[[bool, bool], bool]) -> tuple[list[list[bool]], list[list[bool]]]:
    """For a predicate: its truth table ``ok[x][y]`` and ``hopeless[kind_a][kind_b]``.

    A state kind is 0/1 for a rejecting/accepting sink and 2 otherwise (either
    acceptance still reachable); a pair is hopeless if no acceptance pair it can
    still reach satisfies the predicate.
    """
    ok = [[pred(False, False), pred(False, True)], [pred(True, False), pred(True, True)]]
    opts = ((False,), (True,), (True, False))
    hopeless = [[not any(ok[x][y] for x in opts[i] for y in opts[j]) for j in range(3)] for i in range(3)]
    return ok, hopeless


def search(a: DFA, b: DFA, pred: Callable[[bool, bool], bool], max_states: int) -> str | None:
    """A shortest string ``w`` with ``pred(a accepts w, b accepts w)``, or None.

    Breadth-first over the product, built on the fly, stopping at the first hit;
    pairs of sink states that can never satisfy ``pred`` are pruned.
    """
    da, db, aa, ab = a.delta, b.delta, a.accept, b.accept
    ok, hopeless = _tables(pred)
    if ok[aa[a.start]][ab[b.start]]:
        return ""
    steps = a.part.overlaps(b.part)
    nb = b.n
    # Hopeless pairs (see _tables) are never queued nor recorded.
    kind_a, kind_b = a.sink_kind, b.sink_kind
    order = [(xa, xb, c) for c, (xa, xb, _) in enumerate(steps)]

    start = a.start * nb + b.start
    ns = len(steps)
    # parent[pair] = previous pair * ns + step index (start: -1), one int per recorded pair
    parent: dict[int, int] = {start: -1}
    queue = [start]
    head = 0
    while head < len(queue):
        key = queue[head]
        head += 1
        p, q = divmod(key, nb)
        rp, rq = da[p], db[q]
        base = key * ns
        for xa, xb, c in order:
            tp = rp[xa]
            tq = rq[xb]
            if hopeless[kind_a[tp]][kind_b[tq]]:
                continue
            t = tp * nb + tq
            if t in parent:
                continue
            parent[t] = base + c
            if ok[aa[tp]][ab[tq]]:
                out: list[str] = []
                link = parent[t]
                while link >= 0:
                    t, c = divmod(link, ns)
                    out.append(steps[c][2])
                    link = parent[t]
                return "".join(reversed(out))
            if len(parent) > max_states:
                raise AutomatonTooLarge("product search", max_states, "state pairs")
            queue.append(t)
    return None
