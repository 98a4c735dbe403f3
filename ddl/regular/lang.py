"""Regular languages as canonical minimal DFAs, with the full algebra and decisions.

:class:`Lang` wraps a canonical minimal complete DFA (see :mod:`ddl.regular.dfa`).
Because the form is canonical, ``==``/``hash`` on ``Lang`` are *language*
equality; :meth:`Lang.equivalent` additionally explains a difference with a
shortest witness.

Constructions:

* Boolean operations (union, intersection, difference, symmetric difference)
  are products over the common refinement of the two alphabet partitions;
  complement flips acceptance of the complete DFA (the result stays canonical).
* Concatenation, star, bounded repetition and :func:`Lang.from_regex` compile a
  Thompson NFA (existing languages are spliced in as DFA fragments through
  :class:`~ddl.regular.ast.LangRef`) and determinize it; reversal determinizes
  the edge-reversed DFA.  Every result is minimized with Hopcroft.

Decisions (emptiness, inclusion, equivalence, disjointness) search the product
breadth-first on the fly and return a *shortest* witness, choosing characters
by preference (visible ASCII first) — strings are never enumerated.

Counting uses dynamic programming over the DFA (``ways[i][s]`` = number of
accepted strings of length ``i`` from ``s``, each atom weighted by its number of
code points); sampling draws a uniform rank and *unranks* it, so ``sample`` is
exactly uniform among members of the given length over all of Unicode.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ddl.regular.ast import (
    Capture,
    Chars,
    Complement,
    Concat,
    Difference,
    Intersect,
    LangRef,
    Named,
    Regex,
    Repeat,
    Star,
    Tag,
    case_closure,
    children,
    lit,
    size,
    walk,
    with_children,
)
from ddl.regular.charset import CharSet
from ddl.regular.dfa import DFA, determinize, minimize, product, search, shortest
from ddl.regular.errors import DEFAULT_LIMITS, AutomatonTooLarge, Limits
from ddl.regular.nfa import Embedder, Prog, _splice_plan, compile_regex, reverse_dfa_prog
from ddl.regular.parse import parse
from ddl.regular.partition import Partition

if TYPE_CHECKING:
    import random  # sample's rng: a caller's; a covered `ddl handle` never loads random


def _and_not(x: bool, y: bool) -> bool:
    return x and not y


def embedder(limits: Limits, allow_captures: bool = True) -> Embedder:
    """Compile Boolean sub-expressions (and LangRefs) to minimal DFAs for splicing into an NFA."""

    def embed(node: Regex) -> DFA:
        if not allow_captures and any(isinstance(n, Capture) for n in walk(node)):
            raise ValueError("captures inside '&', '~' or a difference are not supported for matching")
        return _embedded_dfa(node, limits)

    return embed


SHARE_ABOVE = 20_000  # a regex this size or smaller is left as it is: the pass would cost more than it saves
SHARE_MIN_PART = 64  # a repeated part smaller than this is cheaper inline than as a spliced DFA


def _larger_than(node: Regex, bound: int) -> bool:
    """Whether ``node`` has more than ``bound`` nodes (stops counting there; no hashing, unlike ``size``)."""
    count = 0
    for _ in walk(node):
        count += 1
        if count > bound:
            return True
    return False


def share_repeated(node: Regex, limits: Limits = DEFAULT_LIMITS) -> Regex:
    """``node`` with every capture-free named part (a grammar rule) that occurs more than once built once,
    as a minimal DFA (:class:`LangRef`, keeping its ``source``), when that is smaller than the part.

    A rule used at many places — a learned grammar's filler words between every two values — is
    otherwise compiled again at each place: the regex, and the NFA built from it, grow with every use,
    and a grammar of a few thousand characters passes the size limits.  The language is unchanged (the
    DFA accepts exactly the part's language), and so are captures and θ (the part has none).  The part's
    label stays around it, so a construction that grows too large still names the rule.
    """
    if not _larger_than(node, SHARE_ABOVE):
        return node
    counts: dict[Regex, int] = {}
    for n in walk(node):
        if isinstance(n, Named):
            counts[n] = counts.get(n, 0) + 1
    built: dict[Regex, Regex] = {}
    for part, count in counts.items():
        assert isinstance(part, Named)
        inner = part.inner
        if count < 2 or size(inner) < SHARE_MIN_PART or any(isinstance(n, (Capture, Tag)) for n in walk(inner)):
            continue
        try:
            dfa = _embedded_dfa(inner, limits)
        except AutomatonTooLarge:
            continue  # its DFA is larger than the limits allow: inline, as written
        plan = _splice_plan(dfa)
        if len(plan) + sum(len(edges) for _, edges, _ in plan) < size(inner):
            built[part] = Named(part.label, LangRef(Lang(dfa, limits), source=inner))
    if not built:
        return node

    def rebuild(n: Regex) -> Regex:
        if isinstance(n, Named) and n in built:
            return built[n]
        kids = children(n)
        if not kids:
            return n
        new = tuple(rebuild(k) for k in kids)
        return with_children(n, new) if any(a is not b for a, b in zip(new, kids)) else n

    return rebuild(node)


@functools.lru_cache(maxsize=1024)
def _embedded_dfa(node: Regex, limits: Limits) -> DFA:
    # Memoized: grammars repeat the same Boolean sub-expressions (a Text capture's
    # "pattern & at most n characters"), and a registry compiles thousands of grammars.
    # DFAs are never mutated after construction, so sharing one is safe.
    return Lang.from_regex(node, limits=limits)._dfa


class _Shared:
    """The languages kept by :func:`_lang_of`, least recently used first."""

    langs: OrderedDict[tuple[Regex, Limits], Lang] = OrderedDict()
    lock = threading.Lock()
    MAX = 512  # languages kept
    MAX_STATES = 2_000  # a bigger one (a whole grammar's, built once) is not kept: memory, not time


def _lang_of(node: Regex, limits: Limits) -> Lang:
    # Memoized like _embedded_dfa: the families of a registry repeat the same sub-languages (a Text
    # pattern, the numerals of an Int range, a shared rule), and a check builds each for its
    # ambiguity search and its samples.  A Lang is immutable (its counting tables fill in lazily and
    # are the same whoever fills them), so sharing one changes no result.
    key = (node, limits)
    with _Shared.lock:
        known = _Shared.langs.get(key)
        if known is not None:
            _Shared.langs.move_to_end(key)
            return known
    lang = Lang._build(node, limits)
    if lang.num_states <= _Shared.MAX_STATES:
        with _Shared.lock:
            _Shared.langs[key] = lang
            if len(_Shared.langs) > _Shared.MAX:
                _Shared.langs.popitem(last=False)
    return lang


def forget_shared_languages() -> None:
    """Drop the languages :func:`Lang.from_regex` keeps (tests: a result must not depend on them)."""
    with _Shared.lock:
        _Shared.langs.clear()


class Lang:
    """A regular language over all of Unicode (immutable; ``==`` is language equality)."""

    __slots__ = ("_dfa", "limits", "_key", "_hash", "_ways", "_wadj")

    def __init__(self, dfa: DFA, limits: Limits = DEFAULT_LIMITS) -> None:
        # Internal: `dfa` must already be canonical minimal (see dfa.minimize).
        self._dfa = dfa
        self.limits = limits
        self._key: tuple[object, ...] | None = None
        self._hash: int | None = None
        self._ways: list[list[int]] = []
        self._wadj: list[list[tuple[int, int]]] | None = None

    # ------------------------------------------------------------ constructors

    @classmethod
    def from_regex(cls, node: Regex, *, limits: Limits = DEFAULT_LIMITS) -> Lang:
        """The language of a regex AST (captures are ignored)."""
        return _lang_of(node, limits)

    @classmethod
    def _build(cls, node: Regex, limits: Limits) -> Lang:
        if isinstance(node, LangRef):
            return node.lang
        if isinstance(node, (Capture, Named)):
            return cls.from_regex(node.inner, limits=limits)
        if isinstance(node, Complement):
            return cls.from_regex(node.inner, limits=limits).complement()
        if isinstance(node, Intersect):
            result = cls.from_regex(node.items[0], limits=limits)
            for it in node.items[1:]:
                result = result.intersect(cls.from_regex(it, limits=limits))
            return result
        if isinstance(node, Difference):
            return cls.from_regex(node.left, limits=limits).difference(cls.from_regex(node.right, limits=limits))
        prog = compile_regex(node, tags=False, limits=limits, embed=embedder(limits))
        return cls._from_prog_dfa(determinize(prog, limits.max_dfa_states, "subset construction"), limits)

    @classmethod
    def _from_prog_dfa(cls, dfa: DFA, limits: Limits) -> Lang:
        return cls(minimize(dfa), limits)

    @classmethod
    def parse(cls, pattern: str, *, extended: bool = False, limits: Limits = DEFAULT_LIMITS) -> Lang:
        """The language of a pattern string (see :func:`ddl.regular.parse.parse`)."""
        return cls.from_regex(parse(pattern, extended=extended, limits=limits), limits=limits)

    @classmethod
    def empty(cls) -> Lang:
        """∅."""
        return cls(minimize(DFA(Partition.trivial(), [[0]], [False])))

    @classmethod
    def epsilon(cls) -> Lang:
        """{""}."""
        return cls(minimize(DFA(Partition.trivial(), [[1], [1]], [True, False])))

    @classmethod
    def universe(cls) -> Lang:
        """Every string over all of Unicode."""
        return cls(minimize(DFA(Partition.trivial(), [[0]], [True])))

    @classmethod
    def chars(cls, cs: CharSet) -> Lang:
        """All one-character strings from ``cs``."""
        return cls.from_regex(Chars(cs))

    @classmethod
    def literal(cls, text: str) -> Lang:
        return cls.from_regex(lit(text))

    @classmethod
    def literals(cls, texts: Iterable[str], *, limits: Limits = DEFAULT_LIMITS, fold_case: bool = False) -> Lang:
        """The finite language of the given strings (with ``fold_case``: and of all their case variants).

        Built as a trie and minimized bottom up, never through a regex, an NFA and Hopcroft: a table
        of 10,000 number words costs ~20 ms, not a 200,000-node regex (nor Hopcroft's ~0.1 s on the trie).
        """
        words = sorted(set(texts))
        sets: dict[str, CharSet] = {}
        for w in words:
            for c in w:
                if c not in sets:
                    sets[c] = case_closure(CharSet.char(c)) if fold_case else CharSet.char(c)
        part, covers = Partition.from_sets(list(sets.values()))
        atom_of = {c: tuple(covers[i]) for i, c in enumerate(sets)}
        # The trie, sparse: children[s] maps a character's atoms to its child (so with fold_case "a" and "A"
        # share one), and a child is numbered after its parent.
        children: list[dict[tuple[int, ...], int]] = [{}]
        final = [False]
        for w in words:
            s = 0
            for c in w:
                atoms = atom_of[c]
                t = children[s].get(atoms)
                if t is None:
                    if len(children) >= limits.max_dfa_states:
                        raise AutomatonTooLarge("word trie", limits.max_dfa_states, "DFA states")
                    t = len(children)
                    children.append({})
                    final.append(False)
                    children[s][atoms] = t
                s = t
            final[s] = True
        # An acyclic DFA minimizes bottom up (Revuz): two states are equivalent exactly when they agree
        # on acceptance and their children are equivalent, so children (numbered later) are settled first.
        # Characters with the same atoms are one transition, so the signature is over atoms.
        register: dict[tuple[bool, tuple[tuple[int, int], ...]], int] = {}
        rep = [0] * len(children)
        for s in range(len(children) - 1, -1, -1):
            edges = sorted((a, rep[t]) for atoms, t in children[s].items() for a in atoms)
            rep[s] = register.setdefault((final[s], tuple(edges)), len(register))
        k = part.n_atoms
        dead = len(register)
        delta: list[list[int]] = [[dead] * k for _ in range(dead + 1)]
        accept = [False] * (dead + 1)
        for (is_final, out), q in register.items():
            accept[q] = is_final
            for a, t in out:
                delta[q][a] = t
        # The quotient is already minimal; minimize() only puts it in the canonical numbering.
        return cls(minimize(DFA(part, delta, accept, rep[0])), limits)

    def ref(self) -> LangRef:
        """This language as a regex node, to splice into larger regexes."""
        return LangRef(self)

    # ------------------------------------------------------------ algebra

    def _lift(self, node: Regex) -> Lang:
        return Lang.from_regex(node, limits=self.limits)

    def _product(self, other: Lang, op: Any, what: str) -> Lang:
        return Lang(minimize(product(self._dfa, other._dfa, op, self.limits.max_dfa_states, what)), self.limits)

    def union(self, other: Lang) -> Lang:
        return self._product(other, operator.or_, "union")

    def intersect(self, other: Lang) -> Lang:
        return self._product(other, operator.and_, "intersection")

    def difference(self, other: Lang) -> Lang:
        return self._product(other, _and_not, "difference")

    def symmetric_difference(self, other: Lang) -> Lang:
        return self._product(other, operator.ne, "symmetric difference")

    def complement(self) -> Lang:
        """Every string over all of Unicode not in this language."""
        d = self._dfa
        # Flipping acceptance keeps a canonical minimal complete DFA canonical.
        flipped = DFA(d.part, d.delta, [not x for x in d.accept], d.start)
        flipped._sink = [2 if x == 2 else 1 - x for x in d.sink_kind]  # same sinks, flipped acceptance
        return Lang(flipped, self.limits)

    def concat(self, *others: Lang) -> Lang:
        return self._lift(Concat((self.ref(), *(o.ref() for o in others))))

    def star(self) -> Lang:
        return self._lift(Star(self.ref()))

    def plus(self) -> Lang:
        return self._lift(Repeat(self.ref(), 1, None))

    def optional(self) -> Lang:
        return self._lift(Repeat(self.ref(), 0, 1))

    def repeat(self, lo: int, hi: int | None) -> Lang:
        """``lo`` to ``hi`` concatenated copies (``hi=None``: unbounded)."""
        return self._lift(Repeat(self.ref(), lo, hi))

    def ignoring(self, cs: CharSet) -> Lang:
        """The strings that are members once every character of ``cs`` is deleted (h⁻¹ of the
        homomorphism erasing ``cs``): ``"1,250"`` is in ``numerals.ignoring(",")`` when ``"1250"`` is
        a numeral.  The DFA reads a character of ``cs`` by staying where it is."""
        d = self._dfa
        part, left, _ = d.part.join(Partition.from_sets([cs])[0])
        atoms = part.atoms
        inside = [atoms[a].issubset(cs) for a in range(part.n_atoms)]
        delta = [[s if inside[a] else row[left[a]] for a in range(part.n_atoms)] for s, row in enumerate(d.delta)]
        return Lang(minimize(DFA(part, delta, list(d.accept), d.start)), self.limits)

    def erase(self, cs: CharSet) -> Lang:
        """The image under deleting every character of ``cs`` (a homomorphism): ``"1,250"`` → ``"1250"``."""
        d = self._dfa
        part, left, _ = d.part.join(Partition.from_sets([cs])[0])
        atoms = part.atoms
        live = d.live_states()
        p = Prog(self.limits.max_nfa_states)
        m = p.add_match()
        entry = {st: p.split(()) for st in sorted(live)}
        for st in sorted(live):
            outs: list[int] = []
            by_target: dict[tuple[int, bool], list[int]] = {}
            for a in range(part.n_atoms):
                t = d.delta[st][left[a]]
                if t in live:
                    by_target.setdefault((t, atoms[a].issubset(cs)), []).append(a)
            for (t, erased), al in by_target.items():
                if erased:
                    outs.append(entry[t])
                else:
                    outs.append(p.char(CharSet.empty().union(*(atoms[a] for a in al)), entry[t]))
            if d.accept[st]:
                outs.append(m)
            p.patch(entry[st], outs)
        p.start = entry[d.start] if d.start in live else p.split(())
        return Lang(minimize(determinize(p, self.limits.max_dfa_states, "erasure")), self.limits)

    def right_quotient(self, suffix: str) -> Lang:
        """{w : w + suffix is a member}."""
        d = self._dfa
        accept = [d.accept[d.run_from(s, suffix)] for s in range(d.n)]
        return Lang(minimize(DFA(d.part, d.delta, accept, d.start)), self.limits)

    def reverse(self) -> Lang:
        prog = reverse_dfa_prog(self._dfa, self.limits.max_nfa_states)
        return Lang(minimize(determinize(prog, self.limits.max_dfa_states, "reversal")), self.limits)

    __or__ = union
    __and__ = intersect
    __sub__ = difference
    __xor__ = symmetric_difference
    __invert__ = complement

    def __add__(self, other: Lang) -> Lang:
        return self.concat(other)

    # ------------------------------------------------------------ decisions

    def is_empty(self) -> bool:
        return not any(self._dfa.accept)

    def is_universal(self) -> bool:
        return all(self._dfa.accept)

    def is_finite(self) -> bool:
        """True iff the language has finitely many strings."""
        d = self._dfa
        live = d.live_states()
        # A cycle through live states means unboundedly long members.
        color: dict[int, int] = {}
        for root in live:
            if root in color:
                continue
            stack: list[tuple[int, Any]] = [(root, iter(set(d.delta[root])))]
            color[root] = 1
            while stack:
                s, it = stack[-1]
                for t in it:
                    if t not in live:
                        continue
                    c = color.get(t)
                    if c == 1:
                        return False
                    if c is None:
                        color[t] = 1
                        stack.append((t, iter(set(d.delta[t]))))
                        break
                else:
                    color[s] = 2
                    stack.pop()
        return True

    def contains(self, text: str) -> bool:
        return self._dfa.accepts(text)

    __contains__ = contains  # type: ignore[assignment]

    def longest_prefix(self, text: str) -> int:
        """Length of the longest prefix of ``text`` that some member starts with."""
        d = self._dfa
        live = d.live_states()
        s = d.start
        if s not in live:
            return 0
        for i, a in enumerate(d.part.atoms_of_text(text)):
            s = d.delta[s][a]
            if s not in live:
                return i
        return len(text)

    def witness(self) -> str | None:
        """A shortest member (deterministic, preferring visible ASCII), or None if empty."""
        return shortest(self._dfa)

    def subset_of(self, other: Lang) -> tuple[bool, str | None]:
        """(True, None) if self ⊆ other, else (False, a shortest member of self − other)."""
        w = search(self._dfa, other._dfa, _and_not, self.limits.max_dfa_states)
        return w is None, w

    def equivalent(self, other: Lang) -> tuple[bool, str | None]:
        """(True, None) if equal, else (False, a shortest string in exactly one of them)."""
        if self.key() == other.key():
            return True, None
        w = search(self._dfa, other._dfa, operator.ne, self.limits.max_dfa_states)
        return w is None, w

    def disjoint(self, other: Lang) -> tuple[bool, str | None]:
        """(True, None) if no common member, else (False, a shortest common member)."""
        w = search(self._dfa, other._dfa, operator.and_, self.limits.max_dfa_states)
        return w is None, w

    # ------------------------------------------------------------ counting and sampling

    def _weighted(self) -> list[list[tuple[int, int]]]:
        if self._wadj is None:
            sizes = self._dfa.part.sizes
            adj = []
            for row in self._dfa.delta:
                w: dict[int, int] = {}
                for a, t in enumerate(row):
                    w[t] = w.get(t, 0) + sizes[a]
                adj.append(list(w.items()))
            self._wadj = adj
        return self._wadj

    def _ways_upto(self, n: int) -> list[list[int]]:
        ways = self._ways
        if not ways:
            ways.append([1 if a else 0 for a in self._dfa.accept])
        adj = self._weighted()
        while len(ways) <= n:
            prev = ways[-1]
            ways.append([sum(w * prev[t] for t, w in edges) for edges in adj])
        return ways

    def count(self, n: int) -> int:
        """Number of members of length exactly ``n`` (code points over all of Unicode)."""
        if n < 0:
            return 0
        return self._ways_upto(n)[n][self._dfa.start]

    def unrank(self, n: int, index: int) -> str:
        """The ``index``-th member of length ``n`` in a fixed order (atoms in preference order)."""
        ways = self._ways_upto(n)
        d = self._dfa
        if not 0 <= index < ways[n][d.start]:
            raise IndexError(f"no member of length {n} with index {index}")
        atoms, sizes, pref = d.part.atoms, d.part.sizes, d.part.pref_order
        s = d.start
        out = []
        for rem in range(n, 0, -1):
            row = d.delta[s]
            below = ways[rem - 1]
            for a in pref:
                t = row[a]
                w = below[t]
                if not w:
                    continue
                block = sizes[a] * w
                if index < block:
                    ci, index = divmod(index, w)
                    out.append(atoms[a].pick(ci))
                    s = t
                    break
                index -= block
        return "".join(out)

    def sample(self, rng: random.Random, n: int) -> str:
        """A member of length ``n`` drawn uniformly at random (ValueError if there is none)."""
        total = self.count(n)
        if total == 0:
            raise ValueError(f"the language has no member of length {n}")
        return self.unrank(n, rng.randrange(total))

    def lengths(self, max_len: int) -> list[int]:
        """The lengths ``0..max_len`` that have at least one member."""
        ways = self._ways_upto(max_len)
        st = self._dfa.start
        return [n for n in range(max_len + 1) if ways[n][st]]

    # ------------------------------------------------------------ inspection

    @property
    def num_states(self) -> int:
        """States of the minimal complete DFA (including the dead state, if any)."""
        return self._dfa.n

    @property
    def dfa(self) -> DFA:
        return self._dfa

    @property
    def atoms(self) -> list[CharSet]:
        """The alphabet partition: characters in one atom are interchangeable."""
        return self._dfa.part.atoms

    def key(self) -> tuple[object, ...]:
        if self._key is None:
            self._key = self._dfa.key()
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lang) and (self is other or self.key() == other.key())

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.key())
        return self._hash

    def __le__(self, other: Lang) -> bool:
        return self.subset_of(other)[0]

    def __repr__(self) -> str:
        w = self.witness()
        return f"<Lang: {self.num_states} states, {len(self.atoms)} atoms, shortest={w!r}>"
