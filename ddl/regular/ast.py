"""The engine's own regex AST (independent of DDL's grammar AST).

Nodes are attrs frozen classes (immutable, hashable, structural equality):

* :class:`Empty` — ∅, matches nothing;  :class:`Epsilon` — the empty string;
* :class:`Chars` — one character from a :class:`~ddl.regular.charset.CharSet`;
* :class:`Concat`, :class:`Alt` (union; item order is match priority);
* :class:`Star`, :class:`Repeat` (``lo`` to ``hi`` copies, ``hi=None`` unbounded;
  ``greedy`` only affects which parse the matcher reports);
* :class:`Intersect`, :class:`Complement` (over all of Unicode), :class:`Difference`;
* :class:`Capture` — a named capture; the same name may occur several times
  (e.g. in different alternatives); the last assignment wins, as in ``re``;
* :class:`LangRef` — an already-built :class:`~ddl.regular.lang.Lang` used as a
  sub-expression (lets callers splice derived languages into a grammar).

Nodes support ``a + b`` (concatenation), ``a | b``, ``a & b``, ``a - b`` and
``~a``; the helpers :func:`lit`, :func:`seq`, :func:`alt`, :func:`opt`, … build
simplified trees.  :func:`to_pattern` prints a tree in the syntax accepted by
:func:`ddl.regular.parse.parse` (and, for the shared subset, by Python ``re``
and RE2), :func:`size` measures it with repetitions expanded, and
:func:`ignore_case` closes every character set under simple case folding.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from functools import cache, lru_cache
from itertools import permutations, repeat
from typing import TYPE_CHECKING, Any, Union

import attrs

from ddl.regular.charset import DOT, CharSet, escape_char

if TYPE_CHECKING:
    from ddl.regular.lang import Lang


class _Node:
    """Operator sugar shared by all nodes."""

    __slots__ = ()

    def __add__(self, other: Regex) -> Regex:
        return seq(self, other)  # type: ignore[arg-type]

    def __or__(self, other: Regex) -> Regex:
        return alt(self, other)  # type: ignore[arg-type]

    def __and__(self, other: Regex) -> Regex:
        return Intersect((self, other))  # type: ignore[arg-type]

    def __sub__(self, other: Regex) -> Regex:
        return Difference(self, other)  # type: ignore[arg-type]

    def __invert__(self) -> Regex:
        return Complement(self)  # type: ignore[arg-type]


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Empty(_Node):
    """∅: no string at all."""


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Epsilon(_Node):
    """The language containing only the empty string."""


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Chars(_Node):
    """Exactly one character from ``cs``."""

    cs: CharSet


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Concat(_Node):
    items: tuple[Regex, ...]


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Alt(_Node):
    """Union; for matching, earlier items have priority (like ``re``)."""

    items: tuple[Regex, ...]


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Star(_Node):
    inner: Regex
    greedy: bool = True


def _check_bounds(instance: Repeat, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if instance.lo < 0 or (value is not None and value < instance.lo):
        raise ValueError(f"bad repetition bounds {{{instance.lo},{value}}}")


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Repeat(_Node):
    """``lo`` to ``hi`` copies of ``inner`` (``hi=None``: unbounded)."""

    inner: Regex
    lo: int
    hi: int | None = attrs.field(validator=_check_bounds)
    greedy: bool = True


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Intersect(_Node):
    items: tuple[Regex, ...]


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Complement(_Node):
    """Every string over all of Unicode not in ``inner``."""

    inner: Regex


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Difference(_Node):
    left: Regex
    right: Regex


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Capture(_Node):
    name: str
    inner: Regex


@attrs.frozen
class LangRef(_Node):
    """A prebuilt language spliced into a regex (no captures inside).

    ``source``: the regex it was built from, when there is one (:func:`ddl.regular.lang.share_repeated`),
    so that a translation to another engine (the Python ``re`` fast path) can still spell it out; it takes
    no part in equality, which is the language's.
    """

    lang: Lang
    source: Regex | None = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Tag(_Node):
    """A zero-width mark: on this path, capture ``name`` takes the value ``key``.

    Invisible to languages and to matching (it matches the empty string); the capture
    automata of :mod:`ddl.regular.tagged` read it as a symbol, so that the ambiguity search
    compares the *values* of such captures (an enum's variant, whatever its spelling) rather
    than where their texts start and end.
    """

    name: str
    key: Any


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Shuffle(_Node):
    """Its items in any order, each at most once, ``sep`` between two consecutive items.

    ``required[i]`` says whether item i must occur.  A finite shuffle is regular: the NFA has
    one state per set of items used so far (2^n of them, n at most :data:`MAX_SHUFFLE`),
    never one branch per permutation.
    """

    items: tuple[Regex, ...]
    required: tuple[bool, ...]
    sep: Regex


@attrs.frozen(cache_hash=True)  # trees are hashed as memo keys; hash once
class Named(_Node):
    """``inner``, labelled with where it comes from (a rule, a capture, a construct).

    Transparent everywhere; automata remember the label of each state so that a
    construction that grows too large can say which part of the grammar drove it.
    """

    label: str
    inner: Regex


MAX_SHUFFLE = 8  # items of one any-order group: the NFA has 2^n states per item

Regex = Union[Empty, Epsilon, Chars, Concat, Alt, Star, Repeat, Intersect, Complement, Difference, Capture, LangRef,
              Tag, Shuffle, Named]

EMPTY = Empty()
EPSILON = Epsilon()


# ------------------------------------------------------------------ smart constructors


@lru_cache(maxsize=65536)  # grammars repeat their words; nodes are immutable, so sharing is safe
def lit(text: str) -> Regex:
    """The literal string ``text``."""
    if not text:
        return EPSILON
    if len(text) == 1:
        return _char_node(text)
    return Concat(tuple(_char_node(c) for c in text))


@lru_cache(maxsize=8192)
def _char_node(c: str) -> Chars:
    return Chars(CharSet.char(c))


def any_char() -> Chars:
    """Any code point at all."""
    return Chars(CharSet.any())


def dot() -> Chars:
    """Any code point except newline (``.``)."""
    return Chars(DOT)


def seq(*items: Regex) -> Regex:
    """Concatenation, flattened; ∅ absorbs, ε vanishes."""
    out: list[Regex] = []
    for it in items:
        if isinstance(it, Empty):
            return EMPTY
        if isinstance(it, Epsilon):
            continue
        if isinstance(it, Concat):
            out.extend(it.items)
        else:
            out.append(it)
    if not out:
        return EPSILON
    if len(out) == 1:
        return out[0]
    return Concat(tuple(out))


def alt(*items: Regex) -> Regex:
    """Union, flattened; ∅ vanishes.  Order is kept (it is match priority)."""
    out: list[Regex] = []
    for it in items:
        if isinstance(it, Empty):
            continue
        if isinstance(it, Alt):
            out.extend(it.items)
        else:
            out.append(it)
    if not out:
        return EMPTY
    if len(out) == 1:
        return out[0]
    return Alt(tuple(out))


def star(x: Regex, greedy: bool = True) -> Regex:
    return Star(x, greedy)


def plus(x: Regex, greedy: bool = True) -> Regex:
    return Repeat(x, 1, None, greedy)


def opt(x: Regex, greedy: bool = True) -> Regex:
    return Repeat(x, 0, 1, greedy)


def rep(x: Regex, lo: int, hi: int | None, greedy: bool = True) -> Regex:
    return Repeat(x, lo, hi, greedy)


def cap(name: str, x: Regex) -> Regex:
    return Capture(name, x)


def inter(*items: Regex) -> Regex:
    return items[0] if len(items) == 1 else Intersect(tuple(items))


def comp(x: Regex) -> Regex:
    return Complement(x)


def diff(a: Regex, b: Regex) -> Regex:
    return Difference(a, b)


def shuffle(items: tuple[Regex, ...] | list[Regex], required: tuple[bool, ...] | list[bool] | None = None,
            sep: Regex = EPSILON) -> Regex:
    """The items in any order (see :class:`Shuffle`); all required unless ``required`` says otherwise."""
    items = tuple(items)
    req = tuple(required) if required is not None else (True,) * len(items)
    if len(req) != len(items):
        raise ValueError("one required flag per item")
    if len(items) > MAX_SHUFFLE:
        raise ValueError(f"an any-order group has at most {MAX_SHUFFLE} items, not {len(items)}")
    if not items:
        return EPSILON
    if len(items) == 1:
        return items[0] if req[0] else opt(items[0])
    return Shuffle(items, req, sep)


def tag(name: str, key: Any) -> Regex:
    return Tag(name, key)


def named(label: str, inner: Regex) -> Regex:
    return Named(label, inner)


# ------------------------------------------------------------------ queries


def children(node: Regex) -> tuple[Regex, ...]:
    if isinstance(node, (Concat, Alt, Intersect)):
        return node.items
    if isinstance(node, (Star, Repeat, Complement, Capture, Named)):
        return (node.inner,)
    if isinstance(node, Difference):
        return (node.left, node.right)
    if isinstance(node, Shuffle):
        return (*node.items, node.sep)
    return ()


def walk(node: Regex) -> Iterator[Regex]:
    """Every node, pre-order (iterative, so deep trees are fine)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


def size(node: Regex) -> int:
    """Node count with bounded repetitions expanded (``x{2,5}`` counts ``x`` five times)."""
    try:
        return _size(node, False)
    except RecursionError:
        return _size_iterative(node, False)


def spliced_size(node: Regex) -> int:
    """:func:`size` as the NFA compiler meets ``node``: a Boolean part counts as one node.

    An intersection, complement or difference (or a built language) is built as a DFA of its own —
    its operands compiled, and measured, there — and spliced in; its cost is bounded by the DFA and
    NFA state limits, not by the size of its operands, however often it occurs.
    """
    try:
        return _size(node, True)
    except RecursionError:
        return _size_iterative(node, True)


def _shuffle_copies(node: Shuffle) -> int:
    """How many times the NFA of an any-order group holds each item (one per set of the others)."""
    return 1 << (len(node.items) - 1)


_BOOLEAN = (Intersect, Complement, Difference, LangRef)


@lru_cache(maxsize=65536)  # subtrees (enum texts, numerals, words) are shared across grammars
def _size(node: Regex, boolean_as_leaf: bool) -> int:
    if boolean_as_leaf and isinstance(node, _BOOLEAN):
        return 1
    if isinstance(node, Repeat):
        copies = max(1, node.hi if node.hi is not None else node.lo + 1)
        return 1 + copies * _size(node.inner, boolean_as_leaf)
    if isinstance(node, Shuffle):
        return 1 + _shuffle_copies(node) * (sum(_size(c, boolean_as_leaf) for c in node.items)
                                            + len(node.items) * _size(node.sep, boolean_as_leaf))
    return 1 + sum(_size(c, boolean_as_leaf) for c in children(node))


def _size_iterative(node: Regex, boolean_as_leaf: bool) -> int:
    # Post-order without recursion, for trees deeper than the interpreter's stack.
    total: dict[int, int] = {}
    stack: list[tuple[Regex, bool]] = [(node, False)]
    while stack:
        n, done = stack.pop()
        leaf = boolean_as_leaf and isinstance(n, _BOOLEAN)
        if not done:
            stack.append((n, True))
            if not leaf:
                stack.extend((c, False) for c in children(n))
            continue
        if leaf:
            total[id(n)] = 1
        elif isinstance(n, Repeat):
            copies = max(1, n.hi if n.hi is not None else n.lo + 1)
            total[id(n)] = 1 + copies * total[id(n.inner)]
        elif isinstance(n, Shuffle):
            total[id(n)] = 1 + _shuffle_copies(n) * (sum(total[id(c)] for c in n.items)
                                                      + len(n.items) * total[id(n.sep)])
        else:
            total[id(n)] = 1 + sum(total[id(c)] for c in children(n))
    return total[id(node)]


def depth(node: Regex) -> int:
    try:
        return _depth(node)
    except RecursionError:
        return _depth_iterative(node)


@lru_cache(maxsize=65536)
def _depth(node: Regex) -> int:
    return 1 + max((_depth(c) for c in children(node)), default=0)


def _depth_iterative(node: Regex) -> int:
    best = 0
    stack: list[tuple[Regex, int]] = [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in children(n))
    return best


def capture_names(node: Regex) -> tuple[str, ...]:
    """Capture names in order of first appearance."""
    seen: dict[str, None] = {}
    for n in walk(node):
        if isinstance(n, Capture):
            seen.setdefault(n.name, None)
    return tuple(seen)


def nullable(node: Regex) -> bool:
    """Whether ``node`` matches the empty string."""
    if isinstance(node, (Epsilon, Star, Tag)):
        return True
    if isinstance(node, (Empty, Chars)):
        return False
    if isinstance(node, Concat):
        return all(nullable(x) for x in node.items)
    if isinstance(node, Alt):
        return any(nullable(x) for x in node.items)
    if isinstance(node, Intersect):
        return all(nullable(x) for x in node.items)
    if isinstance(node, Repeat):
        return node.lo == 0 or nullable(node.inner)
    if isinstance(node, Complement):
        return not nullable(node.inner)
    if isinstance(node, Difference):
        return nullable(node.left) and not nullable(node.right)
    if isinstance(node, (Capture, Named)):
        return nullable(node.inner)
    if isinstance(node, Shuffle):
        if not any(node.required):
            return True
        return all(nullable(x) for x, r in zip(node.items, node.required) if r) and (
            sum(node.required) <= 1 or nullable(node.sep))
    return node.lang.contains("")


def has_boolean_ops(node: Regex) -> bool:
    return any(isinstance(n, (Intersect, Complement, Difference, LangRef)) for n in walk(node))


def expand_shuffle(node: Shuffle) -> Regex:
    """The any-order group as an alternation of its orders (for printing and for ``re``; n! branches)."""
    n = len(node.items)
    required = {i for i in range(n) if node.required[i]}
    orders: list[Regex] = []
    for k in range(n, -1, -1):
        for order in permutations(range(n), k):
            if not required <= set(order):
                continue
            parts: list[Regex] = []
            for j, i in enumerate(order):
                if j:
                    parts.append(node.sep)
                parts.append(node.items[i])
            orders.append(seq(*parts))
    return alt(*orders)


def with_children(node: Regex, kids: tuple[Regex, ...]) -> Regex:
    """``node`` with its children (as :func:`children` lists them) replaced by ``kids``."""
    if isinstance(node, (Concat, Alt, Intersect)):
        return type(node)(kids)
    if isinstance(node, Star):
        return Star(kids[0], node.greedy)
    if isinstance(node, Repeat):
        return Repeat(kids[0], node.lo, node.hi, node.greedy)
    if isinstance(node, Complement):
        return Complement(kids[0])
    if isinstance(node, Capture):
        return Capture(node.name, kids[0])
    if isinstance(node, Named):
        return Named(node.label, kids[0])
    if isinstance(node, Difference):
        return Difference(kids[0], kids[1])
    if isinstance(node, Shuffle):
        return Shuffle(kids[:-1], node.required, kids[-1])
    return node


def transform(node: Regex, fn: Callable[[Regex], Regex]) -> Regex:
    """Rebuild ``node`` bottom-up, replacing each node ``n`` (its children already rebuilt) by ``fn(n)``."""
    kids = children(node)
    if kids:
        new = tuple(transform(k, fn) for k in kids)
        if any(a is not b for a, b in zip(new, kids)):
            node = with_children(node, new)
    return fn(node)


def rename_captures(node: Regex, names: Mapping[str, str]) -> Regex:
    """The same regex with captures (and value marks) named ``n`` renamed ``names[n]`` (others kept)."""

    def rename(n: Regex) -> Regex:
        if isinstance(n, Capture) and n.name in names:
            return Capture(names[n.name], n.inner)
        if isinstance(n, Tag) and n.name in names:
            return Tag(names[n.name], n.key)
        return n

    return transform(node, rename)


# ------------------------------------------------------------------ printing


def to_pattern(node: Regex, *, extended: bool | None = None) -> str:
    """Print ``node`` as a pattern string that :func:`~ddl.regular.parse.parse` reads back.

    Without ``&``/``~`` nodes the output is plain Python ``re`` syntax (and RE2
    syntax for repetition bounds up to 1000).  ``extended=False`` refuses Boolean
    nodes; by default they are allowed (printed with ``&``/``~``).
    """
    if extended is None:
        extended = True
    return _pr(node, 0, extended)


def _wrap(s: str, need: bool) -> str:
    return "(?:" + s + ")" if need else s


def _pr(node: Regex, ctx: int, ext: bool) -> str:
    # Precedence: 0 alternation, 1 intersection, 2 concatenation, 3 complement,
    # 4 quantified, 5 atom.  A child printed below its context is parenthesized.
    if isinstance(node, Empty):
        return "[^\\x00-\\U0010ffff]"
    if isinstance(node, Epsilon):
        return "(?:)"
    if isinstance(node, Chars):
        return node.cs.to_class() if node.cs.size() != 1 else escape_char(chr(node.cs.min()))
    if isinstance(node, Capture):
        return f"(?P<{node.name}>{_pr(node.inner, 0, ext)})"
    if isinstance(node, Tag):
        return "(?:)"
    if isinstance(node, Named):
        return _pr(node.inner, ctx, ext)
    if isinstance(node, Shuffle):
        return _pr(expand_shuffle(node), ctx, ext)
    if isinstance(node, Alt):
        return _wrap("|".join(_pr(x, 1, ext) for x in node.items), ctx > 0)
    if isinstance(node, (Intersect, Difference, Complement)) and not ext:
        raise ValueError("intersection/complement need the extended syntax")
    if isinstance(node, Intersect):
        return _wrap("&".join(_pr(x, 2, ext) for x in node.items), ctx > 1)
    if isinstance(node, Difference):
        return _wrap(_pr(node.left, 2, ext) + "&~" + _pr(node.right, 3, ext), ctx > 1)
    if isinstance(node, Concat):
        if not node.items:
            return "(?:)"
        return _wrap("".join(_pr(x, 3, ext) for x in node.items), ctx > 2)
    if isinstance(node, Complement):
        return _wrap("~" + _pr(node.inner, 3, ext), ctx > 3)
    if isinstance(node, (Star, Repeat)):
        inner = _pr(node.inner, 5, ext)
        if isinstance(node, Star):
            q = "*"
        else:
            lo, hi = node.lo, node.hi
            if (lo, hi) == (0, None):
                q = "*"
            elif (lo, hi) == (1, None):
                q = "+"
            elif (lo, hi) == (0, 1):
                q = "?"
            elif hi is None:
                q = f"{{{lo},}}"
            elif lo == hi:
                q = f"{{{lo}}}"
            else:
                q = f"{{{lo},{hi}}}"
        if not node.greedy:
            q += "?"
        return _wrap(inner + q, ctx > 4)
    if isinstance(node, LangRef):
        raise ValueError("a LangRef has no pattern syntax")
    raise TypeError(f"not a regex node: {node!r}")


# ------------------------------------------------------------------ case folding


@cache
def _case_table() -> tuple[list[int], list[tuple[int, ...]]]:
    """Sorted cased code points and, for each, its case-equivalence class.

    Two characters are equivalent when one is the single-character lower/upper
    case of the other (transitively) — the simple case folding ``re.IGNORECASE``
    uses for one-character matches.  Read from :mod:`ddl.regular.casedata`, made by
    :func:`computed_case_table` for a Unicode version; under another Unicode version
    computed once, lazily (~0.05 s: a one-query ``ddl handle`` should not pay it).
    """
    import unicodedata  # deferred: only case folding needs it

    from ddl.regular import casedata  # deferred: only case folding needs the table

    if casedata.UNIDATA_VERSION != unicodedata.unidata_version:
        return computed_case_table()
    keys: list[int] = []
    classes: list[tuple[int, ...]] = []
    for cls in casedata.CLASSES:
        keys.extend(cls)
        classes.extend(repeat(cls, len(cls)))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return [keys[i] for i in order], [classes[i] for i in order]


def computed_case_table() -> tuple[list[int], list[tuple[int, ...]]]:
    """:func:`_case_table` computed from this Python's Unicode database (``ddl.regular.casedata`` holds it)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for cp in range(0x1F000):  # no cased characters above this block
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        for other in (c.lower(), c.upper(), c.casefold()):
            if len(other) == 1 and other != c:
                a, b = find(cp), find(ord(other))
                parent.setdefault(cp, cp)
                parent.setdefault(ord(other), ord(other))
                if a != b:
                    parent[a] = b
    groups: dict[int, list[int]] = {}
    for cp in parent:
        groups.setdefault(find(cp), []).append(cp)
    keys = sorted(parent)
    return keys, [tuple(sorted(groups[find(k)])) for k in keys]


@lru_cache(maxsize=65536)
def _case_representative(cp: int) -> int:
    keys, classes = _case_table()
    i = bisect_left(keys, cp)
    return classes[i][0] if i < len(keys) and keys[i] == cp else cp


def case_key(text: str) -> str:
    """``text`` with every character replaced by the smallest of its case variants.

    Two texts have the same key exactly when :func:`ignore_case` matching cannot tell them apart
    (the same equivalence as :func:`case_closure`), so a table keyed by it finds "PARIS", "Paris"
    and "parıs" (dotless i) alike — ``str.casefold`` would miss the last.
    """
    if text.isascii():
        # An ASCII letter's smallest case variant is its ASCII capital (the others — its small
        # letter, the Kelvin sign, the long s, the dotless i — all come after it), and ASCII has
        # no other cased characters: the key is the upper case, at C speed.
        return text.upper()
    return "".join(chr(_case_representative(ord(c))) for c in text)


@lru_cache(maxsize=4096)
def case_closure(cs: CharSet) -> CharSet:
    """``cs`` plus every case variant of its members.

    Memoized: the same few sets (letters, digits, "any but space") recur in every
    grammar, and closing a large set costs milliseconds — a registry of thousands
    of families would otherwise spend most of its build time here.
    """
    keys, classes = _case_table()
    extra: set[int] = set()
    for lo, hi in cs.ranges():
        i = bisect_left(keys, lo)
        while i < len(keys) and keys[i] <= hi:
            extra.update(classes[i])
            i += 1
    return cs | CharSet.from_chars(extra) if extra else cs


@lru_cache(maxsize=8192)  # sub-expressions (enum texts, numerals) recur across grammars
def ignore_case(node: Regex, keep: frozenset[str] = frozenset()) -> Regex:
    """The same regex with every character set closed under case variants, except inside the
    captures named in ``keep`` (their texts keep the case their own language gives them)."""
    if isinstance(node, Chars):
        return Chars(case_closure(node.cs))
    if isinstance(node, (Concat, Alt, Intersect)):
        return type(node)(tuple(ignore_case(x, keep) for x in node.items))
    if isinstance(node, Star):
        return Star(ignore_case(node.inner, keep), node.greedy)
    if isinstance(node, Repeat):
        return Repeat(ignore_case(node.inner, keep), node.lo, node.hi, node.greedy)
    if isinstance(node, Complement):
        return Complement(ignore_case(node.inner, keep))
    if isinstance(node, Difference):
        return Difference(ignore_case(node.left, keep), ignore_case(node.right, keep))
    if isinstance(node, Capture):
        return node if node.name in keep else Capture(node.name, ignore_case(node.inner, keep))
    if isinstance(node, Named):
        return Named(node.label, ignore_case(node.inner, keep))
    if isinstance(node, Shuffle):
        return Shuffle(tuple(ignore_case(x, keep) for x in node.items), node.required, ignore_case(node.sep, keep))
    return node
