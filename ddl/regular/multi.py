"""Many regular languages at once: which of them accept a string, and which pairs share one.

:class:`LangSet` holds languages keyed by ids of the caller's choosing (names, objects), each
given as a regex (or a :class:`~ddl.regular.lang.Lang`), optionally minus a second language.

Membership — :meth:`LangSet.matching` / :meth:`LangSet.scan` — runs one *combined* automaton,
not one per language.  The languages are compiled to Thompson NFAs numbered into one state
space, and a *lazy* DFA over sets of those states reads the string: a DFA state is built the
first time a string reaches it and its transitions are cached per alphabet atom (shared by
every character of the atom): for the atoms of ASCII characters in a flat table of states ×
byte classes, so a warm set reads one table entry per character of an ASCII string however many
languages it holds, and building it costs only the NFAs (linear in the total size) — never the
full subset construction, which for thousands of languages could be enormous.  The cache is flushed when it grows past ``cache_limit`` transitions (as RE2 does), so
hostile strings cost time, never unbounded memory.  A ``minus`` language is checked only on the
strings its language accepts.

Overlaps — :meth:`LangSet.overlaps`, :func:`overlaps` — every pair of ids whose languages
intersect (``minus`` subtracted), each with a shortest witness.  Two phases, so that neither the
number of languages nor the size of one makes the search explode:

1. a breadth-first search of the combined automaton expands only states where at least two
   languages we care about are still alive — for languages that diverge after a word or two
   (intent grammars), a small region;
2. where at most four languages remain alive, each pair is searched on its own as a product of
   the two languages' DFAs (each built lazily, state by state, shared by every pair and start),
   breadth-first from the states reached so far.

A witness found in phase 2 from a deep start may not be the shortest; such a pair is then
searched once more from the start, only for a shorter witness (so the answer is always a
shortest witness, and the first found when that one is shortest).  Among the shortest, visible
ASCII is preferred, then space, then code-point order.  The searches count the states they
visit and raise :class:`SearchTooLarge` (an :class:`~ddl.regular.errors.AutomatonTooLarge`)
past the budget rather than answer from a partial search.

    >>> from ddl.regular import LangSet, parse
    >>> s = LangSet({"add": parse("add [0-9]+"), "seven": parse("add 7|add 70"), "hi": parse("hi")})
    >>> s.matching("add 70")
    ('add', 'seven')
    >>> s.overlaps()
    [Overlap(first='add', second='seven', witness='add 7')]
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Collection, Container, Hashable, Iterable, Mapping, Sequence
from itertools import repeat
from typing import Any, Generic, TypeVar, Union

import attrs

from ddl.regular.ast import Alt, Capture, Chars, Concat, Epsilon, Named, Regex, Repeat, Tag
from ddl.regular.charset import CharSet
from ddl.regular.dfa import DFA, closures
from ddl.regular.errors import DEFAULT_LIMITS, AutomatonTooLarge, Limits
from ddl.regular.lang import Lang, embedder
from ddl.regular.nfa import (
    CHAR,
    MATCH,
    Embedder,
    FlatSuccessors,
    Prog,
    _Compiler,
    check_regex,
    compile_regex,
    live_states,
    small_ints,
)
from ddl.regular.partition import Partition

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

#: What a language may have subtracted: a :class:`Lang`, or a function returning one (called once,
#: when first needed — on the first accepted string it could remove, or by an overlap search).
Minus = Union[Lang, Callable[[], Lang]]

CACHE_LIMIT = 200_000  # default: cached transitions before the lazy DFA is flushed
FEW = 3  # default: at most this many languages alive hands the rest of a string to `settle`
_PAIRWISE = 4  # at most this many languages alive: the overlap search takes each pair on its own
# At most this many languages in all: every pair from the start.  A combined state of a few languages
# that all stay alive (filler words a widening learned, free text) is their product, which costs far
# more than the pairs' products (10 widened families: 18 s against 32); past it, the combined phase
# spares the pairs that diverge at once (10,000 families: 2 s against 8).
_SMALL_SET = 16


@attrs.frozen
class Overlap(Generic[K]):
    """Two ids whose languages share ``witness`` (``first`` comes before ``second`` in the set)."""

    first: K
    second: K
    witness: str


class SearchTooLarge(AutomatonTooLarge):
    """The overlap search visited more states than its budget.  ``keys`` are the ids it could not
    clear: each one's own search (of all its pairs) passed the budget.
    ``found`` holds the overlaps among the pairs that were searched to the end — every pair with
    an id not in ``keys`` — so a caller can act on those and set the others aside."""

    def __init__(self, limit: int, keys: Sequence[Hashable], found: Sequence[Overlap[Any]] = ()) -> None:
        super().__init__("overlap search", limit, "states")
        self.keys = tuple(keys)
        self.found = list(found)
        self.args = (f"{self.summary}; raise the budget (max_states) or search fewer languages",)

    @property
    def summary(self) -> str:
        return (f"{self.construction} reached the limit of {self.limit:,} {self.what} for each of "
                f"{', '.join(map(str, self.keys))}")


class LangSet(Generic[K]):
    """Regular languages keyed by id, for membership and overlap questions about all of them.

    ``langs`` maps each id to its language (a regex; a :class:`Lang` is embedded as it is; captures
    are ignored); ``minus`` maps some ids to a language subtracted from theirs.  The ids' order
    is the order of every answer.  ``few`` and ``cache_limit`` tune :meth:`scan` (see there and
    the module docstring).  NFA compilation honours ``limits`` (:class:`AutomatonTooLarge`,
    :class:`~ddl.regular.errors.RegexTooLarge`), per language.

    ``share_prefixes`` (the default) compiles the languages' common leading parts once (see
    :func:`_shared_nfa`): the same answers, smaller lazy states.  False compiles each language
    on its own (kept for differential tests).
    """

    def __init__(self, langs: Mapping[K, Regex | Lang], *, minus: Mapping[K, Minus] | None = None,
                 limits: Limits = DEFAULT_LIMITS, few: int = FEW, cache_limit: int = CACHE_LIMIT,
                 share_prefixes: bool = True) -> None:
        self.keys: tuple[K, ...] = tuple(langs)
        self.limits = limits
        self.few_limit = few
        self.cache_limit = cache_limit
        position = {k: i for i, k in enumerate(self.keys)}
        self._minus: dict[int, Minus] = {position[k]: m for k, m in (minus or {}).items() if k in position}
        self._minus_langs: dict[int, Lang] = {}
        self._minus_by_key = {self.keys[i]: i for i in self._minus}
        # The NFA tables are arrays of C ints (4 bytes: NFA states and groups number far below 2^31;
        # a state's group and character set in the narrowest type that holds them, small_ints),
        # not lists of Python ints and tuples: at 10,000 intent grammars (~2 million NFA states)
        # that is a fifth of the memory.
        embed = embedder(limits)
        if share_prefixes:
            nfa = _shared_nfa(list(langs.values()), limits, embed)
        else:
            nfa = _separate_nfa(list(langs.values()), limits, embed)
        self._kind, self._owner = nfa.kind, small_ints(nfa.owner, len(nfa.groups))
        self._groups = nfa.groups
        self._group_sets: dict[int, frozenset[int]] = {}
        self._after_start, self._after_flat = nfa.after_start, nfa.after_flat
        self._after = FlatSuccessors(nfa.after_start, nfa.after_flat)
        self._start_set = frozenset(nfa.starts)
        kind, cs = nfa.kind, nfa.cs
        # One alphabet partition for all languages: transitions are computed once per (state, atom)
        # and shared by every character of the atom — fresh strings ("add milk", "add eggs") then
        # mostly meet transitions that earlier strings already built.
        distinct: dict[Any, int] = {}
        sid = small_ints([distinct.setdefault(c, len(distinct)) if k == CHAR else -1 for k, c in zip(kind, cs)],
                         len(distinct))
        part, covers = Partition.from_sets(list(distinct))
        # A CHAR state's set, by its number in `distinct` (4 bytes a state, not a pointer of 8).
        self._cs = _CharSets(sid, list(distinct))
        self._part = part
        self._set_atoms = [frozenset(c) for c in covers]
        self._sid = sid
        # The ASCII characters' atoms numbered densely (at most 128 "classes"): a built state's move on an
        # ASCII character is one index into a flat table of states × classes, and an ASCII text is
        # turned into its classes in one C call (bytes.translate).  However many languages the set holds
        # and however many states are built, a warm step touches one table entry.
        classes: dict[int, int] = {}
        byte_class = bytearray(256)
        for cp in range(128):
            byte_class[cp] = classes.setdefault(part.atom_of(cp), len(classes))
        self._byte_class = bytes(byte_class)
        self._class_of_atom = classes
        self._class_atoms = list(classes)
        self._width = len(classes)
        self._zero_row = array("i", bytes(4 * self._width))
        self._char_codes: dict[str, int] = {chr(cp): byte_class[cp] for cp in range(128)}
        self._reset()

    def __len__(self) -> int:
        return len(self.keys)

    def read_only_tables(self) -> list[array[int]]:
        """The NFA tables, which nothing writes after the set is built (the lazily built DFA is elsewhere): a
        saved copy may give them back as read-only views of its bytes (``memoryview``), indexed and sliced alike."""
        return [self._kind, self._owner, self._after_start, self._after_flat, self._sid]

    # ------------------------------------------------------------------ membership

    def matching(self, text: str) -> tuple[K, ...]:
        """The ids whose languages accept ``text``, in the set's order."""
        return self.scan(text)[0]

    def scan(self, text: str, settle: Callable[[tuple[K, ...], str], tuple[tuple[K, ...], T] | None] | None = None
             ) -> tuple[tuple[K, ...], T | None]:
        """The ids accepting ``text`` (in order), and what ``settle`` said about them, if it decided.

        Once at most ``few`` languages are still alive after a prefix of ``text`` (and, if more than
        one, after the moves :meth:`warm` built beyond it, which usually leave one), the walk calls
        ``settle(alive, text)`` (once): it may decide the rest itself (say, with a faster matcher
        of its own for those few) by returning the ids among ``alive`` that accept the whole
        ``text`` — ``minus`` languages applied — and a payload of its choice; or None, and the
        walk goes on (the payload is then None).  A text that ends before that point, with at most
        ``few`` languages accepting it (``minus`` not yet applied), is handed over at its end.
        """
        if not text.isascii():
            return self._scan_chars(text, settle)
        # The table's entries (see _code): > 0 the next state's row, 0 not built yet, -1 dead, < -1 a
        # state where at most `few` languages are alive.
        table, width = self._table, self._width
        row = self._start * width
        classes = iter(text.encode("ascii").translate(self._byte_class))
        for c in classes:
            v = table[row + c]
            if v > 0:
                row = v
                continue
            if v == 0:
                v = self._code(self._move(row // width, c, self._class_atoms[c]))
                table = self._table  # a flush replaces the table
                if v > 0:
                    row = v
                    continue
            if v == -1:
                return (), None
            row = -v - 1
            if settle is not None:
                few = self._few
                alive = few[row // width]
                if len(alive) > 1:
                    # Walk on over the moves already built (by warm) while more than one is alive: settling one
                    # language is one call of the caller's matcher, and the next characters usually tell them apart.
                    for c in classes:
                        v = table[row + c]
                        if v >= -1:
                            if v == -1:
                                return (), None
                            break  # not built (0), or more alive (not possible: they only die): settle these
                        row = -v - 1
                        alive = few[row // width]
                        if len(alive) == 1:
                            break
                    else:
                        return self._end(row // width, text, settle)
                decided = settle(alive, text)
                if decided is not None:
                    return decided
                return self._scan_chars(text, None)  # rare (an undecided shortcut): the plain walk
        return self._end(row // width, text, settle)

    def _scan_chars(self, text: str, settle: Callable[[tuple[K, ...], str], tuple[tuple[K, ...], T] | None] | None
                    ) -> tuple[tuple[K, ...], T | None]:
        """:meth:`scan` character by character (any text): each character's code (its class, or ``-atom - 1``
        for an atom with no ASCII character) from a dict, then the table (or the dict of wide moves)."""
        codes, table, width = self._char_codes, self._table, self._width
        row = self._start * width
        shortcut = settle is not None
        chars = iter(text)
        for ch in chars:
            c = codes.get(ch)
            if c is None:
                c = self._char_code(ch)
            if c >= 0:
                v = table[row + c]
                if v == 0:
                    v = self._code(self._move(row // width, c, self._class_atoms[c]))
                    table = self._table  # a flush replaces the table
            else:
                state, atom = row // width, -c - 1
                t = self._wide.get(state * self._part.n_atoms + atom)
                v = self._code(self._move(state, -1, atom) if t is None else t)
                table = self._table
            if v > 0:
                row = v
                continue
            if v == -1:
                return (), None
            row = -v - 1
            if shortcut:
                shortcut = False
                assert settle is not None
                alive = self._few[row // width]
                if len(alive) > 1:  # walk on over built moves, as scan does
                    for ch in chars:
                        row = self._built_move(row, ch)
                        if row < 0:
                            if row == -1:
                                return (), None
                            row = -row - 2  # not built: settle where the walk is
                            break
                        alive = self._few[row // width]
                        if len(alive) == 1:
                            break
                    else:
                        return self._end(row // width, text, settle)
                decided = settle(alive, text)
                if decided is not None:
                    return decided
                return self._scan_chars(text, None)  # undecided (rare): the plain walk, as scan's
        return self._end(row // width, text, settle if shortcut else None)

    def _built_move(self, row: int, ch: str) -> int:
        """The row a state where at most `few` languages are alive (``row``) moves to on ``ch`` if that move is
        built (a state where at most `few` are alive, or the dead state); -1 for the dead state, ``-row - 2`` if
        the move is not built."""
        c = self._char_codes.get(ch)
        if c is None:
            c = self._char_code(ch)
        if c >= 0:
            v = self._table[row + c]
        else:
            t = self._wide.get(row // self._width * self._part.n_atoms - c - 1)
            v = 0 if t is None else self._code(t)
        if v >= 0:  # not built (or, were it possible, a state where more are alive): settle here
            return -row - 2
        return -1 if v == -1 else -v - 1

    def _char_code(self, ch: str) -> int:
        """``ch``'s code for :meth:`_scan_chars`, remembered (at most a few thousand characters: hostile text
        costs time, never unbounded memory)."""
        atom = self._part.atom_of(ord(ch))
        c = self._class_of_atom.get(atom, -atom - 1)
        if len(self._char_codes) > 4096:
            self._char_codes = {chr(cp): self._byte_class[cp] for cp in range(128)}
        self._char_codes[ch] = c
        return c

    def _end(self, state: int, text: str, settle: Callable[[tuple[K, ...], str], tuple[tuple[K, ...], T] | None] | None
             ) -> tuple[tuple[K, ...], T | None]:
        """:meth:`scan`'s answer for ``text``, which ended in ``state`` (``settle``: not called yet)."""
        accepted = self._accepting[state]
        if settle is not None and 0 < len(accepted) <= self.few_limit:
            decided = settle(accepted, text)
            if decided is not None:
                return decided
        if accepted and self._minus_by_key:
            accepted = tuple(k for k in accepted if not self._removed(k, text))
        return accepted, None

    def warm(self, text: str) -> None:
        """Build the lazy states ``text`` leads through, up to where one language is alive (:meth:`scan`
        hands over where at most ``few`` are, or, walking on over these moves, one), so that strings
        starting so meet them built."""
        s = self._start
        for ch in text:
            t = self._target(s, ch)
            if t == self._dead or len(self._few[t]) == 1:
                return
            s = t

    def _removed(self, key: K, text: str) -> bool:
        i = self._minus_by_key.get(key)
        return i is not None and self._minus_lang(i).contains(text)

    def _minus_lang(self, i: int) -> Lang:
        lang = self._minus_langs.get(i)
        if lang is None:
            m = self._minus[i]
            lang = self._minus_langs[i] = m if isinstance(m, Lang) else m()
        return lang

    def _reset(self) -> None:
        # A lazy state is its NFA states, sorted, as the bytes of a C int array: hashable for
        # interning and 4 bytes a member (a frozenset of ints takes about ten times that).
        self._sets: list[bytes] = []
        self._ids: dict[bytes, int] = {}
        # Moves: on the ASCII classes, a flat table (a row of `width` entries per state, coded by _code);
        # on an atom with no ASCII character, a dict keyed by state × atoms + atom.
        self._table = array("i")
        self._wide: dict[int, int] = {}
        self._accepting: list[tuple[K, ...]] = []
        self._few: list[tuple[K, ...]] = []  # the ids still alive in a state, if at most `few`; else ()
        self._cached = 0
        self._dead = self._intern(frozenset())
        self._start = self._intern(self._start_set)

    def _code(self, state: int) -> int:
        """A table entry leading to ``state``: -1 for the dead state, ``-row - 1`` for a state where at most
        `few` languages are alive, else its row (``state × width``: the dead state is the one with row 0)."""
        if state == self._dead:
            return -1
        row = state * self._width
        return -row - 1 if self._few[state] else row

    def _target(self, state: int, ch: str) -> int:
        """The state ``state`` moves to on ``ch`` (built if new)."""
        cp = ord(ch)
        if cp < 128:
            c = self._byte_class[cp]
            atom = self._class_atoms[c]
        else:
            atom = self._part.atom_of(cp)
            c = self._class_of_atom.get(atom, -1)
        if c >= 0:
            v = self._table[state * self._width + c]
            if v > 0:
                return v // self._width
            if v == -1:
                return self._dead
            if v < -1:
                return (-v - 1) // self._width
        else:
            t = self._wide.get(state * self._part.n_atoms + atom)
            if t is not None:
                return t
        return self._move(state, c, atom)

    def _intern(self, s: Collection[int]) -> int:
        key = array("i", sorted(s)).tobytes()
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self._sets)
            self._sets.append(key)
            self._table.extend(self._zero_row)
            kind, owner, groups, keys = self._kind, self._owner, self._groups, self.keys
            # A MATCH state belongs to one language: its group is that language alone.
            self._accepting.append(tuple(keys[o] for o in sorted({groups[owner[q]][0] for q in s
                                                                  if kind[q] == MATCH})))
            few_limit = self.few_limit
            gs = {owner[q] for q in s}
            owners: set[int] = set()
            # A group larger than `few` alone rules it out (at 10,000 families a shared state's group
            # can hold hundreds: not worth a union).
            if all(len(groups[g]) <= few_limit for g in gs):
                for g in gs:
                    owners.update(groups[g])
            self._few.append(tuple(keys[o] for o in sorted(owners)) if 0 < len(owners) <= few_limit else ())
        return i

    def _move(self, state: int, c: int, atom: int) -> int:
        """Build and cache the move of ``state`` on ``atom`` (its class ``c``, or -1 for a non-ASCII atom);
        the target, numbered after a flush if the cache was full."""
        if self._cached > self.cache_limit:
            # Flush (RE2's policy): hostile strings cost time, never unbounded memory.
            current = memoryview(self._sets[state]).cast("i").tolist()
            self._reset()
            state = self._intern(current)
        sid, set_atoms, start, flat = self._sid, self._set_atoms, self._after_start, self._after_flat
        nxt: set[int] = set()
        for q in memoryview(self._sets[state]).cast("i").tolist():
            k = sid[q]
            if k >= 0 and atom in set_atoms[k]:
                nxt.update(flat[start[q]:start[q + 1]])
        target = self._intern(nxt)
        if c >= 0:
            self._table[state * self._width + c] = self._code(target)
        else:
            self._wide[state * self._part.n_atoms + atom] = target
        self._cached += 1
        return target

    def _alive(self, states: Iterable[int]) -> set[int]:
        """The indices of the languages that NFA ``states`` belong to."""
        owner, groups = self._owner, self._groups
        out: set[int] = set()
        for g in {owner[q] for q in states}:
            out.update(groups[g])
        return out

    def _in_group(self, i: int, q: int) -> bool:
        """Whether NFA state ``q`` belongs to language ``i``."""
        g = self._owner[q]
        members = self._group_sets.get(g)
        if members is None:
            members = self._group_sets[g] = frozenset(self._groups[g])
        return i in members

    # ------------------------------------------------------------------ overlaps

    def overlaps(self, involving: Collection[K] | None = None, *, max_states: int | None = None) -> list[Overlap[K]]:
        """Every pair of ids whose languages (``minus`` subtracted) share a string, with a shortest one.

        With ``involving``, only the pairs with at least one of those ids.  Ordered by witness
        length, then by the ids' order.  Each search visits at most ``max_states`` states (by
        default ``limits.max_dfa_states``): first one search of all the pairs; past the budget,
        one search per id (of ``involving``, else all), of all its pairs, each within the
        budget.  The ids whose own search passes it are named by the :class:`SearchTooLarge`
        raised, which holds the overlaps of every pair with another id.  Which ids pass the
        budget and which pairs overlap does not depend on the ids' order (each id's search is
        of all its pairs, whatever was searched before).
        """
        budget = self.limits.max_dfa_states if max_states is None else max_states
        # Pairs searched from the start, by the first search too: the searches id by id reuse them.
        memo: dict[tuple[int, int], tuple[str | None, int]] = {}
        try:
            try:
                return _OverlapSearch(self, involving, budget, memo).run()
            except SearchTooLarge:
                pass
            # One id at a time: a language whose pairs outgrow the budget no longer keeps the
            # others from being cleared.
            found: dict[tuple[int, int], Overlap[K]] = {}
            position = {k: i for i, k in enumerate(self.keys)}
            over: list[K] = []
            for key in (self.keys if involving is None else [k for k in self.keys if k in involving]):
                try:
                    pairs = _OverlapSearch(self, [key], budget, memo).run()
                except SearchTooLarge:
                    over.append(key)
                    continue
                for o in pairs:
                    found.setdefault((position[o.first], position[o.second]), o)
            ordered = sorted(found.items(), key=lambda x: (len(x[1].witness), x[0]))
            result = [o for _, o in ordered]
            if over:
                raise SearchTooLarge(budget, over, result)
            return result
        finally:
            self._group_sets.clear()  # the search's membership index: not kept (nor pickled)


def overlaps(langs: Mapping[K, Regex | Lang], involving: Collection[K] | None = None, *,
             minus: Mapping[K, Minus] | None = None, limits: Limits = DEFAULT_LIMITS,
             max_states: int | None = None) -> list[Overlap[K]]:
    """Every pair of ids whose languages intersect, each with a shortest witness (see :class:`LangSet`)."""
    return LangSet(langs, minus=minus, limits=limits).overlaps(involving, max_states=max_states)


def leading_text(node: Regex | Lang, limit: int = 200) -> str:
    """A string that members of ``node`` typically start with: its leading characters, each the
    lower-case letter of its class where there is one, the first choice of an alternation, the
    required copies of a repetition; it stops at the first part it cannot spell (a Boolean part).
    For warming a lazy automaton (:meth:`LangSet.warm`), nothing more: it need not be a prefix of
    a member."""
    out: list[str] = []

    def spell(n: Regex) -> bool:  # False: stop here
        if len(out) >= limit:
            return False
        if isinstance(n, Chars):
            if n.cs.is_empty():
                return False
            ch = n.cs.representative()
            low = ch.lower()
            out.append(low if len(low) == 1 and low in n.cs else ch)
            return True
        if isinstance(n, Concat):
            return all(spell(x) for x in n.items)
        if isinstance(n, Alt):
            return bool(n.items) and spell(n.items[0])
        if isinstance(n, Repeat):
            return all(spell(n.inner) for _ in range(min(n.lo, limit))) and n.hi == n.lo
        if isinstance(n, (Capture, Named)):
            return spell(n.inner)
        return isinstance(n, (Epsilon, Tag))

    if not isinstance(node, Lang):
        spell(node)
    return "".join(out)

class _CharSets:
    """``cs[q]``: the character set of NFA state ``q`` (None if it is no CHAR state)."""

    __slots__ = ("sid", "sets")

    def __init__(self, sid: array[int], sets: list[CharSet]) -> None:
        self.sid, self.sets = sid, sets

    def __getitem__(self, q: int) -> Any:  # CharSet | None, as the NFA's own `cs` list
        k = self.sid[q]
        return self.sets[k] if k >= 0 else None


@attrs.define
class _NFATables:
    """The languages' NFAs numbered into one state space (see :class:`LangSet`).

    ``owner[q]`` is a group: ``groups[owner[q]]`` are the indices of the languages whose NFA has
    state ``q`` (one language for a MATCH state).  ``after[q]``, for a CHAR state, are the
    CHAR/MATCH states reached by ε-moves after it consumes:
    ``after_flat[after_start[q]:after_start[q + 1]]``.  ``starts``: the start states.
    """

    kind: array[int] = attrs.field(factory=lambda: array("b"))
    cs: list[Any] = attrs.field(factory=list)
    owner: array[int] = attrs.field(factory=lambda: array("i"))
    groups: list[tuple[int, ...]] = attrs.field(factory=list)
    after_start: array[int] = attrs.field(factory=lambda: array("i", [0]))
    after_flat: array[int] = attrs.field(factory=lambda: array("i"))
    starts: list[int] = attrs.field(factory=list)

    def add(self, prog: Prog, owners: Iterable[int], live: Container[int] | None) -> None:
        """Append ``prog``'s states, their groups ``owners`` (one per state); only the ``live`` ones
        are read (all if None)."""
        base = len(self.kind)
        pk, pout = prog.kind, prog.out
        close = closures(prog, live=live)
        self.kind.extend(pk)
        self.cs.extend(prog.cs)
        self.owner.extend(owners)
        after_flat, after_start = self.after_flat, self.after_start
        for q in range(len(pk)):
            if pk[q] == CHAR and (live is None or q in live):
                o = pout[q]
                ko = pk[o]
                if ko == CHAR or ko == MATCH:  # a literal chain: no ε-moves to follow
                    if live is None or o in live:
                        after_flat.append(o + base)
                else:
                    after_flat.extend(x + base for x in close(o))
            after_start.append(len(after_flat))
        if live is None or prog.start in live:
            self.starts.extend(x + base for x in close(prog.start))


def _separate_nfa(langs: Sequence[Regex | Lang], limits: Limits, embed: Embedder) -> _NFATables:
    """Each language's NFA on its own (group i is language i)."""
    nfa = _NFATables()
    for index, lang in enumerate(langs):
        node = lang.ref() if isinstance(lang, Lang) else lang
        prog = compile_regex(node, tags=False, limits=limits, embed=embed)
        live = live_states(prog)
        nfa.groups.append((index,))
        nfa.add(prog, repeat(index, len(prog.kind)), None if len(live) == len(prog.kind) else live)
    return nfa


class _TrieNode:
    """Languages whose item sequences agree on their first ``depth`` items (see :func:`_shared_nfa`)."""

    __slots__ = ("indices", "depth", "ends", "groups", "kids", "edges", "entry", "group")

    def __init__(self, indices: list[int], depth: int) -> None:
        self.indices: list[int] | None = indices
        self.depth = depth
        self.ends: list[int] = []  # the languages whose sequence ends here
        self.groups: dict[Regex, list[int]] = {}  # next item -> the languages reading it
        self.kids: dict[Regex, _TrieNode] = {}  # next item -> the node after it, when shared
        # (entry state, first state, end state, node after it or the one language it leads to)
        self.edges: list[tuple[int, int, int, _TrieNode | int]] = []
        self.entry = -1  # NFA state: what follows this node
        self.group = -1  # the group of the states leading here


def _items(node: Regex) -> Iterable[Regex]:
    """``node`` as a sequence: nested concatenations flattened, ε dropped."""
    if isinstance(node, Concat):
        for item in node.items:
            yield from _items(item)
    elif not isinstance(node, Epsilon):
        yield node


def _shared_nfa(langs: Sequence[Regex | Lang], limits: Limits, embed: Embedder) -> _NFATables:
    """The languages' NFAs with their common leading items compiled once.

    Each language is a concatenation of items; the item sequences form a trie, and an item is
    compiled once per trie edge, continuing into the trie node after it (one MATCH state per
    language where its sequence ends; a language's own tail, once no other language shares it,
    is compiled as it would be alone).  Intent grammars of one shape ("add <item> to the
    <list>") share everything up to their distinguishing words, so a lazy DFA state over this
    NFA holds one copy of a shared capture's states, not one per grammar: smaller states,
    built faster.

    The answers are the separate NFAs' exactly: the words reaching a shared state are exactly
    the words reaching each copy it stands for, so a set of states here is the image of the
    separate NFAs' set, and the languages owning it (its group: those below it whose MATCH it
    still reaches) are the same.  Limits apply per language as for separate NFAs.  Each
    subtree of the root is its own program (a small temporary, like one language's).
    """
    seqs: list[tuple[Regex, ...]] = []
    for lang in langs:
        node = lang.ref() if isinstance(lang, Lang) else lang
        check_regex(node, limits)
        seqs.append(tuple(_items(node)))
    nfa = _NFATables()
    nfa.groups.extend((i,) for i in range(len(seqs)))  # group i: language i alone
    parts: dict[Regex | None, list[int]] = {}
    for i, seq in enumerate(seqs):
        parts.setdefault(seq[0] if seq else None, []).append(i)
    for part in parts.values():
        _add_trie(nfa, part, seqs, limits, embed)
    return nfa


def _add_trie(nfa: _NFATables, indices: list[int], seqs: Sequence[tuple[Regex, ...]], limits: Limits,
              embed: Embedder) -> None:
    """Compile the trie of ``indices``' sequences into one program and append it to ``nfa``."""
    prog = Prog(len(indices) * limits.max_nfa_states)
    compiler = _Compiler(prog, {}, False, embed)
    root = _TrieNode(indices, 0)
    order: list[_TrieNode] = []  # post-order: children before parents
    splits: list[tuple[_TrieNode, int]] = []
    match_of: dict[int, int] = {}
    stack: list[tuple[_TrieNode, bool]] = [(root, False)]
    while stack:  # iterative: two grammars may share thousands of items
        t, expanded = stack.pop()
        if not expanded:
            assert t.indices is not None
            for i in t.indices:
                seq = seqs[i]
                if len(seq) == t.depth:
                    t.ends.append(i)
                else:
                    t.groups.setdefault(seq[t.depth], []).append(i)
            t.indices = None
            stack.append((t, True))
            for item, group in t.groups.items():
                if len(group) > 1:
                    kid = t.kids[item] = _TrieNode(group, t.depth + 1)
                    stack.append((kid, False))
            continue
        outs: list[int] = []
        for i in t.ends:
            m = match_of[i] = prog.add_match()
            outs.append(m)
        for item, group in t.groups.items():
            shared = t.kids.get(item)
            if shared is None:  # one language from here on: its tail as it would be alone
                i = group[0]
                entry = match_of[i] = prog.add_match()
                first = len(prog.kind)
                for x in reversed(seqs[i][t.depth:]):
                    entry = compiler.compile(x, entry)
                t.edges.append((entry, first, len(prog.kind), i))
            else:
                first = len(prog.kind)
                entry = compiler.compile(item, shared.entry)
                t.edges.append((entry, first, len(prog.kind), shared))
            outs.append(entry)
        if len(outs) == 1:
            t.entry = outs[0]
        else:
            t.entry = prog.split(outs)
            splits.append((t, t.entry))
        t.groups = {}
        order.append(t)
    prog.start = root.entry
    # A language's NFA on its own has 1 + its items' states; refuse what it would refuse.
    sizes: list[tuple[_TrieNode, int]] = [(root, 1)]
    while sizes:
        t, n = sizes.pop()
        if t.ends and n > limits.max_nfa_states:
            raise AutomatonTooLarge("NFA compilation", limits.max_nfa_states, "NFA states")
        for _, lo, hi, after in t.edges:
            if isinstance(after, int):
                if n + hi - lo > limits.max_nfa_states:
                    raise AutomatonTooLarge("NFA compilation", limits.max_nfa_states, "NFA states")
            else:
                sizes.append((after, n + hi - lo))
    live = live_states(prog, (q for q, k in enumerate(prog.kind) if k == MATCH))
    # Groups: the languages each edge's states still lead to (a language whose rest is ∅ is not
    # alive there, as in its own NFA).  A node with one live way on shares that way's group.
    groups = nfa.groups
    owner = [0] * len(prog.kind)
    for i, m in match_of.items():
        owner[m] = i
    for t in order:
        ways: list[int] = []  # the groups of the live edges (an edge's entry is live iff it leads on)
        for entry, lo, hi, after in t.edges:
            g = after if isinstance(after, int) else after.group
            for q in range(lo, hi):
                owner[q] = g
            if entry in live:
                ways.append(g)
        if not t.ends and len(ways) == 1:
            t.group = ways[0]
        else:
            members = set(t.ends)
            for g in ways:
                members.update(groups[g])
            t.group = len(groups)
            groups.append(tuple(sorted(members)))
    for t, split in splits:
        owner[split] = t.group
    nfa.add(prog, owner, None if len(live) == len(prog.kind) else live)


class _OverlapSearch(Generic[K]):
    def __init__(self, langs: LangSet[K], involving: Collection[K] | None, budget: int,
                 memo: dict[tuple[int, int], tuple[str | None, int]] | None = None) -> None:
        self.langs = langs
        self.budget = budget
        # A pair searched from the start, by an earlier search of the same set: its witness (or None) and
        # the states it cost, charged again to this search's budget (so each search's outcome is its own).
        self.memo = memo
        self.focus = None if involving is None else {i for i, k in enumerate(langs.keys) if k in involving}
        # The minus language of each id that has one, as a complete DFA (accepting = removed).
        self.excl = {i: langs._minus_lang(i).dfa for i in langs._minus}
        self.found: dict[tuple[int, int], str] = {}
        self.deep: set[tuple[int, int]] = set()  # pairs found by a pairwise search from a nonempty prefix
        self.visited = 0
        # Pair states already explored, per pair: many frontier states of phase 1 lead into the same
        # region of a pair's product, which is searched once.
        self.pair_seen: dict[tuple[int, int], set[tuple[int, int]]] = {}
        self.dfas: dict[int, _LazyDFA] = {}

    def worth(self, alive: Collection[int]) -> bool:
        """Can an overlap we care about still arise among these languages?"""
        return len(alive) >= 2 and (self.focus is None or not self.focus.isdisjoint(alive))

    def pair_wanted(self, a: int, b: int) -> bool:
        return (self.focus is None or a in self.focus or b in self.focus) and (min(a, b), max(a, b)) not in self.found

    def count(self, alive: Iterable[int]) -> None:
        self.visited += 1
        if self.visited > self.budget:
            keys = self.langs.keys
            raise SearchTooLarge(self.budget, [keys[i] for i in sorted(alive)])

    def excluded(self, i: int, f: int) -> bool:
        dfa = self.excl.get(i)
        return dfa is not None and dfa.accept[f]

    def step_excl(self, i: int, f: int, ch: str) -> int:
        dfa = self.excl.get(i)
        return dfa.delta[f][dfa.part.atom_of(ord(ch))] if dfa is not None else 0

    def run(self) -> list[Overlap[K]]:
        langs = self.langs
        kind, cs, after, owner, groups = langs._kind, langs._cs, langs._after, langs._owner, langs._groups
        start = langs._start_set
        alive0 = langs._alive(start)
        if not self.worth(alive0):
            return []
        pairwise_at = len(langs) if len(langs) <= _SMALL_SET else _PAIRWISE
        f0 = tuple(sorted((i, self.excl[i].start) for i in alive0 if i in self.excl))
        seen = {(start, f0)}
        queue: deque[tuple[frozenset[int], tuple[tuple[int, int], ...], str]] = deque([(start, f0, "")])
        while queue:
            s, fs, path = queue.popleft()
            alive = sorted(langs._alive(s))
            fstate = dict(fs)
            if len(alive) <= pairwise_at:
                for i, a in enumerate(alive):
                    for b in alive[i + 1:]:
                        if self.pair_wanted(a, b):
                            self.pairwise(a, b, s, fstate.get(a, 0), fstate.get(b, 0), path)
                continue
            matched = {groups[owner[q]][0] for q in s if kind[q] == MATCH}  # a MATCH state is one language's
            accepting = sorted(i for i in matched if not self.excluded(i, fstate.get(i, 0)))
            for i, a in enumerate(accepting):
                for b in accepting[i + 1:]:
                    if self.pair_wanted(a, b):
                        self.found[(a, b)] = path
            chars = [q for q in s if kind[q] == CHAR]
            sets = list({cs[q] for q in chars})
            extra = [atom for i in alive if i in self.excl for atom in self.excl[i].part.atoms]
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
                families = langs._alive(t)
                if not self.worth(families):
                    continue
                ch = reps[atom]
                ft = tuple(sorted((i, self.step_excl(i, fstate.get(i, 0), ch)) for i in families if i in self.excl))
                if (t, ft) in seen:
                    continue
                self.count(families)
                seen.add((t, ft))
                queue.append((t, ft, path + ch))
        for a, b in sorted(self.deep):
            self.shorten(a, b)
        keys = langs.keys
        return [Overlap(keys[a], keys[b], w) for (a, b), w in sorted(self.found.items(), key=lambda x: (len(x[1]), x[0]))]

    def lazy_dfa(self, i: int) -> _LazyDFA:
        dfa = self.dfas.get(i)
        if dfa is None:
            dfa = self.dfas[i] = _LazyDFA(self.langs, i, self.excl.get(i))
        return dfa

    def pair_start(self, a: int, b: int, s: frozenset[int], fa: int, fb: int) -> tuple[int, int]:
        in_group = self.langs._in_group
        return (self.lazy_dfa(a).state(frozenset(q for q in s if in_group(a, q)), fa),
                self.lazy_dfa(b).state(frozenset(q for q in s if in_group(b, q)), fb))

    def pairwise(self, a: int, b: int, s: frozenset[int], fa0: int, fb0: int, prefix: str) -> None:
        """The product of the two languages' DFAs from their states in ``s``; searched breadth-first,
        each region once per pair."""
        key = (min(a, b), max(a, b))
        if not prefix and self.memo is not None and key in self.memo:
            found, cost = self.memo[key]
            self.visited += cost
            if self.visited > self.budget:
                raise SearchTooLarge(self.budget, [self.langs.keys[a], self.langs.keys[b]])
        else:
            start = self.pair_start(a, b, s, fa0, fb0)
            seen = self.pair_seen.setdefault((a, b), set())
            if start in seen:
                return
            seen.add(start)
            before = self.visited
            found = self.product_search(a, b, start, seen, None)
            if not prefix and self.memo is not None:
                self.memo[key] = (found, self.visited - before)
        if found is not None:
            self.found[key] = prefix + found
            if prefix:
                self.deep.add((min(a, b), max(a, b)))

    def shorten(self, a: int, b: int) -> None:
        """Replace the pair's witness by a shorter one from the start, if there is one."""
        known = self.found[(a, b)]
        langs = self.langs
        start_set = langs._start_set
        start = self.pair_start(a, b, start_set, self.excl[a].start if a in self.excl else 0,
                                self.excl[b].start if b in self.excl else 0)
        shorter = self.product_search(a, b, start, {start}, len(known) - 1)
        if shorter is not None:
            self.found[(a, b)] = shorter

    def product_search(self, a: int, b: int, start: tuple[int, int], seen: set[tuple[int, int]],
                       max_len: int | None) -> str | None:
        """A shortest string from ``start`` accepted by both (None if none, or none of at most
        ``max_len`` characters); ``seen`` is updated with the states visited."""
        da, db = self.lazy_dfa(a), self.lazy_dfa(b)
        parent: dict[tuple[int, int], tuple[tuple[int, int], str] | None] = {start: None}
        depth = {start: 0}
        limit = -1 if max_len is None else max_len
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
                return "".join(reversed(out))
            d = depth[st] + 1
            if d == limit + 1:
                continue
            for ch, ta, tb in _joint_steps(da.expand(ia), db.expand(ib)):
                nst = (ta, tb)
                if nst in seen:
                    continue
                self.count((a, b))
                seen.add(nst)
                parent[nst] = (st, ch)
                depth[nst] = d
                queue.append(nst)
        return None


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


class _LazyDFA:
    """One language of a set (its ``minus`` subtracted) as a DFA built on demand: a state is a set
    of the set's NFA states and a state of the minus-DFA.  Its moves are single characters (most
    of a grammar's words) and a few classes, so the product of two is a dict lookup per character
    instead of a partition of their character sets."""

    def __init__(self, langs: LangSet[Any], index: int, excl: DFA | None) -> None:
        self.langs = langs
        self.index = index  # the language's own states only: shared states lead to others' too
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
            self.accept.append(not excluded and any(self.langs._kind[q] == MATCH for q in nfa))
            self.out.append(None)
        return i

    def expand(self, i: int) -> _Out:
        out = self.out[i]
        if out is not None:
            return out
        langs, excl, me = self.langs, self.excl, self.index
        kind, cs, after, in_group = langs._kind, langs._cs, langs._after, langs._in_group
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
            nxt = frozenset(t for q in qs for t in after[q] if in_group(me, t))
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
