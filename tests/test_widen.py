"""Widening a family's grammar from missed phrasings: the learners and the gate (spec/widen.md)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import llm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddl.api import check_source, compile_file
from ddl.eval import Evaluator
from ddl.grammar import router
from ddl.grammar.compile import CompiledGrammar
from ddl.grammar.router import RoutedFamily
from ddl.handler.registry import Registry
from ddl.regular import Lang
from ddl.regular.errors import AutomatonTooLarge
from ddl.types.checked import CheckedFamily
from ddl.types.words import setting_words
from ddl.values import to_json
from ddl.widen import Alternative, Candidate, GateResult, foreign_words, learn, phrasing_words, propose, widen_source
from ddl.widen.propose import read_reply
from ddl.widen.spot import inflections, left_spellings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fakellm"))
import ddl_fake_llm  # noqa: E402
from widen_families import CAB, GREET, TRIP  # noqa: E402


@pytest.fixture()
def served(tmp_path: Path) -> Registry:
    (tmp_path / "trip.ddl").write_text(TRIP, encoding="utf-8")
    (tmp_path / "cab.ddl").write_text(CAB, encoding="utf-8")
    return Registry.load(tmp_path, use_cache=False)


def _grammar(registry: Registry, name: str) -> CompiledGrammar:
    return next(e.grammar for e in registry.router.entries if e.name == name)


def _others(registry: Registry, name: str) -> list[RoutedFamily]:
    return [RoutedFamily(f.name, f.checked, f.evaluator, f.priority) for f in registry.served if f.name != name]


def test_the_learner_aligns_theta_with_the_utterance_in_the_grammars_own_forms(served: Registry) -> None:
    fam = served.by_name["trip_weather"]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), [
        Candidate("Tokyo weather, four days please?", {"city": "tokyo", "days": 4}, 7),
        Candidate("paris weather", {"city": "paris"}, 8),  # days left at its default: need not be said
        Candidate("weather tomorrow", {"city": "paris", "days": 2}, 9),
    ])
    sources = [a.source for a in learned.alternatives]
    assert 'city " weather, " number(days) " days please" ("?" | "." | "!")?' in sources
    assert 'city " weather" ("?" | "." | "!")?' in sources
    [unaligned] = learned.unaligned
    assert unaligned.query_id == 9 and "no part of the utterance expresses city = 'paris'" in unaligned.reason


def test_punctuation_after_a_value_stays_optional_unless_the_value_is_free_text(served: Registry) -> None:
    fam = served.by_name["trip_weather"]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), [Candidate("forecast tokyo?", {"city": "tokyo"}, 1)])
    assert [a.source for a in learned.alternatives] == ['"forecast " city ("?" | "." | "!")?']


def test_alternatives_with_the_same_captures_merge_their_words(served: Registry) -> None:
    fam = served.by_name["trip_weather"]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), [
        Candidate("forecast for tokyo", {"city": "tokyo"}, 1),
        Candidate("outlook for paris", {"city": "paris"}, 2),
    ])
    spotting, merged = learned.alternatives  # two phrasings: the spotting generalization comes first
    assert spotting.narrow is not None and not spotting.utterances
    assert merged.source == '("forecast for " | "outlook for ") city'
    assert {p.source for p in merged.parts} == {'"forecast for " city', '"outlook for " city'}
    assert merged.query_ids == (1, 2)


def test_the_gate_admits_what_it_proves_and_writes_a_learned_rule(served: Registry) -> None:
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    candidates = [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 3)]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), candidates)
    result = widen_source(text, fam.path, "trip_weather", learned.alternatives, candidates,
                          others=_others(served, "trip_weather"))
    assert result.ok, result.refused
    assert "rule learned = city \" weather \" number(days) \" days\"" in result.source
    assert "# Learned by `ddl widen` from 1 phrasing (queries 3)" in result.source
    assert "+    rule learned" in result.diff or "+  rule learned" in result.diff
    checked = check_source(result.source, fam.path)
    assert checked.ok and checked.module is not None
    widened = CompiledGrammar(checked.module.families["trip_weather"], Evaluator(checked.module))
    assert widened.match("tokyo weather 4 days").ok
    old = _grammar(served, "trip_weather")
    assert old.lang.subset_of(widened.lang)[0]  # nothing that worked stops working
    # Widening again replaces the learned rule (one rule, relearned from the candidates), never stacks.
    again = widen_source(result.source, fam.path, "trip_weather", learned.alternatives, candidates,
                         others=_others(served, "trip_weather"))
    assert again.ok and again.source.count("rule learned") == 1 and again.source.count("| learned") == 1


def test_a_widened_grammar_past_the_dfa_limit_keeps_the_authored_language_by_construction(
        served: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """G' as one DFA can be past the limits (a learned free text spliced at many places) though each check the
    gate runs is within them: the inclusion L(G) ⊆ L(G') then holds because G' is `(G) | learned`, and the
    report says which proof it is (before, the gate crashed with AutomatonTooLarge)."""
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    candidates = [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 3)]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), candidates)

    subset_of = Lang.subset_of

    def too_large(self: Lang, other: Lang) -> tuple[bool, str | None]:
        if sys._getframe(1).f_code.co_name == "_gate":  # the gate's own check 1, not ddl check's
            raise AutomatonTooLarge("subset construction", 50_000, "DFA states")
        return subset_of(self, other)

    monkeypatch.setattr(Lang, "subset_of", too_large)
    result = widen_source(text, fam.path, "trip_weather", learned.alternatives, candidates,
                          others=_others(served, "trip_weather"))
    assert result.ok, result.refused
    assert "by construction: G' is (G) | learned" in result.checks[0]


def test_an_alternative_that_overlaps_another_served_family_is_refused(served: Registry) -> None:
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    # A labeler's mistake: a cab request labelled as weather.
    candidates = [Candidate("taxi to tokyo", {"city": "tokyo"}, 1)]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), candidates)
    result = widen_source(text, fam.path, "trip_weather", learned.alternatives, candidates,
                          others=_others(served, "trip_weather"))
    assert not result.ok and result.source == text and result.diff == ""
    [refusal] = result.refused
    assert refusal.alternative == '"taxi to " city'
    assert "with the served family cab" in refusal.reason and "taxi to " in refusal.reason.lower()


def test_an_alternative_that_accepts_a_rejected_utterance_is_refused(served: Registry) -> None:
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    candidates = [Candidate("forecast for tokyo", {"city": "tokyo"}, 1),
                  Candidate("forecast for paris please", {"city": "paris"}, 2)]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), candidates)
    result = widen_source(text, fam.path, "trip_weather", learned.alternatives, candidates,
                          rejected=["forecast for paris"], others=_others(served, "trip_weather"))
    assert result.ok
    assert [a.source for a in result.admitted] == ['"forecast for " city " please" ("?" | "." | "!")?']
    assert any("accepts 'forecast for paris', which feedback rejected" in r.reason for r in result.refused)


def test_a_candidate_whose_theta_the_grammar_contradicts_is_refused(served: Registry) -> None:
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    wrong = Candidate("forecast for tokyo", {"city": "paris"}, 1)  # a labeler's mistake
    alternative = Alternative('"forecast for " city', (1,), ("forecast for tokyo",))
    result = widen_source(text, fam.path, "trip_weather", [alternative], [wrong])
    assert not result.ok
    assert "does not parse to its θ" in result.refused[0].reason and "'city': 'tokyo'" in result.refused[0].reason


def test_an_alternative_that_makes_the_family_ambiguous_is_refused_by_ddl_check(served: Registry) -> None:
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    # Accepts "weather in paris" again, with days = 2: the family would have two readings of it.
    alternative = Alternative('"weather in " city {days = 2}', (), ())
    result = widen_source(text, fam.path, "trip_weather", [alternative],
                          [Candidate("weather in paris", {"city": "paris", "days": 2})])
    assert not result.ok and result.refused


@pytest.fixture()
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    llm.plugins.pm.register(ddl_fake_llm.FakeModels(), name="ddl-test-fakes")
    ddl_fake_llm.SCRIPT.clear()
    ddl_fake_llm.RECEIVED.clear()
    yield
    llm.plugins.pm.unregister(name="ddl-test-fakes")


def test_the_model_learner_proposes_and_the_same_gate_decides(served: Registry, fake_models: None) -> None:
    fam = served.by_name["trip_weather"]
    candidates = [Candidate("forecast for tokyo", {"city": "tokyo"}, 1),
                  Candidate("outlook for paris", {"city": "paris"}, 2)]
    ddl_fake_llm.SCRIPT.append('```ddl\n("forecast" | "outlook") " for " city\n"never said " city\n```')
    learned = propose(fam.checked, _grammar(served, "trip_weather"), candidates, model_id=ddl_fake_llm.SCRIPTED)
    prompt = ddl_fake_llm.RECEIVED[-1]["prompt"]
    assert '"forecast for tokyo" => {"city": "tokyo"}' in prompt and "city: city" in prompt
    text = Path(fam.path).read_text(encoding="utf-8")
    result = widen_source(text, fam.path, "trip_weather", learned.alternatives, candidates)
    assert result.ok
    assert [a.source for a in result.admitted] == ['("forecast" | "outlook") " for " city']
    assert result.admitted[0].query_ids == (1, 2)
    assert [r.reason for r in result.refused] == ["accepts none of the candidate phrasings"]



def test_alternatives_too_large_together_go_one_at_a_time(served: Registry) -> None:
    """Two proposals that each fit in a grammar but not both (their tails are long bounded repetitions): the
    gate drops one and admits the other, instead of refusing both for what only their sum does."""
    fam = served.by_name["trip_weather"]
    candidates = [Candidate("forecast for tokyo", {"city": "tokyo"}, 1),
                  Candidate("outlook for paris", {"city": "paris"}, 2)]
    tail = '("!" ([a-z]{0,250} "-"){0,220})?'
    proposals = [Alternative(f'"forecast for " city {tail}', (), ()), Alternative(f'"outlook for " city {tail}', (), ())]
    text = Path(fam.path).read_text(encoding="utf-8")
    result = widen_source(text, fam.path, "trip_weather", proposals, candidates)
    assert result.ok, result.refused
    assert len(result.admitted) == 1 and len(result.refused) == 1
    assert "does not compile within the limits" in result.refused[0].reason
    assert "(with 1 other learned alternative(s))" in result.refused[0].reason

def test_a_model_that_fails_proposes_nothing(served: Registry, fake_models: None) -> None:
    fam = served.by_name["trip_weather"]
    learned = propose(fam.checked, _grammar(served, "trip_weather"), [Candidate("x", {"city": "paris"}, 1)],
                      model_id=ddl_fake_llm.BROKEN)
    assert learned.alternatives == () and "the model proposed nothing: DDL703" in learned.unaligned[0].reason


def test_the_examples_can_be_widened_without_losing_a_proof(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "weather.ddl", tmp_path / "weather.ddl")
    registry = Registry.load(tmp_path, use_cache=False)
    fam = registry.by_name["weather_request"]
    candidates = [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 1)]
    learned = learn(fam.checked, _grammar(registry, "weather_request"), candidates)
    result = widen_source(Path(fam.path).read_text(encoding="utf-8"), fam.path, "weather_request",
                          learned.alternatives, candidates)
    assert result.ok, result.refused
    (tmp_path / "weather.ddl").write_text(result.source, encoding="utf-8")
    again = Registry.load(tmp_path, use_cache=False)
    assert [f.name for f in again.served] == ["weather_request"] and not again.rejected
    route = again.route("tokyo weather 4 days")
    assert route is not None and route.family == "weather_request"


def _widened_grammar(result_source: str, path: str, family: str) -> CompiledGrammar:
    checked = check_source(result_source, path)
    assert checked.ok and checked.module is not None
    return CompiledGrammar(checked.module.families[family], Evaluator(checked.module))


def _widen_trip(served: Registry, candidates: list[Candidate]) -> tuple[GateResult, CompiledGrammar]:
    """trip_weather widened from ``candidates`` by the offline learner and the gate (which must admit),
    and the widened grammar."""
    fam = served.by_name["trip_weather"]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), candidates)
    result = widen_source(Path(fam.path).read_text(encoding="utf-8"), fam.path, "trip_weather",
                          learned.alternatives, candidates, others=_others(served, "trip_weather"))
    assert result.ok, result.refused
    return result, _widened_grammar(result.source, fam.path, "trip_weather")


def _assert_parses(grammar: CompiledGrammar, cases: list[tuple[str, dict[str, object]]]) -> None:
    for utterance, theta in cases:
        match = grammar.match(utterance)
        assert match.ok, (utterance, match.error)
        assert {k: to_json(v) for k, v in (match.values or {}).items()} == theta


def test_spotting_learns_the_words_and_value_marks_not_the_phrasings(served: Registry) -> None:
    """Two phrasings teach more than themselves: their values in any order, marked the way they were
    ("4 days"), among words this family's users and author used; an unseen word or a negation is not
    filler, so those requests still go to the model."""
    result, grammar = _widen_trip(served, [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 1),
                                           Candidate("paris weather 2 days", {"city": "paris", "days": 2}, 2)])
    [spotting] = result.admitted  # the literal phrasings it covers are not written twice
    assert "any_order(" in spotting.source and spotting.query_ids == (1, 2)
    _assert_parses(grammar, [("hi, weather for 3 days in tokyo please", {"city": "tokyo", "days": 3}),
                             ("new york weather 9 days", {"city": "new_york", "days": 9}),
                             ("weather in paris", {"city": "paris"})])
    for stranger in ("tokyo hotels 3 days", "weather in tokyo not 3 days", "cab to paris"):
        assert not grammar.match(stranger).ok, stranger


def test_spotting_takes_frame_words_and_inflections_but_no_unseen_content_word(served: Registry) -> None:
    """Words that only frame a request ("which", "they", "quickly", "fetch") and the other number of a
    word the family's users said ("forecasts" after "forecast") need not have been seen; a word that
    names another task or bounds a value still has to be."""
    _, grammar = _widen_trip(served, [Candidate("tokyo forecast 4 days", {"city": "tokyo", "days": 4}, 1),
                                      Candidate("paris weather 2 days", {"city": "paris", "days": 2}, 2)])
    _assert_parses(grammar, [("quickly fetch the tokyo forecasts, 3 days", {"city": "tokyo", "days": 3}),
                             ("which weather will they have in paris", {"city": "paris"})])
    for stranger in ("paris hotel forecast 3 days", "send the tokyo forecast 4 days", "tokyo weather over 4 days",
                     "paris forecast before 2 days", "weather in tokyo not 3 days"):
        assert not grammar.match(stranger).ok, stranger


def test_the_only_value_that_reads_a_number_needs_no_mark(served: Registry) -> None:
    """trip's days are the only value a number can be, and a digit is never filler: a number its users did
    not mark (" days") is still the days.  Where two values read numbers their marks stay needed
    (test_values_that_could_be_mistaken_for_each_other_are_told_apart_by_their_marks)."""
    _, grammar = _widen_trip(served, [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 1),
                                      Candidate("paris weather 2 days", {"city": "paris", "days": 2}, 2)])
    _assert_parses(grammar, [("tokyo weather, 5 please", {"city": "tokyo", "days": 5}),
                             ("weather for 3 in paris", {"city": "paris", "days": 3})])
    for stranger in ("tokyo weather 5 nights", "tokyo weather not 5"):
        assert not grammar.match(stranger).ok, stranger


CITY_LIST = '''family city_list {
  "List the customers in a city."
  param city : Text(max 24, pattern ([A-Z] [a-z.]* " ")* [A-Z] [a-z]+)
  param limit : Int in 1..100 = 10
  grammar ignore_case normalize_space { (number(limit) " ")? "customers in " city }
  program -> Text = "${limit} in ${city}"
  example "customers in Paris" => { city = "Paris" } => "10 in Paris"
}
'''


def test_the_only_free_text_stands_bare_only_beside_a_value_that_must_be_given(tmp_path: Path) -> None:
    """The family's only free text may go unmarked beside another value that must be given (the invoice
    reminder's client: tests above); a city whose family needs nothing else keeps its marks — else any
    capitalized words alone ("San Jose") would ask for that city's customers."""
    path, fam, grammar = _written_family(tmp_path, CITY_LIST, "city_list")
    candidates = [Candidate("show customers from New York please", {"city": "New York"}, 1),
                  Candidate("the customers of Boston now", {"city": "Boston"}, 2),
                  Candidate("20 customers from Los Angeles", {"city": "Los Angeles", "limit": 20}, 3)]
    learned = learn(fam, grammar, candidates, foreign=frozenset({"weather"}))
    result = widen_source(CITY_LIST, str(path), "city_list", learned.alternatives, candidates)
    assert result.ok and any("any_order(" in a.source for a in result.admitted), result.refused  # maybe narrowed
    widened = _widened_grammar(result.source, str(path), "city_list")
    _assert_parses(widened, [("show customers from San Jose please", {"city": "San Jose"}),
                             ("5 customers of St. Louis", {"city": "St. Louis", "limit": 5})])
    for stranger in ("show customers from San Weather", "San Jose", "hi San Jose", "San Jose, 5"):
        assert not widened.match(stranger).ok, stranger


def test_a_word_mark_is_taken_with_or_without_its_stop_or_colon() -> None:
    assert left_spellings("inv. ") == ("inv. ", "inv ") and left_spellings("client: ") == ("client: ", "client ")
    assert left_spellings("no. ") == ("no. ",) and left_spellings("$") == ("$",) and left_spellings("for ") == ("for ",)


def test_the_other_number_of_a_word_is_filler_only_when_it_is_no_value() -> None:
    assert inflections("novel") == {"novels"} and inflections("stories") == {"story"}
    assert inflections("boxes") == {"box"} and inflections("city") == {"cities"} and inflections("is") == set()


def test_a_refused_generalization_is_narrowed_by_its_witness_not_abandoned(served: Registry) -> None:
    """A labeler gave "tokyo weather for a week" days = 1 (its default): the spotting alternative that
    reads "a" as filler and "week" as filler would learn that "for a week" means 1 day.  Words only an
    unaligned candidate used are never filler, and the one that aligned still generalizes."""
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    candidates = [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 1),
                  Candidate("paris weather 2 days", {"city": "paris", "days": 2}, 2),
                  Candidate("tokyo weather for a fortnight", {"city": "tokyo", "days": 14}, 3)]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), candidates)
    assert [u.query_id for u in learned.unaligned] == [3]
    result = widen_source(text, fam.path, "trip_weather", learned.alternatives, candidates,
                          others=_others(served, "trip_weather"))
    assert result.ok and "fortnight" not in result.source
    grammar = _widened_grammar(result.source, fam.path, "trip_weather")
    assert not grammar.match("tokyo weather for a fortnight").ok  # still the model's: nothing learned a wrong θ
    assert grammar.match("weather for 5 days in paris").ok


CAB_AT = '''family cab_at {
  "Book a cab to a city at an hour."
  enum City { paris, tokyo }
  param city : City
  param hour : Int in 0..23
  grammar ignore_case normalize_space { ("cab" | "taxi") " to " city " at " number(hour) }
  program -> Text = "cab to ${city} at ${hour}"
  example "cab to paris at 5" => { city = paris, hour = 5 } => "cab to paris at 5"
}
'''


def test_a_widening_never_takes_a_family_out_of_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry proves every served family disjoint from the others within a state budget per
    family.  A general alternative that keeps its own family's search within the budget can push
    another family's past it; the registry would then take that family out of service (and send its
    requests to the model).  The gate runs the registry's search, so it refuses that alternative
    instead, and what it writes loads with every family served."""
    for name, source in (("trip.ddl", TRIP), ("cab.ddl", CAB), ("cab_at.ddl", CAB_AT)):
        (tmp_path / name).write_text(source, encoding="utf-8")
    # The three families as authored need 19 states of the search (cab and cab_at share "cab to <city>");
    # with the spotting alternative below, trip_weather's own search needs 6, but cab's and cab_at's
    # (each with trip_weather among its pairs) pass 21.
    monkeypatch.setattr(router, "_OVERLAP_STATE_LIMIT", 21)
    registry = Registry.load(tmp_path, use_cache=False)
    assert sorted(f.name for f in registry.served) == ["cab", "cab_at", "trip_weather"] and not registry.rejected
    fam = registry.by_name["trip_weather"]
    candidates = [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 1),
                  Candidate("forecast for paris", {"city": "paris"}, 2),
                  Candidate("weather for tokyo please", {"city": "tokyo"}, 3)]
    learned = learn(fam.checked, _grammar(registry, "trip_weather"), candidates)
    assert learned.alternatives[0].narrow is not None  # the spotting alternative comes first
    result = widen_source(Path(fam.path).read_text(encoding="utf-8"), fam.path, "trip_weather",
                          learned.alternatives, candidates, others=_others(registry, "trip_weather"))
    assert any(r.alternative == learned.alternatives[0].source and "overlap search" in r.reason
               for r in result.refused), result.refused
    assert result.ok and all("any_order(" not in a.source for a in result.admitted)
    Path(fam.path).write_text(result.source, encoding="utf-8")
    again = registry.reload()
    assert sorted(f.name for f in again.served) == ["cab", "cab_at", "trip_weather"], again.rejected
    route = again.route("forecast for paris")
    assert route is not None and route.family == "trip_weather"


def test_words_the_grammar_writes_only_where_it_sets_a_value_are_never_filler() -> None:
    """examples/dates.ddl reads "subtract 3 days from …" and "… minus 3 days" as direction = before (a
    constant set on those paths, through its own rule `earlier` too): those words say a value, so the
    spotting learner never takes them as filler, while "add", "plus" and "from" (said on other paths) may be."""
    module = compile_file(ROOT / "examples" / "dates.ddl")[0]
    found = setting_words(module.families["shift_date"])
    assert {"subtract", "minus", "earlier", "back"} <= found
    assert not found & {"add", "plus", "from", "forward", "date"}


def test_two_parameters_with_the_same_value_teach_nothing(tmp_path: Path) -> None:
    # "#12 … 12 days": either 12 could be the invoice. A rule learned from the wrong pairing would swap
    # invoice and days_overdue in every later request phrased this way, so the candidate is not learned.
    shutil.copy(Path(__file__).resolve().parent.parent / "examples" / "email.ddl", tmp_path / "email.ddl")
    registry = Registry.load(tmp_path, use_cache=False)
    fam = registry.by_name["invoice_reminder"]
    theta = {"client": "Zoe", "invoice": 12, "amount": "4100.00", "days_overdue": 12, "tone": "friendly"}
    said = "hey can you write up an invoice reminder to Zoe? #{}, $4,100, 12 days past due"
    learned = learn(fam.checked, _grammar(registry, "invoice_reminder"), [
        Candidate(said.format(12), theta, 1), Candidate(said.format(13), {**theta, "invoice": 13}, 2)])
    [unaligned] = learned.unaligned
    assert unaligned.query_id == 1
    assert "'12' can be" in unaligned.reason and "which is which is not known" in unaligned.reason
    literal = [a.source for a in learned.alternatives if a.source.startswith('"hey can you write up')]
    assert literal == ['"hey can you write up an invoice reminder to " client "? #" invoice ", $" grouped(amount) '
                       '", " number(days_overdue) " days past due" ("?" | "." | "!")?']
    assert all(said.format(12) not in a.utterances for a in learned.alternatives)


def test_a_formatted_file_stays_formatted_and_widens_again(served: Registry) -> None:
    # widen writes as `ddl fmt` does, and the formatter dropping `( … ) | learned`'s parentheses does not
    # stop the next widening from finding the authored grammar.
    from ddl.syntax.fmt import format_source

    fam = served.by_name["trip_weather"]
    text, _ = format_source(Path(fam.path).read_text(encoding="utf-8"), fam.path)
    assert text is not None
    candidates = [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 3),
                  Candidate("forecast for paris please", {"city": "paris"}, 4)]
    learned = learn(fam.checked, _grammar(served, "trip_weather"), candidates)
    first = widen_source(text, fam.path, "trip_weather", learned.alternatives, candidates,
                         others=_others(served, "trip_weather"))
    assert first.ok, first.refused
    assert format_source(first.source, fam.path)[0] == first.source
    assert max(len(line) for line in first.source.splitlines()) <= 120
    again = widen_source(first.source, fam.path, "trip_weather", learned.alternatives, candidates,
                         others=_others(served, "trip_weather"))
    assert again.ok and again.source == first.source  # relearned from the same candidates: the same file
    # Nothing left to learn: the authored file comes back, byte for byte.
    emptied = widen_source(first.source, fam.path, "trip_weather", [], [], others=_others(served, "trip_weather"))
    assert emptied.source == text


def test_the_filler_words_are_one_rule_beside_the_learned_one(served: Registry) -> None:
    """The spotting alternative refers to its filler words by name (`learned_word`), written once above
    `rule learned` under the same comment, instead of spelling them out at every gap (a five-value family
    wrote 430 kB that way); removing the learned part removes that rule too."""
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    candidates = [Candidate("tokyo weather 4 days", {"city": "tokyo", "days": 4}, 1),
                  Candidate("paris weather 2 days", {"city": "paris", "days": 2}, 2)]
    result, _ = _widen_trip(served, candidates)
    learned_part = result.source[result.source.index("# Learned by"):]
    assert learned_part.count("rule learned_word =") == 1 and learned_part.count('"weather"') == 1
    assert "learned_word" in learned_part[learned_part.index("rule learned ="):]
    emptied = widen_source(result.source, fam.path, "trip_weather", [], [], others=_others(served, "trip_weather"))
    assert emptied.source == text and "learned_word" not in emptied.source


def test_a_narrowed_alternative_that_differs_only_in_its_word_rule_is_tried(served: Registry) -> None:
    """Narrowing drops filler words: the narrower alternative has the same source and another word rule.
    It is a new alternative for the gate (not mistaken for the refused one)."""
    fam = served.by_name["trip_weather"]
    text = Path(fam.path).read_text(encoding="utf-8")
    source = 'learned_word " " city " " number(days) " days"'
    narrower = Alternative(source, (), (), rules=(("learned_word", '"weather"'),))
    wide = Alternative(source, (), (), rules=(("learned_word", '"weather" | "hotels"'),),
                       narrow=lambda witness: narrower)
    candidates = [Candidate("weather tokyo 4 days", {"city": "tokyo", "days": 4}, 1)]
    result = widen_source(text, fam.path, "trip_weather", [wide], candidates,
                          rejected=["hotels tokyo 3 days"], others=_others(served, "trip_weather"))
    assert result.ok, result.refused
    assert [r.reason for r in result.refused] == ["accepts 'hotels tokyo 3 days', which feedback rejected"]
    assert 'rule learned_word = "weather";' in result.source
    grammar = _widened_grammar(result.source, fam.path, "trip_weather")
    assert grammar.match("weather paris 2 days").ok and not grammar.match("hotels paris 2 days").ok


@settings(max_examples=60, deadline=None)
@given(st.sets(st.permutations("ciadt").flatmap(lambda p: st.integers(1, 5).map(lambda n: tuple(p[:n]))),
               min_size=1, max_size=8))
def test_the_orders_people_used_share_their_beginnings_and_mean_the_same(orders: set[tuple[str, ...]]) -> None:
    """Past three values the spotting alternative writes the orders it saw; written as a trie (orders that
    begin alike share the beginning) each slot is written once per place, and the language is the union
    of the orders."""
    from ddl.regular import Lang
    from ddl.widen.spot import order_trie

    slot = {p: p.upper() for p in "ciadt"}
    trie = Lang.parse(order_trie(orders, slot, "G").replace(" ", ""))
    assert trie == Lang.parse("|".join("G".join(slot[p] for p in order) for order in orders))
    for p in "ciadt":  # once per distinct beginning that ends in it, not once per order
        assert order_trie(orders, slot, "G").count(slot[p]) == len({o[:i + 1] for o in orders for i, q in enumerate(o)
                                                                  if q == p})


def test_words_a_value_must_not_be_are_not_the_familys_words() -> None:
    """The invoice grammar lists the branch kinds ("bug", "feature") only to say a client is none of them:
    they are not its words (as filler they would let "Bug for #1, 1 by 1" read as a reminder)."""
    from ddl.types.words import family_words

    module, _ = compile_file(str(ROOT / "examples" / "email.ddl"))
    assert module is not None
    found = family_words(module.families["invoice_reminder"])
    assert {"invoice", "overdue", "reminder", "firm"} <= found
    assert not {"bug", "feature", "chore", "branch"} & found


def _written_family(tmp_path: Path, text: str, name: str) -> tuple[Path, CheckedFamily, CompiledGrammar]:
    """The module ``text`` written to ``tmp_path``, its family ``name`` and that family's grammar."""
    path = tmp_path / f"{name}.ddl"
    path.write_text(text, encoding="utf-8")
    module, _ = compile_file(str(path))
    assert module is not None
    fam = module.families[name]
    return path, fam, CompiledGrammar(fam, Evaluator(module))


def test_a_learned_free_text_value_is_never_another_familys_value(tmp_path: Path) -> None:
    """A name capture accepts "Bug" (a branch kind of another served family); learned, "greet Bug"-like
    requests written around it would overlap that family.  The spotting alternative's free-text values
    exclude the other families' value words and the words that mark a value (its rule `learned_foreign`)."""
    path, fam, grammar = _written_family(tmp_path, GREET, "greet")
    candidates = [Candidate("please greet Bob now", {"name": "Bob"}, 1), Candidate("greet Cid now", {"name": "Cid"}, 2)]
    learned = learn(fam, grammar, candidates, foreign=frozenset({"bug", "paris", "x1"}))
    general = learned.alternatives[0]
    # The other families' values ("x1" is no word a name could be) and the words that mark the name: a
    # name is never "Greet" or "Now" either.
    assert dict(general.rules)["learned_foreign"] == '"bug" | "greet" | "now" | "paris"'
    result = widen_source(GREET, str(path), "greet", learned.alternatives, candidates)
    assert result.ok, result.refused
    widened = _widened_grammar(result.source, str(path), "greet")
    _assert_parses(widened, [("please greet Dan now", {"name": "Dan"}), ("greet Eve now", {"name": "Eve"})])
    assert not widened.match("please greet Bug now").ok and not widened.match("greet Paris now").ok
    assert not widened.match("greet Bug-Ann now").ok and widened.match("greet Ann-Lee now").ok



NUDGE = '''family nudge {
  "Nudge a client about a number of days, in a tone."
  enum Tone { firm, friendly }
  param client : Text(max 30, pattern [A-Z] [a-z]+ ("-" [A-Z] [a-z]+)?)
  param days : Int in 1..400
  param tone : Tone
  grammar ignore_case normalize_space { "nudge " client " " number(days) " days " tone }
  program -> Text = "${tone} nudge to ${client} after ${days} days"
  example "nudge Ann 5 days firm" => { client = "Ann", days = 5, tone = firm } => "firm nudge to Ann after 5 days"
}
'''


def test_a_long_name_kept_from_hundreds_of_other_families_words_fits_the_limits_in_every_order(
        tmp_path: Path) -> None:
    """A client name of up to 30 characters, kept from 400 other families' words at each of the places
    the orders people used put it, is small enough for the gate to prove the widening (it was not when a
    name could not end with such a word after a hyphen either: 41,000 states for each place, and the
    gate could not rule out an ambiguity), and is still never one of those words."""
    path, fam, grammar = _written_family(tmp_path, NUDGE, "nudge")
    foreign = frozenset(f"{a}{b}" for a in ("bra", "mer", "tic", "lun", "pos") for b in
                        ("nch", "ge", "ket", "ch", "ter", "al", "ow", "in") for _ in range(1)) | frozenset(
                        f"word{chr(97 + i)}{chr(97 + j)}" for i in range(20) for j in range(18))
    assert len(foreign) >= 400
    candidates = [Candidate("please nudge Bob, 5 days, firm", {"client": "Bob", "days": 5, "tone": "firm"}, 1),
                  Candidate("friendly nudge to Cid about 7 days", {"client": "Cid", "days": 7, "tone": "friendly"}, 2),
                  Candidate("12 days late: Dan, firm please", {"client": "Dan", "days": 12, "tone": "firm"}, 3),
                  Candidate("firm, 30 days, for Eve", {"client": "Eve", "days": 30, "tone": "firm"}, 4)]
    learned = learn(fam, grammar, candidates, foreign=foreign)
    general = learned.alternatives[0]
    # Three values in any order; the name, the only free text, may stand bare (its cues optional): it is
    # written once, and compiled at each of 8 places.
    assert "any_order(" in general.source and general.source.count("client &") == 1, general.source
    result = widen_source(NUDGE, str(path), "nudge", [general], candidates)
    assert result.ok and result.admitted, result.refused  # a first refusal narrows it: "Six" is no name
    widened = _widened_grammar(result.source, str(path), "nudge")
    _assert_parses(widened, [("please nudge Fay, 9 days, friendly", {"client": "Fay", "days": 9, "tone": "friendly"}),
                             ("firm: Gus, 3 days", {"client": "Gus", "days": 3, "tone": "firm"})])
    assert not widened.match("please nudge Branch, 9 days, friendly").ok
    assert not widened.match("please nudge Wordab-Fay, 9 days, friendly").ok


def _greeting_narrowed(tmp_path: Path, witness: str) -> tuple[Path, list[Candidate], Alternative, Alternative]:
    """GREET written to ``tmp_path``, two candidates, the spotting alternative learned from them and that
    alternative narrowed by ``witness``."""
    path, fam, grammar = _written_family(tmp_path, GREET, "greet")
    candidates = [Candidate("please greet Bob now", {"name": "Bob"}, 1), Candidate("greet Cid now", {"name": "Cid"}, 2)]
    general = learn(fam, grammar, candidates).alternatives[0]
    assert general.narrow is not None
    narrower = general.narrow(witness)
    assert narrower is not None
    return path, candidates, general, narrower


def test_a_word_a_witness_read_as_a_free_text_value_is_no_longer_one(tmp_path: Path) -> None:
    """The gate showed "please greet Moon now" to be another family's request ("Moon" read as the name): the
    narrowed alternative's name is never "Moon" (it joins `learned_foreign`), and its filler is the same."""
    path, candidates, general, narrower = _greeting_narrowed(tmp_path, "please greet Moon now")
    assert dict(narrower.rules)["learned_word"] == dict(general.rules)["learned_word"]
    assert "moon" in dict(narrower.rules)["learned_foreign"].split('"')
    result = widen_source(GREET, str(path), "greet", [narrower], candidates)
    assert result.ok, result.refused
    widened = _widened_grammar(result.source, str(path), "greet")
    assert not widened.match("please greet Moon now").ok and not widened.match("greet MOON now").ok
    _assert_parses(widened, [("please greet Dan now", {"name": "Dan"})])


def test_a_number_word_a_witness_read_as_a_free_text_value_takes_all_number_words_with_it(tmp_path: Path) -> None:
    """The next witness would be the next number word ("greet Six now", then "greet Ten now"), a round of the
    gate each: one number word read as the name and the narrowed name is none of them."""
    path, candidates, _, narrower = _greeting_narrowed(tmp_path, "please greet SIX now")
    foreign = dict(narrower.rules)["learned_foreign"].split('"')
    assert {"six", "ten", "twelve", "fifty", "hundred"} <= set(foreign) and "a" not in foreign
    widened = _widened_grammar(widen_source(GREET, str(path), "greet", [narrower], candidates).source,
                               str(path), "greet")
    for name in ("Six", "TEN", "fifty", "Dozen"):
        assert not widened.match(f"please greet {name} now").ok, name
    _assert_parses(widened, [("please greet Dan now", {"name": "Dan"}), ("greet Anand now", {"name": "Anand"})])


def test_a_learned_free_text_value_is_no_word_another_family_is_written_in(
        tmp_path: Path, served: Registry) -> None:
    """The other families' words (not only their values) are words a learned name never is: "taxi to Paris"
    and "weather in Tokyo" would otherwise read as a greeting of "Taxi" or "Weather".  Frame words are not
    among them: every family says "in" and "to", and a name is never one anyway (they are filler)."""
    words = foreign_words(served.by_name["cab"].checked) | foreign_words(served.by_name["trip_weather"].checked)
    assert {"cab", "taxi", "weather", "days", "paris", "tokyo", "york"} <= words
    # With the other number of each, which the other family's learned filler takes ("taxis", "day").
    assert {"taxis", "day"} <= words
    assert phrasing_words([("Jump 1 May 2024 by 3 days, Bob", {"name": "Bob"})]) == {"jump", "jumps", "day", "days"}
    assert not {"to", "in", "for"} & words
    path, fam, grammar = _written_family(tmp_path, GREET, "greet")
    candidates = [Candidate("please greet Bob now", {"name": "Bob"}, 1), Candidate("greet Cid now", {"name": "Cid"}, 2)]
    learned = learn(fam, grammar, candidates, foreign=words)
    result = widen_source(GREET, str(path), "greet", learned.alternatives, candidates)
    assert result.ok, result.refused
    widened = _widened_grammar(result.source, str(path), "greet")
    assert not widened.match("please greet Taxi now").ok and not widened.match("greet Weather now").ok
    _assert_parses(widened, [("please greet Dan now", {"name": "Dan"})])

TAB = '''family tab {
  "Split a tab evenly."
  param total : Int in 1..1000
  param people : Int in 1..20
  grammar ignore_case normalize_space { "split " number(total) " between " number(people) }
  program -> Int = total / people
  example "split 100 between 4" => { total = 100, people = 4 } => 25
}
'''


def test_values_that_could_be_mistaken_for_each_other_are_told_apart_by_their_marks(tmp_path: Path) -> None:
    """A total and a count of people both read "1": a value between one's left mark and the other's right
    mark ("for 1 people") would parse two ways.  The most used marks are kept first, and of a left and a
    right mark of the two that clash, one is kept off the filler — the one whose loss costs fewest uses
    (" people", never filler in these phrasings, is a mark only once "split " marks the total), or a
    frame word that clashes (" and" after the total) is dropped; one parameter per mark; each value is
    one token.  The spotting alternative is then proved unambiguous and admitted."""
    path, fam, grammar = _written_family(tmp_path, TAB, "tab")
    candidates = [Candidate("the bill is $120 and we are 4 people", {"total": 120, "people": 4}, 1),
                  Candidate("we are 3 people, the bill is $90", {"total": 90, "people": 3}, 2),
                  Candidate("split $60 for 2 people please", {"total": 60, "people": 2}, 3),
                  Candidate("for 5 people, $75", {"total": 75, "people": 5}, 4)]
    learned = learn(fam, grammar, candidates)
    general = learned.alternatives[0]
    assert "any_order(" in general.source
    # " people" marks the count and is no filler word; "for ", "are " and "between " mark the count on the
    # left and may be filler too; the total's right marks (" and", " for", " between") are dropped: a
    # count's left mark may be filler, so a total's right mark may not be.
    words = dict(general.rules)["learned_word"]
    assert '"people"' not in words and '"for"' in words and '"between"' in words
    assert '"between " | "for ") (number(people)' in general.source
    assert '" and"' not in general.source and '" for"' not in general.source and '" between"' not in general.source
    assert '| .* " " .*)' in general.source  # one token: "forty one" is not 40 then 1
    result = widen_source(TAB, str(path), "tab", learned.alternatives, candidates)
    assert result.ok and general.source in {a.source for a in result.admitted}, result.refused
    widened = _widened_grammar(result.source, str(path), "tab")
    _assert_parses(widened, [("we are 6 people, the bill is $300", {"total": 300, "people": 6}),
                             ("split $45 for 3 people", {"total": 45, "people": 3})])
    assert not widened.match("the bill is 6 people").ok  # the total is not given
    assert not widened.match("split $45 between 3 friends").ok  # "friends": no word these users used


def test_a_mark_is_filler_only_between_filler_words(tmp_path: Path) -> None:
    """A word kept off the filler because it marks a value (" people") is still filler where it can mark
    nothing: with a filler word after it and, after a value, one before it ("people we are 6, …").  Next to
    a value it only marks."""
    path, fam, grammar = _written_family(tmp_path, TAB, "tab")
    candidates = [Candidate("the bill is $120 and we are 4 people", {"total": 120, "people": 4}, 1),
                  Candidate("we are 3 people, the bill is $90", {"total": 90, "people": 3}, 2),
                  Candidate("split $60 for 2 people please", {"total": 60, "people": 2}, 3),
                  Candidate("for 5 people, $75", {"total": 75, "people": 5}, 4)]
    general = learn(fam, grammar, candidates).alternatives[0]
    assert dict(general.rules)["learned_mark"] == '"people"'
    result = widen_source(TAB, str(path), "tab", [general], candidates)
    assert result.ok and result.admitted, result.refused
    widened = _widened_grammar(result.source, str(path), "tab")
    _assert_parses(widened, [("people we are 6, the bill is $300", {"total": 300, "people": 6}),
                             ("split $45 for 3 people please, people", {"total": 45, "people": 3})])
    for stranger in ("split $45 people for 3 people", "people 4, the bill is $300", "the bill is $300, people"):
        assert not widened.match(stranger).ok, stranger


TAB_FOR_TWO = '''family tab {
  "Split a tab evenly."
  param total : Int in 1..1000
  param people : Int in 1..20 = 2
  grammar ignore_case normalize_space { "split " number(total) " between " number(people) }
  program -> Int = total / people
  example "split 100 between 4" => { total = 100, people = 4 } => 25
}
'''


def test_a_literal_phrasing_a_general_one_reads_right_goes_first_when_the_two_read_a_witness_two_ways(
        tmp_path: Path) -> None:
    """The literal phrasing's `number(people)`, written as the author wrote it, reads "a" as one person; the
    general alternative refuses the articles as a count and takes " for a" as words. "split 1 for a" then
    reads two ways. The general alternative reads the literal one's phrasing to its θ, so the literal one
    goes, not the general one (which would otherwise be dropped, and with it every other phrasing it reads)."""
    path, fam, _ = _written_family(tmp_path, TAB_FOR_TWO, "tab")
    literal = Alternative('"split " number(total) " for " number(people)', (1,), ("split 60 for 3",))
    general = Alternative('"split " number(total) (" for " (number(people) & ~("a" | "an")))? (" for a" | " for an")?',
                          (), ())
    candidates = [Candidate("split 60 for 3", {"total": 60, "people": 3}, 1)]
    result = widen_source(TAB_FOR_TWO, str(path), "tab", [general, literal], candidates)
    assert result.ok and [a.source for a in result.admitted] == [general.source], result.refused
    assert [r.alternative for r in result.refused] == [literal.source]
    assert result.refused[0].reason.startswith("a general alternative reads its phrasings to their θ")
    assert "'split a for a' parses two ways" in result.refused[0].reason  # the shortest witness
    widened = _widened_grammar(result.source, str(path), "tab")
    _assert_parses(widened, [("split 60 for 3", {"total": 60, "people": 3}), ("split 1 for a", {"total": 1})])


PIZZA = '''family pizza {
  "Order pizzas."
  param count : Int in 1..20
  grammar ignore_case normalize_space {
    rule verb = "order " | "get ";
    rule thanks = "thanks" | "please";
    rule closing = ", " thanks | " " thanks;
    verb number(count) " pizzas" closing?
  }
  program -> Text = "${count} pizzas"
  example "order 2 pizzas" => { count = 2 } => "2 pizzas"
}
'''


def test_a_rule_extension_widens_every_place_the_rule_is_used_and_leaves_the_authored_rules_alone(
        tmp_path: Path) -> None:
    path, fam, grammar = _written_family(tmp_path, PIZZA, "pizza")
    text = path.read_text(encoding="utf-8")
    reply = '```\nrule verb += "send me " | "bring "\nrule thanks += "cheers"\n```'
    proposals = read_reply(reply)
    assert [(a.extends, a.source) for a in proposals] == [("verb", '"send me " | "bring "'), ("thanks", '"cheers"')]
    candidates = [Candidate("bring 3 pizzas", {"count": 3}, 1), Candidate("order 2 pizzas, cheers", {"count": 2}, 2)]
    result = widen_source(text, str(path), "pizza", proposals, candidates)
    assert result.ok, result.refused
    assert {a.extends for a in result.admitted} == {"verb", "thanks"} and not result.refused
    # The choices sit in the learned block; each extended rule ends with a reference to them, and `closing`,
    # which uses `thanks`, takes the new choice with it.
    assert 'rule verb = ("order " | "get ") | learned_ext_verb;' in result.source
    assert 'rule thanks = ("thanks" | "please") | learned_ext_thanks;' in result.source
    assert 'rule learned_ext_verb = "send me " | "bring ";' in result.source
    assert 'rule learned_ext_thanks = "cheers";' in result.source
    assert '    verb number(count) " pizzas" closing?\n' in result.source  # the body: no learned rule
    widened = _widened_grammar(result.source, str(path), "pizza")
    _assert_parses(widened, [("bring 3 pizzas", {"count": 3}), ("send me 4 pizzas please", {"count": 4}),
                             ("get 2 pizzas cheers", {"count": 2}), ("order 1 pizzas, thanks", {"count": 1})])
    assert not widened.match("bring 3 pizzas cheerio").ok
    # Widening again with nothing to learn removes the learned part: the authored file, byte for byte.
    again = widen_source(result.source, str(path), "pizza", [], [])
    assert again.ok and again.source == text


def test_a_rule_extension_the_gate_cannot_prove_is_refused_with_its_reason(tmp_path: Path) -> None:
    path, fam, grammar = _written_family(tmp_path, PIZZA.replace(
        '    rule closing = ", " thanks | " " thanks;\n',
        '    rule closing = ", " thanks | " " thanks;\n    rule word = [a-z]+ & ~thanks;\n').replace(
        ' " pizzas" closing?', ' " pizzas" closing? (" for " word)?'), "pizza")
    text = path.read_text(encoding="utf-8")
    candidates = [Candidate("order me 3 pizzas", {"count": 3}, 1)]
    proposals = [Alternative('"order me "', (), (), extends="verb"),        # admitted
                 Alternative('"x"', (), (), extends="verbs"),              # no such rule
                 Alternative('"ordre "', (), (), extends="verb"),          # reads no candidate
                 Alternative('"get "; rule x = .*', (), (), extends="verb"),  # more than one expression
                 Alternative('"cheers"', (), (), extends="thanks")]        # under ~: it would take "for cheers"
    result = widen_source(text, str(path), "pizza", proposals, candidates)
    assert result.ok and [a.source for a in result.admitted] == ['"order me "']
    reasons = {r.alternative: r.reason for r in result.refused}
    assert "the grammar has no rule verbs to extend; did you mean 'verb'?" in reasons['rule verbs += "x"']
    assert reasons['rule verb += "ordre "'] == "accepts none of the candidate phrasings"
    assert "not one grammar expression" in reasons['rule verb += "get "; rule x = .*']
    assert "rule thanks is used under ~ or in the except clause" in reasons['rule thanks += "cheers"']


def test_a_rule_extension_that_overlaps_another_served_family_is_refused_and_the_rest_admitted(
        tmp_path: Path) -> None:
    path, fam, grammar = _written_family(tmp_path, PIZZA, "pizza")
    deliver_path, deliver, deliver_grammar = _written_family(tmp_path, DELIVER, "deliver")
    others = [RoutedFamily("deliver", deliver, deliver_grammar.evaluator, 0)]
    candidates = [Candidate("bring 3 pizzas", {"count": 3}, 1), Candidate("fetch 2 pizzas", {"count": 2}, 2)]
    proposals = [Alternative('"bring "', (), (), extends="verb"), Alternative('"fetch "', (), (), extends="verb")]
    result = widen_source(path.read_text(encoding="utf-8"), str(path), "pizza", proposals, candidates,
                          others=others)
    assert result.ok and [a.source for a in result.admitted] == ['"fetch "']
    assert [(r.alternative, r.reason.lower()) for r in result.refused] == [
        ('rule verb += "bring "', "shares 'bring 1 pizzas' with the served family deliver")]
    assert 'rule learned_ext_verb = "fetch ";' in result.source


DELIVER = '''family deliver {
  "Deliver pizzas home."
  param count : Int in 1..20
  grammar ignore_case normalize_space { "bring " number(count) " pizzas" (" home")? }
  program -> Text = "${count} pizzas home"
  example "bring 2 pizzas home" => { count = 2 } => "2 pizzas home"
}
'''


def test_an_extension_that_gives_an_authored_utterance_a_second_reading_is_refused_alone(tmp_path: Path) -> None:
    """`verb += "order 1"` reads "order 12 pizzas" as 2 pizzas too: the witness is an utterance the authored
    grammar accepts, so every extended grammar accepts it. Judged one at a time, the witness names that
    extension only, and `verb += "bring "` is admitted."""
    path, fam, grammar = _written_family(tmp_path, PIZZA, "pizza")
    candidates = [Candidate("order 1two pizzas", {"count": 2}, 1), Candidate("bring 3 pizzas", {"count": 3}, 2)]
    proposals = [Alternative('"order 1"', (), (), extends="verb"), Alternative('"bring "', (), (), extends="verb")]
    result = widen_source(path.read_text(encoding="utf-8"), str(path), "pizza", proposals, candidates)
    assert result.ok and [a.written for a in result.admitted] == ['rule verb += "bring "']
    [refusal] = result.refused
    assert refusal.alternative == 'rule verb += "order 1"'
    assert "unambiguous refuted" in refusal.reason and "parses two ways" in refusal.reason


def test_an_authors_rule_named_like_a_learned_one_is_not_taken_for_one(tmp_path: Path) -> None:
    """Only a block under widen's comment (or with the rule `learned`) is the learned block: an author's rule
    named `learned_ext_verb` stays when a widening that admits nothing returns the authored grammar."""
    text = PIZZA.replace('    rule verb = "order " | "get ";\n',
                         '    rule learned_ext_verb = "fetch ";\n    rule verb = "order " | "get " | learned_ext_verb;\n')
    path, fam, grammar = _written_family(tmp_path, text, "pizza")
    result = widen_source(text, str(path), "pizza", [], [])
    assert not result.ok and result.source == text
