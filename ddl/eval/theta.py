"""Converting plain Python / JSON arguments into a validated θ.

:func:`validate_theta` checks a mapping of raw arguments against a family's
parameter space Θ: each value is converted to its runtime form and checked
against its declared type (ranges, lengths, patterns, bounds), omitted
parameters take their defaults, and ``where`` refinements are evaluated on the
complete θ.  Every problem is reported as one English message naming the
parameter and its domain.  :func:`parse_param_value` reads the text of a
command-line ``--param name=value``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pyrsistent import PMap, PVector, pmap, pvector

from ddl.diagnostics import SourceMap, Span, did_you_mean
from ddl.eval import ops
from ddl.eval.compile import SLOW, ParamEntry, compile_check, compile_entry
from ddl.eval.result import Err, Ok
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.types.model import BoolT, BottomT, DecimalT, EnumT, IntT, ListT, MapT, OptionT, RecordT, TextT, Type
from ddl.values import NONE, EnumV, NoneV, RecordV, SomeV, Value, int_text, quote_text, show_value

if TYPE_CHECKING:
    from ddl.eval.interp import Evaluator

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_DEC_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_INT_DIGITS = 4000


class _Invalid(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def describe_type(t: Type) -> str:
    """The type as written in DDL, with an enum's variants spelled out."""
    if isinstance(t, EnumT):
        return f"{t.name} (one of {', '.join(t.variants)})"
    if isinstance(t, TextT) and t.pattern is not None:
        opts = []
        if t.max_len is not None:
            opts.append(f"max {t.max_len}")
        opts.append(f"pattern {ops.regex_source(t.pattern)}")
        return f"Text({', '.join(opts)})"
    return str(t)


def _show_raw(raw: Any) -> str:
    """A raw argument shown for a message (JSON-like, values in DDL syntax)."""
    if raw is None:
        return "null"
    if type(raw) is str:
        return quote_text(raw if len(raw) <= 60 else raw[:59] + "…")
    if type(raw) is int:
        text = int_text(raw)
        return text if len(text) <= 60 else text[:30] + "…" + text[-10:]
    if isinstance(raw, (bool, Decimal, EnumV, RecordV, SomeV, NoneV, PVector, PMap)):
        text = show_value(raw)
    else:
        try:
            text = json.dumps(raw, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(raw)
    return text if len(text) <= 80 else text[:79] + "…"


def _kind(raw: Any) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, int):
        return "an integer"
    if isinstance(raw, float):
        return "a number"
    if isinstance(raw, Decimal):
        return "a decimal"
    if isinstance(raw, str):
        return "text"
    if isinstance(raw, (list, tuple, PVector)):
        return "a list"
    if isinstance(raw, (dict, PMap)):
        return "an object"
    return type(raw).__name__


def _subject(path: str, raw: Any) -> str:
    """``path = value`` for a message (just the value at the top of a ``--param`` text)."""
    return f"{path} = {_show_raw(raw)}" if path else _show_raw(raw)


def _named(path: str) -> str:
    return path or "the value"


def _expected(path: str, what: str, t: Type, raw: Any) -> _Invalid:
    return _Invalid(f"{_subject(path, raw)} is not {what} ({describe_type(t)}); got {_kind(raw)}")


def _outside(path: str, raw: Any, t: Type) -> _Invalid:
    return _Invalid(f"{_subject(path, raw)} is outside {describe_type(t)}")


def enum_value(t: EnumT, name: str) -> EnumV:
    """The runtime value of variant ``name`` (tagged ``origin::Enum`` like the checker's constants)."""
    return EnumV(f"{t.origin}::{t.name}", name, t.display_of(name))


def _enum_value(raw: Any, t: EnumT, path: str) -> EnumV:
    if isinstance(raw, EnumV):
        if raw.enum in (f"{t.origin}::{t.name}", t.name) and raw.name in t.variants:
            return enum_value(t, raw.name)
        raise _Invalid(f"{_subject(path, raw)} is not a {describe_type(t)}")
    if type(raw) is not str:
        raise _expected(path, f"a {t.name}", t, raw)
    aliases = t.aliases if len(t.aliases) == len(t.variants) else tuple(() for _ in t.variants)
    # Exact spellings first: the name, then the display text, then an alias.
    for name in t.variants:
        if raw == name:
            return enum_value(t, name)
    for i, name in enumerate(t.variants):
        if raw == t.displays[i] or raw in aliases[i]:
            return enum_value(t, name)
    # Then ignoring case, when that is unambiguous.
    folded = raw.casefold()
    hits = {
        name
        for i, name in enumerate(t.variants)
        if folded in {name.casefold(), t.displays[i].casefold(), *(a.casefold() for a in aliases[i])}
    }
    if len(hits) == 1:
        return enum_value(t, hits.pop())
    spellings = list(t.variants) + list(t.displays) + [a for group in aliases for a in group]
    hint = _hint(raw, spellings)
    raise _Invalid(f"{_subject(path, raw)} is not a {describe_type(t)}{hint}")


def _int_value(raw: Any, t: IntT, path: str, refine: bool) -> int:
    if type(raw) is not int:
        raise _expected(path, "an integer", t, raw)
    if refine and ((t.lo is not None and raw < t.lo) or (t.hi is not None and raw > t.hi)):
        raise _outside(path, raw, t)
    return raw


def _decimal_value(raw: Any, t: DecimalT, path: str, refine: bool) -> Decimal:
    if type(raw) is int:
        d = Decimal(raw)
    elif type(raw) is Decimal:
        d = raw
    elif type(raw) is float:
        d = Decimal(repr(raw)) if raw == raw and raw not in (float("inf"), float("-inf")) else Decimal("NaN")
    elif type(raw) is str:
        text = raw.strip()
        if not _DEC_TEXT.fullmatch(text):
            raise _expected(path, "a decimal number", t, raw)
        d = Decimal(text)
    else:
        raise _expected(path, "a decimal number", t, raw)
    if not d.is_finite():
        raise _expected(path, "a finite decimal number", t, raw)
    if not refine:
        return d
    q = ops.quantize(d, t.scale)
    if q != d:
        raise _Invalid(f"{_subject(path, raw)} has more than {t.scale} decimal places ({describe_type(t)})")
    if (t.lo is not None and q < t.lo) or (t.hi is not None and q > t.hi):
        raise _outside(path, raw, t)
    return q


def _text_value(raw: Any, t: TextT, path: str, refine: bool) -> str:
    if type(raw) is not str:
        raise _expected(path, "text", t, raw)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in raw):
        raise _Invalid(f"{_named(path)} contains a lone surrogate code point, which is not valid Unicode text")
    if not refine:
        return raw
    if t.max_len is not None and len(raw) > t.max_len:
        raise _Invalid(
            f"{_subject(path, raw)} is {len(raw)} characters long; {describe_type(t)} allows at most {t.max_len}"
        )
    if t.pattern is not None and not ops.pattern_matcher(t.pattern)(raw):
        raise _Invalid(f"{_subject(path, raw)} does not match the pattern {ops.regex_source(t.pattern)}")
    return raw


def convert(raw: Any, t: Type, path: str, refine: bool = True) -> Value:
    """Convert one raw argument (plain data or an existing runtime value) to a Value of ``t``.

    With ``refine`` (the default) the value is also checked against the
    refinements of ``t``: Int ranges, Decimal places and ranges, Text length and
    pattern, List and Map bounds.  Raises ``_Invalid`` with an English message.
    """
    if isinstance(t, IntT):
        return _int_value(raw, t, path, refine)
    if isinstance(t, DecimalT):
        return _decimal_value(raw, t, path, refine)
    if isinstance(t, BoolT):
        if type(raw) is not bool:
            raise _expected(path, "true or false", t, raw)
        return raw
    if isinstance(t, TextT):
        return _text_value(raw, t, path, refine)
    if isinstance(t, EnumT):
        return _enum_value(raw, t, path)
    if isinstance(t, OptionT):
        if raw is None or isinstance(raw, NoneV):
            return NONE
        inner = raw.value if isinstance(raw, SomeV) else raw
        return SomeV(convert(inner, t.inner, path, refine))
    if isinstance(t, ListT):
        if not isinstance(raw, (list, tuple, PVector)):
            raise _expected(path, "a list", t, raw)
        if refine and t.max_len is not None and len(raw) > t.max_len:
            raise _Invalid(f"{_named(path)} has {len(raw)} elements; {describe_type(t)} allows at most {t.max_len}")
        return pvector([convert(x, t.elem, f"{path}[{i}]", refine) for i, x in enumerate(raw)])
    if isinstance(t, MapT):
        if not isinstance(raw, (dict, PMap)):
            raise _expected(path, "a map (an object)", t, raw)
        if refine and t.max_len is not None and len(raw) > t.max_len:
            raise _Invalid(f"{_named(path)} has {len(raw)} entries; {describe_type(t)} allows at most {t.max_len}")
        out: dict[Any, Any] = {}
        for k, v in raw.items():
            key_raw = k
            if type(k) is str and not isinstance(t.key, (TextT, EnumT)):
                key_raw, problem = parse_param_value(k, t.key)
                if problem is not None:
                    raise _Invalid(f"{_named(path)} has key {_show_raw(k)}: {problem}")
            key = convert(key_raw, t.key, f"{path} key {_show_raw(k)}".strip(), refine)
            out[key] = convert(v, t.value, f"{path}[{_show_raw(k)}]", refine)
        return pmap(out)
    if isinstance(t, RecordT):
        if isinstance(raw, RecordV):
            if raw.type_name != t.name:
                raise _expected(path, f"a {t.name} record", t, raw)
            raw = dict(raw.fields)
        if not isinstance(raw, (dict, PMap)):
            raise _expected(path, f"a {t.name} record (an object)", t, raw)
        names = [name for name, _ in t.fields]
        unknown = [k for k in raw if k not in names]
        if unknown:
            hint = _hint(str(unknown[0]), names)
            raise _Invalid(f"{_named(path)} has no field {unknown[0]!r}{hint}; {t.name} has fields {', '.join(names)}")
        missing = [n for n in names if n not in raw]
        if missing:
            raise _Invalid(f"{_named(path)} is missing field(s) {', '.join(missing)} of {t.name}")
        return RecordV(t.name, tuple((name, convert(raw[name], ft, f"{path}.{name}", refine)) for name, ft in t.fields))
    if isinstance(t, BottomT):
        raise _Invalid(f"{_named(path)} has no possible value")
    raise _Invalid(f"{_named(path)}: unsupported parameter type {t}")  # pragma: no cover


def _check_value_kind(v: Any, t: Type, path: str) -> None:
    """With runtime values, text is never read as an enum or a decimal."""
    if isinstance(t, EnumT) and not isinstance(v, EnumV):
        raise _expected(path, f"a {t.name} value", t, v)
    if isinstance(t, DecimalT) and type(v) is str:
        raise _expected(path, "a decimal number", t, v)


def _span_text(span: Span, sources: SourceMap) -> str | None:
    if span.line != span.end_line:
        return None
    line = sources.line(span.path, span.line)
    if line is None or span.end_col <= span.col:
        return None
    return line[span.col - 1 : span.end_col - 1] or None


def validate_theta(
    family: CheckedFamily,
    evaluator: Evaluator,
    raw: Mapping[str, object],
    *,
    values: bool = False,
    sources: SourceMap | None = None,
) -> tuple[dict[str, Value] | None, list[str]]:
    """Convert and check raw arguments against Θ; returns (θ, []) or (None, messages).

    Accepts JSON-style data (ints, decimal strings, text, enum names / display
    texts / aliases, lists, objects for maps and records, null for none) and
    runtime values.  θ is returned in declaration order with defaults filled.
    With ``values=True`` the arguments are runtime values (e.g. an example's
    evaluated bindings) and a value of the wrong kind is reported, not converted
    from text: an enum parameter then needs an enum value, not a name.
    ``sources`` lets a violated ``where`` be quoted from unsaved source text
    (files on disk are read as needed).
    """
    errors: list[str] = []
    names = [p.name for p in family.params]
    for key in raw:
        if key not in names:
            hint = _hint(str(key), names)
            known = ", ".join(names) if names else "none"
            errors.append(f"unknown parameter {str(key)!r}{hint}; family {family.name} has parameters: {known}")
    theta: dict[str, Value] = {}
    for param in family.params:
        if param.name in raw:
            source: Any = raw[param.name]
        elif param.default is not None:
            outcome = evaluator.eval_closed(param.default, params=theta)
            if isinstance(outcome, Err):
                errors.append(f"the default of {param.name} failed: {outcome.failure.message}")
                continue
            source = outcome.value
        else:
            errors.append(f"missing required parameter {param.name!r} ({describe_type(param.type)})")
            continue
        try:
            if values and param.name in raw:
                _check_value_kind(source, param.type, param.name)
            theta[param.name] = convert(source, param.type, param.name)
        except _Invalid as bad:
            errors.append(bad.message)
    if errors:
        return None, errors
    for param in family.params:
        if param.where is None:
            continue
        outcome = evaluator.eval_closed(param.where, params=theta)
        if isinstance(outcome, Err) or outcome.value is not True:
            # Only a violation quotes the source (which may mean reading the file): none on success.
            sources = sources or SourceMap()
            value = show_value(theta[param.name])
            text = _span_text(param.where.span, sources)
            refinement = f"where {text}" if text else "its where-refinement"
            if isinstance(outcome, Err):
                errors.append(f"{param.name} = {value}: checking {refinement} failed: {outcome.failure.message}")
            else:
                errors.append(f"{param.name} = {value} violates {refinement}")
    if errors:
        return None, errors
    return theta, []


_NO = object()  # a fast converter's "not on the fast path"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _entry(t: Type, name: str, default: Any) -> ParamEntry:
    """How the generated call reads a parameter of type ``t`` (compile.compile_entry)."""
    if isinstance(t, IntT):
        return ParamEntry(name, "int", (t.lo, t.hi), default)
    if isinstance(t, BoolT):
        return ParamEntry(name, "bool", None, default)
    if isinstance(t, TextT) and t.pattern is None and t.max_len is None:
        return ParamEntry(name, "text", None, default)
    if isinstance(t, EnumT):
        return ParamEntry(name, "enum", _spellings(t), default)
    if isinstance(t, TextT):
        matcher = ops.fast_pattern_matcher(t.pattern) if t.pattern is not None else None
        return ParamEntry(name, "pattern", (t.max_len, matcher), default)
    return ParamEntry(name, "call", _fast_converter(t, name), default)


def _spellings(t: EnumT) -> dict[str, EnumV]:
    """Every exact spelling convert accepts (names first, then displays and aliases in variant order)."""
    spellings: dict[str, EnumV] = {}
    aliases = t.aliases if len(t.aliases) == len(t.variants) else tuple(() for _ in t.variants)
    for i, variant in enumerate(t.variants):
        for spelling in (t.displays[i], *aliases[i]):
            spellings.setdefault(spelling, enum_value(t, variant))
    spellings.update({variant: enum_value(t, variant) for variant in t.variants})
    return spellings


def _fast_converter(t: Type, name: str) -> Callable[[Any], Any]:
    """``raw → value`` for the common, valid arguments of type ``t``; ``_NO`` for anything else."""
    if isinstance(t, IntT):
        lo, hi = t.lo, t.hi

        def int_value(raw: Any) -> Any:
            if type(raw) is int and (lo is None or raw >= lo) and (hi is None or raw <= hi):
                return raw
            return _NO

        return int_value
    if isinstance(t, BoolT):
        return lambda raw: raw if type(raw) is bool else _NO
    if isinstance(t, TextT) and t.pattern is None and t.max_len is None:
        return lambda raw: raw if type(raw) is str and not _SURROGATE.search(raw) else _NO
    if isinstance(t, TextT):
        # The pattern's matcher looked up once (ops.pattern_matcher hashes the whole pattern per lookup).
        matcher = ops.fast_pattern_matcher(t.pattern) if t.pattern is not None else None
        max_len = t.max_len

        def text_value(raw: Any) -> Any:
            if type(raw) is not str or (max_len is not None and len(raw) > max_len) or _SURROGATE.search(raw):
                return _NO
            return raw if matcher is None or matcher(raw) else _NO

        return text_value
    if isinstance(t, EnumT):
        spellings = _spellings(t)
        return lambda raw: spellings.get(raw, _NO) if type(raw) is str else _NO

    def any_value(raw: Any) -> Any:
        try:
            return convert(raw, t, name)
        except _Invalid:
            return _NO

    return any_value


class ThetaChecker:
    """:func:`validate_theta` for one family with everything it needs prepared once.

    ``checker(raw)`` gives validate_theta's answer.  Valid plain arguments (what a Python caller
    passes) take the prepared path: a converter per parameter, constant defaults converted once,
    ``where`` clauses compiled; anything else, and every error, goes through validate_theta itself,
    so its messages are the specified ones.
    """

    def __init__(self, family: CheckedFamily, evaluator: Evaluator, module: CheckedModule):
        self.family = family
        self.evaluator = evaluator
        self.names = frozenset(p.name for p in family.params)
        self.params: list[tuple[str, Callable[[Any], Any], Any]] = []
        self.fast = True
        for p in family.params:
            default: Any = _NO
            if p.default is not None:
                outcome = evaluator.eval_closed(p.default, params={}) if isinstance(p.default, ir.Const) else None
                try:
                    default = convert(outcome.value, p.type, p.name) if isinstance(outcome, Ok) else None
                except _Invalid:
                    default = None
                if default is None:
                    self.fast = False  # a default that depends on θ, or fails: validate_theta evaluates it
            self.params.append((p.name, _fast_converter(p.type, p.name), default))
        self.wheres = [compile_check(module, family.name, p.where, evaluator) for p in family.params if p.where]
        self.module = module

    def entry(self) -> Callable[[Mapping[str, Any]], Any]:
        """The whole Python call generated as one function (compile.compile_entry): kwargs → JSON, or SLOW."""
        if not self.fast:
            return lambda raw: SLOW
        entries = [_entry(p.type, name, default) for p, (name, _, default) in zip(self.family.params, self.params)]
        try:
            return compile_entry(self.module, self.family.name, entries, _NO, self.evaluator)
        except (RecursionError, SyntaxError, MemoryError):  # too deep for Python's compiler: the general path
            return lambda raw: SLOW

    def __call__(self, raw: Mapping[str, object]) -> tuple[dict[str, Value] | None, list[str]]:
        theta = self.quick(raw)
        if theta is not None:
            return theta, []
        return validate_theta(self.family, self.evaluator, raw)

    def quick(self, raw: Mapping[str, object]) -> dict[str, Value] | None:
        """θ for valid plain arguments, or None (then validate_theta decides, and says why)."""
        if not self.fast:
            return None
        names = self.names
        for key in raw:
            if key not in names:
                return None
        theta: dict[str, Value] = {}
        for name, conv, default in self.params:
            if name in raw:
                value = conv(raw[name])
                if value is _NO:
                    return None
            elif default is _NO:
                return None
            else:
                value = default
            theta[name] = value
        for where in self.wheres:
            if not where(theta):
                return None
        return theta


def parse_param_value(text: str, t: Type) -> tuple[Value | None, str | None]:
    """Read the text of ``--param name=value`` as a runtime value of type ``t``.

    Returns ``(value, None)`` or ``(None, problem)``.  Accepted forms: ``3`` for
    Int, ``84.60`` for Decimal, ``true``/``false``, text as is, an enum by name,
    display text or alias, ``none``/``null`` for an absent Option (otherwise the
    inner form), and JSON for lists, maps and records.  Refinements (ranges,
    lengths, patterns, bounds) are left to :func:`validate_theta` (use it with
    ``values=True``), which names the parameter in its messages.
    """
    try:
        return _parse_text(text, t), None
    except _Invalid as bad:
        return None, bad.message


def _parse_text(text: str, t: Type) -> Value:
    if isinstance(t, IntT):
        s = text.strip()
        if not _INT_TEXT.fullmatch(s):
            raise _Invalid(f"{text!r} is not an integer ({t})")
        if len(s.lstrip("+-")) > _MAX_INT_DIGITS:
            raise _Invalid(f"an integer of more than {_MAX_INT_DIGITS} digits is not accepted")
        return int(s)
    if isinstance(t, DecimalT):
        s = text.strip()
        if not _DEC_TEXT.fullmatch(s):
            raise _Invalid(f"{text!r} is not a decimal number ({t})")
        return Decimal(s)
    if isinstance(t, BoolT):
        s = text.strip()
        if s in ("true", "false"):
            return s == "true"
        raise _Invalid(f"{text!r} is not true or false")
    if isinstance(t, (TextT, EnumT)):
        return convert(text, t, "", refine=False)
    if isinstance(t, OptionT):
        if text.strip() in ("none", "null"):
            return NONE
        return SomeV(_parse_text(text, t.inner))
    try:
        data = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError) as err:
        raise _Invalid(f"{text!r} is not valid JSON for {t}: {err}") from None
    return convert(data, t, "", refine=False)


__all__ = ["ThetaChecker", "convert", "describe_type", "enum_value", "parse_param_value", "validate_theta"]


def _hint(name: str, candidates: list[str]) -> str:
    """`` (did you mean 'x'?)`` from the one did-you-mean of ddl.diagnostics, or nothing."""
    found = did_you_mean(name, candidates)
    return f" ({found})" if found else ""
