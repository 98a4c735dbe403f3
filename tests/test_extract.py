"""The miss path asks which family and θ first; extracted requests become candidates that widen the grammar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm
import pytest

from ddl.handler.config import HandlerConfig
from ddl.handler.handler import Handler
from ddl.handler.records import HandlerError
from ddl.handler.registry import Registry
from ddl.handler.store import open_store

ROOT = Path(__file__).resolve().parent.parent
FAKELLM = ROOT / "tests" / "fakellm"
DDL = Path(sys.executable).parent / "ddl"
sys.path.insert(0, str(FAKELLM))
import ddl_fake_llm  # noqa: E402
from widen_families import CAB, GREET, TRIP  # noqa: E402

MISS = "tokyo weather 4 days"


@pytest.fixture()
def directory(tmp_path: Path) -> Path:
    (tmp_path / "families").mkdir()
    (tmp_path / "families" / "trip.ddl").write_text(TRIP, encoding="utf-8")
    return tmp_path / "families"


@pytest.fixture(autouse=True)
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    llm.plugins.pm.register(ddl_fake_llm.FakeModels(), name="ddl-test-fakes")
    ddl_fake_llm.reset_script()
    yield
    llm.plugins.pm.unregister(name="ddl-test-fakes")


def _handler(directory: Path, **config: Any) -> Handler:
    store = open_store(directory.parent / "ledger.sqlite3")
    return Handler(Registry.load(directory, use_cache=False), store,
                   HandlerConfig(model=ddl_fake_llm.SCRIPTED, **config), learn_in_background=False)


def test_a_miss_is_answered_by_the_family_the_model_names_and_becomes_a_candidate(directory: Path) -> None:
    ddl_fake_llm.SCRIPT.append('Sure! {"family": "trip_weather", "theta": {"city": "tokyo", "days": 4}}')
    with _handler(directory) as h:
        answer = h.handle(MISS)
        assert answer["source"] == "extracted" and answer["family"] == "trip_weather"
        assert answer["theta"] == {"city": "tokyo", "days": 4} and answer["output"] == "tokyo for 4 days"
        assert answer["tokens_in"] and answer["candidate"] is True
        [candidate] = h.store.candidates("trip_weather")
        assert (candidate.query_id, candidate.utterance, candidate.theta) == (answer["id"], MISS, answer["theta"])
        prompt = ddl_fake_llm.RECEIVED[0]["prompt"]
        assert "- trip_weather: Weather for a city over some days." in prompt
        assert "city: one of paris, tokyo, new_york" in prompt and "days: Int in 1..14 (has a default)" in prompt
        assert prompt.endswith(f"Request: {MISS}") and "program" not in prompt  # the families, nothing more


@pytest.mark.parametrize("reply", [
    '{"family": null}', "no idea", '{"family": "nope", "theta": {}}', '{"family": "trip_weather", "theta": [1]}',
    '{"family": "trip_weather", "theta": {"city": "rome"}}', '{"family": "trip_weather", "theta": {"days": 99}}',
    '{"family": "trip_weather", "theta": ' + "[" * 5000 + "]" * 5000 + "}",
], ids=["no-family", "prose", "unknown-family", "theta-not-object", "value-outside", "range-outside", "deep-json"])
def test_anything_but_a_valid_extraction_gets_the_full_answer(directory: Path, reply: str) -> None:
    ddl_fake_llm.SCRIPT.extend([reply, "the full answer"])
    with _handler(directory) as h:
        answer = h.handle(MISS)
        assert answer["source"] == "llm" and answer["text"] == "the full answer"
        assert h.store.candidates() == []
        assert len(ddl_fake_llm.RECEIVED) == 2  # the small question, then the full one
        # The query's cost is both calls.
        words = sum(len(r["prompt"].split()) + len((r["system"] or "").split()) for r in ddl_fake_llm.RECEIVED)
        assert answer["tokens_in"] == words


def test_rejecting_an_extracted_answer_removes_its_candidate(directory: Path) -> None:
    ddl_fake_llm.SCRIPT.append('{"family": "trip_weather", "theta": {"city": "paris", "days": 4}}')  # wrong city
    with _handler(directory) as h:
        answer = h.handle(MISS)
        assert answer["source"] == "extracted"
        h.feedback(answer["id"], "reject")
        assert h.store.candidates("trip_weather") == []


def test_the_handler_widens_after_n_candidates_and_then_answers_deterministically(directory: Path) -> None:
    ddl_fake_llm.SCRIPT.extend(['{"family": "trip_weather", "theta": {"city": "tokyo", "days": 4}}',
                                '{"family": "trip_weather", "theta": {"city": "paris", "days": 2}}'])
    with _handler(directory, widen_after=2) as h:
        first = h.handle(MISS)
        assert first["source"] == "extracted" and first["widening"] is None  # 1 of 2
        second = h.handle("paris weather 2 days")
        assert second["widening"]["ok"] is True and second["widening"]["written"] is True
        text = (directory / "trip.ddl").read_text(encoding="utf-8")
        assert "rule learned = " in text and "any_order(" in text  # two phrasings: the spotting generalization
        # From now on the grammar answers this phrasing — and the same values marked the same way, in
        # another order, among the family's words: no model call.
        calls = len(ddl_fake_llm.RECEIVED)
        third = h.handle("new york weather 9 days")
        assert third["source"] == "deterministic" and third["theta"] == {"city": "new_york", "days": 9}
        fourth = h.handle("hi, weather for 3 days in tokyo please")
        assert fourth["source"] == "deterministic" and fourth["theta"] == {"city": "tokyo", "days": 3}
        assert len(ddl_fake_llm.RECEIVED) == calls
        # A word nobody used with this family is not filler: the request goes to the model.
        ddl_fake_llm.SCRIPT.append('{"family": null}')
        assert h.handle("tokyo hotels 3 days")["source"] != "deterministic"
        assert [f.name for f in h.registry.served] == ["trip_weather"]


def _ddl(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    environ.update(PYTHONPATH=os.pathsep.join([str(FAKELLM), str(ROOT)]), LLM_USER_PATH=str(tmp / "llm"))
    return subprocess.run([str(DDL), *args], cwd=tmp, env=environ, capture_output=True, text=True, timeout=300)


def test_ddl_widen_shows_the_diff_and_writes_only_with_write(directory: Path, tmp_path: Path) -> None:
    ddl_fake_llm.SCRIPT.append('{"family": "trip_weather", "theta": {"city": "tokyo", "days": 4}}')
    with _handler(directory) as h:
        assert h.handle(MISS)["source"] == "extracted"
    store = str(directory.parent / "ledger.sqlite3")
    before = (directory / "trip.ddl").read_text(encoding="utf-8")
    shown = _ddl(tmp_path, "widen", "trip_weather", str(directory), "--store", store)
    assert shown.returncode == 0, shown.stderr
    assert "1 candidate phrasing, learner align" in shown.stdout
    assert "admitted: city \" weather \" number(days) \" days\"" in shown.stdout
    assert "proved: L(G) ⊆ L(G')" in shown.stdout and "+    rule learned" in shown.stdout
    assert "run again with --write" in shown.stdout
    assert (directory / "trip.ddl").read_text(encoding="utf-8") == before
    written = _ddl(tmp_path, "widen", "trip_weather", str(directory), "--store", store, "--write", "--format", "json")
    assert written.returncode == 0, written.stderr
    report = json.loads(written.stdout)
    assert report["written"] is True and report["gate"]["admitted"][0]["utterances"] == [MISS]
    assert "rule learned" in (directory / "trip.ddl").read_text(encoding="utf-8")
    assert _ddl(tmp_path, "check", "--no-cache", str(directory)).returncode == 0
    misspelt = _ddl(tmp_path, "widen", "trip_wether", str(directory), "--store", store)
    assert misspelt.returncode == 2 and "did you mean 'trip_weather'?" in misspelt.stderr


def test_rejecting_a_learned_phrasings_answer_unlearns_it(directory: Path) -> None:
    """A labeler's mistake that reached the grammar leaves it once the user rejects the answer."""
    ddl_fake_llm.SCRIPT.extend(['{"family": "trip_weather", "theta": {"city": "tokyo", "days": 4}}',
                                '{"family": "trip_weather", "theta": {"city": "tokyo"}}'])
    with _handler(directory, widen_after=1) as h:
        good = h.handle(MISS)
        assert good["widening"]["written"] is True
        bad = h.handle("forecast for tokyo for a fortnight")  # mislabelled: the model left days at 1
        assert bad["source"] == "extracted" and bad["theta"] == {"city": "tokyo", "days": 1}
        assert bad["widening"]["written"] is True
        assert '"fortnight"' in (directory / "trip.ddl").read_text(encoding="utf-8")
        assert h.handle("forecast for paris for a fortnight")["theta"] == {"city": "paris", "days": 1}  # the poison
        answer = h.feedback(bad["id"], "reject")
        assert answer["relearning"]["written"] is True
        text = (directory / "trip.ddl").read_text(encoding="utf-8")
        assert "fortnight" not in text and 'city " weather " number(days) " days"' in text
        assert h.handle("tokyo weather 2 days")["source"] == "deterministic"
        # Rejecting the last teacher removes the learned rule: the authored grammar is back.
        h.feedback(good["id"], "reject")
        assert "rule learned" not in (directory / "trip.ddl").read_text(encoding="utf-8")
        assert (directory / "trip.ddl").read_text(encoding="utf-8") == TRIP


def test_a_learned_name_is_never_a_word_another_familys_users_ask_with(directory: Path) -> None:
    """Whoever widens first, a free-text value it learns is no word the other families' users were seen
    asking with (their candidates): trip's users say "forecast", which trip's grammar does not (yet) hold,
    and greet, widened first, must not learn to greet "Forecast" — the request trip is about to learn."""
    (directory / "greet.ddl").write_text(GREET, encoding="utf-8")
    ddl_fake_llm.SCRIPT.extend(['{"family": "trip_weather", "theta": {"city": "tokyo", "days": 4}}',
                                '{"family": "trip_weather", "theta": {"city": "paris", "days": 2}}',
                                '{"family": "greet", "theta": {"name": "Bob"}}',
                                '{"family": "greet", "theta": {"name": "Cid"}}'])
    with _handler(directory) as h:
        for utterance in ("tokyo forecast 4 days", "forecast paris 2 days", "please greet Bob now", "greet Cid now"):
            assert h.handle(utterance)["source"] == "extracted", utterance
        assert h.widen("greet", write=True).written is True
        greet = next(e.grammar for e in h.registry.router.entries if e.name == "greet")
        assert greet.match("please greet Dan now").ok
        assert not greet.match("please greet Forecast now").ok and not greet.match("greet Forecast now").ok
        assert h.widen("trip_weather", write=True).written is True
        assert sorted(f.name for f in h.registry.served) == ["greet", "trip_weather"]
        assert h.registry.route("new york forecast 3 days").family == "trip_weather"


def test_widening_again_with_nothing_new_writes_nothing(directory: Path) -> None:
    ddl_fake_llm.SCRIPT.append('{"family": "trip_weather", "theta": {"city": "tokyo", "days": 4}}')
    with _handler(directory) as h:
        h.handle(MISS)
        assert h.widen("trip_weather", write=True).written is True
        stamp = (directory / "trip.ddl").stat().st_mtime_ns
        again = h.widen("trip_weather", write=True)
        assert again.written is False and "nothing changed" in again.message
        assert (directory / "trip.ddl").stat().st_mtime_ns == stamp


def test_ddl_handle_prints_an_extracted_answer_like_a_deterministic_one(directory: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(['{"family": "trip_weather", "theta": {"city": "tokyo", "days": 4}}']))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    environ.update(PYTHONPATH=os.pathsep.join([str(FAKELLM), str(ROOT)]), LLM_USER_PATH=str(tmp_path / "llm"), DDL_FAKE_SCRIPT=str(script))
    proc = subprocess.run([str(DDL), "handle", str(directory), MISS, "-m", ddl_fake_llm.SCRIPTED,
                           "--store", str(tmp_path / "s.sqlite3")], env=environ, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == "tokyo for 4 days"
    assert 'ddl handle: extracted: family trip_weather, θ = {"city": "tokyo", "days": 4}, named by model fake-script' \
        in proc.stderr


def test_small_talk_costs_no_extraction_call_and_only_related_families_are_listed(directory: Path) -> None:
    (directory / "cab.ddl").write_text(CAB, encoding="utf-8")
    ddl_fake_llm.SCRIPT.extend(["a poem about rain", '{"family": null}', "the full answer"])
    with _handler(directory) as h:
        assert h.handle("write me a poem about rain")["source"] == "llm"
        assert len(ddl_fake_llm.RECEIVED) == 1  # straight to the full answer: no family shares a word
        h.handle("weather on mars")
        prompt = ddl_fake_llm.RECEIVED[1]["prompt"]
        assert "- trip_weather" in prompt and "- cab" not in prompt  # only the family sharing "weather"


def test_both_learners_widen_together_and_the_model_sees_the_grammar_and_how_users_ask(directory: Path) -> None:
    """``--method both``: the model's alternatives and align's pass one gate; the model's prompt shows the
    parameters and grammar as authored and requests the grammar already answers."""
    asked = "how's paris looking, weatherwise"
    ddl_fake_llm.SCRIPT.extend([
        '{"family": "trip_weather", "theta": {"city": "tokyo", "days": 4}}',
        '{"family": "trip_weather", "theta": {"city": "paris"}}',
        '```\n"how\'s " city " looking" (", weatherwise" | " weatherwise")?\n"never said " city\n```'])
    with _handler(directory) as h:
        assert h.handle("weather in paris")["source"] == "deterministic"
        h.handle(MISS)
        h.handle(asked)
        with pytest.raises(HandlerError, match="the both learner needs a model"):
            Handler(h.registry, h.store, HandlerConfig(), learn_in_background=False).widen("trip_weather",
                                                                                            method="both")
        report = h.widen("trip_weather", method="both", write=True)
        prompt = ddl_fake_llm.RECEIVED[-1]["prompt"]
        assert "param days : Int in 1..14 = 1" in prompt and '"weather in " city (" for "' in prompt
        assert 'Requests it already answers:\n  "weather in paris"' in prompt
        assert f'"{MISS}" => {{"city": "tokyo", "days": 4}}' in prompt
        assert report.gate is not None and report.written
        admitted = [a.source for a in report.gate.admitted]
        assert admitted[0] == '"how\'s " city " looking" (", weatherwise" | " weatherwise")?'  # the model's
        assert "learned_word" in admitted[1] and report.gate.admitted[1].utterances == (MISS, asked)  # align's
        assert [r.reason for r in report.gate.refused] == ["accepts none of the candidate phrasings"]
        assert h.handle("how's tokyo looking weatherwise")["theta"] == {"city": "tokyo", "days": 1}
        assert h.handle("paris weather 3 days")["theta"] == {"city": "paris", "days": 3}


def test_automatic_widening_uses_the_configured_method(directory: Path) -> None:
    """``widen_method = "both"``: the background widening asks the model for alternatives too."""
    ddl_fake_llm.SCRIPT.extend([
        '{"family": "trip_weather", "theta": {"city": "paris"}}',
        '```\n"how\'s " city " looking" (", weatherwise" | " weatherwise")?\n```'])
    with _handler(directory, widen_after=1, widen_method="both") as h:
        answer = h.handle("how's paris looking, weatherwise")
        assert answer["widening"]["written"] is True
        assert "Phrasings to accept" in ddl_fake_llm.RECEIVED[-1]["prompt"]  # the model was asked to propose
        assert '"how\'s " city " looking"' in (directory / "trip.ddl").read_text(encoding="utf-8")
        assert h.handle("how's tokyo looking")["source"] == "deterministic"
