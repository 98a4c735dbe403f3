"""Distillation through ``llm``: a model writes a DDL family for a teaching utterance, ``ddl check`` gates it.

    from ddl.distill import distill
    result = distill("recommend 5 fantasy books from the 1980s", "gpt-4o-mini", out=Path("books.ddl"))

:func:`distill` builds the prompt (:mod:`ddl.distill.prompt`, from templates and a digest of the
spec generated at run time), asks the model in one conversation, extracts the DDL block
(:func:`extract_ddl`), checks it and sends the diagnostics back for a bounded number of repair
rounds.  The file is written only when everything passes.  ``ddl distill`` is the command
(:mod:`ddl.distill.commands`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ddl.distill.extract import extract_ddl
    from ddl.distill.loop import DistillResult, Round, distill, evaluate


def __getattr__(name: str) -> Any:
    if name == "extract_ddl":  # its patterns compile when it loads: not for the registry's admission rules
        from ddl.distill import extract  # deferred: see above

        return extract.extract_ddl
    if name in ("DistillResult", "Round", "distill", "evaluate"):
        # The loop (the checker, the prompt's digest) loads only to distill, not when the registry reads
        # the admission rules of ddl.distill.admission.
        from ddl.distill import loop  # deferred: see above

        return getattr(loop, name)
    raise AttributeError(f"module 'ddl.distill' has no attribute {name!r}")


__all__ = ["DistillResult", "Round", "distill", "evaluate", "extract_ddl"]
