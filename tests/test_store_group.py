"""Group commit in the ledger, on both backends (spec/handler.md, "The ledger and the feedback store").

Why these tests: ``record_query`` from many threads at once is committed in groups, one INSERT
and one commit per group, and ``submit_query`` hands a record to the store's writer thread without
waiting.  What a user relies on is unchanged: each call gets its own id, once its own row is
committed; a bad record fails only itself, never the records that happened to share its group;
and closing the store commits what was queued before it returns.  The groups are made
deterministic by holding the store's lock while the threads queue up.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ledger_records import record as _record

from ddl.handler.records import HandlerError, StoreError
from ddl.handler.store import QUIET_COMMITS, Store, open_store

THREADS = 12


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    return str(request.getfixturevalue("fresh_postgres_url"))


def _count_inserts(store: Store) -> list[int]:
    """Wrap the store's multi-row INSERT to record how many rows each one wrote."""
    sizes: list[int] = []
    real = store._insert_rows  # type: ignore[attr-defined]

    def counting(rows: int, values: list[Any]) -> list[int]:
        sizes.append(rows)
        return real(rows, values)  # type: ignore[no-any-return]

    store._insert_rows = counting  # type: ignore[attr-defined]
    return sizes


def _queued_while_locked(store: Store, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call on its own thread while the store's lock is held, so that the first caller
    leads a group blocked on the lock and all the others queue behind it; then release the lock.
    Each call's result or exception, in order."""
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except Exception as err:  # noqa: BLE001 - the test inspects it
            results[i] = err

    def until(condition: Callable[[], bool]) -> None:
        for _ in range(6000):  # bounded polling, never a timing check
            with store._group:  # type: ignore[attr-defined]
                if condition():
                    return
            time.sleep(0.005)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    with store._lock:  # type: ignore[attr-defined]
        threads[0].start()
        until(lambda: store._committing)  # type: ignore[attr-defined]  # the first caller leads, blocked
        for thread in threads[1:]:
            thread.start()
        until(lambda: len(store._waiting) == len(calls) - 1)  # type: ignore[attr-defined]
    for thread in threads:
        thread.join(60)
    return results


def test_records_from_many_threads_are_committed_together_each_under_its_own_id(store_url: str) -> None:
    with open_store(store_url) as store:
        sizes = _count_inserts(store)
        utterances = [f"query {i} from its own thread" for i in range(THREADS)]
        ids = _queued_while_locked(store, [lambda u=u: store.record_query(_record(u)) for u in utterances])
        assert all(isinstance(i, int) for i in ids), ids
        assert len(set(ids)) == THREADS
        # the first caller's record alone, then everybody who queued meanwhile: one statement
        assert sizes == [1, THREADS - 1]
        for query_id, utterance in zip(ids, utterances):
            stored = store.get_query(query_id)
            assert stored is not None and stored.utterance == utterance and stored.output == ["The Big Sleep"]
        assert {q.id: q.utterance for q in store.queries()} == dict(zip(ids, utterances))


def test_a_bad_record_fails_alone_and_its_group_is_still_committed(store_url: str) -> None:
    """A lone surrogate in one record's model text (UTF-8 cannot encode it): that call is DDL705;
    the records queued with it are stored, each under the id its call returned."""
    with open_store(store_url) as store:
        sizes = _count_inserts(store)
        records = [_record(f"good query {i}") for i in range(THREADS)]
        records[5] = _record("the bad one", text="broken \ud800 text")
        results = _queued_while_locked(store, [lambda r=r: store.record_query(r) for r in records])
        bad = results[5]
        assert isinstance(bad, HandlerError) and bad.code == "DDL705" and "lone surrogate" in bad.message
        good = {query_id: rec.utterance for query_id, rec in zip(results, records) if rec is not records[5]}
        assert all(isinstance(i, int) for i in good) and len(good) == THREADS - 1
        assert {q.id: q.utterance for q in store.queries()} == good
        assert sizes[:2] == [1, THREADS - 1]  # the group failed as a whole, then each was tried alone
        assert sorted(sizes[2:]) == [1] * (THREADS - 1)


def test_submitted_records_are_settled_after_their_commit_and_close_waits_for_the_queue(store_url: str) -> None:
    settled: list[tuple[str, int | None, BaseException | None]] = []
    done = threading.Lock()

    def on_settled(utterance: str) -> Callable[[int | None, BaseException | None], None]:
        def settle(new_id: int | None, error: BaseException | None) -> None:
            with done:
                settled.append((utterance, new_id, error))
        return settle

    store = open_store(store_url)
    utterances = [f"submitted {i}" for i in range(40)]
    with store._lock:  # type: ignore[attr-defined]
        for utterance in utterances:  # nothing can commit yet: all of them queue
            store.submit_query(_record(utterance), on_settled(utterance))
        with pytest.raises(HandlerError) as invalid:  # invalid input is refused at once, as by record_query
            store.submit_query(_record("bad", source="guess"), on_settled("bad"))
        assert invalid.value.code == "DDL705"
        assert settled == []
    store.close()  # commits what is queued, then closes
    assert sorted(u for u, _, _ in settled) == sorted(utterances)
    assert all(error is None and isinstance(new_id, int) for _, new_id, error in settled)
    with pytest.raises(StoreError, match="is closed"):
        store.submit_query(_record("too late"), on_settled("too late"))
    with open_store(store_url) as again:
        assert {q.id: q.utterance for q in again.queries()} == {new_id: u for u, new_id, _ in settled}


# ---------------------------------------------------------------- quiet traffic: commit on the loop


def _on_threads(store: Store) -> list[tuple[str, str, int]]:
    """Wrap both ways of committing to record (which way, on which thread, how many rows)."""
    calls: list[tuple[str, str, int]] = []
    grouped, alone = store._insert_rows, store._insert_alone  # type: ignore[attr-defined]

    def rows(count: int, values: list[Any]) -> list[int]:
        calls.append(("group", threading.current_thread().name, count))
        return grouped(count, values)  # type: ignore[no-any-return]

    def one(values: list[Any]) -> int | None:
        calls.append(("alone", threading.current_thread().name, 1))
        return alone(values)  # type: ignore[no-any-return]

    store._insert_rows, store._insert_alone = rows, one  # type: ignore[attr-defined]
    return calls


def _committed(path: Path) -> dict[int, str]:
    conn = sqlite3.connect(path)  # another connection: sees only committed rows
    try:
        return dict(conn.execute("SELECT id, utterance FROM ddl_queries"))
    finally:
        conn.close()


def test_quiet_commits_are_made_on_the_awaiting_thread_each_committed_before_its_id(tmp_path: Path) -> None:
    """One awaited commit at a time: after QUIET_COMMITS of them, each row is committed on the event
    loop's own thread (no writer round trip), and is in the file, committed, when its id is returned."""
    path = tmp_path / "ledger.sqlite3"

    async def one_at_a_time(store: Store) -> list[tuple[int, dict[int, str]]]:
        seen = []
        for i in range(QUIET_COMMITS + 6):
            new_id = await store.commit_query(_record(f"quiet {i}"))
            seen.append((new_id, _committed(path)))
        return seen

    with open_store(path) as store:
        calls = _on_threads(store)
        seen = asyncio.run(one_at_a_time(store))
    for i, (new_id, rows) in enumerate(seen):
        assert rows[new_id] == f"quiet {i}"
    assert [new_id for new_id, _ in seen] == list(range(seen[0][0], seen[0][0] + len(seen)))
    loop_thread = threading.main_thread().name
    assert calls[-5:] == [("alone", loop_thread, 1)] * 5
    assert all(how == "group" for how, _, _ in calls[:QUIET_COMMITS])  # until traffic has been quiet a while


def test_commits_arriving_together_after_quiet_traffic_are_one_group(tmp_path: Path) -> None:
    """Quiet traffic, then 8 requests at once: none is committed alone on the loop (which would make
    the others wait); the writer commits them together, each with its own id."""
    path = tmp_path / "ledger.sqlite3"

    async def quiet_then_burst(store: Store) -> list[int]:
        for i in range(QUIET_COMMITS + 2):
            await store.commit_query(_record(f"quiet {i}"))
        return await asyncio.gather(*(store.commit_query(_record(f"burst {i}")) for i in range(8)))

    with open_store(path) as store:
        calls = _on_threads(store)
        ids = asyncio.run(quiet_then_burst(store))
    assert calls[-1][0] == "group" and sum(n for how, _, n in calls[-2:] if how == "group") == 8
    rows = _committed(path)
    assert [rows[i] for i in ids] == [f"burst {i}" for i in range(8)]


def test_another_process_holding_the_write_lock_never_stalls_the_loop(tmp_path: Path) -> None:
    """Quiet traffic, and another process holds the ledger's write lock: the commit does not wait for
    it on the event loop (the attempt there gives up at once, though the lock is released 0.2 s
    later, well within the busy timeout), but on the writer thread, while the loop keeps serving;
    then the row is committed with its id."""
    path = tmp_path / "ledger.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    async def blocked_commit(store: Store) -> tuple[int, int]:
        for i in range(QUIET_COMMITS + 2):
            await store.commit_query(_record(f"quiet {i}"))
        other.execute("BEGIN IMMEDIATE")  # the write lock, as another ddl serve writing would hold it
        threading.Timer(0.2, other.execute, ("COMMIT",)).start()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                await asyncio.sleep(0.01)
                ticks += 1

        done = asyncio.Event()
        counting = asyncio.create_task(ticker())
        new_id = await store.commit_query(_record("while locked"))
        done.set()
        await counting
        return new_id, ticks

    with open_store(path) as store:
        calls = _on_threads(store)
        outcomes: list[int | None] = []
        alone = store._insert_alone  # type: ignore[attr-defined]
        store._insert_alone = lambda values: outcomes.append(alone(values)) or outcomes[-1]  # type: ignore[attr-defined]
        try:
            new_id, ticks = asyncio.run(blocked_commit(store))
        finally:
            other.close()
    assert outcomes[-1] is None and calls[-1][0] == "group"  # gave up on the loop; the writer committed it
    assert ticks >= 5  # the loop ran on while the writer waited out the lock
    assert _committed(path)[new_id] == "while locked"
