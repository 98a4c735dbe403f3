"""``ddl serve``: H_k as an HTTP JSON API (Starlette on uvicorn).

Endpoints::

    POST /query     {"utterance": str}                               -> 200 the answer (source, family, θ, output | text | error)
    POST /feedback  {"id": int, "verdict": "accept"|"reject", "correction": str?}  -> 201 the feedback record
    GET  /stats     -> the ledger's statistics (coverage, tokens, cost, savings)
    GET  /families  -> {"served": [...], "rejected": [...]}
    GET  /health    -> {"status": "ok", "families": n_served, "store": url}
    POST /reload    -> load DIR again (checks cached) and serve it: {"served": [...], "rejected": [...]}
    GET  /openapi.json -> the OpenAPI 3.1 document of these endpoints

The routes are built from :data:`ddl.handler.openapi.ENDPOINTS`, the table the OpenAPI document is
generated from, so the document describes exactly the routes served.

A query that misses or whose model fails is still a 200: the answer itself says
``"source": "llm"`` or ``"error"`` -- the request was fine, the handler answered.  Requests that are
not fine get a 4xx with ``{"error": {"code": "DDL7xx", "message": ...}}``: invalid JSON (or JSON nested
deeper than :data:`MAX_JSON_DEPTH`, a duplicate key, a lone surrogate in a string) 400, wrong shape
422, body or utterance too large 413, a Content-Type other than ``application/json`` on a POST 415,
a body not received within the body timeout 408 (DDL717), unknown query id 404, unknown path 404,
wrong method 405; a wrong Host or Origin 403 (DDL716) and a missing or wrong token 401 (DDL715), see
:mod:`ddl.handler.guard`.  The body limit is enforced while reading (the ``Content-Length`` header
first, then chunk by chunk), so a huge body is refused without being buffered.

Slow clients: a connection gets ``header_timeout`` seconds for each request's headers (uvicorn has
no such limit: :func:`header_deadline_protocol` adds it to its h11 protocol) and ``body_timeout``
seconds for the body; idle keep-alive connections close after :data:`KEEP_ALIVE_SECONDS`.  Every
request is one JSON line in the log (:mod:`ddl.handler.access_log`).

The handler is synchronous: each call runs in the thread pool, so the event loop keeps accepting
requests.  Except a covered query, when the handler offers ``answer_hit``/``record_hit`` (ours
does): the grammar and the program answer it on the event loop, and the loop awaits the commit of
its ledger row, which the store's writer thread makes together with the rows of the other
requests waiting (group commit) -- the 200 is sent only after that commit.  (A family whose
program once held the loop past ``Handler.LOOP_SECONDS`` runs in the thread pool from then on.)  A handler that declares ``thread_safe = True`` (ours does: it locks its router and its
store is shared safely) is called concurrently, so a slow model call for one miss never delays
the deterministic answers of other requests; any other handler is called under one lock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable
from itertools import accumulate
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ddl.handler.access_log import LOGGER_NAME, AccessLog, log_event, logging_config
from ddl.handler.guard import Guard
from ddl.handler.openapi import ENDPOINTS, endpoint_list, openapi_document
from ddl.handler.records import VERDICTS, HandlerError
from ddl.handler.registry import not_served_lines
from ddl.handler.serve_settings import (
    DEFAULT_BODY_TIMEOUT,
    ServeSettings,
    require_token_beyond_loopback,
)

DEFAULT_MAX_BODY = 64 * 1024
DEFAULT_MAX_UTTERANCE = 4096
MAX_JSON_DEPTH = 32  # request bodies are flat objects; deeper nesting is refused before parsing
MAX_HEADER_BYTES = 16 * 1024  # the most of an incomplete header block h11 buffers (its default, set explicitly)
KEEP_ALIVE_SECONDS = 5  # an idle keep-alive connection is closed after this long
MAX_QUERY_ID = 2**63 - 1  # the largest id a ledger can hold (SQLite and PostgreSQL bigint)
TIMEOUT_CODE = "DDL717"
_HEALTH_LOCK_WAIT = 0.5  # seconds /health waits for a busy handler before answering from its cache

T = TypeVar("T")


class ServedHandler(Protocol):
    """The part of :class:`ddl.handler.handler.Handler` the service uses."""

    def handle(self, utterance: str) -> dict[str, Any]: ...

    def feedback(self, query_id: int, verdict: str, correction: str | None = None) -> dict[str, Any]: ...

    def families(self) -> dict[str, Any]: ...

    def stats(self) -> dict[str, Any]: ...


class JsonAnswer(JSONResponse):
    """Starlette's JSONResponse, byte for byte, with one encoder for every response (json.dumps with
    these options builds a new encoder per call)."""

    _encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

    def render(self, content: Any) -> bytes:
        return self._encoder.encode(content).encode("utf-8")


class ApiError(Exception):
    """A request the service refuses: HTTP status, DDL code and message; ``close`` ends the connection
    (the client may still be sending a body nobody will read)."""

    def __init__(self, status: int, message: str, code: str = "DDL705", *, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.close = status, code, message, close


def _error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JsonAnswer({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


_HTTP_MESSAGES = {404: "no such endpoint", 405: "method not allowed"}


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, exc.detail)
    if exc.status_code == 404:
        message = f"no such endpoint: {request.url.path} (endpoints: {endpoint_list()})"
    elif exc.status_code == 405:
        message = f"method {request.method} not allowed on {request.url.path}"
        if exc.headers and "Allow" in exc.headers:
            message += f" (allowed: {exc.headers['Allow']})"
    request.state.error = "DDL705"
    return _error_response(exc.status_code, "DDL705", message, dict(exc.headers or {}))


async def _on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    request.state.error = exc.code
    return _error_response(exc.status, exc.code, exc.message, {"Connection": "close"} if exc.close else None)


async def _on_internal_error(request: Request, exc: Exception) -> Response:
    request.state.error = "DDL999"
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


MAX_INT_DIGITS = 4300  # CPython's own guard, kept here: importing ddl lifts it for DDL's Ints (spec/semantics.md §3)


def _bounded_int(text: str) -> int:
    # json.loads would otherwise parse a number of any length (quadratic in its digits)
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"a number of {len(text.lstrip('-')):,} digits (the limit is {MAX_INT_DIGITS:,})")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # two values for one key: parsers disagree on which wins, so a proxy and this service could read
    # different requests from the same bytes
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {json.dumps(key)}")
        result[key] = value
    return result


# json.loads with these options, built once (json.loads builds a decoder per call when given options)
_REQUEST_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys,
                                    parse_int=_bounded_int)

def decode_request_json(text: str) -> Any:
    """``json.loads(text)`` refusing NaN and Infinity, duplicate keys and numbers of more than
    MAX_INT_DIGITS digits (ValueError), with one decoder built once for every request."""
    if text.startswith("\ufeff"):  # as json.loads refuses it
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _REQUEST_DECODER.decode(text)


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NESTING_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (brackets inside strings do not count).

    Measured without parsing, so ``[`` repeated 60,000 times is refused before the parser recurses."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(_NESTING_STEP[b] for b in brackets), default=0)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate_problem(field: str, text: str) -> str | None:
    found = _LONE_SURROGATE.search(text)
    if found is None:
        return None
    return (f"{field} contains a lone surrogate \\u{ord(found.group()):04x} (at character {found.start()}): it is "
            "not Unicode text and cannot be stored; send the character itself, or both halves of a surrogate pair")


def require_json_content(request: Request) -> None:
    """415 unless the request says ``Content-Type: application/json`` (charset, if any, UTF-8).

    Browsers send a cross-site POST without asking first only with a form or text type; demanding
    JSON makes every cross-site write a preflighted request, which the Origin check then refuses."""
    declared = request.headers.get("content-type")
    if declared is None:
        raise ApiError(415, "missing Content-Type: POST bodies must be JSON (Content-Type: application/json)")
    media, _, params = declared.partition(";")
    if media.strip().lower() != "application/json":
        raise ApiError(415, f"unsupported Content-Type {declared!r}: POST bodies must be JSON "
                            "(Content-Type: application/json)")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise ApiError(415, f"unsupported charset in Content-Type {declared!r}: JSON bodies must be UTF-8")


async def read_json(request: Request, max_body: int, body_timeout: float = DEFAULT_BODY_TIMEOUT,
                    *, allow_empty: bool = False) -> Any:
    """The request's JSON body, refusing bodies over ``max_body`` bytes before buffering them and
    bodies that take longer than ``body_timeout`` seconds to arrive (408)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiError(400, f"invalid Content-Length header: {declared!r}") from None
        if size > max_body:
            raise ApiError(413, f"request body of {size} bytes is over the limit of {max_body} bytes", close=True)
    body = bytearray()
    try:
        # asyncio's own timeout: the service runs on asyncio, and anyio's cancel scope cost more
        # than the rest of reading a small body
        async with asyncio.timeout(body_timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    raise ApiError(413, f"request body is over the limit of {max_body} bytes", close=True)
    except TimeoutError:
        raise ApiError(408, f"the request body did not arrive within {body_timeout:g} s (the server's body "
                            "timeout, --body-timeout); the connection is closed", TIMEOUT_CODE, close=True) from None
    if not body.strip():
        if allow_empty:
            return {}
        raise ApiError(400, "empty request body: expected a JSON object")
    # A body with at most MAX_JSON_DEPTH opening brackets (strings included) cannot nest deeper.
    depth = 0 if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH else json_depth(bytes(body))
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, f"invalid JSON: nested {depth} levels deep; the limit is {MAX_JSON_DEPTH} "
                            "(request bodies are flat objects)")
    try:
        return decode_request_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "request body is not UTF-8") from None
    except RecursionError:  # the depth scan should have caught it; never a 500
        raise ApiError(400, f"invalid JSON: nested too deeply (the limit is {MAX_JSON_DEPTH})") from None
    except ValueError as err:
        raise ApiError(400, f"invalid JSON: {err}") from None


def _check_object(value: Any, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(422, f"expected a JSON object, got {_json_type(value)}")
    unknown = sorted(set(value) - required - optional)
    if unknown:
        shown = ", ".join(json.dumps(name)[1:-1][:40] for name in unknown[:5])
        raise ApiError(422, f"unknown field{'s' if len(unknown) > 1 else ''}: {shown}")
    missing = sorted(required - set(value))
    if missing:
        raise ApiError(422, f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    return value


def parse_query(value: Any, max_utterance: int) -> str:
    """The utterance of a /query body, or an ApiError (422 wrong shape, 413 too long, 400 not text)."""
    body = _check_object(value, {"utterance"}, set())
    utterance = body["utterance"]
    if not isinstance(utterance, str):
        raise ApiError(422, f"utterance must be a string, not {_json_type(utterance)}")
    if not utterance.strip():
        raise ApiError(422, "utterance must not be empty")
    if len(utterance) > max_utterance:
        raise ApiError(413, f"utterance of {len(utterance)} characters is over the limit of {max_utterance}")
    problem = _lone_surrogate_problem("utterance", utterance)
    if problem is not None:
        raise ApiError(400, problem)
    return utterance


def parse_feedback(value: Any) -> tuple[int, str, str | None]:
    """(query id, verdict, correction) of a /feedback body, or an ApiError (422; 400 not text)."""
    body = _check_object(value, {"id", "verdict"}, {"correction"})
    query_id, verdict, correction = body["id"], body["verdict"], body.get("correction")
    if isinstance(query_id, bool) or not isinstance(query_id, int) or not 1 <= query_id <= MAX_QUERY_ID:
        shown = json.dumps(query_id) if not isinstance(query_id, int) or query_id < 10**20 else "a huge number"
        raise ApiError(422, f"id must be a positive integer (a query id), not {shown[:80]}")
    if verdict not in VERDICTS:
        raise ApiError(422, f"verdict must be \"accept\" or \"reject\", not {json.dumps(verdict)[:80]}")
    if correction is not None and not isinstance(correction, str):
        raise ApiError(422, f"correction must be a string or null, not {_json_type(correction)}")
    problem = None if correction is None else _lone_surrogate_problem("correction", correction)
    if problem is not None:
        raise ApiError(400, problem)
    return query_id, verdict, correction


def shown_store(url: Any) -> str | None:
    """The store URL as /health and the log show it: a password in it is replaced by ``***``."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{f'[{host}]' if ':' in host else host}"
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:
        return url.split("://", 1)[0] + "://***" if "://" in url else url
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def make_app(handler: ServedHandler, *, max_body: int = DEFAULT_MAX_BODY, max_utterance: int | None = None,
             bind_host: str = "127.0.0.1", token: str | None = None, allowed_hosts: tuple[str, ...] = (),
             allowed_origins: tuple[str, ...] = (), body_timeout: float = DEFAULT_BODY_TIMEOUT,
             logger: logging.Logger | None = None, log_utterances: bool = False) -> Starlette:
    """The ASGI app serving ``handler``; ``max_utterance`` defaults to the handler's config.

    Every request passes the :class:`~ddl.handler.guard.Guard` (Host, Origin, token) and is logged by
    :class:`~ddl.handler.access_log.AccessLog` on ``logger`` (default: the ``ddl.serve`` logger)."""
    if max_utterance is None:
        config = getattr(handler, "config", None)
        max_utterance = int(getattr(config, "max_utterance", DEFAULT_MAX_UTTERANCE))
    limit_utterance = max_utterance
    lock = threading.Lock()
    serialize = not getattr(handler, "thread_safe", False)
    fast_hits = not serialize and hasattr(handler, "answer_hit") and hasattr(handler, "record_hit")
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

    async def json_body(request: Request, *, allow_empty: bool = False) -> Any:
        require_json_content(request)
        return await read_json(request, max_body, body_timeout, allow_empty=allow_empty)

    async def query(request: Request) -> Response:
        utterance = parse_query(await json_body(request), limit_utterance)
        request.state.utterance = utterance
        answer = None
        if fast_hits:
            # A grammar hit is answered here, on the event loop (routing and the program are
            # quick and never wait), and its row is committed by the store's writer thread
            # while the loop serves other requests: no thread of the pool is held for it.
            try:
                hit = handler.answer_hit(utterance)  # type: ignore[attr-defined]
                if hit is not None:
                    answer = await handler.record_hit(hit)  # type: ignore[attr-defined]
            except HandlerError as err:
                raise ApiError(_status_for(err), err.message, err.code) from None
        if answer is None:
            answer = await call(handler.handle, utterance)
        request.state.query_id = answer.get("id") if isinstance(answer, dict) else None
        return JsonAnswer(answer)

    async def feedback(request: Request) -> Response:
        query_id, verdict, correction = parse_feedback(await json_body(request))
        request.state.query_id = query_id
        return JsonAnswer(await call(handler.feedback, query_id, verdict, correction), status_code=201)

    async def stats(request: Request) -> Response:
        return JsonAnswer(await call(handler.stats))

    async def families(request: Request) -> Response:
        result = await call(handler.families)
        served_count[0] = len(result.get("served", []))
        return JsonAnswer(result)

    async def reload(request: Request) -> Response:
        # Load the directory again (unchanged files hit the check cache) and swap it in: how a
        # refined or newly written family starts serving without a restart.  The body is empty or {}.
        _check_object(await json_body(request, allow_empty=True), set(), set())
        do_reload = getattr(handler, "reload", None)
        if do_reload is None:
            raise ApiError(404, "this handler cannot reload", "DDL705")
        result = await call(do_reload)
        served_count[0] = len(result.get("served", []))
        return JsonAnswer(result)

    async def health(request: Request) -> Response:
        try:
            n_served = await run_in_threadpool(count_served)
        except HandlerError as err:
            raise ApiError(_status_for(err), err.message, err.code) from None
        store = shown_store(getattr(getattr(handler, "store", None), "url", None))
        return JsonAnswer({"status": "ok", "families": n_served, "store": store})

    document = openapi_document(max_utterance=limit_utterance, token_required=token is not None)

    async def openapi(request: Request) -> Response:
        return JsonAnswer(document)

    # One route per row of the table the OpenAPI document is built from: nothing served undocumented.
    operations: dict[str, Callable[[Request], Any]] = {
        "query": query, "feedback": feedback, "stats": stats, "families": families, "health": health,
        "reload": reload, "openapi": openapi,
    }
    if set(operations) != {endpoint.operation for endpoint in ENDPOINTS}:
        raise RuntimeError(f"the service's operations {sorted(operations)} differ from the OpenAPI table's "
                           f"{sorted(endpoint.operation for endpoint in ENDPOINTS)}")
    routes = [Route(endpoint.path, operations[endpoint.operation], methods=[endpoint.method])
              for endpoint in ENDPOINTS]
    handlers: dict[Any, Callable[..., Any]] = {
        HTTPException: _on_http_exception,
        ApiError: _on_api_error,
        Exception: _on_internal_error,
    }
    middleware = [
        Middleware(AccessLog, logger=logger or logging.getLogger(LOGGER_NAME), log_utterances=log_utterances),
        Middleware(Guard, bind_host=bind_host, token=token, allowed_hosts=allowed_hosts,
                   allowed_origins=allowed_origins),
    ]
    return Starlette(routes=routes, exception_handlers=handlers, middleware=middleware)


def header_deadline_protocol(header_timeout: float, logger: logging.Logger) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with a deadline on each request's headers.

    uvicorn closes idle keep-alive connections but never one that has started a request and
    stalls: a client sending a header line a minute holds its connection for ever.  Here the clock
    starts when a connection opens (or, between requests, with the first byte of the next one) and
    the connection is closed when ``header_timeout`` seconds pass before the headers are complete;
    trickling more bytes does not reset it."""
    import h11  # deferred: the protocol layer loads only when the service starts
    from uvicorn.protocols.http.h11_impl import H11Protocol  # deferred: as above

    class HeaderDeadlineH11Protocol(H11Protocol):
        header_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)  # type: ignore[arg-type]
            self.watch_headers()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self.watch_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self.stop_header_deadline()
            super().connection_lost(exc)

        def watch_headers(self) -> None:
            waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
            if waiting and self.header_deadline is None:
                self.header_deadline = self.loop.call_later(header_timeout, self.headers_too_slow)
            elif not waiting:
                self.stop_header_deadline()

        def stop_header_deadline(self) -> None:
            if self.header_deadline is not None:
                self.header_deadline.cancel()
                self.header_deadline = None

        def headers_too_slow(self) -> None:
            self.header_deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                log_event(logger, logging.WARNING, event="header_timeout",
                          client=self.client[0] if self.client else None, seconds=header_timeout)
                self.transport.close()

    return HeaderDeadlineH11Protocol


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


def build_server(handler: ServedHandler, host: str = "127.0.0.1", port: int = 8000, *,
                 max_body: int = DEFAULT_MAX_BODY, token: str | None = None,
                 settings: ServeSettings | None = None, log_level: str = "info") -> tuple[Any, socket.socket, str]:
    """(a uvicorn server for ``handler``, its listening socket, the line announcing it).

    Refuses (DDL718) to serve beyond loopback without a token; OSError when it cannot listen.  The
    socket is bound here, not by uvicorn, so that a port in use is an OSError for the caller and
    ``port=0`` works: the announcement names the real address.  Run it with
    ``server.run(sockets=[sock])``; setting ``server.should_exit`` stops it."""
    import uvicorn  # deferred: uvicorn loads only when the service starts

    settings = settings or ServeSettings()
    require_token_beyond_loopback(host, token)
    logger = logging.getLogger(LOGGER_NAME)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    served = getattr(handler, "families", None)
    listing = served() if served else {}
    n_served = len(listing.get("served", []))
    store = shown_store(getattr(getattr(handler, "store", None), "url", None))
    auth = "token required" if token is not None else "no token: loopback only"
    family_s = "family" if n_served == 1 else "families"
    line = "\n".join([f"ddl serve: {n_served} {family_s} on http://{shown_host}:{bound_port} (store: {store}; {auth})",
                      *not_served_lines(listing.get("rejected", []), "serve")])
    app = make_app(handler, max_body=max_body, bind_host=host, token=token, allowed_hosts=settings.allowed_hosts,
                   allowed_origins=settings.allowed_origins, body_timeout=settings.body_timeout, logger=logger,
                   log_utterances=settings.log_utterances)
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, log_config=logging_config(settings.log_file, log_level),
        lifespan="off", server_header=False, http=header_deadline_protocol(settings.header_timeout, logger),
        timeout_keep_alive=KEEP_ALIVE_SECONDS, h11_max_incomplete_event_size=MAX_HEADER_BYTES)
    return uvicorn.Server(config), sock, line


def serve(handler: ServedHandler, host: str = "127.0.0.1", port: int = 8000, *,
          max_body: int = DEFAULT_MAX_BODY, log_level: str = "info", token: str | None = None,
          settings: ServeSettings | None = None, announce: Callable[[str], None] | None = None) -> None:
    """Serve ``handler`` on host:port until interrupted (SIGINT/SIGTERM stop it gracefully).

    The line passed to ``announce`` (default: stderr) names the real address; the log (stderr or
    ``settings.log_file``) is JSON lines from then on."""
    server, sock, line = build_server(handler, host, port, max_body=max_body, token=token, settings=settings,
                                      log_level=log_level)
    if announce is None:
        print(line, file=sys.stderr, flush=True)
    else:
        announce(line)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again for the previous
    # handler; with these handlers that ends run() with an exception we catch, so the caller can
    # close the store and exit 0 instead of dying by the signal.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_stop) if in_main else None
    try:
        server.run(sockets=[sock])
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
