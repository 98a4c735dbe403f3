"""Exact regular languages of numerals for Int ranges and fixed-point Decimal ranges.

A capture of ``count : Int in 1..20`` must accept exactly "1" … "20": its
language is derived from the domain.  These builders produce regex trees of
size O(digits²) digit-wise (the classic range-to-regex split), never by
enumerating values, so ``Int in 0..10^18`` costs the same as ``Int in 1..20``.

Canonical numerals: no leading zeros (except "0" itself), "-" for negatives,
no "+" and no "-0".  Decimal numerals: an integer part as above, optionally "."
and 1..scale fraction digits (trailing zeros allowed: "84.6" and "84.60" both
denote 84.60).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from ddl.regular import EMPTY, CharSet, Regex, alt, chars, lit, seq


def _digits(lo: int, hi: int) -> Regex:
    """One digit in lo..hi (0 <= lo <= hi <= 9)."""
    return chars(CharSet.from_ranges([(ord("0") + lo, ord("0") + hi)]))


def fixed_width(width: int, lo: int, hi: int) -> Regex:
    """Strings of exactly ``width`` digits (leading zeros allowed) whose value is in lo..hi."""
    top = 10**width - 1
    lo, hi = max(lo, 0), min(hi, top)
    if width == 0:
        return lit("") if lo <= 0 <= hi else EMPTY
    if lo > hi:
        return EMPTY
    if lo == 0 and hi == top:
        return seq(*[_digits(0, 9)] * width)
    unit = 10 ** (width - 1)
    first_lo, first_hi = lo // unit, hi // unit
    if first_lo == first_hi:
        return seq(_digits(first_lo, first_lo), fixed_width(width - 1, lo % unit, hi % unit))
    parts: list[Regex] = [seq(_digits(first_lo, first_lo), fixed_width(width - 1, lo % unit, unit - 1))]
    if first_hi - first_lo > 1:
        parts.append(seq(_digits(first_lo + 1, first_hi - 1), fixed_width(width - 1, 0, unit - 1)))
    parts.append(seq(_digits(first_hi, first_hi), fixed_width(width - 1, 0, hi % unit)))
    return alt(*parts)


def natural_range(lo: int, hi: int) -> Regex:
    """Canonical numerals of the naturals lo..hi (0 <= lo), no leading zeros."""
    lo = max(lo, 0)
    if lo > hi:
        return EMPTY
    parts: list[Regex] = []
    if lo == 0:
        parts.append(lit("0"))
        lo = 1
    width = 1
    while lo <= hi:
        w_lo, w_hi = 10 ** (width - 1), 10**width - 1
        a, b = max(lo, w_lo), min(hi, w_hi)
        if a <= b:
            parts.append(fixed_width(width, a, b))
        if hi <= w_hi:
            break
        width += 1
    return alt(*parts) if parts else EMPTY


@lru_cache(maxsize=1024)  # regexes are immutable; registries repeat the same ranges
def int_range(lo: int | None, hi: int | None, max_digits: int = 18) -> Regex:
    """Canonical numerals of lo..hi; an open end is cut at ``max_digits`` digits."""
    cap = 10**max_digits - 1
    lo_v = -cap if lo is None else lo
    hi_v = cap if hi is None else hi
    parts: list[Regex] = []
    if hi_v >= 0:
        parts.append(natural_range(max(lo_v, 0), hi_v))
    if lo_v < 0:
        # Negative numbers: "-" then the magnitude in 1..|lo| (restricted by hi when hi < 0).
        mag_lo = 1 if hi_v >= 0 else -hi_v
        parts.append(seq(lit("-"), natural_range(mag_lo, -lo_v)))
    return alt(*parts) if parts else EMPTY


def _fraction_between(scale: int, lo_units: int, hi_units: int) -> Regex:
    parts: list[Regex] = []
    for k in range(1, scale + 1):
        factor = 10 ** (scale - k)
        a = -(-lo_units // factor)  # ceil
        b = hi_units // factor
        if a <= b:
            parts.append(fixed_width(k, a, b))
    return alt(*parts) if parts else EMPTY


@lru_cache(maxsize=1024)
def decimal_range(scale: int, lo: Decimal | None, hi: Decimal | None, max_digits: int = 18) -> Regex:
    """Numerals of Decimal(scale) values in lo..hi: integer part, then optionally '.' and 1..scale digits."""
    unit = Decimal(1).scaleb(-scale)
    cap = Decimal(10**max_digits - 1)
    lo_v = -cap if lo is None else lo.quantize(unit)
    hi_v = cap if hi is None else hi.quantize(unit)
    if lo_v > hi_v:
        return EMPTY
    parts: list[Regex] = []
    if hi_v >= 0:
        parts.append(_nonneg_decimal(scale, max(lo_v, Decimal(0)), hi_v))
    if lo_v < 0:
        mag_lo = Decimal(0) if hi_v >= 0 else -hi_v
        neg = _nonneg_decimal(scale, mag_lo, -lo_v, exclude_zero=True)
        parts.append(seq(lit("-"), neg))
    return alt(*parts) if parts else EMPTY


def _nonneg_decimal(scale: int, lo: Decimal, hi: Decimal, exclude_zero: bool = False) -> Regex:
    """Numerals of values in lo..hi (0 <= lo <= hi) with at most ``scale`` fraction digits."""
    f = 10**scale
    lo_u = int(lo * f)
    hi_u = int(hi * f)
    if exclude_zero:
        lo_u = max(lo_u, 1)
    if lo_u > hi_u:
        return EMPTY
    lo_i, lo_frac = divmod(lo_u, f)
    hi_i, hi_frac = divmod(hi_u, f)
    if scale == 0:
        return natural_range(lo_i, hi_i)

    def with_fraction(int_part: Regex, frac_lo: int, frac_hi: int) -> Regex:
        # The bare integer (and "n.0…") denotes fraction 0.
        bare = int_part if frac_lo == 0 else EMPTY
        frac = _fraction_between(scale, frac_lo, frac_hi)
        return alt(bare, seq(int_part, lit("."), frac))

    if lo_i == hi_i:
        return with_fraction(natural_range(lo_i, lo_i), lo_frac, hi_frac)
    parts = [with_fraction(natural_range(lo_i, lo_i), lo_frac, f - 1)]
    if hi_i - lo_i > 1:
        parts.append(with_fraction(natural_range(lo_i + 1, hi_i - 1), 0, f - 1))
    parts.append(with_fraction(natural_range(hi_i, hi_i), 0, hi_frac))
    return alt(*parts)

