"""The pytest plugin as a user meets it: opt-in (`--ddl` or `ddl = true`), a check item per file and per
family that fails where `ddl check` fails, ids that paste back, `--lf` that reruns what failed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ddl.api import check

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _inner_loop_scope(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    # The inner runs see pytest-asyncio (installed for the language server's tests) but not this
    # project's ini file: state its loop scope for them too, or each one warns that it is unset.
    # (After pytester's set-up, which clears PYTEST_ADDOPTS.)
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")
        monkeypatch.setenv("PYTEST_ADDOPTS", "-o asyncio_default_fixture_loop_scope=function")

ROOT = Path(__file__).resolve().parent.parent
# Every conformance failure case but one whose ambiguity search alone costs a quarter of a minute (another
# grammar-ambiguous case, grammar/failure/ambiguous.ddl, stays in).
FAILURES = sorted(p for p in (ROOT / "spec" / "tests").glob("*/failure/*.ddl")
                  if p.name != "list_items_split_two_ways.ddl")
FAST = ("--ddl-examples", "5", "--ddl-seed", "1")  # property items stay cheap; these tests are about the items

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

# One example right, one wrong: only the wrong one (and the family's check) may rerun under --lf.
WRONG_EXAMPLE = """\
family halves {
  "Half of a number."
  param n : Int in 0..100
  grammar { "half of " n }
  program -> Int = n / 2
  example "half of 10" => { n = 10 } => 5
  example "half of 4" => { n = 4 } => 3
}
"""

SQL = "CREATE TABLE users (id integer PRIMARY KEY, name text);\n"


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Node id → PASSED/FAILED/SKIPPED, as `pytest -v` prints them."""
    out: dict[str, str] = {}
    for line in result.stdout.lines:
        parts = line.split(" ")
        for i, word in enumerate(parts[1:], 1):
            if word in ("PASSED", "FAILED", "SKIPPED", "ERROR") and "::" in " ".join(parts[:i]):
                out[" ".join(parts[:i])] = word
                break
    return out


def test_without_opt_in_nothing_is_collected_and_the_language_is_not_loaded(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ddl", schema=SQL)
    pytester.makepyfile(test_app="def test_app():\n    assert True\n")
    pytester.makeconftest("""
        import sys
        from pathlib import Path

        def pytest_sessionfinish(session):
            loaded = sorted(m for m in sys.modules if m == "ddl" or m.startswith("ddl."))
            Path("ddl_modules.txt").write_text("\\n".join(loaded))
    """)
    result = pytester.runpytest_subprocess("-v")
    assert result.ret == 0
    assert "test_app.py::test_app PASSED" in result.stdout.str()
    assert "schema.ddl" not in result.stdout.str()
    result.assert_outcomes(passed=1)
    # Only the plugin's own module (and the package it sits in) is imported, nothing of the language.
    loaded = set((pytester.path / "ddl_modules.txt").read_text().split())
    assert loaded <= {"ddl", "ddl.version", "ddl.testing", "ddl.testing.pytest_plugin"}, loaded


def test_a_tuning_option_alone_says_it_does_nothing(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ddl", schema=SQL)
    result = pytester.runpytest("--ddl-profile", "ci", "--ddl-allow-unknown")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["*--ddl-profile, --ddl-allow-unknown have no effect without --ddl "
                                 "(or `ddl = true` in the ini file)*"])


def test_a_ddl_file_named_without_the_opt_in_says_how_to_test_it(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ddl", schema=SQL)
    result = pytester.runpytest("schema.ddl")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*schema.ddl is not collected: pass --ddl (or set ddl = true in the ini file)*"])
    assert "not collected" not in pytester.runpytest().stdout.str()  # a directory run stays silent


@pytest.mark.parametrize("opt_in", ["flag", "pytest.ini", "pyproject.toml"])
def test_opted_in_a_foreign_ddl_file_is_a_parse_error_unless_ignored(pytester: pytest.Pytester, opt_in: str) -> None:
    pytester.makefile(".ddl", schema=SQL)
    args: list[str] = ["--ddl"] if opt_in == "flag" else []
    if opt_in == "pytest.ini":
        pytester.makeini("[pytest]\nddl = true\n")
    if opt_in == "pyproject.toml":
        pytester.makepyprojecttoml("[tool.pytest.ini_options]\nddl = true\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "FAILED schema.ddl::check" in out
    assert "\nschema.ddl:1:1: DDL103: unexpected type name 'CREATE'" in out
    assert "   1 | CREATE TABLE users (id integer PRIMARY KEY, name text);" in out
    assert "Traceback" not in out
    # pytest's own exclusion (the plugin adds none of its own) leaves the file alone.
    result = pytester.runpytest(*args, "--ignore", "schema.ddl")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_collects_a_check_per_file_and_family_examples_and_properties(pytester: pytest.Pytester) -> None:
    shutil.copy(ROOT / "examples" / "books.ddl", pytester.path / "books.ddl")
    result = pytester.runpytest("--ddl", "--collect-only", "-q")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert ids == ["books.ddl::check", "books.ddl::recommend_books::check",
                   *(f"books.ddl::recommend_books::example[{i}]" for i in range(1, 5)),
                   *(f"books.ddl::recommend_books::{p}" for p in
                     ("totality", "determinism", "ensures", "round_trip", "near_misses"))]


def test_good_family_passes(pytester: pytest.Pytester) -> None:
    shutil.copy(ROOT / "examples" / "books.ddl", pytester.path / "books.ddl")
    result = pytester.runpytest("--ddl", "--ddl-profile", "ci")
    assert result.ret == 0
    result.assert_outcomes(passed=11)


def test_defects_are_caught_shrunk_and_shown_as_ddl(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ddl", defect=DEFECTIVE)
    result = pytester.runpytest("--ddl", "--ddl-profile", "ci", "--ddl-seed", "1")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "defect.ddl:6:20: per_person::totality FAILED: { amount = 0, people = 0 } " \
           "fails at run time: DDL300: division by zero" in out
    assert "   6 |   program -> Int = amount / people" in out
    assert "add::round_trip FAILED: G(φ(θ)) ≠ θ" in out
    assert "Traceback" not in out and "def runtest" not in out
    # Each family's check item reports what `ddl check` refutes (the division by zero; the lossy grammar),
    # under a heading that names the family and the item.
    assert "FAILED defect.ddl::per_person::check" in out and "per_person: safe" in out
    assert "FAILED defect.ddl::add::check" in out and "DDL503" in out
    assert "_ per_person::check _" in out
    result.assert_outcomes(failed=4, passed=8, skipped=2)


def test_broken_file_is_one_failing_check_item(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ddl", bad="family f {\n  param n : Int in 1..5\n  program -> Text = n\n}\n")
    result = pytester.runpytest("--ddl")
    result.assert_outcomes(failed=1)
    assert "FAILED bad.ddl::check" in result.stdout.str()
    assert "DDL202: the program's result: expected Text, found Int in 1..5" in result.stdout.str()


BROKEN = "family f {\n  param n : Int in 1..5\n  program -> Text = n\n}\n"


@pytest.mark.parametrize("config", ["ddl.toml", "pyproject.toml"])
def test_what_ddl_check_leaves_out_pytest_leaves_out(pytester: pytest.Pytester, config: str) -> None:
    # The config file's excludes and .gitignore, as `ddl check .` applies them; a file named is still taken.
    if config == "ddl.toml":
        pytester.makefile(".toml", ddl='[check]\nextend-exclude = ["vendored"]\n')
    else:
        pytester.makepyprojecttoml('[tool.ddl]\nextend-exclude = ["vendored"]\n')
    (pytester.path / ".gitignore").write_text("generated/\n", encoding="utf-8")
    for folder in ("vendored", "generated", "mine"):
        (pytester.path / folder).mkdir()
        (pytester.path / folder / "f.ddl").write_text(BROKEN, encoding="utf-8")
    result = pytester.runpytest("--ddl", "--collect-only", "-q")
    assert "mine/f.ddl::check" in result.stdout.str()
    assert "vendored" not in result.stdout.str() and "generated" not in result.stdout.str()
    named = pytester.runpytest("--ddl", "--collect-only", "-q", "vendored/f.ddl")
    assert "vendored/f.ddl::check" in named.stdout.str()


def test_an_example_whose_utterance_is_refuted_fails_its_item_and_the_check(pytester: pytest.Pytester) -> None:
    # `ddl check` refutes utterance[2] (DDL505) while the output of example[2] is right: the example item
    # carries both of its obligations, so neither the family nor the example passes.
    shutil.copy(ROOT / "spec/tests/check/failure/example_utterance_wrong_theta.ddl", pytester.path / "cabin.ddl")
    result = pytester.runpytest("--ddl", "-v", *FAST)
    seen = outcomes(result)
    assert seen["cabin.ddl::cabin_booking::check"] == "FAILED"
    assert seen["cabin.ddl::cabin_booking::example[2]"] == "FAILED"
    assert seen["cabin.ddl::cabin_booking::example[1]"] == "PASSED"
    assert "DDL505: cabin_booking: utterance[2] refuted: 'cabin for 4' yields nights = 1, people = 4" \
           in result.stdout.str()


def test_unknown_fails_the_check_unless_allowed(pytester: pytest.Pytester) -> None:
    shutil.copy(ROOT / "spec/tests/check/failure/grammar_sound_unknown.ddl", pytester.path / "table.ddl")
    result = pytester.runpytest("--ddl", *FAST, "-k", "check")
    result.assert_outcomes(failed=1, passed=1)
    assert "FAILED table.ddl::table_booking::check" in result.stdout.str()
    assert "DDL508: table_booking: grammar-sound unknown" in result.stdout.str()
    for allow in (["--ddl-allow-unknown"], ["-o", "ddl_allow_unknown=true"]):
        result = pytester.runpytest("--ddl", *FAST, "-k", "check", *allow)
        result.assert_outcomes(passed=2)


def test_a_bad_ddl_toml_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", ddl="[check]\nmax_state = 10\n")
    pytester.makefile(".ddl", schema=SQL)
    result = pytester.runpytest("--ddl")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ddl: config file *ddl.toml: unknown key [[]check[]].max_state*"])


class OnlyCheckItems:
    """Keeps the `check` items and records, per file, which of them failed (file or family name)."""

    def __init__(self) -> None:
        self.failed: dict[str, set[str | None]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items[:] = [item for item in items if item.name == "check"]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if call.when == "call":
            family = None if isinstance(item.parent, pytest.File) else item.parent.name  # type: ignore[union-attr]
            failed = self.failed.setdefault(str(item.path), set())
            if report.failed:
                failed.add(family)
        return report


def check_failures(pytester: pytest.Pytester, paths: list[Path], *args: str) -> dict[str, set[str | None]]:
    """Run the check items of ``paths`` under pytest: file → the file (None) or families whose check failed."""
    recorder = OnlyCheckItems()
    pytester.inline_run("--ddl", "-p", "no:cacheprovider", *args, *map(str, paths), plugins=[recorder])
    return recorder.failed


@pytest.mark.slow  # the conformance failure cases, checked twice (about 20 s of CPU)
def test_check_items_fail_exactly_where_ddl_check_fails(pytester: pytest.Pytester) -> None:
    """Differential, over every conformance failure case: per file, pytest fails iff `ddl check` exits 1;
    per family, its check item fails iff `ddl check` reports an error against it -- and, with
    --ddl-allow-unknown, iff `ddl check --allow-unknown` does."""
    report = check(FAILURES, cache=None, keep_modules=True, jobs=2)
    with_unknown = [Path(r.path) for r in report.results if any(f.verdict == "unknown" for f in r.findings)]
    assert len(with_unknown) >= 3
    for allow_unknown, paths in ((False, FAILURES), (True, with_unknown)):
        failed = check_failures(pytester, paths, *(["--ddl-allow-unknown"] if allow_unknown else []))
        results = [r for r in report.results if str(r.path) in failed]
        assert len(results) == len(failed) == (len(report.results) if not allow_unknown else len(with_unknown))
        for result in results:
            path = result.path
            errors = [f for f in result.findings if f.effective(allow_unknown).is_error]
            assert bool(failed[path]) == bool(errors), path  # ddl check's exit status, file by file
            if result.module is None:  # does not compile: one check item, on the file
                assert failed[path] == ({None} if errors else set()), path
                continue
            assert failed[path] == {f.family for f in errors}, path
            # A family fails exactly when one of its obligations is not proved (or its check crashed).
            for fam in result.families:
                unproved = [o for o in fam.obligations
                            if o.verdict == "refuted" or (o.verdict == "unknown" and not allow_unknown)]
                assert (fam.name in failed[path]) == (bool(unproved) or not fam.obligations), (path, fam.name)


def test_every_printed_id_pastes_back(pytester: pytest.Pytester) -> None:
    # A space in a file name, a sub-folder, examples with brackets, a file that does not parse.
    pytester.makefile(".ddl", **{"my halves": WRONG_EXAMPLE, "schema": SQL})
    pytester.mkdir("sub")
    shutil.copy(ROOT / "spec/tests/check/failure/example_utterance_wrong_theta.ddl", pytester.path / "sub" / "cabin.ddl")
    printed = outcomes(pytester.runpytest("--ddl", "-v", *FAST))
    assert len(printed) == 9 + 9 + 1
    assert "my halves.ddl::halves::example[2]" in printed and "sub/cabin.ddl::cabin_booking::example[2]" in printed
    for node_id in printed:
        result = pytester.runpytest("--ddl", "--collect-only", "-q", node_id)
        assert [line for line in result.stdout.lines if "::" in line] == [node_id]
    # `::example` selects every example of the family, as a parametrized test's name does.
    result = pytester.runpytest("--ddl", "--collect-only", "-q", "sub/cabin.ddl::cabin_booking::example")
    assert [line for line in result.stdout.lines if "::" in line] == [
        "sub/cabin.ddl::cabin_booking::example[1]", "sub/cabin.ddl::cabin_booking::example[2]"]


def test_checks_share_ddl_checks_result_cache_unless_told_not_to(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ddl", halves=WRONG_EXAMPLE)
    uncached = outcomes(pytester.runpytest("--ddl", "-v", "--ddl-no-cache", *FAST))
    assert not (pytester.path / ".ddl-cache").exists()  # neither read nor written
    first = outcomes(pytester.runpytest("--ddl", "-v", *FAST))
    assert any((pytester.path / ".ddl-cache").iterdir())  # written, as `ddl check` writes it
    again = outcomes(pytester.runpytest("--ddl", "-v", *FAST))  # read back: the same verdicts
    assert uncached == first == again and again["halves.ddl::halves::example[2]"] == "FAILED"


def test_last_failed_reruns_exactly_the_failed_items(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ddl", halves=WRONG_EXAMPLE, schema=SQL)
    shutil.copy(ROOT / "examples" / "books.ddl", pytester.path / "books.ddl")
    first = outcomes(pytester.runpytest("--ddl", "-v", *FAST))
    failed = {node_id for node_id, outcome in first.items() if outcome == "FAILED"}
    assert failed == {"halves.ddl::halves::check", "halves.ddl::halves::example[2]", "schema.ddl::check"}
    rerun = pytester.runpytest("--ddl", "-v", "--lf", *FAST)
    assert set(outcomes(rerun)) == failed
    assert "run-last-failure: rerun previous 3 failures" in rerun.stdout.str()
    # Fixed, they pass, and the next --lf run has nothing left that failed.
    (pytester.path / "halves.ddl").write_text(WRONG_EXAMPLE.replace("=> 3", "=> 2"))
    (pytester.path / "schema.ddl").unlink()
    rerun = pytester.runpytest("--ddl", "-v", "--lf", *FAST)
    assert outcomes(rerun) == {"halves.ddl::halves::check": "PASSED", "halves.ddl::halves::example[2]": "PASSED"}
