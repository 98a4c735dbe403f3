"""learn_split: a language L accepting A and rejecting R, and G+ = G ∩ L, G− = G − L with checks.

Methods: ``"theta"`` (:mod:`ddl.refine.theta`), ``"rpni"`` (:mod:`ddl.refine.rpni`), ``"llm"``
(:mod:`ddl.refine.oracle`) and ``"auto"``: θ when it is consistent, else RPNI.  Every split is
checked: G+ and G− non-empty (with a witness each), G+ accepts every accepted utterance and G−
every rejected one (the first failing utterance otherwise).  Bad data never raises: empty A or R,
inconsistent data or a failing oracle give a Split with ``ok`` False and messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from ddl.grammar.compile import CompiledGrammar
from ddl.refine.feedback import FeedbackSet
from ddl.refine.oracle import ask_oracle
from ddl.refine.rpni import ddl_source, learn_rpni
from ddl.refine.theta import CannotRestrict, ThetaPredicate, learn_theta, learn_theta_tolerant, predicate_lang
from ddl.regular import Lang, Regex
from ddl.regular import ignore_case as fold_case
from ddl.types.checked import CheckedFamily

METHODS = ("auto", "theta", "rpni", "llm")


@attrs.frozen
class Check:
    name: str
    ok: bool
    witness: str | None = None  # a member (non-emptiness) or the failing utterance
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Split:
    method: str  # "theta" | "rpni" | "llm" (what was tried last when nothing worked)
    L: Lang
    g_plus: Lang
    g_minus: Lang
    predicate: ThetaPredicate | None
    checks: list[Check]
    ok: bool
    feedback_ids: list[int]
    messages: list[str]
    regex: Regex | None = None  # L as a regex as written (not case-folded), for rpni / llm
    source: str | None = None  # L in DDL grammar-body syntax (rpni: printed; llm: the model's text)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method, "ok": self.ok,
            "predicate": self.predicate.to_json() if self.predicate is not None else None,
            "predicate_text": self.predicate.describe() if self.predicate is not None else None,
            "source": self.source, "checks": [c.to_json() for c in self.checks],
            "feedback_ids": list(self.feedback_ids), "messages": list(self.messages),
        }


def grammar_source(grammar: CompiledGrammar) -> str:
    """The grammar block as written in its file (for prompts), or a note when it cannot be read."""
    span = grammar.decl.span
    try:
        text = Path(span.path).read_text(encoding="utf-8")
        return text[span.start:span.end]
    except (OSError, ValueError):
        return "(grammar source unavailable)"


def _failed(method: str, grammar: CompiledGrammar, fs: FeedbackSet, messages: list[str]) -> Split:
    empty = Lang.empty()
    return Split(method, empty, empty, grammar.lang, None, [], False, fs.ids, messages)


def check_split(g_plus: Lang, g_minus: Lang, fs: FeedbackSet) -> list[Check]:
    checks = []
    w = g_plus.witness()
    checks.append(Check("G+ non-empty", w is not None, w, "" if w is not None else "G+ = G ∩ L is empty"))
    w = g_minus.witness()
    checks.append(Check("G- non-empty", w is not None, w, "" if w is not None else "G- = G − L is empty"))
    bad = next((ex.utterance for ex in fs.accepted if not g_plus.contains(ex.utterance)), None)
    checks.append(Check("G+ accepts every accepted utterance", bad is None, bad,
                        f"G+ does not accept the accepted {bad!r}" if bad is not None else
                        f"all {len(fs.accepted)} accepted"))
    bad = next((ex.utterance for ex in fs.rejected if not g_minus.contains(ex.utterance)), None)
    checks.append(Check("G- accepts every rejected utterance", bad is None, bad,
                        f"G- does not accept the rejected {bad!r}" if bad is not None else
                        f"all {len(fs.rejected)} rejected"))
    return checks


def _finish(method: str, lang: Lang, grammar: CompiledGrammar, fs: FeedbackSet, predicate: ThetaPredicate | None,
            messages: list[str], regex: Regex | None = None, source: str | None = None) -> Split:
    g = grammar.lang
    g_plus = g.intersect(lang)
    g_minus = g.difference(lang)
    checks = check_split(g_plus, g_minus, fs)
    ok = all(c.ok for c in checks)
    msgs = list(messages)
    msgs.extend(c.message for c in checks if not c.ok)
    return Split(method, lang, g_plus, g_minus, predicate, checks, ok, fs.ids, msgs, regex, source)


def learn_split(fs: FeedbackSet, family: CheckedFamily, evaluator: Any, grammar: CompiledGrammar, *,
                method: str = "auto", model_id: str | None = None, timeout: float = 120.0) -> Split:
    """Learn L from A and R by ``method`` and split G by it (never raises for bad data)."""
    messages: list[str] = []
    if fs.inconsistent:
        messages.append(f"{len(fs.inconsistent)} utterance(s) both accepted and rejected were left out: "
                        + ", ".join(repr(c.utterance) for c in fs.inconsistent[:5]))
    if method not in METHODS:
        return _failed(method, grammar, fs, [*messages, f"unknown method {method!r} (one of {', '.join(METHODS)})"])
    if not fs.accepted or not fs.rejected:
        what = "accepted" if not fs.accepted else "rejected"
        return _failed("theta" if method == "auto" else method, grammar, fs,
                       [*messages, f"no {what} utterances for {fs.family}: nothing to split"])
    if method in ("auto", "theta"):
        result = learn_theta(fs.accepted, fs.rejected, family)
        messages.append(result.message)
        lang = _predicate_lang(grammar, result.predicate, family, messages) if result.consistent else None
        if result.consistent and result.predicate is not None and lang is not None:
            split = _finish("theta", lang, grammar, fs, result.predicate, messages)
            if split.ok or method == "theta":
                return split
            messages = split.messages
        elif result.consistent and result.predicate is not None:
            if method == "theta":
                return _failed("theta", grammar, fs, messages)
        else:
            tolerant = _tolerant_split(fs, family, grammar, messages)
            if tolerant is not None and (tolerant.ok or method == "theta"):
                return tolerant
            if method == "theta":
                return _failed("theta", grammar, fs, messages)
    if method in ("auto", "rpni"):
        return _rpni_split(fs, grammar, messages)
    # llm
    if not model_id:
        return _failed("llm", grammar, fs, [*messages, "the llm method needs a model (-m MODEL)"])

    result_o = ask_oracle(model_id, fs.family, grammar_source(grammar), [e.utterance for e in fs.accepted],
                          [e.utterance for e in fs.rejected], ignore_case=grammar.ignore_case, timeout=timeout)
    messages.append(result_o.message)
    if result_o.lang is None:
        return _failed("llm", grammar, fs, messages)
    return _finish("llm", result_o.lang, grammar, fs, None, messages, result_o.regex, result_o.source)


def _tolerant_split(fs: FeedbackSet, family: CheckedFamily, grammar: CompiledGrammar,
                    messages: list[str]) -> Split | None:
    """A θ split that sets a few contradicting items aside as suspect feedback (reported, not learned)."""

    result = learn_theta_tolerant(fs.accepted, fs.rejected, family)
    if result.predicate is None:
        messages.append(result.message)
        return None
    suspects = [*result.suspects_accepted, *result.suspects_rejected]
    kept = attrs.evolve(fs, accepted=[e for e in fs.accepted if e not in result.suspects_accepted],
                        rejected=[e for e in fs.rejected if e not in result.suspects_rejected])
    note = (f"{len(suspects)} suspect feedback item(s) contradict the split and were set aside: "
            + ", ".join(f"{'accepted' if e in result.suspects_accepted else 'rejected'} {e.utterance!r} "
                        f"(feedback {', '.join(str(i) for i in (e.ids or (e.id,)))})" for e in suspects[:5]))
    lang = _predicate_lang(grammar, result.predicate, family, messages)
    if lang is None:
        return None
    return _finish("theta", lang, grammar, kept, result.predicate, [*messages, result.message, note])


def _predicate_lang(grammar: CompiledGrammar, predicate: ThetaPredicate | None, family: CheckedFamily,
                    messages: list[str]) -> Lang | None:
    """L of a θ predicate, or None (with the reason in ``messages``) when a capture cannot be restricted."""
    if predicate is None:
        return None
    try:
        return predicate_lang(grammar, predicate, family)
    except CannotRestrict as err:
        messages.append(f"the θ split cannot be written as a grammar: {err}")
        return None


def _rpni_split(fs: FeedbackSet, grammar: CompiledGrammar, messages: list[str]) -> Split:
    regex, result = learn_rpni([e.utterance for e in fs.accepted], [e.utterance for e in fs.rejected])
    messages = [*messages, result.message]
    if regex is None:
        return _failed("rpni", grammar, fs, messages)
    try:
        lang = Lang.from_regex(fold_case(regex) if grammar.ignore_case else regex)
    except Exception as err:  # the automaton limits
        return _failed("rpni", grammar, fs, [*messages, f"the learned language is too large: {err}"])
    try:
        source = ddl_source(regex)
    except ValueError:
        source = None
    return _finish("rpni", lang, grammar, fs, None, messages, regex, source)
