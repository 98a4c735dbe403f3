"""The ``ddl`` console script (``[project.scripts]``); the commands live in :mod:`ddl.commands`."""

from __future__ import annotations

import sys

from ddl.commands import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
