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
