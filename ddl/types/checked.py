"""The checker's output: a resolved, typed module ready for evaluation and verification."""

from __future__ import annotations

import attrs

from ddl.diagnostics import Span
from ddl.syntax import ast as A
from ddl.types import ir
from ddl.types.model import EnumT, RecordT, Type


@attrs.frozen
class CheckedParam:
    name: str
    type: Type
    where: ir.Node | None
    default: ir.Node | None
    span: Span
    decl: A.ParamDecl = attrs.field(eq=False, repr=False)


@attrs.frozen
class CheckedExample:
    index: int  # 1-based, in source order
    utterance: str | None
    bindings: tuple[tuple[str, ir.Node], ...]
    expected: ir.Node | None  # None: `example "u" => { θ }` states the utterance's θ only; nothing is run
    span: Span


@attrs.frozen
class CheckedEnsures:
    """A postcondition over the parameters and ``result`` (a Local of the program's type)."""

    label: str | None
    expr: ir.Node
    span: Span


@attrs.frozen
class CheckedGrammar:
    """A family's grammar, expanded (ddl/types/grammar.py): ``body`` and ``excluded`` name only captures
    (``RCapture``) and constant settings (``RValue``); ``decl`` is the block as written."""

    decl: A.GrammarDecl = attrs.field(eq=False, repr=False)
    body: A.Regex
    excluded: A.Regex | None
    options: tuple[str, ...]
    span: Span

    @property
    def ignore_case(self) -> bool:
        return "ignore_case" in self.options

    @property
    def normalize_space(self) -> bool:
        return "normalize_space" in self.options


@attrs.frozen
class CheckedAllow:
    """``allow param in "text" because "reason"``: the teaching value of ``param`` may appear inside ``text``
    in the output (spec/checks.md, "no-leak, precisely"); ``span`` is the declaration."""

    param: str
    text: str
    reason: str
    span: Span


@attrs.frozen
class CheckedFamily:
    name: str
    doc: str | None
    params: tuple[CheckedParam, ...]
    ret: Type
    program: ir.Node
    examples: tuple[CheckedExample, ...]
    ensures: tuple[CheckedEnsures, ...]
    teach: tuple[tuple[str, ir.Node], ...]
    priority: int | None
    grammar: CheckedGrammar | None
    decl: A.FamilyDecl = attrs.field(eq=False, repr=False)
    enums: tuple[EnumT, ...] = ()
    records: tuple[RecordT, ...] = ()
    allows: tuple[CheckedAllow, ...] = ()

    def allowed(self, param: str) -> tuple[CheckedAllow, ...]:
        """The ``allow`` declarations of one parameter, in source order."""
        return tuple(a for a in self.allows if a.param == param)

    @property
    def span(self) -> Span:
        return self.decl.span

    def param(self, name: str) -> CheckedParam | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


@attrs.frozen
class CheckedFn:
    key: str
    name: str
    params: tuple[tuple[str, Type], ...]
    ret: Type
    body: ir.Node
    span: Span


@attrs.frozen
class CheckedTable:
    key: str
    name: str
    key_type: Type
    value_type: Type
    entries: tuple[tuple[ir.Node, ir.Node], ...]
    exhaustive: bool
    span: Span


@attrs.frozen
class CheckedModule:
    path: str
    module: A.Module = attrs.field(eq=False, repr=False)
    families: dict[str, CheckedFamily]
    functions: dict[str, CheckedFn]
    tables: dict[str, CheckedTable]
