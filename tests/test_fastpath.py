"""The backtracking-free re extractor: every success agrees with the linear-time Matcher."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ddl
from ddl.grammar.compile import CompiledGrammar
from ddl.grammar.fastpath import MAX_FAST_LENGTH, fast_extractor, membership_test
from ddl.grammar.router import RoutedFamily, Router, run_hit
from ddl.regular import Lang, Matcher, find_ambiguity, ignore_case, parse
from ddl.regular.ast import Alt, Chars, Complement, Concat, Regex, Repeat
from ddl.regular.charset import CharSet
from ddl.regular.strategies import members, regexes
from ddl.testing import near_misses, utterances

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROGRAMS = [ddl.load(p) for p in sorted(EXAMPLES.glob("*.ddl"))]
GRAMMARS = [(name, CompiledGrammar(prog.checked.families[name], prog.evaluator), prog.family(name))
            for prog in PROGRAMS for name in prog.families]


def test_every_bundled_family_has_a_fast_path_that_agrees_on_its_examples() -> None:
    fast = total = 0
    for name, grammar, _ in GRAMMARS:
        extractor = fast_extractor(grammar.regex)
        assert extractor is not None, name
        for ex in grammar.family.examples:
            if ex.utterance is None:
                continue
            u = grammar.normalize(ex.utterance)
            got = extractor.fullmatch(u)
            total += 1
            if got is not None:
                fast += 1
                assert got == grammar.matcher.fullmatch(u), (name, u)
    assert fast >= 0.9 * total, f"the fast path answered only {fast} of {total} example utterances"


@pytest.mark.parametrize("name,grammar,family", GRAMMARS, ids=[g[0] for g in GRAMMARS])
@settings(max_examples=25)
@given(data=st.data())
def test_fast_captures_equal_the_matchers_on_members(name: str, grammar: CompiledGrammar, family: object,
                                                     data: st.DataObject) -> None:
    u = grammar.normalize(data.draw(utterances(family, max_len=60)))
    extractor = fast_extractor(grammar.regex)
    assert extractor is not None
    got = extractor.fullmatch(u)
    if got is not None:
        assert got == grammar.matcher.fullmatch(u)


@pytest.mark.parametrize("name,grammar,family", GRAMMARS, ids=[g[0] for g in GRAMMARS])
@settings(max_examples=25)
@given(data=st.data())
def test_a_decided_failure_is_a_non_member(name: str, grammar: CompiledGrammar, family: object,
                                           data: st.DataObject) -> None:
    u = grammar.normalize(data.draw(st.one_of(near_misses(family, max_len=60), utterances(family, max_len=60))))
    extractor = fast_extractor(grammar.regex)
    assert extractor is not None
    groups, decided = extractor.decide(u)
    if groups is None and decided:
        assert grammar.matcher.fullmatch(u) is None, (name, u)


@settings(max_examples=400)
@given(regexes(captures=True, max_leaves=7), st.data())
def test_a_fast_match_is_a_member_and_unambiguous_captures_agree(node: object, data: st.DataObject) -> None:
    extractor = fast_extractor(node)  # type: ignore[arg-type]
    assume(extractor is not None)
    assert extractor is not None
    texts = st.text(alphabet="abcé", max_size=8)
    try:  # members half of the time: a wrong "decided" rejection shows only on members
        texts = st.one_of(members(Lang.from_regex(node), max_len=8), texts)  # type: ignore[arg-type]
    except ValueError:
        pass
    text = data.draw(texts)
    got, decided = extractor.decide(text)
    matcher = Matcher(node)  # type: ignore[arg-type]
    expected = matcher.fullmatch(text)
    if got is None:
        # "Decided" means the failure proves the text is outside the language.
        assert not decided or expected is None, f"{extractor.pattern!r} wrongly rejected {text!r}"
        return
    assert expected is not None, f"{extractor.pattern!r} matched {text!r}, which is not in the language"
    if find_ambiguity(node) is None:  # type: ignore[arg-type]
        assert got == expected


@pytest.mark.parametrize("pattern", [r"(a+)+b", r"(a|a)*b", r"(a*)*b", r"(x+x+)+y", r"(a|aa)+(b|c)"])
def test_hostile_grammars_cannot_make_it_backtrack_exponentially(pattern: str) -> None:
    extractor = fast_extractor(parse(pattern))
    assert extractor is not None
    # No loop inside a loop may give characters back: nested loops are possessive.
    assert not re.search(r"[*+}]\)*[*+}](?!\+)", extractor.pattern.replace("*+", "").replace("}+", "")), \
        extractor.pattern
    for text in ["a" * 5000 + "c", "x" * 5000 + "z", "a" * (MAX_FAST_LENGTH - 1) + "c"]:
        extractor.fullmatch(text)  # returns (quickly: the test would hang otherwise)


def test_long_utterances_go_to_the_matcher() -> None:
    extractor = fast_extractor(parse("a*"))
    assert extractor is not None
    assert extractor.fullmatch("a" * 10) == {}
    assert extractor.fullmatch("a" * (MAX_FAST_LENGTH + 1)) is None


@pytest.mark.parametrize("pattern,text", [
    ("v(?:1|10)?", "v10"),  # an optional part must not commit to its shorter choice (a bug once)
    ("(?:a|ab)(?:c|bcd)", "abcd"),
    ("x(?:1|[2-9]|10){0,1}y", "x10y"),
    ("(?:ab|a)(?:b)*c", "abbc"),
    ("(?:(?:a|ab)c)+d", "abcacd"),
    ("(?:|a)", "a"),  # a branch that matches nothing must not be committed to first (found by Hypothesis)
    ("(?:a*|b)c", "bc"),
])
def test_commitments_never_reject_a_member(pattern: str, text: str) -> None:
    extractor = fast_extractor(parse(pattern))
    assert extractor is not None
    assert Matcher(parse(pattern)).fullmatch(text) is not None
    groups, decided = extractor.decide(text)
    assert groups is not None or not decided, extractor.pattern


def test_a_folded_letter_spelt_case_insensitively_matches_exactly_its_class() -> None:
    every_char = "".join(chr(cp) for cp in range(0x1F000) if not 0xD800 <= cp <= 0xDFFF)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        node = ignore_case(parse(letter))
        extractor = fast_extractor(node)
        assert extractor is not None
        assert isinstance(node, Chars)  # the letter's case class, e.g. [Kk\u212a]
        assert set(extractor.regex.findall(every_char)) == {chr(cp) for lo, hi in node.cs.ranges()
                                                            for cp in range(lo, hi + 1)}, letter
        # every letter is spelt case-insensitively; "i" after a lookahead refusing U+0130, which re's (?i:i) takes
        # (not as a class, which sre compiles to a 256-byte map for its U+0131)
        spelt = "(?!\\u0130)(?i:i)" if letter == "i" else f"(?i:{letter})"
        assert spelt in extractor.pattern and "[" not in extractor.pattern, extractor.pattern
    words = fast_extractor(ignore_case(parse("turn on")))
    assert words is not None and "(?i:turn)" in words.pattern and "(?i:on)" in words.pattern
    assert words.fullmatch("TURN On") is not None and words.fullmatch("turn \u0130on") is None


def test_words_before_a_phrase_give_back_the_phrase_and_the_extractor_stays_exact() -> None:
    """"add <words> to the list": the words' loop (each word possessive, the next character decides
    inside a word) may give back whole words, so the extractor decides every member itself, and a
    failure is conclusive (no tagged Matcher needed: a family like this used to build one per hit)."""
    node = parse("add (?P<item>[a-z]{1,4}(?: [a-z]{1,4}){0,5}) to the list")
    extractor = fast_extractor(node)
    assert extractor is not None and extractor.exact
    for text in ["add milk to the list", "add to to the list", "add go to to to the list"]:
        groups, decided = extractor.decide(text)
        assert groups is not None and decided, text
        assert groups == Matcher(node).fullmatch(text), text
    for text in ["add milk to a list", "add " + "to " * 8 + "the list", "add milkshake to the list"]:
        assert extractor.decide(text) == (None, True) and Matcher(node).fullmatch(text) is None, text


_ANY = Repeat(Chars(CharSet.any()), 0, None)


@settings(max_examples=300)
@given(regexes(alphabet="ab", extra=" ", max_leaves=5), st.sampled_from(["both", "lead", "trail"]),
       st.lists(st.text(alphabet="ab ", max_size=7), min_size=1, max_size=10))
def test_membership_tests_of_contains_prefix_and_suffix_shapes_equal_the_dfa(
        node: Regex, shape: str, texts: list[str]) -> None:
    """A Text capture's checks (".* .*" forbidden, and the like) run as re search/match when they can;
    every answer is the language's own (its DFA), negated and in alternation too."""
    items = {"both": (_ANY, node, _ANY), "lead": (_ANY, node), "trail": (node, _ANY)}[shape]
    shaped = Concat(items)
    for combined in (shaped, Complement(Alt((shaped, parse("ab")))), Alt((shaped, node))):
        test, lang = membership_test(combined), Lang.from_regex(combined)
        for text in texts:
            assert test(text) == lang.contains(text), (combined, text)


def test_a_text_capture_check_of_spaces_answers_as_its_language() -> None:
    no_double_space = Complement(Alt((Concat((_ANY, parse("  "), _ANY)), Concat((parse(" "), _ANY)),
                                      Concat((_ANY, parse(" "))))))
    test = membership_test(no_double_space)
    assert [test(t) for t in ["a b", "a  b", " a", "a ", "ab"]] == [True, False, False, False, True]


@functools.cache
def _routed_alone(name: str) -> Any:
    """The family's entry in a router of its own (built once per family)."""
    prog, grammar = next((p, g) for n, g, _ in GRAMMARS for p in PROGRAMS if n == name and name in p.families)
    (entry,) = Router.build([RoutedFamily(name, grammar.family, prog.evaluator, grammar=grammar)]).entries
    return entry


@pytest.mark.parametrize("name,grammar,family", GRAMMARS, ids=[g[0] for g in GRAMMARS])
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_the_routers_hit_plan_equals_decide_then_convert_then_complete(name: str, grammar: CompiledGrammar,
                                                                      family: object, data: st.DataObject) -> None:
    """The router's one-call hit (a family's hit plan run by run_hit) gives what decide, the converters and
    θ completion give in turn (and each converter what CompiledGrammar.convert gives)."""
    u = grammar.normalize(data.draw(st.one_of(near_misses(family, max_len=60), utterances(family, max_len=60))))
    entry = _routed_alone(name)
    extractor = entry.extractor()
    assert extractor
    plan = entry.hit()
    if plan is None:
        assert extractor.single_groups is None
        return  # a parameter captured twice: the router takes the steps one by one
    converters = {n: grammar.converter(n) for n in grammar.captures}
    groups, decided = extractor.decide(u)
    for capture, text in (groups or {}).items():  # each converter decided once converts as convert does
        if text is not None:
            assert converters[capture][1](text) == grammar.convert(capture, text), (capture, text)
    if groups is None:
        assert run_hit(plan, u) is (False if decided else None)
    elif grammar.is_excluded(u):
        assert run_hit(plan, u) is False
    else:
        got, want = run_hit(plan, u), entry.theta(grammar.values(groups))
        assert isinstance(got, tuple) and got == want
        assert list(got[0] or ()) == list(want[0] or ())  # θ's parameters in the same order too
