"""Hypothesis strategies: members, near-misses, generated regexes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddl.regular import Lang, Matcher, find_ambiguity, parse
from ddl.regular.ast import Regex
from ddl.regular.strategies import members, near_misses, regexes

INTENT = Lang.parse(
    "(recommend|suggest) [0-9]{1,2} (fantasy|mystery|romance|science fiction) books( from the [0-9]{4}s)?"
)
WORDS = Lang.parse("(show|give) me [a-z]+( [a-z]+){0,3}")


@given(members(INTENT, max_len=60))
def test_members_are_members(s: str) -> None:
    assert INTENT.contains(s)


@given(near_misses(INTENT, max_len=60))
def test_near_misses_are_outside(s: str) -> None:
    assert not INTENT.contains(s)


@given(near_misses(WORDS, max_len=40))
def test_near_misses_are_outside_words(s: str) -> None:
    assert not WORDS.contains(s)


@given(regexes(boolean=True, empty=True, max_leaves=6), st.data())
@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
def test_members_and_near_misses_of_generated_languages(node: Regex, data: st.DataObject) -> None:
    lang = Lang.from_regex(node)
    if lang.lengths(6):
        s = data.draw(members(lang, max_len=6))
        assert lang.contains(s) and len(s) <= 6
    else:
        with pytest.raises(ValueError):
            members(lang, max_len=6)
    if lang.complement().lengths(7):
        t = data.draw(near_misses(lang, max_len=6))
        assert not lang.contains(t)


def test_near_misses_are_mostly_one_edit_away() -> None:
    lang = Lang.parse("[a-z]{3}-[0-9]{2}")
    seen: list[str] = []

    @given(near_misses(lang, max_len=10))
    @settings(max_examples=60, database=None)
    def collect(s: str) -> None:
        seen.append(s)

    collect()
    assert all(not lang.contains(s) for s in seen)
    close = [s for s in seen if 5 <= len(s) <= 7]
    assert len(close) >= len(seen) // 2


def test_members_shrink_to_the_shortest_preferred_member() -> None:
    from hypothesis import find

    lang = Lang.parse("[a-z]{2,4}|[0-9]{3}")
    assert find(members(lang, max_len=10), lambda s: True) == "aa"
    assert find(members(lang, max_len=10), lambda s: s[0].isdigit()) == "000"


def test_no_near_misses_for_the_universe() -> None:
    with pytest.raises(ValueError, match="no near-misses"):
        near_misses(Lang.universe())


@given(regexes(captures=True, max_leaves=6))
def test_generated_regexes_are_usable(node: Regex) -> None:
    # every generated regex compiles for all consumers
    Matcher(node)
    find_ambiguity(node)
    Lang.from_regex(node)


def test_grammar_strategies_on_an_intent_grammar() -> None:
    m = Matcher(parse("(?P<verb>show|give) me (?P<what>[a-z]+( [a-z]+){0,3})"))

    @given(members(WORDS, max_len=40))
    @settings(max_examples=30, database=None)
    def check(s: str) -> None:
        caps = m.fullmatch(s)
        assert caps is not None and caps["verb"] in ("show", "give")
        assert s.endswith(caps["what"] or "\0")

    check()
