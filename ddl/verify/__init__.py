"""The obligations of ``ddl check`` and their three-valued verdicts (spec/checks.md).

Public face::

    check_family(module, family, evaluator)   → [Obligation]: typed, examples, grammar, verifier
    allowance_findings(family)                → the DDL612 notes of its `allow` declarations
    Obligation                                kind, subject, verdict (proved | refuted | unknown), evidence
    FileResult, FamilyResult, Finding         one file's typed result (the facade's ddl.check returns them)
    ResultCache, load_check_settings          the result cache and the [check] limits

Pipelines over files (reading, caching, parallel checking) are the facade's (``ddl.api.check``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddl.verify.cache import ResultCache
from ddl.verify.config import CheckSettings, ConfigError, load_check_settings
from ddl.verify.obligations import Obligation, Verdict
from ddl.verify.report import FamilyResult, FileResult, Finding

if TYPE_CHECKING:
    from ddl.verify.family import allowance_findings, check_family, example_obligation


def __getattr__(name: str) -> Any:
    if name in ("allowance_findings", "check_family", "example_obligation"):
        from ddl.verify import family  # deferred: the provers (z3 among them) load only when something is checked

        return getattr(family, name)
    raise AttributeError(f"module 'ddl.verify' has no attribute {name!r}")


__all__ = [
    "CheckSettings", "ConfigError", "FamilyResult", "FileResult", "Finding", "Obligation", "ResultCache", "Verdict",
    "allowance_findings", "check_family", "example_obligation", "load_check_settings",
]
