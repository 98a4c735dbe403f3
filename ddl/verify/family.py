"""Collect a family's obligations: typed, examples (θ → output, ensures), and the grammar's."""

from __future__ import annotations

from typing import Any

from ddl.diagnostics import Diagnostic, Note
from ddl.eval import Err, validate_theta
from ddl.regular import Limits
from ddl.types.checked import CheckedExample, CheckedFamily, CheckedModule
from ddl.values import quote_text, show_value, to_json
from ddl.verify.config import CheckSettings
from ddl.verify.grammar import check_grammar
from ddl.verify.obligations import Obligation, timed
from ddl.verify.prove import prove_family
from ddl.verify.report import Finding

CHECK_LIMITS = CheckSettings().limits()  # the default limits of ddl check (ddl/verify/config.py)


def check_family(module: CheckedModule, family: CheckedFamily, evaluator: Any,
                 typed_seconds: float = 0.0, *, limits: Limits | None = None) -> list[Obligation]:
    obligations = [Obligation("typed", "", "proved", "the family type-checks", family.span, typed_seconds)]
    for ex in family.examples:
        obligations.append(example_obligation(family, ex, evaluator))
    obligations.extend(check_grammar(family, evaluator, limits=limits or CHECK_LIMITS))

    obligations.extend(prove_family(module, family, evaluator, limits=limits or CHECK_LIMITS))
    return obligations


def allowance_findings(family: CheckedFamily) -> list[Finding]:
    """Every `allow` of the family as a note (DDL612) at its declaration: an allowance is never silent
    (spec/checks.md, "no-leak, precisely"); SARIF reports it as a result suppressed in source."""
    return [Finding(Diagnostic("DDL612", f"{family.name}: no-leak({a.param}) allows {quote_text(a.text)} "
                                         f"({a.reason})", a.span, "note"),
                    family=family.name, suppression=a.reason)
            for a in family.allows]


def example_obligation(family: CheckedFamily, ex: CheckedExample, evaluator: Any) -> Obligation:
    """Evaluate one example's θ and compare the program's output with the stated output."""
    subject = f"example[{ex.index}]"
    with timed() as t:
        raw: dict[str, Any] = {}
        for name, node in ex.bindings:
            out = evaluator.eval_closed(node)
            if isinstance(out, Err):
                f = out.failure
                return Obligation("examples", subject, "refuted", f"the value of {name} fails: {f.message}",
                                  f.span, t.seconds, f.code)
            raw[name] = out.value
        theta, problems = validate_theta(family, evaluator, raw, values=True)
        if theta is None:
            return Obligation("examples", subject, "refuted", f"θ is outside Θ: {'; '.join(problems)}", ex.span,
                              t.seconds, "DDL401")
        if ex.expected is None:
            # `example "u" => { θ }`: θ ∈ Θ here; that the grammar parses u to θ is utterance[i]
            # (ddl/verify/grammar.py), and the program is not run.
            if family.grammar is None:
                return Obligation("examples", subject, "refuted",
                                  f"the family has no grammar, so nothing parses {ex.utterance!r} to this θ",
                                  ex.span, t.seconds, "DDL504",
                                  hint="add a grammar, or state the output: `=> { ... } => output`")
            return Obligation("examples", subject, "proved",
                              "θ is in Θ (no output stated: the program is not run)", ex.span, t.seconds)
        expected = evaluator.eval_closed(ex.expected)
        if isinstance(expected, Err):
            f = expected.failure
            return Obligation("examples", subject, "refuted", f"the expected output fails: {f.message}", f.span,
                              t.seconds, f.code)
        actual = evaluator.run(family.name, theta)
        shown_theta = ", ".join(f"{k} = {show_value(v)}" for k, v in theta.items())
        if isinstance(actual, Err):
            f = actual.failure
            return Obligation("examples", subject, "refuted", f"the program fails at run time: {f.message}",
                              ex.span, t.seconds, "DDL402",
                              (Note(f"the failing operation ({f.code}) with {shown_theta}", f.span),))
        if actual.value != expected.value:
            diff = first_difference(to_json(expected.value), to_json(actual.value))
            return Obligation(
                "examples", subject, "refuted", "the program's output differs from the expected output",
                ex.span, t.seconds, "DDL400",
                (Note(f"with {shown_theta}"), Note(f"expected: {show_value(expected.value)}"),
                 Note(f"actual:   {show_value(actual.value)}"), Note(diff)))
        for en in family.ensures:
            verdict = evaluator.eval_closed(en.expr, env={"result": actual.value}, params=theta)
            if isinstance(verdict, Err) or verdict.value is not True:
                label = f" \"{en.label}\"" if en.label else ""
                return Obligation("examples", subject, "refuted", f"ensures{label} does not hold", en.span,
                                  t.seconds, "DDL403", (Note(f"with {shown_theta}"), Note("the example", ex.span)))
    return Obligation("examples", subject, "proved", "the output matches", ex.span, t.seconds)


def first_difference(expected: Any, actual: Any, path: str = "output") -> str:
    if type(expected) is not type(actual):
        return f"first difference at {path}: expected {expected!r}, got {actual!r}"
    if isinstance(expected, dict):
        for key in expected:
            if key not in actual:
                return f"first difference at {path}: key {key!r} missing"
            if expected[key] != actual[key]:
                return first_difference(expected[key], actual[key], f"{path}.{key}")
        for key in actual:
            if key not in expected:
                return f"first difference at {path}: unexpected key {key!r}"
    if isinstance(expected, list):
        if len(expected) != len(actual):
            return f"first difference at {path}: expected {len(expected)} elements, got {len(actual)}"
        for i, (a, b) in enumerate(zip(expected, actual)):
            if a != b:
                return first_difference(a, b, f"{path}[{i}]")
    return f"first difference at {path}: expected {expected!r}, got {actual!r}"
