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
