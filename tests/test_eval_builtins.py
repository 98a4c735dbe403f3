"""Every built-in of ddl.builtins, implemented exactly as documented (ddl/eval/builtins.py)."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from typing import Any

import pytest
from pyrsistent import pmap, pvector

from ddl.builtins import BUILTINS
from ddl.eval import Err, Evaluator, Ok
from ddl.eval.builtins import IMPLS
from ddl.types import ir
from ddl.types.model import INT, DecimalT, EnumT, ListT, MapT
from ddl.values import NONE, EnumV, SomeV, to_json

B = IMPLS
L = pvector
D = Decimal

COLOR = EnumT("Color", "t.ddl", ("red", "green", "blue"), ("red", "green", "blue"))


def color(name: str) -> EnumV:
    return EnumV("t.ddl::Color", name, name)


def test_every_catalogued_builtin_is_implemented() -> None:
    assert set(IMPLS) == set(BUILTINS)


# ------------------------------------------------------------------ text


def test_len_counts_code_points_elements_and_entries() -> None:
    assert B["len"]("") == 0
    assert B["len"]("héllo😀") == 6
    assert B["len"](L([1, 2, 3])) == 3
    assert B["len"](pmap({"a": 1})) == 1


def test_upper_lower_use_unicode_case_mapping() -> None:
    assert B["upper"]("straße ü") == "STRASSE Ü"
    assert B["lower"]("ÀB C") == "àb c"
    assert B["upper"]("") == ""


def test_capitalize_keeps_the_rest_unchanged() -> None:
    assert B["capitalize"]("hello WORLD") == "Hello WORLD"
    assert B["capitalize"]("élan") == "Élan"
    assert B["capitalize"]("") == ""


def test_title_capitalizes_each_space_separated_word() -> None:
    assert B["title"]("the lord  of the rINGS") == "The Lord  Of The RINGS"
    assert B["title"]("") == ""
    assert B["title"]("a-b c") == "A-b C"


def test_trim_removes_surrounding_whitespace_only() -> None:
    assert B["trim"]("  a b \t\n") == "a b"
    assert B["trim"]("\u00a0x\u2003") == "x"
    assert B["trim"]("") == ""


def test_replace_every_occurrence_and_empty_old_is_identity() -> None:
    assert B["replace"]("a-b-c", "-", "+") == "a+b+c"
    assert B["replace"]("science fiction", " ", "_") == "science_fiction"
    assert B["replace"]("abc", "", "X") == "abc"
    assert B["replace"]("aaa", "aa", "b") == "ba"


def test_split_on_separator_and_into_code_points() -> None:
    assert B["split"]("a,b,,c", ",") == L(["a", "b", "", "c"])
    assert B["split"]("", ",") == L([""])
    assert B["split"]("héj", "") == L(["h", "é", "j"])
    assert B["split"]("", "") == L([])


def test_join_puts_separator_between_elements() -> None:
    assert B["join"](L(["a", "b", "c"]), ", ") == "a, b, c"
    assert B["join"](L([]), ",") == ""
    assert B["join"](L(["x"]), ",") == "x"


def test_slug() -> None:
    assert B["slug"]("  Hello, World!  ") == "hello-world"
    assert B["slug"]("Crème brûlée 2024") == "cr-me-br-l-e-2024"
    assert B["slug"]("---") == ""
    assert B["slug"]("") == ""


def test_url_encode_percent_encodes_utf8_except_unreserved() -> None:
    assert B["url_encode"]("a b/ü") == "a%20b%2F%C3%BC"
    assert B["url_encode"]("A-Z_a.z~0") == "A-Z_a.z~0"
    assert B["url_encode"]("?&=+") == "%3F%26%3D%2B"
    assert B["url_encode"]("😀") == "%F0%9F%98%80"
    assert B["url_encode"]("") == ""


def test_show_canonical_text() -> None:
    assert B["show"](-42) == "-42"
    assert B["show"](D("84.60")) == "84.60"
    assert B["show"](D("0.00")) == "0.00"
    assert B["show"](True) == "true"
    assert B["show"](False) == "false"
    assert B["show"]("as is") == "as is"
    assert B["show"](EnumV("x::G", "science_fiction", "science fiction")) == "science fiction"
    assert B["show"](10**5000) == "1" + "0" * 5000  # beyond Python's int-to-str limit


def test_text_and_name_of_an_enum() -> None:
    sf = EnumV("x::G", "science_fiction", "science fiction")
    assert B["text"](sf) == "science fiction"
    assert B["name"](sf) == "science_fiction"


def test_pad_left_and_right() -> None:
    assert B["pad_left"]("7", 3, "0") == "007"
    assert B["pad_left"]("1234", 3, "0") == "1234"
    assert B["pad_left"]("7", 3, "") == "  7"
    assert B["pad_left"]("7", 3, "xy") == "xx7"
    assert B["pad_left"]("7", -5, "0") == "7"
    assert B["pad_right"]("ab", 4, ".") == "ab.."
    assert B["pad_right"]("ab", 4, "") == "ab  "
    assert B["pad_right"]("é", 2, "😀") == "é😀"


def test_contains_on_text_list_and_map() -> None:
    assert B["contains"]("hello", "ell") is True
    assert B["contains"]("hello", "") is True
    assert B["contains"]("hello", "L") is False
    assert B["contains"](L([1, 2]), 2) is True
    assert B["contains"](L([1, 2]), 3) is False
    assert B["contains"](L([True]), 1) is False  # Bool is not Int
    assert B["contains"](pmap({"k": 1}), "k") is True
    assert B["contains"](pmap({"k": 1}), 1) is False


def test_starts_with_and_ends_with() -> None:
    assert B["starts_with"]("https://x", "https://") is True
    assert B["starts_with"]("abc", "") is True
    assert B["starts_with"]("abc", "b") is False
    assert B["ends_with"]("file.json", ".json") is True
    assert B["ends_with"]("", "x") is False


def test_slice_clamps_and_never_fails() -> None:
    assert B["slice"]("hello", 1, 3) == "el"
    assert B["slice"]("hello", -5, 2) == "he"
    assert B["slice"]("hello", 3, 100) == "lo"
    assert B["slice"]("hello", 4, 2) == ""
    assert B["slice"]("héllo", 1, 2) == "é"
    assert B["slice"]("", 0, 1) == ""


def test_repeat_clamps_n() -> None:
    assert B["repeat"]("ab", 3) == "ababab"
    assert B["repeat"]("ab", 0) == ""
    assert B["repeat"]("ab", -2) == ""
    assert len(B["repeat"]("x", 5000)) == 1000


def test_parse_int() -> None:
    assert B["parse_int"](" 42 ") == SomeV(42)
    assert B["parse_int"]("-7") == SomeV(-7)
    assert B["parse_int"]("+7") == SomeV(7)
    assert B["parse_int"]("007") == SomeV(7)
    assert B["parse_int"]("9" * 18) == SomeV(int("9" * 18))
    for bad in ["", "  ", "1.5", "1_000", "٣", "9" * 19, "--1", "1e3", "+", "0x10"]:
        assert B["parse_int"](bad) == NONE, bad


def test_parse_decimal_rounds_half_even() -> None:
    assert B["parse_decimal"]("84.6", 2) == SomeV(D("84.60"))
    assert B["parse_decimal"](" -1.005 ", 2) == SomeV(D("-1.00"))
    assert B["parse_decimal"]("1.015", 2) == SomeV(D("1.02"))
    assert B["parse_decimal"]("2.5", 0) == SomeV(D("2"))
    assert B["parse_decimal"]("3.5", 0) == SomeV(D("4"))
    assert B["parse_decimal"]("7", 3) == SomeV(D("7.000"))
    assert str(B["parse_decimal"]("-0.001", 2).value) == "0.00"  # no negative zero
    for bad in ["", "abc", "1.2.3", "1e5", "NaN", "Infinity", "1,5", "."]:
        assert B["parse_decimal"](bad, 2) == NONE, bad


# ------------------------------------------------------------------ numbers


def test_min_max_abs() -> None:
    assert B["min"](3, -4) == -4
    assert B["max"](3, -4) == 3
    assert B["min"](D("1.50"), D("1.49")) == D("1.49")
    assert B["abs"](-5) == 5
    assert str(B["abs"](D("-2.50"))) == "2.50"


def test_clamp_with_empty_interval_gives_lo() -> None:
    assert B["clamp"](5, 1, 10) == 5
    assert B["clamp"](-3, 1, 10) == 1
    assert B["clamp"](30, 1, 10) == 10
    assert B["clamp"](5, 10, 1) == 10
    assert B["clamp"](0, 10, 1) == 10
    assert B["clamp"](D("2.5"), D("0.0"), D("1.0")) == D("1.0")


def test_round_half_even() -> None:
    assert str(B["round"](D("2.345"), 2)) == "2.34"
    assert str(B["round"](D("2.355"), 2)) == "2.36"
    assert str(B["round"](D("-0.5"), 0)) == "0"
    assert str(B["round"](D("1.5"), 0)) == "2"
    assert str(B["round"](D("1.2"), 3)) == "1.200"


def test_floor_and_ceil_of_negatives() -> None:
    assert B["floor"](D("-2.5")) == -3
    assert B["ceil"](D("-2.5")) == -2
    assert B["floor"](D("2.0")) == 2
    assert B["ceil"](D("2.01")) == 3
    assert type(B["floor"](D("7.9"))) is int


def test_to_decimal_is_exact() -> None:
    assert str(B["to_decimal"](12, 2)) == "12.00"
    assert str(B["to_decimal"](-3, 0)) == "-3"
    assert str(B["to_decimal"](10**30, 1)) == "1" + "0" * 30 + ".0"


# ------------------------------------------------------------------ lists


def test_higher_order_builtins_call_the_lambda() -> None:
    xs = L([3, 1, 2])
    assert B["map"](xs, lambda x: x * 10) == L([30, 10, 20])
    assert B["filter"](xs, lambda x: x > 1) == L([3, 2])
    assert B["fold"](xs, 0, lambda acc, x: acc * 10 + x) == 312
    assert B["fold"](L([]), "init", lambda acc, x: "never") == "init"
    assert B["any"](xs, lambda x: x == 2) is True
    assert B["any"](L([]), lambda x: True) is False
    assert B["all"](xs, lambda x: x > 0) is True
    assert B["all"](L([]), lambda x: False) is True


def test_any_and_all_stop_at_the_first_decisive_element() -> None:
    seen: list[int] = []

    def pred(x: int) -> bool:
        seen.append(x)
        return x == 1

    assert B["any"](L([0, 1, 2, 3]), pred) is True
    assert seen == [0, 1]


def test_sort_by_is_stable() -> None:
    words = L(["bb", "a", "cc", "d", "eee"])
    assert B["sort_by"](words, len) == L(["a", "d", "bb", "cc", "eee"])
    assert B["sort_by"](L([]), len) == L([])


def test_sum() -> None:
    assert B["sum"](L([1, 2, -3])) == 0
    assert B["sum"](L([])) == 0
    assert str(B["sum"](L([D("0.10"), D("0.20")]))) == "0.30"
    big = D("1" + "0" * 40)
    assert B["sum"](L([big, D("1")])) == D("1" + "0" * 39 + "1")  # exact beyond 28 digits


def test_take_and_drop_clamp() -> None:
    xs = L([1, 2, 3])
    assert B["take"](xs, 2) == L([1, 2])
    assert B["take"](xs, 10) == xs
    assert B["take"](xs, -1) == L([])
    assert B["drop"](xs, 1) == L([2, 3])
    assert B["drop"](xs, 10) == L([])
    assert B["drop"](xs, -4) == xs


def test_sort_orders_numbers_and_text_by_code_point() -> None:
    assert B["sort"](L([3, -1, 2])) == L([-1, 2, 3])
    assert B["sort"](L(["b", "B", "a", "é"])) == L(["B", "a", "b", "é"])
    assert B["sort"](L([D("1.10"), D("1.01")])) == L([D("1.01"), D("1.10")])


def test_reverse_first_last() -> None:
    assert B["reverse"](L([1, 2, 3])) == L([3, 2, 1])
    assert B["reverse"](L([])) == L([])
    assert B["first"](L([4, 5])) == SomeV(4)
    assert B["last"](L([4, 5])) == SomeV(5)
    assert B["first"](L([])) == NONE
    assert B["last"](L([])) == NONE


def test_get_on_lists_and_maps_is_total() -> None:
    xs = L(["a", "b"])
    assert B["get"](xs, 1) == SomeV("b")
    assert B["get"](xs, 2) == NONE
    assert B["get"](xs, -1) == NONE  # no Python negative indexing
    m = pmap({"k": 1})
    assert B["get"](m, "k") == SomeV(1)
    assert B["get"](m, "x") == NONE


def test_keys_and_values_in_ascending_key_order() -> None:
    m = pmap({"b": 2, "a": 1, "c": 3})
    assert B["keys"](m) == L(["a", "b", "c"])
    assert B["values"](m) == L([1, 2, 3])
    assert B["keys"](pmap({})) == L([])


def test_unique_keeps_first_occurrences_in_order() -> None:
    assert B["unique"](L([3, 1, 3, 2, 1])) == L([3, 1, 2])
    assert B["unique"](L([])) == L([])
    assert B["unique"](L([SomeV(1), NONE, SomeV(1)])) == L([SomeV(1), NONE])


# ------------------------------------------------------------------ options


def test_option_builtins() -> None:
    assert B["some"](3) == SomeV(3)
    assert B["is_some"](SomeV(0)) is True
    assert B["is_some"](NONE) is False
    assert B["is_none"](NONE) is True
    assert B["is_none"](SomeV(False)) is False
    assert B["unwrap_or"](SomeV(1), 2) == 1
    assert B["unwrap_or"](NONE, 2) == 2


# ------------------------------------------------------------------ through the evaluator (types matter)


def _call(name: str, args: tuple[ir.Node, ...], typ: Any) -> Any:
    module = _empty_module()
    out = Evaluator(module).eval_closed(ir.CallBuiltin(name, args, typ))
    assert isinstance(out, Ok), out
    return out.value


def _empty_module() -> Any:
    from ddl.types.checked import CheckedModule

    return CheckedModule("t.ddl", None, {}, {}, {})  # type: ignore[arg-type]


def _const_list(items: list[Any], elem: Any) -> ir.Const:
    return ir.Const(L(items), ListT(elem))


def test_sort_orders_enums_by_declaration() -> None:
    xs = _const_list([color("blue"), color("red"), color("green")], COLOR)
    assert _call("sort", (xs,), ListT(COLOR)) == L([color("red"), color("green"), color("blue")])


def test_keys_and_values_order_enum_keys_by_declaration() -> None:
    m = ir.Const(pmap({color("blue"): 3, color("red"): 1, color("green"): 2}), MapT(COLOR, INT))
    assert _call("keys", (m,), ListT(COLOR)) == L([color("red"), color("green"), color("blue")])
    assert _call("values", (m,), ListT(INT)) == L([1, 2, 3])


def test_sum_of_an_empty_decimal_list_has_the_list_scale() -> None:
    out = _call("sum", (_const_list([], DecimalT(2)),), DecimalT(2))
    assert to_json(out) == "0.00"


def test_min_of_int_and_decimal_takes_the_result_scale() -> None:
    out = _call("max", (ir.Const(D("1.5"), DecimalT(1)), ir.Const(2, INT)), DecimalT(1))
    assert to_json(out) == "2.0"


def test_pad_with_a_huge_width_exhausts_the_budget_instead_of_memory() -> None:
    node = ir.CallBuiltin("pad_left", (ir.Const("", INT), ir.Const(10**12, INT), ir.Const("x", INT)), INT)
    out = Evaluator(_empty_module(), step_budget=10_000).eval_closed(node)
    assert isinstance(out, Err) and out.failure.code == "DDL305"


# ------------------------------------------------------------------ through DDL source


def _run_fn(src: str, fn: str, *args: Any) -> Any:
    from ddl.api import compile_source

    module, diags = compile_source(textwrap.dedent(src), "b.ddl")
    assert module is not None and not [d for d in diags if d.is_error], [d.message for d in diags]
    (key,) = [k for k, f in module.functions.items() if f.name == fn]
    out = Evaluator(module).call(key, list(args))
    assert isinstance(out, Ok), out
    return out.value


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('upper("abc") ++ lower("DEF")', "ABCdef"),
        ('join(map(split("a b c", " "), |w| upper(w)), "-")', "A-B-C"),
        ('show(fold([1, 2, 3], 0, |acc, x| acc + x))', "6"),
        ('join(sort_by(["ccc", "a", "bb"], |w| len(w)), ",")', "a,bb,ccc"),
        ('show(round(2.345, 2))', "2.34"),
        ('show(to_decimal(3, 2))', "3.00"),
        ('show(parse_int(" 12 ") ?? 0)', "12"),
        ('show(sum([1.25, 2.5]))', "3.75"),
        ('join([show(x) for x in reverse([1, 2, 3]) if x != 2], "")', "31"),
        ('show(len(unique([1, 1, 2])))', "2"),
        ('url_encode("a b/ü")', "a%20b%2F%C3%BC"),
        ('slug("  Hello, World!  ")', "hello-world"),
        ('pad_left(show(7), 3, "0")', "007"),
        ('show(any([1, 2], |x| x > 1)) ++ show(all([1, 2], |x| x > 1))', "truefalse"),
        ('join(keys({ "b": 1, "a": 2 }), "")', "ab"),
        ('show(floor(-2.5)) ++ show(ceil(-2.5))', "-3-2"),
    ],
)
def test_builtins_from_source(body: str, expected: str) -> None:
    assert _run_fn(f"fn f() -> Text = {body}\n", "f") == expected


def test_sort_of_enums_from_source_uses_declaration_order() -> None:
    src = """
    enum Size { small, medium, large }
    fn f() -> Text = join(map(sort([large, small, medium]), |s| name(s)), ",")
    """
    assert _run_fn(src, "f") == "small,medium,large"
