"""The router on a synthetic registry (bench/synth_families.py: the routing benchmark's families)
agrees with matching each family on its own, and a router saved with ``Router.to_bytes`` routes
exactly as the one it was saved from."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import ddl
from ddl.api import compile_source
from ddl.eval import Evaluator, validate_theta
from ddl.grammar.compile import CompiledGrammar
from ddl.grammar.router import Route, RoutedFamily, Router
from ddl.regular import LangSet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from synth_families import make_families, miss, module_sources  # noqa: E402

K = 60  # every template of the generator at least twice


def _specs() -> list[RoutedFamily]:
    specs = []
    for i, text in enumerate(module_sources(make_families(K, seed=3))):
        module, diags = compile_source(text, f"synth{i}.ddl")
        assert module is not None and not [d for d in diags if d.is_error]
        evaluator = Evaluator(module)
        specs += [RoutedFamily(name, fam, evaluator) for name, fam in module.families.items()]
    return specs


SPECS = _specs()
ROUTER = Router.build(SPECS)


def _utterances() -> list[str]:
    rng = random.Random(7)
    out = []
    for fam in make_families(K, seed=3):
        out += [fam.sample(rng)[0] for _ in range(3)] + [fam.near_miss(rng) for _ in range(2)]
    return out + [miss(rng) for _ in range(30)]


UTTERANCES = _utterances()


def one_by_one(utterance: str, grammars: dict[str, tuple[CompiledGrammar, RoutedFamily]]) -> Route | None:
    """The reference: every family's own tagged matcher, in order; θ validated against Θ."""
    hits = []
    for name, (grammar, spec) in grammars.items():
        result = grammar.match(utterance)
        if result.ok:
            theta, problems = validate_theta(spec.family, spec.evaluator, result.values or {}, values=True)
            hits.append(Route(name, theta, tuple(problems)))
    if not hits:
        return None
    return Route(hits[0].family, hits[0].theta, hits[0].problems, tuple(h.family for h in hits))


def test_every_route_equals_matching_each_family_on_its_own() -> None:
    grammars = {s.name: (CompiledGrammar(s.family, s.evaluator), s) for s in SPECS}
    routed = 0
    for u in UTTERANCES:
        want, got = one_by_one(u, grammars), ROUTER.route(u)
        assert (got is None) == (want is None), u
        if got is not None and want is not None:
            assert (got.family, got.theta, got.candidates) == (want.family, want.theta, want.candidates), u
            assert bool(got.problems) == bool(want.problems), u
            routed += 1
    assert routed >= 3 * K  # every sample is a member (the near misses and misses need not miss)


def test_a_hit_makes_the_same_route_as_the_routes_constructor() -> None:
    """A single-family hit builds its Route with the slots set directly: equal to Route(...), the same repr and
    fields, and as frozen."""
    hit = next(u for u in UTTERANCES if ROUTER.route(u) is not None)
    got = ROUTER.route(hit)
    assert got is not None and type(got) is Route
    made = Route(got.family, got.theta, got.problems, got.candidates)
    assert got == made and repr(got) == repr(made) and attrs.asdict(got) == attrs.asdict(made)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        got.family = "other"  # type: ignore[misc]


def test_a_saved_router_routes_exactly_as_the_one_it_was_saved_from() -> None:
    loaded = Router.from_bytes(ROUTER.to_bytes(), SPECS)
    assert len(loaded) == len(ROUTER)
    routes: list[Any] = [ROUTER.route(u) for u in UTTERANCES]
    assert sum(r is not None for r in routes) >= 3 * K
    assert [loaded.route(u) for u in UTTERANCES] == routes
    # and it saves again: a cache may rewrite what it loaded
    assert [Router.from_bytes(loaded.to_bytes(), SPECS).route(u) for u in UTTERANCES[:20]] == routes[:20]


def test_a_loaded_router_builds_a_family_on_its_first_hit_and_prepare_builds_them_all() -> None:
    """A one-shot query loads the saved router and builds only the family it routes to; a server calls
    prepare and has every family built (no first-hit penalty), routing exactly the same."""
    loaded = Router.from_bytes(ROUTER.to_bytes(), SPECS)
    assert all(e.built is None for e in loaded.entries)
    hit = next(u for u in UTTERANCES if ROUTER.route(u) is not None)
    route = loaded.route(hit)
    assert route == ROUTER.route(hit) and route is not None
    assert [e.name for e in loaded.entries if e.built is not None] == [route.family]
    loaded.prepare()
    assert all(e.built is not None for e in loaded.entries)
    assert [loaded.route(u) for u in UTTERANCES] == [ROUTER.route(u) for u in UTTERANCES]


def test_a_saved_router_needs_the_families_it_was_built_from() -> None:
    data = ROUTER.to_bytes()
    with pytest.raises(ValueError, match="was not given"):
        Router.from_bytes(data, SPECS[1:])
    with pytest.raises(ValueError, match="other families"):
        Router.from_bytes(data, [*SPECS[:-1], RoutedFamily(SPECS[-1].name, SPECS[-1].family, SPECS[-1].evaluator,
                                                            priority=5)])
    for bad in (b"", b"not a router", data[: len(data) // 2]):
        with pytest.raises(ValueError, match="not a saved router"):
            Router.from_bytes(bad, SPECS)


def test_a_router_saved_in_the_previous_format_is_refused() -> None:
    """ddl-router-5 keeps the automata's NFA tables as raw bytes after the pickle (loaded as views, not copied);
    bytes of ddl-router-4 (the tables inside the pickle) are refused, and the cache rebuilds."""
    data = ROUTER.to_bytes()
    assert data.count(b"ddl-router-5") == 1
    with pytest.raises(ValueError, match="a saved router of another version"):
        Router.from_bytes(data.replace(b"ddl-router-5", b"ddl-router-4"), SPECS)


def test_a_saved_router_whose_tables_are_cut_off_is_refused() -> None:
    data = ROUTER.to_bytes()
    for cut in (len(data) - 8, len(data) - len(data) // 4):
        with pytest.raises(ValueError, match="not a saved router"):
            Router.from_bytes(data[:cut], SPECS)


def test_priority_then_mode_orders_overlapping_families_before_and_after_saving() -> None:
    prog = ddl.loads('''
family low { param n : Int in 0..99
  grammar normalize_space { "add " n } program -> Int = n }
family high { param n : Int in 0..9
  grammar normalize_space { "add " n } program -> Int = n + 100 }
family raw { param n : Int in 0..99
  grammar { "add " n } program -> Int = n + 200 }
''')
    specs = [RoutedFamily("low", prog.checked.families["low"], prog.evaluator, priority=0),
             RoutedFamily("high", prog.checked.families["high"], prog.evaluator, priority=2),
             RoutedFamily("raw", prog.checked.families["raw"], prog.evaluator, priority=0)]
    normalized_only = Router.build(s for s in specs if s.name != "raw")
    both = Router.build(specs)
    for router in (normalized_only, both, Router.from_bytes(both.to_bytes(), specs)):
        seven, fifty = router.route("add 7"), router.route("add  50")
        assert seven is not None and (seven.family, seven.theta) == ("high", {"n": 7})
        assert fifty is not None and (fifty.family, fifty.theta) == ("low", {"n": 50})
    got = both.route("add 7")
    assert got is not None and got.candidates == ("high", "raw", "low")  # priority, then as written
    got = normalized_only.route("add 7")
    assert got is not None and got.candidates == ("high", "low")


def test_a_saved_router_keeps_except_clauses() -> None:
    prog = ddl.loads('''
family small { param n : Int in 0..99
  grammar { "add " n except "add " [5-9] [0-9] } program -> Int = n }
family big { param n : Int in 50..99
  grammar { "add " n } program -> Int = n + 1000 }
''')
    specs = [RoutedFamily(n, prog.checked.families[n], prog.evaluator) for n in prog.families]
    loaded = Router.from_bytes(Router.build(specs).to_bytes(), specs)
    small, big = loaded.route("add 7"), loaded.route("add 55")
    assert small is not None and (small.family, small.theta) == ("small", {"n": 7})
    assert big is not None and (big.family, big.theta, big.candidates) == ("big", {"n": 55}, ("big",))


def test_routes_and_overlaps_are_those_of_separate_nfas() -> None:
    """The router's automaton compiles the families' common leading parts once (LangSet's
    share_prefixes): every route and every overlap is what separately compiled NFAs give."""
    separate = Router.build(SPECS)
    entries = separate.entries
    separate._normalized = LangSet({e: e.grammar.regex for e in entries}, few=3, share_prefixes=False,
                                   minus={e: e.excluded_lang for e in entries if e.grammar.excluded is not None})
    assert len(ROUTER._normalized._kind) < len(separate._normalized._kind)  # something is shared
    assert [separate.route(u) for u in UTTERANCES] == [ROUTER.route(u) for u in UTTERANCES]
    assert separate.overlaps() == ROUTER.overlaps()
