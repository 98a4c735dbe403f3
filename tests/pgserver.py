"""A throwaway PostgreSQL server for the test session (no mock stands in for PostgreSQL).

The store's PostgreSQL tests need a real server.  :class:`PostgresServer` runs ``initdb``
into a temporary directory and starts ``postgres`` listening only on 127.0.0.1 (a free port)
and on a Unix socket in that directory, with trust authentication.  Each pytest-xdist worker
starts its own server (its own directory and port), which is simpler and sturdier than
sharing one between processes.

PostgreSQL refuses to run as root: when the tests run as root, the data directory is given
to the ``postgres`` user and the server commands run through ``runuser`` (or ``su``).
"""

from __future__ import annotations

import atexit
import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) were not found. Install them, e.g. on Debian/Ubuntu "
    "`apt-get install postgresql` (.ci/run does this when it runs as root), or point DDL_PG_BINDIR at the "
    "directory holding initdb and pg_ctl."
)


class PostgresUnavailable(Exception):
    """The server binaries are missing (the caller decides: skip locally, fail under CI)."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: $DDL_PG_BINDIR, ``pg_config --bindir``,
    the newest ``/usr/lib/postgresql/*/bin`` (Debian keeps them off PATH), then PATH."""
    candidates: list[Path] = []
    if os.environ.get("DDL_PG_BINDIR"):
        candidates.append(Path(os.environ["DDL_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass

    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit()) or (0,)

    candidates.extend(
        Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL server in a temporary directory.  ``start()`` then ``stop()``."""

    def __init__(self, bindir: Path | None = None) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PostgresUnavailable(INSTALL_HINT)
        self.bindir = found
        self.as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        self.port = 0
        self.base: Path | None = None
        self.running = False

    # -- running commands as the server's owner ------------------------------------------
    def _command(self, argv: list[str]) -> list[str]:
        if not self.as_root:
            return argv
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", "postgres", "--", *argv]
        su = shutil.which("su")
        if su:
            return [su, "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
        raise PostgresUnavailable("running as root, but neither runuser nor su is available to drop to 'postgres'")

    def _run(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(argv), capture_output=True, text=True, timeout=timeout, check=False, cwd=self.base
        )

    def _prepare_dirs(self) -> Path:
        if self.as_root:
            try:
                import pwd

                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(
                    "running as root but there is no 'postgres' user to own the test server "
                    "(installing Debian's postgresql package creates it)"
                ) from None
            # Under /tmp (world-traversable) rather than $TMPDIR, which may sit in root's home.
            root = "/tmp" if os.path.isdir("/tmp") else None
            base = Path(tempfile.mkdtemp(prefix="ddlpg-", dir=root))
            base.chmod(0o755)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        else:
            # Short path: a Unix socket's path is limited to about 100 bytes.
            root = "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else None
            base = Path(tempfile.mkdtemp(prefix="ddlpg-", dir=root))
        return base

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.base = self._prepare_dirs()
        data = self.base / "data"
        result = self._run(
            [str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
             "--no-locale", "--no-sync"]
        )  # fmt: skip
        if result.returncode != 0:
            self.cleanup()
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        last_error = ""
        for _attempt in range(5):  # another process may take the free port between probe and bind
            self.port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-p {self.port}",
                    f"-k {self.base}",
                    "-c fsync=off",
                    "-c full_page_writes=off",
                    "-c shared_buffers=16MB",
                    "-c max_connections=60",
                    "-c dynamic_shared_memory_type=mmap",
                ]
            )
            log = self.base / "server.log"
            result = self._run(
                [str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options,
                 "start"]
            )  # fmt: skip
            if result.returncode == 0:
                self.running = True
                atexit.register(self.stop)  # a session that dies before its teardown still stops the server
                return
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            last_error = f"{result.stdout}\n{result.stderr}\n{tail}"
            if "already in use" not in last_error and "could not bind" not in last_error:
                break
            time.sleep(0.2)
        self.cleanup()
        raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (fresh per test, so row counts are exact) and return its URL."""
        import psycopg

        name = name or f"ddl_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def create_schema(self, database: str = "ddl_test") -> str:
        """A new, empty schema in ``database`` (created on first use) and a URL whose search_path
        selects it: per-test isolation in milliseconds, where CREATE DATABASE takes ~0.3 s."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
                try:
                    conn.execute(f'CREATE DATABASE "{database}"')
                except psycopg.errors.DuplicateDatabase:
                    pass
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return f"{self.url(database)}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        if self.running and self.base is not None:
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "fast", "-w", "stop"], 60)
            self.running = False
        self.cleanup()

    def cleanup(self) -> None:
        if self.base is not None and not self.running:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None
