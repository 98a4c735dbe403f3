"""The verifier's obligations over all of Θ: safe, depends, no-leak, reachable, ensures.

A portfolio per family (spec/checks.md):

1. Θ is enumerated completely when it is a small finite product
   (:mod:`ddl.verify.domains`); evaluating every θ decides every obligation.
2. Otherwise samples (examples, teaching θ, defaults, boundaries, seeded random
   values) witness existential claims and refute universal ones.
3. Universal ``safe`` claims are proved by types and intervals
   (:mod:`ddl.verify.intervals`) and by z3 over Int and Decimal arithmetic
   (:mod:`ddl.verify.smt`), each per site; ``ensures`` by symbolic evaluation
   (:mod:`ddl.verify.symbolic`) and z3, whatever Θ's size (structure first).
4. The runs refute whatever a prover says (a proof a run contradicts is DDL607);
   z3's models are candidate counterexamples. Every counterexample and witness
   is replayed through the evaluator before it is reported; one that does not
   replay is an internal error (DDL607).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs

from ddl.diagnostics import Note, Span
from ddl.eval.compile import compile_covered
from ddl.eval.interp import Evaluator
from ddl.eval.ops import UNTIMED
from ddl.eval.result import Err, Ok, Outcome
from ddl.eval.theta import validate_theta
from ddl.regular import DEFAULT_LIMITS, AutomatonTooLarge, Limits
from ddl.types import ir
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.types.model import DecimalT, IntT, ListT, is_subtype
from ddl.values import Value, show_value
from ddl.verify import intervals as iv
from ddl.verify import leak, reach, smt
from ddl.verify.domains import Space, Theta, theta_key
from ddl.verify.limits import family_steps
from ddl.verify.obligations import Obligation
from ddl.verify.symbolic import Symbolic, prove_ensures
from ddl.verify.view import Run, shorten, show_out, show_theta
from ddl.verify.walk import Site, children, nodes, sites


class CoverageEvaluator(Evaluator):
    """The interpreter, recording in ``hits`` which branch of every If and Match it takes."""

    def __init__(self, module: CheckedModule):
        super().__init__(module, budget=UNTIMED)
        self.hits: set[tuple[int, int]] = set()
        self.record_branches(lambda node, arm: self.hits.add((id(node), arm)))


class ReplayError(Exception):
    """A counterexample or witness did not replay (an internal error of the verifier)."""


SAMPLING_LIMIT_HINT = ("raise the limit with `ddl check --max-states N` (or `max_states = N` under [check] in "
                       "ddl.toml), or simplify the pattern")


BUDGET_CODES = ("DDL305", "DDL317")
BUDGET_HINT = ("every run must stay within its budgets (semantics.md §12): build smaller values or do less work; "
               "a host that needs more raises them with ddl.eval.Budget")


COMPILE_AFTER = 64  # runs interpreted before the program is compiled for the rest (spent when Θ is larger)
PROBES = 8  # runs spread over Θ that estimate what enumerating it would cost
CHECK_BUDGET_HINT = ("raise the budget with `ddl check --family-steps N` (or `family_steps = N` under [check] in "
                     "ddl.toml), or make each run cheaper")


class FamilyProver:
    def __init__(self, module: CheckedModule, family: CheckedFamily, evaluator: Any, *,
                 limits: Limits = DEFAULT_LIMITS):
        self.module = module
        self.family = family
        self.evaluator = evaluator
        self.cov = CoverageEvaluator(module)
        start = time.perf_counter()
        self.examples = self._example_thetas()
        self.teach_values = self._teach_values()
        teach_theta = None
        if self.teach_values:
            base = dict(self.examples[0]) if self.examples else {}
            teach_theta = self._validate({**base, **self.teach_values})
        self.space = Space(family, evaluator, self.examples, teach_theta, limits)
        self.runs: list[Run] = []
        self.family_steps = family_steps(limits)
        self.steps_spent = 0
        self.over_budget: str | None = None  # why Θ was not enumerated, or sampling stopped, at the budget
        self._compiled: Callable[[Theta], tuple[Outcome, int, frozenset[tuple[int, int]]]] | None = None
        # No wall-clock cut-off: the budget is in evaluation steps, so the same file gets the same
        # verdicts on a busy machine as on an idle one.
        self._run_all()
        self.setup_seconds = time.perf_counter() - start
        self.ivs = iv.Intervals(module, evaluator)

    def _run(self, theta: Theta) -> None:
        if self._compiled is None and len(self.runs) == COMPILE_AFTER:
            # Enough runs that compiling the program is quicker than interpreting the rest.  The compiled
            # run's outcome, steps and branches taken are the interpreter's (compile_covered), so the
            # verdicts do not depend on this choice.
            self._compiled = compile_covered(self.module, self.family.name, budget=UNTIMED)
        if self._compiled is not None:
            out, steps, hits = self._compiled(theta)
            self.steps_spent += steps
            self.runs.append(Run(theta, out, hits))
            return
        self.cov.hits = set()
        out = self.cov.run(self.family.name, theta)
        self.steps_spent += self.cov.last_steps
        self.runs.append(Run(theta, out, frozenset(self.cov.hits)))

    def _run_all(self) -> None:
        """Evaluate Θ — all of it only when the estimate fits the budget per family — then stop at the budget.

        The estimate runs :data:`PROBES` θ spread over Θ and multiplies their mean steps by |Θ|; over the
        budget, Θ is sampled instead (the probes count among the samples) and what only enumeration
        could prove is unknown with DDL610 (spec/checks.md, "The check's budget per family")."""
        budget = self.family_steps
        if self.space.exhaustive:
            every = list(self.space.thetas())
            probes = [i * len(every) // PROBES for i in range(min(PROBES, len(every)))]
            for i in probes:
                self._run(every[i])
            estimate = self.steps_spent * len(every) // max(1, len(probes))
            if estimate <= budget:
                self._run_every(every, set(probes), [*probes], budget)
                return
            self.space.exhaustive = False
            self.over_budget = (f"enumerating all {len(every):,} θ in Θ would take about {estimate:,} evaluation "
                                f"steps (estimated from {len(probes)} runs), over the check's budget of "
                                f"{budget:,} steps per family, so Θ was sampled")
            done = {theta_key(every[i]) for i in probes}
        else:
            done = set()
        for theta in self.space.samples():
            if theta_key(theta) in done:
                continue
            if self.steps_spent > budget:
                self.over_budget = self.over_budget or (
                    f"sampling stopped at the check's budget of {budget:,} evaluation steps per family after "
                    f"{len(self.runs):,} θ")
                break
            self._run(theta)

    def _run_every(self, every: list[Theta], done: set[int], positions: list[int], budget: int) -> None:
        """Run the rest of Θ (``every``, whose θ are distinct) after the probes (``done``, at ``positions``
        in the runs so far), then put the runs in enumeration order (the first counterexamples)."""
        runs = self.runs
        for i, theta in enumerate(every):
            if i in done:
                continue
            if self.steps_spent > budget:  # the estimate was low: what was evaluated is a sample now
                self.space.exhaustive = False
                self.over_budget = (f"enumerating Θ passed the check's budget of {budget:,} evaluation steps per "
                                    f"family after {len(self.runs):,} θ, so only those were evaluated")
                return
            compiled = self._compiled
            if compiled is None:
                self._run(theta)
            else:  # _run's compiled branch, written here: this loop is most of a big Θ's time
                out, steps, hits = compiled(theta)
                self.steps_spent += steps
                runs.append(Run(theta, out, hits))
            positions.append(i)
        order = sorted(range(len(self.runs)), key=positions.__getitem__)
        self.runs = [self.runs[k] for k in order]

    # ------------------------------------------------------------------ θ helpers

    def _validate(self, raw: dict[str, Value]) -> Theta | None:
        theta, _ = validate_theta(self.family, self.evaluator, raw, values=True)
        return theta

    def _example_thetas(self) -> list[Theta]:
        out = []
        for ex in self.family.examples:
            raw: dict[str, Value] = {}
            ok = True
            for name, node in ex.bindings:
                o = self.evaluator.eval_closed(node)
                if isinstance(o, Err):
                    ok = False
                    break
                raw[name] = o.value
            theta = self._validate(raw) if ok else None
            if theta is not None:
                out.append(theta)
        return out

    def _teach_values(self) -> dict[str, Value]:
        out = {}
        for name, node in self.family.teach:
            o = self.evaluator.eval_closed(node)
            if isinstance(o, Ok):
                out[name] = o.value
        return out

    def teaching_value(self, name: str) -> Value | None:
        """x's teaching value: ``teach``, else what the first example *states* for x.

        A parameter the first example leaves out (it took its default, as a teaching request that
        never mentions it) has no teaching value: a program that treats its default specially is
        not specialized to the teaching request (spec/checks.md).
        """
        if name in self.teach_values:
            return self.teach_values[name]
        if self.family.examples:
            for n, node in self.family.examples[0].bindings:
                if n == name:
                    out = self.evaluator.eval_closed(node)
                    return out.value if isinstance(out, Ok) else None
        return None

    def replay(self, theta: Theta) -> Outcome:
        return self.evaluator.run(self.family.name, theta)  # type: ignore[no-any-return]

    def internal(self, kind: str, subject: str, span: Span, seconds: float, what: str) -> Obligation:
        return Obligation(kind, subject, "unknown", f"internal error: {what} did not replay through the evaluator",
                          span, seconds, "DDL607", hint="this is a bug in ddl's verifier; please report it")

    def contradicted(self, kind: str, subject: str, span: Span, claim: str, theta: Theta) -> Obligation:
        return Obligation(kind, subject, "unknown",
                          f"internal error: a prover claimed \"{claim}\" but the run with {show_theta(theta)} "
                          "contradicts it", span, 0.0, "DDL607", hint="this is a bug in ddl's verifier; please report it")

    # ------------------------------------------------------------------ obligations

    def all(self) -> list[Obligation]:
        out: list[Obligation] = []
        for produce in (self.budget, self.safe, self.depends, self.no_leak, self.reachable, self.ensures):
            try:
                out.extend(produce())
            except Exception as err:  # noqa: BLE001 - a verifier bug must not take `ddl check` down
                out.append(internal_error(produce.__name__.replace("_", "-"), self.family, err))
        if out:  # the shared enumeration is charged to the first obligation
            out[0] = attrs.evolve(out[0], seconds=out[0].seconds + self.setup_seconds)
        return [self._budget_limited(self._sampling_limited(ob)) for ob in out]

    def _budget_limited(self, ob: Obligation) -> Obligation:
        """An unknown verdict says so when the check's budget per family cut the runs short (DDL610)."""
        if ob.verdict != "unknown" or ob.code not in ("DDL606", None) or self.over_budget is None:
            return ob
        evidence = ob.evidence.replace("Θ is too large to enumerate", "Θ was not enumerated")
        return attrs.evolve(ob, code="DDL610", evidence=f"{evidence}; {self.over_budget}", hint=CHECK_BUDGET_HINT)

    def _sampling_limited(self, ob: Obligation) -> Obligation:
        """An unknown verdict says so when some parameter's values could not be sampled (DDL608): a
        Text pattern's automaton reached the limit, so only the examples' and teaching values were tried."""
        if ob.verdict != "unknown" or ob.code not in ("DDL606", None) or not self.space.unsampled:
            return ob
        reasons, notes = [], []
        for name, err in self.space.unsampled.items():
            summary = err.summary if isinstance(err, AutomatonTooLarge) else str(err)
            reasons.append(f"no value of {name} could be sampled beyond the examples: the automaton of its Text "
                           f"pattern is too large ({summary})")
            param = self.family.param(name)
            if param is not None and param.span != ob.span:
                notes.append(Note(f"{name} is declared here", param.span))
        return attrs.evolve(ob, code="DDL608", evidence=f"{ob.evidence}; " + "; ".join(reasons),
                            notes=(*ob.notes, *notes), hint=SAMPLING_LIMIT_HINT)

    def _timed(self, fn: Callable[[], Obligation]) -> Obligation:
        start = time.perf_counter()
        ob = fn()
        return attrs.evolve(ob, seconds=time.perf_counter() - start)

    # ---- budget

    def budget(self) -> list[Obligation]:
        """Refuted when a θ the verifier ran (other than an example's, which its example reports) exceeds
        the step budget (DDL305) or builds a value over the size budget (DDL317): one per failing site."""
        out: list[Obligation] = []
        seen: set[tuple[str, Span]] = set()
        examples = [theta_key(t) for t in self.examples]
        for run in self.runs:
            o = run.outcome
            if not (isinstance(o, Err) and o.failure.code in BUDGET_CODES) or theta_key(run.theta) in examples:
                continue
            f = o.failure
            if (f.code, f.span) in seen:
                continue
            seen.add((f.code, f.span))
            subject = "size" if f.code == "DDL317" else "steps"
            out.append(Obligation("budget", subject, "refuted", f"with {show_theta(run.theta)}: {f.message}", f.span,
                                  0.0, "DDL611", (Note(f"the run fails here ({f.code})", f.span),), hint=BUDGET_HINT))
        return out

    # ---- safe

    def safe(self) -> list[Obligation]:
        return [self._timed(lambda s=s: self._safe(s)) for s in sites(self.module, self.family)]  # type: ignore[misc]

    def _site_env(self, site: Site) -> dict[str, iv.Interval] | None:
        if site.owner is None:
            root = self.family.program
            env: dict[str, iv.Interval] = {}
        else:
            fn = self.module.functions[site.owner]
            root = fn.body
            env = {name: iv.type_range(t) for name, t in fn.params}
        return self._env_to(root, site.node, env)

    def _env_to(self, node: ir.Node, target: ir.Node, env: dict[str, iv.Interval]) -> dict[str, iv.Interval] | None:
        if node is target:
            return env
        if isinstance(node, ir.Let):
            found = self._env_to(node.value, target, env)
            if found is not None:
                return found
            return self._env_to(node.body, target, {**env, node.name: self.ivs.of(node.value, env)})
        if isinstance(node, ir.Comprehension):
            found = self._env_to(node.source, target, env)
            if found is not None:
                return found
            if isinstance(node.source, ir.Range):
                lo = self.ivs.of(node.source.lo, env)
                hi = self.ivs.of(node.source.hi, env)
                var_iv: iv.Interval = (lo[0], hi[1])
            else:
                var_iv = iv.TOP
            inner = {**env, node.var: var_iv}
            for part in (node.cond, node.elem):
                if part is not None:
                    found = self._env_to(part, target, inner)
                    if found is not None:
                        return found
            return None
        if isinstance(node, ir.Lambda):
            inner = {**env, **{n: iv.type_range(t) for n, t in zip(node.params, node.param_types)}}
            return self._env_to(node.body, target, inner)
        if isinstance(node, ir.Match):
            found = self._env_to(node.scrutinee, target, env)
            if found is not None:
                return found
            for arm in node.arms:
                found = self._env_to(arm.body, target, self.ivs.arm_env(node, arm, env))
                if found is not None:
                    return found
            return None
        for child in children(node):
            found = self._env_to(child, target, env)
            if found is not None:
                return found
        return None

    def _safe_by_type(self, site: Site) -> str | None:
        n = site.node
        if isinstance(n, ir.Arith):
            rng = iv.type_range(n.right.type)
            if iv.excludes_zero(rng):
                return f"the divisor's type is {n.right.type}, which excludes 0"
            env = self._site_env(site)
            if env is not None:
                d = self.ivs.of(n.right, env)
                if iv.excludes_zero(d):
                    return f"the divisor is always in {iv.show_interval(d)}"
            return None
        if isinstance(n, ir.Narrow) and isinstance(n.type, (IntT, DecimalT)):
            inner_t = n.inner.type
            if isinstance(n.type, DecimalT) and (not isinstance(inner_t, (DecimalT, IntT))
                                                 or (isinstance(inner_t, DecimalT) and inner_t.scale > n.type.scale)):
                return None
            target = iv.type_range(n.type)
            if iv.within(iv.type_range(inner_t), target):
                return f"the value's type {inner_t} fits {n.type}"
            env = self._site_env(site)
            if env is not None:
                v = self.ivs.of(n.inner, env)
                if iv.within(v, target):
                    return f"the value is always in {iv.show_interval(v)}, inside {n.type}"
            return None
        if (isinstance(n, ir.Narrow) and isinstance(n.type, ListT) and isinstance(n.inner.type, ListT)
                and n.type.max_len is not None and is_subtype(ListT(n.inner.type.elem), ListT(n.type.elem))):
            env = self._site_env(site)
            bound = self.ivs.max_len(n.inner, env) if env is not None else None
            if bound is not None and bound <= n.type.max_len:
                return f"the list has at most {bound} elements, within {n.type}"
            return None
        if isinstance(n, ir.TableGet) and isinstance(n.key, (ir.Param, ir.Const)):
            dom = self.space.domains.get(n.key.name) if isinstance(n.key, ir.Param) else [n.key.value]
            if dom is None:
                return None
            try:
                entries = self.evaluator.table(n.table)
            except Exception:  # noqa: BLE001
                return None
            if all(k in entries for k in dom):
                return f"every possible key ({len(dom)}) is in the table"
        return None

    def _safe(self, site: Site) -> Obligation:
        kind, subject, span = "safe", site.subject, site.span

        def fails_here(theta: Theta, o: Outcome) -> bool:
            return isinstance(o, Err) and o.failure.span == span and o.failure.code not in BUDGET_CODES

        # The runs refute whatever a prover says; a proof that a run contradicts is a verifier bug.
        for run in self.runs:
            o = run.outcome
            if isinstance(o, Err) and o.failure.span == span and o.failure.code not in ("DDL305", "DDL999"):
                replayed = self.replay(run.theta)
                if not (isinstance(replayed, Err) and replayed.failure.span == span):
                    return self.internal(kind, subject, span, 0.0, f"the failure at {show_theta(run.theta)}")
                claim = self._safe_by_type(site) or smt.decide_site(self.module, self.family, site)[0]
                if claim is not None:
                    return self.contradicted(kind, subject, span, claim, run.theta)
                # Shown with the parameters the failure does not need at the first example's values: a
                # sampled θ may hold long random texts that the reader (and `ddl run`) cannot use.
                theta = self._simplest(run.theta, fails_here) or run.theta
                failed = self.replay(theta)
                f = failed.failure if isinstance(failed, Err) else replayed.failure
                return Obligation(kind, subject, "refuted", f"with {show_theta(theta)}: {f.message}", span, 0.0,
                                  "DDL600", (Note(f"the run fails here ({f.code})", span),))
        why = self._safe_by_type(site)
        if why is not None:
            return Obligation(kind, subject, "proved", why, span, 0.0)
        if self.space.exhaustive:
            return Obligation(kind, subject, "proved", f"no θ fails here ({self.space.describe()} evaluated)", span, 0.0)
        verdict, cand = smt.decide_site(self.module, self.family, site)
        if verdict is not None:
            return Obligation(kind, subject, "proved", verdict, span, 0.0)
        found = self._simplest(self._from_candidate(cand), fails_here)
        if found is not None:  # z3's model, replayed: only a failure at this very site is reported
            replayed = self.replay(found)
            assert isinstance(replayed, Err)
            f = replayed.failure
            return Obligation(kind, subject, "refuted", f"with {show_theta(found)}: {f.message} (found by z3)",
                              span, 0.0, "DDL600", (Note(f"the run fails here ({f.code})", span),))
        return Obligation(kind, subject, "unknown",
                          f"not decided: Θ is too large to enumerate and no sampled θ fails here ({len(self.runs)} tried)",
                          span, 0.0, "DDL606")

    def _from_candidate(self, cand: dict[str, Value] | None) -> Theta | None:
        """A z3 model's parameter values completed from the first example's θ (else a θ that was run),
        validated against Θ; None when there is none or it is not in Θ."""
        if not cand:
            return None
        bases = [*self.examples, *(run.theta for run in self.runs[:1])]
        if not bases:
            return None
        return self._validate({**bases[0], **cand})

    def _simplest(self, theta: Theta | None, bad: Callable[[Theta, Outcome], bool]) -> Theta | None:
        """A counterexample (z3's model or a sampled θ) with every parameter it does not need put back to the
        first example's value (the others' values are arbitrary); None when it does not replay at all."""
        if theta is None or not bad(theta, self.replay(theta)):
            return None
        base = self.examples[0] if self.examples else {}
        for name in list(theta):
            if name in base and base[name] != theta[name]:
                tried = self._validate({**theta, name: base[name]})
                if tried is not None and bad(tried, self.replay(tried)):
                    theta = tried
        return theta

    # ---- depends

    def used_params(self) -> set[str]:
        """Parameters the program's output can depend on (let-bound values never used are skipped)."""
        used: set[str] = set()

        def visit(node: ir.Node) -> None:
            if isinstance(node, ir.Param):
                used.add(node.name)
                return
            if isinstance(node, ir.Let):
                visit(node.body)
                if any(isinstance(n, ir.Local) and n.name == node.name for n in nodes(node.body)):
                    visit(node.value)
                return
            for c in children(node):
                visit(c)

        visit(self.family.program)
        return used

    def depends(self) -> list[Obligation]:
        used = self.used_params()
        return [self._timed(lambda p=p: self._depends(p.name, used, p.span)) for p in self.family.params]  # type: ignore[misc]

    def _depends(self, x: str, used: set[str], span: Span) -> Obligation:
        kind = "depends"
        if x not in used:
            return Obligation(kind, x, "refuted", f"{x} is never used by the program, so it cannot change the output",
                              span, 0.0, "DDL601", hint=f"{x} is never used; did you mean to interpolate it?")
        dom = self.space.domains.get(x)
        if dom is not None and len(dom) == 1:
            return Obligation(kind, x, "proved", f"{x} has a single value in Θ; there is nothing to depend on", span, 0.0)
        groups: dict[Any, tuple[Theta, Value]] = {}
        for run in self.runs:
            if not isinstance(run.outcome, Ok):
                continue
            key = tuple((k, v) for k, v in run.theta.items() if k != x)
            prev = groups.get(key)
            if prev is None:
                groups[key] = (run.theta, run.outcome.value)
            elif prev[1] != run.outcome.value:
                a, b = self.replay(prev[0]), self.replay(run.theta)
                if not (isinstance(a, Ok) and isinstance(b, Ok) and a.value != b.value):
                    return self.internal(kind, x, span, 0.0, "the witness pair")
                return Obligation(
                    kind, x, "proved",
                    f"{x} = {shorten(show_value(prev[0][x]), 30)} gives {show_out(a.value)} but "
                    f"{x} = {shorten(show_value(run.theta[x]), 30)} gives {show_out(b.value)}"
                    + (f" (other parameters {show_theta(dict(key))})" if key else ""), span, 0.0)
        if self.space.exhaustive:
            return Obligation(kind, x, "refuted",
                              f"{x} cannot change the output: no two θ that differ only in {x} give different outputs "
                              f"({self.space.describe()} evaluated)", span, 0.0, "DDL601",
                              hint=f"is {x}'s value hardcoded somewhere it should be interpolated?")
        return Obligation(kind, x, "unknown",
                          f"no witness found: no two sampled θ that differ only in {x} give different outputs "
                          f"({len(self.runs)} tried)", span, 0.0, "DDL606")

    # ---- no-leak (ddl/verify/leak.py) and reachable (ddl/verify/reach.py)

    def no_leak(self) -> list[Obligation]:
        return [self._timed(decide) for decide in leak.no_leak(self)]

    def reachable(self) -> list[Obligation]:
        return [self._timed(decide) for decide in reach.reachable(self)]

    def cov_replay(self, theta: Theta, node: ir.Node, branch: int) -> bool:
        self.cov.hits = set()
        self.cov.run(self.family.name, theta)
        return (id(node), branch) in self.cov.hits

    # ---- ensures

    def ensures(self) -> list[Obligation]:
        return [self._timed(lambda i=i, e=e: self._ensures(i, e)) for i, e in enumerate(self.family.ensures)]  # type: ignore[misc]

    def _ensures_holds(self, expr: ir.Node, theta: Theta, value: Value) -> bool:
        o = self.evaluator.eval_closed(expr, env={"result": value}, params=theta)
        return isinstance(o, Ok) and o.value is True

    def _prove_ensures(self, expr: ir.Node) -> tuple[str | None, dict[str, Value] | None]:
        """Structure first: symbolic evaluation, then z3 (a proof, or z3's candidate counterexample)."""
        why = prove_ensures(self.family, Symbolic(self.module, self.evaluator, self.ivs), self.space.domains, expr)
        if why is not None:
            return why, None
        return smt.decide_ensures(self.module, self.family, expr)

    def _ensures(self, i: int, en: Any) -> Obligation:
        kind = "ensures"
        subject = en.label if en.label else f"ensures[{i + 1}]"
        for run in self.runs:
            if not isinstance(run.outcome, Ok):
                continue
            if not self._ensures_holds(en.expr, run.theta, run.outcome.value):
                replayed = self.replay(run.theta)
                if not (isinstance(replayed, Ok) and not self._ensures_holds(en.expr, run.theta, replayed.value)):
                    return self.internal(kind, subject, en.span, 0.0, "the counterexample")
                claim = self._prove_ensures(en.expr)[0]
                if claim is not None:
                    return self.contradicted(kind, subject, en.span, claim, run.theta)
                return Obligation(kind, subject, "refuted",
                                  f"with {show_theta(run.theta)} the output is {show_out(replayed.value)}",
                                  en.span, 0.0, "DDL605")
        if self.space.exhaustive:
            return Obligation(kind, subject, "proved", f"holds for {self.space.describe()}", en.span, 0.0)
        why, cand = self._prove_ensures(en.expr)
        if why is not None:
            return Obligation(kind, subject, "proved", why, en.span, 0.0)

        def violates(theta: Theta, o: Outcome) -> bool:
            return isinstance(o, Ok) and not self._ensures_holds(en.expr, theta, o.value)

        theta = self._simplest(self._from_candidate(cand), violates)
        if theta is not None:  # z3's model, replayed: reported only when the clause really fails there
            replayed = self.replay(theta)
            assert isinstance(replayed, Ok)
            return Obligation(kind, subject, "refuted",
                              f"with {show_theta(theta)} the output is {show_out(replayed.value)} (found by z3)",
                              en.span, 0.0, "DDL605")
        return Obligation(kind, subject, "unknown",
                          f"holds on every sampled θ ({len(self.runs)} tried), but Θ is too large to enumerate",
                          en.span, 0.0, "DDL606")


def internal_error(kind: str, family: CheckedFamily, err: BaseException) -> Obligation:
    return Obligation(kind, "", "unknown", f"internal error in the verifier: {type(err).__name__}: {err}",
                      family.span, 0.0, "DDL999", hint="this is a bug in ddl's verifier; please report it")


def prove_family(module: CheckedModule, family: CheckedFamily, evaluator: Any, *,
                 limits: Limits = DEFAULT_LIMITS) -> list[Obligation]:
    """The verifier's obligations for one family: safe, depends, no-leak, reachable, ensures.

    ``limits`` bounds the automata of the Text patterns whose values are sampled (``ddl check --max-states``)."""
    try:
        prover = FamilyProver(module, family, evaluator, limits=limits)
    except Exception as err:  # noqa: BLE001 - a verifier bug must not take `ddl check` down
        return [internal_error("safe", family, err)]
    return prover.all()


__all__ = ["FamilyProver", "prove_family", "theta_key"]
