"""Widening a family's grammar from phrasings it missed, with every widening proved (spec/widen.md).

Public face::

    learn(family, grammar, candidates)        the offline learner: θ aligned with the utterance → alternatives
    propose(family, grammar, candidates, …)   the model learner: alternatives the model proposes
    widen_source(text, path, family, alternatives, candidates, rejected=, others=)
                                              the gate: admits what the algebra and ddl check prove; new text + diff
    foreign_words(other)                      the words of another served family a learned free-text value never is
    phrasing_words(phrasings)                 the words other families' users ask with (likewise never such a value)
    Candidate, Alternative, GateResult        the data

Below the handler: it knows nothing of stores or registries; the handler's ``widening`` module
feeds it candidates from the ledger and the served families.
"""

from __future__ import annotations

from ddl.widen.gate import GateResult, Refusal, WidenError, widen_source
from ddl.widen.learn import Alternative, Candidate, Learned, Unaligned, learn
from ddl.widen.propose import propose
from ddl.widen.spot import foreign_words, phrasing_words

__all__ = ["Alternative", "Candidate", "GateResult", "Learned", "Refusal", "Unaligned",
           "WidenError", "foreign_words", "learn", "phrasing_words", "propose", "widen_source"]
