"""The compiled backend: a family's IR translated once to Python source, run by CPython.

:func:`compile_family` turns the program (and every function it calls) into one Python function
per DDL function, with locals as Python locals and operators, field reads, record and map
building, and the constant-work built-ins written inline; ``exec`` compiles that text once.

The fast path is exact on every run that succeeds, and hands every other run to the interpreter:

* **Values.** The generated code computes the same values with the same operations
  (:mod:`ddl.eval.ops`, :mod:`ddl.eval.builtins`); where it writes an operator inline, the IR
  types make it the same operation (``a < b`` on two Ints is :func:`ops.compare` on two Ints).
* **Steps.** Each straight-line block adds the number of IR nodes it evaluates in one
  ``c.steps += k``, and size costs are charged as the interpreter charges them, so a run that
  succeeds counts exactly the interpreter's steps.  The budget is looked at on entry to every
  loop iteration and lambda call (what can repeat), before a built-in whose cost grows with its
  arguments, and at the end.
* **Failures.** A run that fails in any way on the fast path (a DDL3xx abort, a division by zero,
  a missing key, the step budget, Python's recursion limit) is run again by the interpreter
  (:class:`~ddl.eval.interp.Evaluator`), whose result is returned: its failure, span and θ are
  the specified ones (the language is pure and total, so running again changes nothing but time).
  The wall-clock budget (DDL318) is the one failure returned as found: rerunning cannot make the
  clock agree.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import Any

import attrs
from pyrsistent import pmap, pvector

from ddl.eval import builtins as B
from ddl.eval import ops
from ddl.eval.arms import arm_index, binder
from ddl.eval.interp import Evaluator, key_type
from ddl.eval.ops import DEC_OPS, Budget, Ctx
from ddl.eval.result import Abort, Err, Ok, Outcome
from ddl.tree import nodes
from ddl.types import ir
from ddl.types.checked import CheckedModule
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, ListT, MapT, RecordT, TextT, Type
from ddl.values import NONE, EnumV, RecordV, SomeV, Value, int_text, to_json

SIZED = (TextT, ListT, MapT)  # built-ins whose result's size is checked against the budget
Scope = Mapping[str, str]  # DDL local → Python local
_SCALAR_TYPES = (IntT, DecimalT, BoolT, EnumT)
# Built-ins whose body (ddl.eval.builtins) is one Python expression: written inline.
_INLINE = {
    "len": "len({0})", "upper": "{0}.upper()", "lower": "{0}.lower()", "trim": "{0}.strip()",
    "starts_with": "{0}.startswith({1})", "ends_with": "{0}.endswith({1})", "min": "({1} if {1} < {0} else {0})",
    "max": "({1} if {1} > {0} else {0})", "is_some": "(type({0}) is SomeV)", "is_none": "(type({0}) is not SomeV)",
    "some": "SomeV({0})", "unwrap_or": "({0}.value if type({0}) is SomeV else {1})", "abs": "abs({0})",
    "floor": "floor({0})", "ceil": "ceil({0})",
}
_SIZE_EXTRA = frozenset({"repeat", "pad_left", "pad_right", "replace", "join"})  # builtins.cost adds to the size cost  # operands whose size costs nothing (ops._SCALARS)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of a slotted (frozen attrs) class's field, bypassing the frozen __setattr__."""
    return cls.__dict__[name].__set__  # type: ignore[no-any-return]


class _Fallback(Exception):
    """Raised by generated code where the run needs the interpreter (a failure is coming)."""


# ------------------------------------------------------------------ helpers the generated code calls


def _show_int(c: Ctx, v: int) -> str:
    """b_show of an Int of 2048 bits or more: its cost charged first, the text checked against max_text."""
    _call_cost(c, "show", (v,))
    return _fits(c, ops.show(v))  # type: ignore[no-any-return]


def _budget(c: Ctx) -> None:
    """Past a checkpoint: the clock (DDL318) is answered here, anything else by the interpreter."""
    try:
        c.over(None)  # type: ignore[arg-type]
    except Abort as abort:
        if abort.code == "DDL318":
            raise
        raise _Fallback from None


def _charge(c: Ctx, n: int) -> None:
    """Charge ``n`` size steps before work proportional to them (so a huge call never starts)."""
    if not n:
        return
    c.steps += n
    if c.steps > c.budget:
        _budget(c)


def _fits(c: Ctx, value: Any) -> Any:
    n = len(value)
    if n > (c.limits.max_text if type(value) is str else c.limits.max_items):
        raise _Fallback
    return value


def _text_out(c: Ctx, text: str) -> str:
    """An interpolation's size cost and limit (the interpreter's ``_interp`` tail)."""
    n = len(text)
    if n >= 1 << ops.SIZE_SHIFT:
        c.steps += n >> ops.SIZE_SHIFT
        if n > c.limits.max_text:
            raise _Fallback
    return text


def _concat(c: Ctx, a: Any, b: Any) -> Any:
    extra = ops.pair_cost(a, b)
    if extra:
        _charge(c, extra)
    return _fits(c, a + b)


def _pair(c: Ctx, a: Any, b: Any) -> None:
    extra = ops.pair_cost(a, b)
    if extra:
        c.steps += extra


def _int_big(c: Ctx, op: str, a: int, b: int) -> int:
    extra = ops.int_arith_cost(op, a, b)
    if extra:
        _charge(c, extra)
    return ops.INT_OPS[op](a, b, None)  # type: ignore[arg-type]


def _dec_arith(c: Ctx, op: str, a: Any, b: Any, scale: int) -> Decimal:
    extra = ops.dec_arith_cost(op, a, b)
    if extra:
        _charge(c, extra)
    return DEC_OPS[op](a, b, scale, None)  # type: ignore[arg-type]


def _narrow(c: Ctx, v: Any, t: Type) -> Any:
    extra = ops.narrow_cost(v, t)
    if extra:
        _charge(c, extra)
    return ops.narrow(v, t, None)  # type: ignore[arg-type]


def _range(c: Ctx, lo: int, hi: int) -> range:
    return _fits(c, range(lo, hi + 1))  # type: ignore[no-any-return]


def _index(xs: Any, i: int) -> Any:
    if 0 <= i < len(xs):
        return xs[i]
    raise _Fallback


def _call_cost(c: Ctx, name: str, args: tuple[Any, ...]) -> None:
    extra = B.cost(name, args)
    if extra:
        _charge(c, extra)


def _show_enum(v: Any) -> str:
    return v.display  # type: ignore[no-any-return]


def _show_bool(v: bool) -> str:
    return "true" if v else "false"


def _show_decimal(v: Decimal) -> str:
    return format(v, "f")


_SHOW_OF: list[tuple[type, Callable[[Any], str]]] = [
    (IntT, int_text), (DecimalT, _show_decimal), (BoolT, _show_bool), (EnumT, _show_enum),
]


# ------------------------------------------------------------------ the code generator


class _Block:
    """Lines of Python under construction, with the steps of the current straight-line block."""

    def __init__(self, indent: int):
        self.lines: list[str] = []
        self.indent = indent
        self.pending = 0

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def take(self) -> int:
        """The steps pending, handed to the branches that follow (each adds them once on its path)."""
        pending, self.pending = self.pending, 0
        return pending

    def flush(self) -> None:
        if self.pending:
            self.emit(f"c.steps += {self.pending}")
            self.pending = 0

    def checkpoint(self) -> None:
        self.flush()
        self.emit("if c.steps > c.budget: _budget(c)")


class _Compiler(ir.Visitor):
    """``visit_<Node>(node, scope)`` emits the statements a node needs and returns its value's expression.

    An expression returned is evaluated at most once and has no effect but its value (effects,
    steps included, are emitted as statements), so it may be used inside a larger expression.
    """

    def __init__(self, module: CheckedModule, tables: Evaluator, *, inline: bool = True,
                 hits: set[tuple[int, int]] | None = None):
        self.module = module
        # Branch coverage (the verifier's runs): every if and match adds (id(node), arm) to ``hits`` when it
        # takes a branch, as Evaluator.record_branches does.
        self.hits = hits
        self.tables = tables
        self.limits = tables.budget
        self.globals: dict[str, Any] = {
            "_budget": _budget, "_charge": _charge, "_fits": _fits, "_text_out": _text_out, "_concat": _concat,
            "_pair": _pair, "_int_big": _int_big, "_dec_arith": _dec_arith, "_narrow": _narrow, "_range": _range,
            "_index": _index, "_call_cost": _call_cost, "_show_int": _show_int, "INT_TEXT": B._INT_RE.fullmatch, "_Fallback": _Fallback, "RecordV": RecordV, "SomeV": SomeV,
            "pmap": pmap, "pvector": pvector, "arm_index": arm_index, "show": ops.show, "coerce": ops.coerce,
            "to_decimal": ops.to_decimal, "negate": ops.negate, "compare": ops.compare,
            "values_equal": ops.values_equal, "to_json": to_json, "SMALL_INT": ops.SMALL_INT, "NSMALL_INT": -ops.SMALL_INT, "NBIGDEC": -Decimal(10) ** _DEC_SCALE_MAX,
            "BIGDEC": Decimal(10) ** _DEC_SCALE_MAX, "quantize": ops.quantize, "Decimal": Decimal, "BIG": ops.BIG, "ROUND_HALF_EVEN": ROUND_HALF_EVEN,
            "floor": math.floor, "ceil": math.ceil, "NEW": object.__new__,
            "SET_SOME": _slot_setter(SomeV, "value"), "SET_TYPE": _slot_setter(RecordV, "type_name"),
            "SET_FIELDS": _slot_setter(RecordV, "fields"), "NONE": NONE,
        }
        self.defs: list[str] = []  # generated function definitions, callees first
        self.functions: dict[str, str] = {}  # DDL function key → Python name
        self._names = itertools.count()
        self.block = _Block(1)
        # What the code emitted so far has computed, for reuse where it is in scope (see nested()):
        self.avail: dict[str, str] = {}  # a pure expression's text → the local holding its value
        self.calls: dict[tuple[str, tuple[str, ...]], tuple[str, str]] = {}  # (fn, args) → (result, steps local)
        self.records: dict[str, dict[str, str]] = {}  # a record built here → its fields' locals
        self.table_rows: dict[str, tuple[str, dict[Any, Any], str]] = {}  # a table's record → (table, rows, key)
        self.table_consts: dict[tuple[str, str | None], str] = {}  # (table, field or None) → its global
        # What is known of Int values, by their expression or local: |value| <= bound (types tell the rest).
        self.bound: dict[str, int] = {}
        self.payload: dict[str, int] = {}  # an Option[Int]'s value, when some: |value| <= payload
        self.inline = inline
        self.inlined = 0  # IR nodes inlined so far (bounded: the generated text stays small)
        self.loops = 0  # comprehensions open at the point being emitted
        self._sizes: dict[str, int] = {}

    # -- naming

    def fresh(self, stem: str) -> str:
        return f"{stem}{next(self._names)}"

    def const(self, value: Any, stem: str = "k") -> str:
        """A Python expression for a constant: a literal for small ints and texts, else a global."""
        if type(value) is int and -(1 << 60) < value < (1 << 60):
            return repr(value)
        if type(value) is bool or value is None:
            return repr(value)
        if type(value) is str and len(value) < 200:
            return repr(value)
        name = self.fresh(stem)
        self.globals[name] = value
        if type(value) is int:
            self.bound[name] = abs(value)
        elif value is NONE:
            self.payload[name] = 0  # never some: any bound holds
        return name

    def temp(self, expr: str, *, share: bool = True) -> str:
        """Evaluate ``expr`` into a fresh local now (so it can be used twice).

        A pure expression (see :func:`_shareable`; ``share=False`` where it calls a lambda) already
        evaluated in scope is not evaluated again: its local is the value.  Steps are unaffected:
        they are counted per IR node and emitted as statements, never inside the expression.
        """
        if expr.isidentifier() or _is_literal(expr):
            return expr
        share = share and _shareable(expr)
        if share:
            hit = self.avail.get(expr)
            if hit is not None:
                return hit
        name = self.fresh("t")
        self.block.emit(f"{name} = {expr}")
        if share:
            self.avail[expr] = name
        self.same(name, expr)
        return name

    def same(self, name: str, expr: str) -> None:
        """``name`` holds ``expr``'s value: what is known of one is known of the other."""
        if expr in self.bound:
            self.bound[name] = self.bound[expr]
        if expr in self.payload:
            self.payload[name] = self.payload[expr]

    def int_bound(self, value: str, node: ir.Node | None) -> int | None:
        """A bound on |value| of an Int, from its type, what was computed, or the literal; None if unknown."""
        known = self.bound.get(value)
        t = node.type if node is not None else None
        if isinstance(t, IntT) and t.lo is not None and t.hi is not None:
            by_type = max(abs(t.lo), abs(t.hi))
            known = by_type if known is None else min(known, by_type)
        if known is None and _INT_LITERAL.fullmatch(value):
            known = abs(int(value))
        return known

    def join(self, target: str, values: list[tuple[str, ir.Node]]) -> None:
        """``target`` is one of the branches' values: what is known of all of them is known of it."""
        if not values:
            return
        ints = [self.int_bound(v, n) for v, n in values]
        if all(b is not None for b in ints):
            self.bound[target] = max(b for b in ints if b is not None)
        somes = [self.payload.get(v) for v, _ in values]
        if all(b is not None for b in somes):
            self.payload[target] = max(b for b in somes if b is not None)

    @contextmanager
    def nested(self, *, function: bool = False) -> Iterator[None]:
        """Code that may not run (a branch, a loop body) or runs elsewhere (a function): what it computes is
        forgotten after it; a new Python function (``function``) sees nothing computed outside it."""
        saved = self.avail, self.calls
        self.avail, self.calls = ({}, {}) if function else (dict(self.avail), dict(self.calls))
        try:
            yield
        finally:
            self.avail, self.calls = saved

    def fits(self, expr: str, t: Type | None = None, *, share: bool = True) -> str:
        """``expr`` (a Text, List or Map) into a temp, checked against the size budget inline."""
        value = self.temp(expr, share=share)
        limit = self.limits.max_text if isinstance(t, TextT) else self.limits.max_items
        if t is None or isinstance(t, (TextT, ListT, MapT)):
            if t is None:
                self.block.emit(f"if len({value}) > (c.limits.max_text if type({value}) is str else c.limits.max_items): "
                                "raise _Fallback")
            else:
                self.block.emit(f"if len({value}) > {limit}: raise _Fallback")
        return value

    def charge_sizes(self, values: list[str]) -> None:
        """Charge the size cost of texts, lists and maps (len >> SIZE_SHIFT) before work on them."""
        if not values:
            return
        # Work linear in operands that already exist: counted now, looked at by the next checkpoint.
        unknown = [v for v in values if not _is_literal(v)]
        known = sum(len(ast.literal_eval(v)) for v in values if _is_literal(v))
        if not unknown:
            self.block.pending += known >> ops.SIZE_SHIFT
        elif len(unknown) == 1:
            total = f"len({unknown[0]})" + (f" + {known}" if known else "")
            self.block.emit(f"if len({unknown[0]}) >= {(1 << ops.SIZE_SHIFT) - known}: "
                            f"c.steps += ({total}) >> {ops.SIZE_SHIFT}")
        else:
            self.block.emit(f"c.steps += ({self.size_sum(values)}) >> {ops.SIZE_SHIFT}")

    def size_sum(self, values: list[str]) -> str:
        """The sum of the lengths of texts, lists and maps, literal ones counted now."""
        known = sum(len(ast.literal_eval(v)) for v in values if _is_literal(v))
        return " + ".join([f"len({v})" for v in values if not _is_literal(v)] + ([str(known)] if known else [])) or "0"

    # -- structure

    def expr(self, node: ir.Node, scope: Scope) -> str:
        self.block.pending += 1  # one step per node, as in Evaluator._eval
        return self.visit(node, scope)  # type: ignore[no-any-return]

    def json(self, node: ir.Node, scope: Scope) -> str:
        """``to_json`` of the node's value, with the records, lists and maps it builds built as JSON directly."""
        max_items = self.limits.max_items
        if isinstance(node, ir.MakeRecord):
            self.block.pending += 1
            fields = [f"{name!r}: {self.temp(self.json(e, scope))}" for name, e in node.fields]
            return self.temp(f"{{{', '.join(fields)}}}")
        if isinstance(node, ir.MakeList) and len(node.items) <= max_items:
            self.block.pending += 1
            items = [self.temp(self.json(i, scope)) for i in node.items]
            return self.temp(f"[{', '.join(items)}]")
        if isinstance(node, ir.MakeMap) and _constant_text_keys(node) and len(node.entries) <= max_items:
            # Keys are distinct constant texts: to_json's sorted order is known now.
            self.block.pending += 1
            pairs = []
            for k, v in node.entries:
                key = self.expr(k, scope)
                pairs.append((key, f"{key}: {self.temp(self.json(v, scope))}"))
            texts = [str(getattr(k, "value", "")) for k, _ in node.entries]
            order = sorted(range(len(pairs)), key=texts.__getitem__)
            return self.temp(f"{{{', '.join(pairs[i][1] for i in order)}}}")
        if isinstance(node, ir.Let):
            self.block.pending += 1
            return self.json(node.body, {**scope, node.name: self.bind(self.expr(node.value, scope))})
        value = self.expr(node, scope)
        vt = node.type
        if isinstance(vt, (TextT, IntT, BoolT)):
            return value
        if isinstance(vt, DecimalT):
            return f"format({value}, 'f')"
        return self.temp(self.to_json(value, vt))

    def to_json(self, value: str, t: Type) -> str:
        """An expression for ``to_json(value)`` specialized to the type (lists and options of scalars)."""
        if isinstance(t, (TextT, IntT, BoolT)):
            return value
        if isinstance(t, DecimalT):
            return f"format({value}, 'f')"
        if isinstance(t, EnumT):
            return f"{value}.name"
        if isinstance(t, ListT) and isinstance(t.elem, (TextT, IntT, BoolT, DecimalT, EnumT)):
            x = self.fresh("j")
            return f"[{self.to_json(x, t.elem)} for {x} in {value}]"
        return f"to_json({value})"

    def branch(self, node: ir.Node, scope: Scope, target: str, extra: int = 0) -> str:
        """Emit, one level deeper, the code that evaluates ``node`` into ``target`` (a branch's own block).

        ``extra``: steps taken before the branch point, added on this path with the branch's own.
        """
        outer = self.block.pending
        self.block.pending = extra
        self.block.indent += 1
        with self.nested():
            value = self.expr(node, scope)
            self.block.flush()
            self.block.emit(f"{target} = {value}")
        self.block.indent -= 1
        self.block.pending = outer
        return value  # for join: its local, or a literal (what is known of it outlives the branch)

    def function(self, key: str) -> str:
        name = self.functions.get(key)
        if name is None:
            fn = self.module.functions[key]
            name = self.fresh("fn_")
            params = [self.fresh("a") for _ in fn.params]
            scope = {p: py for (p, _), py in zip(fn.params, params)}
            self.functions[key] = name
            self.defs.append(self.body(name, ["c", *params], fn.body, scope))
        return name

    def body(self, name: str, params: list[str], node: ir.Node, scope: Scope, *, check_end: bool = False,
             json: bool = False) -> str:
        saved, loops = self.block, self.loops
        self.block, self.loops = _Block(1), 0
        with self.nested(function=True):
            value = self.json(node, scope) if json else self.expr(node, scope)
        if check_end:
            self.block.checkpoint()
        else:
            self.block.flush()
        self.block.emit(f"return {value}")
        text = f"def {name}({', '.join(params)}):\n" + "\n".join(self.block.lines) + "\n"
        self.block, self.loops = saved, loops
        return text

    # -- nodes

    def visit_Const(self, node: ir.Const, scope: Scope) -> str:
        return self.const(node.value)

    def visit_Local(self, node: ir.Local, scope: Scope) -> str:
        if node.name not in scope:
            raise ops.InternalError(f"unbound local {node.name}")
        return scope[node.name]

    def visit_Param(self, node: ir.Param, scope: Scope) -> str:
        param = scope.get("$" + node.name)
        if param is not None:
            return param
        return f"c.params[{node.name!r}]"  # a parameter outside its family's program: KeyError, so the interpreter

    def visit_Interp(self, node: ir.Interp, scope: Scope) -> str:
        pieces = []
        for part in node.parts:
            if type(part) is str:
                if part:
                    pieces.append(repr(part))
                continue
            value = self.temp(self.expr(part, scope))  # type: ignore[arg-type]
            known = self.int_bound(value, part) if isinstance(part.type, IntT) else None  # type: ignore[union-attr, arg-type]
            pieces.append(self.show(value, part.type, known))  # type: ignore[union-attr]
        text = self.temp(" + ".join(pieces) if pieces else "''")
        self.block.emit(f"if len({text}) >= {1 << ops.SIZE_SHIFT}: _text_out(c, {text})")
        return text

    def show(self, value: str, t: Type, bound: int | None = None) -> str:
        if isinstance(t, TextT):
            return value
        if _small_int(t) or bound is not None and bound < ops.SMALL_INT:
            return f"str({value})"  # int_text is str below 10**4000; SMALL_INT is far below
        if isinstance(t, IntT):
            return f"(str({value}) if NSMALL_INT < {value} < SMALL_INT else {self.const(int_text, 'show')}({value}))"
        if isinstance(t, EnumT):
            return f"{value}.display"
        for kind, fn in _SHOW_OF:
            if isinstance(t, kind):
                return f"{self.const(fn, 'show')}({value})"
        return f"show({value})"

    def visit_Let(self, node: ir.Let, scope: Scope) -> str:
        return self.expr(node.body, {**scope, node.name: self.bind(self.expr(node.value, scope))})

    def bind(self, value: str) -> str:
        """A let's local: the value's own when it is a local or a literal already (never assigned again)."""
        if value.isidentifier() or _is_literal(value):
            return value
        local = self.fresh("v")
        self.block.emit(f"{local} = {value}")
        self.same(local, value)
        return local

    def visit_If(self, node: ir.If, scope: Scope) -> str:
        cond = self.expr(node.cond, scope)
        target = self.fresh("t")
        before = self.block.take()
        self.block.emit(f"if {cond}:")
        self.record(node, 0)
        then = self.branch(node.then, scope, target, before)
        self.block.emit("else:")
        self.record(node, 1)
        else_ = self.branch(node.else_, scope, target, before)
        self.join(target, [(then, node.then), (else_, node.else_)])
        return target

    def visit_Arith(self, node: ir.Arith, scope: Scope) -> str:
        if node.kind != "int":  # Decimal arithmetic depends on its operands' values only
            left = self.temp(self.exact(node.left, scope))
            right = self.temp(self.exact(node.right, scope))
            return self.decimal_arith(node, left, right)
        left = self.temp(self.expr(node.left, scope))
        right = self.temp(self.expr(node.right, scope))
        op = node.op
        py = {"+": "+", "-": "-", "*": "*", "/": "//", "%": "%"}[op]
        # b == 0 raises ZeroDivisionError: the interpreter then reports DDL300 with its span.
        inline = f"({left} {py} {right})"
        bounds = [self.int_bound(left, node.left), self.int_bound(right, node.right)]
        unknown = [v for v, b in zip((left, right), bounds) if b is None or b >= ops.SMALL_INT]
        if not unknown:
            # Both inside ±SMALL_INT: no extra cost, and the result's bound follows from theirs
            # (|a // b| <= |a| and |a % b| < |b| for b != 0; b == 0 fails either way).
            a, b = (x or 0 for x in bounds)
            self.bound[inline] = {"+": a + b, "-": a + b, "*": a * b, "/": a, "%": b}[op]
            return inline
        # Operands inside ±SMALL_INT cost nothing extra: checked here, the big-number cost otherwise.
        test = " and ".join(f"NSMALL_INT < {v} < SMALL_INT" for v in unknown)
        return self.temp(f"{inline} if {test} else _int_big(c, {op!r}, {left}, {right})")

    def exact(self, node: ir.Node, scope: Scope) -> str:
        """What :meth:`expr` gives (the same steps, the same failures), for a use that depends on the value
        only (an operand of Decimal arithmetic, of round or to_decimal, as in ops): a Decimal may then
        come with another exponent than its type's scale, saving the quantize that would only set it.

        An Int widened or converted to a Decimal is that Int's value; a Decimal widened is its own;
        a division by 10**k that is exact at the quotient's scale is the shifted dividend.
        """
        if isinstance(node, ir.Widen) and isinstance(node.type, DecimalT) and not isinstance(node.inner, ir.Const):
            inner = node.inner.type
            if isinstance(inner, IntT) or isinstance(inner, DecimalT) and inner.scale <= node.type.scale:
                self.block.pending += 1
                value = self.temp(self.exact(node.inner, scope))
                return f"Decimal({value})" if isinstance(inner, IntT) else value
        if (isinstance(node, ir.CallBuiltin) and node.name in ("round", "to_decimal") and isinstance(node.type, DecimalT)
                and isinstance(node.args[0].type, IntT) and isinstance(node.args[1], ir.Const)):
            # An Int at any number of places (clamped to 0..18) is that Int.
            self.block.pending += 1
            value = self.temp(self.expr(node.args[0], scope))
            self.expr(node.args[1], scope)
            return f"Decimal({value})"
        power = _power_of_ten(node.right) if isinstance(node, ir.Arith) and node.op == "/" else None
        if (isinstance(node, ir.Arith) and node.kind != "int" and power is not None and isinstance(node.type, DecimalT)
                and _scale_of(node.left.type) + power <= node.type.scale <= _DEC_SCALE_MAX):
            # Exact at the quotient's scale: the quantize to it changes the exponent only.
            self.block.pending += 1
            left = self.temp(self.exact(node.left, scope))
            right = self.temp(self.exact(node.right, scope))
            operand = left if isinstance(node.left.type, DecimalT) else f"Decimal({left})"
            shifted = f"{operand}.scaleb({-power}, BIG)"
            if _small_const(node.left) or _small_decimal(node.left.type):
                return self.temp(shifted)
            target = self.fresh("t")  # past ±10**300 the interpreter charges the size cost: decimal_arith's path
            self.block.emit(f"if NBIGDEC < {left} < BIGDEC: {target} = {shifted}")
            self.block.emit(f"else: {target} = _dec_arith(c, '/', {left}, {right}, {ops.dec_scale(node.type)})")
            return target
        return self.expr(node, scope)

    def decimal_arith(self, node: ir.Arith, left: str, right: str) -> str:
        op, scale = node.op, ops.dec_scale(node.type)
        general = f"_dec_arith(c, {op!r}, {left}, {right}, {scale})"
        if not (_scale_of(node.left.type) <= _DEC_SCALE_MAX and _scale_of(node.right.type) <= _DEC_SCALE_MAX):
            return self.temp(general)
        # Values of scale ≤ 300 inside ±10**300 are far below the size cost's threshold (ops.dec_arith_cost).
        small = " and ".join(f"NBIGDEC < {v} < BIGDEC" for v, n in ((left, node.left), (right, node.right))
                             if not _small_const(n) and not _small_decimal(n.type))
        power = _power_of_ten(node.right)
        target = self.fresh("t")
        if small:
            self.block.emit(f"if {small}:")
        self.block.indent += 1 if small else 0
        if op == "/" and power is not None:
            # Exact: shifting the point loses nothing, then one half-even rounding, as ops._dec_div does.
            operand = left if isinstance(node.left.type, DecimalT) else f"Decimal({left})"
            self.quantize(f"{operand}.scaleb({-power}, BIG)", scale, target)
        elif op in _BIG_METHOD:
            # ops._dec_add/_sub/_mul: exact in the BIG context (ints convert exactly), then quantize.
            self.quantize(f"BIG.{_BIG_METHOD[op]}({left}, {right})", scale, target)
        else:
            self.block.emit(f"{target} = {self.const(DEC_OPS[op], 'dec')}({left}, {right}, {scale}, None)")
        if small:
            self.block.indent -= 1
            self.block.emit("else:")
            self.block.emit(f"    {target} = {general}")
        return target

    def quantize(self, expr: str, scale: int, target: str) -> None:
        """``target = ops.quantize(expr, scale)`` written out: half-even to the scale, zero never negative."""
        if not 0 <= scale <= 18:
            self.block.emit(f"{target} = quantize({expr}, {scale})")
            return
        exp = self.const(Decimal(1).scaleb(-scale), "exp")
        zero = self.const(Decimal(0).quantize(Decimal(1).scaleb(-scale)), "zero")
        self.block.emit(f"{target} = {expr}.quantize({exp}, ROUND_HALF_EVEN, BIG)")
        self.block.emit(f"if not {target}: {target} = {zero}")  # -0.00 (or 0.00) → 0.00, as copy_abs gives

    def visit_Compare(self, node: ir.Compare, scope: Scope) -> str:
        left = self.temp(self.expr(node.left, scope))
        right = self.temp(self.expr(node.right, scope))
        t, op = node.left.type, node.op
        if isinstance(t, (TextT, ListT, MapT)):
            self.charge_sizes([left, right])
        elif not isinstance(t, _SCALAR_TYPES):
            self.block.emit(f"_pair(c, {left}, {right})")
        same = type(t) is type(node.right.type)
        if same and isinstance(t, (IntT, DecimalT, TextT, BoolT, EnumT)) and (op in ("==", "!=") or not isinstance(t, EnumT)):
            if isinstance(t, BoolT) and op not in ("==", "!="):
                return self.temp(f"compare({op!r}, {left}, {right})")
            return f"({left} {op} {right})"
        if op == "==":
            return f"values_equal({left}, {right})"
        if op == "!=":
            return f"(not values_equal({left}, {right}))"
        return self.temp(f"compare({op!r}, {left}, {right})")

    def visit_Logic(self, node: ir.Logic, scope: Scope) -> str:
        left = self.expr(node.left, scope)
        target = self.fresh("t")
        self.block.emit(f"{target} = bool({left})" if not isinstance(node.left.type, BoolT) else f"{target} = {left}")
        before = self.block.take()
        self.block.emit(f"if {target}:" if node.op == "and" else f"if not {target}:")
        self.branch(node.right, scope, target, before)
        self.block.emit("else:")
        if before:
            self.block.emit(f"    c.steps += {before}")
        self.block.emit(f"    {target} = {node.op == 'or'}")
        return target

    def visit_Not(self, node: ir.Not, scope: Scope) -> str:
        return f"(not {self.expr(node.operand, scope)})"

    def visit_Neg(self, node: ir.Neg, scope: Scope) -> str:
        operand = self.expr(node.operand, scope)
        if isinstance(node.operand.type, IntT):
            known = self.int_bound(operand, node.operand)
            if known is not None:
                self.bound[f"(-{operand})"] = known
            return f"(-{operand})"
        return f"negate({operand})"

    def visit_Concat(self, node: ir.Concat, scope: Scope) -> str:
        left = self.temp(self.expr(node.left, scope))
        right = self.temp(self.expr(node.right, scope))
        return self.temp(f"_concat(c, {left}, {right})")

    def visit_Coalesce(self, node: ir.Coalesce, scope: Scope) -> str:
        got = node.option
        target = self.fresh("t")
        if isinstance(got, ir.CallBuiltin) and got.name == "get" and isinstance(got.args[0].type, ListT):
            # get(xs, i) ?? d: xs[i] when 0 <= i < len(xs), else d, without the option between (the
            # get node and its arguments counted as visit_CallBuiltin counts them).
            self.block.pending += 1
            xs, i = (self.temp(self.expr(a, scope)) for a in got.args)
            test, some = f"0 <= {i} < len({xs})", f"{xs}[{i}]"
            known = None
        else:
            option = self.expr(got, scope)
            self.block.emit(f"{target} = {option}")
            test, some = f"type({target}) is SomeV", f"{target}.value"
            known = self.payload.get(option)
        before = self.block.take()
        self.block.emit(f"if {test}:")
        if before:
            self.block.emit(f"    c.steps += {before}")
        self.block.emit(f"    {target} = {some}")
        self.block.emit("else:")
        default = self.branch(node.default, scope, target, before)
        below = self.int_bound(default, node.default)
        if known is not None and below is not None:
            self.bound[target] = max(known, below)
        return target

    def visit_GetField(self, node: ir.GetField, scope: Scope) -> str:
        obj = self.temp(self.expr(node.obj, scope))
        t = node.obj.type
        names = [n for n, _ in t.fields] if isinstance(t, RecordT) else []
        known = self.records.get(obj)
        if known is not None and node.name in known:
            return known[node.name]
        in_table = self.table_rows.get(obj)
        if in_table is not None:
            # A row of a table of records: the field from a table of that field, by the same key.
            table, rows, lookup = in_table
            column = self.table_consts.get((table, node.name))
            if column is None:
                column = self.const({k: v.get(node.name) for k, v in rows.items()}, "column")
                self.table_consts[(table, node.name)] = column
            return self.temp(f"{column}[{lookup}]")
        if node.name in names:
            # Records are built in declaration order (the checker's MakeRecord, convert): read by position,
            # by name should a record ever come in another order.
            fields = self.temp(f"{obj}.fields")
            i = names.index(node.name)
            return self.temp(f"{fields}[{i}][1] if {fields}[{i}][0] == {node.name!r} else {obj}.get({node.name!r})")
        return f"{obj}.get({node.name!r})"

    def visit_Index(self, node: ir.Index, scope: Scope) -> str:
        obj = self.temp(self.expr(node.obj, scope))
        index = self.temp(self.expr(node.index, scope))
        if node.kind == "list":
            return self.temp(f"_index({obj}, {index})")
        return self.temp(f"{obj}[{index}]")  # KeyError: the interpreter reports DDL303

    def visit_TableGet(self, node: ir.TableGet, scope: Scope) -> str:
        key = self.temp(self.expr(node.key, scope))
        try:
            entries: Any = self.tables.table(node.table)
        except Abort:
            return self.temp("_index((), -1)")  # the table fails to evaluate: the interpreter says how
        keys = list(entries.keys())
        if keys and all(type(k) is EnumV for k in keys) and isinstance(node.key.type, EnumT):
            # Keyed by the variant's name: a dict lookup without hashing the enum value.
            rows, lookup = {k.name: v for k, v in entries.items()}, f"{key}.name"
        elif all(type(k) in (int, str) for k in keys) and isinstance(node.key.type, (IntT, TextT)):
            rows, lookup = dict(entries), key
        else:
            return self.temp(f"{self.const(entries, 'table')}[{key}]")
        table = self.table_consts.get((node.table, None))
        if table is None:
            table = self.table_consts[(node.table, None)] = self.const(rows, "table")
        row = self.temp(f"{table}[{lookup}]")
        if all(type(v) is RecordV for v in rows.values()):
            self.table_rows[row] = (node.table, rows, lookup)  # its fields read from a table per field (visit_GetField)
        return row

    def visit_CallFn(self, node: ir.CallFn, scope: Scope) -> str:
        args = [self.temp(self.expr(a, scope)) for a in node.args]
        key = (node.fn, tuple(args))
        known = self.calls.get(key)
        if known is not None:
            # The same function on the same values, already run in scope: the language is pure, so
            # the value is that run's and so are the steps (counted by that run, added again here).
            result, steps = known
            self.block.emit(f"c.steps += {steps}")
            return result
        # The steps taken so far are c.steps + pending (everywhere): the call's are the difference.
        start, pending = self.fresh("s"), self.block.pending
        self.block.emit(f"{start} = c.steps")  # dropped by _prune unless the call is met again
        if self.inlinable(node.fn):
            # The body written here with the parameters bound to the arguments: the same nodes
            # evaluated in the same order, so the same steps, without a Python call.
            fn = self.module.functions[node.fn]
            self.inlined += self.size(node.fn)
            body = {p: a for (p, _), a in zip(fn.params, args)}
            result = self.temp(self.expr(fn.body, body))
        else:
            result = self.temp(f"{self.function(node.fn)}(c{''.join(', ' + a for a in args)})")
        steps, more = self.fresh("d"), self.block.pending - pending
        self.block.emit(f"{steps} = c.steps - {start}" + (f" + {more}" if more > 0 else f" - {-more}" if more else ""))
        self.calls[key] = (result, steps)
        return result

    def size(self, key: str) -> int:
        """IR nodes in a function's body with the functions it calls written out (no recursion: DDL209)."""
        size = self._sizes.get(key)
        if size is None:
            size = 0
            for n in nodes(self.module.functions[key].body):
                if type(n) in ir.NODE_CLASSES:
                    size += 1 + (self.size(n.fn) if type(n) is ir.CallFn else 0)
            self._sizes[key] = size
        return size

    def inlinable(self, key: str) -> bool:
        """Whether to write a call's body in place: small, and far from Python's nesting limits."""
        return (self.inline and self.block.indent < _INLINE_INDENT and self.loops < _INLINE_LOOPS
                and self.size(key) <= _INLINE_SIZE and self.inlined + self.size(key) <= _INLINE_TOTAL)

    def visit_Lambda(self, node: ir.Lambda, scope: Scope) -> str:
        params = [self.fresh("l") for _ in node.params]
        name = self.fresh("lam")
        inner = {**scope, **dict(zip(node.params, params))}
        outer = self.block
        self.block = _Block(outer.indent + 1)
        self.block.emit("if c.steps > c.budget: _budget(c)")
        with self.nested():
            value = self.expr(node.body, inner)
        self.block.flush()
        self.block.emit(f"return {value}")
        body = self.block.lines
        self.block = outer
        self.block.emit(f"def {name}({', '.join(params)}):")
        self.block.lines.extend(body)
        return name

    def visit_CallBuiltin(self, node: ir.CallBuiltin, scope: Scope) -> str:
        name = node.name
        if name not in B.IMPLS:
            raise ops.InternalError(f"unknown built-in {name}")
        if name in ("round", "to_decimal") and isinstance(node.type, DecimalT) and _places(node) is not None:
            # b_round / b_to_decimal with the places known: ops.to_decimal's quantize, called directly
            # (on the argument's value: quantize depends on nothing else).
            places = _places(node)
            value = self.temp(self.exact(node.args[0], scope))
            self.expr(node.args[1], scope)  # a constant: its step
            arg0 = value if isinstance(node.args[0].type, DecimalT) else f"Decimal({value})"
            target = self.fresh("t")
            self.quantize(arg0, places, target)  # type: ignore[arg-type]
            if _already_at_scale(name, node.args, node.type.scale):
                return target
            return self.temp(f"to_decimal({target}, {node.type.scale})")
        args = [self.temp(self.expr(a, scope)) for a in node.args]
        if name == "show" and (_small_int(node.args[0].type) or isinstance(node.args[0].type, (BoolT, EnumT))):
            return self.temp(self.show(args[0], node.args[0].type))  # a short text: no size cost, within max_text
        if name == "show" and isinstance(node.args[0].type, DecimalT):
            shown = f"format({args[0]}, 'f')"  # ops.show of a Decimal; no size cost
            if _decimal_text_len(node.args[0].type) <= self.limits.max_text:
                return self.temp(shown)
            return self.fits(shown, node.type)
        if name == "text" and isinstance(node.args[0].type, EnumT):
            return f"{args[0]}.display"
        if name == "show" and isinstance(node.args[0].type, IntT):
            # b_show of an Int: str below ±SMALL_INT (no size cost, at most 617 digits); the cost and the limit past it.
            x = args[0]
            known = self.int_bound(x, node.args[0])
            if known is not None and known < ops.SMALL_INT:
                shown = self.temp(f"str({x})")
            else:
                shown = self.temp(f"str({x}) if NSMALL_INT < {x} < SMALL_INT else _show_int(c, {x})")
            return shown if self.limits.max_text >= 700 else self.fits(shown, node.type)
        if name == "parse_int":
            # b_parse_int: digits (a sign, at most 18) after trimming, as an option.
            stripped, target = self.temp(f"{args[0]}.strip()"), self.fresh("t")
            self.block.emit(f"if INT_TEXT({stripped}): {target} = NEW(SomeV); SET_SOME({target}, int({stripped}))")
            self.block.emit(f"else: {target} = NONE")
            self.payload[target] = 10**18  # at most 18 digits (INT_TEXT)
            return target
        if name in _SIZE_EXTRA and not _no_extra_cost(name, node.args, 1 << ops.SIZE_SHIFT):
            self.block.flush()
            self.call_cost(name, args, node.args)
        elif name not in B._CONSTANT_WORK:
            # builtins.cost is the arguments' size cost here: texts, lists and maps cost len >> SIZE_SHIFT.
            self.charge_sizes([a for a, arg in zip(args, node.args) if isinstance(arg.type, (TextT, ListT, MapT))])
        inline = _INLINE.get(name)
        if name in ("pad_left", "pad_right") and isinstance(node.args[2], ir.Const) and type(
                node.args[2].value) is str:
            # b_pad_left / b_pad_right with the fill known (its first character, a space for "").
            t, width = args[0], args[1]
            fill = repr(node.args[2].value[:1] or " ")
            padded = f"{fill} * ({width} - len({t})) + {t}" if name == "pad_left" else f"{t} + {fill} * ({width} - len({t}))"
            call = f"({padded} if {width} > len({t}) else {t})"
            w = node.args[1].value if isinstance(node.args[1], ir.Const) else None
            if type(w) is int and w <= self.limits.max_text:
                return self.temp(call)  # max(width, len(t)): within max_text, as t is
        elif name == "slice":
            # b_slice: both ends clamped to 0..len(t) (Python clamps past the end; below 0 counts from it).
            t, start, end = args
            lo = start if _non_negative(node.args[1]) else f"({start} if {start} > 0 else 0)"
            hi = end if _non_negative(node.args[2]) else f"({end} if {end} > 0 else 0)"
            return self.temp(f"{t}[{lo}:{hi}]")  # no longer than t: within max_text
        elif name == "trim":
            return self.temp(f"{args[0]}.strip()")  # no longer than its argument: within max_text
        elif name == "get" and isinstance(node.args[0].type, ListT):
            # b_get on a list: some(xs[i]) when 0 <= i < len(xs), else none.
            xs, i = args
            target = self.fresh("t")
            self.block.emit(f"if 0 <= {i} < len({xs}): {target} = NEW(SomeV); SET_SOME({target}, {xs}[{i}])")
            self.block.emit(f"else: {target} = NONE")
            return target
        elif inline is not None and (name != "abs" or _small_int(node.args[0].type)):
            call = inline.format(*args)  # the built-in's own body, on arguments that are names or literals
        else:
            impl = self.const(B.IMPLS[name], "b_" + name)
            call = f"{impl}({', '.join(args)}"
            if name in B.KEYED:
                call += f", key={self.const(ops.order_key(key_type(name, node.args)), 'key')}"
            call += ")"
        # A call that runs a lambda charges steps (the lambda's): never shared (temp).
        share = not any(isinstance(a, ir.Lambda) for a in node.args)
        if isinstance(node.type, SIZED):
            return self.fits(call, node.type, share=share)
        if isinstance(node.type, DecimalT):
            if _already_at_scale(name, node.args, node.type.scale):
                return self.temp(call, share=share)
            return self.temp(f"to_decimal({call}, {node.type.scale})", share=share)
        return self.temp(call, share=share)

    def call_cost(self, name: str, args: list[str], nodes_: tuple[ir.Node, ...]) -> None:
        """builtins.cost for a built-in of _SIZE_EXTRA, charged (and the budget looked at) before the call."""
        if name in ("pad_left", "pad_right"):
            t, width, fill = args
            cost = self.fresh("k")
            sizes = self.size_sum([t, fill])
            self.block.emit(f"{cost} = (({sizes}) >> {ops.SIZE_SHIFT}) + "
                            f"(({width} - len({t})) >> {ops.SIZE_SHIFT} if {width} > len({t}) else 0)")
            self.block.emit(f"if {cost}: _charge(c, {cost})")
        elif name == "join":
            xs, sep = args
            cost = self.fresh("k")
            self.block.emit(f"{cost} = (({self.size_sum([xs, sep])}) >> {ops.SIZE_SHIFT}) + "
                            f"(sum(map(len, {xs})) >> {ops.SIZE_SHIFT})")
            self.block.emit(f"if {cost}: _charge(c, {cost})")
        else:
            self.block.emit(f"_call_cost(c, {name!r}, ({''.join(a + ', ' for a in args)}))")

    def visit_MakeList(self, node: ir.MakeList, scope: Scope) -> str:
        items = [self.temp(self.expr(i, scope)) for i in node.items]
        if len(items) <= self.limits.max_items:
            return self.temp(f"pvector([{', '.join(items)}])")
        return self.fits(f"pvector([{', '.join(items)}])", node.type)

    def visit_Range(self, node: ir.Range, scope: Scope) -> str:
        lo = self.temp(self.expr(node.lo, scope))
        hi = self.temp(self.expr(node.hi, scope))
        return self.temp(f"_range(c, {lo}, {hi})")

    def visit_Comprehension(self, node: ir.Comprehension, scope: Scope) -> str:
        source = self.expr(node.source, scope)
        var, out = self.fresh("x"), self.fresh("t")
        inner = {**scope, node.var: var}
        self.block.flush()
        self.block.emit(f"{out} = []")
        self.block.emit(f"for {var} in {source}:")
        self.block.indent += 1
        self.loops += 1
        self.block.emit("if c.steps > c.budget: _budget(c)")
        with self.nested():
            if node.cond is not None:
                cond = self.expr(node.cond, inner)
                self.block.flush()
                self.block.emit(f"if not {cond}: continue")
            elem = self.expr(node.elem, inner)
            self.block.flush()
            self.block.emit(f"{out}.append({elem})")
        self.loops -= 1
        self.block.indent -= 1
        return self.fits(f"pvector({out})", node.type)

    def visit_MakeMap(self, node: ir.MakeMap, scope: Scope) -> str:
        pairs = []
        for k, v in node.entries:
            key = self.temp(self.expr(k, scope))
            value = self.temp(self.expr(v, scope))
            pairs.append(f"{key}: {value}")
        if len(pairs) <= self.limits.max_items:
            return self.temp(f"pmap({{{', '.join(pairs)}}})")
        return self.fits(f"pmap({{{', '.join(pairs)}}})", node.type)

    def visit_MakeRecord(self, node: ir.MakeRecord, scope: Scope) -> str:
        values = [self.temp(self.expr(e, scope)) for _, e in node.fields]
        fields = [f"({name!r}, {value})" for (name, _), value in zip(node.fields, values)]
        record = self.fresh("t")
        # RecordV's attrs __init__ only sets the two slots (no validators): set directly.
        self.block.emit(f"{record} = NEW(RecordV); SET_TYPE({record}, {node.type_name!r}); "
                        f"SET_FIELDS({record}, ({''.join(f + ', ' for f in fields)}))")
        # Its fields read here are read from their locals (and a record only read so is never built: _prune).
        self.records[record] = {name: value for (name, _), value in zip(node.fields, values)}
        return record

    def visit_MakeSome(self, node: ir.MakeSome, scope: Scope) -> str:
        value = self.temp(self.expr(node.value, scope))  # computed on its own line: _prune may drop the option's
        some = self.fresh("t")
        # SomeV's attrs __init__ only sets the slot (no validators): the slot set directly, at half the cost.
        self.block.emit(f"{some} = NEW(SomeV); SET_SOME({some}, {value})")
        known = self.int_bound(value, node.value) if isinstance(node.value.type, IntT) else None
        if known is not None:
            self.payload[some] = known
        return some

    def visit_Match(self, node: ir.Match, scope: Scope) -> str:
        value = self.temp(self.expr(node.scrutinee, scope))
        by_name = _enum_arms(node)
        table = _constant_arms(node, by_name) if self.hits is None else None  # coverage: the arm taken is needed
        if table is not None:
            # Constant patterns and constant arms: the arm's value looked up.  Each arm takes the
            # same steps (its constant), so they are counted whichever applies.
            values, default = table
            key = f"{value}.name" if by_name is not None else value
            found = self.temp(f"{self.const(values, 'arms')}.get({key}, {self.const(default, 'arm')})")
            if default is _NO_ARM:
                self.block.emit(f"if {found} is {self.const(_NO_ARM, 'no_arm')}: raise _Fallback")  # DDL999
            found_ints = [v for v in (*values.values(), default) if v is not _NO_ARM]
            if found_ints and all(type(v) is int for v in found_ints):
                self.bound[found] = max(abs(v) for v in found_ints)
            self.block.pending += 1
            return found
        target = self.fresh("t")
        before = self.block.take()
        if by_name is not None:
            # Enum variants: a dict from the variant's name to its arm (arm_index's rule on enum values).
            arms, wild = by_name
            lookup = f"{self.const(arms, 'arms')}.get({value}.name, {wild})"
            index = self.temp(lookup)
        else:
            tests = [self.pattern_test(arm.pattern, value, node.scrutinee.type) for arm in node.arms]
            results = []
            for i, arm in enumerate(node.arms):
                self.block.emit(f"{'if' if i == 0 else 'elif'} {tests[i]}:")
                self.record(node, i)
                results.append((self.arm(arm, value, scope, target, before), arm.body))
            self.block.emit("else: raise _Fallback")  # no arm applies: DDL999 from the interpreter
            self.join(target, results)
            return target
        self.block.emit(f"if {index} is None: raise _Fallback")
        results = []
        for i, arm in enumerate(node.arms):
            self.block.emit(f"{'if' if i == 0 else 'elif'} {index} == {i}:")
            self.record(node, i)
            results.append((self.arm(arm, value, scope, target, before), arm.body))
        self.join(target, results)  # the arms cover every index the lookup gives
        return target

    def record(self, node: ir.Node, arm: int) -> None:
        """With coverage on, the first statement of a branch just opened: the branch is taken."""
        if self.hits is not None:
            self.globals["HITS"] = self.hits
            self.block.emit(f"    HITS.add({self.const((id(node), arm), 'hit')})")

    def arm(self, arm: ir.Arm, value: str, scope: Scope, target: str, before: int) -> str:
        name = binder(arm.pattern)
        if name is not None:
            local = self.fresh("v")
            self.block.emit(f"    {local} = {value}.value")
            if value in self.payload:
                self.bound[local] = self.payload[value]
            scope = {**scope, name: local}
        return self.branch(arm.body, scope, target, before)

    def pattern_test(self, pattern: ir.IRPattern, value: str, t: Type) -> str:
        """The Python test of arms.arm_index's rule for one pattern."""
        if type(pattern) is ir.PatWild:
            return "True"
        if type(pattern) is ir.PatSome:
            return f"type({value}) is SomeV"
        if type(pattern) is ir.PatConst:
            const = pattern.value
            if isinstance(t, (IntT, TextT)) and type(const) in (int, str):
                return f"{value} == {self.const(const)}"
            return f"values_equal({self.const(const)}, {value})"
        return f"type({value}) is not SomeV"  # none

    def visit_Widen(self, node: ir.Widen, scope: Scope) -> str:
        inner = self.expr(node.inner, scope)
        target = node.type
        if isinstance(node.inner, ir.Const):
            return self.const(ops.coerce(node.inner.value, target))  # folded once: coerce is total
        if isinstance(target, DecimalT):
            return self.temp(f"to_decimal({inner}, {target.scale})")
        if not ops.has_decimal(target):
            return inner
        return self.temp(f"coerce({inner}, {self.const(target, 'type')})")

    def visit_Narrow(self, node: ir.Narrow, scope: Scope) -> str:
        inner = self.temp(self.expr(node.inner, scope))
        t = node.type
        if isinstance(t, IntT):  # ops.narrow's Int rule; no size cost
            tests = ([f"{inner} < {t.lo}"] if t.lo is not None else []) + ([f"{inner} > {t.hi}"] if t.hi is not None else [])
            if tests:
                self.block.emit(f"if {' or '.join(tests)}: raise _Fallback")
            return inner
        if isinstance(t, DecimalT):  # ops.narrow's Decimal rule: no more places than the scale, in range; no size cost
            operand = inner if isinstance(node.inner.type, DecimalT) else f"Decimal({inner})"
            target = self.fresh("t")
            self.quantize(operand, t.scale, target)
            tests = [f"{target} != {inner}"] + ([f"{target} < {self.const(t.lo, 'lo')}"] if t.lo is not None else []) + (
                [f"{target} > {self.const(t.hi, 'hi')}"] if t.hi is not None else [])
            self.block.emit(f"if {' or '.join(tests)}: raise _Fallback")
            return target
        if isinstance(t, TextT):  # ops.narrow's Text rule, with the pattern's matcher looked up once
            tests = [f"len({inner}) > {t.max_len}"] if t.max_len is not None else []
            if t.pattern is not None:
                self.charge_sizes([inner])
                tests.append(f"not {self.const(ops.fast_pattern_matcher(t.pattern), 'matcher')}({inner})")
            if tests:
                self.block.emit(f"if {' or '.join(tests)}: raise _Fallback")
            return inner
        return self.temp(f"_narrow(c, {inner}, {self.const(node.type, 'type')})")


_INT_LITERAL = re.compile(r"-?[0-9]+")
_EFFECTS = re.compile(r"\bc\b")  # the run's context: steps charged, budget looked at, generated functions called


def _shareable(expr: str) -> bool:
    """Whether evaluating ``expr`` once and reusing the value is the same as evaluating it again.

    Not if it touches the context (a charge, a generated function), nor if its value is a
    mutable JSON container the caller gets (two equal outputs must not be one object).
    """
    return not _EFFECTS.search(expr) and expr[:1] not in ("[", "{") and not expr.startswith("to_json(")


def _is_literal(expr: str) -> bool:
    """Whether ``expr`` is one Python literal (safe to use twice)."""
    first = expr[:1]
    if not (first in "'\"-" or first.isdigit()) or not first:
        return expr in ("True", "False", "None")  # what else the generator writes starts otherwise (a name, a bracket)
    return _literal(expr)


@lru_cache(maxsize=4096)
def _literal(expr: str) -> bool:
    try:
        ast.literal_eval(expr)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _places(node: ir.CallBuiltin) -> int | None:
    """round's or to_decimal's places when a constant in 0..18 (then ops.quantize is written inline)."""
    places = node.args[1].value if len(node.args) == 2 and isinstance(node.args[1], ir.Const) else None
    return places if type(places) is int and 0 <= places <= 18 else None


def _decimal_text_len(t: DecimalT) -> float:
    """At most how long a value of ``t`` is written (infinite when unbounded)."""
    if t.lo is None or t.hi is None or t.scale > 1000:
        return math.inf
    biggest = max(abs(t.lo), abs(t.hi))
    digits = max(biggest.adjusted() + 1, 1) if biggest else 1  # before the point
    return 1 + digits + (1 + t.scale if t.scale > 0 else 0)  # sign, digits, point, places


def _small_const(node: ir.Node) -> bool:
    """A constant Int or Decimal inside ±10**300 (no size cost in arithmetic, as _small_decimal)."""
    if not isinstance(node, ir.Const) or type(node.value) not in (int, Decimal):
        return False
    return abs(node.value) < 10**_DEC_SCALE_MAX  # type: ignore[operator, arg-type]


def _non_negative(node: ir.Node) -> bool:
    """Whether an Int node's value is never below 0 (by its type, or as a constant)."""
    if isinstance(node, ir.Const):
        return type(node.value) is int and node.value >= 0
    t = node.type
    return isinstance(t, IntT) and t.lo is not None and t.lo >= 0


def _small_int(t: Type) -> bool:
    """An Int type whose values cost nothing extra in arithmetic (inside ±ops.SMALL_INT)."""
    lim = ops.SMALL_INT
    return isinstance(t, IntT) and t.lo is not None and t.hi is not None and -lim < t.lo and t.hi < lim


_CHEAP_NODES = (ir.Const, ir.Local, ir.Param, ir.Let, ir.If, ir.Logic, ir.Not, ir.Coalesce, ir.GetField,
                ir.MakeSome, ir.Match, ir.Widen)
_UNCOUNTED = Ctx(Budget(steps=1 << 62, seconds=None), {})


def _cheap(node: ir.Node, steps: int) -> bool:
    """Whether evaluating ``node`` takes fewer than ``steps`` steps for every θ: small, no size costs, no loops."""
    count = 0
    for n in nodes(node):
        if type(n) not in ir.NODE_CLASSES:
            continue  # types, spans and patterns
        count += 1
        if isinstance(n, (ir.Arith, ir.Neg)):
            operands = [n.left, n.right] if isinstance(n, ir.Arith) else [n.operand]
            if not all(_small_int(o.type) for o in operands):
                return False
        elif isinstance(n, ir.Compare):
            if not isinstance(n.left.type, _SCALAR_TYPES) or isinstance(n.left.type, DecimalT):
                return False
        elif not isinstance(n, _CHEAP_NODES):
            return False
    return count < steps


_DEC_SCALE_MAX = 300
# Inlining: a function of at most _INLINE_SIZE IR nodes (its callees included) is written at its call
# site, up to _INLINE_TOTAL nodes per program, and never where blocks already nest deeply (Python
# refuses more than 100 indentation levels and 20 nested loops; compile_source retries without).
_INLINE_SIZE = 400
_INLINE_TOTAL = 20_000
_INLINE_INDENT = 40
_INLINE_LOOPS = 8
_BIG_METHOD = {"+": "add", "-": "subtract", "*": "multiply"}


def _small_decimal(t: Type) -> bool:
    """A Decimal or Int type whose values are known to lie inside ±10**300 (no size cost in arithmetic)."""
    if isinstance(t, IntT):
        return t.lo is not None and t.hi is not None and abs(t.lo) < 10**_DEC_SCALE_MAX and abs(t.hi) < 10**_DEC_SCALE_MAX
    if isinstance(t, DecimalT):
        return (t.scale <= _DEC_SCALE_MAX and t.lo is not None and t.hi is not None
                and abs(t.lo) < Decimal(10) ** _DEC_SCALE_MAX and abs(t.hi) < Decimal(10) ** _DEC_SCALE_MAX)
    return False
# A program too deep for Python's compiler (nesting past the parser's limits, the recursion limit):
# then every run is the interpreter's, which evaluates it or fails as specified.
_TOO_DEEP = (RecursionError, SyntaxError, MemoryError)


_NAME = re.compile(r"\b[a-z]+\d+\b")
_STEPS_START = re.compile(r"( *)(s\d+) = c\.steps$")
_STEPS_TAKEN = re.compile(r"( *)(d\d+) = c\.steps - (s\d+)(?: [-+] \d+)?$")
_BUILT = re.compile(r"( *)(t\d+) = NEW\((?:RecordV|SomeV)\); SET_[A-Z]+\(")


def _prune(text: str) -> str:
    """Drop what the generated code computes and never uses: the steps of a call met only once
    (visit_CallFn), a record or option built and never read (its fields read from their locals).

    Both only store values (they cannot fail), so dropping them changes nothing else.  A name
    is unused when it occurs nowhere but its own line (generated names are unique per text).
    """
    uses = Counter(_NAME.findall(text))
    unused_starts = set()
    lines = text.split("\n")
    for line in lines:
        m = _STEPS_TAKEN.match(line)
        if m and uses[m.group(2)] == 1:
            unused_starts.add(m.group(3))
    for i, line in enumerate(lines):
        m = _STEPS_TAKEN.match(line)
        if m and uses[m.group(2)] == 1:
            lines[i] = m.group(1) + "pass"
            continue
        m = _STEPS_START.match(line)
        if m and m.group(2) in unused_starts:
            lines[i] = m.group(1) + "pass"
            continue
        m = _BUILT.match(line)
        if m and uses[m.group(2)] == len(re.findall(rf"\b{m.group(2)}\b", line)):
            lines[i] = m.group(1) + "pass"
    return "\n".join(lines)


_STEP_LINE = re.compile(r"( *)c\.steps \+= (\d+)$")


def _uncounted(lines: list[str], first: int) -> list[str] | None:
    """A program's lines without its step counting, when counting cannot matter; else None.

    That is when the context is used for nothing else (no size costs, no big numbers, no loops,
    no calls) and all its counts together stay within ``first``, the first checkpoint: the code has
    no loop (a loop looks at the budget), so each count runs at most once, and a run within the
    first checkpoint's steps fails neither the step budget nor the clock, which the interpreter
    too looks at only past it.
    """
    total, out = 0, []
    for line in lines:
        m = _STEP_LINE.match(line)
        if m:
            total += int(m.group(2))
            out.append(m.group(1) + "pass")
        elif _EFFECTS.search(line):
            return None
        else:
            out.append(line)
    return out if total <= first else None


def _run_source(text: str, name: str, namespace: dict[str, Any]) -> None:
    exec(compile(text, name, "exec"), namespace)  # noqa: S102 - our own generated code


def _scale_of(t: Type) -> int:
    """The scale of a Decimal operand (an Int is scale 0); huge for anything else."""
    if isinstance(t, DecimalT):
        return t.scale
    return 0 if isinstance(t, IntT) else 1 << 30


def _power_of_ten(node: ir.Node) -> int | None:
    """k when ``node`` is the constant 10**k (perhaps widened to a Decimal), else None."""
    if isinstance(node, ir.Widen):
        node = node.inner
    if not isinstance(node, ir.Const):
        return None
    raw = node.value
    if type(raw) is not int and type(raw) is not Decimal:
        return None
    value = Decimal(raw)  # type: ignore[arg-type]
    for k in range(0, 19):
        if value == Decimal(10) ** k:
            return k
    return None


def _already_at_scale(name: str, args: tuple[ir.Node, ...], scale: int) -> bool:
    """Whether the built-in's Decimal result is already quantized to ``scale`` (to_decimal would change nothing)."""
    if name in ("round", "to_decimal") and len(args) == 2:
        places = args[1].value if isinstance(args[1], ir.Const) else None
        return type(places) is int and places == scale and 0 <= scale <= 18
    return False


def _no_extra_cost(name: str, args: tuple[ir.Node, ...], unit: int) -> bool:
    """Whether builtins.cost adds nothing to the size cost for these arguments, whatever their values."""
    consts = [a.value if isinstance(a, ir.Const) else None for a in args]
    if name == "replace":
        old, new = consts[1], consts[2]
        return type(old) is str and type(new) is str and (not old or not new or len(new) <= len(old))
    if name in ("pad_left", "pad_right"):
        width = consts[1]
        return type(width) is int and width < unit  # max(0, width - len(t)) >> SIZE_SHIFT is 0
    return False


def _constant_text_keys(node: ir.MakeMap) -> bool:
    keys = [k.value for k, _ in node.entries if type(k) is ir.Const and type(k.value) is str]
    return len(keys) == len(node.entries) and len(set(keys)) == len(keys)


_NO_ARM = object()  # _constant_arms: no arm applies


def _constant_arms(node: ir.Match, by_name: tuple[dict[str, int], int | None] | None) -> tuple[dict[Any, Any], Any] | None:
    """For a match whose patterns and arms are constants: pattern → the arm's value, and the value
    when no pattern applies (the wildcard's, or _NO_ARM); None for any other match."""
    arms = node.arms
    chosen: dict[Any, int] = {}  # pattern → the first arm with it
    if by_name is not None:
        chosen, wild = dict(by_name[0]), by_name[1]
    elif isinstance(node.scrutinee.type, (IntT, TextT)):
        wild = None
        for i, arm in enumerate(arms):
            pat = arm.pattern
            if type(pat) is ir.PatWild:
                wild = i
                break
            if type(pat) is not ir.PatConst or type(pat.value) not in (int, str):
                return None
            chosen.setdefault(pat.value, i)
    else:
        return None
    bodies: list[Any] = []
    for arm in arms[: len(arms) if wild is None else wild + 1]:
        if not isinstance(arm.body, ir.Const):
            return None
        bodies.append(arm.body.value)
    return {k: bodies[i] for k, i in chosen.items()}, (bodies[wild] if wild is not None else _NO_ARM)


def _enum_arms(node: ir.Match) -> tuple[dict[str, int], int | None] | None:
    """For a match on enum constants (and perhaps ``_``): variant name → first arm, and the wildcard's arm."""
    if not isinstance(node.scrutinee.type, EnumT):
        return None
    arms: dict[str, int] = {}
    for i, arm in enumerate(node.arms):
        pat = arm.pattern
        if type(pat) is ir.PatWild:
            return arms, i
        if type(pat) is not ir.PatConst or type(pat.value) is not EnumV:  # type: ignore[union-attr]
            return None
        arms.setdefault(pat.value.name, i)  # type: ignore[union-attr]
    return arms, None


def compile_source(
    module: CheckedModule, family: str, tables: Evaluator, *, node: ir.Node | None = None, json: bool = False,
    hits: set[tuple[int, int]] | None = None,
) -> tuple[str, Callable[..., Any]]:
    """The Python text of a family's program (or of ``node`` over its θ) and the function it defines.

    The function is ``program(c, *θ values in declaration order)``; with ``json`` it returns
    ``to_json`` of the value (records, lists and maps built as JSON directly).  With ``hits``, every
    if and match taken adds ``(id(node), arm)`` to it, as :meth:`Evaluator.record_branches` reports them.
    """
    try:
        return _compile_source(module, family, tables, node, json, inline=True, hits=hits)
    except _TOO_DEEP:  # nested too deeply once functions are written in place: try with calls
        return _compile_source(module, family, tables, node, json, inline=False, hits=hits)


def _compile_source(
    module: CheckedModule, family: str, tables: Evaluator, node: ir.Node | None, json: bool, *, inline: bool,
    hits: set[tuple[int, int]] | None = None,
) -> tuple[str, Callable[..., Any]]:
    fam = module.families[family]
    compiler = _Compiler(module, tables, inline=inline, hits=hits)
    params = [compiler.fresh("p") for _ in fam.params]
    scope = {"$" + p.name: py for p, py in zip(fam.params, params)}
    main = compiler.body("program", ["c", *params], fam.program if node is None else node, scope, check_end=True,
                         json=json)
    text = _prune("\n".join([*compiler.defs, main]))
    namespace = dict(compiler.globals)
    _run_source(text, f"<ddl family {family}>", namespace)
    return text, namespace["program"]


def _program_or_fallback(module: CheckedModule, family: str, interpreter: Evaluator, *, json: bool = False,
                         hits: set[tuple[int, int]] | None = None) -> Callable[..., Any]:
    """The family's compiled program, or — too deep for Python's compiler — one that always leaves the fast
    path, so that every run is the interpreter's (which fails or succeeds as specified)."""
    try:
        return compile_source(module, family, interpreter, json=json, hits=hits)[1]
    except _TOO_DEEP:
        def program(c: Ctx, *values: Any) -> Any:
            raise _Fallback
        return program


def compile_family(
    module: CheckedModule, family: str, step_budget: int | None = None, *, budget: Budget = ops.DEFAULT_LIMITS,
    on_fallback: Callable[[BaseException], None] | None = None,
) -> Callable[[Mapping[str, Value]], Outcome]:
    """Compile a family's program once; the result maps a validated θ to an Outcome.

    Agrees exactly with ``Evaluator(module, step_budget, budget=budget).run(family, θ)`` (the
    wall clock aside, which neither backend can make deterministic): a run that fails on the fast
    path is the interpreter's run.  ``on_fallback`` (for tests and benchmarks) is told why each
    run that the interpreter finished left the fast path.
    """
    fam = module.families[family]
    interpreter = Evaluator(module, step_budget, budget=budget)
    limits = interpreter.budget
    names = [p.name for p in fam.params]
    program = _program_or_fallback(module, family, interpreter)

    def run(theta: Mapping[str, Value]) -> Outcome:
        try:
            values = [theta[n] for n in names]
        except KeyError:
            missing = [n for n in names if n not in theta]
            raise ValueError(f"θ is missing parameter(s) {', '.join(missing)}; use validate_theta first") from None
        ctx = Ctx(limits, theta if type(theta) is dict else dict(theta))
        try:
            return Ok(program(ctx, *values))
        except Abort as abort:
            if abort.code == "DDL318":
                return Err(abort.failure(tuple(zip(names, values))))
            if on_fallback is not None:
                on_fallback(abort)
        except Exception as why:  # noqa: BLE001 - any failure on the fast path: the interpreter's run says what it is
            if on_fallback is not None:
                on_fallback(why)
        return interpreter.run(family, theta)

    run.__name__ = f"run_{family}"
    run.__doc__ = f"Evaluate family {family!r} at a validated θ (compiled to Python)."
    return run


def compile_covered(
    module: CheckedModule, family: str, *, budget: Budget = ops.DEFAULT_LIMITS,
    on_fallback: Callable[[BaseException], None] | None = None,
) -> Callable[[Mapping[str, Value]], tuple[Outcome, int, frozenset[tuple[int, int]]]]:
    """The verifier's run of a family at a validated θ: (outcome, steps, branches taken).

    The three agree exactly with an :class:`Evaluator` (``budget``) whose :meth:`~Evaluator.record_branches`
    collects ``(id(node), arm)``: its outcome, its ``last_steps`` and its set.  A run that succeeds on the
    fast path counts the interpreter's steps and takes the interpreter's branches (both backends evaluate
    the same nodes); any other run is the interpreter's, its branches recorded afresh.  The wall clock
    (DDL318), which neither backend can make deterministic, is the interpreter's too: the verifier runs
    without one.  ``on_fallback`` (for tests) is told why each run the interpreter finished left the fast path.
    """
    fam = module.families[family]
    interpreter = Evaluator(module, budget=budget)
    hits: set[tuple[int, int]] = set()
    interpreter.record_branches(lambda node, arm: hits.add((id(node), arm)))
    limits = interpreter.budget
    names = [p.name for p in fam.params]
    program = _program_or_fallback(module, family, interpreter, hits=hits)

    none: frozenset[tuple[int, int]] = frozenset()

    def run(theta: Mapping[str, Value]) -> tuple[Outcome, int, frozenset[tuple[int, int]]]:
        ctx = Ctx(limits, theta if type(theta) is dict else dict(theta))
        try:
            value = program(ctx, *[theta[n] for n in names])
            if hits:
                taken = frozenset(hits)
                hits.clear()
                return Ok(value), ctx.steps, taken
            return Ok(value), ctx.steps, none
        except Exception as why:  # noqa: BLE001 - any failure on the fast path: the interpreter's run says what it is
            if on_fallback is not None:
                on_fallback(why)
        hits.clear()
        outcome = interpreter.run(family, theta)
        taken = frozenset(hits)
        hits.clear()  # empty between runs: a run that records nothing returns `none` without copying
        return outcome, interpreter.last_steps, taken

    return run


def compile_call(
    module: CheckedModule, family: str, *, budget: Budget = ops.DEFAULT_LIMITS
) -> Callable[[Mapping[str, Value]], Any]:
    """What calling a family from Python runs: θ (validated, complete) → ``to_json`` of its value, or an Err.

    The same fast path and fallback as :func:`compile_family`, without the Ok wrapper and with the
    JSON built by the generated code.
    """
    fam = module.families[family]
    interpreter = Evaluator(module, budget=budget)
    limits = interpreter.budget
    names = [p.name for p in fam.params]
    program = _program_or_fallback(module, family, interpreter, json=True)

    def call(theta: Mapping[str, Value]) -> Any:
        values = [theta[n] for n in names]
        try:
            return program(Ctx(limits, theta), *values)  # type: ignore[arg-type]
        except Abort as abort:
            if abort.code == "DDL318":
                return Err(abort.failure(tuple(zip(names, values))))
        except Exception:  # noqa: BLE001 - the interpreter's run says what the failure is
            pass
        outcome = interpreter.run(family, theta)
        return to_json(outcome.value) if isinstance(outcome, Ok) else outcome

    return call


def compile_check(
    module: CheckedModule, family: str, node: ir.Node, tables: Evaluator
) -> Callable[[Mapping[str, Value]], bool]:
    """A Bool expression over a family's θ (a ``where``) as a test: True only when it evaluates to true.

    False covers both false and any failure: the caller asks the interpreter which (for its message).
    """
    names = [p.name for p in module.families[family].params]
    limits = tables.budget
    try:
        _, program = compile_source(module, family, tables, node=node)
    except _TOO_DEEP:
        return lambda theta: False
    if _cheap(node, tables.budget.steps):
        # Within the step budget whatever θ is (few nodes, no size costs, no loops, no clock to look
        # at): no per-call context, one shared counter nobody reads.
        def cheap_check(theta: Mapping[str, Value]) -> bool:
            try:
                return program(_UNCOUNTED, *[theta[n] for n in names]) is True  # type: ignore[no-any-return]
            except Exception:  # noqa: BLE001 - a failing where: the slow path reports it
                return False

        return cheap_check

    def check(theta: Mapping[str, Value]) -> bool:
        try:
            return program(Ctx(limits, theta), *[theta[n] for n in names]) is True  # type: ignore[arg-type, no-any-return]
        except Exception:  # noqa: BLE001 - a failing where: the slow path reports it
            return False

    return check


SLOW = _Fallback()  # compile_entry's "take the general path" (validation to report, or the interpreter to run)


@attrs.frozen
class ParamEntry:
    """How compile_entry reads one parameter from a Python call's keyword arguments.

    ``kind`` is ``int`` (``data`` = (lo, hi), None for open), ``bool``, ``text`` (any str without
    lone surrogates), ``pattern`` (such a str, ``data`` = (max length or None, full-match predicate
    or None)), ``enum`` (``data`` = spelling → value) or ``call`` (``data`` = a converter
    returning ``NO`` for what it does not accept).  ``default`` is the converted default, or ``NO``
    when the parameter is required.
    """

    name: str
    kind: str
    data: Any
    default: Any


def compile_entry(
    module: CheckedModule, family: str, entries: list[ParamEntry], no: object, tables: Evaluator,
    *, budget: Budget = ops.DEFAULT_LIMITS,
) -> Callable[[Mapping[str, Any]], Any]:
    """A Python call of a family in one generated function: keyword arguments → JSON output.

    Reads and checks each argument as ``entries`` say, checks the ``where`` clauses, runs the
    program and builds its JSON.  Returns :data:`SLOW` for anything off the fast path (an argument
    to convert or report, a where that does not hold, a run that fails), for the caller's general
    path (ThetaChecker, compile_call) to answer; or an Err for a run past its time budget.
    """
    try:
        return _compile_entry(module, family, entries, no, tables, budget, inline=True)
    except _TOO_DEEP:  # nested too deeply once functions are written in place: try with calls
        return _compile_entry(module, family, entries, no, tables, budget, inline=False)


def _compile_entry(
    module: CheckedModule, family: str, entries: list[ParamEntry], no: object, tables: Evaluator, budget: Budget,
    *, inline: bool,
) -> Callable[[Mapping[str, Any]], Any]:
    fam = module.families[family]
    compiler = _Compiler(module, tables, inline=inline)
    limits = tables.budget if budget is ops.DEFAULT_LIMITS else budget
    compiler.limits = limits
    g = compiler.globals
    g.update({"NAMES": frozenset(e.name for e in entries), "SLOW": SLOW, "NO": no, "Ctx": Ctx, "LIMITS": limits,
              "EMPTY": {}, "UNCOUNTED": _UNCOUNTED, "monotonic": time.monotonic, "Abort": Abort, "Err": Err, "SURROGATE": _SURROGATE})
    if [e.name for e in entries] != [p.name for p in fam.params]:
        raise ops.InternalError("compile_entry needs one entry per parameter, in order")
    py = [compiler.fresh("p") for _ in entries]
    scope = {"$" + e.name: v for e, v in zip(entries, py)}
    lines = ["def entry(raw):", "    if not NAMES.issuperset(raw): return SLOW"]
    for e, v in zip(entries, py):
        lines.append(f"    if {e.name!r} in raw:")
        lines.append(f"        {v} = raw[{e.name!r}]")
        if e.kind == "int":
            lo, hi = e.data
            bounds = "".join([f" or {v} < {lo}" if lo is not None else "", f" or {v} > {hi}" if hi is not None else ""])
            lines.append(f"        if type({v}) is not int{bounds}: return SLOW")
        elif e.kind == "bool":
            lines.append(f"        if type({v}) is not bool: return SLOW")
        elif e.kind == "text":
            lines.append(f"        if type({v}) is not str or SURROGATE.search({v}): return SLOW")
        elif e.kind == "pattern":  # theta's text_value written out: a str, short enough, no lone surrogate, matching
            max_len, matcher = e.data
            tests = [f"type({v}) is not str"] + ([f"len({v}) > {max_len}"] if max_len is not None else []) + [
                f"SURROGATE.search({v})"] + ([f"not {compiler.const(matcher, 'matcher')}({v})"] if matcher else [])
            lines.append(f"        if {' or '.join(tests)}: return SLOW")
        elif e.kind == "enum":
            table = compiler.const(e.data, "spell")
            lines.append(f"        {v} = {table}.get({v}) if type({v}) is str else None")
            lines.append(f"        if {v} is None: return SLOW")
        else:
            conv = compiler.const(e.data, "conv")
            lines.append(f"        {v} = {conv}({v})")
            lines.append(f"        if {v} is NO: return SLOW")
        if e.default is no:
            lines.append("    else: return SLOW")
        else:
            lines.append(f"    else: {v} = {compiler.const(e.default, 'default')}")
    theta = "{" + ", ".join(f"{e.name!r}: {v}" for e, v in zip(entries, py)) + "}"
    for p in fam.params:
        if p.where is None:
            continue
        if _cheap(p.where, limits.steps):
            compiler.block = _Block(2)
            with compiler.nested(function=True):  # a where's values are not the program's (other context)
                value = compiler.expr(p.where, scope)
            compiler.block.flush()
            lines += ["    try:", "        c = UNCOUNTED", *compiler.block.lines,
                      f"        if {value} is not True: return SLOW", "    except Exception: return SLOW"]
        else:
            check = compiler.const(compile_check(module, family, p.where, tables), "where")
            lines.append(f"    if not {check}({theta}): return SLOW")
    compiler.block = _Block(2)
    with compiler.nested(function=True):
        value = compiler.json(fam.program, scope)
    compiler.block.flush()
    # The first checkpoint: the step budget, or the clock's first look (the interpreter's too).
    first = limits.steps if limits.seconds is None else min(limits.steps, ops.CLOCK_EVERY)
    program = _uncounted(_prune("\n".join(compiler.block.lines)).split("\n"), first)
    start: list[str] = []
    if program is None:
        compiler.block.checkpoint()
        program = compiler.block.lines
        start = ["    c = NEW(Ctx)", "    c.steps = 0", "    c.limits = LIMITS", "    c.params = EMPTY"]
        if limits.seconds is None:
            start += ["    c.deadline = None", f"    c.budget = {limits.steps}"]
        else:  # Ctx.__init__'s fields, written out (the clock starts now; looked at every CLOCK_EVERY steps)
            start += [f"    c.deadline = monotonic() + {limits.seconds!r}", f"    c.budget = {first}"]
    pairs = "(" + "".join(f"({e.name!r}, {v}), " for e, v in zip(entries, py)) + ")"
    lines += [*start, "    try:", *program, f"        return {value}",
              "    except Abort as abort:", f"        if abort.code == 'DDL318': return Err(abort.failure({pairs}))",
              "    except Exception: pass", "    return SLOW"]
    text = _prune("\n".join([*compiler.defs, "\n".join(lines)])) + "\n"
    namespace = dict(g)
    _run_source(text, f"<ddl family {family} call>", namespace)
    return namespace["entry"]  # type: ignore[no-any-return]


__all__ = ["SLOW", "ParamEntry", "compile_call", "compile_check", "compile_entry", "compile_family", "compile_source"]
