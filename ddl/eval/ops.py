"""Runtime operations shared by the interpreter and the closure compiler.

Both backends call exactly these functions, in the same order, so they agree
on values, failures and step counts.

Decimal arithmetic is exact: ``+ - *`` are computed without rounding and then
quantized half-even to the result scale; ``/`` is computed on the exact
rational quotient and rounded half-even once (no double rounding).  This gives
the same answers as a precision-80 context whenever that context would be exact,
and the right answer when it would not.  No operation depends on the thread's
decimal context.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pyrsistent import PMap, PVector, pmap, pvector

from ddl.diagnostics import Span
from ddl.eval.result import Abort
from ddl.regular import CharSet
from ddl.syntax import ast as A
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, ListT, MapT, OptionT, RecordT, TextT, Type, type_contains
from ddl.types.regex import pattern_matcher
from ddl.values import NONE, EnumV, NoneV, RecordV, SomeV, Value, int_text, quote_text

if TYPE_CHECKING:
    from ddl.regular import Lang

# An exact context: + - * and quantize never round before the final quantize.
BIG = Context(
    prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
DEFAULT_BUDGET = 1_000_000
DEFAULT_MAX_TEXT = 1_000_000  # code points in any one Text value a run builds
DEFAULT_MAX_ITEMS = 100_000  # elements of any one List, entries of any one Map a run builds
# Wall-clock time per evaluation (None turns the clock off): a safety net that a run within its steps
# does not reach on an ordinary machine; the handler answers a query within a tighter one (QUERY_LIMITS).
DEFAULT_SECONDS = 5.0
CLOCK_EVERY = 10_000  # steps between two looks at the clock

# ------------------------------------------------------------------ run context and steps


@dataclass(frozen=True)
class Budget:
    """What one evaluation may use: steps, the size of any value it builds, and wall-clock time.

    ``seconds=None`` turns the clock off (the verifier does, so that its verdicts do not depend on
    how busy the machine is); the step and size budgets are deterministic and always on.
    """

    steps: int = DEFAULT_BUDGET
    max_text: int = DEFAULT_MAX_TEXT
    max_items: int = DEFAULT_MAX_ITEMS
    seconds: float | None = DEFAULT_SECONDS


DEFAULT_LIMITS = Budget()
QUERY_LIMITS = Budget(seconds=1.0)  # what a served family answers a query with (spec/handler.md)
UNTIMED = Budget(seconds=None)  # what the verifier runs with: verdicts that do not depend on the machine
HOW_TO = "a host raises it with Evaluator(module, budget=ddl.eval.Budget({}))"


class Ctx:
    """Mutable per-run state: the step counter, the budgets and θ.

    ``budget`` is the next checkpoint, not the step budget: the hot path of both backends
    compares ``steps > budget`` only, and :meth:`over` (called past a checkpoint) either fails
    the run or looks at the clock and sets the next checkpoint.
    """

    __slots__ = ("steps", "budget", "params", "limits", "deadline")

    def __init__(self, limits: Budget | int, params: dict[str, Value]):
        if isinstance(limits, int):
            limits = Budget(steps=limits)
        self.steps = 0
        self.limits = limits
        self.params = params
        if limits.seconds is None:
            self.deadline = None
            self.budget = limits.steps
        else:
            self.deadline = time.monotonic() + limits.seconds
            self.budget = min(limits.steps, CLOCK_EVERY)

    def over(self, span: Span) -> None:
        """Past a checkpoint: fail with DDL305 past the step budget, DDL318 past the deadline."""
        if self.steps > self.limits.steps:
            raise budget_abort(self, span)
        if self.deadline is not None:
            if time.monotonic() > self.deadline:
                raise Abort("DDL318", f"time budget exhausted: the evaluation ran longer than {self.limits.seconds:g} s "
                            f"(after {self.steps} steps); " + HOW_TO.format("seconds=S"), span)
            self.budget = min(self.limits.steps, self.steps + CLOCK_EVERY)

    def charge(self, n: int, span: Span) -> None:
        """Charge ``n`` extra steps (work proportional to the size of big values)."""
        self.steps += n
        if self.steps > self.budget:
            self.over(span)

    def fits(self, value: Any, what: str, span: Span) -> Any:
        """``value`` when its size is within the budget, else DDL317 naming ``what`` built it."""
        n = len(value)
        if type(value) is str:
            if n > self.limits.max_text:
                raise too_large(what, n, "code points", "Text", self.limits.max_text, span, "max_text")
        elif n > self.limits.max_items:
            kind = "Map" if isinstance(value, PMap) else "List"
            unit = "entries" if kind == "Map" else "elements"
            raise too_large(what, n, unit, kind, self.limits.max_items, span, "max_items")
        return value


def too_large(what: str, n: int, unit: str, kind: str, limit: int, span: Span, field: str) -> Abort:
    return Abort("DDL317", f"value too large: {what} built a {kind} of {n} {unit}, over the limit of {limit} "
                 f"{unit} per value; " + HOW_TO.format(f"{field}=N"), span)


def budget_abort(ctx: Ctx, span: Span) -> Abort:
    return Abort("DDL305", f"step budget exhausted (more than {ctx.limits.steps} evaluation steps)", span)


def depth_abort(span: Span) -> Abort:
    return Abort("DDL305", "evaluation nested too deeply (Python recursion limit reached)", span)


class InternalError(Exception):
    """An invariant the checker guarantees was violated (a bug, not a user error)."""


# Work accounting: text, list and map sizes cost one step per 16 elements, and
# big-number arithmetic costs steps proportional to its work, so a small program
# cannot build gigabyte values within its budget.
SIZE_SHIFT = 4
_BIG_BITS = 2048


_SCALARS = frozenset({int, bool, Decimal, EnumV, NoneV, SomeV, RecordV})
SMALL_INT = 1 << _BIG_BITS  # ints strictly inside ±SMALL_INT cost nothing extra


def size_of(v: Any) -> int:
    if type(v) in _SCALARS:
        return 0
    if type(v) is str or isinstance(v, (PVector, PMap)):
        return len(v)
    return 0


def size_cost(*vals: Any) -> int:
    """Extra steps for work linear in the sizes of texts, lists and maps."""
    total = 0
    for v in vals:
        if type(v) not in _SCALARS:
            total += size_of(v)
    return total >> SIZE_SHIFT


def pair_cost(a: Any, b: Any) -> int:
    """``size_cost(a, b)`` for two operands of the same base type (fast for scalars)."""
    if type(a) in _SCALARS:
        return 0
    return (size_of(a) + size_of(b)) >> SIZE_SHIFT


def _big_cost(op: str, ba: int, bb: int) -> int:
    linear = (ba + bb) >> 10
    if op in ("+", "-"):
        return linear
    return linear + ((ba * bb) >> 20)


def int_arith_cost(op: str, a: int, b: int) -> int:
    """Extra steps for Int arithmetic on numbers of 2048 bits or more (0 otherwise)."""
    if -SMALL_INT < a < SMALL_INT and -SMALL_INT < b < SMALL_INT:
        return 0
    return _big_cost(op, a.bit_length(), b.bit_length())


def _dec_bits(v: Any) -> int:
    if type(v) is int:
        return v.bit_length()
    return (abs(v.adjusted()) + 20) * 4  # type: ignore[no-any-return]


def dec_arith_cost(op: str, a: Any, b: Any) -> int:
    """Extra steps for Decimal arithmetic on numbers of about 600 digits or more (0 otherwise)."""
    ba, bb = _dec_bits(a), _dec_bits(b)
    if ba < _BIG_BITS and bb < _BIG_BITS:
        return 0
    return _big_cost(op, ba, bb)


# ------------------------------------------------------------------ numbers

_EXP = [Decimal(1).scaleb(-s) for s in range(0, 19)]


def _exp(scale: int) -> Decimal:
    return _EXP[scale] if 0 <= scale <= 18 else Decimal(1).scaleb(-scale, BIG)


def quantize(d: Decimal, scale: int) -> Decimal:
    """Round half-even to ``scale`` places; never a negative zero."""
    q = d.quantize(_exp(scale), rounding=ROUND_HALF_EVEN, context=BIG)
    if q.is_signed() and q.is_zero():
        q = q.copy_abs()
    return q


def to_decimal(v: Any, scale: int) -> Decimal:
    if type(v) is int:
        return quantize(Decimal(v), scale)
    return quantize(v, scale)


def _dec(v: Any) -> Decimal:
    return Decimal(v) if type(v) is int else v  # type: ignore[no-any-return]


def _make_dec(units: int, scale: int) -> Decimal:
    return Decimal(units).scaleb(-scale, BIG)


def _int_div(a: int, b: int, span: Span) -> int:
    if b == 0:
        raise Abort("DDL300", "division by zero", span)
    return a // b


def _int_mod(a: int, b: int, span: Span) -> int:
    if b == 0:
        raise Abort("DDL300", "modulo by zero", span)
    return a % b


INT_OPS: dict[str, Callable[[int, int, Span], int]] = {
    "+": lambda a, b, s: a + b,
    "-": lambda a, b, s: a - b,
    "*": lambda a, b, s: a * b,
    "/": _int_div,
    "%": _int_mod,
}


def _dec_add(a: Any, b: Any, scale: int, span: Span) -> Decimal:
    return quantize(BIG.add(_dec(a), _dec(b)), scale)


def _dec_sub(a: Any, b: Any, scale: int, span: Span) -> Decimal:
    return quantize(BIG.subtract(_dec(a), _dec(b)), scale)


def _dec_mul(a: Any, b: Any, scale: int, span: Span) -> Decimal:
    return quantize(BIG.multiply(_dec(a), _dec(b)), scale)


def _dec_div(a: Any, b: Any, scale: int, span: Span) -> Decimal:
    if b == 0:
        raise Abort("DDL300", "division by zero", span)
    pa, qa = _dec(a).as_integer_ratio()
    pb, qb = _dec(b).as_integer_ratio()
    num = pa * qb * 10**scale
    den = qa * pb
    if den < 0:
        num, den = -num, -den
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q & 1):
        q += 1
    return _make_dec(q, scale)


def _dec_mod(a: Any, b: Any, scale: int, span: Span) -> Decimal:
    """Floor modulo: ``a - b * floor(a / b)``, with the sign of the divisor."""
    if b == 0:
        raise Abort("DDL300", "modulo by zero", span)
    da, db = _dec(a), _dec(b)
    pa, qa = da.as_integer_ratio()
    pb, qb = db.as_integer_ratio()
    floor_q = (pa * qb) // (qa * pb)
    return quantize(BIG.subtract(da, BIG.multiply(db, Decimal(floor_q))), scale)


DEC_OPS: dict[str, Callable[[Any, Any, int, Span], Decimal]] = {
    "+": _dec_add,
    "-": _dec_sub,
    "*": _dec_mul,
    "/": _dec_div,
    "%": _dec_mod,
}


def dec_scale(t: Type) -> int:
    """The result scale of a Decimal operation: from its type (the checker's decision)."""
    if isinstance(t, DecimalT):
        return t.scale
    raise InternalError(f"decimal operation typed {t}")


def negate(v: Any) -> Any:
    if type(v) is Decimal:
        r = v.copy_negate()
        return r.copy_abs() if r.is_zero() else r
    return -v


def dec_abs(v: Decimal) -> Decimal:
    return v.copy_abs()


# ------------------------------------------------------------------ equality, order, show


def values_equal(a: Any, b: Any) -> bool:
    """Structural equality; a Bool never equals an Int (Python's True == 1 is not DDL's)."""
    if (type(a) is bool) is not (type(b) is bool):
        return False
    return bool(a == b)


def compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return values_equal(a, b)
    if op == "!=":
        return not values_equal(a, b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    raise InternalError(f"unknown comparison {op}")


def show(v: Any) -> str:
    """``show``/interpolation text: digits, fixed-scale decimals, true/false, text, enum display."""
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return int_text(v)
    if t is Decimal:
        return format(v, "f")
    if t is EnumV:
        return v.display  # type: ignore[no-any-return]
    raise InternalError(f"show of {v!r}")


def generic_key(v: Any) -> Any:
    """An ordering key usable without type information (enums by name)."""
    t = type(v)
    if t is bool:
        return (0, int(v))
    if t is int or t is Decimal:
        return (1, v)
    if t is str:
        return (2, v)
    if t is EnumV:
        return (3, v.enum, v.name)
    if t is NoneV:
        return (4,)
    if t is SomeV:
        return (5, generic_key(v.value))
    if t is RecordV:
        return (6, tuple(generic_key(x) for _, x in v.fields))
    if isinstance(v, PVector):
        return (7, tuple(generic_key(x) for x in v))
    if isinstance(v, PMap):
        return (8, tuple(sorted((generic_key(k), generic_key(x)) for k, x in v.items())))
    return (9, repr(v))


@lru_cache(maxsize=512)
def order_key(t: Type | None) -> Callable[[Any], Any]:
    """Ascending order for values of type ``t``: numbers, code points, enums by declaration."""
    if isinstance(t, EnumT):
        index = {name: i for i, name in enumerate(t.variants)}
        return lambda v: index.get(v.name, len(index))
    if isinstance(t, (IntT, DecimalT, TextT)):
        return _identity
    if isinstance(t, BoolT):
        return int
    if isinstance(t, OptionT):
        inner = order_key(t.inner)
        return lambda v: (1, inner(v.value)) if type(v) is SomeV else (0,)
    if isinstance(t, ListT):
        elem = order_key(t.elem)
        return lambda v: tuple(elem(x) for x in v)
    if isinstance(t, RecordT):
        keys = [(name, order_key(ft)) for name, ft in t.fields]
        return lambda v: tuple(k(v.get(name)) for name, k in keys)
    return generic_key


def _identity(v: Any) -> Any:
    return v


# ------------------------------------------------------------------ widening and narrowing


@lru_cache(maxsize=1024)
def has_decimal(t: Type) -> bool:
    return type_contains(t, lambda x: isinstance(x, DecimalT))


def coerce(v: Any, t: Type) -> Any:
    """Widen ``v`` to ``t``: Int → Decimal(s) and Decimal to scale s, deeply. Total."""
    if isinstance(t, DecimalT):
        if type(v) is int or type(v) is Decimal:
            return to_decimal(v, t.scale)
        return v
    if not has_decimal(t):
        return v
    if isinstance(t, ListT):
        return pvector(coerce(x, t.elem) for x in v)
    if isinstance(t, MapT):
        return pmap({coerce(k, t.key): coerce(x, t.value) for k, x in v.items()})
    if isinstance(t, OptionT):
        return SomeV(coerce(v.value, t.inner)) if type(v) is SomeV else v
    if isinstance(t, RecordT) and type(v) is RecordV:
        return RecordV(v.type_name, tuple((n, coerce(x, t.field_type(n) or _NOTYPE)) for n, x in v.fields))
    return v


_NOTYPE = BoolT()


@lru_cache(maxsize=1024)
def has_refinement(t: Type) -> bool:
    if isinstance(t, IntT):
        return t.lo is not None or t.hi is not None
    if isinstance(t, DecimalT):
        return True  # the scale is a refinement too
    if isinstance(t, TextT):
        return t.max_len is not None or t.pattern is not None
    if isinstance(t, ListT):
        return t.max_len is not None or has_refinement(t.elem)
    if isinstance(t, MapT):
        return t.max_len is not None or has_refinement(t.key) or has_refinement(t.value)
    if isinstance(t, OptionT):
        return has_refinement(t.inner)
    if isinstance(t, RecordT):
        return any(has_refinement(ft) for _, ft in t.fields)
    return False


def narrow_cost(v: Any, t: Type) -> int:
    """Extra steps for a narrowing check that walks the value (patterns, element checks)."""
    if isinstance(t, TextT):
        return len(v) >> SIZE_SHIFT if t.pattern is not None else 0
    if isinstance(t, (ListT, MapT)) and has_refinement(t):
        return len(v) >> SIZE_SHIFT
    return 0


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def narrow(v: Any, t: Type, span: Span) -> Any:
    """Check ``v`` against the refinements of ``t`` (raises Abort DDL302/306/307/309)."""
    if isinstance(t, IntT):
        if (t.lo is not None and v < t.lo) or (t.hi is not None and v > t.hi):
            raise Abort("DDL302", f"value {_clip(int_text(v))} is outside {t}", span)
        return v
    if isinstance(t, DecimalT):
        d = to_decimal(v, t.scale)
        if d != v:
            raise Abort("DDL302", f"value {_clip(format(_dec(v), 'f'))} has more than {t.scale} decimal places ({t})", span)
        if (t.lo is not None and d < t.lo) or (t.hi is not None and d > t.hi):
            raise Abort("DDL302", f"value {_clip(format(d, 'f'))} is outside {t}", span)
        return d
    if isinstance(t, TextT):
        if t.max_len is not None and len(v) > t.max_len:
            raise Abort(
                "DDL306", f"text of length {len(v)} is longer than the maximum of {t.max_len}: {quote_text(_clip(v))}", span
            )
        if t.pattern is not None and not pattern_matcher(t.pattern)(v):
            raise Abort(
                "DDL309", f"text {quote_text(_clip(v))} does not match the pattern {regex_source(t.pattern)}", span
            )
        return v
    if not has_refinement(t):
        return v
    if isinstance(t, ListT):
        if t.max_len is not None and len(v) > t.max_len:
            raise Abort("DDL307", f"list of length {len(v)} is longer than the maximum of {t.max_len}", span)
        if has_refinement(t.elem):
            items = [narrow(x, t.elem, span) for x in v]
            if any(a is not b for a, b in zip(items, v)):
                return pvector(items)
        return v
    if isinstance(t, MapT):
        if t.max_len is not None and len(v) > t.max_len:
            raise Abort("DDL307", f"map with {len(v)} entries is longer than the maximum of {t.max_len}", span)
        if has_refinement(t.key) or has_refinement(t.value):
            return pmap({narrow(k, t.key, span): narrow(x, t.value, span) for k, x in v.items()})
        return v
    if isinstance(t, OptionT):
        if type(v) is SomeV:
            inner = narrow(v.value, t.inner, span)
            return v if inner is v.value else SomeV(inner)
        return v
    if isinstance(t, RecordT) and type(v) is RecordV:
        fields = []
        for name, x in v.fields:
            ft = t.field_type(name)
            fields.append((name, x if ft is None else narrow(x, ft, span)))
        return RecordV(v.type_name, tuple(fields))
    return v


# ------------------------------------------------------------------ Text patterns


def _cp_re(cp: int) -> str:
    ch = chr(cp)
    if ch.isascii() and ch.isalnum():
        return ch
    return f"\\U{cp:08x}" if cp > 0xFFFF else f"\\u{cp:04x}"


def translate_regex(r: A.Regex, esc: Callable[[int], str] = _cp_re) -> str:
    """The DDL regex AST as a Python ``re`` pattern (used by tests as an independent implementation)."""
    if isinstance(r, A.RLit):
        return "(?:" + "".join(esc(ord(c)) for c in r.text) + ")"
    if isinstance(r, A.RClass):
        if not r.ranges:
            return "(?s:.)" if r.negated else "(?!)"
        body = "".join(esc(lo) if lo == hi else f"{esc(lo)}-{esc(hi)}" for lo, hi in r.ranges)
        return "[" + ("^" if r.negated else "") + body + "]"
    if isinstance(r, A.RAny):
        return "(?s:.)"
    if isinstance(r, A.RSeq):
        return "(?:" + "".join(translate_regex(i, esc) for i in r.items) + ")"
    if isinstance(r, A.RAlt):
        return "(?:" + "|".join(translate_regex(i, esc) for i in r.items) + ")"
    if isinstance(r, A.RRepeat):
        inner = "(?:" + translate_regex(r.item, esc) + ")"
        lo, hi = r.lo, r.hi
        if hi is None:
            quant = "*" if lo == 0 else "+" if lo == 1 else f"{{{lo},}}"
        elif lo == 0 and hi == 1:
            quant = "?"
        elif lo == hi:
            quant = f"{{{lo}}}"
        else:
            quant = f"{{{lo},{hi}}}"
        return inner + quant
    raise InternalError(f"{type(r).__name__} is not allowed in a Text pattern")


def regex_source(r: A.Regex) -> str:
    """DDL source form of a regex, for messages."""
    if isinstance(r, A.RLit):
        return quote_text(r.text)
    if isinstance(r, A.RClass):
        def ch(cp: int) -> str:
            c = chr(cp)
            special = {"\\": "\\\\", "]": "\\]", "[": "\\[", "-": "\\-", "^": "\\^", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
            return special.get(c, c)

        body = "".join(ch(lo) if lo == hi else f"{ch(lo)}-{ch(hi)}" for lo, hi in r.ranges)
        return "[" + ("^" if r.negated else "") + body + "]"
    if isinstance(r, A.RAny):
        return "."
    if isinstance(r, A.RRef):
        return r.name
    if isinstance(r, A.RSeq):
        return " ".join(_atomic(i, seq=True) for i in r.items)
    if isinstance(r, A.RAlt):
        return " | ".join(_atomic(i) for i in r.items)
    if isinstance(r, A.RAnd):
        return " & ".join(_atomic(i, seq=True) for i in r.items)
    if isinstance(r, A.RNot):
        return "~" + _atomic(r.item, seq=True, post=True)
    if isinstance(r, A.RRepeat):
        inner = _atomic(r.item, seq=True, post=True)
        lo, hi = r.lo, r.hi
        if hi is None:
            return inner + ("*" if lo == 0 else "+" if lo == 1 else f"{{{lo},}}")
        if lo == 0 and hi == 1:
            return inner + "?"
        return inner + (f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}")
    return "?"


def _atomic(r: A.Regex, seq: bool = False, post: bool = False) -> str:
    text = regex_source(r)
    needs = isinstance(r, A.RAlt) or (seq and isinstance(r, (A.RSeq, A.RAnd))) or (
        post and isinstance(r, (A.RSeq, A.RAnd, A.RNot, A.RRepeat))
    )
    return f"({text})" if needs else text


# A finite language with a DFA this small is matched by a Python regex written from the DFA (below):
# C speed, and no backtracking to speak of (every alternation's branches start with disjoint classes).
_FINITE_STATES = 200
_FINITE_REGEX_CHARS = 60_000


@lru_cache(maxsize=256)
def fast_pattern_matcher(pattern: A.Regex) -> Callable[[str], Any]:
    """:func:`pattern_matcher`, faster on finite languages: its answer's truth is the same for every text."""
    from ddl.regular import Lang  # deferred: the automata load only when a pattern is matched

    matcher = pattern_matcher(pattern)
    lang = getattr(matcher, "__self__", None)  # a Lang's contains, unless the lazy matcher was needed
    if isinstance(lang, Lang) and lang.num_states <= _FINITE_STATES and lang.is_finite():
        text = dfa_regex(lang, _FINITE_REGEX_CHARS)
        if text is not None:
            try:
                return re.compile(text).fullmatch
            except (re.error, RecursionError, OverflowError):  # pragma: no cover - Python's re refused it
                pass
    return matcher


def dfa_regex(lang: Lang, max_chars: int) -> str | None:
    """A Python regex (for ``fullmatch``) of a finite language, from its DFA; None past ``max_chars``.

    The regex of a state is the alternation, over the live states it moves to, of the class of
    characters that lead there followed by that state's regex (and the empty word if it accepts).
    A finite language's DFA has no cycle through live states, so this ends.
    """
    dfa, atoms = lang.dfa, lang.atoms
    live = dfa.live_states()
    memo: dict[int, str] = {}

    def of(state: int) -> str:
        known = memo.get(state)
        if known is not None:
            return known
        targets: dict[int, list[CharSet]] = {}
        for atom, target in enumerate(dfa.delta[state]):
            if target in live:
                targets.setdefault(target, []).append(atoms[atom])
        alts = [CharSet().union(*sets).to_class() + of(target) for target, sets in targets.items()]
        if dfa.accept[state]:
            alts.append("")
        text = "(?!)" if not alts else alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if len(text) > max_chars:  # a state's regex holds those of the states after it: the start's is the longest
            raise _TooLong
        memo[state] = text
        return text

    try:
        return of(dfa.start) if dfa.start in live else "(?!)"
    except _TooLong:
        return None


class _TooLong(Exception):
    pass


__all__ = [
    "BIG", "Budget", "Ctx", "DEFAULT_LIMITS", "QUERY_LIMITS", "UNTIMED", "too_large", "DEC_OPS", "INT_OPS", "NONE", "InternalError", "dec_arith_cost", "int_arith_cost", "pair_cost", "budget_abort", "coerce",
    "compare", "depth_abort", "dfa_regex", "fast_pattern_matcher", "generic_key", "narrow", "negate", "order_key", "pattern_matcher", "quantize",
    "regex_source", "show", "size_cost", "size_of", "to_decimal", "translate_regex", "values_equal",
]
