"""validate_theta and parse_param_value: plain arguments → a checked θ, with clear messages."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from typing import Any

import pytest
from pyrsistent import pmap, pvector

from ddl.eval import Evaluator, parse_param_value, validate_theta
from ddl.eval.theta import enum_value
from ddl.types.checked import CheckedModule
from ddl.types.model import BOOL, INT, TEXT, DecimalT, EnumT, IntT, ListT, MapT, OptionT, TextT
from ddl.values import NONE, EnumV, RecordV, SomeV

SRC = """
family shop {
  enum Genre { fantasy, mystery, science_fiction = "science fiction" | "sci-fi" }
  type Point = { lat: Decimal(4), lon: Decimal(4) }
  param genre : Genre
  param count : Int in 1..20 = 5
  param decade : Int in 1900..2020 where decade % 10 == 0 = 2000
  param price : Decimal(2) in 0.00..1000.00 = 9.99
  param title : Text(max 12, pattern [a-z] [a-z ]*) = "untitled"
  param tags : List[Text(max 5), max 3] = []
  param note : Option[Text] = none
  param where_ : Option[Point] = none
  param express : Bool = false
  param limits : Map[Text, Int, max 4] = {:}
  program -> Text = "${genre} ${count}"
}
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> CheckedModule:
    from ddl.api import compile_file

    path = tmp_path_factory.mktemp("theta") / "shop.ddl"
    path.write_text(textwrap.dedent(SRC), encoding="utf-8")
    checked, diags = compile_file(path)
    assert checked is not None and not [d for d in diags if d.is_error], [d.message for d in diags]
    return checked


def validate(shop: CheckedModule, **raw: Any) -> tuple[dict[str, Any] | None, list[str]]:
    return validate_theta(shop.families["shop"], Evaluator(shop), raw)


def genre(shop: CheckedModule, name: str) -> EnumV:
    param = shop.families["shop"].param("genre")
    assert param is not None and isinstance(param.type, EnumT)
    return enum_value(param.type, name)


def test_defaults_fill_omitted_parameters(shop: CheckedModule) -> None:
    theta, errors = validate(shop, genre="mystery")
    assert errors == []
    assert theta == {
        "genre": genre(shop, "mystery"), "count": 5, "decade": 2000, "price": Decimal("9.99"), "title": "untitled",
        "tags": pvector([]), "note": NONE, "where_": NONE, "express": False, "limits": pmap({}),
    }
    assert list(theta) == [p.name for p in shop.families["shop"].params]  # declaration order


@pytest.mark.parametrize("spelling", ["science_fiction", "science fiction", "sci-fi", "Sci-Fi", "SCIENCE FICTION"])
def test_enum_by_name_display_text_or_alias(shop: CheckedModule, spelling: str) -> None:
    theta, errors = validate(shop, genre=spelling)
    assert errors == [] and theta is not None
    assert theta["genre"] == genre(shop, "science_fiction")


def test_converted_values(shop: CheckedModule) -> None:
    theta, errors = validate(
        shop, genre="fantasy", price="84.6", title="the hobbit", tags=["a", "bb"], note="hi",
        where_={"lat": "48.8566", "lon": 2.3522}, express=True, limits={"x": 3},
    )
    assert errors == [] and theta is not None
    assert format(theta["price"], "f") == "84.60"
    assert theta["tags"] == pvector(["a", "bb"])
    assert theta["note"] == SomeV("hi")
    assert theta["where_"] == SomeV(RecordV("Point", (("lat", Decimal("48.8566")), ("lon", Decimal("2.3522")))))
    assert theta["limits"] == pmap({"x": 3})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"count": 25}, "count = 25 is outside Int in 1..20"),
        ({"count": 0}, "count = 0 is outside Int in 1..20"),
        ({"count": True}, "count = true is not an integer (Int in 1..20); got a boolean"),
        ({"count": "3"}, 'count = "3" is not an integer (Int in 1..20); got text'),
        ({"count": 2.0}, "count = 2.0 is not an integer (Int in 1..20); got a number"),
        ({"decade": 1995}, "decade = 1995 violates where decade % 10 == 0"),
        ({"price": "1.234"}, 'price = "1.234" has more than 2 decimal places (Decimal(2) in 0.00..1000.00)'),
        ({"price": 1000.01}, "price = 1000.01 is outside Decimal(2) in 0.00..1000.00"),
        ({"price": "abc"}, 'price = "abc" is not a decimal number (Decimal(2) in 0.00..1000.00); got text'),
        ({"title": "The Hobbit"}, 'title = "The Hobbit" does not match the pattern [a-z] [a-z ]*'),
        ({"title": "a very long title"}, 'title = "a very long title" is 17 characters long; '
                                          "Text(max 12, pattern [a-z] [a-z ]*) allows at most 12"),
        ({"tags": ["a", "b", "c", "d"]}, "tags has 4 elements; List[Text(max 5), max 3] allows at most 3"),
        ({"tags": ["ok", "toolong"]}, 'tags[1] = "toolong" is 7 characters long; Text(max 5) allows at most 5'),
        ({"tags": "a"}, 'tags = "a" is not a list (List[Text(max 5), max 3]); got text'),
        ({"express": "yes"}, 'express = "yes" is not true or false (Bool); got text'),
        ({"where_": {"lat": 1}}, "where_ is missing field(s) lon of Point"),
        ({"where_": {"lat": 1, "lon": 2, "alt": 3}}, "where_ has no field 'alt' (did you mean 'lat'?); Point has fields lat, lon"),
        ({"where_": {"lat": "1.00001", "lon": 0}}, 'where_.lat = "1.00001" has more than 4 decimal places (Decimal(4))'),
        ({"limits": {"x": "1"}}, 'limits["x"] = "1" is not an integer (Int); got text'),
    ],
)
def test_violations_name_the_parameter_and_its_domain(shop: CheckedModule, raw: dict[str, Any], message: str) -> None:
    theta, errors = validate(shop, genre="fantasy", **raw)
    assert theta is None
    assert errors == [message]


def test_unknown_enum_value_suggests_a_spelling(shop: CheckedModule) -> None:
    _, errors = validate(shop, genre="mystry")
    assert errors == [
        'genre = "mystry" is not a Genre (one of fantasy, mystery, science_fiction) (did you mean \'mystery\'?)'
    ]


def test_unknown_and_missing_parameters_are_all_reported(shop: CheckedModule) -> None:
    _, errors = validate(shop, cout=3, count=99)
    assert errors == [
        "unknown parameter 'cout' (did you mean 'count'?); family shop has parameters: genre, count, decade, "
        "price, title, tags, note, where_, express, limits",
        "missing required parameter 'genre' (Genre (one of fantasy, mystery, science_fiction))",
        "count = 99 is outside Int in 1..20",
    ]


def test_lone_surrogates_are_not_text(shop: CheckedModule) -> None:
    _, errors = validate(shop, genre="fantasy", note="a\ud800")
    assert errors == ["note contains a lone surrogate code point, which is not valid Unicode text"]


def test_runtime_values_are_accepted(shop: CheckedModule) -> None:
    theta, errors = validate_theta(
        shop.families["shop"], Evaluator(shop),
        {"genre": genre(shop, "mystery"), "count": 3, "price": Decimal("1.5"), "note": SomeV("x")}, values=True,
    )
    assert errors == [] and theta is not None
    assert format(theta["price"], "f") == "1.50"
    _, errors = validate_theta(shop.families["shop"], Evaluator(shop), {"genre": "mystery"}, values=True)
    assert errors == ['genre = "mystery" is not a Genre value (Genre (one of fantasy, mystery, science_fiction)); got text']


def test_validated_theta_runs(shop: CheckedModule) -> None:
    theta, _ = validate(shop, genre="sci-fi", count=3)
    assert theta is not None
    assert Evaluator(shop).run("shop", theta).value == "science fiction 3"  # type: ignore[union-attr]


# ------------------------------------------------------------------ --param text


@pytest.mark.parametrize(
    ("text", "typ", "expected"),
    [
        ("3", INT, 3),
        ("-12", IntT(-20, 20), -12),
        ("99", IntT(0, 9), 99),  # ranges are validate_theta's job
        ("84.60", DecimalT(2), Decimal("84.60")),
        ("7", DecimalT(2), Decimal("7")),
        ("true", BOOL, True),
        ("false", BOOL, False),
        ("fantasy", TEXT, "fantasy"),
        ("  spaced  ", TextT(20), "  spaced  "),
        ("none", OptionT(INT), NONE),
        ("null", OptionT(INT), NONE),
        ("4", OptionT(INT), SomeV(4)),
        ('["a", "b"]', ListT(TEXT), pvector(["a", "b"])),
        ("[1.10, 2]", ListT(DecimalT(2)), pvector([Decimal("1.10"), Decimal("2")])),
        ('{"k": 1}', MapT(TEXT, INT), pmap({"k": 1})),
        ('{"3": true}', MapT(INT, BOOL), pmap({3: True})),
    ],
)
def test_parse_param_value(text: str, typ: Any, expected: Any) -> None:
    value, problem = parse_param_value(text, typ)
    assert problem is None
    assert value == expected


def test_parse_param_value_reads_enum_spellings(shop: CheckedModule) -> None:
    param = shop.families["shop"].param("genre")
    assert param is not None
    for spelling in ("science_fiction", "science fiction", "sci-fi"):
        assert parse_param_value(spelling, param.type) == (genre(shop, "science_fiction"), None)
    assert parse_param_value("horror", param.type) == (
        None, '"horror" is not a Genre (one of fantasy, mystery, science_fiction)'
    )


@pytest.mark.parametrize(
    ("text", "typ", "problem"),
    [
        ("3.5", INT, "'3.5' is not an integer (Int)"),
        ("٣", INT, "'٣' is not an integer (Int)"),
        ("9" * 5000, INT, "an integer of more than 4000 digits is not accepted"),
        ("1e3", DecimalT(2), "'1e3' is not a decimal number (Decimal(2))"),
        ("yes", BOOL, "'yes' is not true or false"),
        ('["a", 1]', ListT(TEXT), "[1] = 1 is not text (Text); got an integer"),
        ('{"x": 1}', MapT(INT, BOOL), "the value has key \"x\": 'x' is not an integer (Int)"),
    ],
)
def test_parse_param_value_problems(text: str, typ: Any, problem: str) -> None:
    assert parse_param_value(text, typ) == (None, problem)


def test_parse_param_value_bad_json() -> None:
    value, problem = parse_param_value("[1,", ListT(INT))
    assert value is None and problem is not None
    assert problem.startswith("'[1,' is not valid JSON for List[Int]: ")


def test_param_text_then_validation(shop: CheckedModule) -> None:
    """The command line's path: --param texts parsed to values, then validated as values."""
    fam = shop.families["shop"]
    texts = {"genre": "sci-fi", "price": "84.60", "tags": '["x"]', "note": "none", "count": "25"}
    raw = {}
    for name, text in texts.items():
        param = fam.param(name)
        assert param is not None
        value, problem = parse_param_value(text, param.type)
        assert problem is None
        raw[name] = value
    theta, errors = validate_theta(fam, Evaluator(shop), raw, values=True)
    assert errors == ["count = 25 is outside Int in 1..20"]
    raw["count"] = 3
    theta, errors = validate_theta(fam, Evaluator(shop), raw, values=True)
    assert errors == [] and theta is not None
    assert theta["genre"] == genre(shop, "science_fiction")
    assert format(theta["price"], "f") == "84.60"
    assert theta["tags"] == pvector(["x"])
    assert theta["note"] == NONE
