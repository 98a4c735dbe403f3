"""The pattern parser, the printer, AST helpers and the resource limits."""

from __future__ import annotations

import itertools
import re
import time

import pytest

from ddl.regular import (
    AutomatonTooLarge,
    Capture,
    Chars,
    CharSet,
    Lang,
    Limits,
    Matcher,
    RegexSyntaxError,
    RegexTooLarge,
    alt,
    cap,
    find_ambiguity,
    ignore_case,
    lit,
    opt,
    parse,
    plus,
    rep,
    seq,
    size,
    star,
    to_pattern,
)

PATTERNS = [
    r"abc",
    r"a|b|",
    r"(?:ab)*c?",
    r"[a-c]{2,3}",
    r"[^a]b+",
    r"a{2}|b{1,}|c{,2}",
    r"\d\w\s",
    r"[\d_-]+",
    r"\.\*\x41\u00e9",
    r"a{",
    r"a{}b",
    r"x{1,2}?y*?z??",
    r"[]a]",
    r"[a\-z]",
    r"(?P<x>a)(?:b)(c)",
    r"(?i)aB[c-d]",
    r"(?s).",
    r"^ab$",
    r"(?#comment)ab",
    r"\N{LATIN SMALL LETTER E WITH ACUTE}",
    r"(?i:a)b",
    r"[\x00-\x1f]",
    r"\0\07",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_parser_agrees_with_re_on_small_strings(pattern: str) -> None:
    flags = re.ASCII
    py = re.compile(pattern, flags)
    lang = Lang.from_regex(parse(pattern))
    alphabet = "aAbBcdxyz_-.*\x00\x1f\x07\n é]"
    for n in range(4):
        for t in itertools.product(alphabet, repeat=n):
            s = "".join(t)
            assert lang.contains(s) == (py.fullmatch(s) is not None), (pattern, s)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_printer_round_trip(pattern: str) -> None:
    node = parse(pattern)
    assert Lang.from_regex(parse(to_pattern(node))) == Lang.from_regex(node)


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("(ab", "missing )"),
        ("ab)", "unbalanced parenthesis"),
        ("*a", "nothing to repeat"),
        ("a**", "multiple repeat"),
        ("a{3,2}", "min repeat greater than max repeat"),
        ("[a", "unterminated character set"),
        ("[z-a]", "bad character range"),
        (r"\1", "backreferences"),
        ("(?=a)", "lookaround"),
        (r"\b", "word boundaries"),
        ("a^", "only supported at the start"),
        ("a$b", "only supported at the end"),
        ("(?P<1x>a)", "bad character in group name"),
        (r"\q", "bad escape"),
        ("a*+", "possessive"),
        ("a(?i)", "global flags"),
    ],
)
def test_syntax_errors(pattern: str, message: str) -> None:
    with pytest.raises(RegexSyntaxError, match=re.escape(message)) as info:
        parse(pattern)
    assert "^" in str(info.value)  # the caret under the position


def test_extended_syntax() -> None:
    a = Lang.from_regex(parse("[a-z]+&~(.*q.*)", extended=True))
    assert a.contains("abc") and not a.contains("aqa")
    assert Lang.from_regex(parse("~a&~b", extended=True)) == Lang.from_regex(parse("~(a|b)", extended=True))
    # ~ applies to the following quantified atom
    assert Lang.from_regex(parse("~ab", extended=True)) == Lang.from_regex(parse("(~a)b", extended=True))
    assert Lang.from_regex(parse("~a*", extended=True)) == Lang.from_regex(parse("~(a*)", extended=True))
    # without extended, & and ~ are literals
    assert Lang.from_regex(parse("a&~")).contains("a&~")


def test_builders() -> None:
    node = seq(lit("ab"), alt(lit("c"), lit("d")), opt(lit("e")), plus(lit("f")), star(lit("g")), rep(lit("h"), 1, 2))
    assert Lang.from_regex(node) == Lang.parse("ab(c|d)e?f+g*h{1,2}")
    assert lit("a") + lit("b") == seq(lit("a"), lit("b"))
    assert Lang.from_regex(lit("a") | lit("b")) == Lang.parse("[ab]")
    assert Lang.from_regex((lit("a") | lit("b")) - lit("a")) == Lang.parse("b")
    assert Lang.from_regex(~lit("a") & (lit("a") | lit("b"))) == Lang.parse("b")
    assert Lang.from_regex(cap("x", lit("a"))) == Lang.parse("a")
    assert size(rep(lit("a"), 0, 30)) == 31


def test_ignore_case() -> None:
    node = ignore_case(parse("straße [a-c]+"))
    lang = Lang.from_regex(node)
    assert lang.contains("STRAßE ABC") and lang.contains("strasse abc") is False
    assert Lang.from_regex(ignore_case(lit("k"))).contains("\u212a")  # KELVIN SIGN folds to k
    assert Lang.from_regex(parse("(?i)[^a]")).contains("A") is False


def test_lang_ref_splices_languages() -> None:
    digits = Lang.literals(str(i) for i in range(1, 21))
    node = seq(lit("give me "), Capture("n", digits.ref()), lit(" books"))
    assert Matcher(node).fullmatch("give me 17 books") == {"n": "17"}
    assert Matcher(node).fullmatch("give me 21 books") is None
    assert Lang.from_regex(node).count(len("give me 1 books")) == 9


def test_regex_size_limit() -> None:
    with pytest.raises(RegexTooLarge, match="exceeds the limit"):
        Lang.from_regex(parse("(a{1000}){1000}"))
    with pytest.raises(RegexTooLarge):
        parse("(" * 500 + ")" * 500)


def test_automaton_size_limit_is_clear_and_fast() -> None:
    t0 = time.perf_counter()
    with pytest.raises(AutomatonTooLarge, match=r"subset construction exceeded the limit of 1,000 DFA states"):
        Lang.from_regex(parse("(a|b)*a(a|b){12}"), limits=Limits(max_dfa_states=1000))
    with pytest.raises(AutomatonTooLarge, match="intersection"):
        Lang.parse("[a-z]{0,40}", limits=Limits(max_dfa_states=45)).intersect(Lang.parse("[a-m]*a[a-z]{0,3}"))
    with pytest.raises(AutomatonTooLarge, match="NFA"):
        Lang.from_regex(parse("[a-z]{500}"), limits=Limits(max_nfa_states=100))
    with pytest.raises(AutomatonTooLarge, match="capture automaton|ambiguity search"):
        find_ambiguity(parse("(?P<x>[a-z]{0,20}) (?P<y>[a-z]{0,20})"), limits=Limits(max_dfa_states=10))
    assert time.perf_counter() - t0 < 5
    # the default limit stops an exponential construction
    with pytest.raises(AutomatonTooLarge):
        Lang.from_regex(parse("(a|b)*a(a|b){20}"))


def test_chars_helper() -> None:
    from ddl.regular import chars

    assert chars("a-c").cs == CharSet.range("a", "c")
    assert isinstance(chars(CharSet.char("x")), Chars)
