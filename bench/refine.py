"""How well does refinement from feedback find a known split, and how fast?  (issue 8, "Measure")

Run:  .venv/bin/python bench/refine.py [--sizes 50,200,1000] [--seed 0] [--heldout 500]
                                       [--scenarios a,b,c,d,e] [--timeout 120] [--clean]

Synthetic feedback with a known true split.  For each scenario the bench draws utterances from a
family's grammar as `ddl grammar sample` does (a random length, among those of at most 60
characters that have an utterance, then a uniform utterance of that length), labels each one by
the scenario's *true rule* (on θ as the handler records it — defaults filled, JSON form — or on the
text), and writes them into a fresh SQLite store in a temporary directory (in /dev/shm when there is one, so
that the store's per-write fsync does not dominate the run) exactly as the handler
would: one ``QueryRecord`` per utterance (source "deterministic", θ) and one accept/reject verdict
on it.  By default a fifth of the stored utterances get a capital first letter or doubled spaces,
as users type them (the family's grammar ignores case and normalizes spaces; ``--clean`` stores
them as sampled).  Then it times

* collect — ``ddl.refine.collect_feedback(store, family, grammar)``;
* learn   — ``ddl.refine.learn_split(fs, family, evaluator, grammar)`` (method "auto" unless the
  scenario says otherwise; the learner's own checks are part of this time);
* check   — ``ddl.refine.check_split(g_plus, g_minus, fs)`` once more, as a reviewer (or ``ddl
  refine``) would re-check a split: G+ and G− non-empty (with witnesses), every accepted utterance
  in G+ and every rejected one in G−.

and scores G+ as a classifier of "should be accepted" on --heldout utterances drawn the same way
but from a separate random stream, none of them among the feedback utterances (after
normalization), labelled by the true rule without noise: a true positive is an utterance in G+
that the rule accepts.  precision = TP / |held-out ∩ G+|, recall = TP / |held-out accepted by the
rule|; "base" is the share of held-out utterances the rule accepts (the precision of not
splitting at all, G+ = G).

The feedback sets are nested: the 50 items of a scenario are the first 50 of its 200, which are the
first 200 of its 1,000.  Label noise flips exactly round(rate · n) labels of each set.  Every
(scenario, size) runs in its own process with --timeout seconds (reported as ">T s").  Output is
deterministic given --seed (times are not, of course).

Scenarios (true rules):

  a  books: count ≤ 10 accepted, > 10 rejected (no count in the utterance: the default 5)  → θ
  b  books: every request for science fiction ("science fiction" or "sci-fi") rejected        → θ
  c  books: the "give me …" wording rejected, whatever θ                                      → rpni
  d  (a) with 5 % of the labels flipped                                                       → ?
  e  weather: imperial units ("imperial", "fahrenheit", "°F") rejected                        → θ
  f  books: the word "novels" rejected (in the middle of the utterance)                        → rpni
  g  weather: the "forecast" wordings rejected ("3 day forecast for rio", "forecast in nyc")
     — utterances without days get the default 1, like "weather in nyc"                        → rpni
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

MAX_LENGTH = 60
MESSY_RATE = 0.2  # share of stored utterances given a capital letter or doubled spaces (not --clean)
# The stores live in tmpfs when there is one: the store commits (and fsyncs) every write, which
# on a disk costs more than everything measured; reading the store back is what collect times.
STORE_DIR = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
TS0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z: query timestamps are TS0 + i (deterministic)

Rule = Callable[[str, dict[str, Any]], bool]  # (normalized utterance, θ in JSON form) -> acceptable?


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    path: str  # relative to the repository root
    family: str
    rule: Rule
    noise: float = 0.0
    method: str = "auto"


def _count_le_10(u: str, theta: dict[str, Any]) -> bool:
    return int(theta["count"]) <= 10


def _not_scifi(u: str, theta: dict[str, Any]) -> bool:
    return theta["genre"] != "science_fiction"


def _not_give_me(u: str, theta: dict[str, Any]) -> bool:
    return not u.casefold().startswith("give me")


def _not_novels(u: str, theta: dict[str, Any]) -> bool:
    return "novels" not in u.casefold().split()


def _not_forecast(u: str, theta: dict[str, Any]) -> bool:
    return "forecast" not in u.casefold()


def _not_imperial(u: str, theta: dict[str, Any]) -> bool:
    return theta["units"] != "imperial"


BOOKS = ("examples/books.ddl", "recommend_books")
WEATHER = ("examples/weather.ddl", "weather_request")

SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in (
        Scenario("a", "count <= 10", *BOOKS, _count_le_10),
        Scenario("b", "genre != sci-fi", *BOOKS, _not_scifi),
        Scenario("c", "not 'give me'", *BOOKS, _not_give_me),
        Scenario("d", "(a) + 5% noise", *BOOKS, _count_le_10, noise=0.05),
        Scenario("e", "units != imperial", *WEATHER, _not_imperial),
        Scenario("f", "not 'novels'", *BOOKS, _not_novels),
        Scenario("g", "not '... forecast'", *WEATHER, _not_forecast),
    )
}


# -- the family, its grammar and samples -------------------------------------------------------


class Family:
    """A family loaded once (before the worker processes fork): grammar, sampler, θ of an utterance."""

    def __init__(self, path: str, name: str) -> None:
        import ddl
        from ddl.grammar.compile import CompiledGrammar

        prog = ddl.load(os.path.join(ROOT, path))
        self.name = name
        self.fam = prog.checked.families[name]
        self.ev = prog.evaluator
        self.cg = CompiledGrammar(self.fam, self.ev)
        self.plain = self.cg.plain_lang
        self.lengths = [n for n in self.plain.lengths(MAX_LENGTH) if self.plain.count(n) > 0]
        if not self.lengths:
            raise SystemExit(f"{path}:{name}: no utterance of at most {MAX_LENGTH} characters")
        self.cg.lang  # noqa: B018 - build the case-folded automaton before forking

    def sample(self, rng: random.Random) -> str:
        return self.plain.sample(rng, rng.choice(self.lengths))

    def theta(self, utterance: str) -> dict[str, Any]:
        """θ as the handler records it: the match's values with defaults filled, in JSON form."""
        from ddl.eval import validate_theta
        from ddl.values import to_json

        match = self.cg.match(utterance)
        if match.values is None:
            raise SystemExit(f"a sample of {self.name}, {utterance!r}, does not match its grammar: {match.error}")
        theta, problems = validate_theta(self.fam, self.ev, match.values, values=True)
        if theta is None:
            raise SystemExit(f"θ of {utterance!r} is invalid: {'; '.join(problems)}")
        return {k: to_json(v) for k, v in theta.items()}


@dataclass(frozen=True)
class Item:
    utterance: str  # as stored (maybe messy)
    normalized: str
    theta: dict[str, Any]
    truth: bool  # the true rule's verdict


def messy(rng: random.Random, u: str) -> str:
    """What a user might type for ``u``: a capital first letter or a doubled space."""
    if rng.random() < 0.5:
        return u[:1].upper() + u[1:]
    words = u.split(" ")
    i = rng.randrange(len(words))
    words[i] = " " + words[i]
    return " ".join(words)


def draw(family: Family, scenario: Scenario, rng: random.Random, n: int, clean: bool,
         exclude: set[str] | None = None) -> list[Item]:
    items: list[Item] = []
    attempts = 0
    while len(items) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise SystemExit(f"scenario {scenario.key}: cannot draw {n} utterances outside the feedback")
        u = family.sample(rng)
        norm = family.cg.normalize(u)
        if exclude is not None and norm.casefold() in exclude:
            continue
        theta = family.theta(u)
        stored = messy(rng, u) if not clean and rng.random() < MESSY_RATE else u
        items.append(Item(stored, norm, theta, scenario.rule(norm, theta)))
    return items


def labels(scenario: Scenario, items: list[Item], seed: int) -> list[bool]:
    """The verdicts users gave: the truth, with exactly round(noise · n) of them flipped."""
    verdicts = [it.truth for it in items]
    flips = round(scenario.noise * len(items))
    if flips:
        rng = random.Random(f"{seed}:{scenario.key}:{len(items)}:noise")
        for i in rng.sample(range(len(items)), flips):
            verdicts[i] = not verdicts[i]
    return verdicts


# -- one (scenario, size) cell ------------------------------------------------------------------


def fill_store(store: Any, family: Family, items: list[Item], verdicts: list[bool]) -> None:
    from ddl.handler.records import QueryRecord

    for i, (it, ok) in enumerate(zip(items, verdicts, strict=True)):
        qid = store.record_query(QueryRecord(
            ts=TS0 + i, utterance=it.utterance, source="deterministic", latency_ms=1.0,
            family=family.name, family_version="v1", theta=it.theta, output=None))
        store.add_feedback(qid, "accept" if ok else "reject", ts=TS0 + i + 0.5)


def run_cell(family: Family, scenario: Scenario, items: list[Item], verdicts: list[bool],
             heldout: list[Item]) -> dict[str, Any]:
    from ddl.handler.store import open_store
    from ddl.refine import check_split, collect_feedback, learn_split

    row: dict[str, Any] = {"n": len(items), "errors": sum(v != it.truth for v, it in zip(verdicts, items))}
    with tempfile.TemporaryDirectory(prefix="ddl-bench-refine-", dir=STORE_DIR) as tmp:
        store = open_store(os.path.join(tmp, "feedback.db"))
        try:
            fill_store(store, family, items, verdicts)
            started = time.perf_counter()
            fs = collect_feedback(store, family.name, family.cg)
            row["collect"] = time.perf_counter() - started
        finally:
            store.close()
    row["A"], row["R"], row["conflicts"] = len(fs.accepted), len(fs.rejected), len(fs.inconsistent)
    row["skipped"] = [str(s) for s in getattr(fs, "skipped", ())]
    started = time.perf_counter()
    split = learn_split(fs, family.fam, family.ev, family.cg, method=scenario.method)
    row["learn"] = time.perf_counter() - started
    row["method"] = split.method
    row["ok"] = bool(split.ok)
    row["failed_checks"] = [c.name for c in split.checks if not c.ok]
    row["messages"] = [str(m) for m in getattr(split, "messages", ())]
    predicate = getattr(split, "predicate", None)
    row["rule"] = predicate.describe() if predicate is not None else None
    row["source"] = getattr(split, "source", None)  # L in grammar syntax (rpni / llm)

    started = time.perf_counter()
    checks = check_split(split.g_plus, split.g_minus, fs)
    row["check"] = time.perf_counter() - started
    # A tolerant θ split sets suspect feedback aside, so re-checking against all of it would fail
    # by design; count the suspects instead.
    suspects = sum(1 for m in row["messages"] if "suspect feedback" in m)
    row["recheck"] = [] if suspects else [c.name for c in checks if not c.ok]
    row["suspects"] = next((int(m.split()[0]) for m in row["messages"] if "suspect feedback" in m), 0)

    tp = fp = fn = tn = 0
    started = time.perf_counter()
    for it in heldout:
        predicted = split.g_plus.contains(it.normalized)
        if predicted and it.truth:
            tp += 1
        elif predicted:
            fp += 1
        elif it.truth:
            fn += 1
        else:
            tn += 1
    row["classify_us"] = (time.perf_counter() - started) / max(1, len(heldout)) * 1e6
    row["precision"] = tp / (tp + fp) if tp + fp else None
    row["recall"] = tp / (tp + fn) if tp + fn else None
    row["confusion"] = (tp, fp, fn, tn)
    return row


def _child(conn: Any, family: Family, scenario: Scenario, items: list[Item], verdicts: list[bool],
           heldout: list[Item]) -> None:
    try:
        conn.send(run_cell(family, scenario, items, verdicts, heldout))
    except BaseException as err:  # report, don't hide: the row says what broke
        last = traceback.extract_tb(err.__traceback__)[-1]
        where = f"{os.path.relpath(last.filename, ROOT)}:{last.lineno}"
        conn.send({"n": len(items), "crash": f"{type(err).__name__}: {err} ({where})",
                   "trace": traceback.format_exc()})
    finally:
        conn.close()


def run_isolated(timeout: float, *args: Any) -> dict[str, Any] | None:
    """run_cell in a forked process; None when it runs out of time."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, *args), daemon=True)
    proc.start()
    child.close()
    result: dict[str, Any] | None = None
    if parent.poll(timeout):
        try:
            result = parent.recv()
        except EOFError:
            result = {"crash": f"worker died (exit code {proc.exitcode})"}
    proc.join(1.0)
    if proc.is_alive():
        proc.kill()
        proc.join()
    elif result is None and proc.exitcode not in (0, None):
        result = {"crash": f"worker died (exit code {proc.exitcode})"}
    parent.close()
    return result


# -- output -------------------------------------------------------------------------------------


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


HEADER = ("scenario", "n", "A/R", "conf", "method", "base", "precision", "recall", "collect", "learn", "check",
          "checks")


def table_row(scenario: Scenario, n: int, base: float, row: dict[str, Any] | None, timeout: float) -> tuple[str, ...]:
    name = f"{scenario.key} {scenario.title}"
    if row is None:
        return (name, str(n), "", "", "", f"{base:.3f}", "", "", "", f">{timeout:g} s", "", "timeout")
    if "crash" in row:
        return (name, str(n), "", "", "", f"{base:.3f}", "", "", "", "", "", "crash")
    ar = f"{row['A']}/{row['R']}"
    if row["ok"]:
        checks = "ok"
    elif row["failed_checks"]:
        checks = "FAIL: " + ", ".join(row["failed_checks"])
    else:
        checks = "no split: " + (row["messages"][-1] if row["messages"] else "?")
        checks = checks if len(checks) <= 70 else checks[:67] + "..."
    if row["ok"] and row.get("recheck"):
        checks += " (but check_split fails: " + ", ".join(row["recheck"]) + ")"
    if row["ok"] and row.get("suspects"):
        checks += f" ({row['suspects']} suspect item(s) set aside)"
    return (name, str(n), ar, str(row["conflicts"]), row["method"], f"{base:.3f}", fmt_ratio(row.get("precision")),
            fmt_ratio(row.get("recall")), fmt_s(row.get("collect")), fmt_s(row.get("learn")),
            fmt_s(row.get("check")), checks)


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    right = {1, 2, 3, 5, 6, 7, 8, 9, 10}

    def line(r: tuple[str, ...]) -> str:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        return "  ".join(cells).rstrip()

    print(line(HEADER))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50,200,1000", help="feedback set sizes (default 50,200,1000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--heldout", type=int, default=500, help="held-out utterances per scenario (default 500)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"which (default {','.join(SCENARIOS)})")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per (scenario, size) (default 120)")
    ap.add_argument("--clean", action="store_true", help="store utterances as sampled (no capitals or extra spaces)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print learner messages and crash tracebacks")
    args = ap.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        ap.error(f"--sizes expects comma-separated integers, got {args.sizes!r}")
    if not sizes or sizes[0] <= 0 or args.heldout <= 0:
        ap.error("--sizes and --heldout must be positive")
    keys = [k.strip() for k in args.scenarios.split(",") if k.strip()]
    for k in keys:
        if k not in SCENARIOS:
            ap.error(f"unknown scenario {k!r} (choose from {', '.join(SCENARIOS)})")

    families: dict[tuple[str, str], Family] = {}
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    started_all = time.perf_counter()
    for key in keys:
        scenario = SCENARIOS[key]
        where = (scenario.path, scenario.family)
        if where not in families:
            families[where] = Family(*where)
        family = families[where]
        pool = draw(family, scenario, random.Random(f"{args.seed}:{key}:feedback"), sizes[-1], args.clean)
        seen = {it.normalized.casefold() for it in pool}
        heldout = draw(family, scenario, random.Random(f"{args.seed}:{key}:heldout"), args.heldout, True, seen)
        base = sum(it.truth for it in heldout) / len(heldout)
        for n in sizes:
            items = pool[:n]
            verdicts = labels(scenario, items, args.seed)
            row = run_isolated(args.timeout, family, scenario, items, verdicts, heldout)
            rows.append(table_row(scenario, n, base, row, args.timeout))
            label = f"{key} n={n}"
            print(f"  {label}: done ({time.perf_counter() - started_all:.1f} s so far)", file=sys.stderr)
            if row is None:
                continue
            if "crash" in row:
                notes.append(f"{label}: crashed: {row['crash']}")
                if args.verbose:
                    notes.append(row.get("trace", ""))
                continue
            if row["skipped"]:
                notes.append(f"{label}: collect_feedback skipped {len(row['skipped'])}: {row['skipped'][0]}")
            if row["errors"]:
                notes.append(f"{label}: {row['errors']} of {n} verdicts flipped (noise)")
            if row.get("rule"):
                notes.append(f"{label}: learned θ rule: {row['rule']}")
            if row.get("confusion"):
                tp, fp, fn, tn = row["confusion"]
                notes.append(f"{label}: held-out TP {tp}, FP {fp}, FN {fn}, TN {tn}; "
                             f"G+ membership {row['classify_us']:.1f} µs/utterance")
            if args.verbose and row.get("source"):
                notes.append(f"{label}: learned L: {row['source']}")
            if args.verbose or not row["ok"]:
                for m in row["messages"]:
                    notes.append(f"{label}: {m}")

    print(f"refinement from feedback — seed {args.seed}, {args.heldout} held-out utterances per scenario, "
          f"utterances of at most {MAX_LENGTH} characters{'' if args.clean else ', 20% stored messy'}")
    print()
    print_table(rows)
    print()
    print("A/R: accepted/rejected examples collect_feedback returned; conf: inconsistent utterances (excluded);")
    print("base: share of held-out utterances the true rule accepts (= precision of G+ = G);")
    print("collect/learn: collect_feedback/learn_split; check: check_split (G+/G- non-empty, A in G+, R in G-).")
    if notes:
        print()
        for note in notes:
            print(note)
    print(f"\ntotal {time.perf_counter() - started_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
