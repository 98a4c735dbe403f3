"""What the obligation modules see of a family's prover: its runs, the teaching values, replay.

:mod:`ddl.verify.prove` owns the runs over Θ; :mod:`ddl.verify.leak` (no-leak) and
:mod:`ddl.verify.reach` (reachable) decide their obligations from them through this view, so each
obligation lives in a module of its own.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import attrs

from ddl.diagnostics import Span
from ddl.eval.result import Outcome
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.values import Value, show_value
from ddl.verify.domains import Space, Theta
from ddl.verify.obligations import Obligation

SHOW_LIMIT = 70


def shorten(text: str, limit: int = SHOW_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show_theta(theta: Theta) -> str:
    return "{ " + ", ".join(f"{k} = {shorten(show_value(v), 40)}" for k, v in theta.items()) + " }"


def show_out(value: Value) -> str:
    return shorten(show_value(value))


def at(span: Span) -> str:
    return f"{span.line}:{span.col}"


def quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


@attrs.define
class Run:
    theta: Theta
    outcome: Outcome
    hits: frozenset[tuple[int, int]]


class ProverView(Protocol):
    """The parts of :class:`ddl.verify.prove.FamilyProver` the obligation modules use."""

    module: CheckedModule
    family: CheckedFamily
    evaluator: Any
    runs: list[Run]
    space: Space

    def teaching_value(self, name: str) -> Value | None: ...

    def replay(self, theta: Theta) -> Outcome: ...

    def cov_replay(self, theta: Theta, node: Any, branch: int) -> bool: ...

    def internal(self, kind: str, subject: str, span: Span, seconds: float, what: str) -> Obligation: ...
