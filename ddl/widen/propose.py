"""The model learner: the model proposes grammar alternatives for the candidates; the gate decides.

The prompt shows the family's doc string, the captures its grammar already uses (``city``,
``number(days)``, …), its parameter declarations and authored grammar (whose rules an alternative
may use), requests the grammar already answers, what the gate demands of an alternative, and the
candidate phrasings with their θ, and asks for alternatives in DDL grammar syntax, one per line, in
one fenced block; a line ``rule verb += "pull " | "get me "`` instead adds choices to one of the
grammar's rules (spec/widen.md, "rule extensions").  Each line is only text to the gate
(:mod:`ddl.widen.gate`): it is compiled as a grammar alternative and admitted only if every proof
obligation holds; which candidates an alternative covers is decided there, by its language.
Nothing the model writes is executed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ddl.grammar.compile import CompiledGrammar
from ddl.model import ask_model
from ddl.types.checked import CheckedFamily
from ddl.widen.learn import Aligner, Alternative, Candidate, Learned, Unaligned

MAX_ALTERNATIVES = 40
MAX_LINE = 400
_FENCE = re.compile(r"```[a-z]*\n(.*?)```", re.S)
_EXTENSION = re.compile(r"(?:rule\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\+=\s*(.*?)\s*;?")

SYSTEM = ("You extend the grammar of a DDL task family so that it accepts the given phrasings. Answer with one "
          "fenced ``` block holding grammar alternatives and rule extensions, one per line, in DDL grammar "
          'syntax: text literals in double quotes ("weather in "), captures by parameter name or the forms '
          "listed, ( ) for grouping, | for choice, ? for optional parts. No other text in the block.")

# What the model needs to write alternatives that pass the gate, said once (spec/widen.md, "llm").
CONSTRUCTS = """How an alternative is written (utterances are lower-cased and have single spaces when the grammar
says ignore_case normalize_space):
  "text"                 a literal;  a | b  a choice;  x?  optional;  x*  x+  repetition;  ( )  grouping
  any_order(a, b?, c, sep = ", " | " ")   the parts in any order, each once; b? may be left out
  a rule of the grammar by its name (shown above), e.g. a courtesy or separator rule it defines
A line may instead extend a rule the grammar block defines (one without parameters):
  rule NAME += "other words " | "more "   adds these choices to rule NAME, wherever the grammar uses it
Other words people use for a part the grammar already has (a verb, a courtesy, a name of a unit, a
connecting word) are best added to its rule: every shape and order the grammar has then takes them.
One alternative or extension per line, at most {max_line} characters.
Every request an alternative accepts is answered by this family, with the values its captures read,
without review. So an alternative must:
  - accept only requests that mean this task: no .*, no open-ended words; never absorb a word that
    changes the task or a value (a negation, another unit, kind or task);
  - read each request one way (two captures that could take the same text need words between them;
    an extension must not add what the rule, or the words around it, already say);
  - set every parameter without a default.
Each alternative is checked (every phrasing it accepts parses to its values, it is unambiguous, it
shares no request with another family); one that fails is dropped, the others are kept."""

MAX_SHOWN_ANSWERED = 12  # requests the grammar already answers, shown as the family's vocabulary


def prompt(family: CheckedFamily, aligner: Aligner, candidates: Sequence[Candidate], *,
           grammar_source: str | None = None, answered: Sequence[str] = ()) -> str:
    lines = [f"Family {family.name}" + (f": {family.doc}" if family.doc else "")]
    lines.append("Captures you may use (each sets its parameter):")
    for param, probes in sorted(aligner.probes.items()):
        lines.append(f"  {param}: " + ", ".join(p.source for p in probes))
    if grammar_source:
        lines.append("The family's parameters and grammar today (its rules may be used by name):")
        lines.extend("  " + line for line in grammar_source.splitlines())
    shown = list(dict.fromkeys(answered))[-MAX_SHOWN_ANSWERED:]
    if shown:
        lines.append("Requests it already answers:")
        lines.extend(f"  {json.dumps(u, ensure_ascii=False)}" for u in shown)
    lines.append(CONSTRUCTS.format(max_line=MAX_LINE))
    lines.append("Phrasings to accept, each with the parameters it must set:")
    for c in candidates:
        lines.append(f"  {json.dumps(c.utterance, ensure_ascii=False)} => {json.dumps(dict(c.theta), ensure_ascii=False)}")
    lines.append("Write general alternatives: one shape covering several phrasings is better than one per phrasing,")
    lines.append("and the ways people commonly say the same request (other words for it, other orders,")
    lines.append("politeness) are worth covering too.")
    return "\n".join(lines)


def read_reply(text: str | None) -> list[Alternative]:
    """The alternatives and rule extensions of a reply: the lines of its first fenced block (bounded), without
    comments.  ``rule NAME += choices;`` extends the rule NAME; any other line is an alternative.  What a
    line says is decided by the gate, which compiles it as one grammar expression or refuses it."""
    if not text:
        return []
    found = _FENCE.search(text)
    body = found.group(1) if found else text
    out: list[Alternative] = []
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("|"):
            line = line[1:].strip()
        if not line or line.startswith("#") or len(line) > MAX_LINE:
            continue
        extension = _EXTENSION.fullmatch(line)
        alternative = (Alternative(extension.group(2).strip(), (), (), extends=extension.group(1)) if extension
                       else Alternative(line, (), ()))
        if alternative.source and alternative not in out:
            out.append(alternative)
        if len(out) >= MAX_ALTERNATIVES:
            break
    return out


def propose(family: CheckedFamily, grammar: CompiledGrammar, candidates: Sequence[Candidate], *, model_id: str,
            timeout: float = 60.0, grammar_source: str | None = None, answered: Sequence[str] = ()) -> Learned:
    """Alternatives the model proposes (each still to pass the gate); a failed call proposes nothing."""
    if not candidates:
        return Learned((), ())
    aligner = Aligner(family, grammar)
    text = prompt(family, aligner, candidates, grammar_source=grammar_source, answered=answered)
    reply = ask_model(model_id, text, timeout=timeout, system=SYSTEM)
    if reply.error is not None:
        reason = f"the model proposed nothing: {reply.error.code}: {reply.error.message}"
        return Learned((), tuple(Unaligned(c.utterance, c.query_id, reason) for c in candidates))
    return Learned(tuple(read_reply(reply.text)), ())
