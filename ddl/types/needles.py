"""The matching rule of no-leak (spec/checks.md, "no-leak, precisely"): needles, tokens, occurrences.

One matcher serves every caller: the verifier's check of the runs' outputs and its scan of the
program's text constants (ddl/verify/leak.py), and the type checker's test that an ``allow``
declaration allows something (DDL228, spec/types.md §18).

A text is split into **tokens**: maximal runs of letters and digits, split again where a lowercase
letter is followed by an uppercase one and where letters meet digits; every other character only
separates.  A text-needle matches where its tokens occur consecutively among the text's tokens,
ignoring case; in a text with no whitespace a needle of at least 4 letters and digits also matches
*glued* (its letters and digits run together, inside the text's letters and digits run together).
A number is a needle as its canonical text, matched as a numeral.  A **function word** is a needle
that matches only in texts with no whitespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache

import attrs

from ddl.types.model import EnumT, Type
from ddl.values import EnumV, Value, show_value

# The one list of function words (spec/checks.md, "What does not count", item 2; a test keeps the two equal).
FUNCTION_WORDS = frozenset("""
    a about after all am an and any are as at be before but by can do for from had has have he her his i if in
    into is it its me my no not of off on one or our out over per pm she so than that the then this to up us via
    was we were will with you your
""".split())

MIN_NEEDLE = 2  # texts (and numerals) shorter than this are never needles
MIN_GLUED = 4  # letters and digits a text-needle needs to match glued inside a whitespace-free text
MIN_SIGNIFICANT = 4  # significant digits a number needs to be a needle (52.52 is one, 9.90 and 30 are not)

Occurrence = tuple[int, int]  # [start, end) in the text


@attrs.frozen
class Token:
    start: int
    end: int
    folded: str  # the token's characters, case-folded


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def tokens(text: str) -> list[Token]:
    """The tokens of ``text``, with their positions: ``weatherBerlin2024`` → weather, Berlin, 2024."""
    out: list[Token] = []
    start = -1
    for i, ch in enumerate(text + " "):
        alnum = ch.isalnum() and i < len(text)
        if start >= 0 and alnum:
            prev = text[i - 1]
            if (prev.islower() and ch.isupper()) or _is_letter(prev) != _is_letter(ch):
                out.append(Token(start, i, text[start:i].casefold()))
                start = i
        elif start >= 0:
            out.append(Token(start, i, text[start:i].casefold()))
            start = -1
        elif alnum:
            start = i
    return out


def has_whitespace(text: str) -> bool:
    return any(ch.isspace() for ch in text)


@attrs.frozen
class Prepared:
    """A text as the matcher sees it, computed once per text (the runs' outputs repeat their texts)."""

    tokens: tuple[Token, ...]
    spaced: bool  # the text has whitespace: no glued matches, no function words
    run: str  # its letters and digits, case-folded and run together
    where: tuple[int, ...]  # the text position of each character of ``run``


@lru_cache(maxsize=4096)
def prepare(text: str) -> Prepared:
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch.isalnum():
            for folded in ch.casefold():
                chars.append(folded)
                where.append(i)
    return Prepared(tuple(tokens(text)), has_whitespace(text), "".join(chars), tuple(where))


@attrs.frozen
class Needle:
    """A text that betrays a teaching value: a text-needle (``tokens``), or a number (``numeral``)."""

    text: str  # as written (a number: its canonical text)
    numeral: bool = False
    words: tuple[str, ...] = ()  # the text-needle's tokens, case-folded
    glued: str = ""  # its letters and digits run together, case-folded ("" when too short to match glued)

    @property
    def function_word(self) -> bool:
        return not self.numeral and len(self.words) == 1 and self.words[0] in FUNCTION_WORDS


def text_needle(text: str) -> Needle | None:
    """``text`` as a needle, or None when it is shorter than 2 characters or has no letter or digit."""
    if len(text) < MIN_NEEDLE:
        return None
    words = tuple(t.folded for t in tokens(text))
    if not words:
        return None
    alnum = sum(1 for ch in text if ch.isalnum())
    return Needle(text, False, words, "".join(words) if alnum >= MIN_GLUED else "")


def significant_digits(numeral: str) -> int:
    """The digits of a numeral without leading and trailing zeros: ``52.52`` 4, ``16.00`` 2, ``3645000`` 4."""
    return len("".join(ch for ch in numeral if ch.isdigit()).strip("0"))


def number_needle(value: int | Decimal, min_significant: int = MIN_SIGNIFICANT) -> Needle | None:
    """A number as a needle: its canonical text (``show``), matched as a numeral — by default only with
    at least :data:`MIN_SIGNIFICANT` significant digits (a Decision, spec/checks.md): smaller numbers recur
    in outputs by arithmetic (10 g of salt for 3 batches is the 30 g of sugar of another recipe), so the
    verifier counts them only where the program writes them down (``min_significant=1``, see
    :mod:`ddl.verify.leak`)."""
    text = show_value(value)
    if len(text) < MIN_NEEDLE:
        return None
    return Needle(text, True) if significant_digits(text) >= min_significant else None


def occurrences(needle: Needle, text: str) -> list[Occurrence]:
    """Where ``needle`` matches in ``text`` (the one matching rule of no-leak)."""
    if needle.numeral:
        return _numeral_occurrences(needle.text, text)
    p = prepare(text)
    if needle.function_word and p.spaced:
        return []  # in prose a function word is English, not the value
    if "".join(needle.words) not in p.run:
        return []  # consecutive tokens run together are a part of the run: a quick no
    out: list[Occurrence] = []
    toks, n = p.tokens, len(needle.words)
    for i in range(len(toks) - n + 1):
        if all(toks[i + k].folded == needle.words[k] for k in range(n)):
            out.append((toks[i].start, toks[i + n - 1].end))
    if not p.spaced and needle.glued and not needle.function_word:  # "after" is not in "afternoon"
        for at in _find_all(needle.glued, p.run):
            o = (p.where[at], p.where[at + len(needle.glued) - 1] + 1)
            if o not in out:
                out.append(o)
    return sorted(out)


def _numeral_occurrences(numeral: str, text: str) -> list[Occurrence]:
    """``numeral`` not inside a longer number: no digit right before or after it, no ``.`` and a digit
    after it, and (a Decision, spec/checks.md) no digit and ``.`` right before it."""
    out = []
    for at in _find_all(numeral, text):
        end = at + len(numeral)
        before = text[at - 1] if at > 0 else ""
        after = text[end] if end < len(text) else ""
        fraction_before = before == "." and at > 1 and text[at - 2].isdigit()
        fraction_after = after == "." and end + 1 < len(text) and text[end + 1].isdigit()
        if not (before.isdigit() or after.isdigit() or fraction_before or fraction_after):
            out.append((at, end))
    return out


def matches(needle: Needle, text: str) -> bool:
    return bool(occurrences(needle, text))


def counted(needle: Needle, text: str, allowed: Sequence[str] = ()) -> Occurrence | None:
    """The first occurrence of ``needle`` in ``text`` that does not lie inside an occurrence of an
    allowed constant (exact, case-sensitive), or None."""
    spans = [(at, at + len(a)) for a in allowed for at in _find_all(a, text)]
    for start, end in occurrences(needle, text):
        if not any(lo <= start and end <= hi for lo, hi in spans):
            return start, end
    return None


def _find_all(sub: str, text: str) -> Iterable[int]:
    at = text.find(sub) if sub else -1
    while at >= 0:
        yield at
        at = text.find(sub, at + 1)


def value_texts(value: Value, typ: Type | None = None) -> list[str]:
    """The texts of a parameter value that are its needles: a text itself; an enum's name, display
    text and aliases (the aliases need the enum type)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, EnumV):
        out = [value.name, value.display]
        if isinstance(typ, EnumT) and value.name in typ.variants:
            out.extend(typ.aliases[typ.variants.index(value.name)] if typ.aliases else ())
        return list(dict.fromkeys(out))
    return []


def value_needles(value: Value, typ: Type | None = None) -> list[Needle]:
    """The needles of a teaching value itself (not the knowledge it selects)."""
    out: list[Needle] = []
    for t in value_texts(value, typ):
        if isinstance(value, str) and not any(_is_letter(ch) for ch in t):
            continue  # a numeral written as text ("+2", "0042") occurs in outputs by coincidence, like an Int
        n = text_needle(t)
        if n is not None and n not in out:
            out.append(n)
    return out
