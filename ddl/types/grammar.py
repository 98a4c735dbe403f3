"""Resolving grammars: rules, calls, value forms and captures → one expanded regex per family.

A grammar as written refers to rules (of its own block, of the module, of imported modules such
as the stdlib's ``phrasing``), calls rules with arguments (``phrasing::polite(core)``), captures
parameters plainly (``count``) or through a value form (``number(count)``), groups parts in any
order (``any_order(a, b?, c)``) and sets constants (``{tip_percent = 0}``).  The checker expands
all of it here, once, into a tree whose only names are captures (:class:`~ddl.syntax.ast.RCapture`)
and constant settings (:class:`~ddl.syntax.ast.RValue`); every later phase (the grammar compiler,
the obligations, rendering, the router) works on that tree.  Expanded rules keep their names
(:class:`~ddl.syntax.ast.RNamed`) so that messages about size can say where growth comes from.

Rules are macros with hygiene: an argument is expanded where it is written (its names are the
caller's), the body where the rule is declared (its names are the declaring module's).  Rules may
not refer to themselves (DDL209); a rule with parameters must be called with as many arguments
(DDL203).  Module-level rules cannot capture a family's parameters except through arguments.

Text patterns use the same expansion with captures forbidden, so ``Text(pattern word (" " word)*)``
can use a rule ``word`` of the module, of an import, or of the family's grammar block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ddl.diagnostics import Note, Span, did_you_mean
from ddl.syntax import ast as A
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, ListT, OptionT, TextT, Type

ANY_ORDER = "any_order"
MAX_ANY_ORDER = 8  # parts of one any_order group (its automaton has 2^n junctions)
MAX_EXPANDED = 200_000  # regex nodes after expanding every rule: a bound for hostile grammars

# Value forms: which scalar types each accepts, its integer arguments, and what it is for.
FORMS: dict[str, tuple[tuple[type, ...], tuple[str, ...], str]] = {
    "number": ((IntT, DecimalT), (), "digits, thousands separators or words: 12, 1,200, twelve, a dozen"),
    "words": ((IntT, DecimalT), (), "number words only: twelve, twenty-one, a hundred"),
    "grouped": ((IntT, DecimalT), (), "digits with thousands separators: 1,200 (plain digits below 1,000)"),
    "padded": ((IntT,), ("width",), "exactly width digits, with leading zeros: 05"),
    "decade": ((IntT,), ("century",), "1980s, 1980's, and with a century 80s, '80s, eighties"),
    "date": ((TextT,), (), "ISO dates and month names: 2026-12-20, Dec 20 2026, 20 December 2026"),
    "month_day": ((TextT,), (), "a month and a day into MM-DD: Dec 20, 20 December"),
}
GRAMMAR_FUNCTIONS = (ANY_ORDER, *FORMS)
CAPTURABLE = (IntT, DecimalT, EnumT, TextT, BoolT)


def scalar(t: Type) -> Type:
    """The type a capture's text converts to: the element of a List, the inner type of an Option."""
    if isinstance(t, OptionT):
        return scalar(t.inner)
    if isinstance(t, ListT):
        return t.elem
    return t


def capturable(t: Type) -> bool:
    if isinstance(t, OptionT):
        return capturable(t.inner)
    if isinstance(t, ListT):
        return isinstance(t.elem, CAPTURABLE)
    return isinstance(t, CAPTURABLE)


@attrs.define
class RuleInfo:
    """A declared rule and where its body's names resolve."""

    decl: A.RuleDef
    scope: Any  # ddl.types.check.Scope (module or family)
    key: str  # unique (module path, family, name): recursion checks
    family_rule: bool  # declared in a grammar block: may capture the family's parameters


@attrs.frozen
class _Ctx:
    scope: Any
    family_params: bool  # the family's parameters are visible (a family grammar, a family rule)
    env: Mapping[str, A.Regex] = attrs.field(factory=dict)  # rule arguments, already expanded
    stack: tuple[tuple[str, str], ...] = ()  # rules being expanded: (key, label)
    where: str = "grammar"  # "grammar", "except", "pattern"
    boolean: bool = False  # under & or ~


class GrammarExpander:
    """Expands one family's grammar (or a Text pattern); errors go to ``report``."""

    def __init__(self, report: Callable[..., None], params: Mapping[str, Type] | None = None,
                 check_value: Callable[[A.Binding, Type], tuple[Any, str] | None] | None = None) -> None:
        self.report = report
        self.params = dict(params or {})
        self.check_value = check_value
        self.count = 0
        self.values = 0  # constant settings numbered so far
        self.failed = False
        self._too_large = False
        self.mentioned: set[str] = set()  # parameters named as captures (even where that is an error)

    # ------------------------------------------------------------------ entry points

    def grammar(self, rx: A.Regex, scope: Any, where: str = "grammar") -> A.Regex:
        return self.expand(rx, _Ctx(scope, family_params=True, where=where))

    def pattern(self, rx: A.Regex, scope: Any) -> A.Regex:
        return self.expand(rx, _Ctx(scope, family_params=False, where="pattern"))

    # ------------------------------------------------------------------ expansion

    def error(self, code: str, message: str, span: Span, *, hint: str | None = None,
              notes: tuple[Note, ...] = ()) -> A.Regex:
        self.failed = True
        self.report(code, message, span, hint=hint, notes=notes)
        return A.RLit("", span=span)

    def _grow(self, span: Span, ctx: _Ctx) -> bool:
        self.count += 1
        if self.count > MAX_EXPANDED:
            if not self._too_large:
                self._too_large = True
                culprit = f" (expanding rule '{ctx.stack[-1][1]}')" if ctx.stack else ""
                self.error("DDL220", f"the grammar expands to more than {MAX_EXPANDED:,} parts{culprit}", span,
                           hint="rules used inside rules multiply; factor the repeated part into one rule used once")
            return False
        return True

    def expand(self, rx: A.Regex, ctx: _Ctx) -> A.Regex:
        if not self._grow(rx.span, ctx):
            return A.RLit("", span=rx.span)
        if isinstance(rx, (A.RLit, A.RClass, A.RAny)):
            return rx
        if isinstance(rx, A.RSeq):
            return A.RSeq(tuple(self.expand(i, ctx) for i in rx.items), span=rx.span)
        if isinstance(rx, A.RAlt):
            return A.RAlt(tuple(self.expand(i, ctx) for i in rx.items), span=rx.span)
        if isinstance(rx, A.RAnd):
            restricted = self.restricted_capture(rx, ctx)
            if restricted is not None:
                return restricted
            inner = attrs.evolve(ctx, boolean=True)
            return A.RAnd(tuple(self.expand(i, inner) for i in rx.items), span=rx.span)
        if isinstance(rx, A.RNot):
            return A.RNot(self.expand(rx.item, attrs.evolve(ctx, boolean=True)), span=rx.span)
        if isinstance(rx, A.RRepeat):
            return A.RRepeat(self.expand(rx.item, ctx), rx.lo, rx.hi, span=rx.span)
        if isinstance(rx, A.RRef):
            return self.ref(rx, ctx)
        if isinstance(rx, A.RCall):
            return self.call(rx, ctx)
        if isinstance(rx, A.RSet):
            return self.set_values(rx, ctx)
        if isinstance(rx, (A.RCapture, A.RValue, A.RAnyOrder, A.RNamed)):
            return rx  # already expanded (an argument passed on)
        return self.error("DDL220", "this is not a regular expression", rx.span)

    def restricted_capture(self, rx: A.RAnd, ctx: _Ctx) -> A.Regex | None:
        """``x & R`` (or ``number(x) & R``): x's capture with its texts restricted to R, which captures
        nothing. The one place a capture may meet ``&``: the intersection is then of two plain
        languages, and the capture still marks where x's text is."""
        if ctx.boolean or ctx.where != "grammar":
            return None
        targets = [i for i, item in enumerate(rx.items) if self._names_capture(item, ctx)]
        if len(targets) != 1:
            return None
        captured = self.expand(rx.items[targets[0]], ctx)
        while isinstance(captured, A.RNamed):
            captured = captured.item
        if not isinstance(captured, A.RCapture) or captured.restrict is not None:
            return None
        inner = attrs.evolve(ctx, boolean=True)
        others = [self.expand(item, inner) for i, item in enumerate(rx.items) if i != targets[0]]
        restrict = others[0] if len(others) == 1 else A.RAnd(tuple(others), span=rx.span)
        return attrs.evolve(captured, restrict=restrict, span=rx.span)

    def _names_capture(self, item: A.Regex, ctx: _Ctx) -> bool:
        """Is this item written as a capture: a parameter's name, or a value form of one?"""
        if isinstance(item, A.RRef) and item.module is None:
            return ctx.family_params and item.name in self.params and item.name not in ctx.env
        if isinstance(item, A.RCall) and item.module is None and item.name in FORMS and item.args:
            return self._names_capture(item.args[0], ctx)  # type: ignore[arg-type]
        return False

    # -- names
    def _capture_ok(self, name: str, span: Span, ctx: _Ctx) -> bool:
        if ctx.where == "pattern":
            self.error("DDL220", f"a Text pattern cannot capture '{name}'", span,
                       hint="patterns describe text; only a grammar captures parameters")
            return False
        if ctx.where == "except":
            self.error("DDL220", f"'{name}' is captured inside an 'except' clause", span,
                       hint="an except clause names utterances the family does not accept; it captures "
                            "nothing: write the words (or a rule without parameters)")
            return False
        if ctx.boolean:
            self.error("DDL220", f"'{name}' is captured inside '&' or '~'", span,
                       hint=("captures may not occur under & or ~, except a restricted capture `x & r` where r "
                             "captures nothing; restrict the parameter's type, or write the capture as x & r"))
            return False
        return True

    def _param_capture(self, name: str, span: Span, ctx: _Ctx, form: str = "plain",
                       args: tuple[int, ...] = ()) -> A.Regex:
        self.mentioned.add(name)
        t = self.params[name]
        if not capturable(t):
            return self.error("DDL220", f"parameter '{name}' of type {t} cannot be captured in a grammar", span,
                              hint="captures are Int, Decimal, Text, Bool or enum parameters (or an Option or "
                                   "a bounded List of them)")
        if not self._capture_ok(name, span, ctx):
            return A.RLit("", span=span)
        return A.RCapture(name, form, args, span=span)

    def ref(self, rx: A.RRef, ctx: _Ctx) -> A.Regex:
        if rx.module is not None:
            rule = self._module_rule(rx.module, rx.name, rx.span, ctx)
            if rule is None:
                return A.RLit("", span=rx.span)
            return self.use_rule(rule, (), rx, ctx, f"{rx.module}::{rx.name}")
        if rx.name in ctx.env:
            return ctx.env[rx.name]
        if ctx.family_params and rx.name in self.params:
            return self._param_capture(rx.name, rx.span, ctx)
        rule = _lookup_rule(ctx.scope, rx.name)
        if rule is not None:
            return self.use_rule(rule, (), rx, ctx)
        if ctx.where == "pattern" and rx.name in self.params:
            return self.error("DDL220", f"a Text pattern cannot capture '{rx.name}'", rx.span,
                              hint="patterns describe text; only a grammar captures parameters")
        if rx.name in self.params:
            return self.error("DDL220", f"a module rule cannot capture the family's parameter '{rx.name}'", rx.span,
                              hint="pass it as an argument: rule r(x) = ... x ...; then r(" + rx.name + ")")

        candidates = [*ctx.env, *_rule_names(ctx.scope), *(self.params if ctx.family_params else ())]
        if ctx.where == "pattern":
            message = f"a Text pattern refers to '{rx.name}', which is not a rule"
        elif ctx.family_params:
            message = f"grammar refers to '{rx.name}', which is neither a parameter nor a rule"
        else:
            message = f"'{rx.name}' is neither a rule nor an argument of this rule"
        return self.error("DDL220", message, rx.span, hint=did_you_mean(rx.name, candidates))

    def _module_rule(self, module: str, name: str, span: Span, ctx: _Ctx) -> RuleInfo | None:
        mod = ctx.scope.lookup("modules", module)
        if mod is None:
            self.error("DDL200", f"unknown module '{module}'", span, hint=did_you_mean(module, ctx.scope.all_names("modules")))
            return None
        rule = mod.rules.get(name)
        if rule is None:
            self.error("DDL220", f"module '{module}' has no rule '{name}'", span, hint=did_you_mean(name, mod.rules))
            return None
        return rule  # type: ignore[no-any-return]

    def use_rule(self, rule: RuleInfo, args: tuple[A.Regex, ...], site: A.RRef | A.RCall, ctx: _Ctx,
                 label: str | None = None) -> A.Regex:
        decl = rule.decl
        label = label or decl.name
        keys = [k for k, _ in ctx.stack]
        if rule.key in keys:
            cycle = " → ".join([*(lab for _, lab in ctx.stack[keys.index(rule.key):]), label])
            return self.error("DDL209", f"grammar rules refer to themselves: {cycle}", decl.span,
                              hint="grammars are regular: use repetition (*, +, {m,n}) instead")
        if isinstance(site, A.RRef) and decl.params:
            plural = "s" if len(decl.params) != 1 else ""
            return self.error("DDL203", f"rule '{decl.name}' takes {len(decl.params)} argument{plural}: "
                              f"write {decl.name}({', '.join(decl.params)})", site.span,
                              notes=(Note("declared here", decl.span),))
        if isinstance(site, A.RCall) and len(args) != len(decl.params):
            return self.error("DDL203", f"rule '{decl.name}' takes {len(decl.params)} argument(s), "
                              f"not {len(args)}", site.span, notes=(Note("declared here", decl.span),))
        body_ctx = _Ctx(rule.scope, family_params=rule.family_rule and ctx.family_params,
                        env=dict(zip(decl.params, args)), stack=(*ctx.stack, (rule.key, label)), where=ctx.where,
                        boolean=ctx.boolean)
        body = self.expand(decl.body, body_ctx)
        return A.RNamed(label, body, span=site.span)

    # -- calls
    def call(self, rx: A.RCall, ctx: _Ctx) -> A.Regex:
        if rx.module is None and rx.name in FORMS:
            return self.form(rx, ctx)
        if rx.module is None and rx.name == ANY_ORDER:
            return self.any_order(rx, ctx)
        if rx.named:
            return self.error("DDL220", f"'{rx.named[0][0]} =' is not an argument of rule '{rx.name}'", rx.span,
                              hint="only any_order takes a named argument (sep = ...)")
        label = f"{rx.module}::{rx.name}" if rx.module is not None else rx.name
        if rx.module is not None:
            rule = self._module_rule(rx.module, rx.name, rx.span, ctx)
        else:
            rule = _lookup_rule(ctx.scope, rx.name)
            if rule is None and (rx.name in ctx.env or (ctx.family_params and rx.name in self.params)):
                self.mentioned.add(rx.name)
                return self.error("DDL220", f"'{rx.name}' is not a rule: a name directly followed by '(' is a call",
                                  rx.span, hint=f"write '{rx.name} (' with a space for '{rx.name}' followed by a group")
            if rule is None:

                for a in rx.args:  # the arguments still count as mentions (no knock-on "never captured")
                    if not isinstance(a, A.RInt):
                        self.expand(a, ctx)
                return self.error("DDL220", f"'{rx.name}' is neither a rule nor a grammar function", rx.span,
                                  hint=did_you_mean(rx.name, [*_rule_names(ctx.scope), *GRAMMAR_FUNCTIONS])
                                  or f"grammar functions: {', '.join(GRAMMAR_FUNCTIONS)}")
        if rule is None:
            for a in rx.args:  # the arguments still count as mentions (no knock-on "never captured")
                if not isinstance(a, A.RInt):
                    self.expand(a, ctx)
            return A.RLit("", span=rx.span)
        args: list[A.Regex] = []
        for a in rx.args:
            if isinstance(a, A.RInt):
                return self.error("DDL220", "a rule's arguments are regular expressions, not numbers", a.span)
            args.append(self.expand(a, ctx))
        return self.use_rule(rule, tuple(args), rx, ctx, label)

    def form(self, rx: A.RCall, ctx: _Ctx) -> A.Regex:
        types, int_args, purpose = FORMS[rx.name]
        usage = f"{rx.name}(parameter{''.join(', ' + a for a in int_args)})"
        if rx.named:
            return self.error("DDL220", f"{rx.name}() takes no named argument", rx.span, hint=f"write {usage}")
        if not rx.args or isinstance(rx.args[0], A.RInt) or len(rx.args) > 1 + len(int_args):
            return self.error("DDL203", f"{rx.name}() takes a parameter{' and ' + ', '.join(int_args) if int_args else ''}",
                              rx.span, hint=f"write {usage}: {purpose}")
        target = self.expand(rx.args[0], ctx)
        while isinstance(target, A.RNamed):
            target = target.item
        if not isinstance(target, A.RCapture) or target.form != "plain":
            if isinstance(target, A.RLit) and self.failed:
                return target
            return self.error("DDL220", f"{rx.name}() applies to a parameter", rx.args[0].span,
                              hint=f"write {usage}: {purpose}")
        numbers: list[int] = []
        for a in rx.args[1:]:
            if not isinstance(a, A.RInt):
                return self.error("DDL220", f"the {int_args[len(numbers)]} of {rx.name}() is a number", a.span,
                                  hint=f"write {usage}")
            numbers.append(a.value)
        t = scalar(self.params[target.param])
        if not isinstance(t, types):
            kinds = " or ".join(k.__name__[:-1] for k in types)
            return self.error("DDL220", f"{rx.name}() needs a{'n' if kinds[0] in 'AEIOU' else ''} {kinds} parameter; "
                              f"'{target.param}' is {self.params[target.param]}", rx.span, hint=purpose)
        if rx.name == "padded" and not 1 <= numbers[0] <= 18:
            return self.error("DDL220", f"padded() takes a width of 1 to 18 digits, not {numbers[0]}", rx.args[1].span)
        if rx.name == "padded" and len(numbers) != 1:
            return self.error("DDL203", "padded() takes a parameter and a width", rx.span, hint="write padded(x, 2)")
        if rx.name == "decade" and numbers and numbers[0] % 100:
            return self.error("DDL220", f"decade()'s century is a multiple of 100 (1900, 2000), not {numbers[0]}",
                              rx.args[1].span)
        return A.RCapture(target.param, rx.name, tuple(numbers), span=rx.span)

    def any_order(self, rx: A.RCall, ctx: _Ctx) -> A.Regex:
        items: list[A.Regex] = []
        required: list[bool] = []
        for a in rx.args:
            if isinstance(a, A.RInt):
                return self.error("DDL220", "any_order's parts are regular expressions", a.span)
            if isinstance(a, A.RRepeat) and a.lo == 0 and a.hi == 1:
                items.append(self.expand(a.item, ctx))
                required.append(False)
            else:
                items.append(self.expand(a, ctx))
                required.append(True)
        sep: A.Regex = A.RLit(" ", span=rx.span)
        for key, value in rx.named:
            if key != "sep":
                return self.error("DDL220", f"any_order takes no argument '{key}'", value.span,
                                  hint="the only named argument is sep = ... (what separates two parts)")
            sep = self.expand(value, ctx)
        if len(items) < 2:
            return self.error("DDL220", "any_order needs at least two parts", rx.span,
                              hint="write the part itself (with ? if it is optional)")
        if len(items) > MAX_ANY_ORDER:
            return self.error("DDL220", f"any_order takes at most {MAX_ANY_ORDER} parts, not {len(items)}", rx.span,
                              hint="group parts that always come together into one part")
        return A.RAnyOrder(tuple(items), tuple(required), sep, span=rx.span)

    # -- constants
    def set_values(self, rx: A.RSet, ctx: _Ctx) -> A.Regex:
        out: list[A.Regex] = []
        for b in rx.bindings:
            self.mentioned.add(b.name)
            if not ctx.family_params or b.name not in self.params:

                self.error("DDL200", f"'{b.name}' is not a parameter of this family", b.span,
                           hint=did_you_mean(b.name, self.params))
                continue
            if not self._capture_ok(b.name, b.span, ctx):
                continue
            if self.check_value is None:
                continue
            checked = self.check_value(b, self.params[b.name])
            if checked is None:
                self.failed = True
                continue
            value, text = checked
            out.append(A.RValue(b.name, value, self.values, text, span=b.span))
            self.values += 1
        return out[0] if len(out) == 1 else A.RSeq(tuple(out), span=rx.span)


def _lookup_rule(scope: Any, name: str) -> RuleInfo | None:
    for s in scope.chain():
        rule = s.rules.get(name)
        if rule is not None:
            return rule  # type: ignore[no-any-return]
    return None


def _rule_names(scope: Any) -> list[str]:
    return [n for s in scope.chain() for n in s.rules]


def captures(rx: A.Regex) -> list[A.RCapture | A.RValue]:
    """Every capture and constant setting in an expanded regex, in order."""
    out: list[A.RCapture | A.RValue] = []
    stack = [rx]
    while stack:
        node = stack.pop()
        if isinstance(node, (A.RCapture, A.RValue)):
            out.append(node)
        else:
            stack.extend(reversed(regex_children(node)))
    return out


def regex_children(node: A.Regex) -> tuple[A.Regex, ...]:
    """The sub-expressions of a regex node (the one walker of DDL regex trees)."""
    if isinstance(node, (A.RSeq, A.RAlt, A.RAnd)):
        return node.items
    if isinstance(node, (A.RNot, A.RRepeat, A.RNamed)):
        return (node.item,)
    if isinstance(node, A.RAnyOrder):
        return (*node.items, node.sep)
    if isinstance(node, A.RCall):
        return tuple(a for a in node.args if not isinstance(a, A.RInt)) + tuple(v for _, v in node.named)
    return ()
