"""Economics of H_k: what the handler costs against answering every query with the model.

Run:  .venv/bin/python bench/economics.py [--workload corpus|grammar] [--queries N] [--seed 0] [--plot econ.png]
          [--zipf 1.1] [--off-family 0.1] [--near-misses 0.5] [--widen-after 10]
          [--price-in 0.15] [--price-out 0.60] [--answer-in 40] [--answer-out 200]

Both workloads run the real handler, ``ddl.handler.Handler``, with a SQLite ledger and a fallback
model ``econ-script``: an ``llm.Model`` registered in-process through ``llm.plugins.pm``.  Its full
answer to a query is a fixed text with usage --answer-in tokens in and --answer-out out, so one full
answer costs c_M = price(answer-in, answer-out), and H_k's cumulative cost is set against C_std = N·c_M
(every query answered by the model).  A deterministic answer costs nothing.  Every other model call
is priced at its real size with one convention: ceil(characters / 4) tokens, in = system prompt +
prompt (+ the earlier turns of a conversation), out = the reply.

Workload ``corpus`` (the default): requests people wrote
--------------------------------------------------------
The queries come from the held-out corpus bench/corpus/*.jsonl (--corpus): 400 requests over the ten
families of examples/, written from the families' descriptions only, never from their grammars
(bench/corpus/README.md), loaded with bench/coverage.py's ``load_corpus``.  A stream of --queries
queries picks a family by a Zipf law (s = --zipf over the ten, ranks shuffled by --seed) and draws
one of that family's 30 corpus requests uniformly, with replacement; the right answer is the corpus'
family and θ.  A fraction --off-family is off-family: with probability --near-misses a near miss
(a row with ``"family": null``, a similar request no family may answer) from a Zipf-drawn family's
file, otherwise small talk (checked to be accepted by no family of examples/).

H_k starts from examples/ copied to a temp directory, so k = 10 from the first query (distilling
these families is not what is measured; there is no compile-on-miss), with the handler's defaults
for a miss: **extraction on** — before a full answer the model is asked which served family and θ
(ddl/handler/extract.py) — and **automatic widening** after every --widen-after new candidate
phrasings of a family (``HandlerConfig(widen_after=10)``, ``learn_in_background=False``: the align
learner, the gate, the write and the reload run inside the query that set them off, and the next
query sees the widened grammar).  econ-script answers the extraction question (a prompt that starts
with "Families:" and ends with "\nRequest: <utterance>") from the corpus' answer key:
``{"family": F, "theta": θ}`` for a request of F, ``{"family": null}`` for near misses and small
talk — a perfect labeler, so a wrong answer can only come from a grammar.  An extraction call lists
all ten families (about 830 tokens in, 16 out: c_X ≈ 1.07 c_M at the default prices); a query whose
extraction is not used (no family) pays it and then c_M for the full answer.  The same stream is
also priced through examples/ as authored with no extraction and no widening (every miss one full
answer), to show what extraction and widening do to the bill.

The default --queries is 2000 here, not 5000: each widening checks the widened module in the request
path (5–35 s each on a 2-core machine), so 2000 queries take about 4.5 minutes (18 widenings, 210 s
of them); --queries 5000 adds the 5000 row (about 7 minutes, 34 widenings).

Workload ``grammar``: requests drawn from the grammars (the first version of this bench)
---------------------------------------------------------------------------------------
The task families of bench/econ_families/good/ (15 families from varied domains: books, weather,
bills, dates, e-mail, git, recipes, shell, SQL, units, currency, GitHub issues, timers, clocks,
temperatures).  A stream of --queries queries (default 5000) picks a family by the same Zipf law and
draws an utterance from that family's grammar (a random length with at least one utterance of at
most 80 characters, then a uniform utterance of that length, as `ddl grammar sample` does); a
fraction --off-family of the queries is small talk that no family accepts.  Every label is verified
against the good families' router.  Such a workload only contains phrasings the grammars accept,
so it overstates the coverage real traffic sees; the corpus workload measures that.

H_k starts from an empty registry (k = 0), with extraction off (``extract=False``: this workload
measures compile-on-miss alone, every miss is one full answer).  The scripted model answers a
distillation prompt with a DDL module: it finds the teaching utterance in the prompt, identifies its
family with the good families' grammars, and replies with that family's source with a ``teach``
line for the values the utterance sets (as the prompt asks).  For the families of PLANS it first
replies with a *specialized* variant from bench/econ_families/specialized/ (the teaching value of
this utterance hardcoded: a URL, a constant, an ``if x == v0`` branch) and with the good family in
the repair round; for list_issues it only ever sends specialized variants, so that family is never
admitted.  After a miss on a query of a family that is not served yet, the bench calls
``ddl.distill.distill(u, model=..., rounds=2, out=<registry>/miss-N.ddl, registry=...)`` — at most
--max-attempts times per family — and reloads the handler when it passes.  Its tokens are real spend
and are added to H_k's cost (to the query that set it off).  Off-family misses are answered but not
distilled.

Printed
-------
In both workloads, in one run: at N = 100, 250, 500, 1000, 2000, 5000 (those below --queries, and
--queries): the shares of the N queries answered deterministically, by extraction and by a full model
answer, the share answered by a family (deterministic + extracted) since the previous row and among
the in-family queries, the families served, H_k's cumulative cost against C_std, and the wrong
answers so far; the break-even point N* (the first N where H_k's cumulative cost is back at or below
C_std after having been above it); H_k's cost split into full answers, extraction calls and
distillation; the count of wrong answers — a deterministic or extracted answer whose family or θ
differs from the expected one, or any such answer to an off-family query — always, with the first
ten; and per family (Zipf rank order, then near misses and small talk): its queries, deterministic /
extracted / full answers, its cost under H_k against its all-LLM cost (its queries · c_M), its wrong
answers and its break-even point N*_f (the stream's N at which the family's cumulative cost under
H_k is back at or below its all-LLM cost after having been above it, or "never above" / "not
reached").  The corpus workload adds the extraction calls (mean size, c_X, used or not), the
deterministic answers given by learned (widened) rules, the authored-registry comparison and every
widening (candidates, alternatives admitted / refused / not aligned, written, seconds).  The grammar
workload adds the misses by reason, each distillation, and the specialized candidates the checker
stopped (the goal: all of them, before they answer any query), with the wrong answers each would
have given had it been admitted (its program against the good family's on the family's later
queries).  --plot FILE.png writes coverage and cumulative cost over N with N* marked (both
workloads).  Prices are per 1,000 tokens, as in the handler's config; N* depends only on their
ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

FAMILIES_DIR = HERE / "econ_families"
EXAMPLES_DIR = HERE.parent / "examples"
CORPUS_DIR = HERE / "corpus"
GOOD_DIR = FAMILIES_DIR / "good"
SPECIALIZED_DIR = FAMILIES_DIR / "specialized"
MODEL_ID = "econ-script"
CHECKPOINTS = (100, 250, 500, 1000, 2000, 5000)
MAX_LENGTH = 80  # longest utterance drawn from a grammar
DEFAULT_QUERIES = {"corpus": 2000, "grammar": 5000}

# How the scripted model distills a family: "first" sends the specialized variant(s) in the first
# round of the first attempt and the good family after that; "never" cycles through the specialized
# variants forever.  Families not listed get the good family at once.
PLANS: dict[str, tuple[str, tuple[str, ...]]] = {
    "recommend_books": ("first", ("books.ddl",)),
    "weather_request": ("first", ("weather.ddl",)),
    "list_customers": ("first", ("sql.ddl",)),
    "scale_recipe": ("first", ("recipe.ddl",)),
    "convert_currency": ("first", ("currency.ddl",)),
    "set_timer": ("first", ("timer.ddl",)),
    "list_issues": ("never", ("issues.ddl", "issues_2.ddl", "issues_3.ddl")),
}

SMALL_TALK = (
    ("what's the capital of {}?", ("France", "Peru", "Kenya", "Mongolia", "Canada", "Vietnam")),
    ("tell me a joke about {}", ("cats", "programmers", "penguins", "accountants", "the moon")),
    ("how do I {}?", ("fix a flat tire", "boil an egg", "tie a bowline", "center a div", "learn to juggle")),
    ("who wrote {}?", ("Moby Dick", "Dune", "Pride and Prejudice", "The Trial", "Beloved")),
    ("write a haiku about {}", ("autumn rain", "coffee", "a lost sock", "compilers", "the sea")),
    ("explain {} like I'm five", ("inflation", "black holes", "vaccines", "recursion", "tides")),
    ("is it healthy to eat {} every day?", ("eggs", "bananas", "dark chocolate", "rice", "cheese")),
    ("what rhymes with {}?", ("orange", "silver", "month", "purple", "window")),
    ("{}", ("good morning", "thanks!", "what can you do?", "are you a robot?", "I'm bored", "hello there")),
)


# ---------------------------------------------------------------------------- the workload


@dataclass
class Query:
    text: str
    family: str | None  # None: off-family (small talk, or a corpus near miss)
    theta: dict[str, Any] | None = None  # grammar workload: the good family's checked θ (None: outside Θ)
    expected: dict[str, Any] | None = None  # the θ a right answer has, as JSON (`ddl run`'s form)
    kind: str = "family"  # "family", "near" (a corpus near miss) or "talk" (small talk)
    home: str | None = None  # a near miss: the family whose corpus file it comes from


def zipf_weights(n: int, s: float) -> list[float]:
    raw = [1.0 / (rank ** s) for rank in range(1, n + 1)]
    total = sum(raw)
    return [w / total for w in raw]


def small_talk(rng: random.Random) -> str:
    template, fillers = rng.choice(SMALL_TALK)
    return template.format(rng.choice(fillers))


def make_stream(oracle: Any, ranking: Sequence[str], n: int, s: float, off_family: float,
                rng: random.Random) -> list[Query]:
    """n queries: Zipf over ``ranking`` (rank 1 first), a share ``off_family`` of small talk."""
    from ddl.grammar.compile import CompiledGrammar

    langs = {}
    for name in ranking:
        served = oracle.by_name[name]
        lang = CompiledGrammar(served.checked, served.evaluator).plain_lang
        lengths = [k for k in lang.lengths(MAX_LENGTH) if lang.count(k) > 0]
        if not lengths:
            raise SystemExit(f"{name}: no utterance of at most {MAX_LENGTH} characters")
        langs[name] = (lang, lengths)
    cumulative = _zipf_cumulative(len(ranking), s)
    stream: list[Query] = []
    while len(stream) < n:
        if rng.random() < off_family:
            text = small_talk(rng)
            if oracle.route(text) is not None:
                raise SystemExit(f"small talk {text!r} is accepted by {oracle.route(text).family}")
            stream.append(Query(text, None, kind="talk"))
            continue
        i = min(bisect_left(cumulative, rng.random()), len(ranking) - 1)
        name = ranking[i]
        lang, lengths = langs[name]
        text = lang.sample(rng, rng.choice(lengths))
        route = oracle.route(text)
        if route is None or route.family != name:
            raise SystemExit(f"a sample of {name}, {text!r}, routes to {route.family if route else 'nothing'}")
        stream.append(Query(text, name, route.theta, expected=_json_theta(route.theta)))
    return stream


def _json_theta(theta: dict[str, Any] | None) -> dict[str, Any] | None:
    from ddl.values import to_json

    return None if theta is None else {k: to_json(v) for k, v in theta.items()}


def _zipf_cumulative(n: int, s: float) -> list[float]:
    cumulative: list[float] = []
    acc = 0.0
    for w in zipf_weights(n, s):
        acc += w
        cumulative.append(acc)
    return cumulative


def make_corpus_stream(rows: Sequence[dict[str, Any]], registry: Any, ranking: Sequence[str], n: int, s: float,
                       off_family: float, near_share: float, rng: random.Random) -> list[Query]:
    """n requests of the held-out corpus: Zipf over ``ranking``, one of the family's requests (with replacement).

    A share ``off_family`` is off-family: with probability ``near_share`` a near miss of a
    Zipf-drawn family's corpus file (a request no family may answer), else small talk.
    """
    positives: dict[str, list[dict[str, Any]]] = {name: [] for name in ranking}
    near: dict[str, list[dict[str, Any]]] = {name: [] for name in ranking}
    for row in rows:
        if row["file"] not in positives:
            raise SystemExit(f"corpus file {row['file']}.jsonl names no family of the registry")
        if row["family"] is None:
            near[row["file"]].append(row)
        elif row["family"] != row["file"]:
            raise SystemExit(f"{row['id']}: family {row['family']} in {row['file']}.jsonl")
        else:
            positives[row["file"]].append(row)
    for name in ranking:
        if not positives[name] or not near[name]:
            raise SystemExit(f"the corpus has no requests or no near misses for {name}")
    cumulative = _zipf_cumulative(len(ranking), s)

    def pick() -> str:
        return ranking[min(bisect_left(cumulative, rng.random()), len(ranking) - 1)]

    stream: list[Query] = []
    while len(stream) < n:
        if rng.random() < off_family:
            if rng.random() < near_share:
                home = pick()
                row = rng.choice(near[home])
                stream.append(Query(row["utterance"], None, kind="near", home=home))
                continue
            text = small_talk(rng)
            if registry.route(text) is not None:
                raise SystemExit(f"small talk {text!r} is accepted by {registry.route(text).family}")
            stream.append(Query(text, None, kind="talk"))
            continue
        name = pick()
        row = rng.choice(positives[name])
        stream.append(Query(row["utterance"], name, expected=row["theta"]))
    return stream


def bisect_left(xs: Sequence[float], x: float) -> int:
    lo, hi = 0, len(xs)
    while lo < hi:
        mid = (lo + hi) // 2
        if xs[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


# ---------------------------------------------------------------------------- the scripted model


@dataclass
class Reply:
    """One distillation reply of the scripted model."""

    family: str | None
    utterance: str | None
    attempt: int
    round: int  # 0 for the first prompt of a conversation
    kind: str  # "good" | "specialized" | "none"
    variant: str | None  # file name of the specialized variant
    source: str | None


def _quote(text: str) -> str:
    from ddl.values import quote_text

    return quote_text(text)


def specialize(variant: str, text: str, theta: dict[str, Any], output: Any) -> str:
    """The specialized ``variant`` with this utterance's teaching values hardcoded where the file has its own.

    The files hardcode their own teaching value (and pass type checking, so ``ddl check FILE``
    refutes them as they are); a model that specializes hardcodes the value it was taught with,
    so the bench substitutes it, from θ and the good family's output for θ.
    """
    def name(v: Any) -> str:
        return str(getattr(v, "name", v))

    subs: list[tuple[str, str]]
    if variant == "books.ddl":
        subs = [('"https://openlibrary.org/subjects/fantasy.json"', _quote(output["url"]))]
    elif variant == "weather.ddl":
        subs = [('"latitude": "48.8566"', f'"latitude": {_quote(output["query"]["latitude"])}'),
                ('"longitude": "2.3522"', f'"longitude": {_quote(output["query"]["longitude"])}')]
    elif variant == "currency.ddl":
        subs = [('"from": "USD"', f'"from": {_quote(output["query"]["from"])}')]
    elif variant == "sql.ddl":
        found = re.search(r'ORDER BY "([a-z_]+)" (ASC|DESC)', output)
        assert found is not None, output
        subs = [(r'ORDER BY \"lifetime_value_cents\" DESC', rf'ORDER BY \"{found[1]}\" {found[2]}')]
    elif variant == "timer.ddl":
        factor = output["total_seconds"] // theta["amount"]
        unit = name(theta["unit"])
        subs = [("amount * 60", f"amount * {factor}"), ("${amount} minutes", f"${{amount}} {unit}"),
                ("seconds = 600", f"seconds = {10 * factor}"),
                ("10 minutes (600 s)", f"10 {unit} ({10 * factor} s)")]
    elif variant == "recipe.ddl":
        subs = [("dish == pancakes", f"dish == {name(theta['dish'])}")]
    elif variant.startswith("issues"):
        owner, repo = theta["owner"], theta["repo"]
        subs = [("python/cpython", f"{owner}/{repo}"), ("repos/python/", f"repos/{owner}/"),
                ('"python"', _quote(owner)), ('"cpython"', _quote(repo)),
                ('"state": "open"', f'"state": {_quote(name(theta["state"]))}')]
    else:  # pragma: no cover - PLANS names only the files above
        raise ValueError(f"no substitution for {variant}")
    applied = 0
    for old, new in subs:
        if old in text:
            text = text.replace(old, new)
            applied += 1
        else:
            assert variant.startswith("issues"), (variant, old)  # the three issues files share one list
    assert applied, variant
    return text


def with_teach(text: str, teach: str) -> str:
    """``text`` with its ``teach`` lines replaced by ``teach`` (before the first example)."""
    lines = [line for line in text.splitlines() if not re.match(r"\s*teach\s", line)]
    for i, line in enumerate(lines):
        if re.match(r"  example\b", line):
            lines[i:i] = [f"  {teach}", ""]
            break
    else:
        close = max(i for i, line in enumerate(lines) if line.startswith("}"))
        lines[close:close] = ["", f"  {teach}"]
    return "\n".join(lines) + "\n"


class Scripted:
    """The brains of the scripted model: which module to send for a distillation prompt."""

    def __init__(self, oracle: Any, answer_in: int, answer_out: int,
                 key: dict[str, tuple[str | None, dict[str, Any] | None]] | None = None) -> None:
        from ddl.grammar.compile import CompiledGrammar

        self.oracle = oracle  # None in the corpus workload: nothing is distilled there
        self.answer_in, self.answer_out = answer_in, answer_out
        served = oracle.served if oracle is not None else []
        self.good = {f.name: Path(f.path).read_text(encoding="utf-8") for f in served}
        self.grammars = {f.name: CompiledGrammar(f.checked, f.evaluator) for f in served}
        self.variants = {v: (SPECIALIZED_DIR / v).read_text(encoding="utf-8")
                         for _, files in PLANS.values() for v in files} if oracle is not None else {}
        self.key = key or {}  # utterance -> (family, θ) of the corpus' answer key
        self.attempts: dict[str, int] = {}
        self.conversations: dict[str, tuple[str | None, str | None, int]] = {}
        self.replies: list[Reply] = []
        self.answers = 0
        self.calls: list[tuple[str, int, int]] = []  # ("extract" | "answer", tokens in, tokens out), in order

    def extract_reply(self, utterance: str) -> str:
        """The extraction question answered from the answer key (a request not in it: no family)."""
        family, theta = self.key.get(utterance, (None, None))
        if family is None:
            return json.dumps({"family": None})
        return json.dumps({"family": family, "theta": theta})

    def identify(self, prompt: str) -> tuple[str | None, str | None]:
        """The teaching utterance in a task prompt and the good family that accepts it."""
        found = re.search(r"A user asked:\s*\n\s*\n[ \t]+(.+)\n", prompt)
        lines = [found[1]] if found else []
        lines += [line.strip() for line in prompt.splitlines() if 0 < len(line.strip()) <= 300]
        for line in lines:
            route = self.oracle.route(line)
            if route is not None and route.theta is not None:
                return route.family, line.strip()
        return None, None

    def module(self, family: str, utterance: str, attempt: int, rnd: int) -> tuple[str, str, str | None]:
        """(kind, DDL source, variant) for round ``rnd`` of attempt ``attempt`` (both from 0)."""
        from ddl.values import show_value, to_json

        route = self.oracle.route(utterance)
        match = self.grammars[family].match(utterance)
        assert route is not None and route.theta is not None and match.ok
        theta = route.theta
        teach = "teach " + ", ".join(f"{p} = {show_value(theta[p])}" for p in match.captured)
        plan, files = PLANS.get(family, ("good", ()))
        if plan == "never" or (plan == "first" and attempt == 0 and rnd < len(files)):
            variant = files[(attempt * 3 + rnd) % len(files)]
            outcome = self.oracle.by_name[family].run(theta)
            output = to_json(outcome.value)
            text = specialize(variant, self.variants[variant], theta, output)
            return "specialized", with_teach(text, teach), variant
        return "good", with_teach(self.good[family], teach), None

    def distill_reply(self, prompt: str, conversation: Any, prior: Sequence[Any]) -> str:
        cid = str(getattr(conversation, "id", id(conversation)))
        rnd = len(prior)
        if rnd == 0 or cid not in self.conversations:
            family, utterance = self.identify(prompt)
            attempt = self.attempts.get(family or "", 0)
            if family is not None:
                self.attempts[family] = attempt + 1
            self.conversations[cid] = (family, utterance, attempt)
        family, utterance, attempt = self.conversations[cid]
        if family is None or utterance is None:
            self.replies.append(Reply(None, None, attempt, rnd, "none", None, None))
            return "I could not find a request in this prompt that I know how to turn into a family."
        kind, source, variant = self.module(family, utterance, attempt, rnd)
        self.replies.append(Reply(family, utterance, attempt, rnd, kind, variant, source))
        return f"Here is a family for that request.\n\n```ddl\n{source}```\n"


def _build_model(scripted: Scripted) -> Any:
    import llm

    class EconModel(llm.Model):
        model_id = MODEL_ID
        can_stream = False

        def execute(self, prompt: Any, stream: bool, response: Any, conversation: Any) -> Iterator[str]:
            text = prompt.prompt or ""
            prior = list(getattr(conversation, "responses", None) or [])
            if not prior and text.startswith("Families:") and "\nRequest: " in text:
                # the handler's extraction question (ddl/handler/extract.py): its real size, chars / 4
                reply = scripted.extract_reply(text.rsplit("\nRequest: ", 1)[1])
                tokens_in = math.ceil((len(prompt.system or "") + len(text)) / 4)
                tokens_out = math.ceil(len(reply) / 4)
                scripted.calls.append(("extract", tokens_in, tokens_out))
                response.set_usage(input=tokens_in, output=tokens_out)
                yield reply
                return
            is_distill = bool(prior) or ("```ddl" in text and len(text) > 1000)
            if not is_distill:
                scripted.answers += 1
                scripted.calls.append(("answer", scripted.answer_in, scripted.answer_out))
                response.set_usage(input=scripted.answer_in, output=scripted.answer_out)
                yield f"(econ-script) Here is my answer to {text!r}."
                return
            reply = scripted.distill_reply(text, conversation, prior)
            seen = len(prompt.system or "") + len(text)
            for earlier in prior:
                seen += len(earlier.prompt.prompt or "") + len(earlier.text())
            response.set_usage(input=math.ceil(seen / 4), output=math.ceil(len(reply) / 4))
            yield reply

    return EconModel()


def register_model(model: Any) -> None:
    import llm

    class Plugin:
        @llm.hookimpl
        def register_models(self, register: Any) -> None:
            register(model)

    llm.plugins.pm.register(Plugin(), name="ddl-econ-script")
    assert llm.get_model(MODEL_ID) is model


# ---------------------------------------------------------------------------- the simulation


@dataclass
class Distillation:
    n: int  # the query (1-based) whose miss started it
    family: str
    attempt: int
    ok: bool
    admitted: bool
    rounds: list[tuple[str, bool, list[str]]]  # (kind, passed, error codes)
    tokens_in: int
    tokens_out: int
    cost: float
    seconds: float


@dataclass
class Widening:
    n: int  # the query (1-based) whose candidate set it off
    family: str
    candidates: int
    admitted: int  # alternatives the gate admitted
    refused: int
    unaligned: int
    written: bool
    message: str
    seconds: float


@dataclass
class Run:
    workload: str
    queries: list[Query]
    source: list[str] = field(default_factory=list)  # per query: deterministic | extracted | llm | error
    cost: list[float] = field(default_factory=list)  # per query: what H_k spent on it (distillation included)
    x_cost: list[float] = field(default_factory=list)  # per query: of which its extraction call
    hit: list[bool] = field(default_factory=list)  # per query: deterministic
    cum_h: list[float] = field(default_factory=list)
    cum_std: list[float] = field(default_factory=list)
    served: list[int] = field(default_factory=list)
    distillations: list[Distillation] = field(default_factory=list)
    widenings: list[Widening] = field(default_factory=list)
    wrong: list[tuple[int, str, str | None, Any]] = field(default_factory=list)  # (n, source, family, θ)
    calls: list[tuple[str, int, int]] = field(default_factory=list)  # every answering call: (kind, in, out)
    authored: list[bool] = field(default_factory=list)  # corpus: the registry as authored answers it
    errors: int = 0
    spec_answered: int = 0  # deterministic answers by a specialized family (must stay 0)
    would_be_wrong: dict[str, tuple[int, int]] = field(default_factory=dict)  # family -> (wrong, compared)
    misses: dict[str, int] = field(default_factory=dict)  # why a query went to the model -> count
    ranking: list[str] = field(default_factory=list)  # the families, Zipf rank 1 first
    c_m: float = 0.0
    seconds: float = 0.0
    setup_seconds: float = 0.0


def price(tokens_in: int, tokens_out: int, price_in: float, price_out: float) -> float:
    return tokens_in * price_in / 1000 + tokens_out * price_out / 1000


def error_codes(diagnostics: Sequence[str]) -> list[str]:
    codes: list[str] = []
    for d in diagnostics:
        for code in re.findall(r"\b(DDL\d{3})\b", d.splitlines()[0] if d else ""):
            if code not in codes:
                codes.append(code)
    return codes


def _compile_candidate(source: str, family: str) -> Any:
    """utterance → the output of a (stopped) candidate's program, to count the answers it would have got wrong."""
    from ddl.api import ModuleLoader, compile_source
    from ddl.diagnostics import SourceMap
    from ddl.eval import Evaluator, Ok, compile_family, validate_theta
    from ddl.grammar.compile import CompiledGrammar
    from ddl.values import to_json

    sources = SourceMap()
    sources.add("<candidate>.ddl", source)
    checked, diags = compile_source(source, "<candidate>.ddl", ModuleLoader(sources))
    if checked is None or any(d.is_error for d in diags) or family not in checked.families:
        return None
    fam = checked.families[family]
    evaluator = Evaluator(checked)
    grammar = CompiledGrammar(fam, evaluator)
    program = compile_family(checked, family)

    def answer(utterance: str) -> Any:
        match = grammar.match(utterance)
        theta = validate_theta(fam, evaluator, match.values or {}, values=True)[0] if match.ok else None
        if theta is None:
            return None
        outcome = program(theta)
        return to_json(outcome.value) if isinstance(outcome, Ok) else None

    return answer


def simulate_grammar(args: argparse.Namespace, work: Path, log: Any) -> tuple[Run, Scripted]:
    from ddl.distill import distill
    from ddl.eval import Err
    from ddl.handler.config import HandlerConfig
    from ddl.handler.handler import Handler
    from ddl.handler.registry import Registry
    from ddl.handler.store import open_store
    from ddl.values import to_json

    cache = work / "check-cache"
    started = time.perf_counter()
    oracle = Registry.load(GOOD_DIR, cache_dir=cache)
    if oracle.rejected or len(oracle.served) < 12:
        raise SystemExit(f"bench/econ_families/good must serve at least 12 families; rejected: "
                         f"{[r.to_json() for r in oracle.rejected]}")
    log(f"good families: {len(oracle.served)} checked and disjoint in {time.perf_counter() - started:.1f} s")
    rng = random.Random(args.seed)
    ranking = sorted(f.name for f in oracle.served)
    rng.shuffle(ranking)
    queries = make_stream(oracle, ranking, args.queries, args.zipf, args.off_family, rng)
    setup = time.perf_counter() - started

    scripted = Scripted(oracle, args.answer_in, args.answer_out)
    model = _build_model(scripted)
    register_model(model)

    registry_dir = work / "registry"
    registry_dir.mkdir()
    store = open_store(str(work / "ledger.sqlite3"))
    # No extraction: this workload measures compile-on-miss alone, every miss is one full answer (c_M).
    config = HandlerConfig(model=MODEL_ID, price_in=args.price_in, price_out=args.price_out, extract=False)
    handler = Handler(Registry.load(registry_dir, cache_dir=cache), store, config)
    run = Run("grammar", queries, ranking=ranking, setup_seconds=setup)
    run.c_m = price(args.answer_in, args.answer_out, args.price_in, args.price_out)
    admitted: dict[str, str] = {}  # family -> the source that was admitted
    attempts: dict[str, int] = {}
    stopped_programs: dict[str, Any] = {}  # family -> program of its first stopped specialized candidate
    good_runs = {f.name: f.run for f in oracle.served}
    total_h = 0.0
    begun = time.perf_counter()
    try:
        for n, q in enumerate(queries, 1):
            was_served = q.family in handler.registry.by_name
            scripted.calls.clear()
            answer = handler.handle(q.text)
            source = answer.get("source")
            cost = account(run, n, q, answer, scripted.calls, args)
            if source != "deterministic":
                why = ("off-family" if q.family is None else
                       "θ outside Θ (the grammar accepts, Θ does not)" if q.theta is None else
                       "a served family missed it" if was_served else
                       "its family's distillations were all stopped" if attempts.get(q.family, 0) >= args.max_attempts
                       else "its family was not served yet")
                run.misses[why] = run.misses.get(why, 0) + 1
            if source == "deterministic" and answer.get("family") not in admitted:
                run.spec_answered += 1
            if q.family is not None and q.theta is not None and q.family in stopped_programs:
                wrong, compared = run.would_be_wrong.get(q.family, (0, 0))
                good = good_runs[q.family](q.theta)
                differs = not isinstance(good, Err) and stopped_programs[q.family](q.text) != to_json(good.value)
                run.would_be_wrong[q.family] = (wrong + differs, compared + 1)
            if (source == "llm" and q.family is not None and q.family not in admitted
                    and attempts.get(q.family, 0) < args.max_attempts):
                attempts[q.family] = attempts.get(q.family, 0) + 1
                first_reply = len(scripted.replies)
                t0 = time.perf_counter()
                result = distill(q.text, model=model, rounds=args.rounds, out=registry_dir / f"miss-{n}.ddl",
                                 log_dir=work / "transcripts", registry=handler.registry)
                replies = scripted.replies[first_reply:]
                assert len(replies) == len(result.rounds), (len(replies), len(result.rounds))
                rounds = []
                for reply, rnd in zip(replies, result.rounds, strict=True):
                    assert reply.source is None or (rnd.extracted or "").strip() == reply.source.strip()
                    assert reply.family in (None, q.family), (reply.family, q.family)
                    rounds.append((reply.kind, rnd.passed, error_codes(rnd.diagnostics)))
                    if reply.kind == "specialized" and not rnd.passed and q.family not in stopped_programs:
                        assert reply.source is not None
                        program = _compile_candidate(reply.source, q.family)
                        if program is not None:
                            stopped_programs[q.family] = program
                dcost = price(result.tokens_in, result.tokens_out, args.price_in, args.price_out)
                cost += dcost
                ok_family = False
                if result.ok:
                    handler.reload()
                    ok_family = result.family in handler.registry.by_name
                    if ok_family:
                        passed = [r for r in rounds if r[1]]
                        assert passed and passed[-1][0] == "good", f"{q.family}: a specialized family passed"
                        admitted[q.family] = result.source or ""
                run.distillations.append(Distillation(
                    n, q.family, attempts[q.family], result.ok, ok_family, rounds, result.tokens_in,
                    result.tokens_out, dcost, time.perf_counter() - t0))
                log(f"  N={n:>5}: {q.family:<20} attempt {attempts[q.family]}: "
                    + " → ".join(f"{k}{'✓' if p else '✗ ' + ','.join(c)}" for k, p, c in rounds)
                    + (" → admitted" if ok_family else " → not admitted")
                    + f" ({time.perf_counter() - t0:.1f} s)")
            total_h += cost
            run.cost.append(cost)
            run.cum_h.append(total_h)
            run.cum_std.append(n * run.c_m)
            run.served.append(len(handler.registry.served))
    finally:
        handler.close()
    run.seconds = time.perf_counter() - begun
    return run, scripted


def account(run: Run, n: int, q: Query, answer: dict[str, Any], calls: Sequence[tuple[str, int, int]],
            args: argparse.Namespace) -> float:
    """Record query ``n``'s answer; its cost: the model calls it made (extraction, full answer)."""
    source = str(answer.get("source"))
    x_in = sum(i for kind, i, _ in calls if kind == "extract")
    x_out = sum(o for kind, _, o in calls if kind == "extract")
    a_in = sum(i for kind, i, _ in calls if kind == "answer")
    a_out = sum(o for kind, _, o in calls if kind == "answer")
    if calls:  # the ledger's tokens are the calls' (a full answer's include its failed extraction's)
        assert (answer.get("tokens_in"), answer.get("tokens_out")) == (x_in + a_in, x_out + a_out), (answer, calls)
    x_cost = price(x_in, x_out, args.price_in, args.price_out)
    run.calls.extend(calls)
    run.source.append(source)
    run.x_cost.append(x_cost)
    run.hit.append(source == "deterministic")
    if source == "error":
        run.errors += 1
    if source in ("deterministic", "extracted") and (
            q.family is None or answer.get("family") != q.family or answer.get("theta") != q.expected):
        run.wrong.append((n, source, answer.get("family"), answer.get("theta")))
    return x_cost + price(a_in, a_out, args.price_in, args.price_out)


def simulate_corpus(args: argparse.Namespace, work: Path, log: Any) -> tuple[Run, Scripted]:
    import shutil

    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))  # bench/coverage.py, as bench/learning.py imports it
    from coverage import load_corpus

    from ddl.handler.config import HandlerConfig
    from ddl.handler.handler import Handler
    from ddl.handler.registry import Registry
    from ddl.handler.store import open_store

    started = time.perf_counter()
    rows = load_corpus(args.corpus)
    if not rows:
        raise SystemExit(f"no corpus rows in {args.corpus}/*.jsonl")
    registry_dir = work / "registry"
    shutil.copytree(EXAMPLES_DIR, registry_dir, ignore=shutil.ignore_patterns(".*"))
    cache = work / "check-cache"
    registry = Registry.load(registry_dir, cache_dir=cache)
    if registry.rejected:
        raise SystemExit(f"examples/ must serve every family; rejected: {[r.to_json() for r in registry.rejected]}")
    served = sorted(f.name for f in registry.served)
    log(f"examples/: {len(served)} families checked and disjoint in {time.perf_counter() - started:.1f} s")
    rng = random.Random(args.seed)
    ranking = sorted({row["file"] for row in rows})
    missing = [name for name in ranking if name not in registry.by_name]
    if missing:
        raise SystemExit(f"the corpus is about families examples/ does not serve: {missing}")
    rng.shuffle(ranking)
    queries = make_corpus_stream(rows, registry, ranking, args.queries, args.zipf, args.off_family,
                                 args.near_misses, rng)
    # What the registry as authored answers (no model, no widening): the baseline extraction and
    # widening are measured against.
    authored: dict[str, bool] = {}
    for q in queries:
        if q.text not in authored:
            route = registry.route(q.text)
            authored[q.text] = route is not None and route.theta is not None

    key = {row["utterance"]: (row["family"], row["theta"]) for row in rows}
    scripted = Scripted(None, args.answer_in, args.answer_out, key)
    register_model(_build_model(scripted))
    store = open_store(str(work / "ledger.sqlite3"))
    config = HandlerConfig(model=MODEL_ID, price_in=args.price_in, price_out=args.price_out, extract=True,
                           widen_after=args.widen_after)
    handler = Handler(registry, store, config, learn_in_background=False)
    run = Run("corpus", queries, ranking=ranking, setup_seconds=time.perf_counter() - started)
    run.c_m = price(args.answer_in, args.answer_out, args.price_in, args.price_out)
    run.authored = [authored[q.text] for q in queries]
    total_h = 0.0
    begun = time.perf_counter()
    try:
        for n, q in enumerate(queries, 1):
            scripted.calls.clear()
            t0 = time.perf_counter()
            answer = handler.handle(q.text)
            cost = account(run, n, q, answer, scripted.calls, args)
            widening = answer.get("widening")
            if isinstance(widening, dict) and "family" in widening:
                gate = widening.get("gate") or {}
                w = Widening(n, widening["family"], int(widening.get("candidates") or 0),
                             len(gate.get("admitted") or ()), len(gate.get("refused") or ()),
                             len(widening.get("unaligned") or ()), bool(widening.get("written")),
                             str(widening.get("message") or ""), time.perf_counter() - t0)
                run.widenings.append(w)
                log(f"  N={n:>5}: widened {w.family:<18} from {w.candidates:>3} candidates: {w.admitted} "
                    f"alternatives admitted, {w.refused} refused, {w.unaligned} not aligned"
                    f"{', written' if w.written else ', nothing written'} ({w.seconds:.1f} s)")
            total_h += cost
            run.cost.append(cost)
            run.cum_h.append(total_h)
            run.cum_std.append(n * run.c_m)
            run.served.append(len(handler.registry.served))
    finally:
        handler.close()
    run.seconds = time.perf_counter() - begun
    return run, scripted




# ---------------------------------------------------------------------------- report


def break_even(cum_h: Sequence[float], cum_std: Sequence[float]) -> tuple[int | None, str]:
    """N*: the first N with H ≤ C_std after H was above it ("from the start" if it never was)."""
    was_above = False
    for i, (h, s) in enumerate(zip(cum_h, cum_std, strict=True)):
        if h > s + 1e-12:
            was_above = True
        elif was_above:
            return i + 1, f"N* = {i + 1}"
    if not was_above:
        return None, "N* = from the start (H_k never cost more than C_std)"
    return None, f"N* not reached within {len(cum_h)} queries"


def family_break_even(run: Run, indices: Sequence[int]) -> str:
    """N*_f over the queries ``indices`` (0-based, in stream order): the stream's N at which the family's
    cumulative cost under H_k is back at or below its all-LLM cost, having been above it."""
    h = s = 0.0
    was_above = False
    for k, i in enumerate(indices, 1):
        h += run.cost[i]
        s += run.c_m
        if h > s + 1e-12:
            was_above = True
        elif was_above:
            return f"N={i + 1} (its #{k})"
    return "not reached" if was_above else "never above"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def report(args: argparse.Namespace, run: Run, scripted: Scripted, out: Any) -> int | None:
    queries, n_total = run.queries, len(run.queries)
    p = lambda *a: print(*a, file=out)  # noqa: E731
    kinds = {k: sum(q.kind == k for q in queries) for k in ("family", "near", "talk")}
    p()
    if run.workload == "corpus":
        p(f"workload: corpus, {n_total} requests drawn with replacement from {args.corpus} over "
          f"{len(run.ranking)} families (Zipf s={args.zipf}), seed {args.seed}: {kinds['family']} in-family, "
          f"{kinds['near']} near misses, {kinds['talk']} small talk (off-family {args.off_family:.0%}, "
          f"{args.near_misses:.0%} of it near misses)")
        p(f"H_k: examples/ copied, k = {run.served[0] if run.served else '?'} from the start; extraction on; "
          f"widening after every {args.widen_after} candidates of a family (align learner, gate, in the "
          f"request path); no compile-on-miss")
    else:
        p(f"workload: grammar, {n_total} queries sampled from the grammars of {len(run.ranking)} families "
          f"(Zipf s={args.zipf}), {kinds['talk']} off-family ({args.off_family:.0%}), seed {args.seed}")
        p("H_k: empty registry (k = 0), compile-on-miss, no extraction (every miss is one full answer)")
    p(f"prices per 1,000 tokens: in {args.price_in:g}, out {args.price_out:g}; one full model answer "
      f"({args.answer_in} in, {args.answer_out} out): c_M = {run.c_m:.6g}; "
      + ("an extraction call" if run.workload == "corpus" else "a distillation call")
      + " is priced at its real size, characters / 4 in (system + prompt) and out (reply)")
    p()
    head = (f"{'N':>6}  {'determ.':>7}  {'extract.':>8}  {'full':>6}  {'window':>7}  {'in-family':>9}  "
            f"{'served':>6}  {'H_k cost':>10}  {'C_std':>10}  {'H_k/C_std':>9}  {'wrong':>5}")
    p(head)
    p("-" * len(head))
    points = [c for c in CHECKPOINTS if c < n_total] + [n_total]
    prev = 0
    for c in points:
        src = run.source[:c]
        det, ext, full = src.count("deterministic"), src.count("extracted"), src.count("llm")
        win = run.source[prev:c]
        window = (win.count("deterministic") + win.count("extracted")) / (c - prev)
        fam_idx = [i for i in range(c) if queries[i].family is not None]
        fam_cov = _share(sum(run.source[i] in ("deterministic", "extracted") for i in fam_idx), len(fam_idx))
        wrong = sum(1 for w in run.wrong if w[0] <= c)
        h, s = run.cum_h[c - 1], run.cum_std[c - 1]
        p(f"{c:>6}  {det / c:>7.1%}  {ext / c:>8.1%}  {full / c:>6.1%}  {window:>7.1%}  {fam_cov:>9}  "
          f"{run.served[c - 1]:>6}  {h:>10.4f}  {s:>10.4f}  {h / s:>9.3f}  {wrong:>5}")
        prev = c
    p("(determ./extract./full: shares of the N queries so far answered by a grammar, by a family's program "
      "after extraction, by the model's full answer; window and in-family: determ. + extract., over the queries "
      "since the previous row and over the in-family queries so far)")
    n_star, text = break_even(run.cum_h, run.cum_std)
    p()
    p(text)
    saved = run.cum_std[-1] - run.cum_h[-1]
    p(f"after {n_total} queries: H_k spent {run.cum_h[-1]:.4f}, C_std {run.cum_std[-1]:.4f} "
      f"(saved {saved:.4f}, {saved / run.cum_std[-1]:.1%})")
    d_cost = sum(d.cost for d in run.distillations)
    x_cost = sum(run.x_cost)
    full_cost = run.cum_h[-1] - d_cost - x_cost
    n_full = run.source.count("llm")
    p(f"H_k's cost: full answers {full_cost:.4f} ({n_full}), extraction calls {x_cost:.4f} "
      f"({sum(c[0] == 'extract' for c in run.calls)} calls), distillation {d_cost:.4f}")
    p(f"wrong answers (deterministic or extracted, family or θ not the expected one; off-family answered): "
      f"{len(run.wrong)}" + (f" — deterministic {sum(w[1] == 'deterministic' for w in run.wrong)}, "
                             f"extracted {sum(w[1] == 'extracted' for w in run.wrong)}" if run.wrong else ""))
    for n, source, family, theta in run.wrong[:10]:
        q = queries[n - 1]
        p(f"  N={n:>5} {source:<13} {q.text!r}: got {family} {json.dumps(theta)}, expected "
          f"{q.family} {json.dumps(q.expected)}")
    if len(run.wrong) > 10:
        p(f"  … and {len(run.wrong) - 10} more")
    if run.errors:
        p(f"WARNING: {run.errors} error answers")

    p()
    p("per family (Zipf rank order; cost under H_k vs every query of the family to the model):")
    head = (f"  {'#':>2} {'family':<20} {'queries':>7} {'determ.':>7} {'extract.':>8} {'full':>5}  "
            f"{'H_k cost':>9} {'all-LLM':>9} {'ratio':>6}  {'wrong':>5}  N*_f")
    p(head)
    p("  " + "-" * (len(head) - 2))
    groups = [(f"{rank:>2}", name, [i for i, q in enumerate(queries) if q.family == name])
              for rank, name in enumerate(run.ranking, 1)]
    for kind, label in (("near", "(near misses)"), ("talk", "(small talk)")):
        if kinds[kind]:
            groups.append((" -", label, [i for i, q in enumerate(queries) if q.kind == kind]))
    wrong_at = {w[0] - 1 for w in run.wrong}
    for rank, name, idx in groups:
        src = [run.source[i] for i in idx]
        h = sum(run.cost[i] for i in idx)
        s = len(idx) * run.c_m
        ratio = f"{h / s:>6.3f}" if s else f"{'—':>6}"
        p(f"  {rank} {name:<20} {len(idx):>7} {src.count('deterministic'):>7} {src.count('extracted'):>8} "
          f"{src.count('llm'):>5}  {h:>9.4f} {s:>9.4f} {ratio}  {sum(i in wrong_at for i in idx):>5}  "
          f"{family_break_even(run, idx) if idx else '—'}")
    p("  (N*_f: the stream's N at which the family's cumulative cost under H_k is back at or below its "
      "all-LLM cost after having been above it, with the family's own query count; \"never above\": it "
      "never cost more; \"not reached\": still above at the end)")

    if run.workload == "corpus":
        report_corpus(args, run, scripted, p)
    else:
        report_grammar(args, run, scripted, p)
    p()
    p(f"model answers: {scripted.answers}; setup {run.setup_seconds:.1f} s, simulation {run.seconds:.1f} s")
    return n_star


def report_corpus(args: argparse.Namespace, run: Run, scripted: Scripted, p: Any) -> None:
    queries, n_total = run.queries, len(run.queries)
    p()
    x_calls = [c for c in run.calls if c[0] == "extract"]
    used = run.source.count("extracted")
    failed = len(x_calls) - used
    x_cost = sum(run.x_cost)
    used_cost = sum(run.x_cost[i] for i, src in enumerate(run.source) if src == "extracted")
    if x_calls:
        mean_in = sum(c[1] for c in x_calls) / len(x_calls)
        mean_out = sum(c[2] for c in x_calls) / len(x_calls)
        c_x = x_cost / len(x_calls)
        p(f"extraction: {len(x_calls)} calls, {mean_in:.0f} tokens in and {mean_out:.0f} out on average: "
          f"c_X = {c_x:.6g} = {c_x / run.c_m:.2f} c_M; {used} answered by a family's program (cost {used_cost:.4f}), "
          f"{failed} not used and followed by a full answer (cost {x_cost - used_cost:.4f} on top of their "
          f"full answers)")
    # The same stream through the registry as authored, no extraction, no widening: a miss is one full answer.
    authored_h: list[float] = []
    acc = 0.0
    for i in range(n_total):
        acc += 0.0 if run.authored[i] else run.c_m
        authored_h.append(acc)
    _, authored_text = break_even(authored_h, run.cum_std)
    det = run.source.count("deterministic")
    det_learned = sum(1 for i, src in enumerate(run.source) if src == "deterministic" and not run.authored[i])
    p(f"deterministic answers: {det}, of which {det_learned} by learned (widened) rules — requests the "
      f"grammars as authored miss")
    p(f"without extraction and widening (examples/ as authored, every miss one full answer): cost "
      f"{authored_h[-1]:.4f} ({sum(run.authored)} deterministic, {n_total - sum(run.authored)} full answers), "
      f"{authored_h[-1] / run.cum_std[-1]:.3f} of C_std; {authored_text}; H_k with them: {run.cum_h[-1]:.4f} "
      f"({run.cum_h[-1] / run.cum_std[-1]:.3f} of C_std)")
    p()
    written = [w for w in run.widenings if w.written]
    p(f"widenings (every {args.widen_after} new candidates of a family): {len(run.widenings)} attempts, "
      f"{len(written)} written, {sum(w.seconds for w in run.widenings):.1f} s in the request path")
    for w in run.widenings:
        p(f"  N={w.n:>5}  {w.family:<18} {w.candidates:>4} candidates  admitted {w.admitted:>2}  refused "
          f"{w.refused:>2}  not aligned {w.unaligned:>2}  {'written' if w.written else 'not written'}"
          + (f" ({w.message})" if w.message and not w.written else "") + f"  {w.seconds:.1f} s")
    full = [i for i, src in enumerate(run.source) if src == "llm" and queries[i].family is not None]
    p(f"in-family requests that got a full answer (their extraction was not used): {len(full)}")


def report_grammar(args: argparse.Namespace, run: Run, scripted: Scripted, p: Any) -> None:
    queries = run.queries
    families = sorted({q.family for q in queries if q.family is not None})
    d_cost = sum(d.cost for d in run.distillations)
    p()
    p("misses: " + ", ".join(f"{why} {k}" for why, k in sorted(run.misses.items(), key=lambda kv: -kv[1])))
    p(f"distillation: {len(run.distillations)} runs, {sum(len(d.rounds) for d in run.distillations)} model calls, "
      f"{sum(d.tokens_in for d in run.distillations):,} tokens in, "
      f"{sum(d.tokens_out for d in run.distillations):,} out, cost {d_cost:.4f}; one distillation round ≈ "
      f"{d_cost / max(1, sum(len(d.rounds) for d in run.distillations)) / run.c_m:.1f} c_M")
    p()
    p("distillations (✓ passed the gate, ✗ stopped, with the codes that stopped it):")
    for d in run.distillations:
        rounds = " → ".join(f"{k}{'✓' if ok else '✗ ' + ','.join(c or ['?'])}" for k, ok, c in d.rounds)
        status = "admitted" if d.admitted else ("passed, not served" if d.ok else "not admitted")
        p(f"  N={d.n:>5}  {d.family:<20} #{d.attempt}  {rounds}  → {status}  cost {d.cost:.4f} "
          f"({d.cost / run.c_m:.1f} c_M, {d.seconds:.1f} s)")
    admitted = sorted({d.family for d in run.distillations if d.admitted})
    never = [f for f in families if f not in admitted]
    p(f"admitted families: {len(admitted)} of {len(families)}"
      + (f"; not admitted: {', '.join(never)}" if never else ""))

    spec_rounds = [(d, r) for d in run.distillations for r in d.rounds if r[0] == "specialized"]
    spec_families = sorted({d.family for d, _ in spec_rounds})
    stopped_families = [f for f in spec_families
                        if all(not ok for d, (k, ok, _) in spec_rounds if d.family == f)]
    leaked = [f for f in spec_families if f not in stopped_families]
    p()
    p(f"specialized candidates: {len(spec_rounds)} proposed, {sum(not r[1] for _, r in spec_rounds)} stopped, "
      f"{sum(r[1] for _, r in spec_rounds)} admitted")
    p(f"specialized families stopped before answering any query: {len(stopped_families)} / {len(spec_families)}"
      + (" (all)" if not leaked else f"; NOT stopped: {', '.join(leaked)}"))
    p(f"deterministic answers given by a specialized family: {run.spec_answered}")
    codes: dict[str, int] = {}
    for _, (_, _, cs) in spec_rounds:
        for code in cs:
            codes[code] = codes.get(code, 0) + 1
    p("codes that stopped them: " + ", ".join(f"{code} ×{k}" for code, k in sorted(codes.items())))
    for fam, (wrong, compared) in sorted(run.would_be_wrong.items()):
        p(f"  {fam:<20} had its first specialized candidate been admitted, it would have answered "
          f"{wrong} of the family's {compared} later in-Θ queries wrongly")


def plot(path: Path, run: Run, n_star: int | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(run.source)
    xs = list(range(1, n + 1))
    covered = [src in ("deterministic", "extracted") for src in run.source]

    def running(flags: Sequence[bool]) -> list[float]:
        out, acc = [], 0
        for i, f in enumerate(flags):
            acc += f
            out.append(acc / (i + 1))
        return out

    width = max(1, min(250, n // 20))
    rolling = [sum(covered[max(0, i + 1 - width):i + 1]) / (i + 1 - max(0, i + 1 - width)) for i in range(n)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True)
    top.plot(xs, running(run.hit), label="deterministic so far")
    if run.workload == "corpus":
        top.plot(xs, running(covered), label="deterministic + extracted so far")
    top.plot(xs, rolling, label=f"answered by a family, last {width} queries", alpha=0.7)
    for d in run.distillations:
        top.axvline(d.n, color="green" if d.admitted else "red", alpha=0.25, lw=0.8)
    for w in run.widenings:
        top.axvline(w.n, color="green" if w.written else "red", alpha=0.25, lw=0.8)
    top.set_ylabel("share of the queries")
    top.set_ylim(0, 1)
    top.legend(loc="lower right")
    top.set_title("H_k, corpus workload: coverage (green: a widening written, red: none)" if run.workload == "corpus"
                  else "H_k, grammar workload: coverage (green: a family admitted, red: a distillation stopped)")
    bottom.plot(xs, run.cum_std, label="C_std = N·c_M (every query to the model)")
    bottom.plot(xs, run.cum_h, label="H_k (extraction + full answers)" if run.workload == "corpus"
                else "H_k (misses + distillation)")
    if run.workload == "corpus":
        authored, acc = [], 0.0
        for answered in run.authored:
            acc += 0.0 if answered else run.c_m
            authored.append(acc)
        bottom.plot(xs, authored, label="examples/ as authored, no extraction or widening", ls=":")
    if n_star is not None:
        bottom.axvline(n_star, color="black", ls="--", lw=1)
        bottom.annotate(f"N* = {n_star}", (n_star, run.cum_h[n_star - 1]), textcoords="offset points",
                        xytext=(8, 12))
    bottom.set_xscale("log")
    bottom.set_yscale("log")
    bottom.set_xlabel("queries N")
    bottom.set_ylabel("cumulative cost")
    bottom.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", choices=("corpus", "grammar"), default="corpus",
                    help="corpus: held-out requests over examples/, k = 10, extraction and widening (default); "
                         "grammar: utterances sampled from bench/econ_families' grammars, k = 0, compile-on-miss")
    ap.add_argument("--queries", type=int, help=f"queries in the stream (default {DEFAULT_QUERIES['corpus']} "
                                                f"for corpus, {DEFAULT_QUERIES['grammar']} for grammar)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent s over the families (default 1.1)")
    ap.add_argument("--off-family", type=float, default=0.1,
                    help="share of off-family queries: small talk, and in the corpus workload near misses "
                         "(default 0.1)")
    ap.add_argument("--near-misses", type=float, default=0.5,
                    help="corpus: share of the off-family queries that are corpus near misses, the rest small "
                         "talk (default 0.5)")
    ap.add_argument("--corpus", type=Path, default=CORPUS_DIR, help="corpus: the held-out requests (default "
                                                                     "bench/corpus)")
    ap.add_argument("--widen-after", type=int, default=10,
                    help="corpus: widen a family after this many new candidates (default 10; 0: never)")
    ap.add_argument("--price-in", type=float, default=0.15, help="price per 1,000 input tokens (default 0.15)")
    ap.add_argument("--price-out", type=float, default=0.60, help="price per 1,000 output tokens (default 0.60)")
    ap.add_argument("--answer-in", type=int, default=40, help="tokens in of one model answer (default 40)")
    ap.add_argument("--answer-out", type=int, default=200, help="tokens out of one model answer (default 200)")
    ap.add_argument("--rounds", type=int, default=2, help="grammar: repair rounds per distillation (default 2)")
    ap.add_argument("--max-attempts", type=int, default=2,
                    help="grammar: distillations per family at most (default 2)")
    ap.add_argument("--plot", type=Path, help="write coverage and cost over N to this PNG")
    ap.add_argument("--keep", type=Path, help="work in this (new) directory and keep it: registry, ledger, "
                                              "distillation transcripts")
    ap.add_argument("-q", "--quiet", action="store_true", help="do not print each distillation as it happens")
    args = ap.parse_args(argv)
    if args.queries is None:
        args.queries = DEFAULT_QUERIES[args.workload]
    if (args.queries < 1 or not 0 <= args.off_family < 1 or args.zipf <= 0 or not 0 <= args.near_misses <= 1
            or args.widen_after < 0):
        ap.error("--queries must be positive, --off-family in [0, 1), --near-misses in [0, 1], --zipf positive, "
                 "--widen-after >= 0")

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="ddl-econ-") as tmp:
        work = Path(tmp)
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            work = args.keep
        os.environ["LLM_USER_PATH"] = str(work / "llm")
        simulate = simulate_corpus if args.workload == "corpus" else simulate_grammar
        run, scripted = simulate(args, work, log)
        n_star = report(args, run, scripted, sys.stdout)
    if args.plot is not None:
        plot(args.plot, run, n_star)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
