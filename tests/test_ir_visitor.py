"""One place per concept over the typed IR: the visitor, the walker and the arm-selection rule."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from ddl import tree
from ddl.eval import Err, Evaluator, Ok, compile_family
from ddl.eval.arms import arm_index, binder, covered_before
from ddl.eval.compile import _Compiler
from ddl.eval.theta import enum_value
from ddl.types import ir
from ddl.types.model import BOOL, INT, TEXT, EnumT, ListT, MapT, OptionT
from ddl.values import NONE, SomeV
from ddl.verify import prove, reach
from ddl.verify.intervals import Intervals, ListLengths
from ddl.verify.smt import _Enc, _Path
from ddl.verify.symbolic import Symbolic
from ddl.verify.walk import children, nodes

# ---------------------------------------------------------------------- the visitor


def test_a_visitor_without_a_method_for_a_node_class_fails_loudly_naming_both() -> None:
    class OnlyConstants(ir.Visitor):
        def visit_Const(self, node: ir.Const) -> Any:
            return node.value

    v = OnlyConstants()
    assert v.visit(ir.Const(4, INT)) == 4
    with pytest.raises(ir.MissingVisit) as err:
        v.visit(ir.Local("x", INT))
    assert str(err.value) == ("OnlyConstants has no visit_Local method: the IR node Local is not handled "
                              "(a bug in ddl, not in the program)")
    assert "Local" in OnlyConstants.missing() and "Const" not in OnlyConstants.missing()


@pytest.mark.parametrize("visitor", [_Compiler, Intervals, ListLengths, _Enc, _Path, Symbolic], ids=lambda c: c.__name__)
def test_every_analysis_handles_every_ir_node_class(visitor: type[ir.Visitor]) -> None:
    """Adding an IR node class fails here until each analysis says what it does with it."""
    assert visitor.missing() == []


def test_the_interpreter_dispatches_every_ir_node_class() -> None:
    """The interpreter keeps a dispatch table (branch recording swaps entries); it must be complete too."""
    from ddl.api import loads

    evaluator = Evaluator(loads("fn one() -> Int = 1").checked)
    assert set(evaluator._dispatch) == set(ir.NODE_CLASSES)


ENSURES_SRC = """
family greet {
  param name : Text(max 20)
  program -> Text = let greeting = "hello"; "${greeting}, ${name}"
  ensures starts_with(result, "hello")
  example { name = "Ada" } => "hello, Ada"
}
"""


def test_a_verifier_visitor_missing_a_method_is_reported_as_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user sees if an analysis lacks a node class: a DDL999 obligation, never a verdict."""
    from ddl.api import compile_source
    from ddl.verify.prove import prove_family

    checked, diags = compile_source(textwrap.dedent(ENSURES_SRC), "greet.ddl")
    assert checked is not None, [d.render() for d in diags]
    fam = checked.families["greet"]
    ensures = [o for o in prove_family(checked, fam, Evaluator(checked)) if o.kind == "ensures"]
    assert [(o.verdict, o.evidence.startswith("holds symbolically")) for o in ensures] == [("proved", True)]

    monkeypatch.delattr(Symbolic, "visit_Let")
    monkeypatch.setattr(Symbolic, "_visit_cache", {})
    ensures = [o for o in prove_family(checked, fam, Evaluator(checked)) if o.kind == "ensures"]
    assert [(o.verdict, o.code) for o in ensures] == [("unknown", "DDL999")]
    assert ensures[0].evidence == ("internal error in the verifier: MissingVisit: Symbolic has no visit_Let method: "
                                   "the IR node Let is not handled (a bug in ddl, not in the program)")


def test_node_classes_are_the_members_of_node() -> None:
    assert ir.NODE_CLASSES == set(ir.Node.__args__)  # type: ignore[attr-defined]
    assert len(ir.NODE_CLASSES) == 28 and ir.Arm not in ir.NODE_CLASSES


def test_the_method_lookup_is_cached_per_visitor_class_and_respects_overrides() -> None:
    class Base(ir.Visitor):
        def visit_Const(self, node: ir.Const) -> str:
            return "base"

    class Child(Base):
        def visit_Const(self, node: ir.Const) -> str:
            return "child"

    c = ir.Const(1, INT)
    assert Base().visit(c) == "base" and Child().visit(c) == "child" and Base().visit(c) == "base"
    assert Base._visit_cache is not Child._visit_cache


def test_extra_arguments_are_passed_through() -> None:
    class Add(ir.Visitor):
        def visit_Const(self, node: ir.Const, k: int) -> int:
            return int(node.value) + k  # type: ignore[arg-type]

    assert Add().visit(ir.Const(2, INT), 5) == 7


def test_intervals_report_top_for_nodes_they_do_not_follow() -> None:
    ivs = Intervals(None, None)  # type: ignore[arg-type]
    assert ivs.of(ir.Param("p", INT), {}) == (None, None)
    assert ivs.of(ir.Const(3, INT), {}) == (3, 3)


# ---------------------------------------------------------------------- the walker


def _i(v: int) -> ir.Const:
    return ir.Const(v, INT)


def test_children_yield_expressions_in_field_order_only() -> None:
    a, b, c, d = _i(1), _i(2), _i(3), _i(4)
    m = ir.Match(a, (ir.Arm(ir.PatConst(1), b), ir.Arm(ir.PatSome("v"), c), ir.Arm(ir.PatWild(), d)), INT)
    assert list(children(m)) == [a, b, c, d]
    assert list(children(ir.Interp(("x=", a, ", y=", b), TEXT))) == [a, b]
    assert list(children(ir.MakeMap(((a, b), (c, d)), MapT(INT, INT)))) == [a, b, c, d]
    assert list(children(ir.MakeRecord("R", (("f", a), ("g", b)), INT))) == [a, b]  # type: ignore[arg-type]
    lam = ir.Lambda(("p",), (INT,), a, INT)
    assert list(children(lam)) == [a]  # types are not expressions
    comp = ir.Comprehension(a, "i", ir.Range(b, c, ListT(INT)), None, ListT(INT))
    assert [type(n).__name__ for n in children(comp)] == ["Const", "Range"]
    enum = EnumT("E", "m", ("a", "b"), ("a", "b"))
    assert list(children(ir.Const(enum_value(enum, "a"), enum))) == []  # a constant's value is no node


def test_the_ir_walker_is_the_generic_walker_restricted_to_expressions() -> None:
    a, b, c = _i(1), _i(2), _i(3)
    m = ir.Match(ir.Let("x", a, ir.Local("x", INT), INT), (ir.Arm(ir.PatWild(), ir.Neg(b, INT)),), INT)
    root = ir.If(ir.Compare("<", a, c, BOOL), m, c, INT)
    walked = list(nodes(root))
    assert walked[0] is root and len(walked) == 11  # a and c are shared, and counted where they occur
    generic = [n for n in tree.nodes(root) if type(n) in ir.NODE_CLASSES]
    assert sorted(map(id, walked)) == sorted(map(id, generic))
    assert {type(n).__name__ for n in tree.nodes(root)} >= {"Arm", "PatWild", "IntT"}  # the generic walker sees all


def test_tree_nodes_visits_a_tuple_root_and_skips_non_nodes() -> None:
    a, b = _i(1), _i(2)
    assert [n for n in tree.nodes((a, "text", (b,))) if isinstance(n, ir.Const)] == [b, a]
    assert list(tree.nodes(None)) == []


# ---------------------------------------------------------------------- the arm-selection rule


def _match(*patterns: ir.IRPattern, scrutinee_type: Any = INT) -> ir.Match:
    return ir.Match(ir.Local("s", scrutinee_type), tuple(ir.Arm(p, _i(i)) for i, p in enumerate(patterns)), INT)


def test_arm_index_takes_the_first_matching_arm() -> None:
    m = _match(ir.PatConst(1), ir.PatConst(2), ir.PatWild(), ir.PatConst(3))
    assert [arm_index(m, v) for v in (1, 2, 3, 9)] == [0, 1, 2, 2]
    assert arm_index(_match(ir.PatConst(1)), 5) is None


def test_a_bool_pattern_never_matches_an_int_and_vice_versa() -> None:
    assert arm_index(_match(ir.PatConst(True)), 1) is None
    assert arm_index(_match(ir.PatConst(1)), True) is None
    assert arm_index(_match(ir.PatConst(True), ir.PatConst(False)), False) == 1


def test_option_patterns() -> None:
    m = _match(ir.PatSome("v"), ir.PatNone(), scrutinee_type=OptionT(INT))
    assert arm_index(m, SomeV(3)) == 0 and arm_index(m, NONE) == 1
    assert arm_index(_match(ir.PatNone(), ir.PatSome("v")), SomeV(0)) == 1
    assert arm_index(_match(ir.PatSome("v")), NONE) is None
    assert binder(ir.PatSome("v")) == "v" and binder(ir.PatNone()) is None and binder(ir.PatWild()) is None


def test_covered_before_uses_the_same_rule_over_a_finite_domain() -> None:
    enum = EnumT("Color", "m", ("red", "green", "blue"), ("red", "green", "blue"))
    red, green, blue = (ir.PatConst(enum_value(enum, n)) for n in enum.variants)
    domain = [enum_value(enum, n) for n in enum.variants]
    assert covered_before(_match(red, green, blue, ir.PatWild(), scrutinee_type=enum), domain) == {3}
    assert covered_before(_match(red, ir.PatWild(), blue, scrutinee_type=enum), domain) == {2}
    assert covered_before(_match(red, red, ir.PatWild(), scrutinee_type=enum), domain) == set()  # not *every* value
    assert covered_before(_match(red, green, scrutinee_type=enum), domain) == set()  # blue matches no arm
    both = _match(ir.PatConst(True), ir.PatConst(False), ir.PatWild(), scrutinee_type=BOOL)
    assert reach.covered_before(both) == {2}
    assert reach.covered_before(_match(ir.PatConst(1), ir.PatWild(), ir.PatWild())) == set()  # Int: not finite here


SRC = """
enum Size { small, medium, large }
fn pick(o: Option[Int in 0..9]) -> Int = match o { none => 0, some(n) => n + 1 }
family f {
  param size : Size = small
  param n : Int in 0..3 = 0
  program -> Text = match size {
    small => "s${pick(get([1, 2], n))}",
    medium => "m",
    _ => "other",
  }
}
"""


def test_interpreter_compiler_and_coverage_agree_on_a_source_family() -> None:
    from ddl.api import compile_source
    from ddl.eval import validate_theta

    checked, diags = compile_source(textwrap.dedent(SRC), "arms.ddl")
    assert checked is not None, [d.render() for d in diags]
    fam = checked.families["f"]
    run = compile_family(checked, "f")
    cov = prove.CoverageEvaluator(checked)
    program = fam.program
    assert isinstance(program, ir.Match)
    seen: dict[str, Any] = {}
    for size in ("small", "medium", "large"):
        for n in range(4):
            theta, errors = validate_theta(fam, Evaluator(checked), {"size": size, "n": n})
            assert theta is not None, errors
            cov.hits = set()
            out = cov.run("f", theta)
            assert out == run(theta) == Evaluator(checked).run("f", theta)
            assert isinstance(out, Ok) and not isinstance(out, Err)
            taken = {arm for node_id, arm in cov.hits if node_id == id(program)}
            assert taken == {arm_index(program, theta["size"])}
            seen[f"{size}{n}"] = out.value
    assert seen["small0"] == "s2" and seen["small2"] == "s0" and seen["medium1"] == "m" and seen["large3"] == "other"
