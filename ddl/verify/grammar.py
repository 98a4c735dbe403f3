"""The grammar obligations of `ddl check` (spec/checks.md, spec/grammar.md "Deciding the obligations").

Every obligation is decided on automata that stay small however large the grammar's DFA
would be:

* ``grammar-nonempty``, ``grammar-covers(x)``, ``grammar-covers(together)`` and most of
  ``grammar-sound`` are reachability questions on the tagged NFA × a small filter DFA
  (normalization, ``except``), answered by one breadth-first search that records which
  parameters each accepted path writes (:class:`ddl.regular.paths.PathSearch`);
* ``grammar-covers(x)`` under ``except`` compares x's domain with the texts x can still take
  in accepted utterances (the capture-projected automaton);
* ``grammar-sound`` also checks each value form: its image (what it converts to) lies within
  the parameter's domain, its forms are disjoint, a List's items split one way only;
* ``unambiguous`` runs the two-parse product on the *capture automaton*, determinized over
  characters and tags (:func:`ddl.regular.tagged.find_ambiguity`).

An obligation that meets a resource limit is ``unknown`` (DDL506) with what grew, how far,
which rule or capture drove it, and how to raise the limit; every other obligation is still
reported.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import Any

from ddl.diagnostics import Note, Span
from ddl.eval import Ok, validate_theta
from ddl.grammar.compile import (
    CaptureSpec,
    CompiledGrammar,
    GrammarError,
    default_value,
    list_items_regex,
    param_refs,
    where_holds,
)
from ddl.regular import Key, Lang, Limits, Undecided, alt, find_ambiguity, lit
from ddl.regular import ignore_case as fold
from ddl.regular.errors import AutomatonTooLarge, RegularError
from ddl.regular.paths import PathSearch, Profile, tagged_program
from ddl.types.checked import CheckedFamily, CheckedParam
from ddl.types.model import BoolT, EnumT, IntT, OptionT
from ddl.types.model import OptionT as _OptionT
from ddl.values import NONE, EnumV, SomeV, Value, show_value
from ddl.verify.limits import check_limits
from ddl.verify.obligations import Obligation, timed

SOUND_SAMPLES = 300
CHECK_LIMITS = check_limits()
LIMIT_HINT = ("raise the limit with `ddl check --max-states N` (or `max_states = N` under [check] in ddl.toml), "
              "or simplify the part of the grammar named")


def _theta_text(theta: dict[str, Value]) -> str:
    return ", ".join(f"{k} = {show_value(v)}" for k, v in theta.items())


class _Unknown(Exception):
    """An obligation could not be decided (carries the reason and code)."""

    def __init__(self, reason: str, code: str = "DDL508", hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.hint = hint


def _limit_reason(err: RegularError) -> _Unknown:
    if isinstance(err, AutomatonTooLarge):
        return _Unknown(err.summary, "DDL506", LIMIT_HINT)
    return _Unknown(f"the grammar is too large for the engine: {err}", "DDL506", LIMIT_HINT)


class GrammarChecker:
    def __init__(self, family: CheckedFamily, evaluator: Any, *, limits: Limits = CHECK_LIMITS) -> None:
        self.family = family
        self.evaluator = evaluator
        self.limits = limits
        assert family.grammar is not None
        self.span = family.grammar.span
        self.grammar: CompiledGrammar | None = None
        self.obligations: list[Obligation] = []
        self.params = list(family.params)
        self.index = {p.name: i for i, p in enumerate(self.params)}
        self._profile: Profile | None = None
        self._profile_error: RegularError | None = None

    # ------------------------------------------------------------------ the run

    def run(self) -> list[Obligation]:
        with timed() as t:
            try:
                self.grammar = CompiledGrammar(self.family, self.evaluator, limits=self.limits)
                g = self.grammar
                prog = tagged_program(g.plain_regex, limits=self.limits)
                self.search = PathSearch(prog, g.filter, limits=self.limits)
                self.param_of = {name: self.index[spec.param] for name, spec in g.captures.items()}
            except GrammarError as err:
                return self._all_unknown(_Unknown(err.message, err.code), err.span, t.seconds)
            except RegularError as err:
                return self._all_unknown(_limit_reason(err), self.span, t.seconds)
        self.obligations.append(self._decide("grammar-nonempty", "", self._nonempty))
        for p in self.params:
            self.obligations.append(self._decide("grammar-covers", p.name, partial(self._covers, p),
                                                 span_if_failed=p.span))
        self.obligations.append(self._decide("grammar-covers", "together", self._together))
        self.obligations.append(self._decide("grammar-sound", "", self._sound))
        self.obligations.append(self._decide("unambiguous", "", self._unambiguous))
        self.obligations.extend(self.examples())
        return self.obligations

    def _nonempty(self) -> tuple[str, str, str | None, str | None]:
        witness = self.profile.some()
        if witness is None:
            return ("refuted", "the grammar accepts no utterance", "DDL500",
                    "an & or ~ or the except clause may exclude everything, or a capture's domain is empty")
        return "proved", f"accepts {witness!r}", None, None

    def _all_unknown(self, why: _Unknown, span: Span, seconds: float) -> list[Obligation]:
        """The grammar cannot be built: every grammar obligation is unknown with that reason (none missing)."""
        subjects = [("grammar-nonempty", ""), *(("grammar-covers", p.name) for p in self.params),
                    ("grammar-covers", "together"), ("grammar-sound", ""), ("unambiguous", "")]
        out = [Obligation(kind, subject, "unknown", why.reason, span, seconds if i == 0 else 0.0, why.code,
                          hint=why.hint) for i, (kind, subject) in enumerate(subjects)]
        for ex in self.family.examples:
            if ex.utterance is not None:
                out.append(Obligation("examples", f"utterance[{ex.index}]", "unknown", why.reason, ex.span, 0.0,
                                      why.code, hint=why.hint))
        self.obligations = out
        return out

    def _decide(self, kind: str, subject: str, decide: Callable[[], tuple[str, str, str | None, str | None]],
                span_if_failed: Span | None = None) -> Obligation:
        with timed() as t:
            try:
                verdict, evidence, code, hint = decide()
            except _Unknown as unknown:
                verdict, evidence, code, hint = "unknown", unknown.reason, unknown.code, unknown.hint
            except Undecided as err:
                verdict, evidence, code, hint = "unknown", str(err), "DDL508", None
            except RegularError as err:
                limit = _limit_reason(err)
                verdict, evidence, code, hint = "unknown", limit.reason, limit.code, limit.hint
        failed = verdict != "proved"
        span = span_if_failed if failed and span_if_failed is not None else self.span
        notes = (Note("the grammar", self.span),) if failed and span is not self.span else ()
        return Obligation(kind, subject, verdict, evidence, span, t.seconds, code, notes, hint)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ helpers

    @property
    def profile(self) -> Profile:
        """What the accepted utterances write (one search, shared by the obligations that need it)."""
        if self._profile is None:
            if self._profile_error is not None:
                raise self._profile_error
            try:
                self._profile = self.search.profile(self.param_of)
            except RegularError as err:
                self._profile_error = err
                raise
        return self._profile

    def _some_other_value(self, p: CheckedParam, default: Value | None) -> Value | None:
        t = p.type
        if isinstance(t, OptionT):
            return NONE if default != NONE else None
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

    def _specs(self, param: str) -> list[CaptureSpec]:
        g = self.grammar
        assert g is not None
        return [s for s in g.captures.values() if s.param == param]

    # ------------------------------------------------------------------ grammar-covers(x)

    def _covers(self, p: CheckedParam) -> tuple[str, str, str | None, str | None]:
        specs = self._specs(p.name)
        if not specs:
            default = default_value(self.evaluator, p)
            other = self._some_other_value(p, default)
            if other is None:
                return "proved", f"{p.name} has a single value", None, None
            return ("refuted",
                    f"the grammar never captures {p.name}, so every utterance yields {p.name} = "
                    f"{show_value(default) if default is not None else '?'}; {p.name} = {show_value(other)} "
                    f"cannot be expressed", "DDL501", f"capture it in the grammar, e.g. ... {p.name} ...")
        example = self.profile.with_param(self.index[p.name])
        if example is None:
            return "refuted", f"no utterance reaches the capture of {p.name}", "DDL501", None
        values = [s for s in specs if not s.is_const]
        if not values:
            consts = sorted({show_value(s.const) for s in specs if s.const is not None})
            default = default_value(self.evaluator, p)
            settable = set(consts) | ({show_value(default)} if default is not None else set())
            other = self._uncovered_constant_value(p, settable)
            if other is not None:
                return ("refuted", f"{p.name} is only ever set to {', '.join(consts)}; {p.name} = {other} cannot "
                        "be expressed", "DDL501", None)
            return "proved", f"every value of {p.name} is set by a constant, e.g. {example!r}", None, None
        g = self.grammar
        assert g is not None
        if g.excluded is not None or any(s.restricted for s in values):
            verdict = self._covers_under_except(p, values)
            if verdict is not None:
                return verdict
        notes = [s.note for s in values if not s.exact and s.note]
        domain_note = f" (by its type; {notes[0]})" if notes else ""
        return "proved", f"{p.name}'s capture accepts its whole domain{domain_note}, e.g. {example!r}", None, None

    def _uncovered_constant_value(self, p: CheckedParam, settable: set[str]) -> str | None:
        t = p.type
        if isinstance(t, EnumT):
            for v, d in zip(t.variants, t.displays):
                value = EnumV(f"{t.origin}::{t.name}", v, d)
                if show_value(value) not in settable and self._in_domain(p, value):
                    return show_value(value)
            return None
        if isinstance(t, BoolT):
            for b in (True, False):
                if show_value(b) not in settable:
                    return show_value(b)
            return None
        other = self._some_other_value(p, None)
        for candidate in ([other] if other is not None else []):
            if show_value(candidate) not in settable:
                return show_value(candidate)
        return None

    def _covers_under_except(self, p: CheckedParam, specs: list[CaptureSpec]) -> tuple[str, str, str | None,
                                                                                     str | None] | None:
        """With an ``except`` clause: can x still take every value in accepted utterances?"""
        g = self.grammar
        assert g is not None
        reachable = {s.name: self.search.projection(s.name) for s in specs}
        keyed = [s for s in specs if s.lookup is not None and s.list_max is None]
        if keyed and len(keyed) == len(specs):
            # In the order the values are declared (a set would make the reported value vary by run).
            for value in dict.fromkeys(v for s in keyed for v in s.lookup.values()):  # type: ignore[union-attr]
                texts = [t for s in keyed for t, v in s.lookup.items() if v == value]  # type: ignore[union-attr]
                spelled = _literals(g, texts)
                if not any(not reachable[s.name].intersect(spelled).is_empty() for s in keyed):
                    why = ("removed by the except clause" if g.excluded is not None
                           else "outside every restriction of its captures")
                    return ("refuted", f"{p.name} = {show_value(value)} cannot be expressed: every utterance "
                            f"saying it is {why}", "DDL501", None)
            return None
        domain_regex = g.domain(specs[0])
        if domain_regex is None:
            return None
        left = Lang.from_regex(domain_regex, limits=self.limits)
        for s in specs:
            left = left.difference(reachable[s.name])
        missing = left.witness()
        if missing is None:
            return None
        value = g.convert(specs[0].name, missing)
        spellings = [f.spell(value) for s in specs for f in s.forms]
        if any(t is not None and reachable[s.name].contains(t) for s in specs for t in spellings):
            raise _Unknown(f"some values of {p.name} (e.g. {missing!r}) can be written only in some of its forms "
                           "after the except clause; cannot decide that every value stays expressible")
        why = "removed by the except clause" if g.excluded is not None else "outside every restriction of its captures"
        return ("refuted", f"{p.name} = {show_value(value)} cannot be expressed: every utterance saying it is {why}",
                "DDL501", None)

    # ------------------------------------------------------------------ grammar-covers(together)

    def _together(self) -> tuple[str, str, str | None, str | None]:
        captured = sorted({self.index[s.param] for s in self.grammar.captures.values()})  # type: ignore[union-attr]
        if not captured:
            return "proved", "the grammar captures no parameter", None, None
        full = sum(1 << i for i in captured)
        written = self.profile.written
        if not written:
            return "refuted", "the grammar accepts no utterance", "DDL501", None
        for mask, witness in sorted(written.items(), key=lambda kv: (len(kv[1]), kv[1])):
            if mask & full == full:
                names = ", ".join(self.params[i].name for i in captured)
                return ("proved", f"one utterance can set every parameter ({names}), e.g. {witness!r}", None, None)
        # Name the smallest set of parameters that never occur together.
        for a in captured:
            for b in captured:
                if a < b and not any(m >> a & 1 and m >> b & 1 for m in written):
                    pa, pb = self.params[a].name, self.params[b].name
                    wa = self.profile.with_param(a)
                    wb = self.profile.with_param(b)
                    return ("refuted", f"{pa} and {pb} are each expressible ({wa!r} sets {pa}, {wb!r} sets {pb}) "
                            f"but never together: no utterance sets both, so θ with both different from their "
                            "defaults cannot be expressed", "DDL501",
                            "let one utterance carry both, e.g. make the parts optional or use any_order(...)")
        best = max(written, key=lambda m: bin(m & full).count("1"))
        missing = ", ".join(self.params[i].name for i in captured if not best >> i & 1)
        return ("refuted", f"no utterance sets every parameter at once (at most {bin(best & full).count('1')} of "
                f"{len(captured)}; {missing} missing from {written[best]!r})", "DDL501", None)

    # ------------------------------------------------------------------ grammar-sound

    def _sound(self) -> tuple[str, str, str | None, str | None]:
        g = self.grammar
        assert g is not None
        profile = self.profile
        for i, witness in sorted(profile.twice.items(), key=lambda kv: len(kv[1])):
            name = self.params[i].name
            return ("refuted", f"the utterance {witness!r} sets {name} twice; a parameter is set by at most one "
                    "capture per utterance", "DDL502", "make the captures of one parameter alternatives, not a "
                    "sequence or a repetition")
        for p in self.params:
            if p.default is not None:
                continue
            without = profile.without_param(self.index[p.name])
            if without is not None:
                return ("refuted", f"the utterance {without!r} is accepted but leaves {p.name} unset, and it has no "
                        "default", "DDL502", f"capture {p.name} on every path, or give it a default (= ...)")
        proved = ["every capture's language is derived from its parameter's domain"]
        for spec in g.captures.values():
            refuted = self._form_sound(spec)
            if refuted is not None:
                return "refuted", refuted, "DDL502", None
            if spec.list_max is not None:
                refuted = self._list_sound(spec)
                if refuted is not None:
                    return "refuted", refuted, "DDL502", "list items may not contain a separator (\", \", \" and \")"
        forms = sorted({f.name for s in g.captures.values() for f in s.forms if f.name not in ("digits", "text")})
        if forms:
            proved.append(f"the forms {', '.join(forms)} convert only into the domain")
        for spec in g.captures.values():
            if spec.is_const:
                bad = self._const_outside(spec)
                if bad is not None:
                    return "refuted", bad, "DDL502", None
        loose = [s for s in g.captures.values() if not s.exact]
        if loose:
            return self._search_unsound(loose)
        return "proved", "; ".join(proved), None, None

    def _form_sound(self, spec: CaptureSpec) -> str | None:
        """A form's image must lie within the domain, and the forms of one capture must be disjoint."""
        g = self.grammar
        assert g is not None
        if len(spec.forms) < 2 and all(f.name in ("digits", "text") for f in spec.forms):
            return None
        domain_regex = g.domain(spec)
        if domain_regex is None:
            return None
        domain = Lang.from_regex(domain_regex, limits=self.limits)
        for f in spec.forms:
            image = Lang.from_regex(f.image, limits=self.limits)
            inside, outside = image.subset_of(domain)
            if not inside:
                return (f"the {f.name} form of {spec.param} can produce {outside!r}, which is not a value of "
                        f"{spec.param}'s domain")
        for i, a in enumerate(spec.forms):
            for b in spec.forms[i + 1:]:
                disjoint, both = a.lang.disjoint(b.lang)
                if not disjoint:
                    return f"{both!r} is both a {a.name} and a {b.name} text of {spec.param}"
        return None

    def _list_sound(self, spec: CaptureSpec) -> str | None:
        assert spec.item is not None and spec.list_max is not None
        g = self.grammar
        assert g is not None
        regex = list_items_regex(spec.item, spec.list_max)

        found = find_ambiguity(fold(regex) if g.ignore_case else regex, limits=self.limits)
        if found is None:
            return None
        u, a, b = found
        items_a = [v for k, v in sorted(a.items(), key=lambda kv: int(kv[0][4:])) if v is not None]
        items_b = [v for k, v in sorted(b.items(), key=lambda kv: int(kv[0][4:])) if v is not None]
        return f"the list {u!r} of {spec.param} splits two ways: {items_a} or {items_b}"

    def _const_outside(self, spec: CaptureSpec) -> str | None:
        p = self.family.param(spec.param)
        assert p is not None and spec.const is not None
        if p.where is None or param_refs(p.where) != {p.name}:
            return None
        if not where_holds(self.evaluator, p, spec.const):
            _, problems = validate_theta(self.family, self.evaluator, {p.name: spec.const}, values=True)
            return f"the grammar sets {p.name} = {show_value(spec.const)}, outside its domain: {'; '.join(problems)}"
        return None

    def _search_unsound(self, loose: list[CaptureSpec]) -> tuple[str, str, str | None, str | None]:
        g = self.grammar
        assert g is not None
        rng = random.Random(0)
        try:
            lang = g.plain_lang
        except RegularError as err:
            raise _limit_reason(err) from err
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
                        f"{'; '.join(problems)}", "DDL502", None)
        names = ", ".join(sorted({s.param for s in loose}))
        reasons = "; ".join(sorted({f"{s.param}: {s.note}" for s in loose if s.note}))
        raise _Unknown(f"no counterexample in {SOUND_SAMPLES} sampled utterances, but the where-refinement of "
                       f"{names} is not folded into the grammar ({reasons})")

    # ------------------------------------------------------------------ unambiguous

    def _unambiguous(self) -> tuple[str, str, str | None, str | None]:
        g = self.grammar
        assert g is not None
        view, keyed = g.ambiguity_view()
        found = find_ambiguity(view, keyed=keyed, flt=g.filter, same=self._same, limits=self.limits)
        if found is None:
            return "proved", "no utterance has two parses that yield different θ", None, None
        utterance, a, b = found
        ta, tb = self._theta(a), self._theta(b)
        return ("refuted", f"{utterance!r} parses two ways: {_theta_text(ta) or '(nothing captured)'} "
                f"or {_theta_text(tb) or '(nothing captured)'}", "DDL503", None)

    def _theta(self, captured: dict[str, Any]) -> dict[str, Value]:
        """The captured part of θ for one parse of the ambiguity view (a parameter or a constant
        setting's capture → text, Key or None)."""
        g = self.grammar
        assert g is not None
        out: dict[str, Value] = {}
        for name, got in captured.items():
            if got is None:
                continue
            spec = g.captures.get(name)
            if spec is not None and spec.is_const:
                out[spec.param] = g.convert(name, got)
                continue
            param = name
            try:
                if isinstance(got, Key):
                    specs = [s for s in g.captures.values() if s.param == param and not s.is_const]
                    out[param] = _keyed_value(specs[0], got.value)
                else:
                    out[param] = g.convert_param(param, got)
            except Exception:  # noqa: BLE001 - a text that cannot convert still differs
                out[param] = got if not isinstance(got, Key) else str(got.value)
        return out

    def _same(self, a: dict[str, Any], b: dict[str, Any]) -> bool:
        ta, tb = self._theta(a), self._theta(b)
        for p in self.params:
            if p.name not in ta or p.name not in tb:
                default = default_value(self.evaluator, p)
                ta.setdefault(p.name, default)  # type: ignore[arg-type]
                tb.setdefault(p.name, default)  # type: ignore[arg-type]
        return ta == tb

    # ------------------------------------------------------------------ examples(θ)

    def examples(self) -> list[Obligation]:
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
                        ex.span, t.seconds, "DDL505",
                        (Note(f"the grammar's θ: {_shown(got)}"), Note(f"the stated θ:   {_shown(want)}"))))
                else:
                    out.append(Obligation("examples", f"utterance[{ex.index}]", "proved",
                                          f"{ex.utterance!r} yields the stated θ", ex.span, t.seconds))
        return out


def _shown(theta: dict[str, Value]) -> str:
    """θ as ``{ n = 3, city = "paris" }`` (defaults filled), as counterexamples are written."""
    return "{ " + ", ".join(f"{k} = {show_value(v)}" for k, v in theta.items()) + " }"


def _keyed_value(spec: CaptureSpec, key: Any) -> Value:
    """An enum or Bool capture's value from its value mark (the variant's name, or the Bool)."""
    if spec.lookup is None:  # a small Int capture, marked by its value
        return SomeV(key) if isinstance(spec.type, _OptionT) else key  # type: ignore[no-any-return]
    for value in spec.lookup.values():
        if (isinstance(value, EnumV) and value.name == key) or value == key:
            return SomeV(value) if isinstance(spec.type, _OptionT) else value
    raise KeyError(key)


def _literals(g: CompiledGrammar, texts: list[str]) -> Lang:
    """These texts (every case variant of them under ignore_case)."""
    regex = alt(*(lit(t) for t in texts))
    return Lang.from_regex(fold(regex) if g.ignore_case else regex, limits=g.limits)


def check_grammar(family: CheckedFamily, evaluator: Any, *, limits: Limits = CHECK_LIMITS) -> list[Obligation]:
    if family.grammar is None:
        return []
    return GrammarChecker(family, evaluator, limits=limits).run()
