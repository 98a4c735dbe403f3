"""`ddl check` output as a user (or a code-scanning tool) sees it: SARIF, exit codes, --allow-unknown,
the content-hash cache and --jobs (spec/checks.md, "Output", "Exit codes", "Caching")."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"


def ddl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(DDL), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


WRONG_EXAMPLE = """\
family double {
  param n : Int in 1..5
  program -> Int = n * 2
  example { n = 2 } => 4
  example { n = 3 } => 7
}
"""

# The example's program fails at run time: DDL402 with a note pointing at the division.
FAILS_AT_RUN_TIME = """\
family per_person {
  param amount : Int in 0..100
  param people : Int in 0..4
  program -> Int = amount / people
  example { amount = 10, people = 0 } => 0
}
"""

# b's where-refinement mentions a, so it is not folded into the grammar; it always holds, so sampling
# finds no counterexample: grammar-sound is `unknown` (spec/checks.md).
UNKNOWN_SOUND = """\
family pair {
  param a : Int in 0..9
  param b : Int in 0..9 where b + a >= 0
  grammar {
    "add " a " and " b
  }
  program -> Int = a + b
  example "add 1 and 2" => { a = 1, b = 2 } => 3
}
"""

GOOD = """\
family triple {
  param n : Int in 1..5
  program -> Int = n * 3
  example { n = 2 } => 6
}
"""

COMMON = """\
fn scale(x: Int in 1..5) -> Int = x * 2
"""

USES_COMMON = """\
import "common.ddl" as common

family scaled {
  param n : Int in 1..5
  program -> Int = common::scale(n)
  example { n = 2 } => 4
}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def strip_seconds(report: dict[str, Any]) -> dict[str, Any]:
    for entry in report["files"]:
        for fam in entry["families"]:
            for o in fam["obligations"]:
                assert isinstance(o.pop("seconds"), float | int)
    return report


# ---------------------------------------------------------------------------- SARIF


def check_sarif_shape(log: dict[str, Any]) -> None:
    """The properties SARIF 2.1.0 requires (and the ones code-scanning tools read), checked by hand."""
    assert log["version"] == "2.1.0"
    assert log["$schema"].startswith("https://") and "sarif" in log["$schema"]
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ddl"
    assert isinstance(driver["version"], str) and driver["version"]
    assert driver["informationUri"].startswith("https://")
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids)), "one rule per code"
    for rule in driver["rules"]:
        assert rule["id"].startswith("DDL")
        assert isinstance(rule["shortDescription"]["text"], str) and rule["shortDescription"]["text"]
    assert set(rule_ids) == {r["ruleId"] for r in run["results"]}, "a rule for each code used, and only those"
    for result in run["results"]:
        assert result["level"] in ("error", "warning", "note")
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        for loc in [*result["locations"], *result.get("relatedLocations", [])]:
            phys = loc["physicalLocation"]
            assert isinstance(phys["artifactLocation"]["uri"], str)
            region = phys["region"]
            for key in ("startLine", "startColumn", "endLine", "endColumn"):
                assert isinstance(region[key], int) and region[key] >= 1
            assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])


def test_sarif_reports_refuted_obligations_with_rules_and_locations(tmp_path: Path) -> None:
    from ddl.errors import CATALOGUE

    write(tmp_path, "double.ddl", WRONG_EXAMPLE)
    write(tmp_path, "per_person.ddl", FAILS_AT_RUN_TIME)
    result = ddl("check", "--format", "sarif", "--no-cache", "double.ddl", "per_person.ddl", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    log = json.loads(result.stdout)
    check_sarif_shape(log)
    (run,) = log["runs"]
    rules = {r["id"]: r["shortDescription"]["text"] for r in run["tool"]["driver"]["rules"]}
    assert rules["DDL400"] == CATALOGUE["DDL400"] and rules["DDL402"] == CATALOGUE["DDL402"]
    by_code = {r["ruleId"]: r for r in run["results"]}
    wrong = by_code["DDL400"]
    assert wrong["level"] == "error"
    assert "example[2] refuted" in wrong["message"]["text"]
    assert wrong["properties"] == {"kind": "examples", "subject": "example[2]", "verdict": "refuted",
                                   "family": "double"}
    phys = wrong["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == "double.ddl"  # the path as given
    assert (phys["region"]["startLine"], phys["region"]["startColumn"]) == (5, 3)
    # A note with a span (the failing division) becomes a related location.
    failing = by_code["DDL402"]
    (related,) = failing["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "per_person.ddl"
    assert related["physicalLocation"]["region"]["startLine"] == 4
    assert "DDL300" in related["message"]["text"]


def test_sarif_includes_parse_and_type_errors(tmp_path: Path) -> None:
    write(tmp_path, "syntax.ddl", "family f {\n  param x : Int in 1..5 =\n}\n")
    write(tmp_path, "types.ddl", "family g {\n  param n : Int in 1..5\n  program -> Text = n + 1\n}\n")
    result = ddl("check", "--format", "sarif", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1
    log = json.loads(result.stdout)
    check_sarif_shape(log)
    found = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
             for r in log["runs"][0]["results"]}
    assert found == {("DDL103", "syntax.ddl"), ("DDL202", "types.ddl")}
    for r in log["runs"][0]["results"]:
        assert "properties" not in r  # not an obligation


def test_sarif_of_a_clean_file_has_no_results(tmp_path: Path) -> None:
    write(tmp_path, "good.ddl", GOOD)
    result = ddl("check", "--format", "sarif", "--no-cache", "good.ddl", cwd=tmp_path)
    assert result.returncode == 0
    log = json.loads(result.stdout)
    check_sarif_shape(log)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


# ---------------------------------------------------------------------------- exit codes, --allow-unknown


def test_unknown_obligation_fails_unless_allowed(tmp_path: Path) -> None:
    write(tmp_path, "pair.ddl", UNKNOWN_SOUND)
    strict = ddl("check", "pair.ddl", cwd=tmp_path)
    assert "grammar-sound unknown" in strict.stdout, (
        "precondition: this family's grammar-sound obligation is unknown; if the verifier now proves it, "
        "pick another family the verifier cannot decide\n" + strict.stdout)
    assert strict.returncode == 1
    assert strict.stdout.splitlines()[-1].endswith("1 unknown: 1 error")

    allowed = ddl("check", "--allow-unknown", "pair.ddl", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stdout
    assert allowed.stdout.startswith("pair.ddl:4:3: DDL508: pair: grammar-sound unknown: ")
    assert "   4 |   grammar {" in allowed.stdout
    assert allowed.stdout.splitlines()[-1].endswith("1 unknown: ok (1 unknown allowed)")

    report = json.loads(ddl("check", "--allow-unknown", "--format", "json", "pair.ddl",
                            cwd=tmp_path).stdout)
    assert report["ok"] is True
    (diag,) = report["diagnostics"]
    assert (diag["code"], diag["severity"]) == ("DDL508", "warning")

    log = json.loads(ddl("check", "--allow-unknown", "--format", "sarif", "pair.ddl",
                         cwd=tmp_path).stdout)
    (res,) = log["runs"][0]["results"]
    assert res["level"] == "warning" and res["properties"]["verdict"] == "unknown"
    strict_log = json.loads(ddl("check", "--format", "sarif", "pair.ddl", cwd=tmp_path).stdout)
    assert strict_log["runs"][0]["results"][0]["level"] == "error"
    # An unknown may come from a time limit: it is retried on every run, never cached.
    assert not list((tmp_path / ".ddl-cache").glob("*.json"))


def test_allow_unknown_does_not_excuse_a_refuted_obligation(tmp_path: Path) -> None:
    write(tmp_path, "pair.ddl", UNKNOWN_SOUND)
    write(tmp_path, "double.ddl", WRONG_EXAMPLE)
    result = ddl("check", "--no-cache", "--allow-unknown", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert "double: example[2] refuted: " in result.stdout
    assert result.stdout.splitlines()[-1].endswith(": 1 error (1 unknown allowed)")


def test_unknown_verdict_in_process_with_a_patched_verifier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Independent of how strong the verifier is: an obligation it reports as unknown fails the check."""
    import ddl.cli
    import ddl.verify.family
    from ddl.verify.obligations import Obligation

    real = ddl.verify.family.check_family

    def patched(module: Any, family: Any, evaluator: Any, typed_seconds: float = 0.0, **kw: Any) -> list[Obligation]:
        return [*real(module, family, evaluator, typed_seconds, **kw),
                Obligation("safe", "", "unknown", "the solver timed out", family.span, 0.5, "DDL508")]

    # ddl.api imports it when it checks (deferred), so the verifier's module is where it is patched
    monkeypatch.setattr(ddl.verify.family, "check_family", patched)
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "good.ddl", GOOD)
    assert ddl.cli.main(["check", "--no-cache", "good.ddl"]) == 1
    out = capsys.readouterr().out
    assert "good.ddl:1:1: DDL508: triple: safe unknown: the solver timed out" in out
    assert ddl.cli.main(["check", "--no-cache", "--allow-unknown", "good.ddl"]) == 0
    assert ddl.cli.main(["check", "--no-cache", "--allow-unknown", "--format", "json", "good.ddl"]) == 0
    capsys.readouterr()
    assert ddl.cli.main(["check", "--no-cache", "--format", "json", "good.ddl"]) == 1
    report = json.loads(capsys.readouterr().out)
    verdicts = [o["verdict"] for o in report["files"][0]["families"][0]["obligations"]]
    assert verdicts[-1] == "unknown" and report["ok"] is False


def test_exit_codes(tmp_path: Path) -> None:
    write(tmp_path, "good.ddl", GOOD)
    write(tmp_path, "double.ddl", WRONG_EXAMPLE)
    assert ddl("check", "--no-cache", "good.ddl", cwd=tmp_path).returncode == 0
    assert ddl("check", "--no-cache", "double.ddl", cwd=tmp_path).returncode == 1
    missing = ddl("check", "--no-cache", "nope.ddl", cwd=tmp_path)
    assert missing.returncode == 2 and "no such file or directory: 'nope.ddl'" in missing.stderr
    for bad in (["--jobs", "-1"], ["--jobs", "two"], ["--format", "xml"], ["--no-cache", "--cache-dir", "c"]):
        result = ddl("check", *bad, "good.ddl", cwd=tmp_path)
        assert result.returncode == 2, (bad, result.stderr)
        assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------- JSON shape


def test_json_shape_is_as_documented(tmp_path: Path) -> None:
    write(tmp_path, "double.ddl", WRONG_EXAMPLE)
    write(tmp_path, "per_person.ddl", FAILS_AT_RUN_TIME)
    result = ddl("check", "--format", "json", "--no-cache", ".", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert set(report) == {"ok", "files", "diagnostics"} and report["ok"] is False
    assert [f["path"] for f in report["files"]] == ["double.ddl", "per_person.ddl"]
    for entry in report["files"]:
        assert set(entry) == {"path", "families"}
        for fam in entry["families"]:
            assert set(fam) == {"name", "obligations"}
            for o in fam["obligations"]:
                assert set(o) == {"kind", "subject", "verdict", "evidence", "span", "seconds"}
                assert o["verdict"] in ("proved", "refuted", "unknown")
                assert set(o["span"]) == {"path", "line", "col", "end_line", "end_col"}
    for d in report["diagnostics"]:
        assert set(d) == {"severity", "code", "message", "path", "line", "col", "end_line", "end_col", "notes",
                          "hint"}
    codes = {d["code"] for d in report["diagnostics"]}
    assert {"DDL400", "DDL402"} <= codes


# ---------------------------------------------------------------------------- cache


def test_cache_hit_is_identical_and_fast_and_survives_corruption(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    for name in ("books.ddl", "recipe.ddl", "weather.ddl"):
        shutil.copy(ROOT / "examples" / name, tmp_path / "examples" / name)
    write(tmp_path / "examples", "zz_wrong.ddl", WRONG_EXAMPLE)
    write(tmp_path / "examples", "good.ddl", GOOD)
    write(tmp_path / "examples", "uses_common.ddl", USES_COMMON.replace('"common.ddl"', '"../common.ddl"'))
    write(tmp_path, "common.ddl", COMMON)

    started = time.perf_counter()
    cold = ddl("check", "--format", "json", "examples", cwd=tmp_path)
    cold_seconds = time.perf_counter() - started
    assert cold.returncode == 1
    verdicts = {o["verdict"] for f in json.loads(cold.stdout)["files"] for fam in f["families"]
                for o in fam["obligations"]}
    assert "unknown" not in verdicts, "precondition: every obligation decided (unknown results are not cached)"
    entries = sorted((tmp_path / ".ddl-cache").glob("*.json"))
    assert len(entries) == 6, "one entry per file"
    assert (tmp_path / ".ddl-cache" / ".gitignore").read_text().strip().endswith("*")

    started = time.perf_counter()
    warm = ddl("check", "--format", "json", "examples", cwd=tmp_path)
    warm_seconds = time.perf_counter() - started
    # Identical to the byte, measured "seconds" included: the results were read, not recomputed.
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert warm_seconds < cold_seconds, (warm_seconds, cold_seconds)

    # Text output from the cache still quotes source lines.
    text = ddl("check", "examples", cwd=tmp_path)
    assert "   5 |   example { n = 3 } => 7" in text.stdout

    # Corrupt every entry in different ways: each is recomputed, never a crash.
    damage = [b"", b"{not json", b"[]", b'{"format": 1, "key": "x", "result": {}}', b"\xff\xfe\x00",
              json.dumps({"format": 1, "key": 3, "result": {"path": 1}}).encode()]
    for entry, data in zip(entries, damage):
        entry.write_bytes(data)
    again = ddl("check", "--format", "json", "examples", cwd=tmp_path)
    assert again.stderr == "" and again.returncode == 1
    assert strip_seconds(json.loads(again.stdout)) == strip_seconds(json.loads(cold.stdout))
    # ... and rewritten: the next run is a hit with the recomputed output.
    assert ddl("check", "--format", "json", "examples", cwd=tmp_path).stdout == again.stdout


def test_cache_notices_edits_to_the_file_and_to_its_imports(tmp_path: Path) -> None:
    write(tmp_path, "common.ddl", COMMON)
    main = write(tmp_path, "main.ddl", USES_COMMON)
    cache = tmp_path / "elsewhere"
    assert ddl("check", "--cache-dir", str(cache), "main.ddl", cwd=tmp_path).returncode == 0
    assert len(list(cache.glob("*.json"))) == 1
    assert ddl("check", "--cache-dir", str(cache), "main.ddl", cwd=tmp_path).returncode == 0

    write(tmp_path, "common.ddl", COMMON.replace("x * 2", "x * 3"))  # the import changed: example now wrong
    result = ddl("check", "--cache-dir", str(cache), "main.ddl", cwd=tmp_path)
    assert result.returncode == 1 and "example[1] refuted" in result.stdout

    write(tmp_path, "common.ddl", COMMON)
    assert ddl("check", "--cache-dir", str(cache), "main.ddl", cwd=tmp_path).returncode == 0
    main.write_text(USES_COMMON.replace("=> 4", "=> 5"))  # the file itself changed
    assert ddl("check", "--cache-dir", str(cache), "main.ddl", cwd=tmp_path).returncode == 1

    (tmp_path / "common.ddl").unlink()  # a missing import
    result = ddl("check", "--cache-dir", str(cache), "main.ddl", cwd=tmp_path)
    assert result.returncode == 1 and "DDL217" in result.stdout
    assert len(list(cache.glob("*.json"))) == 1, "an edited file replaces its entry"


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "good.ddl", GOOD)
    assert ddl("check", "--no-cache", "good.ddl", cwd=tmp_path).returncode == 0
    assert not (tmp_path / ".ddl-cache").exists()


def test_unwritable_cache_dir_does_not_fail_the_check(tmp_path: Path) -> None:
    write(tmp_path, "good.ddl", GOOD)
    blocker = write(tmp_path, "blocker", "a file where the cache directory should be")
    result = ddl("check", "--cache-dir", str(blocker / "cache"), "good.ddl", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""


# ---------------------------------------------------------------------------- --jobs


def test_jobs_2_equals_jobs_1(tmp_path: Path) -> None:
    for name in ("books.ddl", "bill.ddl"):
        shutil.copy(ROOT / "examples" / name, tmp_path / name)
    write(tmp_path, "a_double.ddl", WRONG_EXAMPLE)
    write(tmp_path, "m_per_person.ddl", FAILS_AT_RUN_TIME)
    write(tmp_path, "p_pair.ddl", UNKNOWN_SOUND)
    write(tmp_path, "s_syntax.ddl", "family f {\n  param x : Int in 1..5 =\n}\n")
    one = ddl("check", "--no-cache", "--jobs", "1", ".", cwd=tmp_path)
    two = ddl("check", "--no-cache", "--jobs", "2", ".", cwd=tmp_path)
    assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)
    assert one.returncode == 1
    assert "   5 |   example { n = 3 } => 7" in two.stdout  # source lines still rendered
    assert "   4 |   program -> Int = amount / people" in two.stdout
    paths = [line.split(":")[0] for line in two.stdout.splitlines() if re.match(r"[a-z_]+\.ddl:\d+:\d+: DDL", line)]
    assert paths == sorted(paths), "diagnostics in path order"

    # With a cache, some files hit and the rest run in parallel (--jobs 0: one per CPU): the same output.
    ddl("check", "--jobs", "2", "books.ddl", "a_double.ddl", cwd=tmp_path)
    mixed = ddl("check", "--jobs", "0", ".", cwd=tmp_path)
    assert (mixed.returncode, mixed.stdout, mixed.stderr) == (one.returncode, one.stdout, one.stderr)


def test_jobs_2_splits_one_big_file_and_reports_as_jobs_1(tmp_path: Path) -> None:
    # One file with several families: --jobs 2 checks its families in parts, in two processes; the report
    # (families, findings and their order) and the cache entry are those of one process.
    write(tmp_path, "all.ddl", "\n".join([WRONG_EXAMPLE, GOOD, FAILS_AT_RUN_TIME, GOOD.replace("triple", "triple2")]))
    one = ddl("check", "--no-cache", "--jobs", "1", "--format", "json", "--no-timings", "all.ddl", cwd=tmp_path)
    two = ddl("check", "--jobs", "2", "--format", "json", "--no-timings", "all.ddl", cwd=tmp_path)
    assert (two.returncode, two.stdout) == (one.returncode, one.stdout)
    names = [f["name"] for f in json.loads(one.stdout)["files"][0]["families"]]
    assert names == ["double", "triple", "per_person", "triple2"] and one.returncode == 1
    cached = ddl("check", "--jobs", "1", "--format", "json", "--no-timings", "all.ddl", cwd=tmp_path)
    assert (cached.returncode, cached.stdout) == (one.returncode, one.stdout)
