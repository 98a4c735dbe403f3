"""Implementations of the built-in functions catalogued in :mod:`ddl.builtins`.

``IMPLS`` maps each name to a Python function over runtime values.  Higher-order
built-ins receive a Python callable for their lambda argument.  ``sort``,
``keys`` and ``values`` take an optional ``key`` (an ordering key function) so
the evaluator can order enums by declaration; without it they fall back to a
type-agnostic order.

Every function is total on the argument types the checker allows.  Results are
plain runtime values; where a result is a Decimal the evaluator quantizes it to
the scale of the call's type (``sum`` of an empty list is ``0`` until then).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from pyrsistent import PMap, PVector, pvector

from ddl.builtins import BUILTINS
from ddl.eval import ops
from ddl.values import NONE, EnumV, SomeV

Fn = Callable[..., Any]

# ------------------------------------------------------------------ text


def b_len(x: Any) -> int:
    return len(x)


def b_upper(t: str) -> str:
    return t.upper()


def b_lower(t: str) -> str:
    return t.lower()


def b_capitalize(t: str) -> str:
    return t[:1].upper() + t[1:]


def b_title(t: str) -> str:
    return " ".join(b_capitalize(word) for word in t.split(" "))


def b_trim(t: str) -> str:
    return t.strip()


def b_replace(t: str, old: str, new: str) -> str:
    if old == "":
        return t
    return t.replace(old, new)


def b_split(t: str, sep: str) -> PVector:  # type: ignore[type-arg]
    if sep == "":
        return pvector(t)
    return pvector(t.split(sep))


def b_join(xs: Any, sep: str) -> str:
    return sep.join(xs)


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def b_slug(t: str) -> str:
    return _NOT_SLUG.sub("-", t.lower()).strip("-")


def b_url_encode(t: str) -> str:
    return quote(t, safe="", encoding="utf-8", errors="surrogatepass")


def b_show(x: Any) -> str:
    return ops.show(x)


def b_text(e: EnumV) -> str:
    return e.display


def b_name(e: EnumV) -> str:
    return e.name


def _fill_char(fill: str) -> str:
    return fill[0] if fill else " "


def b_pad_left(t: str, width: int, fill: str) -> str:
    missing = width - len(t)
    return _fill_char(fill) * missing + t if missing > 0 else t


def b_pad_right(t: str, width: int, fill: str) -> str:
    missing = width - len(t)
    return t + _fill_char(fill) * missing if missing > 0 else t


def b_contains(x: Any, y: Any) -> bool:
    if type(x) is str:
        return y in x
    if isinstance(x, PMap):
        return y in x
    return any(ops.values_equal(item, y) for item in x)


def b_starts_with(t: str, prefix: str) -> bool:
    return t.startswith(prefix)


def b_ends_with(t: str, suffix: str) -> bool:
    return t.endswith(suffix)


def _clamp_int(n: int, lo: int, hi: int) -> int:
    return lo if n < lo else hi if n > hi else n


def b_slice(t: str, start: int, end: int) -> str:
    n = len(t)
    s, e = _clamp_int(start, 0, n), _clamp_int(end, 0, n)
    return t[s:e] if s < e else ""


def b_repeat(t: str, n: int) -> str:
    return t * _clamp_int(n, 0, 1000)


_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")
_DEC_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def b_parse_int(t: str) -> Any:
    s = t.strip()
    if _INT_RE.fullmatch(s):
        return SomeV(int(s))
    return NONE


def b_parse_decimal(t: str, scale: int) -> Any:
    """A decimal numeral (optional sign, digits, optional fraction) after trimming."""
    s = t.strip()
    if not _DEC_RE.fullmatch(s):
        return NONE
    try:
        d = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numerals
        return NONE
    return SomeV(ops.quantize(d, _clamp_int(scale, 0, 18)))


# ------------------------------------------------------------------ numbers


def b_min(a: Any, b: Any) -> Any:
    return b if b < a else a


def b_max(a: Any, b: Any) -> Any:
    return b if b > a else a


def b_abs(x: Any) -> Any:
    if type(x) is Decimal:
        return x.copy_abs()
    return abs(x)


def b_clamp(x: Any, lo: Any, hi: Any) -> Any:
    if lo > hi or x < lo:
        return lo
    if x > hi:
        return hi
    return x


def b_round(x: Any, places: int) -> Decimal:
    return ops.to_decimal(x, _clamp_int(places, 0, 18))


def b_floor(x: Any) -> int:
    return math.floor(x)


def b_ceil(x: Any) -> int:
    return math.ceil(x)


def b_to_decimal(x: Any, scale: int) -> Decimal:
    return ops.to_decimal(x, _clamp_int(scale, 0, 18))


# ------------------------------------------------------------------ lists


def b_map(xs: Any, f: Fn) -> PVector:  # type: ignore[type-arg]
    return pvector([f(x) for x in xs])


def b_filter(xs: Any, p: Fn) -> PVector:  # type: ignore[type-arg]
    return pvector([x for x in xs if p(x)])


def b_fold(xs: Any, init: Any, f: Fn) -> Any:
    acc = init
    for x in xs:
        acc = f(acc, x)
    return acc


def b_any(xs: Any, p: Fn) -> bool:
    for x in xs:
        if p(x):
            return True
    return False


def b_all(xs: Any, p: Fn) -> bool:
    for x in xs:
        if not p(x):
            return False
    return True


def b_sort_by(xs: Any, f: Fn) -> PVector:  # type: ignore[type-arg]
    """Stable; the key lambda runs once per element, in list order."""
    return pvector(sorted(xs, key=f))


def b_sum(xs: Any) -> Any:
    total: Any = 0
    for x in xs:
        if type(x) is Decimal or type(total) is Decimal:
            total = ops.BIG.add(Decimal(total) if type(total) is int else total, x)
        else:
            total += x
    return total


def b_take(xs: Any, n: int) -> PVector:  # type: ignore[type-arg]
    return pvector(xs[: _clamp_int(n, 0, len(xs))])


def b_drop(xs: Any, n: int) -> PVector:  # type: ignore[type-arg]
    return pvector(xs[_clamp_int(n, 0, len(xs)) :])


def b_sort(xs: Any, key: Fn = ops.generic_key) -> PVector:  # type: ignore[type-arg]
    return pvector(sorted(xs, key=key))


def b_reverse(xs: Any) -> PVector:  # type: ignore[type-arg]
    return pvector(reversed(xs))


def b_first(xs: Any) -> Any:
    return SomeV(xs[0]) if len(xs) else NONE


def b_last(xs: Any) -> Any:
    return SomeV(xs[-1]) if len(xs) else NONE


def b_get(xs: Any, i: Any) -> Any:
    if isinstance(xs, PMap):
        return SomeV(xs[i]) if i in xs else NONE
    if type(i) is int and 0 <= i < len(xs):
        return SomeV(xs[i])
    return NONE


def b_keys(m: Any, key: Fn = ops.generic_key) -> PVector:  # type: ignore[type-arg]
    return pvector(sorted(m.keys(), key=key))


def b_values(m: Any, key: Fn = ops.generic_key) -> PVector:  # type: ignore[type-arg]
    return pvector(m[k] for k in sorted(m.keys(), key=key))


def b_unique(xs: Any) -> PVector:  # type: ignore[type-arg]
    seen: set[Any] = set()
    out = []
    for x in xs:
        marker = (type(x) is bool, x)
        if marker not in seen:
            seen.add(marker)
            out.append(x)
    return pvector(out)


# ------------------------------------------------------------------ options


def b_some(x: Any) -> SomeV:
    return SomeV(x)


def b_is_some(o: Any) -> bool:
    return type(o) is SomeV


def b_is_none(o: Any) -> bool:
    return type(o) is not SomeV


def b_unwrap_or(o: Any, d: Any) -> Any:
    return o.value if type(o) is SomeV else d


IMPLS: dict[str, Fn] = {
    "len": b_len, "upper": b_upper, "lower": b_lower, "capitalize": b_capitalize, "title": b_title,
    "trim": b_trim, "replace": b_replace, "split": b_split, "join": b_join, "slug": b_slug,
    "url_encode": b_url_encode, "show": b_show, "text": b_text, "name": b_name, "pad_left": b_pad_left,
    "pad_right": b_pad_right, "contains": b_contains, "starts_with": b_starts_with, "ends_with": b_ends_with,
    "slice": b_slice, "repeat": b_repeat, "parse_int": b_parse_int, "parse_decimal": b_parse_decimal,
    "min": b_min, "max": b_max, "abs": b_abs, "clamp": b_clamp, "round": b_round, "floor": b_floor,
    "ceil": b_ceil, "to_decimal": b_to_decimal,
    "map": b_map, "filter": b_filter, "fold": b_fold, "any": b_any, "all": b_all, "sort_by": b_sort_by,
    "sum": b_sum, "take": b_take, "drop": b_drop, "sort": b_sort, "reverse": b_reverse, "first": b_first,
    "last": b_last, "get": b_get, "keys": b_keys, "values": b_values, "unique": b_unique,
    "some": b_some, "is_some": b_is_some, "is_none": b_is_none, "unwrap_or": b_unwrap_or,
}

assert set(IMPLS) == set(BUILTINS), set(IMPLS) ^ set(BUILTINS)

# Built-ins whose result is ordered by a key that depends on the argument's type.
KEYED = frozenset({"sort", "keys", "values"})

# Built-ins that do constant work whatever the size of their arguments.
_CONSTANT_WORK = frozenset({
    "len", "first", "last", "get", "is_some", "is_none", "unwrap_or", "some", "text", "name",
    "min", "max", "abs", "clamp", "round", "floor", "ceil", "to_decimal", "parse_int",
})


def cost(name: str, args: tuple[Any, ...] | list[Any]) -> int:
    """Extra steps charged before a call: work proportional to the size of the data.

    Checked before the call runs, so ``pad_left("", 10^12, "x")`` fails with the
    step budget instead of exhausting memory.
    """
    if name in _CONSTANT_WORK:
        return 0
    extra = ops.size_cost(*args)
    if name == "repeat":
        t, n = args
        extra += (len(t) * _clamp_int(n, 0, 1000)) >> ops.SIZE_SHIFT
    elif name in ("pad_left", "pad_right"):
        t, width, _ = args
        extra += max(0, width - len(t)) >> ops.SIZE_SHIFT
    elif name == "replace":
        t, old, new = args
        if old and new and len(new) > len(old):
            extra += (t.count(old) * len(new)) >> ops.SIZE_SHIFT
    elif name == "join":
        extra += sum(len(x) for x in args[0]) >> ops.SIZE_SHIFT
    elif name == "show" and type(args[0]) is int:
        bits = args[0].bit_length()
        if bits > 2048:
            extra += (bits * bits) >> 24
    return extra


__all__ = ["IMPLS", "KEYED", "cost"]
