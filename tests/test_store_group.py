"""Group commit in the ledger, on both backends (spec/handler.md, "The ledger and the feedback store").

Why these tests: ``record_query`` from many threads at once is committed in groups, one INSERT
and one commit per group, and ``submit_query`` hands a record to the store's writer thread without
waiting.  What a user relies on is unchanged: each call gets its own id, once its own row is
committed; a bad record fails only itself, never the records that happened to share its group;
and closing the store commits what was queued before it returns.  The groups are made
deterministic by holding the store's lock while the threads queue up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ledger_records import record as _record

from ddl.handler.records import HandlerError, StoreError
from ddl.handler.store import Store, open_store

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
