"""The verifier's obligations over all of Θ: safe, depends, no-leak, reachable, ensures (spec/checks.md)."""

from __future__ import annotations

import pytest

from ddl.api import compile_source
from ddl.eval import Evaluator
from ddl.eval.result import Ok
from ddl.verify.obligations import Obligation
from ddl.verify.prove import FamilyProver, prove_family

HEAD = """
family f {
  enum Genre { fantasy, mystery, romance, science_fiction = "science fiction" | "sci-fi" }
"""


def prove(src: str) -> list[Obligation]:
    module, diags = compile_source(src, "<test>")
    assert module is not None and not [d for d in diags if d.is_error], [d.message for d in diags]
    (family,) = module.families.values()
    return prove_family(module, family, Evaluator(module))


def find(obs: list[Obligation], kind: str, subject: str | None = None) -> Obligation:
    hits = [o for o in obs if o.kind == kind and (subject is None or o.subject == subject)]
    assert hits, f"no {kind}({subject}) among {[(o.kind, o.subject) for o in obs]}"
    return hits[0]


def verdicts(obs: list[Obligation]) -> dict[tuple[str, str], str]:
    return {(o.kind, o.subject): o.verdict for o in obs}


GOOD = HEAD + """
  param genre : Genre
  param count : Int in 1..20 = 5
  program -> Text =
    let slug = replace(text(genre), " ", "_");
    let per = 100 / count;
    "https://x.org/subjects/${slug}.json?limit=${count}&per=${per}"
  ensures "short" len(result) <= 80
  teach genre = fantasy
  example { genre = mystery, count = 3 } => "https://x.org/subjects/mystery.json?limit=3&per=33"
}
"""


def test_a_correct_family_is_all_proved() -> None:
    obs = prove(GOOD)
    assert all(o.verdict == "proved" for o in obs), [(o.kind, o.subject, o.evidence) for o in obs if not o.passed]
    kinds = {o.kind for o in obs}
    assert {"safe", "depends", "no-leak", "ensures"} <= kinds
    safe = find(obs, "safe")
    assert safe.subject.startswith("division at ") and "excludes 0" in safe.evidence
    dep = find(obs, "depends", "genre")
    assert "genre = " in dep.evidence and "gives" in dep.evidence
    assert "all 80 θ in Θ" in find(obs, "ensures").evidence


def test_ignored_parameter_is_refuted_with_a_hint() -> None:
    obs = prove(HEAD + """
  param genre : Genre
  param count : Int in 1..20
  program -> Text = "https://x.org/subjects/${name(genre)}.json"
}
""")
    dep = find(obs, "depends", "count")
    assert dep.verdict == "refuted" and dep.code == "DDL601"
    assert dep.hint == "count is never used; did you mean to interpolate it?"
    assert find(obs, "depends", "genre").verdict == "proved"


def test_hardcoded_parameter_cannot_change_the_output() -> None:
    obs = prove(HEAD + """
  param genre : Genre
  param count : Int in 1..20
  program -> Text = if count > 0 then name(genre) else show(count)
}
""")
    dep = find(obs, "depends", "count")
    assert dep.verdict == "refuted" and "count cannot change the output" in dep.evidence
    dead = find(obs, "reachable")
    assert dead.verdict == "refuted" and dead.code == "DDL603" and "else branch is never taken" in dead.evidence


def test_teaching_value_baked_into_the_url_leaks() -> None:
    obs = prove(HEAD + """
  param genre : Genre
  program -> Text = "https://x.org/subjects/fantasy.json?g=${name(genre)}"
  teach genre = fantasy
}
""")
    leak = find(obs, "no-leak", "genre")
    assert leak.verdict == "refuted" and leak.code == "DDL602"
    assert "genre = mystery still yields" in leak.evidence and "fantasy.json" in leak.evidence


def test_a_text_teaching_value_from_the_first_example_leaks() -> None:
    obs = prove("""
family greet {
  param who : Text(max 20, pattern [A-Z] [a-z]+)
  program -> Text = "Hi ${who}, love from Alice"
  example { who = "Alice" } => "Hi Alice, love from Alice"
}
""")
    leak = find(obs, "no-leak", "who")
    assert leak.verdict == "refuted" and "love from Alice" in leak.evidence
    assert 'who = "Alice"' not in leak.evidence.split("still yields")[0]


def test_specialization_on_the_teaching_value_is_flagged() -> None:
    obs = prove(HEAD + """
  param genre : Genre
  program -> Text =
    if genre == fantasy then "https://x.org/subjects/fantasy.json" else "https://x.org/search?q=${name(genre)}"
  teach genre = fantasy
}
""")
    spec = find(obs, "reachable")
    assert spec.verdict == "refuted" and spec.code == "DDL604"
    assert "taken only when genre = fantasy" in spec.evidence


def test_an_exhaustive_match_on_the_taught_enum_is_not_a_specialization() -> None:
    obs = prove(HEAD + """
  param genre : Genre
  program -> Text = match genre { fantasy => "F", mystery => "M", romance => "R", science_fiction => "S" }
  teach genre = fantasy
}
""")
    assert find(obs, "reachable").verdict == "proved"


def test_division_by_zero_at_a_domain_edge() -> None:
    obs = prove("""
family f {
  param count : Int in 1..20
  program -> Int = 100 / (20 - count)
}
""")
    safe = find(obs, "safe")
    assert safe.verdict == "refuted" and safe.code == "DDL600"
    assert "count = 20" in safe.evidence and "division by zero" in safe.evidence
    assert safe.subject == "division at 4:20"


def test_division_by_zero_at_the_edge_of_a_large_range_is_found_by_sampling() -> None:
    obs = prove("""
family f {
  param n : Int in 1..1000000
  program -> Int = 1000 / (n - 1000000)
  example { n = 5 } => -1
}
""")
    safe = find(obs, "safe")
    assert safe.verdict == "refuted" and "n = 1000000" in safe.evidence


def test_index_off_the_end_for_the_largest_count() -> None:
    obs = prove("""
family f {
  param count : Int in 1..4
  program -> Text = ["one", "two", "three"][count - 1]
}
""")
    safe = find(obs, "safe")
    assert safe.subject.startswith("index at ")
    assert safe.verdict == "refuted" and "count = 4" in safe.evidence and "out of range" in safe.evidence


def test_table_missing_a_key() -> None:
    obs = prove(HEAD + """
  table code : Genre -> Text { fantasy => "F", mystery => "M", science_fiction => "S" }
  param genre : Genre
  program -> Text = code[genre]
}
""")
    safe = find(obs, "safe")
    assert safe.subject.startswith("table lookup at ")
    assert safe.verdict == "refuted" and "genre = romance" in safe.evidence


def test_violated_ensures_shows_theta_and_output() -> None:
    obs = prove(HEAD + """
  param genre : Genre
  program -> Text = "books about ${genre}"
  ensures "short" len(result) <= 20
}
""")
    ens = find(obs, "ensures", "short")
    assert ens.verdict == "refuted" and ens.code == "DDL605"
    assert "genre = science_fiction" in ens.evidence and '"books about science fiction"' in ens.evidence


def test_z3_proves_safety_over_a_large_theta() -> None:
    obs = prove("""
fn pct(x: Int in 1..100) -> Int = 100 / x
family f {
  param n : Int in 0..1000000
  param m : Int in 0..1000000
  program -> Int = (if n > 5 then m / (n - 5) else 0) + (if n >= 1 and n <= 100 then pct(n) else 0)
  example { n = 7, m = 10 } => 5
}
""")
    safe = [o for o in obs if o.kind == "safe"]
    assert {o.subject.split(" at ")[0] for o in safe} >= {"division", "narrowing"}
    assert all(o.verdict == "proved" for o in safe), [(o.subject, o.evidence) for o in safe]
    assert any("z3" in o.evidence for o in safe)


GREET = """
family greet {
  param who : Text(max 20PATTERN)
  program -> Text = "Hi ${who}!"
  ensures "greets" starts_with(result, "Hi ") and contains(result, who ++ "!")
  ensures "no dashes" not contains(result, "--")
  example { who = "Alice" } => "Hi Alice!"
}
"""


def test_symbolic_ensures_over_text() -> None:
    obs = prove(GREET.replace("PATTERN", ", pattern [A-Z] [a-z]+"))
    greets = find(obs, "ensures", "greets")
    assert greets.verdict == "proved" and "symbolically for every value of who" in greets.evidence
    # The pattern's language cannot contain "--", so neither can the output.
    assert find(obs, "ensures", "no dashes").verdict == "proved"


def test_ensures_over_an_unpatterned_text_is_unknown_not_proved() -> None:
    obs = prove(GREET.replace("PATTERN", ""))
    assert find(obs, "ensures", "greets").verdict == "proved"
    unknown = find(obs, "ensures", "no dashes")
    assert unknown.verdict == "unknown" and unknown.code == "DDL606"
    assert "sampled" in unknown.evidence


def test_a_counterexample_that_does_not_replay_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FamilyProver, "replay", lambda self, theta: Ok("a different output"))
    obs = prove("""
family f {
  param count : Int in 1..20
  program -> Int = 100 / (20 - count)
}
""")
    safe = find(obs, "safe")
    assert safe.verdict == "unknown" and safe.code == "DDL607"
    assert "did not replay" in safe.evidence
    diag = safe.diagnostic("f")
    assert diag is not None and diag.code == "DDL607"


def test_z3_proves_an_integer_ensures_and_sampling_refutes_one_at_the_edge() -> None:
    obs = prove("""
family odd {
  param n : Int in 0..1000000
  program -> Int = n * 2 + 1
  ensures "odd" result % 2 == 1
  ensures "small" result < 2000001
  example { n = 3 } => 7
}
""")
    odd = find(obs, "ensures", "odd")
    assert odd.verdict == "proved" and "z3" in odd.evidence
    small = find(obs, "ensures", "small")
    assert small.verdict == "refuted" and "n = 1000000" in small.evidence and "2000001" in small.evidence


def test_intervals_prove_a_decimal_narrowing_through_a_function() -> None:
    obs = prove("""
fn half(x: Decimal(2) in 0.00..1000.00) -> Decimal(2) = round(x / 2, 2)
family f {
  param total : Decimal(2) in 0.01..100000.00
  param tip : Int in 0..40
  program -> Decimal(2) = half(round(total * tip / 100 / 40, 2))
  example { total = 10.00, tip = 20 } => 0.02
}
""")
    narrow = [o for o in obs if o.kind == "safe" and o.subject.startswith("narrowing")]
    assert narrow and all(o.verdict == "proved" for o in narrow), [(o.subject, o.evidence) for o in narrow]
    assert any("always in 0..1000" in o.evidence for o in narrow)


def test_an_arm_after_every_variant_is_dead_even_over_an_infinite_theta() -> None:
    obs = prove(HEAD + """
  param genre : Genre
  param title : Text(max 20, pattern [a-z]+)
  program -> Text =
    match genre { fantasy => "F", mystery => "M", romance => "R", science_fiction => "S", _ => "?" } ++ title
  example { genre = mystery, title = "abc" } => "Mabc"
}
""")
    dead = find(obs, "reachable")
    assert dead.verdict == "refuted" and dead.code == "DDL603" and "arm 5 is never taken" in dead.evidence


def test_an_int_teaching_value_special_case_is_flagged_but_a_plural_is_not() -> None:
    special = prove("""
family f {
  param nights : Int in 1..14
  program -> Int = if nights == 3 then 299 else nights * 100 + 40
  example { nights = 3 } => 299
}
""")
    r = find(special, "reachable")
    assert r.verdict == "refuted" and r.code == "DDL604" and "nights = 3" in r.evidence
    plural = prove("""
family g {
  param count : Int in 1..14
  program -> Text = if count == 1 then "1 book" else "${count} books"
  example { count = 1 } => "1 book"
}
""")
    assert find(plural, "reachable").verdict == "proved"


def test_a_long_text_violating_ensures_is_found_at_the_longest_samples() -> None:
    obs = prove("""
family sms {
  param who : Text(max 60, pattern [A-Z] [a-z]+)
  param place : Text(max 60, pattern [A-Z] [a-z]+)
  program -> Text = "Dear ${who}, see you at ${place} tomorrow."
  ensures "fits" len(result) <= 100
  example { who = "Ann", place = "Oslo" } => "Dear Ann, see you at Oslo tomorrow."
}
""")
    fits = find(obs, "ensures", "fits")
    assert fits.verdict == "refuted" and fits.code == "DDL605"


def test_map_keys_that_are_only_looked_up_do_not_count_as_leaks() -> None:
    obs = prove(HEAD + """
  param genre : Genre
  param who : Text(max 20, pattern [A-Z] [a-z]+)
  program -> Text =
    let codes = { "fantasy": 1, "mystery": 2 };
    "${who}: ${get(codes, name(genre)) ?? 0}"
  teach genre = fantasy
  example { genre = romance, who = "Ann" } => "Ann: 0"
}
""")
    leak = find(obs, "no-leak", "genre")
    assert leak.verdict == "proved" and "no text constant" in leak.evidence
