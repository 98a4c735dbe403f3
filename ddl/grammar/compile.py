"""Compile a family's (expanded) grammar into the regular engine, extract θ, render φ(θ).

The checker has already expanded rules, calls and value forms (ddl/types/grammar.py); what
arrives here names only captures (``RCapture``: a parameter in one of its value forms) and
constant settings (``RValue``).  Each becomes an engine capture with a name of its own:

=====================  ===========================  ==========================================
written                engine capture name          its language
=====================  ===========================  ==========================================
``count``              ``count``                    the parameter's canonical texts (below)
``number(count)``      ``count:number``             canonical ∪ "1,200" ∪ number words
``{tip = 0}``          ``tip=0`` (by setting)       the empty string (the value is a constant)
=====================  ===========================  ==========================================

Canonical texts are derived from the parameter's domain (spec/grammar.md):

=============================  ==================================================
parameter type                 capture language
=============================  ==================================================
``Int in a..b``                canonical numerals of a..b; a ``where`` over this
                               parameter alone is folded in when the range has at
                               most 10,000 values
``Int``                        numerals of at most 18 digits
``Decimal(s) in lo..hi``       numerals of values in lo..hi, 0..s fraction digits
``enum``                       every variant's display text and aliases, each
                               followed by a value mark (Tag) naming the variant
``Text(max n, pattern p)``     p ∩ strings of length ≤ n (any text if no pattern)
``Bool``                       true, false, yes, no (marked like an enum)
``Option[T]``                  T's; absent means ``none``
``List[T, max n]``             1..n items of T separated by ", ", " and ", ", and "
=============================  ==================================================

Options: ``ignore_case`` (letters match in any case — except inside a Text capture, whose
pattern says which letters it takes, so Θ stays sound; enum texts are looked up
case-insensitively) and
``normalize_space`` (the utterance is trimmed and every whitespace run becomes
one space before matching).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs
from pyrsistent import pvector

from ddl.diagnostics import Span
from ddl.eval import Ok
from ddl.grammar import forms as F
from ddl.grammar.numerals import decimal_range, int_range
from ddl.regular import (
    DEFAULT_LIMITS,
    EMPTY,
    EPSILON,
    CharSet,
    Lang,
    Limits,
    Matcher,
    Regex,
    alt,
    any_char,
    cap,
    case_key,
    chars,
    comp,
    inter,
    lit,
    opt,
    rep,
    seq,
    share_repeated,
)
from ddl.regular import ignore_case as fold_case
from ddl.regular.ast import Tag, rename_captures
from ddl.regular.errors import RegularError
from ddl.regular.paths import Filter, PathSearch, tagged_program
from ddl.regular.tagged import BRANCH
from ddl.syntax import ast as A
from ddl.tree import nodes
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedParam
from ddl.types.grammar import regex_children, scalar
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, ListT, OptionT, TextT, Type
from ddl.types.regex import convert_regex
from ddl.values import NONE, EnumV, NoneV, SomeV, Value, show_value

LEARNED_RULE = "learned"  # the rule `ddl widen` writes a family's learned phrasings into (spec/widen.md)

FOLD_WHERE_LIMIT = 10_000
BOOL_TEXTS = {"true": True, "yes": True, "false": False, "no": False}
LIST_SEPARATORS = (", ", " and ", ", and ")


def normalize_space(utterance: str) -> str:
    """Trim and collapse every whitespace run to one space (``normalize_space``).

    ``str.split()`` splits on exactly the characters ``\\s`` matches in a ``str`` regex
    (both use Unicode's White_Space test) and is several times faster than ``re.sub``.
    """
    return " ".join(utterance.split())


# How a capture's text becomes its value (CompiledGrammar.conversion).
CONVERT_INT, CONVERT_LOOKUP, CONVERT_LOOKUP_CASE, CONVERT_TEXT, CONVERT_CALL = range(5)


class GrammarError(Exception):
    """A grammar cannot be compiled (a capture of an uncapturable type, automaton too large)."""

    def __init__(self, message: str, span: Span, code: str = "DDL220"):
        super().__init__(message)
        self.message = message
        self.span = span
        self.code = code


@attrs.frozen(eq=False)
class CaptureSpec:
    """One engine capture: which parameter it sets and how its text becomes a value."""

    name: str  # the engine capture's name
    param: str
    type: Type  # the parameter's declared type
    regex: Regex  # the capture's language (case as written)
    exact: bool  # the capture language is exactly the utterable domain (where included)
    note: str | None = None  # why it is not exact
    form: str = "plain"
    forms: tuple[F.Form, ...] = ()  # how a text (of a list item) converts, tried in order
    args: tuple[int, ...] = ()  # the form's integer arguments as written (``padded(minute, 2)``)
    keyed: bool = False  # enum / Bool: value marks (Tag) follow each spelling
    const: Value | None = None  # a constant setting ({x = v})
    lookup: Mapping[str, Value] | None = None  # enum / Bool texts → values
    list_max: int | None = None  # a List parameter: at most this many items
    item: Regex | None = None  # a List parameter: one item's language
    restricted: bool = False  # written `x & R`: the capture takes only the texts of R

    @property
    def is_const(self) -> bool:
        return self.const is not None


@attrs.frozen
class MatchResult:
    """G(u): the captured values (with defaults filled) or why there is no match."""

    values: dict[str, Value] | None
    captured: dict[str, str]
    error: str | None
    prefix: int  # length of the longest prefix that can still be extended to a match
    normalized: str

    @property
    def ok(self) -> bool:
        return self.values is not None


def param_refs(node: ir.Node | None) -> set[str]:
    """Parameters a where-clause refers to."""
    return {n.name for n in nodes(node) if isinstance(n, ir.Param)} if node is not None else set()


def where_holds(evaluator: Any, param: CheckedParam, value: Value) -> bool:
    """Does ``param``'s where-refinement hold at ``value``? (Only for a where over ``param`` alone.)"""
    if param.where is None:
        return True
    out = evaluator.eval_closed(param.where, params={param.name: value})
    return isinstance(out, Ok) and out.value is True


def default_value(evaluator: Any, param: CheckedParam) -> Value | None:
    """The parameter's default, evaluated (None when it has none)."""
    if param.default is None:
        return None
    out = evaluator.eval_closed(param.default)
    return out.value if isinstance(out, Ok) else None


class CompiledGrammar:
    def __init__(self, family: CheckedFamily, evaluator: Any, *, limits: Limits = DEFAULT_LIMITS) -> None:
        grammar = family.grammar
        assert grammar is not None
        self.family = family
        self.decl = grammar.decl
        self.checked = grammar
        self.evaluator = evaluator
        self.limits = limits
        self.ignore_case = grammar.ignore_case
        self.normalize_space = grammar.normalize_space
        self.params = {p.name: p for p in family.params}
        self.captures: dict[str, CaptureSpec] = {}
        self._restrictions: dict[tuple[str, A.Regex], int] = {}
        regex = convert_regex(grammar.body, self._capture)
        # Rules used at many places (a learned grammar's filler words) are built once: share_repeated.
        self._share = _reuses_a_rule(grammar.decl)
        self.plain_regex: Regex = self._shared(regex)  # as written: what samples are drawn from
        self.regex: Regex = self._shared(self.fold(regex))
        # `except R`: the family's language is body − R (R captures nothing; the checker ensures it).
        self.plain_excluded: Regex | None = (convert_regex(grammar.excluded, self._capture)
                                             if grammar.excluded is not None else None)
        self.excluded: Regex | None = (self.fold(self.plain_excluded) if self.plain_excluded is not None
                                       else None)
        self._matcher: Matcher | None = None
        self._lang: Lang | None = None
        self._plain_lang: Lang | None = None
        self._excluded_lang: Lang | None = None
        self._filter: Filter | None = None
        self._item_matchers: dict[str, Matcher] = {}
        self._capture_langs: dict[str, Lang] = {}
        self._converters: dict[str, tuple[str, Callable[[str], Value]]] = {}
        self._scalar_plans: dict[str, _ScalarPlan] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its family (value forms hold functions, which do not pickle).
        return (_rebuild_grammar, (self.family, self.evaluator, self.limits))

    def _shared(self, regex: Regex) -> Regex:
        return share_repeated(regex, self.limits) if self._share else regex

    # ------------------------------------------------------------------ captures

    def fold(self, regex: Regex) -> Regex:
        """``regex`` under the grammar's case option: with ``ignore_case`` every letter matches in any case,
        except inside Text captures (their patterns decide case: a capture never leaves its domain)."""
        if not self.ignore_case:
            return regex
        keep = frozenset(name for name, spec in self.captures.items() if isinstance(scalar(spec.type), TextT))
        return fold_case(regex, keep)

    def param_of(self, name: str) -> str:
        """The parameter an engine capture sets."""
        return self.captures[name].param

    def _capture(self, node: A.RCapture | A.RValue, span: Span) -> Regex:
        if isinstance(node, A.RValue):
            name = f"{node.param}={node.index}"
            spec = self.captures.get(name)
            if spec is None:
                value = self._constant(node)
                spec = self.captures[name] = CaptureSpec(name, node.param, self.params[node.param].type, EPSILON,
                                                         True, const=value)
            return cap(name, EPSILON)
        name = self.capture_name(node)
        spec = self.captures.get(name)
        if spec is None:
            spec = self.capture_spec(self.params[node.param], span, node.form, node.args, name)
            if node.restrict is not None:
                # The restriction is the grammar's own words: it follows the grammar's case option even
                # where the capture keeps its case (a Text capture's pattern decides its letters).
                restrict = convert_regex(node.restrict)
                restrict = fold_case(restrict) if self.ignore_case else restrict
                spec = attrs.evolve(spec, regex=inter(spec.regex, restrict), restricted=True)
            self.captures[name] = spec
        return cap(name, spec.regex)

    def capture_name(self, node: A.RCapture) -> str:
        """The engine capture of a parameter in a form (and restriction): ``count``, ``count:number``, ``dir&1``."""
        name = node.param + ("" if node.form == "plain" else f":{node.form}{''.join(str(a) for a in node.args)}")
        if node.restrict is not None:
            key = (name, node.restrict)
            index = self._restrictions.setdefault(key, len(self._restrictions) + 1)
            name += f"&{index}"
        return name

    def _constant(self, node: A.RValue) -> Value:
        out = self.evaluator.eval_closed(node.value)
        if not isinstance(out, Ok):  # pragma: no cover - constants type-checked; evaluation cannot fail
            raise GrammarError(f"the value of {node.param} cannot be computed", node.span)
        value = out.value
        if isinstance(self.params[node.param].type, OptionT) and not isinstance(value, (SomeV, NoneV)):
            value = SomeV(value)
        return value  # type: ignore[no-any-return]

    def capture_spec(self, param: CheckedParam, span: Span, form: str = "plain", args: tuple[int, ...] = (),
                     name: str | None = None) -> CaptureSpec:
        name = name or param.name
        t = param.type
        base = scalar(t)
        where_refs = param_refs(param.where)
        own_where = param.where is not None and where_refs == {param.name} and not isinstance(t, (ListT, OptionT))
        if isinstance(base, EnumT):
            return self._enum_spec(param, base, name, own_where)
        if isinstance(base, BoolT):
            lookup = {case_key(k): v for k, v in BOOL_TEXTS.items()}
            regex = alt(*(seq(lit(s), Tag(name, v)) for s, v in BOOL_TEXTS.items()))
            return self._wrap(CaptureSpec(name, param.name, t, regex, param.where is None, keyed=True, lookup=lookup),
                              base)
        item_forms, exact, note = self._forms(param, base, form, args, own_where, span)
        item = alt(*(f.regex for f in item_forms))
        if isinstance(base, TextT) and self.normalize_space and form == "plain":
            # After normalization an utterance has no whitespace runs, no edge spaces, no tabs/newlines.
            item = inter(item, _normalized_text())
        spec = CaptureSpec(name, param.name, t, item, exact, note, form, tuple(item_forms), args)
        return self._wrap(spec, base)

    def _wrap(self, spec: CaptureSpec, base: Type) -> CaptureSpec:
        """A List parameter's capture: items with separators."""
        t = spec.type
        if not isinstance(t, ListT):
            return spec
        assert t.max_len is not None
        sep = alt(*(lit(s) for s in LIST_SEPARATORS))
        item = spec.regex if not spec.keyed else _untagged(spec)
        regex = seq(item, rep(seq(sep, item), 0, max(t.max_len - 1, 0)))
        return attrs.evolve(spec, regex=regex, keyed=False, list_max=t.max_len, item=item)

    def _enum_spec(self, param: CheckedParam, t: EnumT, name: str, fold: bool) -> CaptureSpec:
        lookup: dict[str, EnumV] = {}
        branches: list[Regex] = []
        for variant, display, aliases in zip(t.variants, t.displays, t.aliases or ((),) * len(t.variants)):
            value = EnumV(f"{t.origin}::{t.name}", variant, display)
            if fold and not where_holds(self.evaluator, param, value):
                continue  # a `where` that mentions only this parameter is folded in
            texts = [display, *aliases]
            for text in texts:
                lookup[case_key(text) if self.ignore_case else text] = value
            # Longer texts first so that leftmost-first matching prefers "science fiction" over "science".
            texts.sort(key=lambda s: (-len(s), s))
            branches.append(seq(alt(*(lit(s) for s in texts)), Tag(name, variant)))
        exact = param.where is None or fold
        spec = CaptureSpec(name, param.name, param.type, alt(*branches) if branches else EMPTY, exact,
                           None if exact else "its where-refinement involves other parameters", keyed=True,
                           lookup=lookup)
        return self._wrap(spec, t)

    def int_domain(self, param: CheckedParam, t: IntT, fold: bool) -> tuple[F.IntDomain, bool, str | None]:
        if param.where is not None and fold and t.bounded:
            assert t.lo is not None and t.hi is not None
            if t.hi - t.lo < FOLD_WHERE_LIMIT:
                values = tuple(v for v in range(t.lo, t.hi + 1) if where_holds(self.evaluator, param, v))
                return F.IntDomain(t.lo, t.hi, values), True, None
        note = None
        if param.where is not None:
            note = ("its where-refinement involves other parameters" if not fold
                    else f"its range has more than {FOLD_WHERE_LIMIT} values")
        return F.IntDomain(t.lo, t.hi), param.where is None, note

    def _forms(self, param: CheckedParam, base: Type, form: str, args: tuple[int, ...], fold: bool,
               span: Span) -> tuple[list[F.Form], bool, str | None]:
        """The forms of one capture (of one list item) and whether they are exact."""
        if isinstance(base, IntT):
            dom, exact, note = self.int_domain(param, base, fold)
            canonical = F.identity_form("digits", dom.canonical(), _canonical_spell(dom.contains))
            if form == "plain":
                return [canonical], exact, note
            if form == "number":
                return [canonical, F.int_grouped(dom), F.int_words(dom)], exact, note
            if form == "words":
                return [F.int_words(dom)], exact, note
            if form == "grouped":
                below = F.IntDomain(dom.lo, min(999, dom.hi) if dom.hi is not None else 999, dom.values)
                small = F.identity_form("digits", below.canonical(),
                                        _canonical_spell(lambda v: dom.contains(v) and abs(v) < 1000))
                return [small, F.int_grouped(dom)], exact, note
            if form == "padded":
                return [F.int_padded(dom, args[0])], exact, note
            if form == "decade":
                return [F.int_decade(dom, args[0] if args else None)], exact, note
        if isinstance(base, DecimalT):
            dom_d = F.DecDomain(base.scale, base.lo, base.hi)
            exact = param.where is None
            note = "it has a where-refinement" if param.where is not None else None
            canonical = F.identity_form("digits", dom_d.canonical(), _canonical_spell(lambda v: dom_d.contains(v)))
            if form == "plain":
                return [canonical], exact, note
            if form == "number":
                return [canonical, F.dec_grouped(dom_d), F.dec_words(dom_d)], exact, note
            if form == "words":
                return [F.dec_words(dom_d)], exact, note
            if form == "grouped":
                return [canonical, F.dec_grouped(dom_d)], exact, note
        if isinstance(base, TextT):
            exact = param.where is None
            domain = self.text_domain(base)
            plain = F.identity_form("text", domain, lambda v: v if isinstance(v, str) else None)
            if form == "plain":
                return [plain], exact, None
            lang = Lang.from_regex(domain, limits=self.limits)
            if form == "date":
                return [plain, F.text_date(lang)], exact, None
            if form == "month_day":
                return [plain, F.text_month_day(lang)], exact, None
        raise GrammarError(f"{form}() cannot capture parameter '{param.name}' of type {param.type}", span)

    def text_domain(self, t: TextT) -> Regex:
        base: Regex = convert_regex(t.pattern) if t.pattern is not None else rep(any_char(), 0, None)
        if t.max_len is not None:
            base = inter(base, rep(any_char(), 0, t.max_len))
        return base

    def domain(self, spec: CaptureSpec) -> Regex | None:
        """The canonical texts of the parameter's values (what a form's image must stay within)."""
        base = scalar(spec.type)
        p = self.params[spec.param]
        if isinstance(base, IntT):
            own = p.where is not None and param_refs(p.where) == {p.name} and not isinstance(spec.type, (ListT, OptionT))
            return self.int_domain(p, base, own)[0].canonical()
        if isinstance(base, DecimalT):
            return decimal_range(base.scale, base.lo, base.hi)
        if isinstance(base, TextT):
            return self.text_domain(base)
        return None

    # ------------------------------------------------------------------ the ambiguity search's view

    KEYED_VALUES = 100  # Int captures with at most this many values are compared by value

    def keyed_values(self, spec: CaptureSpec) -> list[int] | None:
        """The values of a small Int capture (compared by value in the ambiguity search), else None."""
        base = scalar(spec.type)
        if not isinstance(base, IntT) or isinstance(spec.type, ListT) or spec.const is not None:
            return None
        p = self.params[spec.param]
        own = p.where is not None and param_refs(p.where) == {p.name} and not isinstance(spec.type, OptionT)
        dom = self.int_domain(p, base, own)[0]
        if dom.values is not None:
            return list(dom.values) if len(dom.values) <= self.KEYED_VALUES else None
        if dom.lo is None or dom.hi is None or dom.hi - dom.lo >= self.KEYED_VALUES:
            return None
        return list(range(dom.lo, dom.hi + 1))

    def ambiguity_view(self) -> tuple[Regex, list[str]]:
        """The grammar as the ambiguity search sees it, and the captures compared by value.

        Every capture of a parameter (its forms, its restrictions) is named after the parameter, so
        two parses are compared parameter by parameter; enum, Bool and small Int captures are marked by
        value (Tag) after each spelling, so "5" and "five" are one value. The same language as
        :attr:`regex` (each value's spellings in its forms are exactly the form's texts). Constant
        settings keep their own names (``tip=0``).
        """
        keyed = {s.param for s in self.captures.values() if s.keyed}

        def capture(node: A.RCapture | A.RValue, span: Span) -> Regex:
            regex = self._capture(node, span)
            if isinstance(node, A.RValue):
                return regex
            name = self.capture_name(node)
            spec = self.captures[name]
            values = self.keyed_values(spec)
            if values is None:
                return regex
            keyed.add(spec.param)
            # A restricted capture (`number(n) & ~"a"`) keeps only the spellings its restriction admits.
            admitted = self.capture_lang(name).contains if spec.restricted else (lambda _t: True)
            marked = []
            for v in values:
                spellings = [t for f in spec.forms for t in f.spellings(v) if admitted(t)]
                if spellings:
                    marked.append(seq(alt(*(lit(t) for t in spellings)), Tag(name, v)))
            return cap(name, alt(*marked))

        parts = self.widened_parts()
        if parts is not None:
            # A widened grammar, `(authored) | learned`, is ordered: an utterance the authored part accepts
            # is read by it (spec/grammar.md, "the learned rule is a fallback"). Its two parts are the
            # search's two branches (each begins with a BRANCH mark, which the search never compares), and
            # two parses are compared only within one of them.
            view = alt(*(seq(Tag(BRANCH, i), convert_regex(part, capture)) for i, part in enumerate(parts)))
        else:
            view = convert_regex(self.checked.body, capture)
        names = {name: spec.param for name, spec in self.captures.items() if not spec.is_const}
        return self._shared(rename_captures(self.fold(view), names)), sorted(keyed)

    def widened_parts(self) -> tuple[A.Regex, A.Regex] | None:
        """``(authored, learned)`` for a widened grammar — a body whose last alternative is the rule
        ``learned`` (spec/widen.md) —, else None.  The order matters: the learned rule reads only what
        the authored part does not accept (leftmost-first, spec/grammar.md)."""
        body = self.checked.body
        if not (isinstance(body, A.RAlt) and len(body.items) >= 2 and isinstance(body.items[-1], A.RNamed)
                and body.items[-1].label == LEARNED_RULE):
            return None
        authored = body.items[0] if len(body.items) == 2 else A.RAlt(body.items[:-1], body.span)
        return authored, body.items[-1]

    def branch_regexes(self) -> tuple[Regex, Regex] | None:
        """The authored and learned parts of a widened grammar as :attr:`regex` is built (the same captures),
        else None: an extractor of the whole grammar must try them in this order."""
        parts = self.widened_parts()
        if parts is None:
            return None
        first, second = (self._shared(self.fold(convert_regex(part, self._capture))) for part in parts)
        return first, second

    def convert_param(self, param: str, text: str) -> Value:
        """The value ``text`` denotes for ``param``, through whichever of its captures accepts it."""
        specs = [s for s in self.captures.values() if s.param == param and not s.is_const]
        for spec in specs:
            if len(specs) == 1 or self.capture_lang(spec.name).contains(text):
                return self.convert(spec.name, text)
        return self.convert(specs[0].name, text)

    # ------------------------------------------------------------------ engines
    # (lazy: a family that is only run on θ never builds automata)

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            self._matcher = Matcher(self.regex, limits=self.limits)
        return self._matcher

    @property
    def lang(self) -> Lang:
        """The whole language as one DFA (may be large: the checks never need it)."""
        if self._lang is None:
            lang = Lang.from_regex(self.regex, limits=self.limits)
            self._lang = lang if self.excluded is None else lang.difference(self.excluded_lang)
        return self._lang

    @property
    def excluded_lang(self) -> Lang:
        """The language of the `except` clause (case folded like the grammar); empty without one."""
        if self._excluded_lang is None:
            self._excluded_lang = (Lang.from_regex(self.excluded, limits=self.limits) if self.excluded is not None
                                   else Lang.empty())
        return self._excluded_lang

    def is_excluded(self, normalized: str) -> bool:
        return self.excluded is not None and self.excluded_lang.contains(normalized)

    @property
    def plain_lang(self) -> Lang:
        """The language as written (no case folding): readable samples, same θ under ignore_case."""
        if not self.ignore_case:
            return self.lang
        if self._plain_lang is None:
            plain = Lang.from_regex(self.plain_regex, limits=self.limits)
            self._plain_lang = plain if self.plain_excluded is None else plain.difference(
                Lang.from_regex(self.plain_excluded, limits=self.limits))
        return self._plain_lang

    @property
    def utterance_lang(self) -> Lang:
        """The utterances as written that the family answers: the plain language, normalized when the
        grammar normalizes spaces (a sample with a double space would never reach the matcher)."""
        if self.normalize_space:
            return self.plain_lang.intersect(Lang.from_regex(_normalized_text(), limits=self.limits))
        return self.plain_lang

    def samples(self, rng: Any, count: int, max_length: int) -> list[str]:
        """``count`` utterances of at most ``max_length`` characters: uniform among those of a random
        length when the language's DFA can be built, else by random walks on the NFA."""
        try:
            lang = self.utterance_lang
        except RegularError:

            search = PathSearch(tagged_program(self.plain_regex, limits=self.limits), self.filter,
                                limits=self.limits)
            return [w for w in (search.walk(rng, max_length) for _ in range(count)) if w is not None]
        lengths = [n for n in lang.lengths(max_length) if lang.count(n) > 0]
        if not lengths:
            return []
        return [lang.sample(rng, rng.choice(lengths)) for _ in range(count)]

    @property
    def filter(self) -> Filter:
        """What an utterance must also satisfy to count: normalized (with ``normalize_space``) and
        outside the ``except`` clause (case folded as the grammar is)."""
        if self._filter is None:
            lang: Lang | None = None
            if self.normalize_space:
                lang = Lang.from_regex(_normalized_text(), limits=self.limits)
            if self.excluded is not None:
                outside = self.excluded_lang.complement()
                lang = outside if lang is None else lang.intersect(outside)
            self._filter = Filter(lang.dfa if lang is not None else None)
        return self._filter

    # ------------------------------------------------------------------ G(u)

    def normalize(self, utterance: str) -> str:
        if self.normalize_space:
            return normalize_space(utterance)
        return utterance

    def match(self, utterance: str) -> MatchResult:
        u = self.normalize(utterance)
        try:
            spans = self.matcher.fullmatch_spans(u)
        except RegularError as err:
            return MatchResult(None, {}, str(err), 0, u)
        if spans is None:
            prefix = self.matcher.longest_prefix(u)
            if prefix >= len(u):
                why = "the utterance ends too early"
            else:
                why = f"no match at character {prefix + 1} ({u[prefix]!r})"
            shown = u[:prefix]
            return MatchResult(None, {}, f"{why}; the longest matched prefix is {shown!r}", prefix, u)
        if self.is_excluded(u):
            return MatchResult(None, {}, "the utterance is excluded by the grammar's except clause", len(u), u)
        groups = {name: (u[sp[0]:sp[1]] if sp is not None else None) for name, sp in spans.items()}
        values = self.values(groups, spans)
        captured = {self.param_of(k): v for k, v in groups.items() if v is not None}
        return MatchResult(values, captured, None, len(u), u)

    def values(self, groups: Mapping[str, str | None],
               spans: Mapping[str, tuple[int, int] | None] | None = None) -> dict[str, Value]:
        """θ's captured part from the engine's captures: each parameter from its last capture."""
        out: dict[str, Value] = {}
        ends: dict[str, int] = {}
        converters = self._converters
        for name, text in groups.items():
            if text is None:
                continue
            plan = converters.get(name)
            if plan is None:
                plan = self.converter(name)
            param, convert = plan
            end = spans[name][1] if spans is not None and spans.get(name) is not None else 0  # type: ignore[index]
            if param in out and end < ends[param]:
                continue
            out[param] = convert(text)
            ends[param] = end
        return out

    def conversion(self, name: str) -> tuple[str, int, Any]:
        """(the parameter, a kind, its argument): how one engine capture's text becomes its value, with
        :meth:`convert`'s decisions taken once.  The kinds: ``CONVERT_INT`` ``int(text)``; ``CONVERT_LOOKUP``
        ``argument[text]``; ``CONVERT_LOOKUP_CASE`` ``argument[case_key(text)]``; ``CONVERT_TEXT`` the text
        itself; ``CONVERT_CALL`` ``argument(text)``.  Data, not a function, so that the router's hit runs
        one shared loop over every family's captures (:meth:`converter` is the same as a function)."""
        spec = self.captures[name]  # KeyError for a name that is no capture, as param_of
        if spec.const is not None or isinstance(spec.type, ListT):
            return spec.param, CONVERT_CALL, functools.partial(self.convert, name)
        base = scalar(spec.type)
        option = isinstance(spec.type, OptionT)
        lookup = spec.lookup
        forms = spec.forms
        if lookup is not None and not option:
            if self.ignore_case or isinstance(base, BoolT):
                return spec.param, CONVERT_LOOKUP_CASE, lookup
            return spec.param, CONVERT_LOOKUP, lookup
        if lookup is None and not option and len(forms) <= 1 and isinstance(base, IntT):
            first = forms[0].convert if forms else None
            if first is None or first is F._identity:
                return spec.param, CONVERT_INT, None
            return spec.param, CONVERT_CALL, lambda text: int(first(text))
        if lookup is None and not option and len(forms) <= 1 and not isinstance(base, (IntT, DecimalT)):
            # What _convert_scalar returns for such a capture (a Text): its one form's canonical text.
            if not forms or forms[0].convert is F._identity:
                return spec.param, CONVERT_TEXT, None
            return spec.param, CONVERT_CALL, forms[0].convert
        return spec.param, CONVERT_CALL, functools.partial(self.convert, name)

    def converter(self, name: str) -> tuple[str, Callable[[str], Value]]:
        """(the parameter, text → value) of one engine capture: :meth:`conversion` as a function."""
        plan = self._converters.get(name)
        if plan is not None:
            return plan
        param, kind, arg = self.conversion(name)
        convert: Callable[[str], Value]
        if kind == CONVERT_INT:
            convert = int
        elif kind == CONVERT_LOOKUP:
            convert = arg.__getitem__
        elif kind == CONVERT_LOOKUP_CASE:
            def convert(text: str) -> Value:
                return arg[case_key(text)]
        elif kind == CONVERT_TEXT:
            convert = F._identity
        else:
            convert = arg
        plan = self._converters[name] = (param, convert)
        return plan

    def hit_kit(self) -> HitKit | None:
        """What deciding θ of an accepted utterance needs, without this grammar: its matcher and how each
        capture converts (:class:`HitKit`); None when a capture converts in a way a kit does not hold (a
        List, a form whose conversion is a closure)."""
        plans: dict[str, _Plan] = {}
        for name, spec in self.captures.items():
            if spec.const is not None:
                plans[name] = (spec.param, spec.const, None, False)
                continue
            if isinstance(spec.type, ListT):
                return None
            plans[name] = (spec.param, None, self._scalar_plan(spec), isinstance(spec.type, OptionT))
        return HitKit(self.matcher, plans)

    def convert(self, name: str, text: str) -> Value:
        """The value a capture's text denotes."""
        spec = self.captures.get(name)
        if spec is None:  # a parameter's own name with no capture of that name: its plain capture
            spec = self.captures[name] = self.capture_spec(self.params[name], self.params[name].span)
        if spec.const is not None:
            return spec.const
        t = spec.type
        if isinstance(t, ListT):
            return pvector(self._convert_scalar(spec, item) for item in self.list_items(spec, text))
        value = self._convert_scalar(spec, text)
        return SomeV(value) if isinstance(t, OptionT) else value

    def _convert_scalar(self, spec: CaptureSpec, text: str) -> Value:
        return scalar_value(text, *self._scalar_plan(spec))

    def _scalar_plan(self, spec: CaptureSpec) -> _ScalarPlan:
        """How one item of ``spec``'s capture converts, as data (:func:`scalar_value`; a HitKit keeps it)."""
        plan = self._scalar_plans.get(spec.name)
        if plan is not None:
            return plan
        base = scalar(spec.type)
        forms = spec.forms
        plan = self._scalar_plans[spec.name] = (spec.lookup, self.ignore_case or isinstance(base, BoolT),
                tuple((f.convert, f.lang if len(forms) > 1 else None) for f in forms),
                "int" if isinstance(base, IntT) else "decimal" if isinstance(base, DecimalT) else "other",
                base.scale if isinstance(base, DecimalT) else 0)
        return plan

    def list_items(self, spec: CaptureSpec, text: str) -> list[str]:
        """The items of a List capture's text (its decomposition is unique: grammar-sound checks it)."""
        matcher = self._item_matchers.get(spec.name)
        if matcher is None:
            assert spec.item is not None and spec.list_max is not None
            split = list_items_regex(spec.item, spec.list_max)
            keep_case = isinstance(scalar(spec.type), TextT)
            matcher = self._item_matchers[spec.name] = Matcher(
                fold_case(split) if self.ignore_case and not keep_case else split, limits=self.limits)
        groups = matcher.fullmatch(text)
        if groups is None:  # pragma: no cover - the capture's language is the items regex's
            raise GrammarError(f"the list {text!r} does not split into items", self.checked.span)
        items = [groups.get(f"item{i}") for i in range(spec.list_max or 0)]
        return [item for item in items if item is not None]

    # ------------------------------------------------------------------ φ(θ)

    def render(self, theta: Mapping[str, Value], *, respect_except: bool = True) -> str | None:
        """A canonical utterance for θ: the first alternative that can express the needed values.

        Returns None when the grammar cannot express θ (or uses & / ~ around captures).
        """
        needed = {p.name for p in self.family.params
                  if self._captured(p.name) and (p.default is None or default_value(self.evaluator, p) != theta.get(p.name))}
        try:
            text = _Renderer(self, theta, needed).render(self.checked.body)
        except _CannotRender:
            return None
        if respect_except and self.is_excluded(self.normalize(text)):
            return None  # the canonical utterance for θ is one the family declines
        if self.match(text).values is None:
            return None
        return text

    def capture_lang(self, name: str) -> Lang:
        """The texts one capture accepts (case folded like the grammar)."""
        got = self._capture_langs.get(name)
        if got is None:
            spec = self.captures[name]
            keep_case = isinstance(scalar(spec.type), TextT)
            regex = fold_case(spec.regex) if self.ignore_case and not keep_case else spec.regex
            got = self._capture_langs[name] = Lang.from_regex(regex, limits=self.limits)
        return got

    def _captured(self, param: str) -> bool:
        return any(s.param == param for s in self.captures.values())


def _reuses_a_rule(decl: A.GrammarDecl) -> bool:
    """Whether the grammar as written refers to one of its rules (or an imported one) more than once: only
    then can its expanded regex repeat a rule's body (read on the source, which is small, not the expansion)."""
    rules = {r.name for r in decl.rules}
    seen: set[tuple[str | None, str]] = set()
    stack: list[A.Regex] = [decl.body, *(r.body for r in decl.rules)]
    while stack:
        node = stack.pop()
        if isinstance(node, (A.RRef, A.RCall)) and (node.module is not None or node.name in rules):
            key = (getattr(node, "module", None), node.name)
            if key in seen:
                return True
            seen.add(key)
        stack.extend(regex_children(node))
    return False


# How a capture's text (one item of it) becomes a scalar value, as data: (lookup, fold the lookup key, forms as
# (convert, language to tell them apart when there are several), base kind "int" | "decimal" | "other", scale).
_ScalarPlan = tuple["Mapping[str, Value] | None", bool, tuple[tuple[Callable[[str], str], "Lang | None"], ...], str,
                    int]
# One capture's conversion in a HitKit: (parameter, constant, its scalar plan, an Option).
_Plan = tuple[str, "Value | None", "_ScalarPlan | None", bool]


def scalar_value(text: str, lookup: Mapping[str, Value] | None, fold: bool,
                 forms: tuple[tuple[Callable[[str], str], Lang | None], ...], kind: str, scale: int) -> Value:
    """The scalar value a capture's text denotes (:meth:`CompiledGrammar._scalar_plan` gives the rest)."""
    if lookup is not None:
        return lookup[case_key(text) if fold else text]
    canonical = forms[0][0](text) if forms else text
    if len(forms) > 1:  # the forms of one capture are disjoint (grammar-sound checks it)
        canonical = next((convert(text) for convert, lang in forms if lang is not None and lang.contains(text)),
                         canonical)
    if kind == "int":
        return int(canonical)
    if kind == "decimal":
        return Decimal(canonical).quantize(Decimal(1).scaleb(-scale))
    return canonical


class HitKit:
    """A family's captures → θ's captured values, with no compiled grammar: its tagged matcher and each
    capture's conversion as data (:meth:`CompiledGrammar.hit_kit`).  It converts exactly as
    :meth:`CompiledGrammar.values` does (without spans: the last capture of a parameter wins), so a lazily
    opened registry can save it after a family's first hit and decide the next process's hits without
    rebuilding the grammar (spec/handler.md).  Pickled: load only bytes this user's cache sealed."""

    __slots__ = ("matcher", "plans")

    def __init__(self, matcher: Matcher, plans: dict[str, _Plan]) -> None:
        self.matcher = matcher
        self.plans = plans

    def __getstate__(self) -> tuple[Matcher, dict[str, _Plan]]:
        return self.matcher, self.plans

    def __setstate__(self, state: tuple[Matcher, dict[str, _Plan]]) -> None:
        self.matcher, self.plans = state

    def values(self, text: str) -> dict[str, Value] | None:
        """θ's captured part for ``text`` (None when the matcher does not accept it, or a capture has no plan)."""
        groups = self.matcher.fullmatch(text)
        if groups is None:
            return None
        out: dict[str, Value] = {}
        plans = self.plans
        for name, captured in groups.items():
            if captured is None:
                continue
            plan = plans.get(name)
            if plan is None:
                return None
            param, const, scalar_plan, option = plan
            value: Value
            if const is not None:
                value = const
            else:
                assert scalar_plan is not None
                value = scalar_value(captured, *scalar_plan)
                if option:
                    value = SomeV(value)
            out[param] = value
        return out


def _rebuild_grammar(family: CheckedFamily, evaluator: Any, limits: Limits) -> CompiledGrammar:
    return CompiledGrammar(family, evaluator, limits=limits)


def list_items_regex(item: Regex, max_items: int) -> Regex:
    """``item (sep item)…`` with every item a capture of its own (``item0``, ``item1``, …)."""
    sep = alt(*(lit(s) for s in LIST_SEPARATORS))
    tail: Regex = EPSILON
    for i in range(max_items - 1, 0, -1):
        tail = opt(seq(sep, cap(f"item{i}", item), tail))
    return seq(cap("item0", item), tail)


def _untagged(spec: CaptureSpec) -> Regex:
    """An enum's capture language without its value marks (list items are compared by text)."""
    assert spec.lookup is not None
    return alt(*(lit(s) for s in sorted(spec.lookup, key=lambda s: (-len(s), s))))


def _canonical_spell(ok: Any) -> F.Spell:
    def spell(v: object) -> str | None:
        if isinstance(v, bool) or not isinstance(v, (int, Decimal)):
            return None
        return show_value(v) if ok(v) else None

    return spell


class _CannotRender(Exception):
    pass


class _Renderer:
    """φ(θ) over the expanded grammar (see spec/grammar.md, "φ(θ): rendering")."""

    def __init__(self, grammar: CompiledGrammar, theta: Mapping[str, Value], needed: set[str]) -> None:
        self.g = grammar
        self.theta = theta
        self.needed = needed
        self._params: dict[int, set[str]] = {}

    def params_in(self, rx: A.Regex) -> set[str]:
        key = id(rx)
        got = self._params.get(key)
        if got is None:
            got = set()
            stack = [rx]
            while stack:
                node = stack.pop()
                if isinstance(node, A.RCapture):
                    got.add(node.param)
                elif isinstance(node, A.RValue):
                    if self.theta.get(node.param) == self.g.convert(f"{node.param}={node.index}", ""):
                        got.add(node.param)
                else:
                    stack.extend(regex_children(node))
            self._params[key] = got
        return got

    def render(self, rx: A.Regex) -> str:
        if isinstance(rx, A.RLit):
            return rx.text
        if isinstance(rx, A.RClass):
            return _class_sample(rx)
        if isinstance(rx, A.RAny):
            return "x"
        if isinstance(rx, A.RCapture):
            return self.capture(rx)
        if isinstance(rx, A.RValue):
            if self.theta.get(rx.param) != self.g.convert(f"{rx.param}={rx.index}", ""):
                raise _CannotRender()
            return ""
        if isinstance(rx, A.RNamed):
            return self.render(rx.item)
        if isinstance(rx, A.RSeq):
            return "".join(self.render(i) for i in rx.items)
        if isinstance(rx, A.RAlt):
            return self.choose(list(rx.items))
        if isinstance(rx, A.RRepeat):
            inner = self.params_in(rx.item)
            count = rx.lo
            if count == 0 and inner & self.needed:
                count = 1
            return "".join(self.render(rx.item) for _ in range(count))
        if isinstance(rx, A.RAnyOrder):
            parts = []
            for item, required in zip(rx.items, rx.required):
                if required or self.params_in(item) & self.needed:
                    parts.append(self.render(item))
            return self.render(rx.sep).join(parts) if parts else ""
        raise _CannotRender()  # & and ~ are rendered through the engine by the checks

    def choose(self, items: list[A.Regex]) -> str:
        wanted = self.needed & set().union(*(self.params_in(i) for i in items))
        ranked = sorted(items, key=lambda i: -len(wanted & self.params_in(i)))
        for item in ranked:
            try:
                return self.render(item)
            except _CannotRender:
                continue
        raise _CannotRender()

    def capture(self, node: A.RCapture) -> str:
        spec = self.g.captures[self.g.capture_name(node)]
        value = self.theta.get(node.param)
        if value is None:
            raise _CannotRender()
        if isinstance(value, NoneV):
            raise _CannotRender()  # none is expressed by leaving the capture out
        if isinstance(value, SomeV):
            value = value.value
        if isinstance(spec.type, ListT):
            items = [self.scalar(spec, v) for v in value]  # type: ignore[union-attr]
            if not items:
                raise _CannotRender()
            text = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
        else:
            text = self.scalar(spec, value)
        if spec.restricted and not self.g.capture_lang(spec.name).contains(text):
            raise _CannotRender()  # this occurrence cannot take the value: another alternative may
        return text

    def scalar(self, spec: CaptureSpec, value: Value) -> str:
        if isinstance(value, EnumV):
            return value.display
        if isinstance(value, bool):
            return "true" if value else "false"
        for f in spec.forms:
            text = f.spell(value)
            if text is not None:
                return text
        if isinstance(value, str):
            return value
        raise _CannotRender()


def _class_sample(rx: A.RClass) -> str:
    if not rx.negated:
        # Prefer a printable ASCII letter or digit when the class has one.
        for lo, hi in rx.ranges:
            for cp in range(lo, min(hi, lo + 256) + 1):
                if chr(cp).isalnum() and cp < 128:
                    return chr(cp)
        return chr(rx.ranges[0][0])
    excluded = CharSet.from_ranges([(chr(a), chr(b)) for a, b in rx.ranges])
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789":
        if ch not in excluded:
            return ch
    return "_"


def _value_text(value: Value) -> str:
    """A value as a capture would show it (canonical form)."""
    if isinstance(value, EnumV):
        return value.display
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, SomeV):
        return _value_text(value.value)
    if isinstance(value, (int, Decimal, str)):
        return value if isinstance(value, str) else show_value(value)
    raise _CannotRender()


def _normalized_text() -> Regex:
    """Texts with no leading/trailing space and no whitespace other than single spaces."""
    space = lit(" ")
    other_ws = chars(CharSet.from_ranges([(chr(9), chr(13)), (chr(0x85), chr(0x85)), (chr(0xA0), chr(0xA0)),
                                          (chr(0x1680), chr(0x1680)), (chr(0x2000), chr(0x200A)),
                                          (chr(0x2028), chr(0x2029)), (chr(0x202F), chr(0x202F)),
                                          (chr(0x205F), chr(0x205F)), (chr(0x3000), chr(0x3000))]))
    anything = rep(any_char(), 0, None)
    bad = alt(seq(space, anything), seq(anything, space), seq(anything, space, space, anything),
              seq(anything, other_ws, anything))
    return comp(bad)


def compile_grammar(family: CheckedFamily, evaluator: Any, *, limits: Limits = DEFAULT_LIMITS) -> CompiledGrammar:
    return CompiledGrammar(family, evaluator, limits=limits)


__all__ = ["BOOL_TEXTS", "CaptureSpec", "CompiledGrammar", "GrammarError", "MatchResult", "NONE", "compile_grammar",
           "default_value", "int_range", "list_items_regex", "normalize_space", "param_refs", "where_holds"]
