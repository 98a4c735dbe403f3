"""Grammars for real phrasing, as a user meets them: value forms, any_order, Option and List
captures, constant settings, rules with arguments and the stdlib's phrasing rules; the
obligations that keep them sound (unset, twice, together, except per value); the limits and
how to raise them; and the teaching value a left-out parameter does not have."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ddl.api import loads
from ddl.eval import validate_theta
from ddl.grammar import forms as F
from ddl.grammar.compile import CompiledGrammar
from ddl.regular import Lang
from ddl.values import to_json
from ddl.verify.grammar import check_grammar

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"


def grammar_of(src: str) -> CompiledGrammar:
    program = loads(textwrap.dedent(src))
    fam = program.checked.families[program.families[0]]
    return CompiledGrammar(fam, program.evaluator)


def theta(g: CompiledGrammar, utterance: str) -> dict[str, Any] | None:
    result = g.match(utterance)
    if not result.ok:
        return None
    full, problems = validate_theta(g.family, g.evaluator, result.values or {}, values=True)
    assert full is not None, problems
    return {k: to_json(v) for k, v in full.items()}


def verdicts(src: str) -> dict[tuple[str, str], Any]:
    program = loads(textwrap.dedent(src))
    fam = program.checked.families[program.families[0]]
    return {(o.kind, o.subject): o for o in check_grammar(fam, program.evaluator)}


def failing(src: str) -> list[Any]:
    return [o for o in verdicts(src).values() if o.verdict != "proved"]


BILL = """
import phrasing

family split_bill {
  param total : Decimal(2) in 0.01..100000.00
  param people : Int in 1..50
  param tip : Int in 0..40 = 15
  grammar ignore_case normalize_space {
    rule party = ("between " | "among " | "for ") number(people) (" people" | " of us" | " friends")?
      | number(people) " ways";
    rule with_tip = ("with " ("a " | "an ")?)? phrasing::percent(number(tip)) " tip" | "no tip" {tip = 0};
    phrasing::polite(("split " | "divide ") ("a " | "the ")? ("bill " | "check ")? ("of " | "for ")?
      any_order(phrasing::money(grouped(total)), party, with_tip?, sep = " " | ", " | " and "))
  }
  program -> Text = "${total}/${people}/${tip}"
  example "split $84.60 between 3 people with a 15% tip" => { total = 84.60, people = 3 } => "84.60/3/15"
}
"""


def test_a_bill_grammar_written_for_people_is_proved_and_understands_them() -> None:
    assert failing(BILL) == []
    g = grammar_of(BILL)
    cases = {
        "split $150 among five people with a 20% tip": {"total": "150.00", "people": 5, "tip": 20},
        "hey, could you divide $1,200.50 between 8 of us, 18 percent tip?": {"total": "1200.50", "people": 8,
                                                                            "tip": 18},
        "split 45 dollars 4 ways": {"total": "45.00", "people": 4, "tip": 15},
        "split the bill 4 ways, $80, no tip, thanks!": {"total": "80.00", "people": 4, "tip": 0},
        "Split a check of 312.40 between twelve friends": {"total": "312.40", "people": 12, "tip": 15},
    }
    for utterance, want in cases.items():
        assert theta(g, utterance) == want, utterance
    assert theta(g, "split $80 between 60 people") is None  # outside Θ: not understood, not mis-read
    assert theta(g, "split $80 between 4 people between 5 people") is None  # each part at most once


def test_number_words_are_exact_for_every_value_in_the_range() -> None:
    form = F.int_words(F.IntDomain(0, 1000))
    for n in range(0, 1001):
        for spelling in F.number_words(n):
            assert form.lang.contains(spelling), spelling
            assert int(form.convert(spelling)) == n
    assert not form.lang.contains("one thousand and one")
    assert form.convert("Twenty-One") == "21" and form.convert("A DOZEN") == "12"


@given(st.integers(-50, 2000), st.integers(0, 3000))
def test_every_text_of_a_number_form_converts_into_its_range(lo: int, span: int) -> None:
    dom = F.IntDomain(lo, lo + span)
    canonical = Lang.from_regex(dom.canonical())
    rng = random.Random(lo * 7919 + span)
    for form in (F.int_words(dom), F.int_grouped(dom)):
        image = Lang.from_regex(form.image)
        assert image.subset_of(canonical)[0]
        lengths = [n for n in form.lang.lengths(40) if form.lang.count(n)]
        for _ in range(10 if lengths else 0):
            text = form.lang.sample(rng, rng.choice(lengths))
            assert dom.contains(int(form.convert(text)))


def test_padded_decade_and_dates() -> None:
    padded = F.int_padded(F.IntDomain(0, 59), 2)
    assert padded.lang.contains("05") and not padded.lang.contains("5") and not padded.lang.contains("60")
    decade = F.int_decade(F.IntDomain(1900, 2020, tuple(range(1900, 2021, 10))), 1900)
    assert {decade.convert(t) for t in ("1980s", "80s", "'80s", "Eighties")} == {"1980"}
    assert not decade.lang.contains("20s") or decade.convert("20s") == "1920"
    iso = Lang.parse("[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
    date = F.text_date(iso & Lang.parse("(....-(01|03|05|07|08|10|12)-..)|(....-(04|06|09|11)-([012].|30))|"
                                         "(....-02-([01].|2[0-8]))|(....-02-29)"))
    assert date.convert("Dec 20 2026") == "2026-12-20" and date.convert("20th of December, 2026") == "2026-12-20"
    assert not date.lang.contains("April 31 2024")
    assert date.spell("2026-12-20") == "December 20, 2026"


def test_a_form_that_could_leave_the_domain_is_refuted() -> None:
    # month_day into a domain that forbids the 31st: the form must not produce "01-31".
    src = """
    family f {
      param when : Text(max 5, pattern "01-" ("0" [1-9] | [12] [0-9] | "30"))
      grammar { "on " month_day(when) }
      program -> Text = when
    }
    """
    assert failing(src) == []
    g = grammar_of(src)
    assert theta(g, "on Jan 30") == {"when": "01-30"} and theta(g, "on Jan 31") is None


def test_option_list_and_constant_settings() -> None:
    g = grammar_of("""
    family shop {
      enum Unit { g, kg }
      param items : List[Text(max 20, pattern [a-z]+), max 4]
      param budget : Option[Int in 1..500]
      param express : Bool = false
      grammar normalize_space {
        "buy " items (" for under " budget " dollars")? (" express" {express = true})?
      }
      program -> Int = len(items)
    }
    """)
    assert theta(g, "buy eggs, flour and milk") == {"items": ["eggs", "flour", "milk"], "budget": None,
                                                   "express": False}
    assert theta(g, "buy eggs for under 20 dollars express") == {"items": ["eggs"], "budget": 20, "express": True}
    assert theta(g, "buy a, b, c, d, e") is None  # at most 4 items
    rendered = g.render({"items": g.match("buy eggs and milk").values["items"], "budget": g.match(  # type: ignore[index]
        "buy x for under 7 dollars").values["budget"], "express": True})  # type: ignore[index]
    assert rendered == "buy eggs and milk for under 7 dollars express"


def test_soundness_obligations_refute_with_the_utterance() -> None:
    unset = failing("""
    family f {
      enum City { paris, tokyo }
      param a : City
      param b : City
      param day : Int in 1..31
      grammar { "find flights from " a " to " b (" on the " day "th")? }
      program -> Text = "${a}-${b}-${day}"
    }
    """)
    assert [(o.kind, o.code) for o in unset] == [("grammar-sound", "DDL502")]
    assert "'find flights from paris to paris' is accepted but leaves day unset" in unset[0].evidence
    twice = failing("""
    family f {
      param n : Int in 0..9
      grammar { "add " n (" and " n)? }
      program -> Int = n
    }
    """)
    assert [o.kind for o in twice] == ["grammar-sound"] and "sets n twice" in twice[0].evidence
    apart = failing("""
    family f {
      param days : Int in 1..16 = 1
      param hot : Bool = false
      grammar { "forecast" (" for " days " days" | " hot " hot) }
      program -> Text = "${days} ${hot}"
    }
    """)
    assert [(o.kind, o.subject) for o in apart] == [("grammar-covers", "together")]
    assert "days and hot are each expressible" in apart[0].evidence


def test_except_counts_per_value_and_witnesses_are_normalized() -> None:
    removed = failing("""
    family f {
      enum City { paris, rome }
      param city : City
      grammar normalize_space { "weather in " city except "weather in rome" }
      program -> Text = "${city}"
    }
    """)
    assert [(o.kind, o.subject) for o in removed] == [("grammar-covers", "city")]
    assert "city = rome cannot be expressed" in removed[0].evidence
    obs = verdicts("""
    family f {
      param n : Int in 0..9
      grammar normalize_space { ("a  " | "b ") n }
      program -> Int = n
    }
    """)
    assert obs[("grammar-nonempty", "")].evidence == "accepts 'b 0'"  # 'a  0' never reaches the matcher


def test_polite_wrappers_make_a_free_text_capture_ambiguous_and_the_checker_says_so() -> None:
    bad = failing("""
    import phrasing
    family note {
      param text : Text(max 80, pattern [a-z]+ (" " [a-z]+)*)
      grammar ignore_case normalize_space { phrasing::polite("note " text) }
      program -> Text = text
    }
    """)
    assert [o.kind for o in bad] == ["unambiguous"]
    assert "parses two ways" in bad[0].evidence


def test_rule_errors_name_the_culprit() -> None:
    from ddl.api import compile_source

    def first(src: str) -> tuple[str, str]:
        _, diags = compile_source(textwrap.dedent(src), "t.ddl")
        return diags[0].code, diags[0].message

    assert first("""
    rule polite(r) = "please " r;
    family f {
      param n : Int in 0..9
      grammar { polite("add " n, "x") }
      program -> Int = n
    }
    """) == ("DDL203", "rule 'polite' takes 1 argument(s), not 2")
    assert first("""
    family f {
      param n : Int in 0..9
      grammar { "add " numbr(n) }
      program -> Int = n
    }
    """)[1].startswith("'numbr' is neither a rule nor a grammar function")
    assert first("""
    import phrasing
    family f {
      param n : Int in 0..9
      grammar { phrasing::politely("add " n) }
      program -> Int = n
    }
    """) == ("DDL220", "module 'phrasing' has no rule 'politely'")


def test_a_teaching_request_that_left_a_parameter_out_gives_it_no_teaching_value() -> None:
    from ddl.verify.family import check_family

    program = loads(textwrap.dedent("""
    family weather {
      enum City { paris, london, tokyo }
      enum Units { metric, imperial, kelvin }
      param city : City
      param units : Units = metric
      grammar { "weather in " city (" in " units)? }
      program -> Text = if units == metric then "C ${city}" else "other ${units} ${city}"
      example "weather in paris" => { city = paris } => "C paris"
      example { city = tokyo, units = imperial } => "other imperial tokyo"
    }
    """))
    fam = program.checked.families["weather"]
    bad = [o for o in check_family(program.checked, fam, program.evaluator) if o.verdict != "proved"]
    assert bad == []


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


FLIGHTS = """
family flights {
  enum City { %s }
  param a : City
  param b : City
  grammar ignore_case normalize_space { "fly " a " to " b | "flights from " a " to " b }
  program -> Text = "${a}-${b}"
}
"""


def test_a_limit_is_reported_with_its_culprit_and_raised_from_the_command_line_and_ddl_toml(tmp_path: Path) -> None:
    cities = ", ".join(f"c{i}x{i * 7 % 13}y" for i in range(60))
    write(tmp_path, "flights.ddl", FLIGHTS % cities)
    run = subprocess.run([str(DDL), "check", "--no-cache", "--max-states", "700", "flights.ddl"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "DDL506: flights: unambiguous unknown: the capture automaton reached the limit of 700 states; " \
           "the growth comes from 'a'" in run.stdout
    assert "hint: raise the limit with `ddl check --max-states N`" in run.stdout
    assert "grammar-nonempty" not in run.stdout  # the others are decided: proved, not missing
    report = subprocess.run([str(DDL), "check", "--no-cache", "--max-states", "700", "--format", "json",
                             "flights.ddl"], cwd=tmp_path, capture_output=True, text=True)
    kinds = [(o["kind"], o["verdict"]) for o in json.loads(report.stdout)["files"][0]["families"][0]["obligations"]]
    assert ("grammar-nonempty", "proved") in kinds and ("unambiguous", "unknown") in kinds
    write(tmp_path, "ddl.toml", "[check]\nmax_states = 700\n")
    again = subprocess.run([str(DDL), "check", "flights.ddl"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 1 and "limit of 700 states" in again.stdout
    write(tmp_path, "ddl.toml", "[check]\nmax_states = 1000000\n")
    raised = subprocess.run([str(DDL), "check", "flights.ddl"], cwd=tmp_path, capture_output=True, text=True)
    assert raised.returncode == 0, raised.stdout  # the cache entry of the lower limit is not reused
    write(tmp_path, "ddl.toml", "[check]\nmax_state = 10\n")
    bad = subprocess.run([str(DDL), "check", "flights.ddl"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown key [check].max_state" in bad.stderr


def test_sample_draws_normalized_utterances_that_run_accepts(tmp_path: Path) -> None:
    write(tmp_path, "g.ddl", """
    family f {
      param t : Text(max 12, pattern [a-z ]+)
      grammar normalize_space { "say " t }
      program -> Text = t
    }
    """)
    out = subprocess.run([str(DDL), "grammar", "sample", "g.ddl", "-n", "20"], cwd=tmp_path, capture_output=True,
                         text=True)
    assert out.returncode == 0
    for line in out.stdout.splitlines():
        assert line == " ".join(line.split()), line
        member = subprocess.run([str(DDL), "grammar", "member", "g.ddl", line], cwd=tmp_path, capture_output=True,
                                text=True)
        assert member.returncode == 0, line


def test_overlap_follows_except_clauses_on_large_grammars(tmp_path: Path) -> None:
    write(tmp_path, "a.ddl", """
    family notes {
      param t : Text(max 60, pattern [a-z ]+)
      grammar { "note " t except "note about " [a-z ]+ }
      program -> Text = t
    }
    """)
    write(tmp_path, "b.ddl", """
    family about {
      param t : Text(max 60, pattern [a-z ]+)
      grammar { "note about " t }
      program -> Text = t
    }
    """)
    out = subprocess.run([str(DDL), "grammar", "overlap", "a.ddl", "b.ddl"], cwd=tmp_path, capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout.startswith("disjoint"), out.stdout + out.stderr


def test_decimal_number_forms_convert_exactly() -> None:
    g = grammar_of("""
    family f {
      param amount : Decimal(2) in 0.01..100000.00
      grammar ignore_case { "pay " number(amount) }
      program -> Decimal(2) = amount
    }
    """)
    assert theta(g, "pay 1,250.5") == {"amount": "1250.50"}
    assert theta(g, "pay twenty") == {"amount": "20.00"}
    assert theta(g, "pay 100,000") == {"amount": "100000.00"}
    assert theta(g, "pay 100,001") is None
    assert g.match("pay 7").values == {"amount": Decimal("7.00")}


def test_case_variants_that_casefold_misses_are_looked_up_too() -> None:
    g = grammar_of("""
    family f {
      enum City { paris, rome }
      param city : City
      grammar ignore_case { "weather in " city }
      program -> Text = "${city}"
    }
    """)
    # "ı" (dotless i) matches "i" under ignore_case; str.casefold keeps it, the lookup must not fail.
    assert theta(g, "weather in PARıS") == {"city": "paris"}


def test_the_ambiguity_view_keeps_the_language_and_merges_spellings_of_one_value() -> None:
    """The ambiguity search runs on a view of the grammar where every capture of a parameter has
    the parameter's name and small captures are keyed by value; it must accept exactly the same
    utterances, or a proof on the view would be about another grammar."""
    g = grammar_of(BILL)
    view, keyed = g.ambiguity_view()
    assert Lang.from_regex(view) == Lang.from_regex(g.regex)
    assert "people" in keyed and "tip" in keyed and "total" not in keyed
    # "three" and "3" are one value of people, so these two spellings are not an ambiguity ...
    assert verdicts(BILL)[("unambiguous", "")].verdict == "proved"
    # ... but two different values for one utterance are.
    clash = BILL.replace('| number(people) " ways";', '| number(people) " ways" | "a couple" {people = 2} '
                         '| "a couple" {people = 3};')
    obligation = verdicts(clash)[("unambiguous", "")]
    assert obligation.verdict == "refuted" and "a couple" in obligation.evidence


def test_a_restricted_capture_keeps_the_grammars_words_out_of_a_free_text() -> None:
    src = """
    family remind {
      param client : Text(max 30, pattern [A-Z] [a-z]+)
      param days : Int in 1..90
      grammar ignore_case normalize_space {
        rule word = "remind" | "late" | "days" | "day";
        "remind " ((client & ~word) | "\\"" client "\\"") " " number(days) (" days" | " day") " late"
      }
      program -> Text = "${client} ${days}"
    }
    """
    g = grammar_of(src)
    assert theta(g, "REMIND Alice five days late") == {"client": "Alice", "days": 5}
    assert theta(g, "remind Late 5 days late") is None  # "Late" is one of the grammar's words
    assert theta(g, 'remind "Late" 5 days late') == {"client": "Late", "days": 5}
    assert theta(g, "remind alice 5 days late") is None  # the pattern decides the case of a Text
    assert failing(src) == []
    # Without the quoted form a client named like a word cannot be asked for: covers says which.
    narrow = src.replace(' | "\\"" client "\\""', "")
    [covers] = failing(narrow)
    assert covers.kind == "grammar-covers" and covers.subject == "client"
    assert "cannot be expressed" in covers.evidence


def test_a_text_pattern_no_automaton_can_hold_is_named_in_every_unknown() -> None:
    # "the 21st letter from the end is an a": its DFA needs 2^21 states.
    obligations = verdicts("""
    family hostile {
      param w : Text(max 60, pattern [ab]* "a" [ab]{20})
      param n : Int in 1..9
      grammar { "take " w " " n }
      program -> Text = "${w}${n}"
    }
    """)
    kinds = {kind for kind, _ in obligations}
    assert {"grammar-nonempty", "grammar-covers", "grammar-sound", "unambiguous"} <= kinds  # none missing
    for o in obligations.values():
        if o.kind == "examples":
            continue
        assert o.verdict == "unknown", o
        assert "reached the limit of 200,000 DFA states; the growth comes from 'w'" in o.evidence
