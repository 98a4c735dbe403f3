"""The long versions of the reliability suite, with figures: inputs tried, failures, worst time
and worst memory.

Run:  .venv/bin/python bench/soak.py [--seconds 600] [--only store,kill,frontend,check] [--seed 0]

Soaks (the time is shared between the ones selected; each stops at its share):

* store — concurrent writers: rounds of 2–6 handler processes (``Handler`` over a one-family
  directory, as ``ddl handle``/``ddl serve`` run it) writing queries and feedback at once to a new
  SQLite ledger.  A failure: a writer that exits non-zero, a query or feedback it acknowledged that
  is not in the ledger (or is there twice, or under another utterance), a row nobody acknowledged,
  a ledger that fails ``PRAGMA integrity_check``.  Time: a round's wall time; memory: a writer's
  peak RSS.
* kill — kill -9: rounds of 1–3 writers on one long-lived ledger, each killed with SIGKILL at a
  random moment (after a random number of acknowledged queries, or a random delay); the next round
  opens what they left.  A failure: an acknowledged query or feedback missing, a failed integrity
  check, a ledger the next round cannot open.  Inputs: acknowledged queries.
* frontend — random and mutated .ddl sources and hostile grammars (tests/fuzz_sources.py) through
  ``ddl.api.check_source``, one at a time in a worker process (so a hang is killed and counted, and
  the peak memory is per input: VmHWM, reset before each input).  A crash: an exception that
  escapes ``check_source``, a DDL999 or an uncatalogued code; a timeout: an input over
  ``--input-timeout``; a memory failure: the worker over ``--memory-limit`` (address space).
  Failing inputs are saved under ``--save`` for replay (``ddl check FILE``).
* check — the cost of the damaged-store check (``PRAGMA quick_check`` when a ledger is opened,
  spec/handler.md): a ledger of ``--check-rows`` queries (copies of a real answer of
  examples/weather.ddl), the check alone and ``open_store`` whole.

Prints one table (and the failures below it); exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import fuzz_sources  # noqa: E402
from ledger_writer import FAMILY, WRITER  # noqa: E402


@dataclass
class Row:
    """One line of the table."""

    name: str
    tried: int = 0
    failures: int = 0
    worst_seconds: float = 0.0
    worst_mb: float = 0.0
    note: str = ""
    problems: list[str] = field(default_factory=list)
    slowest: str | bytes | None = None  # the input of worst_seconds (front end)
    largest: str | bytes | None = None  # the input of worst_mb (front end)

    def fail(self, problem: str) -> None:
        self.failures += 1
        if len(self.problems) < 20:
            self.problems.append(problem)


def _env() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environ.get("PYTHONPATH", "")]))
    return environ


# ======================================================================================
# The store: concurrent writers and kill -9
# ======================================================================================


class Writer:
    """A writer process, its output drained by threads (a full pipe would stall it); its
    acknowledged lines, exit code and peak RSS once reaped."""

    def __init__(self, directory: Path, store: Path, tag: str, count: int) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER, str(directory), str(store), tag, str(count)],
                                     cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.tag = tag
        self.lines: list[bytes] = []  # complete lines only: a line cut short was never acknowledged
        self.errors: list[bytes] = []
        self._readers = [threading.Thread(target=self._drain, args=(self.proc.stdout, self.lines), daemon=True),
                         threading.Thread(target=self._drain, args=(self.proc.stderr, self.errors), daemon=True)]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _drain(stream: Any, into: list[bytes]) -> None:
        for line in stream:
            if line.endswith(b"\n"):
                into.append(line)

    def wait_for(self, acknowledged: int, deadline: float) -> None:
        while len(self.lines) < acknowledged and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)

    def reap(self) -> tuple[int, float, list[dict[str, Any]], str]:
        """(exit code, peak RSS in MB, acknowledged rows, stderr)."""
        _, status, usage = os.wait4(self.proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = code
        for reader in self._readers:
            reader.join()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        self.proc.stderr.close()
        rows = [json.loads(line) for line in self.lines]
        return code, usage.ru_maxrss / 1024, rows, b"".join(self.errors).decode("utf-8", "replace")


def _ledger(store: Path) -> tuple[str, dict[int, str], dict[int, str]]:
    """(integrity_check's verdict, id → utterance, query id → correction)."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=30)
    try:
        verdict = "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()[:3])
        queries = dict(conn.execute("SELECT id, utterance FROM ddl_queries"))
        feedback = dict(conn.execute("SELECT query_id, correction FROM ddl_feedback"))
    finally:
        conn.close()
    return verdict, queries, feedback


def _compare(row: Row, what: str, acknowledged: list[dict[str, Any]], store: Path, *, exact: bool) -> None:
    """Every acknowledged query and feedback in the ledger (exact: and nothing else)."""
    try:
        verdict, queries, feedback = _ledger(store)
    except sqlite3.Error as exc:
        row.fail(f"{what}: the ledger cannot be read: {exc}")
        return
    if verdict != "ok":
        row.fail(f"{what}: integrity_check: {verdict}")
    ids = [a["id"] for a in acknowledged]
    if len(ids) != len(set(ids)):
        row.fail(f"{what}: an id was acknowledged twice")
    lost = [a for a in acknowledged if queries.get(a["id"]) != a["utterance"]]
    if lost:
        row.fail(f"{what}: {len(lost)} acknowledged queries missing or altered, e.g. {lost[0]}")
    lost_feedback = [a for a in acknowledged if "feedback" in a and feedback.get(a["id"]) != a["feedback"]]
    if lost_feedback:
        row.fail(f"{what}: {len(lost_feedback)} acknowledged feedback missing, e.g. {lost_feedback[0]}")
    if exact and len(queries) != len(ids):
        row.fail(f"{what}: the ledger has {len(queries)} queries, {len(ids)} were acknowledged")


def soak_concurrent(seconds: float, rng: random.Random, work: Path) -> Row:
    row = Row("store: concurrent writers", note="queries acknowledged")
    directory = work / "families"
    stop = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < stop:
        rounds += 1
        store = work / f"concurrent-{rounds}.sqlite3"
        writers = [Writer(directory, store, f"r{rounds}w{w}", rng.choice([20, 50, 100]))
                   for w in range(rng.randint(2, 6))]
        started = time.monotonic()
        acknowledged: list[dict[str, Any]] = []
        for writer in writers:
            code, mb, rows, err = writer.reap()
            row.worst_mb = max(row.worst_mb, mb)
            acknowledged += rows
            if code != 0:
                row.fail(f"round {rounds}: writer {writer.tag} exited {code}: {err.strip()[-300:]}")
        row.worst_seconds = max(row.worst_seconds, time.monotonic() - started)
        row.tried += len(acknowledged)
        _compare(row, f"round {rounds}", acknowledged, store, exact=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
    row.note = f"{rounds} rounds of 2–6 writers"
    return row


def soak_kill(seconds: float, rng: random.Random, work: Path) -> Row:
    row = Row("store: kill -9 of writers")
    directory = work / "families"
    store = work / "killed.sqlite3"
    stop = time.monotonic() + seconds
    acknowledged: list[dict[str, Any]] = []
    rounds = kills = 0
    while time.monotonic() < stop:
        rounds += 1
        started = time.monotonic()
        writers = [Writer(directory, store, f"k{rounds}w{w}", -1) for w in range(rng.randint(1, 3))]
        for writer in writers:
            if rng.random() < 0.5:
                writer.wait_for(rng.randint(1, 200), time.monotonic() + 30)
            else:
                time.sleep(rng.uniform(0.3, 2.0))  # may be while it opens the ledger
            writer.kill()
            kills += 1
        for writer in writers:
            code, mb, rows, err = writer.reap()
            row.worst_mb = max(row.worst_mb, mb)
            acknowledged += rows
            if code not in (-signal.SIGKILL, 0):
                row.fail(f"round {rounds}: writer {writer.tag} exited {code} before it was killed: {err.strip()[-300:]}")
        row.worst_seconds = max(row.worst_seconds, time.monotonic() - started)
        _compare(row, f"round {rounds}", acknowledged, store, exact=False)
    row.tried = len(acknowledged)
    row.note = f"{rounds} rounds, {kills} SIGKILLs, one ledger"
    return row


# ======================================================================================
# The front end
# ======================================================================================


def _peak_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover - not Linux


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
    except OSError:  # pragma: no cover - not Linux, or not allowed
        pass


def _frontend_worker(conn: Connection, path: str, memory_limit_mb: int) -> None:
    if memory_limit_mb:
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    fuzz_sources.check_outcome("family warm {}", path)  # load the language before the first measure
    while True:
        source = conn.recv()
        _reset_peak()
        started = time.perf_counter()
        problem = fuzz_sources.check_outcome(source, path)
        conn.send((problem, time.perf_counter() - started, _peak_kb() / 1024))


class FrontendWorker:
    def __init__(self, path: str, memory_limit_mb: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_frontend_worker, args=(child, path, memory_limit_mb), daemon=True)
        self.proc.start()

    def run(self, source: str | bytes, timeout: float) -> tuple[str | None, float, float] | None:
        """(problem, seconds, peak MB), or None when it did not answer in time (then it is killed)."""
        self.conn.send(source)
        if self.conn.poll(timeout):
            try:
                answer: tuple[str | None, float, float] = self.conn.recv()
                return answer
            except EOFError:
                return ("the worker died (a crash of the interpreter or the memory limit)", 0.0, 0.0)
        self.stop()
        return None

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()


def _save(save: Path, name: str, source: str | bytes) -> Path:
    save.mkdir(parents=True, exist_ok=True)
    path = save / name
    path.write_bytes(source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass"))
    return path


def soak_frontend(seconds: float, rng: random.Random, work: Path, *, timeout: float, memory_limit_mb: int,
                  save: Path, kinds: list[str] | None = None) -> list[Row]:
    sources = [p.read_text(encoding="utf-8") for p in fuzz_sources.EXAMPLES]
    path = str(work / "fuzz" / "input.ddl")  # imports resolve in an empty directory
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    rows: dict[str, Row] = {}
    worker = FrontendWorker(path, memory_limit_mb)
    stop = time.monotonic() + seconds
    saved = 0
    try:
        while time.monotonic() < stop:
            kind, source = fuzz_sources.draw(rng, sources)
            if kinds and kind not in kinds:
                continue
            row = rows.setdefault(kind, Row(f"front end: {kind}"))
            row.tried += 1
            answer = worker.run(source, timeout)
            if answer is None:
                problem, spent, mb = f"no answer within {timeout:g} s (killed)", timeout, 0.0
                worker = FrontendWorker(path, memory_limit_mb)
            else:
                problem, spent, mb = answer
                if problem is not None and problem.startswith("the worker died"):
                    worker.stop()
                    worker = FrontendWorker(path, memory_limit_mb)
            if spent >= row.worst_seconds:
                row.worst_seconds, row.slowest = spent, source
            if mb >= row.worst_mb:
                row.worst_mb, row.largest = mb, source
            if problem is not None:
                saved += 1
                name = _save(save, f"{kind}-{saved}.ddl", source)
                row.fail(f"{name}: {problem.strip().splitlines()[-1][:300]}")
    finally:
        worker.stop()
    for kind, row in rows.items():  # the costliest inputs, to replay (`ddl check FILE`)
        if row.slowest is not None:
            _save(save, f"{kind}-slowest.ddl", row.slowest)
        if row.largest is not None:
            _save(save, f"{kind}-largest.ddl", row.largest)
    return [rows[k] for k in sorted(rows)]


# ======================================================================================
# The cost of the damaged-store check
# ======================================================================================


def measure_check(rows: int, work: Path) -> Row:
    """A ledger of ``rows`` queries (one real row of the handler, copied), then the quick_check
    alone and open_store whole, each the best of three (the file in the page cache)."""
    from ddl.handler import Handler, HandlerConfig  # deferred: after sys.path is set
    from ddl.handler.store import open_store  # deferred: as above

    store = work / "check.sqlite3"
    directory = work / "weather"  # a real family, so a row is the size of a real answer (~550 bytes)
    directory.mkdir()
    shutil.copy(ROOT / "examples" / "weather.ddl", directory)
    handler = Handler.open(directory, HandlerConfig(store=str(store), extract=False))
    assert handler.handle("weather in paris")["recorded"]
    handler.store.close()
    conn = sqlite3.connect(store, isolation_level=None)
    columns = ("ts, utterance, source, latency_ms, family, family_version, theta, output, text, model, "
               "tokens_in, tokens_out, error")
    one = conn.execute(f"SELECT {columns} FROM ddl_queries").fetchone()
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO ddl_queries ({columns}) VALUES ({', '.join('?' * 13)})",
                     (one for _ in range(rows - 1)))
    conn.execute("INSERT INTO ddl_feedback (query_id, ts, verdict, utterance) "
                 "SELECT id, ts, 'accept', utterance FROM ddl_queries WHERE id % 10 = 0")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size_mb = store.stat().st_size / 1e6

    def best(action: Callable[[], Any]) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            action()
            times.append(time.perf_counter() - started)
        return min(times)

    def quick_check() -> None:
        c = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        assert c.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        c.close()

    check = best(quick_check)
    opened = best(lambda: open_store(store).close())
    row = Row("store: open check", tried=rows, worst_seconds=opened)
    row.note = f"{rows:,} queries, {size_mb:.0f} MB: quick_check {check * 1000:.0f} ms, open_store {opened * 1000:.0f} ms"
    return row


# ======================================================================================


def _print(rows: list[Row], seconds: float) -> None:
    print(f"soak: {seconds:g} s")
    header = f"{'soak':<30} {'inputs':>9} {'failures':>9} {'worst s':>9} {'worst MB':>9}  note"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.name:<30} {row.tried:>9,} {row.failures:>9,} {row.worst_seconds:>9.2f} {row.worst_mb:>9.0f}  {row.note}")
    problems = [(row.name, p) for row in rows for p in row.problems]
    if problems:
        print("\nfailures:")
        for name, problem in problems:
            print(f"  {name}: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="total time of the soaks (default 600)")
    parser.add_argument("--only", default="store,kill,frontend,check",
                        help="comma-separated soaks: store, kill, frontend, check (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-timeout", type=float, default=60.0, help="seconds one front-end input may take")
    parser.add_argument("--memory-limit", type=int, default=4000, help="MB of address space of the front-end worker")
    parser.add_argument("--check-rows", type=int, default=100_000, help="queries in the ledger of the check soak")
    parser.add_argument("--save", type=Path, default=None,
                        help="where failing front-end inputs (and each kind's slowest and largest) go (default: a temp dir)")
    parser.add_argument("--kinds", default="", help="comma-separated front-end input kinds (default: all): "
                        "random, soup, mutated, " + ", ".join(sorted(fuzz_sources.HOSTILE)))
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - {"store", "kill", "frontend", "check"}
    if unknown:
        parser.error(f"unknown soak(s): {', '.join(sorted(unknown))}")
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="ddl-soak-"))
    save = args.save or work / "failures"
    (work / "families").mkdir()
    (work / "families" / "count.ddl").write_text(FAMILY, encoding="utf-8")
    timed = [s for s in only if s != "check"]
    share = {"store": 1.0, "kill": 1.0, "frontend": 2.0}
    total = sum(share[s] for s in timed) or 1.0
    rows: list[Row] = []
    try:
        if "check" in only:
            rows.append(measure_check(args.check_rows, work))
        if "store" in only:
            rows.append(soak_concurrent(args.seconds * share["store"] / total, rng, work))
        if "kill" in only:
            rows.append(soak_kill(args.seconds * share["kill"] / total, rng, work))
        if "frontend" in only:
            rows += soak_frontend(args.seconds * share["frontend"] / total, rng, work, timeout=args.input_timeout,
                                  memory_limit_mb=args.memory_limit, save=save,
                                  kinds=[k.strip() for k in args.kinds.split(",") if k.strip()])
    finally:
        _print(rows, args.seconds)
        keep = save if save.is_relative_to(work) and save.exists() else None
        for child in work.iterdir():
            if child != keep:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        if keep is None:
            work.rmdir()
        else:
            print(f"\nfailing and costliest inputs kept in {keep}")
    return 1 if any(r.failures for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
