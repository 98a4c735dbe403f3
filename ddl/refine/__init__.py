"""Refinement from feedback (DESIGN.md §8, issue 8).

    fs = collect_feedback(store, family_name, grammar)      A, R and inconsistent utterances
    split = learn_split(fs, family, evaluator, grammar, method="auto"|"theta"|"rpni"|"llm", model_id=None)
        → Split(method, L, g_plus = G ∩ L, g_minus = G − L, predicate, checks, ok, feedback_ids, messages)
    coverage_split(fs, family, evaluator) → [BranchDifference]   branches only A or only R take
"""

from ddl.refine.coverage import BranchDifference, coverage_split
from ddl.refine.feedback import Conflict, Example, FeedbackSet, collect_feedback, feedback_set
from ddl.refine.split import Check, Split, check_split, learn_split
from ddl.refine.theta import ThetaPredicate

__all__ = [
    "BranchDifference", "Check", "Conflict", "Example", "FeedbackSet", "Split", "ThetaPredicate", "check_split",
    "collect_feedback", "coverage_split", "feedback_set", "learn_split",
]
