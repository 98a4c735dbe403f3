"""Benchmark of H_k's router (ddl.grammar.router) at k = 100, 1,000 and 10,000 families.

Run:  .venv/bin/python bench/route.py [--ks 100,1000] [--queries 300] [--seed 0]
      .venv/bin/python bench/route.py --ks 100,1000,10000     # the issue's full-size run (~15 min)

For each k, bench/synth_families.py makes k synthetic intent families (DDL sources; typed
captures: ranged Ints, enums with aliases, patterned Texts, optional parts with defaults).
The bench then measures

* parse+check — ``compile_source`` of the DDL texts (in modules of ≤ 400 kB: a source file is
  limited to 1 MB) plus one ``Evaluator`` per module.  Not part of the router;
* router build — ``Router.build`` from the checked families (grammars compiled from scratch);
* re compile / RE2 Set compile — the baselines' build times;

and, per utterance (median µs over fresh utterances, after one warm-up pass over a distinct
set of the same kinds), for three kinds of utterance:

* hit — a sample of a random family (uniform, or Zipf with --zipf; θ known), sometimes capitalized
  or with extra spaces;
* near-miss — close to a random family but in no family: a number out of range, an unknown
  enum word, a Text that breaks its pattern, a misspelt, missing or extra word;
* miss — off-family text (small talk, general knowledge);

the time of

* ours — ``router.route(u)``: normalization, the combined lazy DFA, the family's tagged
  matcher and θ (defaults filled; enum values, ints);
* re loop — normalize, then ``re.fullmatch`` over the k compiled patterns in order (named
  groups; θ = ``groupdict()``), the first match wins;
* RE2 Set — normalize, then one ``re2.Set`` (anchored at both ends) membership query: which
  families match, no θ.  The speed anchor;
* RE2+re — the RE2 Set query, then ``re.fullmatch`` of the one matching family's Python
  pattern (named groups; θ = ``groupdict()``, texts).  The baseline the router must not be
  slower than (issue 17).

Also measured: the first hit of every family (the warm-up pass, each timed: a lazily built
part shows here) against a warm hit; memory — the growth of the process's resident set
(RSS, from /proc/self/statm) across building and querying the RE2 Set (after it has answered
every utterance of the run, so its DFA cache has grown), and across building the router and
routing everything; and ``Router.to_bytes`` / ``Router.from_bytes`` (time, size, and that the
loaded router routes the measured utterances the same).

Every utterance's label is verified before timing (hits: exactly their family in the RE2
Set; near misses and misses: no family), and each timed answer is checked (family and θ for
ours and the re loop; membership for RE2) — disagreements are printed, never asserted.
RE2 reports an exhausted memory budget as a silent "no match"; the bench runs the Set with
``--re2-max-mem`` (default 2 GiB) and reports hits the Set missed.

The re loop at large k is slow: for k ≥ --re-large-k it is timed on --re-large-queries
utterances of each kind (said so in the output).  Deterministic given --seed (the times
are not, of course).
"""

from __future__ import annotations

import argparse
import bisect
import gc
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from synth_families import (  # noqa: E402
    EnumParam,
    SynthFamily,
    make_families,
    miss,
    module_sources,
    normalize,
)

KINDS = ("hit", "near-miss", "miss")

GOAL_FAST_K, GOAL_FAST_US = 10_000, 10.0  # a hit, median, and no slower than RE2+re
GOAL_FLAT_FROM, GOAL_FLAT = 100, 1.3  # hit time growth from k=100 to the largest k
GOAL_FIRST = 2.0  # first hit of a family / warm hit (medians)


def rss_mb() -> float:
    """The process's resident set (MB): counts C++ allocations (RE2) that tracemalloc cannot see."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Query:
    text: str
    kind: str
    family: int | None = None  # index of the family (hits)
    theta: dict[str, object] | None = None  # expected θ (hits)


@dataclass
class Result:
    k: int
    check_s: float = 0.0
    build_s: float = 0.0
    re_compile_s: float = 0.0
    re2_compile_s: float | None = None
    re2_max_mem: int = 0
    warm_families_s: float | None = None  # ours: one hit per family, before the timed runs
    ours: dict[str, list[int]] = field(default_factory=dict)  # kind -> ns per utterance
    ours_again: dict[str, list[int]] = field(default_factory=dict)  # the same utterances a second time
    reloop: dict[str, list[int]] = field(default_factory=dict)
    re2: dict[str, list[int]] = field(default_factory=dict)
    re2re: dict[str, list[int]] = field(default_factory=dict)
    first_hits: list[int] = field(default_factory=list)  # ns: ours, the first hit of each family
    mem_re2_mb: float | None = None  # RSS growth: the RE2 Set built and queried
    mem_ours_mb: float | None = None  # RSS growth: the router built, warmed and timed
    save_s: float | None = None
    load_s: float | None = None
    saved_mb: float | None = None
    roundtrip_diffs: int | None = None
    wrong: dict[str, list[str]] = field(default_factory=dict)  # engine -> descriptions of wrong answers
    counts: dict[str, int] = field(default_factory=dict)  # kind -> measured utterances
    re_counts: dict[str, int] = field(default_factory=dict)
    sanity: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected_candidates: int = 0


# --------------------------------------------------------------------------- building


def check_sources(families: Sequence[SynthFamily]) -> tuple[float, list[tuple[Any, Any]]]:
    """Parse and type-check the families (in modules), one evaluator per module."""
    from ddl.api import compile_source
    from ddl.eval import Evaluator

    sources = module_sources(families)
    out: list[tuple[Any, Any]] = []
    compile_source(families[0].source, "warm-up.ddl")  # builds the parser once (not counted)
    t0 = time.perf_counter()
    for i, text in enumerate(sources):
        module, diags = compile_source(text, f"synth{i}.ddl")
        errors = [d for d in diags if d.is_error]
        if module is None or errors:
            shown = "\n".join(f"  {d.code}: {d.message} (line {d.span.line})" for d in errors[:5])
            raise SystemExit(f"synthetic module {i} does not check:\n{shown}")
        out.append((module, Evaluator(module)))
    return time.perf_counter() - t0, out


def plain(value: object) -> object:
    """A runtime value as the generator writes θ: enum → variant name."""
    from ddl.values import EnumV

    return value.name if isinstance(value, EnumV) else value


def sanity_check(families: Sequence[SynthFamily], checked: dict[str, tuple[Any, Any]], rng: random.Random,
                 n_families: int = 40) -> list[str]:
    """The generator's Python regexes and θ agree with the DDL grammars on a few samples."""
    from ddl.grammar.compile import CompiledGrammar

    problems: list[str] = []
    by_template: dict[str, SynthFamily] = {}
    for f in families:
        by_template.setdefault(f.template, f)
    picks = list(by_template.values())
    rest = [f for f in families if f not in picks]
    picks += rng.sample(rest, min(len(rest), max(0, n_families - len(picks))))
    for fam in picks:
        checked_family, ev = checked[fam.name]
        grammar = CompiledGrammar(checked_family, ev)
        for _ in range(3):
            u, theta = fam.sample(rng)
            got = grammar.match(u)
            py = fam.compiled.fullmatch(normalize(u))
            if got.values is None or py is None:
                problems.append(f"{fam.name}: {u!r}: DDL {'no match' if got.values is None else 'match'}, "
                                f"re {'no match' if py is None else 'match'}")
                continue
            values = {k: plain(v) for k, v in got.values.items()}
            if any(theta.get(k) != v for k, v in values.items()):
                problems.append(f"{fam.name}: {u!r}: θ {values} but the generator says {theta}")
            groups = {k for k, v in py.groupdict().items() if v is not None}
            if groups != set(got.captured):
                problems.append(f"{fam.name}: {u!r}: re captured {sorted(groups)}, DDL {sorted(got.captured)}")
        near = fam.near_miss(rng)
        if grammar.match(near).values is not None:
            problems.append(f"{fam.name}: near miss {near!r} is in the family")
    return problems


def build_re2(families: Sequence[SynthFamily], max_mem: int) -> tuple[Any, float]:
    import re2

    options = re2.Options()
    options.max_mem = max_mem
    t0 = time.perf_counter()
    s = re2.Set.FullMatchSet(options)
    for f in families:
        s.Add("(?i)" + f.python_regex)
    s.Compile()
    return s, time.perf_counter() - t0


# --------------------------------------------------------------------------- queries


def family_picker(k: int, zipf: float, rng: random.Random) -> Callable[[random.Random], int]:
    """Which family an utterance is about: uniform (zipf = 0) or Zipf-distributed with exponent
    ``zipf`` over a seeded random ranking of the families (real traffic is skewed)."""
    if zipf <= 0:
        return lambda r: r.randrange(k)
    ranking = list(range(k))
    rng.shuffle(ranking)
    cum: list[float] = []
    total = 0.0
    for rank in range(k):
        total += 1.0 / (rank + 1) ** zipf
        cum.append(total)
    return lambda r: ranking[min(k - 1, bisect.bisect_left(cum, r.random() * total))]


def make_queries(families: Sequence[SynthFamily], n: int, rng: random.Random, used: set[str],
                 member: Callable[[str], list[int] | None], result: Result,
                 pick: Callable[[random.Random], int]) -> list[Query]:
    """n utterances of each kind, none in ``used`` (which grows), labels verified by ``member``."""
    out: list[Query] = []
    for kind in KINDS:
        got = 0
        attempts = 0
        while got < n:
            attempts += 1
            if attempts > 200 * n:
                result.notes.append(f"only {got} distinct {kind} utterances could be made")
                break
            j = pick(rng)
            if kind == "hit":
                text, theta = families[j].sample(rng)
                q = Query(text, kind, j, theta)
            elif kind == "near-miss":
                q = Query(families[j].near_miss(rng), kind)
            else:
                q = Query(miss(rng), kind)
            if q.text in used:
                continue
            found = member(q.text) or []
            if (kind == "hit" and found != [j]) or (kind != "hit" and found):
                result.rejected_candidates += 1
                continue
            used.add(q.text)
            out.append(q)
            got += 1
    return out


def family_hits(families: Sequence[SynthFamily], rng: random.Random, used: set[str],
                member: Callable[[str], list[int] | None]) -> list[Query]:
    """One hit of every family (the warm-up that makes every family's lazily built parts exist)."""
    out: list[Query] = []
    for j, fam in enumerate(families):
        for _ in range(50):
            text, theta = fam.sample(rng)
            if text not in used and member(text) == [j]:
                used.add(text)
                out.append(Query(text, "hit", j, theta))
                break
    return out


# --------------------------------------------------------------------------- engines


def time_engine(fn: Callable[[str], Any], queries: Sequence[Query]) -> tuple[list[int], list[Any]]:
    times: list[int] = []
    answers: list[Any] = []
    clock = time.perf_counter_ns
    for q in queries:
        t0 = clock()
        a = fn(q.text)
        t1 = clock()
        times.append(t1 - t0)
        answers.append(a)
    return times, answers


def ours_wrong(q: Query, route: Any, families: Sequence[SynthFamily]) -> str | None:
    if q.kind != "hit":
        return None if route is None else f"{q.kind} {q.text!r} routed to {route.family}"
    assert q.family is not None and q.theta is not None
    want = families[q.family].name
    if route is None:
        return f"hit {q.text!r} ({want}) not routed"
    if route.family != want:
        return f"hit {q.text!r} routed to {route.family}, not {want}"
    if route.theta is None:
        return f"hit {q.text!r}: θ outside Θ: {'; '.join(route.problems)}"
    theta = {k: plain(v) for k, v in route.theta.items()}
    if theta != q.theta:
        return f"hit {q.text!r}: θ {theta}, expected {q.theta}"
    return None


def reloop_wrong(q: Query, answer: Any, families: Sequence[SynthFamily]) -> str | None:
    if q.kind != "hit":
        return None if answer is None else f"{q.kind} {q.text!r} matched {answer[0]}"
    assert q.family is not None and q.theta is not None
    fam = families[q.family]
    if answer is None or answer[0] != fam.name:
        return f"hit {q.text!r} ({fam.name}) matched {answer[0] if answer else 'nothing'}"
    enum_params = {p.name for p in fam.params if isinstance(p, EnumParam)}
    captured = {k: v for k, v in answer[1].items() if v is not None}
    for k, v in captured.items():  # groupdict gives texts: compare ints and texts, enums by presence
        if k not in enum_params and str(q.theta.get(k)) != v:
            return f"hit {q.text!r}: groupdict {captured}, expected {q.theta}"
    return None


# --------------------------------------------------------------------------- one k


def run_k(k: int, args: argparse.Namespace, log: Callable[[str], None]) -> Result:
    from ddl.grammar.router import RoutedFamily, Router

    res = Result(k)
    families = make_families(k, args.seed)
    log(f"k={k}: {len(families)} families generated; parsing and checking…")
    res.check_s, modules = check_sources(families)
    checked: dict[str, tuple[Any, Any]] = {}
    for module, ev in modules:
        for name, fam in module.families.items():
            checked[name] = (fam, ev)
    missing = [f.name for f in families if f.name not in checked]
    if missing:
        raise SystemExit(f"families missing after checking: {missing[:5]}")

    rng = random.Random(f"route-bench-{args.seed}-{k}")
    res.sanity = sanity_check(families, checked, rng)

    log(f"k={k}: building the baselines…")
    re.purge()  # re's own cache would make the compile time a lookup for the patterns seen so far
    t0 = time.perf_counter()
    compiled = [(f.name, re.compile(f.python_regex, re.IGNORECASE)) for f in families]
    res.re_compile_s = time.perf_counter() - t0
    res.re2_max_mem = args.re2_max_mem
    re2_set: Any = None
    gc.collect()
    rss0 = rss_mb()
    try:
        re2_set, res.re2_compile_s = build_re2(families, args.re2_max_mem)
    except ImportError:
        res.notes.append("google-re2 is not installed: no RE2 column (pip install google-re2)")
    except Exception as err:  # re2.error: the program does not fit max_mem
        res.notes.append(f"RE2 Set does not compile with max_mem={args.re2_max_mem}: {err}")

    def re_member(u: str) -> list[int] | None:
        """Families accepting u: the RE2 Set, or the re loop when RE2 is unavailable."""
        t = normalize(u)
        if re2_set is not None:
            return re2_set.Match(t)
        return [i for i, (_, rx) in enumerate(compiled) if rx.fullmatch(t)] or None

    log(f"k={k}: making utterances…")
    used: set[str] = set()
    warm_families = family_hits(families, rng, used, re_member) if args.warm_every_family else []
    pick = family_picker(k, args.zipf, rng)
    warm = make_queries(families, args.warmup, rng, used, re_member, res, pick)
    measured = make_queries(families, args.queries, rng, used, re_member, res, pick)

    if re2_set is not None:  # every utterance of the run once: RE2's DFA cache at its size for this run
        for q in [*warm_families, *warm, *measured]:
            re2_set.Match(normalize(q.text))
        gc.collect()
        res.mem_re2_mb = rss_mb() - rss0

    log(f"k={k}: building the router…")
    specs = [RoutedFamily(name=f.name, family=checked[f.name][0], evaluator=checked[f.name][1], priority=0)
             for f in families]
    gc.collect()
    rss_router = rss_mb()
    t0 = time.perf_counter()
    router = Router.build(specs)
    res.build_s = time.perf_counter() - t0

    def reloop(u: str) -> tuple[str, dict[str, str | Any]] | None:
        t = normalize(u)
        for name, rx in compiled:
            m = rx.fullmatch(t)
            if m is not None:
                return name, m.groupdict()
        return None

    def re2_query(u: str) -> Any:
        return re2_set.Match(normalize(u))

    def re2_re(u: str) -> tuple[str, dict[str, str | Any]] | None:
        t = normalize(u)
        found = re2_set.Match(t)
        if not found:
            return None
        name, rx = compiled[found[0]]
        m = rx.fullmatch(t)
        return None if m is None else (name, m.groupdict())

    re_n = args.re_large_queries if k >= args.re_large_k else args.queries
    log(f"k={k}: warming up…")
    if warm_families:
        t0 = time.perf_counter()
        res.first_hits, _ = time_engine(router.route, warm_families)
        res.warm_families_s = time.perf_counter() - t0
        if re2_set is not None:
            for q in warm_families:
                re2_query(q.text)
    for q in warm:
        router.route(q.text)
        if re2_set is not None:
            re2_query(q.text)
    for q in [q for kind in KINDS for q in [x for x in warm if x.kind == kind][:re_n]]:
        reloop(q.text)

    log(f"k={k}: timing…")
    res.wrong = {"ours": [], "re loop": [], "RE2 Set": [], "RE2+re": []}
    for kind in KINDS:
        qs = [q for q in measured if q.kind == kind]
        res.counts[kind] = len(qs)
        gc.collect()
        times, answers = time_engine(router.route, qs)
        res.ours[kind] = times
        res.wrong["ours"] += [w for q, a in zip(qs, answers) if (w := ours_wrong(q, a, families))]
        res.ours_again[kind], _ = time_engine(router.route, qs)
        rq = qs[:re_n]
        res.re_counts[kind] = len(rq)
        gc.collect()
        times, answers = time_engine(reloop, rq)
        res.reloop[kind] = times
        res.wrong["re loop"] += [w for q, a in zip(rq, answers) if (w := reloop_wrong(q, a, families))]
        if re2_set is not None:
            gc.collect()
            times, answers = time_engine(re2_query, qs)
            res.re2[kind] = times
            for q, a in zip(qs, answers):
                want = [q.family] if q.kind == "hit" else None
                if a != want:
                    res.wrong["RE2 Set"].append(f"{q.kind} {q.text!r}: {a} (expected {want})"
                                                + (" — out of memory?" if q.kind == "hit" and a is None else ""))
            gc.collect()
            times, answers = time_engine(re2_re, qs)
            res.re2re[kind] = times
            res.wrong["RE2+re"] += [w for q, a in zip(qs, answers) if (w := reloop_wrong(q, a, families))]
    gc.collect()
    res.mem_ours_mb = rss_mb() - rss_router
    if args.save_load:
        log(f"k={k}: Router.to_bytes / from_bytes…")
        t0 = time.perf_counter()
        data = router.to_bytes()
        res.save_s = time.perf_counter() - t0
        res.saved_mb = len(data) / 2**20
        t0 = time.perf_counter()
        loaded = Router.from_bytes(data, specs)
        res.load_s = time.perf_counter() - t0
        res.roundtrip_diffs = sum(router.route(q.text) != loaded.route(q.text) for q in measured)
    if res.re_counts and min(res.re_counts.values()) < args.queries:
        res.notes.append(f"the re loop at k={k} was timed on {re_n} utterances of each kind "
                         f"(the others on {args.queries})")
    return res


# --------------------------------------------------------------------------- report


def med_us(times: Sequence[int] | None) -> float | None:
    return statistics.median(times) / 1000 if times else None


def pct_us(times: Sequence[int] | None, p: float) -> float | None:
    if not times:
        return None
    s = sorted(times)
    return s[min(len(s) - 1, int(p * len(s)))] / 1000


def fmt(x: float | None, width: int, digits: int = 1, suffix: str = "") -> str:
    if x is None:
        return "n/a".rjust(width)
    if x >= 1000:
        text = f"{x:,.0f}{suffix}"
    elif x >= 100:
        text = f"{x:.0f}{suffix}"
    else:
        text = f"{x:.{digits}f}{suffix}"
    return text.rjust(width)


def report(results: Sequence[Result], args: argparse.Namespace) -> str:
    lines: list[str] = []
    add = lines.append
    warm_all = "one hit of every family and " if args.warm_every_family else ""
    dist = f"Zipf({args.zipf:g})" if args.zipf > 0 else "uniform"
    add(f"DDL routing benchmark  (seed {args.seed}; {args.queries} fresh utterances per kind after a warm-up "
        f"pass over {warm_all}{args.warmup} others per kind; families {dist}; python {sys.version.split()[0]})")
    add("")
    add("Build times (seconds). parse+check is compile_source of the DDL sources + an Evaluator per module;")
    add("router build is Router.build from the checked families; first hits: the warm-up pass routing one hit")
    add("of every family (ours); RE2 Set: Add + Compile, anchored both ends.")
    add(f"{'k':>7}  {'parse+check':>11}  {'router build':>12}  {'first hits':>10}  {'re compile':>10}  "
        f"{'RE2 Set compile':>15}")
    for r in results:
        add(f"{r.k:>7,}  {fmt(r.check_s, 11, 2)}  {fmt(r.build_s, 12, 2)}  {fmt(r.warm_families_s, 10, 2)}  "
            f"{fmt(r.re_compile_s, 10, 3)}  {fmt(r.re2_compile_s, 15, 3)}")
    add("")
    add("Routing, median µs per utterance (p90 for ours; 'again': ours on the same utterances a second time,")
    add("i.e. with every lazily built transition cached). Every engine normalizes whitespace first; ours and the")
    add("re loop include θ (ours: typed values, defaults filled; re: groupdict); RE2 is membership only.")
    add(f"{'k':>7}  {'kind':<9}  {'ours':>8}  {'p90':>8}  {'again':>7}  {'re loop':>9}  {'RE2 Set':>8}  "
        f"{'RE2+re':>7}  {'re/ours':>8}  {'ours/RE2':>8}  {'ours/RE2+re':>11}  {'n':>4}  {'n re':>4}")
    for r in results:
        for kind in KINDS:
            ours, loop, rre2 = med_us(r.ours.get(kind)), med_us(r.reloop.get(kind)), med_us(r.re2.get(kind))
            ratio_re = loop / ours if ours and loop else None
            ratio_2 = ours / rre2 if ours and rre2 else None
            both = med_us(r.re2re.get(kind))
            add(f"{r.k:>7,}  {kind:<9}  {fmt(ours, 8)}  {fmt(pct_us(r.ours.get(kind), 0.9), 8)}  "
                f"{fmt(med_us(r.ours_again.get(kind)), 7)}  {fmt(loop, 9)}  "
                f"{fmt(rre2, 8, 2)}  {fmt(both, 7, 2)}  {fmt(ratio_re, 7, 1, '×')}   {fmt(ratio_2, 7, 1, '×')}  "
                f"{fmt(ours / both if ours and both else None, 10, 2, '×')}  "
                f"{r.counts.get(kind, 0):>4}  {r.re_counts.get(kind, 0):>4}")
    add("")
    notes = [f"k={r.k}: {n}" for r in results for n in r.notes]
    for r in results:
        if r.re2_compile_s is not None:
            notes.append(f"k={r.k}: RE2 Set max_mem = {r.re2_max_mem / 2**20:,.0f} MiB")
        if r.rejected_candidates:
            notes.append(f"k={r.k}: {r.rejected_candidates} candidate utterances were dropped because "
                         "their label did not hold (a near miss in another family, …)")
    for r in results:
        if r.sanity:
            notes.append(f"k={r.k}: generator sanity check: {len(r.sanity)} disagreements with the DDL grammars")
            notes += [f"    {p}" for p in r.sanity[:5]]
        for engine, wrong in r.wrong.items():
            if wrong:
                notes.append(f"k={r.k}: {engine} answered {len(wrong)} utterances wrongly, e.g.")
                notes += [f"    {w}" for w in wrong[:3]]
    if all(not r.sanity for r in results):
        notes.append("generator sanity check: the Python regexes and θ agree with the DDL grammars on every sample")
    if all(not any(r.wrong.values()) for r in results):
        notes.append("every timed answer was right (ours and the re loop: family and θ; RE2: membership)")
    add("First hits: ours, the first utterance routed to each family (the warm-up pass), against a warm hit")
    add("(the 'ours' hit median above). Memory: RSS growth (MB) across building the RE2 Set and answering every")
    add("utterance of the run, and across building the router and routing everything. Save/load:")
    add("Router.to_bytes / Router.from_bytes (grammars are recompiled on load).")
    add(f"{'k':>7}  {'first med':>9}  {'first p99':>9}  {'first/warm':>10}  {'RSS ours':>8}  {'RSS RE2':>8}  "
        f"{'save s':>6}  {'load s':>6}  {'MB':>6}  {'reload diffs':>12}")
    for r in results:
        warm_hit = med_us(r.ours.get("hit"))
        first = med_us(r.first_hits)
        add(f"{r.k:>7,}  {fmt(first, 9)}  {fmt(pct_us(r.first_hits, 0.99), 9)}  "
            f"{fmt(first / warm_hit if first and warm_hit else None, 9, 2, '×')}  {fmt(r.mem_ours_mb, 8)}  "
            f"{fmt(r.mem_re2_mb, 8)}  {fmt(r.save_s, 6, 2)}  {fmt(r.load_s, 6, 2)}  {fmt(r.saved_mb, 6)}  "
            f"{'n/a' if r.roundtrip_diffs is None else r.roundtrip_diffs:>12}")
    add("")
    add("notes")
    lines.extend(f"  {n}" for n in notes)
    add("")
    add("goals")
    by_k = {r.k: r for r in results}
    fast = by_k.get(GOAL_FAST_K)
    if fast is not None and fast.ours:
        hit = med_us(fast.ours["hit"]) or 0.0
        base = med_us(fast.re2re.get("hit"))
        ok = hit <= GOAL_FAST_US and (base is None or hit <= base)
        add(f"  {'PASS' if ok else 'MISS'}  k={GOAL_FAST_K:,}: a hit in ≤ {GOAL_FAST_US:.0f} µs and ≤ RE2+re — "
            f"{hit:.1f} µs vs RE2+re {fmt(base, 0, 1)} µs")
    else:
        add(f"  n/a   k={GOAL_FAST_K:,}: a hit in ≤ {GOAL_FAST_US:.0f} µs (k={GOAL_FAST_K:,} not run)")
    small, large = by_k.get(GOAL_FLAT_FROM), max(results, key=lambda r: r.k)
    if small is not None and large.k > small.k and small.ours and large.ours:
        growth = (med_us(large.ours["hit"]) or 0.0) / (med_us(small.ours["hit"]) or 1.0)
        add(f"  {'PASS' if growth <= GOAL_FLAT else 'MISS'}  hits flat: k={large.k:,} / k={small.k:,} ≤ "
            f"{GOAL_FLAT}× — {growth:.2f}×")
    for r in results:
        first, warm_hit = med_us(r.first_hits), med_us(r.ours.get("hit"))
        if first and warm_hit:
            add(f"  {'PASS' if first <= GOAL_FIRST * warm_hit else 'MISS'}  k={r.k:,}: first hit ≤ {GOAL_FIRST:.0f}× "
                f"a warm hit — {first / warm_hit:.2f}× (p99 {fmt(pct_us(r.first_hits, 0.99), 0)} µs)")
        if r.mem_ours_mb is not None and r.mem_re2_mb is not None:
            add(f"  {'PASS' if r.mem_ours_mb <= r.mem_re2_mb else 'MISS'}  k={r.k:,}: memory ≤ RE2's — "
                f"{r.mem_ours_mb:,.0f} MB vs {r.mem_re2_mb:,.0f} MB (RSS growth)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--ks", default="100,1000", help="family counts, comma-separated (default 100,1000; "
                    "the issue's full run: 100,1000,10000)")
    ap.add_argument("--save-load", action=argparse.BooleanOptionalAction, default=True,
                    help="time Router.to_bytes / from_bytes and check the loaded router (default: yes)")
    ap.add_argument("--queries", type=int, default=300, help="measured utterances per kind (default 300)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up utterances per kind (default: --queries)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--re-large-k", type=int, default=10_000,
                    help="from this k on, the re loop is timed on fewer utterances (default 10000)")
    ap.add_argument("--re-large-queries", type=int, default=30,
                    help="utterances per kind for the re loop at large k (default 30)")
    ap.add_argument("--re2-max-mem", type=int, default=2 << 30, help="RE2 Set memory budget in bytes (default 2 GiB)")
    ap.add_argument("--warm-every-family", action=argparse.BooleanOptionalAction, default=True,
                    help="warm up with one hit of every family first (default: yes; the steady state)")
    ap.add_argument("--zipf", type=float, default=0.0,
                    help="family popularity: 0 = uniform (default, the worst case for per-family caches), "
                         "else the exponent of a Zipf law (about 1 for real traffic)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    if args.warmup is None:
        args.warmup = args.queries
    ks = [int(x.replace("_", "")) for x in args.ks.split(",") if x.strip()]

    def log(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    results = []
    for k in ks:
        results.append(run_k(k, args, log))
        gc.collect()
    print(report(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
