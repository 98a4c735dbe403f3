"""Capture automata: the subset automaton of a tagged NFA over characters *and* tags.

A parse of an utterance is an accepting path of the tagged Thompson NFA; what distinguishes
two parses for θ is only where their captures start and end (*positional* captures: free
text, numbers) and which value each *keyed* capture takes (an enum's variant, marked by a
:class:`~ddl.regular.ast.Tag` after each spelling, so that "sci-fi" and "science fiction" are
the same value).  Reading the path as a word over Σ ∪ T — characters, and one symbol per
capture boundary or value mark — and determinizing over that alphabet gives
:class:`TaggedDFA`: every state is a set of NFA states reached by the same *tagged* prefix.
Paths that differ only outside captures (two ways to spell "please") collapse, and so do the
thousands of branches of an enum: a 5,000-word enum becomes a trie, not 5,000 threads.

:func:`find_ambiguity` then runs the classic self-product (two copies read the same
characters; each may take tag edges between them) on this deterministic automaton instead of
on the NFA.  Two copies that agree so far sit on the *diagonal* — one product state per
automaton state — and only where the grammar really lets two parses diverge do off-diagonal
pairs appear.  A product state holds:

* the two automaton states and the state of the :class:`~ddl.regular.paths.Filter` (the
  utterance must be normalized / outside ``except``);
* ``d``: the positional capture slots whose recorded positions differ;
* which positional captures each copy has closed;
* for keyed captures written by one copy and not (yet, or not equally) by the other, both
  values.

Precondition: every capture *name group* (a parameter) is written at most once per parse
(``ddl check`` refutes a grammar that writes a parameter twice before asking this), so a keyed
capture both copies wrote with the same value can be forgotten.

At a pair where both copies accept, a difference is a candidate: the witness path is spelled
(choosing characters so that shifted positional texts differ where a position allows it) and
the caller's ``same(captures_a, captures_b)`` decides whether the two θ really differ.  When
they do not and the difference was positional (the texts depend on the path, not only on the
state), the search cannot conclude that no *other* path to that state differs:
:class:`Undecided` is raised unless an ambiguity turns up elsewhere.  Keyed differences are
decided exactly (the values are in the state).
"""

from __future__ import annotations

import functools
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable
from typing import Any, NamedTuple, Union

import attrs

from ddl.regular.ast import Capture, Regex, Tag, alt, lit, seq, transform, walk
from ddl.regular.charset import CharSet
from ddl.regular.dfa import closures
from ddl.regular.errors import DEFAULT_LIMITS, AutomatonTooLarge, Limits, RegularError
from ddl.regular.lang import Lang, embedder
from ddl.regular.nfa import CHAR, MATCH, SAVE, TAG, Prog, compile_regex, live_states
from ddl.regular.partition import Partition, iter_bits
from ddl.regular.paths import Filter, char_sets, nice_char, nice_rank

# The name of the mark that starts each branch of an *ordered* grammar (see :func:`find_ambiguity`): an utterance
# is read by the first branch that accepts it, so the branches are searched apart. Not an identifier DDL can write,
# and never compared.
BRANCH = "·branch"


@attrs.frozen
class Key:
    """The value mark of a keyed capture (as opposed to the text of a positional one)."""

    value: Hashable


Captured = Union[str, Key, None]
Captures = dict[str, Captured]


class Ambiguity(NamedTuple):
    """An utterance with two parses whose captures differ."""

    utterance: str
    first: Captures
    second: Captures


class Undecided(RegularError):
    """The search found two parses capturing equal values at different places and could not
    rule out that another path captures different ones."""


class TaggedDFA:
    """Deterministic over characters (atoms of ``part``) and tag symbols (see the module docstring).

    ``rows[s]`` maps an atom to the next state (absent: no parse continues), ``tag_rows[s]``
    lists (symbol, next state); ``symbols[t]`` says what symbol t marks: ``("slot", k)`` for
    a positional capture boundary (slot 2i opens capture ``names[i]``, 2i+1 closes it) or
    ``("key", name, key)`` for a value mark.
    """

    def __init__(self, prog: Prog, *, keyed: Iterable[str] = (), extra_sets: Iterable[CharSet] = (),
                 limits: Limits = DEFAULT_LIMITS, what: str = "the capture automaton") -> None:
        self.prog = prog
        self.names = prog.names
        keyed_set = frozenset(keyed)
        kind, out, slot, css = prog.kind, prog.out, prog.slot, prog.cs
        live = live_states(prog)
        kept_slot = [kind[q] == SAVE and prog.names[slot[q] // 2] not in keyed_set for q in range(len(kind))]
        symbols: list[tuple[Any, ...]] = []
        symbol_of: dict[tuple[Any, ...], int] = {}

        def symbol(meaning: tuple[Any, ...]) -> int:
            got = symbol_of.get(meaning)
            if got is None:
                got = symbol_of[meaning] = len(symbols)
                symbols.append(meaning)
            return got

        sym_of_state: dict[int, int] = {}
        for q in range(len(kind)):
            if q not in live:
                continue
            if kind[q] == SAVE and kept_slot[q]:
                sym_of_state[q] = symbol(("slot", slot[q]))
            elif kind[q] == TAG:
                name, key = prog.tags[slot[q]]
                sym_of_state[q] = symbol(("key", name, key))
        self.symbols = symbols

        sets = [cs for cs in char_sets(prog)]
        extra = [cs for cs in extra_sets if cs]
        part, covers = Partition.from_sets(sets + extra)
        self.part = part
        atoms_of = {cs: covers[i] for i, cs in enumerate(sets)}
        # Stop states: CHAR, MATCH, kept SAVE, TAG; SPLITs and erased SAVEs (a keyed capture's
        # boundary) are passed through.
        close = closures(prog, [k == CHAR or k == MATCH or k == TAG or kept_slot[q] for q, k in enumerate(kind)],
                         live)

        index: dict[frozenset[int], int] = {}
        members: list[frozenset[int]] = []
        max_states = limits.max_dfa_states

        def intern(subset: frozenset[int]) -> int:
            i = index.get(subset)
            if i is None:
                if len(members) >= max_states:
                    raise _too_large(what, max_states, "states", prog, members)
                i = index[subset] = len(members)
                members.append(subset)
            return i

        start = intern(close(prog.start))
        rows: list[dict[int, int]] = []
        tag_rows: list[tuple[tuple[int, int], ...]] = []
        accept: list[bool] = []
        step_cache: dict[tuple[int, ...], int] = {}
        match = prog.match
        i = 0
        while i < len(members):
            subset = members[i]
            by_atom: dict[int, list[int]] = {}
            by_sym: dict[int, list[int]] = {}
            for q in subset:
                k = kind[q]
                if k == CHAR:
                    cs = css[q]
                    assert cs is not None
                    for a in atoms_of[cs]:
                        lst = by_atom.get(a)
                        if lst is None:
                            by_atom[a] = [q]
                        else:
                            lst.append(q)
                elif k != MATCH:
                    by_sym.setdefault(sym_of_state[q], []).append(q)
            row: dict[int, int] = {}
            for a, qs in by_atom.items():
                key = tuple(qs)
                t = step_cache.get(key)
                if t is None:
                    nxt = close(out[qs[0]]) if len(qs) == 1 else frozenset().union(*(close(out[q]) for q in qs))
                    t = step_cache[key] = intern(nxt) if nxt else -1
                if t >= 0:
                    row[a] = t
            trow: list[tuple[int, int]] = []
            for sym, qs in sorted(by_sym.items()):
                nxt = frozenset().union(*(close(out[q]) for q in qs))
                if nxt:
                    trow.append((sym, intern(nxt)))
            rows.append(row)
            tag_rows.append(tuple(trow))
            accept.append(match in subset)
            i += 1
        self.rows = rows
        self.tag_rows = tag_rows
        self.accept = accept
        self.start = start
        self.members = members
        self._writable: list[int] | None = None
        self._openable: list[int] | None = None
        self.keyed_index = {name: i for i, name in enumerate(sorted({m[1] for m in symbols if m[0] == "key"}))}

    def openable(self) -> list[int]:
        """Per state, the positional captures (bit i: ``names[i]``) some path from it still opens."""
        if self._openable is None:
            self._openable = self._reach_marks(lambda meaning: 1 << (meaning[1] // 2)
                                               if meaning[0] == "slot" and meaning[1] % 2 == 0 else 0)
        return self._openable

    def _reach_marks(self, mark_of: Any) -> list[int]:
        """Per state, the union of ``mark_of(symbol)`` over the tag edges reachable from it."""
        n = self.n
        direct = [0] * n
        preds: list[list[int]] = [[] for _ in range(n)]
        for s in range(n):
            for t in set(self.rows[s].values()):
                preds[t].append(s)
            for sym, t in self.tag_rows[s]:
                preds[t].append(s)
                direct[s] |= mark_of(self.symbols[sym])
        mask = list(direct)
        work = [s for s in range(n) if mask[s]]
        while work:
            t = work.pop()
            m = mask[t]
            for s in preds[t]:
                if mask[s] | m != mask[s]:
                    mask[s] |= m
                    work.append(s)
        return mask

    def writable(self) -> list[int]:
        """Per state, the keyed names (bit i: ``keyed_index``) some path from it still marks."""
        if self._writable is None:
            self._writable = self._reach_marks(lambda meaning: 1 << self.keyed_index[meaning[1]]
                                               if meaning[0] == "key" else 0)
        return self._writable

    @property
    def n(self) -> int:
        return len(self.rows)


def _too_large(what: str, limit: int, unit: str, prog: Prog, subsets: list[frozenset[int]]) -> AutomatonTooLarge:
    """The limit error, naming the labelled parts of the grammar whose states vary the most among the subsets."""
    err = AutomatonTooLarge(what, limit, unit)
    err.culprits = culprits(prog, subsets)
    return err


def culprits(prog: Prog, subsets: Iterable[frozenset[int]], top: int = 2) -> list[tuple[str, int]]:
    """Labels whose states take the most distinct combinations among ``subsets`` (most first).

    A subset construction grows because some part of the grammar can be "in several places at
    once" in many ways; the part whose own states form the most distinct combinations is the
    one to simplify.
    """
    origin, labels = prog.origin, prog.labels
    seen: dict[int, set[frozenset[int]]] = {}
    for subset in subsets:
        parts: dict[int, list[int]] = {}
        for q in subset:
            parts.setdefault(origin[q], []).append(q)
        for lab, qs in parts.items():
            seen.setdefault(lab, set()).add(frozenset(qs))
    ranked = sorted(((len(v), labels[lab]) for lab, v in seen.items() if lab != 0), reverse=True)
    return [(label, count) for count, label in ranked[:top]]


# ------------------------------------------------------------------ the ambiguity search


def find_ambiguity(node: Regex, *, keyed: Iterable[str] = (), flt: Filter | None = None,
                   same: Callable[[Captures, Captures], bool] | None = None,
                   limits: Limits = DEFAULT_LIMITS) -> Ambiguity | None:
    """A shortest utterance with two parses whose captures differ (see the module docstring), or None.

    ``keyed`` names captures compared by their :class:`~ddl.regular.ast.Tag` marks (their
    :class:`Key` in the result) rather than by position and text.  Other captures whose
    language is a small finite set of texts are keyed by their text automatically (exact, and
    reported as text).  ``same`` decides whether two candidate parses give the same values
    (default: equal captures).  A regex whose alternatives each begin with a ``BRANCH`` mark is
    ordered (an utterance is read by the first alternative that accepts it): only two parses within
    one alternative are compared.  Raises :class:`Undecided` or
    :class:`~ddl.regular.errors.AutomatonTooLarge`.
    """
    keyed = frozenset(keyed)
    node, by_text = key_small_captures(node, keyed, limits)
    prog = compile_regex(node, tags=True, limits=limits, embed=embedder(limits, allow_captures=False))
    if not prog.names:
        return None
    flt = flt if flt is not None else Filter(None)
    dt = TaggedDFA(prog, keyed=keyed | by_text, extra_sets=flt.sets(), limits=limits)
    found = _Search(dt, flt, same, limits, by_text).run()
    return found


AUTO_KEY_TEXTS = 1000  # captures with at most this many possible texts are compared by text, exactly


@functools.lru_cache(maxsize=1024)
def _small_texts(inner: Regex, limits: Limits) -> tuple[str, ...] | None:
    """Every text of a capture's language when it is finite and has at most AUTO_KEY_TEXTS; else None.

    Memoized: the families of a registry repeat the same capture languages (an Int range's numerals, an
    enum's texts), and this is a pure function of the regex."""
    if any(isinstance(x, (Capture, Tag)) for x in walk(inner)):
        return None
    try:
        lang = Lang.from_regex(inner, limits=limits)
    except RegularError:
        return None
    if not lang.is_finite():
        return None
    total = 0
    for k in range(lang.num_states + 1):
        total += lang.count(k)
        if total > AUTO_KEY_TEXTS:
            return None
    return tuple(lang.unrank(k, i) for k in range(lang.num_states + 1) for i in range(lang.count(k)))


def key_small_captures(node: Regex, keyed: frozenset[str], limits: Limits) -> tuple[Regex, frozenset[str]]:
    """Mark each text of small finite captures with a Tag (see :func:`find_ambiguity`)."""
    inners: dict[str, list[Regex]] = {}
    for n in walk(node):
        if isinstance(n, Capture) and n.name not in keyed:
            inners.setdefault(n.name, []).append(n.inner)
    texts_of: dict[Regex, list[str]] = {}
    eligible: set[str] = set()
    for name, inner_list in inners.items():
        ok = True
        for inner in inner_list:
            if inner in texts_of:
                continue
            texts = _small_texts(inner, limits)
            if texts is None:
                ok = False
                break
            texts_of[inner] = list(texts)
        if ok:
            eligible.add(name)
    if not eligible:
        return node, frozenset()

    def rewrite(n: Regex) -> Regex:
        if isinstance(n, Capture) and n.name in eligible:
            return Capture(n.name, alt(*(seq(lit(t), Tag(n.name, t)) for t in texts_of[n.inner])))
        return n

    return transform(node, rewrite), frozenset(eligible)


# (state A, state B, filter, slots that differ, names closed by A, by B, names open in A, in B,
#  keyed values pending, texts of captures whose openings differ)
_State = tuple[int, int, int, int, int, int, int, int, tuple[tuple[str, Any, Any], ...], tuple[tuple[int, Any, Any], ...]]

_NS = 0  # the text covers a position where several characters are possible: it can be made to differ
_LONG = 1  # unknown: too long to track, or begun before tracking started
_ONE_SIDED = 2  # only this copy takes the capture: its text is not tracked (the θ differ in having it)
_TEXT_CAP = 3


class _Search:
    def __init__(self, dt: TaggedDFA, flt: Filter, same: Callable[[Captures, Captures], bool] | None,
                 limits: Limits, by_text: frozenset[str] = frozenset()) -> None:
        self.dt = dt
        self.by_text = by_text  # keyed by their text: reported as text
        self.writable = dt.writable()
        self.openable = dt.openable()
        self.flt = flt
        self.same = same
        self.limits = limits
        names = dt.names
        self.names = names
        self.n_slots = 2 * len(names)
        # Positional names (their slots are symbols) vs keyed names (their value marks are).
        self.positional = sorted({m[1] // 2 for m in dt.symbols if m[0] == "slot"})
        self.keyed_names = sorted({m[1] for m in dt.symbols if m[0] == "key" and m[1] != BRANCH})
        # Names marked by their value (a Key: one value, one mark), not by a text that converts to one: two
        # of their values are equal exactly when the θ they give are (see _shape).
        self.by_value = frozenset(self.keyed_names) - by_text
        part_atoms = dt.part.atoms
        # The filter atom of each automaton atom (the automaton's partition refines the filter's).
        if flt.dfa is not None:
            fpart = flt.dfa.part
            self.fatom = [fpart.atom_of(atom.min()) for atom in part_atoms]
        else:
            self.fatom = [0] * len(part_atoms)
        self.atom_sets = part_atoms
        order = sorted(range(len(part_atoms)), key=lambda a: nice_rank(part_atoms[a]))
        self.rank = [0] * len(part_atoms)
        for r, a in enumerate(order):
            self.rank[a] = r
        self._tclo: dict[int, list[tuple[int, int, tuple[tuple[str, Any], ...]]]] = {}
        self.inconclusive = 0

    def tclo(self, s: int) -> list[tuple[int, int, tuple[tuple[str, Any], ...]]]:
        """(state, slots written, value marks) reachable from s by tag edges only (s itself included)."""
        got = self._tclo.get(s)
        if got is not None:
            return got
        dt = self.dt
        start: tuple[int, int, tuple[tuple[str, Any], ...]] = (s, 0, ())
        seen = {start}
        stack = [start]
        while stack:
            x, mask, keys = stack.pop()
            for sym, t in dt.tag_rows[x]:
                meaning = dt.symbols[sym]
                if meaning[0] == "slot":
                    item = (t, mask | (1 << meaning[1]), keys)
                elif meaning[1] == BRANCH:
                    item = (t, mask, keys)  # which branch a parse takes is not a value: it never differs
                else:
                    # The latest mark of a name wins (a loop may mark it twice at one position).
                    mark = (meaning[1], meaning[2])
                    rest = tuple(old for old in keys if old[0] != mark[0])
                    item = (t, mask, tuple(sorted((*rest, mark), key=repr)))
                if item not in seen:
                    seen.add(item)
                    stack.append(item)
        got = self._tclo[s] = sorted(seen, key=lambda it: (it[0], it[1], repr(it[2])))
        return got

    def _closed(self, mask: int) -> int:
        """Names whose close slot is in ``mask`` (as a bitmask over name indices)."""
        out = 0
        while mask:
            low = mask & -mask
            sl = low.bit_length() - 1
            if sl & 1:
                out |= 1 << (sl // 2)
            mask ^= low
        return out

    def _pend(self, pend: tuple[tuple[str, Any, Any], ...], ka: tuple[tuple[str, Any], ...],
              kb: tuple[tuple[str, Any], ...], p: int, q: int) -> tuple[tuple[str, Any, Any], ...]:
        """Keyed values after copy A marked ``ka`` and copy B marked ``kb``, now at states p and q.

        An entry (name, value in A, value in B) is kept while the values differ, or while either
        copy may still mark the name again (then the value it would be compared with matters);
        a name both copies marked alike and will never mark again is forgotten, so parses that
        agree stay on the diagonal.
        """
        if not ka and not kb and not pend:
            return pend
        table = {name: [a, b] for name, a, b in pend}
        for name, key in ka:
            entry = table.setdefault(name, [_UNSET, _UNSET])
            entry[0] = key
        for name, key in kb:
            entry = table.setdefault(name, [_UNSET, _UNSET])
            entry[1] = key
        later = self.writable[p] | self.writable[q]
        index = self.dt.keyed_index
        return tuple(sorted(((n, a, b) for n, (a, b) in table.items()
                             if a != b or (later >> index[n] & 1)), key=repr))

    def _shape(self, st: _State) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The state with its pending values by value (keyed by the value itself, not by a text) and the
        texts only one copy has begun replaced by which of them are equal, and those values in order.

        Why two states of one shape with no value in common stand for all of that shape: the search's
        moves never read a pending value (only the marks read on the way set them), so from every state
        of one shape the same paths lead on, to the same end; at the end a θ takes each value either from
        a pending one or from a mark on the path (a constant of the path).  Two parses that differ for a
        third state differ in a value that is a constant on one side (equal pending values compare alike
        in every state of the shape; a text begun by one copy is compared with the other's, read from the
        path) — and of two states with no value in common, at most one has that constant.  (A text both
        copies began before tracking, `_LONG`, depends on the path before the state: there the candidate
        is replayed, and if its parses agree it is counted inconclusive — never proved.)  So a path that shows an ambiguity from a third state shows one, as short, from one of
        the two; states of a known shape past two are not searched (a number 1..50 pending in one copy is
        otherwise 50 states)."""
        classes: dict[Any, int] = {}
        values: list[Any] = []

        def label(name: str, value: Any) -> Any:
            if value is _UNSET or name not in self.by_value:
                return value
            got = classes.get(value)
            if got is None:
                got = classes[value] = len(values)
                values.append(value)
            return ("·", got)

        def text(t: Any) -> Any:
            if not isinstance(t, str):
                return t
            got = classes.get(("text", t))
            if got is None:
                got = classes[("text", t)] = len(values)
                values.append(("text", t))
            return ("·", len(t), got)  # the length too: it decides when the text is too long to track

        pend = tuple((n, label(n, a), label(n, b)) for n, a, b in st[8])
        # A text only one copy has begun (the other will read its own from the path, a constant of it).
        texts = tuple((k, text(ta), tb) if tb is None else (k, ta, text(tb)) if ta is None else (k, ta, tb)
                      for k, ta, tb in st[9])
        return (*st[:8], pend, texts), tuple(values)

    def run(self) -> Ambiguity | None:
        """The shortest ambiguity.  A grammar of BRANCH-marked branches is *ordered*: an utterance is read by
        the first branch that accepts it (leftmost-first, the matcher's order), so two parses matter only
        within one branch, and each branch is searched on its own (each within the limit)."""
        dt = self.dt
        starts = [self.tclo(t) for sym, t in dt.tag_rows[dt.start] if dt.symbols[sym][:2] == ("key", BRANCH)]
        if not starts or len(starts) != len(dt.tag_rows[dt.start]):
            return self._run(self.tclo(dt.start), self.tclo(dt.start))
        found: list[Ambiguity] = []
        undecided: RegularError | None = None  # a branch that met the limit, or that left candidates open
        for start in starts:
            self.inconclusive = 0  # counted per branch: a witness of another branch still wins
            try:
                hit = self._run(start, start)
            except (AutomatonTooLarge, Undecided) as err:
                undecided = undecided or err
                continue
            if hit is not None:
                found.append(hit)
        if found:
            return min(found, key=lambda hit: (len(hit.utterance), hit.utterance))
        if undecided is not None:
            raise undecided
        return None

    def _run(self, first: list[tuple[int, int, tuple[tuple[str, Any], ...]]],
             second: list[tuple[int, int, tuple[tuple[str, Any], ...]]]) -> Ambiguity | None:
        """The search from the pairs of ``first`` (copy A's) and ``second`` (copy B's) start items."""
        dt, flt = self.dt, self.flt
        if flt.start not in flt.live:
            return None
        parent: dict[_State, tuple[_State | None, CharSet | None, int, tuple[Any, ...], int, tuple[Any, ...]]] = {}
        queue: deque[_State] = deque()
        max_states = self.limits.max_dfa_states
        divergent: Counter[str] = Counter()

        representatives: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}

        def visit(st: _State, prev: _State | None, chars: CharSet | None, ma: int, ka: tuple[Any, ...], mb: int,
                  kb: tuple[Any, ...]) -> Ambiguity | None:
            if st in parent:
                return None
            if st[8] or st[9]:
                shape, values = self._shape(st)
                if values:
                    seen = representatives.setdefault(shape, [])
                    if len(seen) == 2:
                        return None  # two representatives with no value in common are searched: see _shape
                    if not seen or all(x != y for x, y in zip(seen[0], values)):
                        seen.append(values)
            if len(parent) >= max_states:
                err = AutomatonTooLarge("the ambiguity search", max_states, "state pairs")
                err.culprits = divergent.most_common(2)
                raise err
            parent[st] = (prev, chars, ma, ka, mb, kb)
            p, q, f, d, wa, wb, _, _, pend, texts = st
            if d or wa != wb or any(a != b for _, a, b in pend):
                for name in self._diverging(d, wa ^ wb, pend):
                    divergent[name] += 1
                if dt.accept[p] and dt.accept[q] and flt.accepts(f):
                    hit = self._candidate(parent, st)
                    if hit is not None:
                        return hit
            queue.append(st)
            return None

        for pa, ma, ka in first:
            for pb, mb, kb in second:
                ina, inb = self._inside(0, ma), self._inside(0, mb)
                nd = ma ^ mb
                st0: _State = (pa, pb, flt.start, nd, self._closed(ma), self._closed(mb), ina, inb,
                               self._pend((), ka, kb, pa, pb), self._texts((), None, 0, 0, ma, mb, nd, pa, pb))
                hit = visit(st0, None, None, ma, ka, mb, kb)
                if hit is not None:
                    return hit
        rows, fatom, flive, atom_sets = dt.rows, self.fatom, flt.live, self.atom_sets
        while queue:
            st = queue.popleft()
            p, q, f, d, wa, wb, ina, inb, pend, texts = st
            rp, rq = rows[p], rows[q]
            if len(rq) < len(rp):
                common = [(a, rp[a], t) for a, t in rq.items() if a in rp]
            else:
                common = [(a, t, rq[a]) for a, t in rp.items() if a in rq]
            rank = self.rank
            # Characters that lead both copies (and the filter) to the same states are one step:
            # a capture text covering it can take any of them (several: it can be made to differ).
            steps: dict[tuple[int, int, int], list[int]] = {}
            for a, p1, q1 in sorted(common, key=lambda c: rank[c[0]]):
                f1 = flt.step(f, fatom[a])
                if f1 in flive:
                    steps.setdefault((p1, q1, f1), []).append(a)
            for (p1, q1, f1), atoms in steps.items():
                cs = atom_sets[atoms[0]] if len(atoms) == 1 else CharSet.empty().union(*(atom_sets[x] for x in atoms))
                ch = chr(cs.min()) if cs.size() == 1 else None
                ca, cb = self.tclo(p1), self.tclo(q1)
                for p2, ma, ka in ca:
                    for q2, mb, kb in cb:
                        nd = (d & ~(ma & mb)) | (ma ^ mb)
                        nst: _State = (p2, q2, f1, nd, wa | self._closed(ma), wb | self._closed(mb),
                                       self._inside(ina, ma), self._inside(inb, mb),
                                       self._pend(pend, ka, kb, p2, q2),
                                       self._texts(texts, ch, ina, inb, ma, mb, nd, p2, q2) if (texts or nd) else ())
                        hit = visit(nst, st, cs, ma, ka, mb, kb)
                        if hit is not None:
                            return hit
        if self.inconclusive:
            raise Undecided(f"{self.inconclusive} pair(s) of parses capture equal values at different places; "
                            "the search could not rule out different values on other paths")
        return None

    @staticmethod
    def _inside(inside: int, mask: int) -> int:
        """Names open after writing the slots of ``mask`` (opened, unless closed at the same place)."""
        opened = closed = 0
        while mask:
            low = mask & -mask
            sl = low.bit_length() - 1
            if sl & 1:
                closed |= 1 << (sl // 2)
            else:
                opened |= 1 << (sl // 2)
            mask ^= low
        return (inside | opened) & ~closed

    def _texts(self, texts: tuple[tuple[int, Any, Any], ...], ch: str | None, ina: int, inb: int, ma: int, mb: int,
               nd: int, p: int, q: int) -> tuple[tuple[int, Any, Any], ...]:
        """Texts of the captures whose openings differ, after one character (``ch``; None: several
        possible) read while ``ina``/``inb`` were open, then the slots ``ma``/``mb`` written, the copies
        now at ``p`` and ``q``.

        A text is kept only while the other copy may still take the same capture (is inside it, or
        can still open it): otherwise the two θ differ in whether they have the value at all, and
        the text is not needed to tell (the candidate is then checked on a concrete witness).
        """
        table: dict[int, list[Any]] = {}
        for k, ta, tb in texts:
            if ina >> k & 1:
                ta = _extend(ta, ch)
            if inb >> k & 1:
                tb = _extend(tb, ch)
            table[k] = [ta, tb]
        out: list[tuple[int, Any, Any]] = []
        mask = nd
        while mask:
            low = mask & -mask
            sl = low.bit_length() - 1
            mask ^= low
            if sl & 1:
                continue  # closings that differ: the text lengths differ, nothing to track
            k = sl // 2
            entry = table.get(k)
            if entry is None:  # the openings start to differ here
                entry = [_LONG if ina >> k & 1 else None, _LONG if inb >> k & 1 else None]
            if ma >> sl & 1:
                entry[0] = ""
            if mb >> sl & 1:
                entry[1] = ""
            openable = self.openable
            if entry[1] is None and not (openable[q] >> k & 1):
                entry[0] = _ONE_SIDED
            if entry[0] is None and not (openable[p] >> k & 1):
                entry[1] = _ONE_SIDED
            out.append((k, entry[0], entry[1]))
        return tuple(out)

    def _settled(self, st: _State) -> bool | None:
        """At a pair where both accept: do the positional captures surely agree (True), surely differ
        (False), or does it depend on the path (None)?"""
        _, _, _, d, wa, wb, _, _, _, texts = st
        verdict: bool | None = True
        tracked = {k: (ta, tb) for k, ta, tb in texts}
        for k in self.positional:
            open_diff, close_diff = d >> (2 * k) & 1, d >> (2 * k + 1) & 1
            part_diff = (wa ^ wb) >> k & 1
            if not (open_diff or close_diff or part_diff):
                continue
            if part_diff or not open_diff:
                return False  # one captured and the other did not, or same start with different ends
            ta, tb = tracked.get(k, (_LONG, _LONG))
            if ta is None or tb is None or ta == _ONE_SIDED or tb == _ONE_SIDED:
                return False
            if ta == _LONG or tb == _LONG:
                verdict = None
            elif ta == _NS or tb == _NS or ta != tb:
                return False
        return verdict

    def _diverging(self, d: int, closed_diff: int, pend: tuple[tuple[str, Any, Any], ...]) -> list[str]:
        names = self.names
        out = {names[sl // 2] for sl in iter_bits(d)} | {names[i] for i in iter_bits(closed_diff)}
        out |= {n for n, a, b in pend if a != b}
        return sorted(out)

    def _candidate(self, parent: dict[Any, Any], st: _State) -> Ambiguity | None:
        """Spell the path to ``st`` and ask whether its two parses really differ."""
        sets: list[CharSet] = []
        tags_a: list[tuple[int, tuple[Any, ...]]] = []
        tags_b: list[tuple[int, tuple[Any, ...]]] = []
        cur = st
        while True:
            prev, chars_here, ma, ka, mb, kb = parent[cur]
            tags_a.append((ma, ka))
            tags_b.append((mb, kb))
            if prev is None:
                break
            sets.append(chars_here)
            cur = prev
        sets.reverse()
        tags_a.reverse()
        tags_b.reverse()
        chars = [nice_char(cs) for cs in sets]
        slots_a, keys_a = self._replay(tags_a)
        slots_b, keys_b = self._replay(tags_b)

        def caps(slots: list[int], keys: dict[str, Any]) -> Captures:
            text = "".join(chars)
            out: Captures = {}
            for k in self.positional:
                a, b = slots[2 * k], slots[2 * k + 1]
                out[self.names[k]] = text[a:b] if b >= 0 else None
            for name in self.keyed_names:
                if name not in keys:
                    out[name] = None
                else:
                    out[name] = keys[name] if name in self.by_text else Key(keys[name])
            return out

        pend = st[8]
        settled = self._settled(st)
        keyed_differ = any(a != b for _, a, b in pend)
        if settled is True and not keyed_differ:
            return None  # the parses differ in where they capture, never in what
        attempts = [None] + [k for k in range(len(self.names)) if (st[3] >> (2 * k)) & 3]
        for k in attempts:
            if k is not None and not self._shift(chars, sets, slots_a, slots_b, k):
                continue
            ca, cb = caps(slots_a, keys_a), caps(slots_b, keys_b)
            differ = ca != cb if self.same is None else not self.same(ca, cb)
            if differ:
                return Ambiguity("".join(chars), ca, cb)
        if settled is not True:
            # Texts that differ (or may) denote the same values here; on another path they may not.
            self.inconclusive += 1
        return None

    @staticmethod
    def _shift(chars: list[str], sets: list[CharSet], slots_a: list[int], slots_b: list[int], k: int) -> bool:
        """Change one character so that capture k's two shifted texts differ, if a position allows it."""
        a1, a2, b1, b2 = slots_a[2 * k], slots_a[2 * k + 1], slots_b[2 * k], slots_b[2 * k + 1]
        if a2 < 0 or b2 < 0:
            return False
        if a2 - a1 != b2 - b1:
            return False  # texts of different lengths differ already
        for off in range(a2 - a1):
            pa, pb = a1 + off, b1 + off
            if pa == pb:
                continue
            others = sets[pb] - CharSet.char(chars[pa])
            if others:
                chars[pb] = nice_char(others)
                return True
            others = sets[pa] - CharSet.char(chars[pb])
            if others:
                chars[pa] = nice_char(others)
                return True
        return False

    def _replay(self, tags: list[tuple[int, tuple[Any, ...]]]) -> tuple[list[int], dict[str, Any]]:
        slots = [-1] * self.n_slots
        keys: dict[str, Any] = {}
        for pos, (mask, marks) in enumerate(tags):
            for sl in iter_bits(mask):
                slots[sl] = pos
            for name, key in marks:
                keys[name] = key
        return slots, keys


def _extend(t: Any, ch: str | None) -> Any:
    """A tracked text after one more character (None: several characters possible)."""
    if t is None or t == _LONG or t == _ONE_SIDED:
        return t
    if ch is None or t == _NS:
        return _NS
    return _LONG if len(t) >= _TEXT_CAP else t + ch


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET = _Unset()


