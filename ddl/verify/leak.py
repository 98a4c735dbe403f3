"""The no-leak obligation (spec/checks.md): for x ≠ v0 the output never mentions v0, x's teaching value."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from ddl.diagnostics import Span
from ddl.eval.result import Ok
from ddl.types import ir
from ddl.types.model import BoolT, EnumT, TextT
from ddl.values import EnumV, Value, show_value, to_json
from ddl.verify.domains import Theta
from ddl.verify.obligations import Obligation
from ddl.verify.view import ProverView, quote, shorten, show_theta
from ddl.verify.walk import children, reachable_functions


def no_leak(prover: ProverView) -> list[Callable[[], Obligation]]:
    """One no-leak decision per Text or enum parameter with a teaching value, run and timed by the prover."""
    out: list[Callable[[], Obligation]] = []
    for p in prover.family.params:
        if not isinstance(p.type, (TextT, EnumT)):
            continue  # numerals and booleans occur in outputs by coincidence (spec/checks.md)
        v0 = prover.teaching_value(p.name)
        if v0 is None:
            continue
        out.append(functools.partial(_no_leak, prover, p.name, v0, p.span))
    return out


def _no_leak(prover: ProverView, x: str, v0: Value, span: Span) -> Obligation:
    kind = "no-leak"
    pats = [word_pattern(n) for n in needles(v0)]
    shown = show_value(v0)
    for run in prover.runs:
        if run.theta.get(x) == v0 or not isinstance(run.outcome, Ok):
            continue
        hit = leak(run.outcome.value, run.theta, pats)
        if hit is None:
            continue
        replayed = prover.replay(run.theta)
        if not (isinstance(replayed, Ok) and leak(replayed.value, run.theta, pats) is not None):
            return prover.internal(kind, x, span, 0.0, "the leaking θ")
        return Obligation(kind, x, "refuted",
                          f"{x} = {shorten(show_value(run.theta[x]), 30)} still yields {shorten(hit)} "
                          f"(the teaching value is {shown}); with {show_theta(run.theta)}",
                          span, 0.0, "DDL602",
                          hint=f"the output mentions {shown} whatever {x} is; interpolate {x} instead")
    if prover.space.exhaustive:
        return Obligation(kind, x, "proved",
                          f"no output for {x} ≠ {shown} mentions {shown} ({prover.space.describe()} evaluated)",
                          span, 0.0)
    constants = text_constants(prover, x, v0)
    bad = [c for c in constants if any(p.search(c) for p in pats)]
    if not bad:
        return Obligation(kind, x, "proved",
                          f"{shown} occurs in no text constant of the program, its functions or tables, so only "
                          f"parameter values can put it in the output; no sampled θ leaks it ({len(prover.runs)} tried)",
                          span, 0.0)
    return Obligation(kind, x, "unknown",
                      f"the constant {shorten(quote(bad[0]), 40)} mentions {shown}, and Θ is too large to show it is "
                      f"only used when {x} = {shown} (no sampled θ leaks it, {len(prover.runs)} tried)",
                      span, 0.0, "DDL606")


def text_constants(prover: ProverView, x: str, v0: Value) -> list[str]:
    """Text constants that can reach the output when x ≠ v0.

    Arms of a ``match`` on x for v0, the branch of ``if x == v0`` (or the else of ``x != v0``) and
    the v0 entry of a table indexed by x are skipped: they only run when x = v0.  Table keys never
    reach the output by themselves and are not collected.
    """
    out: list[str] = []
    tables: list[tuple[str, bool]] = []

    def is_x(n: ir.Node) -> bool:
        return isinstance(n, ir.Param) and n.name == x

    def is_v0(n: ir.Node) -> bool:
        return isinstance(n, ir.Const) and n.value == v0

    def visit(n: ir.Node, in_program: bool) -> None:
        if isinstance(n.type, BoolT) and not any(t.lower() in ("true", "false") for t in value_texts(v0)):
            return  # a condition's constants never reach the output as text
        if isinstance(n, ir.Const):
            out.extend(value_texts(n.value))
            return
        if isinstance(n, ir.Interp):
            out.extend(p for p in n.parts if isinstance(p, str))
        if isinstance(n, ir.TableGet):
            tables.append((n.table, in_program and is_x(n.key)))
        if isinstance(n, ir.Let) and isinstance(n.value, ir.MakeMap) and lookup_only(n.name, n.body):
            for _, value in n.value.entries:  # the keys are only looked up, never output
                visit(value, in_program)
            visit(n.body, in_program)
            return
        if in_program and isinstance(n, ir.Match) and is_x(n.scrutinee):
            for arm in n.arms:
                if not (isinstance(arm.pattern, ir.PatConst) and arm.pattern.value == v0):
                    visit(arm.body, in_program)
            return
        if in_program and isinstance(n, ir.If) and isinstance(n.cond, ir.Compare) and n.cond.op in ("==", "!="):
            c = n.cond
            if (is_x(c.left) and is_v0(c.right)) or (is_x(c.right) and is_v0(c.left)):
                visit(n.cond, in_program)
                visit(n.else_ if c.op == "==" else n.then, in_program)
                return
        for child in children(n):
            visit(child, in_program)

    visit(prover.family.program, True)
    for k in reachable_functions(prover.module, prover.family.program):
        visit(prover.module.functions[k].body, False)
    done: set[tuple[str, bool]] = set()
    while tables:
        table, by_x = tables.pop()
        if (table, by_x) in done:
            continue
        done.add((table, by_x))
        for entry_key, entry_value in prover.module.tables[table].entries:
            if by_x and is_v0(entry_key):
                continue
            visit(entry_value, False)
    return out


def lookup_only(name: str, body: ir.Node) -> bool:
    """Is the local ``name`` (a map) used only to look keys up: ``get(m, k)``, ``contains(m, k)``, ``m[k]``?"""
    def is_it(n: ir.Node) -> bool:
        return isinstance(n, ir.Local) and n.name == name

    def ok(n: ir.Node) -> bool:
        if is_it(n):
            return False
        if isinstance(n, ir.CallBuiltin) and n.name in ("get", "contains") and n.args and is_it(n.args[0]):
            return all(ok(a) for a in n.args[1:])
        if isinstance(n, ir.Index) and is_it(n.obj):
            return ok(n.index)
        if isinstance(n, ir.Let) and n.name == name:
            return ok(n.value)  # shadowed below
        return all(ok(c) for c in children(n))

    return ok(body)


def value_texts(v: Value) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, EnumV):
        return [v.name, v.display]
    return []


def needles(v0: Value) -> list[str]:
    """The texts that betray a teaching value: a text itself; an enum's name and display text."""
    return [t for t in dict.fromkeys(value_texts(v0)) if t.strip()]


def word_pattern(needle: str) -> re.Pattern[str]:
    """``needle`` as a whole word, ignoring case: no letter, digit or underscore right before or after it."""
    return re.compile(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", re.IGNORECASE)


def output_texts(value: Value) -> list[str]:
    out: list[str] = []

    def visit(j: Any) -> None:
        if isinstance(j, str):
            out.append(j)
        elif isinstance(j, dict):
            for k, v in j.items():
                out.append(k)
                visit(v)
        elif isinstance(j, list):
            for v in j:
                visit(v)

    visit(to_json(value))
    return out


def leak(value: Value, theta: Theta, pats: list[re.Pattern[str]]) -> str | None:
    """The output text that mentions the teaching value, unless some parameter's own value mentions it."""
    param_texts = [t for v in theta.values() for t in value_texts(v)]
    for pat in pats:
        if any(pat.search(t) for t in param_texts):
            continue
        for text in output_texts(value):
            m = pat.search(text)
            if m:
                lo = max(0, m.start() - 30)
                return quote(("…" if lo else "") + text[lo : m.end() + 30] + ("…" if m.end() + 30 < len(text) else ""))
    return None
