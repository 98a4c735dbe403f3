"""How long `ddl check` takes: per obligation, per family, cold vs cached, --jobs 1 vs 2.

    .venv/bin/python bench/check.py            # examples/ and spec/tests/check/ (when present)
    .venv/bin/python bench/check.py --top 20   # only the 20 slowest obligations per directory
    .venv/bin/python bench/check.py --suite    # only the verifier's figures on spec/tests/check/

Per-obligation and per-family times come from one in-process cold run (no cache) over every file;
a family's time is the sum of its obligations' seconds (``typed`` is the time to type-check its
file). Whole-run times run the installed ``ddl`` console script as a user would: cold (``--no-cache``)
with ``--jobs 1`` and ``--jobs 2``, then a re-check against a warm cache. The goals of issue 4 are
printed with whether each is met: median family under 1 s, all of examples/ under 30 s (cold,
--jobs 1), a cached re-check of examples/ under 0.5 s.

The verifier's figures (issue 16) come from its conformance suite, spec/tests/check/: every
failure case names the obligation its one defect must refute (``# refuted: kind(subject)``), every
success case must be proved throughout. Printed: defects caught on the right obligation, caught
only on another one, missed; correct families falsely refuted; families with an obligation left
unknown (besides the cases whose expectation is that verdict); median and max seconds per family
(one cold in-process check of the file); and every case that falls short, with what it got.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DDL = Path(sys.executable).parent / "ddl"

GOAL_MEDIAN_FAMILY = 1.0
GOAL_EXAMPLES_COLD = 30.0
GOAL_CACHED = 0.5
GOAL_UNKNOWN_SHARE = 0.01  # at most 1% of the suite's families with an unknown obligation


def ddl_seconds(*args: str, repeat: int = 1) -> tuple[float, int]:
    """The best wall time of `ddl ARGS` over ``repeat`` runs, and its exit code."""
    best, code = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = subprocess.run([str(DDL), *args], cwd=ROOT, capture_output=True, text=True)
        best = min(best, time.perf_counter() - started)
        code = result.returncode
        if code not in (0, 1):
            sys.exit(f"ddl {' '.join(args)} failed with exit {code}:\n{result.stderr}")
    return best, code


def in_process(files: list[Path]) -> list[tuple[str, dict[str, Any], float]]:
    """(path, family JSON, family seconds) for every family, from one cold run."""
    from ddl.api import check_file

    rows: list[tuple[str, dict[str, Any], float]] = []
    for path in files:
        result = check_file(str(path.relative_to(ROOT)))
        for fam in result.families:
            rows.append((result.path, fam.report_json(), sum(o.seconds for o in fam.obligations)))
    return rows


def title(o: dict[str, Any]) -> str:
    if o["kind"] == "examples":
        return o["subject"]
    return f"{o['kind']}({o['subject']})" if o["subject"] else o["kind"]


def report_directory(name: str, files: list[Path], top: int) -> list[float]:
    print(f"\n== {name}: {len(files)} files")
    rows = in_process(files)
    obligations = [(path, fam["name"], o) for path, fam, _ in rows for o in fam["obligations"]]
    shown = sorted(obligations, key=lambda t: -t[2]["seconds"])[:top] if top else obligations
    heading = f"-- {'the ' + str(top) + ' slowest' if top else 'every'} obligation ({len(obligations)} in all)"
    print(heading)
    print(f"{'seconds':>9}  {'verdict':<8} {'family':<28} obligation")
    for _, family, o in shown:
        print(f"{o['seconds']:9.4f}  {o['verdict']:<8} {family:<28} {title(o)}")

    print("-- per obligation kind")
    print(f"{'kind':<20} {'count':>6} {'total s':>9} {'median s':>9} {'max s':>9}")
    by_kind: dict[str, list[float]] = {}
    for _, _, o in obligations:
        by_kind.setdefault(o["kind"], []).append(o["seconds"])
    for kind, times in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
        print(f"{kind:<20} {len(times):>6} {sum(times):9.3f} {statistics.median(times):9.4f} {max(times):9.4f}")

    print("-- per family")
    print(f"{'seconds':>9}  {'obl.':>4}  {'not proved':>10}  {'family':<28} file")
    for path, fam, seconds in sorted(rows, key=lambda r: -r[2]):
        failing = sum(1 for o in fam["obligations"] if o["verdict"] != "proved")
        print(f"{seconds:9.3f}  {len(fam['obligations']):>4}  {failing:>10}  {fam['name']:<28} {path}")
    unknown = sum(1 for _, _, o in obligations if o["verdict"] == "unknown")
    if unknown:
        print(f"note: {unknown} unknown obligation(s); files with one are not cached, so every re-check redoes them")
    family_times = [seconds for _, _, seconds in rows]
    if family_times:
        print(f"families: {len(family_times)}, median {statistics.median(family_times):.3f} s, "
              f"max {max(family_times):.3f} s, sum {sum(family_times):.3f} s")
    return family_times


def suite_figures(check_dir: Path) -> bool:
    """The verifier's figures on its conformance suite; True when every goal of issue 16 is met."""
    sys.path.insert(0, str(ROOT))  # tests/test_conformance.py reads the case headers: one reader of the format
    from ddl.api import check_source
    from tests.test_conformance import load_case

    print(f"\n== the verifier on its conformance suite ({check_dir.relative_to(ROOT)})")
    caught = elsewhere = missed = expected_unknown = false_refuted = unknown_families = families = 0
    noisy = 0
    times: list[float] = []
    shortfalls: list[tuple[str, str]] = []
    for outcome in ("failure", "success"):
        for path in sorted((check_dir / outcome).glob("*.ddl")):
            case = load_case("check", outcome, path)
            started = time.perf_counter()
            result = check_source(case.source(), str(path.relative_to(ROOT)))
            times.append(time.perf_counter() - started)
            obligations = [o for fam in result.families for o in fam.obligations]
            families += 1
            refuted = [o for o in obligations if o.verdict == "refuted"]
            unknown = [o for o in obligations if o.verdict == "unknown"]
            name = f"{outcome}/{path.stem}"
            if result.module is None:
                shortfalls.append((name, "does not compile: " + "; ".join(f.diagnostic.message for f in result.findings)[:120]))
                if outcome == "failure":
                    missed += 1
                continue
            if outcome == "success":
                if refuted:
                    false_refuted += 1
                    shortfalls.append((name, "falsely refuted: " + ", ".join(f"{o.kind}({o.subject})" for o in refuted)))
                if unknown:
                    unknown_families += 1
                    shortfalls.append((name, "unknown: " + ", ".join(f"{o.kind}({o.subject})" for o in unknown)))
                continue
            if case.unknown is not None:  # the case is about a limit of the verifier: unknown is its verdict
                expected_unknown += 1
                if not any(case.unknown.matches(o.kind, o.subject) for o in unknown):
                    shortfalls.append((name, f"expected {case.unknown} unknown, got "
                                             + (", ".join(f"{o.kind}({o.subject}) {o.verdict}" for o in refuted + unknown)
                                                or "every obligation proved")))
                continue
            target = case.refuted
            assert target is not None, f"{name}: a failure case names the obligation its defect refutes"
            allowed = [target, *case.also_refuted]
            if any(target.matches(o.kind, o.subject) for o in refuted):
                caught += 1
            elif refuted:
                elsewhere += 1
                shortfalls.append((name, f"expected {target} refuted, caught on "
                                         + ", ".join(f"{o.kind}({o.subject})" for o in refuted)))
            else:
                missed += 1
                shortfalls.append((name, f"missed: expected {target} refuted"
                                         + (f"; unknown: {', '.join(f'{o.kind}({o.subject})' for o in unknown)}" if unknown else "")))
            stray = [o for o in refuted if not any(t.matches(o.kind, o.subject) for t in allowed)]
            if stray and any(target.matches(o.kind, o.subject) for o in refuted):
                noisy += 1
                shortfalls.append((name, "also refuted: " + ", ".join(f"{o.kind}({o.subject})" for o in stray)))
            if unknown:
                unknown_families += 1
                shortfalls.append((name, "unknown: " + ", ".join(f"{o.kind}({o.subject})" for o in unknown)))
    defects = caught + elsewhere + missed
    correct = families - defects - expected_unknown
    print(f"{'figure':<52} {'value':>14}")
    print(f"{'families (defective / correct / about a limit)':<52} {f'{defects} / {correct} / {expected_unknown}':>14}")
    print(f"{'defects caught on the right obligation':<52} {f'{caught}/{defects}':>9} {caught / max(1, defects):5.1%}")
    print(f"{'  caught only on another obligation':<52} {elsewhere:>14}")
    print(f"{'  missed (nothing refuted)':<52} {missed:>14}")
    print(f"{'  caught, with an unintended refutation besides':<52} {noisy:>14}")
    print(f"{'correct families falsely refuted':<52} {false_refuted:>14}")
    print(f"{'families with an obligation unknown':<52} {f'{unknown_families}/{families}':>9} "
          f"{unknown_families / max(1, families):5.1%}")
    median, worst = statistics.median(times), max(times)
    print(f"{'seconds per family: median / max':<52} {f'{median:.2f} / {worst:.2f}':>14}")
    if shortfalls:
        print("-- cases that fall short")
        for name, what in shortfalls:
            print(f"  {name:<44} {shorten(what)}")
    goals = [
        ("every defect caught on the right obligation", caught == defects),
        ("no correct family refuted", false_refuted == 0),
        (f"at most {GOAL_UNKNOWN_SHARE:.0%} of families unknown", unknown_families <= GOAL_UNKNOWN_SHARE * families),
        (f"median family at most {GOAL_MEDIAN_FAMILY:g} s", median <= GOAL_MEDIAN_FAMILY),
    ]
    for text, met in goals:
        print(f"{'met    ' if met else 'MISSED '} {text}")
    return all(met for _, met in goals)


def shorten(text: str, limit: int = 110) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def whole_runs(name: str, target: str, repeat: int) -> dict[str, float]:
    print(f"\n== whole runs of `ddl check {target}` (best of {repeat})")
    cold1, _ = ddl_seconds("check", "--no-cache", "--jobs", "1", target, repeat=repeat)
    cold2, _ = ddl_seconds("check", "--no-cache", "--jobs", "2", target, repeat=repeat)
    with tempfile.TemporaryDirectory() as cache:
        ddl_seconds("check", "--cache-dir", cache, target)  # fill the cache
        cached, _ = ddl_seconds("check", "--cache-dir", cache, target, repeat=max(3, repeat))
    print(f"{'run':<32} {'seconds':>9}")
    print(f"{'cold, --jobs 1':<32} {cold1:9.3f}")
    print(f"{'cold, --jobs 2':<32} {cold2:9.3f}   jobs 1 / jobs 2 = {cold1 / cold2:.2f}x")
    print(f"{'cached re-check':<32} {cached:9.3f}   cold / cached = {cold1 / cached:.1f}x")
    floor, _ = ddl_seconds("--version", repeat=max(3, repeat))
    print(f"{'startup floor (ddl --version)':<32} {floor:9.3f}   (part of every run above)")
    return {"cold1": cold1, "cold2": cold2, "cached": cached, "floor": floor}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=0, help="show only the N slowest obligations (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="whole runs: best of N (default 1)")
    parser.add_argument("--suite", action="store_true",
                        help="only the verifier's figures on its conformance suite, spec/tests/check/")
    args = parser.parse_args()
    check_dir = ROOT / "spec" / "tests" / "check"
    if args.suite:
        return 0 if suite_figures(check_dir) else 1
    if not DDL.exists():
        sys.exit(f"the console script is missing: {DDL} (pip install -e .)")

    directories = [("examples", ROOT / "examples")]
    if (ROOT / "spec" / "tests" / "check").is_dir():
        directories.append(("spec/tests/check", ROOT / "spec" / "tests" / "check"))
    family_times: list[float] = []
    for name, directory in directories:
        files = sorted(directory.rglob("*.ddl"))
        if files:
            family_times += report_directory(name, files, args.top)
    runs = {name: whole_runs(name, name + "/", args.repeat) for name, directory in directories
            if any(directory.rglob("*.ddl"))}

    suite_met = suite_figures(check_dir) if check_dir.is_dir() else True

    print("\n== goals")
    median = statistics.median(family_times) if family_times else 0.0
    goals = [
        (f"median family under {GOAL_MEDIAN_FAMILY:g} s", median, median < GOAL_MEDIAN_FAMILY),
        (f"all of examples/ under {GOAL_EXAMPLES_COLD:g} s (cold, --jobs 1)", runs["examples"]["cold1"],
         runs["examples"]["cold1"] < GOAL_EXAMPLES_COLD),
        (f"cached re-check of examples/ under {GOAL_CACHED:g} s", runs["examples"]["cached"],
         runs["examples"]["cached"] < GOAL_CACHED),
    ]
    for text, seconds, met in goals:
        print(f"{'met    ' if met else 'MISSED '} {text}: {seconds:.3f} s")
    return 0 if suite_met and all(met for _, _, met in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
