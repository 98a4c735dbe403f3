"""H_k: answer utterances with checked families, fall back to a model, record and learn (spec/handler.md).

Public face::

    Handler.open(directory, config)    .handle(u) → the answer as JSON, .feedback(id, verdict, ...)
    Registry.load(directory)           served and rejected families, the router over the served ones
    open_store(url)                    the ledger and feedback store (SQLite or PostgreSQL)
    HandlerConfig, load_config         settings: flags > environment > ddl.toml > defaults
    HandlerError                       a DDL7xx failure reported as a result
"""

from __future__ import annotations

from ddl.handler.config import HandlerConfig, load_config
from ddl.handler.handler import Handler
from ddl.handler.records import HandlerError, QueryRecord
from ddl.handler.registry import Registry
from ddl.handler.store import open_store

__all__ = ["Handler", "HandlerConfig", "HandlerError", "QueryRecord", "Registry", "load_config", "open_store"]
