"""z3 for universal ``safe`` claims over Int arithmetic, one query per site.

The site's function (or the program) is encoded from its root down to the
site: let-bound Int/Bool expressions become z3 terms, the conditions of the
enclosing ``if`` / ``match`` / ``and`` / ``or`` become assumptions, and every
sub-expression outside the encoded fragment (text, calls, decimals, lists)
becomes a fresh variable constrained only by its type's range — a sound
over-approximation, so ``unsat`` is a proof.  Function parameters range over
their declared types (each call's arguments are narrowed to them, itself a
``safe`` obligation).  Text is never encoded: string-theory queries over
concatenations time out.
"""

from __future__ import annotations

from typing import Any

from ddl.eval.arms import binder
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.types.model import BoolT, EnumT, IntT, RecordT
from ddl.values import EnumV
from ddl.verify.walk import Site, children

TIMEOUT_MS = 2000


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

    def fresh(self, t: Any) -> Any:
        z3 = self.z3
        self.fresh_n += 1
        if isinstance(t, BoolT):
            return z3.Bool(f"b{self.fresh_n}")
        v = z3.Int(f"v{self.fresh_n}")
        if isinstance(t, IntT):
            if t.lo is not None:
                self.side.append(v >= t.lo)
            if t.hi is not None:
                self.side.append(v <= t.hi)
        if isinstance(t, EnumT):
            self.side.append(v >= 0)
            self.side.append(v < len(t.variants))
        return v

    def enc(self, node: ir.Node, env: dict[str, Any]) -> Any:
        t = node.type
        if isinstance(t, RecordT) and self.inline:
            r = self.visit(node, env)
            return r if isinstance(r, dict) else None
        if not isinstance(t, (IntT, BoolT, EnumT)):
            return None
        r = self.visit(node, env)
        return r if r is not None and not isinstance(r, dict) else self.fresh(t)

    def constant(self, value: Any, t: Any) -> Any:
        """A pattern's constant as a term of the scrutinee's type (None when not encoded)."""
        return self.visit(ir.Const(value, t), {})

    def visit_Const(self, node: ir.Const, env: dict[str, Any]) -> Any:
        z3 = self.z3
        v = node.value
        if isinstance(v, bool):
            return z3.BoolVal(v)
        if isinstance(v, int):
            return z3.IntVal(v)
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
            return None
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

    def visit_Neg(self, node: ir.Neg, env: dict[str, Any]) -> Any:
        if not isinstance(node.type, IntT):
            return None
        return -self.enc(node.operand, env)

    def visit_Compare(self, node: ir.Compare, env: dict[str, Any]) -> Any:
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
        z3 = self.z3
        c = self.enc(node.cond, env)
        a, b = self.enc(node.then, env), self.enc(node.else_, env)
        if a is None or b is None:
            return None
        if isinstance(a, dict) and isinstance(b, dict):  # records: field by field
            return {k: (z3.If(c, a[k], b[k]) if a.get(k) is not None and b.get(k) is not None else None)
                    for k in a}
        if isinstance(a, dict) or isinstance(b, dict):
            return None
        return z3.If(c, a, b)

    def visit_Widen(self, node: ir.Widen | ir.Narrow, env: dict[str, Any]) -> Any:
        if not isinstance(node.type, IntT):
            return None
        return self.enc(node.inner, env)

    visit_Narrow = visit_Widen

    def visit_CallBuiltin(self, node: ir.CallBuiltin, env: dict[str, Any]) -> Any:
        if node.name not in ("min", "max", "abs") or not isinstance(node.type, IntT):
            return None
        z3 = self.z3
        xs = [self.enc(a, env) for a in node.args]
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
        if not self.inline or not isinstance(node.type, (IntT, BoolT, EnumT)):
            return None
        s = self.enc(node.scrutinee, env)
        if s is None:
            return None
        out: Any = None
        for i, arm in enumerate(reversed(node.arms)):
            val = self.enc(arm.body, env)
            if val is None:
                return None
            pat = arm.pattern
            if isinstance(pat, ir.PatWild) or i == 0:  # matches are exhaustive: the last arm is the rest
                out = val
            elif isinstance(pat, ir.PatConst):
                c = self.constant(pat.value, node.scrutinee.type)
                if c is None or out is None:
                    return None
                out = self.z3.If(s == c, val, out)
            else:
                return None
        return out

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

    def __init__(self, target: ir.Node, enc: _Enc):
        self.target = target
        self.enc = enc

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
    visit_TableGet = visit_CallFn = visit_CallBuiltin = visit_MakeList = visit_Range = visit_MakeMap = _through
    visit_MakeRecord = visit_MakeSome = visit_Widen = visit_Narrow = _through


def prove_site(module: CheckedModule, family: CheckedFamily, site: Site) -> str | None:
    """A proof summary when z3 shows the site cannot fail; None when it cannot (or times out)."""
    n = site.node
    if not ((isinstance(n, ir.Arith) and n.kind == "int") or (isinstance(n, ir.Narrow) and isinstance(n.type, IntT))):
        return None
    try:
        import z3  # deferred: z3 is heavy and only some proofs reach it
    except ImportError:  # pragma: no cover
        return None
    enc = _Enc(z3)
    env: dict[str, Any] = {}
    if site.owner is None:
        root = family.program
    else:
        fn = module.functions[site.owner]
        root = fn.body
        for name, t in fn.params:
            env["L:" + name] = enc.fresh(t)
    found = _Path(n, enc).find(root, env, [])
    if found is None:
        return None
    site_env, conds = found
    if isinstance(n, ir.Arith):
        d = enc.enc(n.right, site_env)
        if d is None:
            return None
        bad = d == 0
    else:
        assert isinstance(n.type, IntT)
        v = enc.enc(n.inner, site_env)
        if v is None:
            return None
        parts = []
        if n.type.lo is not None:
            parts.append(v < n.type.lo)
        if n.type.hi is not None:
            parts.append(v > n.type.hi)
        if not parts:
            return None
        bad = z3.Or(*parts)
    solver = z3.Solver()
    solver.set("timeout", TIMEOUT_MS)
    solver.add(*enc.side, *[c for c in conds if c is not None], bad)
    if solver.check() == z3.unsat:
        where = "its function's parameter types" if site.owner is not None else "the parameters' types"
        return f"z3 shows no value allowed by {where} and the path to it fails here"
    return None


def prove_ensures(module: CheckedModule, family: CheckedFamily, expr: ir.Node, timeout_ms: int = TIMEOUT_MS) -> str | None:
    """z3 over the whole program (Int, Bool, enum; records and calls inlined): a proof summary or None."""
    try:
        import z3  # deferred: z3 is heavy and only some proofs reach it
    except ImportError:  # pragma: no cover
        return None
    try:
        return _prove_ensures(z3, module, family, expr, timeout_ms)
    except (z3.Z3Exception, RecursionError, TypeError, AttributeError):
        return None  # outside the encoded fragment


def _prove_ensures(z3: Any, module: CheckedModule, family: CheckedFamily, expr: ir.Node, timeout_ms: int) -> str | None:
    enc = _Enc(z3, module, inline=True)
    env: dict[str, Any] = {}
    for p in family.params:
        if isinstance(p.type, (IntT, BoolT, EnumT)):
            env["P:" + p.name] = enc.fresh(p.type)
    for p in family.params:
        if p.where is not None:
            w = enc.enc(p.where, env)
            if w is not None:
                enc.side.append(w)
    result = enc.enc(family.program, env)
    if result is None:
        return None
    claim = enc.enc(expr, {**env, "L:result": result})
    if claim is None:
        return None
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*enc.side, z3.Not(claim))
    if solver.check() == z3.unsat:
        return "z3 shows it holds for every θ (the program's integer arithmetic encoded exactly)"
    return None
