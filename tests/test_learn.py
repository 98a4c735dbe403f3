"""Compile on miss: a missed utterance becomes a family only if it is checked, disjoint and agrees."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import llm
import pytest

from ddl.handler.config import HandlerConfig
from ddl.handler.handler import Handler
from ddl.handler.learn import agrees
from ddl.handler.registry import Registry
from ddl.handler.store import open_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fakellm"))
sys.path.insert(0, str(ROOT / "tests"))
import ddl_fake_llm  # noqa: E402
from distill_families import BAKED_URL, GOOD, UTTERANCE, fenced  # noqa: E402

OUTPUT = {"method": "GET", "url": "https://openlibrary.org/subjects/fantasy.json",
          "query": {"limit": "5", "published_in": "1980-1989"}}


@pytest.fixture(autouse=True)
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    llm.plugins.pm.register(ddl_fake_llm.FakeModels(), name="ddl-learn-fakes")
    yield
    llm.plugins.pm.unregister(name="ddl-learn-fakes")
    ddl_fake_llm.reset_script([])


def _handler(tmp_path: Path) -> Handler:
    d = tmp_path / "families"
    d.mkdir()
    shutil.copy(ROOT / "examples" / "weather.ddl", d / "weather.ddl")
    registry = Registry.load(d, cache_dir=tmp_path / "cache")
    config = HandlerConfig(model=ddl_fake_llm.SCRIPTED, compile_on_miss=True, distill_rounds=1, extract=False)
    return Handler(registry, open_store(tmp_path / "ledger.sqlite3"), config, learn_in_background=False)


def test_an_agreeing_checked_family_joins_the_registry_and_answers_from_then_on(tmp_path: Path) -> None:
    ddl_fake_llm.reset_script([json.dumps(OUTPUT), fenced(GOOD)])
    with _handler(tmp_path) as h:
        first = h.handle(UTTERANCE)
        assert first["source"] == "llm"
        learning = first["learning"]
        assert learning["status"] == "admitted" and learning["family"] == "decade_books", learning
        assert Path(learning["path"]) == h.registry.directory / "distilled" / "decade_books.ddl"
        assert Path(learning["transcript"]).is_file()
        again = h.handle("suggest 3 mystery books from the 1950s")
        assert again["source"] == "deterministic" and again["family"] == "decade_books"
        assert again["theta"] == {"genre": "mystery", "count": 3, "decade": 1950}
        assert h.handle("weather in paris")["family"] == "weather_request"  # the old family still serves


def test_a_family_that_disagrees_with_the_models_answer_is_not_admitted(tmp_path: Path) -> None:
    ddl_fake_llm.reset_script(["Try The Mists of Avalon and Dragonlance!", fenced(GOOD)])
    with _handler(tmp_path) as h:
        learning = h.handle(UTTERANCE)["learning"]
        assert learning["status"] == "rejected" and "does not agree" in learning["reason"]
        assert not (h.registry.directory / "distilled").exists()
        assert [f.name for f in h.registry.served] == ["weather_request"]


def test_a_specialized_family_is_stopped_by_the_checker(tmp_path: Path) -> None:
    ddl_fake_llm.reset_script([json.dumps(OUTPUT), fenced(BAKED_URL), fenced(BAKED_URL)])
    with _handler(tmp_path) as h:
        learning = h.handle(UTTERANCE)["learning"]
        assert learning["status"] == "rejected" and learning["reason"].startswith("distillation failed")
        assert learning["rounds"] == 2
        assert [f.name for f in h.registry.served] == ["weather_request"]
        assert not (h.registry.directory / "distilled").exists()


def test_covered_queries_are_never_compiled(tmp_path: Path) -> None:
    ddl_fake_llm.reset_script([])
    with _handler(tmp_path) as h:
        answer = h.handle("weather in tokyo")
        assert answer["source"] == "deterministic" and "learning" not in answer


@pytest.mark.parametrize("output,answer,expected", [
    ({"a": 1}, '{"a": 1}', True),
    ({"a": 1}, 'Here you go:\n```json\n{"a": 1}\n```', True),
    ({"a": 1}, '{"a": 2}', False),
    ("Bonjour, Paris.", "bonjour,   paris", True),
    ("Bonjour", "Hello", False),
    ({"a": 1}, "a is 1", False),
    ("x", None, False),
])
def test_agreement(output: object, answer: str | None, expected: bool) -> None:
    assert agrees(output, answer) is expected
