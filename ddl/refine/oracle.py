"""The LLM as the oracle: ask a model for a regular language separating A from R, then verify it.

The model is shown A and R and asked for one grammar body in DDL syntax (spec/grammar.md: quoted
literals, ``[...]`` classes, ``.``, juxtaposition, ``|``, ``? * + {m,n}``, ``&``, ``~``, parentheses,
and optional ``rule name = ...;`` definitions before the body) without parameter captures.

Accepted replies: the first fenced code block (any language tag) or, without a fence, the whole
reply; it is parsed as the body of a DDL grammar block.  When that fails (a syntax error, or a
reference to a name that is not one of its own rules: captures are not allowed), it is parsed as a
conventional regex (:func:`ddl.regular.parse`, Python ``re`` syntax plus ``&``/``~``, whole-string
match).  A reply that parses neither way is rejected with both reasons.

Nothing the model writes is trusted: the language is checked against every item of A (must be
accepted) and R (must be rejected) and refused, naming the first misclassified utterance, when it
does not separate them.  With ``ignore_case`` grammars the language is case-folded.
"""

from __future__ import annotations

import re

import attrs

from ddl.api import ImportScope, ModuleLoader, compile_source
from ddl.model import ask_model
from ddl.regular import Lang, Regex
from ddl.regular import ignore_case as fold_case
from ddl.regular import parse as parse_regex
from ddl.types.regex import convert_regex

SYSTEM = ("You write regular languages in the grammar syntax of DDL. Reply with one fenced code block "
          "holding only a grammar body, no explanation.")

_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.S)


@attrs.frozen
class OracleResult:
    lang: Lang | None
    regex: Regex | None
    source: str | None  # the grammar body the model wrote
    message: str
    failing: str | None = None  # the first misclassified utterance
    reply: str | None = None


def build_prompt(family: str, grammar_text: str, accepted: list[str], rejected: list[str],
                 limit: int = 200) -> str:
    def items(xs: list[str]) -> str:
        shown = xs[:limit]
        more = f"\n... and {len(xs) - limit} more" if len(xs) > limit else ""
        return "\n".join(f"- {u}" for u in shown) + more

    return (
        f"Users of the DDL family {family} accepted the answers to some utterances and rejected others.\n"
        f"The family's grammar is:\n{grammar_text}\n\n"
        "Write a regular language L that contains EVERY accepted utterance and NONE of the rejected ones; "
        "make it general (it will be intersected with the family's grammar), e.g. over the words that "
        "distinguish the two sets.\n"
        "Syntax (DDL grammar body): \"literal\" text in double quotes, [a-z] classes, . any character, "
        "juxtaposition for sequence, | for alternatives, ? * + {m,n} repetition, parentheses, & intersection, "
        "~ complement; optional `rule name = ...;` definitions first. No parameter captures.\n"
        "Example: (\"recommend\" | \"suggest\") \" \" .*\n\n"
        f"Accepted:\n{items(accepted)}\n\nRejected:\n{items(rejected)}\n\n"
        "Reply with the grammar body in one ```ddl fenced block."
    )


def extract_body(reply: str) -> str:
    m = _FENCE.search(reply)
    return (m.group(1) if m else reply).strip()


def parse_body(body: str) -> tuple[Regex | None, str]:
    """The regex of a grammar body (DDL syntax, else conventional regex syntax) or (None, why).

    DDL syntax goes through the checker like any grammar (its rules expanded by ddl.types), in a
    family without parameters, so a capture is an unknown name.
    """

    source = f"family refine_oracle {{\n  grammar {{\n{body}\n  }}\n  program -> Int = 0\n}}\n"
    # A model wrote the body (which could close the block and add an import): stdlib imports only.
    checked, diags = compile_source(source, "<model reply>", ModuleLoader(scope=ImportScope.stdlib_only()))
    ddl_error = "; ".join(d.message for d in diags) if diags else ""
    if checked is not None and not diags:
        grammar = checked.families["refine_oracle"].grammar
        if grammar is not None:
            return convert_regex(grammar.body), "DDL grammar syntax"
        ddl_error = "no grammar body found"
    try:
        return parse_regex(body, extended=True), "regex syntax"
    except Exception as err:  # RegexSyntaxError, RegexTooLarge
        return None, f"not a DDL grammar body ({ddl_error}) nor a regex ({err})"


def ask_oracle(model_id: str, family: str, grammar_text: str, accepted: list[str], rejected: list[str],
               *, ignore_case: bool, timeout: float = 120.0) -> OracleResult:
    """Pose A and R to ``model_id``; verify the language it proposes."""

    prompt = build_prompt(family, grammar_text, accepted, rejected)
    reply = ask_model(model_id, prompt, timeout=timeout, system=SYSTEM)
    if reply.error is not None or reply.text is None:
        why = reply.error.message if reply.error is not None else "no reply"
        return OracleResult(None, None, None, f"the model {model_id} did not answer: {why}")
    return verify_reply(reply.text, accepted, rejected, ignore_case=ignore_case)


def verify_reply(text: str, accepted: list[str], rejected: list[str], *, ignore_case: bool) -> OracleResult:
    body = extract_body(text)
    regex, how = parse_body(body)
    if regex is None:
        return OracleResult(None, None, body, f"the model's grammar is rejected: {how}", reply=text)
    folded = fold_case(regex) if ignore_case else regex
    try:
        lang = Lang.from_regex(folded)
    except Exception as err:  # automaton too large, captures under & / ~
        return OracleResult(None, regex, body, f"the model's grammar is rejected: {err}", reply=text)
    for u in accepted:
        if not lang.contains(u):
            return OracleResult(None, regex, body, f"the model's grammar is rejected: it does not accept "
                                                   f"the accepted utterance {u!r}", u, text)
    for u in rejected:
        if lang.contains(u):
            return OracleResult(None, regex, body, f"the model's grammar is rejected: it accepts "
                                                   f"the rejected utterance {u!r}", u, text)
    return OracleResult(lang, regex, body, f"the model's grammar ({how}) separates A from R", reply=text)
