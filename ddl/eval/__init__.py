"""The DDL evaluator: the interpreter and the closure compiler over the typed IR.

Public face::

    EvalFailure, Ok, Err, Outcome      evaluation results (failures are values)
    Evaluator(module, budget=Budget()) .run(family, θ), .eval_closed(node, env, params), .call(fn, args)
    Budget(steps, max_text, max_items, seconds)   what one evaluation may use (semantics.md §12)
    compile_family(module, family)     IR compiled once to Python (failing runs: the interpreter's)
    compile_call(module, family)       what a Python call of a family runs: θ → JSON output, or an Err
    ThetaChecker(family, ev, module)   validate_theta for one family, prepared once; .entry(): a whole
                                       Python call generated as one function (SLOW: take the general path)
    validate_theta(family, ev, raw)    plain / JSON arguments → a checked θ (or messages)
    parse_param_value(text, type)      the text of ``--param name=value``

Runtime values themselves are :mod:`ddl.values` (a floor below: the checker and the formatter use
them too).
"""

from __future__ import annotations

from ddl.eval.compile import SLOW, compile_call, compile_family
from ddl.eval.interp import Evaluator
from ddl.eval.ops import Budget
from ddl.eval.result import Err, EvalFailure, Ok, Outcome
from ddl.eval.theta import ThetaChecker, parse_param_value, validate_theta

__all__ = [
    "SLOW", "Budget", "Err", "EvalFailure", "Evaluator", "Ok", "Outcome", "ThetaChecker", "compile_call", "compile_family",
    "parse_param_value", "validate_theta",
]
