"""The HTTP API of ``ddl serve`` as one table, and the OpenAPI 3.1 document built from it.

:data:`ENDPOINTS` is the single source of truth: :func:`ddl.handler.service.make_app` builds its
routes from it (a route the table does not name cannot be served, an operation the app does not
implement fails when the app is built), and :func:`openapi_document` describes exactly those
routes, with their request bodies, responses, status codes and error bodies.  The response schemas
of records and statistics are derived from the attrs classes the handler serializes
(:class:`~ddl.handler.records.QueryRecord`, :class:`~ddl.handler.records.FeedbackRecord`,
:class:`~ddl.handler.stats.Stats`), so a field added there appears here.
``tests/test_openapi.py`` checks the document's structure and that real responses of the app,
every documented status of every path, conform to it.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import attrs

from ddl.handler.records import SOURCES, VERDICTS, FeedbackRecord, QueryRecord
from ddl.handler.stats import Stats
from ddl.version import __version__

OPENAPI_VERSION = "3.1.0"
OPENAPI_PATH = "/openapi.json"
MAX_QUERY_ID = 2**63 - 1  # the largest id a ledger can hold (SQLite and PostgreSQL bigint)
JSON_MEDIA = "application/json"
REF = "#/components/schemas/"

Schema = dict[str, Any]


@attrs.frozen
class Endpoint:
    """One route: ``operation`` names the function of make_app that serves it; ``responses`` maps each
    status it can answer to (description, schema name in the components); ``body`` is the name of
    its request body's schema (None: no body), ``body_optional`` when an empty body is accepted."""

    method: str
    path: str
    operation: str
    summary: str
    responses: dict[int, tuple[str, str]]
    body: str | None = None
    body_optional: bool = False


# Refusals any route can answer: the Guard's (Host, Origin, token).  A method a path does not have (405) is
# not a response of that path's operations; the document's description says it.
_GUARDED: dict[int, tuple[str, str]] = {
    401: ("missing or wrong bearer token (DDL715), when the server has a token; with `WWW-Authenticate: Bearer`",
          "Error"),
    403: ("a `Host` or `Origin` header that is not this server's or an allowed one (DDL716)", "Error"),
}
_INTERNAL: dict[int, tuple[str, str]] = {500: ("an internal error (DDL999): a bug, reported with its type", "Error")}
# What a JSON body can be refused for before the handler sees it.
_BODY: dict[int, tuple[str, str]] = {
    400: ("malformed JSON: invalid syntax or UTF-8, NaN/Infinity, an integer past 4,300 digits, a duplicate key, "
          "nesting deeper than 32 levels, a lone surrogate in a string (DDL705)", "Error"),
    408: ("the body did not arrive within the body timeout (DDL717); the connection is closed", "Error"),
    413: ("a body over the limit (default 64 KiB), or an utterance over `max_utterance` (DDL705)", "Error"),
    415: ("a POST body not declared `Content-Type: application/json` (UTF-8) (DDL705)", "Error"),
    422: ("a body of the wrong shape: not an object, missing or unknown fields, wrong types (DDL705)", "Error"),
}
_STORE = {503: ("the store cannot be opened, read or written, or none is configured (DDL702)", "Error")}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/query", "query", "Answer one utterance: a served family, else the fallback model",
             {200: ("the answer, as `ddl handle --format json` prints it; a miss or a model failure is a 200 "
                    "whose `source` and `error` say so", "Answer"),
              **_GUARDED, **_BODY, **_STORE, **_INTERNAL}, body="QueryRequest"),
    Endpoint("POST", "/feedback", "feedback", "Record a verdict (and a correction) on one answered query",
             {201: ("the feedback record, with the query's utterance, family, version, θ and source", "Feedback"),
              404: ("no query with this id in the ledger (DDL706)", "Error"),
              **_GUARDED, **_BODY, **_STORE, **_INTERNAL}, body="FeedbackRequest"),
    Endpoint("GET", "/stats", "stats", "The ledger's statistics: coverage, tokens, cost and savings",
             {200: ("the statistics, as `ddl stats --format json` prints them", "Stats"),
              **_GUARDED, **_STORE, **_INTERNAL}),
    Endpoint("GET", "/families", "families", "The served and the rejected families",
             {200: ("the served families and the rejected ones with their reasons", "Families"),
              **_GUARDED, **_INTERNAL}),
    Endpoint("GET", "/health", "health", "Liveness: the number of served families and the store",
             {200: ("the service is up", "Health"), **_GUARDED, **_INTERNAL}),
    Endpoint("POST", "/reload", "reload", "Load the directory again (unchanged files' checks are cached) and serve it",
             {200: ("the families after the reload", "Families"),
              404: ("this handler cannot reload (DDL705)", "Error"),
              **_GUARDED, **_BODY, **_INTERNAL}, body="ReloadRequest", body_optional=True),
    Endpoint("GET", OPENAPI_PATH, "openapi", "This document: the OpenAPI 3.1 description of the service",
             {200: ("the OpenAPI document", "OpenAPIDocument"), **_GUARDED}),
)


def endpoint_list() -> str:
    """The paths, for the message of a 404."""
    return ", ".join(endpoint.path for endpoint in ENDPOINTS)


# ------------------------------------------------------------------------------ schemas of records


def _nullable(schema: Schema) -> Schema:
    if not schema:
        return schema  # any JSON value already includes null
    kind = schema.get("type")
    if isinstance(kind, str) and set(schema) <= {"type", "additionalProperties", "items"}:
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def schema_of_type(annotation: Any) -> Schema:
    """The JSON Schema of a field type of the records (the types attrs.asdict turns into JSON)."""
    if annotation is Any:
        return {}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer"}
    if annotation is float:
        return {"type": "number"}
    if annotation is str:
        return {"type": "string"}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        inner = schema_of_type(present[0]) if len(present) == 1 else {"anyOf": [schema_of_type(a) for a in present]}
        return _nullable(inner) if len(present) < len(args) else inner
    if origin is dict and args and args[0] is str:
        return {"type": "object", "additionalProperties": schema_of_type(args[1])}
    if origin in (list, tuple):
        return {"type": "array", "items": schema_of_type(args[0])}
    raise TypeError(f"no JSON Schema for the field type {annotation!r}")


def schema_of_attrs(cls: type, descriptions: dict[str, str] | None = None) -> Schema:
    """The JSON Schema of ``attrs.asdict(instance)``: every field present, of its declared type."""
    resolved = typing.get_type_hints(cls)
    properties = {field.name: schema_of_type(resolved[field.name]) for field in attrs.fields(cls)}
    for name, text in (descriptions or {}).items():
        properties[name] = {**properties[name], "description": text}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _error_schema() -> Schema:
    return {"type": "object", "required": ["error"], "additionalProperties": False,
            "properties": {"error": {"type": "object", "required": ["code", "message"], "additionalProperties": False,
                                     "properties": {"code": {"type": "string", "pattern": "^DDL[0-9]{3}$"},
                                                    "message": {"type": "string"}}}}}


def _answer_schema() -> Schema:
    record = schema_of_attrs(QueryRecord, {
        "source": "what answered: " + ", ".join(SOURCES),
        "id": "the ledger id (for POST /feedback); null when the query was not recorded",
    })
    properties = dict(record["properties"])
    properties["source"] = {**properties["source"], "enum": list(SOURCES)}
    properties["recorded"] = {"type": "boolean", "description": "false when the store could not record the query"}
    extra = {
        "store_error": {"$ref": REF + "ErrorDetail", "description": "why the query was not recorded"},
        "candidate": {"type": "boolean", "description": "an extracted answer kept as a candidate phrasing"},
        "widening": {"type": ["object", "null"], "description": "a widening of the family this answer started"},
        "learning": {"type": ["object", "null"], "description": "compile on miss: what became of the utterance"},
    }
    return {**record, "properties": {**properties, **extra}, "required": [*record["required"], "recorded"]}


def _feedback_schema() -> Schema:
    record = schema_of_attrs(FeedbackRecord)
    properties = dict(record["properties"])
    properties["verdict"] = {**properties["verdict"], "enum": list(VERDICTS)}
    properties["relearning"] = {"type": ["object", "null"],
                                "description": "a rejected extracted answer: the family's grammar is learned again"}
    return {**record, "properties": properties}


def _families_schema() -> Schema:
    served = {"type": "object", "additionalProperties": False,
              "required": ["name", "path", "version", "priority", "params"],
              "properties": {"name": {"type": "string"}, "path": {"type": "string"}, "version": {"type": "string"},
                             "priority": {"type": "integer"},
                             "params": {"type": "object", "additionalProperties": {"type": "string"},
                                        "description": "each parameter's type, as DDL writes it"}}}
    rejected = {"type": "object", "additionalProperties": False, "required": ["name", "path", "code", "reasons"],
                "properties": {"name": {"type": ["string", "null"]}, "path": {"type": "string"},
                               "code": {"type": "string"}, "reasons": {"type": "array", "items": {"type": "string"}}}}
    return {"type": "object", "additionalProperties": False, "required": ["served", "rejected"],
            "properties": {"served": {"type": "array", "items": served},
                           "rejected": {"type": "array", "items": rejected}}}


def component_schemas(max_utterance: int) -> dict[str, Schema]:
    error = _error_schema()
    return {
        "Error": error,
        "ErrorDetail": error["properties"]["error"],
        "QueryRequest": {"type": "object", "required": ["utterance"], "additionalProperties": False,
                         "properties": {"utterance": {"type": "string", "minLength": 1, "maxLength": max_utterance,
                                                      "description": "the request, in words (not only spaces)"}}},
        "FeedbackRequest": {"type": "object", "required": ["id", "verdict"], "additionalProperties": False,
                            "properties": {"id": {"type": "integer", "minimum": 1, "maximum": MAX_QUERY_ID},
                                           "verdict": {"type": "string", "enum": list(VERDICTS)},
                                           "correction": {"type": ["string", "null"]}}},
        "ReloadRequest": {"type": "object", "additionalProperties": False, "properties": {},
                          "description": "an empty body or {}"},
        "Answer": _answer_schema(),
        "Feedback": _feedback_schema(),
        "Stats": schema_of_attrs(Stats),
        "Families": _families_schema(),
        "Health": {"type": "object", "required": ["status", "families", "store"], "additionalProperties": False,
                   "properties": {"status": {"const": "ok"},
                                  "families": {"type": ["integer", "null"], "minimum": 0},
                                  "store": {"type": ["string", "null"],
                                            "description": "the store URL, a password in it shown as ***"}}},
        "OpenAPIDocument": {"type": "object", "required": ["openapi", "info", "paths"],
                            "properties": {"openapi": {"const": OPENAPI_VERSION}, "info": {"type": "object"},
                                           "paths": {"type": "object"}}},
    }


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": endpoint.operation, "summary": endpoint.summary, "responses": {}}
    for status, (description, schema) in sorted(endpoint.responses.items()):
        operation["responses"][str(status)] = {
            "description": description, "content": {JSON_MEDIA: {"schema": {"$ref": REF + schema}}}}
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": not endpoint.body_optional,
            "content": {JSON_MEDIA: {"schema": {"$ref": REF + endpoint.body}}},
        }
    return operation


def openapi_document(*, max_utterance: int, token_required: bool) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an app built by make_app with these settings."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "ddl serve",
            "version": __version__,
            "summary": "Answers requests with checked DDL families, else a model; records every query.",
            "description": "JSON in, JSON out (spec/handler.md, \"HTTP API\"). Every error body is "
                           "{\"error\": {\"code\": \"DDL7xx\", \"message\": \"…\"}}; a path not listed here is a 404 "
                           "with that body, and a method a path does not list a 405 with it (and an `Allow` header). POST bodies "
                           "must be `Content-Type: application/json`.",
        },
        "paths": paths,
        "components": {"schemas": component_schemas(max_utterance)},
    }
    if token_required:
        document["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "the server's token (--token-file, DDL_SERVE_TOKEN, token_file)"}}
        document["security"] = [{"bearer": []}]
    return document
