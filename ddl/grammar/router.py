"""Routing an utterance to the one family whose grammar accepts it, for thousands of families.

One combined automaton, not k tries.  The grammars of all families are compiled to
Thompson NFAs (untagged) and numbered into one global state space; a *lazy* DFA over
sets of those states runs over the utterance, one character at a time.  A DFA state
is built the first time traffic reaches it and its transition is cached per character
(``rows[state][char]``), so a warm router costs one dict lookup per character whatever
k is, and building it costs only the NFAs (linear in the total grammar size) — never
the full subset construction, which for 10,000 families could be enormous.  The cache
is flushed when it grows past a bound (as RE2 does), so hostile traffic costs time,
never unbounded memory.

The accepting families of the final state name the route; the family's own tagged
matcher (``ddl.regular.Matcher``) then extracts the captures, and θ is completed with
precomputed constant defaults.  A family whose defaults depend on other parameters, or
whose ``where`` could not be folded into its grammar, completes θ through
``validate_theta`` (slower, same result).

Normalization: families with ``normalize_space`` see the normalized utterance, the
others the utterance as written, so there is one automaton per mode.  When both modes
accept (possible only for an utterance that normalization changes), the higher
``priority`` wins, then the family that accepted the utterance as written.

:meth:`Router.overlaps` finds every pair of families whose grammars share an utterance,
with a shortest witness, by a breadth-first search of the same combined automaton that
only expands states where two or more families are still alive — for intent-style
grammars that diverge after a word or two, a small region.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Sequence
from itertools import repeat
from typing import Any

import attrs

from ddl.grammar.compile import CompiledGrammar, default_value, normalize_space, param_refs
from ddl.regular.charset import CharSet
from ddl.regular.dfa import DFA, closures
from ddl.regular.errors import DEFAULT_LIMITS, Limits
from ddl.regular.lang import embedder
from ddl.regular.nfa import CHAR, MATCH, compile_regex, live_states
from ddl.regular.partition import Partition
from ddl.types.checked import CheckedFamily
from ddl.values import Value

_CACHE_LIMIT = 200_000  # cached transitions per mode before the lazy DFA is flushed
_OVERLAP_STATE_LIMIT = 1_000_000  # combined states the overlap search may visit
_FEW = 3  # when at most this many families are alive, their extractors decide the rest


@attrs.frozen
class RoutedFamily:
    """A family to route to: its checked form, an evaluator of its module, and its priority."""

    name: str
    family: CheckedFamily
    evaluator: Any
    priority: int = 0
    grammar: CompiledGrammar | None = None  # reuse an already compiled grammar
    # Every parse yields the same captures (``ddl check`` proves it for served families); enables the
    # backtracking-free ``re`` extractor.  False: captures always come from the leftmost-first Matcher.
    unambiguous: bool = True


@attrs.frozen
class Route:
    """The family that accepts an utterance and θ (None with ``problems`` if θ falls outside Θ)."""

    family: str
    theta: dict[str, Value] | None
    problems: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()  # every family that accepted, best first


@attrs.frozen
class Overlap:
    first: str
    second: str
    witness: str


class OverlapSearchTooLarge(Exception):
    """The overlap search met its state budget; the families named could not be cleared."""

    def __init__(self, families: Sequence[str]) -> None:
        super().__init__(f"overlap search exceeded {_OVERLAP_STATE_LIMIT} states")
        self.families = tuple(families)


class _Entry:
    """Per-family routing data: grammar, θ completion plan."""

    __slots__ = ("name", "index", "priority", "grammar", "family", "evaluator", "constant_defaults", "fast",
                 "unambiguous", "_extractor")

    def __init__(self, index: int, spec: RoutedFamily, grammar: CompiledGrammar) -> None:
        self.name = spec.name
        self.index = index
        self.priority = spec.priority
        self.grammar = grammar
        self.family = spec.family
        self.evaluator = spec.evaluator
        # θ can be completed without validate_theta when every captured value is exact
        # (its capture language is exactly its domain) and every default is a constant.
        fast = True
        defaults: list[tuple[str, Value | None]] = []
        for p in spec.family.params:
            specs = [c for c in grammar.captures.values() if c.param == p.name]
            if any(not c.exact for c in specs):
                fast = False
            if not specs and p.where is not None:
                fast = False
            if p.default is not None:
                if param_refs(p.default):
                    fast = False
                    defaults.append((p.name, None))
                else:
                    defaults.append((p.name, default_value(spec.evaluator, p)))
            else:
                defaults.append((p.name, None))
        self.constant_defaults = defaults
        self.fast = fast
        self.unambiguous = spec.unambiguous
        self._extractor: Any = None  # built on the first hit: FastExtractor, or False for "none"

    def extractor(self) -> Any:
        """The family's FastExtractor (built on first use), or False when it has none."""
        extractor = self._extractor
        if extractor is None:
            from ddl.handler.fastpath import fast_extractor

            extractor = self._extractor = (fast_extractor(self.grammar.regex) if self.unambiguous else None) or False
        return extractor

    def captures(self, text: str) -> dict[str, str | None]:
        """The captured texts of an utterance the router accepted for this family."""
        extractor = self.extractor()
        if extractor:
            groups = extractor.fullmatch(text)
            if groups is not None:
                return groups
        groups = self.grammar.matcher.fullmatch(text)  # exact leftmost-first, linear time
        if groups is None:  # pragma: no cover - the router and the matcher accept the same language
            raise AssertionError(f"router and matcher of {self.name} disagree on {text!r}")
        return groups

    def theta(self, values: dict[str, Value]) -> tuple[dict[str, Value] | None, tuple[str, ...]]:
        if self.fast:
            theta: dict[str, Value] = {}
            for name, default in self.constant_defaults:
                if name in values:
                    theta[name] = values[name]
                elif default is not None:
                    theta[name] = default
                else:
                    break  # a required parameter the utterance did not give: let validate_theta say so
            else:
                return theta, ()
        from ddl.eval import validate_theta

        full, problems = validate_theta(self.family, self.evaluator, values, values=True)
        return full, tuple(problems)


class _Mode:
    """The lazy combined DFA of the families that share one input normalization."""

    def __init__(self, entries: Sequence[_Entry], limits: Limits) -> None:
        self.entries = list(entries)
        self.entries_by_index = {e.index: e for e in self.entries}
        kind: list[int] = []
        cs: list[Any] = []
        owner: list[int] = []
        # after[q]: for a CHAR state, the CHAR/MATCH states reached by ε-moves after it consumes.
        after: list[tuple[int, ...]] = []
        starts: list[int] = []
        embed = embedder(limits)
        for e in self.entries:
            # The body only: an `except` clause is checked on the few texts a family accepts
            # (an embedded difference would need the grammar's whole DFA).
            prog = compile_regex(e.grammar.regex, tags=False, limits=limits, embed=embed)
            base = len(kind)
            pk, pout = prog.kind, prog.out
            n = len(pk)
            live = live_states(prog)
            all_live = len(live) == n  # the usual case: no ∅ fragments, no filtering needed
            close = closures(prog)
            kind.extend(pk)
            cs.extend(prog.cs)
            owner.extend(repeat(e.index, n))
            for q in range(n):
                if pk[q] != CHAR or not (all_live or q in live):
                    after.append(())
                    continue
                o = pout[q]
                ko = pk[o]
                if ko == CHAR or ko == MATCH:  # a literal chain: no ε-moves to follow
                    after.append((o + base,) if all_live or o in live else ())
                else:
                    after.append(tuple(x + base for x in close(o) if all_live or x in live))
            if all_live or prog.start in live:
                starts.extend(x + base for x in close(prog.start) if all_live or x in live)
        self.kind, self.cs, self.owner, self.after = kind, cs, owner, after
        self.start_set = frozenset(starts)
        # One alphabet partition for all families: transitions are computed once per (state, atom)
        # and shared by every character of the atom — fresh utterances ("add milk", "add eggs")
        # then mostly meet transitions that earlier traffic already built.
        distinct: dict[Any, int] = {}
        sid = [distinct.setdefault(c, len(distinct)) if k == CHAR else -1 for k, c in zip(kind, cs)]
        part, covers = Partition.from_sets(list(distinct))
        self.part = part
        self.ascii_atoms = [part.atom_of(cp) for cp in range(256)]
        self.set_atoms = [frozenset(c) for c in covers]
        self.sid = sid
        self._reset()

    def _reset(self) -> None:
        self.sets: list[frozenset[int]] = []
        self.ids: dict[frozenset[int], int] = {}
        self.rows: list[dict[str, int]] = []
        self.atom_rows: list[dict[int, int]] = []
        self.accepting: list[tuple[int, ...]] = []
        self.few: list[tuple[int, ...]] = []  # the families still alive in a state, if at most _FEW; else ()
        self.cached = 0
        self.dead = self._intern(frozenset())
        self.start = self._intern(self.start_set)

    def _intern(self, s: frozenset[int]) -> int:
        i = self.ids.get(s)
        if i is None:
            i = self.ids[s] = len(self.sets)
            self.sets.append(s)
            self.rows.append({})
            self.atom_rows.append({})
            kind, owner = self.kind, self.owner
            self.accepting.append(tuple(sorted({owner[q] for q in s if kind[q] == MATCH})))
            owners = {owner[q] for q in s}
            self.few.append(tuple(sorted(owners)) if len(owners) <= _FEW else ())
        return i

    def _step(self, state: int, ch: str) -> int:
        if self.cached > _CACHE_LIMIT:
            # Flush (RE2's policy): hostile traffic costs time, never unbounded memory.
            current = self.sets[state]
            self._reset()
            state = self._intern(current)
        cp = ord(ch)
        atom = self.ascii_atoms[cp] if cp < 256 else self.part.atom_of(cp)
        target = self.atom_rows[state].get(atom)
        if target is None:
            sid, set_atoms, after = self.sid, self.set_atoms, self.after
            nxt: set[int] = set()
            for q in self.sets[state]:
                k = sid[q]
                if k >= 0 and atom in set_atoms[k]:
                    nxt.update(after[q])
            target = self.atom_rows[state][atom] = self._intern(frozenset(nxt))
        self.rows[state][ch] = target
        self.cached += 1
        return target

    def run(self, text: str) -> tuple[tuple[int, ...], dict[str, str | None] | None]:
        """Indices of the families accepting ``text`` (ascending), and their captures if already known.

        Once at most ``_FEW`` families are still alive (for intent grammars, after a word or two,
        where traffic keeps the lazy states warm), the rest of the text is their business: their
        backtracking-free ``re`` extractors decide membership and captures in one C-speed call
        each.  Only when an extractor cannot decide (an inexact translation) does the walk go on.
        """
        rows, few = self.rows, self.few
        dead = self.dead
        s = self.start
        shortcut = True
        for ch in text:
            t = rows[s].get(ch)
            if t is None:
                t = self._step(s, ch)
                rows, few = self.rows, self.few  # a flush replaces the tables
            if t == dead:
                return (), None
            s = t
            if shortcut and few[t]:
                shortcut = False
                decided = self._decide(few[t], text)
                if decided is not None:
                    return decided
        return self._not_excluded(self.accepting[s], text), None

    def _not_excluded(self, families: tuple[int, ...], text: str) -> tuple[int, ...]:
        """Drop the families whose `except` clause removes ``text``."""
        if not families:
            return families
        by_index = self.entries_by_index
        return tuple(f for f in families if not by_index[f].grammar.is_excluded(text))

    def _decide(self, alive: tuple[int, ...], text: str) -> tuple[tuple[int, ...], Any] | None:
        """Let the few families still alive decide ``text`` with their extractors, if they can.

        A success is a member (and its captures); a failure of an exact extractor is a non-member.
        If any family cannot decide, the walk goes on (None).
        """
        matched: list[tuple[int, Any]] = []
        for family in alive:
            extractor = self.entries_by_index[family].extractor()
            if not extractor:
                return None
            groups, decided = extractor.decide(text)
            if groups is not None:
                if not self.entries_by_index[family].grammar.is_excluded(text):
                    matched.append((family, groups))
            elif not decided:
                return None
        if len(matched) == 1:
            return (matched[0][0],), matched[0][1]
        return tuple(f for f, _ in matched), None  # none (a miss), or an overlap settled by priority


class Router:
    """H_k's deterministic branches: utterance → (family, θ), in one pass over the utterance."""

    def __init__(self, entries: list[_Entry], limits: Limits) -> None:
        self.entries = entries
        self.by_name = {e.name: e for e in entries}
        self.limits = limits
        self._raw = _Mode([e for e in entries if not e.grammar.normalize_space], limits)
        self._normalized = _Mode([e for e in entries if e.grammar.normalize_space], limits)
        self._has_raw = bool(self._raw.entries)
        self._has_normalized = bool(self._normalized.entries)

    @classmethod
    def build(cls, families: Iterable[RoutedFamily], *, limits: Limits = DEFAULT_LIMITS) -> Router:
        entries: list[_Entry] = []
        seen: set[str] = set()
        for spec in families:
            if spec.family.grammar is None:
                continue  # a family without a grammar is only run on θ
            if spec.name in seen:
                raise ValueError(f"two families named {spec.name!r} in one router")
            seen.add(spec.name)
            grammar = spec.grammar if spec.grammar is not None else CompiledGrammar(spec.family, spec.evaluator)
            entries.append(_Entry(len(entries), spec, grammar))
        return cls(entries, limits)

    def __len__(self) -> int:
        return len(self.entries)

    def candidates(self, utterance: str) -> list[tuple[_Entry, str]]:
        """Every family accepting the utterance (with the text it matched), best first."""
        return [(e, text) for e, text, _ in self._found(utterance)]

    def _found(self, utterance: str) -> list[tuple[_Entry, str, dict[str, str | None] | None]]:
        found: list[tuple[_Entry, str, dict[str, str | None] | None, int]] = []
        if self._has_raw:
            families, groups = self._raw.run(utterance)
            for i in families:
                found.append((self.entries[i], utterance, groups, 0))
        if self._has_normalized:
            text = normalize_space(utterance)
            families, groups = self._normalized.run(text)
            for i in families:
                found.append((self.entries[i], text, groups, 1))
        if len(found) > 1:
            found.sort(key=lambda x: (-x[0].priority, x[3], x[0].index))
        return [(e, text, groups) for e, text, groups, _ in found]

    def route(self, utterance: str) -> Route | None:
        """The best family accepting ``utterance`` and its θ, or None on a miss."""
        found = self._found(utterance)
        if not found:
            return None
        entry, text, groups = found[0]
        if groups is None:
            groups = entry.captures(text)
        values = entry.grammar.values(groups)
        theta, problems = entry.theta(values)
        return Route(entry.name, theta, problems, tuple(e.name for e, _, _ in found))

    # ------------------------------------------------------------------ overlaps

    def overlaps(self, involving: Collection[str] | None = None) -> list[Overlap]:
        """Every pair of families whose grammars accept a common utterance, with a witness.

        With ``involving``, only the pairs with one of those families (a candidate joining a
        registry).  Two phases, so that neither the number of families nor the size of a grammar
        makes the search explode:

        1. a breadth-first search of the combined automaton (sets of NFA states of every family)
           expands only states where two or more families we care about are still alive — for
           intent grammars that diverge after a word or two, a small region;
        2. where at most a few families remain alive, each pair is searched on its own as a
           product of the two families' DFAs (each built lazily, state by state, and shared by
           every pair and start), from the states reached so far.

        ``except`` clauses count: each family's excluded language is followed as a DFA, and an
        utterance it excludes is not that family's.  Both modes' families are compared on the same
        text, so this compares the languages as written (normalization aside: see the module
        docstring).  The witness is the first found (phase 1 is breadth-first, so usually short).
        Raises :class:`OverlapSearchTooLarge` rather than answer from a partial search.
        """
        mode = self._normalized if not self._has_raw else (
            self._raw if not self._has_normalized else _Mode(self.entries, self.limits))
        return _OverlapSearch(self, mode, involving).run()


_PAIRWISE = 4  # at most this many families alive: search each pair on its own


class _OverlapSearch:
    def __init__(self, router: Router, mode: _Mode, involving: Collection[str] | None) -> None:
        self.router = router
        self.mode = mode
        self.focus = None if involving is None else {e.index for e in router.entries if e.name in involving}
        # The except clause of each family that has one, as a complete DFA (accepting = excluded).
        self.excl = {e.index: e.grammar.excluded_lang.dfa for e in router.entries if e.grammar.excluded is not None}
        self.found: dict[tuple[int, int], str] = {}
        self.visited = 0
        # Pair states already explored, per pair of families: many frontier states of phase 1 lead
        # into the same region of a pair's product, which is searched once.
        self.pair_seen: dict[tuple[int, int], set[tuple[int, int]]] = {}
        self.dfas: dict[int, _FamilyDFA] = {}

    def worth(self, families: Collection[int]) -> bool:
        """Can an overlap we care about still arise among these families?"""
        return len(families) >= 2 and (self.focus is None or not self.focus.isdisjoint(families))

    def pair_wanted(self, a: int, b: int) -> bool:
        return (self.focus is None or a in self.focus or b in self.focus) and (min(a, b), max(a, b)) not in self.found

    def count(self, families: Collection[int]) -> None:
        self.visited += 1
        if self.visited > _OVERLAP_STATE_LIMIT:
            names = sorted(self.router.entries[i].name for i in families)
            raise OverlapSearchTooLarge(names)

    def excluded(self, family: int, f: int) -> bool:
        dfa = self.excl.get(family)
        return dfa is not None and dfa.accept[f]

    def step_excl(self, family: int, f: int, ch: str) -> int:
        dfa = self.excl.get(family)
        return dfa.delta[f][dfa.part.atom_of(ord(ch))] if dfa is not None else 0

    def run(self) -> list[Overlap]:
        mode = self.mode
        kind, cs, after, owner = mode.kind, mode.cs, mode.after, mode.owner
        start = mode.start_set
        alive0 = {owner[q] for q in start}
        if not self.worth(alive0):
            return []
        f0 = tuple(sorted((fam, self.excl[fam].start) for fam in alive0 if fam in self.excl))
        seen = {(start, f0)}
        queue: deque[tuple[frozenset[int], tuple[tuple[int, int], ...], str]] = deque([(start, f0, "")])
        while queue:
            s, fs, path = queue.popleft()
            alive = sorted({owner[q] for q in s})
            fstate = dict(fs)
            if len(alive) <= _PAIRWISE:
                for i, a in enumerate(alive):
                    for b in alive[i + 1:]:
                        if self.pair_wanted(a, b):
                            self.pairwise(a, b, s, fstate.get(a, 0), fstate.get(b, 0), path)
                continue
            accepting = sorted({owner[q] for q in s if kind[q] == MATCH and not self.excluded(owner[q],
                                                                                              fstate.get(owner[q], 0))})
            for i, a in enumerate(accepting):
                for b in accepting[i + 1:]:
                    if self.pair_wanted(a, b):
                        self.found[(a, b)] = path
            chars = [q for q in s if kind[q] == CHAR]
            sets = list({cs[q] for q in chars})
            extra = [atom for fam in alive if fam in self.excl for atom in self.excl[fam].part.atoms]
            part, covers = Partition.from_sets(sets + extra)
            reps = part.reps
            members: list[list[int]] = [[] for _ in range(part.n_atoms)]
            index = {c: i for i, c in enumerate(sets)}
            for q in chars:
                for atom in covers[index[cs[q]]]:
                    members[atom].append(q)
            for atom in part.pref_order:
                if not members[atom]:
                    continue
                nxt: set[int] = set()
                for q in members[atom]:
                    nxt.update(after[q])
                t = frozenset(nxt)
                families = {owner[q] for q in t}
                if not self.worth(families):
                    continue
                ch = reps[atom]
                ft = tuple(sorted((fam, self.step_excl(fam, fstate.get(fam, 0), ch)) for fam in families
                                  if fam in self.excl))
                if (t, ft) in seen:
                    continue
                self.count(families)
                seen.add((t, ft))
                queue.append((t, ft, path + ch))
        names = [e.name for e in self.router.entries]
        return [Overlap(names[a], names[b], w) for (a, b), w in sorted(self.found.items(), key=lambda x: (len(x[1]), x[0]))]

    def family_dfa(self, family: int) -> _FamilyDFA:
        dfa = self.dfas.get(family)
        if dfa is None:
            dfa = self.dfas[family] = _FamilyDFA(self.mode, self.excl.get(family))
        return dfa

    def pairwise(self, a: int, b: int, s: frozenset[int], fa0: int, fb0: int, prefix: str) -> None:
        """The product of the two families' DFAs (each determinized lazily, shared by every pair and
        start), from their states in ``s``; searched breadth-first, each region once per pair."""
        owner = self.mode.owner
        da, db = self.family_dfa(a), self.family_dfa(b)
        start = (da.state(frozenset(q for q in s if owner[q] == a), fa0),
                 db.state(frozenset(q for q in s if owner[q] == b), fb0))
        seen = self.pair_seen.setdefault((a, b), set())
        if start in seen:
            return
        seen.add(start)
        parent: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
        queue: deque[tuple[int, int]] = deque([start])
        while queue:
            st = queue.popleft()
            ia, ib = st
            if da.accept[ia] and db.accept[ib]:
                out: list[str] = []
                link = parent[st]
                while link is not None:
                    prev, ch = link
                    out.append(ch)
                    link = parent[prev]
                self.found[(min(a, b), max(a, b))] = prefix + "".join(reversed(out))
                return
            for ch, ta, tb in _joint_steps(da.expand(ia), db.expand(ib)):
                nst = (ta, tb)
                if nst in seen:
                    continue
                self.count((a, b))
                seen.add(nst)
                parent[nst] = (st, ch)
                queue.append(nst)


def _joint_steps(oa: _Out, ob: _Out) -> list[tuple[str, int, int]]:
    """The characters both states can read, one per pair of successors: (character, next a, next b),
    visible ASCII first, then space, then by code point (the order witnesses are explored in)."""
    singles_a, classes_a = oa
    singles_b, classes_b = ob
    out: list[tuple[str, int, int]] = []
    for ch, ta in singles_a.items():
        tb = singles_b.get(ch)
        if tb is None:
            for cs, t in classes_b:
                if ch in cs:
                    tb = t
                    break
        if tb is not None:
            out.append((ch, ta, tb))
    for ch, tb in singles_b.items():
        if ch in singles_a:
            continue
        for cs, t in classes_a:
            if ch in cs:
                out.append((ch, t, tb))
                break
    for csa, ta in classes_a:
        for csb, tb in classes_b:
            both = csa & csb
            if both:
                out.append((both.representative(), ta, tb))
    if len(out) > 1:
        out.sort(key=_char_pref)
    return out


def _char_pref(step: tuple[str, int, int]) -> tuple[int, int]:
    cp = ord(step[0])
    return (0 if 0x21 <= cp < 0x7F else 1 if cp == 0x20 else 2, cp)


# A DFA state's moves: single characters to their successor, and character classes to theirs.
_Out = tuple[dict[str, int], list[tuple[CharSet, int]]]


class _FamilyDFA:
    """One family's language (its ``except`` clause subtracted) as a DFA built on demand: a state is
    a set of the mode's NFA states and a state of the except-DFA.  Its moves are single characters
    (most of a grammar's words) and a few classes, so the product of two is a dict lookup per
    character instead of a partition of their character sets."""

    def __init__(self, mode: _Mode, excl: DFA | None) -> None:
        self.mode = mode
        self.excl = excl
        self.ids: dict[tuple[frozenset[int], int], int] = {}
        self.keys: list[tuple[frozenset[int], int]] = []
        self.accept: list[bool] = []
        self.out: list[_Out | None] = []
        self.splitters = list(excl.part.atoms) if excl is not None else []

    def state(self, nfa: frozenset[int], f: int) -> int:
        key = (nfa, f)
        i = self.ids.get(key)
        if i is None:
            i = self.ids[key] = len(self.keys)
            self.keys.append(key)
            excluded = self.excl is not None and self.excl.accept[f]
            self.accept.append(not excluded and any(self.mode.kind[q] == MATCH for q in nfa))
            self.out.append(None)
        return i

    def expand(self, i: int) -> _Out:
        out = self.out[i]
        if out is not None:
            return out
        mode, excl = self.mode, self.excl
        kind, cs, after = mode.kind, mode.cs, mode.after
        nfa, f = self.keys[i]
        chars = [q for q in nfa if kind[q] == CHAR]
        sets = list({cs[q] for q in chars})
        part, covers = Partition.from_sets(sets + self.splitters)
        index = {c: k for k, c in enumerate(sets)}
        members: dict[int, list[int]] = {}
        for q in chars:
            for atom in covers[index[cs[q]]]:
                members.setdefault(atom, []).append(q)
        atoms = part.atoms
        singles: dict[str, int] = {}
        by_target: dict[int, list[int]] = {}
        for atom, qs in members.items():
            nxt = frozenset(t for q in qs for t in after[q])
            if not nxt:
                continue
            charset = atoms[atom]
            ch = charset.representative()
            nf = excl.delta[f][excl.part.atom_of(ord(ch))] if excl is not None else 0
            target = self.state(nxt, nf)
            if len(charset) == 1:
                singles[ch] = target
            else:
                by_target.setdefault(target, []).append(atom)
        out = self.out[i] = (singles, [(part.charset_of(group), t) for t, group in by_target.items()])
        return out
