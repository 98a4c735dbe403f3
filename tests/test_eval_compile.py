"""The closure compiler agrees exactly with the interpreter: values, failures, spans, θ and steps."""

from __future__ import annotations

import itertools
import textwrap
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddl.diagnostics import Span
from ddl.eval import Err, Evaluator, Ok, compile_family, validate_theta
from ddl.eval.compile import compile_source
from ddl.eval.ops import UNTIMED, Ctx
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedModule, CheckedParam
from ddl.types.model import BOOL, INT, TEXT, IntT, ListT, OptionT

_ids = itertools.count(1)


def _span() -> Span:
    """A distinct span per node, so a failure's span tells exactly which node failed."""
    k = next(_ids)
    return Span("gen.ddl", k, k + 1, k, 1, k, 2)


def _module(program: ir.Node) -> CheckedModule:
    params = tuple(CheckedParam(n, INT, None, None, _span(), None) for n in ("x", "y"))  # type: ignore[arg-type]
    fam = CheckedFamily("g", None, params, program.type, program, (), (), (), None, None, None)  # type: ignore[arg-type]
    return CheckedModule("gen.ddl", None, {"g": fam}, {}, {})  # type: ignore[arg-type]


NAMES = ("a", "b", "c")


@st.composite
def int_expr(draw: st.DrawFn, scope: tuple[str, ...] = (), depth: int = 3) -> ir.Node:
    kinds = ["const", "param"] + (["local"] if scope else [])
    if depth > 0:
        kinds += ["arith", "arith", "if", "let", "neg", "narrow", "sum_range", "fold", "match", "index", "len_interp",
                  "coalesce", "match_option"]
    kind = draw(st.sampled_from(kinds))
    sub = depth - 1
    if kind == "const":
        return ir.Const(draw(st.integers(-6, 6)), INT, span=_span())
    if kind == "param":
        return ir.Param(draw(st.sampled_from(["x", "y"])), INT, span=_span())
    if kind == "local":
        return ir.Local(draw(st.sampled_from(scope)), INT, span=_span())
    if kind == "arith":
        op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
        return ir.Arith(op, "int", draw(int_expr(scope, sub)), draw(int_expr(scope, sub)), INT, span=_span())
    if kind == "if":
        return ir.If(draw(bool_expr(scope, sub)), draw(int_expr(scope, sub)), draw(int_expr(scope, sub)), INT,
                     span=_span())
    if kind == "let":
        name = draw(st.sampled_from(NAMES))
        value = draw(int_expr(scope, sub))
        return ir.Let(name, value, draw(int_expr((*scope, name), sub)), INT, span=_span())
    if kind == "neg":
        return ir.Neg(draw(int_expr(scope, sub)), INT, span=_span())
    if kind == "narrow":
        return ir.Narrow(draw(int_expr(scope, sub)), IntT(-3, 3), span=_span())
    if kind == "sum_range":
        def bounded() -> ir.Node:
            lo, hi = ir.Const(-2, INT, span=_span()), ir.Const(3, INT, span=_span())
            return ir.CallBuiltin("clamp", (draw(int_expr(scope, sub)), lo, hi), INT, span=_span())

        inner = (*scope, "i")
        cond = draw(st.none() | bool_expr(inner, sub))
        rng = ir.Range(bounded(), bounded(), ListT(INT), span=_span())
        comp = ir.Comprehension(draw(int_expr(inner, sub)), "i", rng, cond, ListT(INT), span=_span())
        return ir.CallBuiltin("sum", (comp,), INT, span=_span())
    if kind == "fold":
        items = draw(st.lists(int_expr(scope, sub), max_size=3))
        lam = ir.Lambda(("acc", "e"), (INT, INT), draw(int_expr((*scope, "acc", "e"), sub)), INT, span=_span())
        xs = ir.MakeList(tuple(items), ListT(INT), span=_span())
        return ir.CallBuiltin("fold", (xs, draw(int_expr(scope, sub)), lam), INT, span=_span())
    if kind == "match":
        consts = draw(st.lists(st.integers(-3, 3), max_size=3, unique=True))
        arms = [ir.Arm(ir.PatConst(k), draw(int_expr(scope, sub)), span=_span()) for k in consts]
        arms.append(ir.Arm(ir.PatWild(), draw(int_expr(scope, sub)), span=_span()))
        return ir.Match(draw(int_expr(scope, sub)), tuple(arms), INT, span=_span())
    if kind == "index":
        elems = tuple(draw(st.lists(int_expr(scope, sub), min_size=0, max_size=3)))
        xs = ir.MakeList(elems, ListT(INT), span=_span())
        return ir.Index("list", xs, draw(int_expr(scope, sub)), INT, span=_span())
    if kind == "len_interp":
        text = ir.Interp(("v=", draw(int_expr(scope, sub)), ";"), TEXT, span=_span())
        return ir.CallBuiltin("len", (text,), INT, span=_span())
    if kind == "match_option":
        # some(v) / none / _ arms in any order, possibly non-exhaustive (then no arm applies: DDL999).
        xs = ir.MakeList(tuple(draw(st.lists(int_expr(scope, sub), max_size=2))), ListT(INT), span=_span())
        got = ir.CallBuiltin("get", (xs, draw(int_expr(scope, sub))), OptionT(INT), span=_span())
        opt_arms = []
        for pat_kind in draw(st.lists(st.sampled_from(["some", "none", "wild"]), min_size=1, max_size=3)):
            if pat_kind == "some":
                name = draw(st.sampled_from(NAMES))  # may shadow an outer local
                pat: ir.IRPattern = ir.PatSome(name)
                body = draw(int_expr((*scope, name), sub))
            else:
                pat = ir.PatNone() if pat_kind == "none" else ir.PatWild()
                body = draw(int_expr(scope, sub))
            opt_arms.append(ir.Arm(pat, body, span=_span()))
        return ir.Match(got, tuple(opt_arms), INT, span=_span())
    assert kind == "coalesce"
    xs = ir.MakeList(tuple(draw(st.lists(int_expr(scope, sub), max_size=2))), ListT(INT), span=_span())
    got = ir.CallBuiltin("get", (xs, draw(int_expr(scope, sub))), OptionT(INT), span=_span())
    return ir.Coalesce(got, draw(int_expr(scope, sub)), INT, span=_span())


@st.composite
def bool_expr(draw: st.DrawFn, scope: tuple[str, ...] = (), depth: int = 2) -> ir.Node:
    kind = draw(st.sampled_from(["cmp", "cmp", "logic", "not"] if depth > 0 else ["cmp"]))
    sub = max(depth - 1, 0)
    if kind == "cmp":
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        return ir.Compare(op, draw(int_expr(scope, sub)), draw(int_expr(scope, sub)), BOOL, span=_span())
    if kind == "logic":
        op = draw(st.sampled_from(["and", "or"]))
        return ir.Logic(op, draw(bool_expr(scope, sub)), draw(bool_expr(scope, sub)), BOOL, span=_span())
    return ir.Not(draw(bool_expr(scope, sub)), BOOL, span=_span())


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile (conftest)
@given(
    program=int_expr(),
    x=st.integers(-3, 3),
    y=st.integers(-3, 3),
    budget=st.sampled_from([1, 7, 25, 60, 1_000_000]),
)
def test_compiled_code_agrees_with_the_interpreter(program: ir.Node, x: int, y: int, budget: int) -> None:
    module = _module(program)
    theta = {"x": x, "y": y}
    expected = Evaluator(module, step_budget=budget).run("g", theta)
    actual = compile_family(module, "g", step_budget=budget)(theta)
    assert actual == expected


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=int_expr(), x=st.integers(-3, 3), y=st.integers(-3, 3))
def test_generated_code_counts_the_interpreters_steps_on_every_run_that_succeeds(
    program: ir.Node, x: int, y: int
) -> None:
    """The step count is what decides DDL305, so the fast path must count exactly (not just agree on outcomes)."""
    module = _module(program)
    theta = {"x": x, "y": y}
    evaluator = Evaluator(module, budget=UNTIMED)
    expected = evaluator.run("g", theta)
    _, generated = compile_source(module, "g", evaluator)
    ctx = Ctx(UNTIMED, theta)
    try:
        value = generated(ctx, x, y)
    except Exception:  # noqa: BLE001 - a failing run is the interpreter's: nothing to count here
        assert not isinstance(expected, Ok)
        return
    assert expected == Ok(value)
    assert ctx.steps == evaluator.last_steps


def test_the_generator_reaches_every_outcome() -> None:
    """Guard against a vacuous property: the trees above produce values and each failure kind."""
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(program=int_expr(), x=st.integers(-3, 3), budget=st.sampled_from([25, 1_000_000]))
    def collect(program: ir.Node, x: int, budget: int) -> None:
        out = Evaluator(_module(program), step_budget=budget).run("g", {"x": x, "y": 0})
        seen.add("ok" if isinstance(out, Ok) else out.failure.code)

    collect()
    assert {"ok", "DDL300", "DDL301", "DDL302", "DDL305", "DDL999"} <= seen


@st.composite
def tagged_match(draw: st.DrawFn) -> ir.Match:
    """A match whose arm i evaluates to i: the outcome names the arm taken."""
    if draw(st.booleans()):
        scrutinee = draw(int_expr(depth=2))
        patterns: list[ir.IRPattern] = []
        for _ in range(draw(st.integers(1, 4))):
            wild = draw(st.integers(0, 3)) == 0
            patterns.append(ir.PatWild() if wild else ir.PatConst(draw(st.integers(-3, 3))))
    else:
        xs = ir.MakeList(tuple(draw(st.lists(int_expr(depth=1), max_size=2))), ListT(INT), span=_span())
        scrutinee = ir.CallBuiltin("get", (xs, ir.Param("x", INT, span=_span())), OptionT(INT), span=_span())
        option_patterns: list[ir.IRPattern] = [ir.PatWild(), ir.PatNone(), ir.PatSome("v")]
        patterns = [draw(st.sampled_from(option_patterns)) for _ in range(draw(st.integers(1, 3)))]
    arms = tuple(ir.Arm(p, ir.Const(i, INT, span=_span()), span=_span()) for i, p in enumerate(patterns))
    return ir.Match(scrutinee, arms, INT, span=_span())


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(match=tagged_match(), x=st.integers(-3, 3), y=st.integers(-3, 3))
def test_both_backends_take_the_arm_arm_index_picks(match: ir.Match, x: int, y: int) -> None:
    """Interpreter, compiler and the branch recorder all take the arm ddl.eval.arms.arm_index names."""
    from ddl.eval.arms import arm_index

    module = _module(match)
    theta = {"x": x, "y": y}
    evaluator = Evaluator(module)
    scrutinee = evaluator.eval_closed(match.scrutinee, params=theta)
    recorded: list[int] = []
    recorder = Evaluator(module)
    recorder.record_branches(lambda node, arm: recorded.append(arm) if node is match else None)
    interpreted = recorder.run("g", theta)
    compiled = compile_family(module, "g")(theta)
    assert compiled == interpreted == evaluator.run("g", theta)
    if isinstance(scrutinee, Err):
        assert interpreted == Err(scrutinee.failure) and recorded == []
        return
    expected = arm_index(match, scrutinee.value)
    if expected is None:
        assert isinstance(interpreted, Err) and interpreted.failure.code == "DDL999"
        assert "no match arm applies" in interpreted.failure.message
        assert recorded == []
    else:
        assert interpreted == Ok(expected) and recorded == [expected]


def test_compiled_family_is_reusable_and_keeps_no_state_between_runs() -> None:
    program = ir.Arith("/", "int", ir.Const(12, INT, span=_span()), ir.Param("x", INT, span=_span()), INT, span=_span())
    run = compile_family(_module(program), "g", step_budget=3)
    assert run({"x": 4, "y": 0}) == Ok(3)
    failed = run({"x": 0, "y": 9})
    assert isinstance(failed, Err) and failed.failure.theta == (("x", 0), ("y", 9))
    assert run({"x": -5, "y": 0}) == Ok(-3)  # the step counter starts afresh each run


# ------------------------------------------------------------------ through DDL source

SRC = """
enum Unit { celsius, fahrenheit = "fahrenheit" | "F" }
table offsets : Unit -> Decimal(1) { celsius => 0.0, fahrenheit => 32.0 }
fn scale(u: Unit) -> Decimal(1) = match u { celsius => 1.0, fahrenheit => 1.8 }

family convert {
  type Reading = { value: Decimal(2), unit: Text, label: Text(max 30), steps: List[Int] }
  param degrees : Int in -100..100
  param unit : Unit = celsius
  param parts : Int in 0..4 = 2
  program -> Reading =
    let v = degrees * scale(unit) + offsets[unit];
    Reading {
      value = round(v / 1, 2),
      unit = text(unit),
      label = "${v} ${unit}" ++ (if parts > 2 then "!" else ""),
      steps = [degrees / parts + i for i in 1..3 if i != parts],
    }
}
"""


@pytest.fixture(scope="module")
def convert() -> CheckedModule:
    from ddl.api import compile_source

    checked, diags = compile_source(textwrap.dedent(SRC), "convert.ddl")
    assert checked is not None and not [d for d in diags if d.is_error], [d.render() for d in diags]
    return checked


@pytest.mark.parametrize(
    "raw",
    [
        {"degrees": 21},
        {"degrees": -40, "unit": "F", "parts": 4},
        {"degrees": 100, "unit": "fahrenheit", "parts": 3},
        {"degrees": 7, "parts": 0},  # division by zero
    ],
)
def test_both_backends_agree_on_a_source_family(convert: CheckedModule, raw: dict[str, Any]) -> None:
    evaluator = Evaluator(convert)
    theta, errors = validate_theta(convert.families["convert"], evaluator, raw)
    assert errors == [] and theta is not None
    expected = evaluator.run("convert", theta)
    assert compile_family(convert, "convert")(theta) == expected
    if raw.get("parts") == 0:
        assert isinstance(expected, Err) and expected.failure.code == "DDL300"
    else:
        assert isinstance(expected, Ok)


def test_source_family_values(convert: CheckedModule) -> None:
    from ddl.values import to_json

    evaluator = Evaluator(convert)
    theta, _ = validate_theta(convert.families["convert"], evaluator, {"degrees": -40, "unit": "F", "parts": 4})
    assert theta is not None
    out = compile_family(convert, "convert")(theta)
    assert isinstance(out, Ok)
    assert to_json(out.value) == {
        "value": "-40.00", "unit": "fahrenheit", "label": "-40.0 fahrenheit!", "steps": [-9, -8, -7],
    }


def test_both_backends_agree_on_every_shipped_example() -> None:
    from pathlib import Path

    from ddl.api import compile_file

    paths = sorted(Path(__file__).resolve().parent.parent.joinpath("examples").glob("*.ddl"))
    compared = 0
    for path in paths:
        checked, diags = compile_file(path)
        assert checked is not None, [d.message for d in diags]
        evaluator = Evaluator(checked)
        for fam in checked.families.values():
            run = compile_family(checked, fam.name)
            for ex in fam.examples:
                raw = {}
                for name, node in ex.bindings:
                    value = evaluator.eval_closed(node)
                    assert isinstance(value, Ok), value
                    raw[name] = value.value
                theta, errors = validate_theta(fam, evaluator, raw, values=True)
                assert errors == [] and theta is not None, (path, fam.name, ex.index, errors)
                assert run(theta) == evaluator.run(fam.name, theta)
                compared += 1
    assert compared >= 10


def test_a_program_too_deeply_nested_for_pythons_compiler_runs_on_the_interpreter() -> None:
    """300 nested `not`s are one Python expression past the parser's nesting limit: the interpreter runs it."""
    program: ir.Node = ir.Compare("==", ir.Param("x", INT, span=_span()), ir.Const(0, INT, span=_span()), BOOL,
                                  span=_span())
    for _ in range(300):
        program = ir.Not(program, BOOL, span=_span())
    module = _module(program)
    left: list[BaseException] = []
    run = compile_family(module, "g", on_fallback=left.append)
    assert run({"x": 0, "y": 0}) == Evaluator(module).run("g", {"x": 0, "y": 0}) == Ok(True)
    assert run({"x": 1, "y": 0}) == Ok(False)
