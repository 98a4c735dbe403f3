"""ddl.testing: Hypothesis strategies for Θ, utterances and near-misses, as a user's tests use them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import find, given, settings

import ddl
from ddl.eval import validate_theta
from ddl.grammar.compile import CompiledGrammar
from ddl.testing import near_misses, param_values, params, utterances

ROOT = Path(__file__).resolve().parent.parent
BOOKS = ddl.load(ROOT / "examples" / "books.ddl").family("recommend_books")
BILL = ddl.load(ROOT / "examples" / "bill.ddl").family("split_bill")
FAMILIES = [ddl.load(p).family(n) for p in sorted((ROOT / "examples").glob("*.ddl")) for n in ddl.load(p).families]


@given(params(BOOKS))
def test_url_mentions_genre(theta: dict) -> None:  # the README's example, as a user writes it
    out = BOOKS(**theta)
    assert theta["genre"] in out["url"]
    assert out["query"]["limit"] == str(theta["count"])


@given(params(BOOKS))
def test_where_refinements_hold_without_filtering(theta: dict) -> None:
    assert theta["decade"] % 10 == 0 and 1900 <= theta["decade"] <= 2020


@given(params(BILL))
def test_decimals_have_their_scale_and_range(theta: dict) -> None:
    total = theta["total"]
    assert isinstance(total, Decimal) and total.as_tuple().exponent == -2
    assert Decimal("0.01") <= total <= Decimal("100000.00")


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_every_drawn_theta_is_in_theta_and_runs(family: ddl.Family) -> None:
    @settings(max_examples=25, deadline=None)
    @given(param_values(family))
    def check(theta: dict) -> None:
        again, problems = validate_theta(family.checked, family.program.evaluator, theta, values=True)
        assert again == theta, problems
        family.program.compiled(family.name)(theta)

    check()


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_utterances_are_accepted_and_near_misses_rejected(family: ddl.Family) -> None:
    grammar = CompiledGrammar(family.checked, family.program.evaluator)

    @settings(max_examples=20, deadline=None)
    @given(utterances(family), near_misses(family))
    def check(u: str, miss: str) -> None:
        assert grammar.match(u).ok, u
        assert not grammar.match(miss).ok, miss

    check()


def test_shrinking_gives_the_minimal_theta() -> None:
    theta = find(params(BOOKS), lambda th: th["count"] >= 7 and th["decade"] > 1950)
    assert theta == {"genre": "fantasy", "count": 7, "decade": 1960}


def test_a_family_without_grammar_has_no_utterances() -> None:
    program = ddl.loads("family f { param n : Int in 1..3\n program -> Int = n }")
    with pytest.raises(ValueError, match="family f has no grammar"):
        utterances(program.family("f"))
