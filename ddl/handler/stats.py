"""Coverage, cost and savings of the handler H_k, computed from its ledger.

The point of H_k is that covered queries are answered by a family's checked program at (near)
zero cost, so the figures that matter are the coverage ``cov`` (share of queries a family
answered: ``deterministic`` ones, whose utterance a grammar accepted, and ``extracted`` ones,
whose family and θ a small model call named), the mean cost ``c_M`` of one full LLM call, the
mean cost ``c_X`` of one extraction call, and the expected cost per query::

    E[C] = cov_det · c_det + cov_ext · (c_det + c_X) + (1 − cov) · c_M

(``cov_det`` = deterministic / N, ``cov_ext`` = extracted / N, ``cov = cov_det + cov_ext``; with
no extracted queries this is the seed's ``cov · c_det + (1 − cov) · c_M``).

Savings count only what was answered: a query that ended in an error got no answer, so it saved
nothing.  ``C_std = A · c_M`` is what the model would have cost to answer the A answered queries
(deterministic, extracted and full LLM answers), the savings are ``C_std`` minus what those answers
cost, and the unanswered queries are reported beside them (spec/handler.md, "Statistics").

Costing rules (one place, shared by :func:`compute_stats` and :func:`plot`):

* prices are **per 1,000 tokens** (``price_in`` for prompt tokens, ``price_out`` for completion
  tokens), read as US dollars (the plot says "dollars"; another currency works the same);
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

__all__ = ["Stats", "compute_stats", "figure", "plot", "plot_title", "render_text"]

PLOT_HINT = "pip install 'ddl-lang[plot]'"
UNPRICED = "no priced model answer to compare with (give --cost-per-call, or --price-in/--price-out)"


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
    standard_cost: float  # C_std = answered·c_M: the answered queries, had the LLM answered them all
    savings: float  # C_std − actual_cost (errors cost nothing, so actual_cost is the answered queries')
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
    answered: int = 0  # deterministic + extracted + llm_calls: the queries that got an answer
    unanswered: int = 0  # errors: no answer, so no savings (reported beside the savings, not hidden in them)

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
    answered_count = det + ext + llm
    standard = answered_count * c_m
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
        answered=answered_count,
        unanswered=err,
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
        ("  errors (no answer)", f"{s.errors:,}"),
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
        rows.append(("cost per deterministic answer", _money(s.det_cost)))
    # Without any price, every model cost below is unknown, not 0 (0 would read as "free").
    priced = s.cost_per_call is not None or bool(s.price_in or s.price_out or s.det_cost)
    cost = _money if priced else (lambda _: "unknown (no prices given)")
    rows.append(("mean cost of a model call", cost(s.cost_per_llm_call)))
    if s.extracted:
        rows += [
            ("mean cost of an extraction call", cost(s.cost_per_extraction)),
            ("cost of extracted answers", cost(s.extraction_cost)),
        ]
    rows += [
        ("mean cost per query", cost(s.expected_cost_per_query)),
        ("actual cost", cost(s.actual_cost)),
        (f"cost had the model answered the {s.answered:,} answered", cost(s.standard_cost)),
        ("savings on the answered queries", f"{_money(s.savings)} ({_pct(s.savings_share)})"
         if s.standard_cost or not s.answered else f"unknown: {UNPRICED}"),
    ]
    if s.unanswered:
        share = _pct(s.unanswered / s.queries)
        rows.append(("unanswered", f"{s.unanswered:,} of {s.queries:,} ({share}): no answer, so no savings"))
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


def _import_matplotlib() -> tuple[Any, Any]:
    try:
        # deferred: matplotlib (optional) loads only for --plot
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise HandlerError(f"plotting needs matplotlib: {PLOT_HINT}", "DDL705") from None
    return Figure, FigureCanvasAgg


def _queries(count: int) -> str:
    return f"{count:,} {'query' if count == 1 else 'queries'}"


def plot_title(stats: Stats) -> str:
    """The plot's title: what was answered, by whom, what was not, and the savings on the answered."""
    if not stats.queries:
        return "No queries recorded yet"
    by_family = stats.deterministic + stats.extracted
    parts = [f"{_queries(stats.queries)}: {by_family:,} answered by a family, "
             f"{stats.llm_calls:,} by the model, {stats.unanswered:,} unanswered"]
    if stats.standard_cost:
        parts.append(f"savings {_money(stats.savings)} dollars ({_pct(stats.savings_share)}) "
                     f"on the {stats.answered:,} answered")
    else:
        parts.append(f"savings unknown: {UNPRICED}")
    return "\n".join(parts)


def figure(
    store: Store,
    *,
    price_in: float,
    price_out: float,
    cost_per_call: float | None = None,
    det_cost: float = 0.0,
) -> Any:
    """The cost plot as a matplotlib Figure (on an Agg canvas): two panels over the queries in ledger
    order -- who answered them (running counts), and the cumulative cost in dollars against what the
    model would have cost for the same answered queries.  Labels are words with units, no symbols."""
    figure_class, canvas_class = _import_matplotlib()
    stats = compute_stats(store, price_in=price_in, price_out=price_out, cost_per_call=cost_per_call, det_cost=det_cost)
    c_m = stats.cost_per_llm_call
    xs: list[int] = []
    by_grammar: list[int] = []
    by_extraction: list[int] = []
    by_model: list[int] = []
    no_answer: list[int] = []
    actual: list[float] = []
    model_only: list[float] = []
    counts = Counter[str]()
    total = 0.0
    for i, rec in enumerate(store.queries(), start=1):
        if i > stats.queries:  # rows written after compute_stats: keep the two passes consistent
            break
        counts[rec.source] += 1
        if rec.source == "deterministic":
            total += det_cost
        elif rec.source == "extracted":
            total += det_cost + _call_cost(rec, price_in, price_out, cost_per_call, stats.cost_per_extraction)
        elif rec.source == "llm":
            total += _call_cost(rec, price_in, price_out, cost_per_call, c_m)
        xs.append(i)
        by_grammar.append(counts["deterministic"])
        by_extraction.append(counts["extracted"])
        by_model.append(counts["llm"])
        no_answer.append(i - counts["deterministic"] - counts["extracted"] - counts["llm"])
        actual.append(total)
        model_only.append((i - no_answer[-1]) * c_m)  # unanswered queries are in neither line

    fig = figure_class(figsize=(8, 7), dpi=100, layout="constrained")
    canvas_class(fig)
    ax_who, ax_cost = fig.subplots(2, 1, sharex=True)
    fig.suptitle(plot_title(stats))
    free = " (free)" if det_cost == 0 else ""
    ax_who.plot(xs, by_grammar, color="tab:green", label=f"answered by a family{free}")
    if stats.extracted:
        ax_who.plot(xs, by_extraction, color="tab:olive", label="answered by a family after a small model call")
    ax_who.plot(xs, by_model, color="tab:blue", label="answered by the model")
    ax_who.plot(xs, no_answer, color="tab:red", linestyle=":", label="unanswered (errors, no savings)")
    ax_who.set_ylabel("number of queries so far")
    ax_who.grid(True, alpha=0.3)
    ax_who.legend(loc="upper left")
    ax_cost.plot(xs, model_only, color="tab:red", linestyle="--", label="had the model answered every answered query")
    ax_cost.plot(xs, actual, color="tab:blue", label="actual cost (families and model)")
    ax_cost.set_xlabel("queries received, in ledger order")
    ax_cost.set_ylabel("cumulative cost in dollars")
    ax_cost.grid(True, alpha=0.3)
    ax_cost.legend(loc="upper left")
    if not xs:
        for ax in (ax_who, ax_cost):
            ax.text(0.5, 0.5, "no queries recorded yet", ha="center", va="center", transform=ax.transAxes)
        ax_cost.set_xlim(0, 1)
    return fig


def plot(
    store: Store,
    path: str | os.PathLike[str],
    *,
    price_in: float,
    price_out: float,
    cost_per_call: float | None = None,
    det_cost: float = 0.0,
) -> Path:
    """Write :func:`figure` as a PNG to ``path`` and return the path.

    matplotlib is optional (``ddl-lang[plot]``) and imported only here; drawing goes through the
    Agg canvas directly, so no GUI backend or global pyplot state is involved.
    """
    out = Path(path)
    # A PNG under any other name would mislead whatever opens it; a missing folder is a typo more often
    # than a wish (as for any output file, it is not created).
    if out.suffix.lower() != ".png":
        raise HandlerError(f"the plot is a PNG: name it .png, not '{out.name}'", "DDL705")
    if not out.parent.is_dir():
        raise HandlerError(f"cannot write plot '{out}': no directory '{out.parent}'", "DDL705")
    fig = figure(store, price_in=price_in, price_out=price_out, cost_per_call=cost_per_call, det_cost=det_cost)
    try:
        fig.savefig(out, format="png")
    except OSError as exc:
        raise HandlerError(f"cannot write plot '{out}': {exc.strerror or exc}", "DDL705") from None
    return out
