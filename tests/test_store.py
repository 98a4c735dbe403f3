"""The ledger / feedback store on both backends: SQLite files and a real PostgreSQL server.

Why these tests: the store is where feedback for refinement lives, so the properties that
matter are that nothing written is lost or altered (round trips, concurrent writers from
several processes), that ids behave (unique, increasing), and that every failure — corrupt
file, unreachable or wrong server, newer schema — is a clear StoreError that leaves the data
as it was.  Candidate phrasings (the utterances of "extracted" answers, from which a family's
grammar is widened) must survive only while no user rejected their answer, must refuse hostile
text with a clear DDL705, and a store written by the previous layout (version 1) must be
upgraded in place without losing a row.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pytest
from pgserver import PostgresServer, free_port

from ddl.handler import store as store_module
from ddl.handler.records import SOURCES, CandidateRecord, FeedbackRecord, HandlerError, QueryRecord, StoreError
from ddl.handler.store import (
    MAX_CANDIDATE_UTTERANCE,
    SCHEMA_VERSION,
    PostgresStore,
    SQLiteStore,
    Store,
    mask_url,
    open_store,
)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A location for a new, empty store on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    return str(request.getfixturevalue("fresh_postgres_url"))


def _det(utterance: str = "suggest 3 mystery books from the 1950s", **kw: Any) -> QueryRecord:
    fields: dict[str, Any] = {
        "ts": 1_700_000_000.25,
        "utterance": utterance,
        "source": "deterministic",
        "latency_ms": 0.125,
        "family": "books",
        "family_version": "sha256:abc123",
        "theta": {"genre": "mystery", "count": 3, "decade": 1950},
        "output": [{"title": "The Big Sleep", "year": 1939}],
    }
    fields.update(kw)
    return QueryRecord(**fields)


def _llm(utterance: str = "what is the meaning of life?", **kw: Any) -> QueryRecord:
    fields: dict[str, Any] = {
        "ts": 1_700_000_001.5,
        "utterance": utterance,
        "source": "llm",
        "latency_ms": 812.5,
        "text": "42 — naturally.",
        "model": "fake-echo",
        "tokens_in": 6,
        "tokens_out": 3,
    }
    fields.update(kw)
    return QueryRecord(**fields)


def _extracted(utterance: str = "three mystery novels from the fifties please", **kw: Any) -> QueryRecord:
    fields: dict[str, Any] = {
        "ts": 1_700_000_003.0,
        "utterance": utterance,
        "source": "extracted",
        "latency_ms": 95.0,
        "family": "books",
        "family_version": "sha256:abc123",
        "theta": {"genre": "mystery", "count": 3, "decade": 1950},
        "output": [{"title": "The Big Sleep", "year": 1939}],
        "model": "fake-extract",
        "tokens_in": 120,
        "tokens_out": 14,
    }
    fields.update(kw)
    return QueryRecord(**fields)


def _set_schema_version(url: str, version: int) -> None:
    if url.startswith("postgresql://"):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE ddl_meta SET value = %s WHERE key = 'schema_version'", (str(version),))
    else:
        with sqlite3.connect(url) as conn:
            conn.execute("UPDATE ddl_meta SET value = ? WHERE key = 'schema_version'", (str(version),))
        conn.close()


# ----------------------------------------------------------------------------------------
# Round trips and ids
# ----------------------------------------------------------------------------------------


def test_round_trip_of_all_three_kinds_of_query(store_url: str) -> None:
    records = [
        _det(
            "¿Qué tiempo hace en Zürich? 🌦 «ñ»",
            family="weather",
            theta={"city": "zürich", "when": "today", "amount": "84.60"},  # Decimal-as-string stays a string
            output={"city": "Zürich", "temps": [1, 2.5, -3], "note": "ß≠ss 雨", "nested": {"ok": True, "none": None}},
        ),
        _llm("write a haiku about 東京", text="桜の花\nline two", tokens_in=None, tokens_out=None),
        QueryRecord(
            ts=1_700_000_002.0,
            utterance="x" * 5000,
            source="error",
            latency_ms=30000.0,
            model="fake-slow",
            error={"code": "DDL704", "message": "model call timed out after 30 s"},
        ),
        _det(output="a plain string", theta={}),
        _det(output=0, theta=None),
    ]
    with open_store(store_url) as store:
        ids = [store.record_query(rec) for rec in records]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        for rec, qid in zip(records, ids):
            assert store.get_query(qid) == attrs.evolve(rec, id=qid)
        assert list(store.queries()) == [attrs.evolve(rec, id=qid) for rec, qid in zip(records, ids)]
        assert [q.id for q in store.queries(since_id=ids[2])] == ids[3:]
        assert store.get_query(ids[-1] + 1000) is None


def test_the_record_id_is_assigned_by_the_store(store_url: str) -> None:
    with open_store(store_url) as store:
        first = store.record_query(_det(id=999))
        second = store.record_query(_det())
        assert second > first
        assert store.get_query(first) == attrs.evolve(_det(), id=first)


def test_ids_increase(store_url: str) -> None:
    with open_store(store_url) as store:
        ids = [store.record_query(_det(f"utterance {i}")) for i in range(25)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 25


def test_iterators_page_through_many_rows(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_PAGE", 3)  # pages of 3 rows: exercises the keyset paging
    with open_store(store_url) as store:
        ids = [store.record_query(_det(f"u{i}", family="a" if i % 2 else "b")) for i in range(10)]
        for qid in ids:
            store.add_feedback(qid, "accept")
        assert [q.utterance for q in store.queries()] == [f"u{i}" for i in range(10)]
        assert [q.id for q in store.queries(since_id=ids[4])] == ids[5:]
        assert [f.query_id for f in store.feedback()] == ids
        assert [f.query_id for f in store.feedback("a")] == ids[1::2]


def test_feedback_copies_the_query(store_url: str) -> None:
    with open_store(store_url) as store:
        det = store.record_query(_det("météo à Paris ☀", family="weather", theta={"city": "paris"}))
        llm = store.record_query(_llm())
        fb = store.add_feedback(det, "reject", correction="the city is Paris, Texas 🤠", ts=1_700_000_100.5)
        assert fb == FeedbackRecord(
            query_id=det,
            ts=1_700_000_100.5,
            verdict="reject",
            utterance="météo à Paris ☀",
            correction="the city is Paris, Texas 🤠",
            family="weather",
            family_version="sha256:abc123",
            theta={"city": "paris"},
            source="deterministic",
            id=fb.id,
        )
        before = time.time()
        fb2 = store.add_feedback(llm, "accept")
        assert fb2.id is not None and fb.id is not None and fb2.id > fb.id
        assert before - 1 <= fb2.ts <= time.time() + 1
        assert (fb2.utterance, fb2.family, fb2.theta, fb2.source, fb2.correction) == (
            "what is the meaning of life?",
            None,
            None,
            "llm",
            None,
        )
        assert list(store.feedback()) == [fb, fb2]
        assert list(store.feedback("weather")) == [fb]
        assert list(store.feedback("books")) == []


def test_feedback_on_an_unknown_query_is_ddl706(store_url: str) -> None:
    with open_store(store_url) as store:
        store.record_query(_det())
        with pytest.raises(StoreError) as info:
            store.add_feedback(424242, "accept")
        assert info.value.code == "DDL706"
        assert "424242" in info.value.message
        assert list(store.feedback()) == []


@pytest.mark.parametrize("verdict", ["maybe", "", "ACCEPT", None])
def test_a_bad_verdict_is_ddl705(store_url: str, verdict: Any) -> None:
    with open_store(store_url) as store:
        qid = store.record_query(_det())
        with pytest.raises(HandlerError) as info:
            store.add_feedback(qid, verdict)
        assert info.value.code == "DDL705"
        assert not isinstance(info.value, StoreError) or info.value.code == "DDL705"
        assert list(store.feedback()) == []


def test_invalid_records_are_refused_cleanly(store_url: str) -> None:
    with open_store(store_url) as store:
        with pytest.raises(HandlerError) as info:
            store.record_query(_det(source="guess"))
        assert info.value.code == "DDL705"
        with pytest.raises(StoreError) as store_info:
            store.record_query(_det(output={"x": object()}))
        assert "output is not JSON" in store_info.value.message
        with pytest.raises(StoreError):
            store.record_query(_det(output=float("nan")))
        with pytest.raises(HandlerError) as info:
            store.add_feedback("1", "accept")  # type: ignore[arg-type]
        assert info.value.code == "DDL705"
        assert list(store.queries()) == []


def test_ids_beyond_64_bits_are_unknown_not_crashes(store_url: str) -> None:
    with open_store(store_url) as store:
        qid = store.record_query(_det())
        assert store.get_query(2**70) is None
        assert [q.id for q in store.queries(since_id=-(2**70))] == [qid]
        assert list(store.queries(since_id=2**70)) == []
        with pytest.raises(StoreError) as info:
            store.add_feedback(2**70, "accept")
        assert info.value.code == "DDL706"


def test_nul_characters_are_stored_or_refused_clearly(store_url: str) -> None:
    """SQLite keeps NUL characters; PostgreSQL text cannot hold them: a clear StoreError there."""
    with open_store(store_url) as store:
        rec = _det("nul \x00 inside", theta={"k": "v\x00"})
        if isinstance(store, SQLiteStore):
            qid = store.record_query(rec)
            assert store.get_query(qid) == attrs.evolve(rec, id=qid)
        else:
            with pytest.raises(StoreError) as info:
                store.record_query(rec)
            assert info.value.message.startswith("cannot write to store 'postgresql://")
            assert store.record_query(_det()) > 0  # the store is still usable


def test_reopening_keeps_the_data(store_url: str) -> None:
    with open_store(store_url) as store:
        qid = store.record_query(_det())
        fb = store.add_feedback(qid, "accept")
    with open_store(store_url) as again:
        assert again.get_query(qid) == attrs.evolve(_det(), id=qid)
        assert list(again.feedback()) == [fb]
        assert again.record_query(_llm()) > qid


def test_a_store_from_a_newer_schema_is_refused(store_url: str) -> None:
    with open_store(store_url) as store:
        store.record_query(_det())
    _set_schema_version(store_url, SCHEMA_VERSION + 1)
    with pytest.raises(StoreError) as info:
        open_store(store_url)
    assert info.value.code == "DDL702"
    assert f"schema version {SCHEMA_VERSION + 1} is newer" in info.value.message
    assert "upgrade ddl" in info.value.message
    _set_schema_version(store_url, SCHEMA_VERSION)  # the data was left alone
    with open_store(store_url) as store:
        assert len(list(store.queries())) == 1


def test_a_closed_store_says_so(store_url: str) -> None:
    store = open_store(store_url)
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.record_query(_det())


def test_threads_sharing_one_store(store_url: str) -> None:
    """The HTTP service calls one Store from a thread pool."""
    with open_store(store_url) as store:
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(25):
                    qid = store.record_query(_det(f"t{n} {i}"))
                    store.add_feedback(qid, "accept")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(list(store.queries())) == 100
        assert len(list(store.feedback())) == 100


# ----------------------------------------------------------------------------------------
# Concurrent writers in several processes
# ----------------------------------------------------------------------------------------

WRITERS = 4
PER_WRITER = 200
FEEDBACK_EVERY = 10


def _writer(url: str, worker: int, barrier: Any) -> None:
    """One process: open the store (racing the others), then write as fast as it can."""
    with open_store(url) as store:
        barrier.wait(timeout=60)
        for i in range(PER_WRITER):
            qid = store.record_query(
                QueryRecord(
                    ts=time.time(),
                    utterance=f"worker {worker} query {i}",
                    source="llm",
                    latency_ms=1.0,
                    theta={"worker": worker, "i": i},
                    tokens_in=i,
                )
            )
            if i % FEEDBACK_EVERY == 0:
                store.add_feedback(qid, "accept" if i % 20 else "reject", correction=f"w{worker}")


def test_concurrent_writers_lose_nothing(store_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_writer, args=(store_url, w, barrier)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    for p in procs:
        if p.is_alive():  # pragma: no cover - a hang is a failure, not a stuck suite
            p.kill()
    assert [p.exitcode for p in procs] == [0] * WRITERS
    with open_store(store_url) as store:
        rows = list(store.queries())
        feedback = list(store.feedback())
    assert len(rows) == WRITERS * PER_WRITER
    assert len({r.id for r in rows}) == WRITERS * PER_WRITER
    assert sorted((r.theta or {})["worker"] * 1000 + (r.theta or {})["i"] for r in rows) == sorted(
        w * 1000 + i for w in range(WRITERS) for i in range(PER_WRITER)
    )
    for r in rows:  # every row is intact
        assert r.utterance == f"worker {r.theta['worker']} query {r.theta['i']}"  # type: ignore[index]
        assert r.tokens_in == r.theta["i"]  # type: ignore[index]
    per_worker = [w for w in range(WRITERS) for _ in range(0, PER_WRITER, FEEDBACK_EVERY)]
    assert sorted(int(f.correction[1:]) for f in feedback if f.correction) == per_worker
    assert len({f.id for f in feedback}) == len(feedback) == len(per_worker)
    by_id = {r.id: r for r in rows}
    for f in feedback:
        assert f.utterance == by_id[f.query_id].utterance
        assert f.theta == by_id[f.query_id].theta


# ----------------------------------------------------------------------------------------
# SQLite specifics: corrupt or foreign files, locations
# ----------------------------------------------------------------------------------------


def _siblings(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()}


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a database\n" * 200,
        b"\x00\x01\x02garbage",
        b"SQLite format 3\x00" + b"\xff" * 4000,  # the right magic, then garbage
    ],
    ids=["text", "binary", "bad-header"],
)
def test_a_corrupt_sqlite_file_is_refused_and_left_unchanged(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(content)
    before = _siblings(path)
    mtime = path.stat().st_mtime_ns
    with pytest.raises(StoreError) as info:
        open_store(str(path))
    assert info.value.code == "DDL702"
    assert info.value.message == f"cannot open store '{path}': file is not a database"
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == mtime
    assert _siblings(path) == before  # no -wal / -shm / -journal left beside it


def test_a_damaged_sqlite_store_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with open_store(path) as store:
        for i in range(300):
            store.record_query(_det(f"query {i} " + "x" * 200))
    damaged = bytearray(path.read_bytes())
    damaged[100:4096] = b"\xff" * (4096 - 100)  # the schema page, after a valid header
    path.write_bytes(bytes(damaged))
    with pytest.raises(StoreError) as info:
        open_store(path)
    assert info.value.message.startswith(f"cannot open store '{path}': the database file is damaged")
    assert path.read_bytes() == bytes(damaged)


def test_the_message_names_the_store_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("x.db").write_bytes(b"not sqlite at all")
    with pytest.raises(StoreError) as info:
        open_store("x.db")
    assert str(info.value) == "cannot open store 'x.db': file is not a database"


def test_a_foreign_sqlite_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ada')")
    conn.close()
    content = path.read_bytes()
    with pytest.raises(StoreError, match="not a DDL store"):
        open_store(path)
    assert path.read_bytes() == content


def test_a_directory_is_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_store(tmp_path)


def test_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / ".ddl" / "handler.sqlite3"
    with open_store(path) as store:
        assert isinstance(store, SQLiteStore)
        store.record_query(_det())
    assert path.exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_sqlite_url_forms(tmp_path: Path) -> None:
    path = tmp_path / "u.sqlite3"
    with open_store(f"sqlite://{path}") as store:
        assert store.url == f"sqlite://{path}"
        qid = store.record_query(_det())
    with open_store(path) as store:
        assert store.get_query(qid) is not None
    with open_store(":memory:") as mem:
        assert mem.get_query(mem.record_query(_det())) is not None
    with pytest.raises(StoreError, match="unsupported scheme 'mysql'"):
        open_store("mysql://root:hunter2@localhost/db")
    with pytest.raises(StoreError) as info:
        open_store("mysql://root:hunter2@localhost/db")
    assert "hunter2" not in info.value.message
    with pytest.raises(StoreError):
        open_store("")


# ----------------------------------------------------------------------------------------
# PostgreSQL specifics: unreachable, refused, masked passwords
# ----------------------------------------------------------------------------------------


def test_mask_url() -> None:
    assert mask_url("postgresql://ddl:s3cret@db.example:5432/ledger") == "postgresql://ddl:***@db.example:5432/ledger"
    assert mask_url("postgres://ddl@db/ledger") == "postgres://ddl@db/ledger"
    assert mask_url("postgresql://db/ledger?user=u&password=p%40ss&sslmode=require") == (
        "postgresql://db/ledger?user=u&password=***&sslmode=require"
    )
    assert mask_url("/plain/path.db") == "/plain/path.db"
    assert mask_url("postgresql:///ledger?host=/run/pg") == "postgresql:///ledger?host=/run/pg"
    assert mask_url("postgresql://:pw@/ledger?host=/run/pg") == "postgresql://:***@/ledger?host=/run/pg"


def test_an_unreachable_server_fails_quickly_and_clearly() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://ddl:s3cret@127.0.0.1:{port}/ledger"
    start = time.monotonic()
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert time.monotonic() - start < 6
    message = info.value.message
    assert info.value.code == "DDL702"
    assert message.startswith(f"cannot open store 'postgresql://ddl:***@127.0.0.1:{port}/ledger': ")
    assert "s3cret" not in message
    assert "Connection refused" in message  # libpq's words, without its "connection to server ... failed:" prefix
    assert "failed:" not in message
    assert "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_the_password_is_masked_in_url(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_schema().replace("postgres@", "postgres:not-needed@")  # trust auth ignores it
    with open_store(url) as store:
        assert isinstance(store, PostgresStore)
        assert "not-needed" not in store.url and "***" in store.url
        assert "not-needed" not in repr(store)


def test_postgres_scheme_alias(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_schema().replace("postgresql://", "postgres://")
    with open_store(url) as store:
        assert store.get_query(store.record_query(_det())) is not None


def test_a_missing_database_is_a_clear_error(postgres_server: PostgresServer) -> None:
    with pytest.raises(StoreError) as info:
        open_store(postgres_server.url("no_such_database"))
    assert info.value.code == "DDL702"
    assert info.value.message == (
        f"cannot open store '{postgres_server.url('no_such_database')}': database \"no_such_database\" does not exist"
    )
    assert info.value.message.startswith("cannot open store 'postgresql://")


def test_an_unknown_role_is_a_clear_error(postgres_server: PostgresServer) -> None:
    url = postgres_server.url("postgres").replace("postgres@", "nobody_here@")
    with pytest.raises(StoreError, match='role "nobody_here" does not exist'):
        open_store(url)


def test_postgres_stores_share_rows(fresh_postgres_url: str) -> None:
    """Two replicas on one database see each other's writes at once (committed on return)."""
    with open_store(fresh_postgres_url) as a, open_store(fresh_postgres_url) as b:
        qid = a.record_query(_det())
        assert b.get_query(qid) == attrs.evolve(_det(), id=qid)
        fb = b.add_feedback(qid, "accept")
        assert list(a.feedback()) == [fb]


def test_a_broken_connection_is_reopened(fresh_postgres_url: str) -> None:
    with open_store(fresh_postgres_url) as store:
        first = store.record_query(_det())
        assert isinstance(store, PostgresStore)
        backend = store._conn.info.backend_pid  # this store's server process, and no other
        with psycopg.connect(fresh_postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        with pytest.raises(StoreError, match="cannot write to store"):
            store.record_query(_det())  # the write in flight fails clearly ...
        second = store.record_query(_det())  # ... and the next one reconnects
        assert second > first


def test_store_is_a_base_class() -> None:
    assert issubclass(SQLiteStore, Store) and issubclass(PostgresStore, Store)


# ----------------------------------------------------------------------------------------
# Candidate phrasings ("extracted" answers)
# ----------------------------------------------------------------------------------------


def test_every_source_can_be_recorded(store_url: str) -> None:
    assert SOURCES == ("deterministic", "extracted", "llm", "error")
    with open_store(store_url) as store:
        for source in SOURCES:
            rec = _det(f"a {source} answer", source=source)
            qid = store.record_query(rec)
            assert store.get_query(qid) == attrs.evolve(rec, id=qid)


def test_candidates_round_trip(store_url: str) -> None:
    with open_store(store_url) as store:
        q1 = store.record_query(_extracted())
        q2 = store.record_query(_extracted("wetter morgen in Zürich? ☔", family="weather",
                                           theta={"city": "zürich", "when": "tomorrow"}))
        q3 = store.record_query(_extracted("2 thrillers, any decade", theta={"genre": "thriller", "count": 2}))
        c1 = store.add_candidate(q1, "books", "three mystery novels from the fifties please",
                                 {"genre": "mystery", "count": 3, "decade": 1950}, ts=1_700_000_010.5)
        c2 = store.add_candidate(q2, "weather", "wetter morgen in Zürich? ☔", {"city": "zürich", "when": "tomorrow"},
                                 ts=1_700_000_011.0)
        before = time.time()
        c3 = store.add_candidate(q3, "books", "2 thrillers, any decade",
                                 {"genre": "thriller", "count": 2, "tags": ["a", "b"], "price": "12.50",
                                  "nested": {"ok": True, "none": None}})
        assert c1 < c2 < c3
        everything = store.candidates()
        assert everything[:2] == [
            CandidateRecord(id=c1, query_id=q1, ts=1_700_000_010.5, family="books",
                            utterance="three mystery novels from the fifties please",
                            theta={"genre": "mystery", "count": 3, "decade": 1950}),
            CandidateRecord(id=c2, query_id=q2, ts=1_700_000_011.0, family="weather",
                            utterance="wetter morgen in Zürich? ☔", theta={"city": "zürich", "when": "tomorrow"}),
        ]
        third = everything[2]
        assert (third.id, third.query_id, third.family, third.utterance) == (c3, q3, "books", "2 thrillers, any decade")
        assert third.theta == {"genre": "thriller", "count": 2, "tags": ["a", "b"], "price": "12.50",
                               "nested": {"ok": True, "none": None}}
        assert before - 1 <= third.ts <= time.time() + 1
        assert third.to_json() == {"id": c3, "query_id": q3, "ts": third.ts, "family": "books",
                                   "utterance": "2 thrillers, any decade", "theta": third.theta}
        # filtering by family and by id, oldest first
        assert [c.id for c in store.candidates("books")] == [c1, c3]
        assert [c.id for c in store.candidates("weather")] == [c2]
        assert store.candidates("recipes") == []
        assert [c.id for c in store.candidates(since_id=c1)] == [c2, c3]
        assert [c.id for c in store.candidates("books", since_id=c1)] == [c3]
        assert store.candidates(since_id=c3) == []
        assert [c.id for c in store.candidates(since_id=-(2**70))] == [c1, c2, c3]
        assert store.candidates(since_id=2**70) == []
        assert (store.candidate_count("books"), store.candidate_count("weather"), store.candidate_count("x")) == (2, 1, 0)
    with open_store(store_url) as again:  # committed, and read back the same by a new connection
        assert again.candidates() == everything


def test_candidates_page_through_many_rows(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_PAGE", 3)
    with open_store(store_url) as store:
        ids = []
        for i in range(10):
            qid = store.record_query(_extracted(f"phrasing {i}"))
            ids.append(store.add_candidate(qid, "books" if i % 2 else "other", f"phrasing {i}", {"i": i}))
        assert [c.theta["i"] for c in store.candidates()] == list(range(10))
        assert [c.id for c in store.candidates("books")] == ids[1::2]
        assert [c.id for c in store.candidates(since_id=ids[6])] == ids[7:]


def test_a_query_may_have_several_candidates(store_url: str) -> None:
    with open_store(store_url) as store:
        qid = store.record_query(_extracted())
        a = store.add_candidate(qid, "books", "three mystery novels", {"count": 3})
        b = store.add_candidate(qid, "books", "three mystery novels", {"count": 3})
        assert a != b and store.candidate_count("books") == 2


def test_a_reject_removes_the_querys_candidates_and_an_accept_keeps_them(store_url: str) -> None:
    with open_store(store_url) as store:
        kept = store.record_query(_extracted("mystery books from the fifties"))
        rejected = store.record_query(_extracted("books about the fifties", theta={"genre": "history"}))
        other = store.record_query(_extracted("rain in Oslo?", family="weather", theta={"city": "oslo"}))
        c_kept = store.add_candidate(kept, "books", "mystery books from the fifties", {"genre": "mystery"})
        store.add_candidate(rejected, "books", "books about the fifties", {"genre": "history"})
        c_other = store.add_candidate(other, "weather", "rain in Oslo?", {"city": "oslo"})
        accept = store.add_feedback(kept, "accept")
        assert accept.verdict == "accept" and accept.source == "extracted"
        assert store.candidate_count("books") == 2  # the accept removed nothing
        reject = store.add_feedback(rejected, "reject", correction="I meant mysteries")
        assert (reject.verdict, reject.query_id, reject.source, reject.theta) == (
            "reject", rejected, "extracted", {"genre": "history"})
        assert [c.id for c in store.candidates()] == [c_kept, c_other]
        assert store.candidate_count("books") == 1
        # the rejected phrasing cannot come back, and saying so is a clear DDL705
        with pytest.raises(HandlerError) as info:
            store.add_candidate(rejected, "books", "books about the fifties", {"genre": "history"})
        assert info.value.code == "DDL705"
        assert info.value.message == (
            f"invalid candidate: a user rejected the answer to query {rejected}, so its phrasing cannot be a candidate"
        )
        assert store.candidate_count("books") == 1
        # a later accept of the kept query still keeps it; a later reject removes it
        store.add_feedback(kept, "accept")
        assert store.candidate_count("books") == 1
        store.add_feedback(kept, "reject")
        assert [c.id for c in store.candidates()] == [c_other]
        assert [f.verdict for f in store.feedback()] == ["accept", "reject", "accept", "reject"]


def test_a_failed_reject_removes_nothing(store_url: str) -> None:
    """The feedback and the removal are one transaction: feedback that is not stored removes nothing."""
    with open_store(store_url) as store:
        qid = store.record_query(_extracted())
        store.add_candidate(qid, "books", "three mystery novels", {"count": 3})
        with pytest.raises(HandlerError):
            store.add_feedback(qid, "reject", correction=123)  # type: ignore[arg-type]
        with pytest.raises(StoreError) as info:
            store.add_feedback(qid + 1000, "reject")
        assert info.value.code == "DDL706"
        assert store.candidate_count("books") == 1 and list(store.feedback()) == []


def test_remove_candidates(store_url: str) -> None:
    with open_store(store_url) as store:
        q1 = store.record_query(_extracted())
        q2 = store.record_query(_extracted("another"))
        store.add_candidate(q1, "books", "three mystery novels", {"count": 3})
        store.add_candidate(q1, "books", "three mystery novels!", {"count": 3})
        c3 = store.add_candidate(q2, "books", "another", {"count": 1})
        assert store.remove_candidates(q1) == 2
        assert store.remove_candidates(q1) == 0
        assert store.remove_candidates(424242) == 0 and store.remove_candidates(2**70) == 0
        assert [c.id for c in store.candidates()] == [c3]
        assert store.get_query(q1) is not None  # the query itself stays in the ledger
        with pytest.raises(HandlerError) as info:
            store.remove_candidates("1")  # type: ignore[arg-type]
        assert info.value.code == "DDL705"


def test_a_candidate_for_an_unknown_query_is_ddl706(store_url: str) -> None:
    with open_store(store_url) as store:
        qid = store.record_query(_extracted())
        for unknown in (qid + 1000, 0, -5, 2**70):
            with pytest.raises(StoreError) as info:
                store.add_candidate(unknown, "books", "three mystery novels", {"count": 3})
            assert info.value.code == "DDL706"
            assert info.value.message == f"unknown query id {unknown}"
        assert store.candidates() == []


HOSTILE_CANDIDATES = [
    pytest.param({"utterance": "three \ud800 novels"},
                 "invalid candidate: the utterance contains a lone surrogate U+D800 (at character 6)", id="surrogate"),
    pytest.param({"utterance": "\udfff"},
                 "invalid candidate: the utterance contains a lone surrogate U+DFFF (at character 0)", id="low-surrogate"),
    pytest.param({"family": "bo\udc80oks"},
                 "invalid candidate: the family name contains a lone surrogate U+DC80 (at character 2)",
                 id="surrogate-family"),
    pytest.param({"theta": {"genre": "my\ud83dstery"}},
                 "invalid candidate: a string in θ contains a lone surrogate U+D83D (at character 2)",
                 id="surrogate-theta-value"),
    pytest.param({"theta": {"g\ud800": 1}},
                 "invalid candidate: a string in θ contains a lone surrogate U+D800 (at character 1)",
                 id="surrogate-theta-key"),
    pytest.param({"utterance": "nul \x00 inside"},
                 "invalid candidate: the utterance contains a NUL character (at character 4)", id="nul"),
    pytest.param({"theta": {"tags": ["ok", "v\x00"]}},
                 "invalid candidate: a string in θ contains a NUL character (at character 1)", id="nul-theta"),
    pytest.param({"utterance": "x" * 1_000_000},
                 f"invalid candidate: the utterance has 1,000,000 characters; the limit is {MAX_CANDIDATE_UTTERANCE:,}",
                 id="1MB-utterance"),
    pytest.param({"utterance": ""}, "invalid candidate: the utterance must be a non-empty string", id="empty-utterance"),
    pytest.param({"utterance": None}, "invalid candidate: the utterance must be a non-empty string", id="no-utterance"),
    pytest.param({"family": ""}, "invalid candidate: the family must be a non-empty name, not ''", id="empty-family"),
    pytest.param({"family": "   "}, "invalid candidate: the family must be a non-empty name, not '   '",
                 id="blank-family"),
    pytest.param({"family": None}, "invalid candidate: the family must be a non-empty name, not None", id="no-family"),
    pytest.param({"theta": ["mystery", 3]},
                 "invalid candidate: θ must be a JSON object (a dict with string keys), not list", id="theta-list"),
    pytest.param({"theta": None},
                 "invalid candidate: θ must be a JSON object (a dict with string keys), not NoneType", id="theta-none"),
    pytest.param({"theta": '{"count": 3}'},
                 "invalid candidate: θ must be a JSON object (a dict with string keys), not str", id="theta-text"),
    pytest.param({"theta": {1: "one"}},
                 "invalid candidate: θ must be a JSON object (a dict with string keys), not dict", id="theta-int-key"),
    pytest.param({"theta": {"count": float("nan")}},
                 "invalid candidate: θ is not JSON (Out of range float values are not JSON compliant)", id="theta-nan"),
    pytest.param({"theta": {"when": object()}}, "invalid candidate: θ is not JSON (Object of type object is not JSON",
                 id="theta-object"),
    pytest.param({"theta": {"blob": "y" * 1_000_000}},
                 "invalid candidate: θ has 1,000,011 characters as JSON; the limit is 65,536", id="theta-1MB"),
    pytest.param({"query_id": "1"}, "invalid candidate: the query id '1' is not an integer", id="id-text"),
    pytest.param({"query_id": True}, "invalid candidate: the query id True is not an integer", id="id-bool"),
]


@pytest.mark.parametrize(("bad", "message"), HOSTILE_CANDIDATES)
def test_hostile_candidates_are_ddl705_and_write_nothing(store_url: str, bad: dict[str, Any], message: str) -> None:
    with open_store(store_url) as store:
        qid = store.record_query(_extracted())
        args: dict[str, Any] = {"query_id": qid, "family": "books", "utterance": "three mystery novels",
                                "theta": {"count": 3}}
        args.update(bad)
        with pytest.raises(HandlerError) as info:
            store.add_candidate(**args)
        assert info.value.code == "DDL705"
        assert info.value.message.startswith(message)
        assert store.candidates() == [] and store.candidate_count("books") == 0
        assert store.add_candidate(qid, "books", "three mystery novels", {"count": 3}) > 0  # still usable


def test_a_candidate_just_under_the_limits_is_stored(store_url: str) -> None:
    long = "ü" * MAX_CANDIDATE_UTTERANCE
    with open_store(store_url) as store:
        qid = store.record_query(_extracted(long))
        store.add_candidate(qid, "books", long, {"note": "ß" * 60_000})
        [cand] = store.candidates()
        assert cand.utterance == long and cand.theta == {"note": "ß" * 60_000}


def test_a_lone_surrogate_in_a_query_is_ddl705_not_a_crash(store_url: str) -> None:
    with open_store(store_url) as store:
        with pytest.raises(HandlerError) as info:
            store.record_query(_extracted("three \ud800 novels"))
        assert info.value.code == "DDL705"
        assert info.value.message == "invalid text: U+D800 is a lone surrogate, which the store cannot hold"
        with pytest.raises(HandlerError) as info:
            store.record_query(_llm(text="broken \udfff reply"))
        assert info.value.code == "DDL705"
        with pytest.raises(HandlerError) as info:
            store.candidate_count("bo\ud800oks")
        assert info.value.code == "DDL705"
        assert list(store.queries()) == []
        assert store.record_query(_extracted()) > 0


def test_bad_reads_of_candidates_are_ddl705(store_url: str) -> None:
    with open_store(store_url) as store:
        for call in (lambda: store.candidates(family=3),  # type: ignore[arg-type]
                     lambda: store.candidates(since_id="0"),  # type: ignore[arg-type]
                     lambda: store.candidate_count(None)):  # type: ignore[arg-type]
            with pytest.raises(HandlerError) as info:
                call()
            assert info.value.code == "DDL705"


def test_threads_adding_candidates_and_rejecting(store_url: str) -> None:
    """Candidates and rejections of the same queries from several threads: every rejected query
    ends with no candidate, every other query keeps its own."""
    with open_store(store_url) as store:
        ids = [store.record_query(_extracted(f"q{i}")) for i in range(40)]
        errors: list[BaseException] = []

        def add() -> None:
            for qid in ids:
                try:
                    store.add_candidate(qid, "books", f"phrasing of {qid}", {"id": qid})
                except HandlerError as exc:
                    if exc.code != "DDL705":  # rejected first: refused, which is right
                        errors.append(exc)

        def reject() -> None:
            for qid in ids[::2]:
                store.add_feedback(qid, "reject")

        threads = [threading.Thread(target=add), threading.Thread(target=reject)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(c.query_id for c in store.candidates()) == ids[1::2]


# ----------------------------------------------------------------------------------------
# Upgrading a version-1 store in place
# ----------------------------------------------------------------------------------------

# The layout of version 1, exactly as ddl wrote it before candidates existed.
_V1_SQLITE = """
CREATE TABLE IF NOT EXISTS ddl_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ddl_queries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ts             REAL    NOT NULL,
    utterance      TEXT    NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('deterministic', 'llm', 'error')),
    latency_ms     REAL    NOT NULL,
    family         TEXT,
    family_version TEXT,
    theta          TEXT,
    output         TEXT,
    text           TEXT,
    model          TEXT,
    tokens_in      INTEGER,
    tokens_out     INTEGER,
    error          TEXT
);
CREATE TABLE IF NOT EXISTS ddl_feedback (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    query_id       INTEGER NOT NULL REFERENCES ddl_queries (id),
    ts             REAL    NOT NULL,
    verdict        TEXT    NOT NULL CHECK (verdict IN ('accept', 'reject')),
    utterance      TEXT    NOT NULL,
    correction     TEXT,
    family         TEXT,
    family_version TEXT,
    theta          TEXT,
    source         TEXT
);
CREATE INDEX IF NOT EXISTS ddl_feedback_family ON ddl_feedback (family, id);
CREATE INDEX IF NOT EXISTS ddl_queries_family ON ddl_queries (family, id);
INSERT OR IGNORE INTO ddl_meta (key, value) VALUES ('schema_version', '1'), ('application', 'ddl-handler');
"""

_V1_POSTGRES = (
    """CREATE TABLE IF NOT EXISTS ddl_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ddl_queries (
        id             BIGSERIAL PRIMARY KEY,
        ts             DOUBLE PRECISION NOT NULL,
        utterance      TEXT NOT NULL,
        source         TEXT NOT NULL CHECK (source IN ('deterministic', 'llm', 'error')),
        latency_ms     DOUBLE PRECISION NOT NULL,
        family         TEXT,
        family_version TEXT,
        theta          JSONB,
        output         JSONB,
        text           TEXT,
        model          TEXT,
        tokens_in      BIGINT,
        tokens_out     BIGINT,
        error          JSONB
    )""",
    """CREATE TABLE IF NOT EXISTS ddl_feedback (
        id             BIGSERIAL PRIMARY KEY,
        query_id       BIGINT NOT NULL REFERENCES ddl_queries (id),
        ts             DOUBLE PRECISION NOT NULL,
        verdict        TEXT NOT NULL CHECK (verdict IN ('accept', 'reject')),
        utterance      TEXT NOT NULL,
        correction     TEXT,
        family         TEXT,
        family_version TEXT,
        theta          JSONB,
        source         TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS ddl_feedback_family ON ddl_feedback (family, id)",
    "CREATE INDEX IF NOT EXISTS ddl_queries_family ON ddl_queries (family, id)",
    "INSERT INTO ddl_meta (key, value) VALUES ('schema_version', '1'), ('application', 'ddl-handler')",
)

# Rows a version-1 ddl wrote: (id, ts, utterance, source, latency_ms, family, family_version, theta, output,
# text, model, tokens_in, tokens_out, error); JSON columns as JSON text.
_V1_ROWS = [
    (1, 1_700_000_000.25, "suggest 3 mystery books from the 1950s", "deterministic", 0.125, "books",
     "sha256:abc123", '{"genre":"mystery","count":3,"decade":1950}', '[{"title":"The Big Sleep","year":1939}]',
     None, None, None, None, None),
    (2, 1_700_000_001.5, "¿Qué tiempo hace? 🌦", "llm", 812.5, None, None, None, None, "Sol — ☀", "fake-echo",
     6, 3, None),
    (3, 1_700_000_002.0, "slow one", "error", 30000.0, None, None, None, None, None, "fake-slow", None, None,
     '{"code":"DDL704","message":"model call timed out after 30 s"}'),
    (4, 1_700_000_003.0, "deleted later", "llm", 1.0, None, None, None, None, "x", "fake-echo", 1, 1, None),
]
_V1_EXPECTED = [
    _det(id=1),
    QueryRecord(ts=1_700_000_001.5, utterance="¿Qué tiempo hace? 🌦", source="llm", latency_ms=812.5,
                text="Sol — ☀", model="fake-echo", tokens_in=6, tokens_out=3, id=2),
    QueryRecord(ts=1_700_000_002.0, utterance="slow one", source="error", latency_ms=30000.0, model="fake-slow",
                error={"code": "DDL704", "message": "model call timed out after 30 s"}, id=3),
]
_V1_FEEDBACK = FeedbackRecord(
    query_id=1, ts=1_700_000_100.5, verdict="accept", utterance="suggest 3 mystery books from the 1950s",
    correction="great", family="books", family_version="sha256:abc123",
    theta={"genre": "mystery", "count": 3, "decade": 1950}, source="deterministic", id=1,
)
_INSERT_V1 = ("INSERT INTO ddl_queries (id, ts, utterance, source, latency_ms, family, family_version, theta, "
              "output, text, model, tokens_in, tokens_out, error) VALUES ({})")
_INSERT_V1_FEEDBACK = ("INSERT INTO ddl_feedback (query_id, ts, verdict, utterance, correction, family, "
                       "family_version, theta, source) SELECT id, 1700000100.5, 'accept', utterance, 'great', "
                       "family, family_version, theta, source FROM ddl_queries WHERE id = 1")


def _make_v1_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(_V1_SQLITE)
        for row in _V1_ROWS:
            conn.execute(_INSERT_V1.format(", ".join("?" * len(row))), row)
        conn.execute(_INSERT_V1_FEEDBACK)
        conn.execute("DELETE FROM ddl_queries WHERE id = 4")  # its id must never be handed out again
    finally:
        conn.close()


def _make_v1_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in _V1_POSTGRES:
            conn.execute(statement)
        for row in _V1_ROWS:
            conn.execute(_INSERT_V1.format(", ".join(["%s"] * len(row))), row)
        conn.execute("SELECT setval(pg_get_serial_sequence('ddl_queries', 'id'), 4)")  # as after four inserts
        conn.execute(_INSERT_V1_FEEDBACK)
        conn.execute("DELETE FROM ddl_queries WHERE id = 4")


def _make_v1(url: str) -> None:
    if url.startswith("postgresql://"):
        _make_v1_postgres(url)
    else:
        _make_v1_sqlite(Path(url))


def _schema_version_of(url: str) -> str:
    if url.startswith("postgresql://"):
        with psycopg.connect(url, autocommit=True) as pg:
            row = pg.execute("SELECT value FROM ddl_meta WHERE key = 'schema_version'").fetchone()
    else:
        lite = sqlite3.connect(url)
        try:
            row = lite.execute("SELECT value FROM ddl_meta WHERE key = 'schema_version'").fetchone()
        finally:
            lite.close()
    assert row is not None
    return str(row[0])


def test_a_version_1_store_is_upgraded_in_place(store_url: str) -> None:
    _make_v1(store_url)
    assert _schema_version_of(store_url) == "1"
    with open_store(store_url) as store:
        assert SCHEMA_VERSION == 2
        assert list(store.queries()) == _V1_EXPECTED  # every row, every field, the same ids
        assert list(store.feedback()) == [_V1_FEEDBACK]
        assert store.candidates() == []
        # the new layout works: the new source, candidates, reject removing them
        qid = store.record_query(_extracted())
        assert qid == 5  # ids of version 1 (even a deleted one) are not reused
        assert store.get_query(qid) == attrs.evolve(_extracted(), id=qid)
        cid = store.add_candidate(qid, "books", "three mystery novels from the fifties please", {"count": 3})
        assert [c.id for c in store.candidates("books")] == [cid]
        assert store.add_feedback(1, "reject").query_id == 1  # feedback still refers to the old queries
        assert store.add_feedback(qid, "reject").verdict == "reject"
        assert store.candidate_count("books") == 0
        with pytest.raises(StoreError) as info:
            store.add_candidate(4, "books", "deleted later", {})
        assert info.value.code == "DDL706"
    assert _schema_version_of(store_url) == str(SCHEMA_VERSION)
    with open_store(store_url) as again:  # a second opening finds nothing to do
        assert [q.id for q in again.queries()] == [1, 2, 3, 5]
        assert len(list(again.feedback())) == 3


def test_an_upgraded_sqlite_store_has_the_new_layout_and_its_integrity(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    _make_v1_sqlite(path)
    open_store(path).close()
    fresh = tmp_path / "v2.sqlite3"
    open_store(fresh).close()

    def layout(p: Path) -> list[tuple[str, str]]:
        conn = sqlite3.connect(p)
        try:
            rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name").fetchall()
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()
        return [(name, " ".join(sql.replace('"', "").split())) for name, sql in rows]

    # the same tables and indexes as a store created by this version (the rebuilt table's text aside)
    assert [name for name, _ in layout(path)] == [name for name, _ in layout(fresh)]
    queries_sql = dict(layout(path))["ddl_queries"]
    assert "'extracted'" in queries_sql and "ddl_queries_v2" not in queries_sql
    assert not any(p.name.startswith("v1.sqlite3-journal") for p in tmp_path.iterdir())


def test_a_failed_upgrade_leaves_the_version_1_store_as_it_was(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upgrade is one transaction: if its last step fails, nothing of it remains."""
    _make_v1(store_url)
    if store_url.startswith("postgresql://"):
        monkeypatch.setattr(store_module, "_PG_CANDIDATES", ("CREATE TABLE ddl_candidates (oops)",))
    else:
        monkeypatch.setattr(store_module, "_SQLITE_CANDIDATES", "CREATE TABLE ddl_candidates (id, id)")
    with pytest.raises(StoreError) as info:
        open_store(store_url)
    assert info.value.code == "DDL702"
    assert info.value.message.startswith("cannot open store '")
    assert _schema_version_of(store_url) == "1"
    monkeypatch.undo()
    # still a version-1 store: its CHECK still refuses the new source, and no candidate table exists
    if store_url.startswith("postgresql://"):
        with psycopg.connect(store_url, autocommit=True) as pg:
            assert pg.execute("SELECT to_regclass('ddl_candidates') IS NULL").fetchone() == (True,)
            with pytest.raises(psycopg.errors.CheckViolation):
                pg.execute("INSERT INTO ddl_queries (ts, utterance, source, latency_ms) VALUES (1, 'u', 'extracted', 1)")
    else:
        lite = sqlite3.connect(store_url)
        try:
            tables = {r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert tables == {"ddl_meta", "ddl_queries", "ddl_feedback", "sqlite_sequence"}
            with pytest.raises(sqlite3.IntegrityError):
                lite.execute("INSERT INTO ddl_queries (ts, utterance, source, latency_ms) VALUES (1, 'u', 'extracted', 1)")
        finally:
            lite.close()
    with open_store(store_url) as store:  # and the real upgrade then succeeds with every row
        assert list(store.queries()) == _V1_EXPECTED
        assert list(store.feedback()) == [_V1_FEEDBACK]


def test_a_damaged_version_1_store_is_not_upgraded(tmp_path: Path) -> None:
    """A file whose schema still reads but whose data pages are damaged: refused before any write."""
    path = tmp_path / "v1.sqlite3"
    _make_v1_sqlite(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for i in range(300):
            conn.execute("INSERT INTO ddl_queries (ts, utterance, source, latency_ms) VALUES (?, ?, 'llm', 1)",
                         (float(i), f"query {i} " + "x" * 300))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")  # everything in the main file, no -wal beside it
    finally:
        conn.close()
    damaged = bytearray(path.read_bytes())
    page = 4096
    assert len(damaged) > 20 * page
    damaged[10 * page + 16 : 12 * page] = b"\xa5" * (2 * page - 16)  # data pages of ddl_queries, not the schema
    path.write_bytes(bytes(damaged))
    with pytest.raises(StoreError) as info:
        open_store(path)
    assert info.value.code == "DDL702"
    assert info.value.message.startswith(f"cannot open store '{path}': the database file is damaged (")
    assert "; it was left unchanged. Restore it from a backup" in info.value.message
    assert path.read_bytes() == bytes(damaged)  # not upgraded, not touched


def _open_and_add(url: str, worker: int, barrier: Any) -> None:
    barrier.wait(timeout=60)
    with open_store(url) as store:  # every process finds version 1 and races to upgrade it
        qid = store.record_query(_extracted(f"worker {worker}"))
        store.add_candidate(qid, "books", f"worker {worker}", {"worker": worker})


def test_replicas_opening_a_version_1_store_at_once_upgrade_it_once(store_url: str) -> None:
    _make_v1(store_url)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_open_and_add, args=(store_url, w, barrier)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    for p in procs:
        if p.is_alive():  # pragma: no cover - a hang is a failure, not a stuck suite
            p.kill()
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert _schema_version_of(store_url) == str(SCHEMA_VERSION)
    with open_store(store_url) as store:
        assert list(store.queries())[:3] == _V1_EXPECTED
        assert sorted(c.theta["worker"] for c in store.candidates()) == [0, 1, 2]
        assert list(store.feedback()) == [_V1_FEEDBACK]


def test_an_older_ddl_refuses_an_upgraded_store(store_url: str) -> None:
    """What version 1 does with a version-2 store: the message a user of an old ddl sees."""
    with open_store(store_url) as store:
        store.record_query(_det())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store_module, "SCHEMA_VERSION", 1)
        with pytest.raises(StoreError) as info:
            open_store(store_url)
    assert "its schema version 2 is newer than this ddl supports (1); upgrade ddl" in info.value.message
