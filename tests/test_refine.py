"""Refinement from feedback: A and R from a feedback store, θ / RPNI / LLM splits, coverage splits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm
import pytest

import ddl
from ddl.grammar.compile import CompiledGrammar
from ddl.handler.records import QueryRecord
from ddl.handler.store import Store, open_store
from ddl.refine import Split, collect_feedback, coverage_split, learn_split
from ddl.refine.rpni import ddl_source, learn_rpni, tokens

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fakellm"))
import ddl_fake_llm  # noqa: E402

FAMILY = "recommend_books"
GENRES = ["fantasy", "mystery", "romance", "science fiction", "sci-fi"]
GENRE_NAMES = {"fantasy": "fantasy", "mystery": "mystery", "romance": "romance", "science fiction": "science_fiction",
               "sci-fi": "science_fiction"}
DECADES = [1950, 1980, 2000]


@pytest.fixture(scope="module")
def books() -> Any:
    prog = ddl.load(ROOT / "examples" / "books.ddl")
    fam = prog.checked.families[FAMILY]
    return prog, fam, CompiledGrammar(fam, prog.evaluator)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "feedback.sqlite3")
    yield s
    s.close()


@pytest.fixture()
def fake_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    llm.plugins.pm.register(ddl_fake_llm.FakeModels(), name="ddl-refine-fakes")
    yield
    llm.plugins.pm.unregister(name="ddl-refine-fakes")
    ddl_fake_llm.reset_script([])


def add(store: Store, utterance: str, verdict: str, theta: dict[str, Any] | None, family: str = FAMILY) -> int:
    qid = store.record_query(QueryRecord(ts=1.0, utterance=utterance, source="deterministic", latency_ms=1.0,
                                         family=family, family_version="v1", theta=theta, output={}))
    rec = store.add_feedback(qid, verdict)
    assert rec.id is not None
    return rec.id


def say(store: Store, cg: CompiledGrammar, utterance: str, verdict: str) -> int:
    """Record a query whose θ is what the grammar extracts, and a verdict on it."""
    from ddl.eval import validate_theta
    from ddl.values import to_json

    m = cg.match(utterance)
    assert m.values is not None, (utterance, m.error)
    theta, problems = validate_theta(cg.family, cg.evaluator, m.values, values=True)
    assert theta is not None, problems
    return add(store, utterance, verdict, {k: to_json(v) for k, v in theta.items()}, family=cg.family.name)


def books_utterance(verb: str, count: int | None, genre: str, decade: int | None = None, noun: str = "books") -> str:
    parts = [verb] + ([str(count)] if count is not None else []) + [genre, noun]
    if decade is not None:
        parts.append(f"from the {decade}s")
    return " ".join(parts)


def assert_checks_ok(split: Split) -> None:
    assert split.ok, split.messages
    assert [c.name for c in split.checks] == ["G+ non-empty", "G- non-empty", "G+ accepts every accepted utterance",
                                             "G- accepts every rejected utterance"]
    assert all(c.ok for c in split.checks), split.checks


# ---------------------------------------------------------------- 1. "recommend N books", N > 10 rejected


def count_feedback(store: Store, cg: CompiledGrammar, accepted_counts: range, rejected_counts: range) -> None:
    verbs = ["recommend", "suggest", "find"]
    genres = ["fantasy", "mystery", "science fiction", "romance"]
    for i, n in enumerate(accepted_counts):
        if n == 7:
            continue  # never seen: still accepted by G+
        say(store, cg, books_utterance(verbs[i % 3], n, genres[i % 4], DECADES[i % 3]), "accept")
    for i, n in enumerate(rejected_counts):
        say(store, cg, books_utterance(verbs[(i + 1) % 3], n, genres[(i + 2) % 4], DECADES[(i + 1) % 3]), "reject")


def test_count_over_ten_is_split_by_theta(books: Any, store: Store) -> None:
    prog, fam, cg = books
    count_feedback(store, cg, range(1, 11), range(11, 21))
    fs = collect_feedback(store, FAMILY, cg)
    assert len(fs.accepted) == 9 and len(fs.rejected) == 10 and not fs.inconsistent
    split = learn_split(fs, fam, prog.evaluator, cg)  # auto
    assert split.method == "theta"
    assert split.predicate is not None
    assert split.predicate.constraints == {"count": ("range", 1, 10)}
    assert split.predicate.describe() == "count in 1..10"
    assert_checks_ok(split)
    assert split.g_plus.contains("recommend 7 fantasy books")  # 7 was never seen
    assert split.g_plus.contains("Recommend 10 Mystery books")  # case folded like the grammar
    assert not split.g_plus.contains("recommend 11 fantasy books")
    assert split.g_minus.contains("recommend 15 mystery books")
    assert not split.g_minus.contains("recommend 7 fantasy books")
    assert split.g_plus.contains("recommend fantasy books")  # the default count (5) is allowed
    assert sorted(split.feedback_ids) == fs.ids
    # G+ ∪ G- = G and they are disjoint: the algebra, not sampling.
    assert split.g_plus.union(split.g_minus) == cg.lang
    assert split.g_plus.disjoint(split.g_minus)[0]


def test_interval_boundaries_are_midway_to_the_nearest_rejected_value(books: Any, store: Store) -> None:
    prog, fam, cg = books
    count_feedback(store, cg, range(3, 11), range(14, 21))
    say(store, cg, "recommend 1 fantasy books", "reject")
    split = learn_split(collect_feedback(store, FAMILY, cg), fam, prog.evaluator, cg, method="theta")
    assert split.predicate is not None and split.predicate.constraints == {"count": ("range", 2, 12)}
    assert_checks_ok(split)
    assert split.g_plus.contains("find 12 fantasy books") and split.g_minus.contains("find 13 fantasy books")
    assert split.g_minus.contains("find 1 fantasy books") and split.g_plus.contains("find 2 fantasy books")


def test_a_default_outside_the_allowed_range_moves_utterances_without_the_parameter_to_g_minus(
        books: Any, store: Store) -> None:
    prog, fam, cg = books
    count_feedback(store, cg, range(12, 21), range(1, 9))  # only big lists wanted; the default is 5
    split = learn_split(collect_feedback(store, FAMILY, cg), fam, prog.evaluator, cg)
    assert split.method == "theta" and split.predicate is not None
    assert split.predicate.constraints == {"count": ("range", 10, 20)}, split.messages
    assert_checks_ok(split)
    assert split.g_minus.contains("suggest mystery novels")  # count 5 by default
    assert split.g_plus.contains("suggest 10 mystery novels") and split.g_minus.contains("suggest 9 mystery novels")


# ---------------------------------------------------------------- 2. one enum value rejected


def test_rejections_about_one_enum_value_exclude_it(books: Any, store: Store) -> None:
    prog, fam, cg = books
    for i, g in enumerate(GENRES):
        for j, n in enumerate([2, 5, 12, 18]):
            u = books_utterance(["recommend", "suggest", "find"][(i + j) % 3], n, g, DECADES[j % 3])
            say(store, cg, u, "reject" if g == "romance" else "accept")
    fs = collect_feedback(store, FAMILY, cg)
    split = learn_split(fs, fam, prog.evaluator, cg)
    assert split.method == "theta"
    assert split.predicate is not None and split.predicate.constraints == {"genre": ("exclude", ["romance"])}
    assert split.predicate.describe() == "genre != romance"
    assert_checks_ok(split)
    assert split.g_minus.contains("give me romance novels")
    assert split.g_plus.contains("give me 20 sci-fi novels from the 1900s")
    assert not split.g_plus.contains("suggest ROMANCE books")
    assert split.predicate.to_json() == {"genre": ["exclude", ["romance"]]}


# ---------------------------------------------------------------- 3. inconsistent feedback


def test_inconsistent_feedback_is_reported_and_not_learned(books: Any, store: Store) -> None:
    prog, fam, cg = books
    a = say(store, cg, "recommend 3 fantasy books", "accept")
    r = say(store, cg, "Recommend  3   FANTASY books", "reject")  # the same after normalization and folding
    say(store, cg, "suggest 4 mystery books", "accept")
    say(store, cg, "suggest 4 mystery books", "accept")  # duplicates collapse
    say(store, cg, "find 15 mystery books", "reject")
    fs = collect_feedback(store, FAMILY, cg)
    assert len(fs.inconsistent) == 1
    conflict = fs.inconsistent[0]
    assert conflict.accept_ids == (a,) and conflict.reject_ids == (r,)
    assert conflict.utterance == "recommend 3 fantasy books"
    assert [e.utterance for e in fs.accepted] == ["suggest 4 mystery books"]
    assert len(fs.accepted[0].ids) == 2
    assert [e.utterance for e in fs.rejected] == ["find 15 mystery books"]
    assert a not in fs.ids and r not in fs.ids
    split = learn_split(fs, fam, prog.evaluator, cg)
    assert split.ok and split.method == "theta"
    assert any("both accepted and rejected" in m for m in split.messages)


def test_bad_data_gives_a_failed_split_not_an_exception(books: Any, store: Store) -> None:
    prog, fam, cg = books
    say(store, cg, "recommend 3 fantasy books", "accept")
    add(store, "what is the weather", "reject", None)  # not in the grammar: skipped
    add(store, "recommend 4 mystery books", "reject", None, family="other_family")  # another family
    fs = collect_feedback(store, FAMILY, cg)
    assert len(fs.accepted) == 1 and not fs.rejected
    assert any("not in the grammar" in s for s in fs.skipped)
    for method in ("auto", "theta", "rpni", "llm"):
        split = learn_split(fs, fam, prog.evaluator, cg, method=method)
        assert not split.ok and any("no rejected utterances" in m for m in split.messages), (method, split.messages)
    assert not learn_split(fs, fam, prog.evaluator, cg, method="nonsense").ok


def test_theta_method_reports_when_no_constraint_separates(books: Any, store: Store) -> None:
    prog, fam, cg = books
    say(store, cg, "recommend 3 fantasy books", "accept")
    say(store, cg, "give me 3 fantasy books", "reject")
    split = learn_split(collect_feedback(store, FAMILY, cg), fam, prog.evaluator, cg, method="theta")
    assert not split.ok and split.method == "theta"
    assert any("give me 3 fantasy books" in m for m in split.messages)


# ---------------------------------------------------------------- 4. the LLM as the oracle


def oracle_feedback(store: Store, cg: CompiledGrammar) -> None:
    say(store, cg, "recommend 3 fantasy books", "accept")
    say(store, cg, "suggest 5 mystery novels", "accept")
    say(store, cg, "find 12 romance books", "reject")
    say(store, cg, "recommend 15 sci-fi books", "reject")


def test_an_oracle_grammar_that_does_not_separate_is_rejected(books: Any, store: Store, fake_models: None) -> None:
    prog, fam, cg = books
    oracle_feedback(store, cg)
    ddl_fake_llm.reset_script(['Here it is:\n```ddl\n("recommend" | "suggest") " " .*\n```'])
    split = learn_split(collect_feedback(store, FAMILY, cg), fam, prog.evaluator, cg, method="llm",
                        model_id=ddl_fake_llm.SCRIPTED)
    assert not split.ok and split.method == "llm"
    assert any("recommend 15 sci-fi books" in m and "rejected" in m for m in split.messages), split.messages
    prompt = ddl_fake_llm.RECEIVED[0]["prompt"]
    assert "find 12 romance books" in prompt and "suggest 5 mystery novels" in prompt


def test_an_oracle_grammar_that_misses_an_accepted_utterance_is_rejected(books: Any, store: Store,
                                                                         fake_models: None) -> None:
    prog, fam, cg = books
    oracle_feedback(store, cg)
    ddl_fake_llm.reset_script(['```\n"recommend" .*\n```'])
    split = learn_split(collect_feedback(store, FAMILY, cg), fam, prog.evaluator, cg, method="llm",
                        model_id=ddl_fake_llm.SCRIPTED)
    assert not split.ok
    assert any("'suggest 5 mystery novels'" in m for m in split.messages), split.messages


def test_an_oracle_grammar_that_separates_is_used(books: Any, store: Store, fake_models: None) -> None:
    prog, fam, cg = books
    oracle_feedback(store, cg)
    body = 'rule small = [1-9] | "10";\n[a-z]+ (" " small)? " " ("fantasy" | "mystery") " " [a-z ]+'
    ddl_fake_llm.reset_script([f"```ddl\n{body}\n```"])
    split = learn_split(collect_feedback(store, FAMILY, cg), fam, prog.evaluator, cg, method="llm",
                        model_id=ddl_fake_llm.SCRIPTED)
    assert split.method == "llm" and split.source == body
    assert_checks_ok(split)
    assert split.g_plus.contains("Suggest 7 Fantasy novels") and split.g_minus.contains("find 7 romance books")


def test_an_unparsable_or_capturing_oracle_reply_is_rejected(books: Any, store: Store, fake_models: None) -> None:
    prog, fam, cg = books
    oracle_feedback(store, cg)
    fs = collect_feedback(store, FAMILY, cg)
    ddl_fake_llm.reset_script(['```\n"recommend" count\n```', "((("])
    for expected in ("does not accept the accepted", "nor a regex"):
        split = learn_split(fs, fam, prog.evaluator, cg, method="llm", model_id=ddl_fake_llm.SCRIPTED)
        assert not split.ok and any(expected in m for m in split.messages), split.messages
    assert not learn_split(fs, fam, prog.evaluator, cg, method="llm").ok  # no model


# ---------------------------------------------------------------- 5. RPNI: a split about wording


def test_a_split_about_wording_falls_back_to_rpni(books: Any, store: Store) -> None:
    prog, fam, cg = books
    verbs = ["recommend", "suggest", "find"]
    genres = ["fantasy", "mystery", "romance", "science fiction"]
    i = 0
    for g in genres:
        for n in (None, 2, 9, 14):
            for noun in ("books", "novels"):
                i += 1
                say(store, cg, books_utterance(verbs[i % 3], n, g, DECADES[i % 3] if i % 2 else None, noun), "accept")
                if i % 2 == 0:
                    say(store, cg, books_utterance("give me", n, g, None if i % 4 else 1980, noun), "reject")
    fs = collect_feedback(store, FAMILY, cg)
    theta_only = learn_split(fs, fam, prog.evaluator, cg, method="theta")
    assert not theta_only.ok
    split = learn_split(fs, fam, prog.evaluator, cg)
    assert split.method == "rpni", split.messages
    assert_checks_ok(split)
    assert split.g_plus.intersect(ddl_lang("give me fantasy books")).is_empty()
    assert split.g_plus.contains("suggest 3 mystery books")
    assert split.g_plus.contains("Find 3 Romance Novels")
    assert split.g_minus.contains("give me 7 fantasy books")
    assert split.source is not None and '"give me"' not in split.source
    assert split.regex is not None


def ddl_lang(text: str) -> Any:
    from ddl.regular import Lang

    return Lang.literal(text)


def test_rpni_generalizes_digits_and_reports_identical_token_sequences() -> None:
    assert tokens("Suggest 12 books from the 1950s") == ("suggest", "\x00", "books", "from", "the", "\x00s")
    regex, result = learn_rpni(["suggest 3 books", "recommend 4 books"], ["give me 3 books"])
    assert regex is not None and result.dfa is not None
    from ddl.regular import Lang

    lang = Lang.from_regex(regex)
    assert lang.contains("suggest 7 books") and lang.contains("recommend 3 books")
    assert not lang.contains("give me 3 books")
    source = ddl_source(regex)
    assert "[0-9]+" in source
    # The printed source is DDL grammar syntax for the same language.
    from ddl.refine.oracle import parse_body

    reparsed, how = parse_body(source)
    assert reparsed is not None and how == "DDL grammar syntax"
    assert Lang.from_regex(reparsed) == lang
    conventional, how = parse_body("(suggest|recommend) [0-9]+ books")
    assert conventional is not None and how == "regex syntax"
    assert Lang.from_regex(conventional).contains("suggest 7 books")
    regex2, clash = learn_rpni(["recommend 7 books"], ["recommend 15 books"])
    assert regex2 is None and clash.conflict == ("recommend 7 books", "recommend 15 books")


# ---------------------------------------------------------------- 6. program split by coverage

BRANCHY = '''
family pick_books {
  "Books; long lists go to a different endpoint."

  enum Genre { fantasy, mystery }

  param genre : Genre
  param count : Int in 1..20 = 5

  grammar ignore_case normalize_space {
    "recommend " count " " genre " books"
  }

  program -> Text =
    if count > 10 then "bulk:${text(genre)}" else
      match genre { fantasy => "shelf:f", mystery => "shelf:m" }

  example "recommend 3 mystery books" => { genre = mystery, count = 3 } => "shelf:m"
}
'''


def test_coverage_split_reports_branches_taken_only_by_one_side(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "pick.ddl"
    path.write_text(BRANCHY, encoding="utf-8")
    prog = ddl.load(path)
    fam = prog.checked.families["pick_books"]
    cg = CompiledGrammar(fam, prog.evaluator)
    for n in (1, 4, 9):
        for g in ("fantasy", "mystery"):
            say(store, cg, f"recommend {n} {g} books", "accept")
    for n in (11, 16):
        say(store, cg, f"recommend {n} fantasy books", "reject")
    fs = collect_feedback(store, "pick_books", cg)
    diffs = coverage_split(fs, fam, prog.evaluator)
    by_side = {(d.kind, d.arm, d.which): d for d in diffs}
    assert ("if", 0, "rejected") in by_side and ("if", 1, "accepted") in by_side
    assert by_side[("if", 0, "rejected")].rejected == 2 and by_side[("if", 0, "rejected")].accepted == 0
    assert by_side[("if", 1, "accepted")].accepted == 6
    assert ("match", 1, "accepted") in by_side  # mystery was never rejected
    assert ("match", 0, "accepted") in by_side  # fantasy's shelf only on the accepted side
    assert "then branch" in by_side[("if", 0, "rejected")].describe()
    if_line = next(i for i, line in enumerate(BRANCHY.splitlines(), 1) if line.strip().startswith("if count"))
    assert by_side[("if", 0, "rejected")].span.line == if_line
    # The program's results do not change, and the shared evaluator has no recorder left.
    assert prog.evaluator.run("pick_books", {"genre": cg.convert("genre", "fantasy"), "count": 12}).value \
        == "bulk:fantasy"


def test_the_branch_recorder_does_not_change_results() -> None:
    from ddl.eval import Evaluator, Ok, validate_theta
    from ddl.types import ir

    runs = 0
    seen_arms: list[tuple[str, int]] = []
    for path in sorted((ROOT / "examples").glob("*.ddl")):
        prog = ddl.load(path)
        plain = Evaluator(prog.checked)
        recorded = Evaluator(prog.checked)
        recorded.record_branches(lambda node, arm: seen_arms.append((type(node).__name__, arm)))
        for fam in prog.checked.families.values():
            for ex in fam.examples:
                raw = {}
                for name, node in ex.bindings:
                    out = plain.eval_closed(node)
                    assert isinstance(out, Ok)
                    raw[name] = out.value
                theta, _ = validate_theta(fam, plain, raw, values=True)
                if theta is None:
                    continue
                assert recorded.run(fam.name, theta) == plain.run(fam.name, theta)
                runs += 1
        recorded.record_branches(None)  # off again: the plain methods are back
        assert recorded._dispatch[ir.If] == recorded._if and recorded._dispatch[ir.Match] == recorded._match
    assert runs > 10 and {"If", "Match"} <= {kind for kind, _ in seen_arms}


def test_a_decimal_parameter_is_split_midway_at_its_scale(store: Store) -> None:
    prog = ddl.load(ROOT / "examples" / "bill.ddl")
    fam = prog.checked.families["split_bill"]
    cg = CompiledGrammar(fam, prog.evaluator)
    for i, total in enumerate(["12.50", "40", "99.50", "7.25"]):
        say(store, cg, f"split ${total} between {i + 2} people", "accept")
    for i, total in enumerate(["250", "300.10", "999.99"]):
        say(store, cg, f"split the bill of {total} {i + 2} ways", "reject")
    split = learn_split(collect_feedback(store, "split_bill", cg), fam, prog.evaluator, cg)
    assert split.method == "theta" and split.predicate is not None
    assert split.predicate.constraints == {"total": ("range", "0.01", "174.75")}
    assert split.predicate.describe() == "total in 0.01..174.75"
    assert_checks_ok(split)
    assert split.g_plus.contains("split 174.75 for 3 people") and split.g_minus.contains("split 174.76 for 3 people")


def test_a_few_mislabelled_items_are_set_aside_as_suspects(books: Any, store: Store) -> None:
    prog, fam, cg = books
    verbs, genres = ["recommend", "suggest", "find"], ["fantasy", "mystery", "romance", "science fiction"]
    for i in range(40):
        n = 1 + i % 20
        verdict = "accept" if n <= 10 else "reject"
        if i in (3, 27):  # two users clicked the wrong button
            verdict = "reject" if verdict == "accept" else "accept"
        say(store, cg, books_utterance(verbs[i % 3], n, genres[i % 4], DECADES[i % 3]), verdict)
    fs = collect_feedback(store, FAMILY, cg)
    exact = learn_split(fs, fam, prog.evaluator, cg, method="theta")
    assert exact.ok and exact.predicate is not None
    assert exact.predicate.constraints == {"count": ("range", 1, 10)}
    assert any("2 suspect feedback item(s)" in m for m in exact.messages), exact.messages
    assert all(c.ok for c in exact.checks)  # on the feedback that was kept
    assert exact.g_plus.contains("find 7 fantasy books") and exact.g_minus.contains("find 14 fantasy books")


def test_wording_rejections_are_not_forced_onto_theta_as_noise(books: Any, store: Store) -> None:
    prog, fam, cg = books
    for i in range(30):
        verb = "give me" if i % 3 == 0 else ("recommend" if i % 3 == 1 else "suggest")
        say(store, cg, books_utterance(verb, 1 + i % 20, ["fantasy", "mystery"][i % 2]),
            "reject" if verb == "give me" else "accept")
    fs = collect_feedback(store, FAMILY, cg)
    split = learn_split(fs, fam, prog.evaluator, cg)
    assert split.method == "rpni" and split.ok, split.messages
