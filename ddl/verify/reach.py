"""The reachable obligation (spec/checks.md): every branch is taken, and none only at a teaching value."""

from __future__ import annotations

import functools
from collections.abc import Callable

from ddl.eval import arms
from ddl.types import ir
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, TextT
from ddl.values import Value, show_value
from ddl.verify import intervals as iv
from ddl.verify.domains import Theta, finite_domain
from ddl.verify.obligations import Obligation
from ddl.verify.view import ProverView, at, shorten, show_theta
from ddl.verify.walk import branch_nodes, nodes


def reachable(prover: ProverView) -> list[Callable[[], Obligation]]:
    """One decision per `if` and `match` of the program, run and timed by the prover."""
    return [functools.partial(_reachable, prover, b) for b in branch_nodes(prover.family.program)]


def _reachable(prover: ProverView, node: ir.If | ir.Match) -> Obligation:
    kind = "reachable"
    word = "if" if isinstance(node, ir.If) else "match"
    subject = f"{word} at {at(node.span)}"
    names = ["then", "else"] if isinstance(node, ir.If) else [f"arm {i + 1}" for i in range(len(node.arms))]
    spans = [node.then.span, node.else_.span] if isinstance(node, ir.If) else [a.span for a in node.arms]
    taken: list[list[Theta]] = [[] for _ in names]
    for run in prover.runs:
        for i in range(len(names)):
            if (id(node), i) in run.hits:
                taken[i].append(run.theta)
    covered = covered_before(node)
    for i, thetas in enumerate(taken):
        if not thetas and i in covered and isinstance(node, ir.Match):
            return Obligation(kind, subject, "refuted",
                              f"arm {i + 1} is never taken: the arms before it cover every value of "
                              f"{node.scrutinee.type}", spans[i], 0.0, "DDL603",
                              hint="remove the dead arm")
        if not thetas:
            if prover.space.exhaustive:
                return Obligation(kind, subject, "refuted",
                                  f"the {names[i]} branch is never taken ({prover.space.describe()} evaluated)",
                                  spans[i], 0.0, "DDL603", hint="remove the dead branch or fix its condition")
            return Obligation(kind, subject, "unknown",
                              f"no sampled θ takes the {names[i]} branch ({len(prover.runs)} tried)",
                              spans[i], 0.0, "DDL606")
    # A branch taken only at the teaching value of x while another lumps other values together.
    cond = node.cond if isinstance(node, ir.If) else node.scrutinee
    mentioned = {n.name for n in nodes(cond) if isinstance(n, ir.Param)}
    for p in prover.family.params:
        v0 = prover.teaching_value(p.name)
        if v0 is None:
            continue
        if isinstance(p.type, (IntT, DecimalT)):
            # Numbers: only an explicit test of x against its teaching value, and not 0, ±1 or a bound
            # of the range (plurals and edge cases legitimately single those out).
            rng = iv.type_range(p.type)
            if not singles_out(node, p.name, v0) or iv.frac(v0) in (-1, 0, 1, rng[0], rng[1]):
                continue
        elif not isinstance(p.type, (TextT, EnumT)) or (p.name not in mentioned and not prover.space.exhaustive):
            continue
        values = [{th[p.name] for th in thetas} for thetas in taken]
        for i, vals in enumerate(values):
            others = [j for j in range(len(values)) if j != i and len(values[j] - {v0}) >= 2]
            if vals == {v0} and others:
                witness = taken[i][0]
                replayed = prover.cov_replay(witness, node, i)
                if not replayed:
                    return prover.internal(kind, subject, spans[i], 0.0, "the branch witness")
                return Obligation(
                    kind, subject, "refuted",
                    f"the {names[i]} branch is taken only when {p.name} = {show_value(v0)} (the teaching value); "
                    f"the other values of {p.name} share the {names[others[0]]} branch — a likely specialization",
                    spans[i], 0.0, "DDL604",
                    hint=f"handle every {p.name} the same way, or split on a property rather than one value")
    witnesses = "; ".join(f"{names[i]} at {show_theta(thetas[0])}" for i, thetas in enumerate(taken))
    return Obligation(kind, subject, "proved", f"every branch is taken: {shorten(witnesses, 300)}", node.span, 0.0)


def singles_out(node: ir.If | ir.Match, x: str, v0: Value) -> bool:
    """Does the branch test ``x == v0`` (or match x against the pattern v0)?"""
    def is_x(n: ir.Node) -> bool:
        return isinstance(n, ir.Param) and n.name == x

    def is_v0(n: ir.Node) -> bool:
        return isinstance(n, ir.Const) and n.value == v0

    if isinstance(node, ir.If):
        c = node.cond
        return (isinstance(c, ir.Compare) and c.op in ("==", "!=")
                and ((is_x(c.left) and is_v0(c.right)) or (is_x(c.right) and is_v0(c.left))))
    return is_x(node.scrutinee) and any(isinstance(a.pattern, ir.PatConst) and a.pattern.value == v0
                                        for a in node.arms)


def covered_before(node: ir.If | ir.Match) -> set[int]:
    """Arms of a match on an enum or Bool that come after arms covering every value (so never run)."""
    if not isinstance(node, ir.Match) or not isinstance(node.scrutinee.type, (EnumT, BoolT)):
        return set()
    return arms.covered_before(node, finite_domain(node.scrutinee.type) or ())
