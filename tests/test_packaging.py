"""Packaging: a normal (non-editable) install ships every sub-package and data file; the engine stands alone."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from ddl.api import source_checkout, stdlib_dir
from ddl.distill.digest import (
    EXAMPLE_FILES,
    EXAMPLES_PACKAGE,
    FILE_ORDER,
    SECTIONS,
    SPEC_PACKAGE,
    default_examples_dir,
    default_spec_dir,
)
from ddl.handler.stats import PLOT_HINT

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONFIG = PYPROJECT["tool"]["setuptools"]


def test_every_subpackage_is_listed() -> None:
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ddl").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    mapped = set(CONFIG["package-dir"])  # directories outside ddl/ shipped as packages (stdlib/, spec/, examples/)
    listed = set(CONFIG["packages"]) - mapped
    assert on_disk == listed


def test_data_files_are_declared() -> None:
    assert CONFIG["package-dir"]["ddl.stdlib"] == "stdlib"
    assert "*.ddl" in CONFIG["package-data"]["ddl.stdlib"]
    assert "*.lark" in CONFIG["package-data"]["ddl.syntax"]
    assert CONFIG["package-data"]["ddl"] == ["py.typed"] and (ROOT / "ddl" / "py.typed").is_file()
    assert CONFIG["include-package-data"] is False  # the wheel carries the declared data only, not MANIFEST.in's


def _shipped(package: str, directory: str) -> set[str]:
    """The files of ``directory`` that the wheel carries as package data of ``package``."""
    globs = CONFIG["package-data"][package]
    return {p.name for p in (ROOT / directory).iterdir() if p.is_file() and any(fnmatch(p.name, g) for g in globs)}


def test_what_the_distill_prompt_quotes_is_package_data() -> None:
    assert CONFIG["package-dir"][SPEC_PACKAGE] == "spec" and CONFIG["package-dir"][EXAMPLES_PACKAGE] == "examples"
    assert {s.file for s in SECTIONS} | set(FILE_ORDER) <= _shipped(SPEC_PACKAGE, "spec")
    assert set(EXAMPLE_FILES) <= _shipped(EXAMPLES_PACKAGE, "examples")
    assert not any(name.startswith("tests") for name in CONFIG["packages"] if name.startswith(SPEC_PACKAGE))


def test_the_distribution_is_ddl_lang_with_complete_metadata() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == "ddl-lang" and project["scripts"] == {"ddl": "ddl.cli:main"}
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert {"Typing :: Typed", "Framework :: Pytest"} <= set(project["classifiers"])
    assert set(project["urls"]) == {"Homepage", "Documentation", "Issues", "Changelog"}
    assert any(r.startswith("setuptools>=77") for r in PYPROJECT["build-system"]["requires"])


def test_every_install_hint_names_the_distribution() -> None:
    hint = re.compile(r"(?:pip|llm) install\s+['\"]?(ddl\b[\w.\[\]-]*)")
    wrong = []
    for path in [*(ROOT / "ddl").rglob("*.py"), *(ROOT / "spec").glob("*.md"), ROOT / "README.md",
                 *(ROOT / "examples").glob("*.ddl"), *(ROOT / "stdlib").glob("*")]:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        wrong += [f"{path.relative_to(ROOT)}: {m}" for m in hint.findall(text) if not m.startswith("ddl-lang")]
    assert not wrong
    assert PLOT_HINT == "pip install 'ddl-lang[plot]'"


def test_the_package_root_shows_its_public_face_and_loads_nothing_for_it() -> None:
    code = ("import sys, ddl; names = dir(ddl); "
            "print(repr((names, sorted(m for m in sys.modules if m.startswith('ddl')), ddl.__all__)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    names, loaded, public = eval(out)  # a printed tuple of lists of names
    assert {"load", "loads", "check", "__version__", "Program", "Family", "CheckReport", "DDLError"} <= set(public)
    assert set(public) <= set(names) and not {"sys", "Any", "annotations"} & set(names)
    assert all(m in ("ddl", "ddl.version") for m in loaded), loaded  # dir() resolved nothing
    import ddl

    assert all(getattr(ddl, name) is not None for name in public)


def test_the_automata_engine_loads_on_its_own() -> None:
    code = "import sys, ddl.regular; print(sorted(m for m in sys.modules if m.startswith('ddl')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    loaded = eval(out)  # a printed list of module names
    # The package root and its version constant only: nothing of the language.
    assert all(m in ("ddl", "ddl.version") or m.startswith("ddl.regular") for m in loaded), loaded


def test_a_source_tree_reads_its_own_spec_examples_and_stdlib(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not another checkout's (an editable install elsewhere maps ddl.stdlib there), not site-packages.
    for name in ("DDL_SPEC_DIR", "DDL_EXAMPLES_DIR", "DDL_STDLIB"):
        monkeypatch.delenv(name, raising=False)
    assert source_checkout() == ROOT
    assert (default_spec_dir(), default_examples_dir(), stdlib_dir()) == (ROOT / "spec", ROOT / "examples",
                                                                          ROOT / "stdlib")
