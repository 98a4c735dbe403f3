"""Walking the typed IR: children, all nodes, reachable functions, partial-operation sites."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from ddl import tree
from ddl.diagnostics import Span
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedModule


def children(node: ir.Node) -> Iterator[ir.Node]:
    """The IR expressions directly below ``node``, in field order (a match: scrutinee, then arm bodies).

    Built on the generic :func:`ddl.tree.children`: types, patterns and constant values are not
    expressions and are skipped; an :class:`~ddl.types.ir.Arm` stands for its body.
    """
    for c in tree.children(node):
        t = type(c)
        if t in ir.NODE_CLASSES:
            yield c
        elif t is ir.Arm:
            yield c.body


def nodes(root: ir.Node) -> Iterator[ir.Node]:
    """``root`` and every IR expression below it, depth first, in field order."""
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
