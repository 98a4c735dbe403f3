"""Reliability: hostile JSON to the service (issue 15, items 5 and 7).

Every body here reaches the real app (Starlette's TestClient, the Guard and the access log
included) and must get a 4xx with a JSON error naming the problem -- never a 500, never a traceback,
and never a call into the handler, so nothing is answered that is not then recorded.  The seeded
mutation run at the end throws a few hundred damaged bodies at every POST endpoint.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from service_helpers import JSON_TYPE, RecordingHandler, client, error_of

from ddl.handler.service import DEFAULT_MAX_BODY, MAX_JSON_DEPTH, json_depth


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


def post(app: Any, path: str, raw: bytes | str) -> Any:
    return app.post(path, content=raw, headers=JSON_TYPE)


def test_60000_nested_brackets_are_a_400_not_a_recursion_error(handler: RecordingHandler) -> None:
    app = client(handler)
    deep = b"[" * 60_000
    assert len(deep) < DEFAULT_MAX_BODY  # under the size limit: only the nesting is wrong
    for body in (deep, b"[" * 30_000 + b"]" * 30_000, b'{"utterance": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
                 b"{" * 60_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
        for path in ("/query", "/feedback", "/reload"):
            message = error_of(post(app, path, body), 400)
            assert "nested" in message and str(MAX_JSON_DEPTH) in message
    assert handler.calls == []


def test_nesting_is_measured_outside_strings_only(handler: RecordingHandler) -> None:
    assert json_depth(b'{"a": [[1], {"b": []}]}') == 4
    assert json_depth(b'{"utterance": "[[[[{{{{ \\" [[["}') == 1
    assert json_depth(b"") == 0
    app = client(handler)
    text = "[" * 5000 + '"\\' + "{" * 5000
    response = app.post("/query", json={"utterance": text[:4000]})
    assert response.status_code == 200 and response.json()["utterance"] == text[:4000]
    # at the limit the body parses and is then simply the wrong shape; one deeper is refused unparsed
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    error_of(post(app, "/query", at_limit), 422)
    error_of(post(app, "/query", "[" + at_limit + "]"), 400)


def test_a_lone_surrogate_is_a_400_naming_it_and_nothing_is_answered(handler: RecordingHandler) -> None:
    app = client(handler)
    for escaped, shown in (('"\\ud800"', "\\ud800"), ('"weather in \\udfff paris"', "\\udfff"),
                           ('"\\ude00\\ud83d"', "\\ude00")):
        message = error_of(post(app, "/query", '{"utterance": ' + escaped + "}"), 400)
        assert "lone surrogate" in message and shown in message and "utterance" in message
        message = error_of(post(app, "/feedback", '{"id": 1, "verdict": "reject", "correction": ' + escaped + "}"),
                           400)
        assert "lone surrogate" in message and "correction" in message
    assert handler.calls == []
    # a surrogate *pair* is one character, and fine
    response = post(app, "/query", '{"utterance": "books \\ud83d\\ude00"}')
    assert response.status_code == 200 and response.json()["utterance"] == "books \U0001f600"
    assert handler.calls == [("handle", "books \U0001f600")]


@pytest.mark.parametrize("body", ["[]", '"hello"', "1", "null", "true", "[{\"utterance\": \"hi\"}]"])
def test_a_body_that_is_not_an_object_is_refused(handler: RecordingHandler, body: str) -> None:
    app = client(handler)
    for path in ("/query", "/feedback", "/reload"):
        assert "expected a JSON object" in error_of(post(app, path, body), 422)
    assert handler.calls == []


def test_wrong_types_are_422_naming_the_field(handler: RecordingHandler) -> None:
    app = client(handler)
    for value in (5, 1.5, None, True, ["hi"], {"text": "hi"}):
        assert "utterance must be a string" in error_of(app.post("/query", json={"utterance": value}), 422)
    for value in ("1", 1.0, 0, -3, True, None, [1], 2**63, 10**30):
        assert "id must be a positive integer" in error_of(
            app.post("/feedback", json={"id": value, "verdict": "accept"}), 422)
    for value in ("ACCEPT", "", 1, None):
        assert "verdict" in error_of(app.post("/feedback", json={"id": 1, "verdict": value}), 422)
    assert "correction" in error_of(app.post("/feedback", json={"id": 1, "verdict": "accept", "correction": 3}), 422)
    assert handler.calls == []


def test_numbers_and_constants_json_cannot_hold_are_400(handler: RecordingHandler) -> None:
    app = client(handler)
    for raw in ('{"id": NaN, "verdict": "accept"}', '{"id": Infinity, "verdict": "accept"}',
                '{"id": -Infinity, "verdict": "accept"}', '{"id": ' + "9" * 5000 + ', "verdict": "accept"}'):
        assert "invalid JSON" in error_of(post(app, "/feedback", raw), 400)
    # a float too large to represent becomes infinity, which is no query id
    error_of(post(app, "/feedback", '{"id": 1e400, "verdict": "accept"}'), 422)
    assert handler.calls == []


def test_duplicate_keys_are_refused(handler: RecordingHandler) -> None:
    app = client(handler)
    message = error_of(post(app, "/query", '{"utterance": "harmless", "utterance": "other"}'), 400)
    assert "duplicate key" in message and "utterance" in message
    assert handler.calls == []


def test_huge_strings_are_413(handler: RecordingHandler) -> None:
    app = client(handler)
    assert "4096" in error_of(app.post("/query", json={"utterance": "x" * 60_000}), 413)
    assert "65536" in error_of(app.post("/query", json={"utterance": "x" * 70_000}), 413)
    assert "65536" in error_of(app.post("/feedback", json={"id": 1, "verdict": "reject", "correction": "y" * 70_000}),
                               413)
    huge_key = json.dumps({"k" * 60_000: 1})
    message = error_of(post(app, "/query", huge_key), 422)
    assert len(message) < 200  # the unknown field is named, not echoed whole
    assert handler.calls == []


def test_bytes_that_are_not_utf8_json_are_400(handler: RecordingHandler) -> None:
    app = client(handler)
    for raw in (b"\xff\xfe{\x00}\x00", b'{"utterance": "\xff"}', b"\xef\xbb\xbf{}", b"{\"utterance\": \"hi\"", b"{'a': 1}",
                b"\x00", b"  \n\t ", b'{"utterance": "hi"} trailing'):
        error_of(post(app, "/query", raw), 400)
    assert handler.calls == []


def _mutations(seed: int, count: int) -> list[bytes]:
    """Valid bodies damaged at random: bytes flipped, deleted, duplicated, brackets and escapes inserted."""
    rng = random.Random(seed)
    valid = [json.dumps({"utterance": "suggest 3 mystery books from the 1950s"}).encode(),
             json.dumps({"id": 7, "verdict": "reject", "correction": "I meant the 1960s"}).encode(),
             b"{}"]
    pieces = [b"[", b"{", b"]", b"}", b'"', b"\\", b"\\u", b"\\ud800", b"\\udc00", b"\x00", b"\xff", b"\xc3",
              b"1e999", b"-", b"NaN", b",", b":", b"null", b"9" * 50]
    bodies = []
    for _ in range(count):
        body = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(body) + 1)
            action = rng.randrange(4)
            if action == 0 and body:
                del body[min(at, len(body) - 1)]
            elif action == 1:
                body[at:at] = rng.choice(pieces) * rng.choice([1, 1, 2, 40, 2000])
            elif action == 2 and body:
                body[min(at, len(body) - 1)] = rng.randrange(256)
            else:
                body[at:at] = body[: rng.randrange(len(body) + 1)]
        bodies.append(bytes(body))
    return bodies


def test_mutated_bodies_never_crash_the_service(handler: RecordingHandler) -> None:
    app = client(handler)
    statuses: dict[int, int] = {}
    for i, body in enumerate(_mutations(seed=15, count=300)):
        path = ("/query", "/feedback", "/reload")[i % 3]
        response = post(app, path, body)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code in (200, 201, 400, 404, 413, 422), (path, body[:200], response.text[:300])
        payload = response.json()
        if response.status_code >= 400:
            assert set(payload) == {"error"} and payload["error"]["code"] in ("DDL705", "DDL706"), payload
    assert statuses.get(400, 0) > 50  # the mutations did reach the parser's refusals
    assert app.get("/health").status_code == 200
