"""The no-leak obligation (spec/checks.md, "no-leak, precisely"): for x ≠ v0 the output never mentions v0.

The needles are v0's own texts (a Text itself; an enum's name, display text and aliases) and the
knowledge v0 selects (what only v0's entry holds in a table or map literal looked up with x).  One
matcher, :func:`ddl.types.needles.occurrences`, decides every mention: in the runs' outputs, and in
the program's text constants when Θ cannot be enumerated (portfolio item 6).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import attrs
from pyrsistent import PMap, PVector

from ddl.eval.result import Ok
from ddl.types import ir
from ddl.types.checked import CheckedAllow, CheckedParam
from ddl.types.model import BoolT, EnumT, ListT, MapT, OptionT, RecordT, TextT, Type
from ddl.types.needles import (
    MIN_SIGNIFICANT,
    Needle,
    counted,
    matches,
    number_needle,
    significant_digits,
    text_needle,
    value_needles,
    value_texts,
)
from ddl.values import EnumV, NoneV, RecordV, SomeV, Value, show_value, to_json
from ddl.verify.domains import Theta
from ddl.verify.obligations import Allowance, Obligation
from ddl.verify.view import ProverView, quote, shorten, show_theta
from ddl.verify.walk import children, nodes, reachable_functions


@attrs.frozen
class Clue:
    """A needle and why it betrays v0 (``why`` is empty for v0's own texts)."""

    needle: Needle
    why: str = ""


def no_leak(prover: ProverView) -> list[Callable[[], Obligation]]:
    """One no-leak decision per Text or enum parameter with a teaching value, run and timed by the prover."""
    out: list[Callable[[], Obligation]] = []
    for p in prover.family.params:
        if not isinstance(p.type, (TextT, EnumT)):
            continue  # numerals and booleans occur in outputs by coincidence (spec/checks.md)
        v0 = prover.teaching_value(p.name)
        if v0 is None:
            continue
        out.append(functools.partial(_no_leak, prover, p, v0))
    return out


def allowed_suffix(allows: tuple[CheckedAllow, ...]) -> str:
    """``; allowed: "text" (reason), …`` — an allowance is never silent (spec/checks.md)."""
    if not allows:
        return ""
    return "; allowed: " + ", ".join(f"{quote(a.text)} ({a.reason})" for a in allows)


def _no_leak(prover: ProverView, param: CheckedParam, v0: Value) -> Obligation:
    x, span, kind = param.name, param.span, "no-leak"
    allows = prover.family.allowed(x)
    allowed = [a.text for a in allows]
    constants = functools.cache(lambda: text_constants(prover, x, v0))  # scanned at most once, when needed
    clues = needles(prover, param, v0, constants)
    shown = show_value(v0)
    suffix = allowed_suffix(allows)
    allowances = tuple(Allowance(a.text, a.reason, a.span) for a in allows)

    def obligation(verdict: Any, evidence: str, code: str | None = None, hint: str | None = None) -> Obligation:
        return Obligation(kind, x, verdict, evidence + suffix, span, 0.0, code, hint=hint, allowed=allowances)

    for run in prover.runs:
        if run.theta.get(x) == v0 or not isinstance(run.outcome, Ok):
            continue
        hit = leak(run.outcome.value, run.theta, prover.family.params, clues, allowed)
        if hit is None:
            continue
        replayed = prover.replay(run.theta)
        if not (isinstance(replayed, Ok)
                and leak(replayed.value, run.theta, prover.family.params, clues, allowed) is not None):
            ob = prover.internal(kind, x, span, 0.0, "the leaking θ")
            return attrs.evolve(ob, allowed=allowances)
        snippet, clue = hit
        what = f"{clue.needle.text} is {clue.why}" if clue.why else f"the teaching value is {shown}" + (
            "" if clue.needle.text in (shown, v0) else f", written {quote(clue.needle.text)}")
        hint = (f"the output holds {clue.needle.text} whatever {x} is; look it up with {x} instead" if clue.why
                else f"the output mentions {shown} whatever {x} is; interpolate {x} instead")
        return obligation("refuted",
                          f"{x} = {shorten(show_value(run.theta[x]), 30)} still yields {shorten(snippet)} "
                          f"({what}); with {show_theta(run.theta)}", "DDL602", hint=hint)
    if prover.space.exhaustive:
        return obligation("proved",
                          f"no output for {x} ≠ {shown} mentions {shown} ({prover.space.describe()} evaluated)")
    for text in constants():
        for clue in clues:
            if counted(clue.needle, text, allowed) is not None:
                what = "" if not clue.why else f" ({clue.needle.text} is {clue.why})"
                return obligation("unknown",
                                  f"the constant {shorten(quote(text), 40)} mentions {shown}{what}, and Θ is too large "
                                  f"to show it is only used when {x} = {shown} (no sampled θ leaks it, "
                                  f"{len(prover.runs)} tried)", "DDL606")
    outside = " outside the allowed texts" if allows else ""
    selects = sum(1 for c in clues if c.why)
    what = f"{shown} (nor the {selects} texts and numbers it selects)" if selects else shown
    return obligation("proved",
                      f"{what} occurs in no text constant of the program, its functions or tables that can reach the "
                      f"output when {x} ≠ {shown}{outside}, so only parameter values can put it there; no sampled θ "
                      f"leaks it ({len(prover.runs)} tried)")


# ---------------------------------------------------------------------------- needles


def needles(prover: ProverView, param: CheckedParam, v0: Value,
            constants: Callable[[], list[str]]) -> list[Clue]:
    """v0's own needles, then the knowledge it selects (spec/checks.md, "Needles").

    A number of the knowledge with fewer than :data:`MIN_SIGNIFICANT` significant digits is a needle
    only when the program writes it down in a constant that can run when x ≠ v0 (the oven preheated to
    sourdough's 250 °C for every bread): computed, it may equal v0's by arithmetic; written, it was
    copied (a Decision, spec/checks.md).  ``constants`` gives :func:`text_constants` for x and v0."""
    out = [Clue(n) for n in value_needles(v0, param.type)]
    seen = {c.needle for c in out}
    for clue in knowledge(prover, param, v0):
        if clue.needle.numeral and significant_digits(clue.needle.text) < MIN_SIGNIFICANT:
            if not any(matches(clue.needle, text) for text in constants()):
                continue
        if clue.needle not in seen:
            seen.add(clue.needle)
            out.append(clue)
    return out


def atoms(value: Value) -> Iterator[tuple[str, Needle | None]]:
    """Every text and number inside a value (record fields, list items, map keys and values), each with
    its needle (None when it is too short to be one)."""
    if isinstance(value, bool) or isinstance(value, NoneV):
        return
    if isinstance(value, (int, Decimal)):
        yield show_value(value), number_needle(value, min_significant=1)
    elif isinstance(value, str):
        yield value, text_needle(value)
    elif isinstance(value, EnumV):
        for t in dict.fromkeys((value.name, value.display)):
            yield t, text_needle(t)
    elif isinstance(value, RecordV):
        for _, v in value.fields:
            yield from atoms(v)
    elif isinstance(value, SomeV):
        yield from atoms(value.value)
    elif isinstance(value, PMap):
        for k, v in value.items():
            yield from atoms(k)
            yield from atoms(v)
    elif isinstance(value, PVector):
        for v in value:
            yield from atoms(v)


def selected(entries: list[tuple[Value, Value]], key: Value, why: str) -> list[Clue]:
    """The texts and numbers of the entry at ``key`` that occur in no other entry (by the same matcher)."""
    mine = [v for k, v in entries if k == key]
    if not mine:
        return []
    others = [t for k, v in entries if k != key for t, _ in atoms(v)]
    out: list[Clue] = []
    for _, needle in atoms(mine[0]):
        if needle is not None and not any(matches(needle, t) for t in others):
            out.append(Clue(needle, why))
    return out


def knowledge(prover: ProverView, param: CheckedParam, v0: Value) -> list[Clue]:
    """Knowledge selected by v0: v0's entry of a table indexed by x, and of a map literal looked up with x."""
    x, module = param.name, prover.module
    program = prover.family.program
    roots = [program] + [module.functions[k].body for k in reachable_functions(module, program)]
    tables: list[str] = []
    for root in roots:
        for n in nodes(root):
            if isinstance(n, ir.TableGet) and (is_param(n.key, x) or (
                    isinstance(param.type, EnumT) and module.tables[n.table].key_type == param.type)):
                tables.append(n.table)
    out: list[Clue] = []
    for key in dict.fromkeys(tables):
        try:
            entries = list(prover.evaluator.table(key).items())
        except Exception:  # noqa: BLE001 - a table that fails to evaluate selects nothing we can name
            continue
        out.extend(selected(entries, v0, f"knowledge selected by {show_value(v0)} (its entry of table "
                                         f"{module.tables[key].name})"))
    for lookup in map_lookups(program, x):
        pairs: list[tuple[Value, Value]] = []
        for k_node, v_node in lookup.literal.entries:
            k, v = constant(prover, k_node), constant(prover, v_node)
            if k is None or v is None:
                pairs = []
                break
            pairs.append((k, v))
        out.extend(selected(pairs, lookup.key_at(v0), f"knowledge selected by {show_value(v0)} (its entry of "
                                                      f"the map at {lookup.literal.span.line}:{lookup.literal.span.col})"))
    return out


def constant(prover: ProverView, node: ir.Node) -> Value | None:
    if any(isinstance(n, (ir.Param, ir.Local, ir.Lambda)) for n in nodes(node)):
        return None
    out = prover.evaluator.eval_closed(node)
    return out.value if isinstance(out, Ok) else None


# ---------------------------------------------------------------------------- map literals looked up with x


def unwrap(n: ir.Node) -> ir.Node:
    """``n`` without the widenings and narrowings the checker put around it (a value of the same text)."""
    while isinstance(n, (ir.Widen, ir.Narrow)):
        n = n.inner
    return n


def is_param(n: ir.Node, x: str | None) -> bool:
    """Is ``n`` the parameter x (any parameter when x is None)?"""
    n = unwrap(n)
    return isinstance(n, ir.Param) and (x is None or n.name == x)


def key_form(n: ir.Node, x: str | None) -> str | None:
    """``x`` → "x"; ``show(x)``/``text(x)`` → "text" (the display text of an enum, the text itself); x None:
    any parameter."""
    if is_param(n, x):
        return "x"
    if isinstance(n, ir.CallBuiltin) and n.name in ("show", "text") and len(n.args) == 1 and is_param(n.args[0], x):
        return "text"
    return None


@attrs.frozen
class MapLookup:
    literal: ir.MakeMap = attrs.field(eq=False)
    form: str

    def key_at(self, v0: Value) -> Value:
        return key_at(self.form, v0)


def key_at(form: str, v0: Value) -> Value:
    """The key a lookup of that form uses when x = v0."""
    return v0.display if form == "text" and isinstance(v0, EnumV) else v0


def map_lookups(root: ir.Node, x: str) -> list[MapLookup]:
    """Map literals with constant keys looked up with x (``get(m, x)``, ``m[x]``, ``m[show(x)]``), directly
    or through a ``let``."""
    out: list[MapLookup] = []

    def visit(n: ir.Node, maps: dict[str, ir.MakeMap]) -> None:
        target = lookup_target(n)
        if target is not None:
            obj, key = target
            literal = obj if isinstance(obj, ir.MakeMap) else maps.get(obj.name) if isinstance(obj, ir.Local) else None
            form = key_form(key, x)
            if literal is not None and form is not None and all(isinstance(k, ir.Const) for k, _ in literal.entries):
                out.append(MapLookup(literal, form))
        if isinstance(n, ir.Let):
            visit(n.value, maps)
            inner = dict(maps)
            if isinstance(n.value, ir.MakeMap):
                inner[n.name] = n.value
            else:
                inner.pop(n.name, None)
            visit(n.body, inner)
            return
        for c in children(n):
            visit(c, maps)

    visit(root, {})
    return out


def lookup_target(n: ir.Node) -> tuple[ir.Node, ir.Node] | None:
    """(map, key) of a lookup whose result is an entry's value: ``get(m, k)`` or ``m[k]``."""
    if isinstance(n, ir.CallBuiltin) and n.name == "get" and len(n.args) == 2:
        return n.args[0], n.args[1]
    if isinstance(n, ir.Index) and n.kind == "map":
        return n.obj, n.index
    return None


# ---------------------------------------------------------------------------- the constants that can reach the output


def only_when_v0(cond: ir.Node, truth: bool, x: str, v0: Value) -> bool:
    """Does ``cond`` evaluating to ``truth`` imply x = v0?  (``x == v0``, ``x == v0 and …``, the else of
    ``x != v0`` and of ``x != v0 or …``, ``not``, nested.)"""
    if isinstance(cond, ir.Compare) and cond.op in ("==", "!="):
        equal = ((is_param(cond.left, x) and is_const(cond.right, v0))
                 or (is_param(cond.right, x) and is_const(cond.left, v0)))
        return equal and truth == (cond.op == "==")
    if isinstance(cond, ir.Not):
        return only_when_v0(cond.operand, not truth, x, v0)
    if isinstance(cond, ir.Logic):
        a = only_when_v0(cond.left, truth, x, v0)
        b = only_when_v0(cond.right, truth, x, v0)
        if (cond.op == "and") == truth:  # a true `and`, a false `or`: both sides took that value
            return a or b
        return a and b  # a false `and`, a true `or`: one side did, we do not know which
    return False


def is_const(n: ir.Node, v: Value) -> bool:
    n = unwrap(n)
    return isinstance(n, ir.Const) and n.value == v


def text_constants(prover: ProverView, x: str, v0: Value) -> list[str]:
    """Text constants (and numbers, as their text) that can reach the output when x ≠ v0 (portfolio item 6).

    Skipped, because they run only when x = v0: the arms of a ``match`` on x whose pattern is v0, the
    branch an ``if`` takes only when x = v0 (:func:`only_when_v0`), everything under those (including
    the functions only they call), the v0 entry of a table indexed by x and of a map literal looked up
    with x.  Also the v0 entry of a table or map indexed by another parameter y: it runs only when
    y = v0, and then y's own value mentions v0, so nothing of that run counts (:func:`leak`).  Not
    output: table keys, the keys of a map literal that is only looked up, and constants inside Bool
    conditions.
    """
    out: list[str] = []
    module = prover.module
    tables: list[tuple[str, bool]] = []
    functions: list[str] = []
    v0_is_bool_text = any(t.lower() in ("true", "false") for t in value_texts(v0))

    def lookup_key_at_v0(key: ir.Node) -> Value | None:
        form = key_form(key, None)
        return None if form is None else key_at(form, v0)

    def visit_map(literal: ir.MakeMap, keys: list[ir.Node] | None, in_program: bool) -> None:
        """A map literal; ``keys`` are the key expressions of every lookup when it is only looked up."""
        if keys is None:
            for k, v in literal.entries:
                visit(k, in_program)
                visit(v, in_program)
            return
        at_v0 = {lookup_key_at_v0(k) if in_program else None for k in keys}
        skip = next(iter(at_v0)) if len(at_v0) == 1 else None  # every lookup is by x: the v0 entry runs for v0 only
        for k, v in literal.entries:
            if not (skip is not None and isinstance(k, ir.Const) and k.value == skip):
                visit(v, in_program)

    def visit(n: ir.Node, in_program: bool) -> None:
        if isinstance(n.type, BoolT) and not v0_is_bool_text:
            return  # a condition's constants never reach the output as text
        if isinstance(n, ir.Const):  # its JSON form's texts, and enums' display texts too
            out.extend(dict.fromkeys([*output_texts(n.value), *(t for t, _ in atoms(n.value))]))
            return
        if isinstance(n, ir.Interp):
            out.extend(p for p in n.parts if isinstance(p, str))
        if isinstance(n, ir.CallFn) and n.fn not in functions:
            functions.append(n.fn)
        if isinstance(n, ir.TableGet):
            tables.append((n.table, in_program and is_param(n.key, None)))
        target = lookup_target(n)
        if target is not None and isinstance(target[0], ir.MakeMap):
            visit_map(target[0], [target[1]], in_program)
            visit(target[1], in_program)
            return
        if isinstance(n, ir.Let) and isinstance(n.value, ir.MakeMap):
            keys = lookup_keys(n.name, n.body)
            visit_map(n.value, keys, in_program)
            visit(n.body, in_program)
            return
        if in_program and isinstance(n, ir.Match) and is_param(n.scrutinee, x):
            for arm in n.arms:
                if not (isinstance(arm.pattern, ir.PatConst) and arm.pattern.value == v0):
                    visit(arm.body, in_program)
            return
        if in_program and isinstance(n, ir.If):
            if not only_when_v0(n.cond, True, x, v0):
                visit(n.then, in_program)
            if not only_when_v0(n.cond, False, x, v0):
                visit(n.else_, in_program)
            return
        for child in children(n):
            visit(child, in_program)

    out.extend(field_names(prover.family.ret))  # keys of the output's JSON form whatever θ is
    visit(prover.family.program, True)
    done_fns: set[str] = set()
    while functions:  # the functions the code that can run for x ≠ v0 calls, transitively
        key = functions.pop()
        if key not in done_fns:
            done_fns.add(key)
            visit(module.functions[key].body, False)
    done: set[tuple[str, bool]] = set()
    while tables:
        table, by_x = tables.pop()
        if (table, by_x) in done:
            continue
        done.add((table, by_x))
        for entry_key, entry_value in module.tables[table].entries:
            if not (by_x and is_const(entry_key, v0)):
                visit(entry_value, False)
        while functions:
            key = functions.pop()
            if key not in done_fns:
                done_fns.add(key)
                visit(module.functions[key].body, False)
    return out


def field_names(typ: Type) -> list[str]:
    """The field names of every record type inside an output type."""
    out: list[str] = []
    todo, seen = [typ], set()
    while todo:
        t = todo.pop()
        if isinstance(t, RecordT):
            if (t.origin, t.name) in seen:
                continue
            seen.add((t.origin, t.name))
            out.extend(name for name, _ in t.fields)
            todo.extend(f for _, f in t.fields)
        elif isinstance(t, (ListT, OptionT)):
            todo.append(t.elem if isinstance(t, ListT) else t.inner)
        elif isinstance(t, MapT):
            todo.extend((t.key, t.value))
    return out


def lookup_keys(name: str, body: ir.Node) -> list[ir.Node] | None:
    """The keys of every ``get(m, k)`` / ``m[k]`` when the local map ``name`` is only looked up in ``body``
    (``contains(m, k)`` too, which outputs no entry), else None: the map reaches the output whole."""
    keys: list[ir.Node] = []

    def is_it(n: ir.Node) -> bool:
        return isinstance(n, ir.Local) and n.name == name

    def ok(n: ir.Node) -> bool:
        if is_it(n):
            return False
        target = lookup_target(n)
        if target is not None and is_it(target[0]):
            keys.append(target[1])
            return ok(target[1])
        if isinstance(n, ir.CallBuiltin) and n.name == "contains" and n.args and is_it(n.args[0]):
            return all(ok(a) for a in n.args[1:])
        if isinstance(n, ir.Let) and n.name == name:
            return ok(n.value)  # shadowed below
        if isinstance(n, ir.Lambda) and name in n.params:
            return True
        return all(ok(c) for c in children(n))

    return keys if ok(body) else None


# ---------------------------------------------------------------------------- the runs


def output_texts(value: Value) -> list[str]:
    """Every text of the output's JSON form: text values, object keys, and numbers as their text."""
    out: list[str] = []

    def visit(j: Any) -> None:
        if isinstance(j, str):
            out.append(j)
        elif isinstance(j, bool) or j is None:
            return
        elif isinstance(j, int):
            out.append(str(j))
        elif isinstance(j, dict):
            for k, v in j.items():
                out.append(k)
                visit(v)
        elif isinstance(j, list):
            for v in j:
                visit(v)

    visit(to_json(value))
    return out


def parameter_texts(theta: Theta, params: tuple[CheckedParam, ...]) -> list[str]:
    """The texts a θ itself brings: Text values, enums' names, display texts and aliases, numbers."""
    types: dict[str, Type] = {p.name: p.type for p in params}
    out: list[str] = []

    def visit(v: Value, typ: Type | None) -> None:
        if isinstance(v, (str, EnumV)):
            out.extend(value_texts(v, typ))
        elif isinstance(v, bool) or isinstance(v, NoneV):
            return
        elif isinstance(v, (int, Decimal)):
            out.append(show_value(v))
        elif isinstance(v, SomeV):
            visit(v.value, getattr(typ, "inner", None))
        elif isinstance(v, RecordV):
            for _, f in v.fields:
                visit(f, None)
        elif isinstance(v, PMap):
            for k, f in v.items():
                visit(k, getattr(typ, "key", None))
                visit(f, getattr(typ, "value", None))
        elif isinstance(v, PVector):
            for f in v:
                visit(f, getattr(typ, "elem", None))

    for name, value in theta.items():
        visit(value, types.get(name))
    return out


def leak(value: Value, theta: Theta, params: tuple[CheckedParam, ...], clues: list[Clue],
         allowed: list[str]) -> tuple[str, Clue] | None:
    """The output text that mentions a needle (with that needle), unless some parameter's own value
    mentions it (for knowledge: mentions v0), or the mention lies inside an allowed constant."""
    own = parameter_texts(theta, params)
    texts = output_texts(value)
    def in_param(n: Needle) -> bool:  # a parameter's value is the needle, or mentions it
        return any(t == n.text or matches(n, t) for t in own)

    # A parameter whose value mentions v0 (another parameter set to v0) selects v0's knowledge itself.
    mentioned = any(in_param(c.needle) for c in clues if not c.why)
    for clue in clues:
        if in_param(clue.needle) or (clue.why and mentioned):
            continue  # the text came from a parameter, not from the program
        for text in texts:
            at = counted(clue.needle, text, allowed)
            if at is not None:
                lo, hi = max(0, at[0] - 30), at[1] + 30
                return quote(("…" if lo else "") + text[lo:hi] + ("…" if hi < len(text) else "")), clue
    return None
