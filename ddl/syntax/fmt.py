"""The canonical formatter for DDL source (``ddl fmt``).

Public API::

    format_source(text, path) -> (formatted text | None, diagnostics)
    format_module(module, comments) -> formatted text
    format_expr(expr) -> one-line text of an expression
    collect_comments(text) -> [Comment]

Guarantees: ``parse(format(src)) == parse(src)`` (AST equality ignores spans)
and ``format(format(src)) == format(src)``; every comment is kept.

Style (what ``ddl fmt`` produces):

* 2-space indentation, lines of at most 100 columns where the layout allows
  (text literals, types and patterns inside types are never split).
* One blank line between top-level items (consecutive imports stay together).
  Inside a family: the doc string first, then items one per line; a blank line
  separates items of different kinds ("sections": enums, types, tables, fns,
  params, grammar, program, ensures, teach, priority, allow, examples) and surrounds
  any item that spans several lines.
* Record/map/list literals, argument and parameter lists, enum variants, record
  fields and binding sets are written on one line when they fit, otherwise one
  entry per line with a trailing comma.  Table entries and match arms are always
  one per line (with trailing commas); grammar blocks put every rule and the
  body on its own line, a long body breaking before ``|``.
* ``let`` chains are written one binding per line, the body last, aligned with
  the first ``let``; a let whose value is a let chain gets parentheses.
* ``if c then a else b`` stays on one line when it fits, else the branches go on
  their own lines (``else if`` chains stay flat); a condition too long for the
  line puts ``then`` on a line of its own.
* Binary operators have single spaces around them; a chain too long for the line
  breaks before its operators.  Parentheses are the minimum the precedence rules
  need (``(a + b) * c``, ``a - (b - c)``, ``(a == b) == c``); ``-(3)`` keeps a
  negation of a literal distinct from the literal ``-3``; ``(-3).x``; an
  ``ensures`` without a label keeps parentheses around an expression that starts
  with a text literal.
* Text literals are re-quoted canonically (``\\n``, ``\\t``, ``\\r``, ``\\"``,
  ``\\\\``, ``\\${``, ``\\u{..}`` for other control characters, everything else
  as is); interpolations are re-emitted as ``${expr}`` with the expression on
  one line.
* Decimal literals keep their digits (``2.50``).  Character classes are
  re-emitted canonically: ``[^...]``, ranges as ``a-z``, ``\\\\ \\] \\- \\^``
  escaped, ``\\n \\t \\r`` for those characters; repetitions as
  ``? * + {m} {m,} {m,n}``.

Comments: a comment is attached to the next "anchor": a top-level item, a family
item, an enum variant, a record field, a table entry, a grammar rule, the grammar
body, a ``let`` binding or the body of a let chain.  It is printed on its own
line before that anchor; a comment that follows an anchor on the same line stays
at the end of the anchor's last line (after a trailing comma or ``;``).
Comments after the last anchor of a block stay before the block's closing brace.
A blank line after a comment is kept.  Documented limitations: a comment inside
an expression, a type or an item header moves before the enclosing anchor (a
comment right before a let chain that does not start its line makes the chain
start a new line); a comment after the body of a let chain moves before it;
comments between a family's name and its first item are printed after the doc
string; a ``#`` inside a ``${...}`` interpolation belongs to the text literal.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Union

import attrs
import lark

from ddl.diagnostics import Diagnostic
from ddl.syntax import ast as A
from ddl.syntax.parser import parse_source
from ddl.values import quote_text

__all__ = ["WIDTH", "Comment", "collect_comments", "format_module", "format_source"]

WIDTH = 100
INDENT = 2
_FILL_ALTERNATIVE = 40  # alternatives all at most this wide (flat) fill their lines; longer ones get one each

# ====================================================================== documents
#
# A small Wadler/Prettier-style layout engine: a document is text, a
# concatenation, an indented part, a group (laid out flat if it fits, else
# broken), a line (a space or nothing when flat, a newline when broken) or a
# piece of text that depends on the enclosing group's mode.  A hard line always
# breaks and forces every enclosing group to break.


class _Cat:
    __slots__ = ("parts", "hard")
    hard: bool

    def __init__(self, parts: Sequence[Doc]):
        self.parts = tuple(parts)
        self.hard = any(not isinstance(p, str) and p.hard for p in self.parts)


class _Nest:
    __slots__ = ("indent", "doc", "hard")
    hard: bool

    def __init__(self, indent: int, doc: Doc):
        self.indent = indent
        self.doc = doc
        self.hard = not isinstance(doc, str) and doc.hard


class _Group:
    __slots__ = ("doc", "hard")
    hard: bool

    def __init__(self, doc: Doc, force: bool = False):
        self.doc = doc
        self.hard = force or (not isinstance(doc, str) and doc.hard)


class _Align:
    """Indent the lines of ``doc`` to the column where it starts."""

    __slots__ = ("doc", "hard")
    hard: bool

    def __init__(self, doc: Doc):
        self.doc = doc
        self.hard = not isinstance(doc, str) and doc.hard


class _Line:
    __slots__ = ("flat", "hard", "fresh")
    hard: bool

    def __init__(self, flat: str, hard: bool = False, fresh: bool = False):
        self.flat = flat
        self.hard = hard or fresh
        self.fresh = fresh  # break only if the line already holds text


class _IfBreak:
    __slots__ = ("broken", "flat", "hard")
    hard: bool

    def __init__(self, broken: str, flat: str = ""):
        self.broken = broken
        self.flat = flat
        self.hard = False


Doc = Union[str, _Cat, _Nest, _Align, _Group, _Line, _IfBreak]

LINE = _Line(" ")
SOFT = _Line("")
HARD = _Line(" ", hard=True)  # flat text only used when a document is forced onto one line
FRESH = _Line(" ", fresh=True)
COMMA_IF_BROKEN = _IfBreak(",")


def cat(*parts: Doc) -> Doc:
    return _Cat(parts)


def nest(*parts: Doc) -> Doc:
    return _Nest(INDENT, _Cat(parts))


def group(*parts: Doc, force: bool = False) -> Doc:
    return _Group(_Cat(parts), force)


def _join(docs: Sequence[Doc], sep: Sequence[Doc]) -> list[Doc]:
    out: list[Doc] = []
    for i, d in enumerate(docs):
        if i:
            out.extend(sep)
        out.append(d)
    return out


_Item = tuple[int, bool, Doc]  # (indent, broken mode, doc)


def _fits(doc: Doc, ind: int, width: int, rest: list[_Item]) -> bool:
    items: list[_Item] = [(ind, False, doc)]
    k = len(rest)
    while width >= 0:
        if not items:
            if k == 0:
                return True
            k -= 1
            items.append(rest[k])
            continue
        i, brk, d = items.pop()
        if isinstance(d, str):
            width -= len(d)
        elif isinstance(d, _Cat):
            items.extend((i, brk, p) for p in reversed(d.parts))
        elif isinstance(d, _Nest):
            items.append((i + d.indent, brk, d.doc))
        elif isinstance(d, _Align):
            items.append((i, brk, d.doc))
        elif isinstance(d, _Group):
            items.append((i, brk or d.hard, d.doc))
        elif isinstance(d, _Line):
            if brk or d.hard:
                return True
            width -= len(d.flat)
        else:
            width -= len(d.broken if brk else d.flat)
    return False


def render(doc: Doc, indent: int = 0, width: int = WIDTH) -> str:
    """Lay out ``doc`` starting at column ``indent``; later lines carry their indentation."""
    out: list[str] = []
    col = indent
    at_start = False  # nothing but indentation on the current line
    stack: list[_Item] = [(indent, True, doc)]
    while stack:
        ind, brk, d = stack.pop()
        if isinstance(d, str):
            out.append(d)
            col += len(d)
            at_start = at_start and not d
        elif isinstance(d, _Cat):
            stack.extend((ind, brk, p) for p in reversed(d.parts))
        elif isinstance(d, _Nest):
            stack.append((ind + d.indent, brk, d.doc))
        elif isinstance(d, _Align):
            stack.append((col, brk, d.doc))
        elif isinstance(d, _Group):
            if not brk:
                stack.append((ind, False, d.doc))
            elif d.hard:
                stack.append((ind, True, d.doc))
            else:
                flat = _fits(d.doc, ind, width - col, stack)
                stack.append((ind, not flat, d.doc))
        elif isinstance(d, _Line):
            if d.fresh and at_start:
                continue
            if brk or d.hard:
                out.append("\n" + " " * ind)
                col = ind
                at_start = True
            else:
                out.append(d.flat)
                col += len(d.flat)
        else:
            s = d.broken if brk else d.flat
            out.append(s)
            col += len(s)
            at_start = at_start and not s
    return "\n".join(line.rstrip(" ") for line in "".join(out).split("\n"))


def render_flat(doc: Doc) -> str:
    """Lay out ``doc`` on one line, whatever its length (used inside ``${...}``)."""
    out: list[str] = []
    stack: list[Doc] = [doc]
    while stack:
        d = stack.pop()
        if isinstance(d, str):
            out.append(d)
        elif isinstance(d, _Cat):
            stack.extend(reversed(d.parts))
        elif isinstance(d, (_Nest, _Align, _Group)):
            stack.append(d.doc)
        else:
            out.append(d.flat)
    return "".join(out)


def _first_text(doc: Doc) -> str:
    """The first non-empty text a document renders (for lookahead-sensitive spots)."""
    stack: list[Doc] = [doc]
    while stack:
        d = stack.pop()
        if isinstance(d, str):
            if d:
                return d
        elif isinstance(d, _Cat):
            stack.extend(reversed(d.parts))
        elif isinstance(d, (_Nest, _Align, _Group)):
            stack.append(d.doc)
    return ""


# ====================================================================== comments


@attrs.frozen
class Comment:
    """A ``#`` comment: its text (trailing whitespace removed), offset and 1-based line."""

    text: str
    offset: int
    line: int
    blank_after: bool = False  # a blank line follows the comment in the source
    next_code: int = -1  # offset of the next code after it (past blanks and comments); -1 unknown


_sink = threading.local()


def _on_comment(tok: lark.Token) -> lark.Token:
    sink = getattr(_sink, "comments", None)
    if sink is not None:
        sink.append(tok)
    return tok


@lru_cache(maxsize=1)
def _comment_lexer() -> lark.Lark:
    grammar = resources.files("ddl.syntax").joinpath("ddl.lark").read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", lexer="contextual", lexer_callbacks={"COMMENT": _on_comment})


_BLANK_AFTER = re.compile(r"\n[ \t\r\f]*\n")
_SKIP = re.compile(r"(?:[ \t\r\n\f]+|#[^\n]*)*")


def collect_comments(text: str) -> list[Comment]:
    """The comments of a source that parses (a separate pass with the same contextual lexer,
    so ``#`` inside text literals and character classes is not mistaken for a comment)."""
    if text.startswith("\ufeff"):
        text = " " + text[1:]
    tokens: list[lark.Token] = []
    _sink.comments = tokens
    try:
        _comment_lexer().parse(text)
    except lark.exceptions.LarkError:
        # Only called on sources that parsed; keep what was lexed so far regardless.
        pass
    finally:
        _sink.comments = None
    out: list[Comment] = []
    for tok in tokens:
        end = tok.end_pos if tok.end_pos is not None else (tok.start_pos or 0) + len(tok)
        out.append(
            Comment(
                str(tok).rstrip(),
                tok.start_pos or 0,
                tok.line or 1,
                blank_after=_BLANK_AFTER.match(text, end) is not None,
                next_code=_SKIP.match(text, end).end(),  # type: ignore[union-attr]
            )
        )
    return out


_BLOCK, _EXPR, _CHAIN = "block", "expr", "chain"


class _Anchor:
    """A place comments attach to.  ``mode`` says where a comment inside it, but in
    none of its kids, goes: ``block`` (module, family, enum, record, table, grammar):
    to the next kid, else dangling before the closing brace; ``expr`` (an item or a
    part of a let chain holding nested let chains): before the anchor itself;
    ``chain`` (a let chain: its bindings, then its body): to the next kid, else
    before the body."""

    __slots__ = ("node", "start", "end", "end_line", "kids", "depth", "mode")

    def __init__(self, node: object, kids: list[_Anchor] | None, depth: int, mode: str = _EXPR,
                 end: tuple[int, int] | None = None):
        span = getattr(node, "span", A.NOSPAN)
        self.node = node
        self.start = span.start
        self.end, self.end_line = end if end is not None else (span.end, span.end_line)
        self.kids = kids
        self.depth = depth
        self.mode = mode


def _find_lets(roots: list[object]) -> list[A.Let]:
    """The outermost let expressions under ``roots`` (not inside text interpolations)."""
    found: list[A.Let] = []
    todo = list(reversed(roots))
    while todo:
        node = todo.pop()
        if isinstance(node, A.Let):
            found.append(node)
        elif isinstance(node, tuple):
            todo.extend(reversed(node))
        elif attrs.has(type(node)) and not isinstance(node, A.TextLit):
            fields = attrs.fields(type(node))  # type: ignore[arg-type]
            todo.extend(reversed([getattr(node, f.name) for f in fields if f.eq]))
    return found


def _expr_anchor(node: object, roots: list[object], depth: int, end: tuple[int, int] | None = None) -> _Anchor:
    chains = [_chain(let, depth + 1) for let in _find_lets(roots)]
    return _Anchor(node, chains or None, depth, _EXPR, end)


def _chain(let: A.Let, depth: int) -> _Anchor:
    kids: list[_Anchor] = []
    cur: A.Expr = let
    while isinstance(cur, A.Let):
        value_span = getattr(cur.value, "span", A.NOSPAN)
        kids.append(_expr_anchor(cur, [cur.value], depth + 1, (value_span.end, value_span.end_line)))
        cur = cur.body
    kids.append(_expr_anchor(cur, [cur], depth + 1))
    return _Anchor(let, kids, depth, _CHAIN)


def _anchor(node: object, depth: int) -> _Anchor:
    kids: list[object] | None = None
    if isinstance(node, A.FamilyDecl):
        kids = list(node.items)
    elif isinstance(node, A.EnumDecl):
        kids = list(node.variants)
    elif isinstance(node, A.RecordDecl):
        kids = list(node.fields)
    elif isinstance(node, A.TableDecl):
        kids = list(node.entries)
    elif isinstance(node, A.GrammarDecl):
        kids = [*node.rules, node.body, *([node.excluded] if node.excluded is not None else [])]
    if kids is None:
        return _expr_anchor(node, [node], depth)
    return _Anchor(node, [_anchor(k, depth + 1) for k in kids], depth, _BLOCK)


class _Attached:
    """Comments attached to anchors: leading (own lines before), trailing (same line after)
    and dangling (after the last anchor of a block, before its closing brace)."""

    def __init__(self, module: A.Module, comments: Sequence[Comment]):
        self.leading: dict[int, list[Comment]] = {}
        self.trailing: dict[int, Comment] = {}
        self.dangling: dict[int, list[Comment]] = {}
        if not comments:
            return
        root = _Anchor(module, [_anchor(item, 1) for item in module.items], 0, _BLOCK)
        flat: list[_Anchor] = []
        bodies: set[int] = set()
        todo = list(root.kids or [])
        while todo:
            a = todo.pop()
            if a.mode == _CHAIN:
                bodies.add(id(a.kids[-1]) if a.kids else 0)
            else:
                flat.append(a)
            todo.extend(a.kids or [])
        # the anchor a trailing comment follows: the last to end before it; on a tie the
        # outermost (an item rather than the body of its let chain)
        by_end = sorted(flat, key=lambda a: (a.end, -a.depth))
        ends = [a.end for a in by_end]
        starts = sorted(a.start for a in flat)
        for c in sorted(comments, key=lambda c: c.offset):
            k = bisect.bisect_right(ends, c.offset) - 1
            if k >= 0:
                prev = by_end[k]
                s = bisect.bisect_left(starts, prev.end)
                nothing_between = s == len(starts) or starts[s] >= c.offset
                if prev.end_line == c.line and nothing_between and id(prev.node) not in self.trailing:
                    if id(prev) in bodies:
                        # the body of a let chain may be followed by more code on its line
                        self.leading.setdefault(id(prev.node), []).append(c)
                    else:
                        self.trailing[id(prev.node)] = c
                    continue
            self._place(root, c)

    def _place(self, container: _Anchor, c: Comment) -> None:
        while True:
            for kid in container.kids or []:
                if kid.start <= c.offset < kid.end:
                    if kid.kids is not None:
                        container = kid
                        break
                    self.leading.setdefault(id(kid.node), []).append(c)
                    return
                if c.offset < kid.start:
                    target = kid
                    if container.mode == _EXPR:
                        # a let chain's own comments come right before it; others stay with
                        # the enclosing item
                        target = kid.kids[0] if c.next_code >= kid.start and kid.kids else container
                    self.leading.setdefault(id(target.node), []).append(c)
                    return
            else:
                if container.mode == _BLOCK:
                    self.dangling.setdefault(id(container.node), []).append(c)
                elif container.mode == _CHAIN and container.kids:
                    self.leading.setdefault(id(container.kids[-1].node), []).append(c)
                else:
                    self.leading.setdefault(id(container.node), []).append(c)
                return

    def lead(self, node: object) -> list[Comment]:
        return self.leading.get(id(node), [])

    def trail(self, node: object) -> Comment | None:
        return self.trailing.get(id(node))

    def dangle(self, node: object) -> list[Comment]:
        return self.dangling.get(id(node), [])

    def has_any(self, node: object) -> bool:
        key = id(node)
        return key in self.leading or key in self.trailing


# ====================================================================== formatter

# precedence levels of expressions (higher binds tighter)
_LOW, _COALESCE, _OR, _AND, _NOT, _CMP, _CONCAT, _ADD, _MUL, _UNARY, _POSTFIX, _ATOM = range(12)

# op -> (level, minimum level of the left operand, minimum level of the right operand)
_BINARY: dict[str, tuple[int, int, int]] = {
    "??": (_COALESCE, _OR, _COALESCE),
    "or": (_OR, _OR, _AND),
    "and": (_AND, _AND, _NOT),
    "==": (_CMP, _CONCAT, _CONCAT),
    "!=": (_CMP, _CONCAT, _CONCAT),
    "<": (_CMP, _CONCAT, _CONCAT),
    "<=": (_CMP, _CONCAT, _CONCAT),
    ">": (_CMP, _CONCAT, _CONCAT),
    ">=": (_CMP, _CONCAT, _CONCAT),
    "++": (_CONCAT, _CONCAT, _ADD),
    "+": (_ADD, _ADD, _MUL),
    "-": (_ADD, _ADD, _MUL),
    "*": (_MUL, _MUL, _UNARY),
    "/": (_MUL, _MUL, _UNARY),
    "%": (_MUL, _MUL, _UNARY),
}
_LEFT_ASSOC = frozenset([_OR, _AND, _CONCAT, _ADD, _MUL])

# regex levels
_R_ALT, _R_AND, _R_SEQ, _R_POST, _R_PRE, _R_ATOM = range(6)

_CLASS_ESCAPES = {"\\": "\\\\", "]": "\\]", "-": "\\-", "^": "\\^", "\n": "\\n", "\t": "\\t", "\r": "\\r"}

_KIND: dict[type, str] = {
    A.Import: "import",
    A.EnumDecl: "enum",
    A.RecordDecl: "type",
    A.TypeAlias: "type",
    A.TableDecl: "table",
    A.FnDecl: "fn",
    A.RuleDef: "rule",
    A.ParamDecl: "param",
    A.GrammarDecl: "grammar",
    A.ProgramDecl: "program",
    A.EnsuresDecl: "ensures",
    A.TeachDecl: "teach",
    A.PriorityDecl: "priority",
    A.AllowDecl: "allow",
    A.ExampleDecl: "example",
    A.FamilyDecl: "family",
}


def _q(text: str) -> str:
    return quote_text(text)


def _decimal(value: Decimal) -> str:
    text = format(value, "f")
    if "." not in text and value.is_finite():
        text += ".0"
    return text


def _number(value: Decimal) -> str:
    return format(value, "f")


class _Formatter:
    def __init__(self, attached: _Attached):
        self.c = attached

    # ------------------------------------------------------------ comment helpers
    def _lead_docs(self, node: object) -> list[Doc]:
        out: list[Doc] = []
        for c in self.c.lead(node):
            out.extend([c.text, HARD])
            if c.blank_after:
                out.append(HARD)
        return out

    def _trail_doc(self, node: object) -> list[Doc]:
        t = self.c.trail(node)
        return ["  " + t.text] if t is not None else []

    def _block(
        self,
        open_: str,
        entries: Sequence[tuple[object | None, Doc]],
        close: str,
        *,
        owner: object | None = None,
        pad: bool = True,
        trailing_comma: bool = True,
        force: bool = False,
        empty: str | None = None,
    ) -> Doc:
        """``open entry, entry close``, or one entry per line with a trailing comma."""
        dangling = self.c.dangle(owner) if owner is not None else []
        if not entries and not dangling:
            return empty if empty is not None else open_ + close
        line = LINE if pad else SOFT
        parts: list[Doc] = []
        commented = bool(dangling)
        n = len(entries)
        for i, (node, d) in enumerate(entries):
            parts.append(line if i == 0 else LINE)
            if node is not None:
                commented = commented or self.c.has_any(node)
                parts.extend(self._lead_docs(node))
            parts.append(d)
            if i < n - 1:
                parts.append(",")
            elif trailing_comma:
                parts.append(COMMA_IF_BROKEN)
            if node is not None:
                parts.extend(self._trail_doc(node))
        for j, c in enumerate(dangling):
            parts.append(HARD)
            parts.append(c.text)
            if c.blank_after and j < len(dangling) - 1:
                parts.append(HARD)
        return group(open_, _Nest(INDENT, _Cat(parts)), line, close, force=force or commented)

    # ------------------------------------------------------------ module and items
    def module(self, module: A.Module) -> str:
        lines: list[str] = []
        prev: object | None = None
        for item in module.items:
            if prev is not None:
                if not (isinstance(prev, A.Import) and isinstance(item, A.Import)):
                    lines.append("")
            lines.extend(self._leading_lines(item, 0))
            lines.extend(self._item_text(item, 0).split("\n"))
            prev = item
        dangling = self.c.dangle(module)
        if dangling:
            if lines:
                lines.append("")
            lines.extend(self._comment_lines(dangling, 0))
        if not lines:
            return ""
        return "\n".join(lines) + "\n"

    def _comment_lines(self, comments: Sequence[Comment], indent: int, blank_last: bool = False) -> list[str]:
        out: list[str] = []
        for i, c in enumerate(comments):
            out.append(" " * indent + c.text)
            if c.blank_after and (i < len(comments) - 1 or blank_last):
                out.append("")
        return out

    def _leading_lines(self, node: object, indent: int) -> list[str]:
        return self._comment_lines(self.c.lead(node), indent, blank_last=True)

    def _item_text(self, item: object, indent: int) -> str:
        if isinstance(item, A.FamilyDecl):
            text = self.family(item, indent)
        elif isinstance(item, A.GrammarDecl):
            text = self.grammar(item, indent)
        else:
            text = " " * indent + render(self.item(item), indent)
        t = self.c.trail(item)
        if t is not None:
            text += "  " + t.text
        return text

    def family(self, fam: A.FamilyDecl, indent: int) -> str:
        pad = " " * (indent + INDENT)
        head = " " * indent + f"family {fam.name} {{"
        body: list[str] = []
        prev_kind: str | None = None
        prev_multi = False
        if fam.doc is not None:
            body.append(pad + _q(fam.doc))
            prev_kind = "doc"
        for item in fam.items:
            text = self._item_text(item, indent + INDENT)
            multi = "\n" in text
            kind = _KIND.get(type(item), "?")
            if prev_kind is not None and (kind != prev_kind or multi or prev_multi):
                body.append("")
            body.extend(self._leading_lines(item, indent + INDENT))
            body.append(text)
            prev_kind, prev_multi = kind, multi
        dangling = self.c.dangle(fam)
        if dangling:
            if body:
                body.append("")
            body.extend(self._comment_lines(dangling, indent + INDENT))
        if not body:
            return head + "}"
        return "\n".join([head, *body, " " * indent + "}"])

    def grammar(self, g: A.GrammarDecl, indent: int) -> str:
        pad = " " * (indent + INDENT)
        head = " " * indent + "grammar" + "".join(" " + o for o in g.options) + " {"
        lines = [head]
        parts: list[tuple[object, Doc]] = [*((r, self.rule(r)) for r in g.rules), (g.body, self.regex(g.body))]
        if g.excluded is not None:
            parts.append((g.excluded, cat("except ", nest(self.regex(g.excluded)))))
        for node, doc in parts:
            lines.extend(self._leading_lines(node, indent + INDENT))
            text = pad + render(doc, indent + INDENT)
            t = self.c.trail(node)
            if t is not None:
                text += "  " + t.text
            lines.append(text)
        lines.extend(self._comment_lines(self.c.dangle(g), indent + INDENT))
        lines.append(" " * indent + "}")
        return "\n".join(lines)

    def rule(self, r: A.RuleDef) -> Doc:
        params = f"({', '.join(r.params)})" if r.params else ""
        return cat(f"rule {r.name}{params} = ", nest(self.regex(r.body)), ";")

    def i_RuleDef(self, r: A.RuleDef) -> Doc:
        return self.rule(r)

    def item(self, item: object) -> Doc:
        method = getattr(self, "i_" + type(item).__name__)
        return method(item)  # type: ignore[no-any-return]

    def i_Import(self, imp: A.Import) -> Doc:
        target = _q(imp.target) if imp.is_file else imp.target
        return f"import {target}" + (f" as {imp.alias}" if imp.alias is not None else "")

    def i_EnumDecl(self, e: A.EnumDecl) -> Doc:
        entries = [(v, self.variant(v)) for v in e.variants]
        return cat(f"enum {e.name} ", self._block("{", entries, "}", owner=e))

    def variant(self, v: A.Variant) -> Doc:
        if v.display is None:
            return v.name
        return " | ".join([f"{v.name} = {_q(v.display)}", *(_q(a) for a in v.aliases)])

    def i_RecordDecl(self, r: A.RecordDecl) -> Doc:
        entries = [(f, cat(f"{f.name}: ", self.type(f.type))) for f in r.fields]
        return cat(f"type {r.name} = ", self._block("{", entries, "}", owner=r))

    def i_TypeAlias(self, t: A.TypeAlias) -> Doc:
        return cat(f"type {t.name} = ", self.type(t.type))

    def i_TableDecl(self, t: A.TableDecl) -> Doc:
        entries = [(e, cat(self.expr(e.key), " => ", self.expr(e.value))) for e in t.entries]
        head = cat(f"table {t.name} : ", self.type(t.key_type), " -> ", self.type(t.value_type), " ")
        return cat(head, self._block("{", entries, "}", owner=t, force=True))

    def i_FnDecl(self, f: A.FnDecl) -> Doc:
        params = [(None, cat(f"{p.name}: ", self.type(p.type))) for p in f.params]
        sig = cat(f"fn {f.name}", self._block("(", params, ")", pad=False), " -> ", self.type(f.ret), " =")
        return group(sig, nest(LINE, self.expr(f.body)))

    def i_ParamDecl(self, p: A.ParamDecl) -> Doc:
        parts: list[Doc] = [f"param {p.name} : ", self.type(p.type)]
        if p.where is not None:
            parts.append(nest(LINE, "where ", self.expr(p.where)))
        if p.default is not None:
            parts.append(nest(LINE, "= ", self.expr(p.default)))
        return group(*parts)

    def i_ProgramDecl(self, p: A.ProgramDecl) -> Doc:
        return group("program -> ", self.type(p.ret), " =", nest(LINE, self.expr(p.body)))

    def _bindings(self, bindings: Sequence[A.Binding]) -> Doc:
        return self._block("{", [(None, self.binding(b)) for b in bindings], "}")

    def binding(self, b: A.Binding) -> Doc:
        return cat(f"{b.name} = ", self.expr(b.value))

    def i_ExampleDecl(self, e: A.ExampleDecl) -> Doc:
        if e.utterance is None:
            assert e.expected is not None  # `example { θ }` always states an output (the grammar's rule)
            return group("example ", self._bindings(e.bindings), nest(LINE, "=> ", self.expr(e.expected)))
        head = "example " + _q(e.utterance)
        if e.expected is None:  # `example "u" => { θ }`: the utterance's θ only
            return group(head, nest(LINE, "=> ", self._bindings(e.bindings)))
        return group(head, nest(LINE, "=> ", self._bindings(e.bindings), LINE, "=> ", self.expr(e.expected)))

    def i_EnsuresDecl(self, e: A.EnsuresDecl) -> Doc:
        body = self.expr(e.expr)
        if e.label is None:
            if _first_text(body).startswith('"'):
                # `ensures "a" ++ b` would read "a" as the label
                body = self._paren(body)
            return group("ensures", nest(LINE, body))
        return group("ensures ", _q(e.label), nest(LINE, body))

    def i_TeachDecl(self, t: A.TeachDecl) -> Doc:
        docs = [self.binding(b) for b in t.bindings]
        return group("teach ", _Nest(INDENT, _Cat(_join(docs, [",", LINE]))))

    def i_PriorityDecl(self, p: A.PriorityDecl) -> Doc:
        return f"priority {p.value}"

    def i_AllowDecl(self, a: A.AllowDecl) -> Doc:
        return group(f"allow {a.name} in ", _q(a.text), nest(LINE, "because ", _q(a.reason)))

    # ------------------------------------------------------------ types
    def type(self, t: A.TypeExpr) -> Doc:
        """A type on one line; only a long ``pattern`` breaks, onto lines of its own."""
        if isinstance(t, A.IntType):
            if t.lo is None or t.hi is None:
                return "Int"
            return f"Int in {t.lo}..{t.hi}"
        if isinstance(t, A.DecimalType):
            base = f"Decimal({t.scale})"
            if t.lo is None or t.hi is None:
                return base
            return f"{base} in {_number(t.lo)}..{_number(t.hi)}"
        if isinstance(t, A.TextType):
            if t.max_len is None and t.pattern is None:
                return "Text"
            if t.pattern is None:
                return f"Text(max {t.max_len})"
            head = "Text(" if t.max_len is None else f"Text(max {t.max_len}, "
            return group(head, "pattern", nest(LINE, self.regex(t.pattern)), ")")
        if isinstance(t, A.ListType):
            return cat("List[", self.type(t.elem), f", max {t.max_len}]" if t.max_len is not None else "]")
        if isinstance(t, A.MapType):
            tail = f", max {t.max_len}]" if t.max_len is not None else "]"
            return cat("Map[", self.type(t.key), ", ", self.type(t.value), tail)
        if isinstance(t, A.OptionType):
            return cat("Option[", self.type(t.inner), "]")
        if isinstance(t, A.NamedType):
            return f"{t.module}::{t.name}" if t.module is not None else t.name
        raise TypeError(f"not a type expression: {t!r}")

    # ------------------------------------------------------------ regular expressions
    def regex(self, r: A.Regex, min_level: int = _R_ALT) -> Doc:
        d, level = self._regex(r)
        if level < min_level:
            return cat("(", _Align(d), ")")
        return d

    def _regex(self, r: A.Regex) -> tuple[Doc, int]:
        if isinstance(r, A.RLit):
            return _q(r.text), _R_ATOM
        if isinstance(r, A.RClass):
            return _char_class(r), _R_ATOM
        if isinstance(r, A.RAny):
            return ".", _R_ATOM
        if isinstance(r, A.RRef):
            return (f"{r.module}::{r.name}" if r.module else r.name), _R_ATOM
        if isinstance(r, A.RCall):
            callee = f"{r.module}::{r.name}" if r.module else r.name
            args: list[Doc] = [str(a.value) if isinstance(a, A.RInt) else self.regex(a) for a in r.args]
            args += [cat(f"{k} = ", self.regex(v)) for k, v in r.named]
            return group(callee + "(", nest(SOFT, _Cat(_join(args, [",", LINE]))), SOFT, ")"), _R_ATOM
        if isinstance(r, A.RSet):
            return group("{", _Cat(_join([self.binding(b) for b in r.bindings], [",", LINE])), "}"), _R_ATOM
        if isinstance(r, (A.RAlt, A.RAnd, A.RSeq)):
            if len(r.items) == 1:
                return self._regex(r.items[0])
            if isinstance(r, A.RAlt):
                docs = [self.regex(i, _R_AND) for i in r.items]
                if all(len(render_flat(d)) <= _FILL_ALTERNATIVE for d in docs):
                    # a list of words fills its lines, like a sequence: one word per line would
                    # make a vocabulary of fifty words fifty lines long
                    return cat(docs[0], *(group(LINE, "| ", d) for d in docs[1:])), _R_ALT
                return group(docs[0], *(x for d in docs[1:] for x in (LINE, "| ", d))), _R_ALT
            if isinstance(r, A.RAnd):
                docs = [self.regex(i, _R_SEQ) for i in r.items]
                return group(docs[0], *(x for d in docs[1:] for x in (LINE, "& ", d))), _R_AND
            # a sequence fills its lines: it breaks only before an item that does not fit
            docs = [self.regex(i, _R_POST) for i in r.items]
            return cat(docs[0] if docs else '""', nest(*(group(LINE, d) for d in docs[1:]))), _R_SEQ
        if isinstance(r, A.RRepeat):
            return cat(self.regex(r.item, _R_POST), _repeat(r.lo, r.hi)), _R_POST
        if isinstance(r, A.RNot):
            return cat("~", self.regex(r.item, _R_PRE)), _R_PRE
        raise TypeError(f"not a regular expression: {r!r}")

    # ------------------------------------------------------------ expressions
    def expr(self, e: A.Expr, min_level: int = _LOW) -> Doc:
        d, level = self._expr(e)
        if level < min_level:
            return self._paren(d)
        return d

    def _paren(self, d: Doc) -> Doc:
        return group("(", nest(SOFT, d), SOFT, ")")

    def _expr(self, e: A.Expr) -> tuple[Doc, int]:
        if isinstance(e, A.IntLit):
            return str(e.value), (_ATOM if e.value >= 0 else _UNARY)
        if isinstance(e, A.DecLit):
            return _decimal(e.value), (_UNARY if e.value.is_signed() else _ATOM)
        if isinstance(e, A.TextLit):
            return self.text(e), _ATOM
        if isinstance(e, A.BoolLit):
            return ("true" if e.value else "false"), _ATOM
        if isinstance(e, A.NoneLit):
            return "none", _ATOM
        if isinstance(e, A.Name):
            return "::".join(e.segments), _ATOM
        if isinstance(e, A.Let):
            return self.let(e), _LOW
        if isinstance(e, A.If):
            return self.if_(e), _LOW
        if isinstance(e, A.Lambda):
            return cat("|", ", ".join(e.params), "| ", self.expr(e.body)), _LOW
        if isinstance(e, A.Binary):
            return self.binary(e)
        if isinstance(e, A.Unary):
            if e.op == "not":
                return cat("not ", self.expr(e.operand, _NOT)), _NOT
            if isinstance(e.operand, (A.IntLit, A.DecLit)):
                # `-3` is the literal -3; a negation of a literal keeps its parentheses
                return cat("-", self._paren(self.expr(e.operand))), _UNARY
            return cat("-", self.expr(e.operand, _UNARY)), _UNARY
        if isinstance(e, A.Field):
            return cat(self.expr(e.obj, _POSTFIX), ".", e.name), _POSTFIX
        if isinstance(e, A.Index):
            return cat(self.expr(e.obj, _POSTFIX), group("[", nest(SOFT, self.expr(e.index)), SOFT, "]")), _POSTFIX
        if isinstance(e, A.Call):
            args = [(None, self.expr(a)) for a in e.args]
            return cat(self.expr(e.func, _POSTFIX), self._block("(", args, ")", pad=False)), _POSTFIX
        if isinstance(e, A.ListLit):
            return self._block("[", [(None, self.expr(i)) for i in e.items], "]", pad=False), _ATOM
        if isinstance(e, A.ListComp):
            return self.list_comp(e), _ATOM
        if isinstance(e, A.MapLit):
            entries = [(None, cat(self.expr(k), ": ", self.expr(v))) for k, v in e.entries]
            return self._block("{", entries, "}", empty="{:}"), _ATOM
        if isinstance(e, A.RecordLit):
            fields = [(None, cat(f"{f.name} = ", self.expr(f.value))) for f in e.fields]
            return cat(self.type(e.type), " ", self._block("{", fields, "}")), _ATOM
        if isinstance(e, A.Match):
            return self.match(e), _ATOM
        raise TypeError(f"not an expression: {e!r}")

    def text(self, t: A.TextLit) -> Doc:
        out = ['"']
        for part in t.parts:
            if isinstance(part, str):
                out.append(_q(part)[1:-1])
            else:
                out.append("${" + render_flat(self.expr(part)) + "}")
        out.append('"')
        return "".join(out)

    def let(self, e: A.Let) -> Doc:
        parts: list[Doc] = []
        cur: A.Expr = e
        while isinstance(cur, A.Let):
            ann: list[Doc] = [": ", self.type(cur.annotation)] if cur.annotation is not None else []
            value = self.expr(cur.value)
            if isinstance(cur.value, A.Let):
                value = group("(", nest(SOFT, value), SOFT, ")", force=True)
            parts.extend(self._lead_docs(cur))
            parts.extend([f"let {cur.name}", *ann, " = ", value, ";", *self._trail_doc(cur), HARD])
            cur = cur.body
        parts.extend(self._lead_docs(cur))
        parts.append(self.expr(cur))
        if self.c.lead(e):
            # comments before the chain need it to start on a line of its own
            return cat(_Nest(INDENT, FRESH), _Align(_Cat(parts)))
        return _Align(_Cat(parts))

    def if_(self, e: A.If) -> Doc:
        parts: list[Doc] = []
        cur: A.Expr = e
        while isinstance(cur, A.If):
            parts.extend([group("if ", self.expr(cur.cond), LINE, "then"), nest(LINE, self.expr(cur.then)), LINE, "else"])
            if isinstance(cur.else_, A.If):
                parts.append(" ")
                cur = cur.else_
                continue
            parts.append(nest(LINE, self.expr(cur.else_)))
            break
        return group(*parts)

    def binary(self, e: A.Binary) -> tuple[Doc, int]:
        level, lmin, rmin = _BINARY[e.op]
        rest: list[Doc] = []
        if level in _LEFT_ASSOC:
            operands: list[tuple[str, A.Expr]] = []
            cur: A.Expr = e
            while isinstance(cur, A.Binary) and _BINARY[cur.op][0] == level:
                operands.append((cur.op, cur.right))
                cur = cur.left
            first = self.expr(cur, lmin)
            for op, right in reversed(operands):
                rest.extend([LINE, op, " ", self.expr(right, rmin)])
        elif level == _COALESCE:
            lefts: list[A.Expr] = []
            cur = e
            while isinstance(cur, A.Binary) and cur.op == "??":
                lefts.append(cur.left)
                cur = cur.right
            first = self.expr(lefts[0], lmin)
            for left in lefts[1:]:
                rest.extend([LINE, "?? ", self.expr(left, lmin)])
            rest.extend([LINE, "?? ", self.expr(cur, rmin)])
        else:
            first = self.expr(e.left, lmin)
            rest = [LINE, e.op, " ", self.expr(e.right, rmin)]
        return group(first, nest(*rest)), level

    def list_comp(self, e: A.ListComp) -> Doc:
        if isinstance(e.source, A.RangeSource):
            src: Doc = cat(self.expr(e.source.lo), "..", self.expr(e.source.hi))
        else:
            src = self.expr(e.source)
        inner: list[Doc] = [SOFT, self.expr(e.elem), LINE, f"for {e.var} in ", src]
        if e.cond is not None:
            inner.extend([LINE, "if ", self.expr(e.cond)])
        return group("[", nest(*inner), SOFT, "]")

    def match(self, m: A.Match) -> Doc:
        parts: list[Doc] = []
        for i, arm in enumerate(m.arms):
            parts.extend([HARD, _pattern(arm.pattern), " => ", self.expr(arm.body)])
            parts.append("," if i < len(m.arms) - 1 else COMMA_IF_BROKEN)
        return group("match ", self.expr(m.scrutinee), " {", nest(*parts), HARD, "}")


def _repeat(lo: int, hi: int | None) -> str:
    if (lo, hi) == (0, 1):
        return "?"
    if (lo, hi) == (0, None):
        return "*"
    if (lo, hi) == (1, None):
        return "+"
    if hi is None:
        return f"{{{lo},}}"
    if lo == hi:
        return f"{{{lo}}}"
    return f"{{{lo},{hi}}}"


def _class_char(code: int) -> str:
    ch = chr(code)
    return _CLASS_ESCAPES.get(ch, ch)


def _char_class(r: A.RClass) -> str:
    out = ["[^" if r.negated else "["]
    for lo, hi in r.ranges:
        out.append(_class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}")
    out.append("]")
    return "".join(out)


def _pattern(p: A.Pattern) -> str:
    if isinstance(p, A.PWild):
        return "_"
    if isinstance(p, A.PInt):
        return str(p.value)
    if isinstance(p, A.PText):
        return _q(p.value)
    if isinstance(p, A.PBool):
        return "true" if p.value else "false"
    if isinstance(p, A.PNone):
        return "none"
    if isinstance(p, A.PSome):
        return f"some({p.binder})"
    if isinstance(p, A.PName):
        return f"{p.enum}::{p.name}" if p.enum is not None else p.name
    raise TypeError(f"not a pattern: {p!r}")


# ====================================================================== entry points


def format_module(module: A.Module, comments: Sequence[Comment] = ()) -> str:
    """The canonical text of ``module``; ``comments`` (from :func:`collect_comments` on the
    module's source) are re-attached as described in the module docstring."""
    return _Formatter(_Attached(module, comments)).module(module)


def format_expr(expr: A.Expr) -> str:
    """The canonical text of one expression, on one line."""
    return render_flat(_Formatter(_Attached(A.Module(()), ())).expr(expr))


def format_source(text: str | bytes, path: str = "<input>") -> tuple[str | None, list[Diagnostic]]:
    """Parse and format a source; on a syntax error return None and the diagnostics."""
    module, diagnostics = parse_source(text, path)
    if module is None:
        return None, diagnostics
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        return format_module(module, collect_comments(text)), diagnostics
    except RecursionError:  # pragma: no cover - the parser's depth limit keeps ASTs shallow enough
        return None, [Diagnostic("DDL105", "nesting too deep to format", module.span)]
