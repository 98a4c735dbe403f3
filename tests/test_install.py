"""The distribution as users get it: the wheel installed into a fresh environment outside the repository,
and the sdist's own tests where it is unpacked.

Both are built once for the module, offline (``python -m build --no-isolation``), from a copy of the
source tree, so the repository gets no ``build/`` or ``*.egg-info``.  The fresh environment is a venv
whose only way to the dependencies is a ``.pth`` file naming the site-packages directories of the
running interpreter: a ``.pth`` line adds a directory but does not run the ``.pth`` files inside it, so
the editable install of the repository (if any) stays invisible, and ``ddl`` can only come from the
wheel.  Every command runs from a directory outside the repository, without PYTHONPATH.

Building needs ``build`` and setuptools >= 77 (the ``test`` extra names both); without them the
tests skip, and fail under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import attrs
import pytest

from ddl.distill.prompt import task_prompt
from ddl.version import __version__

ROOT = Path(__file__).resolve().parent.parent
FAKELLM = ROOT / "tests" / "fakellm"
UTTERANCE = "recommend 5 fantasy books from the 1980s"
BIN = "Scripts" if os.name == "nt" else "bin"
MIN_SETUPTOOLS = 77  # SPDX `license` and `license-files` (PEP 639)
# What never goes from the working tree into the copy the distributions are built from.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache",
                                    ".ruff_cache", ".hypothesis", "build", "dist", "*.egg-info", ".ddl-cache",
                                    ".ddl-handler", ".ddl-distill")

pytestmark = pytest.mark.slow


def _missing_build_tools() -> str:
    try:
        major = int(metadata.version("setuptools").split(".")[0])
        metadata.version("build")
    except metadata.PackageNotFoundError as exc:
        return f"{exc.name} is not installed (pip install -e '.[test]')"
    if major < MIN_SETUPTOOLS:
        return f"setuptools {metadata.version('setuptools')} is older than {MIN_SETUPTOOLS} (pip install -e '.[test]')"
    return ""


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points Python or ddl at the repository."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP") and not k.startswith("DDL_")}
    env.update(extra)
    return env


def _run(argv: list[str | Path], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@attrs.frozen
class Built:
    wheel: Path
    sdist: Path


@attrs.frozen
class Installed:
    venv: Path
    python: Path
    work: Path  # a directory outside the repository, the commands' working directory
    env: dict[str, str]

    def script(self, name: str) -> Path:
        return self.venv / BIN / name


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    missing = _missing_build_tools()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must build the distributions: {missing}", pytrace=False)
        pytest.skip(missing)
    source = tmp_path_factory.mktemp("source") / "ddl"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("dist")
    proc = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source], source, _clean_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("ddl_lang-*.whl")
    (sdist,) = out.glob("ddl_lang-*.tar.gz")
    return Built(wheel, sdist)


def _dependency_dirs() -> list[str]:
    """The running interpreter's site-packages directories (also those its own .pth files add).

    Only site-packages: never the repository itself (a PYTHONPATH entry), though `make test`'s .venv may
    sit inside it; the editable install there stays inert (its .pth file is not run from here)."""
    dirs = []
    for entry in sys.path:
        path = Path(entry) if entry else None
        if path is None or not path.is_dir():
            continue
        if {"site-packages", "dist-packages"} & set(path.parts):
            dirs.append(str(path.resolve()))
    return list(dict.fromkeys(dirs))


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("fresh")
    venv = base / "venv"
    proc = _run([sys.executable, "-m", "venv", "--without-pip", venv], base, _clean_env())
    assert proc.returncode == 0, proc.stderr
    python = venv / BIN / ("python.exe" if os.name == "nt" else "python")
    env = _clean_env(LLM_USER_PATH=str(base / "llm"), XDG_CACHE_HOME=str(base / "cache"),
                     PATH=f"{venv / BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base, env)
    site_packages = Path(purelib.stdout.strip())
    (site_packages / "outer_dependencies.pth").write_text("\n".join(_dependency_dirs()) + "\n", encoding="utf-8")
    # pip comes from the outer site-packages and installs into the venv it runs in: no index, no dependencies.
    proc = _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
                 "--disable-pip-version-check", "--no-warn-script-location", built.wheel], base, env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    work = base / "work"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "books.ddl", work / "books.ddl")
    shutil.copytree(FAKELLM, base / "fakellm")  # the fake models, found by llm's entry points on PYTHONPATH
    return Installed(venv, python, work, env)


def test_the_installed_wheel_is_complete_and_imported_from_the_venv(installed: Installed) -> None:
    code = ("import json, ddl, importlib.metadata as m; from pathlib import Path; "
            "d = m.distribution('ddl-lang'); "
            "print(json.dumps({'file': ddl.__file__, 'version': ddl.__version__, 'dir': dir(ddl), "
            "'typed': (Path(ddl.__file__).parent / 'py.typed').is_file(), 'meta': d.metadata.json}))")
    proc = _run([installed.python, "-c", code], installed.work, installed.env)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert Path(seen["file"]).resolve().is_relative_to(installed.venv.resolve()), seen["file"]
    assert seen["version"] == __version__ and seen["typed"]
    assert {"load", "check", "__version__", "Program", "Family"} <= set(seen["dir"])
    meta = seen["meta"]
    assert meta["name"] == "ddl-lang" and meta["license_expression"] == "MIT" and meta["license_file"] in ("LICENSE", ["LICENSE"])
    assert "Typing :: Typed" in meta["classifier"] and "Framework :: Pytest" in meta["classifier"]
    assert {u.split(",")[0] for u in meta["project_url"]} == {"Homepage", "Documentation", "Issues", "Changelog"}

    proc = _run([installed.script("ddl"), "--version"], installed.work, installed.env)
    assert proc.returncode == 0 and __version__ in proc.stdout + proc.stderr
    proc = _run([installed.script("ddl"), "check", "books.ddl"], installed.work, installed.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checked 1 file, 1 family" in proc.stdout and proc.stdout.rstrip().endswith("ok")


def test_installed_distill_sends_the_same_full_prompt_as_the_checkout(installed: Installed) -> None:
    script, log = installed.work / "script.json", installed.work / "received.jsonl"
    script.write_text(json.dumps(["no family in this reply"]), encoding="utf-8")
    env = {**installed.env, "PYTHONPATH": str(installed.work.parent / "fakellm"), "DDL_FAKE_SCRIPT": str(script),
           "DDL_FAKE_SCRIPT_LOG": str(log)}
    proc = _run([installed.script("ddl"), "distill", UTTERANCE, "-m", "fake-script", "--phrasings", "0",
                 "--rounds", "0", "-o", "out.ddl"], installed.work, env)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the reply holds no family; the prompt is what counts
    (received,) = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    prompt = received["prompt"]
    assert "is not installed with this copy of ddl" not in prompt
    assert "### From spec/syntax.md" in prompt and "examples/books.ddl:" in prompt and "examples/bill.ddl:" in prompt
    assert prompt == task_prompt(UTTERANCE, phrasings=0)  # the checkout's prompt, character for character


def test_the_installed_llm_plugin_wraps_models_and_runs_ddl(installed: Installed) -> None:
    env = {**installed.env, "PYTHONPATH": str(installed.work.parent / "fakellm")}
    proc = _run([installed.python, "-m", "llm", "plugins"], installed.work, env)
    assert proc.returncode == 0, proc.stderr
    assert "ddl-lang" in {p["name"] for p in json.loads(proc.stdout)}
    proc = _run([installed.python, "-m", "llm", "models"], installed.work, env)
    assert proc.returncode == 0 and "ddl/fake-echo" in proc.stdout, proc.stdout + proc.stderr
    proc = _run([installed.python, "-m", "llm", "ddl", "check", "books.ddl"], installed.work, env)
    assert proc.returncode == 0 and "checked 1 file, 1 family" in proc.stdout, proc.stdout + proc.stderr


def test_the_installed_pytest_plugin_checks_a_family(installed: Installed) -> None:
    # pytest-lsp, seen here through the outer site-packages, stays on: ddl's items carry the empty
    # funcargs its hook wrapper expects. Without the opt-in nothing is collected, and the named file says why.
    quiet = _run([installed.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "books.ddl"],
                 installed.work, installed.env)
    assert quiet.returncode != 0 and "books.ddl is not collected: pass --ddl" in quiet.stdout, quiet.stdout + quiet.stderr
    proc = _run([installed.python, "-m", "pytest", "--ddl", "-q", "-p", "no:cacheprovider", "books.ddl"],
                installed.work, installed.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and " failed" not in proc.stdout


@pytest.fixture(scope="module")
def unpacked(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("sdist")
    with tarfile.open(built.sdist) as archive:
        archive.extractall(where, filter="data")
    (root,) = where.iterdir()
    yield root


# Every test of the sdist is collected (one had 12 collection errors once), but only a representative
# slice runs, not the whole suite: the repository's own run covers that, and running it twice would
# double the suite's time. The slice reads every kind of file the sdist must carry: pyproject.toml and
# the packages (test_packaging), spec/ and ddl/errors.py (test_spec_docs), the README's snippets over
# examples/ (test_readme), one conformance directory of spec/tests, the fake llm models of tests/fakellm
# with their dist-info, stdlib/ (books.ddl imports phrasing), and the console script on examples/.
SDIST_SLICE = " or ".join((
    "test_packaging", "test_spec_docs", "test_readme", "(test_conformance and types/failure)",
    "test_every_other_model_is_wrapped_once", "test_check_reports_type_error_with_caret", "test_run_prints_json"))


def test_the_unpacked_sdist_collects_every_test_and_passes_a_slice(unpacked: Path, tmp_path: Path) -> None:
    env = _clean_env(PYTHONPATH=str(unpacked), XDG_CACHE_HOME=str(tmp_path / "cache"),
                     LLM_USER_PATH=str(tmp_path / "llm"))
    proc = _run([sys.executable, "-c", "import ddl; print(ddl.__file__)"], unpacked, env)
    assert Path(proc.stdout.strip()).resolve().is_relative_to(unpacked.resolve()), proc.stdout + proc.stderr
    proc = _run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "tests",
                 "-k", SDIST_SLICE], unpacked, env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]  # a collection error fails too
    summary = proc.stdout.strip().splitlines()[-1]
    assert " passed" in summary and " deselected" in summary and "failed" not in summary and "error" not in summary
