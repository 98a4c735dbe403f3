"""Shared pytest configuration: Hypothesis profiles.

Profiles: ``ci`` (bounded, deterministic; selected when ``CI=true``), ``dev`` (the
default) and ``thorough``.  Override with ``DDL_HYPOTHESIS_PROFILE=<name>``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)

_default = "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
settings.load_profile(os.environ.get("DDL_HYPOTHESIS_PROFILE", _default))


# --- A real PostgreSQL server for the store tests (tests/pgserver.py) --------------------------
# Each pytest-xdist worker starts its own server; tests that need exact row counts take a fresh
# schema from `fresh_postgres_url`.  Without the server binaries: skip locally, fail under CI.

from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import pytest  # noqa: E402

if TYPE_CHECKING:
    from pgserver import PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    from pgserver import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs a real PostgreSQL for the store tests: {missing}", pytrace=False)
        pytest.skip(missing)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a database on the session's PostgreSQL server (shared by the session's tests)."""
    return postgres_server.create_database("ddl_shared")


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> str:
    """URL of an empty store location of its own on the session's server (one per test: a new
    schema selected by the URL's search_path, so row counts are exact)."""
    return postgres_server.create_schema()
