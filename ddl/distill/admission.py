"""Admission of a family a model wrote (spec/distill.md, "Admission of what a model wrote").

A distilled or compiled-on-miss family is served beside families people wrote, so two more rules
apply to it than to those (the distill gate applies them, and the handler's registry applies them
again to every family under ``DIR/distilled/``):

* **It cannot outrank a served family**: its ``priority`` (0 when it declares none) is at most
  :func:`priority_cap` — the lowest priority of the served families, and never above the default
  0 — unless the operator sets ``max_model_priority`` (``[handler]`` in ddl.toml), which is then
  the cap.  Below a served family it overlaps, it only answers what that family does not.
* **Its grammar does not accept almost anything** (:func:`breadth`): measured exactly on the
  grammar's language with the regular algebra, the share of the texts of n characters made of
  lowercase words ``[a-z]+( [a-z]+)*`` that the grammar accepts, for every n from 8 to 32, must
  stay below 1 in 100 — a single unrestricted Text capture accepts all of them, a grammar that
  names its request (``"weather in " city``) a vanishing share.  And it may not accept the
  example utterances of two or more served families (a grammar that reaches into several other
  families' requests is a catch-all, whatever the share).

* **It excuses nothing** (:func:`allow_problems`): an ``allow`` declaration says a reviewer accepted
  the teaching value in a constant (spec/checks.md, "no-leak, precisely"); a model cannot be its own
  reviewer, so a family it wrote may declare none.

Each broken rule is a diagnostic (DDL709 priority, DDL710 breadth, DDL711 allow) on the family, so the
distill gate sends it back to the model as a repair round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

from ddl.diagnostics import Diagnostic
from ddl.grammar.compile import CompiledGrammar
from ddl.regular import Lang, RegularError
from ddl.syntax import ast as A
from ddl.types.checked import CheckedFamily

DEFAULT_PRIORITY = 0  # a family that declares no priority
PRIORITY_KEY = "max_model_priority"  # the operator's [handler] key that raises the cap
PROBE_PATTERN = "[a-z]+( [a-z]+)*"  # texts of lowercase words separated by single spaces
PROBE_LENGTHS = range(8, 33)
BREADTH_LIMIT = Fraction(1, 100)  # the largest share of probe texts a model-written grammar may accept
MAX_FAMILIES_REACHED = 1  # served families whose example utterances it may accept

_probe: Lang | None = None


def priority_cap(served_priorities: Iterable[int], allowed: int | None = None) -> int:
    """The highest ``priority`` a model-written family may declare: ``allowed`` (the operator's
    ``max_model_priority``) when set, else the lowest served priority, never above the default."""
    if allowed is not None:
        return allowed
    return min([DEFAULT_PRIORITY, *served_priorities])


def priority_problem(family: CheckedFamily, cap: int) -> Diagnostic | None:
    """DDL709 when ``family`` declares a priority above ``cap``."""
    priority = family.priority if family.priority is not None else DEFAULT_PRIORITY
    if priority <= cap:
        return None
    declared = family.decl.of_kind(A.PriorityDecl)
    span = declared[0].span if declared else family.decl.name_span
    fix = "remove the `priority` line" if cap >= DEFAULT_PRIORITY else f"declare `priority {cap}` or lower"
    return Diagnostic("DDL709", f"{family.name}: a family written by a model may not declare priority {priority}: "
                      f"it would outrank served families; the highest it may declare here is {cap} (the lowest "
                      "priority of the served families, never above 0, unless the operator sets another)", span,
                      hint=f"{fix}; an operator can set the cap with {PRIORITY_KEY} in the [handler] table of ddl.toml")


def breadth(grammar: CompiledGrammar) -> tuple[Fraction, int]:
    """The largest share of the probe texts of one length (8 to 32 characters) that the grammar's
    language accepts, and that length: exact counts over the language's DFA (may raise
    ``RegularError`` when the language's automaton exceeds the grammar's limits)."""
    global _probe
    if _probe is None:
        _probe = Lang.parse(PROBE_PATTERN)
    probe = _probe
    accepted = grammar.lang.intersect(probe)
    best, at = Fraction(0), PROBE_LENGTHS[0]
    for n in PROBE_LENGTHS:
        share = Fraction(accepted.count(n), probe.count(n))
        if share > best:
            best, at = share, n
    return best, at


def breadth_problems(family: CheckedFamily, grammar: CompiledGrammar,
                     served: Sequence[tuple[str, CheckedFamily]]) -> list[Diagnostic]:
    """DDL710 when the grammar accepts almost anything (see the module docstring); ``served`` are the
    (name, family) pairs of the served families whose example utterances it must leave alone."""
    assert family.grammar is not None
    span = family.grammar.span
    hint = ("a grammar must name its request: write the request's own words into it (`\"weather in \" city`) "
            "and capture only the values that vary")
    try:
        share, length = breadth(grammar)
    except RegularError as err:
        return [Diagnostic("DDL710", f"{family.name}: the breadth of the grammar cannot be measured within the "
                           f"automaton limits ({err}); a family written by a model must have a grammar that can",
                           span, hint=hint)]
    problems: list[Diagnostic] = []
    if share >= BREADTH_LIMIT:
        problems.append(Diagnostic(
            "DDL710", f"{family.name}: the grammar accepts almost anything: {_percent(share)} of the texts of {length} "
            f"characters made of lowercase words (a family written by a model may accept less than "
            f"{_percent(BREADTH_LIMIT)})", span, hint=hint))
    reached: list[tuple[str, str]] = []
    for name, other in served:
        if other is family:
            continue
        hit = next((ex.utterance for ex in other.examples
                    if ex.utterance is not None and grammar.match(ex.utterance).ok), None)
        if hit is not None:
            reached.append((name, hit))
    if len(reached) > MAX_FAMILIES_REACHED:
        shown = ", ".join(f"{name} ({utterance!r})" for name, utterance in reached[:3])
        problems.append(Diagnostic(
            "DDL710", f"{family.name}: the grammar accepts the requests of {len(reached)} served families: {shown}; "
            "a family written by a model may reach into at most one", span, hint=hint))
    return problems


def allow_problems(family: CheckedFamily) -> list[Diagnostic]:
    """DDL711 for every ``allow`` of a family a model wrote: only a person may excuse a leak."""
    return [Diagnostic("DDL711", f"{family.name}: a family written by a model may not declare `allow {a.param} in "
                       f"\"{a.text}\"`: an allowance is a reviewer's decision that the teaching value belongs in "
                       "that constant for every value, and a model cannot review itself", a.span,
                       hint=f"derive the text from {a.param} instead of writing its teaching value; if it truly "
                       "belongs there, a person can copy the family out of distilled/ and declare the allow")
            for a in family.allows]


def admission_problems(family: CheckedFamily, evaluator: Any, served: Sequence[tuple[str, CheckedFamily]], cap: int,
                       *, grammar: CompiledGrammar | None = None) -> list[Diagnostic]:
    """Every admission rule ``family`` (written by a model) breaks, as diagnostics; [] when it may be
    served.  ``cap`` is :func:`priority_cap`'s; ``served`` the (name, family) pairs of the served families."""
    problems: list[Diagnostic] = []
    too_high = priority_problem(family, cap)
    if too_high is not None:
        problems.append(too_high)
    problems += allow_problems(family)
    if family.grammar is not None:
        problems += breadth_problems(family, grammar or CompiledGrammar(family, evaluator), served)
    return problems


def _percent(share: Fraction) -> str:
    value = float(share) * 100
    return f"{value:.0f}%" if value >= 1 else f"{value:.2g}%"
