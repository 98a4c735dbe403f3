"""The verifier's proof of power: `ddl check` on the hand-written suite tests/verify/.

Every file holds one family and states, in `#` header lines at its top, what `ddl check` must say:

    # expect: proved                          (tests/verify/correct/*.ddl)
    # expect: refuted depends(genre)          (tests/verify/defective/*.ddl: the one intended defect)
    # expect: refuted safe                    (a subject may be omitted: any obligation of that kind)
    # expect-code: DDL601                     (optional: a diagnostic with this code is reported)
    # also-refuted: examples(example[2])      (optional: a natural consequence of the defect)

A correct family must be proved entirely (exit 0, ok, every obligation proved, a `depends`
obligation for each parameter). A defective family must be refuted (exit 1) on the expected
obligation with non-empty evidence, nothing may be unknown, and nothing else may be refuted
except what an `also-refuted` line names.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "verify"
DDL = Path(sys.executable).parent / "ddl"

KINDS = {
    "typed", "examples", "grammar-nonempty", "grammar-covers", "grammar-sound", "unambiguous",
    "safe", "depends", "no-leak", "reachable", "ensures",
}
TARGET = re.compile(r"^(?P<kind>[a-z-]+)(?:\((?P<subject>[^()]*(?:\[[^\]]*\])?)\))?$")
PARAM = re.compile(r"^\s*param\s+([a-z][A-Za-z0-9_]*)\s*:", re.MULTILINE)
THETA = re.compile(r"with \{ (.*?) \}")
BINDING = re.compile(r'([a-z][A-Za-z0-9_]*) = ("(?:[^"\\]|\\.)*"|[^,]+)(?:, |$)')


@dataclass(frozen=True)
class Target:
    kind: str
    subject: str | None  # None: any obligation of this kind

    def matches(self, obligation: dict[str, Any]) -> bool:
        return obligation["kind"] == self.kind and (self.subject is None or obligation["subject"] == self.subject)

    def __str__(self) -> str:
        return self.kind if self.subject is None else f"{self.kind}({self.subject})"


@dataclass
class Expectation:
    proved: bool
    refuted: Target | None = None
    codes: list[str] = field(default_factory=list)
    also: list[Target] = field(default_factory=list)


def parse_target(text: str) -> Target:
    m = TARGET.match(text.strip())
    assert m is not None, f"malformed obligation {text!r}: write kind or kind(subject)"
    assert m["kind"] in KINDS, f"unknown obligation kind {m['kind']!r}"
    return Target(m["kind"], m["subject"])


def read_header(path: Path) -> Expectation:
    """The `# expect...` lines of the leading comment block."""
    expect: Expectation | None = None
    codes: list[str] = []
    also: list[Target] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        key, sep, value = body.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "expect":
            assert expect is None, f"{path}: two expect lines"
            if value == "proved":
                expect = Expectation(proved=True)
            else:
                verdict, _, target = value.partition(" ")
                assert verdict == "refuted", f"{path}: expect 'proved' or 'refuted <kind>(<subject>)', not {value!r}"
                expect = Expectation(proved=False, refuted=parse_target(target))
        elif key == "expect-code":
            assert re.fullmatch(r"DDL\d{3}", value), f"{path}: malformed code {value!r}"
            codes.append(value)
        elif key == "also-refuted":
            also.append(parse_target(value))
    assert expect is not None, f"{path}: no '# expect:' line in the header"
    expect.codes = codes
    expect.also = also
    return expect


def files(group: str) -> list[Path]:
    return sorted((SUITE / group).glob("*.ddl"))


def case_id(path: Path) -> str:
    return f"verify/{path.parent.name}/{path.stem}"


@functools.cache
def check_all() -> tuple[dict[str, Any], str]:
    """One `ddl check` over the whole suite per test process (a process per file cost minutes)."""
    # --no-cache: the suite must exercise the verifier, not read results of an earlier run.
    command = [str(DDL), "check", "--no-cache", "--format", "json", "tests/verify"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert "Traceback" not in result.stderr, result.stderr
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ddl check did not print JSON (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return report, result.stderr


def check(path: Path) -> tuple[int, dict[str, Any], str]:
    """The report for one file, and the exit code `ddl check FILE` gives (1 when it has an error)."""
    report, stderr = check_all()
    wanted = str(path.relative_to(ROOT))
    files_ = [f for f in report["files"] if Path(f["path"]) == Path(wanted)]
    diagnostics = [d for d in report["diagnostics"] if Path(d["path"]) == Path(wanted)]
    ok = not any(d["severity"] == "error" for d in diagnostics)
    return (0 if ok else 1), {"ok": ok, "files": files_, "diagnostics": diagnostics}, stderr


def obligations(report: dict[str, Any]) -> list[dict[str, Any]]:
    (entry,) = report["files"]
    assert len(entry["families"]) == 1, "one family per file"
    family = entry["families"][0]
    return list(family["obligations"])


def replay_failure(path: Path, evidence: str) -> None:
    """A safe counterexample is real: `ddl run` on its θ fails with a run-time error (DDL3xx)."""
    m = THETA.search(evidence)
    assert m is not None, f"no θ in the evidence: {evidence}"
    args: list[str] = []
    for name, value in BINDING.findall(m.group(1)):
        text = json.loads(value) if value.startswith('"') else value
        args += ["--param", f"{name}={text}"]
    result = subprocess.run([str(DDL), "run", str(path.relative_to(ROOT)), *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and re.search(r": DDL3\d\d: ", result.stderr), (args, result.stdout, result.stderr)


def describe(obs: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {o['kind']}({o['subject']}): {o['verdict']}: {o['evidence']}" for o in obs)


# ---------------------------------------------------------------- the suite's shape


def test_suite_sizes() -> None:
    assert len(files("correct")) >= 20
    assert len(files("defective")) >= 20


def test_defects_cover_every_obligation_kind() -> None:
    kinds = {read_header(p).refuted.kind for p in files("defective")}  # type: ignore[union-attr]
    for kind in ("safe", "depends", "no-leak", "reachable", "ensures", "grammar-covers", "grammar-sound",
                 "unambiguous", "examples"):
        assert kind in kinds, f"no defective family refutes {kind}"


def test_suite_is_formatted() -> None:
    result = subprocess.run([str(DDL), "fmt", "--check", "tests/verify"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", files("correct") + files("defective"), ids=case_id)
def test_header_matches_directory(path: Path) -> None:
    expect = read_header(path)
    assert expect.proved == (path.parent.name == "correct")
    if not expect.proved:
        assert expect.refuted is not None


@pytest.mark.parametrize("path", files("correct"), ids=case_id)
def test_correct_family_is_realistic(path: Path) -> None:
    """Correct families are worth proving: a grammar, postconditions, at least two spoken examples."""
    source = path.read_text(encoding="utf-8")
    assert re.search(r"^  grammar\b", source, re.MULTILINE), "no grammar"
    assert re.search(r"^  ensures\b", source, re.MULTILINE), "no ensures"
    assert len(re.findall(r'^  example "', source, re.MULTILINE)) >= 2, "fewer than two examples with utterances"


# ---------------------------------------------------------------- correct families


@pytest.mark.parametrize("path", files("correct"), ids=case_id)
def test_correct_family_is_proved(path: Path) -> None:
    code, report, stderr = check(path)
    obs = obligations(report)
    not_proved = [o for o in obs if o["verdict"] != "proved"]
    assert not not_proved, describe(not_proved)
    assert code == 0 and report["ok"] is True, f"exit {code}:\n{report['diagnostics']}\n{stderr}"
    params = PARAM.findall(path.read_text(encoding="utf-8"))
    proved_depends = {o["subject"] for o in obs if o["kind"] == "depends"}
    assert set(params) <= proved_depends, f"no depends obligation for {sorted(set(params) - proved_depends)}"


# ---------------------------------------------------------------- defective families


@pytest.mark.parametrize("path", files("defective"), ids=case_id)
def test_defective_family_is_refuted(path: Path) -> None:
    expect = read_header(path)
    target = expect.refuted
    assert target is not None
    code, report, stderr = check(path)
    obs = obligations(report)
    assert code == 1 and report["ok"] is False, f"exit {code}:\n{describe(obs)}\n{stderr}"
    hits = [o for o in obs if target.matches(o) and o["verdict"] == "refuted"]
    assert hits, f"{target} is not refuted:\n{describe(obs)}"
    assert all(o["evidence"].strip() for o in hits), describe(hits)
    unknown = [o for o in obs if o["verdict"] == "unknown"]
    assert not unknown, describe(unknown)
    allowed = [target, *expect.also]
    stray = [o for o in obs if o["verdict"] == "refuted" and not any(t.matches(o) for t in allowed)]
    assert not stray, f"refuted besides {target}:\n{describe(stray)}"
    if target.kind == "safe":
        replay_failure(path, hits[0]["evidence"])
    reported = {d["code"] for d in report["diagnostics"]}
    for wanted in expect.codes:
        assert wanted in reported, f"no {wanted} among {sorted(reported)}"
    assert all(d["code"][:4] not in ("DDL1", "DDL2") for d in report["diagnostics"]), report["diagnostics"]


def test_header_parser(tmp_path: Path) -> None:
    src = tmp_path / "f.ddl"
    src.write_text("# expect: refuted examples(example[2])\n# expect-code: DDL400\n"
                   "# also-refuted: safe\n# also-refuted: no-leak(genre)\nfamily f {}\n# expect: proved\n")
    expect = read_header(src)
    assert not expect.proved and expect.refuted == Target("examples", "example[2]")
    assert expect.codes == ["DDL400"]
    assert expect.also == [Target("safe", None), Target("no-leak", "genre")]
    assert expect.refuted.matches({"kind": "examples", "subject": "example[2]"})
    assert not expect.refuted.matches({"kind": "examples", "subject": "utterance[2]"})
    assert expect.also[0].matches({"kind": "safe", "subject": "division at 3:4"})
    src.write_text("# expect: refuted sound\nfamily f {}\n")
    with pytest.raises(AssertionError, match="unknown obligation kind"):
        read_header(src)
