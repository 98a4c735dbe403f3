"""Coverage of the example families on requests written by people who never saw the grammars.

Run:  .venv/bin/python bench/coverage.py [--dir examples] [--corpus bench/corpus] [--show missed|wrong|all]
      .venv/bin/python bench/coverage.py --learn     the learning run (bench/learning.py): widen from one
                                                     half of the corpus, measure on the other

Every request of the held-out corpus (bench/corpus/*.jsonl, see its README) goes through the
handler's router over the registry of DIR, exactly as ``ddl handle`` routes it (no model is
asked: a miss is a miss). Per family the table shows

* right — answered by the expected family with exactly the expected θ;
* wrong — answered, but by another family or with another θ (the costly failure: a confident
  wrong answer);
* missed — no family answered (the model would have been asked);
* near wrong — near misses (requests the family must not answer) that some family answered.

The baseline is the same corpus through the same code with no family at all (everything
missed); the goal of issue 12 is ≥ 60 % right, 0 wrong, 0 near misses answered.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ddl.handler.registry import Registry  # noqa: E402
from ddl.values import to_json  # noqa: E402


def load_corpus(directory: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["file"] = path.stem
                rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=str(ROOT / "examples"), help="the registry directory (default: examples)")
    ap.add_argument("--corpus", default=str(ROOT / "bench" / "corpus"))
    ap.add_argument("--show", choices=["none", "missed", "wrong", "all"], default="wrong",
                    help="list requests of these outcomes (default: wrong answers only)")
    ap.add_argument("--learn", action="store_true",
                    help="the learning run: stream half the corpus through the handler with a scripted labeler, "
                         "widen, measure the other half (bench/learning.py)")
    ap.add_argument("--learner", choices=("align", "llm", "both"), default="align",
                    help="with --learn: the widening method (llm, both: recorded model replies, bench/recorded_model)")
    args = ap.parse_args(argv)
    if args.learn:
        from learning import main as learning_main  # bench/ is on sys.path when run as a script

        return learning_main(["--dir", args.dir, "--corpus", args.corpus, "--learner", args.learner])

    started = time.perf_counter()
    registry = Registry.load(args.dir)
    load_seconds = time.perf_counter() - started
    served = {f.name for f in registry.served}
    for r in registry.rejected:
        print(f"warning: {r.name} is not served: {r.reasons}", file=sys.stderr)
    rows = load_corpus(Path(args.corpus))

    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    listed: list[str] = []
    route_seconds = 0.0
    for row in rows:
        utterance = row["utterance"]
        t0 = time.perf_counter()
        route = registry.route(utterance)
        route_seconds += time.perf_counter() - t0
        got_family = route.family if route is not None else None
        got_theta = ({k: to_json(v) for k, v in route.theta.items()} if route is not None and route.theta is not None
                     else None)
        family = row["family"]
        key = row["file"]
        if family is None:
            stats[key]["near"] += 1
            if got_family is not None:
                stats[key]["near wrong"] += 1
                outcome = "near wrong"
            else:
                outcome = "near ok"
        else:
            stats[key]["total"] += 1
            if got_family is None:
                outcome = "missed"
            elif got_family == family and got_theta == row["theta"]:
                outcome = "right"
            else:
                outcome = "wrong"
            stats[key][outcome] += 1
        show = args.show
        if show == "all" or (show == "wrong" and outcome in ("wrong", "near wrong")) or (
                show == "missed" and outcome in ("missed", "wrong", "near wrong")):
            detail = ""
            if outcome in ("wrong", "near wrong"):
                detail = f" -> {got_family} {json.dumps(got_theta)}"
                if outcome == "wrong" and got_family == family:
                    detail += f" (expected {json.dumps(row['theta'])})"
            listed.append(f"  {outcome:10} {row['id']}: {utterance!r}{detail}")

    if listed:
        print("\n".join(listed))
        print()
    header = f"{'family':20} {'served':>6} {'right':>11} {'wrong':>6} {'missed':>7} {'near wrong':>11}"
    print(header)
    print("-" * len(header))
    totals: dict[str, int] = defaultdict(int)
    for name in sorted(stats):
        s = stats[name]
        for k in ("total", "right", "wrong", "missed", "near", "near wrong"):
            totals[k] += s[k]
        pct = 100 * s["right"] / s["total"] if s["total"] else 0.0
        print(f"{name:20} {'yes' if name in served else 'NO':>6} {s['right']:>3}/{s['total']:<3}{pct:4.0f}% "
              f"{s['wrong']:>6} {s['missed']:>7} {s['near wrong']:>5}/{s['near']:<5}")
    print("-" * len(header))
    pct = 100 * totals["right"] / totals["total"] if totals["total"] else 0.0
    print(f"{'all':20} {len(served):>6} {totals['right']:>3}/{totals['total']:<3}{pct:4.0f}% "
          f"{totals['wrong']:>6} {totals['missed']:>7} {totals['near wrong']:>5}/{totals['near']:<5}")
    print(f"\nbaseline (no family answers): 0/{totals['total']} right, {totals['total']} missed. "
          f"Registry load {load_seconds:.2f} s; routing {1e6 * route_seconds / max(1, len(rows)):.0f} µs per request.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
