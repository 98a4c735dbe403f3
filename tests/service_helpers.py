"""Helpers for the service's safety and reliability tests: a recording handler, the real app through
Starlette's TestClient, and the real uvicorn server on a loopback port in a thread of the test."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from ddl.handler.access_log import JsonFormatter
from ddl.handler.records import HandlerError
from ddl.handler.serve_settings import ServeSettings
from ddl.handler.service import build_server, make_app

BASE_URL = "http://127.0.0.1:8000"  # TestClient sends Host: 127.0.0.1:8000, as a loopback client would
TOKEN = "s3cret-token-0123456789abcdef"
JSON_TYPE = {"Content-Type": "application/json"}


class RecordingHandler:
    """Stands in for Handler: answers every call and records it, so a test can see what got through."""

    thread_safe = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def handle(self, utterance: str) -> dict[str, Any]:
        self.calls.append(("handle", utterance))
        return {"id": len(self.calls), "utterance": utterance, "source": "deterministic"}

    def feedback(self, query_id: int, verdict: str, correction: str | None = None) -> dict[str, Any]:
        self.calls.append(("feedback", (query_id, verdict, correction)))
        if query_id > 1000:
            raise HandlerError(f"no query {query_id} in the ledger", "DDL706")
        return {"query_id": query_id, "verdict": verdict, "correction": correction}

    def families(self) -> dict[str, Any]:
        return {"served": [{"name": "a"}], "rejected": []}

    def stats(self) -> dict[str, Any]:
        return {"queries": len(self.calls)}

    def reload(self) -> dict[str, Any]:
        self.calls.append(("reload", None))
        return {"served": [{"name": "a"}], "rejected": []}


def capture_log() -> tuple[logging.Logger, io.StringIO]:
    """A fresh logger writing JSON lines into a string buffer."""
    buffer = io.StringIO()
    logger = logging.getLogger(f"ddl.serve.test.{id(buffer)}")
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    return logger, buffer


def client(handler: Any, **options: Any) -> TestClient:
    """The real app for ``handler`` (make_app's options) behind Starlette's TestClient."""
    return TestClient(make_app(handler, **options), base_url=BASE_URL, raise_server_exceptions=False)


def error_of(response: Any, status: int, code: str = "DDL705") -> str:
    """The message of a JSON error response, after checking its status, shape and code."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    return str(body["error"]["message"])


class LiveServer:
    """The real uvicorn server (build_server) on a free loopback port, run in a thread of the test."""

    def __init__(self, handler: Any, settings: ServeSettings, token: str | None = None) -> None:
        self.server, self.sock, self.line = build_server(handler, "127.0.0.1", 0, token=token, settings=settings)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("the server did not start")
            time.sleep(0.02)

    def connect(self) -> socket.socket:
        conn = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        return conn

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """One request on a fresh connection; (status, JSON body)."""
        head = {"Host": f"127.0.0.1:{self.port}", "Content-Length": str(len(body)), "Connection": "close",
                **(headers or {})}
        raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
        with self.connect() as conn:
            conn.sendall(raw.encode("latin-1") + body)
            reply = read_until_closed(conn, deadline_seconds=30)
        status_line, _, rest = reply.partition(b"\r\n")
        _, _, payload = rest.partition(b"\r\n\r\n")
        return int(status_line.split()[1]), json.loads(payload) if payload else None

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def read_until_closed(conn: socket.socket, deadline_seconds: float) -> bytes:
    """Everything the server sends until it closes the connection; AssertionError if it is still open
    after ``deadline_seconds`` (a generous bound, not a measurement)."""
    conn.settimeout(deadline_seconds)
    data = bytearray()
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return bytes(data)
            data += chunk
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open for {deadline_seconds} s; got {bytes(data)!r}") from None
    except ConnectionResetError:
        return bytes(data)


@contextmanager
def live_server(handler: Any, settings: ServeSettings, token: str | None = None) -> Iterator[LiveServer]:
    server = LiveServer(handler, settings, token)
    try:
        yield server
    finally:
        server.stop()
