"""CharSet and alphabet partitions."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddl.regular import MAX_CODE_POINT, CharSet
from ddl.regular.partition import Partition

# Code points clustered near interesting places so ranges overlap often.
points = st.one_of(
    st.integers(0, 40),
    st.integers(0x60, 0x80),
    st.integers(0xD7F0, 0xE010),
    st.integers(MAX_CODE_POINT - 20, MAX_CODE_POINT),
    st.integers(0, MAX_CODE_POINT),
)
ranges = st.tuples(points, points).map(lambda t: (min(t), max(t)))
charsets = st.lists(ranges, max_size=5).map(CharSet.from_ranges)
probes = st.lists(points, min_size=1, max_size=20)


def members(cs: CharSet, xs: list[int]) -> set[int]:
    return {x for x in xs if x in cs}


@given(charsets, charsets, probes)
def test_boolean_operations_pointwise(a: CharSet, b: CharSet, xs: list[int]) -> None:
    for x in xs + [0, MAX_CODE_POINT]:
        ia, ib = x in a, x in b
        assert (x in a | b) == (ia or ib)
        assert (x in a & b) == (ia and ib)
        assert (x in a - b) == (ia and not ib)
        assert (x in a ^ b) == (ia != ib)
        assert (x in ~a) == (not ia)


@given(charsets, charsets)
def test_laws_and_normal_form(a: CharSet, b: CharSet) -> None:
    assert ~~a == a
    assert ~(a | b) == ~a & ~b
    assert (a | ~a).is_any()
    assert (a & ~a).is_empty()
    assert a.size() + (~a).size() == MAX_CODE_POINT + 1
    assert (a | b).size() == a.size() + b.size() - (a & b).size()
    assert a.issubset(a | b) and (a & b).issubset(a)
    assert a.isdisjoint(b) == (a & b).is_empty()
    bounds = a.boundaries
    assert list(bounds) == sorted(set(bounds)) and len(bounds) % 2 == 0
    assert CharSet.from_ranges(a.ranges()) == a
    assert hash(CharSet.from_ranges(a.ranges())) == hash(a)
    assert pickle.loads(pickle.dumps(a)) == a


@given(charsets)
def test_pick_enumerates_in_preference_order(a: CharSet) -> None:
    n = a.size()
    if n == 0:
        with pytest.raises(ValueError):
            a.min()
        return
    picked = [a.pick(i) for i in range(min(n, 50))]
    assert len(set(picked)) == len(picked)
    assert all(c in a for c in picked)
    assert a.pick(n - 1) in a
    with pytest.raises(IndexError):
        a.pick(n)
    visible = a & CharSet.range("!", "~")
    if visible:
        assert a.representative() == chr(visible.min())


def test_constructors_and_display() -> None:
    abc = CharSet.from_chars("cab")
    assert abc == CharSet.range("a", "c")
    assert abc.ranges() == ((97, 99),)
    assert "日" in ~abc and "b" not in ~abc
    assert len(~abc) == MAX_CODE_POINT + 1 - 3
    assert CharSet.any().is_any() and CharSet.empty().is_empty()
    assert repr(CharSet.from_chars("a-")) == "CharSet('[\\\\-a]')"
    assert (~abc).to_class() == "[^a-c]"
    assert CharSet.char("\n").to_class() == "\\x0a"
    with pytest.raises(ValueError):
        CharSet.char("ab")
    with pytest.raises(ValueError):
        CharSet.range("b", "a")
    with pytest.raises(ValueError):
        CharSet.from_boundaries([3, 1])
    with pytest.raises(AttributeError):
        abc._b = ()  # type: ignore[misc]


@given(st.lists(charsets, min_size=1, max_size=5), probes)
def test_partition_refines_every_set(sets: list[CharSet], xs: list[int]) -> None:
    part, covers = Partition.from_sets(sets)
    atoms = part.atoms
    assert CharSet.empty().union(*atoms).is_any()
    assert sum(a.size() for a in atoms) == MAX_CODE_POINT + 1
    assert part.sizes == [a.size() for a in atoms]
    for cs, cover in zip(sets, covers):
        assert part.charset_of(cover) == cs
    for x in xs:
        a = part.atom_of(x)
        assert x in atoms[a]
        # characters in the same atom are in exactly the same input sets
        assert [x in cs for cs in sets] == [atoms[a].min() in cs for cs in sets]
    # coarsest: distinct atoms differ on some input set
    sigs = {tuple(atoms[a].min() in cs for cs in sets) for a in range(part.n_atoms)}
    assert len(sigs) == part.n_atoms
    # atoms are numbered by smallest code point
    assert [atoms[a].min() for a in range(part.n_atoms)] == sorted(atoms[a].min() for a in range(part.n_atoms))


@given(st.lists(charsets, min_size=1, max_size=3), st.lists(charsets, min_size=1, max_size=3), probes)
def test_partition_join(s1: list[CharSet], s2: list[CharSet], xs: list[int]) -> None:
    p1, _ = Partition.from_sets(s1)
    p2, _ = Partition.from_sets(s2)
    joint, left, right = p1.join(p2)
    for x in xs:
        j = joint.atom_of(x)
        assert left[j] == p1.atom_of(x) and right[j] == p2.atom_of(x)
    assert sum(joint.sizes) == MAX_CODE_POINT + 1
