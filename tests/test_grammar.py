"""Grammar blocks as a user sees them: G(u), φ(θ), and the grammar obligations of `ddl check`."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ddl.api import load, loads
from ddl.eval import validate_theta
from ddl.grammar.compile import CompiledGrammar
from ddl.values import to_json
from ddl.verify.grammar import check_grammar

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"

BOOKS = """
family books {
  enum Genre { fantasy, mystery, science_fiction = "science fiction" | "sci-fi" }
  param genre : Genre
  param count : Int in 1..20 = 5
  param decade : Int in 1900..2020 where decade % 10 == 0 = 2000
  grammar ignore_case normalize_space {
    ("recommend" | "suggest") " " (count " ")? genre " books" (" from the " decade "s")?
  }
  program -> Text = "${count} ${genre} ${decade}"
  example "recommend 3 mystery books from the 1950s" => { genre = mystery, count = 3, decade = 1950 }
    => "3 mystery 1950"
}
"""


def grammar_of(src: str, family: str | None = None) -> CompiledGrammar:
    program = loads(textwrap.dedent(src))
    fam = program.checked.families[family or program.families[0]]
    return CompiledGrammar(fam, program.evaluator)


def obligations(src: str) -> dict[tuple[str, str], Any]:
    program = loads(textwrap.dedent(src))
    fam = program.checked.families[program.families[0]]
    return {(o.kind, o.subject): o for o in check_grammar(fam, program.evaluator)}


def theta_json(g: CompiledGrammar, utterance: str) -> dict[str, Any] | None:
    result = g.match(utterance)
    if not result.ok:
        return None
    theta, problems = validate_theta(g.family, g.evaluator, result.values or {}, values=True)
    assert theta is not None, problems
    return {k: to_json(v) for k, v in theta.items()}


# ------------------------------------------------------------------ G(u)


def test_extracts_theta_with_defaults_for_optional_parts() -> None:
    g = grammar_of(BOOKS)
    assert theta_json(g, "recommend 3 mystery books from the 1950s") == {
        "genre": "mystery", "count": 3, "decade": 1950}
    assert theta_json(g, "suggest fantasy books") == {"genre": "fantasy", "count": 5, "decade": 2000}


def test_enum_capture_accepts_display_text_and_aliases_in_any_case() -> None:
    g = grammar_of(BOOKS)
    assert theta_json(g, "Suggest 2 SCI-FI books")["genre"] == "science_fiction"  # type: ignore[index]
    assert theta_json(g, "suggest 2 Science Fiction books")["genre"] == "science_fiction"  # type: ignore[index]
    assert theta_json(g, "suggest 2 science_fiction books") is None


def test_normalize_space_collapses_runs_and_trims() -> None:
    g = grammar_of(BOOKS)
    assert theta_json(g, "  recommend \t 3   mystery\nbooks ") == {"genre": "mystery", "count": 3, "decade": 2000}


@given(st.integers(min_value=-30, max_value=60))
def test_int_capture_accepts_exactly_its_domain(n: int) -> None:
    g = _BOOKS_GRAMMAR
    accepted = theta_json(g, f"recommend {n} fantasy books") is not None
    assert accepted == (1 <= n <= 20)


@given(st.integers(min_value=1850, max_value=2100))
def test_where_refinement_is_folded_into_the_capture(year: int) -> None:
    g = _BOOKS_GRAMMAR
    accepted = theta_json(g, f"recommend fantasy books from the {year}s") is not None
    assert accepted == (1900 <= year <= 2020 and year % 10 == 0)


def test_leading_zeros_and_signs_are_not_numerals() -> None:
    g = _BOOKS_GRAMMAR
    for bad in ("recommend 03 fantasy books", "recommend +3 fantasy books", "recommend -0 fantasy books"):
        assert theta_json(g, bad) is None


def test_no_match_reports_longest_prefix() -> None:
    result = _BOOKS_GRAMMAR.match("recommend 25 fantasy books")
    assert not result.ok
    assert result.error == "no match at character 12 ('5'); the longest matched prefix is 'recommend 2'"


def test_huge_utterance_is_answered_quickly() -> None:
    result = _BOOKS_GRAMMAR.match("recommend " + "9" * 200_000 + " books")
    assert not result.ok


# ------------------------------------------------------------------ φ(θ)


def test_render_round_trips_over_the_whole_domain() -> None:
    g = _BOOKS_GRAMMAR
    fam = g.family
    genres = fam.params[0].type.variants  # type: ignore[attr-defined]
    decades = range(1900, 2021, 10)
    for genre, count, decade in itertools.product(genres, range(1, 21), decades):
        theta, problems = validate_theta(fam, g.evaluator, {"genre": genre, "count": count, "decade": decade})
        assert theta is not None, problems
        utterance = g.render(theta)
        assert utterance is not None
        assert theta_json(g, utterance) == {k: to_json(v) for k, v in theta.items()}, utterance


def test_render_omits_optional_parts_at_defaults() -> None:
    g = _BOOKS_GRAMMAR
    theta, _ = validate_theta(g.family, g.evaluator, {"genre": "fantasy"})
    assert theta is not None
    assert g.render(theta) == "recommend fantasy books"


# ------------------------------------------------------------------ obligations


def test_examples_grammar_obligations_all_proved() -> None:
    for path in sorted((ROOT / "examples").glob("*.ddl")):
        program = load(path)
        for fam in program.checked.families.values():
            for o in check_grammar(fam, program.evaluator):
                assert o.verdict == "proved", (path.name, o.kind, o.subject, o.evidence)


def test_specialized_grammar_is_refuted_naming_a_value() -> None:
    obs = obligations(
        """
        family books {
          enum Genre { fantasy, mystery }
          param genre : Genre = fantasy
          param count : Int in 1..20
          grammar { "recommend " count " fantasy books" }
          program -> Text = "${count} ${genre}"
        }
        """
    )
    o = obs[("grammar-covers", "genre")]
    assert o.verdict == "refuted"
    assert o.code == "DDL501"
    assert o.evidence == ("the grammar never captures genre, so every utterance yields genre = fantasy; "
                          "genre = mystery cannot be expressed")
    assert obs[("grammar-covers", "count")].verdict == "proved"


def test_capture_inside_intersection_is_rejected_by_the_checker() -> None:
    from ddl.api import compile_source

    def diags(grammar: str) -> list[tuple[str, str, int]]:
        _, found = compile_source(textwrap.dedent(
            """
            family books {
              enum Genre { fantasy, mystery, romance }
              param genre : Genre
              param n : Int in 1..9 = 1
              grammar { GRAMMAR }
              program -> Text = text(genre)
            }
            """).replace("GRAMMAR", grammar), "t.ddl")
        return [(d.code, d.message, d.span.line) for d in found]

    assert diags('"recommend " ~genre " books"') == [("DDL220", "'genre' is captured inside '&' or '~'", 6)]
    assert diags('"recommend " (genre & n) " books"') == [("DDL220", "'genre' is captured inside '&' or '~'", 6),
                                                           ("DDL220", "'n' is captured inside '&' or '~'", 6)]
    # `x & R` with R capturing nothing restricts x's capture (spec/grammar.md): it type-checks, and
    # grammar-covers then refutes the values R leaves out.
    assert diags('"recommend " (genre & "fantasy") " books"') == []
    obs = obligations("""
        family books {
          enum Genre { fantasy, mystery, romance }
          param genre : Genre
          grammar { "recommend " (genre & "fantasy") " books" }
          program -> Text = text(genre)
        }
        """)
    assert obs[("grammar-covers", "genre")].verdict == "refuted"
    assert "genre = mystery cannot be expressed" in obs[("grammar-covers", "genre")].evidence


def test_unreachable_capture_is_refuted() -> None:
    obs = obligations(
        """
        family books {
          enum Genre { fantasy, mystery }
          param genre : Genre = fantasy
          param n : Int in 1..3
          grammar { "books " n (("x" & "y") genre)? }
          program -> Text = text(genre)
        }
        """
    )
    o = obs[("grammar-covers", "genre")]
    assert (o.verdict, o.evidence) == ("refuted", "no utterance reaches the capture of genre")


def test_empty_grammar_is_refuted() -> None:
    obs = obligations(
        """
        family f {
          param n : Int in 1..3
          grammar { "a" n ("b" & "c") }
          program -> Int = n
        }
        """
    )
    o = obs[("grammar-nonempty", "")]
    assert (o.verdict, o.code) == ("refuted", "DDL500")


def test_ambiguous_grammar_shows_both_parses() -> None:
    obs = obligations(
        """
        family f {
          param a : Int in 0..99 = 0
          param b : Int in 0..99 = 0
          grammar { "x" a? b? }
          program -> Int = a + b
        }
        """
    )
    o = obs[("unambiguous", "")]
    assert (o.verdict, o.code) == ("refuted", "DDL503")
    # 'x0' is not a witness: a = 0 and b = 0 are both the defaults, so both parses give the same θ.
    assert o.evidence in ("'x1' parses two ways: a = 1 or b = 1", "'x1' parses two ways: b = 1 or a = 1")


def test_unfoldable_where_finds_a_counterexample() -> None:
    obs = obligations(
        """
        family f {
          param start : Int in 1..31
          param stop : Int in 1..31 where stop >= start
          grammar { "from " start " to " stop }
          program -> Int = stop - start
        }
        """
    )
    o = obs[("grammar-sound", "")]
    assert (o.verdict, o.code) == ("refuted", "DDL502")
    assert "is accepted but yields a θ outside Θ: stop = " in o.evidence
    assert o.evidence.endswith("violates its where-refinement")


def test_example_utterance_with_wrong_theta_is_refuted() -> None:
    obs = obligations(
        """
        family f {
          param n : Int in 1..9
          grammar { "n is " n }
          program -> Int = n
          example "n is 3" => { n = 4 } => 4
        }
        """
    )
    o = obs[("examples", "utterance[1]")]
    assert (o.verdict, o.code) == ("refuted", "DDL505")
    assert o.evidence == "'n is 3' yields n = 3 but the example states n = 4"


def test_example_utterance_not_accepted_is_refuted() -> None:
    obs = obligations(
        """
        family f {
          param n : Int in 1..9
          grammar { "n is " n }
          program -> Int = n
          example "n = 3" => { n = 3 } => 3
        }
        """
    )
    o = obs[("examples", "utterance[1]")]
    assert (o.verdict, o.code) == ("refuted", "DDL504")


# ------------------------------------------------------------------ command line


def ddl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DDL), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_run_with_utterance() -> None:
    result = ddl("run", "examples/books.ddl", "suggest 12 sci-fi novels from the 1980s")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["query"] == {"limit": "12", "published_in": "1980-1989"}


def test_cli_run_with_rejected_utterance() -> None:
    result = ddl("run", "examples/books.ddl", "suggest 25 books")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "ddl run: DDL509: the grammar of recommend_books does not accept 'suggest 25 books': "
        "no match at character 10 ('5'); the longest matched prefix is 'suggest 2'")


def test_cli_grammar_member_render_sample() -> None:
    member = ddl("grammar", "member", "examples/books.ddl", "Recommend 3 Mystery books")
    assert member.returncode == 0
    assert json.loads(member.stdout) == {"genre": "mystery", "count": 3, "decade": 2000}
    render = ddl("grammar", "render", "examples/books.ddl", "-p", "genre=mystery", "-p", "count=3", "-p", "decade=1950")
    assert render.stdout.strip() == "recommend 3 mystery books from the 1950s"
    sample = ddl("grammar", "sample", "examples/books.ddl", "-n", "5", "--seed", "7")
    lines = sample.stdout.splitlines()
    assert len(lines) == 5
    for line in lines:
        assert ddl("grammar", "member", "examples/books.ddl", line).returncode == 0


def test_cli_grammar_overlap_and_equiv(tmp_path: Path) -> None:
    a = tmp_path / "a.ddl"
    b = tmp_path / "b.ddl"
    a.write_text('family a { param n : Int in 1..9\n grammar { "show " n } program -> Int = n }\n')
    b.write_text('family b { param m : Int in 5..20\n grammar { "show " m } program -> Int = m }\n')
    overlap = ddl("grammar", "overlap", str(a), str(b))
    assert overlap.returncode == 1
    assert overlap.stdout.strip() == "overlap: both a and b accept 'show 5'"
    equiv = ddl("grammar", "equiv", f"{a}:a", str(b))
    assert equiv.returncode == 1
    assert equiv.stdout.strip() == "not equivalent: only a accepts 'show 1'"
    assert ddl("grammar", "overlap", "examples/books.ddl", "examples/weather.ddl").returncode == 0


_BOOKS_GRAMMAR = grammar_of(BOOKS)


@pytest.fixture(autouse=True)
def _keep_grammar_alive() -> None:
    assert _BOOKS_GRAMMAR is not None
