"""The OpenAPI document of ``ddl serve``: valid, complete, and true of the running app.

Neither ``jsonschema`` nor ``openapi-spec-validator`` is installed, so the structure OpenAPI 3.1
requires is asserted here, and responses are checked by a small JSON Schema validator that knows
exactly the keywords the document uses and refuses any other (so it can never pass by ignoring a
keyword).  The app is the real one (make_app) around a real Handler of one family, driven by
Starlette's TestClient; handlers that fail on purpose produce the 5xx and the 404 of /reload.
Every documented (method, path, status) is produced at least once, and every produced response is
validated against the schema documented for its status.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import llm
import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from ddl.handler.config import HandlerConfig
from ddl.handler.handler import Handler
from ddl.handler.openapi import ENDPOINTS, OPENAPI_PATH, openapi_document
from ddl.handler.records import HandlerError
from ddl.handler.registry import Registry
from ddl.handler.service import make_app
from ddl.handler.store import open_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fakellm"))
import ddl_fake_llm  # noqa: E402
from service_helpers import BASE_URL, JSON_TYPE, TOKEN  # noqa: E402

HIT = "suggest 3 mystery books from the 1950s"
MISS = "write me a haiku about rain"
MAX_UTTERANCE = 200


# ------------------------------------------------------------------ a small JSON Schema validator

KNOWN_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
                  "$ref", "minimum", "maximum", "minLength", "maxLength", "pattern", "description"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def problems(schema: dict[str, Any], value: Any, document: dict[str, Any], where: str = "$") -> list[str]:
    """Why ``value`` does not conform to ``schema`` (empty: it conforms)."""
    unknown = set(schema) - KNOWN_KEYWORDS
    assert not unknown, f"the validator does not know {sorted(unknown)} (at {where})"
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return problems(document["components"]["schemas"][name], value, document, where)
    found: list[str] = []
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[kind](value) for kind in kinds):
            return [f"{where}: {json.dumps(value)[:60]} is not of type {kinds}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "anyOf" in schema and all(problems(s, value, document, where) for s in schema["anyOf"]):
        found.append(f"{where}: {json.dumps(value)[:60]} matches none of anyOf")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{where}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            found.append(f"{where}: a string of length {len(value)} is outside the documented length")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        found += [f"{where}: missing {name!r}" for name in schema.get("required", []) if name not in value]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                found += problems(properties[name], item, document, f"{where}.{name}")
            elif extra is False:
                found.append(f"{where}: undocumented field {name!r}")
            elif isinstance(extra, dict):
                found += problems(extra, item, document, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(schema["items"], item, document, f"{where}[{i}]")
    return found


def test_the_validator_refuses_what_it_should() -> None:
    """The validator is the test's instrument: show that it fails on wrong values."""
    document = openapi_document(max_utterance=10, token_required=False)
    error = {"$ref": "#/components/schemas/Error"}
    assert problems(error, {"error": {"code": "DDL705", "message": "m"}}, document) == []
    assert problems(error, {"error": {"code": "DDL705"}}, document) == ["$.error: missing 'message'"]
    assert problems(error, {"error": {"code": "E1", "message": "m"}}, document)  # pattern
    assert problems(error, {"error": {"code": "DDL705", "message": "m"}, "x": 1}, document)  # undocumented field
    request = {"$ref": "#/components/schemas/QueryRequest"}
    assert problems(request, {"utterance": "x" * 11}, document)  # maxLength
    assert problems({"$ref": "#/components/schemas/FeedbackRequest"}, {"id": True, "verdict": "accept"}, document)
    with pytest.raises(AssertionError, match="does not know"):
        problems({"oneOf": []}, 1, document)


# ------------------------------------------------------------------------------ the document


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object of a schema, nested ones included."""
    yield node
    for key in ("properties",):
        for sub in node.get(key, {}).values():
            yield from schemas_in(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from schemas_in(node[key])
    for sub in node.get("anyOf", []):
        yield from schemas_in(sub)


@pytest.mark.parametrize("token_required", [False, True])
def test_the_document_has_the_structure_openapi_3_1_requires(token_required: bool) -> None:
    document = openapi_document(max_utterance=MAX_UTTERANCE, token_required=token_required)
    assert json.loads(json.dumps(document)) == document  # plain JSON
    assert document["openapi"] == "3.1.0"
    assert isinstance(document["info"]["title"], str) and isinstance(document["info"]["version"], str)
    operation_ids = []
    for path, item in document["paths"].items():
        assert path.startswith("/") and item
        for method, operation in item.items():
            assert method in {"get", "post", "put", "delete", "patch", "head", "options", "trace"}
            operation_ids.append(operation["operationId"])
            assert operation["summary"] and operation["responses"]
            for status, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), status
                assert response["description"]
                assert set(response["content"]) == {"application/json"}
                assert set(response["content"]["application/json"]) == {"schema"}
                if status[0] in "45":  # every error body is the one error shape
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            if "requestBody" in operation:
                assert method == "post" and isinstance(operation["requestBody"]["required"], bool)
                assert set(operation["requestBody"]["content"]) == {"application/json"}
    assert len(operation_ids) == len(set(operation_ids))
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/") and ref.removeprefix("#/components/schemas/") in schemas, ref
    for name, schema in schemas.items():
        for sub in schemas_in(schema):
            assert set(sub) <= KNOWN_KEYWORDS, (name, sorted(set(sub) - KNOWN_KEYWORDS))
            for kind in sub.get("type", []) if isinstance(sub.get("type"), list) else [sub.get("type")]:
                assert kind is None or kind in TYPES, (name, kind)
            assert all(field in sub.get("properties", {}) for field in sub.get("required", [])), name
    if token_required:
        assert document["security"] == [{"bearer": []}]
        assert document["components"]["securitySchemes"]["bearer"] == {
            **document["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    else:
        assert "security" not in document


# ------------------------------------------------------------------------------ the running app


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    directory = tmp_path_factory.mktemp("families")
    shutil.copy(ROOT / "examples" / "books.ddl", directory)
    return Registry.load(directory, cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture
def handler(registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Handler]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    llm.plugins.pm.register(ddl_fake_llm.FakeModels(), name="ddl-test-fakes")
    store = open_store(tmp_path / "ledger.sqlite3")
    with Handler(registry, store, HandlerConfig(model="fake-echo", extract=False, max_utterance=MAX_UTTERANCE)) as h:
        yield h
    llm.plugins.pm.unregister(name="ddl-test-fakes")


class Failing:
    """A handler whose every call raises ``error``: the 5xx of each path."""

    thread_safe = True

    def __init__(self, error: Exception, *, can_reload: bool = True) -> None:
        self.error = error
        if can_reload:
            self.reload = self.fail

    def fail(self, *args: Any) -> Any:
        raise self.error

    handle = feedback = families = stats = fail


def test_the_app_serves_exactly_the_documented_routes(handler: Handler) -> None:
    app = make_app(handler)
    served = {(route.path, method) for route in app.routes if isinstance(route, Route)
              for method in route.methods or () if method != "HEAD"}  # Starlette answers HEAD with every GET
    documented = {(path, method.upper()) for path, item in
                  openapi_document(max_utterance=MAX_UTTERANCE, token_required=False)["paths"].items()
                  for method in item}
    assert served == documented
    assert all(isinstance(route, Route) for route in app.routes)


async def stalled_body(app: Any, method: str, path: str) -> tuple[int, Any]:
    """(status, JSON body) of a request whose body sends ``{`` and then nothing (an in-process ASGI call)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000)}
    sent = False
    reply: dict[str, Any] = {"status": 0, "body": bytearray()}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await anyio.sleep(3600)  # the client stalls; the server's body timeout ends the wait
        sent = True
        return {"type": "http.request", "body": b"{", "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            reply["status"] = message["status"]
        elif message["type"] == "http.response.body":
            reply["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return reply["status"], json.loads(bytes(reply["body"]))


def test_every_documented_response_is_what_the_app_sends(handler: Handler) -> None:
    document = openapi_document(max_utterance=MAX_UTTERANCE, token_required=False)
    documented = {(e.method, e.path, status) for e in ENDPOINTS for status in e.responses}
    seen: set[tuple[str, str, int]] = set()

    def conforms(method: str, path: str, status: int, body: Any, doc: dict[str, Any] = document) -> Any:
        operation = doc["paths"][path][method.lower()]
        schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        assert problems(schema, body, doc) == [], (method, path, status, body)
        seen.add((method, path, status))
        return body

    def check(client: TestClient, method: str, path: str, status: int, doc: dict[str, Any] = document,
              **request: Any) -> Any:
        response = client.request(method, path, **request)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"
        return conforms(method, path, status, response.json(), doc)

    app = TestClient(make_app(handler), base_url=BASE_URL, raise_server_exceptions=False)
    post = {"headers": JSON_TYPE}
    # successes: a family's answer, the model's, and the model's failure, each a documented Answer
    hit = check(app, "POST", "/query", 200, json={"utterance": HIT})
    assert hit["source"] == "deterministic" and hit["family"] == "recommend_books"
    assert check(app, "POST", "/query", 200, json={"utterance": MISS})["source"] == "llm"
    check(app, "POST", "/feedback", 201, json={"id": hit["id"], "verdict": "reject", "correction": "1960s"})
    check(app, "POST", "/feedback", 201, json={"id": hit["id"], "verdict": "accept"})
    assert check(app, "GET", "/stats", 200)["queries"] == 2
    assert check(app, "GET", "/families", 200)["served"][0]["name"] == "recommend_books"
    assert check(app, "GET", "/health", 200)["families"] == 1
    check(app, "POST", "/reload", 200, content=b"", **post)
    check(app, "POST", "/reload", 200, json={})
    assert check(app, "GET", OPENAPI_PATH, 200) == document
    # what every path refuses: a foreign Host (403)
    for e in ENDPOINTS:
        check(app, e.method, e.path, 403, headers={"Host": "evil.example"})
        wrong_method = app.request("PUT", e.path)  # no operation of the path: the info's description says 405
        assert wrong_method.status_code == 405 and e.method in wrong_method.headers["allow"]
        assert problems({"$ref": "#/components/schemas/Error"}, wrong_method.json(), document) == []
        if e.body is None:
            continue
        check(app, e.method, e.path, 400, content=b"{", **post)
        check(app, e.method, e.path, 413, content=b" " * (64 * 1024 + 1), **post)
        check(app, e.method, e.path, 415, content=b"{}", headers={"Content-Type": "text/plain"})
        check(app, e.method, e.path, 422, json=[1])
    check(app, "POST", "/query", 413, json={"utterance": "x" * (MAX_UTTERANCE + 1)})
    check(app, "POST", "/feedback", 404, json={"id": 999, "verdict": "accept"})
    # a body that stops arriving: refused after the body timeout
    slow = make_app(handler, body_timeout=0.05)
    for e in ENDPOINTS:
        if e.body is not None:
            status, body = anyio.run(stalled_body, slow, e.method, e.path)
            assert status == 408
            conforms(e.method, e.path, 408, body)
    # with a token, every path wants it (and the document says so)
    secured = TestClient(make_app(handler, token=TOKEN), base_url=BASE_URL, raise_server_exceptions=False)
    secured_document = openapi_document(max_utterance=MAX_UTTERANCE, token_required=True)
    for e in ENDPOINTS:
        check(secured, e.method, e.path, 401, secured_document)
    assert secured.get(OPENAPI_PATH, headers={"Authorization": f"Bearer {TOKEN}"}).json() == secured_document
    # a store that fails (503), a bug (500), a handler that cannot reload (404)
    no_store = TestClient(make_app(Failing(HandlerError("the store is gone", "DDL702")), max_utterance=MAX_UTTERANCE),
                          base_url=BASE_URL, raise_server_exceptions=False)
    broken = TestClient(make_app(Failing(RuntimeError("a bug")), max_utterance=MAX_UTTERANCE), base_url=BASE_URL,
                        raise_server_exceptions=False)
    bodies = {"/query": {"utterance": HIT}, "/feedback": {"id": 1, "verdict": "accept"}, "/reload": {}}
    for e in ENDPOINTS:
        request = {"json": bodies[e.path]} if e.body is not None else {}
        if 503 in e.responses:
            check(no_store, e.method, e.path, 503, **request)
        if 500 in e.responses:
            check(broken, e.method, e.path, 500, **request)
    cannot_reload = TestClient(make_app(Failing(RuntimeError("unused"), can_reload=False), max_utterance=10),
                               base_url=BASE_URL, raise_server_exceptions=False)
    check(cannot_reload, "POST", "/reload", 404, json={})
    assert seen == documented, {"documented, never produced": documented - seen, "undocumented": seen - documented}


def test_an_unknown_path_names_the_documented_endpoints(handler: Handler) -> None:
    app = TestClient(make_app(handler), base_url=BASE_URL, raise_server_exceptions=False)
    response = app.get("/nope")
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert all(e.path in message for e in ENDPOINTS), message
