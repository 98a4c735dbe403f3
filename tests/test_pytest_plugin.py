"""The pytest plugin as a user meets it: `pytest some_folder/` collects .ddl files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEFECTIVE = """\
family per_person {
  "Crashes at a domain edge."
  param amount : Int in 0..1000
  param people : Int in 0..20
  grammar { "split " amount " among " people }
  program -> Int = amount / people
  example "split 10 among 2" => { amount = 10, people = 2 } => 5
}
family add {
  "Its grammar does not round-trip: adjacent numerals."
  param a : Int in 0..99
  param b : Int in 0..99
  grammar { "add " a b }
  program -> Int = a + b
}
"""


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", str(folder), "-p", "no:cacheprovider", "-q", *args],
                          cwd=folder, capture_output=True, text=True, timeout=300)


def test_collects_examples_and_properties_with_readable_ids(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "books.ddl", tmp_path / "books.ddl")
    result = run_pytest(tmp_path, "--collect-only")
    ids = {line.strip() for line in result.stdout.splitlines() if "::" in line}
    for expected in ("books.ddl::recommend_books::example[1]", "books.ddl::recommend_books::example[2]",
                     "books.ddl::recommend_books::totality", "books.ddl::recommend_books::determinism",
                     "books.ddl::recommend_books::ensures", "books.ddl::recommend_books::round_trip",
                     "books.ddl::recommend_books::near_misses"):
        assert expected in ids, result.stdout


def test_good_family_passes(tmp_path: Path) -> None:
    shutil.copy(ROOT / "examples" / "books.ddl", tmp_path / "books.ddl")
    result = run_pytest(tmp_path, "--ddl-profile", "ci")
    assert result.returncode == 0, result.stdout
    assert "passed" in result.stdout.splitlines()[-1]


def test_defects_are_caught_shrunk_and_shown_as_ddl(tmp_path: Path) -> None:
    (tmp_path / "defect.ddl").write_text(DEFECTIVE)
    result = run_pytest(tmp_path, "--ddl-profile", "ci", "--ddl-seed", "1")
    assert result.returncode == 1
    out = result.stdout
    assert f"{tmp_path / 'defect.ddl'}:6:20: per_person::totality FAILED: {{ amount = 0, people = 0 }} " \
           "fails at run time: DDL300: division by zero" in out
    assert "   6 |   program -> Int = amount / people" in out
    assert "add::round_trip FAILED: G(φ(θ)) ≠ θ" in out
    assert "Traceback" not in out and "def runtest" not in out
    # Each family's check item reports what `ddl check` refutes (the division by zero; the lossy grammar).
    assert "FAILED defect.ddl::per_person::check" in out and "per_person: safe" in out
    assert "FAILED defect.ddl::add::check" in out and "DDL503" in out
    assert "4 failed" in out.splitlines()[-1]


def test_broken_file_is_one_failing_check_item(tmp_path: Path) -> None:
    (tmp_path / "bad.ddl").write_text("family f {\n  param n : Int in 1..5\n  program -> Text = n\n}\n")
    result = run_pytest(tmp_path)
    assert result.returncode == 1
    assert "bad.ddl::check" in result.stdout
    assert "DDL202: the program's result: expected Text, found Int in 1..5" in result.stdout
