"""Records shared by the handler, its store and its service (the contract between them).

A :class:`QueryRecord` is one line of the ledger: every query H_k(u) answered, whichever
branch answered it.  A :class:`FeedbackRecord` is a user's verdict on one answer; it copies
the utterance, θ, family and family version from the query so that refinement can learn
from the feedback store alone, even after the family's source has changed.  A
:class:`CandidateRecord` is a *candidate phrasing* of a family: the utterance of an
``"extracted"`` answer (the model named the family and its θ; the family's checked program
answered), kept so that a later step can widen the family's grammar to accept it.

Sources of an answer: ``"deterministic"`` (a served family's grammar accepted the utterance),
``"extracted"`` (no grammar accepted it; a small structured model call named a served family and
a valid θ, and that family's program answered), ``"llm"`` (the fallback model's full answer) and
``"error"``.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from ddl.model import HandlerError

Source = Literal["deterministic", "extracted", "llm", "error"]
Verdict = Literal["accept", "reject"]
SOURCES: tuple[str, ...] = ("deterministic", "extracted", "llm", "error")
VERDICTS: tuple[str, ...] = ("accept", "reject")


class StoreError(HandlerError):
    """The store cannot be opened, read or written (DDL702); unknown query ids are DDL706."""

    code = "DDL702"


@attrs.frozen
class QueryRecord:
    """One answered query.  ``theta`` and ``output`` are JSON values (``to_json`` form).

    For ``source == "extracted"``, ``family``, ``family_version``, ``theta`` and ``output`` are set
    as for ``"deterministic"``, and ``model``, ``tokens_in`` and ``tokens_out`` are those of the
    small extraction call (``text`` stays None: the answer is the program's output).
    """

    ts: float  # seconds since the epoch (time.time())
    utterance: str
    source: str  # one of SOURCES
    latency_ms: float
    family: str | None = None
    family_version: str | None = None  # content hash of the family's source file
    theta: dict[str, Any] | None = None
    output: Any = None
    text: str | None = None  # the model's reply, for source == "llm"
    model: str | None = None  # for "llm" and "extracted" (and errors of a model call)
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


@attrs.frozen
class CandidateRecord:
    """A candidate phrasing of ``family``: the utterance of the ``"extracted"`` query
    ``query_id`` and its θ (JSON form, ``to_json`` of each value), stored at ``ts``."""

    id: int | None  # assigned by the store
    query_id: int
    ts: float
    family: str
    utterance: str
    theta: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)
