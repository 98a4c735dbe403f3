"""Parameter spaces Θ for the verifier: exhaustive enumeration when small, samples otherwise.

A parameter's domain is *finite* when its type is Bool, an enum, a bounded Int
range, a bounded Decimal range (counted in steps of its scale) or an Option of
those.  When the product of the finite domains (filtered by each parameter's
``where``) has at most :data:`EXHAUSTIVE_LIMIT` elements, Θ is enumerated
completely and every obligation is decided by evaluation.  Otherwise Θ is
*sampled*: the examples' θ, the teaching θ, the defaults, boundary values
(lo, lo+1, 0, ±1, hi-1, hi) of every range and seeded random values, each
varied one parameter at a time.  Samples can refute and witness, never prove
a universal claim.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pyrsistent import pvector

from ddl.eval.result import Ok
from ddl.eval.theta import enum_value
from ddl.regular import DEFAULT_LIMITS, Lang, Limits, RegularError
from ddl.types import ir
from ddl.types.checked import CheckedFamily
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, ListT, OptionT, TextT, Type
from ddl.types.regex import convert_regex
from ddl.values import NONE, SomeV, Value
from ddl.verify.intervals import Interval, numeral_range
from ddl.verify.walk import nodes

EXHAUSTIVE_LIMIT = 20_000
DOMAIN_LIMIT = 20_000
SAMPLE_LIMIT = 600
TEXT_SAMPLES = 16  # random texts drawn from a pattern (besides its longest text and extreme numerals)
TEXT_SAMPLES_MAX = 64
WORD_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789     "

Theta = dict[str, Value]


def theta_key(theta: Theta) -> tuple[tuple[str, Any], ...]:
    return tuple(theta.items())


def finite_domain(t: Type, limit: int = DOMAIN_LIMIT) -> list[Value] | None:
    """Every value of ``t`` when there are at most ``limit``; otherwise None."""
    if isinstance(t, BoolT):
        return [False, True]
    if isinstance(t, EnumT):
        return [enum_value(t, v) for v in t.variants]
    if isinstance(t, IntT):
        if t.lo is None or t.hi is None or t.hi - t.lo + 1 > limit:
            return None
        return list(range(t.lo, t.hi + 1))
    if isinstance(t, DecimalT):
        if t.lo is None or t.hi is None:
            return None
        step = Decimal(1).scaleb(-t.scale)
        n = int((t.hi - t.lo) / step) + 1
        if n > limit:
            return None
        return [(t.lo + i * step).quantize(step) for i in range(n)]
    if isinstance(t, OptionT):
        inner = finite_domain(t.inner, limit - 1)
        if inner is None:
            return None
        return [NONE, *(SomeV(v) for v in inner)]
    return None


def params_of(node: ir.Node) -> set[str]:
    return {n.name for n in nodes(node) if isinstance(n, ir.Param)}


class Space:
    """Θ of one family: exhaustive when small, otherwise a set of samples."""

    def __init__(self, family: CheckedFamily, evaluator: Any, examples: list[Theta], teach: Theta | None,
                 limits: Limits = DEFAULT_LIMITS):
        self.family = family
        self.limits = limits  # for the automata of Text patterns whose values are sampled
        # Parameters whose values could not be sampled because a pattern's automaton reached the limit.
        self.unsampled: dict[str, RegularError] = {}
        self.evaluator = evaluator
        self.examples = examples
        self.teach = teach
        self.domains: dict[str, list[Value] | None] = {}
        # The `where` clauses a domain was filtered by (they read their own parameter only): every θ of the
        # enumeration passes them, so only the others are evaluated per θ.
        filtered: set[str] = set()
        for p in family.params:
            dom = finite_domain(p.type)
            if dom is not None and p.where is not None and params_of(p.where) <= {p.name}:
                dom = [v for v in dom if self._where_ok(p.where, {p.name: v})]
                filtered.add(p.name)
            self.domains[p.name] = dom
        self._cross_wheres = [p.where for p in family.params if p.where is not None and p.name not in filtered]
        # Random texts per Text parameter: more when few parameters share the samples (a family with a
        # single Text parameter gets TEXT_SAMPLES_MAX), never fewer than TEXT_SAMPLES.
        infinite = sum(1 for d in self.domains.values() if d is None)
        self.text_count = max(TEXT_SAMPLES, TEXT_SAMPLES_MAX // max(1, infinite))
        size = 1
        for dom in self.domains.values():
            size = size * len(dom) if dom is not None and size <= EXHAUSTIVE_LIMIT else EXHAUSTIVE_LIMIT + 1
        self.size = size if all(d is not None for d in self.domains.values()) else None
        self.exhaustive = self.size is not None and self.size <= EXHAUSTIVE_LIMIT

    def _where_ok(self, where: ir.Node, theta: Theta) -> bool:
        out = self.evaluator.eval_closed(where, params=theta)
        return isinstance(out, Ok) and out.value is True

    def valid(self, theta: Theta) -> bool:
        for p in self.family.params:
            if p.where is not None and not self._where_ok(p.where, theta):
                return False
        return True

    def describe(self) -> str:
        if self.exhaustive:
            return f"all {self.size} θ in Θ"
        return "sampled θ"

    def thetas(self) -> Iterator[Theta]:
        """Every θ in Θ (exhaustive) or the samples, without repeats."""
        if self.exhaustive:
            names = [p.name for p in self.family.params]
            doms = [self.domains[n] or [] for n in names]
            cross = self._cross_wheres
            if not cross:
                for combo in itertools.product(*doms):
                    yield dict(zip(names, combo))
                return
            for combo in itertools.product(*doms):
                theta = dict(zip(names, combo))
                if all(self._where_ok(where, theta) for where in cross):
                    yield theta
            return
        yield from self.samples()

    def candidates(self, name: str, rng: random.Random) -> list[Value]:
        """Values of one parameter to try: its whole small domain, or boundaries, known and random values."""
        p = self.family.param(name)
        assert p is not None
        dom = self.domains[name]
        if dom is not None and len(dom) <= 64:
            return list(dom)
        out: list[Value] = []
        for theta in [*self.examples, *([self.teach] if self.teach else [])]:
            if name in theta:
                out.append(theta[name])
        t = p.type
        if dom is not None:
            out.extend([dom[0], dom[-1], dom[len(dom) // 2]])
            if len(dom) > 2:
                out.extend([dom[1], dom[-2]])
            out.extend(rng.sample(dom, min(6, len(dom))))
        else:
            try:
                out.extend(type_samples(t, rng, self.limits, self.text_count))
            except RegularError as err:  # only the examples' and teaching values are left to try
                self.unsampled[name] = err
        seen: list[Value] = []
        for v in out:
            if v not in seen:
                seen.append(v)
        return seen

    def samples(self) -> Iterator[Theta]:
        """The sampled θ (also when Θ is small enough to enumerate but too costly: spec/checks.md)."""
        rng = random.Random(20240611)
        seen: set[Any] = set()
        bases = list(self.examples)
        if self.teach is not None:
            bases.append(self.teach)
        cands = {p.name: self.candidates(p.name, rng) for p in self.family.params}
        count = 0

        def fresh(theta: Theta) -> bool:
            key = theta_key(theta)
            if key in seen or not self.valid(theta):
                return False
            seen.add(key)
            return True

        # Extremes: every text at its longest candidate and every number at its largest (then smallest).
        extremes = []
        for pick in (max, min):
            for base in bases[:1]:
                theta = dict(base)
                for p in self.family.params:
                    c = cands[p.name]
                    if c and isinstance(p.type, TextT):
                        theta[p.name] = pick(c, key=len)  # type: ignore[type-var, arg-type]
                    elif c and isinstance(p.type, (IntT, DecimalT)):
                        theta[p.name] = pick(c)  # type: ignore[type-var, arg-type]
                extremes.append(theta)
        for base in bases + extremes:
            if fresh(dict(base)):
                count += 1
                yield dict(base)
        for base in bases:
            for p in self.family.params:
                for v in cands[p.name]:
                    theta = {**base, p.name: v}
                    if fresh(theta):
                        count += 1
                        yield theta
        names = [p.name for p in self.family.params]
        for _ in range(SAMPLE_LIMIT * 3):
            if count >= SAMPLE_LIMIT:
                break
            theta = {n: rng.choice(cands[n]) for n in names if cands[n]}
            if len(theta) == len(names) and fresh(theta):
                count += 1
                yield theta


def type_samples(t: Type, rng: random.Random, limits: Limits = DEFAULT_LIMITS,
                 texts: int = TEXT_SAMPLES) -> list[Value]:
    """A few values of a type whose domain is too large to enumerate: boundaries and random picks.

    Raises :class:`~ddl.regular.RegularError` when a Text pattern's automaton reaches ``limits``."""
    out: list[Value] = []
    if isinstance(t, IntT):
        lo = t.lo if t.lo is not None else -1000
        hi = t.hi if t.hi is not None else 1000
        out.extend(v for v in (lo, lo + 1, 0, 1, -1, hi - 1, hi) if lo <= v <= hi)
        out.extend(rng.randint(lo, hi) for _ in range(6))
    elif isinstance(t, DecimalT):
        step = Decimal(1).scaleb(-t.scale)
        dlo: Decimal = t.lo if t.lo is not None else Decimal(-1000)
        dhi: Decimal = t.hi if t.hi is not None else Decimal(1000)
        units = int((dhi - dlo) / step)
        picks = [dlo, dlo + step, Decimal(0), Decimal(1), Decimal(-1), dhi - step, dhi]
        picks += [dlo + step * rng.randint(0, units) for _ in range(6)]
        out.extend(d.quantize(step) for d in picks if dlo <= d <= dhi)
    elif isinstance(t, TextT):
        out.extend(text_samples(t, rng, limits, texts))
    elif isinstance(t, OptionT):
        inner = finite_domain(t.inner, 64)
        out.append(NONE)
        out.extend(SomeV(v) for v in (inner if inner is not None else type_samples(t.inner, rng, limits)))
    elif isinstance(t, ListT):
        # Lists of sampled elements: empty, one, two, and as long as allowed.
        elems = finite_domain(t.elem, 64)
        pool = list(elems) if elems is not None else type_samples(t.elem, rng, limits)
        if pool:
            longest = t.max_len if t.max_len is not None else 4
            out.append(pvector())
            out.append(pvector([pool[0]]))
            if longest >= 2:
                out.append(pvector(pool[:2]))
                out.append(pvector(rng.choice(pool) for _ in range(min(longest, 3))))
            out.append(pvector(pool[i % len(pool)] for i in range(longest)))
    return out


def text_samples(t: TextT, rng: random.Random, limits: Limits = DEFAULT_LIMITS, count: int = TEXT_SAMPLES) -> list[str]:
    """A few texts of type ``t``: samples of its pattern's language (when it has one) within its length.

    Drawing them needs the pattern's DFA: a :class:`~ddl.regular.RegularError` at ``limits`` is raised."""
    if t.pattern is None:
        base = ["", "a", "x y", "Hello", "42", "-7", "a-b", "Hello, World!", "x" * (t.max_len or 64)]
        widest = min(t.max_len or 24, 24)
        for _ in range(count // 4):  # random words of letters and digits, up to the longest allowed
            n = rng.randint(1, widest)
            base.append("".join(rng.choice(WORD_CHARS) for _ in range(n)).strip() or "w")
        return [s for s in base if t.max_len is None or len(s) <= t.max_len]
    regex = convert_regex(t.pattern)
    # The families of a registry share patterns: the samples drawn from the same pattern, length and rng
    # state are the same texts, leaving the rng in the same state, so they are drawn once.
    numerals = numeral_range(t.pattern)  # a numeral pattern: its greatest and least numerals are samples too
    key = (regex, numerals, t.max_len, limits, count, rng.getstate())
    known = _PATTERN_SAMPLES.get(key)
    if known is not None:
        rng.setstate(known[1])
        return list(known[0])
    out = _pattern_samples(t, regex, numerals, rng, limits, count)
    if len(_PATTERN_SAMPLES) >= 256:
        _PATTERN_SAMPLES.clear()
    _PATTERN_SAMPLES[key] = (tuple(out), rng.getstate())
    return out


_PATTERN_SAMPLES: dict[tuple[Any, ...], tuple[tuple[str, ...], Any]] = {}


def _pattern_samples(t: TextT, regex: Any, numerals: Interval | None, rng: random.Random,
                     limits: Limits, count: int) -> list[str]:
    lang = Lang.from_regex(regex, limits=limits)
    try:
        lengths = lang.lengths(min(t.max_len or 16, 16))
        out = []
        for _ in range(count):
            if lengths:
                s = lang.sample(rng, rng.choice(lengths))
                if all(ord(c) < 0x250 for c in s):
                    out.append(s)
        if numerals is not None:
            for bound in numerals:
                if bound is not None and lang.contains(str(bound)):
                    out.append(str(bound))
        longest = lang.lengths(min(t.max_len or 64, 256))
        if longest:
            for _ in range(3):  # the longest texts, drawn from plain characters when possible
                s = lang.sample(rng, longest[-1])
                if all(ord(c) < 0x250 for c in s):
                    out.append(s)
                    break
        return out
    except Exception:  # noqa: BLE001 - sampling is best effort
        return []
