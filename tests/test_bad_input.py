"""Inputs that used to crash ddl or misbehave quietly (issue 15, items 5 and 8), each run as a user
runs it (the console script in a subprocess, or the Python API), asserting what the user sees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"


def ddl(*args: str | bytes, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DDL), *args], cwd=cwd, capture_output=True, text=True, timeout=120, input=stdin)


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr + result.stdout, result.stderr + result.stdout


# ---------------------------------------------------------------------------- the checker


def test_indexing_an_empty_map_literal_is_ddl212_not_an_internal_error(tmp_path: Path) -> None:
    source = tmp_path / "empty_map.ddl"
    source.write_text("family f {\n  param n : Int in 0..3\n  program -> Text = {:}[n]\n}\n", encoding="utf-8")
    result = ddl("check", "--no-cache", str(source))
    no_traceback(result)
    assert result.returncode == 1
    assert f"{source}:3:21: DDL212: Map[?, ?, max 0] has no entries: every key is absent" in result.stdout
    assert "get(m, k)" in result.stdout  # the way out


def test_a_lookup_with_get_in_an_empty_map_literal_type_checks(tmp_path: Path) -> None:
    source = tmp_path / "get_empty.ddl"
    source.write_text('family f {\n  param n : Int in 0..3\n  program -> Int = (get({:}, n) ?? 1) + n\n}\n',
                      encoding="utf-8")
    result = ddl("run", str(source), "--param", "n=2")
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"


def test_run_of_a_file_with_errors_prints_its_diagnostics_and_exits_1(tmp_path: Path) -> None:
    source = tmp_path / "bad.ddl"
    source.write_text("family f {\n  param n : Int\n  program -> Int = x\n}\n", encoding="utf-8")
    result = ddl("run", str(source), "--param", "n=1")
    no_traceback(result)
    assert result.returncode == 1
    assert f"{source}:3:20: DDL200: unknown name 'x'" in result.stderr


# ---------------------------------------------------------------------------- integers past 4,300 digits

NINES = "9" * 999  # a literal may have up to 1,000 digits (DDL111); six of them multiply past 4,300


def _big_family(tmp_path: Path, program: str, extra: str = "") -> Path:
    source = tmp_path / "big.ddl"
    source.write_text(f"family big {{\n  param n : Int in 1..9\n  program -> {program}\n{extra}}}\n", encoding="utf-8")
    return source


def test_run_prints_every_digit_of_an_int_past_4300_digits_as_json_and_text(tmp_path: Path) -> None:
    product = " * ".join([NINES] * 6)
    source = _big_family(tmp_path, f"Int = {product} * n")
    expected = str(int(NINES) ** 6 * 3)
    assert len(expected) > 5000
    for fmt in ("json", "text"):
        result = ddl("run", str(source), "--param", "n=3", "--format", fmt)
        no_traceback(result)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == expected


def test_show_of_a_huge_int_type_checks_runs_and_is_reported_in_full_by_check(tmp_path: Path) -> None:
    product = " * ".join([NINES] * 6)
    source = _big_family(tmp_path, f"Text = show({product} * n)", '  example { n = 1 } => "x"\n')
    result = ddl("check", "--no-cache", str(source))
    no_traceback(result)
    assert result.returncode == 1
    assert "DDL400: big: example[1] refuted" in result.stdout
    assert str(int(NINES) ** 6)[:200] in result.stdout
    run = ddl("run", str(source), "--param", "n=2", "--format", "text")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"\"{int(NINES) ** 6 * 2}\""  # a Text value, shown quoted


def test_the_python_api_returns_a_huge_int_that_prints(tmp_path: Path) -> None:
    import json

    import ddl

    product = " * ".join([NINES] * 6)
    program = ddl.load(_big_family(tmp_path, f"Int = {product} * n"))
    value = program.family("big")(n=1)
    assert value == int(NINES) ** 6
    assert json.dumps({"v": value}) == '{"v": ' + str(int(NINES) ** 6) + "}"


# ---------------------------------------------------------------------------- Text patterns with huge automata

# The minimal DFA of this pattern has 2^31 states (the 31st character from the end is an "a").
HUGE_PATTERN = 'Text(max 40, pattern [ab]* "a" [ab]{30})'
MEMBER = "b" * 9 + "a" + "b" * 30
NOT_MEMBER = "b" * 40


def test_run_matches_values_against_a_pattern_whose_dfa_is_too_large_to_build(tmp_path: Path) -> None:
    source = tmp_path / "codes.ddl"
    source.write_text(f"type Code = {HUGE_PATTERN}\nfamily codes {{\n  param t : Text(max 40)\n"
                      "  program -> Code = t\n}\n", encoding="utf-8")
    good = ddl("run", str(source), "--param", f"t={MEMBER}")
    no_traceback(good)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == f'"{MEMBER}"'
    bad = ddl("run", str(source), "--param", f"t={NOT_MEMBER}")
    no_traceback(bad)
    assert bad.returncode == 1
    assert f'DDL309: text "{NOT_MEMBER}" does not match the pattern [ab]* "a" [ab]{{30}}' in bad.stderr
    # θ validation matches the same way
    param = tmp_path / "param.ddl"
    param.write_text(f"family p {{\n  param t : {HUGE_PATTERN}\n  program -> Text = t\n}}\n", encoding="utf-8")
    refused = ddl("run", str(param), "--param", f"t={NOT_MEMBER}")
    no_traceback(refused)
    assert refused.returncode == 1
    assert f'ddl run: error: t = "{NOT_MEMBER}" does not match the pattern' in refused.stderr


def test_the_python_api_runs_a_family_with_a_huge_pattern_and_reports_a_mismatch_as_a_run_error(
        tmp_path: Path) -> None:
    import pytest

    import ddl

    source = tmp_path / "codes.ddl"
    source.write_text(f"type Code = {HUGE_PATTERN}\nfamily codes {{\n  param t : Text(max 40)\n"
                      "  program -> Code = t\n}\n", encoding="utf-8")
    family = ddl.load(source).family("codes")
    assert family(t=MEMBER) == MEMBER
    with pytest.raises(ddl.RunError, match="DDL309"):
        family(t=NOT_MEMBER)


def test_check_gives_verdicts_for_a_family_narrowing_to_a_huge_pattern(tmp_path: Path) -> None:
    source = tmp_path / "codes.ddl"
    source.write_text(f"type Code = {HUGE_PATTERN}\nfamily codes {{\n  param t : Text(max 40)\n"
                      "  program -> Code = t\n"
                      f'  example {{ t = "{MEMBER}" }} => "{MEMBER}"\n}}\n', encoding="utf-8")
    result = ddl("check", "--no-cache", str(source))
    no_traceback(result)
    assert result.returncode == 1
    assert "DDL600: codes: safe(narrowing at 4:21) refuted" in result.stdout  # t = "" does not match


def test_a_pattern_too_large_to_sample_is_ddl608_with_the_limit_and_the_way_to_raise_it(tmp_path: Path) -> None:
    source = tmp_path / "codes.ddl"
    source.write_text(f"family codes {{\n  param t : {HUGE_PATTERN}\n  program -> Text = t\n}}\n", encoding="utf-8")
    result = ddl("check", "--no-cache", "--max-states", "2000", str(source))
    no_traceback(result)
    assert result.returncode == 1
    assert f"{source}:2:3: DDL608: codes: depends(t) unknown:" in result.stdout
    assert ("no value of t could be sampled beyond the examples: the automaton of its Text pattern is too large "
            "(subset construction reached the limit of 2,000 DFA states)") in result.stdout
    assert "hint: raise the limit with `ddl check --max-states N`" in result.stdout


def test_a_pattern_whose_intersection_cannot_be_built_is_ddl510_at_the_pattern(tmp_path: Path) -> None:
    source = tmp_path / "codes.ddl"
    source.write_text('family codes {\n  param t : Text(max 40, pattern ~([ab]* "a" [ab]{16}))\n'
                      "  program -> Text = t\n}\n", encoding="utf-8")
    for command in (("check", "--no-cache"), ("run",)):
        result = ddl(*command, str(source), *(("--param", "t=ab") if command == ("run",) else ()))
        no_traceback(result)
        assert result.returncode == 1
        output = result.stdout + result.stderr
        assert (f"{source}:2:34: DDL510: this Text pattern is too large to match: subset construction reached "
                "the limit of 50,000 DFA states") in output
        assert "DDL200" not in output  # no follow-on error for the parameter


def test_ddl_test_reports_a_pattern_it_cannot_draw_from_instead_of_a_traceback(tmp_path: Path) -> None:
    source = tmp_path / "codes.ddl"
    source.write_text(f"family codes {{\n  param t : {HUGE_PATTERN}\n  program -> Text = t\n}}\n", encoding="utf-8")
    result = ddl("test", str(source), "--property", "totality")
    no_traceback(result)
    assert result.returncode == 1
    assert ("codes::totality FAILED: cannot draw values to test: an automaton is too large (subset construction "
            "reached the limit of 50,000 DFA states)") in result.stdout
