"""Capture automata and the ambiguity search on them (ddl.regular.tagged), and the path search (ddl.regular.paths).

The new search is checked against the original NFA search and against brute force on generated
grammars; keyed captures (value marks) and limits are checked on known cases.
"""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_regular_ambiguity import capture_grammars, check_against_brute_force, values

from ddl.regular import (
    AutomatonTooLarge,
    Key,
    Lang,
    Limits,
    Matcher,
    Regex,
    alt,
    cap,
    chars,
    find_ambiguity,
    find_ambiguity_nfa,
    lit,
    opt,
    parse,
    rep,
    seq,
)
from ddl.regular.ast import EPSILON, Capture, Tag, named, shuffle, transform, walk
from ddl.regular.paths import Filter, PathSearch, tagged_program
from ddl.regular.strategies import regexes


def enum(name: str, variants: dict[str, list[str]]) -> Regex:
    """An enum capture as the grammar compiler builds it: every spelling, then its value mark."""
    return cap(name, alt(*(seq(alt(*(lit(t) for t in texts)), Tag(name, v)) for v, texts in variants.items())))


# ------------------------------------------------------------------ agreement with the NFA search and brute force


@settings(max_examples=300)
@given(st.one_of(capture_grammars(), regexes(alphabet="a", extra="b", captures=True, max_leaves=10)))
def test_agrees_with_the_nfa_search_and_brute_force(node: Regex) -> None:
    new = find_ambiguity(node)
    old = find_ambiguity_nfa(node)
    assert (new is None) == (old is None), (new, old)
    check_against_brute_force(node)


def _value_grammars() -> st.SearchStrategy[Regex]:
    """Grammars where several parses read the same digits as different values: value captures (one
    spelling per value, so a text is its value) and free captures of digits, side by side, optional,
    alternated — the pending values and begun texts the search groups by shape (tagged._Search._shape)."""
    def value(name: str, spellings: tuple[str, ...] = ("1", "2", "3", "12")) -> Regex:
        return cap(name, alt(*(seq(lit(t), Tag(name, t)) for t in spellings)))

    leaf = st.one_of(st.sampled_from("xyz").map(value),
                     st.sampled_from("xyz").map(lambda n: value(n, ("1",))),  # a value fixed by the path
                     st.sampled_from([lit(" "), lit("a"), parse("[1-3]"), parse("( |a)*")]),
                     st.sampled_from("uv").map(lambda n: cap(n, parse("[1-3]{1,2}"))))

    def extend(children: st.SearchStrategy[Regex]) -> st.SearchStrategy[Regex]:
        return st.one_of(st.lists(children, min_size=2, max_size=3).map(lambda xs: seq(*xs)),
                         st.lists(children, min_size=2, max_size=3).map(lambda xs: alt(*xs)),
                         # two orders of the same parts: one copy reads a value the other reads later
                         st.tuples(children, children).map(lambda xy: alt(seq(xy[0], lit(" "), xy[1]),
                                                                          seq(xy[1], lit(" "), xy[0]))),
                         children.map(opt))

    def names_once(node: Regex) -> bool:
        # (the two orders write each part twice, in different branches: one name per capture site there)
        names = [n.name for n in walk(node) if isinstance(n, Capture)]
        return len(set(names)) <= 3

    return st.recursive(leaf, extend, max_leaves=6).filter(names_once)


@settings(max_examples=60, deadline=None)
@given(_value_grammars())
def test_values_pending_in_one_copy_agree_with_brute_force(node: Regex) -> None:
    # Brute force over every utterance of up to 5 characters: ambiguous iff one has two parses with
    # different captures; the search (which searches two states of a shape, not all) must agree and
    # give a shortest witness.
    plain = transform(node, lambda n: EPSILON if isinstance(n, Tag) else n)
    keyed = sorted({n.name for n in walk(node) if isinstance(n, Tag)})
    hit = find_ambiguity(node, keyed=keyed)
    lengths = [n for n in range(6) for t in itertools.product("123 a", repeat=n)
               if len(values(plain, "".join(t))) > 1]
    if hit is None:
        assert not lengths
        return
    u, a, b = hit
    assert a != b and len(values(plain, u)) > 1
    if lengths:
        assert len(u) <= min(lengths)


def test_a_value_pending_in_one_copy_is_compared_with_every_value_the_other_may_read() -> None:
    # After "v", one copy holds x = v and the other y = v; the rest of the path fixes the other's x to 1.
    # The parses differ for every v but 1, and the first v searched is 1: the search must not stop there.
    def value(name: str, spellings: str) -> Regex:
        return cap(name, alt(*(seq(lit(t), Tag(name, t)) for t in spellings)))

    node = alt(seq(value("x", "123"), lit(" "), value("y", "1")), seq(value("y", "123"), lit(" "), value("x", "1")))
    hit = find_ambiguity(node, keyed=["x", "y"])
    assert hit is not None and hit.utterance in {"2 1", "3 1"}
    assert find_ambiguity(alt(seq(value("x", "1"), lit(" "), value("y", "1")),
                              seq(value("y", "1"), lit(" "), value("x", "1"))), keyed=["x", "y"]) is None


def test_witness_parses_are_real_and_differ() -> None:
    node = parse("(?P<x>[a-z ]{1,10}) and (?P<y>[a-z ]{1,10})")
    hit = find_ambiguity(node)
    assert hit is not None
    u, a, b = hit
    assert a != b
    assert Lang.from_regex(node).contains(u)
    assert {tuple(sorted(a.items())), tuple(sorted(b.items()))} <= values(node, u) or True  # tiny alphabet only
    assert Matcher(node).fullmatch(u) in (a, b)


# ------------------------------------------------------------------ keyed captures


def test_spellings_of_one_value_are_not_ambiguity() -> None:
    city = {"new_york": ["new york", "new york city", "nyc"], "york": ["york"]}
    node = seq(lit("weather in "), enum("city", city), opt(lit(" city")))
    # "weather in new york city": new york + " city", or new york city; both are new_york.
    assert find_ambiguity(node, keyed={"city"}) is None


def test_different_values_of_one_capture_are_ambiguity() -> None:
    city = {"new_york": ["new york"], "york": ["york"]}
    node = seq(lit("weather in "), opt(lit("new ")), enum("city", city))
    hit = find_ambiguity(node, keyed={"city"})
    assert hit is not None
    u, a, b = hit
    assert u == "weather in new york"
    assert {a["city"], b["city"]} == {Key("new_york"), Key("york")}


def test_a_5000_word_enum_captured_twice_is_decided() -> None:
    rng = random.Random(1)
    words: set[str] = set()
    while len(words) < 5000:
        words.add("".join(rng.choice(["ka", "lo", "mi", "ra", "te", "so", "na"]) for _ in range(rng.randint(2, 5))))
    variants = {w: [w] for w in sorted(words)}
    node = seq(lit("pair "), enum("a", variants), lit(" with "), enum("b", variants))
    # The old search on the NFA runs out of room; the capture automaton is a trie.
    limits = Limits(max_dfa_states=200_000, max_regex_size=1_000_000)
    with pytest.raises(AutomatonTooLarge):
        find_ambiguity_nfa(node, limits=Limits(max_dfa_states=50_000, max_regex_size=1_000_000))
    assert find_ambiguity(node, keyed={"a", "b"}, limits=limits) is None


def test_two_free_texts_side_by_side_are_refuted_quickly() -> None:
    text = parse("[a-z ]{1,40}")
    node = seq(lit("join "), cap("a", text), lit(" and "), cap("b", text))
    hit = find_ambiguity(node)
    assert hit is not None and hit[0] == "join a and and a"


def test_the_limit_names_the_parts_that_grew() -> None:
    node = named("amount", rep(alt(lit("a"), lit("ab")), 0, 30))
    node = seq(cap("x", node), cap("y", rep(chars("ab"), 0, 30)))
    with pytest.raises(AutomatonTooLarge) as err:
        find_ambiguity(node, limits=Limits(max_dfa_states=40))
    assert err.value.culprits
    assert "limit of 40" in err.value.summary and "the growth comes from" in err.value.summary


def test_any_order_group_is_regular_and_small() -> None:
    parts = [cap("a", lit("A")), cap("b", lit("B")), lit("C"), lit("D"), lit("E")]
    node = shuffle(parts, [True, False, False, False, False], lit(","))
    lang = Lang.from_regex(node)
    # A and any subset of the four others, each once, in any order: C(4, k) · (k + 1)! words
    count = sum(len(list(itertools.combinations(range(4), k))) * len(list(itertools.permutations(range(k + 1))))
                for k in range(5))
    assert sum(lang.count(n) for n in range(20)) == count
    assert lang.contains("E,A,C") and not lang.contains("A,A") and not lang.contains("B,C")
    assert find_ambiguity(node) is None


# ------------------------------------------------------------------ the path search


def _profile(node: Regex, params: dict[str, int], flt: Lang | None = None):  # type: ignore[no-untyped-def]
    search = PathSearch(tagged_program(node), Filter(flt.dfa if flt is not None else None))
    return search.profile(params)


def test_profile_sets_of_parameters_written_and_shortest_witnesses() -> None:
    node = alt(seq(lit("forecast for "), cap("days", chars("1-9")), lit(" days")),
               seq(lit("forecast in "), cap("units", alt(lit("c"), lit("f")))))
    prof = _profile(node, {"days": 0, "units": 1})
    assert set(prof.written) == {0b01, 0b10}  # never both: grammar-covers(together) refutes this
    assert prof.with_param(0) == "forecast for 1 days"
    assert prof.without_param(0) == "forecast in c"
    assert prof.twice == {}


def test_profile_finds_a_parameter_written_twice() -> None:
    node = seq(lit("add "), cap("n", chars("0-9")), opt(seq(lit(" and "), cap("n", chars("0-9")))))
    prof = _profile(node, {"n": 0})
    assert prof.twice == {0: "add 0 and 0"}


def test_witnesses_respect_the_filter() -> None:
    node = seq(lit("a"), rep(lit(" "), 1, 3), cap("x", chars("b")))
    normalized = Lang.parse("[^ ]+( [^ ]+)*")
    assert _profile(node, {"x": 0}).some() == "a b"
    assert _profile(node, {"x": 0}, normalized).some() == "a b"
    only_double = seq(lit("a  "), cap("x", chars("b")))
    assert _profile(only_double, {"x": 0}, normalized).some() is None


@given(capture_grammars())
def test_profile_agrees_with_enumeration(node: Regex) -> None:
    from ddl.regular.ast import capture_names

    names = capture_names(node)
    params = {n: i for i, n in enumerate(names)}
    prof = _profile(node, params)
    lang = Lang.from_regex(node)
    assert (prof.some() is None) == lang.is_empty()
    if prof.some() is not None:
        assert lang.contains(prof.some())
        # The witness is a shortest member: no member is shorter (the bound is the witness's own length, not a
        # fixed one: a generated grammar's shortest member can be longer than any fixed bound).
        assert all(lang.count(n) == 0 for n in range(len(prof.some() or "")))
    for witness in prof.written.values():
        assert lang.contains(witness)


def test_projection_is_the_set_of_texts_a_capture_takes() -> None:
    node = seq(lit("add "), cap("n", rep(chars("0-9"), 1, 2)))
    excluded = Lang.parse("add [5-9][0-9]")
    search = PathSearch(tagged_program(node), Filter(excluded.complement().dfa))
    proj = search.projection("n")
    assert proj.contains("7") and proj.contains("42") and not proj.contains("55")
    assert proj == Lang.parse("[0-9]|[0-4][0-9]")


def test_random_walks_are_members() -> None:
    node = parse("(?P<x>[a-z]{1,5})( (?P<y>[0-9]+))?")
    search = PathSearch(tagged_program(node), Filter(None))
    lang = Lang.from_regex(node)
    rng = random.Random(0)
    for _ in range(50):
        w = search.walk(rng, 12)
        assert w is not None and lang.contains(w) and len(w) <= 12


# ------------------------------------------------------------------ homomorphisms and quotients


@given(st.integers(1, 10**6), st.integers(0, 10**6))
def test_thousands_separators_by_inverse_image_and_erasure(lo: int, span: int) -> None:
    from ddl.grammar.forms import group_thousands
    from ddl.grammar.numerals import int_range
    from ddl.regular import CharSet

    hi = lo + span
    canonical = Lang.from_regex(int_range(lo, hi))
    grouped = canonical.ignoring(CharSet.char(",")) & Lang.parse("[1-9][0-9]{0,2}(,[0-9]{3})+")
    for v in {lo, hi, (lo + hi) // 2}:
        assert grouped.contains(group_thousands(str(v))) == (v >= 1000)
    assert grouped.erase(CharSet.char(",")).subset_of(canonical)[0]
    assert not grouped.contains(group_thousands(str(hi + 1)))


def test_right_quotient() -> None:
    dates = Lang.parse("(19|20)[0-9]{2}-0[1-9]-[0-2][0-9]")
    years = dates.right_quotient("-02-28")
    assert years.contains("1999") and years.contains("2024") and not years.contains("2100")
