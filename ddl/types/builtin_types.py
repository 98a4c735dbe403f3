"""Typing rules of the built-in functions (semantics in ddl/builtins.py).

Each rule checks the arguments, infers the result type with cheap range
reasoning (lengths, numeric bounds) and returns an ``ir.CallBuiltin``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from ddl.builtins import BUILTINS
from ddl.syntax import ast as A
from ddl.types import ir
from ddl.types.model import (
    BOOL,
    INT,
    TEXT,
    BoolT,
    BottomT,
    DecimalT,
    EnumT,
    IntT,
    ListT,
    MapT,
    OptionT,
    TextT,
    Type,
    base_equal,
    join,
    show_width,
    strip,
)

if TYPE_CHECKING:
    from ddl.types.check import Checker, Ctx

Rule = Callable[["Checker", str, A.Call, "Ctx", "Type | None"], ir.Node]

ARITY: dict[str, tuple[int, int]] = {
    "len": (1, 1), "upper": (1, 1), "lower": (1, 1), "capitalize": (1, 1), "title": (1, 1), "trim": (1, 1),
    "replace": (3, 3), "split": (2, 2), "join": (2, 2), "slug": (1, 1), "url_encode": (1, 1), "show": (1, 1),
    "text": (1, 1), "name": (1, 1), "pad_left": (3, 3), "pad_right": (3, 3), "contains": (2, 2),
    "starts_with": (2, 2), "ends_with": (2, 2), "slice": (3, 3), "repeat": (2, 2), "parse_int": (1, 1),
    "parse_decimal": (2, 2), "min": (2, 2), "max": (2, 2), "abs": (1, 1), "clamp": (3, 3), "round": (2, 2),
    "floor": (1, 1), "ceil": (1, 1), "to_decimal": (2, 2), "map": (2, 2), "filter": (2, 2), "fold": (3, 3),
    "any": (2, 2), "all": (2, 2), "sort_by": (2, 2), "sum": (1, 1), "take": (2, 2), "drop": (2, 2),
    "sort": (1, 1), "reverse": (1, 1), "first": (1, 1), "last": (1, 1), "get": (2, 2), "keys": (1, 1),
    "values": (1, 1), "unique": (1, 1), "some": (1, 1), "is_some": (1, 1), "is_none": (1, 1),
    "unwrap_or": (2, 2),
}

# Unicode case mapping can expand a code point to at most three (e.g. "ﬃ".upper() == "FFI").
CASE_EXPANSION = 3
INT18 = IntT(-(10**18 - 1), 10**18 - 1)

FOLD_PRECISION_LIMIT = 64  # iterate a fold's accumulator range at most this many times


def _mul(n: int | None, k: int) -> int | None:
    return None if n is None else n * k


def type_builtin(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    lo, hi = ARITY[name]
    if not lo <= len(e.args) <= hi:
        ck.fail("DDL203", f"{name} takes {lo} argument{'s' if lo != 1 else ''}, given {len(e.args)}", e.span,
                hint=_signature_hint(name))
    rule = _RULES[name]
    return rule(ck, name, e, ctx, expected)


def _signature_hint(name: str) -> str:
    return f"signature: {BUILTINS[name].signature}"


def _args(ck: Checker, e: A.Call, ctx: Ctx) -> list[ir.Node]:
    return [ck.infer(a, ctx) for a in e.args]


def _call(name: str, args: list[ir.Node] | tuple[ir.Node, ...], typ: Type, e: A.Call) -> ir.CallBuiltin:
    return ir.CallBuiltin(name, tuple(args), typ, span=e.span)


def _need(ck: Checker, node: ir.Node, kinds: tuple[type, ...], what: str, e: A.Expr) -> None:
    if not isinstance(node.type, kinds):
        ck.fail("DDL202", f"{what}: expected {_kind_names(kinds)}, found {node.type}", e.span)


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {IntT: "Int", DecimalT: "Decimal", TextT: "Text", ListT: "a list", MapT: "a map", OptionT: "an Option",
             EnumT: "an enum value", BoolT: "Bool"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _literal_int(ck: Checker, e: A.Expr, lo: int, hi: int, what: str) -> int:
    if not isinstance(e, A.IntLit) or not lo <= e.value <= hi:
        ck.fail("DDL221", f"{what} must be an integer literal in {lo}..{hi}", e.span)
    assert isinstance(e, A.IntLit)
    return e.value


# ---------------------------------------------------------------- text


def _len(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    (x,) = _args(ck, e, ctx)
    t = x.type
    if isinstance(t, TextT):
        return _call(name, [x], IntT(0, t.max_len), e)
    if isinstance(t, (ListT, MapT)):
        return _call(name, [x], IntT(0, t.max_len), e)
    ck.fail("DDL202", f"len needs Text, a list or a map, found {t}", e.args[0].span)
    raise AssertionError


def _text_unary(expand: int) -> Rule:
    def rule(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
        (x,) = _args(ck, e, ctx)
        x = ck.coerce(x, TEXT, e.args[0].span, f"the argument of {name}")
        t = x.type
        assert isinstance(t, TextT)
        return _call(name, [x], TextT(_mul(t.max_len, expand)), e)

    return rule


def _text_args(ck: Checker, e: A.Call, ctx: Ctx, name: str) -> list[ir.Node]:
    return [ck.check_against(a, ctx, TEXT, f"argument {i + 1} of {name}") for i, a in enumerate(e.args)]


def _replace(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    args = _text_args(ck, e, ctx, name)
    t, old, new = (a.type for a in args)
    assert isinstance(t, TextT) and isinstance(new, TextT) and isinstance(old, TextT)
    max_len = None
    # Each replaced occurrence (at least one code point) becomes at most len(new) code points.
    if t.max_len is not None and new.max_len is not None:
        max_len = t.max_len * max(1, new.max_len)
    return _call(name, args, TextT(max_len), e)


def _split(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    args = _text_args(ck, e, ctx, name)
    t = args[0].type
    assert isinstance(t, TextT)
    bound = None if t.max_len is None else t.max_len + 1
    return _call(name, args, ListT(TextT(t.max_len), bound), e)


def _join(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = ck.infer(e.args[0], ctx)
    if not (isinstance(xs.type, ListT) and isinstance(xs.type.elem, (TextT, BottomT))):
        ck.fail("DDL202", f"join needs a list of Text, found {xs.type}", e.args[0].span)
    sep = ck.check_against(e.args[1], ctx, TEXT, "the separator of join")
    lt, st = xs.type, sep.type
    assert isinstance(lt, ListT) and isinstance(st, TextT)
    max_len = None
    elem = lt.elem
    if lt.max_len is not None and isinstance(elem, TextT) and elem.max_len is not None and st.max_len is not None:
        max_len = lt.max_len * elem.max_len + max(0, lt.max_len - 1) * st.max_len
    return _call(name, [xs, sep], TextT(max_len), e)


def _show(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    (x,) = _args(ck, e, ctx)
    _need(ck, x, (IntT, DecimalT, TextT, BoolT, EnumT), "show", e.args[0])
    return _call(name, [x], TextT(show_width(x.type)), e)


def _enum_text(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    (x,) = _args(ck, e, ctx)
    if not isinstance(x.type, EnumT):
        hint = "use show(...) for numbers" if name == "text" and isinstance(x.type, (IntT, DecimalT)) else None
        ck.fail("DDL202", f"{name} needs an enum value, found {x.type}", e.args[0].span, hint=hint)
    t = x.type
    assert isinstance(t, EnumT)
    texts = t.displays if name == "text" else t.variants
    return _call(name, [x], TextT(max(len(s) for s in texts)), e)


def _pad(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    t = ck.check_against(e.args[0], ctx, TEXT, f"the text of {name}")
    w = ck.check_against(e.args[1], ctx, INT, f"the width of {name}")
    f = ck.check_against(e.args[2], ctx, TEXT, f"the fill of {name}")
    tt, wt = t.type, w.type
    assert isinstance(tt, TextT) and isinstance(wt, IntT)
    max_len = None if tt.max_len is None or wt.hi is None else max(tt.max_len, wt.hi)
    return _call(name, [t, w, f], TextT(max_len), e)


def _contains(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    x = ck.infer(e.args[0], ctx)
    t = x.type
    if isinstance(t, TextT):
        y = ck.check_against(e.args[1], ctx, TEXT, "the text to look for")
    elif isinstance(t, ListT):
        y = ck.infer(e.args[1], ctx, t.elem)
        if not base_equal(y.type, t.elem):
            ck.fail("DDL202", f"contains: the list holds {t.elem}, found {y.type}", e.args[1].span)
    elif isinstance(t, MapT):
        y = ck.infer(e.args[1], ctx, t.key)
        if not base_equal(y.type, t.key):
            ck.fail("DDL202", f"contains: the map's keys are {t.key}, found {y.type}", e.args[1].span)
    else:
        ck.fail("DDL202", f"contains needs Text, a list or a map, found {t}", e.args[0].span)
        raise AssertionError
    return _call(name, [x, y], BOOL, e)


def _text_pred(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    return _call(name, _text_args(ck, e, ctx, name), BOOL, e)


def _slice(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    t = ck.check_against(e.args[0], ctx, TEXT, "the text of slice")
    a = ck.check_against(e.args[1], ctx, INT, "the start of slice")
    b = ck.check_against(e.args[2], ctx, INT, "the end of slice")
    tt = t.type
    assert isinstance(tt, TextT)
    return _call(name, [t, a, b], TextT(tt.max_len), e)


def _repeat(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    t = ck.check_against(e.args[0], ctx, TEXT, "the text of repeat")
    n = ck.check_against(e.args[1], ctx, INT, "the count of repeat")
    tt, nt = t.type, n.type
    assert isinstance(tt, TextT) and isinstance(nt, IntT)
    hi = 1000 if nt.hi is None else max(0, min(nt.hi, 1000))
    return _call(name, [t, n], TextT(_mul(tt.max_len, hi)), e)


def _parse_int(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    t = ck.check_against(e.args[0], ctx, TEXT, "the text of parse_int")
    return _call(name, [t], OptionT(INT18), e)


def _parse_decimal(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    t = ck.check_against(e.args[0], ctx, TEXT, "the text of parse_decimal")
    scale = _literal_int(ck, e.args[1], 0, 18, "the scale of parse_decimal")
    return _call(name, [t, ir.Const(scale, IntT(scale, scale))], OptionT(DecimalT(scale)), e)


# ---------------------------------------------------------------- numbers


def _numeric_pair(ck: Checker, e: A.Call, ctx: Ctx, name: str, n: int) -> list[ir.Node]:
    args = _args(ck, e, ctx)
    for node, arg in zip(args, e.args):
        _need(ck, node, (IntT, DecimalT), f"an argument of {name}", arg)
    if any(isinstance(a.type, DecimalT) for a in args):
        scale = max(a.type.scale for a in args if isinstance(a.type, DecimalT))
        args = [ck.coerce(a, DecimalT(scale), arg.span, f"an argument of {name}") for a, arg in zip(args, e.args)]
    return args


def _minmax(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    a, b = _numeric_pair(ck, e, ctx, name, 2)
    at, bt = a.type, b.type
    if isinstance(at, IntT) and isinstance(bt, IntT):
        pick = min if name == "min" else max
        lo = None if at.lo is None or bt.lo is None else pick(at.lo, bt.lo)
        hi = None if at.hi is None or bt.hi is None else pick(at.hi, bt.hi)
        if name == "min":
            lo = None if at.lo is None or bt.lo is None else min(at.lo, bt.lo)
            hi = bt.hi if at.hi is None else at.hi if bt.hi is None else min(at.hi, bt.hi)
        else:
            lo = bt.lo if at.lo is None else at.lo if bt.lo is None else max(at.lo, bt.lo)
            hi = None if at.hi is None or bt.hi is None else max(at.hi, bt.hi)
        return _call(name, [a, b], IntT(lo, hi), e)
    return _call(name, [a, b], join(strip(at), strip(bt)), e)


def _abs(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    (x,) = _args(ck, e, ctx)
    _need(ck, x, (IntT, DecimalT), "abs", e.args[0])
    t = x.type
    if isinstance(t, IntT):
        if t.bounded:
            assert t.lo is not None and t.hi is not None
            lo = 0 if t.lo <= 0 <= t.hi else min(abs(t.lo), abs(t.hi))
            return _call(name, [x], IntT(lo, max(abs(t.lo), abs(t.hi))), e)
        return _call(name, [x], IntT(0, None), e)
    assert isinstance(t, DecimalT)
    return _call(name, [x], DecimalT(t.scale, Decimal(0), None), e)


def _clamp(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    x, lo, hi = _numeric_pair(ck, e, ctx, name, 3)
    lt, ht = lo.type, hi.type
    if isinstance(lt, IntT) and isinstance(ht, IntT):
        upper = None if ht.hi is None or lt.hi is None else max(ht.hi, lt.hi)
        return _call(name, [x, lo, hi], IntT(lt.lo, upper), e)
    assert isinstance(lt, DecimalT) and isinstance(ht, DecimalT)
    upper_d = None if ht.hi is None or lt.hi is None else max(ht.hi, lt.hi)
    return _call(name, [x, lo, hi], DecimalT(max(lt.scale, ht.scale), lt.lo, upper_d), e)


def _round(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    x = ck.infer(e.args[0], ctx)
    if isinstance(x.type, IntT):
        x = ck.coerce(x, DecimalT(0), e.args[0].span, "the argument of round")
    _need(ck, x, (DecimalT,), "round", e.args[0])
    places = _literal_int(ck, e.args[1], 0, 18, "the places of round")
    return _call(name, [x, ir.Const(places, IntT(places, places))], DecimalT(places), e)


def _floor_ceil(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    (x,) = _args(ck, e, ctx)
    _need(ck, x, (DecimalT, IntT), name, e.args[0])
    t = x.type
    if isinstance(t, IntT):
        x = ck.coerce(x, DecimalT(0), e.args[0].span, f"the argument of {name}")
        return _call(name, [x], t, e)
    assert isinstance(t, DecimalT)

    lo = None if t.lo is None else (math.floor(t.lo) if name == "floor" else math.ceil(t.lo))
    hi = None if t.hi is None else (math.floor(t.hi) if name == "floor" else math.ceil(t.hi))
    return _call(name, [x], IntT(lo, hi), e)


def _to_decimal(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    x = ck.check_against(e.args[0], ctx, INT, "the argument of to_decimal")
    scale = _literal_int(ck, e.args[1], 0, 18, "the scale of to_decimal")
    t = x.type
    assert isinstance(t, IntT)
    lo = None if t.lo is None else Decimal(t.lo)
    hi = None if t.hi is None else Decimal(t.hi)
    return _call(name, [x, ir.Const(scale, IntT(scale, scale))], DecimalT(scale, lo, hi), e)


# ---------------------------------------------------------------- lists


HIGHER_ORDER = frozenset(["map", "filter", "fold", "any", "all", "sort_by"])


def _list_arg(ck: Checker, e: A.Call, ctx: Ctx, name: str) -> ir.Node:
    xs = ck.infer(e.args[0], ctx)
    if not isinstance(xs.type, ListT):
        ck.fail("DDL202", f"{name} needs a list, found {xs.type}", e.args[0].span)
    if name in HIGHER_ORDER and xs.type.max_len is None:
        # The lambda runs once per element: like a comprehension, it needs a known bound.
        ck.fail("DDL210", f"{name} iterates over a list whose length is not bounded", e.args[0].span,
                hint="declare the list with a bound: List[T, max N]")
    return xs


def _map(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = _list_arg(ck, e, ctx, name)
    lt = xs.type
    assert isinstance(lt, ListT)
    lam = ck.lambda_arg(e, 1, ctx, [lt.elem], expected.elem if isinstance(expected, ListT) else None)
    return _call(name, [xs, lam], ListT(lam.type, lt.max_len), e)


def _filter(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = _list_arg(ck, e, ctx, name)
    lt = xs.type
    assert isinstance(lt, ListT)
    lam = ck.lambda_arg(e, 1, ctx, [lt.elem])
    body = ck.coerce(lam.body, BOOL, e.args[1].span, f"the predicate of {name}")
    lam = ir.Lambda(lam.params, lam.param_types, body, BOOL, span=lam.span)
    result: Type = BOOL if name in ("any", "all") else lt
    return _call(name, [xs, lam], result, e)


def _fold(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = _list_arg(ck, e, ctx, name)
    lt = xs.type
    assert isinstance(lt, ListT)
    init = ck.infer(e.args[1], ctx, expected)
    acc: Type = init.type
    # Iterate the accumulator's range once per possible element (a fold runs at most max_len times);
    # when the bound is unknown or large, widen to the unrefined type.
    steps = lt.max_len if lt.max_len is not None and lt.max_len <= FOLD_PRECISION_LIMIT else None
    saved = len(ck.diags)
    if steps is None:
        acc = strip(acc)
    else:
        for _ in range(steps):
            try:
                lam = ck.lambda_arg(e, 2, ctx, [acc, lt.elem])
            except Exception:
                break
            body_t = lam.type
            if isinstance(acc, DecimalT) and isinstance(body_t, IntT):
                body_t = DecimalT(acc.scale, None, None)
            if not base_equal(acc, body_t):
                break
            new = join(acc, body_t)
            if new == acc:
                break
            acc = new
    del ck.diags[saved:]
    lam = ck.lambda_arg(e, 2, ctx, [acc, lt.elem])
    body = ck.coerce(lam.body, acc, e.args[2].span, "the fold step's result",)
    lam = ir.Lambda(lam.params, lam.param_types, body, acc, span=lam.span)
    init = ck.coerce(init, acc, e.args[1].span, "the fold's initial value")
    return _call(name, [xs, init, lam], acc, e)


def _sort_by(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = _list_arg(ck, e, ctx, name)
    lt = xs.type
    assert isinstance(lt, ListT)
    lam = ck.lambda_arg(e, 1, ctx, [lt.elem])
    if not isinstance(lam.type, (IntT, DecimalT, TextT)):
        ck.fail("DDL202", f"sort_by needs an Int, Decimal or Text key, found {lam.type}", e.args[1].span)
    return _call(name, [xs, lam], lt, e)


def _sum(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = _list_arg(ck, e, ctx, name)
    lt = xs.type
    assert isinstance(lt, ListT)
    elem = lt.elem
    if isinstance(elem, BottomT):
        return _call(name, [xs], IntT(0, 0), e)
    if isinstance(elem, IntT):
        n = lt.max_len
        if n is not None and elem.bounded:
            assert elem.lo is not None and elem.hi is not None
            return _call(name, [xs], IntT(min(0, n * elem.lo), max(0, n * elem.hi)), e)
        return _call(name, [xs], INT, e)
    if isinstance(elem, DecimalT):
        return _call(name, [xs], DecimalT(elem.scale), e)
    ck.fail("DDL202", f"sum needs a list of numbers, found {lt}", e.args[0].span)
    raise AssertionError


def _take_drop(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = _list_arg(ck, e, ctx, name)
    n = ck.check_against(e.args[1], ctx, INT, f"the count of {name}")
    lt, nt = xs.type, n.type
    assert isinstance(lt, ListT) and isinstance(nt, IntT)
    bound = lt.max_len
    if name == "take" and nt.hi is not None:
        bound = max(0, nt.hi) if bound is None else max(0, min(bound, nt.hi))
    return _call(name, [xs, n], ListT(lt.elem, bound), e)


def _sort(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = _list_arg(ck, e, ctx, name)
    lt = xs.type
    assert isinstance(lt, ListT)
    if name == "sort" and not isinstance(lt.elem, (IntT, DecimalT, TextT, EnumT, BottomT)):
        ck.fail("DDL202", f"sort orders lists of Int, Decimal, Text or an enum, found {lt}", e.args[0].span,
                hint="use sort_by(xs, |x| key)")
    return _call(name, [xs], lt, e)


def _first_last(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    xs = _list_arg(ck, e, ctx, name)
    lt = xs.type
    assert isinstance(lt, ListT)
    return _call(name, [xs], OptionT(lt.elem), e)


def _get(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    x = ck.infer(e.args[0], ctx)
    t = x.type
    if isinstance(t, ListT):
        i = ck.check_against(e.args[1], ctx, INT, "the index of get")
        return _call(name, [x, i], OptionT(t.elem), e)
    if isinstance(t, MapT):
        k = ck.check_against(e.args[1], ctx, t.key, "the key of get")
        return _call(name, [x, k], OptionT(t.value), e)
    ck.fail("DDL202", f"get needs a list or a map, found {t}", e.args[0].span)
    raise AssertionError


def _keys_values(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    m = ck.infer(e.args[0], ctx)
    t = m.type
    if not isinstance(t, MapT):
        ck.fail("DDL202", f"{name} needs a map, found {t}", e.args[0].span)
    assert isinstance(t, MapT)
    return _call(name, [m], ListT(t.key if name == "keys" else t.value, t.max_len), e)


# ---------------------------------------------------------------- options


def _some(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    x = ck.infer(e.args[0], ctx, expected.inner if isinstance(expected, OptionT) else None)
    return ir.MakeSome(x, OptionT(x.type), span=e.span)


def _is_some(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    (x,) = _args(ck, e, ctx)
    _need(ck, x, (OptionT,), name, e.args[0])
    return _call(name, [x], BOOL, e)


def _unwrap_or(ck: Checker, name: str, e: A.Call, ctx: Ctx, expected: Type | None) -> ir.Node:
    return ck.i_Binary(A.Binary("??", e.args[0], e.args[1], span=e.span), ctx, expected)


_RULES: dict[str, Rule] = {
    "len": _len, "upper": _text_unary(CASE_EXPANSION), "lower": _text_unary(CASE_EXPANSION),
    "capitalize": _text_unary(CASE_EXPANSION), "title": _text_unary(CASE_EXPANSION), "trim": _text_unary(1),
    "slug": _text_unary(CASE_EXPANSION), "url_encode": _text_unary(12), "replace": _replace, "split": _split,
    "join": _join, "show": _show, "text": _enum_text, "name": _enum_text, "pad_left": _pad, "pad_right": _pad,
    "contains": _contains, "starts_with": _text_pred, "ends_with": _text_pred, "slice": _slice,
    "repeat": _repeat, "parse_int": _parse_int, "parse_decimal": _parse_decimal, "min": _minmax, "max": _minmax,
    "abs": _abs, "clamp": _clamp, "round": _round, "floor": _floor_ceil, "ceil": _floor_ceil,
    "to_decimal": _to_decimal, "map": _map, "filter": _filter, "any": _filter, "all": _filter, "fold": _fold,
    "sort_by": _sort_by, "sum": _sum, "take": _take_drop, "drop": _take_drop, "sort": _sort, "reverse": _sort,
    "unique": _sort, "first": _first_last, "last": _first_last, "get": _get, "keys": _keys_values,
    "values": _keys_values, "some": _some, "is_some": _is_some, "is_none": _is_some, "unwrap_or": _unwrap_or,
}

assert set(_RULES) == set(ARITY), set(ARITY) ^ set(_RULES)
