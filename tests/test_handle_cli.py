"""``ddl handle``, ``ddl feedback`` and ``ddl stats`` through the real console script.

Each test runs ``.venv/bin/ddl`` in a subprocess with the fake llm models of tests/fakellm on
PYTHONPATH (found through llm's entry points, as a user's installed plugin would be) and an
isolated LLM_USER_PATH, against the 10 families of examples/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"
FAKELLM = ROOT / "tests" / "fakellm"
HIT = "suggest 3 mystery books from the 1950s"
HIT_THETA = {"genre": "mystery", "count": 3, "decade": 1950}
MISS = "write me a haiku about rain"
SLOW_SECONDS = 60  # fake-slow sleeps this long; a timed-out call must not wait for it


def ddl(tmp: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    environ.update(PYTHONPATH=os.pathsep.join([str(FAKELLM), str(ROOT)]), LLM_USER_PATH=str(tmp / "llm"), DDL_FAKE_SLOW_SECONDS=str(SLOW_SECONDS))
    environ.update(env or {})
    return subprocess.run([str(DDL), *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)


def handle(tmp: Path, utterance: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """Run ``ddl handle examples UTTERANCE --format json``: (exit code, the answer, stderr)."""
    proc = ddl(tmp, "handle", "examples", utterance, "--store", str(tmp / "ledger.sqlite3"), "--format", "json",
               "--no-extract", *args, env=env)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store holding one deterministic hit and one LLM answer, made by `ddl handle`."""
    tmp = tmp_path_factory.mktemp("ledger")
    rc_hit, hit, _ = handle(tmp, HIT)
    rc_miss, miss, _ = handle(tmp, MISS, "-m", "fake-echo")
    assert (rc_hit, rc_miss) == (0, 0)
    return {"tmp": tmp, "store": str(tmp / "ledger.sqlite3"), "hit": hit, "miss": miss}


def test_covered_query_is_deterministic_text(tmp_path: Path) -> None:
    proc = ddl(tmp_path, "handle", "examples", HIT, "--store", str(tmp_path / "s.sqlite3"))
    assert proc.returncode == 0, proc.stderr
    output = json.loads(proc.stdout)  # text format: the family's output, as JSON
    assert output["url"].startswith("https://openlibrary.org/") and output["query"]["limit"] == "3"
    assert "deterministic" in proc.stderr and "recommend_books" in proc.stderr
    assert '"genre": "mystery"' in proc.stderr and "query 1" in proc.stderr


def test_covered_query_json(ledger: dict[str, Any]) -> None:
    hit = ledger["hit"]
    assert hit["source"] == "deterministic" and hit["family"] == "recommend_books"
    assert hit["theta"] == HIT_THETA and hit["output"]["query"]["published_in"] == "1950-1959"
    assert hit["error"] is None and hit["text"] is None and hit["id"] == 1
    assert isinstance(hit["latency_ms"], float) and hit["family_version"]


def test_miss_goes_to_the_model(ledger: dict[str, Any]) -> None:
    miss = ledger["miss"]
    assert miss["source"] == "llm" and miss["family"] is None and miss["id"] == 2
    assert miss["text"] == f"echo: {MISS}"
    assert (miss["model"], miss["tokens_in"], miss["tokens_out"]) == ("fake-echo", 6, 7)


def test_miss_text_format_prints_the_reply(tmp_path: Path) -> None:
    proc = ddl(tmp_path, "handle", "examples", MISS, "--store", str(tmp_path / "s.sqlite3"), "--no-extract",
               env={"DDL_MODEL": "fake-echo"})  # the model from the environment
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"echo: {MISS}\n"
    assert "llm" in proc.stderr and "fake-echo" in proc.stderr and "6 in / 7 out" in proc.stderr


def test_model_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "handler.toml"
    config.write_text(f'[handler]\nmodel = "fake-echo"\nstore = "{tmp_path / "cfg.sqlite3"}"\n')
    proc = ddl(tmp_path, "handle", "examples", MISS, "--config", str(config), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["source"] == "llm"
    assert (tmp_path / "cfg.sqlite3").exists()


def test_miss_without_a_model_is_ddl707(tmp_path: Path) -> None:
    rc, answer, stderr = handle(tmp_path, MISS)
    assert rc == 1
    assert answer["source"] == "error" and answer["error"]["code"] == "DDL707"
    assert "ddl handle: error: DDL707:" in stderr


def test_broken_model_is_ddl703(tmp_path: Path) -> None:
    rc, answer, stderr = handle(tmp_path, MISS, "-m", "fake-broken")
    assert rc == 1
    assert answer["error"]["code"] == "DDL703" and "fake-broken always fails" in answer["error"]["message"]
    assert "DDL703" in stderr


def test_slow_model_times_out(tmp_path: Path) -> None:
    started = time.monotonic()
    rc, answer, stderr = handle(tmp_path, MISS, "-m", "fake-slow", "--timeout", "0.5")
    elapsed = time.monotonic() - started
    assert rc == 1
    assert answer["error"]["code"] == "DDL704" and "0.5" in answer["error"]["message"]
    assert answer["latency_ms"] < 10_000  # 0.5 s for the model, plus loading llm once
    assert elapsed < SLOW_SECONDS / 2  # the process did not wait for the sleeping model
    assert "DDL704" in stderr


def test_feedback_then_stats(ledger: dict[str, Any]) -> None:
    tmp_path, store = ledger["tmp"], ledger["store"]
    proc = ddl(tmp_path, "feedback", "examples", "1", "accept", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert "query 1" in proc.stdout and "accept" in proc.stdout and "recommend_books" in proc.stdout
    proc = ddl(tmp_path, "feedback", "examples", "2", "reject", "--correction", "a real haiku", "--store", store,
               "--format", "json")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert (record["query_id"], record["verdict"], record["correction"]) == (2, "reject", "a real haiku")
    assert record["utterance"] == MISS and record["source"] == "llm"

    proc = ddl(tmp_path, "stats", "examples", "--store", store, "--format", "json",
               "--price-in", "1", "--price-out", "2")
    assert proc.returncode == 0, proc.stderr
    stats = json.loads(proc.stdout)
    assert (stats["queries"], stats["deterministic"], stats["llm_calls"], stats["errors"]) == (2, 1, 1, 0)
    assert stats["coverage"] == pytest.approx(0.5)
    assert stats["families"] == {"recommend_books": 1}
    assert (stats["tokens_in"], stats["tokens_out"]) == (6, 7)
    assert stats["llm_cost"] == pytest.approx(6 / 1000 * 1 + 7 / 1000 * 2)
    assert stats["standard_cost"] == pytest.approx(2 * stats["llm_cost"])
    assert stats["savings"] == pytest.approx(stats["llm_cost"])

    proc = ddl(tmp_path, "stats", "examples", "--store", store)
    assert proc.returncode == 0, proc.stderr
    assert "recommend_books" in proc.stdout and "50" in proc.stdout


def test_stats_plot_writes_a_png(ledger: dict[str, Any]) -> None:
    tmp: Path = ledger["tmp"]
    out = tmp / "plots" / "out.png"
    out.parent.mkdir()
    proc = ddl(tmp, "stats", "examples", "--store", ledger["store"], "--plot", str(out), "--cost-per-call", "0.01")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(out) in proc.stderr


def test_stats_from_the_default_store(tmp_path: Path) -> None:
    directory = tmp_path / "families"
    directory.mkdir()
    (directory / "books.ddl").write_text((ROOT / "examples" / "books.ddl").read_text())
    proc = ddl(tmp_path, "handle", str(directory), HIT)
    assert proc.returncode == 0, proc.stderr
    assert (directory / ".ddl-handler" / "ledger.sqlite3").exists()  # DIR/.ddl-handler/ledger.sqlite3 by default
    # The ledger holds users' requests: its directory keeps itself out of version control.
    assert (directory / ".ddl-handler" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    proc = ddl(tmp_path, "stats", str(directory), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["coverage"] == 1.0


def test_feedback_errors(tmp_path: Path, ledger: dict[str, Any]) -> None:
    missing = str(tmp_path / "missing.sqlite3")
    proc = ddl(tmp_path, "feedback", "examples", "1", "accept", "--store", missing)
    assert proc.returncode == 1 and "DDL702" in proc.stderr and "no store" in proc.stderr
    assert not Path(missing).exists()  # reading commands never create a store
    proc = ddl(tmp_path, "stats", "examples", "--store", missing)
    assert proc.returncode == 1 and "DDL702" in proc.stderr
    store = ledger["store"]
    proc = ddl(tmp_path, "feedback", "examples", "99", "accept", "--store", store)
    assert proc.returncode == 1 and "ddl feedback: error: DDL706:" in proc.stderr
    proc = ddl(tmp_path, "feedback", "examples", "1", "maybe", "--store", store)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_usage_errors(tmp_path: Path) -> None:
    proc = ddl(tmp_path, "handle", "no-such-dir", HIT)
    assert proc.returncode == 2 and "no such directory" in proc.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[handler]\ntimeout = \"soon\"\n")
    proc = ddl(tmp_path, "handle", "examples", HIT, "--config", str(bad))
    assert proc.returncode == 2
    assert "ddl handle: error: DDL705:" in proc.stderr and str(bad) in proc.stderr and "timeout" in proc.stderr
    proc = ddl(tmp_path, "handle", "examples", HIT, "--timeout", "0", "--store", str(tmp_path / "s.sqlite3"))
    assert proc.returncode == 2 and "DDL705" in proc.stderr
    proc = ddl(tmp_path, "serve", "examples", "--port", "70000")
    assert proc.returncode == 2 and "--port" in proc.stderr


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    store = tmp_path / "broken.sqlite3"
    store.write_text("this is not a database\n")
    proc = ddl(tmp_path, "handle", "examples", HIT, "--store", str(store))
    assert proc.returncode == 1
    assert "ddl handle: error: DDL702:" in proc.stderr and "not a database" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_compile_on_miss_from_the_command_line(tmp_path: Path) -> None:
    """A miss answered by the model becomes a served family, which answers the next query itself."""
    import shutil

    sys.path.insert(0, str(ROOT / "tests"))
    from distill_families import GOOD, UTTERANCE, fenced

    families = tmp_path / "families"
    families.mkdir()
    shutil.copy(ROOT / "examples" / "weather.ddl", families / "weather.ddl")
    answer = {"method": "GET", "url": "https://openlibrary.org/subjects/fantasy.json",
              "query": {"limit": "5", "published_in": "1980-1989"}}
    script = tmp_path / "script.json"
    script.write_text(json.dumps([json.dumps(answer), fenced(GOOD)]), encoding="utf-8")
    env = {"DDL_FAKE_SCRIPT": str(script)}
    store = str(tmp_path / "ledger.sqlite3")
    first = ddl(tmp_path, "handle", str(families), UTTERANCE, "-m", "fake-script", "--compile-on-miss", "--no-extract",
                "--store", store, "--format", "json", env=env)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["source"] == "llm" and result["learning"]["status"] == "admitted", result
    assert "compile on miss: admitted decade_books" in first.stderr
    assert (families / "distilled" / "decade_books.ddl").is_file()
    second = ddl(tmp_path, "handle", str(families), "suggest 3 mystery books from the 1950s", "--store", store,
                 "--format", "json")
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["source"] == "deterministic" and again["family"] == "decade_books"


def test_a_family_that_fails_its_checks_is_named_not_served(tmp_path: Path) -> None:
    # Without the line, the user meets only DDL707 for a request the broken family was written for.
    families = tmp_path / "families"
    families.mkdir()
    shutil.copy(ROOT / "examples" / "books.ddl", families / "books.ddl")
    (families / "broken.ddl").write_text("family greet {\n  param n : Int in 1..5\n  program -> Text = n\n}\n",
                                         encoding="utf-8")
    proc = ddl(tmp_path, "handle", str(families), HIT, "--store", str(tmp_path / "s.sqlite3"))
    assert proc.returncode == 0, proc.stderr
    assert f"ddl handle: not served (the file): {families / 'broken.ddl'}:3:21: DDL202: " in proc.stderr, proc.stderr
    assert "(ddl check shows why)" in proc.stderr
    clean = ddl(tmp_path, "handle", "examples", HIT, "--store", str(tmp_path / "t.sqlite3"))
    assert "not served" not in clean.stderr
