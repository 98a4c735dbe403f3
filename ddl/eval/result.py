"""Evaluation outcomes: ``Ok(value)`` or ``Err(EvalFailure)``.

Runtime failures never escape as Python exceptions.  Inside the evaluator a
failure unwinds as the private :class:`Abort` exception and is converted to an
:class:`EvalFailure` (with the θ of the run) at the public boundary.
"""

from __future__ import annotations

from typing import Union

import attrs

from ddl.diagnostics import Diagnostic, Span
from ddl.values import Value, show_value


@attrs.frozen
class EvalFailure:
    """A runtime failure: a DDL3xx code, an English message, where, and at which θ."""

    code: str
    message: str
    span: Span
    theta: tuple[tuple[str, Value], ...] = ()

    def theta_text(self) -> str:
        """θ in DDL syntax, e.g. ``count = 0, genre = fantasy``."""
        return ", ".join(f"{name} = {show_value(value)}" for name, value in self.theta)

    def render_message(self) -> str:
        if not self.theta:
            return self.message
        return f"{self.message} (at {self.theta_text()})"

    def to_diagnostic(self) -> Diagnostic:
        return Diagnostic(self.code, self.render_message(), self.span)


@attrs.frozen
class Ok:
    value: Value


@attrs.frozen
class Err:
    failure: EvalFailure


Outcome = Union[Ok, Err]


class Abort(Exception):
    """Internal: unwinds a failing evaluation to the public boundary."""

    def __init__(self, code: str, message: str, span: Span):
        super().__init__(message)
        self.code = code
        self.message = message
        self.span = span

    def failure(self, theta: tuple[tuple[str, Value], ...]) -> EvalFailure:
        return EvalFailure(self.code, self.message, self.span, theta)
