"""DDL, the Discrete Distillation Language.

The facade: ``ddl.load(path)`` → a checked program; ``.family(name)`` → a callable
that takes θ as keyword arguments and returns plain JSON-able values.

Names are imported lazily, so that a sub-package such as ``ddl.regular`` (the
automata engine) can be used without loading the rest of the language.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = ("ArgumentError", "Family", "Program", "RunError", "compile_file", "compile_source", "load", "loads")
_DIAGNOSTICS = ("DDLError", "Diagnostic")

__all__ = [*_API, *_DIAGNOSTICS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from ddl import api

        return getattr(api, name)
    if name in _DIAGNOSTICS:
        from ddl import diagnostics

        return getattr(diagnostics, name)
    raise AttributeError(f"module 'ddl' has no attribute {name!r}")
