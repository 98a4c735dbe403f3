"""Compile a family's grammar block into the regular engine, extract θ, render φ(θ).

Captures are typed by their parameters: the language a capture accepts is
derived from the parameter's domain (spec/grammar.md):

=============================  ==================================================
parameter type                 capture language
=============================  ==================================================
``Int in a..b``                canonical numerals of a..b; a ``where`` over this
                               parameter alone is folded in when the range has at
                               most 10,000 values
``Int``                        numerals of at most 18 digits
``Decimal(s) in lo..hi``       numerals of values in lo..hi, 0..s fraction digits
``enum``                       every variant's display text and aliases
``Text(max n, pattern p)``     p ∩ strings of length ≤ n (any text if no pattern)
``Bool``                       true, false, yes, no
=============================  ==================================================

Options: ``ignore_case`` (letters match in any case; enum texts are looked up
case-insensitively, Text captures keep the utterance's spelling) and
``normalize_space`` (the utterance is trimmed and every whitespace run becomes
one space before matching).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from ddl.diagnostics import Span
from ddl.eval.values import EnumV, Value, show_value
from ddl.grammar.numerals import decimal_range, int_range
from ddl.grammar.regex import convert_regex
from ddl.regular import (
    EMPTY,
    CharSet,
    Lang,
    Matcher,
    Regex,
    alt,
    any_char,
    cap,
    chars,
    comp,
    inter,
    lit,
    rep,
    seq,
)
from ddl.regular import ignore_case as fold_case
from ddl.regular.errors import RegularError
from ddl.syntax import ast as A
from ddl.tree import nodes
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedParam
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, TextT, Type

FOLD_WHERE_LIMIT = 10_000
BOOL_TEXTS = {"true": True, "yes": True, "false": False, "no": False}


def normalize_space(utterance: str) -> str:
    """Trim and collapse every whitespace run to one space (``normalize_space``).

    ``str.split()`` splits on exactly the characters ``\\s`` matches in a ``str`` regex
    (both use Unicode's White_Space test) and is several times faster than ``re.sub``.
    """
    return " ".join(utterance.split())


class GrammarError(Exception):
    """A grammar cannot be compiled (a capture of an uncapturable type, automaton too large)."""

    def __init__(self, message: str, span: Span, code: str = "DDL220"):
        super().__init__(message)
        self.message = message
        self.span = span
        self.code = code


@attrs.frozen
class CaptureSpec:
    param: str
    type: Type
    regex: Regex
    exact: bool  # the capture language is exactly the utterable domain (where included)
    note: str | None = None  # why it is not exact


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
    from ddl.eval import Ok

    if param.where is None:
        return True
    out = evaluator.eval_closed(param.where, params={param.name: value})
    return isinstance(out, Ok) and out.value is True


def default_value(evaluator: Any, param: CheckedParam) -> Value | None:
    """The parameter's default, evaluated (None when it has none)."""
    from ddl.eval import Ok

    if param.default is None:
        return None
    out = evaluator.eval_closed(param.default)
    return out.value if isinstance(out, Ok) else None


class CompiledGrammar:
    def __init__(self, family: CheckedFamily, evaluator: Any) -> None:
        grammar = family.grammar
        assert grammar is not None
        self.family = family
        self.decl = grammar
        self.evaluator = evaluator
        self.ignore_case = "ignore_case" in grammar.options
        self.normalize_space = "normalize_space" in grammar.options
        self.rules = {r.name: r for r in grammar.rules}
        self.params = {p.name: p for p in family.params}
        self.captures: dict[str, CaptureSpec] = {}
        self._enum_lookup: dict[str, dict[str, EnumV]] = {}
        regex = convert_regex(grammar.body, self._resolve)
        self.plain_regex: Regex = regex  # as written: what samples and renderings are drawn from
        self.regex: Regex = fold_case(regex) if self.ignore_case else regex
        # `except R`: the family's language is body − R (R captures nothing; the checker ensures it).
        self.plain_excluded: Regex | None = (convert_regex(grammar.excluded, self._resolve)
                                             if grammar.excluded is not None else None)
        self.excluded: Regex | None = (fold_case(self.plain_excluded) if self.ignore_case and
                                       self.plain_excluded is not None else self.plain_excluded)
        self._matcher: Matcher | None = None
        self._lang: Lang | None = None
        self._plain_lang: Lang | None = None
        self._excluded_lang: Lang | None = None

    # -- construction
    def _resolve(self, name: str, span: Span) -> Regex:
        if name in self.rules:
            return convert_regex(self.rules[name].body, self._resolve)
        param = self.params.get(name)
        if param is None:  # pragma: no cover - the checker reports unknown references
            raise GrammarError(f"unknown grammar reference '{name}'", span)
        spec = self.captures.get(name)
        if spec is None:
            spec = self.capture_spec(param, span)
            self.captures[name] = spec
        return cap(name, spec.regex)

    def capture_spec(self, param: CheckedParam, span: Span) -> CaptureSpec:
        t = param.type
        where_refs = param_refs(param.where)
        if isinstance(t, IntT):
            if param.where is not None and where_refs == {param.name} and t.bounded:
                assert t.lo is not None and t.hi is not None
                if t.hi - t.lo < FOLD_WHERE_LIMIT:
                    values = [v for v in range(t.lo, t.hi + 1) if where_holds(self.evaluator, param, v)]
                    return CaptureSpec(param.name, t, alt(*(lit(str(v)) for v in values)) if values else EMPTY, True)
            note = None
            if param.where is not None:
                note = ("its where-refinement involves other parameters" if where_refs != {param.name}
                        else f"its range has more than {FOLD_WHERE_LIMIT} values")
            return CaptureSpec(param.name, t, int_range(t.lo, t.hi), param.where is None, note)
        if isinstance(t, DecimalT):
            return CaptureSpec(param.name, t, decimal_range(t.scale, t.lo, t.hi), param.where is None,
                               "it has a where-refinement" if param.where is not None else None)
        if isinstance(t, EnumT):
            lookup: dict[str, EnumV] = {}
            texts: list[str] = []
            # A `where` that mentions only this parameter is folded in: excluded variants are not utterable.
            fold = param.where is not None and where_refs == {param.name}
            for variant, display, aliases in zip(t.variants, t.displays, t.aliases or ((),) * len(t.variants)):
                value = EnumV(f"{t.origin}::{t.name}", variant, display)
                if fold and not where_holds(self.evaluator, param, value):
                    continue
                for text in (display, *aliases):
                    texts.append(text)
                    lookup[text.casefold() if self.ignore_case else text] = value
            self._enum_lookup[param.name] = lookup
            # Longer texts first so that leftmost-first matching prefers "science fiction" over "science".
            texts.sort(key=lambda s: (-len(s), s))
            return CaptureSpec(param.name, t, alt(*(lit(s) for s in texts)) if texts else EMPTY,
                               param.where is None or fold,
                               None if param.where is None or fold else "its where-refinement involves other parameters")
        if isinstance(t, TextT):
            base: Regex = convert_regex(t.pattern) if t.pattern is not None else rep(any_char(), 0, None)
            if t.max_len is not None:
                base = inter(base, rep(any_char(), 0, t.max_len))
            if self.normalize_space:
                # After normalization an utterance has no whitespace runs, no edge spaces, no tabs/newlines.
                base = inter(base, _normalized_text())
            return CaptureSpec(param.name, t, base, param.where is None)
        if isinstance(t, BoolT):
            return CaptureSpec(param.name, t, alt(*(lit(s) for s in BOOL_TEXTS)), param.where is None)
        raise GrammarError(f"parameter '{param.name}' of type {t} cannot be captured in a grammar", span,
                           code="DDL220")

    # -- engines (lazy: a family that is only run on θ never builds automata)
    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            self._matcher = Matcher(self.regex)
        return self._matcher

    @property
    def lang(self) -> Lang:
        if self._lang is None:
            lang = Lang.from_regex(self.regex)
            self._lang = lang if self.excluded is None else lang.difference(self.excluded_lang)
        return self._lang

    @property
    def excluded_lang(self) -> Lang:
        """The language of the `except` clause (case folded like the grammar); empty without one."""
        if self._excluded_lang is None:
            self._excluded_lang = Lang.from_regex(self.excluded) if self.excluded is not None else Lang.empty()
        return self._excluded_lang

    def is_excluded(self, normalized: str) -> bool:
        return self.excluded is not None and self.excluded_lang.contains(normalized)

    @property
    def plain_lang(self) -> Lang:
        """The language as written (no case folding): readable samples, same θ under ignore_case."""
        if not self.ignore_case:
            return self.lang
        if self._plain_lang is None:
            plain = Lang.from_regex(self.plain_regex)
            self._plain_lang = plain if self.plain_excluded is None else plain.difference(
                Lang.from_regex(self.plain_excluded))
        return self._plain_lang

    # -- G(u)
    def normalize(self, utterance: str) -> str:
        if self.normalize_space:
            return normalize_space(utterance)
        return utterance

    def match(self, utterance: str) -> MatchResult:
        u = self.normalize(utterance)
        try:
            groups = self.matcher.fullmatch(u)
        except RegularError as err:
            return MatchResult(None, {}, str(err), 0, u)
        if groups is None:
            prefix = self.matcher.longest_prefix(u)
            if prefix >= len(u):
                why = "the utterance ends too early"
            else:
                why = f"no match at character {prefix + 1} ({u[prefix]!r})"
            shown = u[:prefix]
            return MatchResult(None, {}, f"{why}; the longest matched prefix is {shown!r}", prefix, u)
        if self.is_excluded(u):
            return MatchResult(None, {}, "the utterance is excluded by the grammar's except clause", len(u), u)
        captured = {k: v for k, v in groups.items() if v is not None}
        values: dict[str, Value] = {}
        for name, text in captured.items():
            values[name] = self.convert(name, text)
        return MatchResult(values, captured, None, len(u), u)

    def convert(self, name: str, text: str) -> Value:
        t = self.params[name].type
        if isinstance(t, IntT):
            return int(text)
        if isinstance(t, DecimalT):
            return Decimal(text).quantize(Decimal(1).scaleb(-t.scale))
        if isinstance(t, EnumT):
            lookup = self._enum_lookup[name]
            return lookup[text.casefold() if self.ignore_case else text]
        if isinstance(t, BoolT):
            return BOOL_TEXTS[text.casefold()]
        return text

    # -- φ(θ)
    def render(self, theta: Mapping[str, Value], *, respect_except: bool = True) -> str | None:
        """A canonical utterance for θ: the first alternative that can express the needed values.

        Returns None when the grammar cannot express θ (or uses & / ~ around captures).
        """
        needed = {p.name for p in self.family.params
                  if p.name in self.captures and (p.default is None or default_value(self.evaluator, p) != theta.get(p.name))}
        try:
            text = self._render(self.decl.body, theta, needed)
        except _CannotRender:
            return None
        if respect_except and self.is_excluded(self.normalize(text)):
            return None  # the canonical utterance for θ is one the family declines
        return text

    def _params_in(self, rx: A.Regex, seen: frozenset[str] = frozenset()) -> set[str]:
        out: set[str] = set()
        stack = [rx]
        while stack:
            node = stack.pop()
            if isinstance(node, A.RRef):
                if node.name in self.rules and node.name not in seen:
                    out |= self._params_in(self.rules[node.name].body, seen | {node.name})
                elif node.name in self.params:
                    out.add(node.name)
            elif isinstance(node, (A.RSeq, A.RAlt, A.RAnd)):
                stack.extend(node.items)
            elif isinstance(node, (A.RNot, A.RRepeat)):
                stack.append(node.item)
        return out

    def _render(self, rx: A.Regex, theta: Mapping[str, Value], needed: set[str]) -> str:
        if isinstance(rx, A.RLit):
            return rx.text
        if isinstance(rx, A.RClass):
            return _class_sample(rx)
        if isinstance(rx, A.RAny):
            return "x"
        if isinstance(rx, A.RRef):
            if rx.name in self.rules:
                return self._render(self.rules[rx.name].body, theta, needed)
            value = theta.get(rx.name)
            if value is None:
                raise _CannotRender()
            return _value_text(value)
        if isinstance(rx, A.RSeq):
            return "".join(self._render(i, theta, needed) for i in rx.items)
        if isinstance(rx, A.RAlt):
            wanted = needed & self._params_in(rx)
            ranked = sorted(rx.items, key=lambda i: -len(wanted & self._params_in(i)))
            for item in ranked:
                try:
                    return self._render(item, theta, needed)
                except _CannotRender:
                    continue
            raise _CannotRender()
        if isinstance(rx, A.RRepeat):
            inner = self._params_in(rx.item)
            count = rx.lo
            if count == 0 and inner & needed:
                count = 1
            return "".join(self._render(rx.item, theta, needed) for _ in range(count))
        raise _CannotRender()  # & and ~ are rendered through the engine by the checks


class _CannotRender(Exception):
    pass


def _value_text(value: Value) -> str:
    if isinstance(value, EnumV):
        return value.display
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, str)):
        return value if isinstance(value, str) else show_value(value)
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


def compile_grammar(family: CheckedFamily, evaluator: Any) -> CompiledGrammar:
    return CompiledGrammar(family, evaluator)
