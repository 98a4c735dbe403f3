"""The learning run: the handler widens its families from half of the held-out corpus; the other half measures it.

Run:  .venv/bin/python bench/coverage.py --learn          (or: .venv/bin/python bench/learning.py)

The corpus (bench/corpus, written from the families' descriptions without seeing a grammar) is
split per family by id: even positions are the *stream*, odd ones the *test* half.  The stream goes
through a real :class:`Handler` over a copy of ``examples/`` with a SQLite ledger and a scripted
labeler as its model: on a miss it answers the extraction question from the corpus' answer key
(``perfect``), or mislabels 10 % of the in-family requests with another valid θ (``noisy``).  In the
noisy run the user rejects every answer whose θ is wrong (the feedback removes its candidate).
Then every family is widened (``Handler.widen``, written only if the gate proves it) and the test
half is routed through the widened registry (no model: a miss is a miss).

The learner is ``align`` (no model) unless ``--learner llm`` or ``--learner both`` is given: the
model's proposals are then replayed from ``bench/recorded_model/`` (replies recorded for exactly
the prompt sent; see its README — a prompt that changed gets no proposal, and the table says so).

Printed per labeler: test-half coverage with the right θ, wrong answers, near misses answered,
before and after widening; model calls and tokens the stream cost against asking the model for
everything; and whether any wrong θ reached a grammar.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from coverage import load_corpus  # noqa: E402

from ddl.handler.config import HandlerConfig  # noqa: E402
from ddl.handler.handler import Handler  # noqa: E402
from ddl.handler.registry import Registry  # noqa: E402
from ddl.handler.store import open_store  # noqa: E402
from ddl.types.model import EnumT, IntT  # noqa: E402
from ddl.values import to_json  # noqa: E402
from ddl.widen.propose import SYSTEM as PROPOSE_SYSTEM  # noqa: E402

PERFECT, NOISY = "ddl-bench-labeler", "ddl-bench-noisy-labeler"
NOISE = 0.10
FULL_ANSWER_WORDS = 200  # a full answer's length in words (a typical chat answer); the extraction reply is ~20
FULL_ANSWER = " ".join(["answer"] * FULL_ANSWER_WORDS)


def split(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    stream: list[dict[str, Any]] = []
    test: list[dict[str, Any]] = []
    for group in by_file.values():
        for i, row in enumerate(sorted(group, key=lambda r: r["id"])):
            (stream if i % 2 == 0 else test).append(row)
    return stream, test


class Labeler(llm.Model):
    """Answers the extraction question from the answer key and the widening question (the ``llm``
    learner's prompt) from recorded replies; anything else gets a stock full answer."""

    can_stream = False

    def __init__(self, model_id: str, key: dict[str, dict[str, Any]], wrong: dict[str, dict[str, Any]],
                 recorded: Path | None = None, save_prompts: Path | None = None) -> None:
        self.model_id = model_id
        self.key = key
        self.wrong = wrong  # utterance → the θ this labeler gives instead (the noisy one's mistakes)
        self.recorded = recorded
        self.save_prompts = save_prompts
        self.calls = 0  # every model call of the stream, small or full
        self.proposals: dict[str, str] = {}  # family → "recorded" | why no recorded reply was used

    def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Iterator[str]:
        text = prompt.prompt or ""
        if text.startswith("Family ") and prompt.system == PROPOSE_SYSTEM:  # widening, not the stream's cost
            reply = self._recorded_reply(text.split("\n", 1)[0].split()[1].rstrip(":"), text)
            response.set_usage(input=len(text.split()) + len(PROPOSE_SYSTEM.split()), output=len(reply.split()))
            yield reply
            return
        self.calls += 1
        if text.startswith("Families:") and "\nRequest: " in text:
            utterance = text.rsplit("\nRequest: ", 1)[1]
            row = self.key.get(utterance)
            if row is None or row["family"] is None:
                reply = json.dumps({"family": None})
            else:
                reply = json.dumps({"family": row["family"], "theta": self.wrong.get(utterance, row["theta"])})
        else:
            reply = FULL_ANSWER
        response.set_usage(input=len(text.split()) + len((prompt.system or "").split()), output=len(reply.split()))
        yield reply

    def _recorded_reply(self, family: str, text: str) -> str:
        """The reply recorded for exactly this prompt (``FAMILY.prompt.txt`` / ``FAMILY.reply.txt`` in the
        recorded directory); a prompt that differs from the recorded one gets no proposal (an empty reply)."""
        name = f"{self.model_id}.{family}"
        if self.save_prompts is not None:
            self.save_prompts.mkdir(parents=True, exist_ok=True)
            (self.save_prompts / f"{name}.prompt.txt").write_text(text + "\n", encoding="utf-8")
        if self.recorded is None:
            self.proposals[family] = "no recorded replies given"
            return ""
        prompt_file, reply_file = self.recorded / f"{name}.prompt.txt", self.recorded / f"{name}.reply.txt"
        if not prompt_file.is_file() or not reply_file.is_file():
            self.proposals[family] = f"no recorded reply ({reply_file.name})"
            return ""
        if prompt_file.read_text(encoding="utf-8").rstrip("\n") != text:
            self.proposals[family] = f"the prompt differs from {prompt_file.name}: its reply was not used"
            return ""
        self.proposals[family] = "recorded"
        return reply_file.read_text(encoding="utf-8")


class Plugin:
    def __init__(self, models: list[Labeler]) -> None:
        self.models = models

    @llm.hookimpl
    def register_models(self, register: Any) -> None:
        for model in self.models:
            register(model)


def mistakes(rows: list[dict[str, Any]], registry: Registry, rate: float, seed: int = 14) -> dict[str, dict[str, Any]]:
    """For a share of the in-family rows, another valid θ: one parameter moved to a neighbouring value."""
    rng = random.Random(seed)
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["family"] is None or rng.random() >= rate:
            continue
        family = registry.by_name[row["family"]].checked
        theta = dict(row["theta"])
        for param in family.params:
            t = param.type
            value = theta.get(param.name)
            if isinstance(t, EnumT) and value in t.variants and len(t.variants) > 1:
                others = [v for v in t.variants if v != value]
                theta[param.name] = rng.choice(others)
                break
            if isinstance(t, IntT) and isinstance(value, int) and t.hi is not None and value + 1 <= t.hi:
                theta[param.name] = value + 1
                break
        if theta != row["theta"]:
            out[row["utterance"]] = theta
    return out


def route_all(registry: Registry, rows: list[dict[str, Any]], misses: list[str] | None = None) -> dict[str, int]:
    """Counts of the rows answered right, wrongly, missed, and near misses answered; ``misses`` collects
    the in-family requests that were not answered right."""
    counts = {"right": 0, "wrong": 0, "missed": 0, "total": 0, "near": 0, "near wrong": 0}
    for row in rows:
        route = registry.route(row["utterance"])
        family = route.family if route is not None and route.theta is not None else None
        theta = {k: to_json(v) for k, v in route.theta.items()} if family is not None and route is not None \
            and route.theta is not None else None
        if row["family"] is None:
            counts["near"] += 1
            counts["near wrong"] += family is not None
            continue
        counts["total"] += 1
        if family is None:
            counts["missed"] += 1
        elif family == row["family"] and theta == row["theta"]:
            counts["right"] += 1
            continue
        else:
            counts["wrong"] += 1
        if misses is not None:
            misses.append(f"{row['family']:18} {'missed' if family is None else 'WRONG '}  {row['utterance']}")
    return counts


def run(labeler: str, rows: list[dict[str, Any]], families: Path, method: str = "align",
        recorded: Path | None = None, save_prompts: Path | None = None) -> dict[str, Any]:
    stream, test = split(rows)
    work = Path(tempfile.mkdtemp(prefix="ddl-learning-"))
    try:
        shutil.copytree(families, work / "families", ignore=shutil.ignore_patterns(".ddl-*"))
        registry = Registry.load(work / "families", cache_dir=work / "cache")
        wrong = mistakes(stream, registry, NOISE) if labeler == NOISY else {}
        key = {row["utterance"]: row for row in rows}
        model = Labeler(labeler, key, wrong, recorded, save_prompts)
        llm.plugins.pm.register(Plugin([model]), name=f"ddl-bench-{labeler}")
        try:
            return {**_run(labeler, stream, test, registry, work, wrong, method), "calls": model.calls,
                    "method": method, "proposals": dict(model.proposals)}
        finally:
            llm.plugins.pm.unregister(name=f"ddl-bench-{labeler}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(labeler: str, stream: list[dict[str, Any]], test: list[dict[str, Any]], registry: Registry, work: Path,
         wrong: dict[str, dict[str, Any]], method: str) -> dict[str, Any]:
    before = route_all(registry, test)
    stream_before = route_all(registry, stream)
    store = open_store(work / "ledger.sqlite3")
    config = HandlerConfig(model=labeler, timeout=30.0, extract=True)
    handler = Handler(registry, store, config, learn_in_background=False)
    tokens = all_llm_tokens = extracted = rejected = 0
    for row in stream:
        answer = handler.handle(row["utterance"])
        if answer.get("model"):
            tokens += (answer.get("tokens_in") or 0) + (answer.get("tokens_out") or 0)
        all_llm_tokens += len(row["utterance"].split()) + len(FULL_ANSWER.split())
        if answer["source"] == "extracted":
            extracted += 1
            if row["family"] is None or answer["family"] != row["family"] or answer["theta"] != row["theta"]:
                handler.feedback(answer["id"], "reject")  # the user says the answer is wrong
                rejected += 1
    reports = []
    for fam in sorted({row["family"] for row in stream if row["family"] is not None}):
        reports.append(handler.widen(fam, method=method, write=True))
    test_misses: list[str] = []
    after = route_all(handler.registry, test, test_misses)
    stream_after = route_all(handler.registry, stream)
    learned_wrong = 0
    for report in reports:
        for alternative in report.gate.admitted if report.gate is not None else ():
            learned_wrong += sum(1 for u in alternative.utterances if u in wrong)
    handler.close()
    return {"labeler": labeler, "before": before, "after": after, "stream_before": stream_before,
            "stream_after": stream_after, "stream": len(stream),
            "tokens": tokens, "all_llm_calls": len(stream), "all_llm_tokens": all_llm_tokens,
            "extracted": extracted, "rejected": rejected, "mislabelled": len(wrong), "learned_wrong": learned_wrong,
            "widened": [(r.family, len(r.gate.admitted) if r.gate else 0, len(r.gate.refused) if r.gate else 0,
                         len(r.learned.unaligned)) for r in reports],
            "served_after": len(handler.registry.served), "rejected_families": len(handler.registry.rejected),
            "test_misses": test_misses}


def report(result: dict[str, Any], show_misses: bool = False) -> str:
    def line(name: str, c: dict[str, int]) -> str:
        pct = 100 * c["right"] / c["total"] if c["total"] else 0.0
        return (f"  {name:16} {c['right']:>3}/{c['total']:<3} {pct:4.0f}%  wrong {c['wrong']:>2}  missed "
                f"{c['missed']:>3}  near misses answered {c['near wrong']}/{c['near']}")

    out = [f"labeler {result['labeler']}: stream {result['stream']} requests, {result['extracted']} extracted, "
           f"{result['rejected']} rejected by the user, {result['mislabelled']} mislabelled by the labeler",
           "test half (routing only, no model):", line("before widening", result["before"]),
           line("after widening", result["after"]),
           "stream half again (the phrasings it learned from, asked a second time):",
           line("before widening", result["stream_before"]), line("after widening", result["stream_after"]),
           f"  stream cost: {result['calls']} model calls, {result['tokens']:,} tokens; all-LLM baseline: "
           f"{result['all_llm_calls']} calls, {result['all_llm_tokens']:,} tokens",
           f"  wrong θ learned into a grammar: {result['learned_wrong']}; families served after: "
           f"{result['served_after']} (rejected: {result['rejected_families']})"]
    out.append(f"  widened with the {result['method']} learner")
    for family, admitted, refused, unaligned in result["widened"]:
        proposal = result["proposals"].get(family)
        out.append(f"    {family:18} admitted {admitted:>2}  refused {refused:>2}  not aligned {unaligned:>2}"
                   + (f"  model proposals: {proposal}" if proposal else ""))
    if show_misses:
        out.append("  test-half requests not answered right after widening:")
        out.extend("    " + m for m in result["test_misses"])
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=str(ROOT / "examples"))
    ap.add_argument("--corpus", default=str(ROOT / "bench" / "corpus"))
    ap.add_argument("--labeler", choices=("both", "perfect", "noisy"), default="both")
    ap.add_argument("--show-misses", action="store_true", help="list the test-half requests not answered right")
    ap.add_argument("--families", default=None, metavar="NAMES",
                    help="comma-separated corpus files (family names) to stream and measure, e.g. invoice_reminder "
                         "(default: all; the whole registry is served either way)")
    ap.add_argument("--learner", choices=("align", "llm", "both"), default="align",
                    help="the widening method (llm and both: the model's proposals are replayed from --recorded)")
    ap.add_argument("--recorded", default=str(ROOT / "bench" / "recorded_model"), metavar="DIR",
                    help="recorded replies to the llm learner's prompt: LABELER.FAMILY.prompt.txt and .reply.txt; "
                         "a prompt that differs from the recorded one gets no proposal")
    ap.add_argument("--save-prompts", default=None, metavar="DIR",
                    help="write the llm learner's prompts here (to record replies for them)")
    args = ap.parse_args(argv)
    rows = load_corpus(Path(args.corpus))
    if args.families:
        wanted = set(args.families.split(","))
        unknown = wanted - {row["file"] for row in rows}
        if unknown:
            ap.error(f"no corpus file for {', '.join(sorted(unknown))}")
        rows = [row for row in rows if row["file"] in wanted]
    labelers = {"both": (PERFECT, NOISY), "perfect": (PERFECT,), "noisy": (NOISY,)}[args.labeler]
    for labeler in labelers:
        result = run(labeler, rows, Path(args.dir), args.learner, Path(args.recorded),
                     Path(args.save_prompts) if args.save_prompts else None)
        print(report(result, args.show_misses), flush=True)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
