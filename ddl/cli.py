"""The ``ddl`` console script (``[project.scripts]``); the commands live in :mod:`ddl.commands`."""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

from ddl.codecache import install

install()  # before any ddl class is defined: attrs' generated methods come from the user's code cache

from ddl.commands import build_parser  # noqa: E402 - after install(), which must precede every ddl class
from ddl.commands import main as run_command  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    """``ddl ARGV`` (the process's own arguments when ``argv`` is None): its exit code."""
    if argv is not None:  # a caller's own process: its collector is its business
        return run_command(argv)
    if sys.argv[1:2] == ["handle"]:
        # One query, then the process ends: what it builds (modules, the router, a hit kit) lives until then,
        # and the collector's passes over it cost more than anything the query does (spec/handler.md).
        gc.disable()
    try:
        return run_command(None)
    finally:
        # The process exits next.  Everything it built is frozen out of the collector, whose passes over
        # it at shutdown had cost a one-query `ddl handle` a sixth of its time; the command has closed
        # what it opened (stores, files, the cache's writes).
        gc.freeze()


__all__ = ["build_parser", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
