"""Matcher: differential tests against Python re and RE2, linear time, longest prefix."""

from __future__ import annotations

import re
import time
import warnings

import pytest
import re2  # google-re2
from hypothesis import given, settings
from hypothesis import strategies as st

from ddl.regular import (
    Lang,
    Limits,
    Matcher,
    RegexTooLarge,
    comp,
    inter,
    lit,
    parse,
    rep,
    seq,
    size,
    spliced_size,
    to_pattern,
)
from ddl.regular.ast import Regex
from ddl.regular.strategies import members, regexes

texts = st.text(alphabet=st.sampled_from("abcabcé日 "), max_size=8)

# Captures only where the references' semantics are well-defined.  Python re runs
# one extra empty iteration of a loop whose body can match "" (RE2 and this engine
# do not), so such loops are generated only for the RE2 comparison; RE2 in turn
# departs from leftmost-first order for *lazy* loops over nullable bodies
# (``(?:(?P<x>a*?))*?`` on "aa": re and this engine give x="a", RE2 "aa"), so
# those combine only with greedy quantifiers.
for_re = regexes(captures=True, lazy=True, nullable_loops=False, max_leaves=8)
for_re2 = st.one_of(
    regexes(captures=True, lazy=True, nullable_loops=False, max_leaves=8),
    regexes(captures=True, lazy=False, nullable_loops=True, max_leaves=8),
)


def candidates(data: st.DataObject, node: Regex) -> list[str]:
    out = [data.draw(texts) for _ in range(3)]
    lang = Lang.from_regex(node)
    if lang.lengths(8):
        out += [data.draw(members(lang, max_len=8)) for _ in range(3)]
    return out


def compile_re(pattern: str) -> re.Pattern[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(pattern)


@given(for_re, st.data())
def test_agrees_with_python_re(node: Regex, data: st.DataObject) -> None:
    pattern = to_pattern(node)
    py = compile_re(pattern)
    m = Matcher(node)
    lang = Lang.from_regex(node)
    for s in candidates(data, node):
        r = py.fullmatch(s)
        assert m.matches(s) == (r is not None) == lang.contains(s), (pattern, s)
        got = m.fullmatch(s)
        assert got == (r.groupdict() if r else None), (pattern, s)
        if r:
            assert m.fullmatch_spans(s) == {k: (r.span(k) if r.group(k) is not None else None) for k in m.names}


@given(for_re2, st.data())
def test_agrees_with_re2(node: Regex, data: st.DataObject) -> None:
    pattern = to_pattern(node)
    r2 = re2.compile(pattern)
    m = Matcher(node)
    for s in candidates(data, node):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in s):
            continue  # RE2 works on UTF-8, which cannot encode lone surrogates
        r = r2.fullmatch(s)
        assert m.matches(s) == (r is not None), (pattern, s)
        assert m.fullmatch(s) == (r.groupdict() if r else None), (pattern, s)


@given(regexes(boolean=True, max_leaves=6), texts)
def test_matcher_membership_with_boolean_nodes(node: Regex, s: str) -> None:
    assert Matcher(node).matches(s) == Lang.from_regex(node).contains(s)


@given(regexes(captures=True, max_leaves=8), texts)
def test_longest_prefix_agrees_with_lang(node: Regex, s: str) -> None:
    assert Matcher(node).longest_prefix(s) == Lang.from_regex(node).longest_prefix(s)


def test_examples() -> None:
    m = Matcher(
        parse(
            "(?P<verb>recommend|suggest) (?P<n>[0-9]{1,2}) (?P<genre>fantasy|mystery|romance|science fiction) "
            "books( from the (?P<decade>[0-9]{4})s)?"
        )
    )
    assert m.names == ("verb", "n", "genre", "decade")
    assert m.fullmatch("suggest 3 science fiction books from the 1950s") == {
        "verb": "suggest",
        "n": "3",
        "genre": "science fiction",
        "decade": "1950",
    }
    assert m.fullmatch("recommend 12 mystery books") == {
        "verb": "recommend",
        "n": "12",
        "genre": "mystery",
        "decade": None,
    }
    assert m.fullmatch("recommend 123 mystery books") is None
    assert m.longest_prefix("recommend 123 mystery books") == len("recommend 12")
    assert m.longest_prefix("recommend 12 myst") == len("recommend 12 myst")
    assert m.fullmatch_spans("suggest 3 fantasy books") == {
        "verb": (0, 7),
        "n": (8, 9),
        "genre": (10, 17),
        "decade": None,
    }


def test_same_name_in_alternatives() -> None:
    m = Matcher(parse("(?P<x>a+)b|c(?P<x>d+)", extended=False))
    assert m.fullmatch("aab") == {"x": "aa"}
    assert m.fullmatch("cdd") == {"x": "dd"}


def test_nullable_loop_semantics() -> None:
    # Where re and RE2 disagree, the engine follows the Pike VM (RE2) for greedy loops
    # and backtracking order (re) for lazy ones — both are leftmost-first without
    # re's extra empty iteration.
    assert Matcher(parse("(?:(?P<x>a*))*")).fullmatch("aa") == {"x": "aa"}  # RE2; re gives ""
    assert Matcher(parse("(?:(?P<x>a*?))*?")).fullmatch("aa") == {"x": "a"}  # re; RE2 gives "aa"
    assert Matcher(parse("(?P<x>a*)*")).fullmatch("") == {"x": ""}  # both


def test_priority_semantics() -> None:
    assert Matcher(parse("(?P<x>a|ab)(?P<y>b?)")).fullmatch("ab") == {"x": "a", "y": "b"}
    assert Matcher(parse("(?P<x>a*?)(?P<y>a*)")).fullmatch("aa") == {"x": "", "y": "aa"}
    assert Matcher(parse("(?P<x>a*)(?P<y>a*)")).fullmatch("aa") == {"x": "aa", "y": ""}
    assert Matcher(parse("(?:(?P<x>a)|b)*")).fullmatch("ab") == {"x": "a"}  # last assignment kept


def test_captures_inside_boolean_nodes_are_rejected() -> None:
    with pytest.raises(ValueError, match="captures"):
        Matcher(parse("~(?P<x>a)", extended=True))
    assert Matcher(parse("(?P<x>~a&b*)", extended=True)).fullmatch("bb") == {"x": "bb"}


def test_complement_matches_other_scripts() -> None:
    m = Matcher(parse("~(abc)", extended=True))
    assert m.matches("日本") and not m.matches("abc")


@pytest.mark.parametrize(
    "pattern, text, expected",
    [
        ("(a+)+$", "a" * 100_000, True),
        ("(a+)+$", "a" * 100_000 + "b", False),
        ("(a|a)*b", "a" * 100_000, False),
        ("(?P<x>(a|a)*)b", "a" * 100_000 + "b", True),
        ("(a|aa)*c", "a" * 100_000 + "c", True),
        ("(?P<x>(a|b)*)a(a|b){20}", "ab" * 50_000 + "a" * 21, True),
        ("(x+x+)+y", "x" * 100_000, False),
    ],
)
def test_linear_time_on_catastrophic_patterns(pattern: str, text: str, expected: bool) -> None:
    m = Matcher(parse(pattern))
    t0 = time.perf_counter()
    assert m.matches(text) == expected
    assert (m.fullmatch(text) is not None) == expected
    m.longest_prefix(text)
    assert time.perf_counter() - t0 < 2.0


def test_linear_scaling() -> None:
    m = Matcher(parse("(?P<x>(a|a)*)(?P<y>a*)b"))
    for n in (1_000, 10_000):  # warm the caches
        m.fullmatch("a" * n + "b")
    t0 = time.perf_counter()
    m.fullmatch("a" * 20_000 + "b")
    small = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = m.fullmatch("a" * 200_000 + "b")
    big = time.perf_counter() - t0
    assert got == {"x": "a" * 200_000, "y": ""}
    assert big < max(40 * small, 1.5)  # 10x input: roughly 10x time, never quadratic (loose: shared CI)


def test_matcher_does_not_build_the_full_dfa() -> None:
    # The minimal DFA of this language has 2**20 states; matching stays lazy and linear.
    node = parse("(a|b)*a(a|b){19}")
    m = Matcher(node)
    assert m.matches("b" * 1000 + "a" + "b" * 19)
    assert not m.matches("b" * 1000 + "b" + "b" * 19)


def test_literal_helper() -> None:
    assert Matcher(lit("日本")).matches("日本")


@pytest.mark.slow
@given(regexes(captures=True, lazy=True, nullable_loops=False, max_leaves=16), st.data())
@settings(max_examples=400)
def test_agrees_with_re_and_re2_on_larger_regexes(node: Regex, data: st.DataObject) -> None:
    pattern = to_pattern(node)
    py, r2, m = compile_re(pattern), re2.compile(pattern), Matcher(node)
    for s in candidates(data, node):
        expected = py.fullmatch(s)
        assert m.fullmatch(s) == (expected.groupdict() if expected else None), (pattern, s)
        if not any(0xD800 <= ord(c) <= 0xDFFF for c in s):
            r = r2.fullmatch(s)
            assert m.fullmatch(s) == (r.groupdict() if r else None), (pattern, s)


def test_a_boolean_part_counts_once_toward_the_regex_size_limit() -> None:
    """An intersection is built as a DFA of its own (its operands measured there) and spliced in: used at
    forty places, its operands do not count forty times toward max_regex_size (the NFA limit bounds the
    splices).  A pattern as large without the intersection is still refused."""
    word = inter(parse("[a-z]{1,30}"), comp(parse("no|not")))
    rx = seq(*(seq(word, lit(" ")) for _ in range(40)), lit("."))
    limits = Limits(max_regex_size=1_000)
    assert spliced_size(rx) <= 1_000 < size(rx)
    matcher = Matcher(rx, limits=limits)
    assert matcher.fullmatch("ab " * 40 + ".") == {}
    assert matcher.fullmatch("ab " * 39 + "no .") is None
    plain = seq(*(seq(rep(parse("[a-z]"), 1, 30), lit(" ")) for _ in range(40)))
    with pytest.raises(RegexTooLarge, match="regex size"):
        Matcher(plain, limits=limits)
