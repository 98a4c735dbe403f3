"""Coverage, cost and savings of the handler H_k, computed from its ledger.

The point of H_k is that covered queries are answered deterministically at (near) zero cost,
so the figures that matter are the coverage ``cov`` (share of queries answered
deterministically), the mean cost ``c_M`` of one LLM call, and the seed's expected cost per
query::

    E[C] = cov · c_det + (1 − cov) · c_M

set against answering every query with the LLM, ``C_std = N · c_M``.

Costing rules (one place, shared by :func:`compute_stats` and :func:`plot`):

* prices are **per 1,000 tokens** (``price_in`` for prompt tokens, ``price_out`` for completion
  tokens), in whatever currency unit the user chooses;
* ``cost_per_call``, when given, is the cost of every LLM call (it overrides token pricing:
  for models priced per call, or when the model does not report usage);
* otherwise a call costs its reported tokens × prices; a call whose model reported no usage
  is costed at the mean of the calls that did (and counted in ``llm_calls_unpriced``);
* a deterministic answer costs ``det_cost`` (c_det, default 0); a query that ended in an
  error costs nothing (its cost is unknown) but still counts in N.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from ddl.handler.records import HandlerError, QueryRecord
from ddl.handler.store import Store

__all__ = ["Stats", "compute_stats", "plot", "render_text"]

PLOT_HINT = "pip install 'ddl[plot]'"


@attrs.frozen
class Stats:
    """The ledger's summary.  Costs are in the unit of the prices (prices are per 1,000 tokens)."""

    queries: int  # N
    deterministic: int
    llm_calls: int
    errors: int
    coverage: float  # deterministic / N (0 when N = 0)
    families: dict[str, int]  # deterministic hits per family, most hits first
    models: dict[str, int]  # LLM calls per model
    error_codes: dict[str, int]  # errors per DDL7xx code
    tokens_in: int
    tokens_out: int
    llm_calls_unpriced: int  # LLM calls without reported usage (costed at c_M unless cost_per_call is set)
    price_in: float  # per 1,000 input tokens
    price_out: float  # per 1,000 output tokens
    cost_per_call: float | None
    det_cost: float  # c_det: cost of one deterministic answer
    llm_cost: float  # what the LLM calls cost
    deterministic_cost: float  # deterministic × c_det
    actual_cost: float  # llm_cost + deterministic_cost: what H_k cost
    cost_per_llm_call: float  # c_M
    expected_cost_per_query: float  # E[C] = cov·c_det + (1 − cov)·c_M
    actual_cost_per_query: float  # actual_cost / N
    standard_cost: float  # C_std = N·c_M: every query answered by the LLM
    savings: float  # C_std − actual_cost
    savings_share: float  # savings / C_std (0 when C_std = 0)
    first_ts: float | None
    last_ts: float | None

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _token_cost(rec: QueryRecord, price_in: float, price_out: float) -> float | None:
    """Cost of one call from its reported usage, or None when the model reported none."""
    if rec.tokens_in is None and rec.tokens_out is None:
        return None
    return (rec.tokens_in or 0) / 1000.0 * price_in + (rec.tokens_out or 0) / 1000.0 * price_out


def _check_prices(price_in: float, price_out: float, cost_per_call: float | None, det_cost: float) -> None:
    for name, value in (("price_in", price_in), ("price_out", price_out), ("det_cost", det_cost)):
        if not isinstance(value, int | float) or value != value or value < 0 or value == float("inf"):
            raise HandlerError(f"invalid {name} {value!r}: expected a finite number >= 0", "DDL705")
    if cost_per_call is not None and (
        not isinstance(cost_per_call, int | float) or not 0 <= cost_per_call < float("inf")
    ):
        raise HandlerError(f"invalid cost_per_call {cost_per_call!r}: expected a finite number >= 0", "DDL705")


def compute_stats(
    store: Store,
    *,
    price_in: float,
    price_out: float,
    cost_per_call: float | None = None,
    det_cost: float = 0.0,
) -> Stats:
    """Summarize the whole ledger in one streaming pass (prices per 1,000 tokens; see the module doc)."""
    _check_prices(price_in, price_out, cost_per_call, det_cost)
    n = det = llm = err = 0
    tokens_in = tokens_out = 0
    priced_calls = 0
    priced_cost = 0.0
    families: Counter[str] = Counter()
    models: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    first_ts: float | None = None
    last_ts: float | None = None
    for rec in store.queries():
        n += 1
        first_ts = rec.ts if first_ts is None else min(first_ts, rec.ts)
        last_ts = rec.ts if last_ts is None else max(last_ts, rec.ts)
        if rec.source == "deterministic":
            det += 1
            families[rec.family or "?"] += 1
        elif rec.source == "llm":
            llm += 1
            models[rec.model or "?"] += 1
            tokens_in += rec.tokens_in or 0
            tokens_out += rec.tokens_out or 0
            cost = _token_cost(rec, price_in, price_out)
            if cost is not None:
                priced_calls += 1
                priced_cost += cost
        else:
            err += 1
            codes[(rec.error or {}).get("code", "?")] += 1
    unpriced = llm - priced_calls
    if cost_per_call is not None:
        c_m = float(cost_per_call)
        llm_cost = llm * c_m
    else:
        c_m = priced_cost / priced_calls if priced_calls else 0.0
        llm_cost = priced_cost + unpriced * c_m
    coverage = det / n if n else 0.0
    deterministic_cost = det * det_cost
    actual = llm_cost + deterministic_cost
    standard = n * c_m
    savings = standard - actual
    return Stats(
        queries=n,
        deterministic=det,
        llm_calls=llm,
        errors=err,
        coverage=coverage,
        families=dict(sorted(families.items(), key=lambda kv: (-kv[1], kv[0]))),
        models=dict(sorted(models.items(), key=lambda kv: (-kv[1], kv[0]))),
        error_codes=dict(sorted(codes.items())),
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        llm_calls_unpriced=unpriced,
        price_in=float(price_in),
        price_out=float(price_out),
        cost_per_call=None if cost_per_call is None else float(cost_per_call),
        det_cost=float(det_cost),
        llm_cost=llm_cost,
        deterministic_cost=deterministic_cost,
        actual_cost=actual,
        cost_per_llm_call=c_m,
        expected_cost_per_query=coverage * det_cost + (1.0 - coverage) * c_m,
        actual_cost_per_query=actual / n if n else 0.0,
        standard_cost=standard,
        savings=savings,
        savings_share=savings / standard if standard else 0.0,
        first_ts=first_ts,
        last_ts=last_ts,
    )


def _money(x: float) -> str:
    return f"{x:.6g}"


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}%"


def render_text(stats: Stats) -> str:
    """A readable report (the body of ``ddl stats``)."""
    s = stats
    rows: list[tuple[str, str]] = [
        ("queries", f"{s.queries:,}"),
        ("  deterministic", f"{s.deterministic:,}"),
        ("  llm calls", f"{s.llm_calls:,}"),
        ("  errors", f"{s.errors:,}"),
        ("coverage", _pct(s.coverage)),
        ("tokens in / out", f"{s.tokens_in:,} / {s.tokens_out:,}"),
    ]
    if s.llm_calls_unpriced:
        how = "cost_per_call" if s.cost_per_call is not None else "the mean priced call"
        rows.append(("  calls without usage", f"{s.llm_calls_unpriced:,} (costed at {how})"))
    if s.cost_per_call is not None:
        rows.append(("price", f"{_money(s.cost_per_call)} per LLM call"))
    else:
        rows.append(("price per 1,000 tokens", f"in {_money(s.price_in)}, out {_money(s.price_out)}"))
    if s.det_cost:
        rows.append(("c_det (per deterministic answer)", _money(s.det_cost)))
    rows += [
        ("c_M (mean cost of an LLM call)", _money(s.cost_per_llm_call)),
        ("E[C] per query", _money(s.expected_cost_per_query)),
        ("actual cost (H_k)", _money(s.actual_cost)),
        ("cost if all LLM (C_std = N*c_M)", _money(s.standard_cost)),
        ("savings", f"{_money(s.savings)} ({_pct(s.savings_share)})"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    if s.families:
        lines.append("")
        lines.append("per-family hits")
        fw = max(len(name) for name in s.families)
        lines += [f"  {name:<{fw}}  {count:>8,}  {_pct(count / s.queries)}" for name, count in s.families.items()]
    if s.models:
        lines.append("")
        lines.append("llm calls per model")
        mw = max(len(name) for name in s.models)
        lines += [f"  {name:<{mw}}  {count:>8,}" for name, count in s.models.items()]
    if s.error_codes:
        lines.append("")
        lines.append("errors")
        lines += [f"  {code}  {count:>8,}" for code, count in s.error_codes.items()]
    if s.queries == 0:
        lines.append("")
        lines.append("(the ledger is empty: no queries recorded yet)")
    return "\n".join(lines) + "\n"


def plot(
    store: Store,
    path: str | os.PathLike[str],
    *,
    price_in: float,
    price_out: float,
    cost_per_call: float | None = None,
    det_cost: float = 0.0,
) -> Path:
    """Write a PNG with two panels over the query index: running coverage, and the cumulative
    cost of H_k against answering every query with the LLM (N·c_M).  Returns the path.

    matplotlib is optional (``ddl[plot]``) and imported only here; drawing goes through the
    Agg canvas directly, so no GUI backend or global pyplot state is involved.
    """
    try:
        # deferred: matplotlib (optional) loads only for --plot
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise HandlerError(f"plotting needs matplotlib: {PLOT_HINT}", "DDL705") from None
    stats = compute_stats(store, price_in=price_in, price_out=price_out, cost_per_call=cost_per_call, det_cost=det_cost)
    c_m = stats.cost_per_llm_call
    xs: list[int] = []
    coverage: list[float] = []
    cum_hk: list[float] = []
    cum_std: list[float] = []
    det = 0
    total = 0.0
    for i, rec in enumerate(store.queries(), start=1):
        if i > stats.queries:  # rows written after compute_stats: keep the two passes consistent
            break
        if rec.source == "deterministic":
            det += 1
            total += det_cost
        elif rec.source == "llm":
            if cost_per_call is not None:
                total += cost_per_call
            else:
                cost = _token_cost(rec, price_in, price_out)
                total += c_m if cost is None else cost
        xs.append(i)
        coverage.append(det / i)
        cum_hk.append(total)
        cum_std.append(i * c_m)

    fig = Figure(figsize=(8, 6.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax_cov, ax_cost = fig.subplots(2, 1, sharex=True)
    fig.suptitle(
        f"H_k: {stats.queries:,} queries, coverage {_pct(stats.coverage)}, savings {_pct(stats.savings_share)}"
    )
    ax_cov.plot(xs, coverage, color="tab:green", label="running coverage")
    ax_cov.set_ylim(0, 1.02)
    ax_cov.set_ylabel("coverage")
    ax_cov.yaxis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}%")
    ax_cov.grid(True, alpha=0.3)
    ax_cov.legend(loc="lower right")
    ax_cost.plot(xs, cum_std, color="tab:red", linestyle="--", label="all queries to the LLM (N·c_M)")
    ax_cost.plot(xs, cum_hk, color="tab:blue", label="H_k (actual)")
    ax_cost.set_xlabel("query (in ledger order)")
    ax_cost.set_ylabel("cumulative cost")
    ax_cost.grid(True, alpha=0.3)
    ax_cost.legend(loc="upper left")
    if not xs:
        for ax in (ax_cov, ax_cost):
            ax.text(0.5, 0.5, "no queries recorded yet", ha="center", va="center", transform=ax.transAxes)
        ax_cost.set_xlim(0, 1)
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
    except OSError as exc:
        raise HandlerError(f"cannot write plot '{out}': {exc.strerror or exc}", "DDL705") from None
    return out
