"""Hypothesis strategies for Θ and for utterances (see the package docstring)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from pyrsistent import pmap, pvector

from ddl.eval import validate_theta
from ddl.grammar.compile import CompiledGrammar, param_refs, where_holds
from ddl.regular import Lang, any_char, inter, rep
from ddl.regular.strategies import members
from ddl.regular.strategies import near_misses as lang_near_misses
from ddl.types.checked import CheckedFamily, CheckedParam
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, ListT, MapT, OptionT, RecordT, TextT, Type
from ddl.types.regex import convert_regex
from ddl.values import NONE, EnumV, RecordV, SomeV, Value, to_json

# Unbounded Int parameters are drawn from this range (shrinking still goes to 0).
OPEN_INT_LIMIT = 10**12
DEFAULT_TEXT_MAX = 40
FOLD_LIMIT = 10_000  # a single-parameter where on at most this many values is applied before drawing


def _resolve(family: Any) -> tuple[CheckedFamily, Any]:
    """A ddl.api.Family, or a (CheckedFamily, evaluator) pair."""
    if isinstance(family, tuple):
        return family[0], family[1]
    checked = getattr(family, "checked", None)
    program = getattr(family, "program", None)
    if isinstance(checked, CheckedFamily) and program is not None:
        return checked, program.evaluator
    raise TypeError("expected a family from ddl.load(...).family(name)")


def value_strategy(t: Type) -> st.SearchStrategy[Value]:
    """Runtime values of a type (refinements respected, patterns drawn from the automaton)."""
    if isinstance(t, BoolT):
        return st.booleans()
    if isinstance(t, IntT):
        lo = -OPEN_INT_LIMIT if t.lo is None else t.lo
        hi = OPEN_INT_LIMIT if t.hi is None else t.hi
        return st.integers(lo, hi)
    if isinstance(t, DecimalT):
        unit = 10**t.scale
        lo = -OPEN_INT_LIMIT * unit if t.lo is None else int(t.lo * unit)
        hi = OPEN_INT_LIMIT * unit if t.hi is None else int(t.hi * unit)
        unit_exp = Decimal(1).scaleb(-t.scale)

        def to_decimal(n: int) -> Value:
            return Decimal(n).scaleb(-t.scale).quantize(unit_exp)

        return st.integers(lo, hi).map(to_decimal)
    if isinstance(t, EnumT):
        tag = f"{t.origin}::{t.name}"
        return st.sampled_from([EnumV(tag, v, d) for v, d in zip(t.variants, t.displays)])
    if isinstance(t, TextT):
        return _text_strategy(t)
    if isinstance(t, ListT):
        return st.lists(value_strategy(t.elem), max_size=t.max_len if t.max_len is not None else 5).map(pvector)
    if isinstance(t, MapT):
        return st.dictionaries(value_strategy(t.key), value_strategy(t.value),
                               max_size=t.max_len if t.max_len is not None else 5).map(pmap)
    if isinstance(t, OptionT):
        return st.one_of(st.just(NONE), value_strategy(t.inner).map(SomeV))
    if isinstance(t, RecordT):
        names = tuple(n for n, _ in t.fields)
        record = t.name

        def build(vs: tuple[Value, ...]) -> Value:
            return RecordV(record, tuple(zip(names, vs)))

        return st.tuples(*(value_strategy(ft) for _, ft in t.fields)).map(build)
    raise TypeError(f"no strategy for {t}")


def _text_strategy(t: TextT) -> st.SearchStrategy[Value]:
    if t.pattern is None:
        return st.text(max_size=t.max_len if t.max_len is not None else DEFAULT_TEXT_MAX)

    regex = convert_regex(t.pattern)
    if t.max_len is not None:
        regex = inter(regex, rep(any_char(), 0, t.max_len))
    lang = Lang.from_regex(regex)
    return members(lang, max_len=t.max_len if t.max_len is not None else DEFAULT_TEXT_MAX)


def _param_strategy(p: CheckedParam, family: CheckedFamily, evaluator: Any) -> st.SearchStrategy[Value]:
    t = p.type
    if p.where is not None and param_refs(p.where) == {p.name} and isinstance(t, IntT) and t.bounded:
        assert t.lo is not None and t.hi is not None
        if t.hi - t.lo < FOLD_LIMIT:
            allowed = [v for v in range(t.lo, t.hi + 1) if where_holds(evaluator, p, v)]
            if not allowed:
                return st.nothing()
            # Drawn by index so that shrinking moves toward the smallest allowed value.
            return st.integers(0, len(allowed) - 1).map(allowed.__getitem__)
    base = value_strategy(t)
    if p.where is None:
        return base
    if param_refs(p.where) == {p.name}:
        return base.filter(lambda v: where_holds(evaluator, p, v))
    return base  # cross-parameter where: checked on the whole θ


def param_values(family: Any) -> st.SearchStrategy[dict[str, Value]]:
    """θ as runtime values (what the evaluator takes), validated against Θ."""
    checked, evaluator = _resolve(family)
    names = [p.name for p in checked.params]
    parts = [_param_strategy(p, checked, evaluator) for p in checked.params]

    def complete(values: tuple[Value, ...]) -> dict[str, Value] | None:
        theta, _ = validate_theta(checked, evaluator, dict(zip(names, values)), values=True)
        return theta

    return st.tuples(*parts).map(complete).filter(lambda th: th is not None)  # type: ignore[return-value]


def params(family: Any) -> st.SearchStrategy[dict[str, Any]]:
    """θ as keyword arguments for ``family(**theta)``: plain, JSON-like values (enums by name)."""
    def plain(theta: dict[str, Value]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, v in theta.items():
            out[name] = v if isinstance(v, Decimal) else to_json(v)
        return out

    return param_values(family).map(plain)


def _grammar(family: Any) -> Any:
    checked, evaluator = _resolve(family)
    if checked.grammar is None:
        raise ValueError(f"family {checked.name} has no grammar")
    return CompiledGrammar(checked, evaluator)


# Utterance strategies built per family: compiling a grammar's DFA and counting its members by
# length takes seconds for a real grammar, and a test that draws with ``data.draw(utterances(f))``
# calls the function once per example.  Keyed by the checked family's identity (kept alive by the
# entry, so the id cannot be reused), bounded.
_UTTERANCE_STRATEGIES: dict[tuple[int, str, int], tuple[CheckedFamily, st.SearchStrategy[str]]] = {}
_UTTERANCE_STRATEGIES_MAX = 64


def _cached_strategy(family: Any, kind: str, max_len: int, build: Any) -> st.SearchStrategy[str]:
    checked, _ = _resolve(family)
    key = (id(checked), kind, max_len)
    hit = _UTTERANCE_STRATEGIES.get(key)
    if hit is not None and hit[0] is checked:
        return hit[1]
    strategy: st.SearchStrategy[str] = build(_grammar(family))
    if len(_UTTERANCE_STRATEGIES) >= _UTTERANCE_STRATEGIES_MAX:
        _UTTERANCE_STRATEGIES.pop(next(iter(_UTTERANCE_STRATEGIES)))
    _UTTERANCE_STRATEGIES[key] = (checked, strategy)
    return strategy


def utterances(family: Any, *, max_len: int = 80) -> st.SearchStrategy[str]:
    """Utterances of the family's grammar, as written (no case variants), shrinking toward the shortest."""
    return _cached_strategy(family, "members", max_len, lambda grammar: members(grammar.plain_lang, max_len=max_len))


def near_misses(family: Any, *, max_len: int = 80) -> st.SearchStrategy[str]:
    """Strings one edit away from an utterance that the grammar rejects (after normalization)."""
    def build(grammar: Any) -> st.SearchStrategy[str]:
        # Drawn against the matching language (case folded) so that a near-miss is really rejected.
        return lang_near_misses(grammar.lang, max_len=max_len).filter(
            lambda u: not grammar.matcher.matches(grammar.normalize(u)))

    return _cached_strategy(family, "near", max_len, build)
