"""Program split by branch coverage: which if / match branches only A or only R take.

The family's program is run (the interpreter, with a branch recorder installed on a private
:class:`~ddl.eval.Evaluator`) on the θ of every accepted and rejected example; a branch (the span of
its ``if``/``match`` node and the arm index: 0 then / 1 else, or the match arm) taken by accepted
inputs only, or by rejected inputs only, is reported.  Short-circuit ``and``/``or`` and ``??`` are
not counted as branches.
"""

from __future__ import annotations

from typing import Any

import attrs

from ddl.diagnostics import Span
from ddl.eval import Evaluator, validate_theta
from ddl.refine.feedback import Example, FeedbackSet
from ddl.types import ir
from ddl.types.checked import CheckedFamily


@attrs.frozen
class BranchDifference:
    span: Span
    kind: str  # "if" | "match"
    arm: int  # if: 0 then, 1 else; match: the arm's index
    which: str  # "accepted" (taken only by accepted inputs) | "rejected"
    accepted: int  # how many accepted examples took it
    rejected: int
    example_ids: tuple[int, ...] = ()

    def describe(self) -> str:
        where = f"{self.span.path}:{self.span.line}:{self.span.col}"
        arm = ("then" if self.arm == 0 else "else") if self.kind == "if" else f"arm {self.arm + 1}"
        n = self.accepted if self.which == "accepted" else self.rejected
        return f"{where}: the {arm} branch of this {self.kind} is taken only by {self.which} inputs ({n})"

    def to_json(self) -> dict[str, Any]:
        return {"span": self.span.to_json(), "kind": self.kind, "arm": self.arm, "which": self.which,
                "accepted": self.accepted, "rejected": self.rejected, "example_ids": list(self.example_ids)}


BranchKey = tuple[Span, str, int]


def branches_taken(evaluator: Any, family: CheckedFamily, example: Example) -> set[BranchKey] | None:
    """The branches one run takes (None when θ is invalid).  ``evaluator`` must be private to the caller."""
    theta, _ = validate_theta(family, evaluator, example.theta)
    if theta is None:
        return None
    taken: set[BranchKey] = set()

    def record(node: ir.Node, arm: int) -> None:
        taken.add((node.span, "if" if isinstance(node, ir.If) else "match", arm))

    evaluator.record_branches(record)
    try:
        evaluator.run(family.name, theta)
    finally:
        evaluator.record_branches(None)
    return taken


def coverage_split(fs: FeedbackSet, family: CheckedFamily, evaluator: Any) -> list[BranchDifference]:
    private = Evaluator(evaluator.module, budget=evaluator.budget)
    counts: dict[BranchKey, dict[str, list[int]]] = {}
    for which, examples in (("accepted", fs.accepted), ("rejected", fs.rejected)):
        for ex in examples:
            taken = branches_taken(private, family, ex)
            for key in taken or ():
                counts.setdefault(key, {"accepted": [], "rejected": []})[which].append(ex.id)
    out = []
    for (span, kind, arm), by in counts.items():
        a, r = by["accepted"], by["rejected"]
        if a and r:
            continue
        which = "accepted" if a else "rejected"
        out.append(BranchDifference(span, kind, arm, which, len(a), len(r), tuple(a or r)))
    out.sort(key=lambda d: (d.span.path, d.span.start, d.arm))
    return out
