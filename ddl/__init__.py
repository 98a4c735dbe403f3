"""DDL, the Discrete Distillation Language.

The facade: ``ddl.load(path)`` → a checked program; ``.family(name)`` → a callable
that takes θ as keyword arguments and returns plain JSON-able values.
"""

__version__ = "0.1.0"

from ddl.api import ArgumentError, Family, Program, RunError, compile_file, compile_source, load, loads  # noqa: E402
from ddl.diagnostics import DDLError, Diagnostic  # noqa: E402

__all__ = [
    "ArgumentError", "DDLError", "Diagnostic", "Family", "Program", "RunError", "__version__",
    "compile_file", "compile_source", "load", "loads",
]
