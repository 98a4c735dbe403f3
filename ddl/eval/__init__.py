"""The DDL evaluator: runtime values, the interpreter and the closure compiler.

Public face::

    EvalFailure, Ok, Err, Outcome      evaluation results (failures are values)
    Evaluator(module, step_budget)     .run(family, θ), .eval_closed(node, env, params), .call(fn, args)
    compile_family(module, family)     a second backend: IR compiled once to closures
    validate_theta(family, ev, raw)    plain / JSON arguments → a checked θ (or messages)
    parse_param_value(text, type)      the text of ``--param name=value``

Names are loaded lazily: :mod:`ddl.types.ir` imports :mod:`ddl.values`,
so importing the evaluator here eagerly would be an import cycle.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ddl.eval.compile import compile_family
    from ddl.eval.interp import Evaluator
    from ddl.eval.result import Err, EvalFailure, Ok, Outcome
    from ddl.eval.theta import parse_param_value, validate_theta

_EXPORTS = {
    "EvalFailure": "ddl.eval.result",
    "Ok": "ddl.eval.result",
    "Err": "ddl.eval.result",
    "Outcome": "ddl.eval.result",
    "Evaluator": "ddl.eval.interp",
    "compile_family": "ddl.eval.compile",
    "validate_theta": "ddl.eval.theta",
    "parse_param_value": "ddl.eval.theta",
}

__all__ = [
    "Err", "EvalFailure", "Evaluator", "Ok", "Outcome", "compile_family", "parse_param_value", "validate_theta",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ddl.eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
