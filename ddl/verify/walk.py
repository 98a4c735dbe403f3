"""Walking the typed IR: children, all nodes, reachable functions, partial-operation sites."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ddl.diagnostics import Span
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedModule


def children(node: ir.Node) -> Iterator[ir.Node]:
    t = type(node)
    if t is ir.Interp:
        for p in node.parts:  # type: ignore[union-attr]
            if not isinstance(p, str):
                yield p
        return
    if t is ir.Match:
        yield node.scrutinee  # type: ignore[union-attr]
        for arm in node.arms:  # type: ignore[union-attr]
            yield arm.body
        return
    if t is ir.MakeMap:
        for k, v in node.entries:  # type: ignore[union-attr]
            yield k
            yield v
        return
    if t is ir.MakeRecord:
        for _, v in node.fields:  # type: ignore[union-attr]
            yield v
        return
    for f in attrs.fields(t):
        if f.name in ("type", "span", "param_types"):
            continue
        v = getattr(node, f.name)
        if isinstance(v, tuple):
            for x in v:
                if attrs.has(type(x)):
                    yield x
        elif v is not None and attrs.has(type(v)) and not isinstance(v, Span):
            yield v


def nodes(root: ir.Node) -> Iterator[ir.Node]:
    stack = [root]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(children(n))))


def reachable_functions(module: CheckedModule, root: ir.Node) -> list[str]:
    """Keys of the user functions the expression calls, directly or not, in first-call order."""
    out: list[str] = []
    todo = [root]
    while todo:
        for n in nodes(todo.pop()):
            if isinstance(n, ir.CallFn) and n.fn not in out:
                out.append(n.fn)
                todo.append(module.functions[n.fn].body)
    return out


@attrs.frozen
class Site:
    """A partial operation: where a run can fail."""

    node: ir.Node = attrs.field(eq=False)
    what: str  # "division", "modulo", "index", "key lookup", "table lookup", "narrowing"
    owner: str | None  # the function key, or None for the program

    @property
    def span(self) -> Span:
        return self.node.span

    @property
    def subject(self) -> str:
        return f"{self.what} at {self.span.line}:{self.span.col}"


def sites(module: CheckedModule, family: CheckedFamily) -> list[Site]:
    out: list[Site] = []
    roots: list[tuple[str | None, ir.Node]] = [(None, family.program)]
    roots += [(k, module.functions[k].body) for k in reachable_functions(module, family.program)]
    seen: set[int] = set()
    for owner, root in roots:
        for n in nodes(root):
            if id(n) in seen:
                continue
            seen.add(id(n))
            if isinstance(n, ir.Arith) and n.op in ("/", "%"):
                out.append(Site(n, "division" if n.op == "/" else "modulo", owner))
            elif isinstance(n, ir.Index):
                out.append(Site(n, "index" if n.kind == "list" else "key lookup", owner))
            elif isinstance(n, ir.TableGet) and n.partial:
                out.append(Site(n, "table lookup", owner))
            elif isinstance(n, ir.Narrow):
                out.append(Site(n, "narrowing", owner))
    return out


def branch_nodes(root: ir.Node) -> list[ir.If | ir.Match]:
    return [n for n in nodes(root) if isinstance(n, (ir.If, ir.Match))]
