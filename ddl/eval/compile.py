"""The second backend: IR compiled once to nested Python closures.

Each IR node becomes a closure ``f(regs, ctx)``.  Names are resolved at
compile time to slots of a register list (one list per function call), so a
run does no tree dispatch and no dictionary look-ups for locals.  The closures
call the same operations as the interpreter (:mod:`ddl.eval.ops`,
:mod:`ddl.eval.builtins`) in the same order and count steps at the same points,
so both backends agree exactly, step-budget failures included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyrsistent import pmap, pvector

from ddl.eval import ops
from ddl.eval.arms import arm_index, binder
from ddl.eval.builtins import IMPLS, KEYED, cost
from ddl.eval.interp import Evaluator, index_abort, key_type, map_key_abort, no_match, table_key_abort
from ddl.eval.ops import DEC_OPS, INT_OPS, Budget, Ctx, InternalError
from ddl.eval.result import Abort, Err, Ok, Outcome
from ddl.types import ir
from ddl.types.checked import CheckedModule
from ddl.types.model import DecimalT, ListT, MapT, TextT
from ddl.values import RecordV, SomeV, Value

Code = Callable[[list[Any], Ctx], Any]
SIZED = (TextT, ListT, MapT)  # built-ins whose result's size is checked against the budget
Scope = Mapping[str, int]


class _Frame:
    """Slot allocation for one function body (or the program)."""

    def __init__(self, first: int = 0):
        self.size = first

    def alloc(self) -> int:
        slot = self.size
        self.size += 1
        return slot


class _Compiler(ir.Visitor):
    """``compile(node, scope, frame)``: one ``visit_<Node>`` per IR node class returns the node's closure."""

    def __init__(self, module: CheckedModule, tables: Evaluator):
        self.module = module
        self.tables = tables
        self._functions: dict[str, tuple[Code, int]] = {}

    def function(self, key: str) -> tuple[Code, int]:
        compiled = self._functions.get(key)
        if compiled is None:
            fn = self.module.functions[key]
            frame = _Frame(len(fn.params))
            scope = {name: i for i, (name, _) in enumerate(fn.params)}
            body = self.compile(fn.body, scope, frame)
            compiled = (body, frame.size)
            self._functions[key] = compiled
        return compiled

    def compile(self, node: ir.Node, scope: Scope, frame: _Frame) -> Code:
        return self.visit(node, scope, frame)  # type: ignore[no-any-return]

    # Every closure starts with the same two lines as Evaluator._eval: one step per node.

    def visit_Const(self, node: ir.Const, scope: Scope, frame: _Frame) -> Code:
        value, span = node.value, node.span

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return value

        return f

    def visit_Local(self, node: ir.Local, scope: Scope, frame: _Frame) -> Code:
        if node.name not in scope:
            raise InternalError(f"unbound local {node.name}")
        slot, span = scope[node.name], node.span

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return r[slot]

        return f

    def visit_Param(self, node: ir.Param, scope: Scope, frame: _Frame) -> Code:
        name, span = node.name, node.span

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return c.params[name]

        return f

    def visit_Interp(self, node: ir.Interp, scope: Scope, frame: _Frame) -> Code:
        span, show, shift = node.span, ops.show, ops.SIZE_SHIFT
        parts: list[str | Code] = [p if isinstance(p, str) else self.compile(p, scope, frame) for p in node.parts]

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            text = "".join([p if type(p) is str else show(p(r, c)) for p in parts])  # type: ignore[operator]
            extra = len(text) >> shift
            if extra:
                c.charge(extra, span)
            return c.fits(text, "an interpolation", span)

        return f

    def visit_Let(self, node: ir.Let, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        value = self.compile(node.value, scope, frame)
        slot = frame.alloc()
        body = self.compile(node.body, {**scope, node.name: slot}, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            r[slot] = value(r, c)
            return body(r, c)

        return f

    def visit_If(self, node: ir.If, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        cond = self.compile(node.cond, scope, frame)
        then = self.compile(node.then, scope, frame)
        else_ = self.compile(node.else_, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return then(r, c) if cond(r, c) else else_(r, c)

        return f

    def visit_Arith(self, node: ir.Arith, scope: Scope, frame: _Frame) -> Code:
        span, op = node.span, node.op
        left = self.compile(node.left, scope, frame)
        right = self.compile(node.right, scope, frame)
        if node.kind == "int":
            return _int_arith(op, left, right, span)
        dec_op, scale, dec_arith_cost = DEC_OPS[op], ops.dec_scale(node.type), ops.dec_arith_cost

        def g(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            a = left(r, c)
            b = right(r, c)
            extra = dec_arith_cost(op, a, b)
            if extra:
                c.charge(extra, span)
            return dec_op(a, b, scale, span)

        return g

    def visit_Compare(self, node: ir.Compare, scope: Scope, frame: _Frame) -> Code:
        span, op, pair_cost, compare = node.span, node.op, ops.pair_cost, ops.compare
        left = self.compile(node.left, scope, frame)
        right = self.compile(node.right, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            a = left(r, c)
            b = right(r, c)
            extra = pair_cost(a, b)
            if extra:
                c.charge(extra, span)
            return compare(op, a, b)

        return f

    def visit_Logic(self, node: ir.Logic, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        left = self.compile(node.left, scope, frame)
        right = self.compile(node.right, scope, frame)
        if node.op == "and":

            def f(r: list[Any], c: Ctx) -> Any:
                c.steps += 1
                if c.steps > c.budget:
                    c.over(span)
                return right(r, c) if left(r, c) else False

            return f

        def g(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return True if left(r, c) else right(r, c)

        return g

    def visit_Not(self, node: ir.Not, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        operand = self.compile(node.operand, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return not operand(r, c)

        return f

    def visit_Neg(self, node: ir.Neg, scope: Scope, frame: _Frame) -> Code:
        span, negate = node.span, ops.negate
        operand = self.compile(node.operand, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return negate(operand(r, c))

        return f

    def visit_Concat(self, node: ir.Concat, scope: Scope, frame: _Frame) -> Code:
        span, pair_cost = node.span, ops.pair_cost
        left = self.compile(node.left, scope, frame)
        right = self.compile(node.right, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            a = left(r, c)
            b = right(r, c)
            extra = pair_cost(a, b)
            if extra:
                c.charge(extra, span)
            return c.fits(a + b, "`++`", span)

        return f

    def visit_Coalesce(self, node: ir.Coalesce, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        option = self.compile(node.option, scope, frame)
        default = self.compile(node.default, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            o = option(r, c)
            return o.value if type(o) is SomeV else default(r, c)

        return f

    def visit_GetField(self, node: ir.GetField, scope: Scope, frame: _Frame) -> Code:
        span, name = node.span, node.name
        obj = self.compile(node.obj, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return obj(r, c).get(name)

        return f

    def visit_Index(self, node: ir.Index, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        obj = self.compile(node.obj, scope, frame)
        index = self.compile(node.index, scope, frame)
        if node.kind == "list":

            def f(r: list[Any], c: Ctx) -> Any:
                c.steps += 1
                if c.steps > c.budget:
                    c.over(span)
                xs = obj(r, c)
                i = index(r, c)
                if 0 <= i < len(xs):
                    return xs[i]
                raise index_abort(i, len(xs), span)

            return f

        def g(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            m = obj(r, c)
            k = index(r, c)
            if k in m:
                return m[k]
            raise map_key_abort(k, span)

        return g

    def visit_TableGet(self, node: ir.TableGet, scope: Scope, frame: _Frame) -> Code:
        span, table_key, tables = node.span, node.table, self.tables
        table_name = self.module.tables[table_key].name
        key = self.compile(node.key, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            k = key(r, c)
            entries = tables.table(table_key)
            if k in entries:
                return entries[k]
            raise table_key_abort(k, table_name, span)

        return f

    def visit_CallFn(self, node: ir.CallFn, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        args = [self.compile(a, scope, frame) for a in node.args]
        body, size = self.function(node.fn)
        n = len(args)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            regs: list[Any] = [a(r, c) for a in args]
            regs.extend([None] * (size - n))
            return body(regs, c)

        return f

    def visit_Lambda(self, node: ir.Lambda, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        slots = [frame.alloc() for _ in node.params]
        body = self.compile(node.body, {**scope, **dict(zip(node.params, slots))}, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)

            def call(*args: Any) -> Any:
                for slot, a in zip(slots, args):
                    r[slot] = a
                return body(r, c)

            return call

        return f

    def visit_CallBuiltin(self, node: ir.CallBuiltin, scope: Scope, frame: _Frame) -> Code:
        span, name = node.span, node.name
        if name not in IMPLS:
            raise InternalError(f"unknown built-in {name}")
        impl = IMPLS[name]
        args = [self.compile(a, scope, frame) for a in node.args]
        kwargs = {"key": ops.order_key(key_type(name, node.args))} if name in KEYED else {}
        scale = node.type.scale if isinstance(node.type, DecimalT) else None
        to_decimal = ops.to_decimal
        sized = isinstance(node.type, SIZED)
        what = f"{name}(…)"

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            values = [a(r, c) for a in args]
            extra = cost(name, values)
            if extra:
                c.charge(extra, span)
            result = impl(*values, **kwargs)
            if sized:
                return c.fits(result, what, span)
            return result if scale is None else to_decimal(result, scale)

        return f

    def visit_MakeList(self, node: ir.MakeList, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        items = [self.compile(i, scope, frame) for i in node.items]

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return c.fits(pvector([i(r, c) for i in items]), "a list literal", span)

        return f

    def visit_Range(self, node: ir.Range, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        lo = self.compile(node.lo, scope, frame)
        hi = self.compile(node.hi, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            low = lo(r, c)
            return c.fits(range(low, hi(r, c) + 1), "a range", span)

        return f

    def visit_Comprehension(self, node: ir.Comprehension, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        source = self.compile(node.source, scope, frame)
        slot = frame.alloc()
        inner = {**scope, node.var: slot}
        elem = self.compile(node.elem, inner, frame)
        cond = None if node.cond is None else self.compile(node.cond, inner, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            out = []
            for x in source(r, c):
                r[slot] = x
                if cond is not None and not cond(r, c):
                    continue
                out.append(elem(r, c))
            return c.fits(pvector(out), "a comprehension", span)

        return f

    def visit_MakeMap(self, node: ir.MakeMap, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        entries = [(self.compile(k, scope, frame), self.compile(v, scope, frame)) for k, v in node.entries]

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            out: dict[Any, Any] = {}
            for k, v in entries:
                key = k(r, c)
                out[key] = v(r, c)
            return c.fits(pmap(out), "a map literal", span)

        return f

    def visit_MakeRecord(self, node: ir.MakeRecord, scope: Scope, frame: _Frame) -> Code:
        span, type_name = node.span, node.type_name
        fields = [(name, self.compile(e, scope, frame)) for name, e in node.fields]

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return RecordV(type_name, tuple([(name, e(r, c)) for name, e in fields]))

        return f

    def visit_MakeSome(self, node: ir.MakeSome, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        value = self.compile(node.value, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return SomeV(value(r, c))

        return f

    def visit_Match(self, node: ir.Match, scope: Scope, frame: _Frame) -> Code:
        span = node.span
        scrutinee = self.compile(node.scrutinee, scope, frame)
        # Per arm: (binder slot or -1, body).  Which arm runs is arms.arm_index's decision.
        arms: list[tuple[int, Code]] = []
        for arm in node.arms:
            name = binder(arm.pattern)
            if name is not None:
                slot = frame.alloc()
                arms.append((slot, self.compile(arm.body, {**scope, name: slot}, frame)))
            else:
                arms.append((-1, self.compile(arm.body, scope, frame)))

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            value = scrutinee(r, c)
            index = arm_index(node, value)
            if index is None:
                raise no_match(value, span)
            slot, body = arms[index]
            if slot >= 0:
                r[slot] = value.value
            return body(r, c)

        return f

    def visit_Widen(self, node: ir.Widen, scope: Scope, frame: _Frame) -> Code:
        span, target, coerce = node.span, node.type, ops.coerce
        inner = self.compile(node.inner, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            return coerce(inner(r, c), target)

        return f

    def visit_Narrow(self, node: ir.Narrow, scope: Scope, frame: _Frame) -> Code:
        span, target, narrow, narrow_cost = node.span, node.type, ops.narrow, ops.narrow_cost
        inner = self.compile(node.inner, scope, frame)

        def f(r: list[Any], c: Ctx) -> Any:
            c.steps += 1
            if c.steps > c.budget:
                c.over(span)
            value = inner(r, c)
            extra = narrow_cost(value, target)
            if extra:
                c.charge(extra, span)
            return narrow(value, target, span)

        return f


def _int_arith(op: str, left: Code, right: Code, span: Any) -> Code:
    """Int arithmetic with the operator inlined for small operands (same costs as ops.int_arith_cost)."""
    lim, int_arith_cost = ops.SMALL_INT, ops.int_arith_cost
    int_op = INT_OPS[op]

    def operands(r: list[Any], c: Ctx) -> tuple[int, int]:
        c.steps += 1
        if c.steps > c.budget:
            c.over(span)
        a = left(r, c)
        b = right(r, c)
        if not (-lim < a < lim and -lim < b < lim):
            extra = int_arith_cost(op, a, b)
            if extra:
                c.charge(extra, span)
        return a, b

    if op == "+":
        def add(r: list[Any], c: Ctx) -> Any:
            a, b = operands(r, c)
            return a + b

        return add
    if op == "-":
        def sub(r: list[Any], c: Ctx) -> Any:
            a, b = operands(r, c)
            return a - b

        return sub
    if op == "*":
        def mul(r: list[Any], c: Ctx) -> Any:
            a, b = operands(r, c)
            return a * b

        return mul

    def other(r: list[Any], c: Ctx) -> Any:
        a, b = operands(r, c)
        return int_op(a, b, span)

    return other


def compile_family(
    module: CheckedModule, family: str, step_budget: int | None = None, *, budget: Budget = ops.DEFAULT_LIMITS
) -> Callable[[Mapping[str, Value]], Outcome]:
    """Compile a family's program once; the result maps a validated θ to an Outcome.

    Agrees exactly with ``Evaluator(module, step_budget, budget=budget).run(family, θ)`` (the
    wall clock aside, which neither backend can make deterministic).
    """
    fam = module.families[family]
    tables = Evaluator(module, step_budget, budget=budget)
    limits = tables.budget
    frame = _Frame()
    root_span = fam.program.span
    try:
        body = _Compiler(module, tables).compile(fam.program, {}, frame)
    except RecursionError:
        # Too deep to compile means too deep to run: fail like the interpreter does.
        def body(r: list[Any], c: Ctx) -> Any:
            raise RecursionError

    names = [p.name for p in fam.params]
    size = frame.size

    def run(theta: Mapping[str, Value]) -> Outcome:
        missing = [n for n in names if n not in theta]
        if missing:
            raise ValueError(f"θ is missing parameter(s) {', '.join(missing)}; use validate_theta first")
        params = dict(theta)
        theta_t = tuple((n, params[n]) for n in names)
        ctx = Ctx(limits, params)
        try:
            return Ok(body([None] * size, ctx))
        except Abort as abort:
            return Err(abort.failure(theta_t))
        except RecursionError:
            return Err(ops.depth_abort(root_span).failure(theta_t))

    run.__name__ = f"run_{family}"
    run.__doc__ = f"Evaluate family {family!r} at a validated θ (compiled closures)."
    return run


__all__ = ["compile_family"]
