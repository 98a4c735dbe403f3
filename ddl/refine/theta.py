"""The θ learner: a conjunction of per-parameter constraints that holds on A and fails on R.

Constraints (JSON-able tuples):

* ``("range", lo, hi)`` for an ``Int`` parameter: the interval around A's values, each boundary
  midway to the nearest rejected value beyond it (``hi = (max A + min R above) // 2``, so with A up to
  10 and a rejected 11 the bound is exactly 10); an end with no rejected value beyond it is the
  type's own bound (``None`` when the type has none);
* ``("range", "lo", "hi")`` for a ``Decimal(s)`` parameter, the same with decimal strings (JSON
  form), midpoints rounded inward to the scale;
* ``("exclude", [variants])`` for an enum (or ``Bool``) parameter: the values seen only in R.

The result is the most general such conjunction: constraints that exclude no rejected item are
dropped, then constraints whose rejections are all covered by the others (fewest first).  The
predicate is *consistent* when every rejected θ violates some constraint; A's θs satisfy every
constraint by construction.

L, the learned language, is the family's grammar with each constrained capture's language
intersected with the allowed numerals / enum texts.  When a parameter's default violates its
constraint, utterances that omit that parameter are taken out as well (exact for unambiguous
grammars).  L only matters inside G, so G+ = L and G− = G − L.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import attrs

from ddl.grammar.compile import CaptureSpec, CompiledGrammar, default_value
from ddl.grammar.numerals import decimal_range, int_range
from ddl.regular import EMPTY, Capture, Lang, Regex, alt, lit
from ddl.regular import ignore_case as fold_case
from ddl.regular.ast import transform
from ddl.types.checked import CheckedFamily
from ddl.types.model import BoolT, DecimalT, EnumT, IntT
from ddl.values import to_json

Constraint = tuple[Any, ...]


@attrs.frozen
class ThetaPredicate:
    """Per-parameter constraints, e.g. ``{"count": ("range", 1, 10), "genre": ("exclude", ["romance"])}``."""

    constraints: dict[str, Constraint]

    def holds(self, theta: dict[str, Any]) -> bool:
        return all(_holds(c, theta.get(name)) for name, c in self.constraints.items())

    def violated(self, theta: dict[str, Any]) -> list[str]:
        return [name for name, c in self.constraints.items() if not _holds(c, theta.get(name))]

    def describe(self) -> str:
        if not self.constraints:
            return "true (no constraint)"
        parts = []
        for name, c in self.constraints.items():
            if c[0] == "range":
                lo, hi = c[1], c[2]
                if lo is not None and hi is not None:
                    parts.append(f"{name} in {lo}..{hi}")
                elif hi is not None:
                    parts.append(f"{name} <= {hi}")
                else:
                    parts.append(f"{name} >= {lo}")
            else:
                values = ", ".join(_show(v) for v in c[1])
                parts.append(f"{name} not in {{{values}}}" if len(c[1]) > 1 else f"{name} != {values}")
        return " and ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {name: list(c) for name, c in self.constraints.items()}


def _show(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(value) if isinstance(value, (int, str, Decimal)) else None
    except ArithmeticError:
        return None


def _dec_json(value: Decimal | None, unit: Decimal) -> str | None:
    return None if value is None else format(value.quantize(unit), "f")


def _holds(c: Constraint, value: Any) -> bool:
    if c[0] == "range":
        if isinstance(value, int) and not isinstance(value, bool):
            v: Any = value
        else:  # a Decimal parameter: bounds and values are decimal strings in JSON
            v = _decimal(value)
            if v is None:
                return True
        lo = _decimal(c[1]) if isinstance(c[1], str) else c[1]
        hi = _decimal(c[2]) if isinstance(c[2], str) else c[2]
        return (lo is None or v >= lo) and (hi is None or v <= hi)
    return value not in c[1]


@attrs.frozen
class ThetaResult:
    predicate: ThetaPredicate | None
    consistent: bool
    message: str
    unexplained: str | None = None  # a rejected utterance no constraint excludes


def learn_theta(accepted: list[Any], rejected: list[Any], family: CheckedFamily) -> ThetaResult:
    """Learn the predicate from Examples (``.theta`` JSON dicts, ``.utterance``)."""
    candidates: dict[str, Constraint] = {}
    for p in family.params:
        a_vals = [ex.theta.get(p.name) for ex in accepted]
        r_vals = [ex.theta.get(p.name) for ex in rejected]
        if isinstance(p.type, IntT):
            a_ints = [v for v in a_vals if isinstance(v, int) and not isinstance(v, bool)]
            r_ints = [v for v in r_vals if isinstance(v, int) and not isinstance(v, bool)]
            if not a_ints:
                continue
            a_lo, a_hi = min(a_ints), max(a_ints)
            below = [v for v in r_ints if v < a_lo]
            above = [v for v in r_ints if v > a_hi]
            if below or above:
                lo = -((-(max(below) + a_lo)) // 2) if below else p.type.lo  # ceil of the midpoint
                hi = (a_hi + min(above)) // 2 if above else p.type.hi
                candidates[p.name] = ("range", lo, hi)
        elif isinstance(p.type, DecimalT):
            unit = Decimal(1).scaleb(-p.type.scale)
            a_dec = [d for d in map(_decimal, a_vals) if d is not None]
            r_dec = [d for d in map(_decimal, r_vals) if d is not None]
            if not a_dec:
                continue
            d_lo, d_hi = min(a_dec), max(a_dec)
            below_d = [v for v in r_dec if v < d_lo]
            above_d = [v for v in r_dec if v > d_hi]
            if below_d or above_d:
                lo_d = ((max(below_d) + d_lo) / 2).quantize(unit, ROUND_CEILING) if below_d else p.type.lo
                hi_d = ((d_hi + min(above_d)) / 2).quantize(unit, ROUND_FLOOR) if above_d else p.type.hi
                candidates[p.name] = ("range", _dec_json(lo_d, unit), _dec_json(hi_d, unit))
        elif isinstance(p.type, (EnumT, BoolT)):
            only_r = sorted({v for v in r_vals if v is not None} - set(a_vals), key=_show)
            if only_r:
                candidates[p.name] = ("exclude", only_r)
    # Which rejected items each constraint excludes.
    excludes = {name: {i for i, ex in enumerate(rejected) if not _holds(c, ex.theta.get(name))}
                for name, c in candidates.items()}
    chosen = {name for name, ex in excludes.items() if ex}
    # Drop redundant constraints, the ones excluding fewest first (most general conjunction).
    for name in sorted(chosen, key=lambda n: (len(excludes[n]), n)):
        others = set().union(*(excludes[n] for n in chosen if n != name)) if len(chosen) > 1 else set()
        if excludes[name] <= others:
            chosen.discard(name)
    predicate = ThetaPredicate({p.name: candidates[p.name] for p in family.params if p.name in chosen})
    covered: set[int] = set().union(*(excludes[n] for n in chosen)) if chosen else set()
    missing = [ex for i, ex in enumerate(rejected) if i not in covered]
    if missing:
        ex = missing[0]
        return ThetaResult(predicate, False,
                           f"no constraint on θ separates A from R: the rejected {ex.utterance!r} has θ "
                           f"{ex.theta} like accepted utterances ({len(missing)} rejected item(s) unexplained)",
                           ex.utterance)
    return ThetaResult(predicate, True, f"θ split: {predicate.describe()}")


TOLERANCE = 0.10  # the share of feedback a tolerant split may set aside as suspect (at least one item)


@attrs.frozen
class TolerantResult:
    predicate: ThetaPredicate | None
    suspects_accepted: list[Any]  # accepted items the predicate excludes
    suspects_rejected: list[Any]  # rejected items the predicate keeps
    message: str


def learn_theta_tolerant(accepted: list[Any], rejected: list[Any], family: CheckedFamily) -> TolerantResult:
    """A θ split that may contradict a few items (mislabelled feedback), which it reports as suspects.

    Per parameter, the best constraint by misclassification count (an Int interval by a
    maximum-sum run over the sorted values, weighted +1 per accepted and −1 per rejected item;
    an enum's variants rejected more often than accepted); then constraints are added greedily
    while they lower the count.  Accepted only if at most ``TOLERANCE`` of the items (at least
    one) are misclassified and the predicate excludes most rejected items — noise is set aside,
    a different kind of split (about wording) is not forced onto θ.
    """
    candidates: dict[str, Constraint] = {}
    for p in family.params:
        a_vals = [ex.theta.get(p.name) for ex in accepted]
        r_vals = [ex.theta.get(p.name) for ex in rejected]
        if isinstance(p.type, IntT):
            weight: dict[int, int] = {}
            for v in a_vals:
                if isinstance(v, int) and not isinstance(v, bool):
                    weight[v] = weight.get(v, 0) + 1
            for v in r_vals:
                if isinstance(v, int) and not isinstance(v, bool):
                    weight[v] = weight.get(v, 0) - 1
            values = sorted(weight)
            if not values:
                continue
            best, best_span, run, start = 0, None, 0, 0
            for i, v in enumerate(values):
                if run <= 0:
                    run, start = 0, i
                run += weight[v]
                if run > best:
                    best, best_span = run, (start, i)
            if best_span is None:
                continue
            s_i, e_i = best_span
            lo = -((-(values[s_i - 1] + values[s_i])) // 2) if s_i > 0 else p.type.lo
            hi = (values[e_i] + values[e_i + 1]) // 2 if e_i + 1 < len(values) else p.type.hi
            candidates[p.name] = ("range", lo, hi)
        elif isinstance(p.type, (EnumT, BoolT)):
            counts: dict[Any, int] = {}
            for v in a_vals:
                counts[v] = counts.get(v, 0) + 1
            for v in r_vals:
                counts[v] = counts.get(v, 0) - 1
            excluded = sorted((v for v, c in counts.items() if c < 0 and v is not None), key=_show)
            if excluded:
                candidates[p.name] = ("exclude", excluded)

    def errors(constraints: dict[str, Constraint]) -> tuple[list[Any], list[Any]]:
        pred = ThetaPredicate(constraints)
        return ([ex for ex in accepted if not pred.holds(ex.theta)], [ex for ex in rejected if pred.holds(ex.theta)])

    chosen: dict[str, Constraint] = {}
    bad_a, bad_r = errors(chosen)
    while True:
        options = [(len(sum(errors({**chosen, n: c}), [])), n) for n, c in candidates.items() if n not in chosen]
        if not options:
            break
        count, name = min(options)
        if count >= len(bad_a) + len(bad_r):
            break
        chosen[name] = candidates[name]
        bad_a, bad_r = errors(chosen)
    total = len(accepted) + len(rejected)
    allowed = max(1, int(TOLERANCE * total))
    n_bad = len(bad_a) + len(bad_r)
    if not chosen or n_bad > allowed or len(bad_r) * 2 >= len(rejected):
        return TolerantResult(None, [], [], f"no θ split within {allowed} misclassified item(s) of {total}")
    predicate = ThetaPredicate({p.name: chosen[p.name] for p in family.params if p.name in chosen})
    return TolerantResult(predicate, bad_a, bad_r,
                          f"θ split tolerating {n_bad} suspect item(s) of {total}: {predicate.describe()}")


# ---------------------------------------------------------------- the language of a predicate


def allowed_regex(grammar: CompiledGrammar, name: str, c: Constraint) -> Regex:
    """The capture texts of ``name`` that satisfy constraint ``c`` (case-folded like the grammar)."""
    t = grammar.params[name].type
    if c[0] == "range" and isinstance(t, IntT):
        lo = c[1] if c[1] is not None else t.lo
        hi = c[2] if c[2] is not None else t.hi
        return int_range(lo, hi)
    if c[0] == "range" and isinstance(t, DecimalT):
        lo_d = Decimal(c[1]) if c[1] is not None else t.lo
        hi_d = Decimal(c[2]) if c[2] is not None else t.hi
        return decimal_range(t.scale, lo_d, hi_d)
    if isinstance(t, EnumT):
        texts: list[str] = []
        for variant, display, aliases in zip(t.variants, t.displays, t.aliases or ((),) * len(t.variants)):
            if variant not in c[1]:
                texts.extend((display, *aliases))
        rx = alt(*(lit(s) for s in texts)) if texts else EMPTY
        return fold_case(rx) if grammar.ignore_case else rx
    if isinstance(t, BoolT):
        words = {True: ("true", "yes"), False: ("false", "no")}
        rx = alt(*(lit(w) for v, ws in words.items() if v not in c[1] for w in ws))
        return fold_case(rx) if grammar.ignore_case else rx
    return grammar.captures[name].regex


class CannotRestrict(Exception):
    """A capture's form cannot say which of its texts denote the allowed values."""


def _allowed_texts(grammar: CompiledGrammar, spec: CaptureSpec, c: Constraint) -> Lang:
    """The texts of one capture whose value satisfies ``c``: the canonical numerals or enum texts,
    and through each value form (number words, thousands separators, leading zeros) its own texts
    of the allowed values."""
    allowed = Lang.from_regex(allowed_regex(grammar, spec.param, c))
    if not isinstance(grammar.params[spec.param].type, (IntT, DecimalT)):
        return allowed
    out = Lang.empty()
    for form in spec.forms:
        texts = form.preimage(allowed)
        if texts is None:
            raise CannotRestrict(f"the {form.name} form of {spec.param} cannot be restricted to {c}")
        out = out | texts
    return out


def predicate_lang(grammar: CompiledGrammar, predicate: ThetaPredicate, family: CheckedFamily) -> Lang:
    """L = the utterances of G whose θ satisfies the predicate: every capture of a constrained
    parameter (in any form) keeps only the texts of allowed values, and a constant setting
    (``{n = 0}``) of a disallowed value is taken out."""

    cons = predicate.constraints
    restricted: dict[str, Regex] = {}  # a capture name occurs in many places (rules, any_order orders)

    def restrict(node: Regex) -> Regex:
        if not isinstance(node, Capture):
            return node
        spec = grammar.captures.get(node.name)
        if spec is None or spec.param not in cons:
            return node
        c = cons[spec.param]
        if spec.const is not None:
            return node if _holds(c, to_json(spec.const)) else EMPTY
        got = restricted.get(node.name)
        if got is None:
            texts = Lang.from_regex(node.inner) & _allowed_texts(grammar, spec, c)
            got = restricted[node.name] = Capture(node.name, texts.ref())
        return got

    lang = Lang.from_regex(transform(grammar.regex, restrict))
    # A parameter left out of an utterance takes its default: when the default is not allowed,
    # the utterances that do not capture it are not in L.
    for p in family.params:
        c = cons.get(p.name)
        if c is None:
            continue
        default = default_value(grammar.evaluator, p)
        if default is None:
            continue
        if not _holds(c, to_json(default)):

            def drop(node: Regex, param: str = p.name) -> Regex:
                spec = grammar.captures.get(node.name) if isinstance(node, Capture) else None
                return EMPTY if spec is not None and spec.param == param else node

            without = transform(grammar.regex, drop)
            lang = lang.difference(Lang.from_regex(without))
    return lang
