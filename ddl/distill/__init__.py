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

from ddl.distill.extract import extract_ddl
from ddl.distill.loop import DistillResult, Round, distill, evaluate

__all__ = ["DistillResult", "Round", "distill", "evaluate", "extract_ddl"]
