"""``ddl serve`` against a hostile network and a hostile browser (issue 15, item 7).

The app is driven through Starlette's TestClient (the real ASGI app, middleware included), the slow
clients through the real uvicorn server on a loopback port with a raw socket, and the command line
through the real console script.  Each test asserts what a client or an operator sees: the status,
the JSON error, the handler never reached, the log lines, the exit code and message.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from service_helpers import (
    JSON_TYPE,
    TOKEN,
    RecordingHandler,
    capture_log,
    client,
    error_of,
    live_server,
    read_until_closed,
)

from ddl.handler.serve_settings import (
    ServeSettings,
    is_loopback,
    load_serve_settings,
    load_token,
    normalize_origin,
    require_token_beyond_loopback,
    resolve_serve_settings,
)
from ddl.handler.service import shown_store
from ddl.handler.store import open_store
from ddl.model import HandlerError

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"
HIT = "suggest 3 mystery books from the 1950s"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


# ---------------------------------------------------------------------------- the token


def test_with_a_token_every_request_needs_it() -> None:
    handler = RecordingHandler()
    app = client(handler, token=TOKEN)
    message = error_of(app.post("/query", json={"utterance": "hi"}), 401, "DDL715")
    assert "Authorization: Bearer" in message
    assert app.post("/query", json={"utterance": "hi"}).headers["www-authenticate"].startswith("Bearer")
    assert error_of(app.post("/query", json={"utterance": "hi"}, headers={"Authorization": "Bearer wrong"}),
                    401, "DDL715") == "wrong token"
    almost = TOKEN[:-1] + ("x" if TOKEN[-1] != "x" else "y")
    error_of(app.post("/query", json={"utterance": "hi"}, headers={"Authorization": f"Bearer {almost}"}), 401,
             "DDL715")
    error_of(app.post("/query", json={"utterance": "hi"}, headers={"Authorization": f"Basic {TOKEN}"}), 401,
             "DDL715")
    error_of(app.post("/query", json={"utterance": "hi"}, headers={"Authorization": TOKEN}), 401, "DDL715")
    # every path, reads and unknown paths included: nothing is told to a client without the token
    for method, path in (("GET", "/health"), ("GET", "/stats"), ("GET", "/families"), ("POST", "/reload"),
                         ("POST", "/feedback"), ("GET", "/nope")):
        response = app.request(method, path, headers=JSON_TYPE)
        assert TOKEN not in response.text
        error_of(response, 401, "DDL715")
    assert handler.calls == []
    ok = app.post("/query", json={"utterance": "hi"}, headers={"Authorization": f"bearer  {TOKEN} "})
    assert ok.status_code == 200 and ok.json()["utterance"] == "hi"
    assert app.get("/health", headers=AUTH).status_code == 200
    assert handler.calls == [("handle", "hi")]


def test_without_a_token_loopback_requests_are_served() -> None:
    app = client(RecordingHandler())
    assert app.post("/query", json={"utterance": "hi"}).status_code == 200
    assert app.get("/health").json()["status"] == "ok"


def test_a_token_is_refused_unless_it_is_long_and_printable(tmp_path: Path) -> None:
    path = tmp_path / "token"
    for text, expected in (("", "empty"), ("short-secret", "at least 16"), ("has a space inside ok", "printable"),
                           ("tökentökentökentöken", "non-ASCII")):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(HandlerError) as caught:
            load_token(str(path), {})
        assert caught.value.code == "DDL718" and expected in caught.value.message
        assert not text or text not in caught.value.message  # the token is never shown
    with pytest.raises(HandlerError, match="cannot read the token file") as missing:
        load_token(str(tmp_path / "nope"), {})
    assert missing.value.code == "DDL718"


def test_token_sources_and_their_order(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n", encoding="ascii")
    path.chmod(0o600)
    env = {"DDL_SERVE_TOKEN": "e" * 20}
    assert load_token(str(path), {}) == (TOKEN, [])  # trailing newline dropped
    assert load_token(str(path), env)[0] == TOKEN  # --token-file beats the environment
    assert load_token(str(path), env, file_first=False)[0] == "e" * 20  # the environment beats the config file
    assert load_token(None, env)[0] == "e" * 20
    assert load_token(None, {}) == (None, [])
    path.chmod(0o644)
    token, warnings = load_token(str(path), {})
    assert token == TOKEN and warnings and "chmod 600" in warnings[0] and TOKEN not in warnings[0]


def test_beyond_loopback_a_token_is_required() -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2", "[::1]"):
        assert is_loopback(host)
        require_token_beyond_loopback(host, None)
    for host in ("0.0.0.0", "::", "10.0.0.5", "192.168.1.4", "ddl.example.org", ""):
        assert not is_loopback(host)
        with pytest.raises(HandlerError) as caught:
            require_token_beyond_loopback(host, None)
        assert caught.value.code == "DDL718" and "--token-file" in caught.value.message
        require_token_beyond_loopback(host, TOKEN)


def _ddl_serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    environ.update(PYTHONPATH=str(ROOT), LLM_USER_PATH=str(tmp_path / "llm"), **(env or {}))
    return subprocess.run([str(DDL), "serve", "examples", "--store", str(tmp_path / "s.sqlite3"), *args], cwd=ROOT,
                          env=environ, capture_output=True, text=True, timeout=120)


def test_ddl_serve_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    proc = _ddl_serve(tmp_path, "--host", "0.0.0.0", "--port", "0")
    assert proc.returncode == 2, proc.stderr
    assert "DDL718" in proc.stderr and "without a token" in proc.stderr and "--token-file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "s.sqlite3").exists()  # refused before anything was opened
    short = tmp_path / "token"
    short.write_text("tooshort-secret", encoding="ascii")
    proc = _ddl_serve(tmp_path, "--host", "0.0.0.0", "--port", "0", "--token-file", str(short))
    assert proc.returncode == 2 and "DDL718" in proc.stderr and "at least 16" in proc.stderr
    assert "tooshort-secret" not in proc.stderr
    proc = _ddl_serve(tmp_path, "--port", "0", "--log-file", str(tmp_path / "no" / "such" / "dir.log"))
    assert proc.returncode == 2 and "DDL718" in proc.stderr and "cannot write the log file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ddl_serve_with_a_token_file_end_to_end(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN, encoding="ascii")
    token_file.chmod(0o600)
    log_file = tmp_path / "serve.jsonl"
    families = tmp_path / "families"  # one family: starts in seconds (all of examples/ takes ten)
    families.mkdir()
    shutil.copy(ROOT / "examples" / "books.ddl", families / "books.ddl")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    environ.update(PYTHONPATH=str(ROOT), LLM_USER_PATH=str(tmp_path / "llm"))
    proc = subprocess.Popen(
        [str(DDL), "serve", str(families), "--port", "0", "--store", str(tmp_path / "s.sqlite3"), "--token-file",
         str(token_file), "--log-file", str(log_file)],
        cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, proc.kill)  # a server that never announces itself cannot hang the suite
    watchdog.start()
    try:
        assert proc.stderr is not None
        port = None
        for line in proc.stderr:
            if " on http://127.0.0.1:" in line:
                assert "token required" in line and TOKEN not in line
                port = int(line.split("127.0.0.1:")[1].split()[0])
                break
        assert port is not None, "ddl serve did not start"
        url = f"http://127.0.0.1:{port}"

        def post(headers: dict[str, str], body: bytes = json.dumps({"utterance": HIT}).encode()) -> tuple[int, Any]:
            request = urllib.request.Request(url + "/query", data=body, method="POST",
                                             headers={**JSON_TYPE, **headers})
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        return response.status, json.loads(response.read())
                except urllib.error.HTTPError as err:
                    return err.code, json.loads(err.read())
                except OSError:  # not accepting yet
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

        status, body = post({})
        assert status == 401 and body["error"]["code"] == "DDL715"
        status, body = post(AUTH)
        assert status == 200 and body["source"] == "deterministic"
        # a lone surrogate reaches the real handler and store no more: a 400 naming it, nothing half-recorded
        status, body = post(AUTH, b'{"utterance": "books \\ud800 please"}')
        assert status == 400 and "lone surrogate" in body["error"]["message"]
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0
    with open_store(str(tmp_path / "s.sqlite3")) as store:
        assert [q.utterance for q in store.queries()] == [HIT]
    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert [(r["path"], r["status"]) for r in requests] == [("/query", 401), ("/query", 200), ("/query", 400)]
    assert requests[0]["error"] == "DDL715" and isinstance(requests[1]["query_id"], int)
    text = log_file.read_text(encoding="utf-8")
    assert TOKEN not in text and HIT not in text


# ---------------------------------------------------------------------------- content type


def test_post_bodies_must_be_declared_json() -> None:
    handler = RecordingHandler()
    app = client(handler)
    body = json.dumps({"utterance": "hi"})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/jsonx", "text/json"):
        message = error_of(app.post("/query", content=body, headers={"Content-Type": content_type}), 415)
        assert content_type.split(";")[0] in message and "application/json" in message
    assert "missing Content-Type" in error_of(app.post("/query", content=body), 415)
    assert "UTF-8" in error_of(app.post("/query", content=body,
                                        headers={"Content-Type": "application/json; charset=latin-1"}), 415)
    for path, payload in (("/feedback", {"id": 1, "verdict": "accept"}), ("/reload", {})):
        error_of(app.post(path, content=json.dumps(payload), headers={"Content-Type": "text/plain"}), 415)
        error_of(app.post(path, content=json.dumps(payload)), 415)
    assert handler.calls == []
    assert app.post("/query", content=body, headers={"Content-Type": "Application/JSON; charset=UTF-8"}).status_code \
        == 200
    assert app.post("/reload", headers=JSON_TYPE).status_code == 200  # an empty body is fine for /reload
    assert app.post("/reload", json={}).status_code == 200
    error_of(app.post("/reload", json={"force": True}), 422)
    assert [name for name, _ in handler.calls] == ["handle", "reload", "reload"]


# ---------------------------------------------------------------------------- Origin and Host


def test_cross_site_requests_are_refused() -> None:
    handler = RecordingHandler()
    app = client(handler)
    for origin in ("https://evil.example", "http://127.0.0.1:9999", "http://localhost", "null",
                   "http://127.0.0.1:8000.evil.example"):
        message = error_of(app.post("/feedback", json={"id": 1, "verdict": "reject"}, headers={"Origin": origin}),
                           403, "DDL716")
        assert "Origin" in message and "--allow-origin" in message
        error_of(app.post("/reload", json={}, headers={"Origin": origin}), 403, "DDL716")
        error_of(app.get("/stats", headers={"Origin": origin}), 403, "DDL716")
    assert handler.calls == []
    # the server's own origin, and no Origin at all (curl, scripts), are served
    assert app.post("/query", json={"utterance": "hi"}, headers={"Origin": "http://127.0.0.1:8000"}).status_code == 200
    assert app.post("/query", json={"utterance": "hi"}).status_code == 200
    allowed = client(handler, allowed_origins=(normalize_origin("https://App.Example.org:443"),))
    assert allowed.get("/stats", headers={"Origin": "https://app.example.org"}).status_code == 200
    error_of(allowed.get("/stats", headers={"Origin": "https://app.example.org:8443"}), 403, "DDL716")


def test_dns_rebinding_is_refused_by_the_host_check() -> None:
    handler = RecordingHandler()
    app = client(handler)
    for host in ("evil.example:8000", "evil.example", "127.0.0.1.evil.example:8000", "localhost.evil.example"):
        message = error_of(app.get("/stats", headers={"Host": host}), 403, "DDL716")
        assert "Host" in message and "--allow-host" in message
        error_of(app.post("/query", json={"utterance": "hi"}, headers={"Host": host}), 403, "DDL716")
    assert handler.calls == []
    for host in ("127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000"):
        assert app.get("/health", headers={"Host": host}).status_code == 200, host
    named = client(handler, allowed_hosts=("ddl.example.org",))
    assert named.get("/health", headers={"Host": "ddl.example.org"}).status_code == 200
    assert named.get("/health", headers={"Host": "DDL.example.org.:443"}).status_code == 200
    error_of(named.get("/health", headers={"Host": "evil.example"}), 403, "DDL716")
    # bound to one address: only that address (and the allowed names) is this server
    bound = client(handler, bind_host="10.1.2.3", token=TOKEN)
    assert bound.get("/health", headers={"Host": "10.1.2.3:8000", **AUTH}).status_code == 200
    error_of(bound.get("/health", headers={"Host": "localhost:8000", **AUTH}), 403, "DDL716")
    anywhere = client(handler, bind_host="0.0.0.0", token=TOKEN, allowed_hosts=("*",))
    assert anywhere.get("/health", headers={"Host": "whatever.example", **AUTH}).status_code == 200


def test_the_host_check_comes_before_the_token() -> None:
    app = client(RecordingHandler(), token=TOKEN)
    error_of(app.get("/stats", headers={"Host": "evil.example", **AUTH}), 403, "DDL716")


def test_health_never_shows_a_store_password() -> None:
    assert shown_store("postgresql://ddl:hunter2@db.internal:5432/ledger") == "postgresql://ddl:***@db.internal:5432/ledger"
    assert shown_store("/var/lib/ddl/ledger.sqlite3") == "/var/lib/ddl/ledger.sqlite3"
    assert shown_store(None) is None

    class WithStore(RecordingHandler):
        class store:  # noqa: N801 - mimics the handler's store attribute
            url = "postgresql://ddl:hunter2@db.internal/ledger"

    body = client(WithStore()).get("/health").json()
    assert "hunter2" not in json.dumps(body) and body["store"] == "postgresql://ddl:***@db.internal/ledger"


# ---------------------------------------------------------------------------- settings


def test_serve_settings_from_the_config_file_and_flags(tmp_path: Path) -> None:
    config = tmp_path / "ddl.toml"
    config.write_text('[serve]\ntoken_file = "token"\nallowed_hosts = ["DDL.example.org."]\n'
                      'allowed_origins = ["https://app.example.org:443"]\nheader_timeout = 5\nlog_utterances = true\n',
                      encoding="utf-8")
    settings = load_serve_settings(config)
    assert settings == ServeSettings(token_file=str(tmp_path / "token"), allowed_hosts=("ddl.example.org",),
                                     allowed_origins=("https://app.example.org",), header_timeout=5.0,
                                     log_utterances=True)
    flagged = resolve_serve_settings(settings, allowed_hosts=["a.example"], body_timeout=2)
    assert flagged.allowed_hosts == ("a.example",) and flagged.body_timeout == 2.0
    for bad, expected in (('allowed_origins = ["https://x.example/path"]', "not an origin"),
                          ('allowed_hosts = ["bad host"]', "not a host"),
                          ("header_timeout = 0", "positive number"), ("tokenfile = 'x'", "unknown key [serve].tokenfile"),
                          ('log_utterances = "yes"', "true or false")):
        config.write_text(f"[serve]\n{bad}\n", encoding="utf-8")
        with pytest.raises(HandlerError, match="ddl.toml") as caught:
            load_serve_settings(config)
        assert expected in caught.value.message and caught.value.code == "DDL705"


# ---------------------------------------------------------------------------- the log


def _lines(buffer: Any) -> list[dict[str, Any]]:
    text = buffer.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_every_request_is_one_json_log_line_without_token_or_utterance() -> None:
    logger, buffer = capture_log()
    app = client(RecordingHandler(), token=TOKEN, logger=logger)
    secret_utterance = "my bank pin is 4321"
    app.post("/query", json={"utterance": secret_utterance}, headers=AUTH)
    app.post("/query", json={"utterance": secret_utterance}, headers={"Authorization": "Bearer not-the-token-xyz"})
    app.post("/feedback", json={"id": 1, "verdict": "accept"}, headers=AUTH)
    app.get("/nope", headers=AUTH)
    app.get("/stats", headers={"Origin": "https://evil.example", **AUTH})
    lines = _lines(buffer)
    assert [(x["method"], x["path"], x["status"], x["query_id"], x.get("error")) for x in lines] == [
        ("POST", "/query", 200, 1, None), ("POST", "/query", 401, None, "DDL715"),
        ("POST", "/feedback", 201, 1, None), ("GET", "/nope", 404, None, "DDL705"),
        ("GET", "/stats", 403, None, "DDL716")]
    for line in lines:
        assert {"time", "level", "method", "path", "status", "duration_ms", "query_id"} <= set(line)
        assert line["time"].endswith("Z") and isinstance(line["duration_ms"], float) and "utterance" not in line
    text = buffer.getvalue()
    assert TOKEN not in text and "not-the-token-xyz" not in text and secret_utterance not in text


def test_utterances_are_logged_only_when_asked_and_always_as_one_line() -> None:
    logger, buffer = capture_log()
    app = client(RecordingHandler(), logger=logger, log_utterances=True)
    hostile = 'two\nlines "quoted" \u2028 and \x1b[31m'
    assert app.post("/query", json={"utterance": hostile}).status_code == 200
    (line,) = _lines(buffer)
    assert line["utterance"] == hostile and line["query_id"] == 1


def test_an_internal_error_is_logged_as_a_500() -> None:
    class Broken(RecordingHandler):
        def stats(self) -> dict[str, Any]:
            raise RuntimeError("boom")

    logger, buffer = capture_log()
    response = client(Broken(), logger=logger).get("/stats")
    assert "boom" in error_of(response, 500, "DDL999")
    (line,) = _lines(buffer)
    assert (line["status"], line["error"], line["level"]) == (500, "DDL999", "warning")


# ---------------------------------------------------------------------------- slow clients (the real server)


def test_a_connection_that_never_finishes_its_headers_is_closed(tmp_path: Path) -> None:
    log_file = tmp_path / "serve.jsonl"
    settings = ServeSettings(header_timeout=1.0, log_file=str(log_file))
    with live_server(RecordingHandler(), settings) as server:
        with server.connect() as stalled:
            stalled.sendall(b"POST /query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")
            assert read_until_closed(stalled, deadline_seconds=30) == b""
        # trickling bytes does not reset the clock: the deadline is for the whole header block
        with server.connect() as trickling:
            trickling.settimeout(0.2)
            closed = False
            for i in range(150):  # at most 30 s of one byte every 0.2 s
                try:
                    trickling.sendall(b"GET /stats HTTP/1.1\r\n"[i % 20:i % 20 + 1] if i < 20 else b"X")
                    if trickling.recv(1) == b"":
                        closed = True
                        break
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
            assert closed, "a client trickling its headers kept the connection for 30 s"
        # the server is still serving everybody else
        status, body = server.request("POST", "/query", json.dumps({"utterance": "hi"}).encode(), JSON_TYPE)
        assert status == 200 and body["utterance"] == "hi"
    events = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert [e["event"] for e in events if e.get("event") == "header_timeout"] == ["header_timeout", "header_timeout"]
    assert all("time" in e and "level" in e for e in events)  # uvicorn's own lines are JSON too


def test_a_body_that_does_not_arrive_in_time_is_408_and_closed() -> None:
    handler = RecordingHandler()
    with live_server(handler, ServeSettings(body_timeout=1.0)) as server:
        with server.connect() as slow:
            slow.sendall(f"POST /query HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
                         "Content-Length: 100\r\n\r\n{\"utterance\": ".encode())
            reply = read_until_closed(slow, deadline_seconds=30)
        status_line, _, rest = reply.partition(b"\r\n")
        assert status_line.split()[1] == b"408", reply
        body = json.loads(rest.partition(b"\r\n\r\n")[2])
        assert body["error"]["code"] == "DDL717" and "body" in body["error"]["message"]
        assert handler.calls == []


def test_the_real_server_refuses_60000_nested_brackets_with_a_400() -> None:
    with live_server(RecordingHandler(), ServeSettings()) as server:
        status, body = server.request("POST", "/query", b"[" * 60_000, JSON_TYPE)
        assert status == 400 and body["error"]["code"] == "DDL705" and "nested" in body["error"]["message"]
        status, body = server.request("GET", "/health")
        assert status == 200
