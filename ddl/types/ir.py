"""The typed core IR produced by the checker and consumed by the evaluator and verifier.

Names are resolved, implicit conversions are explicit (:class:`Widen`,
:class:`Narrow`), and every node carries its type and source span.  Partial
operations (``Arith`` with ``/`` or ``%``, :class:`Index`, :class:`TableGet` on
a non-exhaustive table, :class:`Narrow`, and the partial built-ins) are where
runtime failures can occur; the verifier turns each into a ``safe`` obligation.

Consumers dispatch on the node class with :class:`Visitor` (``visit_<Class>`` methods, no silent
default); the places a new node class must be handled are listed in spec/semantics.md, "Adding an
IR node".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Union, get_args

import attrs

from ddl.diagnostics import Span
from ddl.syntax.ast import NOSPAN
from ddl.types.model import Type
from ddl.values import Value


def _span() -> Span:
    return attrs.field(default=NOSPAN, eq=False, repr=False, kw_only=True)  # type: ignore[no-any-return]


@attrs.frozen
class Const:
    value: Value
    type: Type
    span: Span = _span()


@attrs.frozen
class Local:
    """A let binding, function or lambda parameter, comprehension or match binder."""

    name: str
    type: Type
    span: Span = _span()


@attrs.frozen
class Param:
    """A family parameter (an element of θ)."""

    name: str
    type: Type
    span: Span = _span()


@attrs.frozen
class Interp:
    """Text interpolation; non-text parts are shown as by ``show`` (enums by display text)."""

    parts: tuple[str | Node, ...]
    type: Type
    span: Span = _span()


@attrs.frozen
class Let:
    name: str
    value: Node
    body: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class If:
    cond: Node
    then: Node
    else_: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Arith:
    """``op`` in + - * / %; ``kind`` is "int" (floor division/modulo) or "dec"."""

    op: str
    kind: str
    left: Node
    right: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Compare:
    """``op`` in == != < <= > >= on base-equal operands (ordering on Int, Decimal, Text)."""

    op: str
    left: Node
    right: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Logic:
    """``and`` / ``or`` with short-circuit."""

    op: str
    left: Node
    right: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Not:
    operand: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Neg:
    operand: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Concat:
    """``++`` on Text or on lists (``kind`` "text" / "list")."""

    kind: str
    left: Node
    right: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Coalesce:
    """``opt ?? default``."""

    option: Node
    default: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class GetField:
    obj: Node
    name: str
    type: Type
    span: Span = _span()


@attrs.frozen
class Index:
    """``xs[i]`` on a list (partial: i in 0..len-1) or ``m[k]`` on a map (partial: k present)."""

    kind: str  # "list" | "map"
    obj: Node
    index: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class TableGet:
    """``table[key]``; partial unless the table is exhaustive over an enum key."""

    table: str  # a key into CheckedModule.tables
    key: Node
    partial: bool
    type: Type
    span: Span = _span()


@attrs.frozen
class CallFn:
    fn: str  # a key into CheckedModule.functions
    args: tuple[Node, ...]
    type: Type
    span: Span = _span()


@attrs.frozen
class Lambda:
    """Only as an argument of a higher-order built-in (map, filter, fold, ...)."""

    params: tuple[str, ...]
    param_types: tuple[Type, ...]
    body: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class CallBuiltin:
    name: str
    args: tuple[Node, ...]
    type: Type
    span: Span = _span()


@attrs.frozen
class MakeList:
    items: tuple[Node, ...]
    type: Type
    span: Span = _span()


@attrs.frozen
class Range:
    """Inclusive integer range ``lo..hi`` as a comprehension source (empty when lo > hi)."""

    lo: Node
    hi: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Comprehension:
    elem: Node
    var: str
    source: Node  # a list-typed node or a Range
    cond: Node | None
    type: Type
    span: Span = _span()


@attrs.frozen
class MakeMap:
    entries: tuple[tuple[Node, Node], ...]
    type: Type
    span: Span = _span()


@attrs.frozen
class MakeRecord:
    type_name: str
    fields: tuple[tuple[str, Node], ...]  # declaration order
    type: Type
    span: Span = _span()


@attrs.frozen
class MakeSome:
    value: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class PatWild:
    pass


@attrs.frozen
class PatConst:
    value: Value


@attrs.frozen
class PatSome:
    binder: str


@attrs.frozen
class PatNone:
    pass


IRPattern = Union[PatWild, PatConst, PatSome, PatNone]


@attrs.frozen
class Arm:
    pattern: IRPattern
    body: Node
    span: Span = _span()


@attrs.frozen
class Match:
    scrutinee: Node
    arms: tuple[Arm, ...]
    type: Type
    span: Span = _span()


@attrs.frozen
class Widen:
    """Int → Decimal(scale), or Decimal to a larger scale. Total."""

    inner: Node
    type: Type
    span: Span = _span()


@attrs.frozen
class Narrow:
    """Check a value against a declared refinement (range, max length, pattern, bound).

    Partial: fails with DDL302/306/307/309 when the value is outside ``type``.
    """

    inner: Node
    type: Type
    span: Span = _span()


Node = Union[
    Const, Local, Param, Interp, Let, If, Arith, Compare, Logic, Not, Neg, Concat, Coalesce,
    GetField, Index, TableGet, CallFn, Lambda, CallBuiltin, MakeList, Range, Comprehension,
    MakeMap, MakeRecord, MakeSome, Match, Widen, Narrow,
]

NODE_CLASSES: frozenset[type] = frozenset(get_args(Node))
"""Every IR expression class (the members of :data:`Node`)."""


class MissingVisit(Exception):
    """A visitor met an IR node class it has no ``visit_<Class>`` method for (a bug in ddl, not in a program)."""


class Visitor:
    """Dispatch on the node's class to ``visit_<Class>(node, *args)``, e.g. ``visit_Match``.

    The method for each node class is looked up once per visitor class and cached.  There is no
    fallback: a node class without a method raises :class:`MissingVisit` naming the visitor and the
    class, so a new IR node cannot be skipped silently.  A visitor that treats several classes
    alike says so by aliasing (``visit_Not = visit_Neg = _unary``).  :meth:`missing` lists the
    node classes a visitor does not handle (the test suite requires it to be empty).
    """

    _visit_cache: ClassVar[dict[type, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._visit_cache = {}

    def visit(self, node: Node, *args: Any) -> Any:
        fn = self._visit_cache.get(type(node))
        if fn is None:
            fn = type(self)._handler(type(node))
        return fn(self, node, *args)

    @classmethod
    def _handler(cls, node_cls: type) -> Callable[..., Any]:
        fn = getattr(cls, "visit_" + node_cls.__name__, None)
        if fn is None:
            raise MissingVisit(f"{cls.__name__} has no visit_{node_cls.__name__} method: the IR node "
                               f"{node_cls.__name__} is not handled (a bug in ddl, not in the program)")
        cls._visit_cache[node_cls] = fn
        return fn  # type: ignore[no-any-return]

    @classmethod
    def missing(cls) -> list[str]:
        """The IR node classes this visitor has no ``visit_`` method for, by name."""
        return sorted(c.__name__ for c in NODE_CLASSES if not hasattr(cls, "visit_" + c.__name__))
