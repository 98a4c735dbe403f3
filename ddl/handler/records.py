"""Records shared by the handler, its store and its service (the contract between them).

A :class:`QueryRecord` is one line of the ledger: every query H_k(u) answered, whichever
branch answered it.  A :class:`FeedbackRecord` is a user's verdict on one answer; it copies
the utterance, θ, family and family version from the query so that refinement can learn
from the feedback store alone, even after the family's source has changed.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from ddl.model import HandlerError

Source = Literal["deterministic", "llm", "error"]
Verdict = Literal["accept", "reject"]
SOURCES: tuple[str, ...] = ("deterministic", "llm", "error")
VERDICTS: tuple[str, ...] = ("accept", "reject")


class StoreError(HandlerError):
    """The store cannot be opened, read or written (DDL702); unknown query ids are DDL706."""

    code = "DDL702"


@attrs.frozen
class QueryRecord:
    """One answered query.  ``theta`` and ``output`` are JSON values (``to_json`` form)."""

    ts: float  # seconds since the epoch (time.time())
    utterance: str
    source: str  # one of SOURCES
    latency_ms: float
    family: str | None = None
    family_version: str | None = None  # content hash of the family's source file
    theta: dict[str, Any] | None = None
    output: Any = None
    text: str | None = None  # the model's reply, for source == "llm"
    model: str | None = None
    tokens_in: int | None = None  # as `llm` reports usage; None when the model does not report it
    tokens_out: int | None = None
    error: dict[str, str] | None = None  # {"code": "DDL70x", "message": ...} for source == "error"
    id: int | None = None  # assigned by the store

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class FeedbackRecord:
    query_id: int
    ts: float
    verdict: str  # one of VERDICTS
    utterance: str
    correction: str | None = None
    family: str | None = None
    family_version: str | None = None
    theta: dict[str, Any] | None = None
    source: str | None = None  # the source of the answer the feedback is about
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)
