"""Hypothesis strategies for random well-formed DDL ASTs.

"Well-formed" means: the parser can produce it.  Concretely: names are never
reserved words (nor ``some``, which is a keyword in patterns); ranges have
``lo <= hi``; repetition bounds stay within the parser's limit; decimal scales
are at most 18; a family has at most one grammar, program and priority;
lambda parameters are distinct; sequences/alternatives have at least two items;
text literals merge adjacent literal pieces; interpolated expressions contain no
text (a ``${...}`` cannot contain quotes or escapes).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ddl.syntax import ast as A
from ddl.syntax.parser import RESERVED

_NOT_NAMES = RESERVED | {"some", "_"}

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
_TAIL = _LOWER + "0123456789_"

# Characters that stress quoting: quotes, backslashes, `$`, `${`, braces, control
# characters, `#`, non-ASCII (including astral) characters.
_TRICKY = list('ab "\\$${}\n\t\r\x00\x7f#é€😀\u2028') + ["${"]

names: st.SearchStrategy[str] = st.builds(
    lambda h, t: h + t,
    st.sampled_from(_LOWER),
    st.text(alphabet=_TAIL, max_size=5),
).filter(lambda s: s not in _NOT_NAMES)

type_names: st.SearchStrategy[str] = st.builds(
    lambda h, t: h + t,
    st.sampled_from(_UPPER),
    st.text(alphabet=_LOWER + _UPPER + "0123456789_", max_size=5),
).filter(lambda s: s not in _NOT_NAMES)

texts: st.SearchStrategy[str] = st.lists(
    st.sampled_from(_TRICKY) | st.characters(exclude_categories=["Cs"]), max_size=8
).map("".join)

small_ints = st.integers(min_value=-1000, max_value=1000)
ints = small_ints | st.integers(min_value=-(10**30), max_value=10**30)


@st.composite
def decimals(draw: Any, *, nonzero_scale: bool = True) -> Decimal:
    scale = draw(st.integers(min_value=1 if nonzero_scale else 0, max_value=9))
    digits = draw(st.integers(min_value=-(10**12), max_value=10**12))
    return Decimal(digits).scaleb(-scale)


# ------------------------------------------------------------------ regular expressions


@st.composite
def char_classes(draw: Any) -> A.RClass:
    def ch() -> int:
        return ord(draw(st.sampled_from(list("az09-^]\\[ \n\t\r\"#.é€") + ["\x00", "😀"]) | st.characters(
            exclude_categories=["Cs"])))

    n = draw(st.integers(min_value=0, max_value=4))
    ranges = []
    for _ in range(n):
        a, b = ch(), ch()
        if draw(st.booleans()):
            b = a
        ranges.append((min(a, b), max(a, b)))
    negated = draw(st.booleans()) or not ranges
    return A.RClass(tuple(ranges), negated)


@st.composite
def _repeat(draw: Any, item: A.Regex) -> A.RRepeat:
    lo = draw(st.integers(min_value=0, max_value=1000))
    kind = draw(st.sampled_from(["opt", "star", "plus", "exact", "open", "range"]))
    if kind == "opt":
        return A.RRepeat(item, 0, 1)
    if kind == "star":
        return A.RRepeat(item, 0, None)
    if kind == "plus":
        return A.RRepeat(item, 1, None)
    if kind == "exact":
        return A.RRepeat(item, lo, lo)
    if kind == "open":
        return A.RRepeat(item, lo, None)
    hi = draw(st.integers(min_value=lo, max_value=1000))
    return A.RRepeat(item, lo, hi)


@st.composite
def regexes(draw: Any, depth: int = 3) -> A.Regex:
    kinds = ["lit", "class", "any", "ref"]
    if depth > 0:
        kinds += ["seq", "alt", "and", "not", "repeat"]
    kind = draw(st.sampled_from(kinds))
    if kind == "lit":
        return A.RLit(draw(texts))
    if kind == "class":
        return draw(char_classes())
    if kind == "any":
        return A.RAny()
    if kind == "ref":
        return A.RRef(draw(names))
    sub = regexes(depth - 1)
    if kind in ("seq", "alt", "and"):
        items = tuple(draw(st.lists(sub, min_size=2, max_size=3)))
        if kind == "seq":
            return A.RSeq(items)
        return A.RAlt(items) if kind == "alt" else A.RAnd(items)
    if kind == "not":
        return A.RNot(draw(sub))
    return draw(_repeat(draw(sub)))


# ------------------------------------------------------------------ types


@st.composite
def _int_types(draw: Any) -> A.IntType:
    if draw(st.booleans()):
        return A.IntType()
    a, b = draw(ints), draw(ints)
    return A.IntType(min(a, b), max(a, b))


@st.composite
def _decimal_types(draw: Any) -> A.DecimalType:
    scale = draw(st.integers(min_value=0, max_value=18))
    if draw(st.booleans()):
        return A.DecimalType(scale)
    a = draw(decimals(nonzero_scale=False))
    b = draw(decimals(nonzero_scale=False))
    return A.DecimalType(scale, min(a, b), max(a, b))


def named_types() -> st.SearchStrategy[A.NamedType]:
    return st.builds(A.NamedType, type_names, st.none() | names)


@st.composite
def type_exprs(draw: Any, depth: int = 2, *, allow_text: bool = True) -> A.TypeExpr:
    kinds = ["int", "decimal", "text", "named"]
    if depth > 0:
        kinds += ["list", "map", "option"]
    kind = draw(st.sampled_from(kinds))
    maxes = st.none() | st.integers(min_value=0, max_value=10**6)
    if kind == "int":
        return draw(_int_types())
    if kind == "decimal":
        return draw(_decimal_types())
    if kind == "text":
        pattern = draw(st.none() | regexes(2)) if allow_text else None
        return A.TextType(draw(maxes), pattern)
    if kind == "named":
        return draw(named_types())
    sub = type_exprs(depth - 1, allow_text=allow_text)
    if kind == "list":
        return A.ListType(draw(sub), draw(maxes))
    if kind == "map":
        return A.MapType(draw(sub), draw(sub), draw(maxes))
    return A.OptionType(draw(sub))


# ------------------------------------------------------------------ expressions

value_paths = st.one_of(
    st.tuples(names),
    st.tuples(names, names),
    st.tuples(type_names, names),
    st.tuples(names, type_names, names),
)


def patterns(*, allow_text: bool = True) -> st.SearchStrategy[A.Pattern]:
    options = [
        st.just(A.PWild()),
        st.builds(A.PInt, ints),
        st.builds(A.PBool, st.booleans()),
        st.just(A.PNone()),
        st.builds(A.PSome, names),
        st.builds(A.PName, names, st.none() | type_names),
    ]
    if allow_text:
        options.append(st.builds(A.PText, texts))
    return st.one_of(*options)


def _merge_parts(parts: list[str | A.Expr]) -> tuple[str | A.Expr, ...]:
    merged: list[str | A.Expr] = []
    for p in parts:
        if isinstance(p, str):
            if not p:
                continue
            if merged and isinstance(merged[-1], str):
                merged[-1] = merged[-1] + p
                continue
        merged.append(p)
    return tuple(merged) if merged else ("",)


@st.composite
def text_lits(draw: Any, depth: int = 1) -> A.TextLit:
    inner = exprs(depth, allow_text=False)
    parts = draw(st.lists(texts | inner, max_size=4))
    return A.TextLit(_merge_parts(parts))


_BINARY_OPS = ["+", "-", "*", "/", "%", "++", "==", "!=", "<", "<=", ">", ">=", "and", "or", "??"]
_LEAF_EXPRS = ["int", "dec", "bool", "none", "name", "text"]
_NODE_EXPRS = [
    "let", "if", "lambda", "binary", "unary", "field", "index", "call", "list", "comp", "map", "record", "match",
]


@st.composite
def exprs(draw: Any, depth: int = 3, *, allow_text: bool = True) -> A.Expr:
    kinds = [k for k in _LEAF_EXPRS if allow_text or k != "text"]
    if depth > 0:
        kinds += _NODE_EXPRS
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        return A.IntLit(draw(ints))
    if kind == "dec":
        return A.DecLit(draw(decimals()))
    if kind == "bool":
        return A.BoolLit(draw(st.booleans()))
    if kind == "none":
        return A.NoneLit()
    if kind == "name":
        return A.Name(draw(value_paths))
    if kind == "text":
        return draw(text_lits(min(depth, 1)))
    sub = exprs(depth - 1, allow_text=allow_text)
    few = st.lists(sub, max_size=3).map(tuple)
    if kind == "let":
        ann = draw(st.none() | type_exprs(1, allow_text=allow_text))
        return A.Let(draw(names), ann, draw(sub), draw(sub))
    if kind == "if":
        return A.If(draw(sub), draw(sub), draw(sub))
    if kind == "lambda":
        return A.Lambda(tuple(draw(st.lists(names, min_size=1, max_size=3, unique=True))), draw(sub))
    if kind == "binary":
        return A.Binary(draw(st.sampled_from(_BINARY_OPS)), draw(sub), draw(sub))
    if kind == "unary":
        return A.Unary(draw(st.sampled_from(["not", "-"])), draw(sub))
    if kind == "field":
        return A.Field(draw(sub), draw(names))
    if kind == "index":
        return A.Index(draw(sub), draw(sub))
    if kind == "call":
        return A.Call(draw(sub), draw(few))
    if kind == "list":
        return A.ListLit(draw(few))
    if kind == "comp":
        source = draw(sub | st.builds(A.RangeSource, sub, sub))
        return A.ListComp(draw(sub), draw(names), source, draw(st.none() | sub))
    if kind == "map":
        return A.MapLit(tuple(draw(st.lists(st.tuples(sub, sub), max_size=3))))
    if kind == "record":
        fields = draw(st.lists(st.builds(A.FieldInit, names, sub), max_size=3))
        return A.RecordLit(draw(named_types()), tuple(fields))
    arms = draw(st.lists(st.builds(A.MatchArm, patterns(allow_text=allow_text), sub), min_size=1, max_size=3))
    return A.Match(draw(sub), tuple(arms))


# ------------------------------------------------------------------ declarations

_small_exprs = exprs(2)


def variants() -> st.SearchStrategy[A.Variant]:
    plain = st.builds(A.Variant, names)
    shown = st.builds(A.Variant, names, texts, st.lists(texts, max_size=2).map(tuple))
    return plain | shown


def enum_decls() -> st.SearchStrategy[A.EnumDecl]:
    return st.builds(A.EnumDecl, type_names, st.lists(variants(), max_size=4).map(tuple))


def record_decls() -> st.SearchStrategy[A.RecordDecl]:
    fields = st.lists(st.builds(A.FieldDecl, names, type_exprs(2)), max_size=4).map(tuple)
    return st.builds(A.RecordDecl, type_names, fields)


def type_aliases() -> st.SearchStrategy[A.TypeAlias]:
    return st.builds(A.TypeAlias, type_names, type_exprs(2))


def table_decls() -> st.SearchStrategy[A.TableDecl]:
    entries = st.lists(st.builds(A.TableEntry, _small_exprs, _small_exprs), max_size=3).map(tuple)
    return st.builds(A.TableDecl, names, type_exprs(1), type_exprs(1), entries)


def fn_decls() -> st.SearchStrategy[A.FnDecl]:
    params = st.lists(st.builds(A.FnParam, names, type_exprs(1)), max_size=3).map(tuple)
    return st.builds(A.FnDecl, names, params, type_exprs(1), exprs(3))


def imports() -> st.SearchStrategy[A.Import]:
    std = st.builds(A.Import, names, st.just(False), st.none() | names)
    file = st.builds(A.Import, texts.filter(bool), st.just(True), st.none() | names)
    return std | file


bindings = st.builds(A.Binding, names, _small_exprs)


def family_items() -> dict[str, st.SearchStrategy[Any]]:
    return {
        "enum": enum_decls(),
        "record": record_decls(),
        "alias": type_aliases(),
        "table": table_decls(),
        "fn": fn_decls(),
        "param": st.builds(A.ParamDecl, names, type_exprs(2), st.none() | _small_exprs, st.none() | _small_exprs),
        "example": st.builds(
            A.ExampleDecl, st.none() | texts, st.lists(bindings, max_size=3).map(tuple), _small_exprs
        ),
        "ensures": st.builds(A.EnsuresDecl, st.none() | texts, exprs(3)),
        "teach": st.builds(A.TeachDecl, st.lists(bindings, min_size=1, max_size=3).map(tuple)),
        "allow": st.builds(A.AllowDecl, names, texts, texts),
    }


@st.composite
def family_decls(draw: Any) -> A.FamilyDecl:
    kinds = family_items()
    items: list[Any] = [
        draw(kinds[k]) for k in draw(st.lists(st.sampled_from(sorted(kinds)), max_size=6))
    ]
    singles: list[A.FamilyItem] = []
    if draw(st.booleans()):
        rules = draw(st.lists(st.builds(A.RuleDef, names, regexes(2)), max_size=2))
        singles.append(A.GrammarDecl(tuple(draw(st.lists(names, max_size=2))), tuple(rules), draw(regexes(3))))
    if draw(st.booleans()):
        singles.append(A.ProgramDecl(draw(type_exprs(1)), draw(exprs(4))))
    if draw(st.booleans()):
        singles.append(A.PriorityDecl(draw(small_ints)))
    for single in singles:
        items.insert(draw(st.integers(min_value=0, max_value=len(items))), single)
    return A.FamilyDecl(draw(names), draw(st.none() | texts), tuple(items))


def module_items() -> st.SearchStrategy[A.ModuleItem]:
    return st.one_of(
        imports(), enum_decls(), record_decls(), type_aliases(), table_decls(), fn_decls(), family_decls()
    )


modules: st.SearchStrategy[A.Module] = st.builds(A.Module, st.lists(module_items(), max_size=4).map(tuple))
