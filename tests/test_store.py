"""The ledger / feedback store on both backends: SQLite files and a real PostgreSQL server.

Why these tests: the store is where feedback for refinement lives, so the properties that
matter are that nothing written is lost or altered (round trips, concurrent writers from
several processes), that ids behave (unique, increasing), and that every failure — corrupt
file, unreachable or wrong server, newer schema — is a clear StoreError that leaves the data
as it was.
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
from ddl.handler.records import FeedbackRecord, HandlerError, QueryRecord, StoreError
from ddl.handler.store import SCHEMA_VERSION, PostgresStore, SQLiteStore, Store, mask_url, open_store


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
