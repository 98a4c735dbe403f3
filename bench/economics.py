"""Economics of compile-on-miss: does a growing handler H_k pay for its distillations?

Run:  .venv/bin/python bench/economics.py [--queries 5000] [--seed 0] [--plot econ.png]
                                          [--price-in 0.15] [--price-out 0.60] [--off-family 0.1]

The workload: the task families of bench/econ_families/good/ (15 families from varied domains:
books, weather, bills, dates, e-mail, git, recipes, shell, SQL, units, currency, GitHub issues,
timers, clocks, temperatures).  A stream of --queries queries picks a family by a Zipf law
(s = --zipf, ranks shuffled by --seed) and draws an utterance from that family's grammar (a
random length with at least one utterance of at most 80 characters, then a uniform utterance of
that length, as `ddl grammar sample` does); a fraction --off-family of the queries is small
talk that no family accepts.  Every label is verified against the good families' router.

H_k is the real handler: ``ddl.handler.Handler`` over a registry directory that starts empty
(k = 0), a SQLite ledger, and a fallback model ``econ-script``: an ``llm.Model`` registered
in-process through ``llm.plugins.pm``.  The scripted model

* answers a question with a fixed text and reports usage like a real model (--answer-in tokens
  in, --answer-out tokens out), so a miss costs c_M = price(answer-in, answer-out);
* answers a distillation prompt with a DDL module: it finds the teaching utterance in the prompt,
  identifies its family with the good families' grammars, and replies with that family's source
  with a ``teach`` line for the values the utterance sets (as the prompt asks).  For the families
  of PLANS it first replies with a *specialized* variant from bench/econ_families/specialized/
  (the teaching value of this utterance hardcoded: a URL, a constant, an ``if x == v0`` branch)
  and with the good family in the repair round; for list_issues it only ever sends specialized
  variants, so that family is never admitted.  Tokens: the whole conversation so far (system
  prompt, earlier prompts and replies, this prompt) / 4 in, the reply / 4 out.

Compile-on-miss: after a miss on a query of a family that is not served yet, the bench calls
``ddl.distill.distill(u, model=..., rounds=2, out=<registry>/miss-N.ddl, registry=...)`` — at most
--max-attempts times per family — and reloads the handler when it passes.  Its tokens are real
spend and are added to H_k's cost.  Off-family misses are answered but not distilled (the bench
assumes the handler does not try to compile small talk).

Printed: at N = 100, 250, 500, 1000, 2000, 5000: coverage (all queries so far, and the queries of
the last window), H_k's cumulative cost against C_std = N·c_M (every query answered by the
model), the families served; the break-even point N* (the first N where H_k's cumulative cost is
back at or below C_std after having been above it); each family's distillation; and the
specialized candidates the checker stopped (the goal: all of them, before they answer any query),
with the wrong answers each would have given had it been admitted (its program against the good
family's on the family's later queries).  --plot FILE.png writes coverage and cumulative cost over
N with N* marked.  Prices are per 1,000 tokens, as in the handler's config; N* depends only on
their ratio.
"""

from __future__ import annotations

import argparse
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
GOOD_DIR = FAMILIES_DIR / "good"
SPECIALIZED_DIR = FAMILIES_DIR / "specialized"
MODEL_ID = "econ-script"
CHECKPOINTS = (100, 250, 500, 1000, 2000, 5000)
MAX_LENGTH = 80  # longest utterance drawn from a grammar

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
    family: str | None  # None: off-family small talk
    theta: dict[str, Any] | None = None  # the good family's θ (None when outside Θ or off-family)


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
    cumulative: list[float] = []
    acc = 0.0
    for w in zipf_weights(len(ranking), s):
        acc += w
        cumulative.append(acc)
    stream: list[Query] = []
    while len(stream) < n:
        if rng.random() < off_family:
            text = small_talk(rng)
            if oracle.route(text) is not None:
                raise SystemExit(f"small talk {text!r} is accepted by {oracle.route(text).family}")
            stream.append(Query(text, None))
            continue
        i = min(bisect_left(cumulative, rng.random()), len(ranking) - 1)
        name = ranking[i]
        lang, lengths = langs[name]
        text = lang.sample(rng, rng.choice(lengths))
        route = oracle.route(text)
        if route is None or route.family != name:
            raise SystemExit(f"a sample of {name}, {text!r}, routes to {route.family if route else 'nothing'}")
        stream.append(Query(text, name, route.theta))
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

    def __init__(self, oracle: Any, answer_in: int, answer_out: int) -> None:
        from ddl.grammar.compile import CompiledGrammar

        self.oracle = oracle
        self.answer_in, self.answer_out = answer_in, answer_out
        self.good = {f.name: Path(f.path).read_text(encoding="utf-8") for f in oracle.served}
        self.grammars = {f.name: CompiledGrammar(f.checked, f.evaluator) for f in oracle.served}
        self.variants = {v: (SPECIALIZED_DIR / v).read_text(encoding="utf-8")
                         for _, files in PLANS.values() for v in files}
        self.attempts: dict[str, int] = {}
        self.conversations: dict[str, tuple[str | None, str | None, int]] = {}
        self.replies: list[Reply] = []
        self.answers = 0

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
            is_distill = bool(prior) or ("```ddl" in text and len(text) > 1000)
            if not is_distill:
                scripted.answers += 1
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
class Run:
    queries: list[Query]
    hit: list[bool] = field(default_factory=list)
    cum_h: list[float] = field(default_factory=list)
    cum_std: list[float] = field(default_factory=list)
    served: list[int] = field(default_factory=list)
    distillations: list[Distillation] = field(default_factory=list)
    wrong_family: int = 0
    errors: int = 0
    spec_answered: int = 0  # deterministic answers by a specialized family (must stay 0)
    would_be_wrong: dict[str, tuple[int, int]] = field(default_factory=dict)  # family -> (wrong, compared)
    misses: dict[str, int] = field(default_factory=dict)  # why a query went to the model -> count
    c_m: float = 0.0
    seconds: float = 0.0


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


def simulate(args: argparse.Namespace, work: Path, log: Any) -> tuple[Run, Scripted]:
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

    scripted = Scripted(oracle, args.answer_in, args.answer_out)
    model = _build_model(scripted)
    register_model(model)

    registry_dir = work / "registry"
    registry_dir.mkdir()
    store = open_store(str(work / "ledger.sqlite3"))
    config = HandlerConfig(model=MODEL_ID, price_in=args.price_in, price_out=args.price_out)
    handler = Handler(Registry.load(registry_dir, cache_dir=cache), store, config)
    run = Run(queries)
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
            answer = handler.handle(q.text)
            source = answer.get("source")
            cost = 0.0
            if source != "deterministic":
                why = ("off-family" if q.family is None else
                       "θ outside Θ (the grammar accepts, Θ does not)" if q.theta is None else
                       "a served family missed it" if was_served else
                       "its family's distillations were all stopped" if attempts.get(q.family, 0) >= args.max_attempts
                       else "its family was not served yet")
                run.misses[why] = run.misses.get(why, 0) + 1
            if source == "deterministic":
                run.hit.append(True)
                if answer.get("family") != q.family:
                    run.wrong_family += 1
                if answer.get("family") not in admitted:
                    run.spec_answered += 1
            else:
                run.hit.append(False)
                if source == "llm":
                    cost = price(answer.get("tokens_in") or 0, answer.get("tokens_out") or 0,
                                 args.price_in, args.price_out)
                else:
                    run.errors += 1
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


def report(args: argparse.Namespace, run: Run, scripted: Scripted, out: Any) -> int | None:
    queries, n_total = run.queries, len(run.queries)
    families = sorted({q.family for q in queries if q.family is not None})
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p()
    p(f"workload: {n_total} queries, {len(families)} families (Zipf s={args.zipf}), "
      f"{sum(q.family is None for q in queries)} off-family ({args.off_family:.0%}), seed {args.seed}")
    p(f"prices per 1,000 tokens: in {args.price_in:g}, out {args.price_out:g}; one model answer "
      f"({args.answer_in} in, {args.answer_out} out): c_M = {run.c_m:.6g}")
    p()
    head = (f"{'N':>6}  {'coverage':>8}  {'window':>7}  {'in-family':>9}  {'served':>6}  "
            f"{'H_k cost':>10}  {'C_std':>10}  {'H_k/C_std':>9}")
    p(head)
    p("-" * len(head))
    points = [c for c in CHECKPOINTS if c < n_total] + [n_total]
    prev = 0
    for c in points:
        hits = sum(run.hit[:c])
        window = sum(run.hit[prev:c]) / (c - prev)
        fam_idx = [i for i in range(c) if queries[i].family is not None]
        fam_cov = sum(run.hit[i] for i in fam_idx) / len(fam_idx) if fam_idx else 0.0
        h, s = run.cum_h[c - 1], run.cum_std[c - 1]
        p(f"{c:>6}  {hits / c:>8.1%}  {window:>7.1%}  {fam_cov:>9.1%}  {run.served[c - 1]:>6}  "
          f"{h:>10.4f}  {s:>10.4f}  {h / s:>9.3f}")
        prev = c
    n_star, text = break_even(run.cum_h, run.cum_std)
    p()
    p(text)
    saved = run.cum_std[-1] - run.cum_h[-1]
    p(f"after {n_total} queries: H_k spent {run.cum_h[-1]:.4f}, C_std {run.cum_std[-1]:.4f} "
      f"(saved {saved:.4f}, {saved / run.cum_std[-1]:.1%})")
    d_cost = sum(d.cost for d in run.distillations)
    miss_cost = run.cum_h[-1] - d_cost
    p("misses: " + ", ".join(f"{why} {k}" for why, k in sorted(run.misses.items(), key=lambda kv: -kv[1])))
    p(f"H_k's cost: model answers {miss_cost:.4f} ({n_total - sum(run.hit)} misses), distillation "
      f"{d_cost:.4f} ({len(run.distillations)} runs, {sum(len(d.rounds) for d in run.distillations)} model calls, "
      f"{sum(d.tokens_in for d in run.distillations):,} tokens in, "
      f"{sum(d.tokens_out for d in run.distillations):,} out; one distillation round ≈ "
      f"{d_cost / max(1, sum(len(d.rounds) for d in run.distillations)) / run.c_m:.1f} c_M)")

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
    if run.wrong_family or run.errors:
        p(f"WARNING: {run.wrong_family} hits answered by the wrong family, {run.errors} error answers")
    p()
    p(f"model answers: {scripted.answers}; simulation {run.seconds:.1f} s")
    return n_star


def plot(path: Path, run: Run, n_star: int | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(run.hit)
    xs = list(range(1, n + 1))
    cov, acc = [], 0
    for i, h in enumerate(run.hit):
        acc += h
        cov.append(acc / (i + 1))
    width = max(1, min(250, n // 20))
    rolling = [sum(run.hit[max(0, i + 1 - width):i + 1]) / (i + 1 - max(0, i + 1 - width)) for i in range(n)]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7.5), sharex=True)
    top.plot(xs, cov, label="coverage so far")
    top.plot(xs, rolling, label=f"coverage of the last {width} queries", alpha=0.7)
    for d in run.distillations:
        top.axvline(d.n, color="green" if d.admitted else "red", alpha=0.25, lw=0.8)
    top.set_ylabel("share answered deterministically")
    top.set_ylim(0, 1)
    top.legend(loc="lower right")
    top.set_title("H_k: coverage (green: a family admitted, red: a distillation stopped)")
    bottom.plot(xs, run.cum_std, label="C_std = N·c_M (every query to the model)")
    bottom.plot(xs, run.cum_h, label="H_k (misses + distillation)")
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
    ap.add_argument("--queries", type=int, default=5000, help="queries in the stream (default 5000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent s over the families (default 1.1)")
    ap.add_argument("--off-family", type=float, default=0.1, help="share of small-talk queries (default 0.1)")
    ap.add_argument("--price-in", type=float, default=0.15, help="price per 1,000 input tokens (default 0.15)")
    ap.add_argument("--price-out", type=float, default=0.60, help="price per 1,000 output tokens (default 0.60)")
    ap.add_argument("--answer-in", type=int, default=40, help="tokens in of one model answer (default 40)")
    ap.add_argument("--answer-out", type=int, default=200, help="tokens out of one model answer (default 200)")
    ap.add_argument("--rounds", type=int, default=2, help="repair rounds per distillation (default 2)")
    ap.add_argument("--max-attempts", type=int, default=2, help="distillations per family at most (default 2)")
    ap.add_argument("--plot", type=Path, help="write coverage and cost over N to this PNG")
    ap.add_argument("--keep", type=Path, help="work in this (new) directory and keep it: registry, ledger, "
                                              "distillation transcripts")
    ap.add_argument("-q", "--quiet", action="store_true", help="do not print each distillation as it happens")
    args = ap.parse_args(argv)
    if args.queries < 1 or not 0 <= args.off_family < 1 or args.zipf <= 0:
        ap.error("--queries must be positive, --off-family in [0, 1), --zipf positive")

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="ddl-econ-") as tmp:
        work = Path(tmp)
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            work = args.keep
        os.environ["LLM_USER_PATH"] = str(work / "llm")
        run, scripted = simulate(args, work, log)
        n_star = report(args, run, scripted, sys.stdout)
    if args.plot is not None:
        plot(args.plot, run, n_star)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
