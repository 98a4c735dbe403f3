"""``ddl distill`` asks for varied phrasings first and gates on them; the prompt's guide to passing the checker.

With ``phrasings`` N the task prompt asks the model, before the family, for N requests the way other
people would write them, each as ``example "u" => { θ }``; the gate passes a candidate only with N
distinct ones, each parsed by the grammar to its θ (``ddl check``'s utterance[i]), and the failing
diagnostics are the repair prompt.  The fake model is the scripted one of tests/fakellm.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm
import pytest

from ddl.distill import DistillResult, distill, evaluate
from ddl.distill.loop import DEFAULT_PHRASINGS
from ddl.distill.prompt import repair_prompt, task_prompt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fakellm"))
sys.path.insert(0, str(ROOT / "tests"))
import ddl_fake_llm as fake  # noqa: E402
from distill_families import GOOD, UTTERANCE, fenced  # noqa: E402
from distill_phrasings import phrasings, with_phrasings  # noqa: E402


@pytest.fixture(autouse=True)
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    for name in ("DDL_FAKE_SCRIPT", "DDL_FAKE_SCRIPT_LOG", "DDL_SPEC_DIR", "DDL_EXAMPLES_DIR"):
        monkeypatch.delenv(name, raising=False)
    fake.reset_script()
    llm.plugins.pm.register(fake.FakeModels(), name="ddl-distill-phrasing-fakes")
    yield
    llm.plugins.pm.unregister(name="ddl-distill-phrasing-fakes")
    fake.reset_script()


def run(tmp_path: Path, replies: list[Any], **kwargs: Any) -> DistillResult:
    fake.reset_script(replies)
    return distill(UTTERANCE, "fake-script", out=tmp_path / "family.ddl", log_dir=tmp_path / "logs", **kwargs)


# ---------------------------------------------------------------------------- the prompt


def test_the_prompt_asks_for_phrasings_before_the_family_only_when_asked() -> None:
    prompt = task_prompt(UTTERANCE, phrasings=7)
    ask = prompt.index("imagine 7 different people asking for this same task")
    assert ask < prompt.index("Write one module")  # before the family
    assert "Write at least 7 of them, all different" in prompt
    assert 'example "how one of them would ask" => { the θ it means }' in prompt
    assert "different people" not in task_prompt(UTTERANCE)  # the Python default: none
    assert "different people" not in task_prompt(UTTERANCE, phrasings=0)
    assert DEFAULT_PHRASINGS == 20


def test_the_prompt_documents_grammars_no_leak_provers_and_decimals() -> None:
    prompt = task_prompt(UTTERANCE)
    guide = prompt[prompt.index("## Writing a family that passes `ddl check`"):prompt.index("## The language")]
    for heading in ("### Grammars for the way people ask", "### How no-leak matches (DDL602)",
                    "### Which `ensures` the checker can prove", "### Decimal typing"):
        assert heading in guide, heading
    # (a) constructs for real phrasing, and what makes a grammar expensive
    for construct in ("any_order(", "phrasing::polite(core)", "number(x)", "decade(x, 1900)", "date(x)",
                      "List[T, max n]", "x & r", "except R", "{m,n}", "DDL506", "200,000"):
        assert construct in guide, construct
    # (b) no-leak: words of a value's name, display text and aliases, ignoring case; glued in hosts; knowledge
    for rule in ("as consecutive words ignoring case", "name, display text and every alias", "matches glued",
                 "the knowledge v0 selects", "count only in texts without spaces"):
        assert rule in guide, rule
    assert 'allow x in "application/json" because' in guide
    assert "### Branches are not specializations unless they single out v0 (DDL604)" in guide
    # (c) the provers: enumeration, z3, symbolic text, and what stays unknown
    for fact in ("20,000 θ", "z3", "starts_with", "stays unknown (DDL606)"):
        assert fact in guide, fact
    # (d) Decimal scales of * and /
    assert "`a * b`: `min(18, sa + sb)`" in guide and "`a / b`: `min(18, max(sa, sb) + 6)`" in guide
    assert len(guide) < 8000  # short


def test_the_stdlib_listing_has_no_stray_backtick() -> None:
    prompt = task_prompt(UTTERANCE)
    stdlib = prompt[prompt.index("## Standard library modules"):prompt.index("## Example families")]
    assert "  enum Weekday { monday," in stdlib
    assert "`" not in stdlib


def test_the_repair_prompt_reminds_of_the_phrasings() -> None:
    assert "Keep at least 4 different phrasings" in repair_prompt(UTTERANCE, ["x"], phrasings=4)
    assert "phrasings" not in repair_prompt(UTTERANCE, ["x"])


# ---------------------------------------------------------------------------- the gate


def test_the_gate_counts_distinct_phrasings_other_than_the_teaching_utterance() -> None:
    enough = with_phrasings(GOOD, phrasings(5))
    assert evaluate(enough, UTTERANCE, phrasings=7).passed  # GOOD's two other examples count too
    verdict = evaluate(enough, UTTERANCE, phrasings=8)
    assert not verdict.passed
    assert any("the family lists 7 phrasings of the request besides the teaching utterance; 8 were asked for" in d
               for d in verdict.diagnostics)
    # repeats (up to case and spacing) and the teaching utterance itself are not new phrasings
    repeated = with_phrasings(GOOD, [*phrasings(1), ("RECOMMEND  1 fantasy books from the 1900s",
                                                     "{ genre = fantasy, count = 1, decade = 1900 }"),
                                     (UTTERANCE.upper(), "{ genre = fantasy, count = 5, decade = 1980 }")])
    assert not evaluate(repeated, UTTERANCE, phrasings=4).passed
    assert evaluate(repeated, UTTERANCE, phrasings=3).passed
    assert evaluate(GOOD, UTTERANCE).passed  # none asked for: none required


def test_too_few_phrasings_go_back_and_the_repair_passes(tmp_path: Path) -> None:
    result = run(tmp_path, [fenced(with_phrasings(GOOD, phrasings(2))), fenced(with_phrasings(GOOD, phrasings(6)))],
                 phrasings=6)
    assert result.ok and len(result.rounds) == 2
    assert "imagine 6 different people" in fake.RECEIVED[0]["prompt"]
    repair = fake.RECEIVED[1]["prompt"]
    assert re.search(r"family\.ddl:\d+:\d+: DDL509: decade_books: the family lists 4 phrasings of the request "
                     r"besides the teaching utterance; 6 were asked for", repair), repair
    assert "Keep at least 6 different phrasings" in repair


def test_a_phrasing_read_as_another_theta_goes_back_with_both_thetas(tmp_path: Path) -> None:
    wrong = with_phrasings(GOOD, [*phrasings(3), ("suggest sci-fi books from the 1970s",
                                                  "{ genre = science_fiction, decade = 1960 }")])
    good = with_phrasings(GOOD, phrasings(4))
    result = run(tmp_path, [fenced(wrong), fenced(good)], phrasings=4)
    assert result.ok and len(result.rounds) == 2
    repair = fake.RECEIVED[1]["prompt"]
    assert ("DDL505: decade_books: utterance[7] refuted: 'suggest sci-fi books from the 1970s' yields "
            "decade = 1970 but the example states decade = 1960") in repair
    assert "note: the grammar's θ: { genre = science_fiction, count = 10, decade = 1970 }" in repair
    assert "note: the stated θ:   { genre = science_fiction, count = 10, decade = 1960 }" in repair


def test_a_phrasing_the_grammar_rejects_goes_back(tmp_path: Path) -> None:
    rejected = with_phrasings(GOOD, [*phrasings(3), ("could you recommend 3 horror books?",
                                                     "{ genre = horror, count = 3 }")])
    result = run(tmp_path, [fenced(rejected)], phrasings=4, rounds=0)
    assert not result.ok and not (tmp_path / "family.ddl").exists()
    assert any("DDL504" in d and "could you recommend 3 horror books?" in d for d in result.diagnostics)


def test_negative_phrasings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="phrasings must be 0 or more"):
        run(tmp_path, [], phrasings=-1)


def test_the_command_line_default_is_default_phrasings() -> None:
    from ddl.commands.parser import build_parser

    assert build_parser().parse_args(["distill", UTTERANCE]).phrasings == DEFAULT_PHRASINGS
    assert build_parser().parse_args(["distill", UTTERANCE, "--phrasings", "0"]).phrasings == 0
