"""Parse DDL source into the immutable AST, with front-end limits.

The public entry point is :func:`parse_source`; it never raises for bad input.
It returns the module (or None) and a list of diagnostics.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, NoReturn, TypeVar

import lark
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ddl.diagnostics import Diagnostic, Span
from ddl.syntax import ast as A

_Node = TypeVar("_Node")

MAX_SOURCE_BYTES = 1_000_000
MAX_DEPTH = 200
MAX_TOKENS = 200_000
MAX_INT_DIGITS = 1000  # longer integer literals are DDL111 (Python's int() refuses > 4300 digits)

RESERVED = frozenset(
    """import as family enum type table fn param grammar rule except program example ensures
    teach priority allow let if then else match for in where and or not true false none
    Int Decimal Text List Map Option""".split()
)
# Contextual keywords: special only inside Text(...), List[...] and Map[...]; usable as names.
CONTEXTUAL_KEYWORDS = frozenset(["max", "pattern", "because"])

# Human words for terminals, used in "expected ..." messages.
_TERMINAL_WORDS: dict[str, str] = {
    "NAME": "a lowercase name",
    "TNAME": "a capitalized type name",
    "INT": "an integer",
    "DECIMAL": "a decimal number",
    "STRING": "a text literal",
    "CHARCLASS": "a character class like [a-z]",
    "CALL": "a call like number(x)",
    "REPEAT": "a repetition like {1,3}",
    "$END": "end of input",
}


class _SyntaxFailure(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


@cache
def _parser(start: str = "start") -> lark.Lark:
    grammar = resources.files("ddl.syntax").joinpath("ddl.lark").read_text(encoding="utf-8")
    return lark.Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "expr", "type_expr", "regex"],
        # Building the LALR tables takes about a second; lark caches them in the temp directory,
        # keyed by the grammar, the options and lark's version (a bad cache file is rebuilt).
        cache=True,
    )


def _terminal_word(name: str, parser: lark.Lark) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        term = parser.get_terminal(name)
    except KeyError:
        return name.lower()
    pattern = term.pattern
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


_EXPR_STARTERS = frozenset(
    ["INT", "DECIMAL", "STRING", "NAME", "TNAME"]
)
_EXPR_START_WORDS = frozenset(
    ["'('", "'-'", "'['", "'{'", "'|'", "'let'", "'if'", "'match'", "'not'", "'true'", "'false'", "'none'"]
)


def _expected_words(expected: set[str] | frozenset[str], parser: lark.Lark) -> str:
    words = sorted({_terminal_word(name, parser) for name in expected})
    if _EXPR_STARTERS <= set(expected):
        # Every expression can start here: say so instead of listing its first tokens.
        words = ["an expression"] + [
            w for w in words if w not in _EXPR_START_WORDS and not any(
                w == _terminal_word(n, parser) for n in _EXPR_STARTERS)
        ]
    # Quoted tokens first, then the descriptive words.
    words.sort(key=lambda w: (not w.startswith("'"), w))
    if not words:
        return "nothing more"
    if len(words) > 12:
        words = words[:12] + ["…"]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


class SourceText:
    """Offsets to line/column, for building spans from positions."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self._line_starts = [0]
        for m in re.finditer("\n", text):
            self._line_starts.append(m.end())

    def span(self, start: int, end: int) -> Span:
        line, col = self.position(start)
        end_line, end_col = self.position(end)
        return Span(self.path, start, end, line, col, end_line, end_col)

    def position(self, offset: int) -> tuple[int, int]:
        idx = bisect.bisect_right(self._line_starts, offset) - 1
        return idx + 1, offset - self._line_starts[idx] + 1


def parse_source(text: str | bytes, path: str = "<input>") -> tuple[A.Module | None, list[Diagnostic]]:
    """Parse a whole module. Never raises on bad input."""
    if isinstance(text, bytes):
        data = text
        if len(data) > MAX_SOURCE_BYTES:
            return None, [_too_large(path, len(data))]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            src = SourceText(path, data[: err.start].decode("utf-8", errors="replace"))
            line, col = src.position(len(src.text))
            return None, [
                Diagnostic(
                    "DDL101",
                    f"source is not valid UTF-8: byte 0x{text[err.start]:02x} at offset {err.start}",
                    Span(path, err.start, err.start + 1, line, col, line, col + 1),
                    hint="save the file as UTF-8",
                )
            ]
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_SOURCE_BYTES:
        return None, [_too_large(path, len(text.encode("utf-8", errors="surrogatepass")))]
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # a BOM is whitespace; keep offsets stable
    src = SourceText(path, text)
    try:
        tree = _parse_tree(src, "start")
        module = _Builder(src).module(tree)
    except _SyntaxFailure as failure:
        return None, [failure.diagnostic]
    except RecursionError:
        return None, [Diagnostic("DDL105", f"nesting too deep (limit {MAX_DEPTH})", src.span(0, 0))]
    return module, []


def parse_expr(text: str, path: str = "<expr>") -> tuple[A.Expr | None, list[Diagnostic]]:
    """Parse a single expression (used by the command line for ``--param`` values)."""
    return _parse_fragment(text, path, "expr", _Builder.expr)


def parse_regex(text: str, path: str = "<regex>") -> tuple[A.Regex | None, list[Diagnostic]]:
    """Parse a single grammar expression (a learned alternative must be one, and nothing more)."""
    return _parse_fragment(text, path, "regex", _Builder.regex)


def _parse_fragment(text: str, path: str, start: str,
                    build: Callable[[_Builder, Tree], _Node]) -> tuple[_Node | None, list[Diagnostic]]:
    """One ``start`` of the grammar (not a module), built into its AST node."""
    src = SourceText(path, text)
    try:
        return build(_Builder(src), _parse_tree(src, start)), []
    except _SyntaxFailure as failure:
        return None, [failure.diagnostic]
    except RecursionError:
        return None, [Diagnostic("DDL105", f"nesting too deep (limit {MAX_DEPTH})", src.span(0, 0))]


def _too_large(path: str, size: int) -> Diagnostic:
    return Diagnostic(
        "DDL100",
        f"source file too large: {size} bytes (limit {MAX_SOURCE_BYTES})",
        Span.point(path),
        hint="split the file into modules and import them",
    )


def _parse_tree(src: SourceText, start: str) -> Tree:
    parser = _parser()
    text = src.text
    count = 0

    def on_token(tok: Token) -> Token:
        nonlocal count
        count += 1
        if count > MAX_TOKENS:
            pos = tok.start_pos or 0
            raise _SyntaxFailure(
                Diagnostic("DDL113", f"too many tokens (limit {MAX_TOKENS})", src.span(pos, pos))
            )
        return tok

    try:
        interactive = parser.parse_interactive(text, start=start)
        for tok in interactive.iter_parse():
            on_token(tok)
            if tok.type in ("NAME", "TNAME") and str(tok) in RESERVED:
                # The contextual lexer read a keyword as a name because the keyword cannot occur here.
                raise _SyntaxFailure(_misplaced_keyword(tok, src, set(interactive.accepts()), parser))
        tree = interactive.resume_parse()
    except UnexpectedInput as err:
        raise _SyntaxFailure(_syntax_diagnostic(err, src, parser)) from None
    _check_depth(tree, src)
    return tree


def _misplaced_keyword(tok: Token, src: SourceText, accepts: set[str], parser: lark.Lark) -> Diagnostic:
    word = str(tok)
    start = tok.start_pos or 0
    span = src.span(start, start + len(word))
    if word in ("if", "let", "match") and "INT" in accepts:
        return Diagnostic("DDL103", f"'{word}' cannot start an operand here", span,
                          hint=f"wrap the {word}-expression in parentheses: ({word} ...)")
    ends_rule = word == "rule" and any(_terminal_word(t, parser) == "';'" for t in accepts)
    if accepts & {"NAME", "TNAME"} and not ends_rule:
        return Diagnostic("DDL110", f"'{word}' is a reserved word and cannot be used as a name", span)
    expected = _expected_words(accepts - {"NAME", "TNAME"}, parser)
    return Diagnostic("DDL103", f"unexpected keyword '{word}'; expected {expected}", span)


def _check_depth(tree: Tree, src: SourceText) -> None:
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta if isinstance(node, Tree) else None
            start = getattr(meta, "start_pos", 0) or 0
            end = getattr(meta, "end_pos", start) or start
            raise _SyntaxFailure(
                Diagnostic(
                    "DDL105",
                    f"nesting too deep (limit {MAX_DEPTH} levels)",
                    src.span(start, min(end, start + 1)),
                    hint="bind intermediate results with let",
                )
            )
        if isinstance(node, Tree):
            for child in node.children:
                if isinstance(child, Tree):
                    stack.append((child, depth + 1))


def _syntax_diagnostic(err: UnexpectedInput, src: SourceText, parser: lark.Lark) -> Diagnostic:
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        ch = src.text[pos] if pos < len(src.text) else ""
        what = _describe_char(ch)
        expected = _expected_words(err.allowed or set(), parser)
        hint = None
        if ch == "'":
            hint = "text literals use double quotes"
        elif ch == "/" and src.text[pos : pos + 2] == "//":
            hint = "comments start with #"
        elif ch == ";":
            hint = "';' only ends a let binding or a grammar rule"
        return Diagnostic(
            "DDL102", f"unexpected {what}; expected {expected}", src.span(pos, pos + 1), hint=hint
        )
    if isinstance(err, UnexpectedEOF):
        end = len(src.text)
        return Diagnostic(
            "DDL104",
            f"unexpected end of input; expected {_expected_words(set(err.expected), parser)}",
            src.span(end, end),
        )
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            end = len(src.text)
            return Diagnostic(
                "DDL104",
                f"unexpected end of input; expected {_expected_words(err.expected, parser)}",
                src.span(end, end),
                hint=_eof_hint(src.text),
            )
        start = tok.start_pos or 0
        end = tok.end_pos or start + len(str(tok))
        shown = str(tok)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        hint = None
        if tok.type in ("NAME", "TNAME") and str(tok) in RESERVED:
            hint = f"'{tok}' is a reserved word"
        elif tok.type == "TNAME" and "NAME" in err.expected:
            hint = "value names (parameters, variables, functions, variants) start with a lowercase letter"
        elif tok.type == "NAME" and "TNAME" in err.expected:
            hint = "type and enum names start with an uppercase letter"
        elif str(tok) == "/" and "//" in src.text[max(0, start - 1) : start + 2]:
            hint = "comments start with #"
        elif str(tok) == "=" and "EQUAL" not in err.expected and any(
            parser.get_terminal(t).pattern.value == "==" for t in err.expected if _is_str_terminal(parser, t)
        ):
            hint = "comparison is written =="
        return Diagnostic(
            "DDL103",
            f"unexpected {_describe_token(tok)} '{shown}'; expected {_expected_words(err.expected, parser)}",
            src.span(start, end),
            hint=hint,
        )
    pos = getattr(err, "pos_in_stream", 0) or 0
    return Diagnostic("DDL103", "syntax error", src.span(pos, pos))


def _is_str_terminal(parser: lark.Lark, name: str) -> bool:
    try:
        return parser.get_terminal(name).pattern.type == "str"
    except KeyError:
        return False


def _eof_hint(text: str) -> str | None:
    opens = text.count("{") - text.count("}")
    if opens > 0:
        return f"{opens} '{{' not closed"
    if text.count("(") > text.count(")"):
        return "a '(' is not closed"
    return None


def _describe_token(tok: Token) -> str:
    return {
        "NAME": "name",
        "TNAME": "type name",
        "INT": "integer",
        "DECIMAL": "decimal",
        "STRING": "text",
    }.get(tok.type, "token")


def _describe_char(ch: str) -> str:
    if ch == "":
        return "end of input"
    if ch == "\x00":
        return "NUL character"
    if not ch.isprintable() or ch.isspace():
        return f"character U+{ord(ch):04X}"
    return f"character '{ch}'"


# ---------------------------------------------------------------------- tree → AST

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$", "0": "\0"}


class _Builder:
    """Turns lark trees into AST nodes (iterative depth is bounded by _check_depth)."""

    def __init__(self, src: SourceText):
        self.src = src

    # -- helpers
    def span(self, node: Tree | Token) -> Span:
        if isinstance(node, Token):
            start = node.start_pos or 0
            end = node.end_pos if node.end_pos is not None else start + len(node)
            return self.src.span(start, end)
        meta = node.meta
        if getattr(meta, "empty", True):
            return self.src.span(0, 0)
        return self.src.span(meta.start_pos, meta.end_pos)

    def fail(self, code: str, message: str, node: Tree | Token | Span, hint: str | None = None) -> NoReturn:
        span = node if isinstance(node, Span) else self.span(node)
        raise _SyntaxFailure(Diagnostic(code, message, span, hint=hint))

    def name(self, tok: Any) -> str:
        text = str(tok)
        if text in RESERVED:
            self.fail("DDL110", f"'{text}' is a reserved word and cannot be used as a name", tok)
        return text

    def int_token(self, tok: Token | Tree, text: str | None = None) -> int:
        """The value of an integer literal (``text`` overrides the token's own text)."""
        digits = str(tok) if text is None else text
        count = len(digits.lstrip("-"))
        if count > MAX_INT_DIGITS:
            self.fail("DDL111", f"integer literal is too long: {count} digits (limit {MAX_INT_DIGITS})", tok)
        return int(digits)

    def string(self, tok: Any) -> str:
        """Decode a plain text literal (no interpolation)."""
        raw = str(tok)[1:-1]
        return self._unescape(raw, (tok.start_pos or 0) + 1)

    def _unescape(self, raw: str, base: int) -> str:
        out: list[str] = []
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            nxt = raw[i + 1] if i + 1 < len(raw) else ""
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
            elif nxt == "u" and raw[i + 2 : i + 3] == "{":
                close = raw.find("}", i + 3)
                digits = raw[i + 3 : close] if close > 0 else ""
                if close < 0 or not re.fullmatch(r"[0-9a-fA-F]{1,6}", digits) or int(digits, 16) > 0x10FFFF:
                    self.fail("DDL106", "invalid \\u{...} escape: expected 1 to 6 hex digits up to 10FFFF",
                              self.src.span(base + i, base + i + 2))
                if 0xD800 <= int(digits, 16) <= 0xDFFF:
                    self.fail("DDL106", f"invalid \\u{{{digits}}} escape: surrogates are not characters",
                              self.src.span(base + i, base + close + 1))
                out.append(chr(int(digits, 16)))
                i = close + 1
            else:
                self.fail(
                    "DDL106",
                    f"invalid escape sequence '\\{nxt}'",
                    self.src.span(base + i, base + i + 2),
                    hint='valid escapes: \\n \\t \\r \\\\ \\" \\$ \\0 \\u{hex}',
                )
        return "".join(out)

    # -- module
    def module(self, tree: Tree) -> A.Module:
        mod_tree = tree.children[0]
        items = tuple(self.item(child) for child in mod_tree.children)
        return A.Module(items, path=self.src.path, span=self.src.span(0, len(self.src.text)))

    def item(self, t: Tree) -> Any:
        method = getattr(self, "d_" + t.data)
        return method(t)

    def d_import_decl(self, t: Tree) -> A.Import:
        target, alias = t.children
        alias_name = self.name(alias) if alias is not None else None
        if target.data == "import_std":
            return A.Import(self.name(target.children[0]), False, alias_name, span=self.span(t))
        path = self.string(target.children[0])
        if not path:
            self.fail("DDL217", "import path is empty", target)
        return A.Import(path, True, alias_name, span=self.span(t))

    def d_family_decl(self, t: Tree) -> A.FamilyDecl:
        name_tok, doc_tok, *rest = t.children
        items = tuple(self.item(child) for child in rest)
        # Singular items may appear once.
        for kind, label in ((A.GrammarDecl, "grammar"), (A.ProgramDecl, "program"), (A.PriorityDecl, "priority")):
            found = [i for i in items if isinstance(i, kind)]
            if len(found) > 1:
                self.fail("DDL112", f"a family has at most one {label} block; this is the second", found[1].span)
        return A.FamilyDecl(
            self.name(name_tok),
            self.string(doc_tok) if doc_tok is not None else None,
            items,
            span=self.span(t),
            name_span=self.span(name_tok),
        )

    def d_enum_decl(self, t: Tree) -> A.EnumDecl:
        name_tok, *variants = t.children
        vs = tuple(self.variant(v) for v in variants if v is not None)
        return A.EnumDecl(self.name(name_tok), vs, span=self.span(t))

    def variant(self, t: Tree) -> A.Variant:
        name_tok, *texts = t.children
        decoded: list[str] = [self.string(s) for s in texts if s is not None]
        display = decoded[0] if decoded else None
        return A.Variant(self.name(name_tok), display, tuple(decoded[1:]), span=self.span(t))

    def d_type_decl(self, t: Tree) -> A.RecordDecl | A.TypeAlias:
        name_tok, body = t.children
        if isinstance(body, Tree) and body.data == "record_body":
            fields = tuple(
                A.FieldDecl(self.name(f.children[0]), self.type_expr(f.children[1]), span=self.span(f))
                for f in body.children
                if f is not None
            )
            return A.RecordDecl(self.name(name_tok), fields, span=self.span(t))
        return A.TypeAlias(self.name(name_tok), self.type_expr(body), span=self.span(t))

    def d_table_decl(self, t: Tree) -> A.TableDecl:
        name_tok, key_t, val_t, *entries = t.children
        es = tuple(
            A.TableEntry(self.expr(e.children[0]), self.expr(e.children[1]), span=self.span(e))
            for e in entries
            if e is not None
        )
        return A.TableDecl(self.name(name_tok), self.type_expr(key_t), self.type_expr(val_t), es, span=self.span(t))

    def d_fn_decl(self, t: Tree) -> A.FnDecl:
        name_tok, *rest = t.children
        body = rest[-1]
        ret = rest[-2]
        params = tuple(
            A.FnParam(self.name(p.children[0]), self.type_expr(p.children[1]), span=self.span(p))
            for p in rest[:-2]
            if p is not None
        )
        return A.FnDecl(self.name(name_tok), params, self.type_expr(ret), self.expr(body), span=self.span(t))

    def d_param_decl(self, t: Tree) -> A.ParamDecl:
        name_tok, type_t, where_t, default_t = t.children
        return A.ParamDecl(
            self.name(name_tok),
            self.type_expr(type_t),
            self.expr(where_t) if where_t is not None else None,
            self.expr(default_t) if default_t is not None else None,
            span=self.span(t),
        )

    def d_grammar_decl(self, t: Tree) -> A.GrammarDecl:
        options: list[str] = []
        rules: list[A.RuleDef] = []
        body: A.Regex | None = None
        excluded: A.Regex | None = None
        for child in t.children:
            if child is None:
                continue  # an absent `except` clause (maybe_placeholders)
            if isinstance(child, Tree) and child.data == "grammar_option":
                options.append(self.name(child.children[0]))
            elif isinstance(child, Tree) and child.data == "rule_def":
                rules.append(self.d_rule_def(child))
            elif isinstance(child, Tree) and child.data == "grammar_except":
                excluded = self.regex(child.children[0])
            else:
                body = self.regex(child)
        assert body is not None
        return A.GrammarDecl(tuple(options), tuple(rules), body, excluded, span=self.span(t))

    def d_rule_def(self, t: Tree) -> A.RuleDef:
        name_tok, *rest = t.children
        params: tuple[str, ...] = ()
        if len(rest) == 2:
            params_t, body = rest
            if params_t is not None:
                names = [self.name(n) for n in params_t.children if n is not None]
                seen: set[str] = set()
                for n, tok in zip(names, [c for c in params_t.children if c is not None]):
                    if n in seen:
                        self.fail("DDL201", f"rule parameter '{n}' is declared twice", tok)
                    seen.add(n)
                params = tuple(names)
        else:
            body = rest[0]
        return A.RuleDef(self.name(name_tok), self.regex(body), span=self.span(t), params=params)

    def d_program_decl(self, t: Tree) -> A.ProgramDecl:
        ret, body = t.children
        return A.ProgramDecl(self.type_expr(ret), self.expr(body), span=self.span(t))

    def d_example_decl(self, t: Tree) -> A.ExampleDecl:
        children = list(t.children)
        utterance: str | None = None
        if isinstance(children[0], Token):  # `example "u" => { θ }`, with or without `=> output`
            utterance = self.string(children.pop(0))
        bset, *rest = children
        expected = self.expr(rest[0]) if rest else None
        return A.ExampleDecl(utterance, self.bindings(bset.children), expected, span=self.span(t))

    def bindings(self, children: list[Any]) -> tuple[A.Binding, ...]:
        return tuple(
            A.Binding(self.name(b.children[0]), self.expr(b.children[1]), span=self.span(b))
            for b in children
            if b is not None
        )

    def d_ensures_decl(self, t: Tree) -> A.EnsuresDecl:
        label, expr = t.children
        return A.EnsuresDecl(self.string(label) if label is not None else None, self.expr(expr), span=self.span(t))

    def d_teach_decl(self, t: Tree) -> A.TeachDecl:
        return A.TeachDecl(self.bindings(t.children), span=self.span(t))

    def d_allow_decl(self, t: Tree) -> A.AllowDecl:
        name_tok, text_tok, reason_tok = t.children
        return A.AllowDecl(self.name(name_tok), self.string(text_tok), self.string(reason_tok), span=self.span(t),
                           name_span=self.span(name_tok))

    def d_priority_decl(self, t: Tree) -> A.PriorityDecl:
        return A.PriorityDecl(self.signed_int(t.children[0]), span=self.span(t))

    # -- types
    def signed_int(self, t: Tree) -> int:
        text = "".join(str(c) for c in t.children)
        return self.int_token(t, text)

    def signed_number(self, t: Tree) -> Decimal:
        text = "".join(str(c) for c in t.children)
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the lexer only admits digits
            self.fail("DDL111", f"invalid number '{text}'", t)
            raise

    def type_expr(self, t: Tree) -> A.TypeExpr:
        sp = self.span(t)
        kind = t.data
        if kind == "int_type":
            lo_t, hi_t = t.children
            if lo_t is None:
                return A.IntType(span=sp)
            lo, hi = self.signed_int(lo_t), self.signed_int(hi_t)
            if lo > hi:
                self.fail("DDL114", f"empty Int range {lo}..{hi}: the lower bound exceeds the upper", t,
                          hint=f"did you mean {hi}..{lo}?")
            return A.IntType(lo, hi, span=sp)
        if kind == "decimal_type":
            scale_tok, lo_t, hi_t = t.children
            scale: int = self.int_token(scale_tok)
            if scale > 18:
                self.fail("DDL224", f"decimal scale {scale} is too large (at most 18 places)", scale_tok)
            if lo_t is None:
                return A.DecimalType(scale, span=sp)
            dlo, dhi = self.signed_number(lo_t), self.signed_number(hi_t)
            if dlo > dhi:
                self.fail("DDL114", f"empty Decimal range {dlo}..{dhi}", t)
            return A.DecimalType(scale, dlo, dhi, span=sp)
        if kind == "text_type":
            max_len: int | None = None
            pattern: A.Regex | None = None
            seen: set[str] = set()
            for opt in t.children:
                if opt is None:
                    continue
                if opt.data in seen:
                    word = "max" if opt.data == "text_max" else "pattern"
                    self.fail("DDL112", f"'{word}' is given twice in this Text type", opt)
                seen.add(opt.data)
                if opt.data == "text_max":
                    max_len = self.int_token(opt.children[-1])
                else:
                    pattern = self.regex(opt.children[-1])
            return A.TextType(max_len, pattern, span=sp)
        if kind == "list_type":
            elem, max_tok = t.children
            return A.ListType(self.type_expr(elem), self.int_token(max_tok) if max_tok is not None else None, span=sp)
        if kind == "map_type":
            key, val, max_tok = t.children
            max_len = self.int_token(max_tok) if max_tok is not None else None
            return A.MapType(self.type_expr(key), self.type_expr(val), max_len, span=sp)
        if kind == "option_type":
            return A.OptionType(self.type_expr(t.children[0]), span=sp)
        if kind == "named_type":
            path = t.children[0]
            parts = [str(c) for c in path.children]
            if len(parts) == 1:
                return A.NamedType(parts[0], None, span=sp)
            return A.NamedType(parts[1], self.name(path.children[0]), span=sp)
        raise AssertionError(kind)

    # -- regular expressions
    def regex(self, t: Tree | Token) -> A.Regex:
        sp = self.span(t)
        if isinstance(t, Token):  # pragma: no cover - atoms are always wrapped
            raise AssertionError(t)
        kind = t.data
        if kind in ("re_alt", "re_and", "re_seq"):
            items = tuple(self.regex(c) for c in t.children)
            if len(items) == 1:
                return items[0]
            if kind == "re_alt":
                return A.RAlt(items, span=sp)
            if kind == "re_and":
                return A.RAnd(items, span=sp)
            return A.RSeq(items, span=sp)
        if kind == "re_lit":
            return A.RLit(self.string(t.children[0]), span=sp)
        if kind == "re_class":
            return self.char_class(t.children[0])
        if kind == "re_any":
            return A.RAny(span=sp)
        if kind == "re_ref":
            if len(t.children) == 2:
                return A.RRef(self.name(t.children[1]), span=sp, module=self.name(t.children[0]))
            return A.RRef(self.name(t.children[0]), span=sp)
        if kind == "re_call":
            callee, *arg_ts = t.children
            text = str(callee)[:-1]
            module, _, name = text.rpartition("::")
            for part in (module, name):
                if part and part in RESERVED:
                    self.fail("DDL110", f"'{part}' is a reserved word and cannot be used as a name", callee)
            args: list[A.Regex | A.RInt] = []
            named: list[tuple[str, A.Regex]] = []
            for a in arg_ts:
                if a is None:
                    continue
                if isinstance(a, Tree) and a.data == "re_named":
                    key = self.name(a.children[0])
                    if any(k == key for k, _ in named):
                        self.fail("DDL112", f"'{key}' is given twice in this call", a)
                    named.append((key, self.regex(a.children[1])))
                elif named:
                    self.fail("DDL103", "a positional argument cannot follow a named one", a)
                elif isinstance(a, Tree) and a.data == "re_int":
                    args.append(A.RInt(self.int_token(a.children[0]), span=self.span(a)))
                else:
                    args.append(self.regex(a))
            return A.RCall(name, tuple(args), tuple(named), span=sp, module=module or None)
        if kind == "re_set":
            return A.RSet(self.bindings(list(t.children)), span=sp)
        if kind == "re_not":
            return A.RNot(self.regex(t.children[0]), span=sp)
        if kind == "re_opt":
            return A.RRepeat(self.regex(t.children[0]), 0, 1, span=sp)
        if kind == "re_star":
            return A.RRepeat(self.regex(t.children[0]), 0, None, span=sp)
        if kind == "re_plus":
            return A.RRepeat(self.regex(t.children[0]), 1, None, span=sp)
        if kind == "re_repeat":
            item, rep = t.children
            body = str(rep)[1:-1]
            if "," in body:
                lo_s, hi_s = body.split(",", 1)
                lo, hi = self.int_token(rep, lo_s), (self.int_token(rep, hi_s) if hi_s else None)
            else:
                lo = hi = self.int_token(rep, body)
            if hi is not None and lo > hi:
                self.fail("DDL109", f"repetition {{{body}}} has its lower bound above its upper bound", rep)
            if lo > 1000 or (hi is not None and hi > 1000):
                self.fail("DDL109", f"repetition bound in {{{body}}} exceeds the limit of 1000", rep)
            return A.RRepeat(self.regex(item), lo, hi, span=sp)
        raise AssertionError(kind)

    def char_class(self, tok: Any) -> A.RClass:
        raw = str(tok)[1:-1]
        base = (tok.start_pos or 0) + 1
        negated = raw.startswith("^")
        if negated:
            raw = raw[1:]
            base += 1
        chars: list[tuple[str, int]] = []  # (char, is_literal marker 0/1 for '-')
        i = 0
        while i < len(raw):
            ch = raw[i]
            if ch == "\\":
                nxt = raw[i + 1] if i + 1 < len(raw) else ""
                mapped = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "]": "]", "[": "[", "-": "-", "^": "^", " ": " "}.get(nxt)
                if mapped is None:
                    self.fail("DDL108", f"invalid escape '\\{nxt}' in a character class",
                              self.src.span(base + i, base + i + 2), hint="escape only \\ ] [ - ^ n t r")
                chars.append((mapped or "", 1))
                i += 2
            else:
                chars.append((ch, 0))
                i += 1
        ranges: list[tuple[int, int]] = []
        j = 0
        while j < len(chars):
            ch, lit = chars[j]
            if j + 2 < len(chars) and chars[j + 1] == ("-", 0):
                hi_ch = chars[j + 2][0]
                if ord(hi_ch) < ord(ch):
                    self.fail("DDL108", f"character range {ch}-{hi_ch} is reversed", tok)
                ranges.append((ord(ch), ord(hi_ch)))
                j += 3
            else:
                ranges.append((ord(ch), ord(ch)))
                j += 1
        return A.RClass(tuple(ranges), negated, span=self.span(tok))

    # -- expressions
    def expr(self, t: Tree | Token) -> A.Expr:
        if isinstance(t, Token):  # pragma: no cover - atoms are wrapped by aliases
            raise AssertionError(t)
        method = getattr(self, "e_" + t.data)
        return method(t)  # type: ignore[no-any-return]

    def e_int_lit(self, t: Tree) -> A.IntLit:
        return A.IntLit(self.int_token(t.children[0]), span=self.span(t))

    def e_dec_lit(self, t: Tree) -> A.DecLit:
        return A.DecLit(Decimal(str(t.children[0])), span=self.span(t))

    def e_true_lit(self, t: Tree) -> A.BoolLit:
        return A.BoolLit(True, span=self.span(t))

    def e_false_lit(self, t: Tree) -> A.BoolLit:
        return A.BoolLit(False, span=self.span(t))

    def e_none_lit(self, t: Tree) -> A.NoneLit:
        return A.NoneLit(span=self.span(t))

    def e_name(self, t: Tree) -> A.Name:
        path = t.children[0]
        segs = tuple(str(c) for c in path.children)
        for c in path.children:
            if str(c) in RESERVED:
                self.fail("DDL110", f"'{c}' is a reserved word and cannot be used as a name", c)
        return A.Name(segs, span=self.span(t))

    def e_text_lit(self, t: Tree) -> A.TextLit:
        tok: Any = t.children[0]
        raw = str(tok)[1:-1]
        base = (tok.start_pos or 0) + 1
        parts: list[str | A.Expr] = []
        buf_start = 0
        i = 0
        while i < len(raw):
            if raw[i] == "\\":
                i += 2
                continue
            if raw.startswith("${", i):
                if i > buf_start:
                    parts.append(self._unescape(raw[buf_start:i], base + buf_start))
                depth = 0
                j = i + 2
                close = -1
                while j < len(raw):
                    c = raw[j]
                    if c == "{":
                        depth += 1
                    elif c == "}":
                        if depth == 0:
                            close = j
                            break
                        depth -= 1
                    j += 1
                if close < 0:
                    self.fail("DDL107", "interpolation '${' is not closed by '}'", self.src.span(base + i, base + i + 2))
                inner = raw[i + 2 : close]
                if not inner.strip():
                    self.fail("DDL107", "empty interpolation '${}'", self.src.span(base + i, base + close + 1))
                if "\\" in inner:
                    self.fail("DDL107", "escapes are not allowed inside an interpolation; bind the value with let first",
                              self.src.span(base + i, base + close + 1))
                parts.append(self._sub_expr(inner, base + i + 2))
                i = close + 1
                buf_start = i
                continue
            i += 1
        if buf_start < len(raw) or not parts:
            parts.append(self._unescape(raw[buf_start:], base + buf_start))
        # Merge adjacent literal pieces for a canonical shape.
        merged: list[str | A.Expr] = []
        for p in parts:
            if isinstance(p, str) and merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + p
            else:
                merged.append(p)
        if not merged:
            merged = [""]
        return A.TextLit(tuple(merged), span=self.span(t))

    def _sub_expr(self, inner: str, offset: int) -> A.Expr:
        # Parse the interpolation alone, then shift positions into the file.
        parser = _parser()
        try:
            interactive = parser.parse_interactive(inner, start="expr")
            tree = interactive.resume_parse()
        except UnexpectedInput as err:
            # Translate positions: the sub-parse saw the inner text alone.
            diag = _syntax_diagnostic(err, SourceText(self.src.path, inner), parser)
            start = offset + (diag.span.start or 0)
            raise _SyntaxFailure(
                Diagnostic("DDL107", "in interpolation: " + diag.message, self.src.span(start, start + max(1, diag.span.end - diag.span.start)), hint=diag.hint)
            ) from None
        shifted = _shift_tree(tree, offset)
        _check_depth(shifted, self.src)
        return self.expr(shifted)

    def e_let_expr(self, t: Tree) -> A.Let:
        name_tok, ann, value, body = t.children
        return A.Let(
            self.name(name_tok),
            self.type_expr(ann) if ann is not None else None,
            self.expr(value),
            self.expr(body),
            span=self.span(t),
            name_span=self.span(name_tok),
        )

    def e_if_expr(self, t: Tree) -> A.If:
        c, a, b = t.children
        return A.If(self.expr(c), self.expr(a), self.expr(b), span=self.span(t))

    def e_lambda_expr(self, t: Tree) -> A.Lambda:
        *names, body = t.children
        params = tuple(self.name(n) for n in names)
        if len(set(params)) != len(params):
            self.fail("DDL201", "a lambda parameter is named twice", t)
        return A.Lambda(params, self.expr(body), span=self.span(t))

    def _binary(self, op: str, t: Tree) -> A.Binary:
        left, right = t.children
        return A.Binary(op, self.expr(left), self.expr(right), span=self.span(t))

    def e_coalesce(self, t: Tree) -> A.Binary:
        return self._binary("??", t)

    def e_or_(self, t: Tree) -> A.Binary:
        return self._binary("or", t)

    def e_and_(self, t: Tree) -> A.Binary:
        return self._binary("and", t)

    def e_not_(self, t: Tree) -> A.Unary:
        return A.Unary("not", self.expr(t.children[0]), span=self.span(t))

    def e_neg(self, t: Tree) -> A.Expr:
        inner = self.expr(t.children[0])
        # Fold negative literals so that -3 is a literal (patterns and fmt agree).
        if isinstance(inner, A.IntLit) and not str(self.src.text[self.span(t).start : self.span(t).end]).startswith("-("):
            return A.IntLit(-inner.value, span=self.span(t))
        if isinstance(inner, A.DecLit) and not str(self.src.text[self.span(t).start : self.span(t).end]).startswith("-("):
            return A.DecLit(-inner.value, span=self.span(t))
        return A.Unary("-", inner, span=self.span(t))

    def e_eq(self, t: Tree) -> A.Binary:
        return self._binary("==", t)

    def e_ne(self, t: Tree) -> A.Binary:
        return self._binary("!=", t)

    def e_lt(self, t: Tree) -> A.Binary:
        return self._binary("<", t)

    def e_le(self, t: Tree) -> A.Binary:
        return self._binary("<=", t)

    def e_gt(self, t: Tree) -> A.Binary:
        return self._binary(">", t)

    def e_ge(self, t: Tree) -> A.Binary:
        return self._binary(">=", t)

    def e_concat(self, t: Tree) -> A.Binary:
        return self._binary("++", t)

    def e_add(self, t: Tree) -> A.Binary:
        return self._binary("+", t)

    def e_sub(self, t: Tree) -> A.Binary:
        return self._binary("-", t)

    def e_mul(self, t: Tree) -> A.Binary:
        return self._binary("*", t)

    def e_div(self, t: Tree) -> A.Binary:
        return self._binary("/", t)

    def e_mod(self, t: Tree) -> A.Binary:
        return self._binary("%", t)

    def e_field(self, t: Tree) -> A.Field:
        obj, name_tok = t.children
        return A.Field(self.expr(obj), self.name(name_tok), span=self.span(t))

    def e_index(self, t: Tree) -> A.Index:
        obj, idx = t.children
        return A.Index(self.expr(obj), self.expr(idx), span=self.span(t))

    def e_call(self, t: Tree) -> A.Call:
        func, *args = t.children
        return A.Call(self.expr(func), tuple(self.expr(a) for a in args if a is not None), span=self.span(t))

    def e_list_lit(self, t: Tree) -> A.ListLit:
        return A.ListLit(tuple(self.expr(c) for c in t.children if c is not None), span=self.span(t))

    def e_list_comp(self, t: Tree) -> A.ListComp:
        elem, var, source, cond = t.children
        if isinstance(source, Tree) and source.data == "range_src":
            lo, hi = source.children
            src: A.Expr | A.RangeSource = A.RangeSource(self.expr(lo), self.expr(hi), span=self.span(source))
        else:
            src = self.expr(source)
        return A.ListComp(
            self.expr(elem), self.name(var), src, self.expr(cond) if cond is not None else None, span=self.span(t)
        )

    def e_map_lit(self, t: Tree) -> A.MapLit:
        entries = tuple(
            (self.expr(e.children[0]), self.expr(e.children[1])) for e in t.children if e is not None
        )
        return A.MapLit(entries, span=self.span(t))

    def e_empty_map(self, t: Tree) -> A.MapLit:
        return A.MapLit((), span=self.span(t))

    def e_record_lit(self, t: Tree) -> A.RecordLit:
        path, *inits = t.children
        parts = [str(c) for c in path.children]
        nt = A.NamedType(parts[-1], parts[0] if len(parts) == 2 else None, span=self.span(path))
        fields = tuple(
            A.FieldInit(self.name(f.children[0]), self.expr(f.children[1]), span=self.span(f))
            for f in inits
            if f is not None
        )
        return A.RecordLit(nt, fields, span=self.span(t))

    def e_match_expr(self, t: Tree) -> A.Match:
        scrut, *arms = t.children
        return A.Match(
            self.expr(scrut),
            tuple(A.MatchArm(self.pattern(a.children[0]), self.expr(a.children[1]), span=self.span(a)) for a in arms),
            span=self.span(t),
        )

    def pattern(self, t: Tree) -> A.Pattern:
        sp = self.span(t)
        kind = t.data
        if kind == "pat_wild":
            return A.PWild(span=sp)
        if kind == "pat_int":
            return A.PInt(self.int_token(t.children[0]), span=sp)
        if kind == "pat_neg_int":
            return A.PInt(-self.int_token(t.children[0]), span=sp)
        if kind == "pat_text":
            return A.PText(self.string(t.children[0]), span=sp)
        if kind == "pat_true":
            return A.PBool(True, span=sp)
        if kind == "pat_false":
            return A.PBool(False, span=sp)
        if kind == "pat_none":
            return A.PNone(span=sp)
        if kind == "pat_some":
            return A.PSome(self.name(t.children[0]), span=sp)
        if kind == "pat_name":
            return A.PName(self.name(t.children[0]), None, span=sp)
        if kind == "pat_qualified":
            return A.PName(self.name(t.children[1]), str(t.children[0]), span=sp)
        raise AssertionError(kind)


def _shift_tree(tree: Tree, offset: int) -> Tree:
    """Shift positions of a sub-parse so spans refer to the enclosing file."""
    stack: list[Any] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Tree):
            meta = node.meta
            if not getattr(meta, "empty", True):
                meta.start_pos += offset
                meta.end_pos += offset
            stack.extend(node.children)
        elif isinstance(node, Token):
            if node.start_pos is not None:
                node.start_pos += offset
            if node.end_pos is not None:
                node.end_pos += offset
    return tree
