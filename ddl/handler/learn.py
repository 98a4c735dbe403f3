"""Compile on miss: a query the registry missed becomes the teaching example of a new family.

The model already answered the miss; this turns the utterance into a family through
``ddl.distill`` (the model emits DDL, ``ddl check`` gates it, diagnostics drive repair rounds)
and admits the family to the registry only when all of these hold:

1. it passes ``ddl check`` and its grammar accepts the utterance, it imports stdlib modules only,
   and it passes the admission rules for what a model wrote (:mod:`ddl.distill.admission`: no
   priority above the registry's cap, no grammar that accepts almost anything); ``distill``
   guarantees all of these, and the registry checks them again on loading;
2. its output for the utterance agrees with the answer the model gave (:func:`agrees`), so a
   family cannot silently answer differently from what the user was told;
3. after it is written into the registry's directory (``DIR/distilled/<family>.ddl``) and the
   registry is reloaded, it is *served*: it does not overlap a served family without a
   priority.  Otherwise the file is removed again and the reasons are reported.

Nothing the model wrote is executed except as checked DDL.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import attrs

from ddl.api import ImportScope, ModuleLoader, Program, compile_source
from ddl.distill import distill
from ddl.eval import Err, validate_theta
from ddl.files import write_atomic
from ddl.grammar.compile import CompiledGrammar
from ddl.handler.registry import MODEL_DIR
from ddl.values import to_json

LEARN_DIR = MODEL_DIR  # sub-directory of the registry that compiled misses are written to
_FENCED_JSON = re.compile(r"```(?:json)?\s*\n(.*?)```", re.S)


@attrs.frozen
class LearnOutcome:
    utterance: str
    status: str  # "admitted" | "rejected"
    family: str | None = None
    path: str | None = None
    reason: str | None = None
    transcript: str | None = None
    rounds: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def agrees(output: Any, answer: str | None) -> bool:
    """Whether the model's answer ``answer`` says the same as the program's JSON ``output``.

    The answer agrees when it is (or contains as a fenced block) JSON equal to the output, or,
    for a text output, when the two texts are equal up to case, Unicode normalization,
    whitespace and a trailing full stop.  Prose that merely mentions the output does not agree:
    admission needs positive evidence.
    """
    if answer is None:
        return False
    candidates = [answer, *_FENCED_JSON.findall(answer)]
    for text in candidates:
        try:
            if json.loads(text) == output:
                return True
        except ValueError:
            continue
    if isinstance(output, str):
        return _normal(output) == _normal(answer)
    return False


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).rstrip(".")


def learn_from_miss(handler: Any, utterance: str, answer: str | None) -> LearnOutcome:
    """Distill ``utterance`` into a family and admit it to ``handler``'s registry if it qualifies."""
    config = handler.config
    if not config.model:
        return LearnOutcome(utterance, "rejected", reason="no model is configured to distill with")
    directory = Path(handler.registry.directory)
    log_dir = directory / ".ddl-handler" / "distill"
    result = distill(utterance, config.model, rounds=config.distill_rounds, log_dir=log_dir,
                     registry=handler.registry, max_priority=handler.registry.model_priority_cap)
    base = LearnOutcome(utterance, "rejected", result.family, transcript=str(result.transcript),
                        rounds=len(result.rounds), tokens_in=result.tokens_in, tokens_out=result.tokens_out)

    def rejected(reason: str) -> LearnOutcome:
        return attrs.evolve(base, reason=reason)
    if not result.ok or result.source is None or result.family is None:
        why = result.error["message"] if result.error else "; ".join(result.diagnostics[:3]) or "no passing family"
        return rejected(f"distillation failed: {why}")
    output, problem = _run_on(result.source, result.family, utterance)
    if problem is not None:
        return rejected(problem)
    if not agrees(output, answer):
        shown = json.dumps(output, ensure_ascii=False)
        return rejected(f"its output for the utterance ({_clip(shown)}) does not agree with the model's "
                        f"answer ({_clip(answer or '')})")
    known = {f.name for f in handler.registry.served} | {r.name for r in handler.registry.rejected}
    if result.family in known:
        return rejected(f"the registry already has a family named {result.family}")
    target = _free_path(directory / LEARN_DIR, result.family)
    write_atomic(target, result.source)  # a reload never sees half a family
    # Load the grown directory beside the live registry and swap it in only if the new family is
    # served, so a family that turns out to overlap never takes a served one out of service.
    grown = handler.registry.reload()
    if result.family not in grown.by_name:
        target.unlink()
        reasons = [r for fam in grown.rejected if fam.name == result.family for r in fam.reasons]
        return rejected("not served: " + ("; ".join(reasons) or "unknown"))
    handler.install(grown)
    return attrs.evolve(base, status="admitted", path=str(target))


def _run_on(source: str, family: str, utterance: str) -> tuple[Any, str | None]:
    """The family's JSON output for the utterance, or a reason it has none."""
    loader = ModuleLoader(scope=ImportScope.stdlib_only())  # as the gate checked it: stdlib imports only
    module, diags = compile_source(source, f"<distilled {family}>", loader)
    if module is None or any(d.is_error for d in diags):  # pragma: no cover - the gate compiled it
        return None, "it no longer compiles"
    program = Program(module, loader.sources)
    checked = module.families[family]
    match = CompiledGrammar(checked, program.evaluator).match(utterance)
    if not match.ok:
        return None, f"its grammar does not accept the utterance: {match.error}"
    theta, problems = validate_theta(checked, program.evaluator, match.values or {}, values=True)
    if theta is None:
        return None, "θ from the utterance is outside Θ: " + "; ".join(problems)
    outcome = program.compiled(family)(theta)
    if isinstance(outcome, Err):  # pragma: no cover - a checked family is safe
        return None, f"it failed at run time: {outcome.failure}"
    return to_json(outcome.value), None


def _free_path(directory: Path, family: str) -> Path:
    path = directory / f"{family}.ddl"
    n = 2
    while path.exists():
        path = directory / f"{family}_{n}.ddl"
        n += 1
    return path


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
