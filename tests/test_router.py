"""The combined router agrees with matching each family on its own (a differential test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ddl
from ddl.eval import validate_theta
from ddl.grammar import router as router_module
from ddl.grammar.compile import CompiledGrammar
from ddl.grammar.router import Route, RoutedFamily, Router
from ddl.testing import near_misses, utterances

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROGRAMS = [ddl.load(p) for p in sorted(EXAMPLES.glob("*.ddl"))]
FAMILIES = [(prog, name) for prog in PROGRAMS for name in prog.families]


def _router() -> Router:
    return Router.build(RoutedFamily(name, prog.checked.families[name], prog.evaluator)
                        for prog, name in FAMILIES)


ROUTER = _router()
GRAMMARS = {name: (CompiledGrammar(prog.checked.families[name], prog.evaluator), prog) for prog, name in FAMILIES}


def one_by_one(utterance: str) -> Route | None:
    """The reference: try every family's own matcher, then validate θ against Θ."""
    hits = []
    for name, (grammar, prog) in GRAMMARS.items():
        result = grammar.match(utterance)
        if result.ok:
            fam = prog.checked.families[name]
            theta, problems = validate_theta(fam, prog.evaluator, result.values or {}, values=True)
            hits.append(Route(name, theta, tuple(problems)))
    assert len(hits) <= 1, f"the bundled examples overlap on {utterance!r}: {hits}"
    return hits[0] if hits else None


def same(a: Route | None, b: Route | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.family == b.family and a.theta == b.theta and (a.theta is not None or bool(a.problems) == bool(b.problems))


@pytest.mark.parametrize("prog,name", FAMILIES, ids=[n for _, n in FAMILIES])
@settings(max_examples=20)
@given(data=st.data())
def test_members_route_to_their_family_with_the_same_theta(prog: ddl.Program, name: str, data: st.DataObject) -> None:
    u = data.draw(utterances(prog.family(name), max_len=60))
    got = ROUTER.route(u)
    assert got is not None and got.family == name
    assert same(got, one_by_one(u))


@pytest.mark.parametrize("prog,name", FAMILIES, ids=[n for _, n in FAMILIES])
@settings(max_examples=15)
@given(data=st.data())
def test_near_misses_agree_with_the_one_by_one_loop(prog: ddl.Program, name: str, data: st.DataObject) -> None:
    u = data.draw(near_misses(prog.family(name), max_len=60))
    assert same(ROUTER.route(u), one_by_one(u))


@settings(max_examples=100)
@given(st.text(alphabet=st.sampled_from(list("abcdefimnorstuwy 0123456789-?'.")), max_size=50))
def test_arbitrary_text_agrees_with_the_one_by_one_loop(u: str) -> None:
    assert same(ROUTER.route(u), one_by_one(u))


def test_example_utterances_route_exactly_as_ddl_run_reads_them() -> None:
    count = 0
    for prog, name in FAMILIES:
        for ex in prog.checked.families[name].examples:
            if ex.utterance is None:
                continue
            got = ROUTER.route(ex.utterance)
            assert got is not None and got.family == name, ex.utterance
            assert same(got, one_by_one(ex.utterance))
            count += 1
    assert count >= 20


def test_results_survive_cache_flushes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(router_module, "_CACHE_LIMIT", 3)
    small = _router()
    for u in ["suggest 3 mystery books from the 1950s", "weather in tokyo", "nothing at all", "weather in tokyo?"] * 3:
        assert same(small.route(u), one_by_one(u)), u


def test_a_huge_utterance_is_a_quick_miss() -> None:
    assert ROUTER.route("weather in " + "x" * 1_000_000) is None
    assert ROUTER.route("\u0000\ud7ff\U0010ffff" * 1000) is None


def test_no_bundled_families_overlap() -> None:
    assert ROUTER.overlaps() == []


def test_overlaps_are_found_with_a_witness_that_both_accept() -> None:
    prog = ddl.loads('''
family a { enum City { paris, rome } param city : City
  grammar ignore_case { "weather in " city } program -> Text = "${city}" }
family b { grammar { "weather in " ("paris" | "oslo") } program -> Text = "b" }
family c { param n : Int in 1..9 grammar { "add " n } program -> Int = n }
family d { grammar { "add 7" | "add 70" } program -> Int = 7 }
family e { grammar { "something else" } program -> Int = 1 }
''')
    r = Router.build(RoutedFamily(n, prog.checked.families[n], prog.evaluator) for n in prog.families)
    found = {(o.first, o.second): o.witness for o in r.overlaps()}
    assert set(found) == {("a", "b"), ("c", "d")}
    assert found[("a", "b")] == "weather in paris" and found[("c", "d")] == "add 7"
    for (x, y), w in found.items():
        assert r.candidates(w) and {e.name for e, _ in r.candidates(w)} == {x, y}
    # A candidate joining a registry: only its own overlaps are searched for.
    assert [(o.first, o.second, o.witness) for o in r.overlaps(involving={"d"})] == [("c", "d", "add 7")]
    assert r.overlaps(involving={"e"}) == []


def test_an_except_clause_hands_its_utterances_to_other_families() -> None:
    prog = ddl.loads('''
family small { param n : Int in 0..99
  grammar { "add " n except "add " [5-9] [0-9] } program -> Int = n }
family big { param n : Int in 50..99
  grammar { "add " n } program -> Int = n + 1000 }
''')
    r = Router.build(RoutedFamily(n, prog.checked.families[n], prog.evaluator) for n in prog.families)
    assert r.overlaps() == []  # the except clause makes them disjoint
    small, big = r.route("add 7"), r.route("add 55")
    assert small is not None and small.family == "small" and small.theta == {"n": 7}
    assert big is not None and big.family == "big" and big.theta == {"n": 55}
    alone = Router.build([RoutedFamily("small", prog.checked.families["small"], prog.evaluator)])
    assert alone.route("add 55") is None and alone.route("add 49") is not None


# Grammar bodies over a tiny alphabet: words, classes (single characters and wide ones, so the
# product meets both kinds of moves), options and loops.
_PIECES = ['"a"', '"b"', '"ab"', '"ba"', '" "', "[a-c]", "[^a]", "[b-z]", "."]


@st.composite
def _grammar_bodies(draw: st.DrawFn, depth: int = 2) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(_PIECES))
    kind = draw(st.sampled_from(["seq", "alt", "opt", "star", "plus"]))
    a = draw(_grammar_bodies(depth - 1))
    if kind in ("seq", "alt"):
        b = draw(_grammar_bodies(depth - 1))
        return f"({a} {b})" if kind == "seq" else f"({a} | {b})"
    return f"({a}){ {'opt': '?', 'star': '*', 'plus': '+'}[kind] }"


@settings(max_examples=60, deadline=None)
@given(bodies=st.lists(_grammar_bodies(), min_size=2, max_size=7),
       excepts=st.lists(st.one_of(st.none(), _grammar_bodies(depth=1)), min_size=7, max_size=7))
def test_overlaps_agree_with_the_algebra(bodies: list[str], excepts: list[str | None]) -> None:
    """Each pair the search reports overlaps (its witness, a shortest one, is in both languages), and
    every pair of languages the algebra finds intersecting is reported: over more than four families
    (the combined phase) and pairs (the product of two lazily built DFAs), with except clauses."""
    source = "\n".join(
        f"family f{i} {{ grammar {{ {body}{'' if excepts[i] is None else ' except ' + excepts[i]} }} "
        f"program -> Int = {i} }}" for i, body in enumerate(bodies))
    prog = ddl.loads(source)
    names = list(prog.families)
    r = Router.build(RoutedFamily(n, prog.checked.families[n], prog.evaluator) for n in names)
    found = {(o.first, o.second): o.witness for o in r.overlaps()}
    langs = {n: CompiledGrammar(prog.checked.families[n], prog.evaluator).lang for n in names}
    expected = {(a, b) for i, a in enumerate(names) for b in names[i + 1:]
                if not langs[a].disjoint(langs[b])[0]}
    assert set(found) == expected
    for (a, b), witness in found.items():
        assert langs[a].contains(witness) and langs[b].contains(witness), (a, b, witness)
        shortest = langs[a].intersect(langs[b]).witness()
        assert shortest is not None and len(witness) == len(shortest), (a, b, witness, shortest)


def test_the_settle_shortcut_answers_as_the_walk_to_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every corpus utterance (and a near miss of each) routes the same with the few-families
    shortcut, which skips extractors that cannot settle, as by walking the combined automaton to the
    end and deciding θ for the winner only."""
    corpus = Path(__file__).resolve().parent.parent / "bench" / "corpus"
    texts = [json.loads(line)["utterance"] for path in sorted(corpus.glob("*.jsonl"))
             for line in path.read_text().splitlines() if line.strip()]
    texts += [t[:-1] for t in texts] + [t + " now" for t in texts]
    assert len(texts) >= 1000
    shortcut = [ROUTER.route(t) for t in texts]
    monkeypatch.setattr(router_module, "_settle", lambda alive, text: None)
    walked = [ROUTER.route(t) for t in texts]
    assert sum(r is not None for r in shortcut) >= 300
    for text, a, b in zip(texts, shortcut, walked):
        assert a == b, text


WIDENED = ddl.loads('''
family tab_split {
  "Split a tab evenly between people."
  param total : Int in 1..1000
  param people : Int in 1..20
  grammar ignore_case normalize_space {
    rule learned = "split " number(people) " for " number(total)
      | "split " number(total) " among " number(people);
    "split " number(total) " for " number(people) | learned
  }
  program -> Int = total / people
}
''')


@settings(max_examples=60)
@given(total=st.integers(1, 1000), people=st.integers(1, 20), phrasing=st.sampled_from(["for", "among", "swapped"]),
       saved=st.booleans())
def test_a_widened_grammar_reads_its_authored_part_first(total: int, people: int, phrasing: str, saved: bool) -> None:
    """The learned rule is a fallback (spec/grammar.md): "split 12 for 4" is the authored reading (total 12)
    though the learned rule reads people = 12, total = 4; the router's fast path, a saved router's and
    `ddl run`'s matcher all agree."""
    family = WIDENED.checked.families["tab_split"]
    router = Router.build([RoutedFamily("tab_split", family, WIDENED.evaluator)])
    if saved:
        router = Router.from_bytes(router.to_bytes(), [RoutedFamily("tab_split", family, WIDENED.evaluator)],
                                   extractors=False)
    if phrasing == "for":
        u, want = f"split {total} for {people}", {"total": total, "people": people}
    elif phrasing == "among":
        u, want = f"split {total} among {people}", {"total": total, "people": people}
    else:  # "split P for T": the authored part's when T can be a number of people, else the learned rule's
        u = f"split {people} for {total}"
        want = {"total": people, "people": total} if total <= 20 else {"total": total, "people": people}
    got = router.route(u)
    assert got is not None and got.theta == want, (u, got)
    assert CompiledGrammar(family, WIDENED.evaluator).match(u).values == want  # as `ddl run` reads it
    if not saved:
        assert router.by_name["tab_split"].extractor()  # the fast path answered, not only the matcher


def test_a_widened_family_whose_authored_extractor_gives_up_is_read_by_its_matcher_not_its_learned_rule() -> None:
    """The authored part's `re` translation fails on "note x to y to me" (its possessive last text eats " to
    me"), and the learned rule's accepts it with another reading: the router must not take that one."""
    prog = ddl.loads('''
family memo {
  param a : Text(max 20)
  param b : Text(max 20) = "you"
  grammar {
    rule learned = "note " a;
    ("note " a " to " b " to me") | learned
  }
  program -> Text = a
}''')
    family = prog.checked.families["memo"]
    router = Router.build([RoutedFamily("memo", family, prog.evaluator)])
    reading = CompiledGrammar(family, prog.evaluator).match("note x to y to me").values
    assert reading == {"a": "x", "b": "y"}  # leftmost-first: the authored part reads it
    got = router.route("note x to y to me")
    assert got is not None and got.theta == reading
    learned_only = router.route("note x to y")
    assert learned_only is not None and learned_only.theta == {"a": "x to y", "b": "you"}
