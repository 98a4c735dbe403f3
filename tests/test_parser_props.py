"""Properties of the parser and the formatter over random well-formed ASTs.

* ``parse(fmt(ast)) == ast`` for every AST the parser can produce;
* formatting is idempotent;
* formatting keeps every comment, wherever it is written.

The number of examples follows the Hypothesis profile (see ``conftest.py``).
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies_ast import exprs, family_decls, modules, regexes, type_exprs

from ddl.syntax import ast as A
from ddl.syntax.fmt import collect_comments, format_expr, format_module, format_source
from ddl.syntax.parser import _parser, parse_expr, parse_source

EXAMPLES = settings().max_examples
_fast = settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
_heavy = settings(max_examples=max(10, EXAMPLES // 4), suppress_health_check=[HealthCheck.too_slow])


def reparse(text: str) -> A.Module:
    module, diagnostics = parse_source(text, "fmt.ddl")
    assert diagnostics == [], (text, [d.message for d in diagnostics])
    assert module is not None
    return module


# ------------------------------------------------------------------ round trip


@_fast
@given(exprs(3))
def test_expressions_round_trip(expr: A.Expr) -> None:
    module = A.Module((A.FnDecl("f", (), A.IntType(), expr),))
    text = format_module(module)
    assert reparse(text) == module, text


@_fast
@given(regexes(3))
def test_regexes_round_trip(regex: A.Regex) -> None:
    module = A.Module((A.TypeAlias("T", A.TextType(None, regex)),))
    text = format_module(module)
    assert reparse(text) == module, text


@_fast
@given(type_exprs(3))
def test_types_round_trip(type_expr: A.TypeExpr) -> None:
    module = A.Module((A.TypeAlias("T", type_expr),))
    text = format_module(module)
    assert reparse(text) == module, text


@_heavy
@given(family_decls())
def test_families_round_trip(family: A.FamilyDecl) -> None:
    module = A.Module((family,))
    text = format_module(module)
    assert reparse(text) == module, text


@pytest.mark.slow
@_heavy
@given(modules)
def test_modules_round_trip_and_formatting_is_idempotent(module: A.Module) -> None:
    text = format_module(module)
    assert reparse(text) == module, text
    again, diagnostics = format_source(text, "fmt.ddl")
    assert diagnostics == []
    assert again == text


@_heavy
@given(exprs(3))
def test_one_line_expressions_parse_back(expr: A.Expr) -> None:
    text = format_expr(expr)
    assert "\n" not in text
    parsed, diagnostics = parse_expr(text)
    assert diagnostics == [], text
    assert parsed == expr, text


# ------------------------------------------------------------------ comments

comment_texts = st.text(
    st.characters(exclude_characters="\n", exclude_categories=["Cs"]), max_size=12
).map(lambda s: "#" + s)


def _token_ends(text: str) -> list[int]:
    interactive = _parser().parse_interactive(text, start="start")
    return sorted({tok.end_pos for tok in interactive.iter_parse() if tok.end_pos is not None})


def _check_comments_survive(source: str) -> None:
    original = parse_source(source, "c.ddl")[0]
    assert original is not None, source
    out, diagnostics = format_source(source, "c.ddl")
    assert diagnostics == [] and out is not None
    assert reparse(out) == original, (source, out)
    before = Counter(c.text for c in collect_comments(source))
    after = Counter(c.text for c in collect_comments(out))
    assert before == after, (source, out)
    again, _ = format_source(out, "c.ddl")
    assert again == out, (source, out, again)


@pytest.mark.slow
@_heavy
@given(modules, st.data())
def test_comments_between_any_tokens_survive(module: A.Module, data: st.DataObject) -> None:
    text = format_module(module)
    ends = _token_ends(text)
    if not ends:
        return
    picks = sorted(set(data.draw(st.lists(st.sampled_from(ends), min_size=1, max_size=6))), reverse=True)
    source = text
    for pos in picks:
        newline = data.draw(st.sampled_from(["\n", "\n\n", "\r\n"]))
        source = source[:pos] + " " + data.draw(comment_texts) + newline + source[pos:]
    _check_comments_survive(source)


@_heavy
@given(modules, st.data())
def test_comments_on_their_own_lines_and_at_line_ends_survive(module: A.Module, data: st.DataObject) -> None:
    lines = format_module(module).split("\n")
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        k = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
        comment = data.draw(comment_texts)
        if data.draw(st.booleans()):
            lines.insert(k, " " * data.draw(st.integers(min_value=0, max_value=6)) + comment)
        else:
            lines[k] = lines[k] + "  " + comment
        if data.draw(st.booleans()):
            lines.insert(k + 1, "")
    _check_comments_survive("\n".join(lines))


SAMPLES = [
    """# header

# about the import
import date   # trailing

enum Genre { fantasy,  # the default
  mystery   # another
  # dangling in the enum
}

family books {  # after the brace
  "Doc."  # after the doc
  # before a param
  param genre : Genre  # trailing param
  param count : Int in 1..20 =   # inside the param
    5
  grammar ignore_case {  # after the grammar brace
    # before a rule
    rule verb = "recommend" | # inside a rule
       "suggest";
    verb " " genre  # trailing body
    # dangling in the grammar
  }
  program -> Text =
    # before the chain
    let a = show(count);   # trailing binding
    # before the second binding
    let b = match genre {  # in a match
      fantasy => "f",
      # before an arm
      mystery => "m"
    };
    a ++ b  # trailing body
  example "recommend 3 fantasy"  # after the utterance
    => { genre = fantasy, # in the bindings
         count = 3 }
    => "3f"
  # last in the family
}
# end of file""",
    "# only a comment",
    "#\n#\n\n#",
    "fn f() -> Int = # before the body\n  1\n",
    "fn f(a: Int,  # first\n  b: Int) -> Int = a + b  # sum\n",
    "table t : Int -> Int {  # head\n  1 => 2  # one\n  , 3 => 4\n  # tail\n}\n",
    "type P = {  # head\n  x: Int,  # x\n  # y next\n  y: Int\n}  # after\n",
]


@pytest.mark.parametrize("source", SAMPLES)
def test_sample_sources_keep_every_comment(source: str) -> None:
    _check_comments_survive(source)
    _check_comments_survive(source.replace("\n", "\r\n"))
