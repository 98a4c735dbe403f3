"""A ledger row for the store tests (grouped writes, the service's fast paths)."""

from __future__ import annotations

from typing import Any

from ddl.handler.records import QueryRecord


def record(utterance: str, **kw: Any) -> QueryRecord:
    """A deterministic query of ``books`` answered with one title; ``kw`` overrides any field."""
    fields: dict[str, Any] = {"ts": 1_700_000_000.5, "utterance": utterance, "source": "deterministic",
                              "latency_ms": 0.25, "family": "books", "family_version": "v1",
                              "theta": {"count": 3}, "output": ["The Big Sleep"]}
    fields.update(kw)
    return QueryRecord(**fields)
