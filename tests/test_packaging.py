"""Packaging: a normal (non-editable) install ships every sub-package and data file; the engine stands alone."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_subpackage_is_listed() -> None:
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ddl").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    listed = set(CONFIG["packages"]) - {"ddl.stdlib"}
    assert on_disk == listed


def test_data_files_are_declared() -> None:
    assert CONFIG["package-dir"]["ddl.stdlib"] == "stdlib"
    assert "*.ddl" in CONFIG["package-data"]["ddl.stdlib"]
    assert "*.lark" in CONFIG["package-data"]["ddl.syntax"]


def test_the_automata_engine_loads_on_its_own() -> None:
    code = "import sys, ddl.regular; print(sorted(m for m in sys.modules if m.startswith('ddl')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    loaded = eval(out)  # a printed list of module names
    # The package root and its version constant only: nothing of the language.
    assert all(m in ("ddl", "ddl.version") or m.startswith("ddl.regular") for m in loaded), loaded
