"""The gate: learned alternatives join a family's grammar only when the algebra and ``ddl check`` prove it safe.

The widened grammar G' is the authored grammar G₀ (the block without its learned rule) or'ed with
one rule, ``learned``, holding every alternative the learners proposed::

    # Learned by `ddl widen` from 7 phrasings (queries 3, 5, 9, …); checked like the rest of the family.
    rule learned = "tokyo weather " number(days) " days" ("?" | "." | "!")? | …;
    (…the authored body…) | learned

A rule extension (``rule verb += "pull "``, from the model learner) writes its choices beside the learned
rule (``rule learned_ext_verb = "pull ";``) and ends the authored rule with ``| learned_ext_verb``, as the
body ends with ``| learned``; only a rule no ``~`` or ``except`` applies to is extended, so the authored
grammar's utterances keep their parses (spec/widen.md, "rule extensions").

It is written into the family only when all of these hold (spec/widen.md):

1. L(G₀) ⊆ L(G'): nothing the authored grammar accepted stops being accepted (checked with
   :meth:`Lang.subset_of`, with a witness when it fails);
2. every candidate an alternative came from parses under G' to exactly its recorded θ (defaults
   filled);
3. G' accepts no utterance that feedback rejected and the current grammar did not accept;
4. G' shares no utterance with another served family of the same priority (in the registry's own
   search over every served family, so that loading the widened file takes no family out of service);
5. the whole module passes ``ddl check`` — examples, grammar obligations (G' unambiguous, sound,
   covering Θ) and the verifier.

An alternative that breaks 2–5 is dropped (the witness names it) and the rest is checked again;
what was dropped, and why, is reported.  Nothing a model or a labeler wrote runs: alternatives are
DDL grammar text, compiled and checked like any other.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ddl.api import check_source, compile_source
from ddl.diagnostics import did_you_mean
from ddl.eval import Evaluator, validate_theta
from ddl.files import apply_edits, text_diff
from ddl.grammar.compile import LEARNED_RULE, CompiledGrammar
from ddl.grammar.router import OverlapSearchTooLarge, RoutedFamily, Router
from ddl.regular import spliced_size
from ddl.regular.errors import RegularError
from ddl.syntax import ast as A
from ddl.syntax import parse_regex, parse_source
from ddl.syntax.fmt import format_source
from ddl.types.checked import CheckedFamily
from ddl.types.grammar import regex_children
from ddl.values import to_json
from ddl.widen.learn import Alternative, Candidate

LEARNED_COMMENT = "# Learned by `ddl widen`"
MAX_ROUNDS = 24  # each round drops (or narrows) at least one alternative, or stops
MAX_NARROWINGS = 8  # then the strict form and the literal alternatives are tried


def has_learned_rule(family: CheckedFamily) -> bool:
    """Whether ``family``'s grammar holds a rule a widening wrote."""
    return family.grammar is not None and any(r.name == LEARNED_RULE or r.name.startswith(extension_name(""))
                                              for r in family.grammar.decl.rules)


def _is_learned(rule: str) -> bool:
    """Whether a rule is one widening writes: ``learned``, its helpers (``learned_word``) and the choices a
    rule extension adds (``learned_ext_verb``)."""
    return rule == LEARNED_RULE or rule.startswith(LEARNED_RULE + "_")


class WidenError(Exception):
    """The family cannot be widened at all (no grammar, a file that does not parse, an unknown family)."""


@attrs.frozen
class Refusal:
    """An alternative that was not admitted, and the proof obligation it broke (with the witness)."""

    alternative: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class GateResult:
    family: str
    ok: bool  # a widened module passed every check (there was something to admit)
    source: str  # the new text of the file (the old one when nothing was admitted)
    diff: str
    admitted: tuple[Alternative, ...]
    refused: tuple[Refusal, ...]
    checks: tuple[str, ...]  # what was proved for the admitted set
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"family": self.family, "ok": self.ok, "diff": self.diff, "message": self.message,
                "admitted": [{"source": a.written, "query_ids": list(a.query_ids), "utterances": list(a.utterances)}
                             for a in self.admitted],
                "refused": [r.to_json() for r in self.refused], "checks": list(self.checks)}


def widen_source(text: str, path: str, family: str, alternatives: Sequence[Alternative],
                 candidates: Sequence[Candidate] = (), *, rejected: Sequence[str] = (),
                 others: Sequence[RoutedFamily] = ()) -> GateResult:
    """Admit as many of ``alternatives`` into ``family`` of the module ``text`` (at ``path``) as the gate
    allows; the result holds the new text and its diff (nothing is written here).

    Rule extensions (``rule verb += …``) go through the gate first, one at a time, each with those admitted
    before it written too; then the plain alternatives, with every admitted extension written. An
    extended grammar accepts all the authored one does, so a witness in the authored language (an
    utterance an extension gives a second parse) would name every extension checked with it (and every
    general alternative): judged alone, the witness names the one that broke the check."""
    extensions = [a for a in alternatives if a.extends is not None]
    plain = [a for a in alternatives if a.extends is None]
    if not extensions:
        return _gate(text, path, family, plain, candidates, rejected, others, ())
    fixed: tuple[Alternative, ...] = ()
    refused: list[Refusal] = []
    first: GateResult | None = None
    for extension in extensions:
        tried = _gate(text, path, family, [extension], candidates, rejected, others, fixed)
        refused.extend(tried.refused)
        if tried.admitted:
            fixed, first = (*fixed, *tried.admitted), tried
    if first is None:
        second = _gate(text, path, family, plain, candidates, rejected, others, ())
        return attrs.evolve(second, refused=(*refused, *second.refused))
    first = attrs.evolve(first, admitted=fixed, refused=tuple(refused))
    if not plain:
        return first
    second = _gate(text, path, family, plain, candidates, rejected, others, fixed)
    if not second.admitted:
        return attrs.evolve(first, refused=(*refused, *second.refused))
    return attrs.evolve(second, admitted=(*fixed, *second.admitted), refused=(*refused, *second.refused))


def _gate(text: str, path: str, family: str, alternatives: Sequence[Alternative], candidates: Sequence[Candidate],
          rejected: Sequence[str], others: Sequence[RoutedFamily], fixed: Sequence[Alternative]) -> GateResult:
    """One pass of the gate over ``alternatives``, with ``fixed`` (admitted rule extensions) written too."""
    base = _base_text(text, path, family)
    formatted = format_source(base, path)[0] == base  # once: the widened text is then written formatted too
    current = _family_grammar(text, path, family)
    base_grammar = current if base == text else _family_grammar(base, path, family)
    # Alternatives are told apart by their source and the helper rules it refers to (a narrowed spotting
    # alternative differs from its parent only in its filler words' rule).
    by_alt = {_key(a): a for a in alternatives}
    theta_of = {c.utterance: c.theta for c in candidates}
    keep = list(dict.fromkeys(_key(a) for a in alternatives))
    refused: list[Refusal] = []
    langs: dict[str, _Members] = {}
    general: set[str] = set()
    narrowed = [0]  # how many times a general alternative was narrowed (each costs a round of ddl check)

    def alt_lang(source: str) -> _Members:
        if source not in langs:
            variant = _with_learned(base, path, family, [by_alt[source]], only=True)
            langs[source] = _Members(_family_grammar(variant, path, family))
        return langs[source]

    def drop(which: Sequence[str], reason: str, witness: str | None = None, *, parts: bool = True) -> None:
        for source in which:
            if source in keep:
                keep.remove(source)
                refused.append(Refusal(by_alt[source].written, reason))
                narrow = by_alt[source].narrow if narrowed[0] < MAX_NARROWINGS else None
                narrower = narrow(witness) if narrow is not None and witness is not None else None
                if narrower is not None and _key(narrower) not in by_alt:  # a general one, minus what broke it
                    narrowed[0] += 1
                    by_alt[_key(narrower)] = narrower
                    general.add(_key(narrower))
                    general.update(_key(p) for p in narrower.parts)
                    keep.append(_key(narrower))
                    prepare(_key(narrower))
                    continue
                for part in by_alt[source].parts if parts else ():  # a merged alternative: try its parts, one by one
                    if _key(part) not in by_alt:
                        by_alt[_key(part)] = part
                        keep.append(_key(part))
                        prepare(_key(part))

    def blame(suspects: list[str]) -> list[str]:
        """Of the alternatives that accept a witness, the general ones when there are any: a literal
        phrasing is only dropped for what it does itself, not for what a generalization of it does."""
        return [s for s in suspects if s in general] or suspects

    def redundant(suspects: list[str]) -> list[str]:
        """Of the literal alternatives that accept a witness, those a general one (kept) already reads right —
        each of their candidates to its θ: they add nothing, and two readings of one utterance ("tip an":
        a literal's `number(tip_percent)` takes "an", the general one's filler) go with them instead of the
        general alternative."""
        readers = [alt_lang(g) for g in keep if g in general]
        return [s for s in suspects if s not in general and by_alt[s].utterances and any(
            all(_parses_to(r.grammar, r.grammar.family, r.grammar.evaluator, u, theta_of.get(u)) is None
                for u in by_alt[s].utterances) for r in readers)]

    def prepare(source: str) -> None:
        try:
            lang = alt_lang(source)
        except (WidenError, RegularError) as err:
            drop([source], f"does not compile as a grammar alternative: {err}")
            return
        if not by_alt[source].utterances:
            # A proposal covers the candidates its language accepts and the authored grammar does not (those
            # the authored part reads are its own, spec/grammar.md): an extended grammar accepts every
            # utterance the authored one does.
            covered = [c for c in candidates if lang.contains(base_grammar.normalize(c.utterance))
                       and not base_grammar.match(c.utterance).ok]
            if not covered:
                drop([source], "accepts none of the candidate phrasings")
                return
            by_alt[source] = attrs.evolve(by_alt[source], query_ids=tuple(
                c.query_id for c in covered if c.query_id is not None), utterances=tuple(c.utterance for c in covered))

    for source in list(keep):
        prepare(source)
    # Alternatives proposed without phrasings of their own (a spotting alternative, a model's rule) and
    # their fallbacks: the general ones, dropped first when a check fails without naming a culprit.
    general.update({_key(a) for a in alternatives if not a.utterances} | {
        _key(p) for a in alternatives for p in a.parts if not p.utterances})

    def render(sources: Sequence[str]) -> str:
        written = [*fixed, *(by_alt[s] for s in sources)]
        return _with_learned(base, path, family, written, note=_note(written), as_formatted=formatted)

    for _ in range(MAX_ROUNDS):
        if not keep:
            break
        new_text = render(keep)
        # Compiled first, proved last: the checks 2-4 below are cheap next to `ddl check`'s obligations
        # and refuse most rounds, so a round they refuse costs no proof.
        module, diagnostics = compile_source(new_text, path)
        fam = module.families.get(family) if module is not None else None
        if module is None or fam is None:
            errors = [d.headline() for d in diagnostics if d.is_error][:3]
            return _refuse_all(family, text, alternatives, refused, keep, "the widened module does not compile: "
                               + "; ".join(errors), base=base, path=path)
        evaluator = Evaluator(module)
        grammar = CompiledGrammar(fam, evaluator)
        try:
            grammar.matcher  # noqa: B018 - built here: past the limits, no candidate could be told apart
        except RegularError as err:
            # Together the alternatives grow past what one grammar may be; what grows it is the general ones.
            # One goes per round, so that those that fit together stay: the one that reads the fewest
            # candidates, the largest of those first.
            suspects = blame(list(keep))
            worst = min(suspects, key=lambda s: (len(by_alt[s].utterances), -_size_of(alt_lang, s)))
            drop([worst], f"the widened grammar does not compile within the limits: {err}"
                          + (f" (with {len(keep) - 1} other learned alternative(s))" if len(keep) > 1 else ""))
            continue
        # 2. every candidate parses to its θ
        bad: list[tuple[str, str, str]] = []
        for source in keep:
            for utterance in by_alt[source].utterances:
                problem = _parses_to(grammar, fam, evaluator, utterance, theta_of.get(utterance))
                if problem is not None:
                    bad.append((source, utterance, f"{utterance!r}: {problem}"))
                    break
        if bad:
            for source, utterance, why in bad:
                drop([source], f"a candidate does not parse to its θ under the widened grammar: {why}",
                     base_grammar.normalize(utterance))
            continue
        # 3. no rejected utterance newly accepted
        newly = [u for u in rejected if grammar.match(u).ok and not current.match(u).ok]
        if newly:
            for u in newly:
                norm = grammar.normalize(u)
                drop(blame([s for s in keep if alt_lang(s).contains(norm)]),
                     f"accepts {u!r}, which feedback rejected", norm)
            continue
        # 4. no overlap with another served family of the same priority
        try:
            clash = _overlap(fam, evaluator, grammar, others)
        except OverlapSearchTooLarge as err:
            # No witness: the general alternatives (what grows the search) go first, then the literal ones.
            drop(blame(list(keep)), f"with it, the overlap search of {', '.join(err.families)} with the served "
                                    f"families exceeded its budget of {err.limit:,} states (the registry would take "
                                    f"{'the family' if len(err.families) == 1 else 'those families'} out of "
                                    "service); cannot show the widened grammar is disjoint from them")
            continue
        if clash is not None:
            other, witness = clash
            culprits = blame([s for s in keep if alt_lang(s).contains(witness)]) or list(keep)
            drop(culprits, f"shares {witness!r} with the served family {other}", witness)
            continue
        # 5. ddl check: every obligation of the module proved
        result = check_source(new_text, path)
        failing = [f for f in result.findings if f.diagnostic.is_error]
        if failing:
            witnesses = [w for f in failing for w in _quoted(f.diagnostic.message)]
            suspects = [s for s in keep if any(alt_lang(s).contains(base_grammar.normalize(w)) for w in witnesses)]
            first = failing[0].diagnostic
            extra = redundant(suspects)
            if extra:
                # Not tried again part by part: the general alternative reads each part's phrasings too.
                drop(extra, "a general alternative reads its phrasings to their θ, and with it the widened family "
                            f"fails ddl check: {first.code}: {first.message}", parts=False)
                continue
            culprits = blame(suspects)
            if not culprits:  # no witness (an obligation left unknown): the most general alternative goes first
                culprits = sorted((s for s in keep if s in general), key=lambda s: not by_alt[s].parts)[:1] \
                    or list(keep)
            drop(culprits, f"the widened family fails ddl check: {first.code}: {first.message}",
                 witnesses[0] if witnesses else None)
            continue
        # 1. nothing the authored grammar accepted is lost
        subset_by = "by the algebra"
        try:
            subset, lost = base_grammar.lang.subset_of(grammar.lang)
        except RegularError:
            # G' past the automaton limits as one DFA (the learned rule's free texts): the inclusion holds
            # by construction — G' is `(G) | learned` with G's body, rules and `except` clause as written but for
            # more choices in rules no ~ or except applies to, and both only add (a learned helper rule named like
            # one of G's would not have compiled).
            subset, lost, subset_by = True, None, ("by construction: G' is (G) | learned, with more choices only "
                                                   "in rules no ~ or except applies to")
        if not subset:
            return _refuse_all(family, text, alternatives, refused, keep,
                               f"the widened grammar no longer accepts {lost!r}, which the authored one does",
                               base=base, path=path)
        keep, new_text = _without_subsumed(keep, general, by_alt, alt_lang, base_grammar, new_text, render, path,
                                           [_Members(_family_grammar(_with_learned(base, path, family, fixed,
                                                                                  only=True), path, family))]
                                           if fixed else [])
        if not keep:  # every phrasing is read by the fixed extensions
            break
        admitted = tuple(by_alt[s] for s in keep)
        checks = (f"L(G) ⊆ L(G'): every utterance the authored grammar accepts is still accepted ({subset_by}), "
                  "and read as before (the learned rule reads only what G does not accept)",
                  f"each of {sum(len(a.utterances) for a in admitted)} candidates parses to its recorded θ",
                  f"none of {len(rejected)} rejected utterances is newly accepted",
                  f"no overlap with {len(others)} other served families (at equal priority)",
                  "ddl check: every obligation of the module proved (G' unambiguous, sound, covering Θ; examples)")
        return GateResult(family, True, new_text, text_diff(text, new_text, path), admitted, tuple(refused), checks)
    message = "no learned alternative passed the gate" if alternatives else "nothing to learn"
    return _refuse_all(family, text, alternatives, refused, keep, message, base=base, path=path)


def _size_of(alt_lang: Callable[[str], _Members], source: str) -> int:
    """How much an alternative adds to a grammar (its own grammar's regex, as the compiler meets it)."""
    try:
        return spliced_size(alt_lang(source).grammar.regex)
    except (WidenError, RegularError):
        return 0


class _Members:
    """Membership in one alternative's language (normalized utterances), by its matcher: the gate only
    asks which alternatives accept a witness, and a spotting alternative's whole DFA (a free-text value
    that excludes hundreds of filler words) may be past the limits its matcher is well within."""

    def __init__(self, grammar: CompiledGrammar) -> None:
        self.grammar = grammar
        grammar.matcher  # noqa: B018 - built here: an alternative past the limits does not compile

    def contains(self, normalized: str) -> bool:
        try:
            return (self.grammar.matcher.fullmatch_spans(normalized) is not None
                    and not self.grammar.is_excluded(normalized))
        except RegularError:
            return False


def _without_subsumed(keep: list[str], general: set[str], by_alt: Mapping[str, Alternative], alt_lang: Any,
                      grammar: CompiledGrammar, text: str, render: Callable[[Sequence[str]], str], path: str,
                      fixed: Sequence[_Members] = ()) -> tuple[list[str], str]:
    """The admitted alternatives without the literal ones whose every phrasing another admitted one (or the
    ``fixed`` part, admitted rule extensions, which reads before them) accepts: a general alternative makes
    the literal ones it covers redundant. The smaller rule is kept only if it passes ``ddl check`` again
    (dropping alternatives only shrinks the language, but the check is the proof)."""
    rest = list(keep)
    for source in [s for s in keep if s not in general]:
        others = [o for o in rest if o != source]
        utterances = by_alt[source].utterances
        readers = [*(alt_lang(o) for o in others), *fixed]
        if readers and utterances and all(any(r.contains(grammar.normalize(u)) for r in readers)
                                          for u in utterances):
            rest = others
    if rest == keep or not (rest or fixed):  # nothing dropped, or nothing would be left to write
        return keep, text
    smaller = render(rest)
    return (rest, smaller) if check_source(smaller, path).ok else (keep, text)


def authored_grammar(text: str, path: str, family: str) -> CompiledGrammar:
    """``family``'s grammar as its author wrote it (without the learned rule) in the module ``text``."""
    return _family_grammar(_base_text(text, path, family), path, family)


def _refuse_all(family: str, text: str, alternatives: Sequence[Alternative], refused: list[Refusal],
                keep: Sequence[str], message: str, *, base: str | None = None, path: str = "") -> GateResult:
    """Nothing admitted.  When the file has a learned rule, the result removes it (``base``: the authored
    grammar, which ``ddl check`` must still pass): the learned rule only ever holds what the current
    candidates prove, so a phrasing whose candidates are gone, or that no longer passes, goes too."""
    done = {r.alternative for r in refused}
    rest = [Refusal(a.written, message) for a in alternatives if a.written not in done and _key(a) in keep]
    if base is not None and base != text and check_source(base, path).ok:
        checks = ("the learned rule is removed: the grammar is the authored one again",
                  "ddl check: every obligation of the module proved")
        return GateResult(family, True, base, text_diff(text, base, path), (), (*refused, *rest), checks,
                          f"{message}; the learned rule is removed")
    return GateResult(family, False, text, "", (), (*refused, *rest), (), message)


def _parses_to(grammar: CompiledGrammar, family: CheckedFamily, evaluator: Any, utterance: str,
               theta: Mapping[str, Any] | None) -> str | None:
    result = grammar.match(utterance)
    if not result.ok:
        return f"not accepted ({result.error})"
    got, problems = validate_theta(family, evaluator, result.values or {}, values=True)
    if got is None:
        return "θ outside Θ: " + "; ".join(problems)
    if theta is None:
        return None
    want, problems = validate_theta(family, evaluator, dict(theta))
    if want is None:
        return "the recorded θ is outside Θ: " + "; ".join(problems)
    got_json = {k: to_json(v) for k, v in got.items()}
    want_json = {k: to_json(v) for k, v in want.items()}
    if got_json != want_json:
        return f"parses to {got_json}, recorded {want_json}"
    return None


def _overlap(family: CheckedFamily, evaluator: Any, grammar: CompiledGrammar,
             others: Sequence[RoutedFamily]) -> tuple[str, str] | None:
    """The first served family (of the same priority: only those can conflict) sharing an utterance with
    ``family``, and the witness; raises OverlapSearchTooLarge when the registry's search would.

    The search is the one the registry runs when it loads the widened file (all families at once,
    then, past the budget, each family's own).  A search that only follows ``family`` can stay
    within the budget while another family's passes it because of the widened grammar, and the
    registry then takes that family out of service; so the gate proves what the registry asks."""
    if not any(o.name != family.name and o.priority == (family.priority or 0) for o in others):
        return None
    specs = [*(o for o in others if o.name != family.name),
             RoutedFamily(family.name, family, evaluator, family.priority or 0, grammar)]
    router = Router.build(specs)
    # The pairs with ``family`` first, a search of their own: a conflict there (what most rounds of the
    # gate find) is one the registry's search finds too, at a fraction of its cost.  The registry's
    # search runs only when that one finds none.
    for search in (lambda: router.conflicts(involving={family.name}), router.conflicts):
        for o in search():
            if family.name in (o.first, o.second):
                return (o.second if o.first == family.name else o.first), o.witness
    return None


def _note(alternatives: Sequence[Alternative]) -> str:
    ids = sorted({i for a in alternatives for i in a.query_ids})
    n = sum(len(a.utterances) for a in alternatives)
    shown = ", ".join(str(i) for i in ids[:12]) + (", …" if len(ids) > 12 else "")
    return f" from {n} phrasing{'s' if n != 1 else ''}" + (f" (queries {shown})" if ids else "")


def _quoted(message: str) -> list[str]:
    """The utterances a diagnostic quotes ('…'), which name the witness of a refuted grammar obligation."""
    out: list[str] = []
    parts = message.split("'")
    for i in range(1, len(parts), 2):
        out.append(parts[i])
    return out


# ---------------------------------------------------------------------------- the source text


def _decls(text: str, path: str, family: str) -> tuple[A.FamilyDecl, A.GrammarDecl]:
    module, diags = parse_source(text, path)
    if module is None:
        raise WidenError(f"{path} does not parse: {diags[0].headline() if diags else 'syntax error'}")
    fam = next((f for f in module.families if f.name == family), None)
    if fam is None:
        raise WidenError(f"{path} has no family {family}")
    grammars = fam.of_kind(A.GrammarDecl)
    if not grammars:
        raise WidenError(f"family {family} has no grammar to widen")
    return fam, grammars[0]


def _learned_span(text: str, grammar: A.GrammarDecl) -> tuple[int, int] | None:
    """Where the learned block sits, if the grammar has one: the rules widening writes (``learned``, its
    helpers, the choices of rule extensions), one after the other, and the comment line above them."""
    at = max((i for i, r in enumerate(grammar.rules) if _is_learned(r.name)), default=None)
    if at is None:
        return None
    rule = first = grammar.rules[at]
    while at > 0 and _is_learned(grammar.rules[at - 1].name):
        at -= 1
        first = grammar.rules[at]
    start = text.rfind("\n", 0, first.span.start) + 1
    above = text.rfind("\n", 0, max(start - 1, 0)) + 1
    if text[above:start].strip().startswith(LEARNED_COMMENT):
        start = above
    elif not any(r.name == LEARNED_RULE for r in grammar.rules):
        return None  # no comment and no `learned` rule: the author's own rules, named `learned_…`
    end = rule.span.end
    if text[end:end + 1] == "\n":
        end += 1
    return start, end


def _base_text(text: str, path: str, family: str) -> str:
    """The module with the family's grammar as authored: no learned block, no ``| learned`` ending the body,
    no ``| learned_ext_R`` ending a rule."""
    _, grammar = _decls(text, path, family)
    span = _learned_span(text, grammar)
    if span is None:
        return text
    edits = [(span[0], span[1], "")]
    for regex, last in [(grammar.body, LEARNED_RULE), *((r.body, extension_name(r.name)) for r in grammar.rules)]:
        authored = _without_last(text, regex, last)
        if authored is not None:
            edits.append((regex.span.start, regex.span.end, authored))
    base = apply_edits(text, edits)
    if format_source(text, path)[0] == text:  # formatted, so the authored file was: the same bytes
        base = format_source(base, path)[0] or base
    return base


def _without_last(text: str, regex: A.Regex, name: str) -> str | None:
    """The source of ``regex`` without its last alternative when that is a reference to the rule ``name``
    (`(authored) | learned` as widen writes it, or `a | b | learned` once `ddl fmt` dropped the
    parentheses: the authored alternatives are the items before the last), else None."""
    if not (isinstance(regex, A.RAlt) and len(regex.items) > 1 and isinstance(regex.items[-1], A.RRef)
            and regex.items[-1].name == name and regex.items[-1].module is None):
        return None
    authored = text[regex.items[0].span.start:regex.items[-2].span.end]
    if authored.startswith("(") and authored.endswith(")") and len(regex.items) == 2 and _balanced(authored[1:-1]):
        authored = authored[1:-1]
    return authored


def _balanced(text: str) -> bool:
    """Whether the parentheses of ``text`` pair up outside text literals (so ``(text)`` is one group)."""
    depth, quoted, escaped = 0, False, False
    for ch in text:
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _key(alternative: Alternative) -> str:
    """What tells alternatives apart: the source, the rule it extends and the helper rules when it has any."""
    return alternative.written + "".join(f"\n{name} = {body}" for name, body in alternative.rules)


def _rules(alternatives: Sequence[Alternative]) -> tuple[tuple[str, str], ...]:
    """The helper rules the alternatives refer to (each once)."""
    out: dict[str, str] = {}
    for alternative in alternatives:
        for name, body in alternative.rules:
            if out.setdefault(name, body) != body:
                # One general alternative at a time carries them (a narrowed one replaces its parent).
                raise WidenError(f"two learned alternatives define the rule {name} differently")
    return tuple(out.items())


def _one_expression(alternative: Alternative) -> None:
    """A learned alternative is one grammar expression and nothing more: text that closed the rule and went
    on (``"a"; rule x = …``, a ``}``) would write more than an alternative into the module."""
    regex, diagnostics = parse_regex(alternative.source)
    if regex is None:
        raise WidenError(f"not one grammar expression: {diagnostics[0].headline() if diagnostics else 'syntax error'}")


def extension_name(rule: str) -> str:
    """The rule holding the choices a rule extension adds to the authored rule ``rule``."""
    return f"{LEARNED_RULE}_ext_{rule}"


def _extension(grammar: A.GrammarDecl, uses: tuple[frozenset[str], frozenset[str]],
               extensions: Sequence[Alternative]) -> dict[str, list[str]]:
    """The choices ``extensions`` add, by the rule they extend (``{"verb": ['"pull "']}``): only a rule of the
    grammar block, without parameters, that the grammar uses and that no ``~`` or ``except`` applies to.
    More choices for such a rule only add utterances, and every utterance of the authored grammar keeps
    its parse (spec/widen.md, "rule extensions")."""
    additions: dict[str, list[str]] = {}
    for alternative in extensions:
        assert alternative.extends is not None
        additions.setdefault(alternative.extends, []).append(alternative.source)
    local = {r.name: r for r in grammar.rules if not _is_learned(r.name)}
    positive, negative = uses
    for name in additions:
        rule = local.get(name)
        if rule is None:
            hint = did_you_mean(name, local)
            raise WidenError(f"`rule {name} += …`: the grammar has no rule {name} to extend"
                             + (f"; {hint}" if hint else ""))
        if rule.params:
            raise WidenError(f"`rule {name} += …`: rule {name} takes parameters; only a rule without parameters "
                             "is extended")
        if name in negative:
            raise WidenError(f"`rule {name} += …`: rule {name} is used under ~ or in the except clause, where more "
                             "choices would take utterances away from the grammar")
        if name not in positive:
            raise WidenError(f"`rule {name} += …`: no phrasing of the grammar uses rule {name}")
    return additions


@functools.lru_cache(maxsize=8)
def _rule_uses(base: str, path: str, family: str) -> tuple[frozenset[str], frozenset[str]]:
    """The rules ``family``'s grammar in the module ``base`` uses (by name, expanded), and those it uses under
    ``~`` or in ``except`` (cached: the gate renders one base many times)."""
    positive: set[str] = set()
    negative: set[str] = set()
    checked = _family_grammar(base, path, family).family.grammar
    assert checked is not None
    stack: list[tuple[A.Regex, bool]] = [(checked.body, False)]
    if checked.excluded is not None:
        stack.append((checked.excluded, True))
    while stack:
        node, negated = stack.pop()
        if isinstance(node, A.RNamed):
            (negative if negated else positive).add(node.label)
        children = (node.restrict,) if isinstance(node, A.RCapture) and node.restrict is not None \
            else regex_children(node)  # a restricted capture, `summary & ~(…)`, restricts by a regex too
        stack.extend((child, negated or isinstance(node, A.RNot)) for child in children)
    return frozenset(positive), frozenset(negative)


def _with_learned(base: str, path: str, family: str, alternatives: Sequence[Alternative], *, only: bool = False,
                  note: str = "", as_formatted: bool = False) -> str:
    """``base`` (an authored grammar) with the learned block of ``alternatives``: the rule ``learned`` of the
    plain ones (and the helper rules they refer to, written above it), and for each rule extension its
    choices as ``learned_ext_R``, ending the authored rule R with ``| learned_ext_R``; ``only``: the body is
    just the rule ``learned`` (an extension's grammar is the authored one extended); ``as_formatted``:
    written as ``ddl fmt`` writes it (for a base that is)."""
    for alternative in alternatives:
        _one_expression(alternative)
    sources = [a.source for a in alternatives if a.extends is None]
    rules = [*_rules(alternatives)]
    extensions = [a for a in alternatives if a.extends is not None]
    _, grammar = _decls(base, path, family)
    additions = _extension(grammar, _rule_uses(base, path, family), extensions) if extensions else {}
    rules.extend((extension_name(name), " | ".join(choices)) for name, choices in additions.items())
    if not sources and not rules:
        raise WidenError("nothing to learn")
    body_start, body_end = grammar.body.span.start, grammar.body.span.end
    line_start = base.rfind("\n", 0, body_start) + 1
    indent = " " * (body_start - line_start) if not base[line_start:body_start].strip() else "    "
    block = (f"{indent}{LEARNED_COMMENT}{note}; checked like the rest of the family (spec/widen.md).\n"
             + "".join(f"{indent}rule {name} = {body};\n" for name, body in rules)
             + (f"{indent}rule {LEARNED_RULE} = " + f"\n{indent}  | ".join(sources) + ";\n" if sources else ""))
    body = base[body_start:body_end]
    if not sources:
        new_body = body
    else:
        new_body = LEARNED_RULE if only else f"({body}) | {LEARNED_RULE}"
    edits = [(line_start, body_end, block + indent + new_body) if not base[line_start:body_start].strip()
             else (body_start, body_end, "\n" + block + indent + new_body)]  # the body shares its line: a new one
    for rule in grammar.rules:
        if rule.name in additions:
            authored = base[rule.body.span.start:rule.body.span.end]
            edits.append((rule.body.span.start, rule.body.span.end, f"({authored}) | {extension_name(rule.name)}"))
    widened = apply_edits(base, edits)
    # A file kept as `ddl fmt` writes it stays so (a learned rule is thousands of characters on one line
    # otherwise, and `ddl fmt --check` would fail); any other file keeps its own layout. What is checked
    # is what is written.
    if not as_formatted:
        return widened
    formatted, _ = format_source(widened, path)
    return formatted if formatted is not None else widened


def _family_grammar(text: str, path: str, family: str) -> CompiledGrammar:
    checked, diags = compile_source(text, path)
    errors = [d for d in diags if d.is_error]
    fam = checked.families.get(family) if checked is not None and not errors else None
    if checked is None or fam is None:
        raise WidenError("; ".join(d.headline() for d in errors[:3]) or f"no family {family}")
    return CompiledGrammar(fam, Evaluator(checked))


def authored_excerpt(text: str, path: str, family: str) -> str:
    """The family's parameter declarations and its grammar block as authored (no learned rule), as the
    source says them: what the model learner is shown of the family (``ddl.widen.propose``)."""
    base = _base_text(text, path, family)
    fam, grammar = _decls(base, path, family)
    params = [base[p.span.start:p.span.end] for p in fam.of_kind(A.ParamDecl)]
    return "\n".join([*params, base[grammar.span.start:grammar.span.end]])
