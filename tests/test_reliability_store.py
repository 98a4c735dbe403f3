"""Reliability of the ledger: a damaged SQLite file is refused and never written to, several
writer processes at once lose nothing, and a writer killed with SIGKILL loses nothing it had
acknowledged (spec/handler.md, "Queries, the ledger and feedback").

Why these tests: the ledger is the one record of what the handler answered and what users said
about it (refinement and widening learn from it), so the properties that matter are the ones a
user would notice: an acknowledged query is on disk, whatever happened to the process or its
neighbours, and a damaged file is left exactly as it was for the user to restore or salvage.
Each test drives the real entry points (the ``ddl`` console script, or ``Handler`` in separate
processes, as ``ddl handle`` and ``ddl serve`` do) and reads the result back with the sqlite3
module.  bench/soak.py runs the long versions of the concurrent and kill loops.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ddl.handler import Handler, HandlerConfig
from ddl.handler.records import QueryRecord, StoreError
from ddl.handler.store import open_store

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"
PAGE = 4096  # SQLite's default page size, which the store keeps

from ledger_writer import FAMILY, WRITER  # noqa: E402


def _env() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH", "")]))
    return environ


def _ddl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DDL), *args], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)


def _writer(directory: Path, store: Path, tag: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(store), tag, str(count)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _acknowledged(stdout: str) -> list[dict[str, Any]]:
    """The writer's complete lines (a line cut short by SIGKILL was never acknowledged)."""
    lines = stdout.split("\n")
    complete = lines[:-1]  # the text after the last newline is unfinished (or empty)
    rows = [json.loads(line) for line in complete]
    assert all("id" in row for row in rows), rows
    return rows


def _ledger_rows(store: Path) -> dict[int, str]:
    """Every query in the ledger (id → utterance), read with the sqlite3 module; the file must
    pass SQLite's full integrity check first."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return dict(conn.execute("SELECT id, utterance FROM ddl_queries"))
    finally:
        conn.close()


def _corrections(store: Path) -> dict[int, str]:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT query_id, correction FROM ddl_feedback"))
    finally:
        conn.close()


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    directory = tmp_path / "families"
    directory.mkdir()
    (directory / "count.ddl").write_text(FAMILY, encoding="utf-8")
    return directory


# ----------------------------------------------------------------------------------------
# A damaged ledger
# ----------------------------------------------------------------------------------------


def _make_ledger(registry: Path, store: Path, queries: int) -> None:
    """A ledger written by the handler, as `ddl handle` writes it, then checkpointed into the
    main file (so that damaging the file's bytes damages the data)."""
    handler = Handler.open(registry, HandlerConfig(store=str(store), extract=False))
    try:
        for i in range(queries):
            answer = handler.handle(f"count to {i % 999 + 1}" if i % 3 else f"hello number {i}")
            assert answer["recorded"], answer
    finally:
        handler.store.close()
    conn = sqlite3.connect(store)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _damage_interior_page(store: Path) -> bytes:
    """Overwrite the middle of the cell area of ddl_queries' root page, an interior b-tree page
    (its child page numbers become pages past the end of the file); the new bytes."""
    conn = sqlite3.connect(store)
    try:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ddl_queries'").fetchone()[0]
    finally:
        conn.close()
    data = bytearray(store.read_bytes())
    start = (root - 1) * PAGE
    assert data[start] == 0x05, "the table must be big enough to have an interior root page"
    cells = int.from_bytes(data[start + 5 : start + 7], "big")  # where the cell content area starts
    middle = (cells + PAGE) // 2
    data[start + middle - 32 : start + middle + 32] = b"\xa5" * 64
    store.write_bytes(bytes(data))
    return bytes(data)


@pytest.fixture
def damaged(registry: Path, tmp_path: Path) -> tuple[Path, bytes]:
    store = tmp_path / "ledger.sqlite3"
    _make_ledger(registry, store, 300)
    return store, _damage_interior_page(store)


def _assert_untouched(store: Path, content: bytes) -> None:
    assert store.read_bytes() == content
    wal = store.with_name(store.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # nothing waiting to be checkpointed into it


def _assert_refusal(text: str, store: Path) -> None:
    assert f"DDL702: cannot open store '{store}': the database file is damaged (" in text
    assert "it was left unchanged" in text
    assert "Restore it from a backup, or move it aside" in text
    assert f"sqlite3 {store} .recover" in text
    assert "Traceback" not in text


@pytest.mark.parametrize(
    "command",
    [
        ["handle", "{dir}", "count to 5", "--store", "{store}", "--no-extract"],
        ["handle", "{dir}", "something else entirely", "--store", "{store}", "--no-extract"],
        ["feedback", "{dir}", "3", "accept", "--store", "{store}"],
        ["feedback", "{dir}", "3", "reject", "--correction", "no", "--store", "{store}"],
        ["stats", "{dir}", "--store", "{store}"],
        ["widen", "count_to", "{dir}", "--store", "{store}", "--write"],
    ],
    ids=["handle-hit", "handle-miss", "feedback-accept", "feedback-reject", "stats", "widen"],
)
def test_a_damaged_ledger_is_refused_by_every_command_and_left_unchanged(
    command: list[str], registry: Path, damaged: tuple[Path, bytes]
) -> None:
    store, content = damaged
    proc = _ddl(*(arg.format(dir=registry, store=store) for arg in command))
    assert proc.returncode != 0, proc.stdout
    _assert_refusal(proc.stderr, store)
    _assert_untouched(store, content)


def test_a_damaged_ledger_is_refused_by_the_python_api(registry: Path, damaged: tuple[Path, bytes]) -> None:
    store, content = damaged
    for attempt in (lambda: open_store(store), lambda: Handler.open(registry, HandlerConfig(store=str(store)))):
        with pytest.raises(StoreError) as info:
            attempt()
        assert info.value.code == "DDL702"
        _assert_refusal(f"DDL702: {info.value.message}", store)
    _assert_untouched(store, content)


def test_damage_found_while_open_stops_every_later_write(registry: Path, tmp_path: Path) -> None:
    """The file is damaged after the store opened it (checked and found sound): the first
    statement that reads the damage reports it, and from then on nothing is written."""
    path = tmp_path / "ledger.sqlite3"
    _make_ledger(registry, path, 300)
    store = open_store(path)
    try:
        content = _damage_interior_page(path)
        with pytest.raises(StoreError) as info:
            list(store.queries())
        assert info.value.message.startswith(f"cannot read store '{path}': the database file is damaged (")
        assert "ddl writes nothing more to it. Restore it from a backup" in info.value.message
        record = QueryRecord(ts=1.0, utterance="count to 3", source="deterministic", latency_ms=0.1)
        writes = [
            lambda: store.record_query(record),
            lambda: store.add_feedback(1, "accept"),
            lambda: store.add_candidate(1, "count_to", "count to 3", {"n": 3}),
            lambda: store.remove_candidates(1),
        ]
        for write in writes:
            with pytest.raises(StoreError) as refused:
                write()
            assert refused.value.message.startswith(f"cannot write to store '{path}': the database file is damaged (")
        assert path.read_bytes() == content
    finally:
        store.close()
    _assert_untouched(path, content)


def test_a_sound_ledger_opens_after_the_check(registry: Path, tmp_path: Path) -> None:
    """The guard: the same ledger, undamaged, is used as usual (the check refuses only damage)."""
    store = tmp_path / "ledger.sqlite3"
    _make_ledger(registry, store, 300)
    proc = _ddl("handle", str(registry), "count to 5", "--store", str(store), "--no-extract")
    assert proc.returncode == 0, proc.stderr
    assert "query 301" in proc.stderr
    assert len(_ledger_rows(store)) == 301


def _voucher(store: Path) -> Path:
    return store.with_name(store.name + "-ddl-checked")


def test_a_ledger_damaged_right_after_a_clean_close_is_refused(registry: Path, tmp_path: Path) -> None:
    """A ledger closed sound is not read whole at its next open (a voucher beside it says what the file was);
    bytes changed right after the close, within the same clock tick and at the same size, still change what
    the voucher saw, so the file is read whole and refused."""
    store = tmp_path / "ledger.sqlite3"
    _make_ledger(registry, store, 300)
    with open_store(store) as sound:  # vouched for by the close in _make_ledger: opens without the full check
        sound.record_query(QueryRecord(ts=1.0, utterance="count to 3", source="deterministic", latency_ms=0.1))
    assert _voucher(store).exists()
    content = _damage_interior_page(store)
    with pytest.raises(StoreError) as info:
        open_store(store)
    _assert_refusal(f"DDL702: {info.value.message}", store)
    _assert_untouched(store, content)


def test_damage_that_changes_no_time_stamp_is_found_by_the_daily_check(registry: Path, tmp_path: Path) -> None:
    """What a voucher cannot see (a disk that fails under an unchanged file) is found by the full check, which
    runs again once the last one is a day old (SQLiteStore.CHECK_EVERY).  The fault is made by damaging the file
    and writing a voucher for it as it is now, as if nothing had changed it."""
    store = tmp_path / "ledger.sqlite3"
    _make_ledger(registry, store, 300)
    magic = _voucher(store).read_text(encoding="utf-8").split("\n")[0]
    content = _damage_interior_page(store)
    st = store.stat()
    identity = f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"
    checked = time.time() - 2 * 86_400
    _voucher(store).write_text(f"{magic}\n{identity}\n{checked!r}\n", encoding="utf-8")
    with pytest.raises(StoreError) as info:
        open_store(store)
    _assert_refusal(f"DDL702: {info.value.message}", store)
    _assert_untouched(store, content)
    # The same voucher from an hour ago is believed: that is the day a fault under an unchanged file may wait.
    _voucher(store).write_text(f"{magic}\n{identity}\n{time.time() - 3600!r}\n", encoding="utf-8")
    open_store(store, read_only=True).close()


# ----------------------------------------------------------------------------------------
# Concurrent writers
# ----------------------------------------------------------------------------------------

WRITERS = 4
PER_WRITER = 40


def test_concurrent_writers_lose_nothing(registry: Path, tmp_path: Path) -> None:
    """Four handler processes and two `ddl handle` runs start at once on a ledger that does not
    exist yet (they race to create it) and write at once: every acknowledged query and
    feedback is there, once, under the id it was acknowledged with."""
    store = tmp_path / "ledger.sqlite3"
    writers = [_writer(registry, store, f"w{w}", PER_WRITER) for w in range(WRITERS)]
    clis = [subprocess.Popen([str(DDL), "handle", str(registry), f"count to {900 + c}", "--store", str(store),
                              "--no-extract"], cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for c in range(2)]
    acknowledged: list[dict[str, Any]] = []
    for proc in writers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        rows = _acknowledged(out)
        assert len(rows) == PER_WRITER
        acknowledged += rows
    for c, proc in enumerate(clis):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        line = err.strip().splitlines()[-1]
        query_id = int(line.rsplit("(query ", 1)[1].split(",")[0])
        acknowledged.append({"id": query_id, "utterance": f"count to {900 + c}"})
    ledger = _ledger_rows(store)
    assert len(ledger) == len(acknowledged) == WRITERS * PER_WRITER + 2
    assert {row["id"]: row["utterance"] for row in acknowledged} == ledger
    assert _corrections(store) == {row["id"]: row["feedback"] for row in acknowledged if "feedback" in row}


# ----------------------------------------------------------------------------------------
# kill -9 of a writer
# ----------------------------------------------------------------------------------------


def _kill_after(proc: subprocess.Popen[str], acknowledged: int) -> list[dict[str, Any]]:
    """Let the writer acknowledge ``acknowledged`` queries, SIGKILL it while it writes the next
    ones, and return every line it printed."""
    assert proc.stdout is not None
    seen = []
    while len(seen) < acknowledged:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "the writer stopped"
        seen.append(line)
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return _acknowledged("".join(seen) + rest)


def test_a_writer_killed_with_sigkill_loses_nothing_it_acknowledged(registry: Path, tmp_path: Path) -> None:
    """Three writers on one ledger, each killed mid-stream (the next one opens what the last
    left behind: a WAL with committed and uncommitted frames): every acknowledged id is in the
    ledger with its utterance, the file passes integrity_check, and it is still usable."""
    store = tmp_path / "ledger.sqlite3"
    acknowledged: list[dict[str, Any]] = []
    for round_, after in enumerate((25, 60, 7)):
        acknowledged += _kill_after(_writer(registry, store, f"k{round_}", -1), after)
        ledger = _ledger_rows(store)
        assert {row["id"]: row["utterance"] for row in acknowledged}.items() <= ledger.items()
    corrections = _corrections(store)
    assert {row["id"]: row["feedback"] for row in acknowledged if "feedback" in row}.items() <= corrections.items()
    proc = _ddl("handle", str(registry), "count to 8", "--store", str(store), "--no-extract")  # still usable
    assert proc.returncode == 0, proc.stderr
    ledger = _ledger_rows(store)
    assert max(ledger) > max(row["id"] for row in acknowledged)  # ids go on increasing: none handed out twice
    assert ledger[max(ledger)] == "count to 8"


# ----------------------------------------------------------------------------------------
# PostgreSQL: damage the server reports
# ----------------------------------------------------------------------------------------


def test_damage_reported_by_postgresql_stops_every_later_write(fresh_postgres_url: str) -> None:
    """Parity with SQLite: once the server reports damaged data (SQLSTATE XX001, as for a page
    that fails its checksum), the store says so and writes nothing more, even if the next
    statement would succeed.  The damage is injected into the real server's answer to one read."""
    store = open_store(fresh_postgres_url)
    try:
        record = QueryRecord(ts=1.0, utterance="count to 3", source="deterministic", latency_ms=0.1)
        query_id = store.record_query(record)
        real = store._conn  # type: ignore[attr-defined]

        class ReportsDamage:
            """The real connection, except that reading ddl_queries finds a damaged page."""

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
                if "FROM ddl_queries" in sql:
                    raise psycopg.errors.DataCorrupted('invalid page in block 7 of relation base/16384/16390')
                return real.execute(sql, *args, **kwargs)

        store._conn = ReportsDamage()  # type: ignore[attr-defined]
        with pytest.raises(StoreError) as info:
            store.get_query(query_id)
        assert info.value.message == (
            f"cannot read store '{store.url}': the database reports damaged data (invalid page in block 7 of "
            "relation base/16384/16390); ddl writes nothing more to this store. Ask its administrator to repair "
            "it (amcheck finds the damage; REINDEX rebuilds an index) or restore it from a backup"
        )
        store._conn = real  # type: ignore[attr-defined]
        for write in (lambda: store.record_query(record), lambda: store.add_feedback(query_id, "accept")):
            with pytest.raises(StoreError) as refused:
                write()
            assert refused.value.message.startswith(f"cannot write to store '{store.url}': the database reports damaged")
    finally:
        store.close()
    with psycopg.connect(fresh_postgres_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM ddl_queries").fetchone() == (1,)
        assert conn.execute("SELECT COUNT(*) FROM ddl_feedback").fetchone() == (0,)


# ----------------------------------------------------------------------------------------
# kill -9 of `ddl serve` under concurrent load
# ----------------------------------------------------------------------------------------

SERVE_CLIENTS = 8
SERVE_ROUNDS = 3
SERVE_SEED = int(os.environ.get("DDL_TEST_SEED", "20261207"))


class _Serve:
    """`ddl serve DIR` on loopback (port 0) over ``store``; ``port`` once it listens."""

    def __init__(self, directory: Path, store: Path, log: Path) -> None:
        cmd = [str(DDL), "serve", str(directory), "--port", "0", "--store", str(store), "--no-extract",
               "--log-file", str(log)]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        assert self.proc.stderr is not None
        seen = []
        for line in self.proc.stderr:  # a warning or two, then the line naming the address (the log is a file)
            seen.append(line)
            found = re.search(r"on http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
                break
        else:
            raise AssertionError("ddl serve did not start:\n" + "".join(seen))
        stderr = self.proc.stderr
        threading.Thread(target=stderr.read, daemon=True).start()  # never let a full pipe block the server


def _client(port: int, tag: str, acknowledged: list[dict[str, Any]], progress: threading.Condition) -> None:
    """Send queries over one keep-alive connection until the server goes away; append every
    answer that came back 200 (and says it is recorded) with its id and utterance."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    i = 0
    try:
        while True:
            # mostly covered queries (answered on the event loop), some misses (the thread pool)
            utterance = f"{tag} says hello {i}" if i % 5 == 0 else f"count to {i % 999 + 1}"
            body = json.dumps({"utterance": utterance})
            conn.request("POST", "/query", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            answer = json.loads(response.read())
            if response.status != 200 or not answer.get("recorded"):
                raise AssertionError(f"{response.status} {answer}")
            with progress:
                acknowledged.append({"id": answer["id"], "utterance": utterance})
                progress.notify_all()
            i += 1
    except (OSError, http.client.HTTPException):
        return  # the server was killed: this request was never acknowledged
    finally:
        conn.close()


def test_ddl_serve_killed_with_sigkill_loses_no_acknowledged_query(registry: Path, tmp_path: Path) -> None:
    """`ddl serve` answers 8 concurrent clients (group commit at work) and is killed with SIGKILL
    after a random number of answers (seeded: DDL_TEST_SEED replays a run), three times over one
    ledger: every query that got a 200 is in the ledger under its id with its utterance, the file
    passes integrity_check, and the next server opens it and goes on with higher ids."""
    rng = random.Random(SERVE_SEED)
    store = tmp_path / "ledger.sqlite3"
    acknowledged: list[dict[str, Any]] = []
    for round_ in range(SERVE_ROUNDS):
        kill_after = rng.randint(20, 200)
        server = _Serve(registry, store, tmp_path / f"serve{round_}.log")
        progress = threading.Condition()
        answered: list[dict[str, Any]] = []
        clients = [threading.Thread(target=_client, args=(server.port, f"r{round_}c{c}", answered, progress))
                   for c in range(SERVE_CLIENTS)]
        for thread in clients:
            thread.start()
        with progress:
            # bounded: a server that stops answering fails the test instead of hanging it
            progress.wait_for(lambda answered=answered, kill_after=kill_after, server=server:
                              len(answered) >= kill_after or server.proc.poll() is not None, timeout=300)
        assert server.proc.poll() is None, f"seed {SERVE_SEED}: ddl serve exited early"
        assert len(answered) >= kill_after, f"seed {SERVE_SEED}: only {len(answered)} answers"
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(60)
        for thread in clients:
            thread.join(120)
        assert not any(thread.is_alive() for thread in clients)
        acknowledged += answered
        ledger = _ledger_rows(store)  # integrity_check first
        missing = {row["id"]: row["utterance"] for row in acknowledged if ledger.get(row["id"]) != row["utterance"]}
        assert not missing, f"seed {SERVE_SEED}, round {round_}: acknowledged but not in the ledger: {missing}"
    assert len({row["id"] for row in acknowledged}) == len(acknowledged)  # no id acknowledged twice
    proc = _ddl("handle", str(registry), "count to 8", "--store", str(store), "--no-extract")  # still usable
    assert proc.returncode == 0, proc.stderr
    ledger = _ledger_rows(store)
    assert max(ledger) > max(row["id"] for row in acknowledged) and ledger[max(ledger)] == "count to 8"
