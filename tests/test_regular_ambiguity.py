"""find_ambiguity: known cases and a brute-force cross-check on generated regexes."""

from __future__ import annotations

import itertools

from hypothesis import event, given
from hypothesis import strategies as st

from ddl.regular import Lang, Matcher, find_ambiguity, parse
from ddl.regular.ast import (
    Alt,
    Capture,
    Chars,
    Concat,
    Empty,
    Epsilon,
    Regex,
    Repeat,
    Star,
    alt,
    cap,
    capture_names,
    lit,
    seq,
)
from ddl.regular.strategies import regexes, unique_captures

Caps = tuple[tuple[str, tuple[int, int]], ...]


def parses(node: Regex, s: str, i: int) -> set[tuple[int, Caps]]:
    """Every way ``node`` matches ``s[i:j]``: (j, capture spans) — exhaustive, for tiny inputs."""
    if isinstance(node, Chars):
        return {(i + 1, ())} if i < len(s) and s[i] in node.cs else set()
    if isinstance(node, Epsilon):
        return {(i, ())}
    if isinstance(node, Empty):
        return set()
    if isinstance(node, Alt):
        return set().union(*(parses(x, s, i) for x in node.items))
    if isinstance(node, Concat):
        cur: set[tuple[int, Caps]] = {(i, ())}
        for item in node.items:
            cur = {(k, merge(c1, c2)) for j, c1 in cur for k, c2 in parses(item, s, j)}
        return cur
    if isinstance(node, Capture):
        return {(j, merge(c, ((node.name, (i, j)),))) for j, c in parses(node.inner, s, i)}
    if isinstance(node, (Star, Repeat)):
        lo, hi = (0, None) if isinstance(node, Star) else (node.lo, node.hi)
        out: set[tuple[int, Caps]] = set()
        frontier: set[tuple[int, Caps]] = {(i, ())}
        seen: set[tuple[int, Caps]] = set()
        count = 0
        # Iterations may be empty (as in the NFA); unbounded loops run to a fixpoint.
        while frontier:
            if count >= lo:
                out |= frontier
            if hi is not None and count == hi:
                break
            if hi is None and count >= lo:
                seen |= frontier
            frontier = {(k, merge(c1, c2)) for j, c1 in frontier for k, c2 in parses(node.inner, s, j)}
            if hi is None and count + 1 >= lo:
                frontier -= seen
            count += 1
        return out
    raise TypeError(node)


def merge(a: Caps, b: Caps) -> Caps:
    d = dict(a)
    d.update(b)  # the later assignment wins, as in re
    return tuple(sorted(d.items()))


def values(node: Regex, s: str) -> set[tuple[tuple[str, str | None], ...]]:
    names = capture_names(node)
    out = set()
    for j, caps in parses(node, s, 0):
        if j == len(s):
            d = dict(caps)
            out.add(tuple((n, s[d[n][0] : d[n][1]] if n in d else None) for n in names))
    return out


def test_known_ambiguous_grammar() -> None:
    # "a" (x:"b"|"") (y:"b"|"")
    node = seq(lit("a"), cap("x", alt(lit("b"), lit(""))), cap("y", alt(lit("b"), lit(""))))
    hit = find_ambiguity(node)
    assert hit is not None
    u, ca, cb = hit
    assert u == "ab"
    assert {tuple(ca.items()), tuple(cb.items())} == {(("x", "b"), ("y", "")), (("x", ""), ("y", "b"))}


def test_unambiguous_grammars_are_proved() -> None:
    for pattern in [
        "(?P<verb>recommend|suggest) (?P<n>[0-9]{1,2}) (?P<genre>fantasy|mystery|romance|science fiction) "
        "books( from the (?P<decade>[0-9]{4})s)?",
        "(show|give) me (?P<w>[a-z]+( [a-z]+){0,3})",
        "(?P<first>[a-z]+)( (?P<rest>[a-z]+))*",
        "(?P<x>a|a)",  # two parses, same captures: not ambiguity
        "(a|a)(?P<x>b)",
        "(?P<x>a)a|a(?P<x>a)",  # different spans, same captured text
        "abc",
    ]:
        assert find_ambiguity(parse(pattern)) is None, pattern


def test_ambiguity_examples() -> None:
    hit = find_ambiguity(parse("(?P<x>[a-z]+) ?(?P<y>[a-z]*)"))
    assert hit is not None and hit[0] == "aa"
    hit = find_ambiguity(parse("(?P<n>[0-9]+)(?P<m>[0-9]*) books"))
    assert hit is not None and hit[0] == "00 books"
    assert hit[1] != hit[2]
    # the witness captures are real parses: each is what some parse extracts
    hit = find_ambiguity(parse("(?:(?P<x>a)|a)*"))
    assert hit == ("a", {"x": "a"}, {"x": None}) or hit == ("a", {"x": None}, {"x": "a"})


def test_witness_is_in_the_language_and_matcher_reports_one_parse() -> None:
    node = parse("(?P<g>fantasy|science fiction|science)( (?P<rest>fiction))?")
    hit = find_ambiguity(node)
    assert hit is not None
    u, ca, cb = hit
    assert u == "science fiction"
    assert Lang.from_regex(node).contains(u)
    assert Matcher(node).fullmatch(u) in (ca, cb)


@given(
    st.one_of(
        regexes(alphabet="a", extra="b", captures=True, max_leaves=10),
        regexes(alphabet="a", extra="", captures=True, max_leaves=12, max_bound=2),
    )
)
def test_agrees_with_brute_force(node: Regex) -> None:
    check_against_brute_force(node)


def capture_grammars() -> st.SearchStrategy[Regex]:
    """Small grammars dense in captures and optional parts (where ambiguity lives)."""
    leaf = st.sampled_from([lit("a"), lit("b"), lit("ab"), lit("aa"), parse("[ab]")])

    def extend(children: st.SearchStrategy[Regex]) -> st.SearchStrategy[Regex]:
        return st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda xs: seq(*xs)),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: alt(*xs)),
            children.map(lambda x: Repeat(x, 0, 1)),
            st.builds(cap, st.sampled_from("xyz"), children),
        )

    return st.recursive(leaf, extend, max_leaves=7).map(unique_captures)


@given(capture_grammars())
def test_agrees_with_brute_force_oncapture_grammars(node: Regex) -> None:
    check_against_brute_force(node)


def check_against_brute_force(node: Regex) -> None:
    hit = find_ambiguity(node)
    ambiguous_lengths = [
        n for n in range(5) for t in itertools.product("ab", repeat=n) if len(values(node, "".join(t))) > 1
    ]
    event("ambiguous" if hit else "unambiguous")
    if hit is None:
        assert not ambiguous_lengths
        return
    u, ca, cb = hit
    assert ca != cb
    vals = values(node, u)
    names = capture_names(node)
    assert tuple((n, ca[n]) for n in names) in vals
    assert tuple((n, cb[n]) for n in names) in vals
    if ambiguous_lengths:
        assert len(u) <= min(ambiguous_lengths)
