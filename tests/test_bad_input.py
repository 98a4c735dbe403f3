"""Inputs that used to crash ddl or misbehave quietly (issue 15, items 5 and 8), each run as a user
runs it (the console script in a subprocess, or the Python API), asserting what the user sees."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import ddl as ddl_api

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
    product = " * ".join([NINES] * 6)
    program = ddl_api.load(_big_family(tmp_path, f"Int = {product} * n"))
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
    source = tmp_path / "codes.ddl"
    source.write_text(f"type Code = {HUGE_PATTERN}\nfamily codes {{\n  param t : Text(max 40)\n"
                      "  program -> Code = t\n}\n", encoding="utf-8")
    family = ddl_api.load(source).family("codes")
    assert family(t=MEMBER) == MEMBER
    with pytest.raises(ddl_api.RunError, match="DDL309"):
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


def test_run_says_a_grammar_capturing_a_huge_pattern_is_too_large_instead_of_not_accepted(tmp_path: Path) -> None:
    source = tmp_path / "codes.ddl"
    source.write_text(f'family codes {{\n  param t : {HUGE_PATTERN}\n  grammar {{ "code " t }}\n'
                      "  program -> Text = t\n}\n", encoding="utf-8")
    for command in (("run", str(source)), ("grammar", "member", str(source))):
        result = ddl(*command, f"code {MEMBER}")
        no_traceback(result)
        assert result.returncode == 1
        assert ("DDL506: the grammar of codes is too large to match an utterance: subset construction reached "
                "the limit of 50,000 DFA states; the growth comes from 't'") in result.stderr
        assert "does not accept" not in result.stderr and "no match" not in result.stdout
    by_param = ddl("run", str(source), "--param", f"t={MEMBER}")
    assert by_param.returncode == 0 and by_param.stdout.strip() == f'"{MEMBER}"'


def test_ddl_test_reports_a_pattern_it_cannot_draw_from_instead_of_a_traceback(tmp_path: Path) -> None:
    source = tmp_path / "codes.ddl"
    source.write_text(f"family codes {{\n  param t : {HUGE_PATTERN}\n  program -> Text = t\n}}\n", encoding="utf-8")
    result = ddl("test", str(source), "--property", "totality")
    no_traceback(result)
    assert result.returncode == 1
    assert ("codes::totality FAILED: cannot draw values to test: an automaton is too large (subset construction "
            "reached the limit of 50,000 DFA states)") in result.stdout


# ---------------------------------------------------------------------------- paths and files the user names

LONG_NAME = "a" * 300  # longer than NAME_MAX: looking at it fails with ENAMETOOLONG, even as root
BILL = ROOT / "examples" / "bill.ddl"
WEATHER = ROOT / "examples" / "weather.ddl"


def test_a_name_too_long_is_a_usage_error_under_every_command(tmp_path: Path) -> None:
    for command in (("check", "--no-cache", LONG_NAME), ("run", LONG_NAME), ("test", LONG_NAME),
                    ("fmt", LONG_NAME), ("grammar", "member", LONG_NAME, "hello"),
                    ("grammar", "overlap", LONG_NAME, str(BILL)), ("handle", LONG_NAME, "hello"),
                    ("stats", LONG_NAME), ("refine", "f", LONG_NAME), ("widen", "f", LONG_NAME)):
        result = ddl(*command, cwd=tmp_path)
        no_traceback(result)
        assert result.returncode == 2, (command, result.stderr)
        assert f"ddl {command[0]}: error: cannot read '{LONG_NAME}': File name too long" in result.stderr, command


def test_a_file_that_cannot_be_read_exits_2_under_check_run_test_and_grammar(tmp_path: Path) -> None:
    unreadable = Path("/proc/self/mem")  # a regular file whose read fails (EIO) for every user
    if not unreadable.is_file():
        pytest.skip("needs Linux's /proc/self/mem")
    for command, expected in ((("check", "--no-cache"), "/proc/self/mem:1:1: DDL900: cannot read file: Input/output error"),
                              (("run",), "ddl run: error: cannot read '/proc/self/mem': Input/output error"),
                              (("test",), "ddl test: error: cannot read '/proc/self/mem': Input/output error"),
                              (("grammar", "sample"), "ddl grammar: error: cannot read '/proc/self/mem': Input/output"),
                              (("fmt",), "ddl fmt: error: cannot read '/proc/self/mem': Input/output error")):
        result = ddl(*command, str(unreadable), cwd=tmp_path)
        no_traceback(result)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert expected in result.stdout + result.stderr, command


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory, whatever its mode")
def test_a_directory_that_cannot_be_read_is_a_usage_error_not_skipped_files(tmp_path: Path) -> None:
    shutil.copy(BILL, tmp_path / "bill.ddl")
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(WEATHER, locked / "weather.ddl")
    locked.chmod(0)
    try:
        check = ddl("check", "--no-cache", str(tmp_path))
        member = ddl("grammar", "member", str(locked / "weather.ddl"), "weather in paris")
    finally:
        locked.chmod(0o755)
    for result, command in ((check, "check"), (member, "grammar")):
        no_traceback(result)
        assert result.returncode == 2, command
        assert f"ddl {command}: error: cannot read '{locked}" in result.stderr
        assert "Permission denied" in result.stderr


def test_a_directory_given_as_a_file_says_so(tmp_path: Path) -> None:
    result = ddl("run", str(tmp_path))
    no_traceback(result)
    assert result.returncode == 2
    assert f"ddl run: error: '{tmp_path}' is a directory; give a .ddl file" in result.stderr


def test_an_empty_path_or_store_is_a_usage_error_not_the_current_directory_or_the_default(tmp_path: Path) -> None:
    (tmp_path / "bill.ddl").write_bytes(BILL.read_bytes())
    for command, argument in ((("check", ""), "PATH"), (("fmt", ""), "PATH"), (("run", ""), "FILE"),
                              (("handle", "", "hello"), "DIR"), (("stats", ""), "DIR")):
        result = ddl(*command, cwd=tmp_path)
        no_traceback(result)
        assert result.returncode == 2, command
        assert (f"ddl {command[0]}: error: argument {argument}: an empty path names nothing (write . for the "
                "current directory)") in result.stderr, command
    for command in (("handle", ".", "split 100 between 4", "--store", ""), ("stats", ".", "--store", ""),
                    ("feedback", ".", "1", "accept", "--store", "")):
        result = ddl(*command, cwd=tmp_path)
        assert result.returncode == 2, command
        assert "argument --store: an empty value names nothing (leave the option out for the default)" in result.stderr
    assert not (tmp_path / ".ddl-handler").exists()  # nothing was answered or recorded


def test_the_python_api_refuses_an_empty_path() -> None:
    with pytest.raises(ddl_api.InputError, match="an empty path names nothing"):
        ddl_api.check([""])


def test_a_system_file_that_is_not_utf8_is_a_usage_error_naming_the_byte(tmp_path: Path) -> None:
    system = tmp_path / "system.txt"
    system.write_bytes(b"You write \xff\xfe DDL.")
    result = ddl("distill", "recommend 5 fantasy books", "-m", "no-such-model", "--system-file", str(system),
                 cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 2
    assert (f"ddl distill: error: --system-file '{system}' is not UTF-8 text: byte 0xFF at offset 10 cannot be "
            "decoded") in result.stderr
    missing = ddl("distill", "recommend 5 fantasy books", "-m", "m", "--system-file", str(tmp_path), cwd=tmp_path)
    assert missing.returncode == 2
    assert f"ddl distill: error: cannot read --system-file '{tmp_path}': Is a directory" in missing.stderr


def test_format_to_a_reader_that_went_away_stops_quietly_with_141(tmp_path: Path) -> None:
    # The reader closes its end before ddl has even started, so ddl's first write (or its final
    # flush) meets a closed pipe, deterministically.
    proc = subprocess.Popen([str(DDL), "fmt", str(BILL), str(WEATHER)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert stderr == ""


def test_grammar_sample_refuses_a_length_or_count_past_its_maximum() -> None:
    long = ddl("grammar", "sample", str(BILL), "--max-length", "100000000")
    no_traceback(long)
    assert long.returncode == 2
    assert ("ddl grammar: error: --max-length must be from 0 to 4,096 characters, not 100,000,000") in long.stderr
    many = ddl("grammar", "sample", str(BILL), "-n", "1000000000")
    assert many.returncode == 2
    assert "ddl grammar: error: -n must be from 0 to 100,000, not 1,000,000,000" in many.stderr
    ok = ddl("grammar", "sample", str(BILL), "-n", "2", "--max-length", "4096")
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.splitlines()) == 2


# ---------------------------------------------------------------------------- ddl check --format json


def test_check_json_without_timings_is_the_same_bytes_on_every_run(tmp_path: Path) -> None:
    cold = ddl("check", "--format", "json", "--no-timings", "--no-cache", str(BILL))
    first = ddl("check", "--format", "json", "--no-timings", "--cache-dir", str(tmp_path / "cache"), str(BILL))
    cached = ddl("check", "--format", "json", "--no-timings", "--cache-dir", str(tmp_path / "cache"), str(BILL))
    assert cold.returncode == first.returncode == cached.returncode == 0
    assert cold.stdout == first.stdout == cached.stdout
    assert '"seconds"' not in cold.stdout and '"verdict": "proved"' in cold.stdout
    timed = ddl("check", "--format", "json", "--no-cache", str(BILL))
    assert '"seconds"' in timed.stdout  # the default keeps them


# ---------------------------------------------------------------------------- the handler's commands


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """A handler directory with one family, and a ledger holding one query (id 1)."""
    directory = tmp_path / "reg"
    directory.mkdir()
    shutil.copy(WEATHER, directory / "weather.ddl")
    first = ddl("handle", str(directory), "weather in paris", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    return directory


def _ledger(directory: Path) -> Path:
    return directory / ".ddl-handler" / "ledger.sqlite3"


def _queries(directory: Path) -> int:
    with sqlite3.connect(_ledger(directory)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM ddl_queries").fetchone()[0])


def test_an_utterance_that_is_not_utf8_is_refused_before_anything_is_answered_or_recorded(served: Path) -> None:
    result = ddl(b"handle", bytes(served), b"weather in \xff paris")
    no_traceback(result)
    assert result.returncode == 2
    assert "ddl handle: error: the utterance is not valid UTF-8: byte 0xFF at character 11 cannot be decoded" in (
        result.stderr)
    assert result.stdout == ""
    assert _queries(served) == 1  # only the fixture's query
    for command in ((b"run", bytes(WEATHER), b"weather in \xff paris"),
                    (b"grammar", b"member", bytes(WEATHER), b"weather in \xff paris")):
        other = ddl(*command)
        assert other.returncode == 2, command
        assert "the utterance is not valid UTF-8: byte 0xFF at character 11" in other.stderr


def test_a_correction_that_is_not_utf8_is_refused_and_nothing_is_recorded(served: Path) -> None:
    result = ddl(b"feedback", bytes(served), b"1", b"reject", b"--correction", b"paris, \xe9 France")
    no_traceback(result)
    assert result.returncode == 2
    assert "ddl feedback: error: the correction is not valid UTF-8: byte 0xE9 at character 7" in result.stderr
    with sqlite3.connect(_ledger(served)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM ddl_feedback").fetchone()[0] == 0


def test_handle_exits_1_and_says_so_when_the_answer_could_not_be_recorded(served: Path) -> None:
    with sqlite3.connect(_ledger(served)) as conn:  # a ledger that refuses every new query
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON ddl_queries BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    result = ddl("handle", str(served), "weather in paris")
    no_traceback(result)
    assert result.returncode == 1
    assert json.loads(result.stdout)["url"] == "https://api.open-meteo.com/v1/forecast"  # the answer is not lost
    assert ("ddl handle: error: the query was not recorded: DDL702: cannot write to store "
            f"'{_ledger(served)}': disk full") in result.stderr
    assert _queries(served) == 1


@contextmanager
def read_only_directory(directory: Path) -> Iterator[None]:
    """``directory`` cannot be written to, even by root (chattr +i), or the test is skipped."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(directory)]).returncode != 0:
        pytest.skip("running as root without chattr +i: cannot make a directory read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_stats_reads_a_ledger_in_a_read_only_directory_and_changes_nothing(served: Path) -> None:
    store_dir = _ledger(served).parent
    before = {p.name: p.read_bytes() for p in store_dir.iterdir()}
    with read_only_directory(store_dir):
        result = ddl("stats", str(served), "--format", "json")
        no_traceback(result)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["queries"] == 1
    assert {p.name: p.read_bytes() for p in store_dir.iterdir()} == before


def test_stats_in_a_writable_directory_leaves_the_ledger_unchanged(served: Path) -> None:
    before = _ledger(served).read_bytes()
    result = ddl("stats", str(served), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["queries"] == 1
    assert _ledger(served).read_bytes() == before
