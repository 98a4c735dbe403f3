"""LangSet: membership of many languages at once, and their pairwise overlaps with shortest witnesses.

Differential: every answer is compared with the same question asked of each language on its own
(``Lang.contains``, ``Lang.disjoint``, the length of ``Lang.intersect(...).witness()``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddl.regular import (
    AutomatonTooLarge,
    Lang,
    LangSet,
    Limits,
    Overlap,
    Regex,
    SearchTooLarge,
    ignore_case,
    multi,
    overlaps,
    parse,
)
from ddl.regular.ast import Concat, Empty
from ddl.regular.multi import leading_text
from ddl.regular.strategies import members, regexes

small = regexes(alphabet="ab", extra=" é", max_leaves=6, boolean=True, empty=True)
texts = st.text(alphabet="ab é", max_size=6)


def keyed(nodes: list[Regex]) -> dict[str, Regex]:
    return {f"L{i}": n for i, n in enumerate(nodes)}


# The overlap search takes a small set's pairs from the start; a larger one's through the combined
# phase first.  The laws below hold either way: each runs both ways on the same small sets.
BOTH_WAYS = pytest.mark.parametrize("small_set", [multi._SMALL_SET, 0], ids=["pairs", "combined"])


@contextmanager
def searching(small_set: int) -> Iterator[None]:
    saved = multi._SMALL_SET
    multi._SMALL_SET = small_set
    try:
        yield
    finally:
        multi._SMALL_SET = saved


@given(st.lists(small, min_size=1, max_size=8), st.lists(texts, max_size=20))
def test_membership_agrees_with_each_language_alone(nodes: list[Regex], words: list[str]) -> None:
    langs = keyed(nodes)
    s = LangSet(langs)
    alone = {k: Lang.from_regex(n) for k, n in langs.items()}
    for w in words:
        assert s.matching(w) == tuple(k for k in langs if alone[k].contains(w)), w


@given(st.data(), st.lists(small, min_size=1, max_size=6))
def test_members_of_each_language_are_found(data: st.DataObject, nodes: list[Regex]) -> None:
    langs = keyed(nodes)
    s = LangSet(langs, cache_limit=5)  # flushes the lazy DFA's cache often: same answers
    for k, n in langs.items():
        lang = Lang.from_regex(n)
        if not lang.lengths(12):
            continue
        w = data.draw(members(lang, max_len=12))
        assert k in s.matching(w)


@BOTH_WAYS
@given(st.lists(small, min_size=2, max_size=7), st.lists(st.one_of(st.none(), small), min_size=7, max_size=7))
def test_overlaps_are_exactly_the_intersecting_pairs_with_shortest_witnesses(
        small_set: int, nodes: list[Regex], minus_nodes: list[Regex | None]) -> None:
    """Over more than four languages (the combined phase) and pairs (the product of two lazily
    built DFAs), with subtracted languages."""
    langs = keyed(nodes)
    minus = {k: Lang.from_regex(m) for k, m in zip(langs, minus_nodes) if m is not None}
    alone = {k: Lang.from_regex(n).difference(minus[k]) if k in minus else Lang.from_regex(n) for k, n in langs.items()}
    with searching(small_set):
        found = LangSet(langs, minus=minus).overlaps()
    keys = list(langs)
    expected = {(a, b) for i, a in enumerate(keys) for b in keys[i + 1:] if not alone[a].disjoint(alone[b])[0]}
    assert {(o.first, o.second) for o in found} == expected
    for o in found:
        assert alone[o.first].contains(o.witness) and alone[o.second].contains(o.witness)
        shortest = alone[o.first].intersect(alone[o.second]).witness()
        assert shortest is not None and len(o.witness) == len(shortest), (o, shortest)
    assert [len(o.witness) for o in found] == sorted(len(o.witness) for o in found)


@BOTH_WAYS
@settings(max_examples=30)
@given(st.lists(small, min_size=2, max_size=7), st.data())
def test_involving_keeps_only_the_pairs_with_those_ids(small_set: int, nodes: list[Regex], data: st.DataObject) -> None:
    langs = keyed(nodes)
    focus = data.draw(st.sets(st.sampled_from(list(langs)), max_size=2))
    with searching(small_set):
        every = LangSet(langs).overlaps()
        wanted = [(o.first, o.second) for o in every if o.first in focus or o.second in focus]
        assert [(o.first, o.second) for o in LangSet(langs).overlaps(focus)] == wanted


def test_a_small_example() -> None:
    s = LangSet({"add": parse("add [0-9]+"), "seven": parse("add 7|add 70"), "hi": parse("hi|hello")})
    assert len(s) == 3 and s.keys == ("add", "seven", "hi")
    assert s.matching("add 70") == ("add", "seven")
    assert s.matching("add 8") == ("add",)
    assert s.matching("hello") == ("hi",)
    assert s.matching("add") == ()
    assert s.overlaps() == [Overlap("add", "seven", "add 7")]
    assert overlaps({"x": parse("a+"), "y": Lang.parse("b|aaa")}) == [Overlap("x", "y", "aaa")]


def test_the_ids_can_be_any_hashable_and_a_lang_stands_for_itself() -> None:
    one, two = object(), object()
    s = LangSet({one: Lang.parse("[0-9]{2}"), two: parse("1[0-9]*")})
    assert s.matching("12") == (one, two)
    assert s.overlaps() == [Overlap(one, two, "10")]


def test_a_minus_language_is_built_only_when_needed_and_removes_its_strings() -> None:
    built: list[str] = []

    def except_small() -> Lang:
        built.append("small")
        return Lang.parse("add [5-9][0-9]")

    s = LangSet({"small": parse("add [0-9]{1,2}"), "big": parse("add [5-9][0-9]")}, minus={"small": except_small})
    assert s.matching("nothing") == () and built == []
    assert s.matching("add 7") == ("small",) and built == ["small"]
    assert s.matching("add 55") == ("big",)
    assert s.overlaps() == []  # the subtraction makes them disjoint
    assert built == ["small"]  # and the language was built once


def test_settle_decides_once_few_languages_are_alive() -> None:
    s = LangSet({"weather": parse("weather in [a-z]+"), "wake": parse("wake me at [0-9]+"), "hi": parse("hi")},
                few=1)
    calls: list[tuple[tuple[str, ...], str]] = []

    def settle(alive: tuple[str, ...], text: str) -> tuple[tuple[str, ...], str] | None:
        calls.append((alive, text))
        return (alive, "settled") if text.endswith("paris") else None

    assert s.scan("weather in paris", settle) == (("weather",), "settled")
    assert s.scan("weather in rome", settle) == (("weather",), None)  # settle declined: the walk decides
    assert s.scan("wax", settle) == ((), None)  # after "wa" only "wake" is alive
    assert s.scan("hi", settle) == (("hi",), None)  # after "h"
    assert calls == [(("weather",), "weather in paris"), (("weather",), "weather in rome"), (("wake",), "wax"),
                     (("hi",), "hi")]


def test_the_overlap_search_budget_raises_the_engines_limit_error_naming_what_grew() -> None:
    # Two languages that share only long strings: the product search must go deep.
    langs = {"left": parse("(a|b)*a(a|b){6}c"), "right": parse("(a|b)*b(a|b){5}c")}
    with pytest.raises(SearchTooLarge) as info:
        LangSet(langs).overlaps(max_states=20)
    err = info.value
    assert isinstance(err, AutomatonTooLarge)
    assert err.construction == "overlap search" and err.limit == 20 and err.what == "states"
    assert err.keys == ("left", "right") and err.found == []  # each one's own search passes the budget
    assert "overlap search" in str(err) and "left" in err.summary and "right" in err.summary
    # The default budget is the Limits' max_dfa_states.
    with pytest.raises(SearchTooLarge):
        LangSet(langs, limits=Limits(max_dfa_states=20)).overlaps()
    assert LangSet(langs).overlaps() == [Overlap("left", "right", "abaaaaac")]


def _outcome(langs: dict[str, Regex], budget: int) -> tuple[dict[frozenset[str], int], set[str]]:
    """The overlapping pairs (with their witness lengths) and the ids past the budget."""
    try:
        found, over = LangSet(langs).overlaps(max_states=budget), ()
    except SearchTooLarge as err:
        assert all(isinstance(o, Overlap) for o in err.found)
        found, over = err.found, err.keys
    return {frozenset((o.first, o.second)): len(o.witness) for o in found}, set(over)


@BOTH_WAYS
@settings(max_examples=60)
@given(st.lists(small, min_size=2, max_size=7), st.integers(1, 40), st.randoms(use_true_random=False))
def test_past_the_budget_each_language_is_searched_alone_and_the_order_does_not_matter(
        small_set: int, nodes: list[Regex], budget: int, rnd: Any) -> None:
    """A language whose own pairs pass the budget is named; every pair with another language is still
    answered, exactly as the unlimited search answers it, whatever the order of the languages."""
    langs = keyed(nodes)
    keys = list(langs)
    rnd.shuffle(keys)
    with searching(small_set):
        full, none_over = _outcome(langs, 10**9)
        assert not none_over
        found, over = _outcome(langs, budget)
        assert found == {pair: n for pair, n in full.items() if not pair <= over}
        assert _outcome({k: langs[k] for k in keys}, budget) == (found, over)


def test_a_costly_pair_takes_out_only_its_own_languages() -> None:
    langs = {"left": parse("(a|b)*a(a|b){6}c"), "right": parse("(a|b)*b(a|b){5}c"),
             "add": parse("add [0-9]+"), "seven": parse("add 7|add 70"), "hi": parse("hi")}
    with pytest.raises(SearchTooLarge) as info:
        LangSet(langs).overlaps(max_states=20)
    assert info.value.keys == ("left", "right")
    assert info.value.found == [Overlap("add", "seven", "add 7")]
    assert "for each of left, right" in info.value.summary
    with pytest.raises(SearchTooLarge) as focused:  # with involving: only those ids are searched alone
        LangSet(langs).overlaps(["left", "seven"], max_states=20)
    assert focused.value.keys == ("left",) and focused.value.found == [Overlap("add", "seven", "add 7")]


def test_nfa_limits_are_honoured() -> None:
    with pytest.raises(AutomatonTooLarge):
        LangSet({"big": parse("[a-z]{1000}")}, limits=Limits(max_nfa_states=100))


def test_an_empty_set_answers_nothing() -> None:
    s: LangSet[str] = LangSet({})
    assert s.matching("anything") == () and s.overlaps() == []


# Languages that share leading parts (the shape of intent grammars: one verb and capture, many endings),
# some of them dead (∅) after a shared prefix, some equal, some a prefix of another.
_parts = st.sampled_from([parse("ab"), parse("a|b"), parse("[ab]*"), parse("é"), parse("a{0,2}"), parse(" "), Empty()])


@st.composite
def _shared_shapes(draw: st.DrawFn) -> list[Regex]:
    heads = draw(st.lists(st.lists(_parts, min_size=0, max_size=3), min_size=1, max_size=3))
    out: list[Regex] = []
    for _ in range(draw(st.integers(1, 8))):
        head = draw(st.sampled_from(heads))
        tail = draw(st.lists(st.one_of(_parts, small), max_size=2))
        out.append(Concat(tuple(head + tail)) if head or tail else draw(small))
    return out


@settings(max_examples=150, deadline=None)
@given(_shared_shapes(), st.lists(texts, max_size=25))
def test_shared_prefixes_answer_exactly_as_separate_nfas(nodes: list[Regex], words: list[str]) -> None:
    """The NFA with common leading items compiled once (the default) gives the separate NFAs' answers:
    the same members, the same languages alive when the walk hands over to ``settle``, the same
    overlaps and witnesses."""
    langs = keyed(nodes)
    shared, separate = LangSet(langs), LangSet(langs, share_prefixes=False)
    assert len(shared._kind) <= len(separate._kind) + len(langs) + 1  # one junction per branching, at most

    def handed(s: LangSet[str], w: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        seen: list[tuple[str, ...]] = []
        s.scan(w, lambda alive, text: seen.append(alive))  # type: ignore[func-returns-value]
        return s.matching(w), tuple(seen[0]) if seen else ()

    for w in words:
        assert handed(shared, w) == handed(separate, w), w
    assert shared.overlaps() == separate.overlaps()


def test_shared_prefixes_keep_a_dead_ending_out_of_the_alive_languages() -> None:
    dead = Concat((parse("add "), parse("[0-9]"), Empty()))
    langs = {"dead": dead, "live": Concat((parse("add "), parse("[0-9]"), parse("x"))),
             "other": parse("hi")}
    for s in (LangSet(langs, few=1), LangSet(langs, few=1, share_prefixes=False)):
        seen: list[tuple[str, ...]] = []
        s.scan("add 7x", lambda alive, text, seen=seen: seen.append(alive))  # type: ignore[misc]
        assert seen == [("live",)]  # 'dead' is never alive: nothing it reads can reach its end
        assert s.matching("add 7x") == ("live",)


def test_the_nfa_limit_applies_to_each_language_even_when_they_share_states() -> None:
    # Each alone has 1 + 80 + 40 states (over the limit); together, shared, 162 (under twice the limit).
    langs = {"one": parse("[a-z]{80}x{40}"), "two": parse("[a-z]{80}y{40}")}
    for share in (True, False):
        with pytest.raises(AutomatonTooLarge):
            LangSet(langs, limits=Limits(max_nfa_states=100), share_prefixes=share)
        assert LangSet(langs, limits=Limits(max_nfa_states=121), share_prefixes=share).matching("a" * 80 + "x" * 40) == ("one",)


def test_warming_builds_the_states_a_string_leads_through_and_changes_no_answer() -> None:
    langs = {"cold": parse("turn on the (?:lamp|light)"), "warm": parse("turn off the [a-z]+"),
             "other": parse("tune [0-9]+")}
    s = LangSet(langs, few=1)
    cold = LangSet(langs, few=1)
    before = len(s._sets)
    s.warm(leading_text(langs["warm"]))
    assert leading_text(langs["warm"]) == "turn off the a"  # a loop: its required copy, then it stops
    assert len(s._sets) > before
    built = len(s._sets)
    for text in ["turn off the tv", "Turn on the lamp", "tune 7", "turn", ""]:
        assert s.matching(text) == cold.matching(text), text
    s.warm("turn off the ")  # already built: nothing new
    assert len(s._sets) >= built


# Letters whose atoms mix ASCII and other characters: "k" with the Kelvin sign under ignore_case, a negated
# class (every character but a few, ASCII or not), and "é"/"日", whose atoms hold no ASCII character.
_mixed = regexes(alphabet="abk", extra=" é日\u212a", max_leaves=6, boolean=True, empty=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_mixed, _mixed.map(ignore_case)), min_size=1, max_size=6),
       st.lists(st.text(alphabet="abkK é日\u212a", max_size=8), max_size=25), st.integers(1, 4), st.integers(0, 40))
def test_the_flat_table_walk_answers_as_the_character_walk_and_each_language_alone(
        nodes: list[Regex], words: list[str], few: int, cache_limit: int) -> None:
    """An ASCII text is walked through the flat table of byte classes, any other character by character
    (atoms with no ASCII character in a dict): the same members, and each hands ``settle`` the whole text at
    most once, with every language that accepts it, with the cache flushed every few moves (cache_limit) in the
    middle of either walk.  (Where a walk hands over depends on the moves built so far: it walks on over built
    ones while more than one language is alive.)"""
    langs = keyed(nodes)
    s = LangSet(langs, few=few, cache_limit=cache_limit)
    alone = {k: Lang.from_regex(n) for k, n in langs.items()}

    def walked(walk: Any, w: str) -> tuple[tuple[str, ...], list[tuple[tuple[str, ...], str]]]:
        seen: list[tuple[tuple[str, ...], str]] = []
        members, _ = walk(w, lambda alive, text: seen.append((alive, text)))
        return members, seen

    for w in words:
        want = tuple(k for k in langs if alone[k].contains(w))
        assert s.matching(w) == want, w
        for walk in (s.scan, s._scan_chars):
            members, seen = walked(walk, w)
            assert members == want, w
            assert len(seen) <= 1 and all(text == w and set(want) <= set(alive) for alive, text in seen), w


def test_a_text_that_ends_while_more_than_few_are_alive_is_handed_over_at_its_end() -> None:
    s = LangSet({"ab": parse("ab"), "abc": parse("abc"), "abd": parse("ab[cd]"), "x": parse("x")}, few=1)
    calls: list[tuple[tuple[str, ...], str]] = []

    def settle(alive: tuple[str, ...], text: str) -> tuple[tuple[str, ...], str] | None:
        calls.append((alive, text))
        return (alive, "settled")

    assert s.scan("ab", settle) == (("ab",), "settled")  # three alive all along; "ab" alone accepts it
    assert s.scan("abc", settle) == (("abc", "abd"), None)  # two accept: more than few, never handed over
    assert s.scan("a", settle) == ((), None)  # nothing accepts "a"
    assert s.scan("x", settle) == (("x",), "settled")  # handed over after "x", as before
    assert calls == [(("ab",), "ab"), (("x",), "x")]
