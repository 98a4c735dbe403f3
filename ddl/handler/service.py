"""``ddl serve``: H_k as an HTTP JSON API (Starlette on uvicorn).

Endpoints::

    POST /query     {"utterance": str}                               -> 200 the answer (source, family, θ, output | text | error)
    POST /feedback  {"id": int, "verdict": "accept"|"reject", "correction": str?}  -> 201 the feedback record
    GET  /stats     -> the ledger's statistics (coverage, tokens, cost, savings)
    GET  /families  -> {"served": [...], "rejected": [...]}
    GET  /health    -> {"status": "ok", "families": n_served, "store": url}
    POST /reload    -> load DIR again (checks cached) and serve it: {"served": [...], "rejected": [...]}

A query that misses or whose model fails is still a 200: the answer itself says
``"source": "llm"`` or ``"error"`` -- the request was fine, the handler answered.  Requests that are
not fine get a 4xx with ``{"error": {"code": "DDL705" | "DDL706", "message": ...}}``: invalid JSON
400, wrong shape 422, body or utterance too large 413, unknown query id 404, unknown path 404,
wrong method 405.  The body limit is enforced while reading (the ``Content-Length`` header first,
then chunk by chunk), so a huge body is refused without being buffered.

The handler is synchronous: each call runs in the thread pool, so the event loop keeps accepting
requests.  A handler that declares ``thread_safe = True`` (ours does: it locks its router and its
store is shared safely) is called concurrently, so a slow model call for one miss never delays
the deterministic answers of other requests; any other handler is called under one lock.
"""

from __future__ import annotations

import copy
import json
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ddl.handler.records import VERDICTS, HandlerError

DEFAULT_MAX_BODY = 64 * 1024
DEFAULT_MAX_UTTERANCE = 4096
_HEALTH_LOCK_WAIT = 0.5  # seconds /health waits for a busy handler before answering from its cache

T = TypeVar("T")


class ServedHandler(Protocol):
    """The part of :class:`ddl.handler.handler.Handler` the service uses."""

    def handle(self, utterance: str) -> dict[str, Any]: ...

    def feedback(self, query_id: int, verdict: str, correction: str | None = None) -> dict[str, Any]: ...

    def families(self) -> dict[str, Any]: ...

    def stats(self) -> dict[str, Any]: ...


class ApiError(Exception):
    """A request the service refuses: HTTP status, DDL code and message."""

    def __init__(self, status: int, message: str, code: str = "DDL705") -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


_HTTP_MESSAGES = {404: "no such endpoint", 405: "method not allowed"}


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, exc.detail)
    if exc.status_code == 404:
        message = f"no such endpoint: {request.url.path} (endpoints: /query, /feedback, /stats, /families, /health)"
    elif exc.status_code == 405:
        message = f"method {request.method} not allowed on {request.url.path}"
        if exc.headers and "Allow" in exc.headers:
            message += f" (allowed: {exc.headers['Allow']})"
    return _error_response(exc.status_code, "DDL705", message, dict(exc.headers or {}))


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(exc.status, exc.code, exc.message)


async def _on_internal_error(request: Request, exc: Exception) -> Response:
    return _error_response(500, "DDL999", f"internal error: {type(exc).__name__}: {exc}")


def _status_for(err: HandlerError) -> int:
    return {"DDL705": 422, "DDL706": 404, "DDL702": 503}.get(err.code, 500)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request, max_body: int) -> Any:
    """The request's JSON body, refusing bodies over ``max_body`` bytes before buffering them."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, f"invalid Content-Length header: {declared!r}") from None
        if size > max_body:
            raise ApiError(413, f"request body of {size} bytes is over the limit of {max_body} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise ApiError(413, f"request body is over the limit of {max_body} bytes")
    if not body.strip():
        raise ApiError(400, "empty request body: expected a JSON object")
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not UTF-8") from None
    except ValueError as err:
        raise ApiError(400, f"invalid JSON: {err}") from None


def _check_object(value: Any, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(422, f"expected a JSON object, got {_json_type(value)}")
    unknown = sorted(set(value) - required - optional)
    if unknown:
        raise ApiError(422, f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    missing = sorted(required - set(value))
    if missing:
        raise ApiError(422, f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    return value


def parse_query(value: Any, max_utterance: int) -> str:
    """The utterance of a /query body, or an ApiError (422 wrong shape, 413 too long)."""
    body = _check_object(value, {"utterance"}, set())
    utterance = body["utterance"]
    if not isinstance(utterance, str):
        raise ApiError(422, f"utterance must be a string, not {_json_type(utterance)}")
    if not utterance.strip():
        raise ApiError(422, "utterance must not be empty")
    if len(utterance) > max_utterance:
        raise ApiError(413, f"utterance of {len(utterance)} characters is over the limit of {max_utterance}")
    return utterance


def parse_feedback(value: Any) -> tuple[int, str, str | None]:
    """(query id, verdict, correction) of a /feedback body, or an ApiError (422)."""
    body = _check_object(value, {"id", "verdict"}, {"correction"})
    query_id, verdict, correction = body["id"], body["verdict"], body.get("correction")
    if isinstance(query_id, bool) or not isinstance(query_id, int) or query_id < 1:
        raise ApiError(422, f"id must be a positive integer (a query id), not {json.dumps(query_id)}")
    if verdict not in VERDICTS:
        raise ApiError(422, f"verdict must be \"accept\" or \"reject\", not {json.dumps(verdict)}")
    if correction is not None and not isinstance(correction, str):
        raise ApiError(422, f"correction must be a string or null, not {_json_type(correction)}")
    return query_id, verdict, correction


def make_app(handler: ServedHandler, *, max_body: int = DEFAULT_MAX_BODY,
             max_utterance: int | None = None) -> Starlette:
    """The ASGI app serving ``handler``; ``max_utterance`` defaults to the handler's config."""
    if max_utterance is None:
        config = getattr(handler, "config", None)
        max_utterance = int(getattr(config, "max_utterance", DEFAULT_MAX_UTTERANCE))
    limit_utterance = max_utterance
    lock = threading.Lock()
    serialize = not getattr(handler, "thread_safe", False)
    served_count: list[int | None] = [None]  # the last known number of served families, for /health

    def locked(fn: Callable[..., T], *args: Any) -> T:
        if not serialize:
            return fn(*args)
        with lock:
            return fn(*args)

    async def call(fn: Callable[..., T], *args: Any) -> T:
        try:
            return await run_in_threadpool(locked, fn, *args)
        except HandlerError as err:
            raise ApiError(_status_for(err), err.message, err.code) from None

    def count_served() -> int | None:
        # /health must answer even while a slow model call holds the handler: wait briefly, then use the cache
        if not serialize:
            served_count[0] = len(handler.families().get("served", []))
        elif lock.acquire(timeout=_HEALTH_LOCK_WAIT):
            try:
                served_count[0] = len(handler.families().get("served", []))
            finally:
                lock.release()
        return served_count[0]

    async def query(request: Request) -> Response:
        utterance = parse_query(await read_json(request, max_body), limit_utterance)
        return JSONResponse(await call(handler.handle, utterance))

    async def feedback(request: Request) -> Response:
        query_id, verdict, correction = parse_feedback(await read_json(request, max_body))
        return JSONResponse(await call(handler.feedback, query_id, verdict, correction), status_code=201)

    async def stats(request: Request) -> Response:
        return JSONResponse(await call(handler.stats))

    async def families(request: Request) -> Response:
        result = await call(handler.families)
        served_count[0] = len(result.get("served", []))
        return JSONResponse(result)

    async def reload(request: Request) -> Response:
        # Load the directory again (unchanged files hit the check cache) and swap it in: how a
        # refined or newly written family starts serving without a restart.
        do_reload = getattr(handler, "reload", None)
        if do_reload is None:
            raise ApiError(404, "this handler cannot reload", "DDL705")
        result = await call(do_reload)
        served_count[0] = len(result.get("served", []))
        return JSONResponse(result)

    async def health(request: Request) -> Response:
        try:
            n_served = await run_in_threadpool(count_served)
        except HandlerError as err:
            raise ApiError(_status_for(err), err.message, err.code) from None
        store = getattr(getattr(handler, "store", None), "url", None)
        return JSONResponse({"status": "ok", "families": n_served, "store": store})

    routes = [
        Route("/query", query, methods=["POST"]),
        Route("/feedback", feedback, methods=["POST"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/families", families, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/reload", reload, methods=["POST"]),
    ]
    handlers: dict[Any, Callable[..., Any]] = {
        HTTPException: _on_http_exception,
        ApiError: _on_api_error,
        Exception: _on_internal_error,
    }
    return Starlette(routes=routes, exception_handlers=handlers)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0 picks a free one); OSError when it cannot listen."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(handler: ServedHandler, host: str = "127.0.0.1", port: int = 8000, *,
          max_body: int = DEFAULT_MAX_BODY, log_level: str = "info",
          announce: Callable[[str], None] | None = None) -> None:
    """Serve ``handler`` on host:port until interrupted (SIGINT/SIGTERM stop it gracefully).

    The socket is bound here, not by uvicorn, so that a port in use is an OSError for the caller
    and ``port=0`` works: the line passed to ``announce`` (default: stderr) names the real address.
    """
    import uvicorn  # deferred: uvicorn loads only when the service starts

    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    served = getattr(handler, "families", None)
    n_served = len(served().get("served", [])) if served else 0
    store = getattr(getattr(handler, "store", None), "url", None)
    line = f"ddl serve: {n_served} families on http://{shown_host}:{bound_port} (store: {store})"
    if announce is None:
        print(line, file=sys.stderr, flush=True)
    else:
        announce(line)
    app = make_app(handler, max_body=max_body)

    from uvicorn.config import LOGGING_CONFIG  # deferred: as above

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"  # stdout stays free for the caller
    config = uvicorn.Config(app, log_level=log_level, access_log=True, log_config=log_config, lifespan="off",
                            server_header=False)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again for the previous
    # handler; with these handlers that ends run() with an exception we catch, so the caller can
    # close the store and exit 0 instead of dying by the signal.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_stop) if in_main else None
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        sock.close()
        if in_main:
            signal.signal(signal.SIGTERM, previous)


class _Stopped(Exception):
    """SIGTERM arrived (after uvicorn's graceful shutdown)."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stopped()
