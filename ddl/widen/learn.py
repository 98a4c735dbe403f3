"""The offline learner: candidate phrasings with their θ → grammar alternatives, deterministically.

For each candidate (an utterance the family's grammar did not accept, with the θ a labeler gave
it), the learner *aligns* θ with the utterance: for every parameter it looks for the substrings
that one of the family's own captures accepts and converts to exactly that parameter's value
(the captures as the author wrote them — ``city``, ``number(days)``, ``units`` — so a learned
phrasing speaks the same value forms as the rest of the grammar).  Substrings start and end at
word boundaries; parameters with fewer possible spans are placed first, the longest span wins,
spans never overlap.  A parameter left at its default may be absent; any other parameter that
cannot be placed makes the candidate unalignable (reported, never guessed).  What is left between
the spans stays as literal text.  The result is one alternative per *shape*: candidates whose
alternatives are the same text are merged, and keep every query id that taught them.

Nothing here decides whether an alternative may join the grammar: :mod:`ddl.widen.gate` proves
that with the algebra and ``ddl check``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ddl.eval import validate_theta
from ddl.grammar.compile import CaptureSpec, CompiledGrammar, default_value
from ddl.regular import Lang
from ddl.types.checked import CheckedFamily
from ddl.types.model import ListT, OptionT, TextT
from ddl.types.words import STOPWORDS, family_words, setting_words, value_words
from ddl.values import quote_text, to_json
from ddl.widen.spot import Spotter, word_counts

MAX_UTTERANCE = 300  # longer candidates are not aligned (the search is quadratic in the length)
_TRAILING = "?.!"
MIN_SPOTTING = 3  # aligned phrasings (a candidate at least; examples and answered requests count) to generalize from


@attrs.frozen
class Candidate:
    """A phrasing to learn from: the utterance and θ in JSON form, and the query that produced it."""

    utterance: str
    theta: Mapping[str, Any]
    query_id: int | None = None


@attrs.frozen
class Alternative:
    """One learned alternative in DDL grammar syntax, and the candidates it came from."""

    source: str  # e.g. ``city " weather " number(days) " days"``
    query_ids: tuple[int, ...]
    utterances: tuple[str, ...]
    parts: tuple[Alternative, ...] = ()  # a merged alternative: the ones it generalizes (tried if it is refused)
    # A narrower alternative, given an utterance the gate showed this one gets wrong (None: nothing to narrow).
    narrow: Callable[[str], Alternative | None] | None = attrs.field(default=None, eq=False, repr=False)
    # Rules the source refers to, written beside the learned rule: (name, body), e.g. the filler words.
    rules: tuple[tuple[str, str], ...] = ()
    # A rule extension (``rule verb += "pull "``): the authored rule ``source`` adds choices to.
    extends: str | None = None

    @property
    def written(self) -> str:
        """The alternative as a learner writes it: its source, or ``rule verb += "pull "`` for an extension."""
        return f"rule {self.extends} += {self.source}" if self.extends else self.source


@attrs.frozen
class Unaligned:
    utterance: str
    query_id: int | None
    reason: str


@attrs.frozen
class Learned:
    alternatives: tuple[Alternative, ...]
    unaligned: tuple[Unaligned, ...]


@attrs.frozen
class _Probe:
    """One capture of the family as written, ready to test substrings."""

    name: str  # the engine capture's name
    param: str
    source: str  # how to write it in DDL
    lang: Lang


class Aligner:
    """Aligns candidates with one family's captures (built once per family)."""

    def __init__(self, family: CheckedFamily, grammar: CompiledGrammar) -> None:
        self.family = family
        self.grammar = grammar
        grammar.lang  # noqa: B018 - building the language registers every capture the grammar uses
        self.probes: dict[str, list[_Probe]] = {}
        for name, spec in sorted(grammar.captures.items()):
            source = _capture_source(spec)
            if source is None:
                continue
            lang = Lang.from_regex(grammar.fold(spec.regex), limits=grammar.limits)
            self.probes.setdefault(spec.param, []).append(_Probe(name, spec.param, source, lang))
        self.defaults: dict[str, Any] = {}
        for p in family.params:
            value = default_value(grammar.evaluator, p)
            if value is not None:
                self.defaults[p.name] = to_json(value)
        self.param_of = {probe.source: probe.param for probes in self.probes.values() for probe in probes}
        self.type_of = {p.name: p.type for p in family.params}
        self._langs = {probe.source: probe.lang for probes in self.probes.values() for probe in probes}

    def accepts(self, source: str, word: str) -> bool:
        """Whether the capture written ``source`` accepts ``word`` (in any case the grammar folds)."""
        lang = self._langs[source]
        return lang.contains(word) or lang.contains(word.lower()) or lang.contains(word.capitalize())

    def accepted_shapes(self, utterances: Sequence[str] = ()) -> list[tuple[tuple[str, str], ...]]:
        """The family's examples with an utterance, and ``utterances`` (requests its grammar answered),
        aligned with the θ the grammar gives them."""
        out = []
        said = [e.utterance for e in self.family.examples if e.utterance is not None]
        for utterance in [*said, *utterances]:
            result = self.grammar.match(utterance)
            if not result.ok or result.values is None:
                continue
            theta = {k: to_json(v) for k, v in result.values.items()}
            found = self.pieces(Candidate(utterance, theta))
            if not isinstance(found, Unaligned):
                out.append(found)
        return out

    def _free_text(self, source: str) -> bool:
        """Whether the capture written ``source`` takes free text (which could end in punctuation)."""
        for probes in self.probes.values():
            for probe in probes:
                if probe.source == source:
                    spec = self.grammar.captures[probe.name]
                    return isinstance(spec.type, TextT) or (
                        isinstance(spec.type, (ListT, OptionT)) and "Text" in str(spec.type))
        return True

    def pieces(self, candidate: Candidate) -> tuple[tuple[str, str], ...] | Unaligned:
        """The candidate as a sequence of ("text", literal) and ("capture", DDL source) pieces."""
        text = self.grammar.normalize(candidate.utterance)
        if not text or len(text) > MAX_UTTERANCE:
            return Unaligned(candidate.utterance, candidate.query_id,
                             f"the utterance is empty or longer than {MAX_UTTERANCE} characters")
        theta, problems = validate_theta(self.family, self.grammar.evaluator, dict(candidate.theta))
        if theta is None:
            return Unaligned(candidate.utterance, candidate.query_id, "θ is outside Θ: " + "; ".join(problems))
        wanted = {name: to_json(value) for name, value in theta.items()}
        bounds = _word_bounds(text)
        options: dict[str, list[tuple[int, int, str]]] = {}
        for param, value in wanted.items():
            spans = []
            for probe in self.probes.get(param, []):
                for i in bounds.starts:
                    for j in bounds.ends:
                        if j <= i or not probe.lang.contains(text[i:j]):
                            continue
                        if to_json(self.grammar.convert(probe.name, text[i:j])) == value:
                            spans.append((i, j, probe.source))
            options[param] = spans
        placed: list[tuple[int, int, str]] = []
        placed_param: list[str] = []
        for param in sorted(options, key=lambda p: (len(options[p]), p)):
            free = [s for s in options[param] if not any(s[0] < e and b < s[1] for b, e, _ in placed)]
            if not free:
                if param in self.defaults and self.defaults[param] == wanted[param]:
                    continue  # left at its default: the utterance need not say it
                return Unaligned(candidate.utterance, candidate.query_id,
                                 f"no part of the utterance expresses {param} = {wanted[param]!r} "
                                 "in a form the grammar knows")
            placed.append(max(free, key=lambda s: (s[1] - s[0], -s[0])))
            placed_param.append(param)
        # Two parameters with the same value ("invoice #12 … 12 days overdue"): a span one of them took
        # could be the other's, and a rule learned from the wrong pairing would swap them for every
        # later request. Such a candidate teaches nothing certain; it stays a candidate, unlearned.
        for (i, j, _), param in zip(placed, placed_param):
            other = next((q for q in options if q != param and any(b == i and e == j for b, e, _ in options[q])), None)
            if other is not None:
                return Unaligned(candidate.utterance, candidate.query_id,
                                 f"'{text[i:j]}' can be {param} or {other} (both are {wanted[param]!r}): "
                                 "which is which is not known")
        placed.sort()
        at = 0
        literal = str.lower if self.grammar.ignore_case else str
        out: list[tuple[str, str]] = []
        for i, j, source in placed:
            out.append(("text", literal(text[at:i])))
            out.append(("capture", source))
            at = j
        tail = text[at:]
        stripped = tail.rstrip(_TRAILING + " ")
        out.append(("text", literal(stripped)))
        if not stripped and tail.strip() and placed and not self._free_text(placed[-1][2]):
            # The request ended in punctuation right after a value that cannot contain it: keep it optional.
            out.append(("end", ""))
        if not placed and not stripped:
            return Unaligned(candidate.utterance, candidate.query_id, "nothing is left to learn")
        return tuple(out)


def learn(family: CheckedFamily, grammar: CompiledGrammar, candidates: Sequence[Candidate],
          answered: Sequence[str] = (), foreign: frozenset[str] = frozenset()) -> Learned:
    """Alternatives for the candidates, and the ones that did not align.

    ``answered`` are requests the grammar already answered (the handler's ledger): how the family's
    users ask, which the spotting alternative (:mod:`ddl.widen.spot`) learns its words and value marks
    from, with the candidates and the examples.

    Candidates with the same pieces give one alternative.  Alternatives with the same captures in the
    same order are then *merged*: each text slot becomes the choice of the texts seen there, so
    ``"split " amount " among " people`` and ``"divide " amount " between " people`` generalize to
    ``("split " | "divide ") amount (" among " | " between ") people`` — the gate tries the merged
    alternative first and its parts when it is refused.
    """
    aligner = Aligner(family, grammar)
    shapes: dict[tuple[tuple[str, str], ...], list[Candidate]] = {}
    unaligned: list[Unaligned] = []
    for candidate in candidates:
        found = aligner.pieces(candidate)
        if isinstance(found, Unaligned):
            unaligned.append(found)
        else:
            shapes.setdefault(found, []).append(candidate)
    singles = {shape: _alternative(_source(shape), group) for shape, group in shapes.items()}
    skeletons: dict[tuple[str, ...], list[tuple[tuple[str, str], ...]]] = {}
    for shape in shapes:
        skeletons.setdefault(tuple(v for k, v in shape if k == "capture") + (shape[-1][0],), []).append(shape)
    alternatives: list[Alternative] = []
    for group in skeletons.values():
        if len(group) == 1:
            alternatives.append(singles[group[0]])
            continue
        core = [shape[:-1] if shape[-1][0] == "end" else shape for shape in group]
        slots = [sorted({shape[i][1] for shape in core}) for i in range(0, len(core[0]), 2)]
        merged: list[str] = []
        for i, options in enumerate(slots):
            merged.append(_choice(options))
            if 2 * i + 1 < len(core[0]):
                merged.append(core[0][2 * i + 1][1])
        parts = tuple(singles[shape] for shape in group)
        everyone = [c for shape in group for c in shapes[shape]]
        ends_in_text = all(bool(shape[-1][1]) or shape[-1][0] == "end" for shape in group)
        alternatives.append(attrs.evolve(_alternative(_join(merged, ends_in_text=ends_in_text), everyone),
                                         parts=parts))
    shaped = tuple(shape for shape, group in shapes.items() for _ in group)
    # Words that only unaligned candidates use may carry what could not be aligned ("for a week"): no
    # filler (stopwords aside: "for", "a" say nothing by themselves).
    taught = (*shaped, *aligner.accepted_shapes(answered))
    aligned_words = {w for shape in taught for k, v in shape if k == "text" for w in word_counts([v.lower()])}
    unsafe = frozenset(w for u in unaligned for w in word_counts([aligner.grammar.normalize(u.utterance).lower()])
                       if w not in aligned_words and w not in STOPWORDS)
    # The words of a value spelt in several words ("join date", "newest first") are filler only where the
    # family's users said them: taught by the grammar alone, "in B join date" reads the sort and the filler.
    spelling = value_words(family) - aligned_words - STOPWORDS
    # Words the grammar writes only where it sets a parameter ("subtract … {direction = before}") say a
    # value: as filler they would read "subtract 3 days" with the default too (an ambiguity the gate
    # would refuse one word per round).
    spotter = Spotter(taught, aligner.param_of, aligner.type_of,
                      frozenset(aligner.defaults), aligner.accepts, family_words(family),
                      ignore_case=grammar.ignore_case, exclude=unsafe | setting_words(family) | spelling,
                      foreign=foreign - family_words(family))
    general = _spotted(spotter, tuple(c.query_id for group in shapes.values() for c in group
                                      if c.query_id is not None)) \
        if shaped and len(taught) >= MIN_SPOTTING else None
    if general is not None:
        alternatives.insert(0, general)
    return Learned(tuple(alternatives), tuple(unaligned))


def _spotted(spotter: Spotter, ids: tuple[int, ...]) -> Alternative | None:
    """The spotting alternative as a proposal (no utterances of its own: the gate credits it with the
    candidates its language accepts).  When the gate refuses it with a witness it is narrowed (the
    witness's filler words dropped); when there is nothing left to narrow, the strict form (every
    value keeps both its cues) is tried."""
    source = spotter.source()
    if source is None:
        return None
    strict = _spotted(attrs.evolve(spotter, strict=True), ids) if not spotter.strict else None
    parts = (strict,) if strict is not None and strict.source != source else ()

    def narrow(witness: str) -> Alternative | None:
        narrower = spotter.narrowed(witness)
        return _spotted(narrower, ids) if narrower is not None else None

    return Alternative(source, ids, (), parts=parts, narrow=narrow, rules=spotter.rules())


def _alternative(source: str, group: Sequence[Candidate]) -> Alternative:
    return Alternative(source, tuple(c.query_id for c in group if c.query_id is not None),
                       tuple(c.utterance for c in group))


def _source(pieces: Sequence[tuple[str, str]]) -> str:
    punctuated = bool(pieces[-1][1]) or pieces[-1][0] == "end"
    return _join([quote_text(v) if k == "text" and v else v for k, v in pieces if v], ends_in_text=punctuated)


def _join(items: Sequence[str], *, ends_in_text: bool = True) -> str:
    # A question mark or full stop after the last word is optional: people add or drop it freely.  Not
    # after a capture: a free-text value could end in one, which would make the grammar ambiguous.
    return " ".join([*(i for i in items if i), *(['("?" | "." | "!")?'] if ends_in_text else [])])


def _choice(texts: Sequence[str]) -> str:
    """The choice of some literal texts; an empty one makes the choice optional."""
    present = [t for t in texts if t]
    if not present:
        return ""
    body = " | ".join(quote_text(t) for t in present)
    if len(present) == 1:
        return body + ("?" if len(present) < len(texts) else "")
    return f"({body})" + ("?" if len(present) < len(texts) else "")


@attrs.frozen
class _Bounds:
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _word_bounds(text: str) -> _Bounds:
    """Where a value may start (after a non-word character) and end (before one)."""
    starts = [i for i in range(len(text)) if text[i].isalnum() and (i == 0 or not text[i - 1].isalnum())]
    ends = [j for j in range(1, len(text) + 1) if text[j - 1].isalnum() and (j == len(text) or not text[j].isalnum())]
    return _Bounds(tuple(starts), tuple(ends))


def _capture_source(spec: CaptureSpec) -> str | None:
    """How the author wrote this capture, or None when it cannot be written back (a constant, ``x & R``)."""
    if spec.is_const or spec.restricted:
        return None
    if spec.form == "plain":
        return spec.param
    args = "".join(f", {a}" for a in spec.args)
    return f"{spec.form}({spec.param}{args})"
