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

from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.types.model import BoolT, EnumT, IntT, RecordT
from ddl.values import EnumV
from ddl.verify.walk import Site

TIMEOUT_MS = 2000


class _Enc:
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
            r = self._enc(node, env)
            return r if isinstance(r, dict) else None
        if not isinstance(t, (IntT, BoolT, EnumT)):
            return None
        r = self._enc(node, env)
        return r if r is not None and not isinstance(r, dict) else self.fresh(t)

    def _enc_more(self, node: ir.Node, env: dict[str, Any]) -> Any:
        """Records, calls and matches: only when encoding a whole program (``inline``)."""
        z3 = self.z3
        if isinstance(node, ir.MakeRecord):
            return {name: self.enc(e, env) for name, e in node.fields}
        if isinstance(node, ir.GetField):
            obj = self.enc(node.obj, env) if isinstance(node.obj.type, RecordT) else None
            return obj.get(node.name) if isinstance(obj, dict) else None
        if isinstance(node, ir.CallFn):
            if self.depth >= 12:
                return None
            fn = self.module.functions[node.fn]
            inner = {"L:" + name: self.enc(a, env) for (name, _), a in zip(fn.params, node.args)}
            inner = {k: v for k, v in inner.items() if v is not None}
            self.depth += 1
            try:
                return self.enc(fn.body, inner)
            finally:
                self.depth -= 1
        if isinstance(node, ir.Match) and isinstance(node.type, (IntT, BoolT, EnumT)):
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
                    c = self._enc(ir.Const(pat.value, node.scrutinee.type), env)
                    if c is None or out is None:
                        return None
                    out = z3.If(s == c, val, out)
                else:
                    return None
            return out
        return None

    def _enc(self, node: ir.Node, env: dict[str, Any]) -> Any:
        z3 = self.z3
        if isinstance(node, ir.Const):
            v = node.value
            if isinstance(v, bool):
                return z3.BoolVal(v)
            if isinstance(v, int):
                return z3.IntVal(v)
            if isinstance(v, EnumV) and isinstance(node.type, EnumT):
                return z3.IntVal(node.type.variants.index(v.name))
            return None
        if isinstance(node, (ir.Local, ir.Param)):
            key = ("L:" if isinstance(node, ir.Local) else "P:") + node.name
            if key not in env:
                if isinstance(node.type, RecordT):
                    return None
                env[key] = self.fresh(node.type)
            return env[key]
        if isinstance(node, ir.Let):
            inner = dict(env)
            val = self.enc(node.value, env)
            if val is not None:
                inner["L:" + node.name] = val
            return self.enc(node.body, inner)
        if isinstance(node, ir.Arith) and node.kind == "int":
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
        if isinstance(node, ir.Neg) and isinstance(node.type, IntT):
            return -self.enc(node.operand, env)
        if isinstance(node, ir.Compare):
            a, b = self.enc(node.left, env), self.enc(node.right, env)
            if a is None or b is None:
                return None
            return {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b, "<=": lambda: a <= b,
                    ">": lambda: a > b, ">=": lambda: a >= b}[node.op]()
        if isinstance(node, ir.Logic):
            a, b = self.enc(node.left, env), self.enc(node.right, env)
            return z3.And(a, b) if node.op == "and" else z3.Or(a, b)
        if isinstance(node, ir.Not):
            return z3.Not(self.enc(node.operand, env))
        if isinstance(node, ir.If):
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
        if isinstance(node, (ir.Widen, ir.Narrow)) and isinstance(node.type, IntT):
            return self.enc(node.inner, env)
        if self.inline and isinstance(node, (ir.MakeRecord, ir.GetField, ir.CallFn, ir.Match)):
            return self._enc_more(node, env)
        if isinstance(node, ir.CallBuiltin) and node.name in ("min", "max", "abs") and isinstance(node.type, IntT):
            xs = [self.enc(a, env) for a in node.args]
            if node.name == "abs":
                return z3.If(xs[0] >= 0, xs[0], -xs[0])
            if node.name == "min":
                return z3.If(xs[0] <= xs[1], xs[0], xs[1])
            return z3.If(xs[0] >= xs[1], xs[0], xs[1])
        return None


def _path(node: ir.Node, target: ir.Node, enc: _Enc, env: dict[str, Any], conds: list[Any]) -> tuple[dict[str, Any], list[Any]] | None:
    """The environment and path conditions at ``target`` (None when it is not below ``node``)."""
    z3 = enc.z3
    if node is target:
        return env, conds
    if isinstance(node, ir.Let):
        found = _path(node.value, target, enc, env, conds)
        if found is not None:
            return found
        inner = dict(env)
        val = enc.enc(node.value, env)
        if val is not None:
            inner["L:" + node.name] = val
        return _path(node.body, target, enc, inner, conds)
    if isinstance(node, ir.If):
        found = _path(node.cond, target, enc, env, conds)
        if found is not None:
            return found
        c = enc.enc(node.cond, env)
        return (_path(node.then, target, enc, env, [*conds, c])
                or _path(node.else_, target, enc, env, [*conds, z3.Not(c)]))
    if isinstance(node, ir.Logic):
        found = _path(node.left, target, enc, env, conds)
        if found is not None:
            return found
        c = enc.enc(node.left, env)
        return _path(node.right, target, enc, env, [*conds, c if node.op == "and" else z3.Not(c)])
    if isinstance(node, ir.Match):
        found = _path(node.scrutinee, target, enc, env, conds)
        if found is not None:
            return found
        s = enc.enc(node.scrutinee, env)
        earlier: list[Any] = []
        for arm in node.arms:
            pat = arm.pattern
            here: Any = None
            inner = env
            if isinstance(pat, ir.PatConst) and s is not None:
                c = ir.Const(pat.value, node.scrutinee.type)
                here = s == enc._enc(c, env)
            elif isinstance(pat, ir.PatSome):
                inner = {**env, "L:" + pat.binder: None}
                inner.pop("L:" + pat.binder)
            arm_conds = [*conds, *[z3.Not(e) for e in earlier]] + ([here] if here is not None else [])
            found = _path(arm.body, target, enc, inner, arm_conds)
            if found is not None:
                return found
            if here is not None:
                earlier.append(here)
        return None
    from ddl.verify.walk import children

    if isinstance(node, (ir.Comprehension, ir.Lambda)):
        return None  # binders over lists are not encoded
    for child in children(node):
        found = _path(child, target, enc, env, conds)
        if found is not None:
            return found
    return None


def prove_site(module: CheckedModule, family: CheckedFamily, site: Site) -> str | None:
    """A proof summary when z3 shows the site cannot fail; None when it cannot (or times out)."""
    n = site.node
    if not ((isinstance(n, ir.Arith) and n.kind == "int") or (isinstance(n, ir.Narrow) and isinstance(n.type, IntT))):
        return None
    try:
        import z3
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
    found = _path(root, n, enc, env, [])
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
        import z3
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
