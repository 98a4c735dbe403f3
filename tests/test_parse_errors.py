"""Every syntax error the parser reports, as the user sees it.

Each test asserts the full rendering: ``path:line:col: CODE: message``, the
source line, the caret underline and the hint.
"""

from __future__ import annotations

import pytest

from ddl.diagnostics import SourceMap
from ddl.errors import CATALOGUE
from ddl.syntax import parser
from ddl.syntax.parser import MAX_SOURCE_BYTES, parse_source

PATH = "t.ddl"


def rendered(source: str | bytes) -> str:
    module, diagnostics = parse_source(source, PATH)
    assert module is None
    assert len(diagnostics) == 1
    sources = SourceMap()
    sources.add(PATH, source if isinstance(source, str) else source.decode("utf-8", errors="replace"))
    return diagnostics[0].render(sources)


def lines(*text: str) -> str:
    return "\n".join(text)


# ---------------------------------------------------------------- DDL100 source too large


def test_ddl100_text_too_large() -> None:
    assert rendered("x" * (MAX_SOURCE_BYTES + 1)) == lines(
        "t.ddl:1:1: DDL100: source file too large: 1000001 bytes (limit 1000000)",
        "   1 | " + "x" * 200,
        "       ^",
        "  hint: split the file into modules and import them",
    )


def test_ddl100_counts_utf8_bytes_not_characters() -> None:
    text = "# " + "é" * (MAX_SOURCE_BYTES // 2)  # fewer characters than the limit, more bytes
    assert len(text) < MAX_SOURCE_BYTES
    assert rendered(text).splitlines()[0] == (
        f"t.ddl:1:1: DDL100: source file too large: {len(text.encode())} bytes (limit 1000000)"
    )


def test_ddl100_bytes_too_large() -> None:
    assert rendered(b"#" * (MAX_SOURCE_BYTES + 1)) == lines(
        "t.ddl:1:1: DDL100: source file too large: 1000001 bytes (limit 1000000)",
        "   1 | " + "#" * 200,
        "       ^",
        "  hint: split the file into modules and import them",
    )


# ---------------------------------------------------------------- DDL101 invalid UTF-8


def test_ddl101_invalid_utf8() -> None:
    assert rendered(b'fn f() -> Text = "caf\xe9"\n') == lines(
        "t.ddl:1:22: DDL101: source is not valid UTF-8: byte 0xe9 at offset 21",
        '   1 | fn f() -> Text = "caf\ufffd"',
        "                            ^",
        "  hint: save the file as UTF-8",
    )


def test_ddl101_on_a_later_line() -> None:
    assert rendered(b"# ok\n# bad \xff\n") == lines(
        "t.ddl:2:7: DDL101: source is not valid UTF-8: byte 0xff at offset 11",
        "   2 | # bad \ufffd",
        "             ^",
        "  hint: save the file as UTF-8",
    )


# ---------------------------------------------------------------- DDL102 unexpected character


def test_ddl102_unexpected_character() -> None:
    assert rendered("import date as @\n") == lines(
        "t.ddl:1:16: DDL102: unexpected character '@'; expected a lowercase name",
        "   1 | import date as @",
        "                      ^",
    )


def test_ddl102_single_quotes_hint() -> None:
    assert rendered("fn f() -> Text = 'a'\n") == lines(
        "t.ddl:1:18: DDL102: unexpected character '''; expected an expression",
        "   1 | fn f() -> Text = 'a'",
        "                        ^",
        "  hint: text literals use double quotes",
    )


def test_ddl102_nul_character() -> None:
    assert rendered("fn f() -> Int = \x00\n") == lines(
        "t.ddl:1:17: DDL102: unexpected NUL character; expected an expression",
        "   1 | fn f() -> Int = \x00",
        "                       ^",
    )


def test_ddl102_lone_surrogate() -> None:
    assert rendered("fn f() -> Int = \ud800\n") == lines(
        "t.ddl:1:17: DDL102: unexpected character U+D800; expected an expression",
        "   1 | fn f() -> Int = \ud800",
        "                       ^",
    )


def test_ddl102_long_expected_list_is_cut() -> None:
    assert rendered("type T = Text(pattern [a-z] @)\n") == lines(
        "t.ddl:1:29: DDL102: unexpected character '@'; expected "
        "'&', '(', ')', '*', '+', ',', '.', ';', '?', '{', '|', '}' or …",
        "   1 | type T = Text(pattern [a-z] @)",
        "                                   ^",
    )


# ---------------------------------------------------------------- DDL103 unexpected token


def test_ddl103_missing_colon() -> None:
    assert rendered("family f {\n  param count Int\n}\n") == lines(
        "t.ddl:2:15: DDL103: unexpected token 'Int'; expected ':'",
        "   2 |   param count Int",
        "                     ^~~",
    )


def test_ddl103_capitalized_value_name_hint() -> None:
    assert rendered("family f {\n  param Count : Int\n}\n") == lines(
        "t.ddl:2:9: DDL103: unexpected type name 'Count'; expected a lowercase name",
        "   2 |   param Count : Int",
        "               ^~~~~",
        "  hint: value names (parameters, variables, functions, variants) start with a lowercase letter",
    )


def test_ddl103_lowercase_type_name_hint() -> None:
    assert rendered("type point = { x: Int }\n") == lines(
        "t.ddl:1:6: DDL103: unexpected name 'point'; expected a capitalized type name",
        "   1 | type point = { x: Int }",
        "            ^~~~~",
        "  hint: type and enum names start with an uppercase letter",
    )


def test_ddl103_double_slash_comment_hint() -> None:
    assert rendered("fn f() -> Int = 1 // twice\n") == lines(
        "t.ddl:1:20: DDL103: unexpected token '/'; expected an expression",
        "   1 | fn f() -> Int = 1 // twice",
        "                          ^",
        "  hint: comments start with #",
    )


def test_ddl103_missing_comma_between_variants() -> None:
    assert rendered("enum E { a b }\n") == lines(
        "t.ddl:1:12: DDL103: unexpected name 'b'; expected ',', '=' or '}'",
        "   1 | enum E { a b }",
        "                  ^",
    )


def test_ddl103_example_without_utterance_has_one_arrow() -> None:
    assert rendered("family f {\n  example => 1\n}\n") == lines(
        "t.ddl:2:11: DDL103: unexpected token '=>'; expected '{' or a text literal",
        "   2 |   example => 1",
        "                 ^~",
    )


def test_ddl103_empty_grammar_body() -> None:
    assert rendered("family f {\n  grammar { }\n}\n") == lines(
        "t.ddl:2:13: DDL103: unexpected token '}'; expected '(', '.', '{', '~', "
        "a call like number(x), a character class like [a-z], a lowercase name or a text literal",
        "   2 |   grammar { }",
        "                   ^",
    )


def test_ddl103_long_token_is_shortened() -> None:
    long_name = "a" * 60
    assert rendered(f"enum E {{ a {long_name} }}\n") == lines(
        f"t.ddl:1:12: DDL103: unexpected name '{'a' * 37}...'; expected ',', '=' or '}}'",
        f"   1 | enum E {{ a {long_name} }}",
        "                  ^" + "~" * 59,
    )


# ---------------------------------------------------------------- DDL104 unexpected end of input


def test_ddl104_unclosed_call() -> None:
    assert rendered("fn f() -> Int = g(1") == lines(
        "t.ddl:1:20: DDL104: unexpected end of input; expected ')' or ','",
        "   1 | fn f() -> Int = g(1",
        "                          ^",
        "  hint: a '(' is not closed",
    )


def test_ddl104_trailing_dot() -> None:
    assert rendered("fn f() -> Int = x.") == lines(
        "t.ddl:1:19: DDL104: unexpected end of input; expected a lowercase name",
        "   1 | fn f() -> Int = x.",
        "                         ^",
    )


def test_ddl104_unclosed_family_counts_braces() -> None:
    assert rendered("family f {\n  enum E { a }\n  param x : E") == lines(
        "t.ddl:3:14: DDL104: unexpected end of input; expected '=', 'allow', 'ensures', 'enum', 'example', 'fn', "
        "'grammar', 'param', 'priority', 'program', 'table', 'teach' or …",
        "   3 |   param x : E",
        "                    ^",
        "  hint: 1 '{' not closed",
    )


# ---------------------------------------------------------------- DDL105 nesting too deep


def test_ddl105_nesting_too_deep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_DEPTH", 6)
    assert rendered("fn f() -> Int = [[[[[[1]]]]]]\n") == lines(
        "t.ddl:1:20: DDL105: nesting too deep (limit 6 levels)",
        "   1 | fn f() -> Int = [[[[[[1]]]]]]",
        "                          ^",
        "  hint: bind intermediate results with let",
    )


def test_ddl105_at_the_real_limit() -> None:
    text = "fn f() -> Int = " + "[" * 300 + "]" * 300 + "\n"
    first, source_line, caret, hint = rendered(text).split("\n")
    assert first == "t.ddl:1:214: DDL105: nesting too deep (limit 200 levels)"
    assert source_line == "   1 | " + ("[" * 300 + "]" * 300)[97 : 297]
    assert caret == " " * 7 + " " * 100 + "^"
    assert hint == "  hint: bind intermediate results with let"


def test_ddl105_inside_an_interpolation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_DEPTH", 4)
    assert rendered('fn f() -> Text = "${[[[[[1]]]]]}"\n') == lines(
        "t.ddl:1:25: DDL105: nesting too deep (limit 4 levels)",
        '   1 | fn f() -> Text = "${[[[[[1]]]]]}"',
        "                               ^",
        "  hint: bind intermediate results with let",
    )


# ---------------------------------------------------------------- DDL106 invalid escape


def test_ddl106_unknown_escape() -> None:
    assert rendered('fn f() -> Text = "a\\qb"\n') == lines(
        "t.ddl:1:20: DDL106: invalid escape sequence '\\q'",
        '   1 | fn f() -> Text = "a\\qb"',
        "                          ^~",
        '  hint: valid escapes: \\n \\t \\r \\\\ \\" \\$ \\0 \\u{hex}',
    )


def test_ddl106_unicode_escape_out_of_range() -> None:
    assert rendered('fn f() -> Text = "\\u{110000}"\n') == lines(
        "t.ddl:1:19: DDL106: invalid \\u{...} escape: expected 1 to 6 hex digits up to 10FFFF",
        '   1 | fn f() -> Text = "\\u{110000}"',
        "                         ^~",
    )


def test_ddl106_in_an_enum_display_text() -> None:
    assert rendered('enum E { a = "x\\y" }\n') == lines(
        "t.ddl:1:16: DDL106: invalid escape sequence '\\y'",
        '   1 | enum E { a = "x\\y" }',
        "                      ^~",
        '  hint: valid escapes: \\n \\t \\r \\\\ \\" \\$ \\0 \\u{hex}',
    )


# ---------------------------------------------------------------- DDL107 interpolation


def test_ddl107_unclosed_interpolation() -> None:
    assert rendered('fn f() -> Text = "${x"\n') == lines(
        "t.ddl:1:19: DDL107: interpolation '${' is not closed by '}'",
        '   1 | fn f() -> Text = "${x"',
        "                         ^~",
    )


def test_ddl107_empty_interpolation() -> None:
    assert rendered('fn f() -> Text = "${ }"\n') == lines(
        "t.ddl:1:19: DDL107: empty interpolation '${}'",
        '   1 | fn f() -> Text = "${ }"',
        "                         ^~~~",
    )


def test_ddl107_syntax_error_inside_interpolation() -> None:
    assert rendered('fn f() -> Text = "${x +}"\n') == lines(
        "t.ddl:1:24: DDL107: in interpolation: unexpected end of input; expected an expression",
        '   1 | fn f() -> Text = "${x +}"',
        "                              ^",
    )


def test_ddl107_escape_inside_interpolation() -> None:
    assert rendered('fn f() -> Text = "${x \\n}"\n') == lines(
        "t.ddl:1:19: DDL107: escapes are not allowed inside an interpolation; bind the value with let first",
        '   1 | fn f() -> Text = "${x \\n}"',
        "                         ^~~~~~~",
    )


# ---------------------------------------------------------------- DDL108 character class


def test_ddl108_reversed_range() -> None:
    assert rendered("type T = Text(pattern [z-a])\n") == lines(
        "t.ddl:1:23: DDL108: character range z-a is reversed",
        "   1 | type T = Text(pattern [z-a])",
        "                             ^~~~~",
    )


def test_ddl108_invalid_escape() -> None:
    assert rendered("type T = Text(pattern [\\d])\n") == lines(
        "t.ddl:1:24: DDL108: invalid escape '\\d' in a character class",
        "   1 | type T = Text(pattern [\\d])",
        "                              ^~",
        "  hint: escape only \\ ] [ - ^ n t r",
    )


# ---------------------------------------------------------------- DDL109 repetition bounds


def test_ddl109_reversed_bounds() -> None:
    assert rendered('type T = Text(pattern "a"{3,1})\n') == lines(
        "t.ddl:1:26: DDL109: repetition {3,1} has its lower bound above its upper bound",
        '   1 | type T = Text(pattern "a"{3,1})',
        "                                ^~~~~",
    )


def test_ddl109_bound_over_limit() -> None:
    assert rendered('type T = Text(pattern "a"{1001})\n') == lines(
        "t.ddl:1:26: DDL109: repetition bound in {1001} exceeds the limit of 1000",
        '   1 | type T = Text(pattern "a"{1001})',
        "                                ^~~~~~",
    )


# ---------------------------------------------------------------- DDL110 reserved word


def test_ddl110_reserved_word_as_parameter() -> None:
    assert rendered("family f {\n  param let : Int\n}\n") == lines(
        "t.ddl:2:9: DDL110: 'let' is a reserved word and cannot be used as a name",
        "   2 |   param let : Int",
        "               ^~~",
    )


def test_ddl110_reserved_word_after_qualifier() -> None:
    assert rendered("fn f() -> Int = Genre::if\n") == lines(
        "t.ddl:1:24: DDL110: 'if' is a reserved word and cannot be used as a name",
        "   1 | fn f() -> Int = Genre::if",
        "                              ^~",
    )


# ---------------------------------------------------------------- DDL111 number literal


def test_ddl111_integer_literal_too_long() -> None:
    digits = "9" * 1001
    assert rendered(f"fn f() -> Int = {digits}\n") == lines(
        "t.ddl:1:17: DDL111: integer literal is too long: 1001 digits (limit 1000)",
        "   1 | " + ("fn f() -> Int = " + digits)[:200],
        "                       ^" + "~" * 199,
    )


@pytest.mark.parametrize(
    "source",
    [
        "type T = Int in 0..{n}",
        "type T = Text(max {n})",
        "type T = List[Int, max {n}]",
        "type T = Map[Int, Int, max {n}]",
        "type T = Decimal({n})",
        'type T = Text(pattern "a"{{{n}}})',
        "family f {{ priority -{n} }}",
        "fn f() -> Int = match x {{ {n} => 1 }}",
        "fn f() -> Int = match x {{ -{n} => 1 }}",
    ],
)
def test_ddl111_every_integer_position(source: str) -> None:
    # Python refuses int() of more than 4300 digits; the parser reports instead of crashing.
    first = rendered(source.format(n="7" * 5000)).split("\n")[0]
    assert first.endswith("DDL111: integer literal is too long: 5000 digits (limit 1000)")


# ---------------------------------------------------------------- DDL112 duplicate family item


def test_ddl112_second_program() -> None:
    assert rendered("family f {\n  program -> Int = 1\n  program -> Int = 2\n}\n") == lines(
        "t.ddl:3:3: DDL112: a family has at most one program block; this is the second",
        "   3 |   program -> Int = 2",
        "         ^~~~~~~~~~~~~~~~~~",
    )


def test_ddl112_second_priority() -> None:
    assert rendered("family f {\n  priority 1\n  priority 2\n}\n") == lines(
        "t.ddl:3:3: DDL112: a family has at most one priority block; this is the second",
        "   3 |   priority 2",
        "         ^~~~~~~~~~",
    )


# ---------------------------------------------------------------- DDL113 too many tokens


def test_ddl113_too_many_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parser, "MAX_TOKENS", 8)
    assert rendered("fn f() -> Int = 1 + 2 + 3\n") == lines(
        "t.ddl:1:19: DDL113: too many tokens (limit 8)",
        "   1 | fn f() -> Int = 1 + 2 + 3",
        "                         ^",
    )


# ---------------------------------------------------------------- DDL114 empty range


def test_ddl114_int_range() -> None:
    assert rendered("type T = Int in 9..0\n") == lines(
        "t.ddl:1:10: DDL114: empty Int range 9..0: the lower bound exceeds the upper",
        "   1 | type T = Int in 9..0",
        "                ^~~~~~~~~~~",
        "  hint: did you mean 0..9?",
    )


def test_ddl114_decimal_range() -> None:
    assert rendered("type T = Decimal(2) in 1.5..0.5\n") == lines(
        "t.ddl:1:10: DDL114: empty Decimal range 1.5..0.5",
        "   1 | type T = Decimal(2) in 1.5..0.5",
        "                ^~~~~~~~~~~~~~~~~~~~~~",
    )


# ---------------------------------------------------------------- catalogue


def test_every_syntax_code_is_in_the_catalogue() -> None:
    assert all(f"DDL1{n:02d}" in CATALOGUE for n in range(15))
