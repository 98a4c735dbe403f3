"""The compiled backend against the interpreter on the shipped families, at random θ from their Θ.

The compiled program hands a failing run to the interpreter, so agreeing on outcomes alone would
not show that its own code is right: these tests also require that no run the interpreter
finishes with a value left the fast path.  The stdlib has no families; its functions run here
through the example families that import them (bill: num, text; dates: date; books: phrasing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ddl
from ddl.api import ArgumentError
from ddl.diagnostics import SourceMap
from ddl.eval import Evaluator, Ok, compile_call, compile_family, validate_theta
from ddl.eval.compile import compile_source
from ddl.eval.ops import UNTIMED, Ctx
from ddl.eval.theta import ThetaChecker
from ddl.testing.strategies import param_values, params
from ddl.values import RecordV, SomeV, to_json

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FAMILIES = [(path.name, name) for path in sorted(EXAMPLES.glob("*.ddl"))
            for name in ddl.load(path).checked.families]


@pytest.fixture(scope="module")
def programs() -> dict[str, Any]:
    return {path.name: ddl.load(path) for path in sorted(EXAMPLES.glob("*.ddl"))}


@pytest.mark.parametrize(("file", "family"), FAMILIES)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_compiled_program_matches_the_interpreter_without_leaving_the_fast_path(
    programs: dict[str, Any], file: str, family: str, data: st.DataObject
) -> None:
    program = programs[file]
    evaluator = Evaluator(program.checked)
    checked = program.checked.families[family]
    theta = data.draw(param_values((checked, evaluator)))
    left: list[BaseException] = []
    compiled = compile_family(program.checked, family, on_fallback=left.append)(theta)
    interpreted = evaluator.run(family, theta)
    assert compiled == interpreted
    if isinstance(interpreted, Ok):
        assert left == []  # the generated code computed it, not the fallback
        assert compile_call(program.checked, family)(theta) == to_json(interpreted.value)
        _, generated = compile_source(program.checked, family, evaluator)
        ctx = Ctx(UNTIMED, theta)
        assert generated(ctx, *theta.values()) == interpreted.value
        assert ctx.steps == evaluator.last_steps  # the count that decides DDL305, exactly


@pytest.mark.parametrize(("file", "family"), FAMILIES)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_calling_a_family_from_python_gives_the_interpreters_json(
    programs: dict[str, Any], file: str, family: str, data: st.DataObject
) -> None:
    program = programs[file]
    fam = program.family(family)
    kwargs = data.draw(params(fam))
    theta, problems = validate_theta(fam.checked, program.evaluator, kwargs)
    assert problems == [] and theta is not None
    outcome = Evaluator(program.checked).run(family, theta)
    if isinstance(outcome, Ok):
        assert fam(**kwargs) == to_json(outcome.value)
        if ThetaChecker(fam.checked, program.evaluator, program.checked).fast:
            entry = program.caller(family)[2]
            assert entry(kwargs) == to_json(outcome.value)  # the generated call itself, not the general path


BAD_BOOKS = [
    {"genre": "mystery", "count": 3, "decade": 1955},  # violates the where clause
    {"genre": "mystery", "count": 0},  # outside the range
    {"genre": "mystery", "count": "3"},  # text for an Int
    {"genre": "poetry"},  # not a variant
    {"genre": "mystery", "cuont": 3},  # unknown parameter
    {"count": 3},  # a required parameter missing
    {"genre": "Mysteries", "count": True},  # a case-folded alias; a Bool is not an Int
]
GOOD_BOOKS = [
    {"genre": "mysteries"}, {"genre": "Sci-Fi", "decade": 1980}, {"genre": "science fiction", "count": 20},
    {"genre": "science_fiction", "count": 1, "decade": 1900},
]


@pytest.mark.parametrize("raw", BAD_BOOKS + GOOD_BOOKS)
def test_the_prepared_checker_answers_exactly_as_validate_theta(programs: dict[str, Any], raw: dict[str, Any]) -> None:
    program = programs["books.ddl"]
    checked = program.checked.families["recommend_books"]
    checker = ThetaChecker(checked, program.evaluator, program.checked)
    assert checker(raw) == validate_theta(checked, program.evaluator, raw)


def test_a_violated_where_is_quoted_from_the_source_in_the_callers_error(programs: dict[str, Any]) -> None:
    books = programs["books.ddl"].family("recommend_books")
    with pytest.raises(ArgumentError) as err:
        books(genre="mystery", decade=1955)
    assert str(err.value) == "recommend_books: decade = 1955 violates where decade % 10 == 0"


def test_validation_reads_no_source_on_success(programs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A where clause is quoted from the source only for an error: a valid θ reads no source line."""
    read: list[tuple[str, int]] = []
    real_line = SourceMap.line

    def line(self: SourceMap, path: str, number: int) -> str | None:
        read.append((path, number))
        return real_line(self, path, number)

    monkeypatch.setattr(SourceMap, "line", line)
    books = programs["books.ddl"].family("recommend_books")
    theta, problems = validate_theta(books.checked, books.program.evaluator, {"genre": "fantasy", "decade": 1990})
    assert problems == [] and theta is not None
    assert books(genre="mystery", count=3, decade=1950)["query"] == {"limit": "3", "published_in": "1950-1959"}
    assert read == []
    _, problems = validate_theta(books.checked, books.program.evaluator, {"genre": "fantasy", "decade": 1995})
    assert problems == ["decade = 1995 violates where decade % 10 == 0"] and len(read) == 1


def test_generated_code_may_build_options_and_records_by_their_slots() -> None:
    """compile.py sets SomeV's and RecordV's slots directly: right only while their __init__ does nothing else."""
    for cls in (SomeV, RecordV):
        for field in attrs.fields(cls):
            assert field.validator is None and field.converter is None and field.default is attrs.NOTHING
        assert not hasattr(cls, "__attrs_post_init__") and not hasattr(cls, "__attrs_pre_init__")
