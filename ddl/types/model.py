"""Semantic types of DDL (the checker's view), with cheap range reasoning.

Refinements (Int ranges, Text max length / pattern, list bounds) are part of the
type.  ``a <: b`` when every value of ``a`` is a value of ``b``.  ``base_equal``
ignores refinements: the checker requires base equality and inserts a runtime
narrowing check (an obligation for ``ddl check``) when refinements do not fit.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Union

import attrs

from ddl.syntax import ast as A


@attrs.frozen
class BoolT:
    def __str__(self) -> str:
        return "Bool"


@attrs.frozen
class IntT:
    lo: int | None = None
    hi: int | None = None

    def __str__(self) -> str:
        if self.lo is None and self.hi is None:
            return "Int"
        lo = "-inf" if self.lo is None else str(self.lo)
        hi = "+inf" if self.hi is None else str(self.hi)
        return f"Int in {lo}..{hi}"

    @property
    def bounded(self) -> bool:
        return self.lo is not None and self.hi is not None


@attrs.frozen
class DecimalT:
    scale: int
    lo: Decimal | None = None
    hi: Decimal | None = None

    def __str__(self) -> str:
        if self.lo is None and self.hi is None:
            return f"Decimal({self.scale})"
        return f"Decimal({self.scale}) in {self.lo}..{self.hi}"


@attrs.frozen
class TextT:
    max_len: int | None = None
    pattern: A.Regex | None = None

    def __str__(self) -> str:
        opts = []
        if self.max_len is not None:
            opts.append(f"max {self.max_len}")
        if self.pattern is not None:
            opts.append("pattern …")
        return "Text" + (f"({', '.join(opts)})" if opts else "")


@attrs.frozen
class EnumT:
    """An enum; ``origin`` (module path and family) makes same-named enums distinct."""

    name: str
    origin: str
    variants: tuple[str, ...]
    displays: tuple[str, ...]
    aliases: tuple[tuple[str, ...], ...] = ()

    def __str__(self) -> str:
        return self.name

    def display_of(self, variant: str) -> str:
        return self.displays[self.variants.index(variant)]


@attrs.frozen
class RecordT:
    name: str
    origin: str
    fields: tuple[tuple[str, Type], ...] = attrs.field(eq=False, hash=False)

    def __str__(self) -> str:
        return self.name

    def field_type(self, name: str) -> Type | None:
        for fname, ftype in self.fields:
            if fname == name:
                return ftype
        return None


@attrs.frozen
class ListT:
    elem: Type
    max_len: int | None = None

    def __str__(self) -> str:
        return f"List[{self.elem}" + (f", max {self.max_len}]" if self.max_len is not None else "]")


@attrs.frozen
class MapT:
    key: Type
    value: Type
    max_len: int | None = None

    def __str__(self) -> str:
        return f"Map[{self.key}, {self.value}" + (f", max {self.max_len}]" if self.max_len is not None else "]")


@attrs.frozen
class OptionT:
    inner: Type

    def __str__(self) -> str:
        return f"Option[{self.inner}]"


@attrs.frozen
class BottomT:
    """The element type of ``[]`` and the inner type of ``none`` before context fixes it."""

    def __str__(self) -> str:
        return "?"


Type = Union[BoolT, IntT, DecimalT, TextT, EnumT, RecordT, ListT, MapT, OptionT, BottomT]

BOOL = BoolT()
INT = IntT()
TEXT = TextT()
BOTTOM = BottomT()


def int_range(lo: int | None, hi: int | None) -> IntT:
    return IntT(lo, hi)


def base_equal(a: Type, b: Type) -> bool:
    """Same type ignoring refinements (ranges, lengths, patterns, bounds)."""
    if isinstance(a, BottomT) or isinstance(b, BottomT):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, DecimalT):
        return True
    if isinstance(a, EnumT):
        assert isinstance(b, EnumT)
        return (a.name, a.origin) == (b.name, b.origin)
    if isinstance(a, RecordT):
        assert isinstance(b, RecordT)
        return (a.name, a.origin) == (b.name, b.origin)
    if isinstance(a, ListT):
        assert isinstance(b, ListT)
        return base_equal(a.elem, b.elem)
    if isinstance(a, MapT):
        assert isinstance(b, MapT)
        return base_equal(a.key, b.key) and base_equal(a.value, b.value)
    if isinstance(a, OptionT):
        assert isinstance(b, OptionT)
        return base_equal(a.inner, b.inner)
    return True


def _le(a: int | Decimal | None, b: int | Decimal | None, *, lower: bool) -> bool:
    """Is bound a inside bound b? For lower bounds a >= b, for upper a <= b (None = infinite)."""
    if b is None:
        return True
    if a is None:
        return False
    return a >= b if lower else a <= b


def is_subtype(a: Type, b: Type) -> bool:
    """Every value of a is a value of b (refinements included, patterns by identity).

    ``?`` (the element type of ``[]`` and ``{:}``, BottomT) is below every type on the left and, as in
    :func:`base_equal`, constrains nothing on the right: a key looked up in ``{:}`` needs no narrowing.
    """
    if isinstance(a, BottomT) or isinstance(b, BottomT):
        return True
    if not base_equal(a, b):
        return False
    if isinstance(a, IntT):
        assert isinstance(b, IntT)
        return _le(a.lo, b.lo, lower=True) and _le(a.hi, b.hi, lower=False)
    if isinstance(a, DecimalT):
        assert isinstance(b, DecimalT)
        return a.scale <= b.scale and _le(a.lo, b.lo, lower=True) and _le(a.hi, b.hi, lower=False)
    if isinstance(a, TextT):
        assert isinstance(b, TextT)
        if b.pattern is not None and a.pattern != b.pattern:
            return False
        return _le(a.max_len, b.max_len, lower=False)
    if isinstance(a, ListT):
        assert isinstance(b, ListT)
        return _le(a.max_len, b.max_len, lower=False) and is_subtype(a.elem, b.elem)
    if isinstance(a, MapT):
        assert isinstance(b, MapT)
        return _le(a.max_len, b.max_len, lower=False) and is_subtype(a.key, b.key) and is_subtype(a.value, b.value)
    if isinstance(a, OptionT):
        assert isinstance(b, OptionT)
        return is_subtype(a.inner, b.inner)
    return True


def _min(a: int | Decimal | None, b: int | Decimal | None) -> int | Decimal | None:
    return None if a is None or b is None else min(a, b)


def _max(a: int | Decimal | None, b: int | Decimal | None) -> int | Decimal | None:
    return None if a is None or b is None else max(a, b)


def join(a: Type, b: Type) -> Type:
    """Least common supertype of two base-equal types (ranges widen to cover both)."""
    if isinstance(a, BottomT):
        return b
    if isinstance(b, BottomT):
        return a
    if isinstance(a, IntT) and isinstance(b, IntT):
        return IntT(_min(a.lo, b.lo), _max(a.hi, b.hi))  # type: ignore[arg-type]
    if isinstance(a, DecimalT) and isinstance(b, DecimalT):
        return DecimalT(max(a.scale, b.scale), _min(a.lo, b.lo), _max(a.hi, b.hi))  # type: ignore[arg-type]
    if isinstance(a, TextT) and isinstance(b, TextT):
        pattern = a.pattern if a.pattern == b.pattern else None
        return TextT(_max(a.max_len, b.max_len), pattern)  # type: ignore[arg-type]
    if isinstance(a, ListT) and isinstance(b, ListT):
        return ListT(join(a.elem, b.elem), _max(a.max_len, b.max_len))  # type: ignore[arg-type]
    if isinstance(a, MapT) and isinstance(b, MapT):
        return MapT(join(a.key, b.key), join(a.value, b.value), _max(a.max_len, b.max_len))  # type: ignore[arg-type]
    if isinstance(a, OptionT) and isinstance(b, OptionT):
        return OptionT(join(a.inner, b.inner))
    return a


def strip(t: Type) -> Type:
    """The base type with refinements removed (bounds kept off)."""
    if isinstance(t, IntT):
        return INT
    if isinstance(t, DecimalT):
        return DecimalT(t.scale)
    if isinstance(t, TextT):
        return TEXT
    if isinstance(t, ListT):
        return ListT(strip(t.elem), None)
    if isinstance(t, MapT):
        return MapT(strip(t.key), strip(t.value), None)
    if isinstance(t, OptionT):
        return OptionT(strip(t.inner))
    return t


# ---------------------------------------------------------------- interval arithmetic on Int ranges


def add_range(a: IntT, b: IntT) -> IntT:
    lo = None if a.lo is None or b.lo is None else a.lo + b.lo
    hi = None if a.hi is None or b.hi is None else a.hi + b.hi
    return IntT(lo, hi)


def neg_range(a: IntT) -> IntT:
    return IntT(None if a.hi is None else -a.hi, None if a.lo is None else -a.lo)


def sub_range(a: IntT, b: IntT) -> IntT:
    return add_range(a, neg_range(b))


def mul_range(a: IntT, b: IntT) -> IntT:
    if not (a.bounded and b.bounded):
        # Sign knowledge still helps: non-negative times non-negative is non-negative.
        if a.lo is not None and a.lo >= 0 and b.lo is not None and b.lo >= 0:
            return IntT(a.lo * b.lo, None)
        return INT
    assert a.lo is not None and a.hi is not None and b.lo is not None and b.hi is not None
    products = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
    return IntT(min(products), max(products))


def floordiv_range(a: IntT, b: IntT) -> IntT:
    """Floor division; b's range may contain 0 (the division itself is an obligation)."""
    if not (a.bounded and b.bounded):
        return INT
    assert a.lo is not None and a.hi is not None and b.lo is not None and b.hi is not None
    divisors = [d for d in (b.lo, b.hi, -1, 1) if d != 0 and b.lo <= d <= b.hi]
    if not divisors:
        return INT
    quotients = [x // d for x in (a.lo, a.hi) for d in divisors]
    return IntT(min(quotients), max(quotients))


def mod_range(a: IntT, b: IntT) -> IntT:
    """Floor modulo takes the sign of the divisor: for b in 1..m the result is in 0..m-1."""
    if b.lo is not None and b.lo > 0 and b.hi is not None:
        hi = b.hi - 1
        if a.lo is not None and a.lo >= 0 and a.hi is not None:
            hi = min(hi, a.hi)
        return IntT(0, hi)
    if b.hi is not None and b.hi < 0 and b.lo is not None:
        return IntT(b.lo + 1, 0)
    if b.bounded:
        assert b.lo is not None and b.hi is not None
        m = max(abs(b.lo), abs(b.hi))
        return IntT(-(m - 1), m - 1) if m > 0 else INT
    return INT


def type_contains(t: Type, pred: Callable[[Type], bool]) -> bool:
    """Does ``t`` or any type nested in it (elements, keys, values, fields, options) satisfy ``pred``?"""
    if pred(t):
        return True
    if isinstance(t, ListT):
        return type_contains(t.elem, pred)
    if isinstance(t, MapT):
        return type_contains(t.key, pred) or type_contains(t.value, pred)
    if isinstance(t, OptionT):
        return type_contains(t.inner, pred)
    if isinstance(t, RecordT):
        return any(type_contains(ft, pred) for _, ft in t.fields)
    return False


def show_width(t: Type) -> int | None:
    """The most characters ``show`` writes for a value of ``t`` (None when unbounded)."""
    if isinstance(t, IntT) and t.bounded:
        assert t.lo is not None and t.hi is not None
        return max(len(str(t.lo)), len(str(t.hi)))
    if isinstance(t, TextT):
        return t.max_len
    if isinstance(t, BoolT):
        return 5
    if isinstance(t, EnumT):
        return max(len(d) for d in t.displays)
    if isinstance(t, DecimalT) and t.lo is not None and t.hi is not None:
        return max(len(format(abs(t.lo), "f")), len(format(abs(t.hi), "f"))) + 1 + t.scale + 1
    return None
