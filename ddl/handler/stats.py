"""Coverage, cost and savings of the handler H_k, computed from its ledger.

The point of H_k is that covered queries are answered by a family's checked program at (near)
zero cost, so the figures that matter are the coverage ``cov`` (share of queries a family
answered: ``deterministic`` ones, whose utterance a grammar accepted, and ``extracted`` ones,
whose family and θ a small model call named), the mean cost ``c_M`` of one full LLM call, the
mean cost ``c_X`` of one extraction call, and the expected cost per query::

    E[C] = cov_det · c_det + cov_ext · (c_det + c_X) + (1 − cov) · c_M

(``cov_det`` = deterministic / N, ``cov_ext`` = extracted / N, ``cov = cov_det + cov_ext``; with
no extracted queries this is the seed's ``cov · c_det + (1 − cov) · c_M``), set against
answering every query with the LLM, ``C_std = N · c_M``.

Costing rules (one place, shared by :func:`compute_stats` and :func:`plot`):

* prices are **per 1,000 tokens** (``price_in`` for prompt tokens, ``price_out`` for completion
  tokens), in whatever currency unit the user chooses;
* ``cost_per_call``, when given, is the cost of every model call, full or extraction (it
  overrides token pricing: for models priced per call, or when the model does not report usage);
* otherwise a call costs its reported tokens × prices; a call whose model reported no usage
  is costed at the mean of the calls of its kind that did (counted in ``llm_calls_unpriced``
  or ``extraction_calls_unpriced``);
* a deterministic answer costs ``det_cost`` (c_det, default 0); an extracted answer costs its
  extraction call plus c_det (the family's program ran too); a query that ended in an error
  costs nothing (its cost is unknown) but still counts in N.

Full LLM calls and extraction calls are counted and costed separately: ``llm_calls``,
``tokens_in``/``tokens_out``, ``llm_cost`` and ``c_M`` are full calls only (as before extraction
existed); ``extracted``, ``extraction_tokens_in``/``_out``, ``extraction_cost`` and ``c_X`` are the
extraction calls.
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

PLOT_HINT = "pip install 'ddl-lang[plot]'"


@attrs.frozen
class Stats:
    """The ledger's summary.  Costs are in the unit of the prices (prices are per 1,000 tokens)."""

    queries: int  # N
    deterministic: int  # answered by a family whose grammar accepted the utterance
    llm_calls: int  # answered by a full LLM call
    errors: int
    coverage: float  # (deterministic + extracted) / N: answered by a family's program (0 when N = 0)
    families: dict[str, int]  # hits per family (deterministic and extracted), most hits first
    models: dict[str, int]  # full LLM calls per model
    error_codes: dict[str, int]  # errors per DDL7xx code
    tokens_in: int  # of the full LLM calls
    tokens_out: int
    llm_calls_unpriced: int  # LLM calls without reported usage (costed at c_M unless cost_per_call is set)
    price_in: float  # per 1,000 input tokens
    price_out: float  # per 1,000 output tokens
    cost_per_call: float | None
    det_cost: float  # c_det: cost of one deterministic answer
    llm_cost: float  # what the full LLM calls cost
    deterministic_cost: float  # deterministic × c_det
    actual_cost: float  # llm_cost + deterministic_cost + extraction_cost: what H_k cost
    cost_per_llm_call: float  # c_M
    expected_cost_per_query: float  # E[C] = cov_det·c_det + cov_ext·(c_det + c_X) + (1 − cov)·c_M
    actual_cost_per_query: float  # actual_cost / N
    standard_cost: float  # C_std = N·c_M: every query answered by the LLM
    savings: float  # C_std − actual_cost
    savings_share: float  # savings / C_std (0 when C_std = 0)
    first_ts: float | None
    last_ts: float | None
    # Extraction (source "extracted": a small model call named the family and θ, its program answered).
    extracted: int = 0
    grammar_coverage: float = 0.0  # deterministic / N: answered without any model call
    extracted_families: dict[str, int] = attrs.field(factory=dict)  # extracted hits per family (in ``families`` too)
    extraction_tokens_in: int = 0
    extraction_tokens_out: int = 0
    extraction_calls_unpriced: int = 0  # extraction calls without reported usage (costed at c_X)
    extraction_cost: float = 0.0  # the extraction calls' cost + extracted × c_det
    cost_per_extraction: float = 0.0  # c_X: the mean cost of one extraction call

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _token_cost(rec: QueryRecord, price_in: float, price_out: float) -> float | None:
    """Cost of one call from its reported usage, or None when the model reported none."""
    if rec.tokens_in is None and rec.tokens_out is None:
        return None
    return (rec.tokens_in or 0) / 1000.0 * price_in + (rec.tokens_out or 0) / 1000.0 * price_out


class _Calls:
    """Model calls of one kind (full LLM calls, or extraction calls) and what they cost."""

    def __init__(self) -> None:
        self.calls = 0
        self.tokens_in = 0
        self.tokens_out = 0
        self.priced = 0
        self.priced_cost = 0.0

    def add(self, rec: QueryRecord, price_in: float, price_out: float) -> None:
        self.calls += 1
        self.tokens_in += rec.tokens_in or 0
        self.tokens_out += rec.tokens_out or 0
        cost = _token_cost(rec, price_in, price_out)
        if cost is not None:
            self.priced += 1
            self.priced_cost += cost

    @property
    def unpriced(self) -> int:
        return self.calls - self.priced

    def costs(self, cost_per_call: float | None) -> tuple[float, float]:
        """(the mean cost of one call, what all the calls cost), by the module's costing rules."""
        if cost_per_call is not None:
            return float(cost_per_call), self.calls * float(cost_per_call)
        mean = self.priced_cost / self.priced if self.priced else 0.0
        return mean, self.priced_cost + self.unpriced * mean


def _call_cost(rec: QueryRecord, price_in: float, price_out: float, cost_per_call: float | None, mean: float) -> float:
    """One model call's cost: cost_per_call, else its tokens × prices, else the mean of its kind."""
    if cost_per_call is not None:
        return float(cost_per_call)
    cost = _token_cost(rec, price_in, price_out)
    return mean if cost is None else cost


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
    llm_calls = _Calls()
    extraction = _Calls()
    families: Counter[str] = Counter()
    extracted_families: Counter[str] = Counter()
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
        elif rec.source == "extracted":
            families[rec.family or "?"] += 1
            extracted_families[rec.family or "?"] += 1
            extraction.add(rec, price_in, price_out)
        elif rec.source == "llm":
            llm += 1
            models[rec.model or "?"] += 1
            llm_calls.add(rec, price_in, price_out)
        else:
            err += 1
            codes[(rec.error or {}).get("code", "?")] += 1
    c_m, llm_cost = llm_calls.costs(cost_per_call)
    c_x, extraction_call_cost = extraction.costs(cost_per_call)
    ext = extraction.calls
    coverage = (det + ext) / n if n else 0.0
    deterministic_cost = det * det_cost
    extraction_cost = extraction_call_cost + ext * det_cost
    actual = llm_cost + deterministic_cost + extraction_cost
    standard = n * c_m
    savings = standard - actual
    answered = (det * det_cost + ext * (det_cost + c_x)) / n if n else 0.0
    expected = answered + (1.0 - coverage) * c_m
    return Stats(
        queries=n,
        deterministic=det,
        llm_calls=llm,
        errors=err,
        coverage=coverage,
        families=_most_first(families),
        models=_most_first(models),
        error_codes=dict(sorted(codes.items())),
        tokens_in=llm_calls.tokens_in,
        tokens_out=llm_calls.tokens_out,
        llm_calls_unpriced=llm_calls.unpriced,
        price_in=float(price_in),
        price_out=float(price_out),
        cost_per_call=None if cost_per_call is None else float(cost_per_call),
        det_cost=float(det_cost),
        llm_cost=llm_cost,
        deterministic_cost=deterministic_cost,
        actual_cost=actual,
        cost_per_llm_call=c_m,
        expected_cost_per_query=expected,
        actual_cost_per_query=actual / n if n else 0.0,
        standard_cost=standard,
        savings=savings,
        savings_share=savings / standard if standard else 0.0,
        first_ts=first_ts,
        last_ts=last_ts,
        extracted=ext,
        grammar_coverage=det / n if n else 0.0,
        extracted_families=_most_first(extracted_families),
        extraction_tokens_in=extraction.tokens_in,
        extraction_tokens_out=extraction.tokens_out,
        extraction_calls_unpriced=extraction.unpriced,
        extraction_cost=extraction_cost,
        cost_per_extraction=c_x,
    )


def _most_first(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _money(x: float) -> str:
    return f"{x:.6g}"


def _pct(x: float) -> str:
    return f"{100.0 * x:.1f}%"


def render_text(stats: Stats) -> str:
    """A readable report (the body of ``ddl stats``)."""
    s = stats
    how = "cost_per_call" if s.cost_per_call is not None else "the mean priced call"
    rows: list[tuple[str, str]] = [
        ("queries", f"{s.queries:,}"),
        ("  deterministic", f"{s.deterministic:,}"),
    ]
    if s.extracted:
        rows.append(("  extracted (small model call)", f"{s.extracted:,}"))
    rows += [
        ("  llm calls", f"{s.llm_calls:,}"),
        ("  errors", f"{s.errors:,}"),
    ]
    if s.extracted:
        rows.append(("coverage", f"{_pct(s.coverage)} (grammar {_pct(s.grammar_coverage)}, "
                                 f"extracted {_pct(s.coverage - s.grammar_coverage)})"))
    else:
        rows.append(("coverage", _pct(s.coverage)))
    rows.append(("tokens in / out", f"{s.tokens_in:,} / {s.tokens_out:,}"))
    if s.llm_calls_unpriced:
        rows.append(("  calls without usage", f"{s.llm_calls_unpriced:,} (costed at {how})"))
    if s.extracted:
        rows.append(("extraction tokens in / out", f"{s.extraction_tokens_in:,} / {s.extraction_tokens_out:,}"))
        if s.extraction_calls_unpriced:
            extraction_how = "cost_per_call" if s.cost_per_call is not None else "the mean priced extraction"
            rows.append(("  extractions without usage", f"{s.extraction_calls_unpriced:,} (costed at {extraction_how})"))
    if s.cost_per_call is not None:
        rows.append(("price", f"{_money(s.cost_per_call)} per LLM call"))
    else:
        rows.append(("price per 1,000 tokens", f"in {_money(s.price_in)}, out {_money(s.price_out)}"))
    if s.det_cost:
        rows.append(("c_det (per deterministic answer)", _money(s.det_cost)))
    rows.append(("c_M (mean cost of an LLM call)", _money(s.cost_per_llm_call)))
    if s.extracted:
        rows += [
            ("c_X (mean cost of an extraction)", _money(s.cost_per_extraction)),
            ("cost of extracted answers", _money(s.extraction_cost)),
        ]
    rows += [
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
        for name, count in s.families.items():
            line = f"  {name:<{fw}}  {count:>8,}  {_pct(count / s.queries)}"
            if s.extracted_families.get(name):
                line += f"  ({s.extracted_families[name]:,} extracted)"
            lines.append(line)
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

    matplotlib is optional (``ddl-lang[plot]``) and imported only here; drawing goes through the
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
    covered = 0  # answered by a family's program
    total = 0.0
    for i, rec in enumerate(store.queries(), start=1):
        if i > stats.queries:  # rows written after compute_stats: keep the two passes consistent
            break
        if rec.source == "deterministic":
            covered += 1
            total += det_cost
        elif rec.source == "extracted":
            covered += 1
            total += det_cost + _call_cost(rec, price_in, price_out, cost_per_call, stats.cost_per_extraction)
        elif rec.source == "llm":
            total += _call_cost(rec, price_in, price_out, cost_per_call, c_m)
        xs.append(i)
        coverage.append(covered / i)
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
