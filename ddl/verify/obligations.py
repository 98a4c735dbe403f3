"""Obligations and their three-valued verdicts.

Every check `ddl check` performs is an :class:`Obligation` with a verdict:
``proved``, ``refuted`` (with a concrete counterexample in source terms) or
``unknown`` (with the reason).  ``unknown`` is never a pass.  The JSON shape is
documented in spec/checks.md and kept stable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import attrs

from ddl.diagnostics import Diagnostic, Note, Span

Verdict = Literal["proved", "refuted", "unknown"]


@attrs.frozen
class Allowance:
    """An ``allow`` declaration in force for a no-leak obligation: its text, reason and span."""

    text: str
    reason: str
    span: Span

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "reason": self.reason, "span": self.span.to_json()}


@attrs.frozen
class Obligation:
    kind: str  # e.g. "typed", "examples", "grammar-nonempty", "grammar-covers"
    subject: str  # what it is about: a parameter, an example, the grammar
    verdict: Verdict
    evidence: str  # a proof summary, the counterexample, or the reason for unknown
    span: Span
    seconds: float
    code: str | None = None  # the diagnostic code when not proved
    notes: tuple[Note, ...] = ()
    hint: str | None = None
    allowed: tuple[Allowance, ...] = ()  # no-leak: the parameter's `allow` declarations

    @property
    def passed(self) -> bool:
        return self.verdict == "proved"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "subject": self.subject,
            "verdict": self.verdict,
            "evidence": self.evidence,
            "span": self.span.to_json(),
            "seconds": round(self.seconds, 6),
        }
        if self.allowed:  # present only when the parameter has an allowance (spec/checks.md)
            out["allowed"] = [a.to_json() for a in self.allowed]
        return out

    @property
    def title(self) -> str:
        """``examples`` obligations are named by their subject (``example[2]``), others as kind(subject)."""
        if self.kind == "examples":
            return self.subject
        return f"{self.kind}({self.subject})" if self.subject else self.kind

    def diagnostic(self, family: str | None = None) -> Diagnostic | None:
        if self.verdict == "proved":
            return None
        word = "refuted" if self.verdict == "refuted" else "unknown"
        where = f"{family}: " if family else ""
        return Diagnostic(self.code or "DDL508", f"{where}{self.title} {word}: {self.evidence}", self.span,
                          "error", self.notes, self.hint)


class Timer:
    def __init__(self) -> None:
        self.seconds = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    timer = Timer()
    start = time.perf_counter()
    try:
        yield timer
    finally:
        timer.seconds = time.perf_counter() - start
