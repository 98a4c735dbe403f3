"""Walking the immutable trees (AST and typed IR): every attrs node below a root."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from ddl.diagnostics import Span


def nodes(root: Any) -> Iterator[Any]:
    """Every attrs node reachable from ``root`` (itself included), through fields and tuples of them.

    Spans are positions, not nodes, and are not entered.  Iterative, so deep trees are fine.
    """
    stack: list[Any] = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, tuple):
            stack.extend(n)
            continue
        if not attrs.has(type(n)) or isinstance(n, Span):
            continue
        yield n
        for f in attrs.fields(type(n)):
            v = getattr(n, f.name)
            if isinstance(v, tuple) or (attrs.has(type(v)) and not isinstance(v, Span)):
                stack.append(v)
