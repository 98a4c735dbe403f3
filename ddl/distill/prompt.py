"""The prompts of ``ddl distill``: templates in ``ddl/distill/templates`` filled at run time.

Templates use ``@name`` placeholders (:class:`string.Template` with ``@`` as the delimiter,
because DDL itself uses ``$`` for interpolation and braces everywhere); a missing value is an
error, not a silently unfilled hole.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

from ddl.distill.digest import SPEC_BUDGET, example_families, spec_digest, stdlib_reference, template_text
from ddl.distill.digest import builtins_reference as _builtins_reference

MAX_DIAGNOSTICS = 20  # rendered diagnostics quoted in one repair prompt


class _Template(string.Template):
    delimiter = "@"


def render(name: str, **values: str) -> str:
    """Template ``name`` with every ``@placeholder`` filled (KeyError when one is missing)."""
    return _Template(template_text(name)).substitute(values)


def system_prompt() -> str:
    """The default system prompt (``--system``/``--system-file`` replace it)."""
    return render("system.txt").strip()


def phrasings_request(n: int) -> str:
    """The paragraph asking for ``n`` varied phrasings before the family (empty when ``n`` is 0)."""
    if n <= 0:
        return ""
    return "\n" + render("phrasings.txt", n=str(n)).strip() + "\n"


def task_prompt(utterance: str, *, spec_dir: Path | None = None, examples_dir: Path | None = None,
                budget: int = SPEC_BUDGET, phrasings: int = 0) -> str:
    """The first prompt: the task (with ``phrasings`` varied phrasings asked for first), the guide to
    passing ``ddl check``, the spec digest, built-ins, stdlib, example families and ``utterance``."""
    digest = spec_digest(spec_dir, budget=budget)
    examples = example_families(examples_dir)
    spec_note = "" if digest.from_spec else (
        "\nNote: the specification (spec/) is not installed with this copy of ddl; a short summary stands in.\n")
    examples_note = "" if examples.bundled else (
        "\nNote: the bundled example families (examples/) are not installed with this copy of ddl; "
        "one small built-in example stands in.\n")
    return render("task.txt", utterance=utterance, spec_digest=digest.text.strip(), spec_note=spec_note,
                  builtins=_builtins_reference(), stdlib=stdlib_reference(), examples=examples.text.strip(),
                  examples_note=examples_note, phrasings=phrasings_request(phrasings),
                  guide=template_text("guide.txt").strip())


def repair_prompt(utterance: str, diagnostics: Sequence[str], *, limit: int = MAX_DIAGNOSTICS,
                  phrasings: int = 0) -> str:
    """The next prompt after a failed round: the first ``limit`` rendered diagnostics, quoted."""
    shown = list(diagnostics[:limit])
    total = len(diagnostics)
    if total == 1:
        summary = "`ddl check` reported 1 problem:"
    elif total <= limit:
        summary = f"`ddl check` reported {total} problems:"
    else:
        summary = f"`ddl check` reported {total} problems; the first {limit} are:"
    body = "\n\n".join(shown) if shown else "(no diagnostics were produced)"
    keep = (f"\n\nKeep at least {phrasings} different phrasings as `example \"...\" => {{ θ }}`, each parsed by the "
            "grammar to its θ." if phrasings > 0 else "")
    return render("repair.txt", utterance=utterance, summary=summary, diagnostics=f"```\n{body}\n```",
                  phrasings=keep)
