"""Write a learned split back as DDL source: a reviewable edit of the family's own file.

The refined family keeps its name (it replaces the original in the registry) and answers G+;
the rest of its old language, G−, is declared as not its own, so those utterances go to the
model — "a family that knows it should not answer".

- A split over θ narrows the parameters' declarations: ``count : Int in 1..20`` becomes
  ``Int in 1..10``; an excluded enum value becomes ``where genre != romance`` (folded into the
  capture language, so the grammar no longer accepts it).
- A split over wording (rpni, or the model as the oracle) adds ``except ~(L)`` to the grammar.

A comment above the family records where the split came from: the store, the feedback ids,
what was learned and a witness of what is now declined — the reviewer sees why.  Examples that
fall outside the refined family are removed (with a comment), since the family no longer
answers them.  The result is checked exactly as ``ddl check`` does before anyone may write it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs

from ddl.api import check_source
from ddl.diagnostics import SourceMap
from ddl.files import apply_edits, text_diff
from ddl.syntax import ast as A
from ddl.syntax.parser import parse_source
from ddl.tree import nodes


@attrs.frozen
class Rewrite:
    source: str  # the new module text
    diff: str  # unified diff against the original
    passed: bool  # the new module passes `ddl check`
    diagnostics: list[str]  # rendered, when it does not
    dropped_examples: int = 0
    pruned_branches: int = 0  # `if`s reduced to the branch accepted inputs take (the program split)


class RewriteError(Exception):
    """The split cannot be written as DDL (the message says why)."""


def rewrite(text: str, path: str, family_name: str, split: Any, fs: Any, store_url: str) -> Rewrite:
    module, diags = parse_source(text, path)
    if module is None:
        raise RewriteError(f"{path} does not parse any more: " + "; ".join(d.message for d in diags))
    family = next((f for f in module.items if isinstance(f, A.FamilyDecl) and f.name == family_name), None)
    if family is None:
        raise RewriteError(f"{path} has no family {family_name}")
    edits: list[tuple[int, int, str]] = []
    if split.predicate is not None:
        params = {p.name: p for p in family.of_kind(A.ParamDecl)}
        for name, constraint in split.predicate.constraints.items():
            edits.append(_narrow(text, params[name], constraint))
    else:
        if not split.source:
            raise RewriteError("the learned language has no DDL form to write")
        [grammar] = family.of_kind(A.GrammarDecl)
        close = text.rindex("}", grammar.span.start, grammar.span.end)
        indent = " " * (grammar.span.col + 1)
        if grammar.excluded is None:
            edits.append((close, close, f"  except ~({split.source})\n{indent[:-2]}"))
        else:
            ex = grammar.excluded.span
            edits.append((ex.start, ex.end, f"({text[ex.start:ex.end]}) | ~({split.source})"))
    start = _line_start(text, family.span.start)
    edits.append((start, start, _header(split, fs, store_url)))
    new = apply_edits(text, edits)
    result = _check(new, path)
    dropped = pruned = 0
    if not result[0]:
        new, dropped = _drop_failing_examples(new, path, family_name, result[2])
        result = _check(new, path)
    # The program split: a branch only rejected inputs took is now dead (the checker's `reachable`
    # obligation says so); p+ keeps the branch the accepted inputs take.
    for _ in range(8):
        dead = [d for d in result[2] if d.code == "DDL603" and d.span is not None]
        if result[0] or not dead:
            break
        new, n = _prune_dead_ifs(new, path, dead)
        if n == 0:
            break
        pruned += n
        result = _check(new, path)
    diff = text_diff(text, new, path)
    return Rewrite(new, diff, result[0], result[1], dropped, pruned)


def _prune_dead_ifs(text: str, path: str, dead: list[Any]) -> tuple[str, int]:
    """Replace each ``if`` with a never-taken branch by the branch that is taken."""
    module, _ = parse_source(text, path)
    if module is None:
        return text, 0
    starts = {d.span.start for d in dead}
    edits: list[tuple[int, int, str]] = []
    for node in nodes(module):
        if isinstance(node, A.If):
            if node.then.span.start in starts:
                keep = node.else_
            elif node.else_.span.start in starts:
                keep = node.then
            else:
                continue
            if any(s <= node.span.start and node.span.end <= e for s, e, _ in edits):
                continue
            edits.append((node.span.start, node.span.end, f"({text[keep.span.start:keep.span.end]})"))
    return apply_edits(text, edits), len(edits)


def _narrow(text: str, param: A.ParamDecl, constraint: tuple[Any, ...]) -> tuple[int, int, str]:
    kind = constraint[0]
    t = param.type
    if kind == "range":
        if not isinstance(t, A.IntType):
            raise RewriteError(f"cannot narrow {param.name}: its type is not an Int range")
        lo = constraint[1] if constraint[1] is not None else t.lo
        hi = constraint[2] if constraint[2] is not None else t.hi
        bounds = f"{'' if lo is None else lo}..{'' if hi is None else hi}"
        return t.span.start, t.span.end, f"Int in {bounds}"
    values = constraint[1]
    clause = " and ".join(f"{param.name} != {v}" for v in values)
    if param.where is None:
        return t.span.end, t.span.end, f" where {clause}"
    w = param.where.span
    return w.start, w.end, f"({text[w.start:w.end]}) and {clause}"


def _header(split: Any, fs: Any, store_url: str) -> str:
    accepted = ", ".join(str(e.id) for e in fs.accepted[:30]) + (" …" if len(fs.accepted) > 30 else "")
    rejected = ", ".join(str(e.id) for e in fs.rejected[:30]) + (" …" if len(fs.rejected) > 30 else "")
    what = split.predicate.describe() if split.predicate is not None else f"utterances of {split.source}"
    lines = [
        f"Refined by `ddl refine` on {datetime.now(UTC):%Y-%m-%d} ({split.method}) from the feedback in {store_url}:",
        f"{len(fs.accepted)} accepted answers (ids {accepted or 'none'}) and {len(fs.rejected)} rejected (ids "
        f"{rejected or 'none'}).",
        f"It now answers only {what}; the rest goes to the model.",
    ]
    declined = next((c.witness for c in split.checks if c.name.startswith("G- non") and c.witness), None)
    if declined is not None:
        lines.append(f"Declined now, e.g.: {declined!r}.")
    lines.extend(m for m in split.messages if "suspect feedback" in m)
    if fs.inconsistent:
        lines.append(f"{len(fs.inconsistent)} utterance(s) were both accepted and rejected; they were not learned from.")
    return "".join(f"# {line}\n" for line in lines)


def _check(text: str, path: str) -> tuple[bool, list[str], list[Any]]:
    result = check_source(text, path)
    errors = [f.effective() for f in result.findings if f.effective().is_error]
    sources = result.sources or SourceMap()
    return not errors, [d.render(sources) for d in errors], errors


def _drop_failing_examples(text: str, path: str, family_name: str, errors: list[Any]) -> tuple[str, int]:
    """Remove the examples the refined family no longer accepts (their diagnostics point into them)."""
    module, _ = parse_source(text, path)
    if module is None:
        return text, 0
    family = next(f for f in module.items if isinstance(f, A.FamilyDecl) and f.name == family_name)
    failing = [ex for ex in family.of_kind(A.ExampleDecl)
               if any(d.span is not None and d.span.path == path and ex.span.start <= d.span.start < ex.span.end
                      for d in errors)]
    edits = [(_line_start(text, ex.span.start), ex.span.end,
              " " * (ex.span.col - 1) + "# (an example outside the refined family was removed)") for ex in failing]
    return apply_edits(text, edits), len(failing)


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1
