"""The service's per-request shortcuts answer exactly what the general code answered (issue 17).

Why these tests: ``ddl serve`` spends less per covered query by copying a record without
``attrs.asdict``, rendering JSON with one shared encoder, remembering the Guard's verdict on a
Host header, making the access log's record without a stack walk, and committing the ledger's
rows without RETURNING while waking the event loop once per group commit.  Each shortcut is
checked here against the code it replaces, on the same inputs: same dict, same bytes, same
verdict, same log line, and every awaited id the row it names.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_records import record as _record
from starlette.responses import JSONResponse

from ddl.handler import access_log as access_log_module
from ddl.handler import service as service_module
from ddl.handler import store as store_module
from ddl.handler.access_log import AccessLog, log_event, utc_time
from ddl.handler.guard import MAX_REMEMBERED_HOSTS, Guard
from ddl.handler.records import HandlerError, QueryRecord
from ddl.handler.service import JsonAnswer
from ddl.handler.store import open_store
from tests.service_helpers import capture_log

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
# Plain JSON values, plus what QueryRecord.to_json must leave to attrs.asdict: tuples, sets,
# non-string keys, bytes.
_values = st.recursive(
    _scalars | st.binary(max_size=4),
    lambda inner: (st.lists(inner, max_size=3) | st.tuples(inner, inner)
                   | st.dictionaries(st.text(max_size=4), inner, max_size=3)
                   | st.dictionaries(st.integers() | st.tuples(st.integers()), inner, max_size=2)
                   | st.frozensets(st.integers(), max_size=3)),
    max_leaves=12)


@given(theta=st.none() | st.dictionaries(st.text(max_size=5), _values, max_size=4), output=_values,
       error=st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
       text=st.none() | st.text(max_size=5), tokens=st.none() | st.integers(min_value=0))
def test_a_query_record_as_json_is_what_attrs_asdict_gives(theta: Any, output: Any, error: Any, text: Any,
                                                           tokens: Any) -> None:
    record = QueryRecord(ts=1.5, utterance="u", source="deterministic", latency_ms=0.25, family="f",
                         family_version="v", theta=theta, output=output, text=text, model=None,
                         tokens_in=tokens, tokens_out=tokens, error=error, id=7)
    fast, general = record.to_json(), attrs.asdict(record)
    assert fast == general and list(fast) == list(general)
    assert repr(fast) == repr(general)  # same types all the way down (a tuple stays a tuple in both)
    if isinstance(record.theta, dict):
        assert fast["theta"] is not record.theta  # a copy, as asdict gives: the answer may be changed


@pytest.mark.parametrize("content", [
    {"id": 3, "recorded": True, "output": {"text": "héllo ✓", "n": [1, 2.5, None, False]}},
    {"error": {"code": "DDL705", "message": "bad \u2028 line"}},
    ["a", {"b": {}}], "just text", 12, None,
])
def test_a_json_answer_is_byte_for_byte_starlettes_json_response(content: Any) -> None:
    ours, theirs = JsonAnswer(content, status_code=201), JSONResponse(content, status_code=201)
    assert ours.body == theirs.body and ours.raw_headers == theirs.raw_headers


def test_json_answer_refuses_nan_as_starlette_does() -> None:
    with pytest.raises(ValueError):
        JsonAnswer({"x": float("nan")})


def _scope(host: str) -> dict[str, Any]:
    return {"type": "http", "scheme": "http", "headers": [(b"host", host.encode("latin-1"))]}


def test_the_guard_remembers_host_verdicts_as_given_and_only_so_many() -> None:
    remembering, fresh = Guard(lambda *a: None), Guard(lambda *a: None)  # type: ignore[arg-type, return-value]
    hosts = ["127.0.0.1:8000", "localhost", "evil.example", "[::1]:9", "bad/host", "a@b"] + [
        f"h{i}.example" for i in range(2 * MAX_REMEMBERED_HOSTS)]
    for _ in range(2):  # the second time from what was remembered, where it was
        for host in hosts:
            assert remembering.refusal(_scope(host)) == fresh.refusal(_scope(host)), host
    assert len(remembering.host_verdicts) == MAX_REMEMBERED_HOSTS
    assert remembering.refusal(_scope("127.0.0.1:8000")) is None
    assert remembering.refusal(_scope("evil.example"))[1] == "DDL716"  # type: ignore[index]


def test_headers_are_found_whatever_their_case_and_duplicates_still_refused() -> None:
    guard = Guard(lambda *a: None)  # type: ignore[arg-type, return-value]
    twice = {"type": "http", "headers": [(b"Host", b"localhost"), (b"host", b"localhost")]}
    assert guard.refusal(twice) == (403, "DDL716", "request refused: more than one Host or Origin header")
    mixed = {"type": "http", "headers": [(b"HOST", b"evil.example")]}
    assert guard.refusal(mixed)[1] == "DDL716"  # type: ignore[index]


def test_the_access_log_line_is_the_one_log_event_writes() -> None:
    logger, buffer = capture_log()
    access = AccessLog(lambda *a: None, logger=logger, log_utterances=True)  # type: ignore[arg-type, return-value]
    scope = {"type": "http", "method": "POST", "path": "/query", "client": ("127.0.0.1", 5000)}
    access.write(scope, {"query_id": 4, "utterance": "naïve \x00 \"q\"", "error": "DDL705"}, 422, 0.0012345)
    access.write(scope, {}, 503, 0.5)
    log_event(logger, logging.INFO, event="request", method="POST", path="/query", status=422,
              duration_ms=round(0.0012345 * 1000, 3), query_id=4, client="127.0.0.1", error="DDL705", utterance="naïve \x00 \"q\"")
    log_event(logger, logging.WARNING, event="request", method="POST", path="/query", status=503,
              duration_ms=500.0, query_id=None, client="127.0.0.1")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    for line in lines:
        line.pop("time")
    assert lines[0] == lines[2] and lines[1] == lines[3] and lines[1]["level"] == "warning"
    assert buffer.getvalue().isascii()


def test_the_access_log_line_is_in_the_log_file_when_the_request_is_done(tmp_path: Path) -> None:
    """Each line is written and flushed before write returns (none waits in memory for a crash to
    lose); a filter on the logger sees every record and drops what it refuses."""
    path = tmp_path / "serve.jsonl"
    logger = logging.getLogger(f"ddl.serve.test.file.{id(path)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(access_log_module.JsonFormatter())
    logger.addHandler(handler)
    try:
        access = AccessLog(lambda *a: None, logger=logger)  # type: ignore[arg-type, return-value]
        scope = {"type": "http", "method": "GET", "path": "/health", "client": None}
        access.write(scope, {"query_id": 9}, 200, 0.001)
        first = json.loads(path.read_text(encoding="utf-8"))
        assert first.pop("time").endswith("Z")
        assert first == {"level": "info", "logger": logger.name, "event": "request", "method": "GET",
                         "path": "/health", "status": 200, "duration_ms": 1.0, "query_id": 9, "client": None}
        seen: list[logging.LogRecord] = []
        logger.addFilter(lambda record: seen.append(record) or record.fields["status"] != 404)  # type: ignore[attr-defined]
        access.write(scope, {}, 404, 0.001)
        access.write(scope, {}, 503, 0.002)
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [record.levelname for record in seen] == ["INFO", "WARNING"]
        assert [(line["status"], line["level"]) for line in lines] == [(200, "info"), (503, "warning")]
    finally:
        logger.removeHandler(handler)
        handler.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    return str(request.getfixturevalue("fresh_postgres_url"))


def test_rows_committed_for_awaiting_coroutines_each_get_their_own_id_woken_once_a_group(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """12 coroutines await commit_query while the store's lock holds the writer: the first record
    commits alone, the 11 queued behind it in one group (a bad one among them fails alone); every
    coroutine gets the id of its own row, and the loop is woken once per group, not per row."""
    deliveries: list[int] = []
    real_deliver = store_module._LoopHandOver.deliver

    def counting(self: Any) -> None:
        deliveries.append(len(self.outcomes))
        real_deliver(self)

    monkeypatch.setattr(store_module._LoopHandOver, "deliver", counting)
    records = [_record(f"awaited query {i}") for i in range(12)]
    records[7] = _record("the bad one", text="broken \ud800 text")

    async def commit_all(store: Any) -> list[Any]:
        with store._lock:  # nothing commits until every record is queued
            tasks = [asyncio.create_task(store.commit_query(records[0]))]
            while not store._committing:  # the writer took the first record and waits for the lock
                await asyncio.sleep(0.005)
            tasks += [asyncio.create_task(store.commit_query(r)) for r in records[1:]]
            await asyncio.sleep(0)  # let each task queue its record
        return await asyncio.gather(*tasks, return_exceptions=True)

    with open_store(store_url) as store:
        results = asyncio.run(commit_all(store))
        bad = results[7]
        assert isinstance(bad, HandlerError) and bad.code == "DDL705"
        good = {query_id: rec.utterance for query_id, rec in zip(results, records) if rec is not records[7]}
        assert all(isinstance(i, int) for i in good) and len(good) == 11
        assert {q.id: q.utterance for q in store.queries()} == good
    assert sum(deliveries) == 12 and len(deliveries) <= 3  # groups: the first, the 11 (the bad one retried alone)


def test_grouped_sqlite_ids_follow_the_largest_id_ever_given(tmp_path: Path) -> None:
    """Without RETURNING, a group's ids are counted back from the statement's last rowid: right
    after the newest rows were deleted too (AUTOINCREMENT never gives an id again)."""
    path = tmp_path / "ledger.sqlite3"
    with open_store(path) as store:
        first = [store.record_query(_record(f"early {i}")) for i in range(3)]
    raw = sqlite3.connect(path)
    raw.execute("DELETE FROM ddl_queries WHERE id >= ?", (first[1],))
    raw.commit()
    raw.close()
    with open_store(path) as store:
        ids = store._insert_rows(3, [v for r in (_record("x"), _record("y"), _record("z"))  # type: ignore[attr-defined]
                                     for v in store._query_insert(r).values])  # type: ignore[attr-defined]
        assert ids == [first[2] + 1, first[2] + 2, first[2] + 3]
        assert [(q.id, q.utterance) for q in store.queries()] == [(first[0], "early 0"), (ids[0], "x"), (ids[1], "y"),
                                                                  (ids[2], "z")]


def _decoded(decode: Any, text: str) -> Any:
    try:
        return ("ok", repr(decode(text)))
    except ValueError as err:  # JSONDecodeError included: the message the 400 quotes
        return ("error", type(err).__name__, str(err))


@given(st.one_of(
    st.text(max_size=30),
    st.sampled_from(['{"utterance": "x"}', '\ufeff{"utterance": "x"}', '{"a": 1, "a": 2}', '{"n": NaN}',
                     '[Infinity]', '{"n": ' + "9" * 5000 + "}", '{"n": -12.5e3, "t": true, "z": null}',
                     '{"u": "\\ud800"}', '{"a": {"b": [1, {"c": "d"}]}}', '{"a": 1} x', ' {"a": "\\u00e9"} ']),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                 max_leaves=8).map(json.dumps)))
def test_the_request_decoder_reads_as_json_loads_with_the_same_options(text: str) -> None:
    def loads(body: str) -> Any:
        return json.loads(body, parse_constant=service_module._reject_constant,
                          object_pairs_hook=service_module._unique_keys, parse_int=service_module._bounded_int)

    assert _decoded(service_module.decode_request_json, text) == _decoded(loads, text)


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False)
       | st.integers(min_value=0, max_value=4 * 10**9).flatmap(
           lambda second: st.sampled_from([second + f for f in (0.0, 0.0005, 0.9994999, 0.9995, 0.9999994,
                                                                  0.9999995, 0.9999996, 0.5)])))
def test_the_log_time_is_what_datetime_writes(created: float) -> None:
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert utc_time(created) == expected
    assert utc_time(created) == expected  # and from the cached second


def test_the_access_log_record_has_what_make_record_gives() -> None:
    logger, buffer = capture_log()
    access = AccessLog(lambda *a: None, logger=logger)  # type: ignore[arg-type, return-value]
    for level in (logging.INFO, logging.WARNING, logging.INFO):
        fields = {"event": "request", "status": 200}
        ours = vars(access.record(level, fields))
        theirs = vars(logger.makeRecord(logger.name, level, access_log_module.__file__, 0, "request", (), None,
                                        extra={"fields": fields}))
        timed = {"created", "msecs", "relativeCreated"}
        assert {k: v for k, v in ours.items() if k not in timed} == {k: v for k, v in theirs.items() if k not in timed}
        assert set(ours) == set(theirs) and ours["fields"] is fields
        assert abs(ours["created"] - theirs["created"]) < 5 and 0 <= ours["msecs"] < 1000
