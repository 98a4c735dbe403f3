"""Questions about a checked module by source position: the type of the expression at an offset.

An editor's hover asks this (``ddl.lsp``).  The typed IR already carries a type and a span on every
expression node; this walks it with the one child enumeration of the trees (:func:`ddl.tree.children`)
and picks the innermost node whose span holds the offset.  Nothing is recorded during checking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from ddl.diagnostics import Span
from ddl.syntax.ast import NOSPAN
from ddl.tree import children
from ddl.types import ir
from ddl.types.checked import CheckedModule
from ddl.types.model import Type


@attrs.frozen
class TypeAt:
    """The type of what is written at ``span``: an expression, or (``name`` set) a ``let`` binder."""

    span: Span
    type: Type
    name: str | None = None


def _roots(module: CheckedModule) -> Iterator[Any]:
    """Every typed expression tree of the module's own declarations."""
    for fam in module.families.values():
        for p in fam.params:
            yield p.where
            yield p.default
        yield fam.program
        for ex in fam.examples:
            yield from (value for _, value in ex.bindings)
            yield ex.expected
        for en in fam.ensures:
            yield en.expr
        yield from (value for _, value in fam.teach)
    for fn in module.functions.values():
        yield fn.body
    for table in module.tables.values():
        for key, value in table.entries:
            yield key
            yield value


def _holds(span: Span, path: str, offset: int) -> bool:
    return span is not NOSPAN and span.path == path and span.start <= offset < max(span.end, span.start + 1)


def type_at(module: CheckedModule, path: str, offset: int) -> TypeAt | None:
    """The innermost typed expression of ``module`` written in ``path`` whose span holds the character
    ``offset``; on a ``let``'s name, the binder and the type of its value.  None when there is none
    (a declaration's header, a grammar, a comment).

    Of nested nodes with the same span (an implicit :class:`ir.Widen` or :class:`ir.Narrow` around an
    expression) the innermost wins: the type the expression has, not the one it is converted to."""
    best: tuple[int, int, Any] | None = None  # (width, -depth, node)
    stack: list[tuple[Any, int]] = [(root, 0) for root in _roots(module) if root is not None]
    while stack:
        node, depth = stack.pop()
        span = getattr(node, "span", None)
        inside = isinstance(span, Span) and _holds(span, path, offset)
        if inside and hasattr(node, "type"):
            assert isinstance(span, Span)
            key = (span.end - span.start, -depth)
            if best is None or key < best[:2]:
                best = (*key, node)
        # A node's children lie inside its span, except where the checker moved a node (a default
        # argument); so descend everywhere rather than prune, the trees are small.
        stack.extend((child, depth + 1) for child in children(node))
    if best is None:
        return None
    node = best[2]
    if isinstance(node, ir.Let) and node.value.span is not NOSPAN and offset < node.value.span.start:
        return TypeAt(node.span, node.value.type, node.name)
    return TypeAt(node.span, node.type)
