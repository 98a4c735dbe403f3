"""H_k in process: covered queries are answered deterministically, the rest by the fake model; all recorded."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm
import pytest

import ddl
from ddl.handler.config import HandlerConfig
from ddl.handler.handler import Handler
from ddl.handler.records import HandlerError, QueryRecord, StoreError
from ddl.handler.registry import Registry
from ddl.handler.store import open_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fakellm"))
import ddl_fake_llm  # noqa: E402

BOOKS = ddl.load(ROOT / "examples" / "books.ddl").family("recommend_books")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    return Registry.load(ROOT / "examples", cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture(autouse=True)
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    monkeypatch.setenv("DDL_FAKE_SLOW_SECONDS", "3")
    llm.plugins.pm.register(ddl_fake_llm.FakeModels(), name="ddl-test-fakes")
    yield
    llm.plugins.pm.unregister(name="ddl-test-fakes")


def _handler(registry: Registry, tmp_path: Path, **config: Any) -> Handler:
    store = open_store(tmp_path / "ledger.sqlite3")
    return Handler(registry, store, HandlerConfig(**config))


def test_a_covered_query_is_answered_by_its_family_and_recorded(registry: Registry, tmp_path: Path) -> None:
    with _handler(registry, tmp_path, model="fake-echo") as h:
        answer = h.handle("Suggest 12 sci-fi novels from the 1980s")
        assert answer["source"] == "deterministic" and answer["family"] == "recommend_books"
        assert answer["theta"] == {"genre": "science_fiction", "count": 12, "decade": 1980}
        assert answer["output"] == BOOKS(genre="science_fiction", count=12, decade=1980)
        assert answer["tokens_in"] is None and answer["text"] is None and answer["recorded"] is True
        stored = h.store.get_query(answer["id"])
        assert stored.family == "recommend_books" and stored.theta == answer["theta"]
        assert stored.family_version == registry.by_name["recommend_books"].version
        assert stored.latency_ms >= 0


def test_a_miss_goes_to_the_model_with_its_tokens(registry: Registry, tmp_path: Path) -> None:
    with _handler(registry, tmp_path, model="fake-echo", extract=False) as h:
        answer = h.handle("write me a haiku about rain")
        assert answer["source"] == "llm" and answer["family"] is None
        assert answer["text"] == ddl_fake_llm.echo_reply("write me a haiku about rain")
        assert (answer["tokens_in"], answer["tokens_out"]) == (6, 7)
        assert answer["model"] == "fake-echo"
        assert h.store.get_query(answer["id"]).text == answer["text"]


def test_a_miss_without_a_model_is_a_clear_recorded_result(registry: Registry, tmp_path: Path) -> None:
    with _handler(registry, tmp_path) as h:
        answer = h.handle("hello")
        assert answer["source"] == "error" and answer["error"]["code"] == "DDL707"
        assert "-m MODEL" in answer["error"]["message"]
        assert h.store.get_query(answer["id"]).error == answer["error"]


def test_model_errors_and_timeouts_become_results(registry: Registry, tmp_path: Path) -> None:
    with _handler(registry, tmp_path, model="fake-broken") as h:
        answer = h.handle("hello")
        assert answer["error"]["code"] == "DDL703" and ddl_fake_llm.BROKEN_MESSAGE in answer["error"]["message"]
    with _handler(registry, tmp_path, model="fake-slow", timeout=0.3) as h:
        started = time.monotonic()
        answer = h.handle("hello")
        assert answer["error"]["code"] == "DDL704"
        assert time.monotonic() - started < 2.5  # does not wait for the slow model
    with _handler(registry, tmp_path, model="no-such-model-anywhere") as h:
        assert h.handle("hello")["error"]["code"] == "DDL703"


def test_invalid_input_is_refused(registry: Registry, tmp_path: Path) -> None:
    with _handler(registry, tmp_path, max_utterance=100) as h:
        with pytest.raises(HandlerError) as err:
            h.handle("x" * 101)
        assert err.value.code == "DDL705"
        with pytest.raises(HandlerError):
            h.handle(5)  # type: ignore[arg-type]


def test_a_lone_surrogate_is_refused_before_the_model_is_asked(registry: Registry, tmp_path: Path) -> None:
    ddl_fake_llm.reset_script([])  # a scripted model records every call it gets (and has no reply to give)
    with _handler(registry, tmp_path, model="fake-script", extract=False) as h:
        with pytest.raises(HandlerError) as err:
            h.handle("write me a haiku \udcff about rain")
        assert err.value.code == "DDL705" and "lone surrogate U+DCFF at character 18" in err.value.message
        assert ddl_fake_llm.RECEIVED == [] and list(h.store.queries()) == []


def test_feedback_is_stored_with_the_answer_it_judges(registry: Registry, tmp_path: Path) -> None:
    with _handler(registry, tmp_path, model="fake-echo") as h:
        hit = h.handle("recommend 25 fantasy books")  # count out of range: not covered
        assert hit["source"] == "llm"
        ok = h.handle("recommend 3 fantasy books")
        rec = h.feedback(ok["id"], "reject", "I wanted the 1980s")
        assert rec["verdict"] == "reject" and rec["correction"] == "I wanted the 1980s"
        assert rec["theta"] == ok["theta"] and rec["family"] == "recommend_books"
        assert rec["family_version"] == ok["family_version"] and rec["utterance"] == "recommend 3 fantasy books"
        assert [f.query_id for f in h.store.feedback("recommend_books")] == [ok["id"]]
        with pytest.raises(HandlerError) as err:
            h.feedback(ok["id"], "maybe")
        assert err.value.code == "DDL705"
        with pytest.raises(HandlerError) as err:
            h.feedback(10_000, "accept")
        assert err.value.code == "DDL706"


def test_stats_reflect_the_ledger(registry: Registry, tmp_path: Path) -> None:
    with _handler(registry, tmp_path, model="fake-echo", price_in=1.0, price_out=2.0) as h:
        h.handle("weather in paris")
        h.handle("weather in tokyo")
        h.handle("tell me a joke")
        stats = h.stats()
    assert stats["queries"] == 3 and stats["deterministic"] == 2
    assert abs(stats["coverage"] - 2 / 3) < 1e-9


class _BrokenStore:
    def record_query(self, rec: QueryRecord) -> int:
        raise StoreError("cannot write to store 'x': disk I/O error")

    def close(self) -> None:
        pass


def test_an_unwritable_store_still_answers_and_says_it_did_not_record(registry: Registry) -> None:
    h = Handler(registry, _BrokenStore(), HandlerConfig())
    answer = h.handle("weather in paris")
    assert answer["source"] == "deterministic" and answer["recorded"] is False
    assert answer["store_error"]["code"] == "DDL702" and "disk I/O" in answer["store_error"]["message"]


def test_reload_swaps_in_a_changed_directory(tmp_path: Path) -> None:
    d = tmp_path / "fams"
    d.mkdir()
    (d / "weather.ddl").write_text((ROOT / "examples" / "weather.ddl").read_text(encoding="utf-8"), encoding="utf-8")
    h = Handler(Registry.load(d, cache_dir=tmp_path / "cache"), None, HandlerConfig())
    assert h.handle("suggest 3 mystery books")["error"]["code"] == "DDL707"
    (d / "books.ddl").write_text((ROOT / "examples" / "books.ddl").read_text(encoding="utf-8"), encoding="utf-8")
    families = h.reload()
    assert sorted(f["name"] for f in families["served"]) == ["recommend_books", "weather_request"]
    assert h.handle("suggest 3 mystery books")["family"] == "recommend_books"


class _RefusingStore:
    """A store whose writer thread reports that the row could not be committed."""

    def submit_query(self, rec: QueryRecord, settled: Any) -> None:
        threading.Thread(target=settled, args=(None, StoreError("cannot write to store 'x': disk I/O error"))).start()

    def close(self) -> None:
        pass


@pytest.mark.parametrize("store", [_BrokenStore(), _RefusingStore()], ids=["record_query", "submit_query"])
def test_a_hit_answered_on_the_event_loop_says_when_it_was_not_recorded(registry: Registry, store: Any) -> None:
    """The service's path for covered queries (answer_hit, then record_hit awaiting the commit):
    a write that fails still answers, with "recorded": false and the store's error, as handle does."""
    h = Handler(registry, store, HandlerConfig())
    hit = h.answer_hit("weather in paris")
    assert hit is not None and hit.source == "deterministic"
    answer = asyncio.run(h.record_hit(hit))
    assert answer["source"] == "deterministic" and answer["recorded"] is False and answer.get("id") is None
    assert answer["store_error"]["code"] == "DDL702" and "disk I/O" in answer["store_error"]["message"]
    assert h.answer_hit("tell me a joke") is None  # a miss needs the model: handle answers it


def test_a_family_slow_on_the_event_loop_is_answered_by_handle_from_then_on(
        registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A program that once held the service's event loop longer than LOOP_SECONDS is not run there
    again (answer_hit says None, and the service calls handle in its thread pool); other families are."""
    monkeypatch.setattr(Handler, "LOOP_SECONDS", -1.0)  # every run counts as slow
    with Handler(registry, open_store(tmp_path / "ledger.sqlite3"), HandlerConfig()) as h:
        first = h.answer_hit("weather in paris")
        assert first is not None and first.family == "weather_request"
        assert h.answer_hit("weather in tokyo") is None
        answer = h.handle("weather in tokyo")
        assert answer["source"] == "deterministic" and answer["family"] == "weather_request"


def test_a_hit_answered_on_the_event_loop_is_in_the_ledger_when_it_returns(registry: Registry, tmp_path: Path) -> None:
    with Handler(registry, open_store(tmp_path / "ledger.sqlite3"), HandlerConfig()) as h:
        hit = h.answer_hit("weather in paris")
        assert hit is not None
        answer = asyncio.run(h.record_hit(hit))
        assert answer["recorded"] is True
        stored = h.store.get_query(answer["id"])
        assert stored is not None and stored.utterance == "weather in paris" and stored.output == answer["output"]
