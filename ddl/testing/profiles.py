"""Property names and budgets (no Hypothesis import: the CLI reads these at start-up)."""

from __future__ import annotations

import os

PROPERTIES = ("totality", "determinism", "ensures", "round_trip", "near_misses")
PROFILES = {"ci": 30, "dev": 100, "thorough": 1000}


def default_profile() -> str:
    env = os.environ.get("DDL_HYPOTHESIS_PROFILE")
    if env in PROFILES:
        return env
    return "ci" if os.environ.get("CI") else "dev"
