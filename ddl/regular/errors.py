"""Errors and resource limits of the regular-language engine.

Every construction that can grow (regex expansion, NFA compilation, subset
construction, products) checks a :class:`Limits` value and raises a clear
error naming the construction and the limit instead of running away.
"""

from __future__ import annotations

import attrs


class RegularError(Exception):
    """Base class of the engine's errors."""


class RegexSyntaxError(RegularError, ValueError):
    """A pattern string could not be parsed."""

    def __init__(self, message: str, pattern: str, pos: int) -> None:
        self.msg = message
        self.pattern = pattern
        self.pos = pos
        caret = " " * (pos + 1 + _quote_shift(pattern, pos)) + "^"
        super().__init__(f"{message} at position {pos}\n  {pattern!r}\n  {caret}")


def _quote_shift(pattern: str, pos: int) -> int:
    # repr() may escape characters before pos; account for the extra width.
    return len(repr(pattern[:pos])) - 2 - pos


class RegexTooLarge(RegularError):
    """A regex AST exceeds :attr:`Limits.max_regex_size` (after expanding repetitions)."""


class AutomatonTooLarge(RegularError):
    """A construction exceeded its state limit."""

    def __init__(self, construction: str, limit: int, what: str = "states") -> None:
        self.construction = construction
        self.limit = limit
        self.what = what
        # The labelled parts of the regex (rules, captures) that drove the growth, with a measure
        # of how much each contributed, most first; filled in by constructions that can tell.
        self.culprits: list[tuple[str, int]] = []
        # The labelled part (capture or rule) whose intersection or complement was being built.
        self.inside: str | None = None
        super().__init__(
            f"{construction} exceeded the limit of {limit:,} {what}; simplify the pattern "
            f"(e.g. smaller bounded repetitions) or raise the limit via Limits"
        )

    @property
    def summary(self) -> str:
        """What grew, how far, and (when known) which part of the regex drove it."""
        text = f"{self.construction} reached the limit of {self.limit:,} {self.what}"
        if self.culprits:
            parts = ", ".join(f"'{label}' ({count:,})" for label, count in self.culprits)
            text += f"; the growth comes from {parts}"
        elif self.inside is not None:
            text += (f"; the growth comes from '{self.inside}': its intersection or complement (a Text "
                     "pattern, & or ~) is built as one DFA")
        return text


@attrs.frozen
class Limits:
    """Resource limits; pass a custom instance to raise or lower them.

    ``max_dfa_states`` bounds every deterministic construction (subset
    construction, products, ambiguity search); ``max_nfa_states`` bounds the
    compiled NFA; ``max_regex_size`` bounds the regex AST measured with bounded
    repetitions expanded (``x{1,30}`` counts 30 copies of ``x``) and each Boolean part
    (``&``, ``~``, a difference) counted once: it is built as a DFA of its own, its
    operands measured there, and spliced in under ``max_nfa_states``.
    """

    max_dfa_states: int = 50_000
    max_nfa_states: int = 200_000
    max_regex_size: int = 100_000
    max_depth: int = 400


DEFAULT_LIMITS = Limits()
