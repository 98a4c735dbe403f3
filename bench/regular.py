"""Benchmark of the ddl.regular engine against interegular and greenery, and matching vs re / RE2.

Run:  .venv/bin/python bench/regular.py [--timeout SECONDS] [--quick]

Part 1 (the table): for each named pair of patterns (A, B), the time to

* build   — parse and compile both patterns to (minimal) automata,
* disjoint — decide whether A ∩ B = ∅,
* witness — produce a shortest string of A ∩ B (or report that there is none),
* equiv   — decide whether A = B,

for this engine, interegular and greenery (installed only for this benchmark:
``pip install interegular greenery``; missing ones print n/a).  Every operation of
every engine runs in its own subprocess and gets ``--timeout`` seconds (reported
as ``>T s`` when it runs out; the process is killed).  Times are the best of
up to 300 repetitions on fresh automata (so nothing is cached between runs).
Ratios are competitor time / our time (> 1 means this engine is faster).

Part 2: matching throughput — whole-string match with named captures, µs per
utterance on sampled intent utterances (members and one-edit near misses) and
MB/s on a long input, for ``Matcher`` (and plain DFA membership), Python ``re``
and RE2; and a catastrophic-backtracking pattern on 100,000 characters.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

PAIRS: list[tuple[str, str, str]] = [
    ("bounded repetition", r"[a-z]{1,30}( [a-z]{1,30}){0,10}", r"([a-z]+ )*books"),
    (
        "intent grammars",
        r"(recommend|suggest) [0-9]{1,2} (fantasy|mystery|romance|science fiction) books( from the [0-9]{4}s)?",
        r"(show|give) me [a-z]+( [a-z]+){0,3}",
    ),
    (
        "overlapping intents",
        r"(show|give) me [a-z]+( [a-z]+){0,3}",
        r"(show|give) me (some |a few )?(books|films)( about [a-z]+)?",
    ),
    ("dates", r"[0-9]{4}-[0-9]{2}-[0-9]{2}", r"[0-9]{2}/[0-9]{2}/[0-9]{4}|[0-9]{4}-1[0-2]-[0-9]{2}"),
    ("emails", r"[a-z0-9._]+@[a-z0-9]+\.(com|org|net)", r"[a-z]+@example\.com"),
    ("numbers", r"(0|[1-9][0-9]{0,2})(,[0-9]{3})*", r"[0-9]{1,3}(,[0-9]{3}){0,3}"),
    ("equivalent", r"(a|b)*", r"(a*b*)*"),
    ("unicode classes", r"[^a-z]+", r"[α-ω]+ ?日本"),
    ("k-th from end", r"(a|b)*a(a|b){7}", r"(a|b)*b(a|b){7}"),
    ("long bounded", r"[a-z]{1,80}", r"[a-m]{40,}"),
]

OPS = ("build", "disjoint", "witness", "equiv")


# ------------------------------------------------------------------ engines (run in a child process)


def _ddl_ops(p1: str, p2: str) -> dict[str, Callable[[Any], Any]]:
    from ddl.regular import Lang

    return {
        "build": lambda _: (Lang.parse(p1), Lang.parse(p2)),
        "disjoint": lambda ab: ab[0].disjoint(ab[1])[0],
        "witness": lambda ab: (ab[0] & ab[1]).witness(),
        "equiv": lambda ab: ab[0].equivalent(ab[1])[0],
    }


def _interegular_ops(p1: str, p2: str) -> dict[str, Callable[[Any], Any]]:
    import interegular

    def witness(ab: Any) -> Any:
        both = ab[0] & ab[1]
        return None if both.empty() else "".join(map(str, next(iter(both.strings()))))

    return {
        "build": lambda _: (interegular.parse_pattern(p1).to_fsm(), interegular.parse_pattern(p2).to_fsm()),
        "disjoint": lambda ab: ab[0].isdisjoint(ab[1]),
        "witness": witness,
        "equiv": lambda ab: ab[0].equivalent(ab[1]),
    }


def _greenery_ops(p1: str, p2: str) -> dict[str, Callable[[Any], Any]]:
    import greenery

    def witness(ab: Any) -> Any:
        both = ab[0] & ab[1]
        return None if both.empty() else next(iter(both.strings([])), None)

    return {
        "build": lambda _: (greenery.parse(p1).to_fsm(), greenery.parse(p2).to_fsm()),
        "disjoint": lambda ab: ab[0].isdisjoint(ab[1]),
        "witness": witness,
        "equiv": lambda ab: ab[0].equivalent(ab[1]),
    }


ENGINES: dict[str, Callable[[str, str], dict[str, Callable[[Any], Any]]]] = {
    "ddl.regular": _ddl_ops,
    "interegular": _interegular_ops,
    "greenery": _greenery_ops,
}


def _best_time(fn: Callable[[Any], Any], make_input: Callable[[], Any], budget: float = 0.5, reps: int = 300) -> float:
    """Best of up to ``reps`` runs on fresh inputs, within about ``budget`` seconds of measured time."""
    best = float("inf")
    spent = 0.0
    wall = time.perf_counter()
    for _ in range(reps):
        arg = make_input()
        t0 = time.perf_counter()
        fn(arg)
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        # stop on measured budget, or when slow untimed setup dominates the wall clock
        if spent > budget or time.perf_counter() - wall > 4 * budget:
            break
    return best


def _child(engine: str, p1: str, p2: str, op: str, conn: Any) -> None:
    """Measure one operation of one engine (in a fresh process); sends the time or a message."""
    try:
        ops = ENGINES[engine](p1, p2)
    except ImportError:
        conn.send("n/a (not installed)")
        return
    try:
        if op == "build":
            conn.send(_best_time(ops["build"], lambda: None))
        else:
            conn.send(_best_time(ops[op], lambda: ops["build"](None)))
    except Exception as e:  # e.g. unsupported syntax
        conn.send(f"n/a ({type(e).__name__})")


def measure(engine: str, p1: str, p2: str, timeout: float) -> dict[str, float | str]:
    """Each operation in its own subprocess, killed after ``timeout`` seconds."""
    ctx = mp.get_context("fork")
    results: dict[str, float | str] = {}
    for op in OPS:
        if op != "build" and not isinstance(results["build"], float):
            results[op] = "—"  # nothing to operate on
            continue
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(engine, p1, p2, op, child), daemon=True)
        proc.start()
        child.close()
        # the child first builds the automata (untimed for ops other than build)
        built = results.get("build")
        slack = timeout + 3.0 + (built * 3 if isinstance(built, float) else 0.0)
        results[op] = parent.recv() if parent.poll(slack + 1.0) else f">{timeout:g} s"
        proc.kill()
        proc.join()
    return results


# ------------------------------------------------------------------ formatting


def fmt_time(t: float | str) -> str:
    if isinstance(t, str):
        return t
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    return f"{t:.2f} s"


def fmt_ratio(ours: float | str, theirs: float | str) -> str:
    if isinstance(ours, str):
        return ""
    if isinstance(theirs, str):
        if theirs.startswith(">"):
            try:
                bound = float(theirs[1:].split()[0])
            except ValueError:
                return ""
            return f">{bound / ours:,.0f}×"
        return ""
    return f"{theirs / ours:,.1f}×"


def print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


# ------------------------------------------------------------------ part 2: matching


def _re_child(pattern: str, text: str, conn: Any) -> None:
    import re

    t0 = time.perf_counter()
    re.fullmatch(pattern, text)
    conn.send(time.perf_counter() - t0)


def _timed_re(pattern: str, text: str, timeout: float) -> float | str:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_re_child, args=(pattern, text, child), daemon=True)
    proc.start()
    child.close()
    out: float | str = parent.recv() if parent.poll(timeout) else f">{timeout:g} s"
    proc.kill()
    proc.join()
    return out


def _time_each(fn: Callable[[str], Any], inputs: list[str], reps: int = 5) -> float:
    """Best total time of applying ``fn`` to every input."""

    def run(_: Any) -> None:
        for u in inputs:
            fn(u)

    return _best_time(run, lambda: None, budget=1.0, reps=reps)


def _with_groups(compiled: Any) -> Callable[[str], Any]:
    def go(u: str) -> Any:
        r = compiled.fullmatch(u)
        return r.groupdict() if r else None

    return go


def matching(timeout: float, quick: bool) -> None:
    import re

    import re2

    from ddl.regular import Lang, Matcher, parse

    intent = (
        r"(?P<verb>recommend|suggest) (?P<n>[0-9]{1,2}) (?P<genre>fantasy|mystery|romance|science fiction) "
        r"books( from the (?P<decade>[0-9]{4})s)?"
    )
    words = r"(?P<verb>show|give) me (?P<what>[a-z]+( [a-z]+){0,3})"
    rng = random.Random(7)
    rows: list[list[str]] = []
    n_utt = 500 if quick else 3000
    for name, pattern in (("intent (captures)", intent), ("words (captures)", words)):
        lang = Lang.parse(pattern)
        utts = []
        for _ in range(n_utt):
            u = lang.sample(rng, rng.choice(lang.lengths(60)))
            if rng.random() < 0.3:  # a near miss
                i = rng.randrange(len(u))
                u = u[:i] + rng.choice("xz9 ") + u[i + 1 :]
            utts.append(u)
        engines: list[tuple[str, Callable[[str], Any]]] = [
            ("Matcher.fullmatch", Matcher(parse(pattern)).fullmatch),
            ("Lang.contains (no captures)", lang.contains),
            ("re", _with_groups(re.compile(pattern))),
            ("re2", _with_groups(re2.compile(pattern))),
        ]
        for label, fn in engines:
            t = _time_each(fn, utts)
            rows.append([name, label, f"{t / len(utts) * 1e6:.1f} µs/utt", ""])

    long_pattern = r"(?P<first>[a-z]+)(?: [a-z]+)*"
    text = " ".join(rng.choice(["fantasy", "books", "from", "the", "mystery", "a"]) for _ in range(150_000))
    mb = len(text.encode()) / 1e6
    long_engines: list[tuple[str, Callable[[str], Any]]] = [
        ("Matcher.fullmatch", Matcher(parse(long_pattern)).fullmatch),
        ("Lang.contains (no captures)", Lang.parse(long_pattern).contains),
        ("re", _with_groups(re.compile(long_pattern))),
        ("re2", _with_groups(re2.compile(long_pattern))),
    ]
    for label, fn in long_engines:
        t = _time_each(fn, [text], reps=3)
        rows.append([f"long input ({mb:.1f} MB)", label, f"{mb / t:.1f} MB/s", fmt_time(t)])

    cat = r"(a+)+b"
    text = "a" * 100_000
    t_ours = _time_each(Matcher(parse(cat)).fullmatch, [text], reps=3)
    t_re2 = _time_each(re2.compile(cat).fullmatch, [text], reps=3)
    t_re = _timed_re(cat, "a" * 40, timeout)
    rows.append(["(a+)+b on 100k 'a'", "Matcher.fullmatch", fmt_time(t_ours), ""])
    rows.append(["(a+)+b on 100k 'a'", "re2", fmt_time(t_re2), ""])
    rows.append(["(a+)+b on 40 'a'", "re", fmt_time(t_re), "exponential backtracking"])
    print()
    print_table(rows, ["matching", "engine", "speed", "note"])


# ------------------------------------------------------------------ main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per operation for a competitor")
    ap.add_argument("--quick", action="store_true", help="fewer utterances in the matching part")
    args = ap.parse_args()

    print(f"ddl.regular benchmark (Python {sys.version.split()[0]}; timeout {args.timeout:g} s per operation)")
    print()
    rows: list[list[str]] = []
    worst: dict[str, float] = {}
    for name, p1, p2 in PAIRS:
        res = {e: measure(e, p1, p2, args.timeout) for e in ENGINES}
        ours = res["ddl.regular"]
        for op in OPS:
            ie, gr = res["interegular"][op], res["greenery"][op]
            rows.append(
                [
                    name if op == "build" else "",
                    op,
                    fmt_time(ours[op]),
                    fmt_time(ie),
                    fmt_ratio(ours[op], ie),
                    fmt_time(gr),
                    fmt_ratio(ours[op], gr),
                ]
            )
            mine = ours[op]
            if isinstance(mine, float) and isinstance(ie, float):
                worst[f"{name}/{op}"] = ie / mine
    print_table(rows, ["pair", "op", "ddl.regular", "interegular", "ratio", "greenery", "ratio"])
    if worst:
        k = min(worst, key=worst.__getitem__)
        print(f"\nslowest relative to interegular: {k} ({worst[k]:.1f}×; ratios > 1 mean ddl.regular is faster)")
    for name, p1, p2 in PAIRS:
        print(f"  {name}: A = {p1}\n  {' ' * len(name)}  B = {p2}")
    matching(args.timeout, args.quick)


if __name__ == "__main__":
    main()
