"""The handler's ledger and feedback store: SQLite in a file by default, PostgreSQL by URL.

Every query H_k answers is one row of ``ddl_queries``; every verdict a user gives is one row
of ``ddl_feedback``, which copies the query's utterance, θ, family and family version so
that refinement can learn from the feedback alone; every ``"extracted"`` answer's utterance
and θ is also a row of ``ddl_candidates``, a *candidate phrasing* from which the family's
grammar can be widened.  Both backends share one contract:

* every write is committed before the call returns (a crash afterwards loses nothing);
* queries recorded by several threads at once are committed together (*group commit*): while
  one transaction is committing, the records that arrive wait in a queue, and the next thread
  to commit takes all of them in one transaction, so N concurrent requests cost one commit (one
  fsync) instead of N, and each call still returns only after its own row is committed;
* several processes may write at once (SQLite: WAL + busy timeout; PostgreSQL: a
  server-side sequence), and nothing is lost;
* failures are :class:`StoreError` (DDL702) with a one-line message naming the store, never
  a driver traceback; an unknown query id is DDL706, an invalid verdict DDL705;
* a file that is not a database is refused *before* SQLite touches it, so a mistyped path
  never truncates or rewrites somebody's data;
* a damaged store is never written to: an SQLite file is read whole (``PRAGMA quick_check``,
  through a read-only connection) before anything writes to it, unless nothing has changed it
  since ddl last closed it sound (:meth:`SQLiteStore._vouched`), and damage found later by any
  statement stops every further write (see :meth:`Store._refuse_if_damaged`);
* the schema carries a version in ``ddl_meta``; a store written by a newer ``ddl`` is refused
  rather than misread, and a store of an older layout is upgraded in place when opened, in one
  transaction (all of it or none of it), losing no row;
* a ``"reject"`` verdict deletes the query's candidate phrasings in the transaction that stores
  the verdict: a phrasing whose answer a user rejected never teaches a grammar.

Tables are prefixed ``ddl_`` because a PostgreSQL database is often shared with other
applications.
"""

from __future__ import annotations

import abc
import json
import os
import re
import shlex
import sqlite3
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from ddl.files import make_private_dir
from ddl.handler.records import (
    SOURCES,
    VERDICTS,
    CandidateRecord,
    FeedbackRecord,
    HandlerError,
    QueryRecord,
    StoreError,
)

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "MAX_CANDIDATE_THETA",
    "MAX_CANDIDATE_UTTERANCE",
    "SCHEMA_VERSION",
    "PostgresStore",
    "SQLiteStore",
    "Settled",
    "Store",
    "mask_url",
    "open_store",
]

#: Version of the tables' layout.  Bump it (and add a migration) when the layout changes;
#: an older ``ddl`` then refuses the store instead of writing rows it cannot describe.
#: 1: ddl_meta, ddl_queries, ddl_feedback.  2: the source "extracted", and ddl_candidates.
SCHEMA_VERSION = 2
#: The longest utterance a candidate phrasing may have, in characters (the ledger keeps longer
#: queries; a phrasing that long would teach a grammar nothing).
MAX_CANDIDATE_UTTERANCE = 65_536
#: The largest θ of a candidate, in characters of compact JSON.
MAX_CANDIDATE_THETA = 65_536
APPLICATION = "ddl-handler"

_SQLITE_MAGIC = b"SQLite format 3\x00"
# Beside an SQLite ledger: what its file was when ddl last closed it sound (SQLiteStore._vouched).
_VOUCHER_SUFFIX = "-ddl-checked"
_VOUCHER_MAGIC = "ddl-ledger-checked 1"
# Result codes (the low byte of sqlite3.Error.sqlite_errorcode) that mean the file is damaged.
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_PAGE = 500  # rows fetched per round trip by the iterators (no cursor stays open across a yield)
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")

_QUERY_COLUMNS = (
    "ts",
    "utterance",
    "source",
    "latency_ms",
    "family",
    "family_version",
    "theta",
    "output",
    "text",
    "model",
    "tokens_in",
    "tokens_out",
    "error",
)
_QUERY_JSON = frozenset({"theta", "output", "error"})
_FEEDBACK_COLUMNS = (
    "query_id",
    "ts",
    "verdict",
    "utterance",
    "correction",
    "family",
    "family_version",
    "theta",
    "source",
)
_FEEDBACK_JSON = frozenset({"theta"})
_CANDIDATE_COLUMNS = ("query_id", "ts", "family", "utterance", "theta")

_T = TypeVar("_T")


def _log_callback_failure() -> None:
    """Log the exception being handled: a ledger write's callback failed.  logging loads here, on such a failure
    only (a one-query ``ddl handle`` never logs)."""
    import logging  # deferred: only a failed callback logs

    logging.getLogger(__name__).exception("a ledger write's callback failed")


#: The most records one group commit writes (the rest wait for the next one): bounds how long
#: the first record of a burst waits behind the others.
MAX_GROUP = 256


#: Called, on the thread that committed (or failed to commit) a submitted record, with its new
#: id or the error (a HandlerError; anything else is a bug the callback is told of as well).
Settled = Callable[[int | None, BaseException | None], None]


class _Pending:
    """A query waiting for a group commit: its column values, then its new id or why it failed;
    ``after`` is called once its group has been settled (see Store.commit_query)."""

    __slots__ = ("values", "done", "new_id", "error", "settled", "after")

    def __init__(self, values: list[Any], settled: Settled | None = None,
                 after: Callable[[], None] | None = None) -> None:
        self.values, self.settled, self.after = values, settled, after
        self.done = False
        self.new_id: int | None = None
        self.error: BaseException | None = None

    def finish(self, new_id: int | None, error: BaseException | None) -> None:
        self.new_id, self.error, self.done = new_id, error, True
        if self.settled is not None:
            try:
                self.settled(new_id, error)
            except Exception:  # a callback's failure must not stop the commits of the others
                _log_callback_failure()

    def outcome(self) -> int:
        if self.error is not None:
            raise self.error
        assert self.new_id is not None
        return self.new_id


class _LoopHandOver:
    """Commit outcomes from the writer thread to one event loop, handed over once per group.

    The writer collects the outcomes of a group (``settled``), then wakes the loop once (``wake``)
    instead of once per record: each wake-up is a system call, during which the busy event loop
    takes the interpreter lock, and the writer waits to get it back before settling the next."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.outcomes: list[tuple[asyncio.Future[int], int | None, BaseException | None]] = []
        self.waking = False

    def settled(self, future: asyncio.Future[int], new_id: int | None, error: BaseException | None) -> None:
        """On the writer thread: one record's outcome."""
        with self.lock:
            self.outcomes.append((future, new_id, error))

    def wake(self) -> None:
        """On the writer thread, after a group: let the loop deliver what was collected."""
        with self.lock:
            if self.waking or not self.outcomes:
                return
            self.waking = True
        try:
            self.loop.call_soon_threadsafe(self.deliver)
        except RuntimeError:  # the loop is closed: nobody awaits these outcomes any more
            with self.lock:
                self.outcomes.clear()
                self.waking = False

    def deliver(self) -> None:
        """On the loop: settle the futures."""
        with self.lock:
            outcomes, self.outcomes = self.outcomes, []
            self.waking = False
        for future, new_id, error in outcomes:
            settle_commit(future, new_id, error)


def settle_commit(future: asyncio.Future[int], new_id: int | None, error: BaseException | None) -> None:
    """On the loop: an awaited commit's future gets its row's id or the store's error (nothing when its
    request was cancelled meanwhile)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(new_id if new_id is not None else 0)


class _Done(NamedTuple):
    """What one statement of a write transaction returned."""

    rows: list[tuple[Any, ...]]
    rowcount: int
    new_id: int | None  # the id of the row an INSERT added (None when it added none)


#: Runs one statement inside a write transaction (see Store._transaction).
_Run = Callable[[str, tuple[Any, ...]], _Done]


def mask_url(url: str) -> str:
    """The URL with its password (in the userinfo or a ``password=`` parameter) replaced by ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}"
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if any(key == "password" for key, _ in pairs):
            query = "&".join(
                f"{key}={'***' if key == 'password' else urllib.parse.quote(value, safe='/')}" for key, value in pairs
            )
    if (netloc, query) == (parts.netloc, parts.query):
        return url  # unchanged (urlunsplit would also turn "postgresql:///db" into "postgresql:/db")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _one_line(exc: BaseException) -> str:
    """A driver's message on one line (libpq's messages span several, with tabs)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


_PG_NOISE = re.compile(
    r"^(?:connection (?:failed|is bad): )?(?:connection to server (?:at|on) .*? failed: )?(?:FATAL: )?"
)


def _pg_reason(exc: BaseException) -> str:
    """libpq's message without the parts the store's URL already says ("connection to server at
    ... failed:", "FATAL:"), its lines joined with "; "."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    text = "; ".join(line for line in lines if line)
    return _PG_NOISE.sub("", text, count=1) or type(exc).__name__


# json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")), whose options make
# it build a new encoder per call: three per recorded query.
_JSON_COLUMN = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _dumps(value: Any, what: str, store: str) -> str:
    """JSON text for a theta/output/error column; a value JSON cannot hold is a StoreError, not a crash."""
    try:
        return _JSON_COLUMN.encode(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot write to store '{store}': {what} is not JSON ({exc})") from None


def _lone_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in ``text`` (UTF-8 cannot encode it), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _unencodable(exc: UnicodeEncodeError) -> HandlerError:
    """A value the driver could not encode (a lone surrogate): an invalid request, not a crash."""
    bad = exc.object[exc.start : exc.start + 1]
    what = f"U+{ord(bad):04X}" if bad else "a character"
    return HandlerError(f"invalid text: {what} is a lone surrogate, which the store cannot hold", "DDL705")


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value (object keys included), without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, inner in item.items():
                yield key
                stack.append(inner)
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _bad_text(text: str) -> str | None:
    """Why ``text`` cannot be a candidate's text on every backend, or None."""
    if "\x00" in text:
        return f"contains a NUL character (at character {text.index(chr(0))})"
    at = _lone_surrogate(text)
    if at is not None:
        return f"contains a lone surrogate U+{ord(text[at]):04X} (at character {at})"
    return None


def _check_candidate(query_id: int, family: str, utterance: str, theta: dict[str, Any]) -> None:
    """Validate a candidate; every problem is DDL705."""

    def bad(reason: str) -> HandlerError:
        return HandlerError(f"invalid candidate: {reason}", "DDL705")

    if isinstance(query_id, bool) or not isinstance(query_id, int):
        raise bad(f"the query id {query_id!r} is not an integer")
    if not isinstance(family, str) or not family.strip():
        raise bad(f"the family must be a non-empty name, not {family!r}")
    if len(family) > 1000:
        raise bad(f"the family name has {len(family):,} characters; the limit is 1,000")
    if (why := _bad_text(family)) is not None:
        raise bad(f"the family name {why}")
    if not isinstance(utterance, str) or not utterance:
        raise bad("the utterance must be a non-empty string")
    if len(utterance) > MAX_CANDIDATE_UTTERANCE:
        raise bad(f"the utterance has {len(utterance):,} characters; the limit is {MAX_CANDIDATE_UTTERANCE:,}")
    if (why := _bad_text(utterance)) is not None:
        raise bad(f"the utterance {why}")
    if not isinstance(theta, dict) or not all(isinstance(key, str) for key in theta):
        raise bad(f"θ must be a JSON object (a dict with string keys), not {type(theta).__name__}")
    try:
        text = json.dumps(theta, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise bad(f"θ is not JSON ({_one_line(exc)})") from None
    if len(text) > MAX_CANDIDATE_THETA:
        raise bad(f"θ has {len(text):,} characters as JSON; the limit is {MAX_CANDIDATE_THETA:,}")
    for item in _strings(theta):
        if (why := _bad_text(item)) is not None:
            raise bad(f"a string in θ {why}")


def _check_record(rec: QueryRecord) -> None:
    if rec.source not in SOURCES:
        raise HandlerError(f"invalid query source {rec.source!r} (expected one of {', '.join(SOURCES)})", "DDL705")
    if not isinstance(rec.utterance, str):
        raise HandlerError("invalid query: the utterance must be a string", "DDL705")


def _storable_id(query_id: int) -> bool:
    """Whether an id fits the 64-bit id columns (larger ones cannot exist: unknown, not a driver error)."""
    return -(2**63) <= query_id < 2**63


def _check_feedback(query_id: int, verdict: str, correction: str | None) -> None:
    if verdict not in VERDICTS:
        raise HandlerError(f"invalid verdict {verdict!r}: expected 'accept' or 'reject'", "DDL705")
    if isinstance(query_id, bool) or not isinstance(query_id, int):
        raise HandlerError(f"invalid query id {query_id!r}: expected an integer", "DDL705")
    if correction is not None and not isinstance(correction, str):
        raise HandlerError("invalid correction: expected a string", "DDL705")


class Store(abc.ABC):
    """The ledger and feedback store.  Safe to share between threads (calls are serialized)."""

    url: str  # for display: the password, if any, is masked

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # Why the store is damaged, once a statement found it so: every later write is refused
        # before it reaches the driver (a damaged file must not be changed any further).

        self._damaged: str | None = None
        # Group commit (record_query): the records waiting, and whether a thread is committing.
        self._group = threading.Condition(threading.Lock())
        self._waiting: list[_Pending] = []
        self._committing = False
        self._writer: threading.Thread | None = None  # commits what submit_query queues
        self._stopping = False
        self._insert_sql: dict[int, str] = {}  # rows → _queries_insert's statement
        # commit_query's hand-over to each event loop that awaits commits
        self._hand_overs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopHandOver] = (
            weakref.WeakKeyDictionary())

    def _refuse_if_damaged(self) -> None:
        """Called (under the lock) before every write."""
        if self._damaged is not None:
            raise StoreError(f"cannot write to store '{self.url}': {self._damaged}")

    # -- writes (validation and SQL shared; the backends run the statements) ---------------
    def record_query(self, rec: QueryRecord) -> int:
        """Append ``rec`` (its ``id`` is ignored) and return the new id; committed on return."""
        return self._group_commit(self._query_insert(rec))

    def submit_query(self, rec: QueryRecord, settled: Settled) -> None:
        """Queue ``rec`` for the store's writer thread and return at once; ``settled(id, None)`` is
        called (on the writer's thread) once its row is committed, ``settled(None, error)`` if it
        cannot be.  For callers that must not block, such as the service's event loop: it waits
        for the commit without holding a thread.  Invalid records raise here, as in record_query."""
        self._enqueue(self._query_insert(rec, settled))

    async def commit_query(self, rec: QueryRecord) -> int:
        """:meth:`submit_query` for a coroutine: the new id, once the row is committed, awaited on
        the running event loop without holding a thread (a store error is raised as by
        record_query).  The writer wakes the loop once per group commit, not once per record."""
        import asyncio  # deferred: only the service commits from an event loop; `ddl handle` never loads asyncio

        loop = asyncio.get_running_loop()
        with self._group:
            hand_over = self._hand_overs.get(loop)
            if hand_over is None:
                hand_over = self._hand_overs[loop] = _LoopHandOver(loop)
        committed: asyncio.Future[int] = loop.create_future()
        self._enqueue(self._query_insert(rec, partial(hand_over.settled, committed), hand_over.wake))
        return await committed

    def _enqueue(self, item: _Pending) -> None:
        """Hand ``item`` to the writer thread (started on first use)."""
        with self._group:
            if self._stopping:
                raise StoreError(f"store '{self.url}' is closed")
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_queued, name="ddl-ledger-writer", daemon=True)
                self._writer.start()
            self._waiting.append(item)
            self._group.notify_all()

    def _query_insert(self, rec: QueryRecord, settled: Settled | None = None,
                      after: Callable[[], None] | None = None) -> _Pending:
        _check_record(rec)
        values = [self._json_param(getattr(rec, col), col) if col in _QUERY_JSON else getattr(rec, col)
                  for col in _QUERY_COLUMNS]
        return _Pending(values, settled, after)

    def _write_queued(self) -> None:
        """The writer thread: leads a group commit whenever records wait and nobody else commits;
        after close() it commits what is still queued, then ends."""
        group = self._group
        while True:
            with group:
                while not self._stopping and (self._committing or not self._waiting):
                    group.wait()
                if self._committing:  # stopping: the committing thread takes the rest
                    group.wait()
                    continue
                if not self._waiting:
                    return
                self._committing = True
                batch, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                self._commit_group(batch)
            except BaseException:  # every record of the batch got the error; keep serving the others
                pass
            finally:
                with group:
                    self._committing = False
                    group.notify_all()
                for after in dict.fromkeys(item.after for item in batch if item.after is not None):
                    try:
                        after()
                    except Exception:  # as for a callback: the writer keeps committing for the others
                        _log_callback_failure()

    def _stop_writer(self) -> None:
        """Let the writer thread commit what is queued and end (close() calls it first)."""
        with self._group:
            self._stopping = True
            writer = self._writer
            self._group.notify_all()
        if writer is not None and writer is not threading.current_thread():
            writer.join()

    def _group_commit(self, item: _Pending) -> int:
        """Queue ``item``; return its id once the transaction holding it has committed.

        Leader and followers, no extra thread: a caller that finds no commit under way takes
        every waiting record (its own included) and commits them in one transaction; callers
        arriving meanwhile wait, and when it finishes one of them leads the next group.  A lone
        caller commits its own record at once, as before."""
        group = self._group
        with group:
            self._waiting.append(item)
            while self._committing and not item.done:
                group.wait()
            if item.done:
                return item.outcome()
            self._committing = True
            batch, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
        try:
            self._commit_group(batch)
        finally:
            with group:
                self._committing = False
                group.notify_all()
        return item.outcome()

    def _commit_group(self, batch: list[_Pending]) -> None:
        """Commit ``batch`` with one multi-row INSERT (one statement, one commit: the thread
        hands the interpreter lock over once per group, not once per row) and mark every record
        done, with its id or the error.

        When the statement fails and nothing of it can have been stored (the backend says so:
        SQLite always, PostgreSQL when the server answered), each record is tried again alone, so
        that one bad record (a NUL PostgreSQL refuses) fails only itself.  Otherwise (a connection
        lost in flight, a damaged store) every record of the batch fails: none is acknowledged,
        though a write lost in flight may still have been stored, as for a single write."""
        pending = list(batch)
        try:
            try:
                ids = self._insert_rows(len(pending), [value for item in pending for value in item.values])
            except HandlerError:
                if len(pending) == 1 or self._damaged is not None or not self._nothing_stored():
                    raise
                for item in pending:  # one at a time, to find the bad one
                    try:
                        item.finish(self._insert_rows(1, item.values)[0], None)
                    except HandlerError as err:
                        item.finish(None, err)
                pending = []
                return
            done, pending = pending, []
            for item, new_id in zip(done, ids):
                item.finish(new_id, None)
        except BaseException as err:
            for item in pending:
                item.finish(None, err)
            raise

    def _queries_insert(self, rows: int) -> str:
        """An INSERT of ``rows`` queries (returning their ids where the backend needs that to know
        them); built once per number of rows."""
        try:
            return self._insert_sql[rows]
        except KeyError:
            pass
        row = f"({', '.join(self._PARAM for _ in _QUERY_COLUMNS)})"
        sql = (f"INSERT INTO ddl_queries ({', '.join(_QUERY_COLUMNS)}) VALUES {', '.join([row] * rows)}"
               f"{self._RETURNING_ID}")
        self._insert_sql[rows] = sql
        return sql

    @abc.abstractmethod
    def _insert_rows(self, rows: int, values: list[Any]) -> list[int]:
        """Insert ``rows`` queries (their column values, row after row) in one statement that is
        its own transaction, committed on return; their ids, in row order.  Refuses a damaged
        store; a driver failure is a StoreError, a lone surrogate DDL705."""

    @abc.abstractmethod
    def _nothing_stored(self) -> bool:
        """Whether the multi-row INSERT that just failed certainly stored nothing."""

    def add_feedback(
        self, query_id: int, verdict: str, correction: str | None = None, ts: float | None = None
    ) -> FeedbackRecord:
        """Store a verdict on query ``query_id``, copying the query's utterance, θ, family,
        family version and source; committed on return.

        A ``"reject"`` also deletes the query's candidate phrasings (:meth:`add_candidate`), in
        the same transaction: a phrasing whose answer a user rejected must not teach a grammar.
        An ``"accept"`` keeps them.  Unknown query id: DDL706; bad verdict or arguments: DDL705.
        """
        _check_feedback(query_id, verdict, correction)
        if not _storable_id(query_id):
            raise StoreError(f"unknown query id {query_id}", "DDL706")
        when = time.time() if ts is None else float(ts)
        p = self._PARAM
        # One statement copies the query's fields: atomic, no window between read and write.
        insert = (
            "INSERT INTO ddl_feedback (query_id, ts, verdict, utterance, correction, family, family_version, theta, source) "
            f"SELECT id, {p}, {p}, utterance, {p}, family, family_version, theta, source FROM ddl_queries WHERE id = {p}"
            f"{self._RETURNING_ID}"
        )

        def work(run: _Run) -> tuple[Any, ...] | None:
            if not run(self._lock_query_sql(), (query_id,)).rows:
                return None
            done = run(insert, (when, verdict, correction, query_id))
            if done.new_id is None:
                return None
            if verdict == "reject":
                run(f"DELETE FROM ddl_candidates WHERE query_id = {p}", (query_id,))
            rows = run(f"SELECT id, {', '.join(_FEEDBACK_COLUMNS)} FROM ddl_feedback WHERE id = {p}", (done.new_id,)).rows
            return rows[0]

        row = self._transaction(work)
        if row is None:
            raise StoreError(f"unknown query id {query_id}", "DDL706")
        return self._feedback_from_row(row, parse_json=self._JSON_AS_TEXT)

    def add_candidate(
        self, query_id: int, family: str, utterance: str, theta: dict[str, Any], *, ts: float | None = None
    ) -> int:
        """Store ``utterance`` with ``theta`` (JSON form) as a candidate phrasing of ``family``,
        for the recorded query ``query_id``; return the candidate's id.  Committed on return.

        The store does not compare the candidate with its query (the handler records the
        ``"extracted"`` query, then its candidate); it only requires that the query exists
        (otherwise DDL706) and that no user has rejected its answer (a rejected query's phrasing
        never becomes a candidate: DDL705).  Bad input is DDL705 and writes nothing: an empty or
        non-string family (or one over 1,000 characters), an empty utterance or one over
        :data:`MAX_CANDIDATE_UTTERANCE` characters, a θ that is not a JSON object (or over
        :data:`MAX_CANDIDATE_THETA` characters as JSON, or holding NaN, infinities or non-JSON
        values).  Text that not every backend can
        hold is **refused**, not altered: a lone surrogate (UTF-8 cannot encode it) or a NUL
        character (PostgreSQL text cannot hold it) in the family, the utterance or a string of θ.
        """
        _check_candidate(query_id, family, utterance, theta)
        if not _storable_id(query_id):
            raise StoreError(f"unknown query id {query_id}", "DDL706")
        when = time.time() if ts is None else float(ts)
        p = self._PARAM
        theta_param = self._json_param(theta, "theta")
        rejected = f"SELECT 1 FROM ddl_feedback WHERE query_id = {p} AND verdict = 'reject' LIMIT 1"
        insert = (f"INSERT INTO ddl_candidates ({', '.join(_CANDIDATE_COLUMNS)}) "
                  f"VALUES ({', '.join(p for _ in _CANDIDATE_COLUMNS)}){self._RETURNING_ID}")

        def work(run: _Run) -> int:
            if not run(self._lock_query_sql(), (query_id,)).rows:
                raise StoreError(f"unknown query id {query_id}", "DDL706")
            if run(rejected, (query_id,)).rows:
                raise HandlerError(
                    f"invalid candidate: a user rejected the answer to query {query_id}, "
                    "so its phrasing cannot be a candidate", "DDL705")
            done = run(insert, (query_id, when, family, utterance, theta_param))
            assert done.new_id is not None
            return done.new_id

        return self._transaction(work)

    def remove_candidates(self, query_id: int) -> int:
        """Delete the candidate phrasings of query ``query_id``; how many there were (0 for a
        query without candidates or an unknown id).  Committed on return."""
        if isinstance(query_id, bool) or not isinstance(query_id, int):
            raise HandlerError(f"invalid query id {query_id!r}: expected an integer", "DDL705")
        if not _storable_id(query_id):
            return 0
        sql = f"DELETE FROM ddl_candidates WHERE query_id = {self._PARAM}"
        return self._transaction(lambda run: run(sql, (query_id,)).rowcount)

    def _lock_query_sql(self) -> str:
        """The statement that finds query ``id`` and locks it until the transaction ends, so that a
        candidate and a rejection of the same query are serialized (SQLite locks the whole store)."""
        return f"SELECT id FROM ddl_queries WHERE id = {self._PARAM}{self._LOCK_ROW}"

    @abc.abstractmethod
    def _json_param(self, value: Any, column: str) -> Any:
        """A JSON column's value as the driver takes it (validated: no NaN, no foreign objects)."""

    @abc.abstractmethod
    def _transaction(self, work: Callable[[_Run], _T]) -> _T:
        """Run ``work`` in one write transaction: committed when it returns, rolled back (and the
        error raised) when it raises.  A driver failure is a StoreError; a lone surrogate DDL705."""

    # -- reads (one implementation: the backends differ in placeholders and JSON columns) ----
    _PARAM = "?"  # the driver's query placeholder
    _JSON_AS_TEXT = True  # JSON columns come back as text to parse (SQLite), or already parsed (jsonb)
    _RETURNING_ID = ""  # appended to an INSERT whose new id is wanted (SQLite: the cursor's lastrowid)
    _LOCK_ROW = ""  # appended to a SELECT to lock its rows (SQLite: BEGIN IMMEDIATE locks the store)

    @abc.abstractmethod
    def _select(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The rows of one read (a read failure is a StoreError)."""

    def get_query(self, query_id: int) -> QueryRecord | None:
        """The query with this id, or None."""
        if not _storable_id(query_id):
            return None
        rows = self._select(f"SELECT id, {', '.join(_QUERY_COLUMNS)} FROM ddl_queries WHERE id = {self._PARAM}",
                            (query_id,))
        return self._query_from_row(rows[0], parse_json=self._JSON_AS_TEXT) if rows else None

    def queries(self, since_id: int = 0) -> Iterator[QueryRecord]:
        """Queries with ``id > since_id`` in id order (fetched page by page: no lock is held between items)."""
        last = max(min(int(since_id), 2**63 - 1), -(2**63))
        sql = (f"SELECT id, {', '.join(_QUERY_COLUMNS)} FROM ddl_queries WHERE id > {self._PARAM} "
               f"ORDER BY id LIMIT {_PAGE}")
        while True:
            rows = self._select(sql, (last,))
            for row in rows:
                yield self._query_from_row(row, parse_json=self._JSON_AS_TEXT)
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def feedback(self, family: str | None = None) -> Iterator[FeedbackRecord]:
        """Feedback in id order, optionally only for one family."""
        last = 0
        cols = f"id, {', '.join(_FEEDBACK_COLUMNS)}"
        p = self._PARAM
        while True:
            if family is None:
                rows = self._select(f"SELECT {cols} FROM ddl_feedback WHERE id > {p} ORDER BY id LIMIT {_PAGE}",
                                    (last,))
            else:
                rows = self._select(
                    f"SELECT {cols} FROM ddl_feedback WHERE family = {p} AND id > {p} ORDER BY id LIMIT {_PAGE}",
                    (family, last),
                )
            for row in rows:
                yield self._feedback_from_row(row, parse_json=self._JSON_AS_TEXT)
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def candidates(self, family: str | None = None, since_id: int = 0) -> list[CandidateRecord]:
        """The live candidate phrasings with ``id > since_id``, oldest (lowest id) first,
        optionally only those of ``family``.  A rejected query's candidates are gone."""
        if family is not None and not isinstance(family, str):
            raise HandlerError(f"invalid family {family!r}: expected a name", "DDL705")
        if isinstance(since_id, bool) or not isinstance(since_id, int):
            raise HandlerError(f"invalid since_id {since_id!r}: expected an integer", "DDL705")
        last = max(min(since_id, 2**63 - 1), -(2**63))
        cols = f"id, {', '.join(_CANDIDATE_COLUMNS)}"
        p = self._PARAM
        out: list[CandidateRecord] = []
        while True:
            if family is None:
                rows = self._select(f"SELECT {cols} FROM ddl_candidates WHERE id > {p} ORDER BY id LIMIT {_PAGE}",
                                    (last,))
            else:
                rows = self._select(
                    f"SELECT {cols} FROM ddl_candidates WHERE family = {p} AND id > {p} ORDER BY id LIMIT {_PAGE}",
                    (family, last),
                )
            out += [self._candidate_from_row(row, parse_json=self._JSON_AS_TEXT) for row in rows]
            if len(rows) < _PAGE:
                return out
            last = rows[-1][0]

    def candidate_count(self, family: str) -> int:
        """How many live candidate phrasings ``family`` has."""
        if not isinstance(family, str):
            raise HandlerError(f"invalid family {family!r}: expected a name", "DDL705")
        rows = self._select(f"SELECT COUNT(*) FROM ddl_candidates WHERE family = {self._PARAM}", (family,))
        return int(rows[0][0])

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection (idempotent)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- shared helpers -----------------------------------------------------------------
    def _query_from_row(self, row: tuple[Any, ...], parse_json: bool) -> QueryRecord:
        values = dict(zip(("id", *_QUERY_COLUMNS), row))
        if parse_json:
            for key in _QUERY_JSON:
                if values[key] is not None:
                    values[key] = json.loads(values[key])
        return QueryRecord(**values)

    def _feedback_from_row(self, row: tuple[Any, ...], parse_json: bool) -> FeedbackRecord:
        values = dict(zip(("id", *_FEEDBACK_COLUMNS), row))
        if parse_json:
            for key in _FEEDBACK_JSON:
                if values[key] is not None:
                    values[key] = json.loads(values[key])
        return FeedbackRecord(**values)


    def _candidate_from_row(self, row: tuple[Any, ...], parse_json: bool) -> CandidateRecord:
        values = dict(zip(("id", *_CANDIDATE_COLUMNS), row))
        if parse_json:
            values["theta"] = json.loads(values["theta"])
        return CandidateRecord(**values)


# ======================================================================================
# SQLite
# ======================================================================================

# ddl_queries as of version 2 ({name}: the upgrade from version 1 builds it beside the old table).
_SQLITE_QUERIES = """
CREATE TABLE IF NOT EXISTS {name} (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ts             REAL    NOT NULL,
    utterance      TEXT    NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('deterministic', 'extracted', 'llm', 'error')),
    latency_ms     REAL    NOT NULL,
    family         TEXT,
    family_version TEXT,
    theta          TEXT,
    output         TEXT,
    text           TEXT,
    model          TEXT,
    tokens_in      INTEGER,
    tokens_out     INTEGER,
    error          TEXT
)"""
# Added by version 2.
_SQLITE_CANDIDATES = """
CREATE TABLE IF NOT EXISTS ddl_candidates (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    query_id  INTEGER NOT NULL REFERENCES ddl_queries (id),
    ts        REAL    NOT NULL,
    family    TEXT    NOT NULL,
    utterance TEXT    NOT NULL,
    theta     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS ddl_candidates_family ON ddl_candidates (family, id);
CREATE INDEX IF NOT EXISTS ddl_candidates_query ON ddl_candidates (query_id);
"""
_SQLITE_QUERIES_INDEX = "CREATE INDEX IF NOT EXISTS ddl_queries_family ON ddl_queries (family, id)"
_SQLITE_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS ddl_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);"""
    + _SQLITE_QUERIES.format(name="ddl_queries")
    + """;
CREATE TABLE IF NOT EXISTS ddl_feedback (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    query_id       INTEGER NOT NULL REFERENCES ddl_queries (id),
    ts             REAL    NOT NULL,
    verdict        TEXT    NOT NULL CHECK (verdict IN ('accept', 'reject')),
    utterance      TEXT    NOT NULL,
    correction     TEXT,
    family         TEXT,
    family_version TEXT,
    theta          TEXT,
    source         TEXT
);
CREATE INDEX IF NOT EXISTS ddl_feedback_family ON ddl_feedback (family, id);
"""
    + _SQLITE_QUERIES_INDEX
    + ";"
    + _SQLITE_CANDIDATES
)


def _statements(script: str) -> list[str]:
    return [statement for statement in script.split(";") if statement.strip()]


class SQLiteStore(Store):
    """A store in one SQLite file (WAL, so readers never block the writer; a busy timeout, so
    concurrent writers wait for each other instead of failing)."""

    BUSY_TIMEOUT = 10.0  # seconds a writer waits for another process's write lock
    # How long a full check vouches for a file that nothing changed since: the file is read whole again after
    # that, so that damage that changes no time stamp (a failing disk) is found within a day.
    CHECK_EVERY = 86_400.0

    def __init__(self, path: str, display: str | None = None, *, read_only: bool = False) -> None:
        super().__init__()
        self.path = path
        self.url = display if display is not None else path
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = None
        self._checked_at: float | None = None  # when the file was last read whole and found sound
        memory = path == ":memory:"
        verified = memory
        if not memory:
            self._refuse_foreign_file()
            verified = self._verify_read_only()
            parent = Path(path).parent
            try:
                if not read_only and parent.name.startswith(".ddl-"):  # ours (the default .ddl-handler)
                    make_private_dir(parent, "ddl (the handler's ledger of requests)")
                elif not read_only:
                    parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._open_error(f"cannot create directory '{parent}': {exc.strerror or exc}") from None
        try:
            if read_only and not memory:
                conn = self._connect_read_only()
            else:
                conn = sqlite3.connect(path, timeout=self.BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._failure("open", exc) from None
        self._conn = conn
        try:
            if read_only:
                if not verified:  # a damaged file is refused by stats too, with the same advice
                    self._quick_check(self._db())
                self._check_readable()
                return
            self._setup(memory, verified)
        except StoreError:
            self.close()
            raise
        except sqlite3.Error as exc:
            self.close()
            raise self._failure("open", exc) from None

    # -- opening ------------------------------------------------------------------------
    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that never writes to the file or its directory (``ddl stats``).  ``mode=ro``
        still needs the WAL index (``-shm``), which SQLite creates next to the file; in a directory
        that cannot be written to, and without a -shm, the file is read as ``immutable``: a writer
        keeps the -shm while it has the database open, so none is writing to it."""
        uri = "file:" + urllib.parse.quote(os.path.abspath(self.path))

        def connect(option: str) -> sqlite3.Connection:
            return sqlite3.connect(f"{uri}?{option}", timeout=self.BUSY_TIMEOUT, isolation_level=None,
                                   check_same_thread=False, uri=True)

        conn = connect("mode=ro")
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:  # "unable to open" (root), "attempt to write a readonly database"
            conn.close()
            if os.access(os.path.dirname(os.path.abspath(self.path)), os.W_OK):
                raise
        return connect("immutable=1")

    def _check_readable(self) -> None:
        """The checks of :meth:`_setup` that only read: a DDL store of this layout (nothing is upgraded)."""
        tables = {row[0] for row in self._db().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "ddl_meta" not in tables:
            raise self._open_error("the file is not a DDL store (it has no ddl_meta table)")
        if self._check_version() < SCHEMA_VERSION:
            raise self._open_error("the store has an older layout, which is upgraded only when it is opened for "
                                   "writing (run `ddl handle` or `ddl serve` on it once)")

    def _open_error(self, reason: str) -> StoreError:
        return StoreError(f"cannot open store '{self.url}': {reason}")

    def _failure(self, action: str, exc: sqlite3.Error) -> StoreError:
        """The StoreError of a failed statement ("cannot {action} store ..."). Damage found by
        any statement also refuses every later write of this store."""
        text = _one_line(exc)
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if action == "open" and (code == _SQLITE_NOTADB or "file is not a database" in text):
            return self._open_error("file is not a database")
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text:
            return self._damage(action, text)
        return StoreError(f"cannot {action} store '{self.url}': {text}")

    def _damage(self, action: str, reason: str) -> StoreError:
        """Refuse a damaged file, saying what to do; from now on nothing is written to it."""
        state = "it was left unchanged" if action == "open" else "ddl writes nothing more to it"
        self._damaged = (
            f"the database file is damaged ({reason}); {state}. Restore it from a backup, or move it "
            "aside (ddl then starts a new, empty ledger at this path) and salvage the rows that still "
            f"read with `sqlite3 {shlex.quote(self.path)} .recover`"
        )
        return StoreError(f"cannot {action} store '{self.url}': {self._damaged}")

    def _verify_read_only(self) -> bool:
        """Read the whole existing file (``PRAGMA quick_check``) through a *read-only*
        connection, and refuse it if it is damaged, before a connection that can write opens it
        (even closing a writing connection may checkpoint its WAL into the file).  False when
        the check could not run this way (no file yet, a read-only directory without the -shm
        file, a hot rollback journal): then _setup checks before its first write."""
        try:
            if os.path.getsize(self.path) == 0:
                return True  # a new, empty file: nothing to damage
        except OSError:
            return False
        if self._vouched():
            return True
        uri = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=self.BUSY_TIMEOUT)
        except sqlite3.Error:
            return False
        try:
            self._quick_check(conn)
        except sqlite3.Error as exc:
            error = self._failure("open", exc)
            if self._damaged is not None or "not a database" in error.message:
                raise error from None
            return False
        finally:
            conn.close()
        return True

    def _quick_check(self, conn: sqlite3.Connection) -> None:
        """Every page of the file read and its b-trees checked: O(size), about 0.9 ms per
        1,000 queries (bench/soak.py measures it)."""
        started = time.time()
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise self._damage("open", "; ".join(problems[:3]))
        self._checked_at = started

    # -- the check's voucher --------------------------------------------------------------
    # Reading the whole file at every open costs O(size) (~0.9 ms per 1,000 queries), which a one-query
    # `ddl handle` would pay in full on a big ledger.  So a store that was opened sound (checked, or vouched
    # for), found no damage while open and was the last to close the file (no WAL left: its writes are all in
    # the file) leaves a voucher beside it: the file's identity (device, inode, size, modification and change
    # times).  The next open skips the check when the file is still exactly that, and no WAL or journal is
    # beside it (another process has it open, or one crashed), and the last full check is less than
    # CHECK_EVERY old.  Any write through the file system changes the change time or the size; a write within
    # the clock tick of the close could leave both as they were, so the close sets the file's modification time
    # one nanosecond back, a time no later write can give it (a later write stamps the current time).  What
    # a voucher cannot see (a failing disk, a clock set back) is found by the daily full check, and by any
    # statement that reads a damaged page (every later write is refused then).  A missing, unreadable or
    # stale voucher only means the file is read whole, as before.

    def _voucher_path(self) -> str:
        return self.path + _VOUCHER_SUFFIX

    def _identity(self) -> str | None:
        """The file's identity and times; None when it may not be the whole database (a journal or a WAL with
        frames beside it; a read-only connection leaves an empty WAL behind)."""
        try:
            if os.path.lexists(self.path + "-journal") or os.stat(self.path + "-wal").st_size:
                return None
        except FileNotFoundError:
            pass
        except OSError:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return f"{st.st_dev} {st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"

    def _vouched(self) -> bool:
        """Whether the voucher beside the file vouches for it as it is now (then the full check is skipped)."""
        try:
            with open(self._voucher_path(), encoding="utf-8") as handle:
                magic, identity, checked = handle.read().split("\n")[:3]
            checked_at = float(checked)
        except (OSError, ValueError, UnicodeDecodeError):
            return False
        if magic != _VOUCHER_MAGIC or not 0 <= time.time() - checked_at < self.CHECK_EVERY:
            return False
        if identity != self._identity():
            return False
        self._checked_at = checked_at
        return True

    def _vouch(self) -> None:
        """After a clean close: leave the voucher for the file as it is now (nothing when another process still
        has it open, or anything fails: the next open then reads the file whole)."""
        if self._checked_at is None or self._damaged is not None or self.read_only or self.path == ":memory:":
            return
        voucher = self._voucher_path()
        try:
            if self._identity() is None:  # another process has it open: the WAL holds what it wrote
                return
            st = os.stat(self.path)
            os.utime(self.path, ns=(st.st_atime_ns, st.st_mtime_ns - 1))  # see the comment above
            identity = self._identity()
            if identity is None:
                return
            # A new file, not one renamed over the old voucher: ext4 flushes a file renamed over another at once
            # (~2 ms of a one-query `ddl handle`).  A voucher met half-written (or another process's, made in
            # between: "x" leaves it be) vouches for nothing, so the ledger is read whole.
            try:
                os.unlink(voucher)
            except FileNotFoundError:
                pass
            with open(voucher, "x", encoding="utf-8") as handle:
                handle.write(f"{_VOUCHER_MAGIC}\n{identity}\n{self._checked_at!r}\n")
        except OSError:
            return

    def _refuse_foreign_file(self) -> None:
        """Refuse, before SQLite opens it, a file that is not an SQLite database: SQLite would
        otherwise be free to create a journal for it, and a later write could clobber it."""
        p = Path(self.path)
        try:
            if p.is_dir():
                raise self._open_error("is a directory")
            if not p.exists():
                return
            with p.open("rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise self._open_error(exc.strerror or str(exc)) from None
        if head and head != _SQLITE_MAGIC:
            raise self._open_error("file is not a database")

    def _setup(self, memory: bool, verified: bool) -> None:
        conn = self._db()
        # Read first: a damaged file fails here, before any pragma that could write to it.
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "ddl_meta" not in tables:
            raise self._open_error("the file is an SQLite database but not a DDL store (it has tables and no ddl_meta)")
        if tables and not verified:
            self._quick_check(conn)
        elif not tables:  # a new database, made by this open: nothing in it to check
            self._checked_at = time.time()
        # Still reading: a newer layout is refused.
        version = self._check_version() if "ddl_meta" in tables else None
        conn.execute("PRAGMA foreign_keys = ON")
        if not memory:
            # journal_mode needs a lock the first time; a replica starting at the same moment
            # may hold it, so retry within the busy timeout.
            deadline = time.monotonic() + self.BUSY_TIMEOUT
            while True:
                try:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            if str(mode).lower() != "wal":
                raise self._open_error(f"cannot switch to WAL mode (journal mode is {mode})")
            # FULL: a commit is on disk when it returns (NORMAL may lose the last commits on power loss).
            conn.execute("PRAGMA synchronous = FULL")
        if version is not None:
            if version < SCHEMA_VERSION:
                self._upgrade()
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(_SQLITE_SCHEMA):
                conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO ddl_meta (key, value) VALUES ('schema_version', ?), ('application', ?)",
                (str(SCHEMA_VERSION), APPLICATION),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if self._check_version() < SCHEMA_VERSION:  # an older ddl created the tables first, in between
            self._upgrade()

    def _check_version(self) -> int:
        row = self._db().execute("SELECT value FROM ddl_meta WHERE key = 'schema_version'").fetchone()
        return _check_schema_version(row[0] if row else None, self.url)

    def _upgrade(self) -> None:
        """Bring a store of an older layout to SCHEMA_VERSION in one transaction (another process
        may be doing the same: the version is read again under the write lock).  The whole file
        was checked (``PRAGMA quick_check``) when it was opened, before anything was written."""
        conn = self._db()
        # Rebuilding ddl_queries drops the table ddl_feedback refers to; foreign keys can only be
        # switched off outside a transaction (and nothing else uses this connection yet).
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = self._check_version()
                if version < 2:
                    self._upgrade_1_to_2(conn)
                conn.execute("UPDATE ddl_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute("PRAGMA foreign_keys = ON")

    def _upgrade_1_to_2(self, conn: sqlite3.Connection) -> None:
        """Version 2 allows the source "extracted" (SQLite cannot alter a CHECK constraint, so
        ddl_queries is rebuilt with the same rows, ids and id sequence) and adds ddl_candidates."""
        columns = ", ".join(("id", *_QUERY_COLUMNS))
        count = conn.execute("SELECT COUNT(*) FROM ddl_queries").fetchone()[0]
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'ddl_queries'").fetchone()
        conn.execute("DROP TABLE IF EXISTS ddl_queries_v2")
        conn.execute(_SQLITE_QUERIES.format(name="ddl_queries_v2"))
        conn.execute(f"INSERT INTO ddl_queries_v2 ({columns}) SELECT {columns} FROM ddl_queries ORDER BY id")
        copied = conn.execute("SELECT COUNT(*) FROM ddl_queries_v2").fetchone()[0]
        if copied != count:  # pragma: no cover - INSERT … SELECT copies every row or fails
            raise self._open_error(f"upgrade copied {copied} of {count} queries; nothing was changed")
        conn.execute("DROP TABLE ddl_queries")
        conn.execute("ALTER TABLE ddl_queries_v2 RENAME TO ddl_queries")
        conn.execute(_SQLITE_QUERIES_INDEX)
        if seq is not None:  # ids of deleted queries are never handed out again
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'ddl_queries'")
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('ddl_queries', ?)", (seq[0],))
        for statement in _statements(_SQLITE_CANDIDATES):
            conn.execute(statement)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store '{self.url}' is closed")
        return self._conn

    # -- writes -------------------------------------------------------------------------
    def _json_param(self, value: Any, column: str) -> Any:
        return None if value is None else _dumps(value, column, self.url)

    def _insert_rows(self, rows: int, values: list[Any]) -> list[int]:
        with self._lock:
            self._refuse_if_damaged()
            try:
                # Autocommit: the statement is its own transaction, committed (WAL and, with
                # synchronous = FULL, fsync) by the one step that runs it.  No RETURNING: fetching
                # each returned row is another step, and each step gives up the interpreter lock
                # and waits to take it back from the event loop.
                cursor = self._db().execute(self._queries_insert(rows), values)
            except sqlite3.Error as exc:
                raise self._failure("write to", exc) from None
            except UnicodeEncodeError as exc:
                raise _unencodable(exc) from None
            last, count = cursor.lastrowid, cursor.rowcount
        # One statement under the write lock, no explicit ids, no triggers: an AUTOINCREMENT table
        # gives each row the largest id so far plus one, so the rows' ids are consecutive, in the
        # order of the rows, ending at the statement's last insert rowid.
        assert last is not None and count == rows
        return list(range(last - rows + 1, last + 1))

    def _nothing_stored(self) -> bool:
        return True  # a statement that fails is rolled back whole (and a WAL commit cannot be busy)

    def _transaction(self, work: Callable[[_Run], _T]) -> _T:
        with self._lock:
            self._refuse_if_damaged()
            conn = self._db()

            def run(sql: str, args: tuple[Any, ...]) -> _Done:
                cur = conn.execute(sql, args)
                rows = list(cur.fetchall()) if cur.description is not None else []
                inserted = sql.lstrip().upper().startswith("INSERT") and cur.rowcount > 0
                return _Done(rows, cur.rowcount, int(cur.lastrowid) if inserted and cur.lastrowid else None)

            try:
                conn.execute("BEGIN IMMEDIATE")  # the write lock now: no other writer in between
                try:
                    result = work(run)
                    conn.execute("COMMIT")
                    return result
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._failure("write to", exc) from None
            except UnicodeEncodeError as exc:
                raise _unencodable(exc) from None

    # -- reads --------------------------------------------------------------------------
    def _select(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._db().execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise self._failure("read", exc) from None
            except UnicodeEncodeError as exc:
                raise _unencodable(exc) from None

    def close(self) -> None:
        self._stop_writer()
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None
                self._vouch()


def _check_schema_version(raw: Any, url: str) -> int:
    """The store's schema version; refuse a layout this ddl does not know (written by a newer
    ddl, or damaged)."""
    try:
        version = int(raw)
    except (TypeError, ValueError):
        raise StoreError(f"cannot open store '{url}': missing or invalid schema version {raw!r}") from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"cannot open store '{url}': its schema version {version} is newer than this ddl supports "
            f"({SCHEMA_VERSION}); upgrade ddl"
        )
    if version < 1:
        raise StoreError(f"cannot open store '{url}': invalid schema version {version}")
    return version


# ======================================================================================
# PostgreSQL
# ======================================================================================

_PG_SOURCE_CHECK = "source IN ('deterministic', 'extracted', 'llm', 'error')"
# Added by version 2.
_PG_CANDIDATES = (
    """CREATE TABLE IF NOT EXISTS ddl_candidates (
        id        BIGSERIAL PRIMARY KEY,
        query_id  BIGINT NOT NULL REFERENCES ddl_queries (id),
        ts        DOUBLE PRECISION NOT NULL,
        family    TEXT NOT NULL,
        utterance TEXT NOT NULL,
        theta     JSONB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ddl_candidates_family ON ddl_candidates (family, id)",
    "CREATE INDEX IF NOT EXISTS ddl_candidates_query ON ddl_candidates (query_id)",
)
_PG_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS ddl_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS ddl_queries (
        id             BIGSERIAL PRIMARY KEY,
        ts             DOUBLE PRECISION NOT NULL,
        utterance      TEXT NOT NULL,
        source         TEXT NOT NULL CONSTRAINT ddl_queries_source_check CHECK ({_PG_SOURCE_CHECK}),
        latency_ms     DOUBLE PRECISION NOT NULL,
        family         TEXT,
        family_version TEXT,
        theta          JSONB,
        output         JSONB,
        text           TEXT,
        model          TEXT,
        tokens_in      BIGINT,
        tokens_out     BIGINT,
        error          JSONB
    )""",
    """CREATE TABLE IF NOT EXISTS ddl_feedback (
        id             BIGSERIAL PRIMARY KEY,
        query_id       BIGINT NOT NULL REFERENCES ddl_queries (id),
        ts             DOUBLE PRECISION NOT NULL,
        verdict        TEXT NOT NULL CHECK (verdict IN ('accept', 'reject')),
        utterance      TEXT NOT NULL,
        correction     TEXT,
        family         TEXT,
        family_version TEXT,
        theta          JSONB,
        source         TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS ddl_feedback_family ON ddl_feedback (family, id)",
    "CREATE INDEX IF NOT EXISTS ddl_queries_family ON ddl_queries (family, id)",
    *_PG_CANDIDATES,
)
# SQLSTATEs of damage the server found in a table or an index.
_PG_DAMAGE = frozenset({"XX001", "XX002"})
# Serializes schema creation between replicas starting at once (CREATE ... IF NOT EXISTS races).
_PG_SCHEMA_LOCK = 0x44444C_0001


class PostgresStore(Store):
    """A store in a PostgreSQL database, shared by several handler replicas.  One connection
    per Store, in autocommit mode: each write is its own committed transaction."""

    CONNECT_TIMEOUT = 5  # seconds; an unreachable server is an error, not a hang
    _PARAM = "%s"
    _JSON_AS_TEXT = False  # jsonb arrives parsed
    _RETURNING_ID = " RETURNING id"
    _LOCK_ROW = " FOR NO KEY UPDATE"  # a candidate and a rejection of one query wait for each other

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = mask_url(url)
        self._raw_url = url
        try:
            import psycopg  # deferred: psycopg (optional) loads only for a postgresql:// store
        except ImportError:  # pragma: no cover - psycopg is a dependency
            raise StoreError(
                f"cannot open store '{self.url}': PostgreSQL needs psycopg (pip install 'psycopg[binary]')"
            ) from None
        self._psycopg = psycopg
        self._conn: Any = None
        self._closed = False
        self._connect()
        try:
            self._setup()
        except psycopg.Error as exc:
            self.close()
            raise StoreError(f"cannot open store '{self.url}': {_pg_reason(exc)}") from None
        except StoreError:
            self.close()
            raise

    def _connect(self) -> None:
        psycopg = self._psycopg
        url = self._raw_url
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        kwargs: dict[str, Any] = {"autocommit": True}
        try:
            params = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open store '{self.url}': invalid URL ({_one_line(exc)})") from None
        if "connect_timeout" not in params:
            kwargs["connect_timeout"] = self.CONNECT_TIMEOUT
        try:
            self._conn = psycopg.connect(url, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open store '{self.url}': {_pg_reason(exc)}") from None

    def _setup(self) -> None:
        conn = self._conn
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
            exists = conn.execute("SELECT to_regclass('ddl_meta') IS NOT NULL").fetchone()[0]
            if not exists:
                for statement in _PG_SCHEMA:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO ddl_meta (key, value) VALUES ('schema_version', %s), ('application', %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    (str(SCHEMA_VERSION), APPLICATION),
                )
            row = conn.execute("SELECT value FROM ddl_meta WHERE key = 'schema_version'").fetchone()
            # Under the lock, in the transaction: a newer layout is refused before anything is
            # written, and an older one is upgraded by exactly one replica, all of it or nothing.
            version = _check_schema_version(row[0] if row else None, self.url)
            if version < SCHEMA_VERSION:
                if version < 2:
                    self._upgrade_1_to_2(conn)
                conn.execute("UPDATE ddl_meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    @staticmethod
    def _upgrade_1_to_2(conn: Any) -> None:
        """Version 2 allows the source "extracted" (the CHECK constraint on ddl_queries.source is
        replaced, whatever its name) and adds ddl_candidates."""
        from psycopg import sql  # deferred: as in __init__

        checks = conn.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
            "WHERE c.conrelid = 'ddl_queries'::regclass AND c.contype = 'c' AND a.attname = 'source'"
        ).fetchall()
        for (name,) in checks:
            conn.execute(sql.SQL("ALTER TABLE ddl_queries DROP CONSTRAINT {}").format(sql.Identifier(name)))
        conn.execute(f"ALTER TABLE ddl_queries ADD CONSTRAINT ddl_queries_source_check CHECK ({_PG_SOURCE_CHECK})")
        for statement in _PG_CANDIDATES:
            conn.execute(statement)

    def _live(self) -> Any:
        """The connection, reopened if the previous one broke (e.g. the server restarted).
        A write that failed mid-flight is not retried: it may have committed."""
        if self._closed:
            raise StoreError(f"store '{self.url}' is closed")
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                try:
                    self._conn.close()
                except self._psycopg.Error:
                    pass
            self._conn = None
            self._connect()
        return self._conn

    def _failure(self, action: str, exc: Exception) -> StoreError:
        """The StoreError of a failed statement.  Damage the server reports (data_corrupted,
        index_corrupted) refuses every later write of this store, as on SQLite."""
        reason = _pg_reason(exc)
        if getattr(exc, "sqlstate", None) in _PG_DAMAGE:
            self._damaged = (
                f"the database reports damaged data ({reason}); ddl writes nothing more to this store. "
                "Ask its administrator to repair it (amcheck finds the damage; REINDEX rebuilds an index) "
                "or restore it from a backup"
            )
            return StoreError(f"cannot {action} store '{self.url}': {self._damaged}")
        return StoreError(f"cannot {action} store '{self.url}': {reason}")

    def _run(self, action: str, sql: str, args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                cur = self._live().execute(sql, args)
                return list(cur.fetchall()) if cur.description is not None else []
            except self._psycopg.Error as exc:
                raise self._failure(action, exc) from None
            except UnicodeEncodeError as exc:
                raise _unencodable(exc) from None

    def _insert_rows(self, rows: int, values: list[Any]) -> list[int]:
        with self._lock:
            self._refuse_if_damaged()
            found = self._run("write to", self._queries_insert(rows), values)  # autocommit: one transaction
        # Ids come from the table's sequence, which only increases, row after row.
        ids = sorted(int(row[0]) for row in found)
        assert len(ids) == rows
        return ids

    def _nothing_stored(self) -> bool:
        # The server answered with an error (the statement's transaction was rolled back), or the
        # driver refused the values before sending them; a broken connection may have committed.
        return self._conn is not None and not self._conn.broken

    def _transaction(self, work: Callable[[_Run], _T]) -> _T:
        with self._lock:
            self._refuse_if_damaged()
            try:
                conn = self._live()

                def run(sql: str, args: tuple[Any, ...]) -> _Done:
                    cur = conn.execute(sql, args)
                    rows = list(cur.fetchall()) if cur.description is not None else []
                    returning = sql.rstrip().endswith(self._RETURNING_ID.strip())
                    return _Done(rows, cur.rowcount, int(rows[0][0]) if returning and rows else None)

                with conn.transaction():  # committed when the block ends, rolled back if it raises
                    return work(run)
            except self._psycopg.Error as exc:
                raise self._failure("write to", exc) from None
            except UnicodeEncodeError as exc:
                raise _unencodable(exc) from None

    def _json_param(self, value: Any, column: str) -> Any:
        if value is None:
            return None
        from psycopg.types.json import Jsonb  # deferred: as above

        text = _dumps(value, column, self.url)  # validates (no NaN, no foreign objects) with the SQLite rules
        return Jsonb(value, dumps=lambda _obj: text)

    def _select(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._run("read", sql, args)

    def close(self) -> None:
        self._stop_writer()
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                except self._psycopg.Error:
                    pass
                self._conn = None


# ======================================================================================
# Opening by URL
# ======================================================================================


def open_store(url: str | os.PathLike[str], *, read_only: bool = False) -> Store:
    """Open (creating if needed) the store named by ``url``.

    ``read_only``: an SQLite store is opened without writing to it or its directory (a ledger in a
    read-only directory can be read), nothing is created or upgraded, and every write fails (DDL702).

    * a plain path, ``sqlite:///abs/path`` or ``sqlite:relative/path`` → an SQLite file (parent
      directories are created); ``:memory:`` → a private in-memory SQLite store (tests);
    * ``postgresql://…`` or ``postgres://…`` → PostgreSQL.

    Raises StoreError (DDL702) with a one-line reason when the store cannot be used.
    """
    text = os.fspath(url)
    if not isinstance(text, str):  # bytes paths
        text = os.fsdecode(text)
    if not text.strip():
        raise StoreError("cannot open store '': empty store location")
    match = _URL_SCHEME.match(text)
    scheme = match.group(1).lower() if match else ""
    if scheme in ("postgresql", "postgres"):
        return PostgresStore(text)
    if scheme == "sqlite":
        rest = text[len("sqlite://") :]
        if not rest.startswith("/"):
            raise StoreError(f"cannot open store '{text}': expected sqlite:///absolute/path")
        return SQLiteStore(urllib.parse.unquote(rest), display=text, read_only=read_only)
    if scheme:
        raise StoreError(
            f"cannot open store '{mask_url(text)}': unsupported scheme '{scheme}' "
            "(use a file path, sqlite:///path or postgresql://...)"
        )
    if text.lower().startswith("sqlite:"):
        return SQLiteStore(text[len("sqlite:") :], display=text, read_only=read_only)
    return SQLiteStore(text, read_only=read_only)
