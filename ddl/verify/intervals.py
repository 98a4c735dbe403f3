"""Interval analysis over the typed IR (Int and Decimal), for ``safe`` obligations.

Every Int or Decimal expression gets a sound interval ``[lo, hi]`` (bounds are
exact :class:`~fractions.Fraction` values, ``None`` for unbounded): parameters
by their declared ranges, tables by their entries, user functions inlined with
the argument intervals, decimal results widened by half a unit of their scale
(rounding), and every result intersected with the checker's own range.  A
division whose divisor interval excludes 0, or a narrowing whose operand
interval lies inside the target range, is safe for every θ.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ddl.eval.arms import binder
from ddl.regular import Lang, RegularError
from ddl.regular.charset import CharSet
from ddl.types import ir
from ddl.types.checked import CheckedModule
from ddl.types.model import DecimalT, IntT, ListT, MapT, OptionT, TextT, Type
from ddl.types.regex import convert_regex

Bound = Fraction | None
Interval = tuple[Bound, Bound]
TOP: Interval = (None, None)
MAX_DEPTH = 8


def frac(v: Any) -> Fraction | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, Decimal)):
        return Fraction(v)
    return None


def type_range(t: Type) -> Interval:
    if isinstance(t, IntT):
        return (frac(t.lo), frac(t.hi))
    if isinstance(t, DecimalT):
        return (frac(t.lo), frac(t.hi))
    if isinstance(t, (TextT, ListT, MapT)):
        return TOP
    return TOP


def meet(a: Interval, b: Interval) -> Interval:
    lo = a[0] if b[0] is None else b[0] if a[0] is None else max(a[0], b[0])
    hi = a[1] if b[1] is None else b[1] if a[1] is None else min(a[1], b[1])
    return (lo, hi)


def join(a: Interval, b: Interval) -> Interval:
    lo = None if a[0] is None or b[0] is None else min(a[0], b[0])
    hi = None if a[1] is None or b[1] is None else max(a[1], b[1])
    return (lo, hi)


def _corners(a: Interval, b: Interval, f: Any) -> Interval:
    if None in a or None in b:
        return TOP
    vals = [f(x, y) for x in a for y in b]  # type: ignore[arg-type]
    return (min(vals), max(vals))


def _widen(iv: Interval, t: Type) -> Interval:
    """Round the bounds half-even to the scale of a decimal result (rounding is monotone)."""
    if not isinstance(t, DecimalT):
        return iv

    def r(x: Bound) -> Bound:
        if x is None:
            return None
        unit = 10**t.scale
        return Fraction(round(x * unit), unit)  # Fraction.__round__ rounds half to even

    return (r(iv[0]), r(iv[1]))


def round_bounds(iv: Interval, t: Type) -> Interval:
    """Bounds of a value rounded half-even to the scale of ``t`` (Int results are exact)."""
    return _widen(iv, t)


def excludes_zero(iv: Interval) -> bool:
    return (iv[0] is not None and iv[0] > 0) or (iv[1] is not None and iv[1] < 0)


def within(iv: Interval, target: Interval) -> bool:
    lo_ok = target[0] is None or (iv[0] is not None and iv[0] >= target[0])
    hi_ok = target[1] is None or (iv[1] is not None and iv[1] <= target[1])
    return lo_ok and hi_ok


MAX_NUMERAL_DIGITS = 18  # parse_int reads at most 18 digits (stdlib/README.md)
NUMERAL_STATES = 5_000  # larger pattern automata are not searched for their extreme numerals


@functools.lru_cache(maxsize=256)
def numeral_range(pattern: Any) -> Interval | None:
    """The values parse_int takes on the texts of a pattern that admits only optionally signed numerals
    of at most 18 digits (so parse_int never fails on them); None when some text is no such numeral.

    The bounds are the pattern's greatest and least numerals (searched digit by digit in its automaton)."""
    try:
        lang = Lang.from_regex(convert_regex(pattern))
        digits = Lang.chars(CharSet.from_ranges([("0", "9")]))
        numeral = Lang.chars(CharSet.from_ranges([("+", "+"), ("-", "-")])).optional().concat(
            digits.repeat(1, MAX_NUMERAL_DIGITS))
        if lang.is_empty() or not lang.subset_of(numeral)[0]:
            return None
        dfa = lang.dfa
    except (RegularError, ValueError):
        return None
    if dfa.n > NUMERAL_STATES:
        return None
    step = [[dfa.run_from(s, str(d)) for d in range(10)] for s in range(dfa.n)]
    # ok[k][s]: exactly k more digits lead from s to acceptance
    ok = [[bool(a) for a in dfa.accept]]
    for _ in range(MAX_NUMERAL_DIGITS):
        prev = ok[-1]
        ok.append([any(prev[t] for t in step[s]) for s in range(dfa.n)])

    def extreme(state: int, biggest: bool) -> int | None:
        """The greatest (or least) value of the digit strings accepted from ``state``."""
        best: int | None = None
        for k in range(1, MAX_NUMERAL_DIGITS + 1):
            if not ok[k][state]:
                continue
            s, value = state, 0
            for rem in range(k, 0, -1):
                order = range(9, -1, -1) if biggest else range(10)
                d = next(d for d in order if ok[rem - 1][step[s][d]])
                s, value = step[s][d], value * 10 + d
            if best is None or (value > best if biggest else value < best):
                best = value
        return best

    plus = [dfa.start, dfa.run_from(dfa.start, "+")]
    minus = dfa.run_from(dfa.start, "-")
    his = [v for v in (extreme(s, True) for s in plus) if v is not None]
    los = [v for v in (extreme(s, False) for s in plus) if v is not None]
    neg_big, neg_small = extreme(minus, True), extreme(minus, False)
    if neg_big is not None and neg_small is not None:
        los.append(-neg_big)
        his.append(-neg_small)
    return (Fraction(min(los)), Fraction(max(his)))


def show_interval(iv: Interval) -> str:
    def b(x: Bound, inf: str) -> str:
        if x is None:
            return inf
        if x.denominator == 1:
            return str(x.numerator)
        return format(Decimal(x.numerator) / Decimal(x.denominator), "f")

    return f"{b(iv[0], '-inf')}..{b(iv[1], '+inf')}"


def _pattern_of(node: ir.Node) -> Any:
    """The pattern of a Text parameter (None for any other text)."""
    if isinstance(node, ir.Param) and isinstance(node.type, TextT):
        return node.type.pattern
    return None


class Intervals(ir.Visitor):
    """Sound intervals of Int and Decimal expressions: ``of(node, env)``; ``max_len`` bounds list lengths.

    One ``visit_<Node>(node, env, depth)`` per IR node class; a class whose value is no number (or
    is not tracked) gets :data:`TOP`.
    """

    def __init__(self, module: CheckedModule, evaluator: Any):
        self.module = module
        self.evaluator = evaluator
        self.lengths = ListLengths(self)

    def of(self, node: ir.Node, env: dict[str, Interval], depth: int = 0) -> Interval:
        return meet(self.visit(node, env, depth), type_range(node.type))

    def visit_Const(self, node: ir.Const, env: dict[str, Interval], depth: int) -> Interval:
        f = frac(node.value)
        return (f, f) if f is not None else TOP

    def visit_Local(self, node: ir.Local, env: dict[str, Interval], depth: int) -> Interval:
        return env.get(node.name, TOP)

    def visit_Let(self, node: ir.Let, env: dict[str, Interval], depth: int) -> Interval:
        return self.of(node.body, {**env, node.name: self.of(node.value, env, depth)}, depth)

    def visit_Arith(self, node: ir.Arith, env: dict[str, Interval], depth: int) -> Interval:
        a = self.of(node.left, env, depth)
        b = self.of(node.right, env, depth)
        if node.op == "+":
            r = (None if None in (a[0], b[0]) else a[0] + b[0],  # type: ignore[operator]
                 None if None in (a[1], b[1]) else a[1] + b[1])  # type: ignore[operator]
        elif node.op == "-":
            r = (None if None in (a[0], b[1]) else a[0] - b[1],  # type: ignore[operator]
                 None if None in (a[1], b[0]) else a[1] - b[0])  # type: ignore[operator]
        elif node.op == "*":
            r = _corners(a, b, lambda x, y: x * y)
        elif node.op == "/":
            if not excludes_zero(b):
                return TOP
            if node.kind == "int":
                r = _corners(a, b, lambda x, y: Fraction(x // y))
            else:
                r = _corners(a, b, lambda x, y: x / y)
        else:  # %
            if node.kind == "int" and b[0] is not None and b[0] > 0 and b[1] is not None:
                hi = b[1] - 1
                if a[0] is not None and a[0] >= 0 and a[1] is not None:
                    hi = min(hi, a[1])
                r = (Fraction(0), hi)
            else:
                return TOP
        return _widen(r, node.type) if node.kind == "dec" else r

    def visit_Neg(self, node: ir.Neg, env: dict[str, Interval], depth: int) -> Interval:
        a = self.of(node.operand, env, depth)
        return (None if a[1] is None else -a[1], None if a[0] is None else -a[0])

    def visit_Widen(self, node: ir.Widen, env: dict[str, Interval], depth: int) -> Interval:
        return self.of(node.inner, env, depth)

    def visit_Narrow(self, node: ir.Narrow, env: dict[str, Interval], depth: int) -> Interval:
        return meet(self.of(node.inner, env, depth), type_range(node.type))

    def visit_If(self, node: ir.If, env: dict[str, Interval], depth: int) -> Interval:
        return join(self.of(node.then, env, depth), self.of(node.else_, env, depth))

    def visit_Match(self, node: ir.Match, env: dict[str, Interval], depth: int) -> Interval:
        out: Interval | None = None
        for arm in node.arms:
            iv = self.of(arm.body, self.arm_env(node, arm, env, depth), depth)
            out = iv if out is None else join(out, iv)
        return out or TOP

    def arm_env(self, node: ir.Match, arm: ir.Arm, env: dict[str, Interval], depth: int = 0) -> dict[str, Interval]:
        """The intervals inside an arm: a ``some(n)`` binder holds the option's value (an Option's
        interval is its value's), and shadows any outer name."""
        name = binder(arm.pattern)
        if name is None:
            return env
        inner = self.of(node.scrutinee, env, depth) if isinstance(node.scrutinee.type, OptionT) else TOP
        return {**env, name: inner}

    def visit_MakeSome(self, node: ir.MakeSome, env: dict[str, Interval], depth: int) -> Interval:
        return self.of(node.value, env, depth)

    def visit_Coalesce(self, node: ir.Coalesce, env: dict[str, Interval], depth: int) -> Interval:
        return join(self.of(node.option, env, depth), self.of(node.default, env, depth))

    def visit_Param(self, node: ir.Param, env: dict[str, Interval], depth: int) -> Interval:
        if isinstance(node.type, OptionT):  # an Option's interval is its value's
            return type_range(node.type.inner)
        return TOP  # a number's range is its type's (see of)

    def visit_CallFn(self, node: ir.CallFn, env: dict[str, Interval], depth: int) -> Interval:
        if depth >= MAX_DEPTH:
            return TOP
        fn = self.module.functions[node.fn]
        inner = {name: meet(self.of(a, env, depth), type_range(pt)) for (name, pt), a in zip(fn.params, node.args)}
        return self.of(fn.body, inner, depth + 1)

    def visit_TableGet(self, node: ir.TableGet, env: dict[str, Interval], depth: int) -> Interval:
        return self._table(node.table, None)

    def visit_GetField(self, node: ir.GetField, env: dict[str, Interval], depth: int) -> Interval:
        if isinstance(node.obj, ir.TableGet):
            return self._table(node.obj.table, node.name)
        if isinstance(node.obj, ir.MakeRecord):
            for name, e in node.obj.fields:
                if name == node.name:
                    return self.of(e, env, depth)
        return TOP

    def _top(self, node: ir.Node, env: dict[str, Interval], depth: int) -> Interval:
        return TOP

    # Not numbers, or numbers this analysis does not follow (the checker's range still applies).
    visit_Interp = visit_Compare = visit_Logic = visit_Not = visit_Concat = _top
    visit_Index = visit_Lambda = visit_MakeList = visit_Range = visit_Comprehension = _top
    visit_MakeMap = visit_MakeRecord = _top

    def _table(self, key: str, field: str | None) -> Interval:
        try:
            entries = self.evaluator.table(key)
        except Exception:  # noqa: BLE001 - a failing table is another obligation
            return TOP
        out: Interval | None = None
        for v in entries.values():
            if field is not None:
                try:
                    v = v.get(field)
                except (AttributeError, KeyError):
                    return TOP
            f = frac(v)
            if f is None:
                return TOP
            out = (f, f) if out is None else join(out, (f, f))
        return out or TOP

    def visit_CallBuiltin(self, node: ir.CallBuiltin, env: dict[str, Interval], depth: int) -> Interval:
        args = node.args
        name = node.name
        if name == "parse_int":  # an Option's interval is its value's
            pattern = _pattern_of(args[0])
            got = numeral_range(pattern) if pattern is not None else None
            return got if got is not None else (Fraction(-(10**MAX_NUMERAL_DIGITS - 1)),
                                                Fraction(10**MAX_NUMERAL_DIGITS - 1))
        if name in ("abs", "min", "max", "clamp", "floor", "ceil", "to_decimal", "round"):
            ivs = [self.of(a, env, depth) for a in args]
        else:
            return TOP
        if name == "abs":
            a = ivs[0]
            if a[0] is not None and a[0] >= 0:
                return a
            if a[1] is not None and a[1] <= 0:
                return (None if a[1] is None else -a[1], None if a[0] is None else -a[0])
            if a[0] is None or a[1] is None:
                return (Fraction(0), None)
            return (Fraction(0), max(-a[0], a[1]))
        if name == "min":
            a, b = ivs
            lo = None if a[0] is None or b[0] is None else min(a[0], b[0])
            hi = a[1] if b[1] is None else b[1] if a[1] is None else min(a[1], b[1])
            return (lo, hi)
        if name == "max":
            a, b = ivs
            lo = a[0] if b[0] is None else b[0] if a[0] is None else max(a[0], b[0])
            hi = None if a[1] is None or b[1] is None else max(a[1], b[1])
            return (lo, hi)
        if name == "clamp":
            return join(ivs[1], ivs[2]) if ivs[1][0] is not None and ivs[2][1] is not None else TOP
        if name == "floor":
            a = ivs[0]
            return (None if a[0] is None else Fraction(a[0].__floor__()), None if a[1] is None else Fraction(a[1].__floor__()))
        if name == "ceil":
            a = ivs[0]
            return (None if a[0] is None else Fraction(a[0].__ceil__()), None if a[1] is None else Fraction(a[1].__ceil__()))
        if name == "to_decimal":
            return ivs[0]
        # round(x, places): monotone, within half a unit of the result scale
        return _widen(ivs[0], node.type)

    # ---- list lengths

    def max_len(self, node: ir.Node, env: dict[str, Interval], depth: int = 0) -> int | None:
        """An upper bound on the length of a list-valued expression (None when unbounded)."""
        own = node.type.max_len if isinstance(node.type, ListT) else None
        got = self.lengths.visit(node, env, depth)
        if got is None:
            return own
        return got if own is None else min(got, own)


class ListLengths(ir.Visitor):
    """Upper bounds on list lengths (None: unbounded), for :meth:`Intervals.max_len`."""

    def __init__(self, ivs: Intervals):
        self.ivs = ivs

    def visit_MakeList(self, node: ir.MakeList, env: dict[str, Interval], depth: int) -> int | None:
        return len(node.items)

    def visit_Comprehension(self, node: ir.Comprehension, env: dict[str, Interval], depth: int) -> int | None:
        if isinstance(node.source, ir.Range):
            lo = self.ivs.of(node.source.lo, env)[0]
            hi = self.ivs.of(node.source.hi, env)[1]
            if lo is None or hi is None:
                return None
            return max(0, int(hi) - int(lo) + 1)
        return self.ivs.max_len(node.source, env, depth)

    def visit_Let(self, node: ir.Let, env: dict[str, Interval], depth: int) -> int | None:
        return self.ivs.max_len(node.body, {**env, node.name: self.ivs.of(node.value, env, depth)}, depth)

    def visit_CallFn(self, node: ir.CallFn, env: dict[str, Interval], depth: int) -> int | None:
        if depth >= MAX_DEPTH:
            return None
        fn = self.ivs.module.functions[node.fn]
        inner = {name: meet(self.ivs.of(a, env, depth), type_range(pt)) for (name, pt), a in zip(fn.params, node.args)}
        return self.ivs.max_len(fn.body, inner, depth + 1)

    def visit_If(self, node: ir.If, env: dict[str, Interval], depth: int) -> int | None:
        a, b = self.ivs.max_len(node.then, env, depth), self.ivs.max_len(node.else_, env, depth)
        return None if a is None or b is None else max(a, b)

    def visit_Narrow(self, node: ir.Narrow | ir.Widen, env: dict[str, Interval], depth: int) -> int | None:
        return self.ivs.max_len(node.inner, env, depth)

    visit_Widen = visit_Narrow

    def visit_Concat(self, node: ir.Concat, env: dict[str, Interval], depth: int) -> int | None:
        if node.kind != "list":
            return None
        a, b = self.ivs.max_len(node.left, env, depth), self.ivs.max_len(node.right, env, depth)
        return None if a is None or b is None else a + b

    def visit_CallBuiltin(self, node: ir.CallBuiltin, env: dict[str, Interval], depth: int) -> int | None:
        if not node.args:
            return None
        first = self.ivs.max_len(node.args[0], env, depth)
        if node.name == "take" and len(node.args) == 2:
            n = self.ivs.of(node.args[1], env, depth)[1]
            return first if n is None else (int(n) if first is None else min(first, max(0, int(n))))
        if node.name in ("filter", "map", "sort", "sort_by", "reverse", "drop"):
            return first
        return None

    def _unbounded(self, node: ir.Node, env: dict[str, Interval], depth: int) -> int | None:
        return None

    # Only the type's own max_len bounds these (see Intervals.max_len).
    visit_Const = visit_Local = visit_Param = visit_Interp = visit_Arith = visit_Compare = _unbounded
    visit_Logic = visit_Not = visit_Neg = visit_Coalesce = visit_GetField = visit_Index = _unbounded
    visit_TableGet = visit_Lambda = visit_Range = visit_MakeMap = visit_MakeRecord = visit_MakeSome = _unbounded
    visit_Match = _unbounded
