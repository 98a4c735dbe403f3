"""Phase 1: source text → immutable AST (with spans), and back (the formatter).

The parser (and lark with it) loads on first use of ``parse_source`` and friends: reading a checked
module from the cache (``ddl handle`` with a warm cache) needs the AST's classes only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddl.syntax import ast

if TYPE_CHECKING:
    from ddl.syntax.parser import MAX_DEPTH, MAX_SOURCE_BYTES, parse_expr, parse_regex, parse_source

_PARSER_NAMES = ("MAX_DEPTH", "MAX_SOURCE_BYTES", "parse_expr", "parse_regex", "parse_source")


def __getattr__(name: str) -> Any:
    if name in _PARSER_NAMES:
        from ddl.syntax import parser  # deferred: lark loads only when something is parsed

        return getattr(parser, name)
    raise AttributeError(f"module 'ddl.syntax' has no attribute {name!r}")


__all__ = ["MAX_DEPTH", "MAX_SOURCE_BYTES", "ast", "parse_expr", "parse_regex", "parse_source"]
