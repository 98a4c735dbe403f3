"""Algebraic laws of ddl.regular.Lang as Hypothesis properties over generated regexes."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddl.regular import Lang, Limits, parse, to_pattern
from ddl.regular.ast import Regex
from ddl.regular.dfa import closures, determinize
from ddl.regular.nfa import CHAR, compile_regex
from ddl.regular.strategies import regexes

ALPHABET = "abc"
# Strings over the alphabet plus a few outsiders (non-ASCII, the newline, a space).
texts = st.text(alphabet=st.sampled_from("abcabcé日\n "), max_size=7)
rx = regexes(boolean=True, empty=True, max_leaves=6)
plain = regexes(max_leaves=8)


def L(node: Regex) -> Lang:
    return Lang.from_regex(node)


def nfa_accepts(node: Regex, text: str) -> bool:
    """Membership by direct NFA simulation (no determinization, no minimization)."""
    prog = compile_regex(node, tags=False, limits=Limits(), embed=lambda n: L(n).dfa)
    close = closures(prog)
    cur = set(close(prog.start))
    for ch in text:
        nxt: set[int] = set()
        for q in cur:
            cs = prog.cs[q]
            if prog.kind[q] == CHAR and cs is not None and ch in cs:
                nxt |= close(prog.out[q])
        cur = nxt
    return prog.match in cur


# ------------------------------------------------------------------ Boolean laws


@given(rx, rx)
def test_de_morgan(a: Regex, b: Regex) -> None:
    A, B = L(a), L(b)
    assert (A | B).complement() == A.complement() & B.complement()
    assert (A & B).complement() == A.complement() | B.complement()
    assert (A | B).complement().equivalent(A.complement() & B.complement()) == (True, None)


@given(rx)
def test_double_complement(a: Regex) -> None:
    A = L(a)
    assert A.complement().complement() == A


@given(rx, rx, rx)
@settings(max_examples=50)
def test_distributivity(a: Regex, b: Regex, c: Regex) -> None:
    A, B, C = L(a), L(b), L(c)
    assert A & (B | C) == (A & B) | (A & C)
    assert A | (B & C) == (A | B) & (A | C)


@given(rx, rx)
def test_union_contains_operands(a: Regex, b: Regex) -> None:
    A, B = L(a), L(b)
    assert A.subset_of(A | B) == (True, None)
    assert (A & B).subset_of(A) == (True, None)


@given(rx)
def test_intersection_with_complement_is_empty(a: Regex) -> None:
    A = L(a)
    assert (A & ~A).is_empty()
    assert (A | ~A).is_universal()
    assert (A - A).is_empty()


@given(rx, rx, texts)
def test_boolean_ops_pointwise(a: Regex, b: Regex, s: str) -> None:
    A, B = L(a), L(b)
    x, y = A.contains(s), B.contains(s)
    assert (A | B).contains(s) == (x or y)
    assert (A & B).contains(s) == (x and y)
    assert (A - B).contains(s) == (x and not y)
    assert (A ^ B).contains(s) == (x != y)
    assert (~A).contains(s) == (not x)


# ------------------------------------------------------------------ constructions vs semantics


@given(rx, st.lists(texts, max_size=6))
def test_minimization_preserves_language(a: Regex, samples: list[str]) -> None:
    A = L(a)
    prog = compile_regex(a, tags=False, limits=Limits(), embed=lambda n: L(n).dfa)
    unminimized = determinize(prog, 50_000)
    assert A.num_states <= unminimized.n
    w = A.witness()
    for s in samples + ([w] if w is not None else []):
        expected = nfa_accepts(a, s)
        assert A.contains(s) == expected, s
        assert unminimized.accepts(s) == expected


@given(plain, plain, texts)
def test_concat_star_repeat_pointwise(a: Regex, b: Regex, s: str) -> None:
    A, B = L(a), L(b)
    assert (A + B).contains(s) == any(A.contains(s[:i]) and B.contains(s[i:]) for i in range(len(s) + 1))
    # star by dynamic programming over split points
    ok = [True] + [False] * len(s)
    for j in range(1, len(s) + 1):
        ok[j] = any(ok[i] and A.contains(s[i:j]) for i in range(j))
    assert A.star().contains(s) == ok[len(s)]
    # A{1,2}
    one_two = A.contains(s) or any(A.contains(s[:i]) and A.contains(s[i:]) for i in range(len(s) + 1))
    assert A.repeat(1, 2).contains(s) == one_two


@given(rx, texts)
def test_reverse(a: Regex, s: str) -> None:
    A = L(a)
    R = A.reverse()
    assert R.contains(s[::-1]) == A.contains(s)
    assert R.reverse() == A


@given(plain)
def test_printer_parser_round_trip(a: Regex) -> None:
    assert L(parse(to_pattern(a))) == L(a)


@given(regexes(boolean=True, max_leaves=5))
def test_extended_round_trip(a: Regex) -> None:
    assert L(parse(to_pattern(a), extended=True)) == L(a)


# ------------------------------------------------------------------ decisions and witnesses


@given(rx, rx)
def test_equivalence_agrees_with_mutual_inclusion(a: Regex, b: Regex) -> None:
    A, B = L(a), L(b)
    assert A.equivalent(A) == (True, None)
    eq, w = A.equivalent(B)
    ab, w1 = A.subset_of(B)
    ba, w2 = B.subset_of(A)
    assert eq == (ab and ba) == (A == B)
    if not eq:
        assert w is not None and A.contains(w) != B.contains(w)
        # shortest: no difference at any shorter length
        assert all((A ^ B).count(n) == 0 for n in range(len(w)))
    if not ab:
        assert w1 is not None and A.contains(w1) and not B.contains(w1)
    if not ba:
        assert w2 is not None and B.contains(w2) and not A.contains(w2)
    disj, w3 = A.disjoint(B)
    assert disj == (A & B).is_empty()
    if not disj:
        assert w3 is not None and A.contains(w3) and B.contains(w3)
        assert len(w3) == len((A & B).witness() or "")


@given(rx)
def test_witness_is_a_shortest_member(a: Regex) -> None:
    A = L(a)
    w = A.witness()
    if w is None:
        assert A.is_empty()
        assert all(A.count(n) == 0 for n in range(6))
    else:
        assert A.contains(w)
        assert all(A.count(n) == 0 for n in range(len(w)))
        assert A.count(len(w)) > 0


@given(rx, st.integers(0, 5), st.randoms(use_true_random=False))
def test_count_and_sample_agree(a: Regex, n: int, rng: random.Random) -> None:
    A = L(a)
    total = A.count(n)
    if total == 0:
        with pytest.raises(ValueError):
            A.sample(rng, n)
        return
    for _ in range(5):
        s = A.sample(rng, n)
        assert len(s) == n and A.contains(s)
    assert A.unrank(n, 0) == A.unrank(n, 0)
    assert A.contains(A.unrank(n, total - 1))


@given(rx, rx, st.integers(0, 4))
def test_count_inclusion_exclusion(a: Regex, b: Regex, n: int) -> None:
    A, B = L(a), L(b)
    assert (A | B).count(n) == A.count(n) + B.count(n) - (A & B).count(n)
    assert A.count(n) + (~A).count(n) == 0x110000**n


@given(plain, st.integers(0, 4))
def test_count_matches_enumeration_over_the_alphabet(a: Regex, n: int) -> None:
    A = L(a) & Lang.parse(f"[{ALPHABET}]*")
    expected = sum(1 for t in itertools.product(ALPHABET, repeat=n) if A.contains("".join(t)))
    assert A.count(n) == expected


@given(plain)
def test_finite_iff_bounded_lengths(a: Regex) -> None:
    A = L(a)
    if A.is_finite():
        assert all(A.count(n) == 0 for n in range(40, 44))
    else:
        # an infinite regular language has members in every window of its pumping length
        k = A.num_states
        assert any(A.count(n) for n in range(k, 2 * k + 1))


@given(rx, texts)
def test_longest_prefix(a: Regex, s: str) -> None:
    A = L(a)
    k = A.longest_prefix(s)
    assert 0 <= k <= len(s)
    prefixes_of = Lang.literal(s[:k]) + Lang.universe()
    if not A.is_empty():
        assert not prefixes_of.disjoint(A)[0]
    if k < len(s):
        assert (Lang.literal(s[: k + 1]) + Lang.universe()).disjoint(A)[0]


def test_unicode_complement() -> None:
    A = Lang.parse("abc")
    assert (~A).contains("日本")
    assert not (~A).contains("abc")
    assert Lang.parse("[^a]").contains("日")
    assert Lang.parse("[^a]").count(1) == 0x110000 - 1


def test_canonical_equality_and_hash() -> None:
    assert Lang.parse("a*") == Lang.parse("(a|aa)*")
    assert hash(Lang.parse("(ab)*a")) == hash(Lang.parse("a(ba)*"))
    assert Lang.parse("a+") != Lang.parse("a*")
    assert len({Lang.parse("x|y"), Lang.parse("[xy]"), Lang.parse("y|x")}) == 1


def test_decisions_examples() -> None:
    words = Lang.parse("[a-z]{1,30}( [a-z]{1,30}){0,10}")
    books = Lang.parse("([a-z]+ )*books")
    assert words.disjoint(books) == (False, "books")
    assert books.subset_of(words) == (False, "a " * 11 + "books")
    assert Lang.parse("a+").subset_of(Lang.parse("a*")) == (True, None)
    assert Lang.parse("a*").subset_of(Lang.parse("a+")) == (False, "")
    assert Lang.parse("(a|b)*").equivalent(Lang.parse("(a*b*)*")) == (True, None)
    assert Lang.parse("x").intersect(Lang.parse("y")).witness() is None
    # witnesses prefer visible ASCII
    assert Lang.parse("[^a-z]").witness() == "!"
    assert Lang.parse("[\u0100-\u0200]").witness() == "\u0100"


# ------------------------------------------------------------------ heavier runs (pytest -m slow)

big = regexes(boolean=True, empty=True, max_leaves=16)


@pytest.mark.slow
@given(big, big, st.lists(texts, max_size=10))
@settings(max_examples=300)
def test_laws_on_larger_regexes(a: Regex, b: Regex, samples: list[str]) -> None:
    A, B = L(a), L(b)
    assert ~(A | B) == ~A & ~B
    assert (A - B) | (A & B) == A
    assert A.reverse().reverse() == A
    eq, w = A.equivalent(B)
    assert eq == (A.subset_of(B)[0] and B.subset_of(A)[0])
    if w is not None:
        assert A.contains(w) != B.contains(w)
    for s in samples:
        assert A.contains(s) == nfa_accepts(a, s)
        assert (A + B).contains(s) == any(A.contains(s[:i]) and B.contains(s[i:]) for i in range(len(s) + 1))


def test_bounded_repetition_is_cheap() -> None:
    import time

    t0 = time.perf_counter()
    words = Lang.parse("[a-z]{1,30}( [a-z]{1,30}){0,10}")
    books = Lang.parse("([a-z]+ )*books")
    assert words.disjoint(books) == (False, "books")
    assert words.equivalent(books)[0] is False
    assert time.perf_counter() - t0 < 0.5  # typically ~5 ms
    assert words.num_states < 400  # one state per (word, letter) position, not a blow-up
    big = Lang.parse("[a-z]{1,200}( [a-z]{1,200}){0,20}")
    assert big.num_states < 5000


words = st.lists(st.text(alphabet=st.sampled_from("abAB\u212aké"), max_size=5), max_size=8)


@given(words, st.booleans())
def test_literals_is_the_language_of_its_words(ws: list[str], fold_case: bool) -> None:
    # Lang.literals minimizes its word trie bottom up; the regex route (alternation of literals,
    # through the NFA and Hopcroft) must give the same canonical DFA, hence equal languages.
    from ddl.regular.ast import alt, ignore_case, lit

    expected = alt(*(lit(w) for w in ws))
    by_regex = Lang.from_regex(ignore_case(expected) if fold_case else expected)
    by_trie = Lang.literals(ws, fold_case=fold_case)
    assert by_trie == by_regex
    assert (by_trie.dfa.delta, by_trie.dfa.accept) == (by_regex.dfa.delta, by_regex.dfa.accept)


# -- share_repeated: a rule used at many places is built once ---------------------------------------------

def _filler_grammar(words: list[str], gaps: int, capture_inside: bool = False) -> Regex:
    from ddl.regular import alt, cap, lit, seq, star
    from ddl.regular.ast import named

    word = named("word", alt(*(lit(w) for w in words)))
    gap = seq(lit(" "), star(seq(word, lit(" "))))
    value = cap("n", alt(*(lit(str(i)) for i in range(10))))
    inner = seq(word, value) if capture_inside else word
    part = named("part", inner) if capture_inside else word
    return seq(*(x for _ in range(gaps) for x in (part, gap)), lit("end"))


def test_a_rule_repeated_at_many_places_is_built_once_and_means_the_same() -> None:
    """The filler words of a learned grammar stand between every two values: spelt out at each gap they
    made grammars that no size limit admits.  Shared, the rule is one DFA spliced at each use, the
    language is the same (checked by DFA equality and by matching), and a Matcher compiles it."""
    from ddl.regular import LangRef, Matcher, share_repeated, size
    from ddl.regular.ast import walk

    words = [f"word{i}x" for i in range(150)]
    regex = _filler_grammar(words, 50)
    assert size(regex) > Limits().max_regex_size  # as written it is refused
    shared = share_repeated(regex)
    assert any(isinstance(n, LangRef) for n in walk(shared)) and size(shared) < 5_000
    matcher = Matcher(shared)
    text = " ".join(["word3x word7x"] * 50) + " end"
    assert matcher.matches(text)
    for wrong in ("word3x word999x end", text.replace("word7x", "word7", 1), text[:-4]):
        assert not matcher.matches(wrong)


def test_sharing_keeps_the_language_and_never_touches_a_part_with_captures() -> None:
    from ddl.regular import LangRef, share_repeated
    from ddl.regular import lang as lang_module
    from ddl.regular.ast import walk

    words = [f"w{i}q" for i in range(120)]
    regex = _filler_grammar(words, 30, capture_inside=True)
    old = lang_module.SHARE_ABOVE
    try:
        lang_module.SHARE_ABOVE = 0  # share even a small regex, to compare languages
        small = _filler_grammar(words, 3)
        shared = share_repeated(small)
        assert any(isinstance(n, LangRef) for n in walk(shared))
        assert Lang.from_regex(shared) == Lang.from_regex(small)
    finally:
        lang_module.SHARE_ABOVE = old
    # "part" holds a capture: it stays as written (its inner word rule is shared instead)
    shared = share_repeated(regex)
    assert all(n.source is None or not any(type(m).__name__ == "Capture" for m in walk(n.source))
               for n in walk(shared) if isinstance(n, LangRef))
    assert sum(1 for n in walk(shared) if type(n).__name__ == "Capture") == 30
