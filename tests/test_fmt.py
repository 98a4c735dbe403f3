"""The canonical formatter: layout, parentheses, quoting, comments, idempotence."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pytest

from ddl.syntax import ast as A
from ddl.syntax.fmt import Comment, collect_comments, format_module, format_source
from ddl.syntax.parser import parse_source

ROOT = Path(__file__).resolve().parent.parent


def fmt(source: str) -> str:
    out, diagnostics = format_source(source, "t.ddl")
    assert diagnostics == []
    assert out is not None
    return out


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def assert_canonical(text: str) -> None:
    """``text`` is already formatted, and formatting keeps the AST and the comments."""
    assert fmt(text) == text


# ------------------------------------------------------------------ layout


MESSY = src(
    """
    import "common.ddl" as common
    import date
    # Units.
    enum Unit{celsius,fahrenheit="fahrenheit"|"F",}
    type Point={lat:Decimal(4),lon:Decimal(4)}
    table coords:City->Point{paris=>Point{lat=48.8566,lon=2.3522},london=>Point{lat=51.5072,lon=-0.1276}}
    fn double(x:Int in 0..10)->Int=x*2
    family weather{"Current weather for one city."
    param city:City
    param days:Int in 1..7=3
    param unit : Unit = celsius
    grammar ignore_case{rule verb="weather"|"forecast";verb" in "city (" for "days" days")?}
    program->Request=let p=coords[city];let q:Text=show(p.lat);Request{method="GET",url="https://api.example.org/v1/forecast",query={"latitude":q,"longitude":show(p.lon),"days":show(days)}}
    example "weather in paris"=>{city=paris}=>Request{method="GET",url="https://api.example.org/v1/forecast",query={"latitude":"48.8566","longitude":"2.3522","days":"3"}}
    example{city=london,days=2}=>none
    teach city=paris,days=3
    priority -1
    allow   city in "paris-weather.example.org"because"the provider's host, whatever the city"
    }
    """
)

CANONICAL = src(
    """
    import "common.ddl" as common
    import date

    # Units.
    enum Unit { celsius, fahrenheit = "fahrenheit" | "F" }

    type Point = { lat: Decimal(4), lon: Decimal(4) }

    table coords : City -> Point {
      paris => Point { lat = 48.8566, lon = 2.3522 },
      london => Point { lat = 51.5072, lon = -0.1276 },
    }

    fn double(x: Int in 0..10) -> Int = x * 2

    family weather {
      "Current weather for one city."

      param city : City
      param days : Int in 1..7 = 3
      param unit : Unit = celsius

      grammar ignore_case {
        rule verb = "weather" | "forecast";
        verb " in " city (" for " days " days")?
      }

      program -> Request =
        let p = coords[city];
        let q: Text = show(p.lat);
        Request {
          method = "GET",
          url = "https://api.example.org/v1/forecast",
          query = { "latitude": q, "longitude": show(p.lon), "days": show(days) },
        }

      example "weather in paris"
        => { city = paris }
        => Request {
          method = "GET",
          url = "https://api.example.org/v1/forecast",
          query = { "latitude": "48.8566", "longitude": "2.3522", "days": "3" },
        }

      example { city = london, days = 2 } => none

      teach city = paris, days = 3

      priority -1

      allow city in "paris-weather.example.org" because "the provider's host, whatever the city"
    }
    """
)


def test_messy_source_gets_the_canonical_layout() -> None:
    assert fmt(MESSY) == CANONICAL


def test_canonical_layout_is_a_fixed_point() -> None:
    assert_canonical(CANONICAL)


def test_formatting_keeps_the_ast() -> None:
    assert parse_source(fmt(MESSY))[0] == parse_source(MESSY)[0]


def test_literals_break_one_entry_per_line_with_trailing_commas() -> None:
    entries = ", ".join(f'"key{i}": {i}' for i in range(12))
    assert fmt(f"fn f() -> Map[Text, Int] = {{{entries}}}") == src(
        """
        fn f() -> Map[Text, Int] =
          {
            "key0": 0,
            "key1": 1,
            "key2": 2,
            "key3": 3,
            "key4": 4,
            "key5": 5,
            "key6": 6,
            "key7": 7,
            "key8": 8,
            "key9": 9,
            "key10": 10,
            "key11": 11,
          }
        """
    )


def test_lists_and_calls_stay_on_one_line_when_they_fit() -> None:
    assert fmt("fn f() -> List[Int] = concat([1,2,3],[ ],[4])") == "fn f() -> List[Int] = concat([1, 2, 3], [], [4])\n"


def test_long_call_breaks_its_arguments() -> None:
    args = ", ".join(f"argument_number_{i}" for i in range(6))
    assert fmt(f"fn f() -> Int = g({args})") == src(
        """
        fn f() -> Int =
          g(
            argument_number_0,
            argument_number_1,
            argument_number_2,
            argument_number_3,
            argument_number_4,
            argument_number_5,
          )
        """
    )


def test_match_arms_are_one_per_line() -> None:
    assert fmt('fn f(g: Genre) -> Text = match g { fantasy => "f", Genre::mystery => "m", _ => "?" }') == src(
        """
        fn f(g: Genre) -> Text =
          match g {
            fantasy => "f",
            Genre::mystery => "m",
            _ => "?",
          }
        """
    )


def test_match_patterns() -> None:
    text = fmt('fn f() -> Int = match x { -3 => 1, 0 => 2, "a\\n" => 3, true => 4, none => 5, some(v) => v }')
    assert "    -3 => 1,\n    0 => 2,\n    \"a\\n\" => 3,\n    true => 4,\n    none => 5,\n    some(v) => v,\n" in text


def test_let_chains_are_one_binding_per_line() -> None:
    assert fmt("fn f() -> Int = let a = 1; let b: Int in 0..9 = a + 1; a * b") == src(
        """
        fn f() -> Int =
          let a = 1;
          let b: Int in 0..9 = a + 1;
          a * b
        """
    )


def test_a_let_as_a_let_value_is_parenthesized() -> None:
    assert fmt("fn f() -> Int = let a = let b = 1; b; a") == src(
        """
        fn f() -> Int =
          let a = (
            let b = 1;
            b
          );
          a
        """
    )


def test_long_if_breaks_into_branches_and_else_if_chains() -> None:
    cond = " and ".join(f"condition_{i}" for i in range(5))
    assert fmt(f"fn f() -> Int = if {cond} then 1 else if c then 2 else 3") == src(
        """
        fn f() -> Int =
          if condition_0 and condition_1 and condition_2 and condition_3 and condition_4 then
            1
          else if c then
            2
          else
            3
        """
    )


def test_long_condition_puts_then_on_its_own_line() -> None:
    cond = " and ".join(f"condition_{i}" for i in range(6))
    assert fmt(f"fn f() -> Int = if {cond} then 1 else 2") == src(
        """
        fn f() -> Int =
          if condition_0 and condition_1 and condition_2 and condition_3 and condition_4 and condition_5
          then
            1
          else
            2
        """
    )


def test_longer_condition_breaks_before_operators() -> None:
    cond = " and ".join(f"condition_{i}" for i in range(7))
    assert fmt(f"fn f() -> Int = if {cond} then 1 else 2") == src(
        """
        fn f() -> Int =
          if condition_0
            and condition_1
            and condition_2
            and condition_3
            and condition_4
            and condition_5
            and condition_6
          then
            1
          else
            2
        """
    )


def test_long_operator_chain_breaks_before_operators() -> None:
    parts = " ++ ".join(f'"piece number {i}"' for i in range(7))
    assert fmt(f"fn f() -> Text = {parts}") == src(
        """
        fn f() -> Text =
          "piece number 0"
            ++ "piece number 1"
            ++ "piece number 2"
            ++ "piece number 3"
            ++ "piece number 4"
            ++ "piece number 5"
            ++ "piece number 6"
        """
    )


def test_lines_stay_within_100_columns() -> None:
    for line in CANONICAL.splitlines():
        assert len(line) <= 100


def test_empty_forms() -> None:
    text = "enum E {}\ntype R = {}\ntable t : Int -> Int {}\nfamily f {}\nfn g() -> List[Int] = h([], {:}, R {})\n"
    assert fmt(text) == src(
        """
        enum E {}

        type R = {}

        table t : Int -> Int {}

        family f {}

        fn g() -> List[Int] = h([], {:}, R {})
        """
    )


def test_comprehensions_and_lambdas() -> None:
    assert fmt("fn f() -> List[Int] = [ x*2 for x in 1 .. n if x%2==0 ]") == (
        "fn f() -> List[Int] = [x * 2 for x in 1..n if x % 2 == 0]\n"
    )
    assert fmt("fn f() -> Int = fold(xs, 0, | acc , x | acc + x)") == "fn f() -> Int = fold(xs, 0, |acc, x| acc + x)\n"


def test_family_sections_are_separated_by_blank_lines() -> None:
    text = 'family f { param a : Int param b : Int ensures a > 0 ensures "b" b > 0 teach a = 1 }'
    assert fmt(text) == src(
        """
        family f {
          param a : Int
          param b : Int

          ensures a > 0
          ensures "b" b > 0

          teach a = 1
        }
        """
    )


def test_types() -> None:
    text = (
        "type A = Map[Text(max 3, pattern [a-z]+), Option[List[Decimal(2) in -1.50..2, max 4]], max 9]\n"
        "type B = m::Thing\n"
    )
    assert fmt(text) == text.replace("\ntype B", "\n\ntype B")


# ------------------------------------------------------------------ parentheses and literals


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("(a + b) * c", "(a + b) * c"),
        ("a + (b * c)", "a + b * c"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a ++ (b ++ c)", "a ++ (b ++ c)"),
        ("(a or b) and c", "(a or b) and c"),
        ("not (a and b)", "not (a and b)"),
        ("(not a) == b", "(not a) == b"),
        ("not a == b", "not a == b"),
        ("(a == b) == c", "(a == b) == c"),
        ("a < (b ++ c)", "a < b ++ c"),
        ("a ?? (b ?? c)", "a ?? b ?? c"),
        ("(a ?? b) ?? c", "(a ?? b) ?? c"),
        ("(if c then 1 else 2) + 1", "(if c then 1 else 2) + 1"),
        ("f((if c then 1 else 2))", "f(if c then 1 else 2)"),
        ("((x))[0].y(1)", "x[0].y(1)"),
        ("(|x| x + 1)", "|x| x + 1"),
        ("-(x.y)", "-x.y"),
        ("--x", "--x"),
        # negative literals: `-3` is the literal, `-(3)` a negation of a literal
        ("- 3", "-3"),
        ("-(3)", "-(3)"),
        ("-(-3)", "-(-3)"),
        ("--3", "3"),
        ("a - -3", "a - -3"),
        ("a - 3", "a - 3"),
        ("a-(3)", "a - 3"),
        ("(-3).x", "(-3).x"),
        ("-3 * x", "-3 * x"),
        ("-(2.50) + -2.50 * (-1.0).abs", "-(2.50) + -2.50 * (-1.0).abs"),
        ("0.0000001", "0.0000001"),
        ("1.10", "1.10"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
        ("Genre::fantasy", "Genre::fantasy"),
        ("m::Genre::fantasy", "m::Genre::fantasy"),
        ("m::f(1)", "m::f(1)"),
        ("m::Point { x = 1 }", "m::Point { x = 1 }"),
    ],
)
def test_minimal_parentheses(written: str, canonical: str) -> None:
    out = fmt(f"fn f() -> Int = {written}")
    assert out == f"fn f() -> Int = {canonical}\n"
    assert parse_source(out)[0] == parse_source(f"fn f() -> Int = {written}")[0]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        (r'"plain"', r'"plain"'),
        (r'"tab\there\nnew \"q\" back\\slash"', r'"tab\there\nnew \"q\" back\\slash"'),
        (r'"\u{41}\u{1F600}\0"', '"A\U0001f600\\u{0}"'),
        (r'"cost: $5, \${not} ${ x  +  1 }"', r'"cost: $5, \${not} ${x + 1}"'),
        (r'"$${x}"', r'"$${x}"'),
        (r'"${x}${y}"', r'"${x}${y}"'),
        (r'"${ {1: 2}[1] }"', r'"${{ 1: 2 }[1]}"'),
        (r'"${let a = 1; a}"', r'"${let a = 1; a}"'),
        (r'"${match x { _ => 1 }}"', r'"${match x { _ => 1 }}"'),
        (r'"\r\u{7f}é"', r'"\r\u{7f}é"'),
    ],
)
def test_text_literals_are_requoted(written: str, canonical: str) -> None:
    out = fmt(f"fn f() -> Text = {written}")
    assert out == f"fn f() -> Text = {canonical}\n"
    assert parse_source(out)[0] == parse_source(f"fn f() -> Text = {written}")[0]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("[a-z0-9_]", "[a-z0-9_]"),
        ("[^\\n\\t\\r]", "[^\\n\\t\\r]"),
        ("[a\\-z]", "[a\\-z]"),
        ("[a-]", "[a\\-]"),
        ("[\\^^]", "[\\^\\^]"),
        ("[\\]\\[]", "[\\][]"),
        ("[\\\\]", "[\\\\]"),
        ("[\\ ]", "[ ]"),
        ("[ -~]", "[ -~]"),
        ("[^]", "[^]"),
        ("[é-ü€]", "[é-ü€]"),
        ('"a"{0,1} "b"{0,} "c"{1,} "d"{2,2} "e"{2,} "f"{2,5}', '"a"? "b"* "c"+ "d"{2} "e"{2,} "f"{2,5}'),
        ('("a" | "b") ("c" "d") & ~"e"', '("a" | "b") ("c" "d") & ~"e"'),
        ('~("a"*)', '~("a"*)'),
        ('(~"a")*', '~"a"*'),
        ('("a"?)*', '"a"?*'),
        ('"a" | ("b" | "c")', '"a" | ("b" | "c")'),
        ('(("a" "b")) "c"', '("a" "b") "c"'),
        (". x", ". x"),
        ('"${not interpolated}"', '"\\${not interpolated}"'),
    ],
)
def test_regexes_are_reemitted_canonically(written: str, canonical: str) -> None:
    out = fmt(f"type T = Text(pattern {written})")
    assert out == f"type T = Text(pattern {canonical})\n"
    assert parse_source(out)[0] == parse_source(f"type T = Text(pattern {written})")[0]


def test_ensures_without_label_keeps_parentheses_before_a_text_literal() -> None:
    text = 'family f {\n  ensures ("a" ++ x == y)\n  ensures "label" ("a" ++ x == y)\n}\n'
    assert fmt(text) == 'family f {\n  ensures ("a" ++ x == y)\n  ensures "label" "a" ++ x == y\n}\n'
    assert parse_source(fmt(text))[0] == parse_source(text)[0]


def test_long_patterns_in_types_break_after_pattern() -> None:
    alts = " | ".join(f'"alternative number {i}"' for i in range(5))
    assert fmt(f"family f {{ param p : Text(max 9, pattern [a-z] ({alts}) [0-9]+) }}") == src(
        """
        family f {
          param p : Text(max 9, pattern
            [a-z]
              ("alternative number 0" | "alternative number 1" | "alternative number 2"
               | "alternative number 3" | "alternative number 4") [0-9]+)
        }
        """
    )


def test_long_sequences_fill_their_lines() -> None:
    items = " ".join(f'"word{i}" x{i}' for i in range(12))
    assert fmt(f"family f {{ grammar {{ rule r = {items}; r }} }}") == src(
        """
        family f {
          grammar {
            rule r = "word0" x0 "word1" x1 "word2" x2 "word3" x3 "word4" x4 "word5" x5 "word6" x6 "word7" x7
                "word8" x8 "word9" x9 "word10" x10 "word11" x11;
            r
          }
        }
        """
    )


def test_long_grammar_bodies_break_at_alternatives() -> None:
    # Short alternatives (a vocabulary) fill their lines; long ones get a line each.
    alts = " | ".join(f'"alternative number {i}"' for i in range(5))
    assert fmt(f"family f {{ grammar {{ {alts} }} }}") == src(
        """
        family f {
          grammar {
            "alternative number 0" | "alternative number 1" | "alternative number 2"
            | "alternative number 3" | "alternative number 4"
          }
        }
        """
    )
    alts = " | ".join(f'"a much longer alternative, number {i}, of a grammar"' for i in range(3))
    assert fmt(f"family f {{ grammar {{ {alts} }} }}") == src(
        """
        family f {
          grammar {
            "a much longer alternative, number 0, of a grammar"
            | "a much longer alternative, number 1, of a grammar"
            | "a much longer alternative, number 2, of a grammar"
          }
        }
        """
    )


# ------------------------------------------------------------------ comments


COMMENTED = src(
    """
    # File header.

    # About imports.
    import date  # the stdlib

    family f {  # header note
      "Doc."
      # before the enum
      enum E {
        # first variant
        a,  # trailing a
        b
        # after the last variant
      }
      type R = {
        x: Int,  # x coordinate
      }
      param p : Int = 1 +  # inside an expression
        2
      grammar {
        # a rule
        rule r = "a";  # trailing rule
        # the body
        r "b"
      }
      program -> Int =
        # first binding
        let a = 1;  # trailing a

        # second binding
        let b = a + 1;
        # the body
        a + b  # end
      table t : Int -> Int {
        1 => 2,  # one
        # two
        2 => 3,
      }
      # closing remark
    }
    # the end
    """
)

COMMENTED_CANONICAL = src(
    """
    # File header.

    # About imports.
    import date  # the stdlib

    family f {
      "Doc."

      # header note
      # before the enum
      enum E {
        # first variant
        a,  # trailing a
        b,
        # after the last variant
      }

      type R = {
        x: Int,  # x coordinate
      }

      # inside an expression
      param p : Int = 1 + 2

      grammar {
        # a rule
        rule r = "a";  # trailing rule
        # the body
        r "b"
      }

      program -> Int =
        # first binding
        let a = 1;  # trailing a
        # second binding
        let b = a + 1;
        # the body
        a + b  # end

      table t : Int -> Int {
        1 => 2,  # one
        # two
        2 => 3,
      }

      # closing remark
    }

    # the end
    """
)


def test_comments_are_attached_to_their_items() -> None:
    assert fmt(COMMENTED) == COMMENTED_CANONICAL


def test_comment_layout_is_a_fixed_point() -> None:
    assert_canonical(COMMENTED_CANONICAL)


def test_every_comment_survives() -> None:
    before = [c.text for c in collect_comments(COMMENTED)]
    after = [c.text for c in collect_comments(fmt(COMMENTED))]
    assert len(before) == 22
    assert Counter(before) == Counter(after)


def test_comment_inside_a_let_value_moves_before_the_binding() -> None:
    text = "fn f() -> Int =\n  let a = g(1,  # one\n    2);\n  a\n"
    assert fmt(text) == "fn f() -> Int =\n  # one\n  let a = g(1, 2);\n  a\n"


def test_comment_before_a_let_chain_in_the_middle_of_a_line() -> None:
    text = "family f {\n  example { a = 1 } => # note\n    let b = 2; b\n}\n"
    # the chain starts a line of its own so that the comment can precede it
    assert fmt(text) == src(
        """
        family f {
          example { a = 1 }
            =>
              # note
              let b = 2;
              b
        }
        """
    )
    assert_canonical(fmt(text))


def test_hash_inside_text_and_character_classes_is_not_a_comment() -> None:
    text = 'type T = Text(pattern [#] "#")  # real\nfn f() -> Text = "#${x}#"\n'
    assert [c.text for c in collect_comments(text)] == ["# real"]
    assert fmt(text) == 'type T = Text(pattern [#] "#")  # real\n\nfn f() -> Text = "#${x}#"\n'


def test_comment_only_file() -> None:
    assert fmt("# just a note\n\n\n# and another\n") == "# just a note\n\n# and another\n"


def test_empty_file() -> None:
    assert fmt("") == ""
    assert fmt("\n\n  \n") == ""


def test_comment_positions_are_reported() -> None:
    comments = collect_comments("fn f() -> Int = 1  # a  \n\n# b\n")
    assert comments == [
        Comment("# a", 19, 1, blank_after=True, next_code=30),
        Comment("# b", 26, 3, blank_after=False, next_code=30),
    ]


# ------------------------------------------------------------------ entry points


def test_format_source_reports_syntax_errors() -> None:
    out, diagnostics = format_source("fn f( -> Int = 1", "bad.ddl")
    assert out is None
    assert [d.code for d in diagnostics] == ["DDL103"]
    assert diagnostics[0].span.path == "bad.ddl"


def test_format_source_accepts_bytes_crlf_and_bom() -> None:
    text = "\ufeff# note\r\nfn f() -> Int =\r\n  1 + 2\r\n"
    out, diagnostics = format_source(text.encode("utf-8"), "crlf.ddl")
    assert diagnostics == []
    assert out == "# note\nfn f() -> Int = 1 + 2\n"


def test_format_source_rejects_invalid_utf8() -> None:
    out, diagnostics = format_source(b"fn f() -> Int = \xff", "x.ddl")
    assert out is None
    assert [d.code for d in diagnostics] == ["DDL101"]


def test_format_module_without_comments() -> None:
    module = A.Module(
        (
            A.FnDecl(
                "f",
                (A.FnParam("x", A.IntType(0, 9)),),
                A.IntType(),
                A.Binary("*", A.Binary("+", A.Name(("x",)), A.IntLit(1)), A.Unary("-", A.IntLit(2))),
            ),
        )
    )
    assert format_module(module) == "fn f(x: Int in 0..9) -> Int = (x + 1) * -(2)\n"


# ------------------------------------------------------------------ the project's own sources


SOURCES = sorted(
    p
    for pattern in ("examples/*.ddl", "stdlib/*.ddl", "spec/tests/parse/**/*.ddl")
    for p in ROOT.glob(pattern)
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_project_sources_round_trip(path: Path) -> None:
    data = path.read_bytes()
    module, diagnostics = parse_source(data, str(path))
    out, fmt_diagnostics = format_source(data, str(path))
    if module is None:
        assert out is None and fmt_diagnostics == diagnostics
        return
    assert out is not None
    assert parse_source(out, str(path))[0] == module
    assert format_source(out, str(path))[0] == out
    text = data.decode("utf-8")
    assert Counter(c.text for c in collect_comments(text)) == Counter(c.text for c in collect_comments(out))


def test_format_module_with_hand_made_comments() -> None:
    text = "fn f() -> Int =\n  let a = 1;\n  a\n"
    module = parse_source(text)[0]
    assert module is not None
    # without next_code, a comment before a let chain stays with the enclosing item ...
    comments = [Comment("# about f", 0, 1), Comment("# about a", 16, 2)]
    assert format_module(module, comments) == "# about f\n# about a\nfn f() -> Int =\n  let a = 1;\n  a\n"
    # ... with it, the comment goes with the chain
    comments = [Comment("# about f", 0, 1), Comment("# about a", 16, 2, next_code=18)]
    assert format_module(module, comments) == "# about f\nfn f() -> Int =\n  # about a\n  let a = 1;\n  a\n"


def test_example_without_output_prints_back() -> None:
    """`example "u" => { θ }` (no output) keeps its form; a long one breaks before `=>`."""
    assert fmt('family f {\n  example   "show 3"=>{n=3,}\n  example "a" => {} => 1\n}\n') == src(
        """
        family f {
          example "show 3" => { n = 3 }
          example "a" => {} => 1
        }
        """
    )
    long = "an utterance that is long enough to push its bindings past the line limit of the formatter"
    out = fmt(f'family f {{\n  example "{long}" => {{ people = 2, nights = 3 }}\n}}\n')
    assert out == src(
        f"""
        family f {{
          example "{long}"
            => {{ people = 2, nights = 3 }}
        }}
        """
    )
    assert_canonical(out)
    module = parse_source(out, "t.ddl")[0]
    assert module is not None
    (example,) = module.items[0].of_kind(A.ExampleDecl)  # type: ignore[union-attr]
    assert example.expected is None and example.utterance == long


def test_a_long_allow_breaks_before_because() -> None:
    """`allow x in "text" because "reason"` stays on one line when it fits, else `because` goes below."""
    reason = "the export API answers every format in a JSON envelope; the file itself is a link inside it"
    out = fmt(f'family f {{\n  allow format   in "application/json" because "{reason}"\n}}\n')
    assert out == src(
        f"""
        family f {{
          allow format in "application/json"
            because "{reason}"
        }}
        """
    )
    assert_canonical(out)
    module = parse_source(out, "t.ddl")[0]
    assert module is not None
    (allow,) = module.items[0].of_kind(A.AllowDecl)  # type: ignore[union-attr]
    assert (allow.name, allow.text, allow.reason) == ("format", "application/json", reason)
