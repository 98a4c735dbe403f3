"""Editor files that no test can run an editor for: the Pygments lexer (used directly), the TextMate
grammar and the VS Code extension folder (checked as data: valid JSON, regexes that compile, files
that exist, words equal to the parser's), and the position arithmetic of the language server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pygments.token import Comment, Error, Keyword, Name, String

from ddl.commands.parser import build_parser
from ddl.lsp.analysis import KEYWORDS, TYPE_KEYWORDS, Analysis, counterexample_bindings, in_comment
from ddl.lsp.positions import Lines
from ddl.pygments_lexer import CONSTANTS, TYPES, DDLLexer
from ddl.pygments_lexer import KEYWORDS as LEXER_KEYWORDS
from ddl.syntax import ast as A
from ddl.syntax.parser import RESERVED, parse_source

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"
SOURCES = sorted([*ROOT.glob("examples/*.ddl"), *ROOT.glob("stdlib/*.ddl")])


def tokens(text: str) -> list[tuple[Any, str]]:
    return [(t, v) for t, v in DDLLexer().get_tokens(text) if v.strip()]


# ---------------------------------------------------------------------------- Pygments


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_the_lexer_reads_every_example_and_stdlib_module_without_an_error_token(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lexed = list(DDLLexer().get_tokens(text))
    assert [v for t, v in lexed if t in Error] == []
    assert "".join(v for _, v in lexed) == text + ("" if text.endswith("\n") else "\n")


def test_the_lexer_gives_keywords_strings_interpolations_comments_and_regexes_their_tokens() -> None:
    src = ('family f {  # a comment\n  param n : Int in 0..9\n  grammar ignore_case { "n=" number(n) [a-z]{2} }\n'
           '  program -> Text = "n is ${n + 1}\\n"\n}\n')
    seen = tokens(src)
    assert (Keyword, "family") in seen and (Keyword, "param") in seen and (Keyword.Type, "Int") in seen
    assert (Comment.Single, "# a comment") in seen
    assert (String.Interpol, "${") in seen and (String.Escape, "\\n") in seen
    assert (Name, "n") in seen  # inside the interpolation: an expression again
    assert (String.Regex, "[a-z]") in seen and (Name.Function, "number") in seen
    assert (Name.Attribute, "ignore_case") in seen
    assert not [v for t, v in seen if t in Error]


def test_the_lexer_marks_a_character_that_cannot_start_a_token() -> None:
    assert [v for t, v in tokens("fn f() -> Int = 1 @ 2\n") if t in Error] == ["@"]


def test_the_lexer_and_the_language_server_know_exactly_the_reserved_words() -> None:
    assert set(LEXER_KEYWORDS) | set(CONSTANTS) | set(TYPES) - {"Bool"} == RESERVED
    assert set(KEYWORDS) | set(TYPE_KEYWORDS) - {"Bool"} == RESERVED


def test_the_lexer_is_registered_for_pygments_and_pygmentize_highlights_with_it(tmp_path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["pygments.lexers"] == {"ddl": "ddl.pygments_lexer:DDLLexer"}
    assert "pygments" in " ".join(project["optional-dependencies"]["test"])
    # Installed packages find it through the entry point; here pygmentize loads the class by file.
    out = subprocess.run([sys.executable, "-m", "pygments", "-x", "-l", "ddl/pygments_lexer.py:DDLLexer",
                          "-f", "html", "examples/books.ddl"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '<span class="k">family</span>' in out.stdout


# ---------------------------------------------------------------------------- TextMate grammar and VS Code


def grammar() -> dict[str, Any]:
    return json.loads((VSCODE / "syntaxes" / "ddl.tmLanguage.json").read_text(encoding="utf-8"))


def rules(node: Any) -> list[dict[str, Any]]:
    """Every rule object of the grammar, nested ones included."""
    out: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if any(k in node for k in ("match", "begin", "include", "patterns")):
            out.append(node)
        for value in node.values():
            out.extend(rules(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(rules(value))
    return out


def test_the_textmate_grammar_is_consistent_its_regexes_compile_and_its_scopes_are_ddls() -> None:
    g = grammar()
    assert g["scopeName"] == "source.ddl"
    repository = g["repository"]
    for rule in rules(g):
        for key in ("match", "begin", "end"):
            if key in rule:
                re.compile(rule[key])  # the grammar keeps to what Oniguruma and Python's re share
        include = rule.get("include")
        if include is not None:
            assert include.startswith("#") and include[1:] in repository, include
    names = [v for v in re.findall(r'"name": "([^"]+)"', json.dumps(g, indent=1)) if v != "DDL"]
    assert names and all(n.endswith(".ddl") for n in names)


def test_the_textmate_grammar_highlights_every_reserved_word() -> None:
    expression = grammar()["repository"]["expression"]["patterns"]
    words = [r for r in expression if "name" in r and "match" in r and r["match"].startswith("\\b(")]
    for word in RESERVED:
        assert any(re.fullmatch(r["match"], word) for r in words), word
    assert not any(re.fullmatch(r["match"], "maxx") or re.fullmatch(r["match"], "format") for r in words)


def test_the_textmate_grammar_tells_strings_character_classes_and_comments_apart() -> None:
    repo = grammar()["repository"]
    assert re.match(repo["comment"]["match"], '# a "comment"').group() == '# a "comment"'
    character_class = next(r for r in repo["regex"]["patterns"] if r.get("name", "").startswith("string.regexp"))
    assert re.match(character_class["match"], r"[A-Za-z0-9,.'/\-]* rest").group() == r"[A-Za-z0-9,.'/\-]"
    escape = repo["escape"]["match"]
    assert re.fullmatch(escape, r"\u{1F600}") and re.fullmatch(escape, r"\$") and not re.fullmatch(escape, r"\d")


def test_the_vscode_extension_contributes_the_language_grammar_and_starts_ddl_lsp() -> None:
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    contributes = package["contributes"]
    (language,) = contributes["languages"]
    assert language["id"] == "ddl" and language["extensions"] == [".ddl"]
    assert (VSCODE / language["configuration"]).is_file()
    (g,) = contributes["grammars"]
    assert g["language"] == "ddl" and g["scopeName"] == grammar()["scopeName"] and (VSCODE / g["path"]).is_file()
    assert package["activationEvents"] == ["onLanguage:ddl"] and (VSCODE / package["main"]).is_file()
    assert contributes["configuration"]["properties"]["ddl.server.command"]["default"] == ["ddl", "lsp"]
    config = json.loads((VSCODE / "language-configuration.json").read_text(encoding="utf-8"))
    assert config["comments"] == {"lineComment": "#"}
    extension = (VSCODE / "extension.js").read_text(encoding="utf-8")
    assert 'get("server.command", ["ddl", "lsp"])' in extension and "TransportKind.stdio" in extension
    # vscode-languageclient adds --stdio to a stdio server's arguments: `ddl lsp` accepts it.
    args = build_parser().parse_args(["lsp", "--stdio"])
    assert args.module == "lsp"


# ---------------------------------------------------------------------------- positions


def test_positions_convert_between_code_points_and_utf16_units_both_ways() -> None:
    text = 'a = "é😀" x\nsecond\n'
    lines = Lines(text)
    x = text.index("x")  # code point 9 of line 0; UTF-16 unit 10 (😀 takes two)
    assert lines.offset_to_client(x) == (0, 10)
    assert lines.offset(0, 10) == x
    assert lines.to_client(1, x + 1) == (0, 10)  # DDL's 1-based line/column
    assert lines.offset_to_client(text.index("second")) == (1, 0)
    assert lines.offset(7, 0) == len(text) and lines.offset(1, 99) == text.index("second") + len("second")
    utf32 = Lines(text, units=len)
    assert utf32.offset_to_client(x) == (0, 9) and utf32.offset(0, 9) == x


# ---------------------------------------------------------------------------- the server's analysis

BINDERS = """import date

enum Color { red, green = "Green" | "verdant" }

type Point = { x: Int, label: Text }

fn total(xs: List[Int, max 5]) -> Int = fold(xs, 0, |acc, x| acc + x)

family f {
  param n : Int in 1..5
  param c : Color = red
  program -> Int =
    let sq = [i * i for i in 1..n];
    let first = match get(sq, 0) { some(v) => v, none => 0 };
    total(sq) + first + (match c { Color::red => 1, green => 2 }) + date::year(0)
  example { n = 2 } => 6
}
"""


def analysis(text: str = BINDERS) -> Analysis:
    return Analysis(text, "/nowhere/binders.ddl")


def declared_at(text: str, needle: str, delta: int = 0) -> tuple[str, str, int, int] | None:
    """What definition finds for the name at ``needle`` + ``delta``: (kind, name, line, column)."""
    decl = analysis(text).definition(text.index(needle) + delta)
    return None if decl is None else (decl.kind, decl.name, decl.name_span.line, decl.name_span.col)


def test_definition_follows_the_scopes_of_every_binder() -> None:
    assert declared_at(BINDERS, "acc + x") == ("lambda", "acc", 7, 54)
    assert declared_at(BINDERS, "acc + x", 6) == ("lambda", "x", 7, 59)
    assert declared_at(BINDERS, "i * i") == ("for", "i", 13, 25)
    assert declared_at(BINDERS, "1..n", 3) == ("param", "n", 10, 9)  # after `..`: a name, not a field
    assert declared_at(BINDERS, "=> v,", 3) == ("some", "v", 14, 41)
    assert declared_at(BINDERS, "total(sq)", 7) == ("let", "sq", 13, 9)
    assert declared_at(BINDERS, "Color::red", 8) == ("variant", "red", 3, 14)
    assert declared_at(BINDERS, "green =>") == ("variant", "green", 3, 19)
    assert declared_at(BINDERS, "fold(xs", 5) == ("param", "xs", 7, 10)
    record = BINDERS.replace("date::year(0)", 'len(Point { x = 1, label = "a" }.label)')
    assert declared_at(record, "label = ") == ("field", "label", 5, 24)  # in a record literal
    assert declared_at(record, ".label)", 1) == ("field", "label", 5, 24)  # after a dot
    year = analysis().definition(BINDERS.index("date::year") + 7)
    assert year is not None and year.kind == "fn" and year.name_span.path.endswith("stdlib/date.ddl")


def test_hover_gives_binders_their_types_and_nothing_between_tokens() -> None:
    a = analysis()
    hover = a.hover(BINDERS.index("=> v,") + 3)
    assert hover is not None and "v: Int in 1..25" in hover.markdown
    hover = a.hover(BINDERS.index("let sq") + 4)
    assert hover is not None and "let sq: List[Int in 1..25, max 5]" in hover.markdown
    assert a.hover(BINDERS.index("  program") + 1) is None
    hover = a.hover(BINDERS.index("date::year") + 7)
    assert hover is not None and "fn year(d: Int) -> Int" in hover.markdown and "The year of day number d" in hover.markdown


def test_completion_after_a_dot_a_module_and_while_the_text_does_not_parse() -> None:
    good = analysis()
    typing = BINDERS.replace("date::year(0)", "date::")
    a = Analysis(typing, "/nowhere/binders.ddl", previous=good)
    assert a.diagnostics and a.decls is None  # half-typed: names come from the last version that parsed
    labels = [c.label for c in a.completions(typing.index("date::") + 6)]
    assert "add_days" in labels and "Weekday" in labels and "len" not in labels
    typing = BINDERS.replace("date::year(0)", "p.")
    a = Analysis(typing, "/nowhere/binders.ddl", previous=good)
    assert [c.label for c in a.completions(typing.index("p.") + 2)] == ["x", "label"]
    typing = BINDERS.replace("date::year(0)", "0.")
    a = Analysis(typing, "/nowhere/binders.ddl", previous=good)
    assert "x" not in [c.label for c in a.completions(typing.index(" 0.") + 3)]


def test_a_counterexample_is_split_into_the_values_of_its_parameters() -> None:
    assert counterexample_bindings("with { room = double, nights = 1 }: division by zero",
                                   ["room", "nights"]) == [("room", "double"), ("nights", "1")]
    assert counterexample_bindings('with { t = "a, b = c", n = 2 }: x', ["t", "n"]) == [("t", '"a, b = c"'), ("n", "2")]
    assert counterexample_bindings("the grammar accepts no utterance", ["t"]) == []


# A minimal TextMate interpreter (match, begin/end, captures, include; per line, the earliest match wins,
# the open rule's `end` first on a tie), enough to run the grammar over real files.

Frame = tuple[dict[str, Any], "re.Pattern[str] | None", str | None]


def _patterns(rule: dict[str, Any], repository: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in rule.get("patterns", []):
        if "include" in p:
            target = repository[p["include"][1:]]
            out.extend(_patterns(target, repository) if "match" not in target and "begin" not in target else [target])
        else:
            out.append(p)
    return out


def _captured(m: re.Match[str], scopes: tuple[str, ...],
              captures: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """A match's text in pieces: each captured group (non-nested) with its capture's scope."""
    if "0" in captures:
        return [(scopes + (captures["0"]["name"],), m.group())]
    pieces: list[tuple[tuple[str, ...], str]] = []
    pos = m.start()
    for key in sorted(captures, key=int):
        start, end = m.span(int(key))
        if start < pos:
            continue
        pieces += [(scopes, m.string[pos:start]), (scopes + (captures[key]["name"],), m.string[start:end])]
        pos = end
    return [*pieces, (scopes, m.string[pos:m.end()])]


def textmate_tokens(text: str) -> tuple[list[tuple[tuple[str, ...], str]], int]:
    """(scopes, text) of every token, and how many rules are still open at the end of the text."""
    g = grammar()
    repository = g["repository"]
    stack: list[Frame] = [(g, None, None)]
    out: list[tuple[tuple[str, ...], str]] = []

    def scopes() -> tuple[str, ...]:
        return tuple(name for _, _, name in stack if name)

    for line in text.split("\n"):
        pos = 0
        for _ in range(10_000):
            rule, end, _ = stack[-1]
            best: tuple[int, int, re.Match[str], dict[str, Any] | None] | None = None
            if end is not None and (m := end.search(line, pos)) is not None:
                best = (m.start(), 0, m, None)
            for i, p in enumerate(_patterns(rule, repository)):
                m = re.compile(p.get("match") or p["begin"]).search(line, pos)
                if m is not None and (best is None or (m.start(), i + 1) < best[:2]):
                    best = (m.start(), i + 1, m, p)
            if best is None:
                out.append((scopes(), line[pos:]))
                break
            _, _, m, p = best
            out.append((scopes(), line[pos:m.start()]))
            if p is None:
                out.extend(_captured(m, scopes(), rule.get("endCaptures", {})))
                stack.pop()
            elif "match" in p:
                out.extend(_captured(m, scopes() + ((p["name"],) if "name" in p else ()), p.get("captures", {})))
            else:
                stack.append((p, re.compile(p["end"]), p.get("name")))
                out.extend(_captured(m, scopes(), p.get("beginCaptures", {})))
            if m.end() == pos and p is not None and "match" in p:
                out.append((scopes(), line[pos:pos + 1]))  # an empty match: step over one character
                pos += 1
            else:
                pos = m.end()
            if pos > len(line):
                break
    return [(s, t) for s, t in out if t], len(stack) - 1


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_the_textmate_grammar_closes_every_block_it_opens_in_every_example(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    toks, still_open = textmate_tokens(text)
    assert still_open == 0
    assert "".join(t for _, t in toks) == text.replace("\n", "")
    # Every rule of a grammar block is read inside the block (a `{...}` inside it does not end it).
    module, _ = parse_source(text, str(path))
    assert module is not None
    block_rules = sum(len(item.rules) for fam in module.families for item in fam.items
                      if isinstance(item, A.GrammarDecl))
    assert sum(1 for scopes, t in toks if t == "rule" and "meta.grammar.ddl" in scopes) == block_rules
    # Items after a grammar block are read as declarations again, not as regular expressions.
    for scopes, t in toks:
        if t in ("program", "example", "ensures", "teach", "param"):
            assert scopes[-1].startswith("keyword.other.") and "meta.grammar.ddl" not in scopes, (t, scopes)


def test_the_textmate_grammar_scopes_strings_interpolations_classes_and_comments() -> None:
    src = ('family f {  # a comment\n  param n : Int in 0..9\n  grammar ignore_case { "n=" number(n) [a-z]{2} }\n'
           '  program -> Text = "n is ${n + 1}\\n"\n}\n')
    toks, still_open = textmate_tokens(src)
    assert still_open == 0
    found = {t: s[-1] for s, t in toks if s}
    assert found["# a comment"] == "comment.line.number-sign.ddl"
    assert found["[a-z]"] == "string.regexp.character-class.ddl" and found["{2}"] == "keyword.operator.quantifier.ddl"
    assert found[" ignore_case"] == "entity.other.attribute-name.ddl"  # the options, as one capture
    assert found["family"] == "keyword.other.declaration.ddl" and found["Int"] == "support.type.primitive.ddl"
    assert found["\\n"] == "constant.character.escape.ddl"
    interpolated = [s for s, t in toks if t == "+"]
    assert interpolated and "meta.interpolation.ddl" in interpolated[0]


def test_hover_shows_types_in_a_module_with_a_type_error_elsewhere() -> None:
    broken = BINDERS.replace("example { n = 2 } => 6", 'example { n = 2 } => "six"')
    a = analysis(broken)
    assert [d.code for d in a.diagnostics] == ["DDL202"]
    hover = a.hover(broken.index("=> v,") + 3)  # the program checked; only the example did not
    assert hover is not None and "v: Int in 1..25" in hover.markdown
    hover = a.hover(broken.index("acc + x"))  # a module function
    assert hover is not None and "acc: Int" in hover.markdown


def test_a_name_in_a_comment_is_not_looked_up_but_a_hash_in_a_text_is_no_comment() -> None:
    text = BINDERS.replace("  param n : Int in 1..5", '  # n is the count\n  param n : Int in 1..5 where "#" != "n"')
    a = analysis(text)
    assert a.hover(text.index("n is the count")) is None and a.definition(text.index("n is the count")) is None
    assert a.completions(text.index("is the count")) == []
    assert in_comment(text, text.index('!= "n"') + 5) is False


def test_the_server_answers_a_malformed_message_with_one_line_and_no_traceback() -> None:
    body = b"hello"
    message = b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    result = subprocess.run([sys.executable, "-m", "ddl", "lsp"], input=message, capture_output=True, timeout=60)
    assert result.returncode == 0  # the input ended: the server stops
    assert b"Traceback" not in result.stderr
    assert result.stderr.decode().startswith("ddl lsp: error: ")
    assert b'"window/showMessage"' in result.stdout  # the client is told too


def test_a_request_before_initialize_is_server_not_initialized() -> None:
    # Raw JSON-RPC (a client library would not send it): the protocol's -32002, no traceback.
    import json

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": {
        "textDocument": {"uri": "file:///x.ddl"}, "position": {"line": 0, "character": 0}}}).encode()
    exit_note = json.dumps({"jsonrpc": "2.0", "method": "exit"}).encode()
    framed = b"".join(b"Content-Length: %d\r\n\r\n%s" % (len(m), m) for m in (body, exit_note))
    proc = subprocess.run([sys.executable, "-m", "ddl", "lsp"], input=framed, capture_output=True, timeout=60)
    header, _, rest = proc.stdout.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in header.split(b"\r\n") if line.lower().startswith(b"content-length"))
    reply = json.loads(rest[:length])
    assert reply["id"] == 1 and reply["error"]["code"] == -32002, reply
    assert b"Traceback" not in proc.stderr and b"Traceback" not in proc.stdout
