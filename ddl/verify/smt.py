"""z3 for ``safe`` sites and ``ensures`` over Int and Decimal arithmetic.

A site's function (or the program) is encoded from its root down to the site:
let-bound Int/Decimal/Bool/enum expressions become z3 terms, the conditions of
the enclosing ``if`` / ``match`` / ``and`` / ``or`` become assumptions, and every
sub-expression outside the encoded fragment (text, options, lists, most calls)
becomes a fresh variable constrained only by its type's range — a sound
over-approximation, so ``unsat`` is a proof.  A Decimal(s) is an integer count
of 10^-s, each operation rounded half-even once as spec/semantics.md §4 says;
a division by a variable is nonlinear, split over a parameter's few values
where that makes it linear (:func:`solve`).
Function parameters range over their declared types (each call's arguments
are narrowed to them, itself a ``safe`` obligation).  A ``sat`` model is only a
*candidate* counterexample: the prover replays it through the evaluator before
reporting it.  Text is never encoded: string-theory queries over
concatenations time out.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ddl.eval.arms import binder
from ddl.eval.theta import enum_value
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.types.model import BoolT, DecimalT, EnumT, IntT, RecordT, Type
from ddl.values import EnumV, Value
from ddl.verify.walk import Site, children, nodes

NUMBERS = (IntT, DecimalT)


def scale_of(t: Type) -> int:
    """The scale a number's term counts in: a Decimal(s) is an integer count of 10^-s, an Int of units."""
    return t.scale if isinstance(t, DecimalT) else 0


TIMEOUT_MS = 2000
# z3's own work counter bounds each query first (about 1 s of work on an ordinary machine), so a verdict does not depend on
# how busy the machine is; the 2 s wall-clock timeout is only a safety net.
RLIMIT = 3_000_000


def half_even(n: int, d: int) -> int:
    """n / d rounded half to even, d > 0 (spec/semantics.md §4)."""
    q, r = divmod(n, d)
    if 2 * r > d or (2 * r == d and q % 2 == 1):
        q += 1
    return q


def make_solver(z3: Any, timeout_ms: int = TIMEOUT_MS) -> Any:
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.set("rlimit", RLIMIT)
    return s


class _Enc(ir.Visitor):
    """Int, Bool and enum expressions as z3 terms: ``enc(node, env)``, a fresh variable where not encoded.

    ``visit_<Node>(node, env)`` returns a term, a dict of field terms (a record, when ``inline``) or
    None (outside the encoded fragment).
    """

    def __init__(self, z3: Any, module: Any = None, inline: bool = False):
        self.z3 = z3
        self.module = module
        self.inline = inline  # encode records, calls and matches too (whole-program ensures)
        self.depth = 0
        self.fresh_n = 0
        self.side: list[Any] = []
        self.divisions: list[Any] = []  # divisors that are not constants: each makes the query nonlinear

    def fresh(self, t: Any) -> Any:
        z3 = self.z3
        self.fresh_n += 1
        if isinstance(t, BoolT):
            return z3.Bool(f"b{self.fresh_n}")
        v = z3.Int(f"v{self.fresh_n}")
        if isinstance(t, NUMBERS):
            unit = 10 ** scale_of(t)
            if t.lo is not None:
                self.side.append(v >= int(Fraction(t.lo) * unit))
            if t.hi is not None:
                self.side.append(v <= int(Fraction(t.hi) * unit))
        if isinstance(t, EnumT):
            self.side.append(v >= 0)
            self.side.append(v < len(t.variants))
        return v

    def enc(self, node: ir.Node, env: dict[str, Any]) -> Any:
        t = node.type
        if isinstance(t, RecordT) and self.inline:
            r = self.visit(node, env)
            return r if isinstance(r, dict) else None
        if not isinstance(t, (IntT, DecimalT, BoolT, EnumT)):
            return None
        r = self.visit(node, env)
        return r if r is not None and not isinstance(r, dict) else self.fresh(t)

    def num(self, node: ir.Node, env: dict[str, Any], scale: int) -> Any:
        """A number's term counted in units of 10^-scale (None when that would need rounding)."""
        return self.rescale(self.enc(node, env), scale_of(node.type), scale)

    def rescale(self, term: Any, have: int, want: int) -> Any:
        if term is None or want < have:
            return None
        return term * (10 ** (want - have)) if want > have else term

    def rounded(self, n: Any, d: int) -> Any:
        """n / d rounded half to even (d a positive constant), as a term defined by side constraints."""
        if d == 1:
            return n
        value = self.value(n)
        if value is not None:  # folded here, so a divisor built from constants stays a constant
            return self.z3.IntVal(half_even(value, d))
        self.fresh_n += 1
        q = self.z3.Int(f"q{self.fresh_n}")
        r = n - q * d
        self.side += [2 * r <= d, 2 * r >= -d, self.z3.Implies(self.z3.Or(2 * r == d, 2 * r == -d), q % 2 == 0)]
        return q

    def divided(self, n: Any, d: Any) -> Any:
        """n / d rounded half to even, d a term that is not a constant: q with |2(n - q·d)| <= |d| (ties to
        the even q) — nonlinear in q·d.  Where d = 0 the division fails and q is left free, so the
        constraint never excludes a θ (an ``if`` encodes both branches, the one not taken included)."""
        z3 = self.z3
        self.fresh_n += 1
        q = z3.Int(f"q{self.fresh_n}")
        r2 = 2 * (n - q * d)
        size = z3.If(d >= 0, d, -d)
        self.side.append(z3.Implies(d != 0, z3.And(r2 <= size, r2 >= -size,
                                                   z3.Implies(z3.Or(r2 == size, r2 == -size), q % 2 == 0))))
        self.divisions.append(d)
        return q

    def value(self, term: Any) -> int | None:
        """The term's value when it is a constant (after z3's simplification), else None."""
        if term is None:
            return None
        t = term if self.z3.is_int_value(term) else self.z3.simplify(term)
        return t.as_long() if self.z3.is_int_value(t) else None

    def constant(self, value: Any, t: Any) -> Any:
        """A pattern's constant as a term of the scrutinee's type (None when not encoded)."""
        return self.visit(ir.Const(value, t), {})

    def visit_Const(self, node: ir.Const, env: dict[str, Any]) -> Any:
        z3 = self.z3
        v = node.value
        if isinstance(v, bool):
            return z3.BoolVal(v)
        if isinstance(v, int):
            return z3.IntVal(v * 10 ** scale_of(node.type))
        if isinstance(v, Decimal) and v.is_finite():
            units = Fraction(v) * 10 ** scale_of(node.type)
            return z3.IntVal(int(units)) if units.denominator == 1 else None
        if isinstance(v, EnumV) and isinstance(node.type, EnumT):
            return z3.IntVal(node.type.variants.index(v.name))
        return None

    def visit_Local(self, node: ir.Local | ir.Param, env: dict[str, Any]) -> Any:
        key = ("L:" if isinstance(node, ir.Local) else "P:") + node.name
        if key not in env:
            if isinstance(node.type, RecordT):
                return None
            env[key] = self.fresh(node.type)
        return env[key]

    visit_Param = visit_Local

    def visit_Let(self, node: ir.Let, env: dict[str, Any]) -> Any:
        inner = dict(env)
        val = self.enc(node.value, env)
        if val is not None:
            inner["L:" + node.name] = val
        return self.enc(node.body, inner)

    def visit_Arith(self, node: ir.Arith, env: dict[str, Any]) -> Any:
        if node.kind != "int":
            return self.decimal_arith(node, env)
        a, b = self.enc(node.left, env), self.enc(node.right, env)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        # z3's div/mod agree with floor division only for positive divisors: encode just those.
        rt = node.right.type
        if isinstance(rt, IntT) and rt.lo is not None and rt.lo > 0:  # a positive divisor, by its type
            return a / b if node.op == "/" else a % b
        return None

    def decimal_arith(self, node: ir.Arith, env: dict[str, Any]) -> Any:
        """Decimal arithmetic exactly (spec/semantics.md §4): terms count 10^-scale units, each result
        rounded half-even to its scale once; None where that is not encoded (%, a non-constant divisor)."""
        sa, sb, s = scale_of(node.left.type), scale_of(node.right.type), scale_of(node.type)
        if node.op in ("+", "-"):
            a, b = self.num(node.left, env, s), self.num(node.right, env, s)
            if a is None or b is None:
                return None
            return a + b if node.op == "+" else a - b
        a, b = self.enc(node.left, env), self.enc(node.right, env)
        if node.op == "*":
            exact = sa + sb  # the product counts 10^-(sa+sb) units
            return self.rescale(a * b, exact, s) if exact <= s else self.rounded(a * b, 10 ** (exact - s))
        if node.op != "/" or a is None or b is None:
            return None
        # (a/10^sa) / (b/10^sb) in units of 10^-s, rounded once
        scale_up = 10 ** (s + sb - sa)
        d = self.value(b)
        if d is None:
            return self.divided(a * scale_up, b)
        if d == 0:
            return None
        if scale_up % d == 0:  # exact: no rounding, no fresh term (vat / 100)
            return a * (scale_up // abs(d)) * (1 if d > 0 else -1)
        return self.rounded(a * scale_up * (1 if d > 0 else -1), abs(d))

    def visit_Neg(self, node: ir.Neg, env: dict[str, Any]) -> Any:
        if not isinstance(node.type, NUMBERS):
            return None
        return -self.num(node.operand, env, scale_of(node.type))

    def visit_Compare(self, node: ir.Compare, env: dict[str, Any]) -> Any:
        lt, rt = node.left.type, node.right.type
        if isinstance(lt, NUMBERS) and isinstance(rt, NUMBERS):
            s = max(scale_of(lt), scale_of(rt))
            a, b = self.num(node.left, env, s), self.num(node.right, env, s)
        else:
            a, b = self.enc(node.left, env), self.enc(node.right, env)
        if a is None or b is None:
            return None
        return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b, "<=": lambda: a <= b,
                ">": lambda: a > b, ">=": lambda: a >= b}[node.op]()

    def visit_Logic(self, node: ir.Logic, env: dict[str, Any]) -> Any:
        a, b = self.enc(node.left, env), self.enc(node.right, env)
        return self.z3.And(a, b) if node.op == "and" else self.z3.Or(a, b)

    def visit_Not(self, node: ir.Not, env: dict[str, Any]) -> Any:
        return self.z3.Not(self.enc(node.operand, env))

    def visit_If(self, node: ir.If, env: dict[str, Any]) -> Any:
        c = self.enc(node.cond, env)
        a, b = self.branch(node.then, node, env), self.branch(node.else_, node, env)
        if a is None or b is None:
            return None
        return self.ite(c, a, b)

    def branch(self, body: ir.Node, node: ir.Node, env: dict[str, Any]) -> Any:
        """A branch's value in the scale of the whole conditional's type."""
        if isinstance(node.type, NUMBERS) and isinstance(body.type, NUMBERS):
            return self.num(body, env, scale_of(node.type))
        return self.enc(body, env)

    def visit_Widen(self, node: ir.Widen | ir.Narrow, env: dict[str, Any]) -> Any:
        if not isinstance(node.type, NUMBERS) or not isinstance(node.inner.type, NUMBERS):
            return None
        return self.num(node.inner, env, scale_of(node.type))

    visit_Narrow = visit_Widen

    def visit_CallBuiltin(self, node: ir.CallBuiltin, env: dict[str, Any]) -> Any:
        if node.name in ("round", "to_decimal") and isinstance(node.type, DecimalT) and node.args:
            x = node.args[0]
            if not isinstance(x.type, NUMBERS):
                return None
            have, want = scale_of(x.type), scale_of(node.type)
            term = self.enc(x, env)
            return self.rescale(term, have, want) if want >= have else self.rounded(term, 10 ** (have - want))
        if node.name not in ("min", "max", "abs") or not isinstance(node.type, NUMBERS):
            return None
        z3 = self.z3
        xs = [self.num(a, env, scale_of(node.type)) for a in node.args]
        if any(x is None for x in xs):
            return None
        if node.name == "abs":
            return z3.If(xs[0] >= 0, xs[0], -xs[0])
        if node.name == "min":
            return z3.If(xs[0] <= xs[1], xs[0], xs[1])
        return z3.If(xs[0] >= xs[1], xs[0], xs[1])

    # Records, calls and matches: only when encoding a whole program (``inline``).

    def visit_MakeRecord(self, node: ir.MakeRecord, env: dict[str, Any]) -> Any:
        if not self.inline:
            return None
        return {name: self.enc(e, env) for name, e in node.fields}

    def visit_GetField(self, node: ir.GetField, env: dict[str, Any]) -> Any:
        if not self.inline:
            return None
        obj = self.enc(node.obj, env) if isinstance(node.obj.type, RecordT) else None
        return obj.get(node.name) if isinstance(obj, dict) else None

    def visit_CallFn(self, node: ir.CallFn, env: dict[str, Any]) -> Any:
        if not self.inline or self.depth >= 12:
            return None
        fn = self.module.functions[node.fn]
        inner = {"L:" + name: self.enc(a, env) for (name, _), a in zip(fn.params, node.args)}
        inner = {k: v for k, v in inner.items() if v is not None}
        self.depth += 1
        try:
            return self.enc(fn.body, inner)
        finally:
            self.depth -= 1

    def visit_Match(self, node: ir.Match, env: dict[str, Any]) -> Any:
        if not self.inline or not isinstance(node.type, (IntT, DecimalT, BoolT, EnumT, RecordT)):
            return None
        s = self.enc(node.scrutinee, env)
        if s is None:
            return None
        out: Any = None
        for i, arm in enumerate(reversed(node.arms)):
            val = self.branch(arm.body, node, env)
            if val is None:
                return None
            pat = arm.pattern
            if isinstance(pat, ir.PatWild) or i == 0:  # matches are exhaustive: the last arm is the rest
                out = val
            elif isinstance(pat, ir.PatConst):
                c = self.constant(pat.value, node.scrutinee.type)
                if c is None or out is None:
                    return None
                out = self.ite(s == c, val, out)
                if out is None:
                    return None
            else:
                return None
        return out

    def ite(self, c: Any, a: Any, b: Any) -> Any:
        """``if c then a else b`` on terms, or on records field by field (None: a field not encoded)."""
        if isinstance(a, dict) and isinstance(b, dict):
            return {k: (self.z3.If(c, a[k], b[k]) if a.get(k) is not None and b.get(k) is not None else None)
                    for k in a}
        if isinstance(a, dict) or isinstance(b, dict):
            return None
        return self.z3.If(c, a, b)

    def _none(self, node: ir.Node, env: dict[str, Any]) -> Any:
        return None

    # Text, decimals, lists, maps and options are outside the encoded fragment.
    visit_Interp = visit_Concat = visit_Coalesce = visit_Index = visit_TableGet = visit_Lambda = _none
    visit_MakeList = visit_Range = visit_Comprehension = visit_MakeMap = visit_MakeSome = _none


class _Path(ir.Visitor):
    """The environment and path conditions at ``target``: ``find(root, env)``, None when it is not below.

    ``visit_<Node>(node, env, conds)`` searches the node's children in evaluation order; the
    conditions of the enclosing ``if`` / ``match`` / ``and`` / ``or`` are added on the way down.
    """

    def __init__(self, target: ir.Node, enc: _Enc, module: Any = None):
        self.target = target
        self.enc = enc
        self.module = module  # given: the search goes on into the bodies of the functions called
        self.depth = 0

    def visit_CallFn(self, node: ir.CallFn, env: dict[str, Any], conds: list[Any]) -> Any:
        found = self._through(node, env, conds)
        if found is not None or self.module is None or self.depth >= 8:
            return found
        fn = self.module.functions[node.fn]
        if not any(n is self.target for n in nodes(fn.body)):
            return None
        # The body with its parameters bound to this call's arguments (a parameter not encoded stays
        # fresh, bounded by its declared type).
        inner = {"L:" + name: self.enc.enc(a, env) for (name, _), a in zip(fn.params, node.args)}
        self.depth += 1
        try:
            return self.find(fn.body, {k: v for k, v in inner.items() if v is not None}, conds)
        finally:
            self.depth -= 1

    def find(self, node: ir.Node, env: dict[str, Any], conds: list[Any]) -> tuple[dict[str, Any], list[Any]] | None:
        if node is self.target:
            return env, conds
        return self.visit(node, env, conds)  # type: ignore[no-any-return]

    def visit_Let(self, node: ir.Let, env: dict[str, Any], conds: list[Any]) -> Any:
        found = self.find(node.value, env, conds)
        if found is not None:
            return found
        inner = dict(env)
        val = self.enc.enc(node.value, env)
        if val is not None:
            inner["L:" + node.name] = val
        return self.find(node.body, inner, conds)

    def visit_If(self, node: ir.If, env: dict[str, Any], conds: list[Any]) -> Any:
        found = self.find(node.cond, env, conds)
        if found is not None:
            return found
        c = self.enc.enc(node.cond, env)
        return (self.find(node.then, env, [*conds, c])
                or self.find(node.else_, env, [*conds, self.enc.z3.Not(c)]))

    def visit_Logic(self, node: ir.Logic, env: dict[str, Any], conds: list[Any]) -> Any:
        found = self.find(node.left, env, conds)
        if found is not None:
            return found
        c = self.enc.enc(node.left, env)
        return self.find(node.right, env, [*conds, c if node.op == "and" else self.enc.z3.Not(c)])

    def visit_Match(self, node: ir.Match, env: dict[str, Any], conds: list[Any]) -> Any:
        z3 = self.enc.z3
        found = self.find(node.scrutinee, env, conds)
        if found is not None:
            return found
        s = self.enc.enc(node.scrutinee, env)
        earlier: list[Any] = []
        for arm in node.arms:
            pat = arm.pattern
            here: Any = None
            inner = env
            name = binder(pat)
            if isinstance(pat, ir.PatConst) and s is not None:
                here = s == self.enc.constant(pat.value, node.scrutinee.type)
            elif name is not None:
                inner = {k: v for k, v in env.items() if k != "L:" + name}  # the binder shadows any outer local
            arm_conds = [*conds, *[z3.Not(e) for e in earlier]] + ([here] if here is not None else [])
            found = self.find(arm.body, inner, arm_conds)
            if found is not None:
                return found
            if here is not None:
                earlier.append(here)
        return None

    def _stop(self, node: ir.Node, env: dict[str, Any], conds: list[Any]) -> Any:
        return None

    visit_Comprehension = visit_Lambda = _stop  # binders over lists are not encoded

    def _through(self, node: ir.Node, env: dict[str, Any], conds: list[Any]) -> Any:
        for child in children(node):
            found = self.find(child, env, conds)
            if found is not None:
                return found
        return None

    # No condition and no binder: search the children in order.
    visit_Const = visit_Local = visit_Param = visit_Interp = visit_Arith = visit_Compare = _through
    visit_Not = visit_Neg = visit_Concat = visit_Coalesce = visit_GetField = visit_Index = _through
    visit_TableGet = visit_CallBuiltin = visit_MakeList = visit_Range = visit_MakeMap = _through
    visit_MakeRecord = visit_MakeSome = visit_Widen = visit_Narrow = _through


Candidate = dict[str, Value]  # parameter values from a z3 model: a counterexample still to be replayed
Fixed = dict[str, Any]  # parameters held at one value (z3 constants) in one query of a split
SPLIT_MAX = 64  # a divisor's parameter with at most this many values is split over, one linear query each


def small_domain(z3: Any, t: Type) -> list[Any] | None:
    """A parameter type's values as z3 constants when there are at most :data:`SPLIT_MAX` of them."""
    if isinstance(t, BoolT):
        return [z3.BoolVal(False), z3.BoolVal(True)]
    if isinstance(t, EnumT):
        return [z3.IntVal(i) for i in range(len(t.variants))] if len(t.variants) <= SPLIT_MAX else None
    if isinstance(t, NUMBERS) and t.lo is not None and t.hi is not None:
        unit = 10 ** scale_of(t)
        lo, hi = int(Fraction(t.lo) * unit), int(Fraction(t.hi) * unit)
        return [z3.IntVal(v) for v in range(lo, hi + 1)] if hi - lo < SPLIT_MAX else None
    return None


Build = Callable[[Fixed], "tuple[_Enc, dict[str, Any], list[Any]] | None"]


def solve(z3: Any, family: CheckedFamily, build: Build,
          timeout_ms: int = TIMEOUT_MS) -> tuple[str, Candidate | None, str]:
    """Whether the constraints ``build`` encodes have a θ: ("unsat" | "sat" | "unknown", a candidate, how).

    ``build(fixed)`` encodes the query with the parameters in ``fixed`` held at those values.  When the
    query divides by a term that is not a constant (nonlinear), and holding one parameter with few values
    makes every divisor a constant, the query is split over that parameter's values: each part is linear,
    so z3 decides it within its bound — a complete route; otherwise z3's nonlinear arithmetic decides
    the whole query, or does not.  Every query is bounded by :data:`RLIMIT` first."""
    built = build({})
    if built is None:
        return "unknown", None, ""
    enc, env, query = built
    if enc.divisions:
        for p in family.params:
            values = small_domain(z3, p.type)
            if values is None:
                continue
            first = build({p.name: values[0]})
            if first is None or first[0].divisions:
                continue
            how = f", one linear query for each of {p.name}'s {len(values)} values"
            for value in values:
                part = build({p.name: value})
                if part is None or part[0].divisions:
                    return "unknown", None, how
                verdict, cand = _check(z3, family, part, timeout_ms)
                if verdict != "unsat":
                    return verdict, cand, how
            return "unsat", None, how
    verdict, cand = _check(z3, family, built, timeout_ms)
    return verdict, cand, ", a division by a variable in z3's nonlinear arithmetic" if enc.divisions else ""


def _check(z3: Any, family: CheckedFamily, built: tuple[_Enc, dict[str, Any], list[Any]],
           timeout_ms: int) -> tuple[str, Candidate | None]:
    enc, env, query = built
    solver = make_solver(z3, timeout_ms)
    solver.add(*enc.side, *query)
    verdict = solver.check()
    if verdict == z3.unsat:
        return "unsat", None
    if verdict == z3.sat:
        return "sat", candidate(z3, solver.model(), family, env)
    return "unknown", None


def param_terms(enc: _Enc, family: CheckedFamily, env: dict[str, Any], fixed: Fixed | None = None) -> None:
    """Every Int, Decimal, Bool and enum parameter as a variable bounded by its type (or the constant
    ``fixed`` gives it), and each parameter's ``where`` as a constraint (θ ranges over Θ only)."""
    for p in family.params:
        if fixed and p.name in fixed:
            env["P:" + p.name] = fixed[p.name]
        elif isinstance(p.type, (IntT, DecimalT, BoolT, EnumT)):
            env["P:" + p.name] = enc.fresh(p.type)
    for p in family.params:
        if p.where is not None:
            w = enc.enc(p.where, env)
            if w is not None:
                enc.side.append(w)


def candidate(z3: Any, model: Any, family: CheckedFamily, env: dict[str, Any]) -> Candidate:
    """The encoded parameters' values in a model, in source terms (the others are left to the caller)."""
    out: Candidate = {}
    for p in family.params:
        term = env.get("P:" + p.name)
        if term is None:
            continue
        got = model.eval(term, model_completion=True)
        t = p.type
        if isinstance(t, BoolT):
            out[p.name] = z3.is_true(got)
        elif isinstance(t, EnumT):
            out[p.name] = enum_value(t, t.variants[got.as_long()])
        elif isinstance(t, DecimalT):
            out[p.name] = Decimal(got.as_long()).scaleb(-t.scale)
        else:
            out[p.name] = got.as_long()
    return out


def decide_site(module: CheckedModule, family: CheckedFamily, site: Site) -> tuple[str | None, Candidate | None]:
    """z3 on a partial operation: a proof summary when it cannot fail, else perhaps a candidate θ (of the
    program's own sites) that makes it fail, still to be replayed; (None, None) when undecided."""
    n = site.node
    if not (isinstance(n, ir.Arith) or (isinstance(n, ir.Narrow) and isinstance(n.type, NUMBERS))):
        return None, None
    try:
        import z3  # deferred: z3 is heavy and only some proofs reach it
    except ImportError:  # pragma: no cover
        return None, None
    try:
        return _decide_site(z3, module, family, site)
    except (z3.Z3Exception, RecursionError, TypeError, AttributeError):
        return None, None  # outside the encoded fragment


def _fails(z3: Any, enc: _Enc, n: ir.Node, site_env: dict[str, Any]) -> Any:
    """The condition under which the site fails (None when it is not encoded)."""
    if isinstance(n, ir.Arith):
        d = enc.enc(n.right, site_env)
        return None if d is None else d == 0
    assert isinstance(n, ir.Narrow) and isinstance(n.type, NUMBERS)
    s = scale_of(n.type)
    v = enc.num(n.inner, site_env, s)
    if v is None:
        return None
    parts = []
    if n.type.lo is not None:
        parts.append(v < int(Fraction(n.type.lo) * 10**s))
    if n.type.hi is not None:
        parts.append(v > int(Fraction(n.type.hi) * 10**s))
    return z3.Or(*parts) if parts else None


def _decide_site(z3: Any, module: CheckedModule, family: CheckedFamily,
                 site: Site) -> tuple[str | None, Candidate | None]:
    n = site.node
    if site.owner is not None:
        return _decide_function_site(z3, module, family, site)
    verdict, cand, how = solve(z3, family, _failing_path(z3, family, n))
    if verdict == "unsat":
        return f"z3 shows no value allowed by the parameters' types and the path to it fails here{how}", None
    return None, cand


def _decide_function_site(z3: Any, module: CheckedModule, family: CheckedFamily,
                          site: Site) -> tuple[str | None, Candidate | None]:
    """A site in a user function: over its parameters' types, else from θ through the program's calls."""
    n = site.node
    assert site.owner is not None
    fn = module.functions[site.owner]
    enc = _Enc(z3)
    env: dict[str, Any] = {"L:" + name: enc.fresh(t) for name, t in fn.params}
    found = _Path(n, enc).find(fn.body, env, [])
    if found is None:
        return None, None
    site_env, conds = found
    bad = _fails(z3, enc, n, site_env)
    if bad is None:
        return None, None
    solver = make_solver(z3)
    solver.add(*enc.side, *[c for c in conds if c is not None], bad)
    if solver.check() == z3.unsat:
        return "z3 shows no value allowed by its function's parameter types and the path to it fails here", None
    return None, _through_calls(z3, module, family, n)  # perhaps a call from the program fails there


def _failing_path(z3: Any, family: CheckedFamily, n: ir.Node, module: CheckedModule | None = None) -> Build:
    """The query :func:`solve` asks for site n: θ's terms, the path from the program to n (through the
    calls of user functions when ``module`` is given) and n's failure; None when n is unreachable or
    cannot fail."""
    def build(fixed: Fixed) -> tuple[_Enc, dict[str, Any], list[Any]] | None:
        enc = _Enc(z3)
        env: dict[str, Any] = {}
        param_terms(enc, family, env, fixed)
        found = _Path(n, enc, module).find(family.program, env, [])
        if found is None:
            return None
        site_env, conds = found
        bad = _fails(z3, enc, n, site_env)
        return None if bad is None else (enc, env, [*[c for c in conds if c is not None], bad])

    return build


def _through_calls(z3: Any, module: CheckedModule, family: CheckedFamily, n: ir.Node) -> Candidate | None:
    verdict, cand, _ = solve(z3, family, _failing_path(z3, family, n, module))
    return cand if verdict == "sat" else None


def decide_ensures(module: CheckedModule, family: CheckedFamily, expr: ir.Node,
                   timeout_ms: int = TIMEOUT_MS) -> tuple[str | None, Candidate | None]:
    """z3 over the whole program (Int, Decimal, Bool, enum; records and calls inlined): a proof summary,
    or a candidate θ that may violate the clause (still to be replayed); (None, None) when undecided."""
    try:
        import z3  # deferred: z3 is heavy and only some proofs reach it
    except ImportError:  # pragma: no cover
        return None, None
    try:
        return _decide_ensures(z3, module, family, expr, timeout_ms)
    except (z3.Z3Exception, RecursionError, TypeError, AttributeError):
        return None, None  # outside the encoded fragment


def _decide_ensures(z3: Any, module: CheckedModule, family: CheckedFamily, expr: ir.Node,
                    timeout_ms: int) -> tuple[str | None, Candidate | None]:
    def build(fixed: Fixed) -> tuple[_Enc, dict[str, Any], list[Any]] | None:
        enc = _Enc(z3, module, inline=True)
        env: dict[str, Any] = {}
        param_terms(enc, family, env, fixed)
        result = enc.enc(family.program, env)
        if result is None:
            return None
        claim = enc.enc(expr, {**env, "L:result": result})
        return None if claim is None else (enc, env, [z3.Not(claim)])

    verdict, cand, how = solve(z3, family, build, timeout_ms)
    if verdict == "unsat":
        return f"z3 shows it holds for every θ (the program's Int and Decimal arithmetic encoded exactly{how})", None
    return None, cand
