"""`ddl test` through the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"

CRASHES = """\
family per_person {
  param amount : Int in 0..1000
  param people : Int in 0..20
  program -> Int = amount / people
}
"""


def ddl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DDL), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_examples_pass_every_property() -> None:
    result = ddl("test", "examples/", "--profile", "ci")
    assert result.returncode == 0, result.stdout
    last = result.stdout.splitlines()[-1]
    assert last.startswith("50 passed, 0 failed, 0 skipped (ci profile")


def test_failure_shows_shrunk_theta_error_and_span(tmp_path: Path) -> None:
    src = tmp_path / "crash.ddl"
    src.write_text(CRASHES)
    result = ddl("test", str(src), "--examples", "50", "--seed", "3", "--property", "totality")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (f"{src}:4:20: per_person::totality FAILED: {{ amount = 0, people = 0 }} fails at run time: "
                        "DDL300: division by zero")
    assert lines[1] == "   4 |   program -> Int = amount / people"
    assert lines[-1].startswith("0 passed, 1 failed, 0 skipped")


def test_bad_examples_count_is_a_usage_error() -> None:
    result = ddl("test", "examples/books.ddl", "--examples", "0")
    assert result.returncode == 2
    assert "--examples must be at least 1" in result.stderr


def test_help_describes_the_properties() -> None:
    result = ddl("test", "--help")
    assert result.returncode == 0
    for word in ("totality", "determinism", "round trip", "near-misses", "--profile", "--seed", "--examples"):
        assert word in result.stdout
