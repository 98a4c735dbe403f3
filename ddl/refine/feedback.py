"""Reading a family's accepted set A and rejected set R out of the feedback store.

Every feedback record copies its query's utterance and θ (spec/handler.md), so A and R can be
built from the store alone.  Utterances are normalized as the grammar does (``normalize_space``)
and compared case-folded when the grammar has ``ignore_case``.  An utterance both accepted and
rejected is *inconsistent*: it is reported and left out of A and R.  Utterances outside the
family's grammar (answers the LLM gave for a miss, or feedback on an older version of the family)
cannot be split by G ∩ L and are skipped with a note.  θ is re-validated against the family
(defaults filled, JSON form); when the record has none, it is extracted with the grammar.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ddl.eval import validate_theta
from ddl.grammar.compile import CompiledGrammar
from ddl.values import to_json


@attrs.frozen
class Example:
    """One distinct utterance of A or R: the first feedback id, its normalized text and θ (JSON)."""

    id: int
    utterance: str
    theta: dict[str, Any]
    ids: tuple[int, ...] = ()  # every feedback id with this (normalized) utterance and verdict

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "utterance": self.utterance, "theta": self.theta, "ids": list(self.ids)}


@attrs.frozen
class Conflict:
    """The same normalized utterance was both accepted and rejected."""

    utterance: str
    accept_ids: tuple[int, ...]
    reject_ids: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"utterance": self.utterance, "accept_ids": list(self.accept_ids),
                "reject_ids": list(self.reject_ids)}


@attrs.frozen
class FeedbackSet:
    family: str
    accepted: list[Example]
    rejected: list[Example]
    inconsistent: list[Conflict]
    skipped: list[str] = attrs.Factory(list)  # why some feedback was not used
    ignore_case: bool = False

    @property
    def ids(self) -> list[int]:
        """Feedback ids A and R were built from (the provenance of a split)."""
        return sorted(i for ex in (*self.accepted, *self.rejected) for i in (ex.ids or (ex.id,)))

    def key(self, utterance: str) -> str:
        return utterance.casefold() if self.ignore_case else utterance

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "accepted": [e.to_json() for e in self.accepted],
                "rejected": [e.to_json() for e in self.rejected],
                "inconsistent": [c.to_json() for c in self.inconsistent], "skipped": list(self.skipped)}


def collect_feedback(store: Any, family_name: str, grammar: CompiledGrammar) -> FeedbackSet:
    """A, R and the conflicts of ``family_name`` from a feedback store (anything with ``.feedback(family)``)."""
    return feedback_set(store.feedback(family_name), family_name, grammar)


def feedback_set(records: Iterable[Any], family_name: str, grammar: CompiledGrammar) -> FeedbackSet:
    """The same from FeedbackRecords already read (records of other families are ignored)."""
    family = grammar.family
    evaluator = grammar.evaluator
    fold = grammar.ignore_case
    # key -> verdict -> [(id, normalized utterance, θ)]
    seen: dict[str, dict[str, list[tuple[int, str, dict[str, Any]]]]] = {}
    skipped: list[str] = []
    for rec in records:
        if rec.family is not None and rec.family != family_name:
            continue
        fid = int(rec.id if rec.id is not None else rec.query_id)
        if rec.verdict not in ("accept", "reject"):
            skipped.append(f"feedback {fid}: unknown verdict {rec.verdict!r}")
            continue
        utterance = grammar.normalize(rec.utterance or "")
        match = grammar.match(utterance)
        if not match.ok:
            skipped.append(f"feedback {fid}: {utterance!r} is not in the grammar of {family_name}")
            continue
        raw: dict[str, Any] = rec.theta if isinstance(rec.theta, dict) else {}
        theta, problems = validate_theta(family, evaluator, raw) if raw else (None, ["no θ recorded"])
        if theta is None:  # no usable θ in the record: take the grammar's
            theta, problems2 = validate_theta(family, evaluator, match.values or {}, values=True)
            if theta is None:
                skipped.append(f"feedback {fid}: no valid θ for {utterance!r} ({'; '.join(problems + problems2)})")
                continue
        theta_json = {name: to_json(value) for name, value in theta.items()}
        key = utterance.casefold() if fold else utterance
        seen.setdefault(key, {}).setdefault(rec.verdict, []).append((fid, utterance, theta_json))

    accepted: list[Example] = []
    rejected: list[Example] = []
    conflicts: list[Conflict] = []
    for by_verdict in seen.values():
        acc, rej = by_verdict.get("accept", []), by_verdict.get("reject", [])
        if acc and rej:
            conflicts.append(Conflict(acc[0][1], tuple(i for i, _, _ in acc), tuple(i for i, _, _ in rej)))
            continue
        items = acc or rej
        fid, utterance, theta_json = items[0]
        ex = Example(fid, utterance, theta_json, tuple(i for i, _, _ in items))
        (accepted if acc else rejected).append(ex)
    accepted.sort(key=lambda e: e.id)
    rejected.sort(key=lambda e: e.id)
    conflicts.sort(key=lambda c: min(c.accept_ids + c.reject_ids))
    return FeedbackSet(family_name, accepted, rejected, conflicts, skipped, fold)
