"""The limits of one ``ddl check``: the automata bound of the grammar obligations (``max_states``,
as :class:`ddl.regular.Limits`) and the verifier's own budget per family (``family_steps``).

``family_steps`` bounds the evaluation steps the verifier spends running one family's program over Θ
(spec/checks.md, "The check's budget per family"). Steps, not seconds: they are deterministic, so the
same file gets the same verdicts on a busy machine as on an idle one. At about one to two million
steps a second, the default is some 15 to 30 seconds of evaluation.
"""

from __future__ import annotations

import attrs

from ddl.regular import Limits

DEFAULT_FAMILY_STEPS = 30_000_000
MAX_FAMILY_STEPS = 10**12


@attrs.frozen
class CheckLimits(Limits):
    """:class:`ddl.regular.Limits` plus the verifier's step budget per family (part of the cache key)."""

    family_steps: int = DEFAULT_FAMILY_STEPS


def family_steps(limits: Limits) -> int:
    """The budget per family that ``limits`` carry (the default for plain automata limits)."""
    return limits.family_steps if isinstance(limits, CheckLimits) else DEFAULT_FAMILY_STEPS


__all__ = ["DEFAULT_FAMILY_STEPS", "MAX_FAMILY_STEPS", "CheckLimits", "family_steps"]


DEFAULT_MAX_STATES = 200_000  # ddl check's default bound on each automaton of a grammar obligation


def check_limits(max_states: int = DEFAULT_MAX_STATES, family_steps: int = DEFAULT_FAMILY_STEPS) -> CheckLimits:
    """The limits of the grammar obligations for a ``max_states`` bound (spec/checks.md, "Resource limits").

    NFAs and regex trees grow linearly with the grammar (an enum of 5,000 city names is 50,000
    characters twice), so their bounds follow the state bound.  (Here, not in ``verify.grammar``, so that
    reading the ``[check]`` settings loads no grammar analysis.)
    """
    base = Limits()
    return CheckLimits(max_dfa_states=max_states, max_nfa_states=max(base.max_nfa_states, 4 * max_states),
                       max_regex_size=max(base.max_regex_size, 5 * max_states), max_depth=base.max_depth,
                       family_steps=family_steps)
