"""Walking the immutable trees (AST and typed IR): the attrs nodes directly below a node, and all of them.

This is the one child enumeration of both trees: :func:`ddl.verify.walk.children` (the typed IR's
own view, which yields IR expression nodes only) is built on :func:`children`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from ddl.diagnostics import Span


def _is_node(v: Any) -> bool:
    return attrs.has(type(v)) and not isinstance(v, Span)


def children(node: Any) -> Iterator[Any]:
    """The attrs nodes directly below ``node``, in field order, through (nested) tuples.

    Spans are positions, not nodes, and are not yielded; nor are strings, numbers or None.
    """
    for f in attrs.fields(type(node)):
        v = getattr(node, f.name)
        if isinstance(v, tuple):
            yield from _flatten(v)
        elif _is_node(v):
            yield v


def _flatten(items: tuple[Any, ...]) -> Iterator[Any]:
    for x in items:
        if isinstance(x, tuple):
            yield from _flatten(x)
        elif _is_node(x):
            yield x


def nodes(root: Any) -> Iterator[Any]:
    """Every attrs node reachable from ``root`` (itself included), through fields and tuples of them.

    Iterative, so deep trees are fine.  A tuple root yields the nodes of each of its items.
    """
    stack: list[Any] = list(_flatten((root,)))
    while stack:
        n = stack.pop()
        yield n
        stack.extend(children(n))
