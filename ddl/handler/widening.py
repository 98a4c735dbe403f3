"""Widening a served family from its candidate phrasings: the pipeline behind ``ddl widen`` and the
service's automatic widening (spec/widen.md).

Candidates come from the store (extracted answers nobody rejected); a learner turns them into
grammar alternatives (``align``: :mod:`ddl.widen.learn`, deterministic, no model; ``llm``: the model
proposes them, :mod:`ddl.widen.propose`); :func:`ddl.widen.gate.widen_source` admits what it can
prove.  With ``write`` the family's file is replaced atomically — only if it still has the bytes
that were widened (a file edited meanwhile is left alone and reported).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from ddl.diagnostics import did_you_mean
from ddl.files import write_atomic
from ddl.grammar.router import RoutedFamily
from ddl.handler.config import WIDEN_METHODS
from ddl.handler.records import HandlerError
from ddl.handler.registry import Registry
from ddl.widen import foreign_words, phrasing_words
from ddl.widen.gate import GateResult, WidenError, authored_excerpt, authored_grammar, has_learned_rule, widen_source
from ddl.widen.learn import Candidate, Learned, learn
from ddl.widen.propose import propose


@attrs.frozen
class WidenReport:
    family: str
    path: str
    method: str
    candidates: int
    learned: Learned
    gate: GateResult | None
    written: bool = False
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.gate is not None and self.gate.ok

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "path": self.path, "method": self.method, "candidates": self.candidates,
                "unaligned": [attrs.asdict(u) for u in self.learned.unaligned],
                "gate": self.gate.to_json() if self.gate is not None else None, "ok": self.ok,
                "written": self.written, "message": self.message}


MAX_ANSWERED = 500  # the most recent requests the grammar answered, learned from as phrasing (not as θ)


def answered_by(store: Any, family: str, rejected: list[str]) -> list[str]:
    """The latest requests ``family``'s grammar answered (source "deterministic") that feedback did not
    reject: how its users ask, for the spotting learner's words and value marks."""
    refused = set(rejected)
    found = [q.utterance for q in store.queries()
             if q.family == family and q.source == "deterministic" and q.utterance not in refused]
    return list(dict.fromkeys(found[-MAX_ANSWERED:]))


def widen_family(registry: Registry, store: Any, family: str, *, method: str = "align", model_id: str | None = None,
                 timeout: float = 60.0, write: bool = False) -> WidenReport:
    """Learn from ``family``'s candidates in ``store`` and gate the result against ``registry``."""
    if method not in WIDEN_METHODS:
        raise HandlerError(f"unknown widening method {method!r} (use {' or '.join(WIDEN_METHODS)})", "DDL705")
    served = registry.by_name.get(family)
    if served is None:
        hint = did_you_mean(family, registry.by_name)
        known = ", ".join(f.name for f in registry.served) or "none"
        raise HandlerError(f"no served family {family} in {registry.directory}{'; ' + hint if hint else ''} "
                           f"(served: {known})", "DDL705")
    every = store.candidates()  # once: the other families' phrasings are read below
    records = [r for r in every if r.family == family]
    candidates = [Candidate(r.utterance, r.theta, r.query_id) for r in records]
    rejected = [f.utterance for f in store.feedback(family) if f.verdict == "reject"]
    path = Path(served.path)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise HandlerError(f"cannot read {path}: {err}", "DDL900") from None
    grammar = next(e.grammar for e in registry.router.entries if e.name == family)
    if method != "align" and not model_id:
        raise HandlerError(f"the {method} learner needs a model (-m MODEL)", "DDL707")
    # Only what the authored grammar answers teaches phrasing: an answer the learned rule gave may
    # come from a phrasing whose candidate feedback has since removed.
    try:
        authored = authored_grammar(text, str(path), family)
    except WidenError as err:
        return WidenReport(family, str(path), method, len(candidates), Learned((), ()), None, message=str(err))
    answered = [u for u in answered_by(store, family, rejected) if authored.match(u).ok]
    learned = Learned((), ())
    if method in ("llm", "both"):
        assert model_id is not None
        # Only the model is shown the source; the file parsed for authored_grammar, so it parses here too.
        learned = propose(served.checked, grammar, candidates, model_id=model_id, timeout=timeout,
                          grammar_source=authored_excerpt(text, str(path), family), answered=answered)
    if method in ("align", "both"):
        foreign = frozenset(w for f in registry.served if f.name != family for w in foreign_words(f.checked))
        # And what the other families' users said: the words those families are about to learn.
        foreign |= phrasing_words((r.utterance, r.theta) for r in every
                                  if r.family != family and r.family in registry.by_name)
        aligned = learn(served.checked, grammar, candidates, answered, foreign)
        # The model's alternatives go first (the gate tries general ones first and drops them first).
        learned = Learned(learned.alternatives + aligned.alternatives, learned.unaligned + aligned.unaligned)
    report = WidenReport(family, str(path), method, len(candidates), learned, None)
    if not learned.alternatives and not has_learned_rule(served.checked):
        why = "no candidates" if not candidates else "no candidate could be aligned with θ"
        return attrs.evolve(report, message=f"nothing to learn: {why}")
    grammars = {e.name: e.grammar for e in registry.router.entries}
    others = [RoutedFamily(f.name, f.checked, f.evaluator, f.priority, grammars.get(f.name))
              for f in registry.served if f.name != family]
    try:
        gate = widen_source(text, str(path), family, learned.alternatives, candidates, rejected=rejected,
                            others=others)
    except WidenError as err:
        return attrs.evolve(report, message=str(err))
    report = attrs.evolve(report, gate=gate, message=gate.message)
    if gate.ok and gate.source == text:  # the same rule again: nothing to write, nothing to reload
        return attrs.evolve(report, message="the grammar already holds what the candidates teach; nothing changed")
    if write and gate.ok:
        try:
            if path.read_bytes() != data:
                return attrs.evolve(report, message=f"{path} changed while it was being widened; nothing written")
            write_atomic(path, gate.source)
        except OSError as err:
            raise HandlerError(f"cannot write {path}: {err.strerror or err}", "DDL900") from None
        report = attrs.evolve(report, written=True)
    return report
