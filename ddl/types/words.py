"""The words a family is written in: what its grammar, enums and names say.

Used where a request must be compared with a family by its words rather than by its grammar: the
handler lists a family in the extraction question only when the request shares one of its words
(ddl/handler/extract.py), and the spotting learner lets a widened grammar accept the family's own
words between the values (ddl/widen/spot.py).
"""

from __future__ import annotations

import re

from ddl.syntax.ast import GrammarDecl, RCall, RLit, RNot, RRef, RSeq, RSet
from ddl.tree import children
from ddl.types.checked import CheckedFamily
from ddl.types.model import EnumT, ListT, OptionT

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")

# Words too common to say which family a request is about — and common enough that people put them
# around any request ("what's the …", "for the …", "can you get me …").
STOPWORDS = frozenset("""a an and are as at be by can could do for from get give how i i'm in is it me my of on or
please show tell that the this to up us we what what's whats with would you your""".split())


def words(text: str) -> list[str]:
    """The words of ``text``, case-folded (a word keeps an inner apostrophe: "what's")."""
    return [w.casefold() for w in _WORD.findall(text)]


def value_words(family: CheckedFamily) -> frozenset[str]:
    """The words of the family's enum values (names, display texts, aliases), case-folded."""
    found: set[str] = set()
    for p in family.params:
        t = p.type.inner if isinstance(p.type, OptionT) else p.type
        t = t.elem if isinstance(t, ListT) else t
        if isinstance(t, EnumT):
            for text in (*t.variants, *t.displays, *(a for group in t.aliases for a in group)):
                found.update(words(text.replace("_", " ")))
    return frozenset(found)


def family_words(family: CheckedFamily) -> frozenset[str]:
    """The grammar's literals (the family's own block, not imported rules), the enum values' names,
    display texts and aliases, and the family's and parameters' names, case-folded."""
    found: set[str] = set(words(family.name.replace("_", " ")))
    for p in family.params:
        found.update(words(p.name.replace("_", " ")))
    found |= value_words(family)
    if family.grammar is not None:
        found |= _grammar_words(family.grammar.decl)
    return frozenset(found)


def _grammar_words(decl: GrammarDecl) -> set[str]:
    """The words of the literals a request of the grammar may say: from its body, through its own rules,
    but not under ``~`` (nor in ``except``): the words a value must not be ("a client is no keyword:
    bug, feature") are not the family's words."""
    rules = {rule.name: rule.body for rule in decl.rules}
    found: set[str] = set()
    seen: set[str] = set()
    stack: list[object] = [decl.body]
    while stack:
        node = stack.pop()
        if isinstance(node, RNot):
            continue
        if isinstance(node, RLit):
            found.update(words(node.text))
        elif isinstance(node, (RRef, RCall)) and node.module is None and node.name in rules and node.name not in seen:
            seen.add(node.name)
            stack.append(rules[node.name])
        stack.extend(children(node))
    return found


def setting_words(family: CheckedFamily) -> frozenset[str]:
    """The words the family's grammar writes only on paths that set a parameter to a constant
    (``("subtract " | "minus ") span " from " when {direction = before}``: "subtract", "minus"), its
    own rules followed; case-folded.  Such a word says a value: a learned grammar must not take it
    as filler, or "subtract 3 days from …" would also read as the default direction."""
    if family.grammar is None:
        return frozenset()
    decl = family.grammar.decl
    rules = {rule.name: rule.body for rule in decl.rules}
    setting: set[str] = set()
    other: set[str] = set()

    def walk(node: object, sets: bool, seen: frozenset[str]) -> None:
        if isinstance(node, RSeq) and any(isinstance(item, RSet) for item in node.items):
            sets = True
        if isinstance(node, RLit):
            (setting if sets else other).update(words(node.text))
        elif isinstance(node, RRef) and node.module is None and node.name in rules and node.name not in seen:
            walk(rules[node.name], sets, seen | {node.name})
        for child in children(node):
            walk(child, sets, seen)

    walk(decl.body, False, frozenset())
    return frozenset(setting - other)
