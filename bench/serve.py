"""``ddl serve`` under load, against a bare Starlette app doing the same one-row durable write.

Run:  .venv/bin/python bench/serve.py [--requests 1500] [--seconds 15] [--rounds 3] [--warmup 800]
                                      [--concurrency 1,8,32] [--in-process 2000]

The default run is bounded (each round stops after --requests or --seconds, whichever comes
first: a few minutes in all); a longer run: --requests 10000 --seconds 60 --rounds 5.

Both servers run the same way, on loopback only: one uvicorn process each (one worker, the h11
protocol, no access log from uvicorn, keep-alive), started by this script as subprocesses; the
load comes from this process over asyncio sockets (HTTP/1.1 keep-alive, one connection per
concurrent client), so client and server never share an interpreter.

* ``ddl serve examples/ --no-extract`` with an SQLite ledger in a temporary directory and its JSON
  access log in a file (``--log-file``): every request is a covered query (the examples' own
  phrasings), answered by a family and recorded in the ledger before the 200 is sent.
* the **bare app**: Starlette on uvicorn with one route, ``POST /query``, which parses the JSON body
  and INSERTs one row of the ledger's ``ddl_queries`` table (with the ledger's index on it),
  committed before the 200, with the SQLite settings the ledger uses (WAL, ``synchronous = FULL``,
  a busy timeout), through one connection shared under a lock, in Starlette's thread pool; it
  answers a JSON object with the keys of ddl serve's answer (θ and output empty).  It is what one
  would write to make that write durable, one commit per request; it does not answer the query,
  route, guard or log.

Before measuring, each server is loaded (one connection: one commit per request on both) until
its ledger's WAL file has stopped growing: a commit that appends to the WAL costs several times
one that reuses it, and ddl serve's group commits fill the WAL in fewer commits, so a fixed
warm-up left ddl serve alone in the slow phase (see :func:`warm_up`).

For each concurrency the two servers alternate ``--rounds`` times (each round sends ``--requests``
requests, or stops after ``--seconds``); the table shows the medians of rps, p50 and p99 latency
and the server's CPU time per request (its process's user + system time, from /proc), and the
ratio ddl/bare of the median rps.  ``--bare-synchronous normal`` measures a bare app that
does not wait for the disk (not durable on power loss) instead.

``--app-cpu N`` first measures the CPU each covered query costs in ddl serve's ASGI app (with the
answers computed beforehand too: the service's own part), in ``Handler.answer_hit`` in a loop of
its own (less than inside the app: in such a loop its data stay in the processor's caches), and in
the bare app without its write, called in-process (no socket, no disk): figures that, unlike the
ratios, do not move with the disk's state.

``--in-process N`` first measures the handler alone (``Handler.handle`` on the same queries, no
HTTP) with no store, with the SQLite ledger from one thread, and from 8 threads at once.

Other work on the machine changes the absolute numbers; the ratios are measured in the same run.
What one durable commit costs on the disk is printed at the start and the end (:func:`commit_probe`):
on a VM whose fsync is sometimes slow it says which regime a run was measured in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
START_TIMEOUT = 300.0  # a clean checkout verifies the examples on first load

# Covered queries: the examples' own phrasings (each is answered deterministically; checked below).
QUERIES = [
    "split $84.60 between 3 people with a 15% tip",
    "recommend 3 mystery books from the 1950s",
    "Suggest 12 sci-fi novels from the 1980s",
    "what date is 30 days after 2024-03-15?",
    "3 months after 2024-01-31",
    "convert 5 miles to kilometers",
    "How many feet in 2.5 meters?",
    "scale the pancakes recipe for 6 people",
    "list customers in Berlin",
    "list log files in /var/log",
]

# ---------------------------------------------------------------------------------------- bare app

BARE_SCHEMA = """CREATE TABLE IF NOT EXISTS ddl_queries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, utterance TEXT NOT NULL,
    source TEXT NOT NULL, latency_ms REAL NOT NULL, family TEXT, family_version TEXT, theta TEXT,
    output TEXT, text TEXT, model TEXT, tokens_in INTEGER, tokens_out INTEGER, error TEXT)"""
# The ledger's index on the same table: each commit updates it too (one more page in the WAL).
BARE_INDEX = "CREATE INDEX IF NOT EXISTS ddl_queries_family ON ddl_queries (family, id)"


def bare_app(write: Callable[[dict[str, Any]], Awaitable[int]]) -> Any:
    """The bare app's Starlette app: ``POST /query`` parses the JSON body, makes an answer of the
    ledger's shape (the keys ddl serve answers with, θ and output left empty), awaits ``write`` of
    it (its id) and answers it."""
    from starlette.applications import Starlette  # deferred: as in run_bare
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def query(request: Request) -> JSONResponse:
        started = time.perf_counter()
        body = json.loads(await request.body())
        answer = {"ts": time.time(), "utterance": body["utterance"], "source": "deterministic",
                  "latency_ms": round((time.perf_counter() - started) * 1000, 3), "family": "bare",
                  "family_version": None, "theta": {}, "output": "ok"}
        answer["id"] = await write(answer)
        answer["recorded"] = True
        return JSONResponse(answer)

    return Starlette(routes=[Route("/query", query, methods=["POST"])])


def run_bare(store: str, synchronous: str) -> None:
    """The bare app (a subprocess of the bench): prints its port on stderr, serves until killed."""
    import sqlite3  # deferred: only the bare app's process needs these

    import uvicorn
    from starlette.concurrency import run_in_threadpool

    conn = sqlite3.connect(store, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute(BARE_SCHEMA)
    conn.execute(BARE_INDEX)
    lock = threading.Lock()

    def write(answer: dict[str, Any]) -> int:
        with lock:  # autocommit: committed (and, with FULL, on disk) when execute returns
            cur = conn.execute(
                "INSERT INTO ddl_queries (ts, utterance, source, latency_ms, family, theta, output) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (answer["ts"], answer["utterance"], answer["source"], answer["latency_ms"], answer["family"],
                 json.dumps(answer["theta"]), json.dumps(answer["output"])))
            return int(cur.lastrowid or 0)

    async def committed(answer: dict[str, Any]) -> int:
        return await run_in_threadpool(write, answer)

    app = bare_app(committed)
    # IPPROTO_TCP, as ddl serve's socket has (getaddrinfo): asyncio disables Nagle only on sockets
    # that say so, and with Nagle on, every response waits 40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False,
                            http="h11", timeout_keep_alive=5)
    print(f"bare app on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=[sock])


# ---------------------------------------------------------------------------------------- servers


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DDL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


@contextmanager
def server(cmd: list[str], name: str) -> Iterator[tuple[int, int]]:
    """Start ``cmd`` (it announces ``http://127.0.0.1:PORT`` on stderr); (its port, its pid); stop it
    after."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port: list[int] = []
    found = threading.Event()
    lines: list[str] = []

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if match and not port:
                port.append(int(match.group(1)))
                found.set()
        found.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not found.wait(START_TIMEOUT) or not port:
            raise SystemExit(f"{name} did not start:\n{''.join(lines)}")
        yield port[0], proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------- client


def _request(port: int, utterance: str) -> bytes:
    body = json.dumps({"utterance": utterance}).encode()
    return (f"POST /query HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, body, headers.get("connection", "").lower() == "close"


async def _load(port: int, concurrency: int, requests: int, seconds: float) -> dict[str, Any]:
    """Send ``requests`` requests (or stop after ``seconds``) over ``concurrency`` connections."""
    payloads = [_request(port, q) for q in QUERIES]
    latencies: list[float] = []
    failures: list[str] = []
    remaining = [requests]
    deadline = time.perf_counter() + seconds

    async def client(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = k
        try:
            while remaining[0] > 0 and time.perf_counter() < deadline:
                remaining[0] -= 1
                started = time.perf_counter()
                writer.write(payloads[i % len(payloads)])
                status, body, close = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                if status != 200 or b'"recorded":true' not in body:
                    failures.append(f"{status} {body[:200]!r}")
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                i += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / wall,
        "p50": latencies[len(latencies) // 2] * 1000 if latencies else float("nan"),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan"),
        "failures": failures,
        "count": len(latencies),
    }


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) process ``pid`` has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(server: tuple[int, int], concurrency: int, requests: int, seconds: float) -> dict[str, Any]:
    """The load of :func:`_load` on ``server`` (port, pid), with the server's CPU ms per request."""
    port, pid = server
    before = cpu_seconds(pid)
    result = asyncio.run(_load(port, concurrency, requests, seconds))
    done = result.pop("count")
    result["cpu"] = (cpu_seconds(pid) - before) * 1000 / max(done, 1)
    return result


def warm_up(server: tuple[int, int], ledger: Path, requests: int) -> None:
    """Load ``server`` until its ledger is in its steady state: the WAL file has been checkpointed
    and is being reused (SQLite's WAL wraps after ``wal_autocheckpoint`` = 1,000 pages).

    Until then every commit appends to the WAL and its fsync must also write the file's new size,
    several times slower than a commit that overwrites WAL pages.  Counting rows is not enough: a
    server that groups commits (ddl serve) fills its WAL with fewer, larger commits, so a fixed
    number of requests left it in the slow phase while the bare app had reached the fast one.  One
    connection, so each request is one commit on both servers, in rounds of ``requests / 4``, until
    a round no longer grows the WAL (by more than a few pages; at least 4 rounds, at most 40)."""
    wal = ledger.with_name(ledger.name + "-wal")
    size = -1
    for round_ in range(40):
        result = load(server, 1, max(requests // 4, 100), 120)
        if result["failures"]:
            raise SystemExit(f"warm-up failed: {result['failures'][:3]}")
        now = wal.stat().st_size if wal.exists() else 0
        if round_ >= 3 and now - size < 64 * 1024:
            return
        size = now
    print(f"note: the WAL of {ledger.name} was still growing after the warm-up", file=sys.stderr)


# ---------------------------------------------------------------------------------------- the disk


def commit_probe(workdir: Path, commits: int = 60) -> float:
    """The median milliseconds of ``commits`` one-row commits made one after another, with the ledger's
    settings (WAL, ``synchronous = FULL``, the bare app's table and index), in a scratch database
    beside the ledgers: what one durable commit costs on this disk at this moment.

    Printed at the start and the end of a run because it can move the ratios more than either
    server does.  On the shared 2-core VM this bench was written on it is either ~0.15-0.2 ms or
    ~4 ms, and it changes from one minute to the next with the machine's other work: in the slow
    state an fsync completes on a ~4 ms tick (with 1 ms between commits each takes ~3 ms).  Then
    both servers at c=1 make about one commit per tick (ratio ~1, whatever their CPU costs), and at
    c=8 the bare app's eight worker threads, taking turns at its lock, were seen to get their
    commits back sooner than ddl serve's one writer thread (a Python probe: 1 thread committing
    in a loop 4.0 ms a commit, 8 threads under one lock 0.86 ms).  Compare runs whose probes agree.
    """
    import sqlite3  # deferred: as in run_bare

    path = workdir / "probe.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(BARE_SCHEMA)
        conn.execute(BARE_INDEX)
        row = (time.time(), QUERIES[0], "deterministic", 0.1, "probe", "{}", '"ok"')
        took = []
        for _ in range(commits):
            started = time.perf_counter()
            conn.execute("INSERT INTO ddl_queries (ts, utterance, source, latency_ms, family, theta, output) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            took.append(time.perf_counter() - started)
        return statistics.median(took) * 1000
    finally:
        conn.close()
        for leftover in workdir.glob("probe.sqlite3*"):
            leftover.unlink()


# ---------------------------------------------------------------------------------------- in process


def in_process(count: int, workdir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor  # deferred: only this part needs ddl itself

    from ddl.handler import Handler, HandlerConfig

    def rate(store: str | None, threads: int) -> float:
        handler = Handler.open(EXAMPLES, HandlerConfig(store=store, extract=False), learn_in_background=False)
        try:
            for q in QUERIES:
                assert handler.handle(q)["source"] == "deterministic", q
            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                answers = list(pool.map(handler.handle, (QUERIES[i % len(QUERIES)] for i in range(count))))
            elapsed = time.perf_counter() - started
            assert all(a["recorded"] == (store is not None) for a in answers)
            return count / elapsed
        finally:
            handler.close()

    rows = [("no store, 1 thread", None, 1), ("SQLite ledger, 1 thread", "1", 1),
            ("no store, 8 threads", None, 8), ("SQLite ledger, 8 threads", "8", 8)]
    print(f"in-process Handler.handle, {count} covered queries (queries/s):")
    for label, tag, threads in rows:
        store = str(workdir / f"inproc-{tag}.sqlite3") if tag else None
        print(f"  {label:28} {rate(store, threads):9,.0f}", flush=True)
    print()


def app_cpu(count: int, workdir: Path) -> None:
    """CPU microseconds (this thread's) per covered query through each ASGI app, called in this
    process with the requests the load sends, no server, no socket and no ledger: the part of a
    request's cost that the disk's state does not change.  The best of 9 rounds of ``count``."""
    import logging  # deferred: only this part needs ddl itself

    from ddl.handler import Handler, HandlerConfig
    from ddl.handler.access_log import JsonFormatter
    from ddl.handler.service import make_app

    logger = logging.getLogger("ddl.serve.bench")  # the access log, in a file as in the bench's ddl serve
    logger.propagate = False
    logger.setLevel(logging.INFO)
    log = logging.FileHandler(workdir / "app-cpu.log", encoding="utf-8")
    log.setFormatter(JsonFormatter())
    logger.addHandler(log)
    handler = Handler.open(EXAMPLES, HandlerConfig(store=None, extract=False), learn_in_background=False)
    answered = {q: handler.answer_hit(q) for q in QUERIES}

    class Answered:
        """The handler with every answer computed beforehand: what is left is the service's part."""

        thread_safe = True
        config = handler.config

        def answer_hit(self, utterance: str) -> Any:
            return answered[utterance]

        async def record_hit(self, record: Any) -> dict[str, Any]:
            return await handler.record_hit(record)

    async def no_write(answer: dict[str, Any]) -> int:
        return 0

    async def one(app: Any, utterance: str) -> None:
        body = json.dumps({"utterance": utterance}).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/query", "raw_path": b"/query", "root_path": "", "query_string": b"",
                 "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000),
                 "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode())]}
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent

    async def per_request(app: Any) -> float:
        for i in range(200):
            await one(app, QUERIES[i % len(QUERIES)])
        best = float("inf")
        for _ in range(9):
            started = time.thread_time()
            for i in range(count):
                await one(app, QUERIES[i % len(QUERIES)])
            best = min(best, time.thread_time() - started)
        return best / count * 1e6

    def answering() -> float:
        best = float("inf")
        for _ in range(9):
            started = time.thread_time()
            for i in range(count):
                handler.answer_hit(QUERIES[i % len(QUERIES)])
            best = min(best, time.thread_time() - started)
        return best / count * 1e6

    try:
        whole = asyncio.run(per_request(make_app(handler, logger=logger)))
        service = asyncio.run(per_request(make_app(Answered(), logger=logger)))
        # Answering inside the app costs more than in a loop of its own: the work around it
        # evicts the router's and the programs' data from the processor's caches.
        rows = [("ddl serve's app", whole), ("  with the answers computed beforehand", service),
                ("  so answering, inside the app", whole - service), ("  Handler.answer_hit in a loop", answering()),
                ("the bare app, without its write", asyncio.run(per_request(bare_app(no_write))))]
    finally:
        handler.close()
        logger.removeHandler(log)
        log.close()
    print(f"in-process ASGI apps, CPU per covered query (µs, best of 9 rounds of {count}):")
    for label, micros in rows:
        print(f"  {label:40} {micros:7.1f}")
    print()


# ---------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500, help="requests per round and concurrency")
    parser.add_argument("--seconds", type=float, default=15.0, help="longest round (seconds)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per concurrency (medians are shown)")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated concurrent connections")
    parser.add_argument("--warmup", type=int, default=800, help="requests per 4 warm-up rounds: each server is loaded until its ledger's WAL "
                        "has stopped growing (the steady state)")
    parser.add_argument("--in-process", type=int, default=0, metavar="N",
                        help="first measure Handler.handle in-process on N queries (0: skip)")
    parser.add_argument("--app-cpu", type=int, default=0, metavar="N",
                        help="first measure the CPU per query of each ASGI app in-process, rounds of N (0: skip)")
    parser.add_argument("--bare-synchronous", choices=("full", "normal"), default="full",
                        help="the bare app's PRAGMA synchronous (full: same durability as the ledger)")
    parser.add_argument("--run-bare", metavar="STORE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_bare:
        run_bare(args.run_bare, args.bare_synchronous.upper())
        return 0
    levels = [int(c) for c in args.concurrency.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="ddl-bench-serve-"))
    try:
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        print(f"one durable commit at start: {commit_probe(workdir):.2f} ms (median of 60 in a row; see commit_probe)",
              flush=True)
        if args.in_process:
            in_process(args.in_process, workdir)
        if args.app_cpu:
            app_cpu(args.app_cpu, workdir)
        ddl = [str(Path(sys.executable).parent / "ddl"), "serve", str(EXAMPLES), "--port", "0", "--no-extract",
               "--store", str(workdir / "ddl.sqlite3"), "--log-file", str(workdir / "serve.log")]
        bare = [sys.executable, str(Path(__file__).resolve()), "--run-bare", str(workdir / "bare.sqlite3"),
                "--bare-synchronous", args.bare_synchronous]
        with server(ddl, "ddl serve") as ddl_server, server(bare, "the bare app") as bare_server:
            for target, ledger in ((ddl_server, workdir / "ddl.sqlite3"), (bare_server, workdir / "bare.sqlite3")):
                warm_up(target, ledger, args.warmup)
            print(f"{'conc':>4} | {'ddl rps':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms':>6} | {'bare rps':>8} "
                  f"{'p50 ms':>7} {'p99 ms':>7} {'cpu ms':>6} | ratio")
            for level in levels:
                runs: dict[str, list[dict[str, Any]]] = {"ddl": [], "bare": []}
                for round_ in range(args.rounds):
                    order = [("ddl", ddl_server), ("bare", bare_server)]
                    for name, target in order if round_ % 2 == 0 else order[::-1]:
                        result = load(target, level, args.requests, args.seconds)
                        if result["failures"]:
                            raise SystemExit(f"{name}: {len(result['failures'])} failed: {result['failures'][:3]}")
                        runs[name].append(result)
                med = {name: {key: statistics.median(r[key] for r in rs) for key in ("rps", "p50", "p99", "cpu")}
                       for name, rs in runs.items()}
                row = " | ".join(f"{m['rps']:>8,.0f} {m['p50']:>7.2f} {m['p99']:>7.2f} {m['cpu']:>6.2f}"
                                 for m in (med["ddl"], med["bare"]))
                print(f"{level:>4} | {row} | {med['ddl']['rps'] / med['bare']['rps']:.2f}x", flush=True)
        print(f"one durable commit at end: {commit_probe(workdir):.2f} ms")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
