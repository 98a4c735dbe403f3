"""What an editor asks of one DDL document, answered from the facade's parse and type check.

An :class:`Analysis` is one version of a document: its AST (when it parses), its checked module (when it
type-checks), the diagnostics of both, and an index of every declaration with the span of its name.
Scopes are the language's (spec/types.md): a family sees the module's declarations and its own; a
function its parameters; an expression the ``let``s, lambda parameters, comprehension variables and
``some(x)`` binders around it.  Everything here speaks DDL (spans, code-point offsets, markdown text);
:mod:`ddl.lsp.server` turns it into LSP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from ddl.api import ModuleLoader, compile_source, stdlib_modules
from ddl.builtins import BUILTINS
from ddl.diagnostics import Diagnostic, Span
from ddl.stdlib_reference import doc_above
from ddl.syntax import ast as A
from ddl.syntax import parse_source
from ddl.tree import children
from ddl.types.checked import CheckedModule
from ddl.types.query import type_at

# The reserved words (spec/syntax.md 1.3); tests/test_lsp.py keeps this equal to the parser's RESERVED.
KEYWORDS = (
    "allow", "and", "as", "else", "ensures", "enum", "example", "except", "false", "family", "fn", "for",
    "grammar", "if", "import", "in", "let", "match", "none", "not", "or", "param", "priority", "program",
    "rule", "table", "teach", "then", "true", "type", "where",
)
TYPE_KEYWORDS = ("Bool", "Decimal", "Int", "List", "Map", "Option", "Text")
GRAMMAR_OPTIONS = ("ignore_case", "normalize_space")

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH_RE = re.compile(rf"{_IDENT}(?:::{_IDENT})*")


@attrs.frozen
class Decl:
    """A declared name: what it is (``kind``), where it is written (``name_span``, a span into ``path``),
    the whole declaration (``span``) and, for a family's or enum's members, their ``parent``'s name."""

    name: str
    kind: str  # family fn param enum variant record field alias table rule import let lambda for some
    span: Span
    name_span: Span
    node: Any = attrs.field(eq=False, repr=False)
    parent: str | None = None
    detail: str = ""


def _span_at(base: Span, text: str, start: int, end: int) -> Span:
    """The span of ``text[start:end]`` (code-point offsets in the same file as ``base``)."""
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    end_line = line + text.count("\n", start, end)
    end_col = end - (text.rfind("\n", 0, end) + 1) + 1
    return Span(base.path, start, end, line, col, end_line, end_col)


def find_name(text: str, span: Span, name: str, after: str = "") -> Span:
    """The span of ``name`` as a whole word inside ``span`` (after the regex ``after``, if given);
    ``span`` itself when it is not written there (a declaration a checker made up)."""
    pattern = re.compile(rf"{after}\b({re.escape(name)})\b")
    m = pattern.search(text, span.start, max(span.end, span.start))
    if m is None:
        return span
    return _span_at(span, text, m.start(1), m.end(1))


def _contains(span: Span, offset: int) -> bool:
    return span.start <= offset <= span.end


def _type_text(text: str, t: Any) -> str:
    span = getattr(t, "span", None)
    if isinstance(span, Span) and span.end > span.start:
        return re.sub(r"\s+", " ", text[span.start:span.end])
    return "?"


class Declarations:
    """Every declaration of one parsed module, by scope: the module's, each family's."""

    def __init__(self, module: A.Module, text: str) -> None:
        self.module = module
        self.text = text
        self.top: list[Decl] = list(self._items(module.items, None))
        self.families: dict[str, tuple[A.FamilyDecl, list[Decl]]] = {}
        for fam in module.families:
            own = list(self._items(fam.items, fam.name))
            self.families.setdefault(fam.name, (fam, own))

    # -- building
    def _items(self, items: Iterable[Any], family: str | None) -> Iterator[Decl]:
        text = self.text
        for item in items:
            if isinstance(item, A.Import):
                after = r"\bas\s+" if item.alias else r"\bimport\s+"
                name_span = find_name(text, item.span, item.local_name, after) if item.alias or not item.is_file \
                    else item.span
                yield Decl(item.local_name, "import", item.span, name_span, item, family,
                           f'import "{item.target}"' if item.is_file else f"import {item.target}")
            elif isinstance(item, A.FamilyDecl):
                yield Decl(item.name, "family", item.span, item.name_span, item, None, item.doc or "")
            elif isinstance(item, A.FnDecl):
                yield Decl(item.name, "fn", item.span, find_name(text, item.span, item.name, r"\bfn\s+"), item, family,
                           self.signature(item))
            elif isinstance(item, A.TableDecl):
                yield Decl(item.name, "table", item.span, find_name(text, item.span, item.name, r"\btable\s+"), item,
                           family, f"table {item.name} : {_type_text(text, item.key_type)} -> "
                                   f"{_type_text(text, item.value_type)}")
            elif isinstance(item, A.EnumDecl):
                yield Decl(item.name, "enum", item.span, find_name(text, item.span, item.name, r"\benum\s+"), item,
                           family, f"enum {item.name} {{ {', '.join(v.name for v in item.variants)} }}")
                for v in item.variants:
                    shown = v.display if v.display is not None else v.name.replace("_", " ")
                    yield Decl(v.name, "variant", v.span, find_name(text, v.span, v.name), v, item.name,
                               f"{item.name}::{v.name} (shown as \"{shown}\")")
            elif isinstance(item, A.RecordDecl):
                yield Decl(item.name, "record", item.span, find_name(text, item.span, item.name, r"\btype\s+"), item,
                           family, re.sub(r"\s+", " ", text[item.span.start:item.span.end]))
                for f in item.fields:
                    yield Decl(f.name, "field", f.span, find_name(text, f.span, f.name), f, item.name,
                               f"{item.name}.{f.name}: {_type_text(text, f.type)}")
            elif isinstance(item, A.TypeAlias):
                yield Decl(item.name, "alias", item.span, find_name(text, item.span, item.name, r"\btype\s+"), item,
                           family, f"type {item.name} = {_type_text(text, item.type)}")
            elif isinstance(item, A.RuleDef):
                head = f"rule {item.name}({', '.join(item.params)})" if item.params else f"rule {item.name}"
                yield Decl(item.name, "rule", item.span, find_name(text, item.span, item.name, r"\brule\s+"), item,
                           family, head)
            elif isinstance(item, A.ParamDecl):
                yield Decl(item.name, "param", item.span, find_name(text, item.span, item.name, r"\bparam\s+"), item,
                           family, f"param {item.name} : {_type_text(text, item.type)}")
            elif isinstance(item, A.GrammarDecl):
                yield from self._items(item.rules, family)

    def signature(self, fn: A.FnDecl) -> str:
        params = ", ".join(f"{p.name}: {_type_text(self.text, p.type)}" for p in fn.params)
        return f"fn {fn.name}({params}) -> {_type_text(self.text, fn.ret)}"

    # -- queries
    def family_at(self, offset: int) -> A.FamilyDecl | None:
        return next((f for f, _ in self.families.values() if _contains(f.span, offset)), None)

    def visible(self, offset: int) -> dict[str, Decl]:
        """Every name in scope at ``offset``, the innermost declaration of each (spec/types.md)."""
        scope: dict[str, Decl] = {}
        # A variant is found by its bare name unless a declaration of the same name hides it.
        for d in sorted(self.top, key=lambda d: d.kind != "variant"):
            if d.kind not in ("field", "family"):
                scope[d.name] = d
        family = self.family_at(offset)
        container: list[Any] = list(self.module.items)
        if family is not None:
            for d in self.families[family.name][1]:
                if d.kind != "field":
                    scope[d.name] = d
            container = list(family.items)
        for item in container:
            if isinstance(item, A.FnDecl) and _contains(item.span, offset):
                for p in item.params:
                    scope[p.name] = Decl(p.name, "param", p.span, find_name(self.text, p.span, p.name), p,
                                         item.name, f"{p.name}: {_type_text(self.text, p.type)}")
            if isinstance(item, A.GrammarDecl) and _contains(item.span, offset):
                for rule in item.rules:
                    if rule.params and _contains(rule.span, offset):
                        for name in rule.params:
                            scope[name] = Decl(name, "rule parameter", rule.span,
                                               find_name(self.text, rule.span, name, rf"\b{rule.name}\s*\(.*?"),
                                               rule, rule.name, f"a parameter of rule {rule.name}")
            if isinstance(item, A.RuleDef) and item.params and _contains(item.span, offset):
                for name in item.params:
                    scope[name] = Decl(name, "rule parameter", item.span,
                                       find_name(self.text, item.span, name, rf"\b{item.name}\s*\(.*?"), item,
                                       item.name, f"a parameter of rule {item.name}")
            if _contains(item.span, offset):
                for binder in self._binders(item, offset):
                    scope[binder.name] = binder
        return scope

    def _binders(self, root: Any, offset: int) -> Iterator[Decl]:
        """The expression binders in scope at ``offset`` inside ``root``, outermost first."""
        text = self.text
        node = root
        while node is not None:
            if isinstance(node, A.Let) and offset >= node.body.span.start:
                yield Decl(node.name, "let", node.span, node.name_span, node, None, f"let {node.name}")
            elif isinstance(node, A.Lambda) and _contains(node.body.span, offset):
                for name in node.params:
                    yield Decl(name, "lambda", node.span, find_name(text, node.span, name), node, None,
                               f"lambda parameter {name}")
            elif isinstance(node, A.ListComp) and not _contains(node.source.span, offset):
                yield Decl(node.var, "for", node.span, find_name(text, node.span, node.var, r"\bfor\s+"), node, None,
                           f"for {node.var} in ...")
            elif (isinstance(node, A.MatchArm) and isinstance(node.pattern, A.PSome)
                  and _contains(node.body.span, offset)):
                name = node.pattern.binder
                yield Decl(name, "some", node.pattern.span, find_name(text, node.pattern.span, name), node, None,
                           f"some({name})")
            node = next((c for c in children(node) if isinstance(getattr(c, "span", None), Span)
                         and c.span.path == root.span.path and _contains(c.span, offset)), None)

    def params_of(self, family: str) -> list[Decl]:
        return [d for d in self.families.get(family, (None, []))[1] if d.kind == "param"]

    def enums_visible(self, offset: int) -> dict[str, Decl]:
        return {n: d for n, d in self.visible(offset).items() if d.kind == "enum"}

    def members(self, owner: str, kind: str, offset: int) -> list[Decl]:
        """The variants (``kind`` variant) or fields (``field``) of the enum or record ``owner`` seen from
        ``offset``: the family's own declaration of that name, else the module's."""
        family = self.family_at(offset)
        if family is not None and any(d.name == owner and d.parent == family.name
                                      for d in self.families[family.name][1] if d.kind in ("enum", "record")):
            return [d for d in self.families[family.name][1] if d.kind == kind and d.parent == owner]
        return [d for d in self.top if d.kind == kind and d.parent == owner]

    def fields_named(self, name: str, offset: int) -> list[Decl]:
        family = self.family_at(offset)
        pool = list(self.top) + (list(self.families[family.name][1]) if family is not None else [])
        return [d for d in pool if d.kind == "field" and d.name == name]

    def all(self) -> Iterator[Decl]:
        yield from self.top
        for _, own in self.families.values():
            yield from own


@attrs.frozen
class Word:
    """The name path under the cursor: ``segments`` (``date::add_days`` is two), the one the cursor is
    on (``index``), the span of each segment, and whether a ``.`` comes right before (a field)."""

    segments: tuple[str, ...]
    index: int
    starts: tuple[int, ...]
    after_dot: bool
    call: bool  # a ``(`` follows

    @property
    def name(self) -> str:
        return self.segments[self.index]


def word_at(text: str, offset: int) -> Word | None:
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    for m in PATH_RE.finditer(text, line_start, line_end):
        if m.start() <= offset <= m.end():
            segments = tuple(m.group().split("::"))
            starts: list[int] = []
            pos = m.start()
            for seg in segments:
                starts.append(pos)
                pos += len(seg) + 2
            index = max(i for i, s in enumerate(starts) if s <= offset)
            before = text[line_start:m.start()].rstrip()
            after = text[m.end():line_end].lstrip()
            field = before.endswith(".") and not before.endswith("..")  # `..` is a range, not a field
            return Word(segments, index, tuple(starts), field, after.startswith("("))
    return None


def counterexample_bindings(evidence: str, params: Iterable[str]) -> list[tuple[str, str]]:
    """The parameter values of the θ in a refuted obligation's evidence (``with { room = double,
    nights = 1 }: division by zero``), as written, for the parameters named ``params``; [] when the
    evidence names no θ.  The values are cut at the next ``, p = `` of a known parameter, so a text
    value with commas in it stays whole."""
    start = evidence.find("with { ")
    if start < 0:
        return []
    body = evidence[start + len("with { "):]
    names = "|".join(re.escape(p) for p in params)
    if not names:
        return []
    marks = list(re.finditer(rf"(?:^|, )({names}) = ", body))
    out: list[tuple[str, str]] = []
    for i, m in enumerate(marks):
        if i == 0 and m.start() != 0:
            return []
        end = marks[i + 1].start() if i + 1 < len(marks) else body.find(" }")
        if end < 0:
            return []
        out.append((m.group(1), body[m.end():end]))
    return out


def in_comment(text: str, offset: int) -> bool:
    """Whether ``offset`` lies in a ``#`` comment (a ``#`` outside a text literal, up to the line's end)."""
    quoted = False
    i = text.rfind("\n", 0, offset) + 1
    while i < offset:
        ch = text[i]
        if quoted and ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "#" and not quoted:
            return True
        i += 1
    return False


@attrs.frozen
class Hover:
    markdown: str
    span: Span | None = None


@attrs.frozen
class Completion:
    label: str
    kind: str  # keyword type builtin module + Decl kinds
    detail: str = ""
    doc: str = ""


class ImportedModules:
    """The modules a document imports, parsed once per text: where each is and what it declares."""

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[str, Declarations | None]] = {}

    def declarations(self, path: Path) -> Declarations | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        key = str(path)
        cached = self._parsed.get(key)
        if cached is not None and cached[0] == text:
            return cached[1]
        module, _ = parse_source(text, key)
        decls = Declarations(module, text) if module is not None else None
        self._parsed[key] = (text, decls)
        return decls


class Analysis:
    """One version of one document: parsed, type-checked (never raises), and indexed."""

    def __init__(self, text: str, path: str, imported: ImportedModules | None = None,
                 previous: Analysis | None = None) -> None:
        self.text = text
        self.path = path
        self.imported = imported or ImportedModules()
        self.loader = ModuleLoader()
        # Partial: with a type error somewhere, the declarations that checked still have their types.
        self.checked: CheckedModule | None
        self.checked, diags = compile_source(text, path, self.loader, partial=True)
        self.module: A.Module | None = self.checked.module if self.checked is not None else None
        if self.module is None:
            self.module, _ = parse_source(text, path)
        # Only this document's diagnostics: an imported file's errors come with a DDL217 at the import.
        self.diagnostics: list[Diagnostic] = [d for d in diags if d.span.path == path]
        self.decls = Declarations(self.module, text) if self.module is not None else None
        # Names for completion while the text does not parse: the last version that did.
        if self.decls is None and previous is not None:
            self.stale: Declarations | None = previous.decls or previous.stale
        else:
            self.stale = None

    @property
    def index(self) -> Declarations | None:
        return self.decls or self.stale

    # -- imports
    def import_path(self, alias: str) -> Path | None:
        decls = self.index
        for d in decls.top if decls is not None else ():
            if d.kind == "import" and d.name == alias:
                return self.loader.resolve(d.node, self.path)
        return None

    def imported_decls(self, alias: str) -> Declarations | None:
        path = self.import_path(alias)
        return self.imported.declarations(path) if path is not None else None

    # -- definition
    def definition(self, offset: int) -> Decl | None:
        """The declaration the name at ``offset`` refers to (in this file or an imported one)."""
        decls = self.decls
        word = word_at(self.text, offset)
        if decls is None or word is None or in_comment(self.text, offset):
            return None
        segs, i = word.segments, word.index
        if len(segs) == 1:
            found = None if word.after_dot else decls.visible(offset).get(segs[0])
            if found is None:  # `r.name`, or `name = ...` in a record literal: a field of that name
                fields = decls.fields_named(segs[0], offset)
                found = fields[0] if fields else None
            return found
        if len(segs) == 2:
            head, name = segs
            if head[:1].isupper():  # Enum::variant
                if i == 0:
                    return decls.enums_visible(offset).get(head)
                return next((v for v in decls.members(head, "variant", offset) if v.name == name), None)
            if i == 0:
                return decls.visible(offset).get(head)
            other = self.imported_decls(head)
            return next((d for d in other.top if d.name == name and d.kind not in ("field", "variant", "import")),
                        None) if other is not None else None
        if len(segs) == 3:  # mod::Enum::variant
            if i == 0:
                return decls.visible(offset).get(segs[0])
            other = self.imported_decls(segs[0])
            if other is None:
                return None
            if i == 1:
                return next((d for d in other.top if d.name == segs[1] and d.kind == "enum"), None)
            return next((d for d in other.top if d.kind == "variant" and d.parent == segs[1] and d.name == segs[2]),
                        None)
        return None

    # -- hover
    def hover(self, offset: int) -> Hover | None:
        word = word_at(self.text, offset)
        if word is None and (offset >= len(self.text) or self.text[offset].isspace()) or in_comment(self.text, offset):
            return None  # between tokens or in a comment: nothing is under the cursor
        decl = self.definition(offset)
        parts: list[str] = []
        span: Span | None = None
        if word is not None:
            start = word.starts[word.index]
            span = _span_at(Span.point(self.path), self.text, start, start + len(word.name))
        builtin = (word is not None and len(word.segments) == 1 and word.call and word.name in BUILTINS
                   and (decl is None or decl.kind != "fn"))
        if builtin and word is not None:
            b = BUILTINS[word.name]
            note = " *(partial: each call is a `safe` obligation)*" if b.partial else ""
            parts.append(f"```ddl\n{b.signature}\n```\n{b.doc}{note}\n\n*built-in function ({b.category})*")
        elif decl is not None and decl.kind not in ("let", "lambda", "for", "some"):
            source = decl.name_span.path
            text = self.text if source == self.path else _read(source)
            doc = doc_above(text.split("\n"), decl.span.line) if decl.kind not in ("variant", "field") else ""
            if decl.kind == "family" and decl.detail:
                doc = decl.detail
            where = "" if source == self.path else f"\n\n*from {Path(source).name}*"
            parts.append(f"```ddl\n{self._described(decl)}\n```" + (f"\n{doc}" if doc else "") + where)
        typed = type_at(self.checked, self.path, offset) if self.checked is not None else None
        if typed is not None and not builtin and (decl is None or decl.kind in ("let", "lambda", "for", "some")):
            if typed.name is not None:
                parts.append(f"```ddl\nlet {typed.name}: {typed.type}\n```")
            else:
                written = self.text[typed.span.start:typed.span.end]
                shown = written if word is not None and written == word.name else "(expression)"
                parts.append(f"```ddl\n{shown}: {typed.type}\n```")
        elif typed is not None and builtin:
            parts.append(f"this call: `{typed.type}`")
        if not parts:
            return None
        return Hover("\n\n".join(parts), span)

    def _written(self, node: Any) -> str:
        """An expression as the source writes it, on one line."""
        return " ".join(self.text[node.span.start:node.span.end].split())

    def _described(self, decl: Decl) -> str:
        if decl.kind == "param" and self.checked is not None and decl.parent in self.checked.families:
            p = self.checked.families[decl.parent].param(decl.name)
            if p is not None:
                # The type resolved, then the default and the `where` as written (`= 5`, `where n != 3`).
                node = decl.node
                extras = [f"= {self._written(node.default)}" if getattr(node, "default", None) is not None else "",
                          f"where {self._written(node.where)}" if getattr(node, "where", None) is not None else ""]
                return " ".join([f"param {p.name} : {p.type}", *(e for e in extras if e)])
        if decl.kind == "family":
            return f"family {decl.name}"
        return decl.detail or decl.name

    # -- completion
    def completions(self, offset: int) -> list[Completion]:
        if in_comment(self.text, offset):
            return []
        decls = self.index
        line_start = self.text.rfind("\n", 0, offset) + 1
        before = self.text[line_start:offset]
        if re.search(r"^\s*import\s+\w*$", before):
            return [Completion(m, "module", f"import {m}") for m in stdlib_modules()]
        qualified = re.search(rf"({_IDENT}(?:::{_IDENT})*)::(?:{_IDENT})?$|({_IDENT}(?:::{_IDENT})*)::$", before)
        if qualified:
            head = (qualified.group(1) or qualified.group(2)).split("::")
            return self._qualified(head, offset, decls)
        # A field after `.`; not `..` (a range) nor a decimal being typed (`0.`).
        if re.search(rf"(?<!\.)\.(?:{_IDENT})?$", before) and not re.search(r"(?<![\w.])[0-9]+\.[0-9]*$", before):
            return [Completion(d.name, "field", d.detail) for d in (decls.all() if decls is not None else ())
                    if d.kind == "field"]
        out: list[Completion] = []
        if decls is not None:
            for name, d in sorted(decls.visible(offset).items()):
                out.append(Completion(name, d.kind, d.detail))
        out.extend(Completion(b.name, "builtin", b.signature, b.doc) for b in BUILTINS.values())
        out.extend(Completion(k, "keyword") for k in KEYWORDS)
        out.extend(Completion(t, "type") for t in TYPE_KEYWORDS)
        if re.search(r"\bgrammar\s+[\w ]*$", before):
            out.extend(Completion(o, "keyword", "grammar option") for o in GRAMMAR_OPTIONS)
        first: dict[str, Completion] = {}  # a name in scope hides a built-in or keyword of the same name
        for c in out:
            first.setdefault(c.label, c)
        return list(first.values())

    def _qualified(self, head: list[str], offset: int, decls: Declarations | None) -> list[Completion]:
        """After ``Enum::``, ``mod::`` or ``mod::Enum::``."""
        if len(head) == 1 and head[0][:1].isupper():
            if decls is None:
                return []
            return [Completion(v.name, "variant", v.detail) for v in decls.members(head[0], "variant", offset)]
        other = self.imported_decls(head[0])
        if other is None:
            return []
        if len(head) == 1:
            return [Completion(d.name, d.kind, d.detail, doc_above(other.text.split("\n"), d.span.line))
                    for d in other.top if d.kind in ("fn", "table", "enum", "record", "alias", "rule")]
        if len(head) == 2:
            return [Completion(v.name, "variant", v.detail) for v in other.top
                    if v.kind == "variant" and v.parent == head[1]]
        return []

    # -- symbols
    def symbols(self) -> list[tuple[Decl, list[Decl]]]:
        """The outline: each top-level declaration with its members (a family's items, an enum's variants,
        a record's fields)."""
        decls = self.index
        if decls is None:
            return []
        out: list[tuple[Decl, list[Decl]]] = []
        for d in decls.top:
            if d.kind in ("variant", "field"):
                continue
            if d.kind == "family":
                members = [m for m in decls.families.get(d.name, (None, []))[1]
                           if m.kind not in ("variant", "field")]
                out.append((d, members))
            elif d.kind in ("enum", "record"):
                kind = "variant" if d.kind == "enum" else "field"
                out.append((d, [m for m in decls.top if m.kind == kind and m.parent == d.name]))
            elif d.kind == "fn":
                assert isinstance(d.node, A.FnDecl)
                out.append((d, [Decl(p.name, "param", p.span, find_name(decls.text, p.span, p.name), p, d.name,
                                     f"{p.name}: {_type_text(decls.text, p.type)}") for p in d.node.params]))
            else:
                out.append((d, []))
        return out

    def members_of(self, parent: Decl) -> list[Decl]:
        """A family member's own members (an enum's variants, a record's fields), for the outline."""
        decls = self.index
        if decls is None or parent.kind not in ("enum", "record"):
            return []
        kind = "variant" if parent.kind == "enum" else "field"
        family = decls.families.get(parent.parent or "")
        pool = family[1] if family is not None else decls.top
        return [m for m in pool if m.kind == kind and m.parent == parent.name]


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
