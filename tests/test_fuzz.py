"""The front end is total: any input gives a module or DDL diagnostics, never an exception.

Random bytes and text, random token soup, mutations of valid programs, every
prefix of a valid program, pathological nesting and sizes, NUL bytes, lone
surrogates and CRLF.  Every diagnostic has a catalogued code and renders; every
input that parses also formats, and the formatted text parses to the same AST.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ddl.diagnostics import Diagnostic, SourceMap
from ddl.errors import CATALOGUE
from ddl.syntax import ast as A
from ddl.syntax.fmt import format_source
from ddl.syntax.parser import MAX_SOURCE_BYTES, parse_expr, parse_source

PATH = "fuzz.ddl"
EXAMPLES = settings().max_examples
_fuzz = settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])

CORPUS = [
    # 0: a complete family, every kind of item
    r'''# Book recommendations.
import date
import "common.ddl" as common

enum Unit { celsius, fahrenheit = "fahrenheit" | "F" }
type Point = { lat: Decimal(4), lon: Decimal(4) }
type Small = Int in 0..9

family recommend_books {
  "Recommend books of one genre from one decade."
  enum Genre { fantasy, mystery, science_fiction = "science fiction" | "sci-fi" }
  type Request = { method: Text, url: Text, query: Map[Text, Text] }
  param genre : Genre
  param count : Int in 1..20 = 5            # default
  param decade : Int in 1900..2020 where decade % 10 == 0 = 2000
  param title : Text(max 40, pattern [a-z] [a-z ]*)
  param tags : List[Text(max 10), max 3] = []
  grammar ignore_case normalize_space {
    rule verb = "recommend" | "suggest";
    verb " " count " " genre " books" (" from the " decade "s")?
  }
  program -> Request =
    let slug = replace(text(genre), " ", "-");
    Request { method = "GET", url = "https://x.org/subjects/${slug}.json",
              query = { "limit": show(count), "published": show(decade) ++ "-" ++ show(decade + 9) } }
  ensures "url is short" len(result.url) <= 200
  teach genre = fantasy
  priority 10
  example "recommend 3 mystery books from the 1950s"
    => { genre = mystery, count = 3, decade = 1950 }
    => Request { method = "GET", url = "...", query = { "limit": "3", "published": "1950-1959" } }
  example { genre = fantasy } => none
}
''',
    # 1: tables, functions, every expression form
    r'''table coords : City -> Point {
  paris => Point { lat = 48.8566, lon = 2.3522 },
  london => Point { lat = 51.5072, lon = -0.1276 },
}

fn clamp(x: Int, lo: Int, hi: Int) -> Int = if x < lo then lo else if x > hi then hi else x

fn shapes(xs: List[Int, max 5], m: Map[Text, Int]) -> List[Int] =
  let total: Int = fold(xs, 0, |acc, x| acc + x);
  let evens = [x * 2 for x in xs if x % 2 == 0];
  let range = [i for i in -3..3];
  let named = match total {
    0 => "zero",
    -1 => "minus one",
    _ => "${total} and ${-(total)} or ${{ 1: 2 }[1]}",
  };
  let opt = get(m, "a") ?? 0;
  let flags = not (opt > 1 and total != 2) or opt <= -3;
  [opt, -opt, total / 2, total % 3, xs[0], len(named)] ++ evens ++ range

fn kinds(g: Genre, o: Option[Int]) -> Decimal(2) =
  match o {
    some(v) => 2.50 * 3 - -1.25,
    none => match g { Genre::fantasy => 0.00, mystery => 1.5, _ => -(2.0) },
  }
''',
    # 2: grammar-heavy family with regular expressions of every form
    r'''family shell {
  param path : Text(pattern [^\n\t ]+ & ~("-" .*))
  param n : Int in 0..99
  grammar {
    rule sep = " "+ | "\t";
    rule word = [a-zA-Z_\-\]\\]{1,20};
    ("list" | "show") sep path (sep "--lines" sep n)? "."{0,1} [^]{2,} "x"{3} "y"{2,}
  }
  program -> Text = "ls ${path} | head -n ${n}"
  example "list /tmp" => { path = "/tmp", n = 10 } => "ls /tmp | head -n 10"
}
''',
    # 3: escapes, unicode, empty forms, qualified names
    '''enum Empty {}
type R = {}
fn texts() -> Text = "tab\\t nl\\n quote\\" back\\\\ dollar\\$ ${x} nul\\0 \\u{1F600} caf\u00e9 \U0001d11e"
fn empties() -> Int = h([], {:}, R {}, mod::Point { x = 1 }, mod::Genre::fantasy, Genre::mystery)
''',
]

TOKENS = [
    "family", "f", "{", "}", "(", ")", "[", "]", ",", ":", ";", "=", "=>", "->", "..", ".", "::",
    "param", "x", "Int", "in", "0", "1", "-", "+", "*", "/", "%", "++", "??", "==", "<", ">=",
    "and", "or", "not", "let", "if", "then", "else", "match", "_", "some", "none", "true", "for",
    "grammar", "rule", "program", "example", "ensures", "teach", "priority", "type", "enum", "table",
    "fn", "import", "as", "Text", "List", "Map", "Option", "Decimal", "max", "pattern", "|", "&", "~",
    "?", "{2,3}", "[a-z]", '"s"', '"${x}"', '"${"', "2.50", "T", "T::a", "#c\n", "\n", "\x00",
]

_SPLIT = re.compile(r"\s+|\w+|\"(?:\\.|[^\"\\\n])*\"|.", re.DOTALL)


def _render_all(diagnostics: list[Diagnostic], text: str) -> None:
    sources = SourceMap()
    sources.add(PATH, text)
    for diagnostic in diagnostics:
        assert diagnostic.code in CATALOGUE, diagnostic
        assert diagnostic.span.path == PATH
        rendered = diagnostic.render(sources)
        assert rendered.startswith(f"{PATH}:{diagnostic.span.line}:{diagnostic.span.col}: {diagnostic.code}: ")
        diagnostic.render(None)  # no source text at hand: the header line only
        diagnostic.to_json()


def assert_total(source: str | bytes) -> A.Module | None:
    """Parse; the result is a module xor diagnostics; both render; what parses formats."""
    module, diagnostics = parse_source(source, PATH)
    assert (module is None) == bool(diagnostics)
    text = source if isinstance(source, str) else source.decode("utf-8", errors="replace")
    _render_all(diagnostics, text)
    if module is not None:
        out, fmt_diagnostics = format_source(source, PATH)
        assert fmt_diagnostics == [] and out is not None
        assert parse_source(out, PATH)[0] == module, out
    return module


def codes(source: str | bytes) -> list[str]:
    module, diagnostics = parse_source(source, PATH)
    _render_all(diagnostics, source if isinstance(source, str) else source.decode("utf-8", errors="replace"))
    return [d.code for d in diagnostics]


# ------------------------------------------------------------------ the corpus itself


@pytest.mark.parametrize("index", range(len(CORPUS)))
def test_corpus_programs_are_valid(index: int) -> None:
    assert assert_total(CORPUS[index]) is not None


def test_crlf_and_cr_line_endings_parse_like_lf() -> None:
    for program in CORPUS:
        expected = parse_source(program, PATH)[0]
        assert assert_total(program.replace("\n", "\r\n")) == expected
    # a lone CR is whitespace too, but it does not end a comment: the comment runs to the end
    assert codes("fn f() -> Int = 1 # note\rfn g() -> Int = 2\r") == []
    assert parse_source("fn f() -> Int = 1 # note\rfn g() -> Int = 2\r")[0] == parse_source("fn f() -> Int = 1")[0]


# ------------------------------------------------------------------ random input


@_fuzz
@given(st.binary(max_size=400))
@example(b"\xff")
@example(b"\xef\xbb\xbf")
@example(b"\xed\xa0\x80")  # an encoded surrogate is invalid UTF-8
@example(b"fn f() -> Int = \x00")
def test_random_bytes(data: bytes) -> None:
    assert_total(data)


_chars = st.characters(exclude_categories=[]) | st.sampled_from(list('{}[]()"\\$#\n\r\t\x00:;=|.-') + ["${"])


@_fuzz
@given(st.lists(_chars, max_size=200).map("".join))
@example("\ud800")
@example('"\udfff"')
@example("# \ud83d")
def test_random_text(text: str) -> None:
    assert_total(text)


@_fuzz
@given(st.lists(st.sampled_from(TOKENS), max_size=60), st.sampled_from([" ", "", "\n"]))
def test_random_token_soup(tokens: list[str], sep: str) -> None:
    assert_total(sep.join(tokens))


@_fuzz
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_random_token_soup_as_an_expression(tokens: list[str]) -> None:
    expr, diagnostics = parse_expr(" ".join(tokens), "<expr>")
    assert (expr is None) == bool(diagnostics)
    for d in diagnostics:
        assert d.code in CATALOGUE
        d.render(None)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["delete", "insert", "swap", "duplicate", "token-delete", "token-swap",
                                     "token-insert"]))
        if kind.startswith("token"):
            pieces = _SPLIT.findall(text)
            i = draw(st.integers(min_value=0, max_value=len(pieces) - 1))
            if kind == "token-delete":
                del pieces[i]
            elif kind == "token-swap":
                j = draw(st.integers(min_value=0, max_value=len(pieces) - 1))
                pieces[i], pieces[j] = pieces[j], pieces[i]
            else:
                pieces.insert(i, draw(st.sampled_from(TOKENS)) + " ")
            text = "".join(pieces)
            continue
        i = draw(st.integers(min_value=0, max_value=len(text)))
        j = draw(st.integers(min_value=i, max_value=min(len(text), i + 20)))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS) | _chars) + text[i:]
        elif kind == "swap" and 0 < i < len(text):
            text = text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]
        else:
            text = text[:i] + text[i:j] + text[i:]
    return text


@_fuzz
@given(mutated())
def test_mutated_programs(text: str) -> None:
    assert_total(text)


# ------------------------------------------------------------------ truncation


SHORT = """import date as d
enum E { a, b = "B" | "b" }
family f {
  "doc"
  param x : Int in 0..9 = 3
  grammar { rule r = [a-z]+ | "\\$"; r{1,2} ~"q" x? }
  program -> Text = let y: Int = -x * 2; match y { -1 => "${y}", _ => [y for i in 1..x if i > 0].z }
  example "a" => { x = 1 } => T { f = {:} }
}
"""


def test_every_prefix_of_a_program() -> None:
    program = SHORT
    results = [assert_total(program[:n]) is not None for n in range(len(program) + 1)]
    assert results[0] and results[-1]  # the empty module and the whole program parse
    assert not all(results)


def test_every_byte_prefix_of_a_non_ascii_program() -> None:
    data = CORPUS[3].encode("utf-8")
    seen = {code for n in range(len(data) + 1) for code in codes(data[:n])}
    assert "DDL101" in seen  # a cut inside a multi-byte character
    assert seen <= set(CATALOGUE)


# ------------------------------------------------------------------ pathological shapes


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("fn f() -> Int = " + "[" * 5000 + "1" + "]" * 5000, "DDL105"),
        ("fn f() -> Int = " + "[" * 5000, "DDL104"),
        ("fn f() -> Int = " + "(" * 5000 + "1" + ")" * 5000, None),  # parentheses add no depth
        ("fn f() -> Bool = " + "not " * 5000 + "x", "DDL105"),
        ("fn f() -> Int = " + "-" * 1000 + "x", "DDL105"),
        ("fn f() -> Int = " + "-" * 1000 + "1", "DDL105"),
        ("fn f() -> Int = " + "if a then " * 1000 + "1" + " else 2" * 1000, "DDL105"),
        ("fn f() -> Int = " + "if a then 1 else " * 1000 + "2", "DDL105"),
        ("fn f() -> Int = " + "let a = 1; " * 1000 + "a", "DDL105"),
        ("fn f() -> Int = " + "match x { _ => " * 1000 + "1" + " }" * 1000, "DDL105"),
        ("fn f() -> Int = " + "{ 1: " * 1000 + "1" + " }" * 1000, "DDL105"),
        ("fn f() -> Int = " + "|a| " * 1000 + "a", "DDL105"),
        ("fn f() -> Int = " + "a ?? " * 1000 + "a", "DDL105"),
        ("fn f() -> Int = x" + ".a" * 1000, "DDL105"),
        ("fn f() -> Int = x" + "(1)" * 1000, "DDL105"),
        ('fn f() -> Text = "${' + "[" * 1000 + "1" + "]" * 1000 + '}"', "DDL105"),
        ("type T = " + "List[" * 1000 + "Int" + "]" * 1000, "DDL105"),
        ("type T = Text(pattern " + '("a" ' * 1000 + '"b"' + ")" * 1000 + ")", "DDL105"),
        ("type T = Text(pattern " + "~" * 1000 + '"a")', "DDL105"),
        ('type T = Text(pattern "a"' + "*" * 1000 + ")", "DDL105"),
        ("family f { " + "param a : Int " * 2000 + "}", None),
        ("fn f() -> Int = " + "9" * 100_000, "DDL111"),
        ("fn f() -> Decimal(2) = 1." + "9" * 100_000, None),
        ('fn f() -> Text = "' + "a" * 900_000 + '"', None),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else str(v),
)
def test_pathological_shapes(source: str, expected: str | None) -> None:
    assert codes(source) == ([expected] if expected else [])


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "fn f() -> Int = " + "[" * n + "1" + "]" * n,
        lambda n: "fn f() -> Int = " + "let a = 1; " * n + "a",
        lambda n: "fn f() -> Int = " + "if a then 1 else " * n + "2",
        lambda n: "fn f() -> Int = " + "1 + " * n + "1",
        lambda n: "fn f() -> Int = " + "match x { _ => " * (n // 2) + "1" + " }" * (n // 2),
        lambda n: 'fn f() -> Text = "${' + "[" * n + "1" + "]" * n + '}"',
        lambda n: "type T = " + "Option[" * n + "Int" + "]" * n,
    ],
)
def test_deepest_accepted_nesting_formats(make: object) -> None:
    """Just below the depth limit the parser accepts, and the formatter copes."""
    assert callable(make)
    depth = next(n for n in range(200, 0, -1) if parse_source(make(n), PATH)[0] is not None)
    assert depth > 90
    assert assert_total(make(depth)) is not None
    assert codes(make(depth + 10)) == ["DDL105"]


def test_hundred_thousand_additions_hit_the_token_limit() -> None:
    assert codes("fn f() -> Int = " + "1+" * 100_000 + "1") == ["DDL113"]


def test_two_megabyte_file() -> None:
    assert codes("#" * 2_000_000) == ["DDL100"]
    assert codes(b"x" * 2_000_000) == ["DDL100"]


def test_just_under_the_size_limit() -> None:
    assert codes("#" * (MAX_SOURCE_BYTES - 1) + "\n") == []


def test_nul_bytes_everywhere() -> None:
    program = CORPUS[0]
    for i in range(0, len(program), 97):
        assert_total(program[:i] + "\x00" + program[i:])
        assert_total((program[:i] + "\x00" + program[i:]).encode("utf-8"))


def test_nul_in_text_and_comments_is_accepted() -> None:
    module = assert_total('fn f() -> Text = "a\x00b"  # c\x00d\n')
    assert module is not None


def test_lone_surrogates() -> None:
    assert codes("fn f() -> Int = \ud800") == ["DDL102"]
    assert codes("fn \udc00() -> Int = 1") == ["DDL102"]
    assert assert_total('fn f() -> Text = "\ud800"') is not None
    assert assert_total("# \udfff\nfn f() -> Int = 1") is not None
    assert codes("fn f() -> Int = 1\ud800".encode("utf-8", errors="surrogatepass")) == ["DDL101"]
