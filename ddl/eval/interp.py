"""The tree-walking interpreter over the checker's typed IR.

One step is counted per IR node evaluated (lambda and comprehension bodies
each time they run), plus size-proportional extra steps for work on big texts,
lists and numbers (see :mod:`ddl.eval.ops`).  Exceeding the budget fails with
DDL305.  Failures are returned as :class:`~ddl.eval.result.Err`, never raised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from pyrsistent import PMap, pmap, pvector

from ddl.eval import ops
from ddl.eval.arms import arm_index, binder
from ddl.eval.builtins import IMPLS, KEYED, cost
from ddl.eval.ops import DEC_OPS, INT_OPS, Budget, Ctx, InternalError
from ddl.eval.result import Abort, Err, Ok, Outcome
from ddl.types import ir
from ddl.types.checked import CheckedModule
from ddl.types.model import DecimalT, ListT, MapT, TextT, Type
from ddl.values import RecordV, SomeV, Value, show_value

_MISSING = object()
Env = dict[str, Any]
SIZED = (TextT, ListT, MapT)  # built-ins whose result's size is checked against the budget


def key_type(name: str, args: Sequence[ir.Node]) -> Type | None:
    """The type whose order ``sort`` / ``keys`` / ``values`` use."""
    if not args:
        return None
    t = args[0].type
    if name == "sort" and isinstance(t, ListT):
        return t.elem
    if name in ("keys", "values") and isinstance(t, MapT):
        return t.key
    return None


def no_match(value: Any, span: Any) -> Abort:
    return Abort("DDL999", f"internal error: no match arm applies to {show_value(value)}", span)


def index_abort(i: int, n: int, span: Any) -> Abort:
    return Abort("DDL301", f"index {i} is out of range for a list of length {n}", span)


def map_key_abort(k: Any, span: Any) -> Abort:
    return Abort("DDL303", f"key {show_value(k)} is not in the map", span)


def table_key_abort(k: Any, table: str, span: Any) -> Abort:
    return Abort("DDL303", f"key {show_value(k)} is not in table {table}", span)


class Evaluator:
    """Evaluates a checked module's families, functions and constant expressions."""

    def __init__(self, module: CheckedModule, step_budget: int | None = None, *,
                 budget: Budget = ops.DEFAULT_LIMITS):
        self.module = module
        # ``step_budget`` (the older spelling) overrides the steps of ``budget``.
        self.budget = budget if step_budget is None else replace(budget, steps=step_budget)
        self.step_budget = self.budget.steps
        self.last_steps = 0  # the steps of the latest evaluation on this evaluator
        self._tables: dict[str, PMap | Abort] = {}  # type: ignore[type-arg]
        self._dispatch: dict[type, Callable[[Any, Env, Ctx], Any]] = {
            ir.Const: self._const, ir.Local: self._local, ir.Param: self._param, ir.Interp: self._interp,
            ir.Let: self._let, ir.If: self._if, ir.Arith: self._arith, ir.Compare: self._compare,
            ir.Logic: self._logic, ir.Not: self._not, ir.Neg: self._neg, ir.Concat: self._concat,
            ir.Coalesce: self._coalesce, ir.GetField: self._get_field, ir.Index: self._index,
            ir.TableGet: self._table_get, ir.CallFn: self._call_fn, ir.Lambda: self._lambda,
            ir.CallBuiltin: self._call_builtin, ir.MakeList: self._make_list, ir.Range: self._range,
            ir.Comprehension: self._comprehension, ir.MakeMap: self._make_map, ir.MakeRecord: self._make_record,
            ir.MakeSome: self._make_some, ir.Match: self._match, ir.Widen: self._widen, ir.Narrow: self._narrow,
        }

    # ------------------------------------------------------------------ branch coverage (optional)

    def record_branches(self, recorder: Callable[[ir.Node, int], None] | None) -> None:
        """Call ``recorder(node, arm)`` whenever an ``if`` or ``match`` takes a branch; None turns it off.

        ``arm`` is 0 for an if's then-branch and 1 for its else-branch, and the index of the arm taken
        for a match.  Off by default, and then free: the recording methods are swapped into the
        dispatch table only while a recorder is installed (so install it on an evaluator of your own).
        Results and step counts are the same with and without a recorder.
        """
        if recorder is None:
            self._dispatch[ir.If] = self._if
            self._dispatch[ir.Match] = self._match
            return

        def if_recorded(node: ir.If, env: Env, ctx: Ctx) -> Any:
            taken = bool(self._eval(node.cond, env, ctx))
            recorder(node, 0 if taken else 1)
            return self._eval(node.then if taken else node.else_, env, ctx)

        def match_recorded(node: ir.Match, env: Env, ctx: Ctx) -> Any:
            value = self._eval(node.scrutinee, env, ctx)
            index = arm_index(node, value)
            if index is None:
                raise no_match(value, node.span)
            recorder(node, index)
            return self._take_arm(node, index, value, env, ctx)

        self._dispatch[ir.If] = if_recorded
        self._dispatch[ir.Match] = match_recorded

    # ------------------------------------------------------------------ public entry points

    def run(self, family: str, theta: Mapping[str, Value]) -> Outcome:
        """Evaluate a family's program at a complete, validated θ."""
        fam = self.module.families[family]
        missing = [p.name for p in fam.params if p.name not in theta]
        if missing:
            raise ValueError(f"θ is missing parameter(s) {', '.join(missing)}; use validate_theta first")
        params = dict(theta)
        theta_t = tuple((p.name, params[p.name]) for p in fam.params)
        return self._top(fam.program, {}, params, theta_t)

    def eval_closed(
        self, node: ir.Node, env: Mapping[str, Value] | None = None, params: Mapping[str, Value] | None = None
    ) -> Outcome:
        """Evaluate a constant expression, optionally with locals (``result``) and θ."""
        p = dict(params or {})
        return self._top(node, dict(env or {}), p, tuple(p.items()))

    def call(self, fn_key: str, args: Sequence[Value]) -> Outcome:
        """Call a user function with argument values (not re-checked against its types)."""
        fn = self.module.functions[fn_key]
        if len(args) != len(fn.params):
            raise TypeError(f"{fn.name} takes {len(fn.params)} argument(s), got {len(args)}")
        env = {name: value for (name, _), value in zip(fn.params, args)}
        return self._top(fn.body, env, {}, ())

    def table(self, key: str) -> PMap:  # type: ignore[type-arg]
        """A table's entries as a map, evaluated once (raises Abort if an entry fails)."""
        cached = self._tables.get(key)
        if cached is None:
            table = self.module.tables[key]
            ctx = Ctx(self.budget, {})
            try:
                entries: dict[Any, Any] = {}
                for k, v in table.entries:
                    entries[self._eval(k, {}, ctx)] = self._eval(v, {}, ctx)
                cached = pmap(entries)
            except Abort as abort:
                cached = abort
            self._tables[key] = cached
        if isinstance(cached, Abort):
            raise Abort(cached.code, cached.message, cached.span)
        return cached

    def _top(self, node: ir.Node, env: Env, params: dict[str, Value], theta: tuple[tuple[str, Value], ...]) -> Outcome:
        ctx = Ctx(self.budget, params)
        try:
            return Ok(self._eval(node, env, ctx))
        except Abort as abort:
            return Err(abort.failure(theta))
        except RecursionError:
            return Err(ops.depth_abort(node.span).failure(theta))
        finally:
            self.last_steps = ctx.steps  # what the verifier's budget per family is charged

    # ------------------------------------------------------------------ the evaluator

    def _eval(self, node: ir.Node, env: Env, ctx: Ctx) -> Any:
        ctx.steps += 1
        if ctx.steps > ctx.budget:
            ctx.over(node.span)
        try:
            method = self._dispatch[type(node)]
        except KeyError:
            raise InternalError(f"unknown IR node {type(node).__name__}") from None
        return method(node, env, ctx)

    def _const(self, node: ir.Const, env: Env, ctx: Ctx) -> Any:
        return node.value

    def _local(self, node: ir.Local, env: Env, ctx: Ctx) -> Any:
        return env[node.name]

    def _param(self, node: ir.Param, env: Env, ctx: Ctx) -> Any:
        if node.name not in ctx.params:
            # Only a caller that evaluates an expression without its θ gets here; report, don't crash.
            raise Abort("DDL999", f"internal error: parameter '{node.name}' has no value here", node.span)
        return ctx.params[node.name]

    def _interp(self, node: ir.Interp, env: Env, ctx: Ctx) -> Any:
        out = []
        for part in node.parts:
            out.append(part if type(part) is str else ops.show(self._eval(part, env, ctx)))  # type: ignore[arg-type]
        text = "".join(out)
        extra = len(text) >> ops.SIZE_SHIFT
        if extra:
            ctx.charge(extra, node.span)
        return ctx.fits(text, "an interpolation", node.span)

    def _let(self, node: ir.Let, env: Env, ctx: Ctx) -> Any:
        value = self._eval(node.value, env, ctx)
        name = node.name
        saved = env.get(name, _MISSING)
        env[name] = value
        result = self._eval(node.body, env, ctx)
        _restore(env, name, saved)
        return result

    def _if(self, node: ir.If, env: Env, ctx: Ctx) -> Any:
        if self._eval(node.cond, env, ctx):
            return self._eval(node.then, env, ctx)
        return self._eval(node.else_, env, ctx)

    def _arith(self, node: ir.Arith, env: Env, ctx: Ctx) -> Any:
        a = self._eval(node.left, env, ctx)
        b = self._eval(node.right, env, ctx)
        if node.kind == "int":
            extra = ops.int_arith_cost(node.op, a, b)
            if extra:
                ctx.charge(extra, node.span)
            return INT_OPS[node.op](a, b, node.span)
        extra = ops.dec_arith_cost(node.op, a, b)
        if extra:
            ctx.charge(extra, node.span)
        return DEC_OPS[node.op](a, b, ops.dec_scale(node.type), node.span)

    def _compare(self, node: ir.Compare, env: Env, ctx: Ctx) -> Any:
        a = self._eval(node.left, env, ctx)
        b = self._eval(node.right, env, ctx)
        extra = ops.pair_cost(a, b)
        if extra:
            ctx.charge(extra, node.span)
        return ops.compare(node.op, a, b)

    def _logic(self, node: ir.Logic, env: Env, ctx: Ctx) -> Any:
        left = self._eval(node.left, env, ctx)
        if node.op == "and":
            return self._eval(node.right, env, ctx) if left else False
        return True if left else self._eval(node.right, env, ctx)

    def _not(self, node: ir.Not, env: Env, ctx: Ctx) -> Any:
        return not self._eval(node.operand, env, ctx)

    def _neg(self, node: ir.Neg, env: Env, ctx: Ctx) -> Any:
        return ops.negate(self._eval(node.operand, env, ctx))

    def _concat(self, node: ir.Concat, env: Env, ctx: Ctx) -> Any:
        a = self._eval(node.left, env, ctx)
        b = self._eval(node.right, env, ctx)
        extra = ops.pair_cost(a, b)
        if extra:
            ctx.charge(extra, node.span)
        return ctx.fits(a + b, "`++`", node.span)

    def _coalesce(self, node: ir.Coalesce, env: Env, ctx: Ctx) -> Any:
        option = self._eval(node.option, env, ctx)
        if type(option) is SomeV:
            return option.value
        return self._eval(node.default, env, ctx)

    def _get_field(self, node: ir.GetField, env: Env, ctx: Ctx) -> Any:
        record: RecordV = self._eval(node.obj, env, ctx)
        return record.get(node.name)

    def _index(self, node: ir.Index, env: Env, ctx: Ctx) -> Any:
        obj = self._eval(node.obj, env, ctx)
        key = self._eval(node.index, env, ctx)
        if node.kind == "list":
            if 0 <= key < len(obj):
                return obj[key]
            raise index_abort(key, len(obj), node.span)
        if key in obj:
            return obj[key]
        raise map_key_abort(key, node.span)

    def _table_get(self, node: ir.TableGet, env: Env, ctx: Ctx) -> Any:
        key = self._eval(node.key, env, ctx)
        entries = self.table(node.table)
        if key in entries:
            return entries[key]
        raise table_key_abort(key, self.module.tables[node.table].name, node.span)

    def _call_fn(self, node: ir.CallFn, env: Env, ctx: Ctx) -> Any:
        args = [self._eval(a, env, ctx) for a in node.args]
        fn = self.module.functions[node.fn]
        return self._eval(fn.body, {name: v for (name, _), v in zip(fn.params, args)}, ctx)

    def _lambda(self, node: ir.Lambda, env: Env, ctx: Ctx) -> Any:
        names, body = node.params, node.body

        def call(*args: Any) -> Any:
            saved = [env.get(n, _MISSING) for n in names]
            for n, a in zip(names, args):
                env[n] = a
            result = self._eval(body, env, ctx)
            for n, s in zip(names, saved):
                _restore(env, n, s)
            return result

        return call

    def _call_builtin(self, node: ir.CallBuiltin, env: Env, ctx: Ctx) -> Any:
        args = [self._eval(a, env, ctx) for a in node.args]
        name = node.name
        extra = cost(name, args)
        if extra:
            ctx.charge(extra, node.span)
        if name in KEYED:
            result = IMPLS[name](*args, key=ops.order_key(key_type(name, node.args)))
        else:
            result = IMPLS[name](*args)
        if isinstance(node.type, DecimalT):
            return ops.to_decimal(result, node.type.scale)
        if isinstance(node.type, SIZED):
            return ctx.fits(result, f"{name}(…)", node.span)
        return result

    def _make_list(self, node: ir.MakeList, env: Env, ctx: Ctx) -> Any:
        return ctx.fits(pvector([self._eval(item, env, ctx) for item in node.items]), "a list literal", node.span)

    def _range(self, node: ir.Range, env: Env, ctx: Ctx) -> Any:
        lo = self._eval(node.lo, env, ctx)
        hi = self._eval(node.hi, env, ctx)
        return ctx.fits(range(lo, hi + 1), "a range", node.span)

    def _comprehension(self, node: ir.Comprehension, env: Env, ctx: Ctx) -> Any:
        source = self._eval(node.source, env, ctx)
        var, cond, elem = node.var, node.cond, node.elem
        saved = env.get(var, _MISSING)
        out = []
        for x in source:
            env[var] = x
            if cond is not None and not self._eval(cond, env, ctx):
                continue
            out.append(self._eval(elem, env, ctx))
        _restore(env, var, saved)
        return ctx.fits(pvector(out), "a comprehension", node.span)

    def _make_map(self, node: ir.MakeMap, env: Env, ctx: Ctx) -> Any:
        """A map literal; when a key repeats, the later entry overwrites the earlier one."""
        entries: dict[Any, Any] = {}
        for k, v in node.entries:
            key = self._eval(k, env, ctx)
            entries[key] = self._eval(v, env, ctx)
        return ctx.fits(pmap(entries), "a map literal", node.span)

    def _make_record(self, node: ir.MakeRecord, env: Env, ctx: Ctx) -> Any:
        return RecordV(node.type_name, tuple((name, self._eval(e, env, ctx)) for name, e in node.fields))

    def _make_some(self, node: ir.MakeSome, env: Env, ctx: Ctx) -> Any:
        return SomeV(self._eval(node.value, env, ctx))

    def _match(self, node: ir.Match, env: Env, ctx: Ctx) -> Any:
        value = self._eval(node.scrutinee, env, ctx)
        index = arm_index(node, value)
        if index is None:
            raise no_match(value, node.span)
        return self._take_arm(node, index, value, env, ctx)

    def _take_arm(self, node: ir.Match, index: int, value: Any, env: Env, ctx: Ctx) -> Any:
        arm = node.arms[index]
        name = binder(arm.pattern)
        if name is not None:
            saved = env.get(name, _MISSING)
            env[name] = value.value
            result = self._eval(arm.body, env, ctx)
            _restore(env, name, saved)
            return result
        return self._eval(arm.body, env, ctx)

    def _widen(self, node: ir.Widen, env: Env, ctx: Ctx) -> Any:
        return ops.coerce(self._eval(node.inner, env, ctx), node.type)

    def _narrow(self, node: ir.Narrow, env: Env, ctx: Ctx) -> Any:
        value = self._eval(node.inner, env, ctx)
        extra = ops.narrow_cost(value, node.type)
        if extra:
            ctx.charge(extra, node.span)
        return ops.narrow(value, node.type, node.span)


def _restore(env: Env, name: str, saved: Any) -> None:
    if saved is _MISSING:
        env.pop(name, None)
    else:
        env[name] = saved


__all__ = ["Evaluator"]
