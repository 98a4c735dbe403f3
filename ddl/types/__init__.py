"""Name resolution and type checking: the AST becomes a checked module over the typed IR.

Public face::

    Checker(module, loader).run()       → CheckedModule (diagnostics in .diags); the facade drives it
    CheckedModule, CheckedFamily        the checked module and its families (ddl.types.checked)
    ir                                  the typed core IR every later floor reads (ddl.types.ir)
    model                               the types: IntT, DecimalT, TextT, EnumT, ... (ddl.types.model)
    convert_regex                       DDL's regex AST → the engine's (ddl.types.regex)
    query.type_at                       the type of the expression at an offset (an editor's hover)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddl.types import ir, model
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.types.regex import convert_regex

if TYPE_CHECKING:
    from ddl.types.check import Checker


def __getattr__(name: str) -> Any:
    if name == "Checker":
        from ddl.types.check import Checker  # deferred: running a cached module never type-checks

        return Checker
    raise AttributeError(f"module 'ddl.types' has no attribute {name!r}")


__all__ = ["CheckedFamily", "CheckedModule", "Checker", "convert_regex", "ir", "model"]
