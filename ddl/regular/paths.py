"""Questions about the accepting paths of a tagged NFA, answered without determinizing it.

A grammar's obligations mostly ask *whether some utterance exists* with a property: the grammar
accepts something; some utterance captures x; some utterance leaves x unset; some utterance
captures x and y together; some utterance captures x twice.  Each is a reachability question on
the tagged Thompson NFA — linear in its size, however large the equivalent DFA would be (two
free-text captures side by side have a DFA exponential in their length and an NFA of a few
hundred states).

The utterances that count are also filtered by a small complete DFA (:class:`Filter`): with
``normalize_space`` only normalized texts can reach the matcher, and an ``except`` clause removes
its language.  The search runs on the product NFA × filter, so every witness it returns is an
utterance the grammar really accepts — one ``G(u)`` maps to θ.

:class:`PathSearch` explores that product once, breadth-first (0-1 BFS: ε-moves are free,
characters cost one), with the set of *parameters written so far* in the state; a capture name
belongs to one parameter (several names may belong to the same one).  :meth:`PathSearch.profile`
returns, for every set of parameters that some accepted utterance writes, a shortest such
utterance, plus the parameters some utterance writes twice.  Witness characters prefer lower-case
letters, then digits and other visible ASCII.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

import attrs

from ddl.regular.ast import Regex
from ddl.regular.charset import CharSet
from ddl.regular.dfa import DFA, determinize, minimize
from ddl.regular.errors import DEFAULT_LIMITS, AutomatonTooLarge, Limits
from ddl.regular.lang import Lang, embedder
from ddl.regular.nfa import CHAR, MATCH, SAVE, SPLIT, Prog, compile_regex, live_states

_LOWER = CharSet.range("a", "z")
_DIGITS = CharSet.range("0", "9")
_UPPER = CharSet.range("A", "Z")
_VISIBLE = CharSet.range("!", "~")


def nice_char(cs: CharSet) -> str:
    """A readable member: a lower-case letter, a digit, an upper-case letter, visible ASCII, else any."""
    for pool in (_LOWER, _DIGITS, _UPPER, _VISIBLE):
        both = cs & pool
        if both:
            return chr(both.min())
    return cs.representative()


def nice_rank(cs: CharSet) -> tuple[int, int]:
    """Sort key putting sets with more readable members first (the order witnesses are explored in)."""
    for rank, pool in enumerate((_LOWER, _DIGITS, _UPPER, _VISIBLE)):
        both = cs & pool
        if both:
            return (rank, both.min())
    return (4 if " " in cs else 5, cs.min() if cs else 0)


class Filter:
    """A complete DFA every counted utterance must be accepted by (None: every utterance)."""

    __slots__ = ("dfa", "live", "_atoms_of_set")

    def __init__(self, dfa: DFA | None) -> None:
        self.dfa = dfa
        self.live = dfa.live_states() if dfa is not None else frozenset({0})
        self._atoms_of_set: dict[CharSet, list[tuple[int, CharSet]]] = {}

    @property
    def start(self) -> int:
        return self.dfa.start if self.dfa is not None else 0

    def accepts(self, f: int) -> bool:
        return self.dfa.accept[f] if self.dfa is not None else True

    def sets(self) -> list[CharSet]:
        """The filter's atoms (automata that follow the filter refine their alphabet with them)."""
        return list(self.dfa.part.atoms) if self.dfa is not None else []

    def pieces(self, cs: CharSet) -> list[tuple[int, CharSet]]:
        """``cs`` split by the filter's atoms: (atom, the part of cs in it)."""
        got = self._atoms_of_set.get(cs)
        if got is None:
            if self.dfa is None:
                got = [(0, cs)]
            else:
                got = [(a, cs & atom) for a, atom in enumerate(self.dfa.part.atoms) if not atom.isdisjoint(cs)]
                got.sort(key=lambda item: nice_rank(item[1]))
            self._atoms_of_set[cs] = got
        return got

    def step(self, f: int, atom: int) -> int:
        return self.dfa.delta[f][atom] if self.dfa is not None else 0


@attrs.frozen
class Profile:
    """What the accepted utterances write (see :meth:`PathSearch.profile`).

    ``written[mask]`` is a shortest accepted utterance writing exactly the parameters of
    ``mask`` (bit i: parameter i); ``twice[i]`` a shortest one writing parameter i twice.
    """

    written: dict[int, str]
    twice: dict[int, str]

    def some(self) -> str | None:
        """A shortest accepted utterance, or None when the language (after the filter) is empty."""
        return min(self.written.values(), key=lambda w: (len(w), w), default=None)

    def with_param(self, i: int) -> str | None:
        hits = [w for m, w in self.written.items() if m >> i & 1]
        return min(hits, key=lambda w: (len(w), w), default=None)

    def without_param(self, i: int) -> str | None:
        hits = [w for m, w in self.written.items() if not m >> i & 1]
        return min(hits, key=lambda w: (len(w), w), default=None)


class PathSearch:
    """Reachability on a tagged NFA × :class:`Filter` (see the module docstring)."""

    def __init__(self, prog: Prog, flt: Filter | None = None, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self.prog = prog
        self.filter = flt if flt is not None else Filter(None)
        self.limits = limits
        self.live = live_states(prog)

    def profile(self, param_of: Mapping[str, int]) -> Profile:
        """Every set of parameters some accepted utterance writes, each with a shortest witness.

        ``param_of`` maps capture names to parameter numbers; other captures are ignored.  A
        parameter is *written* when one of its captures opens.  The search stops growing a
        path that writes a parameter a third time (twice is all the evidence needed).
        """
        prog, flt = self.prog, self.filter
        kind, out, outs, slot, css = prog.kind, prog.out, prog.outs, prog.slot, prog.cs
        n_params = max(param_of.values(), default=-1) + 1
        opens: dict[int, int] = {}  # open slot -> parameter
        for k, name in enumerate(prog.names):
            if name in param_of:
                opens[2 * k] = param_of[name]
        live, flive = self.live, flt.live
        start = (prog.start, flt.start, 0)
        if prog.start not in live or flt.start not in flive:
            return Profile({}, {})
        # 0-1 BFS: dist per product state; parent[state] = (previous state, character or "").
        dist: dict[tuple[int, int, int], int] = {start: 0}
        parent: dict[tuple[int, int, int], tuple[tuple[int, int, int], str] | None] = {start: None}
        done: set[tuple[int, int, int]] = set()
        queue: deque[tuple[int, int, int]] = deque([start])
        written: dict[int, str] = {}
        twice: dict[int, str] = {}
        budget = self.limits.max_dfa_states * 4
        dup_shift = n_params

        def relax(state: tuple[int, int, int], d: int, prev: tuple[int, int, int], ch: str, front: bool) -> None:
            old = dist.get(state)
            if old is not None and old <= d:
                return
            if old is None and len(dist) >= budget:
                err = AutomatonTooLarge("the path search (NFA states × filter × parameters written)", budget, "states")
                err.culprits = _largest_labels(prog, (st[0] for st in dist))
                raise err
            dist[state] = d
            parent[state] = (prev, ch)
            if front:
                queue.appendleft(state)
            else:
                queue.append(state)

        while queue:
            st = queue.popleft()
            if st in done:
                continue
            done.add(st)
            q, f, mask = st
            d = dist[st]
            k = kind[q]
            if k == MATCH:
                if flt.accepts(f):
                    plain = mask & ((1 << n_params) - 1)
                    if plain not in written:
                        written[plain] = self._spell(parent, st)
                    dups = mask >> dup_shift
                    while dups:
                        low = dups & -dups
                        i = low.bit_length() - 1
                        if i not in twice:
                            twice[i] = self._spell(parent, st)
                        dups ^= low
                continue
            if k == CHAR:
                cs = css[q]
                assert cs is not None
                t = out[q]
                if t not in live:
                    continue
                for atom, piece in flt.pieces(cs):
                    f2 = flt.step(f, atom)
                    if f2 in flive:
                        relax((t, f2, mask), d + 1, st, nice_char(piece), False)
            elif k == SPLIT:
                for t in reversed(outs[q]):  # pushed to the front: the first alternative is explored first
                    if t in live:
                        relax((t, f, mask), d, st, "", True)
            else:  # SAVE or TAG: ε
                t = out[q]
                if t not in live:
                    continue
                m2 = mask
                if k == SAVE and slot[q] in opens:
                    i = opens[slot[q]]
                    if m2 >> i & 1:
                        if m2 >> (dup_shift + i) & 1:
                            continue  # a third write adds nothing
                        m2 |= 1 << (dup_shift + i)
                    m2 |= 1 << i
                relax((t, f, m2), d, st, "", True)
        return Profile(written, twice)

    def _moves(self, st: tuple[int, int]) -> list[tuple[tuple[int, int], CharSet | None]]:
        """Successors of a product state: (state, characters read or None for an ε-move)."""
        prog, flt, live = self.prog, self.filter, self.live
        q, f = st
        k = prog.kind[q]
        out: list[tuple[tuple[int, int], CharSet | None]] = []
        if k == CHAR:
            cs = prog.cs[q]
            assert cs is not None
            t = prog.out[q]
            if t in live:
                for atom, piece in flt.pieces(cs):
                    f2 = flt.step(f, atom)
                    if f2 in flt.live:
                        out.append(((t, f2), piece))
        elif k == SPLIT:
            out = [((t, f), None) for t in prog.outs[q] if t in live]
        elif k != MATCH:
            t = prog.out[q]
            if t in live:
                out.append(((t, f), None))
        return out

    def walk(self, rng: Any, max_length: int) -> str | None:
        """A random accepted utterance of at most ``max_length`` characters (a random walk that only
        takes steps from which acceptance stays reachable in time), or None when there is none."""
        dist = self._distances(max_length)
        start = (self.prog.start, self.filter.start)
        if dist.get(start, max_length + 1) > max_length:
            return None
        out: list[str] = []
        prog, st, left = self.prog, start, max_length
        for _ in range(100 * (max_length + 1) + len(prog.kind)):
            q, f = st
            if prog.kind[q] == MATCH and self.filter.accepts(f) and (left == 0 or rng.random() < 0.3):
                return "".join(out)
            options = [(t, piece) for t, piece in self._moves(st)
                       if dist.get(t, max_length + 1) <= left - (piece is not None)]
            if not options:
                return "".join(out) if prog.kind[q] == MATCH and self.filter.accepts(f) else None
            st, piece = rng.choice(options)
            if piece is not None:
                out.append(piece.pick(rng.randrange(min(piece.size(), 1 << 16))) if piece.size() > 1 else
                           chr(piece.min()))
                left -= 1
        return None

    def _distances(self, max_length: int) -> dict[tuple[int, int], int]:
        """Fewest characters from each product state to an accepted end (states within ``max_length``)."""
        prog, flt = self.prog, self.filter
        start = (prog.start, flt.start)
        succ: dict[tuple[int, int], list[tuple[tuple[int, int], CharSet | None]]] = {}
        order = [start]
        seen = {start}
        i = 0
        budget = self.limits.max_dfa_states * 4
        while i < len(order):
            st = order[i]
            i += 1
            succ[st] = self._moves(st)
            for t, _ in succ[st]:
                if t not in seen:
                    if len(seen) >= budget:
                        raise AutomatonTooLarge("random walk (states × filter)", budget, "states")
                    seen.add(t)
                    order.append(t)
        preds: dict[tuple[int, int], list[tuple[tuple[int, int], int]]] = {}
        for st, moves in succ.items():
            for t, piece in moves:
                preds.setdefault(t, []).append((st, 0 if piece is None else 1))
        dist: dict[tuple[int, int], int] = {}
        dq: deque[tuple[tuple[int, int], int]] = deque(
            (st, 0) for st in order if prog.kind[st[0]] == MATCH and flt.accepts(st[1]))
        while dq:
            st, d = dq.popleft()
            if st in dist and dist[st] <= d:
                continue
            dist[st] = d
            if d > max_length:
                continue
            for s, w in preds.get(st, ()):
                if s not in dist or dist[s] > d + w:
                    if w:
                        dq.append((s, d + w))
                    else:
                        dq.appendleft((s, d))
        return dist

    def projection(self, name: str) -> Lang:
        """The texts capture ``name`` takes in accepted utterances (after the filter).

        The capture-projected automaton: the product NFA × filter between an opening of the
        capture that is reachable from the start and a closing from which acceptance is still
        reachable, determinized.  Assumes the capture is taken at most once per path.
        """
        prog, flt = self.prog, self.filter
        k = prog.names.index(name)
        open_slot, close_slot = 2 * k, 2 * k + 1
        start = (prog.start, flt.start)
        budget = self.limits.max_dfa_states * 4
        succ: dict[tuple[int, int], list[tuple[tuple[int, int], CharSet | None]]] = {}
        order = [start] if prog.start in self.live and flt.start in flt.live else []
        seen = set(order)
        i = 0
        while i < len(order):
            st = order[i]
            i += 1
            moves = succ[st] = self._moves(st)
            for t, _ in moves:
                if t not in seen:
                    if len(seen) >= budget:
                        raise AutomatonTooLarge("capture projection (states × filter)", budget, "states")
                    seen.add(t)
                    order.append(t)
        preds: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for st, moves in succ.items():
            for t, _ in moves:
                preds.setdefault(t, []).append(st)
        co = {st for st in order if prog.kind[st[0]] == MATCH and flt.accepts(st[1])}
        stack = list(co)
        while stack:
            t = stack.pop()
            for s in preds.get(t, ()):
                if s not in co:
                    co.add(s)
                    stack.append(s)
        p = Prog(self.limits.max_nfa_states)
        match = p.add_match()
        entry: dict[tuple[int, int], int] = {}

        def node(st: tuple[int, int]) -> int:
            got = entry.get(st)
            if got is None:
                got = entry[st] = p.split(())
                pending.append(st)
            return got

        pending: list[tuple[int, int]] = []
        starts = [node((prog.out[q], f)) for (q, f) in order
                  if prog.kind[q] == SAVE and prog.slot[q] == open_slot and (prog.out[q], f) in co]
        while pending:
            st = pending.pop()
            q, f = st
            outs: list[int] = []
            if prog.kind[q] == SAVE and prog.slot[q] == close_slot:
                if (prog.out[q], f) in co:
                    outs.append(match)
            else:
                for t, piece in succ.get(st, ()):
                    if t not in co:
                        continue
                    outs.append(node(t) if piece is None else p.char(piece, node(t)))
            p.patch(entry[st], outs)
        p.start = p.split(starts)
        return Lang(minimize(determinize(p, self.limits.max_dfa_states, "capture projection")), self.limits)

    @staticmethod
    def _spell(parent: Mapping[tuple[int, int, int], tuple[tuple[int, int, int], str] | None],
               st: tuple[int, int, int]) -> str:
        out: list[str] = []
        link = parent[st]
        while link is not None:
            prev, ch = link
            if ch:
                out.append(ch)
            link = parent[prev]
        return "".join(reversed(out))


def _largest_labels(prog: Prog, states: Any, top: int = 2) -> list[tuple[str, int]]:
    """The labels (rules, captures) with the most of these NFA states, most first."""
    counts = Counter(prog.origin[q] for q in states)
    return [(prog.labels[lab], n) for lab, n in counts.most_common(top + 1) if lab != 0][:top]


def tagged_program(node: Regex, *, limits: Limits = DEFAULT_LIMITS) -> Prog:
    """The tagged NFA of a regex (captures as SAVE states; ``&``, ``~`` and prebuilt languages
    spliced in as DFA fragments, which may not contain captures)."""
    return compile_regex(node, tags=True, limits=limits, embed=embedder(limits, allow_captures=False))


def char_sets(prog: Prog) -> list[CharSet]:
    """The distinct character sets of a program's CHAR states."""
    seen: dict[CharSet, None] = {}
    for k, cs in zip(prog.kind, prog.cs):
        if k == CHAR and cs is not None:
            seen.setdefault(cs, None)
    return list(seen)


__all__ = ["Filter", "PathSearch", "Profile", "char_sets", "nice_char", "nice_rank", "tagged_program"]
