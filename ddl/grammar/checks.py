"""The grammar obligations of `ddl check` (spec/checks.md).

* ``grammar-nonempty`` — G accepts some utterance (witness: the shortest).
* ``grammar-covers(x)`` — every value of x's domain can be extracted by some
  utterance.  A parameter the grammar never captures is refuted with a value it
  cannot express; a capture in a reachable position accepts its whole
  (utterable) domain by construction (captures never occur under ``&``/``~``).
* ``grammar-sound`` — every accepted utterance yields θ ∈ Θ.  Capture languages
  are derived from the domains, so ranges, lengths and patterns hold by
  construction; a ``where`` that could not be folded into the capture language
  is searched for a counterexample and otherwise reported ``unknown``.
* ``unambiguous`` — no utterance yields two different θ (shortest witness).
* ``examples(θ)`` — each example utterance is accepted and yields its θ.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ddl.diagnostics import Note, Span
from ddl.eval.values import EnumV, Value, show_value
from ddl.grammar.compile import CompiledGrammar, GrammarError, convert_regex, default_value, param_refs, where_holds
from ddl.regular import Lang, Regex, cap, chars, lit, rep, seq
from ddl.regular.charset import CharSet
from ddl.regular.errors import RegularError
from ddl.types.checked import CheckedFamily, CheckedParam
from ddl.types.model import BoolT, EnumT, IntT
from ddl.verify.obligations import Obligation, timed

SENTINEL = "\ufdd0"  # a noncharacter: never in an utterance, marks a capture's position
SOUND_SAMPLES = 300


def _theta_text(theta: dict[str, Value]) -> str:
    return ", ".join(f"{k} = {show_value(v)}" for k, v in theta.items())


class GrammarChecker:
    def __init__(self, family: CheckedFamily, evaluator: Any) -> None:
        self.family = family
        self.evaluator = evaluator
        assert family.grammar is not None
        self.span = family.grammar.span
        self.grammar: CompiledGrammar | None = None
        self.obligations: list[Obligation] = []

    def run(self) -> list[Obligation]:
        with timed() as t:
            try:
                self.grammar = CompiledGrammar(self.family, self.evaluator)
                # Build both automata now, so that a too-large grammar is reported here.
                _ = self.grammar.lang
                plain = self.grammar.plain_lang
            except GrammarError as err:
                self.obligations.append(Obligation("grammar-nonempty", "", "unknown", err.message, err.span,
                                                   t.seconds, err.code))
                return self.obligations
            except RegularError as err:
                self.obligations.append(Obligation("grammar-nonempty", "", "unknown",
                                                   f"the grammar's automaton is too large: {err}", self.span,
                                                   t.seconds, "DDL506"))
                return self.obligations
        witness = plain.witness()  # readable; case folding never changes emptiness
        if witness is None:
            self.obligations.append(Obligation("grammar-nonempty", "", "refuted", "the grammar accepts no utterance",
                                               self.span, t.seconds, "DDL500",
                                               hint="an & or ~ may exclude everything, or a capture's domain is empty"))
            return self.obligations
        self.obligations.append(Obligation("grammar-nonempty", "", "proved", f"accepts {witness!r}", self.span, t.seconds))
        for p in self.family.params:
            self.obligations.append(self.covers(p))
        self.obligations.append(self.sound())
        self.obligations.append(self.unambiguous())
        self.obligations.extend(self.examples())
        return self.obligations

    # -- helpers
    def _regex_with(self, param: str, replacement: Callable[[Regex], Regex]) -> Regex:
        """The grammar with each capture of ``param`` transformed (other captures kept)."""
        g = self.grammar
        assert g is not None

        def resolve(name: str, span: Span) -> Regex:
            if name in g.rules:
                return convert_regex(g.rules[name].body, resolve)
            spec = g.captures[name]
            inner = spec.regex
            return replacement(inner) if name == param else cap(name, inner)

        # As written (no case folding): the same emptiness, and readable witnesses.
        return convert_regex(g.decl.body, resolve)

    def _some_other_value(self, p: CheckedParam, default: Value | None) -> Value | None:
        t = p.type
        if isinstance(t, EnumT):
            for v, d in zip(t.variants, t.displays):
                value = EnumV(f"{t.origin}::{t.name}", v, d)
                if value != default:
                    return value
        if isinstance(t, IntT):
            for n in (t.lo, t.hi, 0, 1):
                if n is not None and n != default and self._in_domain(p, n):
                    return n
        if isinstance(t, BoolT):
            return not default
        return None

    def _in_domain(self, p: CheckedParam, v: Value) -> bool:
        if p.where is None or param_refs(p.where) != {p.name}:
            return True  # no refinement, or it depends on other parameters: v is in the domain for some θ
        return where_holds(self.evaluator, p, v)

    # -- grammar-covers(x)
    def covers(self, p: CheckedParam) -> Obligation:
        g = self.grammar
        assert g is not None
        with timed() as t:
            verdict, evidence, code, hint = self._covers(p)
        return Obligation("grammar-covers", p.name, verdict, evidence, p.span if verdict != "proved" else self.span,
                          t.seconds, code, (Note("the grammar", self.span),) if verdict != "proved" else (), hint)

    def _covers(self, p: CheckedParam) -> tuple[Any, str, str | None, str | None]:
        g = self.grammar
        assert g is not None
        if p.name not in g.captures:
            default = default_value(self.evaluator, p)
            other = self._some_other_value(p, default)
            if other is None:
                return "proved", f"{p.name} has a single value", None, None
            return ("refuted",
                    f"the grammar never captures {p.name}, so every utterance yields {p.name} = "
                    f"{show_value(default) if default is not None else '?'}; {p.name} = {show_value(other)} "
                    f"cannot be expressed", "DDL501",
                    f"capture it in the grammar, e.g. ... {p.name} ...")
        spec = g.captures[p.name]
        # Is a capture of p reachable? Mark it with a sentinel and look for the sentinel.
        marked = Lang.from_regex(self._regex_with(p.name, lambda inner: chars(CharSet.from_ranges([(SENTINEL, SENTINEL)]))))
        anywhere = rep(chars(CharSet.from_ranges([("\u0000", "\U0010ffff")])), 0, None)
        with_mark = marked.intersect(Lang.from_regex(seq(anywhere, lit(SENTINEL), anywhere)))
        example = with_mark.witness()
        if example is None:
            return "refuted", f"no utterance reaches the capture of {p.name}", "DDL501", None
        # Captures never occur under & or ~ (the checker rejects it), and a capture's language is
        # its parameter's whole utterable domain: a reachable capture expresses every value.
        sample = self._capture_sample(p)
        shown = example.replace(SENTINEL, sample if sample is not None else f"<{p.name}>")
        domain_note = "" if spec.exact else f" (by its type; {spec.note})"
        return "proved", f"{p.name}'s capture accepts its whole domain{domain_note}, e.g. {shown!r}", None, None

    def _capture_sample(self, p: CheckedParam) -> str | None:
        g = self.grammar
        assert g is not None
        default = default_value(self.evaluator, p)
        value = default if default is not None else self._some_other_value(p, None)
        if value is None:
            try:
                return Lang.from_regex(g.captures[p.name].regex).witness()
            except RegularError:
                return None
        from ddl.grammar.compile import _value_text

        try:
            return _value_text(value)
        except Exception:
            return None

    # -- grammar-sound
    def sound(self) -> Obligation:
        g = self.grammar
        assert g is not None
        with timed() as t:
            loose = [s for s in g.captures.values() if not s.exact]
            if not loose:
                verdict, evidence, code = "proved", "every capture's language is derived from its parameter's domain", None
            else:
                verdict, evidence, code = self._search_unsound(loose)
        return Obligation("grammar-sound", "", verdict, evidence, self.span, t.seconds, code)  # type: ignore[arg-type]

    def _search_unsound(self, loose: list[Any]) -> tuple[str, str, str | None]:
        from ddl.eval import validate_theta

        g = self.grammar
        assert g is not None
        rng = random.Random(0)
        lang = g.plain_lang
        lengths = [n for n in lang.lengths(200) if lang.count(n) > 0]
        for i in range(SOUND_SAMPLES if lengths else 0):
            n = lengths[i % len(lengths)]
            utterance = lang.sample(rng, n)
            result = g.match(utterance)
            if not result.ok:
                continue
            theta, problems = validate_theta(self.family, self.evaluator, result.values or {}, values=True)
            if theta is None:
                return ("refuted", f"the utterance {utterance!r} is accepted but yields a θ outside Θ: "
                        f"{'; '.join(problems)}", "DDL502")
        names = ", ".join(s.param for s in loose)
        reasons = "; ".join(f"{s.param}: {s.note}" for s in loose)
        return ("unknown", f"no counterexample in {SOUND_SAMPLES} sampled utterances, but the where-refinement of "
                f"{names} is not folded into the grammar ({reasons})", "DDL508")

    # -- unambiguous
    def unambiguous(self) -> Obligation:
        from ddl.regular import find_ambiguity

        g = self.grammar
        assert g is not None
        with timed() as t:
            try:
                found = find_ambiguity(g.regex)
            except RegularError as err:
                return Obligation("unambiguous", "", "unknown", f"the product automaton is too large: {err}",
                                  self.span, 0.0, "DDL508")
            if found is None:
                verdict, evidence, code = "proved", "no utterance has two parses with different captures", None
            else:
                utterance, a, b = found
                ta = self._values(a)
                tb = self._values(b)
                if ta == tb:
                    verdict, evidence, code = "proved", "parses differ only in spelling of the same θ", None
                else:
                    verdict, code = "refuted", "DDL503"
                    evidence = (f"{utterance!r} parses two ways: {_theta_text(ta) or '(nothing captured)'} "
                                f"or {_theta_text(tb) or '(nothing captured)'}")
        return Obligation("unambiguous", "", verdict, evidence, self.span, t.seconds, code)  # type: ignore[arg-type]

    def _values(self, captured: dict[str, str | None]) -> dict[str, Value]:
        g = self.grammar
        assert g is not None
        out: dict[str, Value] = {}
        for name, text in captured.items():
            if text is not None:
                try:
                    out[name] = g.convert(name, text)
                except Exception:
                    out[name] = text
        return out

    # -- examples(θ)
    def examples(self) -> list[Obligation]:
        from ddl.eval import Ok, validate_theta

        g = self.grammar
        assert g is not None
        out: list[Obligation] = []
        for ex in self.family.examples:
            if ex.utterance is None:
                continue
            with timed() as t:
                result = g.match(ex.utterance)
                if not result.ok:
                    out.append(Obligation("examples", f"utterance[{ex.index}]", "refuted",
                                          f"the grammar does not accept {ex.utterance!r}: {result.error}",
                                          ex.span, t.seconds, "DDL504"))
                    continue
                got, problems = validate_theta(self.family, self.evaluator, result.values or {}, values=True)
                stated: dict[str, Value] = {}
                for name, node in ex.bindings:
                    v = self.evaluator.eval_closed(node)
                    if isinstance(v, Ok):
                        stated[name] = v.value
                want, _ = validate_theta(self.family, self.evaluator, stated, values=True)
                if got is None:
                    out.append(Obligation("examples", f"utterance[{ex.index}]", "refuted",
                                          f"{ex.utterance!r} yields a θ outside Θ: {'; '.join(problems)}",
                                          ex.span, t.seconds, "DDL505"))
                elif want is not None and got != want:
                    diff = [k for k in want if got.get(k) != want.get(k)]
                    out.append(Obligation(
                        "examples", f"utterance[{ex.index}]", "refuted",
                        f"{ex.utterance!r} yields " + ", ".join(f"{k} = {show_value(got[k])}" for k in diff)
                        + " but the example states " + ", ".join(f"{k} = {show_value(want[k])}" for k in diff),
                        ex.span, t.seconds, "DDL505"))
                else:
                    out.append(Obligation("examples", f"utterance[{ex.index}]", "proved",
                                          f"{ex.utterance!r} yields the stated θ", ex.span, t.seconds))
        return out


def check_grammar(family: CheckedFamily, evaluator: Any) -> list[Obligation]:
    if family.grammar is None:
        return []
    return GrammarChecker(family, evaluator).run()
