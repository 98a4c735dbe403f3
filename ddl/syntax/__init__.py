"""Phase 1: source text → immutable AST (with spans), and back (the formatter)."""

from ddl.syntax import ast
from ddl.syntax.parser import MAX_DEPTH, MAX_SOURCE_BYTES, parse_expr, parse_source

__all__ = ["MAX_DEPTH", "MAX_SOURCE_BYTES", "ast", "parse_expr", "parse_source"]
