"""Type checker behaviour as a user sees it: rendered diagnostics and inferred ranges."""

from __future__ import annotations

import textwrap

import pytest

from ddl.api import compile_source
from ddl.diagnostics import SourceMap


def diagnose(src: str, path: str = "t.ddl") -> str:
    src = textwrap.dedent(src).strip("\n") + "\n"
    _, diags = compile_source(src, path)
    sources = SourceMap()
    sources.add(path, src)
    return "\n".join(d.render(sources) for d in diags)


def body_type(src: str, fn: str) -> str:
    module, diags = compile_source(textwrap.dedent(src), "t.ddl")
    assert module is not None, [d.message for d in diags]
    (found,) = [f for f in module.functions.values() if f.name == fn]
    return str(found.body.type)


# ------------------------------------------------------------------ range reasoning


@pytest.mark.parametrize(
    ("body", "params", "expected"),
    [
        ("d + 9", "d: Int in 1900..2020", "Int in 1909..2029"),
        ("d - 9", "d: Int in 1900..2020", "Int in 1891..2011"),
        ("x * y", "x: Int in -2..3, y: Int in 4..5", "Int in -10..15"),
        ("x / 2", "x: Int in -5..7", "Int in -3..3"),
        ("x % 10", "x: Int in 0..1000", "Int in 0..9"),
        ("x % 10", "x: Int in 0..4", "Int in 0..4"),
        ("-x", "x: Int in 1..5", "Int in -5..-1"),
        ("abs(x)", "x: Int in -7..3", "Int in 0..7"),
        ("min(x, 3)", "x: Int in 0..10", "Int in 0..3"),
        ("max(x, 3)", "x: Int in 0..10", "Int in 3..10"),
        ("clamp(x, 1, 10)", "x: Int", "Int in 1..10"),
        ("len(t)", "t: Text(max 12)", "Int in 0..12"),
        ("if b then 1 else 20", "b: Bool", "Int in 1..20"),
        ("sum(xs)", "xs: List[Int in 0..9, max 4]", "Int in 0..36"),
        ("fold(xs, 0, |acc, x| acc + x)", "xs: List[Int in 1..3, max 3]", "Int in 0..9"),
        ("[i * 2 for i in 1..n]", "n: Int in 1..4", "List[Int in 2..8, max 4]"),
        ("show(x)", "x: Int in 0..999", "Text(max 3)"),
        ("\"n=${x}\"", "x: Int in 0..99", "Text(max 4)"),
        ("x ++ \"!\"", "x: Text(max 5)", "Text(max 6)"),
        ("round(d / 3, 2)", "d: Decimal(2)", "Decimal(2)"),
        ("d * 2", "d: Decimal(2) in 0.00..10.00", "Decimal(2) in 0.00..20.00"),
        ("floor(d)", "d: Decimal(1) in 0.5..9.5", "Int in 0..9"),
    ],
)
def test_range_reasoning(body: str, params: str, expected: str) -> None:
    src = f"fn f({params}) -> Int = 0\nfn g({params}) -> Text = \"\"\n"
    # Infer through a let so the declared result type does not constrain the body's inferred type.
    src = f"fn h({params}) -> Bool = let v = {body}; true\n"
    module, diags = compile_source(src, "t.ddl")
    assert module is not None, [d.message for d in diags]
    (fn,) = module.functions.values()
    assert str(fn.body.value.type) == expected  # type: ignore[union-attr]


# ------------------------------------------------------------------ rendered errors


def test_type_mismatch_points_at_use_and_declaration() -> None:
    out = diagnose(
        """
        family f {
          param n : Int in 1..5
          program -> Text = n + 1
        }
        """
    )
    assert out.splitlines() == [
        "t.ddl:3:21: DDL202: the program's result: expected Text, found Int in 2..6",
        "   3 |   program -> Text = n + 1",
        "                           ^~~~~",
        "t.ddl:3:14: note: Text is declared here",
        "   3 |   program -> Text = n + 1",
        "                    ^~~~",
        "  hint: convert with show(...)",
    ]


def test_unknown_name_suggests_parameter() -> None:
    out = diagnose(
        """
        family f {
          param count : Int in 1..3
          program -> Int = coutn + 1
        }
        """
    )
    assert out.splitlines()[0] == "t.ddl:3:20: DDL200: unknown name 'coutn'"
    assert out.splitlines()[-1] == "  hint: did you mean 'count'?"


def test_unknown_function_suggests_builtin() -> None:
    out = diagnose('fn f(t: Text) -> Text = uper(t)')
    assert out.splitlines()[0] == "t.ddl:1:25: DDL200: unknown function 'uper'"
    assert "did you mean 'upper'?" in out


def test_unknown_field_suggests_field() -> None:
    out = diagnose(
        """
        type P = { lat: Int, lon: Int }
        fn f(p: P) -> Int = p.lot
        """
    )
    assert out.splitlines()[0] == "t.ddl:2:21: DDL205: record P has no field 'lot'"
    assert "did you mean 'lon'?" in out or "did you mean 'lat'?" in out


def test_recursion_shows_cycle_with_call_sites() -> None:
    out = diagnose(
        """
        fn a(x: Int) -> Int = b(x)
        fn b(x: Int) -> Int = c(x)
        fn c(x: Int) -> Int = a(x)
        """
    )
    lines = out.splitlines()
    assert lines[0] == "t.ddl:1:1: DDL209: recursion is not allowed: a → b → c → a"
    assert "t.ddl:1:23: note: a calls b here" in lines
    assert "t.ddl:3:23: note: c calls a here" in lines


def test_self_recursion() -> None:
    out = diagnose("fn a(x: Int) -> Int = a(x - 1)")
    assert out.splitlines()[0] == "t.ddl:1:1: DDL209: recursion is not allowed: a → a"


def test_non_exhaustive_match_lists_missing_variants() -> None:
    out = diagnose(
        """
        enum Color { red, green, blue }
        fn f(c: Color) -> Int = match c { red => 1 }
        """
    )
    assert out.splitlines()[0] == "t.ddl:2:25: DDL207: match is not exhaustive: missing green, blue"


def test_unreachable_arm_after_wildcard() -> None:
    out = diagnose(
        """
        enum Color { red, green }
        fn f(c: Color) -> Int = match c { _ => 1, red => 2 }
        """
    )
    assert out.splitlines()[0] == "t.ddl:2:43: DDL208: this arm is unreachable: an earlier arm matches everything"


def test_iteration_needs_bound() -> None:
    out = diagnose("fn f(n: Int) -> List[Int, max 5] = [i for i in 0..n]")
    assert out.splitlines()[0] == "t.ddl:1:51: DDL210: cannot iterate over a range whose bounds are not known"


def test_unbounded_list_cannot_be_iterated() -> None:
    out = diagnose("fn f(xs: List[Int]) -> List[Int] = [x for x in xs]")
    assert out.splitlines()[0] == "t.ddl:1:48: DDL210: cannot iterate over a list whose length is not bounded"


def test_disjoint_ranges_are_type_errors() -> None:
    out = diagnose("fn f(x: Int in 0..3) -> Int in 10..20 = x")
    assert out.splitlines()[0] == "t.ddl:1:41: DDL212: the result of f: a value of Int in 0..3 can never be in Int in 10..20"


def test_overlapping_ranges_insert_a_runtime_check() -> None:
    module, diags = compile_source("fn f(x: Int in 0..30) -> Int in 10..20 = x", "t.ddl")
    assert module is not None and not diags
    (fn,) = module.functions.values()
    assert type(fn.body).__name__ == "Narrow"


def test_ambiguous_variant_must_be_qualified() -> None:
    out = diagnose(
        """
        enum A { red, blue }
        enum B { red, green }
        fn f() -> Bool = red == red
        """
    )
    assert out.splitlines()[0] == "t.ddl:3:18: DDL219: 'red' is a variant of several enums; qualify it: A::red, B::red"


def test_expected_type_disambiguates_variant() -> None:
    module, diags = compile_source(
        """
        enum A { red, blue }
        enum B { red, green }
        fn f() -> B = red
        """,
        "t.ddl",
    )
    assert module is not None, [d.message for d in diags]


def test_lambda_outside_higher_order_builtin() -> None:
    out = diagnose("fn f() -> Int = let g = |x| x; 1")
    assert out.splitlines()[0] == "t.ddl:1:25: DDL222: a lambda can only be an argument of map, filter, fold, any, all or sort_by"


def test_wrong_arity_of_user_function_points_at_declaration() -> None:
    out = diagnose(
        """
        fn g(a: Int, b: Int) -> Int = a + b
        fn f() -> Int = g(1)
        """
    )
    lines = out.splitlines()
    assert lines[0] == "t.ddl:2:17: DDL203: g takes 2 arguments, given 1"
    assert lines[3] == "t.ddl:1:1: note: g is declared here"


def test_missing_record_field() -> None:
    out = diagnose(
        """
        type P = { lat: Int, lon: Int }
        fn f() -> P = P { lat = 1 }
        """
    )
    assert out.splitlines()[0] == "t.ddl:2:15: DDL206: record P is missing field lon"


def test_family_without_program() -> None:
    out = diagnose("family f { param x : Int }")
    assert out.splitlines()[0] == "t.ddl:1:8: DDL216: family 'f' has no program"


def test_text_plus_suggests_concat() -> None:
    out = diagnose('fn f(t: Text) -> Text = t + "x"')
    assert out.splitlines()[0] == "t.ddl:1:25: DDL213: '+' needs Int or Decimal operands, found Text"
    assert out.splitlines()[-1] == "  hint: use ++ to concatenate text"


def test_enum_ordering_is_rejected() -> None:
    out = diagnose(
        """
        enum C { a, b }
        fn f(x: C) -> Bool = x < b
        """
    )
    assert out.splitlines()[0] == "t.ddl:2:22: DDL213: '<' orders Int, Decimal and Text values, not C"


def test_decimal_precision_loss_is_an_error() -> None:
    out = diagnose("fn f(x: Decimal(4)) -> Decimal(2) = x")
    assert out.splitlines()[0] == "t.ddl:1:37: DDL202: the result of f: expected Decimal(2), found Decimal(4) (more decimal places)"
    assert out.splitlines()[-1] == "  hint: round it first: round(..., 2)"


def test_default_must_be_constant() -> None:
    out = diagnose(
        """
        family f {
          param a : Int in 0..5
          param b : Int in 0..5 = a
          program -> Int = a + b
        }
        """
    )
    assert "DDL200: unknown name 'a'" in out.splitlines()[0] or "DDL221" in out.splitlines()[0]


def test_example_binding_unknown_parameter() -> None:
    out = diagnose(
        """
        family f {
          param count : Int in 0..5
          program -> Int = count
          example { cuont = 1 } => 1
        }
        """
    )
    assert out.splitlines()[0] == "t.ddl:4:13: DDL200: 'cuont' is not a parameter of this family"
    assert out.splitlines()[-1] == "  hint: did you mean 'count'?"


def test_grammar_reference_must_be_param_or_rule() -> None:
    out = diagnose(
        """
        family f {
          param count : Int in 0..5
          grammar { "show " cuont }
          program -> Int = count
        }
        """
    )
    lines = out.splitlines()
    assert "t.ddl:3:21: DDL220: grammar refers to 'cuont', which is neither a parameter nor a rule" in lines
    # ... and, as a consequence, count can never be set by an utterance.
    assert lines[0] == "t.ddl:2:3: DDL216: parameter 'count' has no default and the grammar never captures it"


def test_recursive_grammar_rules_are_rejected() -> None:
    out = diagnose(
        """
        family f {
          param n : Int in 0..5
          grammar { rule a = "x" b; rule b = "y" a; a n }
          program -> Int = n
        }
        """
    )
    assert "DDL209: grammar rules refer to themselves: a → b → a" in out


def test_table_missing_key_is_partial_and_duplicate_key_is_error() -> None:
    out = diagnose(
        """
        enum City { paris, rome }
        table pop : City -> Int { paris => 2, paris => 3 }
        """
    )
    assert out.splitlines()[0] == "t.ddl:2:39: DDL214: key paris appears twice in table pop"


def test_duplicate_enum_display_text() -> None:
    out = diagnose('enum U { c = "x", f = "X" }')
    assert out.splitlines()[0] == 't.ddl:1:19: DDL225: text "X" of variant \'f\' is already used by variant \'c\' of enum U'


def test_import_of_missing_stdlib_module_suggests() -> None:
    out = diagnose("import dat\nfn f() -> Int = 1")
    assert "DDL217: cannot find stdlib module 'dat'" in out.splitlines()[0]


def test_import_cycle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.ddl").write_text('import "b.ddl"\nfn fa() -> Int = 1\n')
    (tmp_path / "b.ddl").write_text('import "a.ddl"\nfn fb() -> Int = 2\n')
    from ddl.api import compile_file

    _, diags = compile_file(tmp_path / "a.ddl")
    messages = [d.message for d in diags]
    assert "import cycle: a.ddl → b.ddl → a.ddl" in messages, messages


def test_file_import_qualified_use(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "lib.ddl").write_text("enum Tone { warm, cold }\nfn twice(x: Int in 0..10) -> Int = x * 2\n")
    (tmp_path / "main.ddl").write_text(
        'import "lib.ddl"\nfn f(t: lib::Tone) -> Int = match t { warm => lib::twice(3), cold => 0 }\n'
    )
    from ddl.api import compile_file

    module, diags = compile_file(tmp_path / "main.ddl")
    assert module is not None, [d.message for d in diags]
