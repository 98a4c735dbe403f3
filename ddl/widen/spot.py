"""The spotting generalizer: aligned phrasings → one alternative that accepts their parts in any order.

The literal alternatives of :mod:`ddl.widen.learn` accept exactly the phrasings they came from;
people rarely ask the same way twice.  What carries over from one phrasing to the next is how
each value is *marked* ("$" before the total, " people" after the party, "for " before the
servings) and which words people put around the values.  From every aligned phrasing (the
candidates, and the family's own examples, which the grammar already parses to their θ) this
module collects

* for each parameter, its **slots**: the capture as the grammar writes it with the cue seen on
  its left ("for ", "$", "#") and on its right (" people", "%", " days"); a slot keeps at least one
  cue, except for captures whose values name themselves (enum spellings, dates, the only free-text
  value, the only value that reads a number) or a capture seen bare;
* the **filler**: the words seen outside the values — never a digit, never a word one of the
  family's captures accepts (a value), never a word that turns a request into another one ("no",
  "not", "without", …: a request that says them is not one this family has seen);

and writes::

    (W S)* any_order(slot_a, slot_b?, …, sep = S (W S)*) (S W)* ("?" | "." | "!")?

with W the filler words and S the separators seen between words.  An utterance is accepted only
if every word outside the values is one the family's users have used, every digit is inside a
value, and every value is marked the way it was marked before: a request with an unseen word
("convert 5 nautical miles") is not taken.  Whether the alternative may join the grammar is not
decided here: the gate proves it (unambiguous with the rest of the grammar — the same utterance
never yields two θ —, disjoint from the other families, every candidate parsed to its θ) or
refuses it, and the literal alternatives are tried instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ddl.grammar.forms import NUMBER_WORDS
from ddl.types.checked import CheckedFamily
from ddl.types.model import EnumT, TextT
from ddl.types.words import STOPWORDS, family_words, value_words
from ddl.values import quote_text

# Words that change what a request asks for: never filler, so a request that says one is not taken.
NEGATIONS = frozenset({
    "no", "not", "without", "don't", "dont", "doesn't", "never", "except", "excluding", "minus",
    "neither", "nor", "instead", "cancel", "delete", "remove", "undo", "stop", "isn't", "aren't",
    "didn't", "won't", "can't", "cannot", "shouldn't", "wouldn't", "less", "fewer", "smaller",
    "under", "below",
})
# The words that frame a request without saying what it asks for: filler for every family, whether or
# not its users were seen saying them.  Courtesy (stdlib/phrasing.ddl's words), English closed-class
# words (pronouns, determiners, auxiliaries, the prepositions that never mark a bound or a direction,
# question words) and the verbs that only ask ("show me", "give me", "tell me", "find me").  Written
# from the language, not from any corpus; deliberately absent: words that bound or direct a value
# (over, under, above, below, before, after, between, more, less, …) and verbs that name a task
# (make, create, write, send, delete, …) — an unseen one of those is what makes a near miss.
FRAME = frozenset("""
    hey hi hello ok okay so there please pls plz kindly thanks thank thx cheers just need want like i'd let's
    sure quick quickly now also too then here
    i me my mine myself we us our ours you your yours it its they them their this that these those
    i'm i've i'll we're we'd we'll you're you'd it's that's there's what's whats
    a an the some any each every both several another other such
    am is are was were be been being do does did have has had can could will would shall should may might must
    of for from in into on onto to with at by about via
    and or but as if
    what which who how where when why
    show tell give get find list provide fetch let help know see look
""".split())
ARTICLES = frozenset({"a", "an"})
WORD_RULE = "learned_word"  # the rule of the filler words, written beside the learned rule
FOREIGN_RULE = "learned_foreign"  # the other served families' words, which a free-text value never is
MARK_RULE = "learned_mark"  # words kept off the filler as marks, filler only between filler words
MAX_WORD = 24  # a longer "word" is a value or noise, not filler
MAX_WORDS = 400  # filler vocabulary cap (the most frequent words are kept)
MAX_ANY_ORDER = 3  # any_order of k values writes k! orders; past 3, only the orders seen are kept
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_SEPARATOR_CHARS = frozenset(" ,.;:!?-–—()\"'/")
_CUE_SYMBOLS = frozenset("$#€£%\"'(:@/~")


def foreign_words(other: CheckedFamily) -> frozenset[str]:
    """The words of another served family that a learned free-text value never is: its values and the words
    its grammar is written in, but the frame words every family says.  Its values alone were not enough: a
    name read in "I need to Move 1 of May 1000 by 1 day" made a date request an invoice reminder, and the
    gate narrowed one such word per round ("Move", "Push", "Shift", …) until the date family, widened later,
    met the next one.  With the other number of each (the other family's filler takes it: "Moves", "Steps"),
    as :func:`phrasing_words` gives it too."""
    return _with_inflections(w for w in value_words(other) | family_words(other) if w not in FRAME and w not in STOPWORDS)


def _with_inflections(words: Iterable[str]) -> frozenset[str]:
    found = set(words)
    return frozenset(found | {i for w in found for i in inflections(w) if len(i) <= MAX_WORD})


def phrasing_words(phrasings: Iterable[tuple[str, Mapping[str, Any]]]) -> frozenset[str]:
    """The words other families' users were seen asking with (their candidate phrasings, each with its θ),
    but the words of their values and the frame words: what those families are about to learn.  A learned
    free-text value never is one either.  The words of a family's grammar (:func:`foreign_words`) were
    not enough: a family widened first learned a client that reads "Jump", and the date family widened
    after it, whose users say "jump 1 May by 3 days", lost its general alternative to that overlap."""
    words: set[str] = set()
    for utterance, theta in phrasings:
        values = {w.lower() for v in theta.values() if isinstance(v, str) for w in _WORD.findall(v)}
        words.update(w for w in (m.lower() for m in _WORD.findall(utterance))
                     if len(w) <= MAX_WORD and w not in values and w not in FRAME and w not in STOPWORDS)
    return _with_inflections(words)


def _is_cue(text: str) -> bool:
    return any(c.isalpha() for c in text) or any(c in _CUE_SYMBOLS for c in text)


def left_cue(text: str) -> str:
    """The mark just before a value: the last word and the space after it ("for "), or the symbols
    glued to the value ("$", "#")."""
    if not text:
        return ""
    if text.endswith(" "):
        tokens = text.split()
        cue = (tokens[-1] + " ") if tokens else ""
    else:
        cue = text.split(" ")[-1]
    return cue if _is_cue(cue) and not any(c.isdigit() for c in cue) else ""


def left_spellings(cue: str) -> tuple[str, ...]:
    """A word mark on a value's left as people write it with or without its stop or colon: "inv. " and
    "inv ", "client: " and "client " (not a negation: "no. 5" marks a number, "no 5" may deny one)."""
    word = cue[:-2]
    if cue.endswith((". ", ": ")) and _WORD.fullmatch(word) and word.lower() not in NEGATIONS:
        return (cue, word + " ")
    return (cue,)


def right_cue(text: str) -> str:
    """The mark just after a value: a space and the next word (" people"), or the symbols glued to it ("%")."""
    if not text:
        return ""
    if text.startswith(" "):
        tokens = text.split()
        cue = " " + tokens[0] if tokens else ""
    else:
        cue = text.split(" ")[0]
    cue = cue.rstrip(",.;:!?")
    return cue if cue.strip() and _is_cue(cue) and not any(c.isdigit() for c in cue) else ""


def separators(texts: Iterable[str]) -> list[str]:
    """The separators seen between words (": ", " - "…), the space and the comma always among them."""
    seen = {" ", ", "}
    for text in texts:
        for sep in _WORD.split(text):
            # A separator ends in a space (", ", ": ", "? "), or is a dash between spaces.
            if sep in (" - ", " – ") or (
                    2 <= len(sep) <= 3 and set(sep) <= _SEPARATOR_CHARS and sep.endswith(" ")
                    and not sep.startswith(" ")):
                seen.add(sep)
    return sorted(seen)


def word_counts(texts: Iterable[str]) -> dict[str, int]:
    """How often each word occurs in ``texts`` (the text between values)."""
    counts: dict[str, int] = {}
    for text in texts:
        for match in _WORD.finditer(text):
            w = match.group(0)
            if len(w) <= MAX_WORD:
                counts[w] = counts.get(w, 0) + 1
    return counts


def inflections(word: str) -> set[str]:
    """The other number of a noun (or person of a verb) people write for ``word``: books ↔ book,
    stories ↔ story, boxes ↔ box.  Only for plain words of four letters or more (a short word's
    "s" is rarely an inflection: "is", "us", "gas")."""
    if len(word) < 4 or not word.isalpha():
        return set()
    if word.endswith("ies"):
        return {word[:-3] + "y"}
    if word.endswith(("ses", "xes", "ches", "shes", "zes")):
        return {word[:-2]}
    if word.endswith("ss"):
        return {word + "es"}
    if word.endswith("s"):
        return {word[:-1]}
    if word.endswith("y") and word[-2] not in "aeiou":
        return {word[:-1] + "ies"}
    if word.endswith(("s", "x", "ch", "sh", "z")):
        return {word + "es"}
    return {word + "s"}


def restricted(capture: str, filler: str, sep: str, foreign: str | None = None) -> str:
    """A free-text capture that neither is, starts with nor ends with a filler word (so the filler and
    the value cannot trade words) nor, when given, a ``foreign`` word, nor starts with one joined by a
    hyphen ("Bug-Branch" names no client: its first word is another family's value).

    Not "ends with one after a hyphen": within a Text's length bound, that is the words' trie times the
    length left at every hyphen — 41,000 states for a client name of at most 30 characters against
    3,400 without it, and an invoice reminder's widening spells its client four times.  Nor "has one
    inside it" (a city of several words): measured on the learning bench, the customers family's
    ambiguity search then ran past its 200,000 state pairs and the alternative was refused anyway."""
    words = f"({filler} | {foreign})" if foreign else filler
    joined = f" | {foreign} \"-\" .*" if foreign else ""
    return f"({capture} & ~({words} | {words} {sep} .* | .* {sep} {words}{joined}))"


def order_trie(orders: Iterable[tuple[str, ...]], slot: Mapping[str, str], between: str) -> str:
    """The values in the orders people used, as a trie: orders that begin alike share their beginning, so
    each value's slot is written once per place it takes, not once per order (the same language)."""
    trie: dict[str, Any] = {}
    for order in orders:
        node = trie
        for param in order:
            node = node.setdefault(param, {})
        node[""] = {}  # an order ends here

    def render(node: dict[str, Any]) -> str:
        out = []
        for param in sorted(p for p in node if p):
            child = node[param]
            rest = render(child) if any(child) else ""
            tail = f" ({between} {rest})" + ("?" if "" in child else "") if rest else ""
            out.append(slot[param] + tail)
        return "(" + " | ".join(out) + ")"

    return render(trie)


def _factored(capture: str, lefts: set[str], rights: set[str], bare: bool) -> str:
    """A value's slot with any of the cues seen on its left, its right, or both: ``L capture R? | capture R``
    (``L? capture R?`` when it may stand bare).  The capture is written once or twice, not once per pair
    of cues: a free-text capture is a large automaton (it excludes the filler words), spliced at each use."""
    left = "(" + " | ".join(quote_text(c) for c in sorted(lefts)) + ")" if lefts else ""
    right = "(" + " | ".join(quote_text(c) for c in sorted(rights)) + ")" if rights else ""
    if bare:
        return " ".join(p for p in (left + "?" if left else "", capture, right + "?" if right else "") if p)
    if left and right:
        return f"{left} {capture} {right}? | {capture} {right}"
    return f"{left} {capture}" if left else f"{capture} {right}"


# Texts a number-like value may be written as: two parameters whose captures both accept one of them
# (a count and a total, days and an amount) are told apart only by their cues.
_VALUE_PROBES = ("0", "1", "2", "3", "7", "10", "12", "20", "100", "1.5", "one", "two", "ten")


def _token(cue: str) -> str:
    """A cue as one token, whichever side it was seen on: "for " and " for" are both "for"."""
    return cue.strip(" ,.;:!?-–—").lower() or cue


def _is_word(token: str) -> bool:
    return any(c.isalpha() for c in token)


@attrs.frozen
class CuePlan:
    """How the values that could be mistaken for each other are marked (see :meth:`Spotter.cue_plan`).

    ``dropped``: (parameter, side, token) cues not written; ``marks``: cue words kept off the filler
    (a word that marks a value on the side its group does not use must never be read as filler);
    ``group``: the parameters concerned."""

    dropped: frozenset[tuple[str, str, str]] = frozenset()
    marks: frozenset[str] = frozenset()
    group: frozenset[str] = frozenset()  # the parameters that may take the same text


@attrs.frozen
class Spotter:
    """The spotting alternative for aligned phrasings, and how to narrow it when the gate refuses it.

    ``shapes`` are the phrasings as ("text", t) / ("capture", source) / ("end", "") pieces;
    ``param_of`` maps a capture's source to its parameter, ``type_of`` a parameter to its type,
    ``optional`` names the parameters with a default; ``accepts(source, w)`` says whether the capture
    written ``source`` accepts the word w; ``extra`` are more words the family is written in (its
    grammar's literals: :func:`ddl.types.words.family_words`).  ``strict``: every slot keeps both
    cues it was seen with; ``exclude``: filler words a refusal showed to be unsafe.
    """

    shapes: tuple[tuple[tuple[str, str], ...], ...]
    param_of: Mapping[str, str]
    type_of: Mapping[str, object]
    optional: frozenset[str]
    accepts: Callable[[str, str], bool]
    extra: frozenset[str] = frozenset()
    ignore_case: bool = True
    strict: bool = False
    exclude: frozenset[str] = frozenset()
    foreign: frozenset[str] = frozenset()  # the other served families' words (foreign_words)

    def narrowed(self, witness: str) -> Spotter | None:
        """The spotter without the words of ``witness`` (an utterance the gate showed parses wrongly or
        ambiguously, or shares with another family) that made it parse: first the words it read as a
        free-text value that are no filler (they become words the value never is), then the filler words
        only the grammar's literals taught (never used by a phrasing), else the rarest filler word; None
        when there is nothing to drop."""
        vocabulary = set(self.vocabulary())
        said = {w for shape in self.shapes for k, v in shape if k == "text" for w in word_counts([self._fold(v)])}
        witness_words = {self._fold(w) for w in _WORD.findall(witness)}
        # A word of the witness that is no filler but a free-text value may be: read as the value ("to
        # Move 1 of May 1000 by 1 day" is a date request with "Move" read as the client). It names none.
        may_be_text = self._text_may_be()
        # Not a single letter: the search's witnesses name the shortest value ("in B join date"), and the
        # next one would say "D", a round each; what made such a witness parse is a filler word.
        as_value = {w for w in witness_words - vocabulary - STOPWORDS - FRAME - self.exclude
                    if 1 < len(w) <= MAX_WORD and may_be_text(w)}
        if as_value:
            if as_value & NUMBER_WORDS:
                # A number word read as the value: the next witness would say the next one ("… K SIX", then
                # "… K TEN": a round of the gate each), so they all go at once.
                as_value |= {w for w in NUMBER_WORDS if may_be_text(w)} - self.exclude
            return attrs.evolve(self, exclude=self.exclude | as_value)
        marks = witness_words & set(self.mark_words())
        if marks:  # a mark read as filler between filler words: it goes back to marking only
            return attrs.evolve(self, exclude=self.exclude | marks)
        suspects = witness_words & vocabulary
        if not suspects:
            return None
        unseen = suspects - said - STOPWORDS - FRAME
        if unseen:
            return attrs.evolve(self, exclude=self.exclude | unseen)
        # Every suspect was used by someone: drop one at a time, the rarest first (the others are likely fine).
        counts = word_counts(self._fold(v) for shape in self.shapes for k, v in shape if k == "text")
        rarest = min(suspects, key=lambda w: (counts.get(w, 0), w))
        return attrs.evolve(self, exclude=self.exclude | {rarest})

    def _spellings(self, word: str) -> tuple[str, ...]:
        """How a filler word may be written in an utterance: in any case under ``ignore_case`` ("Bug", "BUG"),
        which a Text capture's own pattern (names start with a capital) may accept though "bug" it does not."""
        return (word, word.capitalize(), word.upper()) if self.ignore_case else (word,)

    def _fold(self, text: str) -> str:
        return text.lower() if self.ignore_case else text

    def _marked(self) -> list[tuple[str, str, str]]:
        """Each value in the phrasings, in order: (its capture's source, the cue on its left, on its right)."""
        out: list[tuple[str, str, str]] = []
        for shape in self.shapes:
            pieces = [(k, self._fold(v) if k == "text" else v) for k, v in shape if k != "end"]
            for i, (kind, source) in enumerate(pieces):
                if kind != "capture":
                    continue
                before = pieces[i - 1][1] if i > 0 and pieces[i - 1][0] == "text" else ""
                after = pieces[i + 1][1] if i + 1 < len(pieces) and pieces[i + 1][0] == "text" else ""
                out.append((source, left_cue(before), right_cue(after)))
        return out

    def _cue_uses(self) -> dict[tuple[str, str, str], int]:
        """(parameter, side, token) → how often that cue marked that parameter in the phrasings."""
        uses: dict[tuple[str, str, str], int] = {}
        for source, lc, rc in self._marked():
            for side, cue in (("left", lc), ("right", rc)):
                if cue:
                    key = (self.param_of[source], side, _token(cue))
                    uses[key] = uses.get(key, 0) + 1
        return uses

    def cue_plan(self) -> CuePlan:
        """Which cues the values that could be mistaken for each other keep.

        When two parameters may take the same text ("1" is a count of people and a total), a value is
        told apart only by its cue, and "between 1 and 2" or "invoice 5 days" — a value between one
        parameter's left cue and another's right cue, the cue it does not take read as filler — read two
        ways, which the gate refuses (or cannot afford to search for).  So, for those parameters: each cue
        token marks one parameter on one side (the one it marked most); then, the most used cues first, a
        word cue stays filler too unless cues kept as filler too mark another parameter on the other side.
        Then the new cue is dropped, or one side is kept off the filler (a mark only) — the new cue or all
        the cues it clashes with, each a word the phrasings use more as a cue than as filler (a content
        word: " days", " people") —, whichever loses the fewest uses: the cue's uses as a cue when it is
        dropped, the words' uses as filler when they are kept off it.  Of a left and a right cue of two
        parameters, at most one is then ever filler, so a value between them reads one way ("invoice" is
        filler in "invoice reminder" and marks the number in "invoice 1042"; " days", a mark only, then
        never is filler).  Symbols ("$", "%", "#") are never filler: they only need to mark one
        parameter."""
        if self.strict:
            return CuePlan()
        sources = self._sources()
        probes: dict[str, set[str]] = {}
        for source in sources:
            if not isinstance(self.type_of[self.param_of[source]], TextT):
                probes.setdefault(self.param_of[source], set()).update(
                    t for t in _VALUE_PROBES if self.accepts(source, t))
        group = {p for p in probes for q in probes if p != q and probes[p] & probes[q]}
        if not group:
            return CuePlan()
        every_use = self._cue_uses()
        uses = {k: n for k, n in every_use.items() if k[0] in group}
        best: dict[str, tuple[int, str, str]] = {}
        for (param, side, token), n in sorted(uses.items()):
            if token not in best or n > best[token][0]:
                best[token] = (n, param, side)
        said = word_counts(self._fold(v) for shape in self.shapes for k, v in shape if k == "text")
        cue_total: dict[str, int] = {}
        for (_, _, token), n in every_use.items():
            cue_total[token] = cue_total.get(token, 0) + n

        def as_filler(token: str) -> int:
            return said.get(token, 0) - cue_total.get(token, 0)

        def mark_only(token: str) -> bool:  # used more as a cue than as filler, and no frame word
            return token not in FRAME and token not in STOPWORDS and as_filler(token) < cue_total.get(token, 0)

        dropped: set[tuple[str, str, str]] = set()
        marks: set[str] = set()
        filler_too: dict[str, dict[str, set[str]]] = {"left": {}, "right": {}}  # side → parameter → cue words
        for (param, side, token), n in sorted(uses.items(), key=lambda use: (-use[1], use[0])):
            _, owner, owner_side = best[token]
            if (param, side) != (owner, owner_side):
                dropped.add((param, side, token))
                continue
            if not _is_word(token):
                continue
            other = filler_too["right" if side == "left" else "left"]
            clashing = [(q, t) for q, words in other.items() if q != param for t in words]
            if clashing:
                # What each way out loses: the phrasings that use a word kept off the filler as filler, or
                # the uses of the cue dropped; the cheapest is taken (ties: the cue kept, then as filler).
                ways = [(n, 2, "drop")]
                if mark_only(token):
                    ways.append((as_filler(token), 1, "mark"))
                if all(mark_only(t) for _, t in clashing):
                    ways.append((sum(as_filler(t) for _, t in clashing), 0, "demote"))
                way = min(ways)[2]
                if way == "drop":
                    dropped.add((param, side, token))
                    continue
                if way == "mark":
                    marks.add(token)
                    continue
                for q, t in clashing:
                    other[q].discard(t)
                    marks.add(t)
            filler_too[side].setdefault(param, set()).add(token)
        return CuePlan(frozenset(dropped), frozenset(marks), frozenset(group))

    def vocabulary(self) -> list[str]:
        """The filler words, most frequent first."""
        texts = [self._fold(v) for shape in self.shapes for k, v in shape if k == "text"]
        counts = word_counts(texts)
        valued = self._valued()

        def is_value(w: str) -> bool:
            return any(self.accepts(src, w) for src in valued)

        # A word said, or written in the family's grammar, may come back in its other number — unless
        # it is a value ("mystery" is a genre: "mysteries" must not become filler beside it).
        plain = [w for w in (*counts, *self.extra)
                 if w not in FRAME and w not in STOPWORDS and w not in self.exclude and not is_value(w)]
        inflected = {i for p in plain for i in inflections(self._fold(p))}
        for w in (*self.extra, *STOPWORDS, *FRAME, *inflected):
            if _WORD.fullmatch(w) and len(w) <= MAX_WORD:
                counts.setdefault(self._fold(w), 0)
        marks = self.cue_plan().marks
        return sorted(
            (w for w in counts if w.lower() not in NEGATIONS and w not in self.exclude and w not in marks
             and (w in ARTICLES or not is_value(w))),
            key=lambda w: (-counts[w], w))[:MAX_WORDS]

    def _valued(self) -> list[str]:
        """The captures of the parameters that are no free text."""
        return [src for src in self._sources() if not isinstance(self.type_of[self.param_of[src]], TextT)]

    def _is_value(self, word: str) -> bool:
        """Whether a non-text capture of the family accepts ``word`` (a value: "two", "tokyo")."""
        return any(self.accepts(src, word) for src in self._valued())

    def mark_words(self) -> list[str]:
        """The words the cue plan kept off the filler (:attr:`CuePlan.marks`: "invoice" marks the invoice
        number): filler too, but only between filler words, where they mark no value ("invoice reminder
        for Omar, inv 230045": "invoice" is followed by a word, not by the number it would mark).  None is a
        filler word: :meth:`vocabulary` leaves the marks out."""
        return sorted(w for w in self.cue_plan().marks
                      if _WORD.fullmatch(w) and len(w) <= MAX_WORD and w.lower() not in NEGATIONS
                      and w not in self.exclude and not self._is_value(w))

    def _sources(self) -> list[str]:
        return sorted({v for shape in self.shapes for k, v in shape if k == "capture"})

    def word_rule(self) -> str:
        """The body of the rule :data:`WORD_RULE` that :meth:`source` refers to: the filler words."""
        return " | ".join(quote_text(w) for w in sorted(self.vocabulary()))

    def rules(self) -> tuple[tuple[str, str], ...]:
        """The helper rules :meth:`source` refers to (name, body): the filler words and, when a free-text
        value could be one of them, the words it never is (:meth:`_foreign_values`)."""
        foreign = self._foreign_values()
        marks = self.mark_words()
        return ((WORD_RULE, self.word_rule()),) + (
            ((FOREIGN_RULE, " | ".join(quote_text(w) for w in foreign)),) if foreign else ()) + (
            ((MARK_RULE, " | ".join(quote_text(w) for w in marks)),) if marks else ())

    def _foreign_values(self) -> list[str]:
        """The words a free-text value neither is, begins nor ends with, besides the filler: the other
        served families' words (:func:`foreign_words`: a name that is another family's value, "Bug", or verb,
        "Move", lets a request of that family read as this one's: "Bug for #1, 1 by 1"); the family's own values ("Firm" is a tone,
        not a client) and the words that mark a value ("To No. 1": "no" marks the invoice); and the
        filler words a refusal took out of the filler (dropped from the filler, "to" must not become a
        name instead: "write To No. 1").  Not every word of the family: the value is spliced at each
        place it may take, and a longer list made invoice's alternative past the automaton limits."""
        if not self._text_sources():
            return []
        marks = {t for (_, _, t) in self._cue_uses() if _is_word(t) and _WORD.fullmatch(t)}
        own_values = {w for w in self.extra if self._is_value(w)}
        words = self.foreign | own_values | self.exclude | marks
        may_be_text = self._text_may_be()
        return sorted(w for w in words if _WORD.fullmatch(w) and len(w) <= MAX_WORD and may_be_text(w))

    def _text_sources(self) -> list[str]:
        """The captures of free-text parameters."""
        return [src for src in self._sources() if isinstance(self.type_of[self.param_of[src]], TextT)]

    def _text_may_be(self) -> Callable[[str], bool]:
        """Whether a free-text capture accepts a word, in any spelling an utterance may give it."""
        texts = self._text_sources()
        return lambda word: any(self.accepts(src, s) for src in texts for s in self._spellings(word))

    def source(self) -> str | None:
        """The alternative in DDL grammar syntax, or None when there is too little to generalize from
        (fewer than two phrasings, no filler, or a parameter that must be given but was never seen)."""
        shapes, param_of, type_of, accepts = self.shapes, self.param_of, self.type_of, self.accepts
        strict = self.strict
        if len(shapes) < 2:
            return None
        sources = self._sources()
        valued = self._valued()
        vocabulary = self.vocabulary()
        if not vocabulary:
            return None
        # An article is filler, never the number 1: "for a guac" (a value form may read "a" as one).  Always,
        # not only while the articles are filler: an article is also a cue ("a " dish), and a narrowed
        # spotter that dropped "a" from the filler must still not read "to a guac" as 1 serving.
        # A value that could be mistaken for another one is one token: "a forty one ways" must not read
        # both as 40 then 1 way and as 41 ways (number words that compose with a space).
        plan = self.cue_plan()
        group, dropped = plan.group, plan.dropped
        not_a: dict[str, list[str]] = {}
        for src in valued:
            if any(accepts(src, a) for a in ARTICLES):
                not_a.setdefault(src, []).extend(quote_text(a) for a in sorted(ARTICLES))
            if param_of[src] in group:
                not_a.setdefault(src, []).append('.* " " .*')
        wrapped = {src: f"({src} & ~({' | '.join(out)}))" for src, out in not_a.items()}
        # The words are written once, as a rule of their own (WORD_RULE, :meth:`word_rule`): written out
        # at every gap they made a grammar of hundreds of kilobytes that no limit admits.
        filler_word = WORD_RULE
        foreign = FOREIGN_RULE if self._foreign_values() else None
        seps = separators(self._fold(v) for shape in shapes for k, v in shape if k == "text")
        sep = "(" + " | ".join(quote_text(s) for s in seps) + ")" if len(seps) > 1 else quote_text(seps[0])
        # A value that cannot be a filler word names itself (an enum spelling, a date, a path): it needs no cue.
        # (Not when another parameter has the same type: "km m" would not say which unit is which.)  So does
        # the family's only free-text value, restricted (:func:`restricted`) from being, starting or ending with
        # a filler, foreign or value word: every other word of the request is one of those, so the words left
        # are the value ("Firm reminder: Ahmed-Ali, invoice 9, $5, 15 days overdue").  Not in the strict form,
        # and not with two free-text values (which of them a word is would be the cue's to say).  Likewise the
        # only value that reads a number (no other parameter takes "1", "12", "ten": the cue plan's group is
        # empty of it): a digit or number word is never filler, so it is that value ("make it serve 9").
        # Both only beside another value that must be given: alone, any capitalized words would ask for
        # the customers of a city named so ("Ak As In.").
        shared = {str(t) for p, t in type_of.items() for q, u in type_of.items() if p != q and t == u}

        def beside_another(src: str) -> bool:
            return not strict and any(p != param_of[src] and p not in self.optional for p in type_of)

        only_text = len({param_of[src] for src in self._text_sources()}) == 1

        def only_number(src: str) -> bool:
            return param_of[src] not in group and any(accepts(src, t) for t in _VALUE_PROBES)

        names_itself = {src: str(type_of[param_of[src]]) not in shared and (
                            isinstance(type_of[param_of[src]], EnumT)
                            or (isinstance(type_of[param_of[src]], TextT) and (
                                (only_text and beside_another(src))
                                or not any(accepts(src, s) for w in vocabulary for s in self._spellings(w))))
                            or (not isinstance(type_of[param_of[src]], TextT) and only_number(src)
                                and beside_another(src)))
                        for src in sources}
        slots: dict[str, set[str]] = {}
        cues: dict[tuple[str, str], tuple[set[str], set[str], list[bool]]] = {}
        for source, seen_left, seen_right in self._marked():
            param = param_of[source]
            capture = restricted(source, filler_word, sep, foreign) if isinstance(type_of[param], TextT) \
                else wrapped.get(source, source)
            lc = "" if (param, "left", _token(seen_left)) in dropped else seen_left
            rc = "" if (param, "right", _token(seen_right)) in dropped else seen_right
            if (lc, rc) == ("", "") and (seen_left or seen_right):
                slots.setdefault(param, set())
                continue  # its only cue went to another value: this phrasing shows no way to mark it
            forms = slots.setdefault(param, set())
            bare = names_itself[source] or not (lc or rc)
            if not strict:  # any cue seen on a side, or none on one side: see _factored
                seen = cues.setdefault((param, capture), (set(), set(), [False]))
                seen[0].update(left_spellings(lc) if lc else [])
                seen[1].update([rc] if rc else [])
                seen[2][0] = seen[2][0] or bare
                continue
            if lc and rc:
                forms.add(f"{quote_text(lc)} {capture} {quote_text(rc)}")
            elif lc:
                forms.add(f"{quote_text(lc)} {capture}")
            elif rc:
                forms.add(f"{capture} {quote_text(rc)}")
            if bare:
                forms.add(capture)
        for (param, capture), (lefts, rights, any_bare) in cues.items():
            slots[param].add(_factored(capture, lefts, rights, any_bare[0]))
        slots = {param: forms for param, forms in slots.items() if forms}
        optional = self.optional
        required = [p for p in type_of if p not in optional]
        if any(p not in slots for p in required):
            return None
        slot = {param: f"({' | '.join(sorted(forms))})" for param, forms in slots.items()}
        # The filler runs: before the first value, between two, after the last.  A mark word is filler there
        # only with a filler word after it and, after a value, one before it: next to a value it marks it.
        lead, between, trail = f"({filler_word} {sep})*", f"{sep} ({filler_word} {sep})*", f"({sep} {filler_word})*"
        if self.mark_words():
            mark = MARK_RULE
            lead = f"(({mark} {sep})* {filler_word} {sep})*"
            between = f"{sep} ({filler_word} {sep} (({mark} {sep})+ {filler_word} {sep})?)*"
            trail = f"({sep} {filler_word} ({sep} {mark})*)*"
        if len(slot) <= MAX_ANY_ORDER:
            parts = [slot[p] + ("?" if p in optional else "") for p in sorted(slot, key=lambda p: (p in optional, p))]
            if all(p.endswith("?") for p in parts):
                return None  # any_order needs one part that is given
            # One value needs no order (and any_order takes two parts at least).
            body = parts[0] if len(parts) == 1 else f"any_order({', '.join(parts)}, sep = {between})"
        else:
            # More values than any_order can permute at a checkable size: the orders people used.
            orders = {tuple(dict.fromkeys(param_of[v] for k, v in shape if k == "capture")) for shape in shapes}
            body = order_trie(orders, slot, between)
        return f"{lead} {body} {trail} (\"?\" | \".\" | \"!\")?"
