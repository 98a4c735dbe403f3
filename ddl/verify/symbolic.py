"""Symbolic evaluation for ``ensures`` over an infinite Θ.

Parameters with small finite domains are enumerated; the others (Text, large
ranges, decimals) become opaque *atoms*.  A text is a sequence of constant
characters and atoms; a call on an atom is a new atom keyed by the function
and its arguments, so the same call in the program and in the ``ensures``
clause is the same atom.  ``starts_with``, ``ends_with``, ``contains`` and
``==`` on such sequences are decided only when the answer holds for every
value of the atoms (a constant part matches, or whole atoms line up);
numbers are compared by interval analysis.  Records, options, lists and map
literals (constant keys) are compared field by field and entry by entry; a
clause that reads ``result`` only through fields sees the program projected to
those fields.  A table lookup with an opaque key forks over the entries, and an
opaque parameter with a small domain is split over its values where it is
tested.  Anything else — a branch on an atom inside a call, a built-in applied
to one — stops the proof (:class:`Undecided`), so a verdict is always sound.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any, NamedTuple

import attrs
from pyrsistent import PMap, PVector, pmap, pvector

from ddl.eval.arms import arm_index, binder
from ddl.eval.builtins import b_get
from ddl.eval.ops import compare, show
from ddl.eval.result import Ok
from ddl.regular import Lang, RegularError
from ddl.regular.charset import CharSet
from ddl.regular.dfa import DFA, minimize
from ddl.types import ir
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, OptionT, TextT
from ddl.types.regex import convert_regex
from ddl.values import NONE, RecordV, SomeV
from ddl.verify import intervals as iv
from ddl.verify.walk import children, nodes

MAX_DEPTH = 6
MAX_CHOICES = 8
MAX_PATHS = 64


class Undecided(Exception):
    pass


@attrs.frozen
class Atom:
    key: Any
    interval: Any = attrs.field(default=None, eq=False, hash=False)
    args: tuple[Any, ...] = attrs.field(default=(), eq=False, hash=False)
    lin: Any = attrs.field(default=None, eq=False, hash=False)  # an exact linear form over atoms, see Lin


@attrs.frozen
class SText:
    parts: tuple[Any, ...]  # str | Atom


def is_sym(v: Any) -> bool:
    if isinstance(v, (Atom, SText)):
        return True
    if isinstance(v, RecordV):
        return any(is_sym(x) for _, x in v.fields)
    if isinstance(v, SomeV):
        return is_sym(v.value)
    if isinstance(v, tuple):
        return any(is_sym(x) for x in v)
    try:
        if hasattr(v, "values") and not isinstance(v, str):
            return any(is_sym(x) for x in v.values())
        if hasattr(v, "__iter__") and not isinstance(v, str):
            return any(is_sym(x) for x in v)
    except TypeError:
        return False
    return False


def text(parts: list[Any]) -> Any:
    out: list[Any] = []
    for p in parts:
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + p
            else:
                out.append(p)
        else:
            out.append(p)
    if all(isinstance(p, str) for p in out):
        return "".join(out)
    return SText(tuple(out))


def parts_of(v: Any) -> list[Any]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, SText):
        return list(v.parts)
    if isinstance(v, Atom):
        return [Atom(("show", v.key))]
    raise Undecided


def key_of(v: Any) -> Any:
    if isinstance(v, Atom):
        return v.key
    if isinstance(v, SText):
        return ("text", tuple(key_of(p) if not isinstance(p, str) else p for p in v.parts))
    if isinstance(v, RecordV):
        return ("rec", v.type_name, tuple((n, key_of(x)) for n, x in v.fields))
    if not is_sym(v):
        return ("val", v)
    if isinstance(v, SomeV):
        return ("some", key_of(v.value))
    if isinstance(v, PMap):
        return ("map", frozenset((k, key_of(x)) for k, x in v.items()))
    if isinstance(v, PVector):
        return ("list", tuple(key_of(x) for x in v))
    raise Undecided


def struct_eq(a: Any, b: Any) -> bool | None:
    """Whether two values are equal for every value of their atoms (None: not decided structurally).

    Records field by field, options and map literals (constant keys) entry by entry, lists item by
    item; a text with more constant characters than a constant text has can never equal it."""
    if not is_sym(a) and not is_sym(b):
        return bool(compare("==", a, b))
    if key_of(a) == key_of(b):
        return True
    if isinstance(a, SomeV) or isinstance(b, SomeV):
        if isinstance(a, SomeV) and isinstance(b, SomeV):
            return struct_eq(a.value, b.value)
        return False if (a is NONE or b is NONE) else None
    if isinstance(a, RecordV) and isinstance(b, RecordV):
        return _all_eq([(x, dict(b.fields)[n]) for n, x in a.fields]) if a.type_name == b.type_name else False
    if isinstance(a, PMap) and isinstance(b, PMap):
        return _all_eq([(x, b[k]) for k, x in a.items()]) if set(a.keys()) == set(b.keys()) else False
    if isinstance(a, PVector) and isinstance(b, PVector):
        return _all_eq(list(zip(a, b))) if len(a) == len(b) else False
    for t, c in ((a, b), (b, a)):
        if isinstance(t, SText) and isinstance(c, str):
            fixed = "".join(p for p in t.parts if isinstance(p, str))
            if len(fixed) > len(c) or not _fits_around(t.parts, c):
                return False
    return None


def _fits_around(parts: tuple[Any, ...], c: str) -> bool:
    """Can a text of these parts equal ``c`` (its constant head and tail must match c's)?"""
    head = parts[0] if isinstance(parts[0], str) else ""
    tail = parts[-1] if isinstance(parts[-1], str) and len(parts) > 1 else ""
    return c.startswith(head) and c.endswith(tail)


def _all_eq(pairs: list[tuple[Any, Any]]) -> bool | None:
    verdicts = [struct_eq(x, y) for x, y in pairs]
    if any(v is False for v in verdicts):
        return False
    return True if all(v is True for v in verdicts) else None


# ---------------------------------------------------------------------- deciders on texts


def _occurs(hay: list[Any], needle: list[Any], anchor: str | None) -> bool:
    """Does ``needle`` occur in ``hay`` for every value of the atoms (aligned occurrence)?"""
    if not needle:
        return True
    n = len(needle)
    starts = range(len(hay)) if anchor is None else ([0] if anchor == "start" else [len(hay) - n])
    for i in starts:
        if i < 0 or i + n > len(hay):
            continue
        ok = True
        for j, part in enumerate(needle):
            h = hay[i + j]
            first, last = j == 0, j == n - 1
            if isinstance(part, str):
                if not isinstance(h, str):
                    ok = False
                    break
                if n == 1:
                    ok = (part in h if anchor is None else h.startswith(part) if anchor == "start" else h.endswith(part))
                elif first:
                    ok = h.endswith(part) and (anchor != "start" or h == part)
                elif last:
                    ok = h.startswith(part) and (anchor != "end" or h == part)
                else:
                    ok = h == part
            else:
                ok = h == part and (not (anchor == "start" and first and i != 0))
            if not ok:
                break
        if ok:
            return True
    return False


def decide_text(op: str, a: Any, b: Any) -> bool:
    if not is_sym(a) and not is_sym(b):
        raise AssertionError("concrete")  # pragma: no cover
    hay, needle = parts_of(a), parts_of(b)
    if op == "contains":
        if _occurs(hay, needle, None):
            return True
    elif op == "starts_with":
        if _occurs(hay, needle, "start"):
            return True
        if isinstance(hay[0], str) and all(isinstance(p, str) for p in needle[:1]):
            s = needle[0]
            h = hay[0]
            if not (h.startswith(s) or s.startswith(h)):
                return False
    elif op == "ends_with":
        if _occurs(hay, needle, "end"):
            return True
    raise Undecided


def _chars(*ranges: tuple[int, int]) -> Any:
    return Lang.chars(CharSet.from_ranges([(chr(a), chr(b)) for a, b in ranges]))


def _prefixes(lang: Any) -> Any:
    """The prefix closure of a language: every state that can still reach acceptance accepts."""
    d = lang._dfa
    live = d.live_states()
    return Lang(minimize(DFA(d.part, d.delta, [s in live for s in range(d.n)], d.start)))


# ---------------------------------------------------------------------- exact linear forms

# A number that is exactly Σ coef·atom + const: (((atom key, coef), ...), const).  Decimal results
# are rounded to their scale; a form is kept only when the rounding is provably exact for every
# value of its atoms (each atom lies on the grid of its own scale).
Lin = tuple[frozenset[tuple[Any, Fraction]], Fraction]


def lin_make(coefs: dict[Any, Fraction], const: Fraction) -> Lin:
    return (frozenset((k, c) for k, c in coefs.items() if c != 0), const)


def lin_add(a: Lin, b: Lin, sign: int = 1) -> Lin:
    coefs = dict(a[0])
    for k, c in b[0]:
        coefs[k] = coefs.get(k, Fraction(0)) + sign * c
    return lin_make(coefs, a[1] + sign * b[1])


def lin_scale(a: Lin, f: Fraction) -> Lin:
    return lin_make({k: c * f for k, c in a[0]}, a[1] * f)


class _At(NamedTuple):
    """Where a sub-expression is evaluated: locals, θ (values or atoms), local intervals, call depth."""

    env: dict[str, Any]
    params: dict[str, Any]
    ivenv: dict[str, Any]
    depth: int


class Symbolic(ir.Visitor):
    """Evaluates IR over atoms: ``run(node, env, params, ivenv)``; one ``visit_<Node>`` per IR node class."""

    def __init__(self, module: Any, evaluator: Any, ivs: iv.Intervals):
        self.module = module
        self.evaluator = evaluator
        self.ivs = ivs
        self._free: dict[int, tuple[frozenset[str], frozenset[str]]] = {}
        self.choices: list[int] = []
        self.arities: list[int] = []  # how many ways each choice on the current path could go
        self.fresh = 0
        self.var_scale: dict[Any, int] = {}
        self.text_params: dict[Any, Any] = {}  # atom key of a Text parameter → its pattern
        self.var_iv: dict[Any, Any] = {}
        self.table_picks: dict[Any, int] = {}  # (table, key) → the entry chosen on the current path
        self.lazy: dict[str, list[Any]] = {}  # opaque parameters with small domains, split where tested

    # ---- regular languages of texts (to show that a text can never contain a needle)

    def lang_of_key(self, key: Any) -> Any:
        """A regular language containing every value of the text with this key, or None."""
        if isinstance(key, str):
            return Lang.literal(key)
        if not isinstance(key, tuple) or not key:
            return None
        if key[0] == "text":
            out = Lang.epsilon()
            for part in key[1]:
                lang = self.lang_of_key(part)
                if lang is None:
                    return None
                out = out.concat(lang)
            return out
        if key[0] == "param" and key in self.text_params:
            return Lang.from_regex(convert_regex(self.text_params[key]))
        if key[0] == "show" and self.var_scale.get(key[1]) == 0:
            r = self.var_iv.get(key[1])
            if r is not None and r[0] is not None and r[0] >= 0:
                return _chars((48, 57)).plus()
            return None
        if key[0] == "builtin" and key[1] == "slug":
            word = _chars((97, 122), (48, 57)).plus()
            return word.concat(Lang.literal("-").concat(word).star()).optional()
        if key[0] == "builtin" and key[1] == "join" and key[2][1] == ("val", key[2][1][1]):
            lst, sep = key[2][0], key[2][1][1]
            take = lst[0] == "builtin" and lst[1] == "take"
            split = lst[2][0] if take else lst
            if isinstance(split, tuple) and split[:2] == ("builtin", "split") and split[2][1] == ("val", sep):
                source = self.lang_of_key(split[2][0])
                if source is None:
                    return None
                # join(split(s, sep), sep) is s; taking the first pieces gives a prefix of s.
                return _prefixes(source) if take else source
        return None

    def excludes(self, t: Any, needle: str) -> bool:
        """No value of the text ``t`` contains ``needle``."""
        try:
            lang = self.lang_of_key(key_of(t))
            if lang is None:
                return False
            has = Lang.universe().concat(Lang.literal(needle), Lang.universe())
            return bool(lang.intersect(has).is_empty())
        except (Undecided, IndexError, TypeError, AttributeError, RegularError):  # an automaton over its limit: not shown
            return False

    def never_contains(self, t: SText, old: str) -> bool:
        """No value of ``t`` contains ``old`` (a single character; atoms must be patterned parameters)."""
        if len(old) != 1:
            return False
        for part in t.parts:
            if isinstance(part, str):
                if old in part:
                    return False
                continue
            pattern = self.text_params.get(part.key)
            if pattern is None:
                return False
            has = Lang.universe().concat(Lang.literal(old), Lang.universe())
            try:
                if not Lang.from_regex(convert_regex(pattern)).intersect(has).is_empty():
                    return False
            except RegularError:  # the pattern's automaton is over its limit: not shown
                return False
        return True

    def lin(self, v: Any) -> Lin | None:
        """The exact linear form of a number (an atom without one is its own variable)."""
        if isinstance(v, Atom):
            if v.lin is not None:
                return v.lin  # type: ignore[no-any-return]
            if v.key in self.var_scale:
                return lin_make({v.key: Fraction(1)}, Fraction(0))
            return None
        f = iv.frac(v)
        return None if f is None else lin_make({}, f)

    def exact(self, form: Lin, scale: int) -> bool:
        unit = Fraction(10) ** scale
        if (form[1] * unit).denominator != 1:
            return False
        for k, c in form[0]:
            if k not in self.var_scale or (c * unit / Fraction(10) ** self.var_scale[k]).denominator != 1:
                return False
        return True

    def lin_interval(self, form: Lin) -> Any:
        lo: Any = form[1]
        hi: Any = form[1]
        for k, c in form[0]:
            r = self.var_iv.get(k)
            if r is None:
                return None
            a, b = (r[0], r[1]) if c > 0 else (r[1], r[0])
            lo = None if lo is None or a is None else lo + c * a
            hi = None if hi is None or b is None else hi + c * b
        return (lo, hi)

    def arith_lin(self, node: ir.Node, vals: tuple[Any, ...]) -> Lin | None:
        forms = [self.lin(v) for v in vals]
        if any(f is None for f in forms):
            return None
        out: Lin | None = None
        if isinstance(node, ir.Neg):
            out = lin_scale(forms[0], Fraction(-1))  # type: ignore[arg-type]
        elif isinstance(node, ir.Arith):
            a, b = forms[0], forms[1]
            assert a is not None and b is not None
            if node.op in ("+", "-"):
                out = lin_add(a, b, 1 if node.op == "+" else -1)
            elif node.op == "*" and (not a[0] or not b[0]):
                out = lin_scale(b, a[1]) if not a[0] else lin_scale(a, b[1])
            elif node.op == "/" and node.kind == "dec" and not b[0] and b[1] != 0:
                out = lin_scale(a, 1 / b[1])
        return out

    def choose(self, n: int) -> int:
        """Which way an undecided branch goes on this path (paths are enumerated by prove_ensures)."""
        pos = len(self.arities)
        if pos >= MAX_CHOICES:
            raise Undecided
        self.arities.append(n)
        if pos >= len(self.choices):
            self.choices.append(0)
        return self.choices[pos]

    def free(self, node: ir.Node) -> tuple[frozenset[str], frozenset[str]]:
        """Parameters and local names mentioned under ``node`` (locals over-approximated)."""
        got = self._free.get(id(node))
        if got is None:
            ps, ls = set(), set()
            for n in nodes(node):
                if isinstance(n, ir.Param):
                    ps.add(n.name)
                elif isinstance(n, ir.Local):
                    ls.add(n.name)
            got = (frozenset(ps), frozenset(ls))
            self._free[id(node)] = got
        return got

    def run(self, node: ir.Node, env: dict[str, Any], params: dict[str, Any], ivenv: dict[str, Any],
            depth: int = 0) -> Any:
        ps, ls = self.free(node)
        if all(not is_sym(params[p]) for p in ps) and all(not is_sym(env[n]) for n in ls if n in env):
            out = self.evaluator.eval_closed(node, env={n: env[n] for n in ls if n in env}, params={p: params[p] for p in ps})
            if isinstance(out, Ok):
                return out.value
            raise Undecided
        return self.visit(node, _At(env, params, ivenv, depth))

    def numerals(self, t: SText) -> Any:
        """The interval of parse_int(t) when it never fails (t a parameter whose pattern admits only numerals)."""
        if len(t.parts) != 1 or not isinstance(t.parts[0], Atom) or t.parts[0].key not in self.text_params:
            return None
        return iv.numeral_range(self.text_params[t.parts[0].key])

    def _atom(self, node: ir.Node, key: Any, ivenv: dict[str, Any], lin: Lin | None = None,
              interval: Any = None) -> Any:
        """An opaque value; ``lin`` is its value as a linear form before rounding to the node's scale."""
        if isinstance(node.type, TextT):
            return SText((Atom(key),))
        if interval is not None:  # an Int known by other means (parse_int of a patterned text)
            self.var_scale[key] = 0
            self.var_iv[key] = interval
            return Atom(key, interval)
        if isinstance(node.type, (IntT, DecimalT)):
            interval = self.ivs.of(node, ivenv)
            if lin is not None:
                r = self.lin_interval(lin)
                if r is not None:
                    interval = iv.meet(interval, iv.round_bounds(r, node.type))
                scale = node.type.scale if isinstance(node.type, DecimalT) else 0
                if not self.exact(lin, scale):
                    lin = None
            if lin is None:
                self.var_scale[key] = node.type.scale if isinstance(node.type, DecimalT) else 0
                self.var_iv[key] = interval
        return Atom(key, interval, lin=lin)

    # ---- one method per IR node class: visit_<Node>(node, at) with ``at`` the run's frame

    def ev(self, at: _At, node: ir.Node, env: dict[str, Any] | None = None, ivenv: dict[str, Any] | None = None) -> Any:
        """Evaluate a sub-expression in the same frame (or with a changed environment)."""
        return self.run(node, at.env if env is None else env, at.params, at.ivenv if ivenv is None else ivenv,
                        at.depth)

    def visit_Param(self, node: ir.Param, at: _At) -> Any:
        return at.params[node.name]

    def visit_Local(self, node: ir.Local, at: _At) -> Any:
        return at.env[node.name]

    def visit_Let(self, node: ir.Let, at: _At) -> Any:
        if node.name not in self.free(node.body)[1]:
            # Never read (e.g. only by a record field the clause does not read): not evaluated. Should
            # it fail, the program has no output there, and a clause checked on more outputs is still sound.
            return self.ev(at, node.body)
        v = self.ev(at, node.value)
        value_iv = self.ivs.of(node.value, at.ivenv)
        known = _interval(v)
        if known is not None:
            value_iv = iv.meet(value_iv, known)
        return self.ev(at, node.body, {**at.env, node.name: v}, {**at.ivenv, node.name: value_iv})

    def visit_Interp(self, node: ir.Interp, at: _At) -> Any:
        parts: list[Any] = []
        for p in node.parts:
            if isinstance(p, str):
                parts.append(p)
            else:
                v = self.ev(at, p)
                parts.extend(parts_of(v) if is_sym(v) else [show(v)])
        return text(parts)

    def visit_Concat(self, node: ir.Concat, at: _At) -> Any:
        if node.kind != "text":
            raise Undecided
        a, b = self.ev(at, node.left), self.ev(at, node.right)
        return text(parts_of(a) + parts_of(b))

    def visit_MakeRecord(self, node: ir.MakeRecord, at: _At) -> Any:
        return RecordV(node.type_name, tuple((n, self.ev(at, e)) for n, e in node.fields))

    def visit_MakeMap(self, node: ir.MakeMap, at: _At) -> Any:
        entries = {}
        for k, v in node.entries:
            kv = self.ev(at, k)
            if is_sym(kv):
                raise Undecided
            entries[kv] = self.ev(at, v)
        return pmap(entries)

    def visit_MakeList(self, node: ir.MakeList, at: _At) -> Any:
        return pvector([self.ev(at, x) for x in node.items])

    def visit_MakeSome(self, node: ir.MakeSome, at: _At) -> Any:
        return SomeV(self.ev(at, node.value))

    def visit_GetField(self, node: ir.GetField, at: _At) -> Any:
        obj = self.ev(at, node.obj)
        if isinstance(obj, RecordV):
            return obj.get(node.name)
        raise Undecided

    def visit_If(self, node: ir.If, at: _At) -> Any:
        try:
            c = self.ev(at, node.cond)
        except Undecided:
            c = None
        if c is not True and c is not False and isinstance(node.type, (IntT, DecimalT)):
            self.fresh += 1  # a number from either branch: an atom equal only to itself
            return Atom(("ite", self.fresh), self.ivs.of(node, at.ivenv))
        if c is not True and c is not False:
            if at.depth > 0:
                raise Undecided  # only the program's own branches fork; a call becomes an atom instead
            c = self.choose(2) == 0  # both ways are explored
        return self.ev(at, node.then) if c else self.ev(at, node.else_)

    def visit_Match(self, node: ir.Match, at: _At) -> Any:
        try:
            s = self.bind(self.ev(at, node.scrutinee), at)
        except Undecided:
            self.fresh += 1  # unknown and unnamed: equal only to itself
            s = Atom(("scrutinee", self.fresh))
        if is_sym(s):
            if at.depth > 0:
                raise Undecided
            arm = node.arms[self.choose(len(node.arms))]  # every arm is explored
            if isinstance(arm.pattern, ir.PatConst) and isinstance(node.scrutinee, ir.Param):
                # The parameter is bound to the arm's value inside the arm.
                at = at._replace(params={**at.params, node.scrutinee.name: arm.pattern.value})
            name = binder(arm.pattern)
            if name is not None:
                inner_t = node.scrutinee.type.inner if isinstance(node.scrutinee.type, OptionT) else None
                key = ("some", key_of(s) if not isinstance(s, SText) else key_of(s))
                bound: Any = (SText((Atom(key),)) if isinstance(inner_t, TextT)
                              else Atom(key, iv.type_range(inner_t) if inner_t is not None else None))
                return self.ev(at, arm.body, {**at.env, name: bound})
            return self.ev(at, arm.body)
        index = arm_index(node, s)
        if index is None:
            raise Undecided
        arm = node.arms[index]
        name = binder(arm.pattern)
        if name is not None:
            return self.ev(at, arm.body, {**at.env, name: s.value})
        return self.ev(at, arm.body)

    def visit_Logic(self, node: ir.Logic, at: _At) -> Any:
        a = self.ev(at, node.left)
        if node.op == "and":
            return self.ev(at, node.right) if a is True else _bool(a)
        return True if a is True else self.ev(at, node.right) if a is False else _bool(a)

    def visit_Not(self, node: ir.Not, at: _At) -> Any:
        return not _bool(self.ev(at, node.operand))

    def visit_Compare(self, node: ir.Compare, at: _At) -> Any:
        a, b = self.bind(self.ev(at, node.left), at), self.bind(self.ev(at, node.right), at)
        return self._compare(node.op, a, b)

    def bind(self, v: Any, at: _At) -> Any:
        """A parameter with a small domain left opaque (the enumeration's budget was spent elsewhere) is
        split over its values where the program tests it: one value per path, bound for the rest of the
        path (the ``ensures`` clause included), so a test on it and the clause agree."""
        if not isinstance(v, Atom) or at.depth > 0 or not (isinstance(v.key, tuple) and v.key[:1] == ("param",)):
            return v
        name = v.key[1]
        dom = self.lazy.get(name)
        if dom is None or at.params.get(name) is not v:
            return v
        value = dom[self.choose(len(dom))]
        at.params[name] = value
        return value

    def concrete(self, node: ir.Node, field: str, vals: list[Any]) -> Any:
        """``node`` applied to concrete operands (its ``field`` children evaluated already)."""
        names = [f"#arg{i}" for i in range(len(vals))]
        kids = getattr(node, field)
        if isinstance(kids, tuple):
            replaced: Any = tuple(ir.Local(n, k.type) for n, k in zip(names, kids))
        else:
            replaced = ir.Local(names[0], kids.type)
        out = self.evaluator.eval_closed(attrs.evolve(node, **{field: replaced}), env=dict(zip(names, vals)))
        if isinstance(out, Ok):
            return out.value
        raise Undecided  # the operation fails here: no output on this path to check

    def visit_CallBuiltin(self, node: ir.CallBuiltin, at: _At) -> Any:
        args = [self.ev(at, a) for a in node.args]
        if not any(is_sym(a) for a in args):
            return self.concrete(node, "args", args)
        if node.name == "get" and len(args) == 2 and isinstance(args[0], (PMap, PVector)) and not is_sym(args[1]):
            return b_get(args[0], args[1])  # a map literal's entry or a list literal's item, or none
        if (node.name == "join" and isinstance(args[0], PVector) and isinstance(args[1], str)
                and all(isinstance(x, (str, SText)) for x in args[0])):
            joined: list[Any] = []  # a list literal of texts joined: the items with the separator between
            for k, item in enumerate(args[0]):
                joined.extend(([args[1]] if k else []) + parts_of(item))
            return text(joined)
        if node.name == "parse_int" and isinstance(args[0], SText):
            got = self.numerals(args[0])
            if got is not None:
                return SomeV(self._atom(node, ("builtin", "parse_int", (key_of(args[0]),)), at.ivenv,
                                        interval=got))
        if node.name in ("contains", "starts_with", "ends_with") and any(isinstance(a, (SText, Atom)) for a in args):
            if isinstance(args[0], (str, SText)):
                try:
                    return decide_text(node.name, args[0], args[1])
                except Undecided:
                    if node.name == "contains" and isinstance(args[1], str) and self.excludes(args[0], args[1]):
                        return False
                    raise
            raise Undecided
        if node.name == "replace" and isinstance(args[0], SText) and all(isinstance(a, str) for a in args[1:]):
            if self.never_contains(args[0], args[1]):
                return args[0]  # nothing to replace, whatever the atoms are
        if node.name == "len" and not isinstance(args[0], (str, SText, Atom)) and hasattr(args[0], "__len__"):
            return len(args[0])
        if node.name == "len" and isinstance(args[0], Atom) and args[0].key[:1] == ("list",):
            return self._atom(node, ("len", args[0].key), at.ivenv, args[0].lin)  # a list of known length
        if node.name == "show" and isinstance(args[0], Atom):
            return SText((Atom(("show", args[0].key)),))
        if node.name == "show" and isinstance(args[0], SText):
            return args[0]
        form = None
        if node.name in ("round", "to_decimal") and isinstance(node.type, DecimalT):
            form = self.lin(args[0])
        elif node.name == "abs" and isinstance(args[0], Atom):
            form = self.lin(args[0])
            r = self.lin_interval(form) if form is not None else None
            if form is not None and r is not None and r[0] is not None and r[0] >= 0:
                pass
            elif form is not None and r is not None and r[1] is not None and r[1] <= 0:
                form = lin_scale(form, Fraction(-1))
            else:
                form = None
        return self._atom(node, ("builtin", node.name, tuple(key_of(a) for a in args)), at.ivenv, form)

    def visit_CallFn(self, node: ir.CallFn, at: _At) -> Any:
        args = [self.ev(at, a) for a in node.args]
        fn = self.module.functions[node.fn]
        if at.depth < MAX_DEPTH:
            mark, saved = len(self.arities), list(self.choices)
            inner_iv = {name: _interval(a) or iv.type_range(t) for (name, t), a in zip(fn.params, args)}
            try:
                return self.run(fn.body, {name: a for (name, _), a in zip(fn.params, args)}, at.params, inner_iv,
                                at.depth + 1)
            except Undecided:
                del self.arities[mark:]
                self.choices = saved
        return self._atom(node, ("call", node.fn, tuple(key_of(a) for a in args)), at.ivenv)

    def visit_Comprehension(self, node: ir.Comprehension, at: _At) -> Any:
        source: Any = self.ev(at, node.source) if not isinstance(node.source, ir.Range) else None
        if isinstance(node.source, ir.Range):
            lo, hi = self.ev(at, node.source.lo), self.ev(at, node.source.hi)
            if is_sym(lo) or is_sym(hi):
                return self.opaque_list(node, lo, hi)
            source = range(lo, hi + 1)
        if is_sym(source):
            raise Undecided
        items = []
        for x in source:
            inner = {**at.env, node.var: x}
            inner_iv = {**at.ivenv, node.var: _interval(x) or iv.TOP}
            if node.cond is not None and _bool(self.ev(at, node.cond, inner, inner_iv)) is not True:
                continue
            items.append(self.ev(at, node.elem, inner, inner_iv))
        return pvector(items)

    def opaque_list(self, node: ir.Comprehension, lo: Any, hi: Any) -> Any:
        """``[e for i in lo..hi]`` with opaque bounds: a list known only by its length hi - lo + 1 (when
        that is never negative; a condition may drop items, so then nothing is known)."""
        la, lb = self.lin(lo), self.lin(hi)
        if node.cond is not None or la is None or lb is None:
            raise Undecided
        length = lin_add(lin_add(lb, la, -1), lin_make({}, Fraction(1)))
        r = (length[1], length[1]) if not length[0] else self.lin_interval(length)
        if r is None or r[0] is None or r[0] < 0:
            raise Undecided
        self.fresh += 1
        return Atom(("list", self.fresh), lin=length)

    def visit_Narrow(self, node: ir.Narrow | ir.Widen, at: _At) -> Any:
        if not isinstance(node.type, (IntT, DecimalT)):
            if isinstance(node, ir.Narrow):
                return self.ev(at, node.inner)  # a narrowing that passes returns its value unchanged
            raise Undecided
        inner = self.ev(at, node.inner)
        form = self.lin(inner)  # widening and a narrowing that passes keep the value
        return self._atom(node, ("num", key_of(inner), str(node.type)), at.ivenv, form)

    visit_Widen = visit_Narrow

    def visit_Arith(self, node: ir.Arith | ir.Neg | ir.Coalesce | ir.TableGet | ir.Index, at: _At) -> Any:
        """An opaque number or text keyed by the operation and its operands (exact when linear)."""
        if not isinstance(node.type, (IntT, DecimalT, TextT)):
            raise Undecided
        vals = tuple(self.ev(at, c) for c in children(node))
        form = self.arith_lin(node, vals) if isinstance(node, (ir.Arith, ir.Neg)) else None
        atom = self._atom(node, ("op", type(node).__name__, getattr(node, "op", ""), tuple(key_of(v) for v in vals)),
                          at.ivenv, form)
        return attrs.evolve(atom, args=vals) if isinstance(atom, Atom) else atom

    visit_Neg = visit_Coalesce = visit_Arith

    def visit_Index(self, node: ir.Index, at: _At) -> Any:
        """An entry of a map or list literal whose key is known, by construction; else an opaque value."""
        obj = self.ev(at, node.obj)
        key = self.ev(at, node.index)
        if not is_sym(key) and isinstance(obj, (PMap, PVector)):
            if isinstance(obj, PMap):
                if key in obj:
                    return obj[key]
                raise Undecided  # no key can equal it: the lookup fails, no output on this path
            if isinstance(key, int) and 0 <= key < len(obj):
                return obj[key]
            raise Undecided
        return self.visit_Arith(node, at)

    def visit_TableGet(self, node: ir.TableGet, at: _At) -> Any:
        """A lookup with an opaque key is the join of the entries it can reach: a number keeps its
        interval (the entries' join); any other value forks the program's path over the entries, the
        same key choosing the same entry on one path."""
        key = self.ev(at, node.key)
        if is_sym(key) and not isinstance(node.type, (IntT, DecimalT)):
            key = self.bind(key, at)  # a parameter split here is bound for the rest of the path
        if is_sym(key) and (isinstance(node.type, (IntT, DecimalT)) or at.depth > 0):
            return self.visit_Arith(node, at)
        try:
            entries = self.evaluator.table(node.table)
        except Exception:  # noqa: BLE001 - a failing table is another obligation
            raise Undecided from None
        if not is_sym(key):
            if key in entries:
                return entries[key]
            raise Undecided  # the lookup fails: no output on this path
        if not entries:
            raise Undecided
        memo = (node.table, key_of(key))
        if memo not in self.table_picks:
            self.table_picks[memo] = self.choose(len(entries))
        values = [entries[k] for k in sorted(entries.keys(), key=repr)]
        return values[self.table_picks[memo]]

    def _undecided(self, node: ir.Node, at: _At) -> Any:
        raise Undecided

    # A constant is always evaluated concretely by run(); a lambda or range only occurs inside a
    # built-in call or a comprehension, which handle them.
    visit_Const = visit_Lambda = visit_Range = _undecided

    def _compare(self, op: str, a: Any, b: Any) -> bool:
        if not is_sym(a) and not is_sym(b):
            return bool(compare(op, a, b))
        if op in ("==", "!="):
            same = struct_eq(a, b)
            if same is not None:
                return same == (op == "==")
        la, lb = self.lin(a), self.lin(b)
        if la is not None and lb is not None:
            diff = lin_add(la, lb, -1)
            r = (diff[1], diff[1]) if not diff[0] else self.lin_interval(diff)
            if r is not None:
                lo, hi = r
                zero = Fraction(0)
                if lo is not None and hi is not None and lo == hi == zero:
                    return op in ("==", "<=", ">=")
                if op in (">=", ">") and lo is not None and (lo > zero or (op == ">=" and lo == zero)):
                    return True
                if op in ("<=", "<") and hi is not None and (hi < zero or (op == "<=" and hi == zero)):
                    return True
                if op == "==" and ((lo is not None and lo > zero) or (hi is not None and hi < zero)):
                    return False
        # x + t >= x (and x <= x + t) when t >= 0: + is exact (its scale is the larger operand scale).
        big, small = (a, b) if op in (">=", ">") else (b, a)
        if op in (">=", "<=") and isinstance(big, Atom) and big.key[:3] == ("op", "Arith", "+") and len(big.args) == 2:
            x, t = big.args
            for summand, other in ((x, t), (t, x)):
                if key_of(summand) == key_of(small):
                    o = _interval(other)
                    if o is not None and o[0] is not None and o[0] >= 0:
                        return True
        ia, ib = _interval(a), _interval(b)
        if ia is not None and ib is not None:
            lo_a, hi_a = ia
            lo_b, hi_b = ib
            if op in (">=", ">", "<=", "<"):
                if op in ("<=", "<"):
                    lo_a, hi_a, lo_b, hi_b = lo_b, hi_b, lo_a, hi_a
                strict = op in (">", "<")
                if lo_a is not None and hi_b is not None and (lo_a > hi_b or (not strict and lo_a >= hi_b)):
                    return True
                if hi_a is not None and lo_b is not None and (hi_a < lo_b or (strict and hi_a <= lo_b)):
                    return False
        raise Undecided


def _interval(v: Any) -> Any:
    if isinstance(v, Atom):
        return v.interval
    f = iv.frac(v)
    return (f, f) if f is not None else None


def _bool(v: Any) -> bool:
    if v is True or v is False:
        return v
    raise Undecided


def result_fields(expr: ir.Node) -> set[str] | None:
    """The fields of ``result`` a clause reads, when it reads ``result`` only through fields."""
    fields: set[str] = set()
    through: set[int] = set()
    for n in nodes(expr):
        if isinstance(n, ir.GetField) and isinstance(n.obj, ir.Local) and n.obj.name == "result":
            fields.add(n.name)
            through.add(id(n.obj))
    for n in nodes(expr):
        if isinstance(n, ir.Local) and n.name == "result" and id(n) not in through:
            return None
    return fields


class _Unread:
    """The value of a record field the clause never reads (never compared, never shown)."""

    def __repr__(self) -> str:
        return "<unread>"


UNREAD = _Unread()


def project(node: ir.Node, fields: set[str]) -> ir.Node:
    """The program with the record it returns reduced to the fields a clause reads: the others are not
    evaluated, so their branches and lookups do not multiply the paths (records field by field)."""
    if isinstance(node, ir.MakeRecord):
        return attrs.evolve(node, fields=tuple((n, e if n in fields else ir.Const(UNREAD, e.type))  # type: ignore[arg-type]
                                               for n, e in node.fields))
    if isinstance(node, ir.Let):
        return attrs.evolve(node, body=project(node.body, fields))
    if isinstance(node, ir.If):
        return attrs.evolve(node, then=project(node.then, fields), else_=project(node.else_, fields))
    if isinstance(node, ir.Match):
        return attrs.evolve(node, arms=tuple(attrs.evolve(a, body=project(a.body, fields)) for a in node.arms))
    return node


def prove_ensures(family: Any, symbolic: Symbolic, domains: dict[str, Any], expr: ir.Node) -> str | None:
    """A proof summary when the clause holds for every θ by symbolic evaluation; None when undecided."""
    mentioned = {n.name for n in nodes(expr) if isinstance(n, ir.Param)}
    fields = result_fields(expr)
    program = family.program if fields is None else project(family.program, fields)
    # Enumerate the smallest domains (enums and booleans first) while there are at most 512 combinations.
    small = sorted((p for p in family.params if domains.get(p.name) is not None and len(domains[p.name]) <= 64),
                   key=lambda p: (p.name not in mentioned, not isinstance(p.type, (EnumT, BoolT)), len(domains[p.name])))
    enum_names: list[str] = []
    combos = 1
    for p in small:
        if combos * len(domains[p.name]) <= 512:
            enum_names.append(p.name)
            combos *= len(domains[p.name])
    base: dict[str, Any] = {}
    symbolic.lazy = {p.name: list(domains[p.name]) for p in small if p.name not in enum_names}
    for p in family.params:
        if p.name in enum_names:
            continue
        if isinstance(p.type, TextT):
            base[p.name] = SText((Atom(("param", p.name)),))
            if p.type.pattern is not None:
                symbolic.text_params[("param", p.name)] = p.type.pattern
        else:
            key = ("param", p.name)
            base[p.name] = Atom(key, iv.type_range(p.type))
            if isinstance(p.type, (IntT, DecimalT)):
                symbolic.var_scale[key] = p.type.scale if isinstance(p.type, DecimalT) else 0
                symbolic.var_iv[key] = iv.type_range(p.type)
    count = 0
    paths = 0
    for values in itertools.product(*(domains[n] for n in enum_names)):
        combo = {**base, **dict(zip(enum_names, values))}
        symbolic.choices = []
        while True:  # every path through undecided branches
            symbolic.arities = []
            symbolic.table_picks = {}
            params = dict(combo)  # parameters split on this path are bound in it
            paths += 1
            if paths > MAX_PATHS * max(1, combos):
                return None
            try:
                out = symbolic.run(program, {}, params, {})
                ok = symbolic.run(expr, {"result": out}, params, {})
            except (Undecided, RecursionError):
                return None
            if ok is not True:
                return None
            choices = symbolic.choices[: len(symbolic.arities)]
            while choices and choices[-1] + 1 >= symbolic.arities[len(choices) - 1]:
                choices.pop()
            if not choices:
                break
            choices[-1] += 1
            symbolic.choices = choices
        count += 1
    symbolic_names = [n for n in base]
    cases = f"each of the {count} combinations of {', '.join(enum_names)}" if enum_names else "Θ"
    return f"holds symbolically for every value of {', '.join(symbolic_names)} in {cases}"
