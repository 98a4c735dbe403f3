"""The whole front end is total on hostile input: ``ddl.api.check_source`` (parse, type-check,
and every obligation of every family: examples, grammar automata, the verifier) answers any
source with a result whose diagnostics are all catalogued, never an exception and never DDL999.

Why these tests: tests/test_fuzz.py and tests/test_fuzz_check.py cover the parser and the
checker; this suite pushes inputs through verification as well, where the automata are built:
random and mutated sources, and well-formed families whose grammars are built to be expensive
(nested bounded repetitions, nested ``any_order``, classes of hundreds of code points, towers
of complements, thousands of alternatives, nesting past the depth limit, wide parameter
spaces).  The inputs come from tests/fuzz_sources.py, shared with bench/soak.py, which runs the
big sizes for as long as it is given and reports crashes, timeouts, worst time and memory.
Here the sizes are those whose check takes seconds at most, so the suite stays bounded in CI.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from fuzz_sources import (
    HOSTILE,
    SMALL_EXAMPLES,
    check_outcome,
    example_texts,
    family_source,
    hostile,
    mutated,
    random_source,
    token_soup,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddl.api import check_source

EXAMPLES = settings().max_examples
_light = settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
_heavy = settings(max_examples=max(5, EXAMPLES // 6), suppress_health_check=[HealthCheck.too_slow])
SMALL = example_texts(SMALL_EXAMPLES)
# st.randoms() draws a random.Random whose choices Hypothesis records, replays and shrinks.
RANDOMS = st.randoms(use_true_random=False)


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Where the inputs claim to live: an empty directory, so an import finds nothing of ours."""
    return str(tmp_path_factory.mktemp("fuzz") / "input.ddl")


@_light
@given(RANDOMS)
def test_random_sources_are_answered_with_diagnostics(path: str, rng: random.Random) -> None:
    source = random_source(rng)
    assert check_outcome(source, path) is None


@_light
@given(RANDOMS)
def test_token_soup_is_answered_with_diagnostics(path: str, rng: random.Random) -> None:
    assert check_outcome(token_soup(rng), path) is None


@pytest.mark.slow
@_heavy
@given(RANDOMS)
def test_mutated_examples_are_checked_without_a_crash(path: str, rng: random.Random) -> None:
    assert check_outcome(mutated(rng, SMALL), path) is None


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(HOSTILE))
@_heavy
@given(RANDOMS)
def test_hostile_families_are_checked_without_a_crash(path: str, kind: str, rng: random.Random) -> None:
    _, source = hostile(rng, kind, big=False)
    assert check_outcome(source, path) is None


def test_the_generators_reach_the_verifier(path: str) -> None:
    """Guard: most hostile families are well-formed, so their grammars are compiled and their
    obligations discharged (a generator that only made syntax errors would test the parser)."""
    checked = 0
    for seed in range(len(HOSTILE) * 2):
        kind = sorted(HOSTILE)[seed % len(HOSTILE)]
        _, source = hostile(random.Random(seed), kind, big=False)
        result = check_source(source, path)
        checked += bool(result.families and result.families[0].obligations)
    assert checked >= len(HOSTILE)


def _grammar(body: str) -> str:
    return family_source(body)


# Extremes, each with what the user must see: a catalogued diagnostic (or a clean pass).
EXTREMES = {
    "10,000 nested parentheses": (_grammar("(" * 10_000 + '"z"' + ")" * 10_000 + ' " " n'), {"DDL105"}),
    "300 complements": (_grammar("~" * 300 + '"z" " " n'), {"DDL105"}),
    "5,000 optionals in a row": (_grammar('"a"' + "?" * 5000 + ' " " n'), {"DDL105"}),
    "3,000 repetitions in a row": (_grammar('"a"' + "{2}" * 3000 + ' " " n'), {"DDL105"}),
    "2^20 copies of a literal": (_grammar('"a"' + "{2}" * 20 + ' " " n'), {"DDL506"}),
    "5,000 alternatives": (_grammar("(" + " | ".join(f'"{i}"' for i in range(5000)) + ') " " n'), set()),
    "a class of 20,000 code points": (_grammar("[" + "".join(map(chr, range(0x4E00, 0x9E20))) + '] " " n'), set()),
    "a negated class, 1,000 times": (_grammar('[^a]{1000} " " n'), set()),
    "any_order of 12 parts": (_grammar("any_order(" + ", ".join(f'"w{i}"' for i in range(12)) + ') " " n'), {"DDL220"}),
    "a rule that refers to itself": (_grammar('rule r = "x" r; r " " n'), {"DDL209"}),
    "a 1,000-digit product": (family_source('"go " n', program='"${' + "9" * 999 + " * " + "9" * 999 + '}"'), {"DDL601"}),
    "a 1,001-digit literal": (family_source('"go " n', program='"${' + "9" * 1001 + '}"'), {"DDL111"}),
}


@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_extreme_sources_get_the_diagnostic_a_user_should_see(path: str, name: str) -> None:
    source, expected = EXTREMES[name]
    assert check_outcome(source, path) is None
    result = check_source(source, path)
    assert {finding.diagnostic.code for finding in result.findings} == expected


def test_a_lone_surrogate_in_a_str_source_is_ddl101(path: str) -> None:
    """Text that is not Unicode (a lone surrogate in a str) is reported like bytes that are not UTF-8."""
    result = check_source('family f { "\ud800" }', path)
    assert [f.diagnostic.code for f in result.findings] == ["DDL101"]
    assert result.findings[0].diagnostic.span.line == 1


def test_the_path_the_inputs_claim_is_empty(path: str) -> None:
    """Guard for the fixture: imports in fuzzed sources resolve in a directory with no files."""
    assert not any(Path(path).parent.iterdir())
