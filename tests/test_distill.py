"""The distill loop in process: prompt, extraction, the check gate and repair rounds, with a scripted fake model.

The fake models (``fake-script``, ``fake-script-temp`` in tests/fakellm) answer from a queue the
tests fill and record every prompt they receive, so each test states exactly what the model
says and checks what it was told.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm
import pytest

from ddl.api import check_source
from ddl.distill import DistillResult, distill, extract_ddl
from ddl.distill import digest as digest_mod
from ddl.distill.digest import SPEC_BUDGET, Section, example_families, spec_digest, template_text
from ddl.distill.prompt import MAX_DIAGNOSTICS, repair_prompt, system_prompt, task_prompt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fakellm"))
sys.path.insert(0, str(ROOT / "tests"))
import ddl_fake_llm as fake  # noqa: E402
from distill_families import (  # noqa: E402
    BAKED_URL,
    BROKEN_SYNTAX,
    GOOD,
    HARDCODED_LIMIT,
    NARROW_GRAMMAR,
    UTTERANCE,
    WRONG_TEACH,
    fenced,
)


@pytest.fixture(autouse=True)
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    monkeypatch.delenv("DDL_FAKE_SCRIPT", raising=False)
    monkeypatch.delenv("DDL_FAKE_SCRIPT_LOG", raising=False)
    monkeypatch.delenv("DDL_SPEC_DIR", raising=False)
    monkeypatch.delenv("DDL_EXAMPLES_DIR", raising=False)
    fake.reset_script()
    llm.plugins.pm.register(fake.FakeModels(), name="ddl-distill-fakes")
    yield
    llm.plugins.pm.unregister(name="ddl-distill-fakes")
    fake.reset_script()


def run(tmp_path: Path, replies: list[Any], *, model: str = "fake-script", out: str | None = "family.ddl",
        **kwargs: Any) -> DistillResult:
    fake.reset_script(replies)
    target = tmp_path / out if out is not None else None
    return distill(UTTERANCE, model, out=target, log_dir=tmp_path / "logs", **kwargs)


def transcript(result: DistillResult) -> dict[str, Any]:
    return json.loads(result.transcript.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- extraction


def test_extract_a_ddl_fence_with_prose_around_it() -> None:
    assert extract_ddl(fenced(GOOD)) == GOOD


def test_extract_prefers_the_ddl_fence_over_other_fences() -> None:
    reply = f"First the JSON:\n```json\n{{\"a\": 1}}\n```\nand the family:\n```ddl\n{GOOD}```\n"
    assert extract_ddl(reply) == GOOD


def test_extract_an_untagged_fence_that_declares_a_family() -> None:
    reply = f"```python\nprint('hi')\n```\n\n```\n{GOOD}```"
    assert extract_ddl(reply) == GOOD


def test_extract_takes_the_last_block_with_a_family() -> None:
    reply = f"A first try:\n```ddl\n{BAKED_URL}```\nBetter:\n```ddl\n{GOOD}```\n```ddl\nimport text\n```\n"
    assert extract_ddl(reply) == GOOD


def test_extract_tolerates_crlf_and_an_unclosed_fence() -> None:
    assert extract_ddl(fenced(GOOD).replace("\n", "\r\n")) == GOOD
    assert extract_ddl("Sure.\r\n```ddl\r\n" + GOOD.replace("\n", "\r\n")) == GOOD


def test_extract_unfenced_text_between_prose() -> None:
    reply = f"Sure! Here it is.\n\n{GOOD}\nThis family handles every genre and decade.\nThanks {{for}} asking."
    assert extract_ddl(reply) == GOOD  # the comment block above `family` is kept, the prose after is not


def test_extract_unfenced_with_imports_and_braces_in_strings() -> None:
    source = 'import text\n\nfamily f {\n  program -> Text = "a } b ${ {x = 1}.x }" # } not a brace\n}\n'
    assert extract_ddl("Answer:\n" + source + "done }") == source


def test_extract_returns_none_without_ddl() -> None:
    assert extract_ddl("I cannot help with that.") is None
    assert extract_ddl("```python\nprint('family')\n```") is None
    assert extract_ddl("") is None


# ---------------------------------------------------------------------------- prompts


def test_task_prompt_holds_the_utterance_digest_builtins_stdlib_and_examples() -> None:
    prompt = task_prompt(UTTERANCE)
    assert prompt.count(UTTERANCE) >= 3  # the request, the required example, the closing line
    assert f'example "{UTTERANCE}"' in prompt and "teach" in prompt and "```ddl" in prompt
    for construct in ("grammar", "param", "ensures", "no-leak", "depends", "ignore_case"):
        assert construct in prompt, construct
    assert "url_encode(t: Text) -> Text" in prompt  # a built-in, from ddl/builtins.py
    assert "date::" in prompt and "text::shell_quote" in prompt  # stdlib signatures
    assert "family recommend_books" in prompt and "family weather_request" in prompt and "family split_bill" in prompt
    assert "not installed" not in prompt
    assert not re.search(r"@[a-z_]+", prompt)  # every placeholder filled


def test_spec_digest_is_cut_from_the_spec_by_heading_and_stays_under_budget() -> None:
    digest = spec_digest()
    assert digest.from_spec and len(digest.text) <= SPEC_BUDGET
    text = digest.text
    for construct in ("grammar", "param", "ensures", "teach", "example", "Captures are typed", "Obligations"):
        assert construct in text, construct
    syntax = (ROOT / "spec" / "syntax.md").read_text(encoding="utf-8")
    families = syntax.split("## 4. Families", 1)[1].split("\n## ", 1)[0].strip()
    assert families in text  # quoted verbatim, not a hand-kept copy
    assert "## Caching" not in text and "Parallel checking" not in text  # sections not chosen
    small = spec_digest(budget=3000)
    assert len(small.text) <= 3000 and small.left_out and small.included


def test_spec_digest_follows_an_edited_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(ROOT / "spec", spec, ignore=shutil.ignore_patterns("tests"))
    before = task_prompt(UTTERANCE)
    syntax = spec / "syntax.md"
    text = syntax.read_text(encoding="utf-8")
    marker = "* A family named zebra_unicorn must gallop."
    syntax.write_text(text.replace("## 4. Families\n", f"## 4. Families\n\n{marker}\n", 1), encoding="utf-8")
    monkeypatch.setattr(digest_mod, "default_spec_dir", lambda: spec)
    after = task_prompt(UTTERANCE)
    assert marker not in before and marker in after
    # a section is found by its heading, whatever its number
    syntax.write_text(text.replace("## 4. Families", "## 9. Families"), encoding="utf-8")
    assert "family_decl" in spec_digest(spec).text
    # a heading that no longer exists is left out, not an error
    missing = spec_digest(spec, sections=(Section("syntax.md", "No such section"),))
    assert missing.text == "" and missing.left_out


def test_without_spec_and_examples_the_prompt_says_so_and_still_has_an_example(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDL_SPEC_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("DDL_EXAMPLES_DIR", str(tmp_path / "nothing"))
    prompt = task_prompt(UTTERANCE)
    assert "spec/) is not installed" in prompt and "examples/) are not installed" in prompt
    assert "family recommend_books" in prompt and UTTERANCE in prompt
    assert not example_families().bundled


def test_the_built_in_fallback_example_passes_check() -> None:
    result = check_source(template_text("fallback_example.ddl"), "fallback_example.ddl")
    assert result.families and not [f for f in result.findings if f.effective().is_error]


def test_repair_prompt_quotes_at_most_twenty_diagnostics() -> None:
    diags = [f"x.ddl:{i}:1: DDL601: problem {i}" for i in range(1, 31)]
    prompt = repair_prompt(UTTERANCE, diags)
    assert "problem 20" in prompt and "problem 21" not in prompt and MAX_DIAGNOSTICS == 20
    assert "30 problems; the first 20" in prompt and UTTERANCE in prompt and "```ddl" in prompt


# ---------------------------------------------------------------------------- the loop


def test_a_correct_family_on_the_first_try_is_written(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(GOOD)])
    assert result.ok and result.error is None and result.family == "decade_books"
    assert result.path == tmp_path / "family.ddl" and result.path.read_text(encoding="utf-8") == GOOD
    assert len(result.rounds) == 1 and result.rounds[0].passed and result.diagnostics == []
    assert len(fake.RECEIVED) == 1
    sent = fake.RECEIVED[0]
    assert UTTERANCE in sent["prompt"] and sent["system"] == system_prompt()
    words = len(sent["prompt"].split()) + len(sent["system"].split())
    assert (result.tokens_in, result.tokens_out) == (words, len(fenced(GOOD).split()))
    log = transcript(result)
    assert log["ok"] and log["family"] == "decade_books" and log["path"] == str(result.path)
    assert log["utterance"] == UTTERANCE and log["model"] == "fake-script" and log["started"]
    assert len(log["rounds"]) == 1
    entry = log["rounds"][0]
    assert set(entry) >= {"index", "prompt", "reply", "extracted", "diagnostics", "passed", "tokens_in",
                          "tokens_out", "seconds"}
    assert entry["reply"] == fenced(GOOD) and entry["extracted"] == GOOD and entry["passed"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".family")] == []  # no temp file left


def test_a_baked_teaching_value_is_refuted_and_repaired(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(BAKED_URL), fenced(GOOD)])
    assert result.ok and len(result.rounds) == 2 and len(fake.RECEIVED) == 2
    first = result.rounds[0]
    assert not first.passed and any("DDL602" in d for d in first.diagnostics)
    repair = fake.RECEIVED[1]["prompt"]
    assert "DDL602" in repair and "DDL601" in repair
    assert "genre = mystery still yields" in repair and "fantasy.json" in repair  # the counterexample
    assert fake.RECEIVED[1]["history"] == 1  # the same conversation: the model sees its first attempt
    assert result.path is not None and result.path.read_text(encoding="utf-8") == GOOD
    assert len(transcript(result)["rounds"]) == 2


def test_a_model_written_family_may_not_declare_allow(tmp_path: Path) -> None:
    # A family that passes `ddl check` with an allow (a DDL612 note): what a person may write, but a model
    # cannot be its own reviewer, so the gate sends it back (DDL711).
    excused = GOOD.replace(
        "  teach genre", '  allow genre in "subjects/fantasy.json" because "the subjects page we always show"\n\n'
        "  teach genre", 1)
    assert check_source(excused, "excused.ddl").ok  # what a person may write, the checker passes
    result = run(tmp_path, [fenced(excused), fenced(GOOD)])
    assert result.ok and len(result.rounds) == 2
    first = result.rounds[0]
    assert not first.passed and any("DDL711" in d for d in first.diagnostics)
    repair = fake.RECEIVED[1]["prompt"]
    assert 'DDL711: decade_books: a family written by a model may not declare `allow genre in "subjects/fantasy.json"`' \
        in repair
    assert result.path is not None and result.path.read_text(encoding="utf-8") == GOOD


def test_a_hardcoded_limit_is_refuted_and_repaired(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(HARDCODED_LIMIT), fenced(GOOD)])
    assert result.ok and len(result.rounds) == 2
    repair = fake.RECEIVED[1]["prompt"]
    assert "DDL601" in repair and "depends(count) refuted" in repair and "DDL605" in repair


def test_broken_syntax_goes_back_with_its_position(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(BROKEN_SYNTAX), fenced(GOOD)])
    assert result.ok and len(result.rounds) == 2
    repair = fake.RECEIVED[1]["prompt"]
    assert re.search(r"family\.ddl:10:15: DDL103: ", repair), repair
    assert "param genre Genre" in repair and "^" in repair  # the source line and a caret


def test_a_model_that_never_passes_gives_up_and_writes_nothing(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(BAKED_URL)] * 3, rounds=2)
    assert not result.ok and result.error is None and len(fake.RECEIVED) == 3 and len(result.rounds) == 3
    assert not (tmp_path / "family.ddl").exists() and result.path is None
    assert any("DDL602" in d for d in result.diagnostics) and result.source == BAKED_URL
    log = transcript(result)
    assert not log["ok"] and log["path"] is None and len(log["rounds"]) == 3


def test_zero_rounds_means_one_call(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(BAKED_URL), fenced(GOOD)], rounds=0)
    assert not result.ok and len(fake.RECEIVED) == 1 and fake.SCRIPT == [fenced(GOOD)]


def test_prose_wrapped_and_unfenced_replies_are_accepted(tmp_path: Path) -> None:
    unfenced = f"Certainly! Below is the family.\n\n{GOOD}\nLet me know if you need changes."
    assert run(tmp_path, [unfenced], out="a.ddl").ok
    assert run(tmp_path, [fenced(GOOD, lang="")], out="b.ddl").ok
    assert (tmp_path / "a.ddl").read_text(encoding="utf-8") == GOOD


def test_a_reply_without_ddl_is_sent_back(tmp_path: Path) -> None:
    result = run(tmp_path, ["I am sorry, I cannot write that.", fenced(GOOD)])
    assert result.ok and result.rounds[0].extracted is None
    assert "the reply has no DDL block" in fake.RECEIVED[1]["prompt"]


def test_a_grammar_that_rejects_the_teaching_utterance_is_sent_back(tmp_path: Path) -> None:
    assert not [f for f in check_source(NARROW_GRAMMAR, "n.ddl").findings if f.effective().is_error]
    result = run(tmp_path, [fenced(NARROW_GRAMMAR), fenced(GOOD)])
    assert result.ok and len(result.rounds) == 2
    repair = fake.RECEIVED[1]["prompt"]
    assert "DDL509" in repair and "does not accept the teaching utterance" in repair and UTTERANCE in repair


def test_a_wrong_teaching_value_is_sent_back(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(WRONG_TEACH), fenced(GOOD)])
    assert result.ok and len(result.rounds) == 2
    assert "the teaching value of genre is mystery" in fake.RECEIVED[1]["prompt"]


def test_an_overlap_with_a_served_family_is_sent_back(tmp_path: Path) -> None:
    from ddl.handler.registry import Registry

    served = tmp_path / "served"
    served.mkdir()
    (served / "books.ddl").write_text(template_text("fallback_example.ddl"), encoding="utf-8")
    registry = Registry.load(served, cache_dir=tmp_path / "cache")
    assert [f.name for f in registry.served] == ["recommend_books"]
    renamed = GOOD.replace("family decade_books", "family recommend_books")
    result = run(tmp_path, [fenced(GOOD), fenced(renamed)], registry=registry, rounds=1)
    assert not result.ok and not (tmp_path / "family.ddl").exists()
    first, second = (r.diagnostics for r in result.rounds)
    assert any("DDL701" in d and "decade_books overlaps recommend_books" in d for d in first)
    assert any("DDL700" in d and "already served" in d for d in second)


def test_an_unknown_model_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(GOOD)], model="no-such-model")
    assert not result.ok and result.rounds == [] and fake.RECEIVED == []
    assert result.error is not None and result.error["code"] == "DDL703"
    assert "no-such-model" in result.error["message"] and "llm models" in result.error["message"]
    assert not (tmp_path / "family.ddl").exists()
    assert transcript(result)["error"] == result.error


def test_no_model_at_all(tmp_path: Path) -> None:
    result = run(tmp_path, [], model="")
    assert not result.ok and result.error is not None and result.error["code"] == "DDL707"


def test_a_model_failing_mid_run_ends_the_run_cleanly(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(BAKED_URL), {"error": "quota exceeded"}])
    assert not result.ok and len(result.rounds) == 2 and not (tmp_path / "family.ddl").exists()
    assert result.error is not None and result.error["code"] == "DDL703" and "quota exceeded" in result.error["message"]
    assert result.rounds[1].reply == "" and "quota exceeded" in result.rounds[1].diagnostics[0]


def test_a_model_object_can_be_given_directly(tmp_path: Path) -> None:
    fake.reset_script([fenced(GOOD)])
    result = distill(UTTERANCE, model=llm.get_model("fake-script"), log_dir=tmp_path / "logs")
    assert result.ok and result.model == "fake-script" and result.path is None  # no out: nothing written


def test_temperature_is_passed_only_where_the_model_has_it(tmp_path: Path) -> None:
    with_option = run(tmp_path, [fenced(GOOD)], model="fake-script-temp", temperature=0.3, out="t.ddl")
    assert with_option.ok and with_option.notes == [] and fake.RECEIVED[0]["options"] == {"temperature": 0.3}
    without = run(tmp_path, [fenced(GOOD)], temperature=0.3, out="u.ddl")
    assert without.ok and fake.RECEIVED[0]["options"] == {}
    assert without.notes and "no temperature option" in without.notes[0]
    assert transcript(without)["notes"] == without.notes


def test_a_system_prompt_override_is_sent_every_round(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(BAKED_URL), fenced(GOOD)], system="Answer in DDL only.")
    assert result.ok and [r["system"] for r in fake.RECEIVED] == ["Answer in DDL only."] * 2


def test_the_transcript_is_written_after_every_round(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ddl.distill import loop

    real = loop.evaluate
    calls: list[int] = []

    def crash_on_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("crash in round 2")
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "evaluate", crash_on_second)
    fake.reset_script([fenced(BAKED_URL), fenced(GOOD)])
    with pytest.raises(RuntimeError):
        distill(UTTERANCE, "fake-script", log_dir=tmp_path / "logs")
    (path,) = (tmp_path / "logs").iterdir()
    log = json.loads(path.read_text(encoding="utf-8"))
    assert len(log["rounds"]) == 1 and "DDL602" in "\n".join(log["rounds"][0]["diagnostics"])


def test_the_written_family_is_an_ordinary_file(tmp_path: Path) -> None:
    import os
    import stat

    result = run(tmp_path, [fenced(GOOD)])
    assert result.path is not None
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o666 & ~mask
