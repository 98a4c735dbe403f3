"""How long `ddl check` takes: per obligation, per family, cold vs cached, --jobs 1 vs 2.

    .venv/bin/python bench/check.py            # examples/ and spec/tests/check/ (when present)
    .venv/bin/python bench/check.py --top 20   # only the 20 slowest obligations per directory

Per-obligation and per-family times come from one in-process cold run (no cache) over every file;
a family's time is the sum of its obligations' seconds (``typed`` is the time to type-check its
file). Whole-run times run the installed ``ddl`` console script as a user would: cold (``--no-cache``)
with ``--jobs 1`` and ``--jobs 2``, then a re-check against a warm cache. The goals of issue 4 are
printed with whether each is met: median family under 1 s, all of examples/ under 30 s (cold,
--jobs 1), a cached re-check of examples/ under 0.5 s.
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
    args = parser.parse_args()
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
    return 0 if all(met for _, _, met in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
