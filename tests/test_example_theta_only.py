"""`example "u" => { θ }`: an utterance and its θ, no output (spec/syntax.md §4, spec/checks.md `examples`).

What a user sees: the form parses and formats back, `ddl check` proves it when the grammar parses
the utterance to θ, refutes it with DDL505 (naming the utterance and both θ) or DDL504 otherwise,
never runs the program for it, and reports it in `--format json` like every obligation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ddl.cli
from ddl.api import check_examples, check_source, compile_source
from ddl.syntax import ast as A
from ddl.syntax.fmt import format_source
from ddl.syntax.parser import parse_source

CABIN = """\
family cabin {
  param nights : Int in 1..14 = 1
  param people : Int in 1..8

  grammar {
    "cabin for " people (" for " nights " nights")?
  }

  program -> Int = 100 / (nights - 20 + 20) * people

  example "cabin for 2 for 3 nights" => { people = 2, nights = 3 } => 66
  example "cabin for 4" => { people = 4 }
  example "cabin for 5 for 6 nights" => { people = 5, nights = 6 }
}
"""


def _examples(source: str) -> dict[str, tuple[str, str]]:
    result = check_source(source, "cabin.ddl")
    (family,) = result.families
    return {o.subject: (o.verdict, o.evidence) for o in family.obligations if o.kind == "examples"}


def test_the_form_parses_with_no_expected_output() -> None:
    module, diagnostics = parse_source(CABIN, "cabin.ddl")
    assert diagnostics == [] and module is not None
    examples = module.items[0].of_kind(A.ExampleDecl)  # type: ignore[union-attr]
    assert [(e.utterance, e.expected is None) for e in examples] == [
        ("cabin for 2 for 3 nights", False), ("cabin for 4", True), ("cabin for 5 for 6 nights", True)]
    assert [b.name for b in examples[1].bindings] == ["people"]


def test_the_formatter_prints_it_back() -> None:
    out, diagnostics = format_source(CABIN, "cabin.ddl")
    assert diagnostics == [] and out == CABIN


def test_example_without_utterance_or_output_is_a_syntax_error() -> None:
    module, diagnostics = parse_source("family f {\n  example { n = 1 }\n}\n", "f.ddl")
    assert module is None and diagnostics[0].code == "DDL103"


def test_check_proves_it_without_running_the_program() -> None:
    assert _examples(CABIN) == {
        "example[1]": ("proved", "the output matches"),
        "example[2]": ("proved", "θ is in Θ (no output stated: the program is not run)"),
        "example[3]": ("proved", "θ is in Θ (no output stated: the program is not run)"),
        "utterance[1]": ("proved", "'cabin for 2 for 3 nights' yields the stated θ"),
        "utterance[2]": ("proved", "'cabin for 4' yields the stated θ"),
        "utterance[3]": ("proved", "'cabin for 5 for 6 nights' yields the stated θ"),
    }
    checked, _ = compile_source(CABIN, "cabin.ddl")
    assert checked is not None
    assert check_examples(checked) == []  # the API's example check (and the pytest plugin) agree


def test_an_ensures_is_not_checked_on_it() -> None:
    """No output, no run: an `ensures` false for that θ (people 5, nights 6: 80) is the verifier's concern."""
    source = CABIN.replace("  example \"cabin for 2", "  ensures result != 80\n\n  example \"cabin for 2")
    assert _examples(source)["example[3]"][0] == "proved"
    result = check_source(source, "cabin.ddl")
    assert [(f.kind, f.diagnostic.code) for f in result.findings] == [("ensures", "DDL605")]


def test_wrong_theta_is_refuted_with_ddl505_naming_the_utterance_and_both_thetas() -> None:
    source = CABIN.replace('"cabin for 4" => { people = 4 }', '"cabin for 4" => { people = 2, nights = 4 }')
    result = check_source(source, "cabin.ddl")
    (diag,) = [f.diagnostic for f in result.findings if f.diagnostic.is_error]
    assert diag.code == "DDL505" and diag.span.line == 12
    assert diag.message == ("cabin: utterance[2] refuted: 'cabin for 4' yields nights = 1, people = 4 "
                            "but the example states nights = 4, people = 2")
    assert [n.message for n in diag.notes] == ["the grammar's θ: { nights = 1, people = 4 }",
                                               "the stated θ:   { nights = 4, people = 2 }"]


def test_a_rejected_utterance_is_refuted_with_ddl504() -> None:
    source = CABIN.replace('"cabin for 4" =>', '"cabin for four" =>')
    verdict, evidence = _examples(source)["utterance[2]"]
    assert verdict == "refuted"
    assert evidence.startswith("the grammar does not accept 'cabin for four'")


def test_without_a_grammar_nothing_parses_it() -> None:
    source = "family f {\n  param n : Int in 1..9 = 1\n  program -> Int = n\n  example \"show 3\" => { n = 3 }\n}\n"
    result = check_source(source, "f.ddl")
    (diag,) = [f.diagnostic for f in result.findings if f.diagnostic.is_error]
    assert diag.code == "DDL504" and "no grammar" in diag.message


def test_check_json_reports_both_obligations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cabin.ddl").write_text(CABIN.replace('people = 5, nights = 6', 'people = 6, nights = 5'))
    monkeypatch.chdir(tmp_path)
    assert ddl.cli.main(["check", "--no-cache", "--format", "json", "cabin.ddl"]) == 1
    doc = json.loads(capsys.readouterr().out)
    obligations = {(o["kind"], o["subject"]): o for o in doc["files"][0]["families"][0]["obligations"]}
    assert obligations[("examples", "example[3]")]["verdict"] == "proved"
    refuted = obligations[("examples", "utterance[3]")]
    assert refuted["verdict"] == "refuted" and refuted["span"]["line"] == 13
    assert [d["code"] for d in doc["diagnostics"]] == ["DDL505"]
    assert doc["diagnostics"][0]["notes"][0]["message"] == "the grammar's θ: { nights = 6, people = 5 }"
