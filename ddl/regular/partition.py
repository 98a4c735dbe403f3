"""Alphabet partitions: all of Unicode split into a few *atoms*.

Automata never have one edge per code point.  Instead every automaton carries
a :class:`Partition` of ``[0, 0x10FFFF]`` into atoms such that each character
set it uses is a union of atoms; transitions are indexed by atom number.  Two
characters in the same atom behave identically everywhere in the automaton.

Representation: the *elementary intervals* between consecutive boundary points
(``starts``, with ``starts[0] == 0``) and, for each, its atom id (``ids``).  An
atom may be non-contiguous (e.g. "everything except a-z" is two intervals).
Atom ids are numbered by their smallest code point, so a partition is
canonical given its set of atoms.

* :meth:`Partition.from_sets` computes the coarsest partition refining a list of
  sets with one sweep over their boundaries (signature = bitmask of containing
  sets; equal signatures share an atom) — O(B log B) for B boundaries.
* :meth:`Partition.join` computes the common refinement of two partitions with a
  two-pointer merge (used by products of automata).
* :meth:`Partition.coarsen` merges atoms (after minimization, atoms whose
  columns are identical in the transition table are merged).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from operator import itemgetter

from ddl.regular.charset import MAX_CODE_POINT, CharSet

_END = MAX_CODE_POINT + 1


def iter_bits(mask: int) -> list[int]:
    """Indices of the set bits of ``mask``, ascending."""
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


class Partition:
    """A partition of all code points into atoms (see the module docstring)."""

    __slots__ = ("starts", "ids", "n_atoms", "_atoms", "_ascii_table", "_pref", "_reps", "_sizes")

    def __init__(self, starts: list[int], ids: list[int], n_atoms: int) -> None:
        self.starts = starts
        self.ids = ids
        self.n_atoms = n_atoms
        self._atoms: list[CharSet] | None = None
        self._pref: list[int] | None = None
        self._sizes: list[int] | None = None
        self._reps: list[str] | None = None
        self._ascii_table: list[int] | None = None

    @property
    def _ascii(self) -> list[int]:
        # Fast path for the common case: atom of code points below 256 by table lookup.
        if self._ascii_table is None:
            asc: list[int] = []
            starts, ids = self.starts, self.ids
            for j, lo in enumerate(starts):
                if lo >= 256:
                    break
                hi = starts[j + 1] if j + 1 < len(starts) else 256
                asc.extend([ids[j]] * (min(hi, 256) - lo))
            self._ascii_table = asc
        return self._ascii_table

    # ------------------------------------------------------------ construction

    @classmethod
    def trivial(cls) -> Partition:
        """One atom: every code point."""
        return cls([0], [0], 1)

    @classmethod
    def from_sets(cls, sets: Sequence[CharSet]) -> tuple[Partition, list[list[int]]]:
        """The coarsest partition in which each of ``sets`` is a union of atoms.

        Returns the partition and, for each input set, the ascending list of atom
        ids it consists of.
        """
        toggles: dict[int, int] = {}
        for k, cs in enumerate(sets):
            bit = 1 << k
            for b in cs.boundaries:
                if b < _END:
                    toggles[b] = toggles.get(b, 0) ^ bit
        points = sorted(p for p, t in toggles.items() if t)
        starts = [0]
        masks = [0]
        mask = 0
        for p in points:
            mask ^= toggles[p]
            if p == 0:
                masks[0] = mask
            else:
                starts.append(p)
                masks.append(mask)
        atom_of_mask: dict[int, int] = {}
        ids = []
        for m in masks:
            a = atom_of_mask.get(m)
            if a is None:
                a = atom_of_mask[m] = len(atom_of_mask)
            ids.append(a)
        covers: list[list[int]] = [[] for _ in sets]
        for m, a in atom_of_mask.items():
            for k in iter_bits(m):
                covers[k].append(a)
        for c in covers:
            c.sort()
        return cls(starts, ids, len(atom_of_mask)), covers

    def join(self, other: Partition) -> tuple[Partition, list[int], list[int]]:
        """Common refinement: (partition, new atom → self atom, new atom → other atom)."""
        s1, i1, s2, i2 = self.starts, self.ids, other.starts, other.ids
        n1, n2 = len(s1), len(s2)
        k2 = other.n_atoms
        a = b = 0
        ids: list[int] = []
        pair_id: dict[int, int] = {}
        left: list[int] = []
        right: list[int] = []
        starts = sorted(set(s1).union(s2))
        for pos in starts:
            while a + 1 < n1 and s1[a + 1] <= pos:
                a += 1
            while b + 1 < n2 and s2[b + 1] <= pos:
                b += 1
            x, y = i1[a], i2[b]
            key = x * k2 + y
            nid = pair_id.get(key)
            if nid is None:
                nid = pair_id[key] = len(left)
                left.append(x)
                right.append(y)
            ids.append(nid)
        return Partition(starts, ids, len(left)), left, right

    def overlaps(self, other: Partition) -> list[tuple[int, int, str]]:
        """The pairs (self atom, other atom) that share a code point, in preference order.

        Each pair comes with its representative character (as in :attr:`reps`).
        This is the atom list of :meth:`join` without building the partition —
        all a breadth-first search over a product needs.
        """
        b1, b2 = self.starts + [_END], other.starts + [_END]  # sentinels: interval ends
        i1, i2 = self.ids, other.ids
        k2 = other.n_atoms
        a = b = lo = 0
        hi1, hi2 = b1[1], b2[1]
        best: dict[int, int] = {}
        while True:
            hi = hi1 if hi1 < hi2 else hi2
            # preference key of [lo, hi): class << 21 | code point (see _compute_pref)
            if lo < 0x7F and hi > 0x21:
                cand = lo if lo > 0x21 else 0x21
            elif lo <= 0x20 < hi:
                cand = 1 << 21 | 0x20
            else:
                cand = 2 << 21 | lo
            key = i1[a] * k2 + i2[b]
            old = best.get(key)
            if old is None or cand < old:
                best[key] = cand
            if hi == _END:
                break
            lo = hi
            if hi1 == hi:
                a += 1
                hi1 = b1[a + 1]
            if hi2 == hi:
                b += 1
                hi2 = b2[b + 1]
        return [(k // k2, k % k2, chr(v & 0x1FFFFF)) for k, v in sorted(best.items(), key=itemgetter(1))]

    def coarsen(self, group: Sequence[int]) -> tuple[Partition, list[int]]:
        """Merge atoms: ``group[a]`` labels atom ``a``; equal labels merge.

        Returns the new partition (atoms renumbered by smallest code point) and
        the map old atom → new atom.
        """
        starts: list[int] = []
        ids: list[int] = []
        renum: dict[int, int] = {}
        for st, a in zip(self.starts, self.ids):
            g = group[a]
            nid = renum.get(g)
            if nid is None:
                nid = renum[g] = len(renum)
            if ids and ids[-1] == nid:
                continue  # adjacent intervals merged into the same atom
            starts.append(st)
            ids.append(nid)
        return Partition(starts, ids, len(renum)), [renum[group[a]] for a in range(self.n_atoms)]

    # ------------------------------------------------------------ queries

    def atom_of(self, cp: int) -> int:
        if cp < 256:
            return self._ascii[cp]
        return self.ids[bisect_right(self.starts, cp) - 1]

    def atoms_of_text(self, text: str) -> list[int]:
        asc, starts, ids = self._ascii, self.starts, self.ids
        return [asc[cp] if cp < 256 else ids[bisect_right(starts, cp) - 1] for cp in map(ord, text)]

    @property
    def atoms(self) -> list[CharSet]:
        """Each atom as a CharSet (computed once)."""
        if self._atoms is None:
            bounds: list[list[int]] = [[] for _ in range(self.n_atoms)]
            starts = self.starts
            for j, a in enumerate(self.ids):
                lo = starts[j]
                hi = starts[j + 1] if j + 1 < len(starts) else _END
                bl = bounds[a]
                if bl and bl[-1] == lo:
                    bl[-1] = hi
                else:
                    bl.append(lo)
                    bl.append(hi)
            self._atoms = [CharSet(tuple(b)) for b in bounds]
        return self._atoms

    @property
    def sizes(self) -> list[int]:
        """Number of code points in each atom."""
        if self._sizes is None:
            sz = [0] * self.n_atoms
            starts = self.starts
            for j, a in enumerate(self.ids):
                hi = starts[j + 1] if j + 1 < len(starts) else _END
                sz[a] += hi - starts[j]
            self._sizes = sz
        return self._sizes

    def _compute_pref(self) -> None:
        # key = class << 21 | code point; class 0 visible ASCII, 1 space, 2 other.
        n = self.n_atoms
        key = [3 << 21] * n
        starts, ids = self.starts, self.ids
        last = len(starts) - 1
        for j, lo in enumerate(starts):
            hi = starts[j + 1] if j < last else _END
            if lo < 0x7F and hi > 0x21:
                cand = lo if lo > 0x21 else 0x21
            elif lo <= 0x20 < hi:
                cand = 1 << 21 | 0x20
            else:
                cand = 2 << 21 | lo
            a = ids[j]
            if cand < key[a]:
                key[a] = cand
        self._pref = sorted(range(n), key=key.__getitem__)
        self._reps = [chr(k & 0x1FFFFF) for k in key]

    @property
    def pref_order(self) -> list[int]:
        """Atom ids sorted so that atoms with nicer representatives come first.

        The key is :meth:`CharSet.pref_key` (visible ASCII, then space, then the
        smallest code point), computed straight from the intervals.  Breadth-first
        searches expand atoms in this order, which makes the shortest witness
        deterministic and readable.
        """
        if self._pref is None:
            self._compute_pref()
        assert self._pref is not None
        return self._pref

    @property
    def reps(self) -> list[str]:
        """Each atom's representative character (``CharSet.representative``)."""
        if self._reps is None:
            self._compute_pref()
        assert self._reps is not None
        return self._reps

    def charset_of(self, atom_ids: Sequence[int]) -> CharSet:
        """The union of some atoms, in one pass over the intervals (not a union per atom)."""
        if len(atom_ids) == 1:
            return self.atoms[atom_ids[0]]
        wanted = set(atom_ids)
        starts = self.starts
        bounds: list[int] = []
        for j, a in enumerate(self.ids):
            if a not in wanted:
                continue
            lo = starts[j]
            hi = starts[j + 1] if j + 1 < len(starts) else _END
            if bounds and bounds[-1] == lo:
                bounds[-1] = hi
            else:
                bounds.append(lo)
                bounds.append(hi)
        return CharSet(tuple(bounds))

    def __repr__(self) -> str:
        return f"Partition({self.atoms!r})"
