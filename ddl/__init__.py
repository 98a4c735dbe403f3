"""DDL, the Discrete Distillation Language.

The facade: ``ddl.load(path)`` → a checked program; ``.family(name)`` → a callable
that takes θ as keyword arguments and returns plain JSON-able values.

Names are imported lazily, so that a sub-package such as ``ddl.regular`` (the
automata engine) can be used without loading the rest of the language; ``dir(ddl)``
lists them.
"""

from __future__ import annotations

import sys
from typing import Any

from ddl.version import __version__

# A DDL Int has no size limit (a run's step budget bounds how far it grows and charges for printing
# it), so `show`, `ddl run`, the JSON forms and diagnostics must write all of its digits: lift
# CPython's 4,300-digit guard on int <-> text conversion for the process (spec/semantics.md §3).
# Every text DDL turns into an int is bounded before it is converted (literals 1,000 digits, θ 4,000
# digits, request bodies --max-body bytes), which is what that guard protects.
sys.set_int_max_str_digits(0)

_API = ("ArgumentError", "CheckReport", "Family", "FamilyNotFound", "FileResult", "InputError", "Program", "RunError",
        "check", "check_file", "check_source", "compile_file", "compile_source", "find_family", "load", "loads",
        "parse_params")
_DIAGNOSTICS = ("DDLError", "Diagnostic")

__all__ = [*_API, *_DIAGNOSTICS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from ddl import api  # deferred: `import ddl.regular` must not load the whole language

        return getattr(api, name)
    if name in _DIAGNOSTICS:
        from ddl import diagnostics  # deferred: as above

        return getattr(diagnostics, name)
    raise AttributeError(f"module 'ddl' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The public face and the module's own dunders; not the helpers this file imports (sys, Any, ...).
    return sorted({*__all__, *(n for n in globals() if n.startswith("__") and n.endswith("__"))})
