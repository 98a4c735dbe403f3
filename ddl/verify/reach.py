"""The reachable obligation (spec/checks.md): every branch is taken, and none specializes the program.

A branch specializes the program to a teaching value v0 of x ("Specialization, precisely") when it
is *singled out* — the node's partition of x's values, from the prover's runs, is {v0} against all
the rest, an ``if … else if …`` chain testing x counting as one node — or when *one arm differs* —
an exhaustive ``match`` on x whose arms for every other value have structurally equal bodies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence

import attrs

from ddl.diagnostics import Span
from ddl.eval import arms
from ddl.eval.result import Ok
from ddl.types import ir
from ddl.types.checked import CheckedParam
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, TextT
from ddl.values import Value, show_value
from ddl.verify import intervals as iv
from ddl.verify.domains import Theta, finite_domain
from ddl.verify.obligations import Obligation
from ddl.verify.view import ProverView, at, shorten, show_theta
from ddl.verify.walk import branch_nodes, nodes

KIND = "reachable"
# Result types of a domain fact: a branch of these types that feeds a larger output is not the answer.
FACT_TYPES = (BoolT, IntT, DecimalT)


@attrs.frozen
class Shape:
    """Where the program's branch nodes sit: which are in tail position, which continue a chain."""

    tails: frozenset[int]  # id() of the nodes whose value is the program's value
    else_of: dict[int, ir.If] = attrs.field(eq=False)  # id(inner if) -> the if whose else it is

    @staticmethod
    def of(program: ir.Node) -> Shape:
        else_of: dict[int, ir.If] = {}
        for n in nodes(program):
            if isinstance(n, ir.If) and isinstance(n.else_, ir.If):
                else_of[id(n.else_)] = n
        return Shape(frozenset(id(n) for n in tail_nodes(program)), else_of)


def tail_nodes(program: ir.Node) -> Iterator[ir.Node]:
    """The program body and, through let bodies, if branches, match arm bodies and coercions, what it returns."""
    todo = [program]
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, ir.Let):
            todo.append(n.body)
        elif isinstance(n, ir.If):
            todo += [n.then, n.else_]
        elif isinstance(n, ir.Match):
            todo += [a.body for a in n.arms]
        elif isinstance(n, (ir.Widen, ir.Narrow)):
            todo.append(n.inner)


def same_expr(a: ir.Node, b: ir.Node) -> bool:
    """Structural equality of two IR expressions: IR nodes compare by their fields, spans excluded."""
    return a == b


def reachable(prover: ProverView) -> list[Callable[[], Obligation]]:
    """One decision per `if` and `match` of the program, run and timed by the prover."""
    shape = Shape.of(prover.family.program)
    return [functools.partial(_reachable, prover, shape, b) for b in branch_nodes(prover.family.program)]


def _reachable(prover: ProverView, shape: Shape, node: ir.If | ir.Match) -> Obligation:
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
            return Obligation(KIND, subject, "refuted",
                              f"arm {i + 1} is never taken: the arms before it cover every value of "
                              f"{node.scrutinee.type}", spans[i], 0.0, "DDL603",
                              hint="remove the dead arm")
        if not thetas:
            if prover.space.exhaustive:
                return Obligation(KIND, subject, "refuted",
                                  f"the {names[i]} branch is never taken ({prover.space.describe()} evaluated)",
                                  spans[i], 0.0, "DDL603", hint="remove the dead branch or fix its condition")
            return Obligation(KIND, subject, "unknown",
                              f"no sampled θ takes the {names[i]} branch ({len(prover.runs)} tried)",
                              spans[i], 0.0, "DDL606")
    special = specialization(prover, shape, node, subject)
    if special is not None:
        return special
    witnesses = "; ".join(f"{names[i]} at {show_theta(thetas[0])}" for i, thetas in enumerate(taken))
    return Obligation(KIND, subject, "proved", f"every branch is taken: {shorten(witnesses, 300)}", node.span, 0.0)


def specialization(prover: ProverView, shape: Shape, node: ir.If | ir.Match, subject: str) -> Obligation | None:
    """DDL604 when ``node`` specializes the program to some parameter's teaching value, else None."""
    for p in prover.family.params:
        v0 = prover.teaching_value(p.name)
        if v0 is None:
            continue
        number = isinstance(p.type, (IntT, DecimalT))
        if number:
            if exempt_number(prover, p, v0):
                continue
        elif not isinstance(p.type, (TextT, EnumT)):
            continue
        found = one_arm_differs(prover, node, p, v0, number, subject)
        if found is None:
            found = singled_out(prover, shape, node, p, v0, number, subject)
        if found is not None:
            return found
    return None


def exempt_number(prover: ProverView, p: CheckedParam, v0: Value) -> bool:
    """0, ±1, a bound of x's range and x's default: plurals, edges and defaults are singled out legitimately."""
    lo, hi = iv.type_range(p.type)
    if iv.frac(v0) in (-1, 0, 1, lo, hi):
        return True
    if p.default is None:
        return False
    default = prover.evaluator.eval_closed(p.default)
    return isinstance(default, Ok) and iv.frac(default.value) == iv.frac(v0)


# ---- case 1: singled out


@attrs.frozen
class Leaf:
    """One branch of a node or chain: the hit that takes it (as in ``Run.hits``), its name, its span."""

    owner: ir.If | ir.Match = attrs.field(eq=False)
    index: int
    name: str
    span: Span

    @property
    def key(self) -> tuple[int, int]:
        return (id(self.owner), self.index)


def leaves(chain: Sequence[ir.If | ir.Match]) -> list[Leaf]:
    head = chain[0]
    if isinstance(head, ir.Match):
        return [Leaf(head, i, f"arm {i + 1}", a.span) for i, a in enumerate(head.arms)]
    ifs = [c for c in chain if isinstance(c, ir.If)]
    if len(ifs) == 1:
        return [Leaf(head, 0, "the then branch", head.then.span), Leaf(head, 1, "the else branch", head.else_.span)]
    last = ifs[-1]
    return ([Leaf(c, 0, f"the branch at {at(c.then.span)}", c.then.span) for c in ifs]
            + [Leaf(last, 1, f"the branch at {at(last.else_.span)}", last.else_.span)])


def mentions(node: ir.Node, x: str) -> bool:
    return any(isinstance(n, ir.Param) and n.name == x for n in nodes(node))


def chain_of(shape: Shape, node: ir.If | ir.Match, x: str) -> list[ir.If | ir.Match] | None:
    """The node and the ``else if``s that continue it testing x; None when it continues a chain on x itself."""
    if not isinstance(node, ir.If):
        return [node]
    outer = shape.else_of.get(id(node))
    if outer is not None and mentions(node.cond, x) and mentions(outer.cond, x):
        return None
    chain: list[ir.If | ir.Match] = [node]
    while isinstance(node.else_, ir.If) and mentions(node.cond, x) and mentions(node.else_.cond, x):
        node = node.else_
        chain.append(node)
    return chain


def is_param(n: ir.Node, x: str) -> bool:
    return isinstance(n, ir.Param) and n.name == x


def tests_value(chain: Sequence[ir.If | ir.Match], x: str, v0: Value) -> bool:
    """Does some condition of the chain compare x with v0 (``x == v0``, ``x != v0``), or some arm match v0?"""
    def is_v0(n: ir.Node) -> bool:
        return isinstance(n, ir.Const) and n.value == v0

    for node in chain:
        if isinstance(node, ir.Match):
            if is_param(node.scrutinee, x) and any(isinstance(a.pattern, ir.PatConst) and a.pattern.value == v0
                                                   for a in node.arms):
                return True
            continue
        c = node.cond
        if (isinstance(c, ir.Compare) and c.op in ("==", "!=")
                and ((is_param(c.left, x) and is_v0(c.right)) or (is_param(c.right, x) and is_v0(c.left)))):
            return True
    return False


def singled_out(prover: ProverView, shape: Shape, node: ir.If | ir.Match, p: CheckedParam, v0: Value,
                number: bool, subject: str) -> Obligation | None:
    """Case 1: a branch taken only at x = v0 while every other value of x (≥ 2) takes one other branch."""
    x = p.name
    chain = chain_of(shape, node, x)
    if chain is None:  # reported once, at the head of the chain
        return None
    if number:
        if not tests_value(chain, x, v0):
            return None
    else:
        cond = node.cond if isinstance(node, ir.If) else node.scrutinee
        if not mentions(cond, x) and not prover.space.exhaustive:
            return None
        if isinstance(node.type, FACT_TYPES) and id(node) not in shape.tails:
            return None  # a domain fact feeding a larger output, not the answer
    branches = leaves(chain)
    values: list[list[Value]] = [[] for _ in branches]  # the values of x each branch was taken at
    witness: list[Theta | None] = [None for _ in branches]
    for run in prover.runs:
        v = run.theta[x]
        for i, leaf in enumerate(branches):
            if leaf.key in run.hits:
                if v not in values[i]:
                    values[i].append(v)
                if witness[i] is None and v == v0:
                    witness[i] = run.theta
    # The branches taken at some other value than v0: singled out only when exactly one.
    shared = [i for i, vals in enumerate(values) if any(v != v0 for v in vals)]
    others = {show_value(v) for vals in values for v in vals if v != v0}
    if len(shared) != 1 or len(others) < 2:
        return None
    rest = branches[shared[0]]
    for i, vals in enumerate(values):
        theta = witness[i]
        if vals != [v0] or theta is None:
            continue
        leaf = branches[i]
        if not prover.cov_replay(theta, leaf.owner, leaf.index):
            return prover.internal(KIND, subject, leaf.span, 0.0, "the branch witness")
        return Obligation(
            KIND, subject, "refuted",
            f"{leaf.name} is taken only when {x} = {show_value(v0)} (the teaching value); every other value of "
            f"{x} tried ({len(others)}) takes {rest.name} — a likely specialization",
            leaf.span, 0.0, "DDL604",
            hint=f"handle every {x} the same way, or split on a property rather than one value")
    return None


# ---- case 2: one arm differs


def one_arm_differs(prover: ProverView, node: ir.If | ir.Match, p: CheckedParam, v0: Value, number: bool,
                    subject: str) -> Obligation | None:
    """Case 2: an exhaustive match on x whose arms for every value but v0 (≥ 2, over ≥ 2 arms) are equal."""
    x = p.name
    if not isinstance(node, ir.Match) or not is_param(node.scrutinee, x):
        return None
    if number and not tests_value([node], x, v0):
        return None
    mine = arms.arm_index(node, v0)
    if mine is None or not isinstance(node.arms[mine].pattern, ir.PatConst):
        return None
    domain = finite_domain(p.type)
    if domain is not None:
        taken = [arms.arm_index(node, v) for v in domain if v != v0]
        if None in taken or mine in taken:
            return None  # not exhaustive, or v0's arm is not v0's alone
        count = len(taken)
        rest = sorted({i for i in taken if i is not None})
    else:  # an infinite domain: exhaustive only with a catch-all, which takes infinitely many values
        if not any(isinstance(a.pattern, ir.PatWild) for a in node.arms):
            return None
        rest = [i for i in range(len(node.arms)) if i != mine]
        count = len(rest) + 1
    if count < 2 or len(rest) < 2:
        return None  # every other value in one arm is case 1's (and its domain-fact exception's)
    body = node.arms[rest[0]].body
    if not all(same_expr(node.arms[i].body, body) for i in rest) or same_expr(node.arms[mine].body, body):
        return None
    witness = next((r.theta for r in prover.runs if (id(node), mine) in r.hits and r.theta[x] == v0), None)
    if witness is not None and not prover.cov_replay(witness, node, mine):
        return prover.internal(KIND, subject, node.arms[mine].span, 0.0, "the branch witness")
    shown = ", ".join(str(i + 1) for i in rest)
    return Obligation(
        KIND, subject, "refuted",
        f"arm {mine + 1} ({x} = {show_value(v0)}, the teaching value) is the only arm that differs: "
        f"arms {shown} (every other value of {x}) compute one and the same expression — a likely specialization",
        node.arms[mine].span, 0.0, "DDL604",
        hint=f"handle every {x} the same way (one arm `_ => …`), or give each value of {x} its own answer")


def covered_before(node: ir.If | ir.Match) -> set[int]:
    """Arms of a match on an enum or Bool that come after arms covering every value (so never run)."""
    if not isinstance(node, ir.Match) or not isinstance(node.scrutinee.type, (EnumT, BoolT)):
        return set()
    return arms.covered_before(node, finite_domain(node.scrutinee.type) or ())
