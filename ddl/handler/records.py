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
        # attrs.asdict(self), without its generic walk (a third of a covered query's own work in
        # the service): the fields in order, θ, output and error copied; anything but plain JSON
        # values in them takes asdict itself.
        try:
            return {"ts": self.ts, "utterance": self.utterance, "source": self.source, "latency_ms": self.latency_ms,
                    "family": self.family, "family_version": self.family_version, "theta": _copy_json(self.theta),
                    "output": _copy_json(self.output), "text": self.text, "model": self.model,
                    "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "error": _copy_json(self.error),
                    "id": self.id}
        except _NotPlainJson:
            return attrs.asdict(self)


class _NotPlainJson(Exception):
    """A value _copy_json leaves to attrs.asdict."""


_PLAIN_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _copy_json(value: Any) -> Any:
    """``value`` as attrs.asdict copies a field's value, for plain JSON values (dicts with string
    keys, lists, str, int, float, bool, None) and tuples of them; _NotPlainJson for anything else."""
    kind = type(value)
    if kind in _PLAIN_JSON_SCALARS:
        return value
    if kind is dict:
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlainJson
            copied[key] = _copy_json(item)
        return copied
    if kind is list:
        return [_copy_json(item) for item in value]
    if kind is tuple:  # attrs.asdict keeps collection types
        return tuple(_copy_json(item) for item in value)
    raise _NotPlainJson


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
