"""The `ddl` command as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"


def ddl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DDL), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


BROKEN_TYPE = """\
family f {
  param n : Int in 1..5
  program -> Text = n + 1
}
"""

WRONG_EXAMPLE = """\
family double {
  param n : Int in 1..5
  program -> Int = n * 2
  example { n = 2 } => 4
  example { n = 3 } => 7
}
"""

DIVIDES = """\
family per_person {
  "Split an amount among people."
  param amount : Int in 0..100
  param people : Int in 0..4
  program -> Int = amount / people
}
"""


def test_console_script_is_installed() -> None:
    assert DDL.exists(), "the console script `ddl` must be installed by pip install -e ."


def test_help_lists_every_command() -> None:
    result = ddl("--help")
    assert result.returncode == 0
    for command in ("check", "run", "fmt"):
        assert command in result.stdout
    for command in ("check", "run", "fmt"):
        sub = ddl(command, "--help")
        assert sub.returncode == 0
        assert "usage: ddl " + command in sub.stdout


def test_python_dash_m() -> None:
    result = subprocess.run([sys.executable, "-m", "ddl", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("ddl ")


def test_a_mistyped_command_or_option_is_the_right_parsers_usage_error() -> None:
    typo = ddl("chek", "examples")
    assert typo.returncode == 2 and "did you mean 'check'?" in typo.stderr
    bogus = ddl("check", "--bogus", "examples")
    assert bogus.returncode == 2
    assert "ddl check: error: unrecognized arguments: --bogus" in bogus.stderr
    assert bogus.stderr.startswith("usage: ddl check ")  # the subcommand's usage, not the top level's


def _parsed(argv: list[str], partial: bool, capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    from ddl.commands.parser import build_parser

    parser = build_parser(argv[0] if partial else None)
    try:
        outcome: object = vars(parser.parse_args(argv))
    except SystemExit as stop:
        outcome = ("exit", stop.code)
    captured = capsys.readouterr()
    return outcome, captured.out, captured.err


def test_a_parser_built_for_the_named_command_parses_as_the_whole_parser(capsys: pytest.CaptureFixture[str]) -> None:
    """`ddl CMD …` builds only CMD's group of subcommands (a one-query `ddl handle` starts faster): the same
    arguments, help, usage errors and exit codes as the parser of every command."""
    from ddl.commands.parser import COMMAND_GROUPS

    argvs = [["handle", "examples/", "add 4 and 7", "--format", "json", "--no-extract", "-m", "gpt"],
             ["handle", "examples/"], ["handle", "", "x"], ["feedback", "d", "3", "accept", "--correction", "x"],
             ["feedback", "d", "three", "accept"], ["stats", "--format", "json"], ["serve", "d", "--port", "0"],
             ["check", "examples/", "--jobs", "2", "--format", "json"], ["run", "examples/books.ddl", "u"],
             ["grammar", "render", "examples/books.ddl"], ["fmt", "--check", "examples/"]]
    argvs += [[name, "-h"] for name in COMMAND_GROUPS] + [[name, "--no-such-option"] for name in COMMAND_GROUPS]
    for argv in argvs:
        assert _parsed(argv, True, capsys) == _parsed(argv, False, capsys), argv


def test_no_command_is_usage_error() -> None:
    assert ddl().returncode == 2


def test_check_examples_passes() -> None:
    result = ddl("check", "examples/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": ok" in result.stdout.splitlines()[-1]


def test_check_reports_type_error_with_caret(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ddl"
    bad.write_text(BROKEN_TYPE)
    result = ddl("check", str(bad))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{bad}:3:21: DDL202: the program's result: expected Text, found Int in 2..6"
    assert lines[1] == "   3 |   program -> Text = n + 1"
    assert lines[2] == "                           ^~~~~"


def test_check_reports_failing_example(tmp_path: Path) -> None:
    bad = tmp_path / "double.ddl"
    bad.write_text(WRONG_EXAMPLE)
    result = ddl("check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:5:3: DDL400: double: example[2] refuted: the program's output differs from the expected output" in result.stdout
    assert "expected: 7" in result.stdout and "actual:   6" in result.stdout


def test_check_json_shape(tmp_path: Path) -> None:
    bad = tmp_path / "double.ddl"
    bad.write_text(WRONG_EXAMPLE)
    result = ddl("check", "--format", "json", str(bad))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    (file_entry,) = report["files"]
    assert file_entry["path"] == str(bad)
    (family,) = file_entry["families"]
    verdicts = {(o["kind"], o["subject"]): o["verdict"] for o in family["obligations"]}
    assert verdicts[("examples", "example[1]")] == "proved"
    assert verdicts[("examples", "example[2]")] == "refuted"
    for o in family["obligations"]:
        assert set(o) == {"kind", "subject", "verdict", "evidence", "span", "seconds"}
    (diag,) = report["diagnostics"]
    assert (diag["code"], diag["line"], diag["col"], diag["severity"]) == ("DDL400", 5, 3, "error")


def test_check_missing_path_is_usage_error() -> None:
    result = ddl("check", "no/such/place.ddl")
    assert result.returncode == 2
    assert "no such file or directory: 'no/such/place.ddl'" in result.stderr


def test_check_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "s.ddl"
    bad.write_text("family f {\n  param x : Int in 1..5 =\n}\n")
    result = ddl("check", str(bad))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"{bad}:3:1: DDL103: unexpected token '}}'; expected an expression"


def test_check_binary_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "g.ddl"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    result = ddl("check", str(bad))
    assert result.returncode == 1
    assert "DDL101: source is not valid UTF-8" in result.stdout
    assert "Traceback" not in result.stderr


def test_run_prints_json() -> None:
    result = ddl("run", "examples/books.ddl", "--param", "genre=mystery", "--param", "count=3", "--param", "decade=1950")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["url"] == "https://openlibrary.org/subjects/mystery.json"
    assert out["query"] == {"limit": "3", "published_in": "1950-1959"}


def test_run_uses_defaults_and_display_text() -> None:
    result = ddl("run", "examples/books.ddl", "--param", "genre=science fiction")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["url"] == "https://openlibrary.org/subjects/science_fiction.json"
    assert out["query"]["limit"] == "5"


def test_run_rejects_out_of_domain_value() -> None:
    result = ddl("run", "examples/books.ddl", "--param", "genre=mystery", "--param", "count=25")
    assert result.returncode == 1
    assert "count" in result.stderr and "1..20" in result.stderr


def test_run_unknown_param_suggests() -> None:
    result = ddl("run", "examples/books.ddl", "--param", "genre=mystery", "--param", "cuont=3")
    assert result.returncode == 1
    assert "did you mean 'count'?" in result.stderr


def test_run_runtime_failure_shows_span_and_theta(tmp_path: Path) -> None:
    src = tmp_path / "div.ddl"
    src.write_text(DIVIDES)
    result = ddl("run", str(src), "--param", "amount=10", "--param", "people=0")
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{src}:5:20: DDL300: division by zero")
    assert "people = 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_malformed_param_is_usage_error() -> None:
    result = ddl("run", "examples/books.ddl", "--param", "genre")
    assert result.returncode == 2
    assert "NAME=VALUE" in result.stderr


def test_fmt_check_examples_is_clean() -> None:
    result = ddl("fmt", "--check", "examples/")
    assert result.returncode == 0, result.stderr


def test_fmt_check_flags_unformatted_and_write_fixes(tmp_path: Path) -> None:
    src = tmp_path / "u.ddl"
    src.write_text("family   f{param x:Int in 1..5   program->Int=x*2 # twice\n}\n")
    assert ddl("fmt", "--check", str(src)).returncode == 1
    assert ddl("fmt", "--write", str(src)).returncode == 0
    assert ddl("fmt", "--check", str(src)).returncode == 0
    formatted = src.read_text()
    assert "# twice" in formatted
    assert ddl("check", str(src)).returncode == 0


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.ddl")))
def test_every_example_file_checks(path: str) -> None:
    result = ddl("check", "--quiet", path)
    assert result.returncode == 0, result.stdout + result.stderr
