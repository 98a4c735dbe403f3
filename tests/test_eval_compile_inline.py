"""The compiled backend's optimisations against the interpreter: values, failures and exact steps.

What is checked here: DDL functions written in place of their calls (inlining), a call met again
on the same values reusing the first one's value and steps, pure expressions computed once, records
read from their field locals, the built-ins written inline (show, slice, trim, parse_int, pad_left,
join), and Text patterns of finite languages matched by a regex written from their DFA.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ddl
from ddl.diagnostics import Span
from ddl.eval import Evaluator, Ok, compile_family
from ddl.eval import compile as compile_module
from ddl.eval.compile import compile_source
from ddl.eval.ops import UNTIMED, Budget, Ctx, dfa_regex, fast_pattern_matcher, pattern_matcher
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedFn, CheckedModule, CheckedParam
from ddl.types.model import BOOL, INT, TEXT, IntT
from ddl.values import NONE

_ids = itertools.count(1)
BIG = 2**2100  # past ops.SMALL_INT: arithmetic on it charges extra steps


def _span() -> Span:
    k = next(_ids)
    return Span("gen.ddl", k, k + 1, k, 1, k, 2)


@st.composite
def fn_expr(draw: st.DrawFn, scope: tuple[str, ...], depth: int, calls: tuple[tuple[str, int], ...],
            params: bool = False) -> ir.Node:
    """Int expressions over locals (and θ's x, y), calling the functions in ``calls``."""
    kinds = ["const", "big"] + (["local"] if scope else []) + (["param"] if params else [])
    if depth > 0:
        kinds += ["arith", "arith", "if", "let", "narrow", "show_len", "match", "dup", "dup", "option", "coalesce"] + (
            ["call", "call", "twice"] if calls else [])
    kind = draw(st.sampled_from(kinds))
    sub = depth - 1

    def leaf() -> ir.Node:  # what a call's argument often is: the same leaves make the same call again
        choices = ["const"] + (["local"] if scope else []) + (["param"] if params else [])
        pick = draw(st.sampled_from(choices))
        if pick == "local":
            return ir.Local(draw(st.sampled_from(scope)), INT, span=_span())
        if pick == "param":
            return ir.Param(draw(st.sampled_from(["x", "y"])), INT, span=_span())
        return ir.Const(draw(st.integers(-2, 2)), INT, span=_span())

    def call(key: str, arity: int) -> ir.CallFn:
        args = tuple(leaf() if draw(st.booleans()) else draw(fn_expr(scope, sub, calls, params)) for _ in range(arity))
        return ir.CallFn(key, args, INT, span=_span())

    if kind == "const":
        return ir.Const(draw(st.integers(-6, 6)), INT, span=_span())
    if kind == "big":
        return ir.Const(draw(st.sampled_from([BIG, -BIG])), INT, span=_span())
    if kind == "local":
        return ir.Local(draw(st.sampled_from(scope)), INT, span=_span())
    if kind == "param":
        return ir.Param(draw(st.sampled_from(["x", "y"])), INT, span=_span())
    if kind == "arith":
        op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
        return ir.Arith(op, "int", draw(fn_expr(scope, sub, calls, params)), draw(fn_expr(scope, sub, calls, params)),
                        INT, span=_span())
    if kind == "if":
        cond = ir.Compare(draw(st.sampled_from(["<", "==", ">="])), draw(fn_expr(scope, sub, calls, params)),
                          draw(fn_expr(scope, sub, calls, params)), BOOL, span=_span())
        return ir.If(cond, draw(fn_expr(scope, sub, calls, params)), draw(fn_expr(scope, sub, calls, params)), INT,
                     span=_span())
    if kind == "let":
        name = draw(st.sampled_from(["a", "b", "c"]))
        value = draw(fn_expr(scope, sub, calls, params))
        return ir.Let(name, value, draw(fn_expr((*scope, name), sub, calls, params)), INT, span=_span())
    if kind == "narrow":
        return ir.Narrow(draw(fn_expr(scope, sub, calls, params)), IntT(-3, 3), span=_span())
    if kind == "show_len":
        shown = ir.CallBuiltin("show", (draw(fn_expr(scope, sub, calls, params)),), TEXT, span=_span())
        return ir.CallBuiltin("len", (shown,), INT, span=_span())
    if kind == "dup":  # the same operation on the same values twice: the second is computed once but charged again
        op = draw(st.sampled_from(["+", "*", "%"]))
        left, right = leaf(), leaf()
        twice = [ir.Arith(op, "int", left, right, INT, span=_span()) for _ in range(2)]
        return ir.Arith("-", "int", *twice, INT, span=_span())
    if kind in ("option", "coalesce"):
        # An option built in one branch, none in the other (what is known of its value flows through both).
        from ddl.types.model import OptionT

        cond = ir.Compare("<", draw(fn_expr(scope, sub, calls, params)), leaf(), BOOL, span=_span())
        held = draw(st.sampled_from(["big", "leaf", "expr"]))
        inner = (ir.Const(BIG, INT, span=_span()) if held == "big" else leaf() if held == "leaf"
                 else draw(fn_expr(scope, sub, calls, params)))
        some = ir.MakeSome(inner, OptionT(INT), span=_span())
        none = ir.Const(NONE, OptionT(INT), span=_span())
        opt = ir.If(cond, some, none, OptionT(INT), span=_span())
        if kind == "coalesce":
            return ir.Coalesce(opt, draw(fn_expr(scope, sub, calls, params)), INT, span=_span())
        name = draw(st.sampled_from(["a", "b", "c"]))
        used = ir.Arith(draw(st.sampled_from(["+", "*"])), "int", ir.Local(name, INT, span=_span()), leaf(), INT,
                        span=_span())
        arms = (ir.Arm(ir.PatSome(name), used, span=_span()),
                ir.Arm(ir.PatNone(), draw(fn_expr(scope, sub, calls, params)), span=_span()))
        return ir.Match(opt, arms, INT, span=_span())
    if kind == "match":
        arms = [ir.Arm(ir.PatConst(k), draw(fn_expr(scope, sub, calls, params)), span=_span()) for k in (0, 1)]
        arms.append(ir.Arm(ir.PatWild(), draw(fn_expr(scope, sub, calls, params)), span=_span()))
        return ir.Match(draw(fn_expr(scope, sub, calls, params)), tuple(arms), INT, span=_span())
    key, arity = draw(st.sampled_from(calls))
    first = call(key, arity)
    if kind == "call":
        return first
    # The same call twice (the second is the first's value and steps when its arguments are the same values).
    again = ir.CallFn(key, first.args, INT, span=_span())
    return ir.Arith("+", "int", first, again, INT, span=_span())


@st.composite
def fn_module(draw: st.DrawFn) -> CheckedModule:
    h = draw(fn_expr(("a",), 2, ()))
    f = draw(fn_expr(("a", "b"), 2, (("h", 1),)))
    program = draw(fn_expr((), 3, (("f", 2), ("h", 1)), params=True))
    functions = {
        "h": CheckedFn("h", "h", (("a", INT),), INT, h, _span()),
        "f": CheckedFn("f", "f", (("a", INT), ("b", INT)), INT, f, _span()),
    }
    params = tuple(CheckedParam(n, INT, None, None, _span(), None) for n in ("x", "y"))  # type: ignore[arg-type]
    fam = CheckedFamily("g", None, params, INT, program, (), (), (), None, None, None)  # type: ignore[arg-type]
    return CheckedModule("gen.ddl", None, {"g": fam}, functions, {})  # type: ignore[arg-type]


VALUES = st.sampled_from([-3, 0, 1, 7, BIG, -BIG, BIG])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(module=fn_module(), x=VALUES, y=VALUES, budget=st.sampled_from([1, 10, 40, 150, 1_000_000]))
def test_inlined_functions_agree_with_the_interpreter(module: CheckedModule, x: int, y: int, budget: int) -> None:
    theta = {"x": x, "y": y}
    expected = Evaluator(module, step_budget=budget).run("g", theta)
    assert compile_family(module, "g", step_budget=budget)(theta) == expected


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(module=fn_module(), x=VALUES, y=VALUES)
def test_inlined_functions_count_the_interpreters_steps(module: CheckedModule, x: int, y: int) -> None:
    """Inlined or called, a call met again or not: a run that succeeds counts exactly the interpreter's steps."""
    theta = {"x": x, "y": y}
    evaluator = Evaluator(module, budget=UNTIMED)
    expected = evaluator.run("g", theta)
    for inline in (True, False):
        _, generated = compile_module._compile_source(module, "g", evaluator, None, False, inline=inline)
        ctx = Ctx(UNTIMED, theta)
        try:
            value = generated(ctx, x, y)
        except Exception:  # noqa: BLE001 - a failing run is the interpreter's
            assert not isinstance(expected, Ok)
            continue
        assert expected == Ok(value)
        assert ctx.steps == evaluator.last_steps


def _call_twice_module() -> CheckedModule:
    a = ir.Local("a", INT, span=_span())
    body = ir.Arith("*", "int", a, ir.Arith("+", "int", a, ir.Const(1, INT, span=_span()), INT, span=_span()), INT,
                    span=_span())
    x = ir.Param("x", INT, span=_span())
    program = ir.Arith("+", "int", ir.CallFn("h", (x,), INT, span=_span()), ir.CallFn("h", (x,), INT, span=_span()), INT,
                       span=_span())
    params = (CheckedParam("x", INT, None, None, _span(), None),)  # type: ignore[arg-type]
    fam = CheckedFamily("g", None, params, INT, program, (), (), (), None, None, None)  # type: ignore[arg-type]
    return CheckedModule("gen.ddl", None, {"g": fam}, {"h": CheckedFn("h", "h", (("a", INT),), INT, body, _span())},
                         {})  # type: ignore[arg-type]


def test_a_small_function_is_written_in_place_and_a_second_call_reuses_the_first() -> None:
    """Not vacuous: the optimisations the properties above check do happen (no call, one body, steps added)."""
    module = _call_twice_module()
    evaluator = Evaluator(module, budget=UNTIMED)
    text, generated = compile_source(module, "g", evaluator)
    assert "def fn_" not in text and text.count("* ") == 1 and "c.steps += d" in text
    for x in (3, BIG):  # BIG: the body charges big-number steps, and the second call adds them again
        ctx = Ctx(UNTIMED, {"x": x})
        assert Ok(generated(ctx, x)) == evaluator.run("g", {"x": x})
        assert ctx.steps == evaluator.last_steps
    # A budget that the second call's steps exceed: the interpreter's DDL305, as without the reuse.
    evaluator.run("g", {"x": BIG})
    need = evaluator.last_steps
    for budget in (need - 1, need):
        assert compile_family(module, "g", step_budget=budget)({"x": BIG}) == Evaluator(
            module, step_budget=budget).run("g", {"x": BIG})


SOURCE = '''
type Pair = { left: Int, right: Text }

fn pair(n: Int) -> Pair = Pair { left = n * 2, right = show(n) }

fn padded(t: Text, w: Int) -> Text = pad_left(t, w, "*") ++ "|" ++ pad_right(t, w, "")

fn digits(t: Text) -> Int = parse_int(t) ?? -1

family shapes {
  "Exercise the compiled shapes."
  param n : Int
  param t : Text
  param w : Int in -5..40
  param i : Int in -20..20
  param j : Int in -20..20
  type Out = { a: Int, b: Text, c: Text, d: Int, e: Text, f: List[Text], g: Text, h: Int }
  program -> Out =
    let p = pair(n);
    let q = pair(n);
    Out {
      a = p.left + q.left,
      b = p.right ++ q.right,
      c = padded(t, w),
      d = digits(t) + digits(trim(t)),
      e = slice(t, i, j) ++ "/" ++ trim(slice(t, i, j)),
      f = [trim(slice(t, k, k + 2)) for k in 0..3 if trim(slice(t, k, k + 2)) != ""],
      g = join([show(n), t, show(len(t))], t),
      h = len(show(n)),
    }
}
'''

TEXTS = ["", " ", "7", "+5", "-0", " 12 ", "007", "１２", "12a", "999999999999999999", "1234567890123456789",
         "a b c", "ü" * 20, "x" * 40, "\u00a0 3 \u2003"]
INTS = [0, -1, 5, -12345, 2**63, -(2**63), 2**2048 - 1, 2**2048, -(2**2048), 2**3000]


def test_inlined_builtins_and_records_agree_with_the_interpreter_on_edge_cases() -> None:
    """Records read from their field locals, show of huge Ints, pad with any width, slice with negative
    ends, parse_int's edge cases, join's cost, empty texts: the same value, failure and steps."""
    program = ddl.loads(SOURCE)
    module = program.checked
    evaluator = Evaluator(module, budget=UNTIMED)
    _, generated = compile_source(module, "shapes", evaluator)
    rng = random.Random(7)
    cases = [dict(n=n, t=t, w=rng.randint(-5, 40), i=rng.randint(-20, 20), j=rng.randint(-20, 20))
             for n in INTS for t in TEXTS]
    for theta in cases:
        expected = evaluator.run("shapes", theta)
        ctx = Ctx(UNTIMED, theta)
        value = generated(ctx, *theta.values())
        assert Ok(value) == expected, theta
        assert ctx.steps == evaluator.last_steps, theta
    # Tight text and step limits: the compiled run fails exactly where the interpreter does.
    for budget in (Budget(steps=40, seconds=None), Budget(steps=10**6, max_text=300, seconds=None)):
        run = compile_family(module, "shapes", budget=budget)
        slow = Evaluator(module, budget=budget)
        for theta in cases[::3]:
            assert run(theta) == slow.run("shapes", theta), theta


def _pattern(source: str) -> Any:
    program = ddl.loads(f'family f {{\n  "x"\n  param t : Text(pattern {source})\n  program -> Text = t\n}}\n')
    return program.checked.families["f"].params[0].type.pattern


FINITE = ['[0-9]{4} "-" [0-9]{2}', '"ab" | "abc" | ""', '[a-zé]{0,3} "." [^a-z]', '("x" | "ü" | "😀"){1,3}',
          '[^0-9] "z"']


@pytest.mark.parametrize("source", FINITE)
def test_a_finite_patterns_regex_matches_exactly_its_language(source: str) -> None:
    pattern = _pattern(source)
    exact, fast = pattern_matcher(pattern), fast_pattern_matcher(pattern)
    assert fast is not exact  # the regex was built
    lang = exact.__self__  # type: ignore[attr-defined]
    rng = random.Random(source)
    alphabet = "0123456789-abcz.é_ü😀x\ud800\udfff\ud7ff\ue000 "
    texts = [lang.sample(rng, n) for n in range(0, 12) if lang.count(n) for _ in range(20)]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9))) for _ in range(3000)]
    texts += [t[:-1] for t in texts[:100]] + [t + "x" for t in texts[:100]]
    assert any(exact(t) for t in texts) and not all(exact(t) for t in texts)
    for text in texts:
        assert bool(fast(text)) == exact(text), repr(text)


def test_an_infinite_or_huge_pattern_keeps_the_dfa_matcher() -> None:
    pattern = _pattern('[0-9]+ "-" [a-z]*')
    assert fast_pattern_matcher(pattern) is pattern_matcher(pattern)
    lang = pattern_matcher(_pattern("[a-c]{12}")).__self__  # type: ignore[attr-defined]
    assert dfa_regex(lang, 50) is None  # past the size given: the DFA stays the matcher


def _match_module(scrutinee: ir.Node, arms: list[tuple[Any, Any]]) -> CheckedModule:
    """``match scrutinee { k => v, ... }`` over θ's x; a key of None is the wildcard."""
    ir_arms = tuple(ir.Arm(ir.PatWild() if k is None else ir.PatConst(k), ir.Const(v, INT, span=_span()), span=_span())
                    for k, v in arms)
    program = ir.Match(scrutinee, ir_arms, INT, span=_span())
    params = (CheckedParam("x", INT, None, None, _span(), None),)  # type: ignore[arg-type]
    fam = CheckedFamily("g", None, params, INT, program, (), (), (), None, None, None)  # type: ignore[arg-type]
    return CheckedModule("gen.ddl", None, {"g": fam}, {}, {})  # type: ignore[arg-type]


@pytest.mark.parametrize("arms", [
    [(1, 10), (1, 20), (2, 30)],  # a repeated pattern (the first applies), no wildcard: DDL999 elsewhere
    [(1, 10), (None, 0), (2, 30)],  # an arm after the wildcard never applies
    [(0, 5), (2, 6), (None, 7)],
])
@pytest.mark.parametrize("as_text", [False, True])
def test_a_match_of_constants_to_constants_is_a_lookup_with_the_interpreters_outcome(
        arms: list[tuple[Any, Any]], as_text: bool) -> None:
    x: ir.Node = ir.Param("x", INT, span=_span())
    if as_text:
        x = ir.CallBuiltin("show", (x,), TEXT, span=_span())
        arms = [(None if k is None else str(k), v) for k, v in arms]
    module = _match_module(x, arms)
    evaluator = Evaluator(module, budget=UNTIMED)
    text, generated = compile_source(module, "g", evaluator)
    assert " elif " not in text  # a lookup, not a chain of tests
    for value in (-1, 0, 1, 2, 3):
        expected = evaluator.run("g", {"x": value})
        assert compile_family(module, "g")({"x": value}) == Evaluator(module).run("g", {"x": value})
        if isinstance(expected, Ok):
            ctx = Ctx(UNTIMED, {"x": value})
            assert Ok(generated(ctx, value)) == expected
            assert ctx.steps == evaluator.last_steps
        else:
            assert expected.failure.code == "DDL999"


def test_a_program_within_its_first_checkpoint_runs_without_a_context_and_only_then(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """weather's call counts no steps (it cannot reach the first checkpoint); under a step budget it
    does reach, the context is back and the run is the interpreter's DDL305."""
    from pathlib import Path

    from ddl.eval import SLOW
    from ddl.eval.theta import ThetaChecker
    from ddl.values import to_json

    texts: list[str] = []
    run_source = compile_module._run_source
    monkeypatch.setattr(compile_module, "_run_source", lambda text, name, ns: (texts.append(text), run_source(text, name, ns)))
    program = ddl.load(Path(__file__).resolve().parent.parent / "examples" / "weather.ddl")
    module = program.checked
    family = module.families["weather_request"]
    raw = {"city": "paris", "days": 3, "units": "imperial"}
    for steps, counted in ((1_000_000, False), (5, True)):
        evaluator = Evaluator(module, step_budget=steps)
        texts.clear()
        entry = ThetaChecker(family, evaluator, module).entry()
        assert ("c = NEW(Ctx)" in texts[-1]) is counted
        theta, _ = ThetaChecker(family, evaluator, module)(raw)
        expected = evaluator.run("weather_request", theta)  # type: ignore[arg-type]
        if counted:
            assert entry(raw) is SLOW and expected.failure.code == "DDL305"  # type: ignore[union-attr]
        else:
            assert entry(raw) == to_json(expected.value)  # type: ignore[union-attr]


DECIMALS = '''
family dec {
  "Decimal arithmetic whose operands are used for their values only."
  param a : Decimal(2)
  param n : Int
  type Out = { p: Decimal(2), q: Decimal(2), r: Decimal(3), s: Decimal(1), t: Decimal(6), u: Decimal(1), v: Decimal(2),
               w: Decimal(2), x: Decimal(2) }
  program -> Out =
    Out {
      p = round(a / 100, 2),
      q = round(to_decimal(n, 2) / 100, 2),
      r = a * n + to_decimal(n, 3),
      s = round(a / 1000 * n, 1),
      t = to_decimal(n, 0) / 10,
      u = round((0.00 - a) / 100, 1),
      v = round(a / 3, 2) + round(n, 2),
      w = round(HUGE / 100, 2) - round(a * HUGE, 2),
      x = round(HUGE * a / 1000, 2),
    }
}
'''.replace("HUGE", "1" + "0" * 600 + ".00")  # past the size-cost threshold, as a literal


def test_decimal_operands_used_for_their_values_agree_with_the_interpreter() -> None:
    """Widened Ints, to_decimal of Ints and exact divisions by powers of ten are not quantized before
    arithmetic or round: the same values (negative zero included), failures and steps, past ±10**300 too."""
    from decimal import Decimal

    from ddl.eval import ops

    module = ddl.loads(DECIMALS).checked
    evaluator = Evaluator(module, budget=UNTIMED)
    text, generated = compile_source(module, "dec", evaluator)
    assert "Decimal(p" in text  # an Int operand taken as it is
    amounts = ["0", "0.01", "-0.01", "0.04", "-0.05", "0.05", "0.15", "-12.34", "99999.99", "1e400", "-1e600", "1e600",
               "123456789012345678901234567890.25"]
    ints = [0, 1, -1, 7, -250, 10**20, 10**350, -(10**700)]
    for raw in amounts:
        for n in ints:
            theta = {"a": ops.quantize(Decimal(raw), 2), "n": n}
            expected = evaluator.run("dec", theta)
            ctx = Ctx(UNTIMED, theta)
            try:
                value = generated(ctx, theta["a"], n)
            except Exception:  # noqa: BLE001 - the interpreter's run then says what fails
                assert not isinstance(expected, Ok), theta
                continue
            assert Ok(value) == expected, theta
            assert [str(v) for _, v in value.fields] == [str(v) for _, v in expected.value.fields]  # exponents too
            assert ctx.steps == evaluator.last_steps, theta
            assert compile_family(module, "dec", step_budget=evaluator.last_steps - 1)(theta) == Evaluator(
                module, step_budget=evaluator.last_steps - 1).run("dec", theta)


def test_an_unused_option_or_record_is_not_built_but_what_it_holds_is_still_computed() -> None:
    """`let s = some(x / y); let r = R { a = x % y }; 1`: neither is read, so neither is built, yet a zero
    y fails (DDL300) exactly as in the interpreter."""
    from ddl.types.model import OptionT, RecordT

    small = IntT(-10, 10)  # small Ints: their arithmetic is an inline expression, not a line of its own
    x, y = (ir.Param(n, small, span=_span()) for n in ("x", "y"))

    some = ir.MakeSome(ir.Arith("/", "int", x, y, INT, span=_span()), OptionT(INT), span=_span())
    rec_t = RecordT("R", "gen.ddl", (("a", INT),))
    record = ir.MakeRecord("R", (("a", ir.Arith("%", "int", x, y, INT, span=_span())),), rec_t, span=_span())
    one = ir.Const(1, INT, span=_span())
    for built in (some, record):
        program = ir.Let("s", built, one, INT, span=_span())
        params = tuple(CheckedParam(n, small, None, None, _span(), None) for n in ("x", "y"))  # type: ignore[arg-type]
        fam = CheckedFamily("g", None, params, INT, program, (), (), (), None, None, None)  # type: ignore[arg-type]
        module = CheckedModule("gen.ddl", None, {"g": fam}, {}, {})  # type: ignore[arg-type]
        text, _ = compile_source(module, "g", Evaluator(module))
        assert "NEW(" not in text.replace("pass", "")  # pruned
        for theta in ({"x": 7, "y": 2}, {"x": 7, "y": 0}):
            assert compile_family(module, "g")(theta) == Evaluator(module).run("g", theta)
        assert Evaluator(module).run("g", {"x": 7, "y": 0}).failure.code == "DDL300"  # type: ignore[union-attr]


@pytest.mark.parametrize("shape", ["match", "coalesce"])
def test_an_options_value_is_known_small_only_when_what_was_put_in_is(shape: str) -> None:
    """`some(y)` of a θ Int y says nothing of its size: `a + 1` on it keeps the big-number check, and a
    2100-bit y is charged the interpreter's extra steps; `some(5)` and parse_int's at most 18 digits are small."""
    from ddl.types.model import OptionT

    def node(n: ir.Node) -> ir.Node:
        x = ir.Param("x", INT, span=_span())
        cond = ir.Compare("<", x, ir.Const(0, INT, span=_span()), BOOL, span=_span())
        opt = ir.If(cond, ir.MakeSome(n, OptionT(INT), span=_span()), ir.Const(NONE, OptionT(INT), span=_span()),
                    OptionT(INT), span=_span())
        if shape == "coalesce":
            got: ir.Node = ir.Coalesce(opt, ir.Const(3, INT, span=_span()), INT, span=_span())
            return ir.Arith("+", "int", got, ir.Const(1, INT, span=_span()), INT, span=_span())
        used = ir.Arith("+", "int", ir.Local("a", INT, span=_span()), ir.Const(1, INT, span=_span()), INT, span=_span())
        return ir.Match(opt, (ir.Arm(ir.PatSome("a"), used, span=_span()),
                              ir.Arm(ir.PatNone(), ir.Const(0, INT, span=_span()), span=_span())), INT, span=_span())

    for held, guarded in ((ir.Param("y", INT, span=_span()), True), (ir.Const(5, INT, span=_span()), False)):
        program = node(held)
        params = tuple(CheckedParam(n, INT, None, None, _span(), None) for n in ("x", "y"))  # type: ignore[arg-type]
        fam = CheckedFamily("g", None, params, INT, program, (), (), (), None, None, None)  # type: ignore[arg-type]
        module = CheckedModule("gen.ddl", None, {"g": fam}, {}, {})  # type: ignore[arg-type]
        evaluator = Evaluator(module, budget=UNTIMED)
        text, generated = compile_source(module, "g", evaluator)
        assert ("SMALL_INT" in text) is guarded
        for x, y in itertools.product((-1, 1), (0, BIG, -BIG)):
            ctx = Ctx(UNTIMED, {"x": x, "y": y})
            assert Ok(generated(ctx, x, y)) == evaluator.run("g", {"x": x, "y": y})
            assert ctx.steps == evaluator.last_steps, (x, y)


STDLIB_DATES = '''
import date

family calendar {
  "The date stdlib at any day number, inlined."
  param d : Int
  param n : Int
  param t : Text
  type Out = { iso: Text, long: Text, later: Int, back: Int, parsed: Int, leap: Bool }
  program -> Out =
    Out {
      iso = date::iso(d),
      long = date::long_date(d),
      later = date::add_months(d, n),
      back = date::days_between(date::add_years(d, n), d),
      parsed = date::parse_iso(t) ?? -1,
      leap = date::is_leap_year(date::year(d)),
    }
}
'''


def test_the_date_stdlib_inlined_agrees_with_the_interpreter_at_any_size() -> None:
    """Day numbers from 0 to past 2**2048 (the big-number checks the types cannot drop), texts that
    parse and do not: the same values, failures and steps."""
    from ddl.eval import ops

    module = ddl.loads(STDLIB_DATES).checked
    evaluator = Evaluator(module, budget=UNTIMED)
    _, generated = compile_source(module, "calendar", evaluator)
    rng = random.Random(3)
    days = [0, -1, 19_000, -719_469, 2_932_896, 10**12, -(10**15)] + [rng.choice([1, -1]) * 10**k for k in (30, 300, 700)]
    texts = ["2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", "24-02-01", "2024-1-01", "+024-01-01", ""]
    big = 0
    for d, n, t in itertools.product(days, [0, 1, -13, 10**650], texts[:4]):
        theta = {"d": d, "n": n, "t": t}
        expected = evaluator.run("calendar", theta)
        ctx = Ctx(UNTIMED, theta)
        try:
            value = generated(ctx, d, n, t)
        except Exception:  # noqa: BLE001 - the interpreter's run then says what fails
            assert not isinstance(expected, Ok), theta
            continue
        assert Ok(value) == expected, theta
        assert ctx.steps == evaluator.last_steps, theta
        big += abs(d) > ops.SMALL_INT or abs(n) > ops.SMALL_INT
    assert big  # the big-number path was taken and counted
    for t in texts:
        theta = {"d": 0, "n": 0, "t": t}
        assert compile_family(module, "calendar")(theta) == Evaluator(module).run("calendar", theta)
