"""``ddl refine`` as one function: a served family's feedback → a checked split → the rewritten file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ddl.diagnostics import did_you_mean
from ddl.files import write_atomic
from ddl.grammar.compile import CompiledGrammar
from ddl.handler.records import HandlerError
from ddl.handler.registry import Registry
from ddl.handler.store import open_store
from ddl.refine.coverage import coverage_split
from ddl.refine.feedback import collect_feedback
from ddl.refine.rewrite import RewriteError, rewrite
from ddl.refine.split import learn_split


def refine(family: str, directory: Path, *, store_url: str, method: str | None = None,
           model_id: str | None = None, write: bool = False) -> dict[str, Any]:
    """The whole refinement as a JSON-able report (the Python API behind ``ddl refine``)."""
    registry = Registry.load(directory)
    served = registry.by_name.get(family)
    if served is None:
        known = ", ".join(f.name for f in registry.served) or "none"
        hint = did_you_mean(family, registry.by_name)
        raise HandlerError(f"no served family {family} in {directory}{'; ' + hint if hint else ''} (served: {known})",
                           code="DDL705")
    grammar = CompiledGrammar(served.checked, served.evaluator)
    store = open_store(store_url)
    try:
        fs = collect_feedback(store, family, grammar)
    finally:
        store.close()
    chosen = method or ("llm" if model_id else "auto")
    split = learn_split(fs, served.checked, served.evaluator, grammar, method=chosen, model_id=model_id)
    report: dict[str, Any] = {
        "family": family, "path": served.path, "store": store.url, "accepted": len(fs.accepted),
        "rejected": len(fs.rejected), "inconsistent": [_conflict(c) for c in fs.inconsistent],
        "split": split.to_json(), "ok": False, "written": False, "diff": None, "diagnostics": [],
    }
    try:
        report["branches"] = [_branch(b) for b in coverage_split(fs, served.checked, served.evaluator)]
    except Exception as exc:  # coverage is advice for the reviewer; it must not block a split
        report["branches"] = []
        report["diagnostics"].append(f"branch coverage unavailable: {type(exc).__name__}: {exc}")
    if not split.ok:
        return report
    original = Path(served.path).read_text(encoding="utf-8")
    try:
        result = rewrite(original, served.path, family, split, fs, store.url)
    except RewriteError as exc:
        report["diagnostics"].append(str(exc))
        return report
    report.update(diff=result.diff, diagnostics=result.diagnostics, dropped_examples=result.dropped_examples,
                  pruned_branches=result.pruned_branches, ok=result.passed)
    if result.passed and write:
        write_atomic(Path(served.path), result.source)
        report["written"] = True
    return report


def _conflict(c: Any) -> dict[str, Any]:
    return {"utterance": c.utterance, "accept_ids": list(c.accept_ids), "reject_ids": list(c.reject_ids)}


def _branch(b: Any) -> dict[str, Any]:
    return {**b.to_json(), "description": b.describe()}
