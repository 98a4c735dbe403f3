"""The catalogue of built-in functions: names, signatures and exact semantics.

This table is the single source for the checker (which types calls), the
evaluator (which implements them in ``ddl.eval.builtins``) and the reference in
``stdlib/README.md`` (a test keeps them in step).  Every built-in is total on
its declared domain; ``partial`` marks those whose domain is narrower than the
argument types (each use becomes a ``safe`` obligation).

Signature notation: ``T`` any type, ``N`` a number type (Int or Decimal),
``List[T]``, ``Option[T]``, ``|x| e`` a lambda argument.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class BuiltinDoc:
    name: str
    signature: str
    doc: str
    category: str
    partial: bool = False
    higher_order: bool = False


_B = BuiltinDoc

BUILTINS: dict[str, BuiltinDoc] = {
    b.name: b
    for b in [
        # ---- text
        _B("len", "len(x: Text | List[T] | Map[K, V]) -> Int", "Length in code points, elements or entries; range 0..max when bounded.", "text"),
        _B("upper", "upper(t: Text) -> Text", "Unicode upper case (str.upper).", "text"),
        _B("lower", "lower(t: Text) -> Text", "Unicode lower case (str.lower).", "text"),
        _B("capitalize", "capitalize(t: Text) -> Text", "First code point upper case, the rest unchanged.", "text"),
        _B("title", "title(t: Text) -> Text", "Each space-separated word capitalized.", "text"),
        _B("trim", "trim(t: Text) -> Text", "Remove leading and trailing whitespace.", "text"),
        _B("replace", "replace(t: Text, old: Text, new: Text) -> Text", "Replace every occurrence of old by new; old empty returns t unchanged.", "text"),
        _B("split", "split(t: Text, sep: Text) -> List[Text]", "Split on sep (non-empty); an empty sep splits into code points. Bound: len(t)+1.", "text"),
        _B("join", "join(xs: List[Text], sep: Text) -> Text", "Concatenate with sep between elements.", "text"),
        _B("slug", "slug(t: Text) -> Text", "Lower case; every run of characters outside [a-z0-9] becomes one '-'; no leading/trailing '-'.", "text"),
        _B("url_encode", "url_encode(t: Text) -> Text", "Percent-encode UTF-8 bytes except A-Z a-z 0-9 - _ . ~ (RFC 3986 unreserved).", "text"),
        _B("show", "show(x: Int | Decimal | Bool | Text | enum) -> Text", "Canonical text: decimal digits, fixed scale for Decimal, true/false, the text itself, an enum's display text.", "text"),
        _B("text", "text(e: enum) -> Text", "The enum value's display text.", "text"),
        _B("name", "name(e: enum) -> Text", "The enum value's identifier.", "text"),
        _B("pad_left", "pad_left(t: Text, width: Int, fill: Text) -> Text", "Prefix copies of fill's first code point (space if empty) until len >= width.", "text"),
        _B("pad_right", "pad_right(t: Text, width: Int, fill: Text) -> Text", "Suffix copies of fill's first code point (space if empty) until len >= width.", "text"),
        _B("contains", "contains(x: Text | List[T] | Map[K, V], y) -> Bool", "Substring test, list membership, or map key membership.", "text"),
        _B("starts_with", "starts_with(t: Text, prefix: Text) -> Bool", "Prefix test.", "text"),
        _B("ends_with", "ends_with(t: Text, suffix: Text) -> Bool", "Suffix test.", "text"),
        _B("slice", "slice(t: Text, start: Int, end: Int) -> Text", "Code points start..end-1, indices clamped to 0..len (never fails).", "text"),
        _B("repeat", "repeat(t: Text, n: Int in 0..1000) -> Text", "n copies of t; n is clamped to 0..1000.", "text"),
        _B("parse_int", "parse_int(t: Text) -> Option[Int]", "Optional sign and decimal digits (at most 18) after trimming; none otherwise.", "text"),
        _B("parse_decimal", "parse_decimal(t: Text, scale: Int) -> Option[Decimal]", "A decimal numeral rounded half-even to scale (a literal 0..18); none if malformed.", "text"),
        # ---- numbers
        _B("min", "min(a: N, b: N) -> N", "The smaller; range min of the bounds.", "number"),
        _B("max", "max(a: N, b: N) -> N", "The larger; range max of the bounds.", "number"),
        _B("abs", "abs(x: N) -> N", "Absolute value.", "number"),
        _B("clamp", "clamp(x: N, lo: N, hi: N) -> N", "lo if x < lo, hi if x > hi, else x (if lo > hi the result is lo).", "number"),
        _B("round", "round(x: Decimal, places: Int) -> Decimal(places)", "Round half-even to places (a literal 0..18).", "number"),
        _B("floor", "floor(x: Decimal) -> Int", "Largest integer <= x.", "number"),
        _B("ceil", "ceil(x: Decimal) -> Int", "Smallest integer >= x.", "number"),
        _B("to_decimal", "to_decimal(x: Int, scale: Int) -> Decimal(scale)", "Exact conversion; scale a literal 0..18.", "number"),
        # ---- lists
        _B("map", "map(xs: List[T], |x| e) -> List[U]", "Apply the lambda to every element.", "list", higher_order=True),
        _B("filter", "filter(xs: List[T], |x| p) -> List[T]", "Keep elements where the lambda is true.", "list", higher_order=True),
        _B("fold", "fold(xs: List[T], init: A, |acc, x| e) -> A", "Left fold.", "list", higher_order=True),
        _B("any", "any(xs: List[T], |x| p) -> Bool", "Some element satisfies p.", "list", higher_order=True),
        _B("all", "all(xs: List[T], |x| p) -> Bool", "Every element satisfies p.", "list", higher_order=True),
        _B("sort_by", "sort_by(xs: List[T], |x| key) -> List[T]", "Stable sort by an Int, Decimal or Text key.", "list", higher_order=True),
        _B("sum", "sum(xs: List[N]) -> N", "Sum; 0 for the empty list.", "list"),
        _B("take", "take(xs: List[T], n: Int) -> List[T]", "The first n elements (n clamped to 0..len).", "list"),
        _B("drop", "drop(xs: List[T], n: Int) -> List[T]", "All but the first n elements (n clamped to 0..len).", "list"),
        _B("sort", "sort(xs: List[T]) -> List[T]", "Ascending order for Int, Decimal, Text; enums by declaration order.", "list"),
        _B("reverse", "reverse(xs: List[T]) -> List[T]", "Elements in reverse order.", "list"),
        _B("first", "first(xs: List[T]) -> Option[T]", "The first element, or none.", "list"),
        _B("last", "last(xs: List[T]) -> Option[T]", "The last element, or none.", "list"),
        _B("get", "get(xs: List[T] | Map[K, V], i) -> Option[T | V]", "Element at index / value at key, or none.", "list"),
        _B("keys", "keys(m: Map[K, V]) -> List[K]", "Keys in ascending order.", "list"),
        _B("values", "values(m: Map[K, V]) -> List[V]", "Values in ascending key order.", "list"),
        _B("unique", "unique(xs: List[T]) -> List[T]", "First occurrence of each element, order kept.", "list"),
        # ---- options
        _B("some", "some(x: T) -> Option[T]", "Wrap a value.", "option"),
        _B("is_some", "is_some(o: Option[T]) -> Bool", "True when o holds a value.", "option"),
        _B("is_none", "is_none(o: Option[T]) -> Bool", "True when o is none.", "option"),
        _B("unwrap_or", "unwrap_or(o: Option[T], d: T) -> T", "The value, or d (same as o ?? d).", "option"),
    ]
}


def names_by_category() -> dict[str, list[BuiltinDoc]]:
    out: dict[str, list[BuiltinDoc]] = {}
    for b in BUILTINS.values():
        out.setdefault(b.category, []).append(b)
    return out
