"""The HTTP service: the real server end to end, and the ASGI app's validation in-process.

End-to-end tests start the real console script, ``ddl serve examples --port 0 ...``, as a
subprocess on loopback (it prints the port it bound) with the fake llm models of tests/fakellm on
PYTHONPATH, and talk to it with urllib.  The in-process tests drive the Starlette app with a
small ASGI client and a fake handler, which lets them check what a socket cannot show, such as a
chunked body being refused before it has all been read.  The service's protections (token, Host and
Origin, content type, slow clients, the JSON log) are in tests/test_service_safety.py, hostile JSON
in tests/test_reliability_service.py.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from ddl.handler.records import HandlerError
from ddl.handler.service import make_app

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"
FAKELLM = ROOT / "tests" / "fakellm"
# the fake models, and this checkout's ddl ahead of any installed one (so the server runs the code under test)
PYTHONPATH = os.pathsep.join([str(FAKELLM), str(ROOT)])
HIT = "suggest 3 mystery books from the 1950s"
MISS = "write me a haiku about rain"
START_TIMEOUT = 180.0  # a clean checkout verifies the examples on first load
JSON = {"content-type": "application/json"}


# ---------------------------------------------------------------------------- the real server


class Server:
    """A ``ddl serve`` subprocess; ``url`` once it listens; stderr is collected in ``log``."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        self.store = tmp / "ledger.sqlite3"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
        env.update(PYTHONPATH=PYTHONPATH, LLM_USER_PATH=str(tmp / "llm"), DDL_FAKE_SLOW_SECONDS="3")
        cmd = [str(DDL), "serve", "examples", "--port", "0", "--store", str(self.store), "-m", "fake-echo", "--no-extract", *extra]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.log: list[str] = []
        self.port: int | None = None
        listening = threading.Event()

        def drain() -> None:  # keep reading so the access log never blocks the server on a full pipe
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.log.append(line)
                found = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
                if found and self.port is None:
                    self.port = int(found.group(1))
                    listening.set()
            listening.set()

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        if not listening.wait(START_TIMEOUT) or self.port is None:
            self.stop()
            raise AssertionError("ddl serve did not start:\n" + "".join(self.log))
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = self.request("GET", "/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("ddl serve never became healthy:\n" + "".join(self.log))
            time.sleep(0.05)

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        if data is not None and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.drainer.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("serve"))
    yield srv
    srv.stop()


def _error(status_body: tuple[int, Any], status: int, code: str = "DDL705") -> str:
    got_status, body = status_body
    assert got_status == status, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    return str(body["error"]["message"])


def test_queries_feedback_and_stats_end_to_end(tmp_path: Path) -> None:
    from ddl.handler.store import open_store

    srv = Server(tmp_path)
    try:
        status, hit = srv.request("POST", "/query", {"utterance": HIT})
        assert status == 200
        assert hit["source"] == "deterministic" and hit["family"] == "recommend_books"
        assert hit["theta"] == {"genre": "mystery", "count": 3, "decade": 1950}
        assert hit["output"] is not None and hit["error"] is None
        assert isinstance(hit["id"], int)

        status, miss = srv.request("POST", "/query", {"utterance": MISS})
        assert status == 200
        assert miss["source"] == "llm" and miss["family"] is None
        assert miss["text"] == f"echo: {MISS}"
        assert (miss["model"], miss["tokens_in"], miss["tokens_out"]) == ("fake-echo", 6, 7)
        assert miss["id"] == hit["id"] + 1

        status, stats = srv.request("GET", "/stats")
        assert status == 200
        assert stats["coverage"] == pytest.approx(0.5)

        status, accepted = srv.request("POST", "/feedback", {"id": hit["id"], "verdict": "accept"})
        assert status == 201
        assert accepted["query_id"] == hit["id"] and accepted["verdict"] == "accept"
        assert accepted["family"] == "recommend_books" and accepted["utterance"] == HIT
        status, rejected = srv.request("POST", "/feedback",
                                       {"id": miss["id"], "verdict": "reject", "correction": "a haiku, please"})
        assert status == 201 and rejected["correction"] == "a haiku, please"

        status, health = srv.request("GET", "/health")
        assert status == 200 and health["status"] == "ok"
        assert health["families"] >= 1 and str(srv.store) in health["store"]

        status, families = srv.request("GET", "/families")
        assert status == 200
        served = {f["name"] for f in families["served"]}
        assert "recommend_books" in served and len(served) == health["families"]
        assert isinstance(families["rejected"], list)
    finally:
        srv.stop()
    assert srv.proc.returncode == 0, "".join(srv.log)
    requests = [json.loads(line) for line in srv.log if line.startswith("{") and '"event": "request"' in line]
    assert [(r["method"], r["path"], r["status"]) for r in requests if r["path"] != "/health"][:2] == [
        ("POST", "/query", 200), ("POST", "/query", 200)]  # one JSON access-log line per request
    with open_store(srv.store) as store:
        feedback = list(store.feedback())
        assert [(f.query_id, f.verdict, f.correction) for f in feedback] == [
            (hit["id"], "accept", None), (miss["id"], "reject", "a haiku, please")]
        assert [q.source for q in store.queries()] == ["deterministic", "llm"]


def test_bad_json_is_400(server: Server) -> None:
    assert "invalid JSON" in _error(server.request("POST", "/query", raw=b'{"utterance": '), 400)
    _error(server.request("POST", "/query", raw=b""), 400)
    _error(server.request("POST", "/query", raw=b"\xff\xfe"), 400)
    _error(server.request("POST", "/feedback", raw=b"NaN"), 400)


def test_wrong_shape_is_422(server: Server) -> None:
    assert "utterance" in _error(server.request("POST", "/query", {}), 422)
    assert "string" in _error(server.request("POST", "/query", {"utterance": 5}), 422)
    assert "object" in _error(server.request("POST", "/query", ["hello"]), 422)
    assert "extra" in _error(server.request("POST", "/query", {"utterance": "hi", "extra": 1}), 422)
    _error(server.request("POST", "/query", {"utterance": "   "}), 422)
    assert "verdict" in _error(server.request("POST", "/feedback", {"id": 1, "verdict": "maybe"}), 422)
    _error(server.request("POST", "/feedback", {"id": "1", "verdict": "accept"}), 422)
    _error(server.request("POST", "/feedback", {"id": True, "verdict": "accept"}), 422)
    _error(server.request("POST", "/feedback", {"id": 1, "verdict": "accept", "correction": 3}), 422)
    _error(server.request("POST", "/feedback", {"verdict": "accept"}), 422)


def test_too_large_is_413(server: Server) -> None:
    big = {"utterance": "a" * (70 * 1024)}
    assert "65536" in _error(server.request("POST", "/query", big), 413)
    long_utterance = {"utterance": "word " * 1000}  # 5,000 characters: under the body limit, over max_utterance
    assert "4096" in _error(server.request("POST", "/query", long_utterance), 413)


def test_chunked_body_over_the_limit_is_413(server: Server) -> None:
    assert server.port is not None
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        chunks = (b'{"utterance": "' + b"a" * 1024 if i == 0 else b"a" * 1024 for i in range(80))
        conn.request("POST", "/query", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 413
        assert json.loads(resp.read())["error"]["code"] == "DDL705"
    finally:
        conn.close()


def test_unknown_query_id_is_404(server: Server) -> None:
    assert "99999" in _error(server.request("POST", "/feedback", {"id": 99999, "verdict": "accept"}), 404, "DDL706")


def test_unknown_path_and_wrong_method(server: Server) -> None:
    assert "/nope" in _error(server.request("GET", "/nope"), 404)
    assert "GET" in _error(server.request("GET", "/query"), 405)
    _error(server.request("POST", "/health", {}), 405)
    _error(server.request("DELETE", "/stats"), 405)


def test_miss_with_failing_model_is_a_200_answer(tmp_path: Path) -> None:
    srv = Server(tmp_path, "-m", "fake-broken", "--timeout", "2")
    try:
        status, answer = srv.request("POST", "/query", {"utterance": MISS})
        assert status == 200
        assert answer["source"] == "error" and answer["error"]["code"] == "DDL703"
        status, hit = srv.request("POST", "/query", {"utterance": HIT})
        assert status == 200 and hit["source"] == "deterministic"
    finally:
        srv.stop()


def test_a_slow_model_call_does_not_delay_covered_queries(tmp_path: Path) -> None:
    srv = Server(tmp_path, "-m", "fake-slow", "--timeout", "20")  # fake-slow answers after 3 s
    try:
        slow: list[tuple[int, Any]] = []
        miss = threading.Thread(target=lambda: slow.append(srv.request("POST", "/query", {"utterance": MISS})))
        miss.start()
        time.sleep(0.3)  # the miss is now waiting for the model
        started = time.monotonic()
        status, hit = srv.request("POST", "/query", {"utterance": HIT})
        fast = time.monotonic() - started
        assert status == 200 and hit["source"] == "deterministic"
        assert miss.is_alive(), "the model answered before the covered query was sent; the test proves nothing"
        assert fast < 2.0, f"the covered query waited {fast:.1f} s behind the model call"
        miss.join(30)
        assert slow and slow[0][0] == 200 and slow[0][1]["source"] == "llm"
    finally:
        srv.stop()


def test_serve_reports_a_port_in_use(tmp_path: Path, server: Server) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    env.update(PYTHONPATH=PYTHONPATH, LLM_USER_PATH=str(tmp_path / "llm"))
    proc = subprocess.run([str(DDL), "serve", "examples", "--port", str(server.port), "--store",
                           str(tmp_path / "s.sqlite3")], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=START_TIMEOUT)
    assert proc.returncode == 2, proc.stderr
    assert "cannot listen on" in proc.stderr


# ---------------------------------------------------------------------------- the app in-process


class FakeHandler:
    """Stands in for Handler: records calls, answers like the contract says."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.active = 0
        self.max_active = 0

    def handle(self, utterance: str) -> dict[str, Any]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        time.sleep(0.01)
        self.active -= 1
        self.calls.append(("handle", utterance))
        return {"id": len(self.calls), "utterance": utterance, "source": "deterministic"}

    def feedback(self, query_id: int, verdict: str, correction: str | None = None) -> dict[str, Any]:
        self.calls.append(("feedback", (query_id, verdict, correction)))
        if query_id == 404:
            raise HandlerError("unknown query 404", "DDL706")
        if query_id == 503:
            raise HandlerError("cannot write to store", "DDL702")
        return {"query_id": query_id, "verdict": verdict, "correction": correction}

    def families(self) -> dict[str, Any]:
        return {"served": [{"name": "a"}, {"name": "b"}], "rejected": []}

    def stats(self) -> dict[str, Any]:
        raise RuntimeError("boom")


async def _asgi(app: Any, method: str, path: str, chunks: list[bytes], headers: dict[str, str],
                received: list[int]) -> tuple[int, dict[str, str], bytes]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }
    pending = list(chunks) or [b""]
    status, out_headers, body = 0, {}, bytearray()

    async def receive() -> dict[str, Any]:
        if not pending:
            await anyio.sleep(3600)
        chunk = pending.pop(0)
        received.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    try:
        await app(scope, receive, send)
    except Exception:
        if not status:  # Starlette re-raises after answering 500
            raise
    return status, out_headers, bytes(body)


def call(app: Any, method: str, path: str, body: Any = None, *, chunks: list[bytes] | None = None,
         headers: dict[str, str] | None = None, received: list[int] | None = None) -> tuple[int, Any]:
    if chunks is None:
        chunks = [b""] if body is None else [json.dumps(body).encode()]
    if headers is None:
        headers = {"content-length": str(sum(len(c) for c in chunks)), **JSON}
    status, _, raw = anyio.run(_asgi, app, method, path, chunks, headers, [] if received is None else received)
    return status, json.loads(raw)


def test_app_query_and_feedback() -> None:
    fake = FakeHandler()
    app = make_app(fake)
    assert call(app, "POST", "/query", {"utterance": "hello"}) == (
        200, {"id": 1, "utterance": "hello", "source": "deterministic"})
    status, body = call(app, "POST", "/feedback", {"id": 1, "verdict": "reject", "correction": "x"})
    assert status == 201 and body == {"query_id": 1, "verdict": "reject", "correction": "x"}
    assert fake.calls[-1] == ("feedback", (1, "reject", "x"))
    assert call(app, "GET", "/health") == (200, {"status": "ok", "families": 2, "store": None})
    assert call(app, "GET", "/families")[1]["served"] == [{"name": "a"}, {"name": "b"}]


def test_app_maps_handler_errors() -> None:
    app = make_app(FakeHandler())
    _error(call(app, "POST", "/feedback", {"id": 404, "verdict": "accept"}), 404, "DDL706")
    _error(call(app, "POST", "/feedback", {"id": 503, "verdict": "accept"}), 503, "DDL702")
    assert "boom" in _error(call(app, "GET", "/stats"), 500, "DDL999")


def test_app_stops_reading_a_body_over_the_limit() -> None:
    fake = FakeHandler()
    app = make_app(fake, max_body=4096)
    received: list[int] = []
    chunks = [b'{"utterance": "'] + [b"a" * 1024] * 100
    status, body = call(app, "POST", "/query", chunks=chunks, headers=JSON, received=received)
    assert status == 413 and body["error"]["code"] == "DDL705"
    assert len(received) <= 6  # refused as soon as the limit was passed, not after 100 KiB
    assert fake.calls == []
    # a declared Content-Length over the limit is refused before reading anything
    received.clear()
    status, _ = call(app, "POST", "/query", chunks=[b"{}"], headers={"content-length": "5000", **JSON},
                     received=received)
    assert status == 413 and received == []
    _error(call(app, "POST", "/query", chunks=[b"{}"], headers={"content-length": "lots", **JSON}), 400)


def test_app_utterance_limit_comes_from_the_config() -> None:
    class Configured(FakeHandler):
        class config:  # noqa: N801 - mimics the HandlerConfig attribute
            max_utterance = 10

    app = make_app(Configured())
    assert call(app, "POST", "/query", {"utterance": "a" * 10})[0] == 200
    assert "10" in _error(call(app, "POST", "/query", {"utterance": "a" * 11}), 413)
    assert call(make_app(FakeHandler(), max_utterance=3), "POST", "/query", {"utterance": "abcd"})[0] == 413


def test_app_serializes_handler_calls() -> None:
    fake = FakeHandler()
    app = make_app(fake)

    async def many() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(8):
                tg.start_soon(_asgi, app, "POST", "/query", [json.dumps({"utterance": f"u{i}"}).encode()], JSON, [])

    anyio.run(many)
    assert len(fake.calls) == 8 and fake.max_active == 1


def test_app_reload_swaps_in_the_directory_again() -> None:
    class Reloading(FakeHandler):
        def reload(self) -> dict[str, Any]:
            self.calls.append(("reload", None))
            return {"served": [{"name": "refined"}], "rejected": []}

    handler = Reloading()
    status, body = call(make_app(handler), "POST", "/reload")
    assert status == 200 and body["served"] == [{"name": "refined"}]
    assert ("reload", None) in handler.calls
    _error(call(make_app(handler), "GET", "/reload"), 405)
