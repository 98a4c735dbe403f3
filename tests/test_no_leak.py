"""no-leak, precisely (spec/checks.md): the one matcher (tokens, glued values, numerals, function words,
allowed constants), the constants that can reach the output over an infinite Θ, and `allow`
declarations as the type checker (DDL228) and `ddl check` (DDL612 notes in text, JSON, SARIF) see them."""

from __future__ import annotations

import json
import re
import string
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ddl.api import check_source, compile_source
from ddl.types.needles import (
    FUNCTION_WORDS,
    Needle,
    counted,
    matches,
    number_needle,
    occurrences,
    text_needle,
    tokens,
)
from ddl.verify.obligations import Obligation
from ddl.verify.report import FileResult

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"


def needle(text: str) -> Needle:
    n = text_needle(text)
    assert n is not None
    return n


# ---------------------------------------------------------------------------- tokens and matching


@pytest.mark.parametrize("text, expected", [
    ("weatherBerlin", ["weather", "berlin"]),
    ("berlin2024", ["berlin", "2024"]),
    ("/subjects/fantasy.json?q=a&b=c", ["subjects", "fantasy", "json", "q", "a", "b", "c"]),
    ("NEW_YORK", ["new", "york"]),
    ("HTTPServer", ["httpserver"]),  # only a lowercase letter before an uppercase one splits
    ("", []),
])
def test_tokens_split_at_separators_case_changes_and_letter_digit_changes(text: str, expected: list[str]) -> None:
    assert [t.folded for t in tokens(text)] == expected


@pytest.mark.parametrize("text", ["Fantasy books", "report_fantasy.csv", "/subjects/fantasy.json", "bestFantasyBooks"])
def test_a_needle_matches_as_consecutive_tokens_ignoring_case(text: str) -> None:
    assert matches(needle("fantasy"), text)


@pytest.mark.parametrize("text", ["new-york", "NEW_YORK", "NewYork", "flights to New  York"])
def test_a_needle_of_several_tokens_matches_them_consecutively(text: str) -> None:
    assert matches(needle("New York"), text)


@pytest.mark.parametrize("text", ["fantastic", "York, New", "new jersey york"])
def test_a_needle_does_not_match_inside_another_word_of_prose(text: str) -> None:
    assert not matches(needle("fantasy"), text) and not matches(needle("New York"), text)


def test_glued_values_match_only_in_texts_without_whitespace() -> None:
    assert occurrences(needle("berlin"), "berlinweather.example.com") == [(0, 6)]
    assert matches(needle("New York"), "newyorktimes.com")
    assert not matches(needle("berlin"), "the berlinweather service")  # prose: tokens only
    assert not matches(needle("nyc"), "mynyc.com")  # under 4 letters and digits: never glued


def test_function_words_match_only_in_texts_without_whitespace() -> None:
    assert "am" in FUNCTION_WORDS and "pm" in FUNCTION_WORDS
    assert not matches(needle("pm"), "I am free at 9 pm")
    assert matches(needle("pm"), "slot-9pm") and matches(needle("am"), "/alarms/7am.json")
    assert matches(needle("after"), "/shift/after/3") and not matches(needle("after"), "afternoon.example.com")


def test_texts_shorter_than_two_characters_are_never_needles() -> None:
    assert text_needle("a") is None and text_needle("--") is None and text_needle("ab") is not None


def test_numbers_are_numerals_with_four_significant_digits() -> None:
    lat = number_needle(Decimal("52.52"))
    assert lat is not None and lat.numeral
    assert occurrences(lat, "lat=52.52&lon=13.40") == [(4, 9)]
    for inside in ("152.52", "52.521", "52.52.1", "1.52.52"):
        assert not matches(lat, inside), inside
    assert number_needle(3645000) is not None and number_needle(Decimal("1.0823")) is not None
    for small in (Decimal("9.90"), Decimal("16.00"), 30, 350, 1000):
        assert number_needle(small) is None, small


def test_an_occurrence_inside_an_allowed_constant_does_not_count() -> None:
    json_ = needle("json")
    assert counted(json_, "application/json", ["application/json"]) is None
    assert counted(json_, "application/json; then json", ["application/json"]) == (23, 27)
    assert counted(json_, "APPLICATION/JSON", ["application/json"]) is not None  # exact, case-sensitive
    assert counted(json_, "export.json", []) == (7, 11)


def test_the_function_words_are_the_list_of_the_spec() -> None:
    text = (ROOT / "spec" / "checks.md").read_text(encoding="utf-8")
    m = re.search(r"one token from the list `([^`]*)`", text)
    assert m is not None, "spec/checks.md lists no function words"
    assert set(m.group(1).split()) == FUNCTION_WORDS


WORD = st.text(alphabet=string.ascii_letters + string.digits, min_size=2, max_size=12)
SEPARATOR = st.text(alphabet=" _-./:?=&,;()", min_size=1, max_size=3)
AROUND = st.text(alphabet=string.ascii_letters + string.digits + " _-./", max_size=15)


@given(st.lists(WORD, min_size=1, max_size=3), st.sampled_from([" ", "-", "_", "/"]), AROUND, SEPARATOR,
       SEPARATOR, AROUND)
def test_a_needle_matches_any_text_that_holds_it_between_separators(
        words: list[str], joint: str, prefix: str, before: str, after: str, suffix: str) -> None:
    n = text_needle(joint.join(words))
    assert n is not None
    text = prefix + before + n.text + after + suffix
    assume(not n.function_word or not any(ch.isspace() for ch in text))
    assert matches(n, text)
    # Ignoring case: the same words in another case match (a camelCase boundary is a separator of its own).
    lower = text_needle(n.text.lower())
    assert lower is not None
    assert matches(lower, text.lower()) and matches(lower, text.upper())


@given(WORD, st.text(alphabet=string.ascii_lowercase + string.digits + ".-", max_size=10),
       st.text(alphabet=string.ascii_lowercase + string.digits + ".-", max_size=10))
def test_a_long_needle_matches_glued_in_any_text_without_whitespace(word: str, prefix: str, suffix: str) -> None:
    assume(len(word) >= 4)
    n = needle(word)
    assume(not n.function_word)  # a function word never matches glued
    assert matches(n, prefix + word.lower() + suffix)


@given(st.decimals(min_value=Decimal("-99999"), max_value=Decimal("99999"), places=3), AROUND, AROUND)
def test_a_number_matches_itself_between_non_digits(value: Decimal, prefix: str, suffix: str) -> None:
    n = number_needle(value)
    assume(n is not None)
    assert n is not None
    assert matches(n, f"{prefix} {n.text} {suffix}")
    assume(n.text not in prefix and n.text not in suffix)
    assert not matches(n, f"{prefix} 1{n.text} {suffix}") and not matches(n, f"{prefix} {n.text}7 {suffix}")


# ---------------------------------------------------------------------------- the verifier


def no_leak(source: str, subject: str) -> Obligation:
    result = check_source(source, "f.ddl")
    assert result.module is not None, [f.diagnostic.render() for f in result.findings]
    (family,) = result.families
    (ob,) = [o for o in family.obligations if o.kind == "no-leak" and o.subject == subject]
    return ob


# A free Text parameter: Θ cannot be enumerated, so the constants decide (portfolio item 6).
OFFICE = """\
family office {
  param city : Text(max 20, pattern [A-Z] [a-z]+)
  param floor : Int in 1..3
  program -> Text = BODY
  example { city = "Berlin", floor = 1 } => EXPECTED
}
"""


def office(body: str, expected: str) -> str:
    return OFFICE.replace("BODY", body).replace("EXPECTED", json.dumps(expected))


@pytest.mark.parametrize("body", [
    'if city == "Berlin" and floor == 1 then "the Berlin lobby" else city',
    'if not (city != "Berlin") then "the Berlin lobby" else city',
    'if city != "Berlin" or floor > 1 then city else "the Berlin lobby"',
    'if floor > 0 then (if "Berlin" == city then "the Berlin lobby" else city) else city',
    'match city { "Berlin" => lobby(), _ => city }',
    'let rooms = { "Berlin": "the Berlin lobby", "Paris": "Salle A" }; get(rooms, city) ?? city',
])
def test_constants_that_run_only_for_the_teaching_value_are_skipped(body: str) -> None:
    source = office(body, "the Berlin lobby").replace("  program", '  fn lobby() -> Text = "the Berlin lobby"\n'
                                                                   "  program")
    ob = no_leak(source, "city")
    assert ob.verdict == "proved", ob.evidence


@pytest.mark.parametrize("body", [
    'if city == "Hamburg" then "see the Berlin lobby" else city',
    'if city == "Hamburg" then lobby() else city',
])
def test_a_constant_that_can_run_for_another_value_leaves_no_leak_unknown(body: str) -> None:
    source = office(body, "Berlin").replace("  program", '  fn lobby() -> Text = "the Berlin lobby"\n  program')
    ob = no_leak(source, "city")
    assert ob.verdict == "unknown" and ob.code == "DDL606", ob.evidence
    assert "Berlin lobby" in ob.evidence


def test_the_branch_of_x_equals_v0_or_something_else_is_not_skipped() -> None:
    ob = no_leak(office('if city == "Berlin" or floor == 3 then "the Berlin lobby" else city', "the Berlin lobby"),
                 "city")
    assert ob.verdict == "refuted" and 'still yields "the Berlin lobby"' in ob.evidence and "floor = 3" in ob.evidence


def test_an_alias_of_the_teaching_variant_is_a_needle() -> None:
    source = """\
family shelf {
  enum Genre { science_fiction = "science fiction" | "sci-fi", fantasy }
  param genre : Genre
  program -> Text = "${genre}: more sci-fi"
  example { genre = science_fiction } => "science fiction: more sci-fi"
}
"""
    ob = no_leak(source, "genre")
    assert ob.verdict == "refuted" and ob.code == "DDL602"
    assert 'genre = fantasy still yields "fantasy: more sci-fi"' in ob.evidence and '"sci-fi"' in ob.evidence


def test_another_parameter_set_to_the_teaching_value_selects_its_knowledge() -> None:
    # rate[to] is Berlin's entry when to = berlin: the knowledge came from `to`, not from the program.
    source = """\
family trip {
  enum City { berlin, paris, rome }
  table lat : City -> Decimal(4) { berlin => 52.5200, paris => 48.8566, rome => 41.9028 }
  param origin : City
  param to : City
  program -> Text = "${origin} to ${to} at ${lat[to]}"
  example { origin = berlin, to = rome } => "berlin to rome at 41.9028"
}
"""
    ob = no_leak(source, "origin")
    assert ob.verdict == "proved", ob.evidence


# ---------------------------------------------------------------------------- allow: DDL228


def type_errors(source: str) -> list[Any]:
    _, diags = compile_source(source, "a.ddl")
    return [d for d in diags if d.is_error]


EXPORT = """\
family export {
  enum Format { json = "JSON", csv = "CSV" }
  param format : Format
  param size : Int in 1..9
  program -> Text = "${size} ${format} as application/json"
  ALLOW
  example { format = json, size = 1 } => "1 JSON as application/json"
}
"""


@pytest.mark.parametrize("allow, code, message, hint", [
    ('allow size in "9" because "r"', "DDL228",
     "allow: 'size' is Int in 1..9; no-leak applies only to Text and enum parameters", "remove the declaration"),
    ('allow format in "text/csv" because "r"', "DDL228",
     'allow: "text/csv" does not contain json, the teaching value of \'format\', so it allows nothing',
     "remove the declaration: an allowance covers only a text in which the teaching value occurs"),
    ('allow format in "application/json" because " "', "DDL228",
     'allow: the reason for allowing "application/json" is blank', "say why the teaching value may appear"),
    ('allow formt in "application/json" because "r"', "DDL200",
     "'formt' is not a parameter of this family", "did you mean 'format'?"),
])
def test_an_invalid_allow_is_a_type_error_at_the_declaration(allow: str, code: str, message: str, hint: str) -> None:
    (err,) = type_errors(EXPORT.replace("ALLOW", allow))
    assert err.code == code and err.message.startswith(message), err.message
    assert err.hint is not None and err.hint.startswith(hint), err.hint
    assert err.span.line == 6


def test_allow_needs_a_teaching_value() -> None:
    source = EXPORT.replace("ALLOW", 'allow format in "application/json" because "r"').replace(
        "example { format = json, size = 1 } => \"1 JSON as application/json\"",
        "example { size = 1 } => \"1 JSON as application/json\"").replace(
        "param format : Format", "param format : Format = json")
    (err,) = type_errors(source)
    assert err.code == "DDL228" and "has no teaching value" in err.message and err.span.line == 6


def test_the_same_text_allowed_twice_is_a_duplicate() -> None:
    twice = 'allow format in "application/json" because "r"\n  allow format in "application/json" because "s"'
    (err,) = type_errors(EXPORT.replace("ALLOW", twice))
    assert err.code == "DDL201" and err.span.line == 7


def test_an_alias_in_the_allowed_text_is_the_teaching_value() -> None:
    source = EXPORT.replace('json = "JSON"', 'json = "JSON" | "javascript object notation"').replace(
        "ALLOW", 'allow format in "Javascript-Object-Notation" because "the spec title"')
    assert type_errors(source) == []


# ---------------------------------------------------------------------------- allow: what ddl check reports

ALLOWED = EXPORT.replace("ALLOW", 'allow format in "application/json" because "the reply is always JSON"')


def ddl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DDL), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_an_allowance_is_a_note_in_the_text_output_and_the_check_passes(tmp_path: Path) -> None:
    (tmp_path / "export.ddl").write_text(ALLOWED)
    proc = ddl("check", "--no-cache", "export.ddl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == ('export.ddl:6:3: DDL612: export: no-leak(format) allows "application/json" '
                        "(the reply is always JSON)")
    assert lines[1].endswith('allow format in "application/json" because "the reply is always JSON"')
    assert lines[2].strip().startswith("^~~")
    assert lines[-1].endswith(": ok")


def test_without_the_allowance_the_same_family_leaks(tmp_path: Path) -> None:
    (tmp_path / "export.ddl").write_text(EXPORT.replace("ALLOW", ""))
    proc = ddl("check", "--no-cache", "export.ddl", cwd=tmp_path)
    assert proc.returncode == 1
    assert 'DDL602: export: no-leak(format) refuted: format = csv still yields "1 CSV as application/json"' in proc.stdout


def test_an_allowance_in_the_json_output(tmp_path: Path) -> None:
    (tmp_path / "export.ddl").write_text(ALLOWED)
    proc = ddl("check", "--no-cache", "--format", "json", "--no-timings", "export.ddl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True
    (note,) = doc["diagnostics"]
    assert (note["severity"], note["code"], note["line"], note["col"]) == ("note", "DDL612", 6, 3)
    obligations = doc["files"][0]["families"][0]["obligations"]
    (leak,) = [o for o in obligations if o["kind"] == "no-leak"]
    assert leak["verdict"] == "proved"
    assert leak["evidence"].endswith('allowed: "application/json" (the reply is always JSON)')
    assert [(a["text"], a["reason"], a["span"]["line"]) for a in leak["allowed"]] == [
        ("application/json", "the reply is always JSON", 6)]
    assert all("allowed" not in o for o in obligations if o["kind"] != "no-leak")


def test_an_allowance_in_sarif_is_a_suppressed_note(tmp_path: Path) -> None:
    (tmp_path / "export.ddl").write_text(ALLOWED)
    proc = ddl("check", "--no-cache", "--format", "sarif", "export.ddl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = json.loads(proc.stdout)["runs"][0]
    (result,) = run["results"]
    assert result["ruleId"] == "DDL612" and result["level"] == "note"
    assert result["suppressions"] == [{"kind": "inSource", "justification": "the reply is always JSON"}]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "DDL612"


def test_allowances_and_notes_survive_the_result_cache_form() -> None:
    result = check_source(ALLOWED, "export.ddl")
    again = FileResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again.families == result.families
    assert again.findings == result.findings
    (leak,) = [o for o in again.families[0].obligations if o.kind == "no-leak"]
    assert leak.allowed and leak.allowed[0].reason == "the reply is always JSON"
    (note,) = again.findings
    assert note.suppression == "the reply is always JSON" and note.diagnostic.severity == "note"


@pytest.mark.parametrize("lookup, source_of_it", [
    # a map literal looked up with show(city): v0's entry is the one under "Berlin"
    ('let lat = { "Berlin": "52.5200", "Paris": "48.8566", "Rome": "41.9028" }; '
     '(get(lat, show(city)) ?? "?") ++ " / 52.5200"', "its entry of the map at 6:"),
    # a table whose key type is City, looked up inside a function
    ('"${lat_of(city)} / 52.5200"', "its entry of table lats"),
])
def test_knowledge_selected_by_the_teaching_value_is_a_needle(lookup: str, source_of_it: str) -> None:
    source = f"""\
family locate {{
  enum City {{ berlin = "Berlin", paris = "Paris", rome = "Rome" }}
  table lats : City -> Decimal(4) {{ berlin => 52.5200, paris => 48.8566, rome => 41.9028 }}
  fn lat_of(c: City) -> Decimal(4) = lats[c]
  param city : City
  program -> Text = {lookup}
  example {{ city = berlin }} => "52.5200 / 52.5200"
}}
"""
    ob = no_leak(source, "city")
    assert ob.verdict == "refuted" and ob.code == "DDL602", ob.evidence
    assert "still yields" in ob.evidence and f"52.5200 is knowledge selected by berlin ({source_of_it}" in ob.evidence
    assert ob.hint == "the output holds 52.5200 whatever city is; look it up with city instead"


def test_a_cached_check_reports_the_allowance_as_the_first_one_did(tmp_path: Path) -> None:
    (tmp_path / "export.ddl").write_text(ALLOWED)
    args = ("check", "--cache-dir", "cache", "--format", "json", "--no-timings", "export.ddl")
    first, second = ddl(*args, cwd=tmp_path), ddl(*args, cwd=tmp_path)
    assert first.returncode == second.returncode == 0
    stored = "".join(p.read_text(errors="replace") for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert '"suppression": "the reply is always JSON"' in stored and '"allowed": [{' in stored  # the entry holds them
    assert second.stdout == first.stdout and '"allowed": [' in second.stdout and '"DDL612"' in second.stdout
    sarif = ddl("check", "--cache-dir", "cache", "--format", "sarif", "export.ddl", cwd=tmp_path)
    assert json.loads(sarif.stdout)["runs"][0]["results"][0]["suppressions"][0]["kind"] == "inSource"
