"""``ddl distill`` through the real console script, with the scripted fake model.

Each test runs ``.venv/bin/ddl distill`` in a subprocess, in a temporary working directory, with
tests/fakellm on PYTHONPATH (found through llm's entry points, as an installed plugin would be),
an isolated LLM_USER_PATH, the scripted replies in the JSON file named by DDL_FAKE_SCRIPT, and
the prompts the model received appended to DDL_FAKE_SCRIPT_LOG.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"
FAKELLM = ROOT / "tests" / "fakellm"
sys.path.insert(0, str(ROOT / "tests"))
from distill_families import BAKED_URL, BROKEN_SYNTAX, UTTERANCE, fenced  # noqa: E402
from distill_families import GOOD as WITHOUT_PHRASINGS  # noqa: E402
from distill_phrasings import phrasings, with_phrasings  # noqa: E402

# `ddl distill` asks for 20 phrasings by default: the good family lists them.
GOOD = with_phrasings(WITHOUT_PHRASINGS, phrasings(20))


def distill(tmp: Path, replies: list[Any], *args: str, model: str | None = "fake-script",
            env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """Run ``ddl distill UTTERANCE`` in ``tmp``: (the process, the prompts the model received)."""
    script, log = tmp / "script.json", tmp / "received.jsonl"
    script.write_text(json.dumps(replies), encoding="utf-8")
    log.unlink(missing_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    environ.update(PYTHONPATH=os.pathsep.join([str(FAKELLM), str(ROOT)]), LLM_USER_PATH=str(tmp / "llm"), DDL_FAKE_SCRIPT=str(script),
                   DDL_FAKE_SCRIPT_LOG=str(log))
    environ.update(env or {})
    argv = [str(DDL), "distill", UTTERANCE, *(["-m", model] if model else []), *args]
    proc = subprocess.run(argv, cwd=tmp, env=environ, capture_output=True, text=True, timeout=120)
    received = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return proc, received


def transcripts(tmp: Path, log_dir: str = ".ddl-distill") -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((tmp / log_dir).glob("*.json"))]


def test_a_correct_family_is_written_to_its_own_name(tmp_path: Path) -> None:
    proc, received = distill(tmp_path, [fenced(GOOD)])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "decade_books.ddl").read_text(encoding="utf-8") == GOOD
    assert "wrote decade_books.ddl: family decade_books, 1 round, tokens " in proc.stdout
    assert "transcript: .ddl-distill/" in proc.stdout and len(received) == 1
    assert (tmp_path / ".ddl-distill" / ".gitignore").read_text(encoding="utf-8").endswith("*\n")  # kept out of git
    (log,) = transcripts(tmp_path)
    assert log["ok"] and log["family"] == "decade_books" and len(log["rounds"]) == 1
    assert log["path"] == "decade_books.ddl"


def test_a_refuted_family_is_repaired_in_a_second_round(tmp_path: Path) -> None:
    proc, received = distill(tmp_path, [fenced(BAKED_URL), fenced(GOOD)], "-o", "books/decade.ddl")
    assert proc.returncode == 0, proc.stderr
    assert "2 rounds" in proc.stdout and (tmp_path / "books" / "decade.ddl").read_text(encoding="utf-8") == GOOD
    assert len(received) == 2 and received[1]["history"] == 1
    repair = received[1]["prompt"]
    assert "books/decade.ddl:" in repair and "DDL602" in repair and "genre = mystery still yields" in repair


def test_broken_syntax_then_a_fix(tmp_path: Path) -> None:
    proc, received = distill(tmp_path, [fenced(BROKEN_SYNTAX), fenced(GOOD)], "-o", "x.ddl")
    assert proc.returncode == 0, proc.stderr
    assert "x.ddl:10:15: DDL103:" in received[1]["prompt"]


def test_giving_up_after_the_rounds_writes_nothing(tmp_path: Path) -> None:
    proc, received = distill(tmp_path, [fenced(BAKED_URL)] * 3, "-o", "x.ddl", "--rounds", "2")
    assert proc.returncode == 1 and len(received) == 3
    assert not (tmp_path / "x.ddl").exists() and not (tmp_path / "decade_books.ddl").exists()
    assert "DDL602" in proc.stdout and "genre = mystery still yields" in proc.stdout  # the last diagnostics
    assert "no family passed after 3 rounds; nothing was written" in proc.stderr
    assert "transcript: .ddl-distill/" in proc.stderr
    (log,) = transcripts(tmp_path)
    assert not log["ok"] and len(log["rounds"]) == 3


def test_an_existing_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    (tmp_path / "decade_books.ddl").write_text("# mine\n", encoding="utf-8")
    proc, _ = distill(tmp_path, [fenced(GOOD)])
    assert proc.returncode == 2 and "already exists" in proc.stderr and "--force" in proc.stderr
    assert (tmp_path / "decade_books.ddl").read_text(encoding="utf-8") == "# mine\n"
    proc, _ = distill(tmp_path, [fenced(GOOD)], "--force")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "decade_books.ddl").read_text(encoding="utf-8") == GOOD


def test_an_existing_output_is_refused_before_asking_the_model(tmp_path: Path) -> None:
    (tmp_path / "x.ddl").write_text("# mine\n", encoding="utf-8")
    proc, received = distill(tmp_path, [fenced(GOOD)], "-o", "x.ddl")
    assert proc.returncode == 2 and "'x.ddl' already exists" in proc.stderr and received == []


def test_an_unknown_model_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    proc, received = distill(tmp_path, [fenced(GOOD)], "-o", "x.ddl", model="no-such-model")
    assert proc.returncode == 2 and received == []
    assert "DDL703" in proc.stderr and "no-such-model" in proc.stderr and "llm models" in proc.stderr
    assert not (tmp_path / "x.ddl").exists()


def test_a_failing_model_call_is_the_error_not_a_verdict_on_families(tmp_path: Path) -> None:
    proc, _ = distill(tmp_path, [], "-o", "x.ddl", model="fake-broken")
    assert proc.returncode != 0 and not (tmp_path / "x.ddl").exists()
    assert "ddl distill: error: DDL703" in proc.stderr
    assert "no family passed" not in proc.stderr  # no family was ever tried
    assert "nothing was written (transcript: .ddl-distill/" in proc.stderr


def test_the_model_comes_from_ddl_model_or_it_is_a_usage_error(tmp_path: Path) -> None:
    proc, _ = distill(tmp_path, [fenced(GOOD)], model=None)
    assert proc.returncode == 2 and "no model" in proc.stderr and "DDL_MODEL" in proc.stderr
    proc, received = distill(tmp_path, [fenced(GOOD)], model=None, env={"DDL_MODEL": "fake-script"})
    assert proc.returncode == 0, proc.stderr
    assert len(received) == 1


def test_json_output_temperature_note_system_file_and_log_dir(tmp_path: Path) -> None:
    (tmp_path / "system.txt").write_text("Only DDL, please.", encoding="utf-8")
    proc, received = distill(tmp_path, [fenced(GOOD)], "--format", "json", "--temperature", "0.5",
                             "--system-file", "system.txt", "--log-dir", "logs")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["ok"] and result["family"] == "decade_books" and result["path"] == "decade_books.ddl"
    assert result["rounds"] == 1 and result["tokens_out"] == len(fenced(GOOD).split())
    assert result["transcript"].startswith("logs/") and (tmp_path / result["transcript"]).is_file()
    assert "no temperature option" in proc.stderr and received[0]["options"] == {}
    assert received[0]["system"] == "Only DDL, please."
    proc, received = distill(tmp_path, [fenced(GOOD)], "-o", "t.ddl", "--temperature", "0.5", model="fake-script-temp")
    assert proc.returncode == 0 and received[0]["options"] == {"temperature": 0.5}


def test_a_family_overlapping_the_registry_is_not_written(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "books.ddl").write_text((ROOT / "ddl" / "distill" / "templates" / "fallback_example.ddl")
                                      .read_text(encoding="utf-8"), encoding="utf-8")
    proc, received = distill(tmp_path, [fenced(GOOD)], "--dir", "served", "--rounds", "0")
    assert proc.returncode == 1 and len(received) == 1 and not (tmp_path / "decade_books.ddl").exists()
    assert "DDL701" in proc.stdout and "decade_books overlaps recommend_books (served/books.ddl)" in proc.stdout
    proc, received = distill(tmp_path, [fenced(GOOD)], "--dir", "no-such-dir")
    assert proc.returncode == 2 and "no-such-dir" in proc.stderr and received == []


def test_by_default_twenty_phrasings_are_asked_for_and_required(tmp_path: Path) -> None:
    proc, received = distill(tmp_path, [fenced(WITHOUT_PHRASINGS), fenced(GOOD)], "-o", "x.ddl")
    assert proc.returncode == 0, proc.stderr
    first, repair = received[0]["prompt"], received[1]["prompt"]
    assert "imagine 20 different people asking for this same task" in first
    assert 'example "how one of them would ask" => { the θ it means }' in first
    assert ("DDL509: decade_books: the family lists 2 phrasings of the request besides the teaching utterance; "
            "20 were asked for") in repair
    assert "Keep at least 20 different phrasings" in repair
    (log,) = transcripts(tmp_path)
    assert log["phrasings"] == 20 and not log["rounds"][0]["passed"] and log["rounds"][1]["passed"]


def test_phrasings_0_turns_them_off(tmp_path: Path) -> None:
    proc, received = distill(tmp_path, [fenced(WITHOUT_PHRASINGS)], "-o", "x.ddl", "--phrasings", "0")
    assert proc.returncode == 0, proc.stderr
    assert "different people" not in received[0]["prompt"] and len(received) == 1
    assert (tmp_path / "x.ddl").read_text(encoding="utf-8") == WITHOUT_PHRASINGS


def test_phrasings_n_asks_for_n_and_a_wrong_one_goes_back(tmp_path: Path) -> None:
    wrong = with_phrasings(WITHOUT_PHRASINGS, [*phrasings(2), ("suggest 4 horror books", "{ genre = horror }")])
    proc, received = distill(tmp_path, [fenced(wrong), fenced(GOOD)], "-o", "x.ddl", "--phrasings", "3")
    assert proc.returncode == 0, proc.stderr
    assert "imagine 3 different people" in received[0]["prompt"]
    assert ("utterance[6] refuted: 'suggest 4 horror books' yields count = 4 but the example states count = 10"
            in received[1]["prompt"])


def test_negative_phrasings_is_a_usage_error(tmp_path: Path) -> None:
    proc, received = distill(tmp_path, [fenced(GOOD)], "--phrasings", "-1")
    assert proc.returncode == 2 and "--phrasings must be 0 or more, not -1" in proc.stderr and received == []
