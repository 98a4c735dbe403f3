"""Name resolution and type checking: surface AST → typed core IR.

Rules are written down in spec/types.md.  The checker collects diagnostics and
keeps going where it can (one error per construct), so a user sees all the
problems of a file at once.  It never raises for bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, NoReturn

import attrs
from pyrsistent import pmap

from ddl.builtins import BUILTINS
from ddl.diagnostics import Diagnostic, Note, Span, did_you_mean
from ddl.regular import AutomatonTooLarge, RegularError
from ddl.syntax import ast as A
from ddl.tree import nodes
from ddl.types import ir
from ddl.types.builtin_types import type_builtin
from ddl.types.checked import (
    CheckedAllow,
    CheckedEnsures,
    CheckedExample,
    CheckedFamily,
    CheckedFn,
    CheckedGrammar,
    CheckedModule,
    CheckedParam,
    CheckedTable,
)
from ddl.types.grammar import GRAMMAR_FUNCTIONS, GrammarExpander, RuleInfo, captures
from ddl.types.model import (
    BOOL,
    BOTTOM,
    INT,
    BoolT,
    BottomT,
    DecimalT,
    EnumT,
    IntT,
    ListT,
    MapT,
    OptionT,
    RecordT,
    TextT,
    Type,
    add_range,
    base_equal,
    floordiv_range,
    is_subtype,
    join,
    mod_range,
    mul_range,
    neg_range,
    show_width,
    sub_range,
    type_contains,
)
from ddl.types.needles import matches, value_needles
from ddl.types.regex import check_pattern
from ddl.values import NONE, EnumV, Value, quote_text, show_value

MAX_SCALE = 18
GRAMMAR_OPTIONS = ("ignore_case", "normalize_space")


class _Abort(Exception):
    """Unwind the checking of one expression after its error was reported."""


# ---------------------------------------------------------------------------- scopes


@attrs.define
class TableInfo:
    key: str
    decl: A.TableDecl
    key_type: Type
    value_type: Type
    exhaustive: bool


@attrs.define
class FnInfo:
    key: str
    decl: A.FnDecl
    params: tuple[tuple[str, Type], ...]
    ret: Type
    scope: Scope


@attrs.define
class Scope:
    """Declarations visible at module or family level (a family scope has a parent)."""

    origin: str
    parent: Scope | None = None
    enums: dict[str, EnumT] = attrs.Factory(dict)
    enum_decls: dict[str, A.EnumDecl] = attrs.Factory(dict)
    records: dict[str, RecordT] = attrs.Factory(dict)
    record_decls: dict[str, A.RecordDecl] = attrs.Factory(dict)
    aliases: dict[str, A.TypeAlias] = attrs.Factory(dict)
    alias_types: dict[str, Type] = attrs.Factory(dict)
    tables: dict[str, TableInfo] = attrs.Factory(dict)
    fns: dict[str, FnInfo] = attrs.Factory(dict)
    modules: dict[str, Scope] = attrs.Factory(dict)
    decl_spans: dict[str, Span] = attrs.Factory(dict)
    rules: dict[str, RuleInfo] = attrs.Factory(dict)  # grammar rules: module-level, or a family's grammar block

    def chain(self) -> Iterable[Scope]:
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent

    def lookup(self, kind: str, name: str) -> Any:
        for scope in self.chain():
            table = getattr(scope, kind)
            if name in table:
                return table[name]
        return None

    def all_names(self, kind: str) -> list[str]:
        out: list[str] = []
        for scope in self.chain():
            out.extend(getattr(scope, kind))
        return out


@attrs.frozen
class Ctx:
    """Per-expression context: locals, params, and where we are."""

    scope: Scope
    locals: Mapping[str, Type] = attrs.field(factory=lambda: pmap())
    params: Mapping[str, Type] | None = None
    current_fn: str | None = None
    lambda_ok: bool = False

    def with_local(self, name: str, typ: Type) -> Ctx:
        return attrs.evolve(self, locals=pmap(self.locals).set(name, typ), lambda_ok=False)

    def no_lambda(self) -> Ctx:
        return self if not self.lambda_ok else attrs.evolve(self, lambda_ok=False)


Loader = Callable[[A.Import, str], "tuple[LoadedModule | None, list[Diagnostic]]"]


@attrs.define
class LoadedModule:
    """An imported module: its exported scope and its checked functions/tables."""

    scope: Scope
    checked: CheckedModule




# ---------------------------------------------------------------------------- the checker


class Checker:
    def __init__(self, module: A.Module, loader: Loader | None = None):
        self.module = module
        self.path = module.path
        self.loader = loader
        self.diags: list[Diagnostic] = []
        self.functions: dict[str, CheckedFn] = {}
        self.tables: dict[str, CheckedTable] = {}
        self.calls: dict[str, list[tuple[str, Span]]] = {}
        self.fn_infos: dict[str, FnInfo] = {}
        self._alias_stack: list[str] = []
        self.root: Scope | None = None
        self.partial: CheckedModule | None = None  # set by run(), errors or not
        self.partial_families: dict[str, CheckedFamily] = {}  # families whose program checked, but not all else

    # -- reporting
    def error(self, code: str, message: str, span: Span, *, hint: str | None = None,
              notes: tuple[Note, ...] = ()) -> None:
        self.diags.append(Diagnostic(code, message, span, "error", notes, hint))

    def fail(self, code: str, message: str, span: Span, *, hint: str | None = None,
             notes: tuple[Note, ...] = ()) -> NoReturn:
        self.error(code, message, span, hint=hint, notes=notes)
        raise _Abort()

    # -- entry
    def run(self) -> CheckedModule | None:
        root = Scope(origin=self.path)
        self.root = root
        for item in self.module.items:
            if isinstance(item, A.Import):
                self.declare_import(root, item)
        self.declare_rules(root, [i for i in self.module.items if isinstance(i, A.RuleDef)], family=None)
        self.declare_types(root, [i for i in self.module.items if not isinstance(i, (A.Import, A.FamilyDecl))])
        self.declare_values(root, [i for i in self.module.items if isinstance(i, (A.FnDecl, A.TableDecl))])
        families: dict[str, CheckedFamily] = {}
        seen_family: dict[str, Span] = {}
        for fam in self.module.families:
            if fam.name in seen_family:
                self.error("DDL201", f"family '{fam.name}' is declared twice", fam.name_span,
                           notes=(Note("first declared here", seen_family[fam.name]),))
                continue
            seen_family[fam.name] = fam.name_span
            checked = self.check_family(root, fam)
            if checked is not None:
                families[fam.name] = checked
        self.check_fn_bodies()
        self.check_recursion()
        # What checked, also when something did not: an editor shows its types (never run).
        self.partial = CheckedModule(self.path, self.module, {**self.partial_families, **families}, self.functions,
                                     self.tables)
        if any(d.is_error for d in self.diags):
            return None
        return self.partial

    # -- imports
    def declare_import(self, scope: Scope, imp: A.Import) -> None:
        name = imp.local_name
        if name in scope.modules:
            self.error("DDL201", f"module name '{name}' is imported twice", imp.span)
            return
        if self.loader is None:
            self.error("DDL217", f"cannot import '{imp.target}' here", imp.span)
            return
        loaded, diags = self.loader(imp, self.path)
        self.diags.extend(diags)
        if loaded is None:
            if not diags:
                self.error("DDL217", f"unknown module '{imp.target}'", imp.span)
            return
        scope.modules[name] = loaded.scope
        self.functions.update(loaded.checked.functions)
        self.tables.update(loaded.checked.tables)

    # -- declarations
    def declare_rules(self, scope: Scope, rules: Iterable[A.RuleDef], family: str | None,
                      params: Iterable[str] = ()) -> None:
        """Grammar rules of a module (``family`` None) or of a family's grammar block."""
        param_names = set(params)
        for r in rules:
            if r.name in GRAMMAR_FUNCTIONS:
                self.error("DDL201", f"rule '{r.name}' would shadow the grammar function {r.name}()", r.span,
                           hint="choose another name")
                continue
            if r.name in scope.rules or r.name in param_names:
                self.error("DDL201", f"grammar rule '{r.name}' clashes with another rule or a parameter", r.span,
                           notes=(Note("first declared here", scope.rules[r.name].decl.span),)
                           if r.name in scope.rules else ())
                continue
            scope.rules[r.name] = RuleInfo(r, scope, f"{scope.origin}::{r.name}", family_rule=family is not None)

    def _claim(self, scope: Scope, name: str, span: Span, what: str) -> bool:
        if name in scope.decl_spans:
            self.error("DDL201", f"{what} '{name}' is already declared in this scope", span,
                       notes=(Note("first declared here", scope.decl_spans[name]),))
            return False
        scope.decl_spans[name] = span
        return True

    def declare_types(self, scope: Scope, items: list[Any]) -> None:
        for item in items:
            if isinstance(item, A.EnumDecl):
                if self._claim(scope, item.name, item.span, "type"):
                    enum = self.make_enum(scope, item)
                    if enum is not None:
                        scope.enums[item.name] = enum
                        scope.enum_decls[item.name] = item
            elif isinstance(item, A.RecordDecl):
                if self._claim(scope, item.name, item.span, "type"):
                    scope.record_decls[item.name] = item
            elif isinstance(item, A.TypeAlias):
                if self._claim(scope, item.name, item.span, "type"):
                    scope.aliases[item.name] = item
        # Records get their field types after every name is known (fields may refer to later types).
        for name in scope.record_decls:
            scope.records[name] = RecordT(name, scope.origin, ())
        for name, decl in scope.record_decls.items():
            fields: list[tuple[str, Type]] = []
            seen: set[str] = set()
            for f in decl.fields:
                if f.name in seen:
                    self.error("DDL201", f"field '{f.name}' is declared twice in record {name}", f.span)
                    continue
                seen.add(f.name)
                try:
                    fields.append((f.name, self.resolve_type(scope, f.type, record_path=(name,))))
                except _Abort:
                    fields.append((f.name, BOTTOM))
            # RecordT's fields are excluded from eq/hash; set them on the shared instance.
            object.__setattr__(scope.records[name], "fields", tuple(fields))
        for name in scope.aliases:
            try:
                self.alias_type(scope, name)
            except _Abort:
                pass

    def make_enum(self, scope: Scope, decl: A.EnumDecl) -> EnumT | None:
        if not decl.variants:
            self.error("DDL225", f"enum {decl.name} has no variants", decl.span)
            return None
        names: dict[str, Span] = {}
        texts: dict[str, str] = {}
        ok = True
        for v in decl.variants:
            if v.name in names:
                self.error("DDL225", f"variant '{v.name}' appears twice in enum {decl.name}", v.span,
                           notes=(Note("first here", names[v.name]),))
                ok = False
                continue
            names[v.name] = v.span
            for t in (v.display_text, *v.aliases):
                key = t.casefold()
                if key in texts and texts[key] != v.name:
                    self.error("DDL225", f"text \"{t}\" of variant '{v.name}' is already used by variant "
                               f"'{texts[key]}' of enum {decl.name}", v.span,
                               hint="each display text and alias must name one variant")
                    ok = False
                texts.setdefault(key, v.name)
            if v.display is not None and not v.display.strip():
                self.error("DDL225", f"variant '{v.name}' has an empty display text", v.span)
                ok = False
        if not ok:
            return None
        return EnumT(
            decl.name,
            scope.origin,
            tuple(v.name for v in decl.variants),
            tuple(v.display_text for v in decl.variants),
            tuple(v.aliases for v in decl.variants),
        )

    def alias_type(self, scope: Scope, name: str) -> Type:
        for s in scope.chain():
            if name in s.alias_types:
                return s.alias_types[name]
            if name in s.aliases:
                decl = s.aliases[name]
                if name in self._alias_stack:
                    cycle = " → ".join([*self._alias_stack[self._alias_stack.index(name):], name])
                    self.fail("DDL209", f"type alias cycle: {cycle}", decl.span)
                self._alias_stack.append(name)
                try:
                    typ = self.resolve_type(s, decl.type)
                finally:
                    self._alias_stack.pop()
                s.alias_types[name] = typ
                return typ
        raise KeyError(name)

    def declare_values(self, scope: Scope, items: list[Any], family: str | None = None) -> None:
        prefix = self.path + ("#" + family if family else "")
        for item in items:
            if isinstance(item, A.TableDecl):
                if not self._claim(scope, item.name, item.span, "name"):
                    continue
                try:
                    table_info = self.declare_table(scope, item, f"{prefix}::{item.name}")
                except _Abort:
                    continue
                scope.tables[item.name] = table_info
            elif isinstance(item, A.FnDecl):
                if item.name in BUILTINS:
                    self.error("DDL201", f"function '{item.name}' would shadow the built-in of that name", item.span,
                               hint="choose another name")
                    continue
                if not self._claim(scope, item.name, item.span, "name"):
                    continue
                params: list[tuple[str, Type]] = []
                seen: set[str] = set()
                bad = False
                for p in item.params:
                    if p.name in seen:
                        self.error("DDL201", f"parameter '{p.name}' appears twice", p.span)
                        bad = True
                    seen.add(p.name)
                    try:
                        params.append((p.name, self.resolve_type(scope, p.type)))
                    except _Abort:
                        bad = True
                try:
                    ret = self.resolve_type(scope, item.ret)
                except _Abort:
                    bad = True
                    ret = BOTTOM
                key = f"{prefix}::{item.name}"
                info = FnInfo(key, item, tuple(params), ret, scope)
                if not bad:
                    scope.fns[item.name] = info
                    self.fn_infos[key] = info

    def declare_table(self, scope: Scope, decl: A.TableDecl, key: str) -> TableInfo:
        key_type = self.resolve_type(scope, decl.key_type)
        value_type = self.resolve_type(scope, decl.value_type)
        if not isinstance(key_type, (IntT, TextT, EnumT, BoolT)):
            self.fail("DDL214", f"table keys must be Int, Text, Bool or an enum, not {key_type}", decl.key_type.span)
        ctx = Ctx(scope)
        entries: list[tuple[ir.Node, ir.Node]] = []
        seen: dict[Any, Span] = {}
        for entry in decl.entries:
            try:
                k = self.check_against(entry.key, ctx, key_type, "table key")
                v = self.check_against(entry.value, ctx, value_type, "table value")
            except _Abort:
                continue
            if not isinstance(k, ir.Const):
                self.error("DDL221", "a table key must be a literal or an enum variant", entry.key.span)
                continue
            self.require_constant(v, entry.value.span, "a table value")
            if k.value in seen:
                self.error("DDL214", f"key {_show_const(k.value)} appears twice in table {decl.name}", entry.key.span,
                           notes=(Note("first here", seen[k.value]),))
                continue
            seen[k.value] = entry.key.span
            entries.append((k, v))
        exhaustive = False
        if isinstance(key_type, EnumT):
            present = {k.value.name for k, _ in entries if isinstance(k, ir.Const) and isinstance(k.value, EnumV)}
            exhaustive = present >= set(key_type.variants)
        elif isinstance(key_type, BoolT):
            exhaustive = {k.value for k, _ in entries if isinstance(k, ir.Const)} == {True, False}
        self.tables[key] = CheckedTable(key, decl.name, key_type, value_type, tuple(entries), exhaustive, decl.span)
        return TableInfo(key, decl, key_type, value_type, exhaustive)

    # -- types
    def resolve_type(self, scope: Scope, t: A.TypeExpr, record_path: tuple[str, ...] = ()) -> Type:
        if isinstance(t, A.IntType):
            return IntT(t.lo, t.hi)
        if isinstance(t, A.DecimalType):
            if t.scale > MAX_SCALE:
                self.fail("DDL224", f"decimal scale {t.scale} exceeds {MAX_SCALE}", t.span)
            for bound in (t.lo, t.hi):
                if bound is not None and _scale_of(bound) > t.scale:
                    self.fail("DDL224", f"bound {bound} has more than {t.scale} decimal places", t.span)
            return DecimalT(t.scale, t.lo, t.hi)
        if isinstance(t, A.TextType):
            pattern = written = t.pattern
            if written is not None:
                expander = GrammarExpander(self.error)
                pattern = expander.pattern(written, scope)
                if expander.failed:
                    raise _Abort()
                try:
                    check_pattern(pattern)
                except RegularError as err:  # a value is matched against it at run time: it must be buildable
                    what = err.summary if isinstance(err, AutomatonTooLarge) else str(err)
                    self.error("DDL510", f"this Text pattern is too large to match: {what}", written.span,
                               hint="simplify the pattern (smaller bounded repetitions, fewer `&` and `~`): "
                                    "this limit of the matcher that checks values at run time is fixed")
            return TextT(t.max_len, pattern)
        if isinstance(t, A.ListType):
            return ListT(self.resolve_type(scope, t.elem, record_path), t.max_len)
        if isinstance(t, A.MapType):
            key = self.resolve_type(scope, t.key, record_path)
            if not isinstance(key, (IntT, TextT, EnumT, BoolT)):
                self.fail("DDL202", f"map keys must be Int, Text, Bool or an enum, not {key}", t.key.span)
            return MapT(key, self.resolve_type(scope, t.value, record_path), t.max_len)
        if isinstance(t, A.OptionType):
            return OptionT(self.resolve_type(scope, t.inner, record_path))
        assert isinstance(t, A.NamedType)
        target = scope
        if t.module is not None:
            mod = scope.lookup("modules", t.module)
            if mod is None:
                self.fail("DDL200", f"unknown module '{t.module}'", t.span,
                          hint=did_you_mean(t.module, scope.all_names("modules")))
            target = mod
        if t.name == "Bool" and t.module is None:
            return BOOL
        enum = target.lookup("enums", t.name)
        if enum is not None:
            return enum  # type: ignore[no-any-return]
        rec = target.lookup("records", t.name)
        if rec is not None:
            if t.name in record_path:
                cycle = " → ".join([*record_path[record_path.index(t.name):], t.name])
                self.fail("DDL209", f"recursive record type: {cycle}", t.span,
                          hint="DDL values are finite trees; use a bounded List instead")
            decl = target.lookup("record_decls", t.name)
            # Check nested records for cycles through this path.
            if decl is not None and record_path:
                for f in decl.fields:
                    self._scan_record_cycle(target, f.type, (*record_path, t.name))
            return rec  # type: ignore[no-any-return]
        for s in target.chain():
            if t.name in s.aliases:
                return self.alias_type(s, t.name)
        candidates = ["Bool", *target.all_names("enums"), *target.all_names("records"), *target.all_names("aliases")]
        self.fail("DDL200", f"unknown type '{t.name}'", t.span, hint=did_you_mean(t.name, candidates))
        raise AssertionError

    def _scan_record_cycle(self, scope: Scope, t: A.TypeExpr, path: tuple[str, ...]) -> None:
        if isinstance(t, A.NamedType) and t.module is None:
            if t.name in path:
                cycle = " → ".join([*path[path.index(t.name):], t.name])
                self.fail("DDL209", f"recursive record type: {cycle}", t.span,
                          hint="DDL values are finite trees; use a bounded List instead")
            decl = scope.lookup("record_decls", t.name)
            if decl is not None and len(path) < 32:
                for f in decl.fields:
                    self._scan_record_cycle(scope, f.type, (*path, t.name))
        elif isinstance(t, (A.ListType, A.OptionType)):
            inner = t.elem if isinstance(t, A.ListType) else t.inner
            self._scan_record_cycle(scope, inner, path)
        elif isinstance(t, A.MapType):
            self._scan_record_cycle(scope, t.value, path)

    # -- families
    def check_family(self, root: Scope, fam: A.FamilyDecl) -> CheckedFamily | None:
        scope = Scope(origin=f"{self.path}#{fam.name}", parent=root)
        errors_before = len([d for d in self.diags if d.is_error])
        self.declare_types(scope, [i for i in fam.items if isinstance(i, (A.EnumDecl, A.RecordDecl, A.TypeAlias))])
        self.declare_values(scope, [i for i in fam.items if isinstance(i, (A.FnDecl, A.TableDecl))], family=fam.name)
        params: list[CheckedParam] = []
        param_types: dict[str, Type] = {}
        param_decls = fam.of_kind(A.ParamDecl)
        for g in fam.of_kind(A.GrammarDecl):
            self.declare_rules(scope, g.rules, family=fam.name, params=[p.name for p in param_decls])
        for p in param_decls:
            if not self._claim(scope, p.name, p.span, "name") and p.name in param_types:
                continue
            try:
                typ = self.resolve_type(scope, p.type)
            except _Abort:
                continue
            if isinstance(typ, ListT) and typ.max_len is None:
                self.error("DDL215", f"list parameter '{p.name}' needs a bound: List[..., max N]", p.type.span)
                continue
            if isinstance(typ, MapT) and typ.max_len is None:
                self.error("DDL215", f"map parameter '{p.name}' needs a bound: Map[..., max N]", p.type.span)
                continue
            param_types[p.name] = typ
        pctx = Ctx(scope, params=pmap(param_types))
        for p in param_decls:
            if p.name not in param_types:
                continue
            typ = param_types[p.name]
            where_ir = default_ir = None
            try:
                if p.where is not None:
                    where_ir = self.check_against(p.where, pctx, BOOL, "a where refinement")
            except _Abort:
                pass
            try:
                if p.default is not None:
                    default_ir = self.check_against(p.default, Ctx(scope), typ, f"the default of '{p.name}'")
                    self.require_constant(default_ir, p.default.span, "a default")
                elif isinstance(typ, OptionT):
                    # An Option parameter a request leaves out is none (spec/types.md).
                    default_ir = ir.Const(NONE, typ, span=p.span)
            except _Abort:
                pass
            params.append(CheckedParam(p.name, typ, where_ir, default_ir, p.span, p))
        programs = fam.of_kind(A.ProgramDecl)
        if not programs:
            self.error("DDL216", f"family '{fam.name}' has no program", fam.name_span,
                       hint="add `program -> Type = expression`")
            return None
        prog = programs[0]
        try:
            ret = self.resolve_type(scope, prog.ret)
            program = self.check_against(prog.body, pctx, ret, "the program's result",
                                         decl_span=prog.ret.span)
        except _Abort:
            return None
        grammar = self.check_grammar(fam, scope, param_types, params)
        examples: list[CheckedExample] = []
        for idx, ex in enumerate(fam.of_kind(A.ExampleDecl), start=1):
            try:
                bindings = self.check_bindings(ex.bindings, param_types, scope, ex.span, require_all=params)
                expected: ir.Node | None = None
                if ex.expected is not None:
                    expected = self.check_against(ex.expected, Ctx(scope), ret, "the example's expected output",
                                                  decl_span=prog.ret.span)
                    self.require_constant(expected, ex.expected.span, "an expected output")
            except _Abort:
                continue
            examples.append(CheckedExample(idx, ex.utterance, bindings, expected, ex.span))
        ensures: list[CheckedEnsures] = []
        ectx = pctx.with_local("result", ret)
        for en in fam.of_kind(A.EnsuresDecl):
            try:
                ensures.append(CheckedEnsures(en.label, self.check_against(en.expr, ectx, BOOL, "an ensures clause"),
                                              en.span))
            except _Abort:
                pass
        teach: tuple[tuple[str, ir.Node], ...] = ()
        for td in fam.of_kind(A.TeachDecl):
            try:
                teach = teach + self.check_bindings(td.bindings, param_types, scope, td.span, require_all=None)
            except _Abort:
                pass
        prio = fam.of_kind(A.PriorityDecl)
        allows = self.check_allows(fam, param_types, examples, teach)
        checked = CheckedFamily(
            fam.name, fam.doc, tuple(params), ret, program, tuple(examples), tuple(ensures), teach,
            prio[0].value if prio else None, grammar, fam,
            tuple(scope.enums.values()), tuple(scope.records.values()), allows,
        )
        if len([d for d in self.diags if d.is_error]) > errors_before:
            self.partial_families[fam.name] = checked  # its program checked: an editor may show its types
            return None
        return checked

    def check_allows(self, fam: A.FamilyDecl, param_types: Mapping[str, Type], examples: list[CheckedExample],
                     teach: tuple[tuple[str, ir.Node], ...]) -> tuple[CheckedAllow, ...]:
        """``allow x in "text" because "reason"`` (spec/types.md §18): x is a Text or enum parameter with a
        teaching value, the text contains one of that value's needles, the reason is not blank (DDL228)."""
        first = examples[0].bindings if examples and examples[0].index == 1 else ()
        out: list[CheckedAllow] = []
        for a in fam.of_kind(A.AllowDecl):
            if a.name not in param_types:
                self.error("DDL200", f"'{a.name}' is not a parameter of this family", a.name_span,
                           hint=did_you_mean(a.name, param_types))
                continue
            typ = param_types[a.name]
            stated = [node for name, node in (*first, *teach) if name == a.name]  # teach wins: it comes last
            value = constant_value(stated[-1]) if stated else None
            if not isinstance(typ, (TextT, EnumT)):
                self.error("DDL228", f"allow: '{a.name}' is {typ}; no-leak applies only to Text and enum "
                           "parameters, so there is nothing to allow", a.span, hint="remove the declaration")
            elif not stated:
                self.error("DDL228", f"allow: '{a.name}' has no teaching value (no `teach {a.name} = …` and the "
                           "first example does not state it), so there is nothing to allow", a.span,
                           hint=f"remove the declaration, or state the teaching value: `teach {a.name} = …`")
            elif value is not None and not any(matches(n, a.text) for n in value_needles(value, typ)):
                self.error("DDL228", f"allow: {quote_text(a.text)} does not contain {show_value(value)}, the "
                           f"teaching value of '{a.name}', so it allows nothing", a.span,
                           hint="remove the declaration: an allowance covers only a text in which the teaching "
                           "value occurs (as words of letters and digits, ignoring case)")
            elif not a.reason.strip():
                self.error("DDL228", f"allow: the reason for allowing {quote_text(a.text)} is blank", a.span,
                           hint="say why the teaching value may appear in this text: a reviewer reads it")
            elif any(o.param == a.name and o.text == a.text for o in out):
                self.error("DDL201", f"{quote_text(a.text)} is already allowed for '{a.name}'", a.span,
                           hint="remove the second declaration")
            else:
                out.append(CheckedAllow(a.name, a.text, a.reason, a.span))
        return tuple(out)

    def check_bindings(self, bindings: tuple[A.Binding, ...], param_types: Mapping[str, Type], scope: Scope,
                       span: Span, require_all: list[CheckedParam] | None) -> tuple[tuple[str, ir.Node], ...]:
        out: list[tuple[str, ir.Node]] = []
        seen: set[str] = set()
        for b in bindings:
            if b.name not in param_types:
                self.fail("DDL200", f"'{b.name}' is not a parameter of this family", b.span,
                          hint=did_you_mean(b.name, param_types))
            if b.name in seen:
                self.fail("DDL201", f"parameter '{b.name}' is bound twice", b.span)
            seen.add(b.name)
            node = self.check_against(b.value, Ctx(scope), param_types[b.name], f"parameter '{b.name}'")
            self.require_constant(node, b.value.span, "a parameter value")
            out.append((b.name, node))
        if require_all is not None:
            missing = [p.name for p in require_all if p.name not in seen and p.default is None]
            if missing:
                self.fail("DDL401", f"example leaves {', '.join(missing)} unset and "
                          f"{'it has' if len(missing) == 1 else 'they have'} no default", span)
        return tuple(out)

    def require_constant(self, node: ir.Node, span: Span, what: str) -> None:
        for n in nodes(node):
            if isinstance(n, ir.Param):
                self.fail("DDL221", f"{what} must be a constant; it refers to parameter '{n.name}'", n.span)

    def check_grammar(self, fam: A.FamilyDecl, scope: Scope, param_types: Mapping[str, Type],
                      params: list[CheckedParam]) -> CheckedGrammar | None:
        """Expand the family's grammar (rules, calls, value forms) into one tree (ddl/types/grammar.py)."""
        grammars = fam.of_kind(A.GrammarDecl)
        if not grammars:
            return None
        g = grammars[0]
        for opt_name in g.options:
            if opt_name not in GRAMMAR_OPTIONS:
                self.error("DDL220", f"unknown grammar option '{opt_name}'", g.span,
                           hint=did_you_mean(opt_name, GRAMMAR_OPTIONS) or f"options: {', '.join(GRAMMAR_OPTIONS)}")

        def check_value(b: A.Binding, typ: Type) -> tuple[Any, str] | None:
            try:
                node = self.check_against(b.value, Ctx(scope), typ, f"parameter '{b.name}'")
                self.require_constant(node, b.value.span, "a grammar's value")
            except _Abort:
                return None
            return node, ""

        expander = GrammarExpander(self.error, param_types, check_value)
        body = expander.grammar(g.body, scope)
        excluded = expander.grammar(g.excluded, scope, where="except") if g.excluded is not None else None
        # Every parameter without a default must be settable by some utterance.
        set_somewhere = {c.param for c in captures(body)} | expander.mentioned
        for p in params:
            if p.default is None and p.name not in set_somewhere:
                self.error("DDL216", f"parameter '{p.name}' has no default and the grammar never captures it",
                           p.span, hint="capture it in the grammar or give it a default: = ...")
        if expander.failed:
            return None
        return CheckedGrammar(g, body, excluded, g.options, g.span)

    # -- function bodies and recursion
    def check_fn_bodies(self) -> None:
        for key, info in self.fn_infos.items():
            ctx = Ctx(info.scope, locals=pmap(dict(info.params)), current_fn=key)
            self.calls.setdefault(key, [])
            try:
                body = self.check_against(info.decl.body, ctx, info.ret, f"the result of {info.decl.name}",
                                          decl_span=info.decl.ret.span)
            except _Abort:
                continue
            self.functions[key] = CheckedFn(key, info.decl.name, info.params, info.ret, body, info.decl.span)

    def check_recursion(self) -> None:
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def visit(key: str, path: list[tuple[str, Span]]) -> None:
            if state.get(key) == 2:
                return
            if state.get(key) == 1:
                keys = [k for k, _ in path]
                start = keys.index(key)
                cycle = path[start:]
                names = [self.fn_infos[k].decl.name for k, _ in cycle] + [self.fn_infos[key].decl.name]
                ident = frozenset(k for k, _ in cycle)
                if ident in reported:
                    return
                reported.add(ident)
                notes = tuple(Note(f"{self.fn_infos[k].decl.name} calls {names[i + 1]} here", sp)
                              for i, (k, sp) in enumerate(cycle))
                self.error("DDL209", f"recursion is not allowed: {' → '.join(names)}",
                           self.fn_infos[cycle[0][0]].decl.span, notes=notes,
                           hint="DDL programs are total; iterate over a bounded list or range instead")
                return
            state[key] = 1
            for callee, span in self.calls.get(key, []):
                if callee in self.fn_infos:
                    visit(callee, [*path, (key, span)])
            state[key] = 2

        for key in list(self.fn_infos):
            visit(key, [])

    # ------------------------------------------------------------------ expressions

    def check_against(self, expr: A.Expr, ctx: Ctx, target: Type, what: str, decl_span: Span | None = None) -> ir.Node:
        node = self.infer(expr, ctx, target)
        return self.coerce(node, target, expr.span, what, decl_span)

    def coerce(self, node: ir.Node, target: Type, span: Span, what: str, decl_span: Span | None = None) -> ir.Node:
        src = node.type
        if isinstance(src, IntT) and isinstance(target, DecimalT):
            widened: ir.Node = ir.Widen(node, DecimalT(target.scale, _dec(src.lo), _dec(src.hi)), span=span)
            return self.coerce(widened, target, span, what, decl_span)
        if isinstance(src, DecimalT) and isinstance(target, DecimalT) and src.scale > target.scale:
            self.fail("DDL202", f"{what}: expected {target}, found {src} (more decimal places)", span,
                      hint=f"round it first: round(..., {target.scale})")
        if not base_equal(src, target):
            notes = (Note(f"{target} is declared here", decl_span),) if decl_span is not None else ()
            hint = _mismatch_hint(src, target)
            self.fail("DDL202", f"{what}: expected {target}, found {src}", span, hint=hint, notes=notes)
        if isinstance(src, DecimalT) and isinstance(target, DecimalT) and src.scale < target.scale:
            node = ir.Widen(node, DecimalT(target.scale, src.lo, src.hi), span=span)
            src = node.type
        if is_subtype(src, target):
            return _retype_bottom(node, target)
        if _disjoint(src, target):
            notes = (Note(f"{target} is declared here", decl_span),) if decl_span is not None else ()
            self.fail("DDL212", f"{what}: a value of {src} can never be in {target}", span, notes=notes)
        return ir.Narrow(node, target, span=span)

    def infer(self, e: A.Expr, ctx: Ctx, expected: Type | None = None) -> ir.Node:
        if isinstance(e, A.Lambda) and not ctx.lambda_ok:
            self.fail("DDL222", "a lambda can only be an argument of map, filter, fold, any, all or sort_by", e.span)
        ctx = ctx.no_lambda()
        method = getattr(self, "i_" + type(e).__name__)
        return method(e, ctx, expected)  # type: ignore[no-any-return]

    # literals
    def i_IntLit(self, e: A.IntLit, ctx: Ctx, expected: Type | None) -> ir.Node:
        return ir.Const(e.value, IntT(e.value, e.value), span=e.span)

    def i_DecLit(self, e: A.DecLit, ctx: Ctx, expected: Type | None) -> ir.Node:
        scale = _scale_of(e.value)
        if scale > MAX_SCALE:
            self.fail("DDL224", f"decimal literal {e.value} has more than {MAX_SCALE} places", e.span)
        return ir.Const(e.value, DecimalT(scale, e.value, e.value), span=e.span)

    def i_BoolLit(self, e: A.BoolLit, ctx: Ctx, expected: Type | None) -> ir.Node:
        return ir.Const(e.value, BOOL, span=e.span)

    def i_NoneLit(self, e: A.NoneLit, ctx: Ctx, expected: Type | None) -> ir.Node:
        inner = expected.inner if isinstance(expected, OptionT) else BOTTOM
        return ir.Const(NONE, OptionT(inner), span=e.span)

    def i_TextLit(self, e: A.TextLit, ctx: Ctx, expected: Type | None) -> ir.Node:
        plain = e.plain
        if plain is not None:
            return ir.Const(plain, TextT(len(plain)), span=e.span)
        parts: list[str | ir.Node] = []
        total: int | None = 0
        for part in e.parts:
            if isinstance(part, str):
                parts.append(part)
                total = None if total is None else total + len(part)
                continue
            node = self.infer(part, ctx)
            if not isinstance(node.type, (IntT, DecimalT, TextT, BoolT, EnumT)):
                self.fail("DDL202", f"cannot interpolate a value of type {node.type}", part.span,
                          hint="only Int, Decimal, Text, Bool and enum values can be interpolated")
            width = show_width(node.type)
            total = None if total is None or width is None else total + width
            parts.append(node)
        return ir.Interp(tuple(parts), TextT(total), span=e.span)

    # names
    def i_Name(self, e: A.Name, ctx: Ctx, expected: Type | None) -> ir.Node:
        segs = e.segments
        if len(segs) == 1:
            name = segs[0]
            if name in ctx.locals:
                return ir.Local(name, ctx.locals[name], span=e.span)
            if ctx.params is not None and name in ctx.params:
                return ir.Param(name, ctx.params[name], span=e.span)
            extra = [*ctx.locals, *(ctx.params or {})]
            return self.variant_ref(name, None, ctx.scope, e.span, expected, extra)
        if len(segs) == 2:
            head, name = segs
            if head[:1].isupper():
                return self.variant_ref(name, head, ctx.scope, e.span, expected)
            mod = ctx.scope.lookup("modules", head)
            if mod is None:
                self.fail("DDL200", f"unknown module '{head}'", e.span,
                          hint=did_you_mean(head, ctx.scope.all_names("modules")) or f"add `import {head}`")
            if name in mod.fns or name in BUILTINS:
                self.fail("DDL204", f"function '{e.text}' is not a value; call it", e.span)
            if name in mod.tables:
                self.fail("DDL214", f"table '{e.text}' must be indexed: {e.text}[key]", e.span)
            return self.variant_ref(name, None, mod, e.span, expected)
        mod_name, enum_name, name = segs
        mod = ctx.scope.lookup("modules", mod_name)
        if mod is None:
            self.fail("DDL200", f"unknown module '{mod_name}'", e.span)
        return self.variant_ref(name, enum_name, mod, e.span, expected)

    def variant_ref(self, name: str, enum_name: str | None, scope: Scope, span: Span, expected: Type | None,
                    extra: list[str] | None = None) -> ir.Node:
        if enum_name is not None:
            enum = scope.lookup("enums", enum_name)
            if enum is None:
                self.fail("DDL200", f"unknown enum '{enum_name}'", span,
                          hint=did_you_mean(enum_name, scope.all_names("enums")))
            if name not in enum.variants:
                self.fail("DDL200", f"enum {enum_name} has no variant '{name}'", span,
                          hint=did_you_mean(name, enum.variants) or f"variants: {', '.join(enum.variants)}")
            return _variant_const(enum, name, span)
        owners: list[EnumT] = []
        seen: set[tuple[str, str]] = set()
        for s in scope.chain():
            for enum in s.enums.values():
                if name in enum.variants and (enum.name, enum.origin) not in seen:
                    seen.add((enum.name, enum.origin))
                    owners.append(enum)
        if isinstance(expected, EnumT) and any(base_equal(o, expected) for o in owners):
            return _variant_const(expected, name, span)
        if len(owners) == 1:
            return _variant_const(owners[0], name, span)
        if len(owners) > 1:
            choices = ", ".join(f"{o.name}::{name}" for o in owners)
            self.fail("DDL219", f"'{name}' is a variant of several enums; qualify it: {choices}", span)
        if scope.lookup("fns", name) is not None or name in BUILTINS:
            self.fail("DDL204", f"function '{name}' is not a value; call it: {name}(...)", span)
        if scope.lookup("tables", name) is not None:
            self.fail("DDL214", f"table '{name}' must be indexed: {name}[key]", span)
        self.fail("DDL200", f"unknown name '{name}'", span, hint=self.suggest_value(name, scope, extra or []))
        raise AssertionError

    def suggest_value(self, name: str, scope: Scope, extra: list[str]) -> str | None:
        candidates: list[str] = list(extra)
        for s in scope.chain():
            for enum in s.enums.values():
                candidates.extend(enum.variants)
            candidates.extend(s.tables)
        return did_you_mean(name, candidates)

    # binding forms
    def i_Let(self, e: A.Let, ctx: Ctx, expected: Type | None) -> ir.Node:
        if e.annotation is not None:
            ann = self.resolve_type(ctx.scope, e.annotation)
            value = self.check_against(e.value, ctx, ann, f"'{e.name}'", decl_span=e.annotation.span)
            vtype = ann
        else:
            value = self.infer(e.value, ctx)
            vtype = value.type
            if isinstance(vtype, BottomT) or _has_bottom(vtype):
                self.fail("DDL211", f"cannot infer the type of '{e.name}'", e.value.span,
                          hint=f"annotate it: let {e.name}: Type = ...")
        body = self.infer(e.body, ctx.with_local(e.name, vtype), expected)
        return ir.Let(e.name, value, body, body.type, span=e.span)

    def i_If(self, e: A.If, ctx: Ctx, expected: Type | None) -> ir.Node:
        cond = self.check_against(e.cond, ctx, BOOL, "the condition")
        then = self.infer(e.then, ctx, expected)
        else_ = self.infer(e.else_, ctx, expected)
        typ = self.join_branches(then, else_, e.then.span, e.else_.span, "if branches")
        then = self.coerce(then, typ, e.then.span, "the then-branch")
        else_ = self.coerce(else_, typ, e.else_.span, "the else-branch")
        return ir.If(cond, then, else_, typ, span=e.span)

    def join_branches(self, a: ir.Node, b: ir.Node, sa: Span, sb: Span, what: str) -> Type:
        ta, tb = a.type, b.type
        if isinstance(ta, IntT) and isinstance(tb, DecimalT):
            ta = DecimalT(tb.scale, _dec(ta.lo), _dec(ta.hi))
        if isinstance(tb, IntT) and isinstance(ta, DecimalT):
            tb = DecimalT(ta.scale, _dec(tb.lo), _dec(tb.hi))
        if not base_equal(ta, tb):
            self.fail("DDL202", f"{what} have different types: {ta} and {tb}", sb,
                      notes=(Note(f"this is {ta}", sa),))
        return join(ta, tb)

    def i_Match(self, e: A.Match, ctx: Ctx, expected: Type | None) -> ir.Node:
        scrut = self.infer(e.scrutinee, ctx)
        st = scrut.type
        arms: list[ir.Arm] = []
        covered: set[Any] = set()
        wildcard_seen: Span | None = None
        result: Type | None = None
        first_span: Span | None = None
        bodies: list[tuple[ir.Node, Span]] = []
        for arm in e.arms:
            if wildcard_seen is not None:
                self.fail("DDL208", "this arm is unreachable: an earlier arm matches everything", arm.pattern.span,
                          notes=(Note("the catch-all arm", wildcard_seen),))
            pat, key, binder = self.check_pattern(arm.pattern, st, ctx)
            if key is not None:
                if key in covered:
                    self.fail("DDL208", "this arm is unreachable: an earlier arm has the same pattern", arm.pattern.span)
                covered.add(key)
            else:
                wildcard_seen = arm.pattern.span
            arm_ctx = ctx.with_local(binder[0], binder[1]) if binder else ctx
            body = self.infer(arm.body, arm_ctx, expected)
            if result is None:
                result, first_span = body.type, arm.body.span
            else:
                assert first_span is not None
                result = self.join_branches(ir.Const(0, result), body, first_span, arm.body.span, "match arms")
            bodies.append((body, arm.body.span))
            arms.append(ir.Arm(pat, body, span=arm.span))
        if wildcard_seen is None:
            missing = self.missing_cases(st, covered)
            if missing:
                shown = ", ".join(missing[:6]) + (", …" if len(missing) > 6 else "")
                self.fail("DDL207", f"match is not exhaustive: missing {shown}", e.span,
                          hint="add the missing arms or a catch-all `_ => ...`")
        assert result is not None
        arms = [ir.Arm(a.pattern, self.coerce(a.body, result, sp, "this arm"), span=a.span)
                for a, (_, sp) in zip(arms, bodies)]
        return ir.Match(scrut, tuple(arms), result, span=e.span)

    def missing_cases(self, st: Type, covered: set[Any]) -> list[str]:
        if isinstance(st, EnumT):
            return [v for v in st.variants if ("variant", v) not in covered]
        if isinstance(st, BoolT):
            return [n for v, n in ((True, "true"), (False, "false")) if ("bool", v) not in covered]
        if isinstance(st, OptionT):
            return [n for k, n in (("some", "some(_)"), ("none", "none")) if (k,) not in covered]
        if isinstance(st, IntT) and st.bounded:
            assert st.lo is not None and st.hi is not None
            if st.hi - st.lo < 1000:
                return [str(i) for i in range(st.lo, st.hi + 1) if ("int", i) not in covered]
        return ["_ (other values)"]

    def check_pattern(self, p: A.Pattern, st: Type, ctx: Ctx) -> tuple[ir.IRPattern, Any, tuple[str, Type] | None]:
        if isinstance(p, A.PWild):
            return ir.PatWild(), None, None
        if isinstance(p, A.PName):
            if not isinstance(st, EnumT):
                self.fail("DDL223", f"'{p.name}' is a variant pattern but the value is {st}", p.span,
                          hint="use _ to match anything")
            if p.enum is not None and p.enum != st.name:
                self.fail("DDL223", f"pattern names enum {p.enum} but the value is {st}", p.span)
            if p.name not in st.variants:
                self.fail("DDL223", f"'{p.name}' is not a variant of {st}", p.span,
                          hint=did_you_mean(p.name, st.variants) or "use _ to match anything")
            return ir.PatConst(_variant_value(st, p.name)), ("variant", p.name), None
        if isinstance(p, A.PInt):
            if not isinstance(st, IntT):
                self.fail("DDL223", f"an Int pattern cannot match a value of {st}", p.span)
            return ir.PatConst(p.value), ("int", p.value), None
        if isinstance(p, A.PText):
            if not isinstance(st, TextT):
                self.fail("DDL223", f"a Text pattern cannot match a value of {st}", p.span)
            return ir.PatConst(p.value), ("text", p.value), None
        if isinstance(p, A.PBool):
            if not isinstance(st, BoolT):
                self.fail("DDL223", f"a Bool pattern cannot match a value of {st}", p.span)
            return ir.PatConst(p.value), ("bool", p.value), None
        if isinstance(p, A.PNone):
            if not isinstance(st, OptionT):
                self.fail("DDL223", f"'none' cannot match a value of {st}", p.span)
            return ir.PatNone(), ("none",), None
        assert isinstance(p, A.PSome)
        if not isinstance(st, OptionT):
            self.fail("DDL223", f"'some(...)' cannot match a value of {st}", p.span)
        return ir.PatSome(p.binder), ("some",), (p.binder, st.inner)

    # operators
    def i_Unary(self, e: A.Unary, ctx: Ctx, expected: Type | None) -> ir.Node:
        operand = self.infer(e.operand, ctx)
        t = operand.type
        if e.op == "not":
            operand = self.coerce(operand, BOOL, e.operand.span, "the operand of not")
            return ir.Not(operand, BOOL, span=e.span)
        if isinstance(t, IntT):
            return ir.Neg(operand, neg_range(t), span=e.span)
        if isinstance(t, DecimalT):
            return ir.Neg(operand, DecimalT(t.scale, None if t.hi is None else -t.hi,
                                            None if t.lo is None else -t.lo), span=e.span)
        self.fail("DDL213", f"unary minus needs Int or Decimal, found {t}", e.operand.span)
        raise AssertionError

    def i_Binary(self, e: A.Binary, ctx: Ctx, expected: Type | None) -> ir.Node:
        op = e.op
        if op in ("and", "or"):
            left = self.check_against(e.left, ctx, BOOL, f"the left operand of {op}")
            right = self.check_against(e.right, ctx, BOOL, f"the right operand of {op}")
            return ir.Logic(op, left, right, BOOL, span=e.span)
        if op == "??":
            left = self.infer(e.left, ctx, OptionT(expected) if expected is not None else None)
            if not isinstance(left.type, OptionT):
                self.fail("DDL213", f"'??' needs an Option on its left, found {left.type}", e.left.span)
            inner = left.type.inner
            right = self.infer(e.right, ctx, inner if not isinstance(inner, BottomT) else expected)
            typ = self.join_branches(ir.Const(0, inner), right, e.left.span, e.right.span, "the sides of ??")
            left = self.coerce(left, OptionT(typ), e.left.span, "the left of ??")
            right = self.coerce(right, typ, e.right.span, "the right of ??")
            return ir.Coalesce(left, right, typ, span=e.span)
        left = self.infer(e.left, ctx)
        right = self.infer(e.right, ctx, left.type if op in ("==", "!=") else None)
        lt, rt = left.type, right.type
        if op == "++":
            if isinstance(lt, TextT) and isinstance(rt, TextT):
                total = None if lt.max_len is None or rt.max_len is None else lt.max_len + rt.max_len
                return ir.Concat("text", left, right, TextT(total), span=e.span)
            if isinstance(lt, ListT) and isinstance(rt, ListT):
                if not base_equal(lt.elem, rt.elem):
                    self.fail("DDL202", f"cannot concatenate {lt} and {rt}", e.span)
                total = None if lt.max_len is None or rt.max_len is None else lt.max_len + rt.max_len
                typ = ListT(join(lt.elem, rt.elem), total)
                return ir.Concat("list", _retype_bottom(left, typ), _retype_bottom(right, typ), typ, span=e.span)
            bad = e.left.span if not isinstance(lt, (TextT, ListT)) else e.right.span
            self.fail("DDL213", f"'++' concatenates Text or lists, found {lt} and {rt}", bad,
                      hint="convert numbers with show(...) or interpolate: \"${x}\"")
        if op in ("+", "-", "*", "/", "%"):
            return self.arith(op, left, right, e)
        # comparisons
        if isinstance(lt, IntT) and isinstance(rt, DecimalT):
            left = self.coerce(left, DecimalT(rt.scale), e.left.span, "the left operand")
            lt = left.type
        elif isinstance(rt, IntT) and isinstance(lt, DecimalT):
            right = self.coerce(right, DecimalT(lt.scale), e.right.span, "the right operand")
            rt = right.type
        if not base_equal(lt, rt):
            self.fail("DDL202", f"cannot compare {lt} with {rt}", e.span,
                      hint="both sides of a comparison must have the same type")
        if op not in ("==", "!=") and not isinstance(lt, (IntT, DecimalT, TextT)):
            self.fail("DDL213", f"'{op}' orders Int, Decimal and Text values, not {lt}", e.span,
                      hint="enums, records, lists and options support only == and !=")
        return ir.Compare(op, left, right, BOOL, span=e.span)

    def arith(self, op: str, left: ir.Node, right: ir.Node, e: A.Binary) -> ir.Node:
        lt, rt = left.type, right.type
        for t, sp in ((lt, e.left.span), (rt, e.right.span)):
            if not isinstance(t, (IntT, DecimalT)):
                hint = "use ++ to concatenate text" if op == "+" and isinstance(t, TextT) else None
                self.fail("DDL213", f"'{op}' needs Int or Decimal operands, found {t}", sp, hint=hint)
        if isinstance(lt, IntT) and isinstance(rt, IntT):
            typ: Type
            if op == "+":
                typ = add_range(lt, rt)
            elif op == "-":
                typ = sub_range(lt, rt)
            elif op == "*":
                typ = mul_range(lt, rt)
            elif op == "/":
                typ = floordiv_range(lt, rt)
            else:
                typ = mod_range(lt, rt)
            self.check_divisor(op, rt, e.right.span)
            return ir.Arith(op, "int", left, right, typ, span=e.span)
        # Decimal arithmetic: widen Int operands, compute the result scale.
        ls = lt.scale if isinstance(lt, DecimalT) else 0
        rs = rt.scale if isinstance(rt, DecimalT) else 0
        if isinstance(lt, IntT):
            left = ir.Widen(left, DecimalT(0, _dec(lt.lo), _dec(lt.hi)), span=e.left.span)
        if isinstance(rt, IntT):
            right = ir.Widen(right, DecimalT(0, _dec(rt.lo), _dec(rt.hi)), span=e.right.span)
        lt2, rt2 = left.type, right.type
        assert isinstance(lt2, DecimalT) and isinstance(rt2, DecimalT)
        if op in ("+", "-"):
            scale = max(ls, rs)
            lo = hi = None
            if op == "+" and None not in (lt2.lo, rt2.lo, lt2.hi, rt2.hi):
                lo, hi = lt2.lo + rt2.lo, lt2.hi + rt2.hi  # type: ignore[operator]
            elif op == "-" and None not in (lt2.lo, rt2.lo, lt2.hi, rt2.hi):
                lo, hi = lt2.lo - rt2.hi, lt2.hi - rt2.lo  # type: ignore[operator]
            typ = DecimalT(scale, lo, hi)
        elif op == "*":
            scale = min(MAX_SCALE, ls + rs)
            lo = hi = None
            if None not in (lt2.lo, rt2.lo, lt2.hi, rt2.hi):
                prods = [a * b for a in (lt2.lo, lt2.hi) for b in (rt2.lo, rt2.hi)]  # type: ignore[operator]
                lo, hi = min(prods), max(prods)
                if scale < ls + rs:  # rounding may move the bounds by half a unit
                    lo, hi = None, None
            typ = DecimalT(scale, lo, hi)
        else:
            scale = min(MAX_SCALE, max(ls, rs) + 6) if op == "/" else max(ls, rs)
            typ = DecimalT(scale)
        if op in ("/", "%"):
            self.check_divisor(op, rt2, e.right.span)
        return ir.Arith(op, "dec", left, right, typ, span=e.span)

    def check_divisor(self, op: str, rt: Type, span: Span) -> None:
        if op not in ("/", "%"):
            return
        lo, hi = (rt.lo, rt.hi) if isinstance(rt, (IntT, DecimalT)) else (None, None)
        if lo is not None and hi is not None and lo == 0 and hi == 0:
            self.fail("DDL212", "division by zero: the divisor is always 0", span)

    # postfix
    def i_Field(self, e: A.Field, ctx: Ctx, expected: Type | None) -> ir.Node:
        obj = self.infer(e.obj, ctx)
        t = obj.type
        if not isinstance(t, RecordT):
            hint = None
            if isinstance(t, (ListT, TextT, MapT)) and e.name in BUILTINS:
                hint = f"call it as a function: {e.name}(...)"
            self.fail("DDL213", f"'.{e.name}' needs a record, found {t}", e.span, hint=hint)
        ft = t.field_type(e.name)
        if ft is None:
            names = [n for n, _ in t.fields]
            self.fail("DDL205", f"record {t.name} has no field '{e.name}'", e.span,
                      hint=did_you_mean(e.name, names) or f"fields: {', '.join(names)}")
        return ir.GetField(obj, e.name, ft, span=e.span)

    def i_Index(self, e: A.Index, ctx: Ctx, expected: Type | None) -> ir.Node:
        table = self.table_ref(e.obj, ctx)
        if table is not None:
            key = self.check_against(e.index, ctx, table.key_type, f"the key of table {table.decl.name}",
                                     decl_span=table.decl.key_type.span)
            partial = not table.exhaustive
            if isinstance(table.key_type, EnumT) and isinstance(key, ir.Const):
                partial = not any(isinstance(k, ir.Const) and k.value == key.value
                                  for k, _ in self.tables[table.key].entries)
            return ir.TableGet(table.key, key, partial, table.value_type, span=e.span)
        obj = self.infer(e.obj, ctx)
        t = obj.type
        if isinstance(t, ListT):
            idx = self.check_against(e.index, ctx, INT, "a list index")
            it = idx.type
            if isinstance(it, IntT) and t.max_len is not None and it.lo is not None and (
                    it.lo >= t.max_len or (it.hi is not None and it.hi < 0)):
                self.fail("DDL212", f"index {it} is always outside a list of at most {t.max_len} elements", e.index.span)
            return ir.Index("list", obj, idx, t.elem, span=e.span)
        if isinstance(t, MapT):
            if t.max_len == 0:  # `{:}[k]`: no key is ever present, so the lookup always fails (DDL303)
                self.fail("DDL212", f"{t} has no entries: every key is absent, so this lookup always fails", e.span,
                          hint="look the key up with get(m, k), which gives none when it is absent")
            key = self.check_against(e.index, ctx, t.key, "a map key")
            return ir.Index("map", obj, key, t.value, span=e.span)
        hint = "use slice(t, i, i + 1) for a character" if isinstance(t, TextT) else None
        self.fail("DDL213", f"cannot index a value of {t}", e.obj.span, hint=hint)
        raise AssertionError

    def table_ref(self, e: A.Expr, ctx: Ctx) -> TableInfo | None:
        if not isinstance(e, A.Name):
            return None
        if len(e.segments) == 1:
            name = e.segments[0]
            if name in ctx.locals or (ctx.params is not None and name in ctx.params):
                return None
            return ctx.scope.lookup("tables", name)  # type: ignore[no-any-return]
        if len(e.segments) == 2 and e.segments[0][:1].islower():
            mod = ctx.scope.lookup("modules", e.segments[0])
            if mod is not None:
                return mod.tables.get(e.segments[1])  # type: ignore[no-any-return]
        return None

    # constructors
    def i_ListLit(self, e: A.ListLit, ctx: Ctx, expected: Type | None) -> ir.Node:
        elem_expected = expected.elem if isinstance(expected, ListT) else None
        items = [self.infer(item, ctx, elem_expected) for item in e.items]
        elem: Type = BOTTOM
        for node, item in zip(items, e.items):
            t = node.type
            if isinstance(elem, DecimalT) and isinstance(t, IntT):
                t = DecimalT(elem.scale, _dec(t.lo), _dec(t.hi))
            elif isinstance(elem, IntT) and isinstance(t, DecimalT):
                elem = DecimalT(t.scale, _dec(elem.lo), _dec(elem.hi))
            if not base_equal(elem, t):
                self.fail("DDL202", f"list elements must have one type: expected {elem}, found {node.type}", item.span)
            elem = join(elem, t)
        if isinstance(elem, BottomT) and elem_expected is not None:
            elem = elem_expected
        coerced = tuple(self.coerce(n, elem, i.span, "a list element") for n, i in zip(items, e.items))
        return ir.MakeList(coerced, ListT(elem, len(items)), span=e.span)

    def i_ListComp(self, e: A.ListComp, ctx: Ctx, expected: Type | None) -> ir.Node:
        if isinstance(e.source, A.RangeSource):
            lo = self.check_against(e.source.lo, ctx, INT, "the start of a range")
            hi = self.check_against(e.source.hi, ctx, INT, "the end of a range")
            lt, ht = lo.type, hi.type
            assert isinstance(lt, IntT) and isinstance(ht, IntT)
            if lt.lo is None or ht.hi is None:
                which = e.source.lo if lt.lo is None else e.source.hi
                self.fail("DDL210", "cannot iterate over a range whose bounds are not known", which.span,
                          hint="give the value a declared range, e.g. Int in 1..20, or clamp(...) it")
            assert lt.lo is not None and ht.hi is not None
            count = max(0, ht.hi - lt.lo + 1)
            var_t: Type = IntT(lt.lo, ht.hi)
            source: ir.Node = ir.Range(lo, hi, ListT(var_t, count), span=e.source.span)
            bound: int | None = count
        else:
            source = self.infer(e.source, ctx)
            st = source.type
            if not isinstance(st, ListT):
                self.fail("DDL213", f"a comprehension iterates over a list or a range, found {st}", e.source.span)
            if st.max_len is None:
                self.fail("DDL210", "cannot iterate over a list whose length is not bounded", e.source.span,
                          hint="declare the list with a bound: List[T, max N]")
            var_t, bound = st.elem, st.max_len
        inner = ctx.with_local(e.var, var_t)
        cond = self.check_against(e.cond, inner, BOOL, "the filter") if e.cond is not None else None
        elem = self.infer(e.elem, inner, expected.elem if isinstance(expected, ListT) else None)
        return ir.Comprehension(elem, e.var, source, cond, ListT(elem.type, bound), span=e.span)

    def i_MapLit(self, e: A.MapLit, ctx: Ctx, expected: Type | None) -> ir.Node:
        kt: Type = expected.key if isinstance(expected, MapT) else BOTTOM
        vt: Type = expected.value if isinstance(expected, MapT) else BOTTOM
        nodes: list[tuple[ir.Node, ir.Node]] = []
        key_t: Type = BOTTOM
        val_t: Type = BOTTOM
        for k, v in e.entries:
            kn = self.infer(k, ctx, kt if not isinstance(kt, BottomT) else None)
            vn = self.infer(v, ctx, vt if not isinstance(vt, BottomT) else None)
            if not base_equal(key_t, kn.type):
                self.fail("DDL202", f"map keys must have one type: expected {key_t}, found {kn.type}", k.span)
            if not isinstance(kn.type, (IntT, TextT, EnumT, BoolT, BottomT)):
                self.fail("DDL202", f"map keys must be Int, Text, Bool or an enum, not {kn.type}", k.span)
            vtyp = vn.type
            if isinstance(val_t, DecimalT) and isinstance(vtyp, IntT):
                vtyp = DecimalT(val_t.scale, _dec(vtyp.lo), _dec(vtyp.hi))
            elif isinstance(val_t, IntT) and isinstance(vtyp, DecimalT):
                val_t = DecimalT(vtyp.scale, _dec(val_t.lo), _dec(val_t.hi))
            if not base_equal(val_t, vtyp):
                self.fail("DDL202", f"map values must have one type: expected {val_t}, found {vn.type}", v.span)
            key_t, val_t = join(key_t, kn.type), join(val_t, vtyp)
            nodes.append((kn, vn))
        if isinstance(key_t, BottomT):
            key_t = kt
        if isinstance(val_t, BottomT):
            val_t = vt
        entries = tuple((self.coerce(kn, key_t, k.span, "a map key"), self.coerce(vn, val_t, v.span, "a map value"))
                        for (kn, vn), (k, v) in zip(nodes, e.entries))
        return ir.MakeMap(entries, MapT(key_t, val_t, len(entries)), span=e.span)

    def i_RecordLit(self, e: A.RecordLit, ctx: Ctx, expected: Type | None) -> ir.Node:
        rt = self.resolve_type(ctx.scope, e.type)
        if not isinstance(rt, RecordT):
            self.fail("DDL202", f"{e.type.name} is not a record type", e.type.span)
        declared = dict(rt.fields)
        given: dict[str, ir.Node] = {}
        for f in e.fields:
            if f.name in given:
                self.fail("DDL201", f"field '{f.name}' is given twice", f.span)
            if f.name not in declared:
                self.fail("DDL205", f"record {rt.name} has no field '{f.name}'", f.span,
                          hint=did_you_mean(f.name, declared) or f"fields: {', '.join(declared)}")
            given[f.name] = self.check_against(f.value, ctx, declared[f.name], f"field '{f.name}' of {rt.name}")
        missing = [n for n in declared if n not in given]
        if missing:
            self.fail("DDL206", f"record {rt.name} is missing field{'s' if len(missing) > 1 else ''} "
                      f"{', '.join(missing)}", e.span)
        return ir.MakeRecord(rt.name, tuple((n, given[n]) for n in declared), rt, span=e.span)

    def i_Lambda(self, e: A.Lambda, ctx: Ctx, expected: Type | None) -> ir.Node:
        self.fail("DDL222", "a lambda can only be an argument of map, filter, fold, any, all or sort_by", e.span)
        raise AssertionError

    # calls
    def i_Call(self, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
        if not isinstance(e.func, A.Name):
            self.fail("DDL204", "only named functions can be called", e.func.span)
        segs = e.func.segments
        fn: FnInfo | None = None
        if len(segs) == 1:
            name = segs[0]
            if name in ctx.locals or (ctx.params is not None and name in ctx.params):
                self.fail("DDL204", f"'{name}' is a value, not a function", e.func.span)
            fn = ctx.scope.lookup("fns", name)
            if fn is None and name not in BUILTINS:
                candidates = [*BUILTINS, *ctx.scope.all_names("fns")]
                self.fail("DDL200", f"unknown function '{name}'", e.func.span, hint=did_you_mean(name, candidates))
            if fn is None:
                return self.builtin_call(name, e, ctx, expected)
        elif len(segs) == 2 and segs[0][:1].islower():
            mod = ctx.scope.lookup("modules", segs[0])
            if mod is None:
                self.fail("DDL200", f"unknown module '{segs[0]}'", e.func.span,
                          hint=did_you_mean(segs[0], ctx.scope.all_names("modules")) or f"add `import {segs[0]}`")
            fn = mod.fns.get(segs[1])
            if fn is None:
                self.fail("DDL200", f"module '{segs[0]}' has no function '{segs[1]}'", e.func.span,
                          hint=did_you_mean(segs[1], mod.fns))
        else:
            self.fail("DDL204", f"'{e.func.text}' is not a function", e.func.span)
        assert fn is not None
        if len(e.args) != len(fn.params):
            self.fail("DDL203", f"{fn.decl.name} takes {len(fn.params)} argument{'s' if len(fn.params) != 1 else ''}, "
                      f"given {len(e.args)}", e.span, notes=(Note(f"{fn.decl.name} is declared here", fn.decl.span),))
        args = tuple(
            self.check_against(arg, ctx, ptype, f"argument '{pname}' of {fn.decl.name}",
                               decl_span=fn.decl.params[i].type.span)
            for i, (arg, (pname, ptype)) in enumerate(zip(e.args, fn.params))
        )
        if ctx.current_fn is not None:
            self.calls.setdefault(ctx.current_fn, []).append((fn.key, e.span))
        return ir.CallFn(fn.key, args, fn.ret, span=e.span)

    def lambda_arg(self, e: A.Call, index: int, ctx: Ctx, param_types: list[Type], expected: Type | None = None) -> ir.Lambda:
        if index >= len(e.args) or not isinstance(e.args[index], A.Lambda):
            span = e.args[index].span if index < len(e.args) else e.span
            self.fail("DDL202", f"argument {index + 1} of {e.func.text if isinstance(e.func, A.Name) else 'call'} "
                      f"must be a lambda like |x| ...", span)
        lam = e.args[index]
        assert isinstance(lam, A.Lambda)
        if len(lam.params) != len(param_types):
            self.fail("DDL203", f"this lambda takes {len(param_types)} parameter{'s' if len(param_types) != 1 else ''}, "
                      f"not {len(lam.params)}", lam.span)
        inner = ctx
        for name, t in zip(lam.params, param_types):
            inner = inner.with_local(name, t)
        body = self.infer(lam.body, inner, expected)
        return ir.Lambda(lam.params, tuple(param_types), body, body.type, span=lam.span)

    def builtin_call(self, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
        return type_builtin(self, name, e, ctx, expected)


# ---------------------------------------------------------------------------- helpers


def _variant_value(enum: EnumT, name: str) -> EnumV:
    return EnumV(f"{enum.origin}::{enum.name}", name, enum.display_of(name))


def _variant_const(enum: EnumT, name: str, span: Span) -> ir.Const:
    return ir.Const(_variant_value(enum, name), enum, span=span)


def _show_const(value: Any) -> str:
    return show_value(value)


def _dec(x: int | None) -> Decimal | None:
    return None if x is None else Decimal(x)


def _scale_of(d: Decimal) -> int:
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0




def _has_bottom(t: Type) -> bool:
    return type_contains(t, lambda x: isinstance(x, BottomT))


def _retype_bottom(node: ir.Node, target: Type) -> ir.Node:
    """Give ``[]``, ``{:}`` and ``none`` the type their context expects."""
    if _has_bottom(node.type) and isinstance(node, (ir.MakeList, ir.MakeMap, ir.Const)):
        return attrs.evolve(node, type=target)
    return node


def _disjoint(a: Type, b: Type) -> bool:
    if isinstance(a, IntT) and isinstance(b, IntT):
        return (a.lo is not None and b.hi is not None and a.lo > b.hi) or (
            a.hi is not None and b.lo is not None and a.hi < b.lo)
    if isinstance(a, DecimalT) and isinstance(b, DecimalT):
        return (a.lo is not None and b.hi is not None and a.lo > b.hi) or (
            a.hi is not None and b.lo is not None and a.hi < b.lo)
    return False


def _mismatch_hint(src: Type, target: Type) -> str | None:
    if isinstance(target, TextT) and isinstance(src, (IntT, DecimalT, BoolT)):
        return "convert with show(...)"
    if isinstance(target, TextT) and isinstance(src, EnumT):
        return "use text(...) for the display text or name(...) for the identifier"
    if isinstance(target, OptionT) and base_equal(src, target.inner):
        return "wrap it: some(...)"
    if isinstance(src, OptionT) and base_equal(src.inner, target):
        return "supply a default: value ?? default"
    if isinstance(target, IntT) and isinstance(src, DecimalT):
        return "use floor(...) or ceil(...)"
    return None


__all__ = ["Checker", "LoadedModule", "Scope", "did_you_mean"]


def constant_value(node: ir.Node) -> Value | None:
    """The value of a constant text or enum expression the checker can fold (a literal, ``++`` and
    interpolation of literals), else None: the checker does not evaluate calls."""
    if isinstance(node, ir.Const):
        return node.value
    if isinstance(node, (ir.Widen, ir.Narrow)):
        return constant_value(node.inner)
    if isinstance(node, ir.Concat) and node.kind == "text":
        left, right = constant_value(node.left), constant_value(node.right)
        return left + right if isinstance(left, str) and isinstance(right, str) else None
    if isinstance(node, ir.Interp):
        parts = [p if isinstance(p, str) else constant_value(p) for p in node.parts]
        return "".join(parts) if all(isinstance(p, str) for p in parts) else None  # type: ignore[arg-type]
    return None
