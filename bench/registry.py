"""Issue 17's registry figures: cold `ddl check`, a registry load from a warm cache, `ddl handle` start-up.

Run:  .venv/bin/python bench/registry.py              # k = 1,000 (load), 300 (cold check): a few minutes
      .venv/bin/python bench/registry.py --full       # k = 10,000 for both (the issue's size; ~10 minutes+)
      .venv/bin/python bench/registry.py --k 2000 --cold-k 500 --rounds 5

In one run, on families made by bench/synth_families.py (in modules of ≤ 400 kB, as bench/route.py
writes them), each figure next to a baseline measured in the same run:

* cold check — `ddl check --jobs 1` and `--jobs 2` (subprocesses, empty cache) of --cold-k families;
  the `--jobs 2` run writes the cache the next figure reads (as `ddl check` before `ddl serve` does).
  Baseline: `--jobs 1`; the issue's goal is ≤ 120 s at 10,000 families with `--jobs 2`;
* registry load — ``Registry.load`` with a warm cache (in-process, median of --rounds), split into the
  cache part (``check_seconds``: reading and hashing the files and the cache entries) and the rest
  (router and overlap outcome from the cache), opened lazily (``eager=False``: a family's module,
  program and grammar are loaded or built on its first hit) and eagerly (every family prepared: no
  first-hit penalty).  Baselines: reading and hashing the same files, and ``pickle.loads`` of one
  plain dict per family; the goal is ≤ 5 s at 10,000;
* ``ddl handle`` — one covered query against a copy of examples/ with a warm cache (subprocess wall
  time, process start included, median of --rounds), against ``python -c pass``; the goal is ≤ 0.15 s.

Other processes share the machine: trust the same-run ratios more than the absolute times, and
read the load average printed with the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from synth_families import make_families, module_sources  # noqa: E402

PYTHON = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
HANDLE_QUERY = "recommend 5 fantasy books"  # examples/books.ddl's grammar answers it


def write_families(k: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(module_sources(make_families(k, seed=0))):
        (directory / f"families_{i:03}.ddl").write_text(text, encoding="utf-8")


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def wall(cmd: list[str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    return time.perf_counter() - started, done


def cold_check(directory: Path, jobs: int, cache: Path | None) -> float:
    flags = ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    seconds, done = wall([PYTHON, "-m", "ddl", "check", *flags, "--jobs", str(jobs), str(directory)])
    if done.returncode not in (0, 1):
        sys.exit(f"ddl check failed ({done.returncode}):\n{done.stderr[-2000:]}")
    print(f"    --jobs {jobs}: {seconds:8.1f} s   ({done.stdout.strip().splitlines()[-1]})", flush=True)
    return seconds


def registry_load(directory: Path, cache: Path, rounds: int) -> None:
    from ddl.handler.registry import Registry

    lazy: list[float] = []
    totals: list[float] = []
    cached: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        registry = Registry.load(directory, cache_dir=cache, eager=False)
        lazy.append(time.perf_counter() - started)
        started = time.perf_counter()
        registry = Registry.load(directory, cache_dir=cache)
        totals.append(time.perf_counter() - started)
        cached.append(registry.check_seconds)
        if registry.files_checked:
            print(f"    warning: {registry.files_checked} files were checked, not read from the cache")
    served = len(registry.served)
    files = sorted(directory.glob("*.ddl"))

    def read_and_hash() -> None:
        for f in files:
            hashlib.sha256(f.read_bytes()).hexdigest()

    plain = pickle.dumps([{"name": f"family_{i}", "path": str(files[0]), "version": "0" * 16, "priority": 0,
                           "params": {"a": "Int", "b": "Text"}, "grammar": "x" * 200} for i in range(served)])
    base_read = median_of(read_and_hash, rounds)
    base_pickle = median_of(lambda: pickle.loads(plain), rounds)
    total, part, opened = statistics.median(totals), statistics.median(cached), statistics.median(lazy)
    print(f"    Registry.load, warm cache, lazy:  {opened:8.2f} s  ({served} served; goal at 10,000: ≤ 5 s)")
    print(f"    Registry.load, warm cache, eager: {total:8.2f} s  (every family prepared: no first-hit penalty)")
    print(f"      of which the cache (modules):   {part:8.2f} s   the rest (programs, router): {total - part:.2f} s")
    print(f"    baseline: read + sha256 the files {base_read:8.3f} s   ratio lazy {opened / base_read:8.1f}×")
    print(f"    baseline: pickle.loads {served} dicts {base_pickle:8.3f} s   ratio lazy {opened / base_pickle:8.1f}×")


def median_of(fn: object, rounds: int) -> float:
    assert callable(fn)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def handle(rounds: int) -> None:
    # Bytecode written and read, as an installed package has it (PYTHONDONTWRITEBYTECODE would make every
    # process compile ddl's sources again).
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="ddl-bench-handle-") as tmp:
        directory = Path(tmp) / "examples"
        shutil.copytree(ROOT / "examples", directory, ignore=shutil.ignore_patterns(".ddl-cache", ".ddl-handler"))
        cmd = [PYTHON, "-m", "ddl", "handle", ".", HANDLE_QUERY]
        _, first = wall(cmd, cwd=directory)  # warms the cache
        if first.returncode != 0:
            sys.exit(f"ddl handle failed ({first.returncode}):\n{first.stderr[-2000:]}")
        ours: list[float] = []
        base: list[float] = []
        imports: list[float] = []
        for _ in range(rounds):  # interleaved: a change of load hits all three alike
            ours.append(wall(cmd, cwd=directory)[0])
            base.append(wall([PYTHON, "-c", "pass"])[0])
            imports.append(wall([PYTHON, "-c", "import ddl.commands.handler"])[0])
    o, b, i = statistics.median(ours), statistics.median(base), statistics.median(imports)
    print(f"    ddl handle (warm cache):          {o:8.3f} s   (goal ≤ 0.15 s)")
    print(f"    baseline: python -c pass          {b:8.3f} s   ratio {o / b:8.1f}×")
    print(f"    of which importing the handler:   {i:8.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=1000, help="families in the warm registry load (default 1,000)")
    parser.add_argument("--cold-k", type=int, default=300, help="families in the cold checks (default 300)")
    parser.add_argument("--full", action="store_true", help="k = cold-k = 10,000 (the issue's size)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per median (default 3)")
    parser.add_argument("--skip-cold", action="store_true", help="no cold checks (the load warms its own cache)")
    parser.add_argument("--skip-jobs1", action="store_true", help="only the --jobs 2 cold check")
    args = parser.parse_args()
    k, cold_k = (10_000, 10_000) if args.full else (args.k, args.cold_k)
    print(f"load average at start: {load_average()} (2 cores; other work shares them)")
    with tempfile.TemporaryDirectory(prefix="ddl-bench-registry-") as tmp:
        root = Path(tmp)
        cache = root / "cache"
        big = root / f"k{k}"
        if args.skip_cold or cold_k != k:
            write_families(k, big)
        if not args.skip_cold:
            cold = root / f"cold{cold_k}"
            write_families(cold_k, cold)
            print(f"cold ddl check of {cold_k:,} families ({len(list(cold.glob('*.ddl')))} files):", flush=True)
            one = None if args.skip_jobs1 else cold_check(cold, 1, None)
            two = cold_check(cold, 2, cache if cold_k == k else None)
            if one is not None:
                print(f"    --jobs 2 / --jobs 1: {two / one:.2f}")
        if args.skip_cold or cold_k != k:
            started = time.perf_counter()
            from ddl.handler.registry import Registry

            Registry.load(big, cache_dir=cache, jobs=2)
            print(f"(warming the cache for {k:,} families: {time.perf_counter() - started:.1f} s)", flush=True)
        else:
            big = root / f"cold{cold_k}"
        print(f"registry of {k:,} families ({len(list(big.glob('*.ddl')))} files), load average {load_average()}:")
        registry_load(big, cache, args.rounds)
    print(f"ddl handle, one covered query ({HANDLE_QUERY!r}, examples/), load average {load_average()}:")
    handle(args.rounds)


if __name__ == "__main__":
    main()
