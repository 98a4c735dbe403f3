"""Which ``match`` arm a value takes: the one rule, used by every consumer of the typed IR.

A pattern matches a runtime value when it is ``_`` (:class:`~ddl.types.ir.PatWild`), a constant
equal to the value by :func:`~ddl.eval.ops.values_equal` (:class:`~ddl.types.ir.PatConst`: a Bool
never equals an Int), ``some(x)`` and the value is a :class:`~ddl.values.SomeV`, or ``none`` and it
is not.  The *first* matching arm is taken.  The interpreter, the closure compiler, the verifier's
branch coverage and the symbolic prover all call :func:`arm_index`; :func:`covered_before` answers
the static question (which arms can never run because the arms before them take every value) by
applying the same rule to every value of a finite scrutinee type.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ddl.eval.ops import values_equal
from ddl.types import ir
from ddl.values import SomeV

_CONST, _WILD, _SOME = ir.PatConst, ir.PatWild, ir.PatSome


def arm_index(node: ir.Match, value: Any) -> int | None:
    """The index of the first arm whose pattern matches ``value``; None when no arm does."""
    index = 0
    for arm in node.arms:
        pat = arm.pattern
        t = type(pat)
        if t is _CONST:
            const = pat.value  # type: ignore[union-attr]
            # A plain == rules most arms out cheaply; values_equal decides (True is not 1 in DDL).
            if const == value and values_equal(const, value):
                return index
        elif t is _WILD:
            return index
        elif t is _SOME:
            if type(value) is SomeV:
                return index
        elif type(value) is not SomeV:  # none
            return index
        index += 1
    return None


def binder(pattern: ir.IRPattern) -> str | None:
    """The local a pattern binds (``some(x)`` binds x to the option's value), or None."""
    return pattern.binder if type(pattern) is _SOME else None  # type: ignore[union-attr]


def covered_before(node: ir.Match, values: Iterable[Any]) -> set[int]:
    """Arms that come after arms taking every one of ``values`` (the scrutinee's whole finite domain).

    Arm ``i`` is in the result when, for every value, :func:`arm_index` picks an arm before ``i``:
    no value can reach it.  Empty when some value matches no arm.
    """
    last = -1
    for v in values:
        index = arm_index(node, v)
        if index is None:
            return set()
        last = max(last, index)
    return set(range(last + 1, len(node.arms)))


__all__ = ["arm_index", "binder", "covered_before"]
