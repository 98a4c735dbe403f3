"""The interpreter: semantics of every IR node, runtime failures as values, the step budget.

Most tests build IR by hand (the evaluator's contract is the typed IR); the
last section runs real DDL source through the checker.
"""

from __future__ import annotations

import re
import textwrap
from decimal import Decimal
from typing import Any

import pytest
from pyrsistent import pmap, pvector

from ddl.diagnostics import SourceMap, Span
from ddl.eval import Err, EvalFailure, Evaluator, Ok, compile_family
from ddl.eval.ops import translate_regex
from ddl.syntax import ast as A
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedFn, CheckedModule, CheckedParam, CheckedTable
from ddl.types.model import BOOL, INT, TEXT, DecimalT, EnumT, IntT, ListT, MapT, OptionT, RecordT, TextT
from ddl.values import NONE, EnumV, RecordV, SomeV, to_json

D = Decimal
GENRE = EnumT("Genre", "p.ddl", ("fantasy", "mystery"), ("fantasy", "mystery"))
FANTASY = EnumV("p.ddl::Genre", "fantasy", "fantasy")
MYSTERY = EnumV("p.ddl::Genre", "mystery", "mystery")


def sp(line: int, col: int, end_col: int | None = None) -> Span:
    return Span("p.ddl", 0, 0, line, col, line, end_col if end_col is not None else col + 1)


def c(value: Any, typ: Any = INT, span: Span | None = None) -> ir.Const:
    return ir.Const(value, typ, span=span or sp(1, 1))


def module(**kw: Any) -> CheckedModule:
    return CheckedModule("p.ddl", None, kw.get("families", {}), kw.get("functions", {}), kw.get("tables", {}))  # type: ignore[arg-type]


def family(program: ir.Node, params: list[tuple[str, Any]], name: str = "f") -> CheckedFamily:
    return CheckedFamily(
        name=name, doc=None,
        params=tuple(CheckedParam(n, t, None, None, sp(1, 1), None) for n, t in params),  # type: ignore[arg-type]
        ret=program.type, program=program, examples=(), ensures=(), teach=(), priority=None, grammar=None,
        decl=None,  # type: ignore[arg-type]
    )


def ev(node: ir.Node, env: dict[str, Any] | None = None, params: dict[str, Any] | None = None, **mod: Any) -> Any:
    out = Evaluator(module(**mod)).eval_closed(node, env=env, params=params)
    assert isinstance(out, Ok), out
    return out.value


def fail(node: ir.Node, env: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
         budget: int = 1_000_000, **mod: Any) -> EvalFailure:
    out = Evaluator(module(**mod), step_budget=budget).eval_closed(node, env=env, params=params)
    assert isinstance(out, Err), out
    return out.failure


def arith(op: str, a: ir.Node, b: ir.Node, kind: str = "int", typ: Any = INT, span: Span | None = None) -> ir.Arith:
    return ir.Arith(op, kind, a, b, typ, span=span or sp(2, 1))


# ------------------------------------------------------------------ arithmetic


@pytest.mark.parametrize(
    ("op", "a", "b", "expected"),
    [("+", 7, -9, -2), ("-", 7, 9, -2), ("*", -3, 4, -12), ("/", 7, 2, 3), ("/", -7, 2, -4), ("/", 7, -2, -4),
     ("%", -7, 2, 1), ("%", 7, -2, -1), ("*", 10**30, 10**30, 10**60)],
)
def test_int_arithmetic_floors(op: str, a: int, b: int, expected: int) -> None:
    assert ev(arith(op, c(a), c(b))) == expected


@pytest.mark.parametrize(
    ("op", "a", "b", "scale", "expected"),
    [
        ("+", "1.5", "2.25", 2, "3.75"),
        ("-", "1.00", "1.00", 2, "0.00"),
        ("*", "1.25", "0.5", 3, "0.625"),
        ("*", "0.5", "-0.0", 2, "0.00"),  # no negative zero
        ("/", "1", "3", 6, "0.333333"),
        ("/", "2", "3", 6, "0.666667"),
        ("/", "0.000005", "1", 5, "0.00000"),  # exact tie rounds to even
        ("/", "0.000015", "1", 5, "0.00002"),
        ("/", "-7", "2", 6, "-3.500000"),
        ("%", "-7.5", "2", 1, "0.5"),
        ("/", "1" + "0" * 90, "3", 6, "3" * 90 + ".333333"),  # beyond any fixed precision
    ],
)
def test_decimal_arithmetic_quantizes_half_even(op: str, a: str, b: str, scale: int, expected: str) -> None:
    t = DecimalT(scale)
    out = ev(arith(op, c(D(a), t), c(D(b), t), kind="dec", typ=t))
    assert format(out, "f") == expected


def test_widen_int_to_decimal_and_to_a_larger_scale() -> None:
    assert format(ev(ir.Widen(c(3), DecimalT(2))), "f") == "3.00"
    assert format(ev(ir.Widen(c(D("1.5"), DecimalT(1)), DecimalT(3))), "f") == "1.500"


def test_negation() -> None:
    assert ev(ir.Neg(c(5), INT)) == -5
    assert format(ev(ir.Neg(c(D("0.00"), DecimalT(2)), DecimalT(2))), "f") == "0.00"
    assert format(ev(ir.Neg(c(D("1.50"), DecimalT(2)), DecimalT(2))), "f") == "-1.50"


# ------------------------------------------------------------------ comparisons and logic


def test_comparisons() -> None:
    assert ev(ir.Compare("<", c("B", TEXT), c("a", TEXT), BOOL)) is True  # code point order
    assert ev(ir.Compare("<=", c(D("1.10"), DecimalT(2)), c(D("1.1"), DecimalT(2)), BOOL)) is True
    assert ev(ir.Compare("==", c(FANTASY, GENRE), c(MYSTERY, GENRE), BOOL)) is False
    assert ev(ir.Compare("!=", c(FANTASY, GENRE), c(MYSTERY, GENRE), BOOL)) is True
    lists = ir.Compare("==", c(pvector([1, 2]), ListT(INT)), c(pvector([1, 2]), ListT(INT)), BOOL)
    assert ev(lists) is True


def test_bool_is_never_equal_to_int() -> None:
    assert ev(ir.Compare("==", c(True, BOOL), c(1), BOOL)) is False


def test_logic_short_circuits() -> None:
    boom = arith("/", c(1), c(0))
    assert ev(ir.Logic("and", c(False, BOOL), ir.Compare("==", boom, c(0), BOOL), BOOL)) is False
    assert ev(ir.Logic("or", c(True, BOOL), ir.Compare("==", boom, c(0), BOOL), BOOL)) is True
    assert fail(ir.Logic("or", c(False, BOOL), ir.Compare("==", boom, c(0), BOOL), BOOL)).code == "DDL300"
    assert ev(ir.Not(c(False, BOOL), BOOL)) is True


# ------------------------------------------------------------------ bindings and control flow


def test_let_shadowing_is_restored_after_the_body() -> None:
    inner = ir.Let("x", c(2), ir.Local("x", INT), INT)
    node = ir.Let("x", c(1), arith("+", inner, ir.Local("x", INT)), INT)
    assert ev(node) == 3


def test_if_evaluates_only_the_taken_branch() -> None:
    node = ir.If(c(True, BOOL), c("yes", TEXT), arith("/", c(1), c(0)), TEXT)
    assert ev(node) == "yes"


def test_interpolation_shows_values() -> None:
    parts = ("n=", c(-3), ", d=", c(D("84.60"), DecimalT(2)), ", ", c(True, BOOL), ", g=",
             c(EnumV("p.ddl::G", "science_fiction", "science fiction"), GENRE), "!")
    assert ev(ir.Interp(parts, TEXT)) == "n=-3, d=84.60, true, g=science fiction!"


def test_concat_text_and_lists() -> None:
    assert ev(ir.Concat("text", c("ab", TEXT), c("ü", TEXT), TEXT)) == "abü"
    xs = ir.Concat("list", c(pvector([1]), ListT(INT)), c(pvector([2, 3]), ListT(INT)), ListT(INT))
    assert ev(xs) == pvector([1, 2, 3])


def test_coalesce_evaluates_the_default_only_for_none() -> None:
    boom = arith("/", c(1), c(0))
    assert ev(ir.Coalesce(c(SomeV(4), OptionT(INT)), boom, INT)) == 4
    assert ev(ir.Coalesce(c(NONE, OptionT(INT)), c(9), INT)) == 9


def test_records_lists_maps_options() -> None:
    rec = ir.MakeRecord("Point", (("x", c(1)), ("y", c(2))), RecordT("Point", "p.ddl", (("x", INT), ("y", INT))))
    assert ev(rec) == RecordV("Point", (("x", 1), ("y", 2)))
    assert ev(ir.GetField(rec, "y", INT)) == 2
    assert ev(ir.MakeList((c(1), c(2)), ListT(INT))) == pvector([1, 2])
    assert ev(ir.MakeSome(c(1), OptionT(INT))) == SomeV(1)


def test_map_literal_later_duplicate_keys_win() -> None:
    node = ir.MakeMap(((c("k", TEXT), c(1)), (c("j", TEXT), c(2)), (c("k", TEXT), c(3))), MapT(TEXT, INT))
    assert ev(node) == pmap({"k": 3, "j": 2})


def test_match_arms_in_order_with_constants_some_and_none() -> None:
    def match(scrutinee: ir.Node) -> Any:
        arms = (
            ir.Arm(ir.PatConst(SomeV(1)), c("one", TEXT)),
            ir.Arm(ir.PatSome("v"), ir.Interp(("some ", ir.Local("v", INT)), TEXT)),
            ir.Arm(ir.PatNone(), c("none", TEXT)),
        )
        return ev(ir.Match(scrutinee, arms, TEXT))

    assert match(c(SomeV(1), OptionT(INT))) == "one"
    assert match(c(SomeV(7), OptionT(INT))) == "some 7"
    assert match(c(NONE, OptionT(INT))) == "none"
    arms = (ir.Arm(ir.PatConst(MYSTERY), c(1)), ir.Arm(ir.PatWild(), c(2)))
    assert ev(ir.Match(c(FANTASY, GENRE), arms, INT)) == 2
    assert ev(ir.Match(c(MYSTERY, GENRE), arms, INT)) == 1


def test_comprehension_over_inclusive_ranges_and_lists() -> None:
    i = ir.Local("i", INT)
    square = arith("*", i, i)
    over = ir.Comprehension(square, "i", ir.Range(c(1), c(4), ListT(INT)), None, ListT(INT))
    assert ev(over) == pvector([1, 4, 9, 16])
    empty = ir.Comprehension(i, "i", ir.Range(c(5), c(4), ListT(INT)), None, ListT(INT))
    assert ev(empty) == pvector([])
    odd = ir.Compare("==", arith("%", i, c(2)), c(1), BOOL)
    filtered = ir.Comprehension(i, "i", c(pvector([1, 2, 3, 4, 5]), ListT(INT)), odd, ListT(INT))
    assert ev(filtered) == pvector([1, 3, 5])


def test_lambdas_see_enclosing_bindings() -> None:
    x = ir.Local("x", INT)
    lam = ir.Lambda(("x",), (INT,), arith("+", x, ir.Local("k", INT)), INT)
    node = ir.Let("k", c(10), ir.CallBuiltin("map", (c(pvector([1, 2]), ListT(INT)), lam), ListT(INT)), ListT(INT))
    assert ev(node) == pvector([11, 12])
    fold = ir.Lambda(("acc", "x"), (INT, INT), arith("-", ir.Local("acc", INT), x), INT)
    assert ev(ir.CallBuiltin("fold", (c(pvector([1, 2, 3]), ListT(INT)), c(0), fold), INT)) == -6


def test_user_function_calls_and_call() -> None:
    body = arith("*", ir.Local("x", INT), c(2))
    fns = {"p.ddl::double": CheckedFn("p.ddl::double", "double", (("x", INT),), INT, body, sp(1, 1))}
    node = ir.CallFn("p.ddl::double", (ir.CallFn("p.ddl::double", (c(3),), INT),), INT)
    assert ev(node, functions=fns) == 12
    evaluator = Evaluator(module(functions=fns))
    assert evaluator.call("p.ddl::double", [21]) == Ok(42)


def test_eval_closed_with_result_and_params_like_an_ensures_clause() -> None:
    node = ir.Compare("<=", ir.Local("result", INT), ir.Param("count", INT), BOOL)
    assert ev(node, env={"result": 3}, params={"count": 5}) is True
    assert ev(node, env={"result": 6}, params={"count": 5}) is False


# ------------------------------------------------------------------ tables


def _shelf(entries: tuple[tuple[ir.Node, ir.Node], ...]) -> dict[str, CheckedTable]:
    return {"p.ddl::shelf": CheckedTable("p.ddl::shelf", "shelf", GENRE, INT, entries, False, sp(1, 1))}


def test_table_lookup_and_missing_key() -> None:
    tables = _shelf(((c(FANTASY, GENRE), c(3)),))
    get = ir.TableGet("p.ddl::shelf", ir.Param("genre", GENRE), True, INT, span=sp(4, 9, 22))
    assert ev(get, params={"genre": FANTASY}, tables=tables) == 3
    failure = fail(get, params={"genre": MYSTERY}, tables=tables)
    assert (failure.code, failure.span) == ("DDL303", sp(4, 9, 22))
    assert failure.to_diagnostic().message == "key mystery is not in table shelf (at genre = mystery)"


def test_table_entries_are_evaluated_once_per_evaluator() -> None:
    tables = _shelf(((c(FANTASY, GENRE), arith("+", c(1), c(2))),))
    evaluator = Evaluator(module(tables=tables))
    first = evaluator.table("p.ddl::shelf")
    assert first == pmap({FANTASY: 3})
    assert evaluator.table("p.ddl::shelf") is first


def test_a_failing_table_entry_fails_every_lookup_with_its_own_span() -> None:
    tables = _shelf(((c(FANTASY, GENRE), arith("/", c(1), c(0), span=sp(3, 20, 25))),))
    get = ir.TableGet("p.ddl::shelf", c(FANTASY, GENRE), True, INT, span=sp(9, 1))
    evaluator = Evaluator(module(tables=tables))
    for _ in range(2):
        out = evaluator.eval_closed(get)
        assert isinstance(out, Err)
        assert (out.failure.code, out.failure.span) == ("DDL300", sp(3, 20, 25))


# ------------------------------------------------------------------ runtime failures


def test_division_by_zero_reports_span_and_theta() -> None:
    program = arith("/", c(100), ir.Param("count", IntT(0, 20)), span=sp(7, 20, 31))
    fam = family(program, [("genre", GENRE), ("count", IntT(0, 20))], name="books")
    out = Evaluator(module(families={"books": fam})).run("books", {"genre": FANTASY, "count": 0})
    assert isinstance(out, Err)
    f = out.failure
    assert (f.code, f.message, f.span) == ("DDL300", "division by zero", sp(7, 20, 31))
    assert f.theta == (("genre", FANTASY), ("count", 0))
    diag = f.to_diagnostic()
    assert diag.message == "division by zero (at genre = fantasy, count = 0)"
    sources = SourceMap()
    sources.add("p.ddl", "\n" * 6 + "  program -> Int = 100 / count\n")
    assert diag.render(sources).splitlines() == [
        "p.ddl:7:20: DDL300: division by zero (at genre = fantasy, count = 0)",
        "   7 |   program -> Int = 100 / count",
        "                          ^~~~~~~~~~~",
    ]


def test_modulo_by_zero() -> None:
    f = fail(arith("%", c(5), ir.Param("n", INT), span=sp(2, 3)), params={"n": 0})
    assert (f.code, f.message, f.span) == ("DDL300", "modulo by zero", sp(2, 3))
    assert f.to_diagnostic().message == "modulo by zero (at n = 0)"
    dec = DecimalT(2)
    f = fail(arith("/", c(D("1.00"), dec), c(D("0.00"), dec), kind="dec", typ=DecimalT(8)))
    assert f.code == "DDL300"


@pytest.mark.parametrize("index", [3, -1])
def test_list_index_out_of_range(index: int) -> None:
    node = ir.Index("list", c(pvector([1, 2, 3]), ListT(INT)), ir.Param("i", INT), INT, span=sp(5, 2, 6))
    f = fail(node, params={"i": index})
    assert (f.code, f.span) == ("DDL301", sp(5, 2, 6))
    assert f.to_diagnostic().message == f"index {index} is out of range for a list of length 3 (at i = {index})"
    assert ev(node, params={"i": 2}) == 3


def test_map_index_missing_key() -> None:
    node = ir.Index("map", c(pmap({"a": 1}), MapT(TEXT, INT)), c("b", TEXT), INT, span=sp(6, 1))
    f = fail(node)
    assert (f.code, f.message, f.span) == ("DDL303", 'key "b" is not in the map', sp(6, 1))
    assert ev(ir.Index("map", c(pmap({"a": 1}), MapT(TEXT, INT)), c("a", TEXT), INT)) == 1


def test_narrow_int_range() -> None:
    node = ir.Narrow(ir.Param("x", INT), IntT(1, 20), span=sp(3, 4))
    f = fail(node, params={"x": 25})
    assert (f.code, f.message, f.span) == ("DDL302", "value 25 is outside Int in 1..20", sp(3, 4))
    assert ev(node, params={"x": 20}) == 20


def test_narrow_decimal_range() -> None:
    t = DecimalT(2, D("0.00"), D("10.00"))
    f = fail(ir.Narrow(c(D("10.01"), DecimalT(2)), t))
    assert f.code == "DDL302" and "10.01" in f.message


def test_narrow_text_max_length() -> None:
    f = fail(ir.Narrow(c("abcd", TEXT), TextT(3), span=sp(8, 1)))
    assert (f.code, f.span) == ("DDL306", sp(8, 1))
    assert f.message == 'text of length 4 is longer than the maximum of 3: "abcd"'
    assert ev(ir.Narrow(c("abc", TEXT), TextT(3))) == "abc"


def test_narrow_list_and_map_length() -> None:
    f = fail(ir.Narrow(c(pvector([1, 2, 3]), ListT(INT)), ListT(INT, 2)))
    assert (f.code, f.message) == ("DDL307", "list of length 3 is longer than the maximum of 2")
    f = fail(ir.Narrow(c(pvector(["ok", "too long"]), ListT(TEXT)), ListT(TextT(3))))
    assert f.code == "DDL306"
    f = fail(ir.Narrow(c(pmap({"a": 1, "b": 2}), MapT(TEXT, INT)), MapT(TEXT, INT, 1)))
    assert f.code == "DDL307"


LOWER_WORDS = A.RSeq((A.RClass(((97, 122),)), A.RRepeat(A.RClass(((97, 122), (32, 32))), 0, None)))


def test_narrow_text_pattern() -> None:
    node = ir.Narrow(ir.Param("t", TEXT), TextT(None, LOWER_WORDS), span=sp(2, 2))
    assert ev(node, params={"t": "hello world"}) == "hello world"
    f = fail(node, params={"t": "Hello"})
    assert (f.code, f.span) == ("DDL309", sp(2, 2))
    assert f.message == 'text "Hello" does not match the pattern [a-z] [a-z ]*'
    assert fail(node, params={"t": ""}).code == "DDL309"


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (A.RLit("a.b"), ["a.b"], ["axb", "a.bb"]),
        (A.RAny(), ["\n", "😀"], ["", "ab"]),
        (A.RClass(((97, 99),), negated=True), ["d", "\n"], ["a", "c"]),
        (A.RAlt((A.RLit("cat"), A.RLit("dog"))), ["cat", "dog"], ["catdog", "ca"]),
        (A.RRepeat(A.RLit("ab"), 2, 3), ["abab", "ababab"], ["ab", "abababab"]),
        (A.RRepeat(A.RLit("x"), 0, 1), ["", "x"], ["xx"]),
        (A.RRepeat(A.RClass(((0x1F600, 0x1F64F),)), 1, None), ["😀😃"], ["", "a"]),
        (A.RSeq((A.RLit("["), A.RClass(((ord("]"), ord("]")), (ord("\\"), ord("\\")))), A.RLit("^"))), ["[]^", "[\\^"], ["[a^"]),
    ],
)
def test_text_patterns_full_match(pattern: A.Regex, good: list[str], bad: list[str]) -> None:
    node = ir.Narrow(ir.Param("t", TEXT), TextT(None, pattern))
    for text in good:
        assert ev(node, params={"t": text}) == text
    for text in bad:
        assert fail(node, params={"t": text}).code == "DDL309", text
    # The Python `re` translation (the fallback when RE2 is not installed) agrees.
    compiled = re.compile(translate_regex(pattern))
    assert all(compiled.fullmatch(t) for t in good)
    assert not any(compiled.fullmatch(t) for t in bad)


def test_text_patterns_match_in_linear_time() -> None:
    ambiguous = A.RSeq((A.RRepeat(A.RAlt((A.RLit("a"), A.RLit("a"))), 0, None), A.RLit("b")))
    node = ir.Narrow(ir.Param("t", TEXT), TextT(None, ambiguous))
    assert fail(node, params={"t": "a" * 5000 + "c"}).code == "DDL309"


# ------------------------------------------------------------------ the step budget


def _sum_to(n: int) -> ir.Node:
    i = ir.Local("i", INT)
    lam = ir.Lambda(("acc", "i"), (INT, INT), arith("+", ir.Local("acc", INT), i), INT)
    xs = ir.Comprehension(i, "i", ir.Range(c(1), ir.Param("n", INT), ListT(INT)), None, ListT(INT))
    return ir.CallBuiltin("fold", (xs, c(0), lam), INT, span=sp(1, 1))


def test_step_budget_counts_every_node_including_lambda_bodies() -> None:
    node = arith("+", c(1), c(2))  # three nodes
    assert Evaluator(module(), step_budget=3).eval_closed(node) == Ok(3)
    f = fail(node, budget=2)
    assert f.code == "DDL305" and "2" in f.message
    # fold over [1..n]: call, range(3), comprehension(1) + n locals, init, lambda, n bodies of 3 nodes
    steps = 1 + 1 + 3 + 10 + 1 + 1 + 3 * 10
    assert Evaluator(module(), step_budget=steps).eval_closed(_sum_to(10), params={"n": 10}) == Ok(55)
    assert fail(_sum_to(10), params={"n": 10}, budget=steps - 1).code == "DDL305"


def test_a_huge_range_is_stopped_by_the_budget() -> None:
    # A range is a List value: past the size budget (100,000 elements) it fails before any step of the sum.
    f = fail(_sum_to(10**12), params={"n": 10**12}, budget=10_000)
    assert f.code == "DDL317" and f"a range built a List of {10**12} elements" in f.message
    assert f.to_diagnostic().message.endswith(f"(at n = {10**12})")
    # Within the size budget, the step budget stops it.
    assert fail(_sum_to(90_000), params={"n": 90_000}, budget=10_000).code == "DDL305"


def test_exponential_text_growth_is_stopped_by_the_budget() -> None:
    s = ir.Local("s", TEXT)
    node: ir.Node = s
    for _ in range(40):  # let s = s ++ s; ... 40 times over: 2^40 characters
        node = ir.Let("s", ir.Concat("text", s, s, TEXT, span=sp(3, 3)), node, TEXT)
    node = ir.Let("s", c("x", TEXT), node, TEXT)
    f = fail(node)  # stopped by the size budget: 2^19 < 1,000,000 < 2^20 code points
    assert (f.code, f.span) == ("DDL317", sp(3, 3)) and "a Text of 1048576 code points" in f.message
    assert fail(node, budget=50_000).code == "DDL305"  # and by a smaller step budget before that


def test_exponential_int_growth_is_stopped_by_the_budget() -> None:
    node: ir.Node = c(3)
    for _ in range(40):  # squaring 40 times: 2^40 digits
        node = ir.Let("v", node, arith("*", ir.Local("v", INT), ir.Local("v", INT)), INT)
    assert fail(node).code == "DDL305"


def test_too_deep_nesting_is_a_failure_not_a_crash() -> None:
    node: ir.Node = c(1)
    for _ in range(60_000):
        node = ir.Neg(node, INT)
    f = fail(node)
    assert f.code == "DDL305" and "nested too deeply" in f.message
    fam = family(node, [])
    out = compile_family(module(families={"f": fam}), "f")({})
    assert isinstance(out, Err) and out.failure.code == "DDL305"


def test_run_requires_a_complete_theta() -> None:
    fam = family(ir.Param("n", INT), [("n", INT)])
    with pytest.raises(ValueError, match="validate_theta"):
        Evaluator(module(families={"f": fam})).run("f", {})


# ------------------------------------------------------------------ through DDL source


BOOKS = """
enum Genre { fantasy, mystery, science_fiction = "science fiction" | "sci-fi" }
table shelf : Genre -> Int { fantasy => 3, mystery => 5 }

fn at(xs: List[Int], i: Int) -> Int = xs[i]
fn lookup(m: Map[Text, Int], k: Text) -> Int = m[k]
fn twice(x: Int in 0..10) -> Int in 0..10 = x * 2
fn short(t: Text) -> Text(max 3) = t
fn word(t: Text) -> Text(pattern [a-z]+) = t
fn pair(xs: List[Int]) -> List[Int, max 2] = xs

family books {
  param genre : Genre
  param count : Int in 0..20 = 5
  program -> Text =
    let per = 100 / count;
    "${count} ${genre} books, ${per} each, shelf ${shelf[genre]}"
}
"""


@pytest.fixture(scope="module")
def books() -> CheckedModule:
    from ddl.api import compile_source

    checked, diags = compile_source(textwrap.dedent(BOOKS), "books.ddl")
    assert checked is not None and not [d for d in diags if d.is_error], [d.message for d in diags]
    return checked


def _fn(m: CheckedModule, name: str) -> str:
    (key,) = [k for k, f in m.functions.items() if f.name == name]
    return key


def _render(failure: EvalFailure) -> str:
    sources = SourceMap()
    sources.add("books.ddl", textwrap.dedent(BOOKS))
    return failure.to_diagnostic().render(sources)


def test_source_program_runs(books: CheckedModule) -> None:
    sf = EnumV("books.ddl::Genre", "mystery", "mystery")
    out = Evaluator(books).run("books", {"genre": sf, "count": 4})
    assert out == Ok("4 mystery books, 25 each, shelf 5")


def test_source_division_by_zero_is_rendered_with_theta_and_caret(books: CheckedModule) -> None:
    fantasy = EnumV("books.ddl::Genre", "fantasy", "fantasy")
    out = Evaluator(books).run("books", {"genre": fantasy, "count": 0})
    assert isinstance(out, Err)
    assert _render(out.failure).splitlines() == [
        "books.ddl:16:15: DDL300: division by zero (at genre = fantasy, count = 0)",
        "  16 |     let per = 100 / count;",
        "                     ^~~~~~~~~~~",
    ]


def test_source_table_key_missing(books: CheckedModule) -> None:
    sf = EnumV("books.ddl::Genre", "science_fiction", "science fiction")
    out = Evaluator(books).run("books", {"genre": sf, "count": 1})
    assert isinstance(out, Err)
    assert _render(out.failure).splitlines()[0] == (
        "books.ddl:17:52: DDL303: key science_fiction is not in table shelf (at genre = science_fiction, count = 1)"
    )


@pytest.mark.parametrize(
    ("fn", "args", "first_line"),
    [
        ("at", [pvector([1]), 1], "books.ddl:5:39: DDL301: index 1 is out of range for a list of length 1"),
        ("lookup", [pmap({"a": 1}), "b"], 'books.ddl:6:48: DDL303: key "b" is not in the map'),
        ("twice", [6], "books.ddl:7:45: DDL302: value 12 is outside Int in 0..10"),
        ("short", ["abcd"], 'books.ddl:8:36: DDL306: text of length 4 is longer than the maximum of 3: "abcd"'),
        ("word", ["no!"], 'books.ddl:9:44: DDL309: text "no!" does not match the pattern [a-z]+'),
        ("pair", [pvector([1, 2, 3])], "books.ddl:10:46: DDL307: list of length 3 is longer than the maximum of 2"),
    ],
)
def test_source_partial_operations_fail_with_their_code(
    books: CheckedModule, fn: str, args: list[Any], first_line: str
) -> None:
    out = Evaluator(books).call(_fn(books, fn), args)
    assert isinstance(out, Err)
    assert _render(out.failure).splitlines()[0] == first_line


def test_examples_of_every_shipped_family_hold() -> None:
    """Each examples/*.ddl example evaluates to its expected output and satisfies ensures."""
    from pathlib import Path

    from ddl.api import check_examples, compile_file

    paths = sorted(Path(__file__).resolve().parent.parent.joinpath("examples").glob("*.ddl"))
    assert paths
    for path in paths:
        checked, diags = compile_file(path)
        assert checked is not None, [d.message for d in diags]
        assert [d.render() for d in check_examples(checked)] == [], path


def test_json_of_a_record_result() -> None:
    from ddl.api import compile_source

    src = textwrap.dedent("""
    family price {
      type Quote = { total: Decimal(2), items: List[Text] }
      param qty : Int in 1..10
      param unit : Decimal(2) in 0.00..100.00
      program -> Quote = Quote { total = unit * qty, items = [show(i) for i in 1..qty] }
    }
    """)
    checked, diags = compile_source(src, "q.ddl")
    assert checked is not None, [d.message for d in diags]
    out = Evaluator(checked).run("price", {"qty": 3, "unit": D("19.99")})
    assert isinstance(out, Ok)
    assert to_json(out.value) == {"total": "59.97", "items": ["1", "2", "3"]}
