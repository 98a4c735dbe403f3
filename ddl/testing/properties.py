"""The properties `ddl test` and the pytest plugin check for every family.

* ``totality`` — no runtime error for any sampled θ ∈ Θ;
* ``determinism`` — the same θ gives the same output twice, through the
  interpreter and through the compiled form;
* ``ensures`` — every ``ensures`` clause holds on sampled θ;
* ``round_trip`` — G(φ(θ)) = θ for rendered utterances, and every sampled
  utterance yields a θ inside Θ;
* ``near_misses`` — strings just outside the grammar are rejected.

A failure is reported with the shrunk θ (or utterance) in DDL syntax, the
output or the runtime error, and the span concerned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import hypothesis
from hypothesis import HealthCheck, given, settings

from ddl.diagnostics import Diagnostic, SourceMap, Span
from ddl.eval import Err, Evaluator, validate_theta
from ddl.grammar.compile import CompiledGrammar
from ddl.regular import AutomatonTooLarge, RegularError
from ddl.testing.profiles import PROFILES, PROPERTIES, default_profile  # noqa: E402  (re-exported)
from ddl.testing.strategies import near_misses, param_values, utterances
from ddl.values import Value, show_value

__all__ = ["PROFILES", "PROPERTIES", "PropertyResult", "default_profile", "run_properties", "run_property"]


@attrs.frozen
class PropertyResult:
    family: str
    name: str
    ok: bool
    message: str = ""
    span: Span | None = None
    skipped: str | None = None  # why the property does not apply (e.g. no grammar)

    def render(self, sources: SourceMap | None = None) -> str:
        if self.ok:
            return f"{self.family}::{self.name}: {'skipped (' + self.skipped + ')' if self.skipped else 'ok'}"
        head = f"{self.family}::{self.name} FAILED: {self.message}"
        if self.span is None:
            return head

        where = Diagnostic("DDL-test", self.name, self.span).render(sources).split("\n")[1:]
        return "\n".join([f"{self.span.path}:{self.span.line}:{self.span.col}: {head}", *where])


class _Failure(AssertionError):
    def __init__(self, message: str, span: Span | None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def _theta_text(theta: dict[str, Value]) -> str:
    return "{ " + ", ".join(f"{k} = {show_value(v)}" for k, v in theta.items()) + " }"


def _short(value: Value, limit: int = 300) -> str:
    text = show_value(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_property(family: Any, name: str, *, examples: int | None = None, seed: int | None = None,
                 profile: str | None = None) -> PropertyResult:
    """Check one property of a family (a ``ddl.api.Family``) with Hypothesis."""

    checked = family.checked
    program = family.program
    compiled = program.compiled(checked.name)
    interpreter = Evaluator(program.checked)
    count = examples if examples is not None else PROFILES[profile or default_profile()]
    grammar = CompiledGrammar(checked, program.evaluator) if checked.grammar is not None else None

    if name in ("round_trip", "near_misses") and grammar is None:
        return PropertyResult(checked.name, name, True, skipped="the family has no grammar")
    if name == "ensures" and not checked.ensures:
        return PropertyResult(checked.name, name, True, skipped="the family has no ensures clause")

    def body_totality(theta: dict[str, Value]) -> None:
        out = compiled(theta)
        if isinstance(out, Err):
            f = out.failure
            raise _Failure(f"{_theta_text(theta)} fails at run time: {f.code}: {f.message}", f.span)

    def body_determinism(theta: dict[str, Value]) -> None:
        first, second, third = compiled(theta), compiled(theta), interpreter.run(checked.name, theta)
        if not (first == second == third):
            raise _Failure(f"{_theta_text(theta)} gives different results: {first!r}, {second!r} "
                           f"(compiled) and {third!r} (interpreter)", checked.program.span)

    def body_ensures(theta: dict[str, Value]) -> None:
        out = compiled(theta)
        if isinstance(out, Err):
            return  # totality reports it
        for en in checked.ensures:
            verdict = program.evaluator.eval_closed(en.expr, env={"result": out.value}, params=theta)
            if isinstance(verdict, Err) or verdict.value is not True:
                label = f" \"{en.label}\"" if en.label else ""
                raise _Failure(f"ensures{label} fails for {_theta_text(theta)}: the output is "
                               f"{_short(out.value)}", en.span)

    def body_round_trip(theta: dict[str, Value]) -> None:
        assert grammar is not None
        utterance = grammar.render(theta)
        if utterance is None:
            declined = grammar.render(theta, respect_except=False)
            if declined is not None and grammar.is_excluded(grammar.normalize(declined)):
                return  # the family's `except` clause declines this θ's utterance: nothing to round-trip
            raise _Failure(f"the grammar cannot express {_theta_text(theta)}", grammar.decl.span)
        result = grammar.match(utterance)
        if not result.ok:
            raise _Failure(f"φ({_theta_text(theta)}) = {utterance!r} is not accepted: {result.error}",
                           grammar.decl.span)
        back, problems = validate_theta(checked, program.evaluator, result.values or {}, values=True)
        if back != theta:
            got = _theta_text(back) if back is not None else "; ".join(problems)
            raise _Failure(f"G(φ(θ)) ≠ θ: θ = {_theta_text(theta)}, φ(θ) = {utterance!r}, G(φ(θ)) = {got}",
                           grammar.decl.span)

    def body_utterance(utterance: str) -> None:
        assert grammar is not None
        result = grammar.match(utterance)
        if not result.ok:
            raise _Failure(f"the sampled utterance {utterance!r} is not accepted: {result.error}", grammar.decl.span)
        back, problems = validate_theta(checked, program.evaluator, result.values or {}, values=True)
        if back is None:
            raise _Failure(f"{utterance!r} yields a θ outside Θ: {'; '.join(problems)}", grammar.decl.span)

    def body_near_miss(utterance: str) -> None:
        assert grammar is not None
        if grammar.match(utterance).ok:
            raise _Failure(f"the near-miss {utterance!r} is accepted", grammar.decl.span)

    if name not in PROPERTIES:
        raise ValueError(f"unknown property {name!r}; properties: {', '.join(PROPERTIES)}")
    runs: list[tuple[Callable[[Any], None], Any]]
    try:
        if name == "totality":
            runs = [(body_totality, param_values(family))]
        elif name == "determinism":
            runs = [(body_determinism, param_values(family))]
        elif name == "ensures":
            runs = [(body_ensures, param_values(family))]
        elif name == "round_trip":
            runs = [(body_round_trip, param_values(family)), (body_utterance, utterances(family))]
        else:
            runs = [(body_near_miss, near_misses(family))]
    except RegularError as err:  # drawing values needs a Text pattern's (or the grammar's) automaton, over its limit
        why = err.summary if isinstance(err, AutomatonTooLarge) else str(err)
        return PropertyResult(checked.name, name, False, f"cannot draw values to test: an automaton is too large "
                              f"({why}); simplify the Text pattern or the grammar", checked.span)

    for body, strategy in runs:
        failure = _run(body, strategy, count, seed)
        if failure is not None:
            return PropertyResult(checked.name, name, False, failure.message, failure.span)
    return PropertyResult(checked.name, name, True)


def _run(body: Callable[[Any], None], strategy: Any, count: int, seed: int | None) -> _Failure | None:
    # Hypothesis replays the shrunk example last, so the failure we keep is the minimal one.
    last: list[_Failure] = []

    def test(value: Any) -> None:
        try:
            body(value)
        except _Failure as failure:
            last.append(failure)
            raise

    runner = settings(max_examples=count, deadline=None, database=None, derandomize=seed is None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                      print_blob=False)(given(strategy)(test))
    if seed is not None:
        runner = hypothesis.seed(seed)(runner)
    try:
        runner()
    except _Failure:
        return last[-1] if last else None
    return None


def run_properties(family: Any, **options: Any) -> list[PropertyResult]:
    return [run_property(family, name, **options) for name in PROPERTIES]
