"""The handler's ledger and feedback store: SQLite in a file by default, PostgreSQL by URL.

Every query H_k answers is one row of ``ddl_queries``; every verdict a user gives is one row
of ``ddl_feedback``, which copies the query's utterance, θ, family and family version so
that refinement can learn from the feedback alone.  Both backends share one contract:

* every write is committed before the call returns (a crash afterwards loses nothing);
* several processes may write at once (SQLite: WAL + busy timeout; PostgreSQL: a
  server-side sequence), and nothing is lost;
* failures are :class:`StoreError` (DDL702) with a one-line message naming the store, never
  a driver traceback; an unknown query id is DDL706, an invalid verdict DDL705;
* a file that is not a database is refused *before* SQLite touches it, so a mistyped path
  never truncates or rewrites somebody's data;
* the schema carries a version in ``ddl_meta``; a store written by a newer ``ddl`` is refused
  rather than misread.

Tables are prefixed ``ddl_`` because a PostgreSQL database is often shared with other
applications.
"""

from __future__ import annotations

import abc
import json
import os
import re
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from ddl.handler.records import SOURCES, VERDICTS, FeedbackRecord, HandlerError, QueryRecord, StoreError

__all__ = ["SCHEMA_VERSION", "PostgresStore", "SQLiteStore", "Store", "mask_url", "open_store"]

#: Version of the tables' layout.  Bump it (and add a migration) when the layout changes;
#: an older ``ddl`` then refuses the store instead of writing rows it cannot describe.
SCHEMA_VERSION = 1
APPLICATION = "ddl-handler"

_SQLITE_MAGIC = b"SQLite format 3\x00"
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


def _dumps(value: Any, what: str, store: str) -> str:
    """JSON text for a theta/output/error column; a value JSON cannot hold is a StoreError, not a crash."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot write to store '{store}': {what} is not JSON ({exc})") from None


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

    # -- writes (validation and SQL shared; the backends run the statements) ---------------
    def record_query(self, rec: QueryRecord) -> int:
        """Append ``rec`` (its ``id`` is ignored) and return the new id; committed on return."""
        _check_record(rec)
        values = [self._json_param(getattr(rec, col), col) if col in _QUERY_JSON else getattr(rec, col)
                  for col in _QUERY_COLUMNS]
        sql = (f"INSERT INTO ddl_queries ({', '.join(_QUERY_COLUMNS)}) "
               f"VALUES ({', '.join(self._PARAM for _ in _QUERY_COLUMNS)})")
        return self._insert(sql, values)

    def add_feedback(
        self, query_id: int, verdict: str, correction: str | None = None, ts: float | None = None
    ) -> FeedbackRecord:
        """Store a verdict on query ``query_id``, copying the query's utterance, θ, family,
        family version and source; committed on return."""
        _check_feedback(query_id, verdict, correction)
        if not _storable_id(query_id):
            raise StoreError(f"unknown query id {query_id}", "DDL706")
        when = time.time() if ts is None else float(ts)
        p = self._PARAM
        # One statement copies the query's fields: atomic, no window between read and write.
        sql = (
            "INSERT INTO ddl_feedback (query_id, ts, verdict, utterance, correction, family, family_version, theta, source) "
            f"SELECT id, {p}, {p}, utterance, {p}, family, family_version, theta, source FROM ddl_queries WHERE id = {p}"
        )
        row = self._insert_feedback(sql, (when, verdict, correction, query_id))
        if row is None:
            raise StoreError(f"unknown query id {query_id}", "DDL706")
        return self._feedback_from_row(row, parse_json=self._JSON_AS_TEXT)

    @abc.abstractmethod
    def _json_param(self, value: Any, column: str) -> Any:
        """A JSON column's value as the driver takes it (validated: no NaN, no foreign objects)."""

    @abc.abstractmethod
    def _insert(self, sql: str, values: list[Any]) -> int:
        """Run one INSERT and return the new row's id."""

    @abc.abstractmethod
    def _insert_feedback(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """Run the feedback INSERT … SELECT; the new row (id first), or None when no query matched."""

    # -- reads (one implementation: the backends differ in placeholders and JSON columns) ----
    _PARAM = "?"  # the driver's query placeholder
    _JSON_AS_TEXT = True  # JSON columns come back as text to parse (SQLite), or already parsed (jsonb)

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


# ======================================================================================
# SQLite
# ======================================================================================

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS ddl_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ddl_queries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ts             REAL    NOT NULL,
    utterance      TEXT    NOT NULL,
    source         TEXT    NOT NULL CHECK (source IN ('deterministic', 'llm', 'error')),
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
);
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
CREATE INDEX IF NOT EXISTS ddl_queries_family ON ddl_queries (family, id);
"""


class SQLiteStore(Store):
    """A store in one SQLite file (WAL, so readers never block the writer; a busy timeout, so
    concurrent writers wait for each other instead of failing)."""

    BUSY_TIMEOUT = 10.0  # seconds a writer waits for another process's write lock

    def __init__(self, path: str, display: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.url = display if display is not None else path
        self._conn: sqlite3.Connection | None = None
        memory = path == ":memory:"
        if not memory:
            self._refuse_foreign_file()
            parent = Path(path).parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise self._open_error(f"cannot create directory '{parent}': {exc.strerror or exc}") from None
        try:
            conn = sqlite3.connect(path, timeout=self.BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._open_error(self._describe(exc)) from None
        self._conn = conn
        try:
            self._setup(memory)
        except StoreError:
            self.close()
            raise
        except sqlite3.Error as exc:
            self.close()
            raise self._open_error(self._describe(exc)) from None

    # -- opening ------------------------------------------------------------------------
    def _open_error(self, reason: str) -> StoreError:
        return StoreError(f"cannot open store '{self.url}': {reason}")

    @staticmethod
    def _describe(exc: sqlite3.Error) -> str:
        text = _one_line(exc)
        if "file is not a database" in text:
            return "file is not a database"
        if "malformed" in text:
            return f"the database file is damaged ({text})"
        return text

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

    def _setup(self, memory: bool) -> None:
        conn = self._db()
        # Read first: a damaged file fails here, before any pragma that could write to it.
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "ddl_meta" not in tables:
            raise self._open_error("the file is an SQLite database but not a DDL store (it has tables and no ddl_meta)")
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
        if "ddl_meta" in tables:
            self._check_version()
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SQLITE_SCHEMA.split(";"):
                if statement.strip():
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
        self._check_version()

    def _check_version(self) -> None:
        row = self._db().execute("SELECT value FROM ddl_meta WHERE key = 'schema_version'").fetchone()
        _check_schema_version(row[0] if row else None, self.url)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"store '{self.url}' is closed")
        return self._conn

    def _write_error(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"cannot write to store '{self.url}': {self._describe(exc)}")

    def _read_error(self, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"cannot read store '{self.url}': {self._describe(exc)}")

    # -- writes -------------------------------------------------------------------------
    def _json_param(self, value: Any, column: str) -> Any:
        return None if value is None else _dumps(value, column, self.url)

    def _insert(self, sql: str, values: list[Any]) -> int:
        with self._lock:
            try:
                cur = self._db().execute(sql, values)  # autocommit: committed when execute returns
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def _insert_feedback(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            try:
                cur = self._db().execute(sql, args)
                if cur.rowcount != 1:
                    return None
                return tuple(self._db().execute(
                    f"SELECT id, {', '.join(_FEEDBACK_COLUMNS)} FROM ddl_feedback WHERE id = ?", (cur.lastrowid,)
                ).fetchone())
            except sqlite3.Error as exc:
                raise self._write_error(exc) from None

    # -- reads --------------------------------------------------------------------------
    def _select(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._db().execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise self._read_error(exc) from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None


def _check_schema_version(raw: Any, url: str) -> None:
    """Refuse a store whose layout this ddl does not know (written by a newer ddl, or damaged)."""
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


# ======================================================================================
# PostgreSQL
# ======================================================================================

_PG_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS ddl_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ddl_queries (
        id             BIGSERIAL PRIMARY KEY,
        ts             DOUBLE PRECISION NOT NULL,
        utterance      TEXT NOT NULL,
        source         TEXT NOT NULL CHECK (source IN ('deterministic', 'llm', 'error')),
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
)
# Serializes schema creation between replicas starting at once (CREATE ... IF NOT EXISTS races).
_PG_SCHEMA_LOCK = 0x44444C_0001


class PostgresStore(Store):
    """A store in a PostgreSQL database, shared by several handler replicas.  One connection
    per Store, in autocommit mode: each write is its own committed transaction."""

    CONNECT_TIMEOUT = 5  # seconds; an unreachable server is an error, not a hang
    _PARAM = "%s"
    _JSON_AS_TEXT = False  # jsonb arrives parsed

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
        _check_schema_version(row[0] if row else None, self.url)

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

    def _run(self, action: str, sql: str, args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                cur = self._live().execute(sql, args)
                return list(cur.fetchall()) if cur.description is not None else []
            except self._psycopg.Error as exc:
                raise StoreError(f"cannot {action} store '{self.url}': {_pg_reason(exc)}") from None

    def _json_param(self, value: Any, column: str) -> Any:
        if value is None:
            return None
        from psycopg.types.json import Jsonb  # deferred: as above

        text = _dumps(value, column, self.url)  # validates (no NaN, no foreign objects) with the SQLite rules
        return Jsonb(value, dumps=lambda _obj: text)

    def _insert(self, sql: str, values: list[Any]) -> int:
        return int(self._run("write to", sql + " RETURNING id", values)[0][0])

    def _insert_feedback(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        rows = self._run("write to", sql + f" RETURNING id, {', '.join(_FEEDBACK_COLUMNS)}", args)
        return rows[0] if rows else None

    def _select(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._run("read", sql, args)

    def close(self) -> None:
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


def open_store(url: str | os.PathLike[str]) -> Store:
    """Open (creating if needed) the store named by ``url``.

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
        return SQLiteStore(urllib.parse.unquote(rest), display=text)
    if scheme:
        raise StoreError(
            f"cannot open store '{mask_url(text)}': unsupported scheme '{scheme}' "
            "(use a file path, sqlite:///path or postgresql://...)"
        )
    if text.lower().startswith("sqlite:"):
        return SQLiteStore(text[len("sqlite:") :], display=text)
    return SQLiteStore(text)
