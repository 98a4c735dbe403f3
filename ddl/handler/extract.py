"""The miss path's first step: ask the model which served family a request belongs to, and its θ.

The prompt lists the served families that share a word with the request (:func:`relevant`) — name,
doc string, parameters with their domains — and the request, nothing more; a request that shares no
word with any family (small talk) costs no call.  The model answers with one JSON object.  A reply naming a served
family with a θ that validates against that family's Θ is answered by the family's checked
program (source ``"extracted"``); anything else — no family, an unknown name, θ outside Θ,
malformed or oversized JSON — is :class:`NotExtracted`, and the handler asks for the full answer
as before.  Nothing the model writes is executed: θ is data, validated against Θ
(spec/widen.md, "Extraction").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from ddl.eval import validate_theta
from ddl.types.checked import CheckedFamily
from ddl.types.model import EnumT, ListT, OptionT, Type
from ddl.types.words import STOPWORDS, family_words, words

MAX_REPLY = 20_000  # characters of a reply that are read; a longer one is not an extraction
MAX_ENUM_LISTED = 60  # variants listed per enum parameter (the rest: "…")

SYSTEM = (
    "You route a user's request to one of the task families listed below and extract its parameters. "
    "Reply with exactly one JSON object and nothing else: "
    '{"family": "<family name>", "theta": {"<parameter>": <value>, ...}} — values from the parameter\'s '
    "domain: an enum value by its name, numbers as JSON numbers, decimals as strings, text as a string, lists "
    "as arrays. Leave out a parameter the request does not state when it has a default. "
    'If the request belongs to none of the families, reply {"family": null}.'
)

_OBJECT = re.compile(r"\{.*\}", re.S)
class Served(Protocol):
    """A served family as the extraction needs it (the registry's ``ServedFamily`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def checked(self) -> CheckedFamily: ...
    @property
    def evaluator(self) -> Any: ...


@attrs.frozen
class Extracted:
    family: str
    theta: dict[str, Any]  # checked values (``validate_theta``), defaults filled


@attrs.frozen
class NotExtracted:
    reason: str  # why the reply is not used (kept in the ledger's error-free record as a note)


def describe_type(t: Type) -> str:
    if isinstance(t, EnumT):
        names = list(t.variants[:MAX_ENUM_LISTED]) + (["…"] if len(t.variants) > MAX_ENUM_LISTED else [])
        return f"one of {', '.join(names)}"
    if isinstance(t, OptionT):
        return f"optional {describe_type(t.inner)}"
    if isinstance(t, ListT):
        return f"list of {describe_type(t.elem)}" + (f" (at most {t.max_len})" if t.max_len is not None else "")
    return str(t)


def vocabulary(family: CheckedFamily) -> frozenset[str]:
    """The words a request for ``family`` is likely to share with it (:func:`ddl.types.words.family_words`),
    stopwords aside."""
    return family_words(family) - STOPWORDS


def relevant(families: Sequence[Served], utterance: str, cache: dict[int, frozenset[str]] | None = None) -> list[Served]:
    """The families that share a word (not a stopword) with the request: the only ones worth listing.

    A request that shares no word with any family (small talk) is not worth an extraction call at all."""
    asked = set(words(utterance)) - STOPWORDS
    found = []
    for fam in families:
        key = id(fam.checked)
        vocab = cache.get(key) if cache is not None else None
        if vocab is None:
            vocab = vocabulary(fam.checked)
            if cache is not None:
                cache[key] = vocab
        if asked & vocab:
            found.append(fam)
    return found


def prompt(families: Sequence[Served], utterance: str) -> str:
    """The user prompt: the served families (name, doc, parameters with domains) and the request."""
    lines = ["Families:"]
    for fam in families:
        checked = fam.checked
        doc = f": {checked.doc}" if getattr(checked, "doc", None) else ""
        lines.append(f"- {fam.name}{doc}")
        for p in checked.params:
            default = " (has a default)" if p.default is not None else ""
            lines.append(f"    {p.name}: {describe_type(p.type)}{default}")
    lines.append("")
    lines.append(f"Request: {utterance}")
    return "\n".join(lines)


def read_reply(text: str | None, families: Mapping[str, Served]) -> Extracted | NotExtracted:
    """The extraction a reply states, validated; or why it is not one."""
    if not text:
        return NotExtracted("the model gave no reply")
    if len(text) > MAX_REPLY:
        return NotExtracted(f"the reply is longer than {MAX_REPLY:,} characters")
    found = _OBJECT.search(text)
    if found is None:
        return NotExtracted("the reply has no JSON object")
    try:
        data = json.loads(found.group(0))
    except (ValueError, RecursionError):
        return NotExtracted("the reply's JSON does not parse")
    if not isinstance(data, dict):
        return NotExtracted("the reply is not a JSON object")
    name = data.get("family")
    if name is None:
        return NotExtracted("the model says no served family fits")
    if not isinstance(name, str) or name not in families:
        return NotExtracted(f"the reply names no served family ({str(name)[:80]!r})")
    raw = data.get("theta", {})
    if not isinstance(raw, dict):
        return NotExtracted("θ is not a JSON object")
    served = families[name]
    theta, problems = validate_theta(served.checked, served.evaluator, raw)
    if theta is None:
        return NotExtracted(f"θ is outside the Θ of {name}: {'; '.join(problems)[:300]}")
    return Extracted(name, dict(theta))
