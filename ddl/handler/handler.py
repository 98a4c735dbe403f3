"""H_k(u): answer a query deterministically when a served family accepts it, else ask a model.

On a miss with a model configured, the model is first asked the small question of
:mod:`ddl.handler.extract` (which served family, which θ); a valid answer is run by the family's
checked program (source ``"extracted"``) and stored as a *candidate phrasing* of that family, from
which :mod:`ddl.handler.widening` widens its grammar — by ``ddl widen``, or here, in the
background, after ``widen_after`` new candidates (spec/widen.md).  Anything else gets the full
answer as before.

Every query is recorded in the ledger (the store), whichever branch answered it and
whether it failed; a query never raises out of :meth:`Handler.handle` — model errors,
timeouts and store failures become results with a DDL7xx code.  A store that cannot be
written is the one exception worth surfacing loudly: the answer is still returned, with
``"recorded": false`` and the store's error, so no caller loses the answer and no one
mistakes an unrecorded query for a recorded one.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ddl.eval import Err
from ddl.handler.records import VERDICTS, HandlerError, QueryRecord
from ddl.handler.registry import Registry
from ddl.handler.store import open_store, settle_commit
from ddl.model import ask_model
from ddl.values import to_json

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from ddl.handler.widening import WidenReport

_SURROGATE = re.compile("[\ud800-\udfff]")  # a lone surrogate: not Unicode text, and no store can hold it


class Handler:
    """A registry, a fallback model and a store: the growing piecewise handler H_k.

    Thread-safe: routing (whose lazy automata mutate their caches) runs under a lock, programs
    are pure, model calls run concurrently, and the store serializes its own writes.
    """

    thread_safe = True
    # A program that used more CPU time than this on the service's event loop is run in the thread
    # pool from then on (answer_hit); checked programs are total and usually take microseconds, but their time
    # budget (QUERY_LIMITS) is a second, which would stall every other connection.
    LOOP_SECONDS = 0.02

    def __init__(self, registry: Registry, store: Any, config: Any, *, learn_in_background: bool = True) -> None:
        self.registry = registry
        self.store = store
        self.config = config
        self._lock = threading.Lock()  # the router's lazy caches are not thread-safe
        # Compile on miss: one distillation at a time, off the request path unless asked otherwise.
        self.learn_in_background = learn_in_background
        self.learned: list[Any] = []  # LearnOutcome of every finished attempt, oldest first
        self._learning: set[str] = set()
        self._slow_on_loop: set[str] = set()  # families answer_hit leaves to handle (see LOOP_SECONDS)
        self._learner: Any = None
        # Automatic widening: one family at a time, in the background; what each attempt concluded.
        self.widenings: list[WidenReport | dict[str, Any]] = []
        self._widening: set[str] = set()
        self._widened_at: dict[str, int] = {}  # family → its candidate count when last widened
        self._vocabularies: dict[int, frozenset[str]] = {}  # checked family (by identity) → its words

    @classmethod
    def open(cls, directory: str | Path, config: Any, *, learn_in_background: bool = True,
             eager: bool = True) -> Handler:
        """A handler over ``directory``; ``eager=False`` for a few queries (``ddl handle``): families'
        modules, programs and grammars are loaded or built on their first hit, not all at load, and
        captures come from the tagged matcher (no ``re`` extractor is compiled)."""
        registry = Registry.load(directory, max_model_priority=getattr(config, "max_model_priority", None),
                                 eager=eager, extractors=eager)
        store = open_store(config.store) if config.store else None
        return cls(registry, store, config, learn_in_background=learn_in_background)

    # ------------------------------------------------------------------ queries

    def handle(self, utterance: str) -> dict[str, Any]:
        """The answer to one query as JSON; raises HandlerError (DDL705) only for invalid input."""
        started = time.perf_counter()
        self._check_utterance(utterance)
        record = self._answer(utterance, started)
        answer = record.to_json()
        answer["recorded"] = False
        if self.store is not None:
            try:
                answer["id"] = self.store.record_query(record)
                answer["recorded"] = True
            except HandlerError as err:
                answer["store_error"] = err.to_json()
        if record.source == "extracted" and answer["recorded"] and record.family is not None:
            try:
                self.store.add_candidate(answer["id"], record.family, utterance, record.theta or {})
                answer["candidate"] = True
                answer["widening"] = self._maybe_widen(record.family)
            except HandlerError as err:
                answer["store_error"] = err.to_json()
        if record.source == "llm" and getattr(self.config, "compile_on_miss", False):
            answer["learning"] = self._learn(utterance, record.text)
        return answer

    def answer_hit(self, utterance: str) -> QueryRecord | None:
        """The record of a query a served family's grammar accepts, computed on the caller's
        thread without waiting for anything; None when answering needs more than that (a miss
        goes to a model; the registry is being swapped by another thread): call :meth:`handle`.

        For the service's event loop, with :meth:`record_hit`: a covered query costs no thread
        hand-off, and the loop never blocks (invalid input raises HandlerError, as in handle).
        A family whose program once used more than :attr:`LOOP_SECONDS` of CPU time is answered by
        :meth:`handle` from then on (None here): a slow program holds the loop at most once."""
        started = time.perf_counter()
        self._check_utterance(utterance)
        if not self._lock.acquire(blocking=False):
            return None
        try:
            registry = self.registry
            route = registry.route(utterance)
        finally:
            self._lock.release()
        if route is None or route.theta is None or route.family in self._slow_on_loop:
            return None
        # CPU time, not wall time: on a busy machine the process can be descheduled mid-program
        # for longer than LOOP_SECONDS, and the family would leave the loop for good.
        ran = time.thread_time()
        record = self._run_route(registry, route, utterance, started)
        if time.thread_time() - ran > self.LOOP_SECONDS:
            self._slow_on_loop.add(route.family)
        return record

    async def record_hit(self, record: QueryRecord) -> dict[str, Any]:
        """:meth:`answer_hit`'s record as :meth:`handle` answers it: recorded in the ledger by the
        store's writer thread (group commit), returned once its row is committed."""
        answer = record.to_json()
        answer["recorded"] = False
        if self.store is None:
            return answer
        import asyncio  # deferred: only the service answers on an event loop; `ddl handle` never loads asyncio

        try:
            commit = getattr(self.store, "commit_query", None)
            submit = getattr(self.store, "submit_query", None)
            if commit is not None:  # ours: the writer wakes the loop once per group commit
                answer["id"] = await commit(record)
            elif submit is None:  # a store without a writer thread: its blocking write, off the loop
                answer["id"] = await asyncio.to_thread(self.store.record_query, record)
            else:
                answer["id"] = await _submitted(submit, record)
            answer["recorded"] = True
        except HandlerError as err:
            answer["store_error"] = err.to_json()
        return answer

    def _check_utterance(self, utterance: str) -> None:
        if not isinstance(utterance, str):
            raise HandlerError("the utterance must be text", code="DDL705")
        limit = getattr(self.config, "max_utterance", 4096)
        if len(utterance) > limit:
            raise HandlerError(f"the utterance has {len(utterance)} characters; the limit is {limit}", code="DDL705")
        found = _SURROGATE.search(utterance)
        bad = None if found is None else found.start()
        if bad is not None:  # refused before a model is asked: the ledger could not record it
            raise HandlerError(f"the utterance is not valid Unicode: a lone surrogate U+{ord(utterance[bad]):04X} "
                               f"at character {bad + 1}", code="DDL705")

    # ------------------------------------------------------------------ widening

    def _maybe_widen(self, family: str) -> dict[str, Any] | None:
        """Widen ``family`` once ``widen_after`` new candidates arrived since the last attempt."""
        every = int(getattr(self.config, "widen_after", 0) or 0)
        if every <= 0 or self.store is None:
            return None
        count = self.store.candidate_count(family)
        with self._lock:
            if family in self._widening or count - self._widened_at.get(family, 0) < every:
                return None
            self._widening.add(family)
            self._widened_at[family] = count
        return self._run_widening(family)

    def widen(self, family: str, *, method: str = "align", write: bool = False) -> WidenReport:
        """Widen ``family`` from its candidates (``ddl widen``); after a write the registry is reloaded."""
        # deferred: widening (the learners, the parser) loads only when a family is widened, not for a hit
        from ddl.handler.widening import widen_family

        if self.store is None:
            raise HandlerError("no store is configured, so there are no candidate phrasings", code="DDL702")
        with self._lock:
            registry = self.registry
        report = widen_family(registry, self.store, family, method=method, model_id=self.config.model,
                              timeout=self.config.timeout, write=write)
        if report.written:
            self.install(registry.reload())
        return report

    def _background(self) -> ThreadPoolExecutor:
        from concurrent.futures import ThreadPoolExecutor  # deferred: `ddl handle` runs no background thread

        with self._lock:
            if self._learner is None:
                self._learner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddl-learn")
            return self._learner  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ compile on miss

    def _learn(self, utterance: str, text: str | None) -> dict[str, Any]:
        with self._lock:
            if utterance in self._learning:
                return {"status": "already queued"}
            self._learning.add(utterance)

        # deferred: compile on miss (distill, the checker, the parser) loads only when a miss is learned
        from ddl.handler.learn import LearnOutcome, learn_from_miss

        def attempt() -> Any:
            try:
                outcome = learn_from_miss(self, utterance, text)
            except Exception as err:  # a bug in learning must not take the handler down

                outcome = LearnOutcome(utterance, "rejected", reason=f"internal error: {type(err).__name__}: {err}")
            with self._lock:
                self.learned.append(outcome)
                self._learning.discard(utterance)
            return outcome

        if not self.learn_in_background:
            return dict(attempt().to_json())
        if self._learner is None:
            from concurrent.futures import ThreadPoolExecutor  # deferred: `ddl handle` runs no background thread

            self._learner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddl-learn")
        self._learner.submit(attempt)
        return {"status": "queued"}

    def install(self, registry: Registry) -> None:
        """Swap in a registry (after a reload or a compiled miss was admitted)."""
        with self._lock:
            self.registry = registry
            self._vocabularies.clear()  # keyed by the served families' identity: those of the old registry

    def _answer(self, utterance: str, started: float) -> QueryRecord:
        with self._lock:
            registry = self.registry
            route = registry.route(utterance)
        if route is not None and route.theta is not None:
            return self._run_route(registry, route, utterance, started)
        return self._ask_model(utterance, started)

    @staticmethod
    def _run_route(registry: Registry, route: Any, utterance: str, started: float) -> QueryRecord:
        """The record of a grammar hit: the family's program run on the route's θ."""
        served = registry.by_name[route.family]
        outcome = served.run(route.theta)
        theta = {k: to_json(v) for k, v in route.theta.items()}
        if not isinstance(outcome, Err):
            return QueryRecord(
                ts=time.time(), utterance=utterance, source="deterministic",
                latency_ms=_ms(started), family=served.name, family_version=served.version,
                theta=theta, output=to_json(outcome.value))
        # A checked family cannot fail at run time (`safe` is proved); if it does, say so plainly.
        failure = outcome.failure
        return QueryRecord(
            ts=time.time(), utterance=utterance, source="error", latency_ms=_ms(started),
            family=served.name, family_version=served.version, theta=theta,
            error={"code": "DDL999", "message": f"internal error: {served.name} failed at run time: "
                                                f"{getattr(failure, 'message', failure)}"})

    def _ask_model(self, utterance: str, started: float) -> QueryRecord:
        model = self.config.model
        if not model:
            return QueryRecord(
                ts=time.time(), utterance=utterance, source="error", latency_ms=_ms(started),
                error={"code": "DDL707", "message": "no family accepts the utterance and no fallback model is "
                                                    "configured (use -m MODEL, DDL_MODEL, or `model` in the "
                                                    "config file)"})
        spent: tuple[int | None, int | None] = (None, None)
        if getattr(self.config, "extract", True):
            found, spent = self._extract(model, utterance, started)
            if found is not None:
                return found
        reply = ask_model(model, utterance, timeout=self.config.timeout, system=self.config.system)
        tokens_in, tokens_out = _add(spent[0], reply.tokens_in), _add(spent[1], reply.tokens_out)
        if reply.error is not None:
            return QueryRecord(
                ts=time.time(), utterance=utterance, source="error", latency_ms=_ms(started), model=reply.model,
                tokens_in=tokens_in, tokens_out=tokens_out, error=reply.error.to_json())
        return QueryRecord(
            ts=time.time(), utterance=utterance, source="llm", latency_ms=_ms(started), text=reply.text,
            model=reply.model, tokens_in=tokens_in, tokens_out=tokens_out)

    def _extract(self, model: str, utterance: str,
                 started: float) -> tuple[QueryRecord | None, tuple[int | None, int | None]]:
        """The small question: which served family, which θ.  A record when it answers; the tokens spent."""
        with self._lock:
            registry = self.registry
        from ddl.handler import extract  # deferred: only a miss asks the model to name a family

        families = extract.relevant(registry.served, utterance, self._vocabularies)
        if not families:  # shares no word with any served family: small talk, not worth the small call
            return None, (None, None)
        reply = ask_model(model, extract.prompt(families, utterance), timeout=self.config.timeout,
                          system=extract.SYSTEM)
        spent = (reply.tokens_in, reply.tokens_out)
        if reply.error is not None:
            return None, spent
        found = extract.read_reply(reply.text, registry.by_name)
        if not isinstance(found, extract.Extracted):
            return None, spent
        served = registry.by_name[found.family]
        outcome = served.run(found.theta)
        if isinstance(outcome, Err):  # cannot happen for a checked family; the full answer is the way out
            return None, spent
        return QueryRecord(
            ts=time.time(), utterance=utterance, source="extracted", latency_ms=_ms(started), family=served.name,
            family_version=served.version, theta={k: to_json(v) for k, v in found.theta.items()},
            output=to_json(outcome.value), model=reply.model, tokens_in=reply.tokens_in,
            tokens_out=reply.tokens_out), spent

    # ------------------------------------------------------------------ feedback, stats, families

    def feedback(self, query_id: int, verdict: str, correction: str | None = None) -> dict[str, Any]:
        if verdict not in VERDICTS:
            raise HandlerError(f"the verdict must be 'accept' or 'reject', not {verdict!r}", code="DDL705")
        if self.store is None:
            raise HandlerError("no store is configured, so there is no query to give feedback on", code="DDL702")
        record = self.store.add_feedback(query_id, verdict, correction)
        answer = dict(record.to_json())
        query = self.store.get_query(query_id) if verdict == "reject" else None
        if query is not None and query.source == "extracted" and query.family is not None \
                and self._has_learned_rule(query.family):
            # Its candidate is gone (the store removed it); what it taught the grammar goes too: relearn.
            answer["relearning"] = self._relearn(query.family)
        return answer

    def _has_learned_rule(self, family: str) -> bool:
        from ddl.widen.gate import has_learned_rule  # deferred: the widening gate loads the parser

        with self._lock:
            served = self.registry.by_name.get(family)
        return served is not None and has_learned_rule(served.checked)

    def _relearn(self, family: str) -> dict[str, Any] | None:
        with self._lock:
            if family in self._widening:
                return {"status": "already widening", "family": family}
            self._widening.add(family)
        return self._run_widening(family)

    def _run_widening(self, family: str) -> dict[str, Any] | None:
        """Widen ``family`` (marked as widening by the caller) now or in the background; unmark it after."""
        from ddl.handler.widening import WidenReport  # deferred: widening loads only when a family is widened

        def attempt() -> Any:
            try:
                report: WidenReport | dict[str, Any] = self.widen(family, method=self.config.widen_method,
                                                                  write=True)
            except Exception as err:  # a bug or a store failure must not take the handler down
                report = {"family": family, "ok": False, "message": f"{type(err).__name__}: {err}"}
            _log_widening(report)
            with self._lock:
                self.widenings.append(report)
                self._widening.discard(family)
            return report

        if not self.learn_in_background:
            done = attempt()
            return done.to_json() if isinstance(done, WidenReport) else dict(done)
        self._background().submit(attempt)
        return {"status": "queued", "family": family}

    def stats(self) -> dict[str, Any]:
        if self.store is None:
            raise HandlerError("no store is configured, so there are no statistics", code="DDL702")
        from ddl.handler.stats import compute_stats  # deferred: `ddl handle` never reports statistics

        return dict(compute_stats(self.store, price_in=self.config.price_in, price_out=self.config.price_out,
                                  cost_per_call=self.config.cost_per_call).to_json())

    def families(self) -> dict[str, Any]:
        return self.registry.to_json()

    def reload(self) -> dict[str, Any]:
        """Load the directory again (unchanged files hit the check cache) and swap the registry in."""
        self.install(self.registry.reload())
        return self.families()

    def close(self) -> None:
        if self._learner is not None:
            self._learner.shutdown(wait=True)  # let a running distillation finish writing
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> Handler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _log_widening(report: WidenReport | dict[str, Any]) -> None:
    """What automatic widening learned, and why each refused alternative was refused."""
    import logging  # deferred: a one-query ``ddl handle`` never logs

    log = logging.getLogger("ddl.handler")
    if isinstance(report, dict):
        log.warning("widening %s failed: %s", report.get("family"), report.get("message"))
        return
    gate = report.gate
    admitted = len(gate.admitted) if gate is not None else 0
    log.info("widening %s from %d candidates: %d alternatives admitted, %s", report.family, report.candidates,
             admitted, "written" if report.written else f"nothing written ({report.message or 'no change'})")
    for refusal in gate.refused if gate is not None else ():
        log.info("widening %s refused %s: %s", report.family, refusal.alternative, refusal.reason)
    for unaligned in report.learned.unaligned:
        log.info("widening %s did not learn %r: %s", report.family, unaligned.utterance, unaligned.reason)


async def _submitted(submit: Any, record: QueryRecord) -> int:
    """The id of ``record`` handed to a store's ``submit_query``, awaited once its row is committed."""
    import asyncio  # deferred: only the service answers on an event loop; `ddl handle` never loads asyncio

    loop = asyncio.get_running_loop()
    committed: asyncio.Future[int] = loop.create_future()
    submit(record, lambda new_id, error: loop.call_soon_threadsafe(settle_commit, committed, new_id, error))
    return await committed


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)

