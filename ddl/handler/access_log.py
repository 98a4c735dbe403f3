"""The service's structured log: one JSON object per line, on stderr or in a file.

Every request is one line written when its response has been sent (or has failed)::

    {"time": "2025-01-02T03:04:05.678Z", "level": "info", "logger": "ddl.serve", "event": "request",
     "method": "POST", "path": "/query", "status": 200, "duration_ms": 3.1, "query_id": 12,
     "client": "127.0.0.1"}

``query_id`` is the ledger id the request answered or gave feedback on (null otherwise), ``error`` the
DDL code of a refused request.  The utterance is not logged unless ``log_utterances`` is set, and the
token and the other headers never are.  uvicorn's own messages (startup, shutdown, internal errors
with their traceback in ``exception``) are JSON lines too, through :class:`JsonFormatter`.  Every
string is written with ASCII escapes, so a line is valid JSON and one line whatever the client sent.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "ddl.serve"
# One encoder for every line (json.dumps with a ``default`` builds a new one per call).
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=True, default=str)


def utc_time(created: float, _second: list[Any] = [None, ""]) -> str:  # noqa: B006 - the cache
    """``datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`` with ``Z`` for
    ``+00:00``: the microseconds rounded as datetime rounds them (half to even), the date and time
    of day written once per second (every request's log line has one)."""
    fraction, whole = math.modf(created)
    micro = round(fraction * 1e6)
    second = int(whole)
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    elif micro < 0:
        second, micro = second - 1, micro + 1_000_000
    cached, prefix = _second  # one read of each: another thread may be replacing them
    if cached != second:
        prefix = datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds").removesuffix("+00:00")
        _second[:] = second, prefix
    return f"{prefix}.{micro // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: time (UTC, ISO 8601), level, logger, then its fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": utc_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _LINE_ENCODER.encode(entry)


def logging_config(log_file: str | None, level: str = "info") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` for uvicorn and ``ddl.serve``: JSON lines to ``log_file``
    (appended) or stderr; uvicorn's access log is off (:class:`AccessLog` replaces it)."""
    handler: dict[str, Any] = (
        {"class": "logging.FileHandler", "filename": log_file, "mode": "a", "encoding": "utf-8",
         "formatter": "json"}
        if log_file else {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "json"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "propagate": False},
            LOGGER_NAME: {"handlers": ["json"], "level": "INFO", "propagate": False},
        },
    }


def log_event(logger: logging.Logger, level: int, **fields: Any) -> None:
    """Log one structured event (its fields become the JSON line's keys)."""
    logger.log(level, fields.get("event", "event"), extra={"fields": fields})


class AccessLog:
    """ASGI middleware: one JSON line per request (see the module docstring).

    Endpoints leave what the line needs in the request state: ``query_id``, ``utterance``, ``error``.
    """

    def __init__(self, app: ASGIApp, *, logger: logging.Logger, log_utterances: bool = False) -> None:
        self.app = app
        self.logger = logger
        self.log_utterances = log_utterances
        self.templates: dict[tuple[int, int], dict[str, Any]] = {}  # (thread, level) → a record's attributes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status: list[int] = []

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if not status:  # ServerErrorMiddleware, outside this one, answers the 500 (DDL999)
                status.append(500)
                state.setdefault("error", "DDL999")
            raise
        finally:
            self.write(scope, state, status[0] if status else 500, time.perf_counter() - started)

    def write(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        client = scope.get("client")
        fields: dict[str, Any] = {
            "event": "request",
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "query_id": state.get("query_id"),
            "client": client[0] if client else None,
        }
        if state.get("error"):
            fields["error"] = state["error"]
        if self.log_utterances and state.get("utterance") is not None:
            fields["utterance"] = state["utterance"]
        level = logging.WARNING if status >= 500 else logging.INFO
        logger = self.logger
        if logger.isEnabledFor(level):
            logger.handle(self.record(level, fields))

    def record(self, level: int, fields: dict[str, Any]) -> logging.LogRecord:
        """The record log_event's Logger.log would make, without looking up the caller's file and
        line in the stack (the JSON line shows neither), and without looking up the source file's
        name, the thread's and the process's for every request: they are copied from the first
        record made on this thread at this level (the event loop's: one or two).  Only the time
        (and ``fields``) differ from record to record."""
        key = (threading.get_ident(), level)
        template = self.templates.get(key)
        if template is None:
            logger = self.logger
            template = vars(logger.makeRecord(logger.name, level, __file__, 0, "request", (), None,
                                              extra={"fields": None}))
            if len(self.templates) < 64:  # bounded, whatever threads log
                self.templates[key] = template
        state = template.copy()
        created = time.time()
        state["created"] = created
        state["msecs"] = int((created - int(created)) * 1000) + 0.0  # as LogRecord computes it
        state["relativeCreated"] = template["relativeCreated"] + (created - template["created"]) * 1000
        state["fields"] = fields
        record = _new_record(logging.LogRecord)
        record.__dict__ = state
        return record


_new_record = logging.LogRecord.__new__
