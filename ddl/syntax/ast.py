"""The immutable surface AST of DDL.

Every node is an attrs frozen class.  Spans are excluded from equality so that
``parse(fmt(src)) == parse(src)`` compares structure only.  Sequences are tuples.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Union

import attrs

from ddl.diagnostics import Span

NOSPAN = Span("<none>", 0, 0, 1, 1, 1, 1)


def _span() -> Span:
    return attrs.field(default=NOSPAN, eq=False, repr=False, kw_only=True)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ regular expressions


@attrs.frozen
class RLit:
    text: str
    span: Span = _span()


@attrs.frozen
class RClass:
    """A character class: inclusive code-point ranges, optionally negated."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool = False
    span: Span = _span()


@attrs.frozen
class RAny:
    span: Span = _span()


@attrs.frozen
class RRef:
    """A parameter capture or a reference to a named rule (resolved later); ``mod::name`` for an imported rule."""

    name: str
    span: Span = _span()
    module: str | None = None


@attrs.frozen
class RSeq:
    items: tuple[Regex, ...]
    span: Span = _span()


@attrs.frozen
class RAlt:
    items: tuple[Regex, ...]
    span: Span = _span()


@attrs.frozen
class RAnd:
    items: tuple[Regex, ...]
    span: Span = _span()


@attrs.frozen
class RNot:
    item: Regex
    span: Span = _span()


@attrs.frozen
class RRepeat:
    """``item{lo,hi}``; hi None is unbounded. ``?``, ``*``, ``+`` are repeats too."""

    item: Regex
    lo: int
    hi: int | None
    span: Span = _span()


@attrs.frozen
class RInt:
    """An integer argument of a grammar call (``padded(minute, 2)``)."""

    value: int
    span: Span = _span()


@attrs.frozen
class RCall:
    """``name(args)``: a rule with parameters, a value form (``number(count)``) or ``any_order(...)``."""

    name: str
    args: tuple[Regex | RInt, ...]
    named: tuple[tuple[str, Regex], ...] = ()
    span: Span = _span()
    module: str | None = None


@attrs.frozen
class RSet:
    """``{x = value, ...}``: on this path the parameters take these constant values."""

    bindings: tuple[Binding, ...]
    span: Span = _span()


# Nodes of an *expanded* grammar (ddl.types resolves rules, calls and captures into these; the
# parser never builds them).


@attrs.frozen
class RCapture:
    """Parameter ``param`` captured in one of its value forms (spec/grammar.md, "Value forms"),
    its texts restricted to ``restrict`` when written ``x & R``."""

    param: str
    form: str = "plain"
    args: tuple[int, ...] = ()
    span: Span = _span()
    restrict: Regex | None = None


@attrs.frozen
class RValue:
    """``{param = value}`` after checking: ``value`` is the typed constant (an IR node); ``index`` numbers
    the family's constant settings, so each has a capture name of its own."""

    param: str
    value: Any = attrs.field(eq=False, hash=False)
    index: int = 0
    text: str = ""  # the value as written, for messages
    span: Span = _span()


@attrs.frozen
class RAnyOrder:
    """``any_order(...)``: the items in any order, each at most once (optional ones may be left out)."""

    items: tuple[Regex, ...]
    required: tuple[bool, ...]
    sep: Regex
    span: Span = _span()


@attrs.frozen
class RNamed:
    """An expanded rule (or construct) keeping its name, for messages about what grew."""

    label: str
    item: Regex
    span: Span = _span()


Regex = Union[RLit, RClass, RAny, RRef, RSeq, RAlt, RAnd, RNot, RRepeat, RCall, RSet, RCapture, RValue, RAnyOrder,
              RNamed]

# ------------------------------------------------------------------ type expressions


@attrs.frozen
class IntType:
    lo: int | None = None
    hi: int | None = None
    span: Span = _span()


@attrs.frozen
class DecimalType:
    scale: int
    lo: Decimal | None = None
    hi: Decimal | None = None
    span: Span = _span()


@attrs.frozen
class TextType:
    max_len: int | None = None
    pattern: Regex | None = None
    span: Span = _span()


@attrs.frozen
class ListType:
    elem: TypeExpr
    max_len: int | None = None
    span: Span = _span()


@attrs.frozen
class MapType:
    key: TypeExpr
    value: TypeExpr
    max_len: int | None = None
    span: Span = _span()


@attrs.frozen
class OptionType:
    inner: TypeExpr
    span: Span = _span()


@attrs.frozen
class NamedType:
    """``Bool``, a record/enum/alias name, optionally ``module::Name``."""

    name: str
    module: str | None = None
    span: Span = _span()


TypeExpr = Union[IntType, DecimalType, TextType, ListType, MapType, OptionType, NamedType]

# ------------------------------------------------------------------ expressions


@attrs.frozen
class IntLit:
    value: int
    span: Span = _span()


@attrs.frozen
class DecLit:
    value: Decimal
    span: Span = _span()


@attrs.frozen
class TextLit:
    """A text literal; ``parts`` mixes literal strings and interpolated expressions."""

    parts: tuple[str | Expr, ...]
    span: Span = _span()

    @property
    def plain(self) -> str | None:
        if all(isinstance(p, str) for p in self.parts):
            return "".join(p for p in self.parts if isinstance(p, str))
        return None


@attrs.frozen
class BoolLit:
    value: bool
    span: Span = _span()


@attrs.frozen
class NoneLit:
    span: Span = _span()


@attrs.frozen
class Name:
    """A value path: ``x``, ``mod::f``, ``Enum::variant``, ``mod::Enum::variant``."""

    segments: tuple[str, ...]
    span: Span = _span()

    @property
    def text(self) -> str:
        return "::".join(self.segments)


@attrs.frozen
class Let:
    name: str
    annotation: TypeExpr | None
    value: Expr
    body: Expr
    span: Span = _span()
    name_span: Span = _span()


@attrs.frozen
class If:
    cond: Expr
    then: Expr
    else_: Expr
    span: Span = _span()


@attrs.frozen
class Lambda:
    params: tuple[str, ...]
    body: Expr
    span: Span = _span()


# Binary operators: + - * / % ++ == != < <= > >= and or ??
@attrs.frozen
class Binary:
    op: str
    left: Expr
    right: Expr
    span: Span = _span()


# Unary operators: not, - (negation)
@attrs.frozen
class Unary:
    op: str
    operand: Expr
    span: Span = _span()


@attrs.frozen
class Field:
    obj: Expr
    name: str
    span: Span = _span()


@attrs.frozen
class Index:
    obj: Expr
    index: Expr
    span: Span = _span()


@attrs.frozen
class Call:
    func: Expr
    args: tuple[Expr, ...]
    span: Span = _span()


@attrs.frozen
class ListLit:
    items: tuple[Expr, ...]
    span: Span = _span()


@attrs.frozen
class RangeSource:
    """``lo..hi`` (inclusive) as the source of a comprehension."""

    lo: Expr
    hi: Expr
    span: Span = _span()


@attrs.frozen
class ListComp:
    elem: Expr
    var: str
    source: Expr | RangeSource
    cond: Expr | None
    span: Span = _span()


@attrs.frozen
class MapLit:
    entries: tuple[tuple[Expr, Expr], ...]
    span: Span = _span()


@attrs.frozen
class FieldInit:
    name: str
    value: Expr
    span: Span = _span()


@attrs.frozen
class RecordLit:
    type: NamedType
    fields: tuple[FieldInit, ...]
    span: Span = _span()


@attrs.frozen
class PWild:
    span: Span = _span()


@attrs.frozen
class PInt:
    value: int
    span: Span = _span()


@attrs.frozen
class PText:
    value: str
    span: Span = _span()


@attrs.frozen
class PBool:
    value: bool
    span: Span = _span()


@attrs.frozen
class PNone:
    span: Span = _span()


@attrs.frozen
class PSome:
    binder: str
    span: Span = _span()


@attrs.frozen
class PName:
    """An enum variant (``fantasy`` or ``Genre::fantasy``)."""

    name: str
    enum: str | None = None
    span: Span = _span()


Pattern = Union[PWild, PInt, PText, PBool, PNone, PSome, PName]


@attrs.frozen
class MatchArm:
    pattern: Pattern
    body: Expr
    span: Span = _span()


@attrs.frozen
class Match:
    scrutinee: Expr
    arms: tuple[MatchArm, ...]
    span: Span = _span()


Expr = Union[
    IntLit, DecLit, TextLit, BoolLit, NoneLit, Name, Let, If, Lambda, Binary, Unary,
    Field, Index, Call, ListLit, ListComp, MapLit, RecordLit, Match,
]

# ------------------------------------------------------------------ declarations


@attrs.frozen
class Import:
    """``import text`` (a stdlib module) or ``import "file.ddl" as name``."""

    target: str
    is_file: bool
    alias: str | None
    span: Span = _span()

    @property
    def local_name(self) -> str:
        if self.alias:
            return self.alias
        if self.is_file:
            base = self.target.replace("\\", "/").rsplit("/", 1)[-1]
            return base[:-4] if base.endswith(".ddl") else base
        return self.target


@attrs.frozen
class Variant:
    name: str
    display: str | None = None
    aliases: tuple[str, ...] = ()
    span: Span = _span()

    @property
    def display_text(self) -> str:
        return self.display if self.display is not None else self.name.replace("_", " ")


@attrs.frozen
class EnumDecl:
    name: str
    variants: tuple[Variant, ...]
    span: Span = _span()


@attrs.frozen
class FieldDecl:
    name: str
    type: TypeExpr
    span: Span = _span()


@attrs.frozen
class RecordDecl:
    name: str
    fields: tuple[FieldDecl, ...]
    span: Span = _span()


@attrs.frozen
class TypeAlias:
    name: str
    type: TypeExpr
    span: Span = _span()


@attrs.frozen
class TableEntry:
    key: Expr
    value: Expr
    span: Span = _span()


@attrs.frozen
class TableDecl:
    name: str
    key_type: TypeExpr
    value_type: TypeExpr
    entries: tuple[TableEntry, ...]
    span: Span = _span()


@attrs.frozen
class FnParam:
    name: str
    type: TypeExpr
    span: Span = _span()


@attrs.frozen
class FnDecl:
    name: str
    params: tuple[FnParam, ...]
    ret: TypeExpr
    body: Expr
    span: Span = _span()


@attrs.frozen
class ParamDecl:
    name: str
    type: TypeExpr
    where: Expr | None = None
    default: Expr | None = None
    span: Span = _span()


@attrs.frozen
class RuleDef:
    """``rule name = regex;`` or ``rule name(a, b) = regex;`` (in a grammar block or at module level)."""

    name: str
    body: Regex
    span: Span = _span()
    params: tuple[str, ...] = ()


@attrs.frozen
class GrammarDecl:
    options: tuple[str, ...]
    rules: tuple[RuleDef, ...]
    body: Regex
    excluded: Regex | None = None  # `except R`: utterances of R are not the family's (no captures in R)
    span: Span = _span()


@attrs.frozen
class ProgramDecl:
    ret: TypeExpr
    body: Expr
    span: Span = _span()


@attrs.frozen
class Binding:
    name: str
    value: Expr
    span: Span = _span()


@attrs.frozen
class ExampleDecl:
    """``example "u" => { θ } => output``, ``example { θ } => output``, or ``example "u" => { θ }``.

    ``expected`` is None only in the last form (an utterance that must parse to θ; nothing is run).
    """

    utterance: str | None
    bindings: tuple[Binding, ...]
    expected: Expr | None
    span: Span = _span()


@attrs.frozen
class EnsuresDecl:
    label: str | None
    expr: Expr
    span: Span = _span()


@attrs.frozen
class TeachDecl:
    bindings: tuple[Binding, ...]
    span: Span = _span()


@attrs.frozen
class PriorityDecl:
    value: int
    span: Span = _span()


@attrs.frozen
class AllowDecl:
    """``allow x in "text" because "reason"``: the teaching value of x may appear inside ``text``."""

    name: str
    text: str
    reason: str
    span: Span = _span()
    name_span: Span = _span()


FamilyItem = Union[
    EnumDecl, RecordDecl, TypeAlias, TableDecl, FnDecl, ParamDecl, GrammarDecl,
    ProgramDecl, ExampleDecl, EnsuresDecl, TeachDecl, PriorityDecl, AllowDecl,
]


@attrs.frozen
class FamilyDecl:
    name: str
    doc: str | None
    items: tuple[FamilyItem, ...]
    span: Span = _span()
    name_span: Span = _span()

    def of_kind(self, kind: type) -> list:  # type: ignore[type-arg]
        return [item for item in self.items if isinstance(item, kind)]


ModuleItem = Union[Import, EnumDecl, RecordDecl, TypeAlias, TableDecl, FnDecl, RuleDef, FamilyDecl]


@attrs.frozen
class Module:
    items: tuple[ModuleItem, ...]
    path: str = attrs.field(default="<input>", eq=False)
    span: Span = _span()

    @property
    def families(self) -> list[FamilyDecl]:
        return [item for item in self.items if isinstance(item, FamilyDecl)]
