"""Stats over the ledger: coverage, cost, E[C] and savings, checked against hand computation.

Why: these numbers are the argument for H_k (cheap deterministic answers replacing LLM calls),
so each is asserted exactly on a ledger whose mix is known, including the edge cases that
would otherwise divide by zero (empty ledger, no usage reported).
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ddl.handler.records import HandlerError, QueryRecord
from ddl.handler.stats import Stats, compute_stats, plot, render_text
from ddl.handler.store import Store, open_store

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _q(source: str, **kw: object) -> QueryRecord:
    return QueryRecord(ts=1_700_000_000.0 + kw.pop("i", 0), utterance="u", source=source, latency_ms=1.0, **kw)  # type: ignore[arg-type]


def _fill(store: Store, extra: list[QueryRecord] | None = None) -> None:
    """7 deterministic (books 4, weather 3), 3 LLM calls with known usage, 1 error — interleaved."""
    records = [
        _q("deterministic", family="books", theta={"count": 3}, i=0),
        _q("llm", model="fake-echo", tokens_in=100, tokens_out=50, i=1),
        _q("deterministic", family="weather", i=2),
        _q("deterministic", family="books", i=3),
        _q("error", error={"code": "DDL704", "message": "timed out"}, model="fake-slow", i=4),
        _q("llm", model="fake-echo", tokens_in=200, tokens_out=150, i=5),
        _q("deterministic", family="weather", i=6),
        _q("deterministic", family="books", i=7),
        _q("llm", model="other", tokens_in=300, tokens_out=100, i=8),
        _q("deterministic", family="weather", i=9),
        _q("deterministic", family="books", i=10),
    ]
    for rec in records + (extra or []):
        store.record_query(rec)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "ledger.sqlite3") as s:
        yield s


# Hand computation for price_in = 0.5 and price_out = 2.0 per 1,000 tokens:
#   call 1: 100/1000*0.5 + 50/1000*2.0  = 0.05 + 0.10 = 0.15
#   call 2: 200/1000*0.5 + 150/1000*2.0 = 0.10 + 0.30 = 0.40
#   call 3: 300/1000*0.5 + 100/1000*2.0 = 0.15 + 0.20 = 0.35
#   LLM cost 0.90, c_M = 0.30; N = 11, coverage = 7/11; c_det = 0.01 → deterministic cost 0.07
#   actual = 0.97; E[C] = 7/11*0.01 + 4/11*0.30 = 1.27/11
#   10 answered (the error got no answer): C_std = 10*0.30 = 3.00; savings = 3.00 - 0.97 = 2.03 (2.03/3.00)
def test_known_mix(store: Store) -> None:
    _fill(store)
    s = compute_stats(store, price_in=0.5, price_out=2.0, det_cost=0.01)
    assert (s.queries, s.deterministic, s.llm_calls, s.errors) == (11, 7, 3, 1)
    assert s.coverage == 7 / 11
    assert s.families == {"books": 4, "weather": 3}
    assert list(s.families) == ["books", "weather"]  # most hits first
    assert s.models == {"fake-echo": 2, "other": 1}
    assert s.error_codes == {"DDL704": 1}
    assert (s.tokens_in, s.tokens_out) == (600, 300)
    assert s.llm_calls_unpriced == 0
    assert s.llm_cost == pytest.approx(0.90, rel=1e-12)
    assert s.cost_per_llm_call == pytest.approx(0.30, rel=1e-12)
    assert s.deterministic_cost == pytest.approx(0.07, rel=1e-12)
    assert s.actual_cost == pytest.approx(0.97, rel=1e-12)
    assert s.expected_cost_per_query == pytest.approx(1.27 / 11, rel=1e-12)
    assert s.actual_cost_per_query == pytest.approx(0.97 / 11, rel=1e-12)
    assert (s.answered, s.unanswered) == (10, 1)
    assert s.standard_cost == pytest.approx(3.00, rel=1e-12)
    assert s.savings == pytest.approx(2.03, rel=1e-12)
    assert s.savings_share == pytest.approx(2.03 / 3.00, rel=1e-12)
    assert (s.first_ts, s.last_ts) == (1_700_000_000.0, 1_700_000_010.0)


def test_free_deterministic_answers_by_default(store: Store) -> None:
    _fill(store)
    s = compute_stats(store, price_in=0.5, price_out=2.0)
    assert s.det_cost == 0.0 and s.deterministic_cost == 0.0
    assert s.actual_cost == pytest.approx(0.90, rel=1e-12)
    assert s.expected_cost_per_query == pytest.approx(4 / 11 * 0.30, rel=1e-12)
    assert s.savings == pytest.approx(2.10, rel=1e-12)
    assert s.savings_share == pytest.approx(2.10 / 3.00, rel=1e-12)


def test_cost_per_call_overrides_token_prices(store: Store) -> None:
    _fill(store)
    s = compute_stats(store, price_in=0.5, price_out=2.0, cost_per_call=0.25)
    assert s.cost_per_llm_call == 0.25
    assert s.llm_cost == pytest.approx(0.75, rel=1e-12)
    assert s.standard_cost == pytest.approx(2.50, rel=1e-12)  # 10 answered
    assert s.savings == pytest.approx(1.75, rel=1e-12)
    assert (s.tokens_in, s.tokens_out) == (600, 300)  # tokens are still reported


def test_calls_without_usage_are_costed_at_the_mean(store: Store) -> None:
    _fill(store, [_q("llm", model="quiet", i=11)])  # this model reports no usage
    s = compute_stats(store, price_in=0.5, price_out=2.0)
    assert s.llm_calls == 4 and s.llm_calls_unpriced == 1
    assert s.cost_per_llm_call == pytest.approx(0.30, rel=1e-12)
    assert s.llm_cost == pytest.approx(1.20, rel=1e-12)
    assert s.standard_cost == pytest.approx(11 * 0.30, rel=1e-12)  # 11 answered, 1 error
    assert "calls without usage" in render_text(s)


def test_cost_per_call_fills_in_when_no_call_reports_usage(store: Store) -> None:
    for i in range(3):
        store.record_query(_q("llm", model="quiet", i=i))
    store.record_query(_q("deterministic", family="books", i=3))
    unpriced = compute_stats(store, price_in=0.5, price_out=2.0)
    assert (unpriced.cost_per_llm_call, unpriced.llm_cost, unpriced.savings, unpriced.savings_share) == (0, 0, 0, 0)
    s = compute_stats(store, price_in=0.5, price_out=2.0, cost_per_call=0.02)
    assert s.llm_cost == pytest.approx(0.06, rel=1e-12)
    assert s.standard_cost == pytest.approx(0.08, rel=1e-12)
    assert s.savings == pytest.approx(0.02, rel=1e-12)
    assert s.expected_cost_per_query == pytest.approx(0.75 * 0.02, rel=1e-12)


def test_an_empty_ledger_gives_a_zero_report(store: Store) -> None:
    s = compute_stats(store, price_in=0.5, price_out=2.0, det_cost=0.01)
    assert (s.queries, s.deterministic, s.llm_calls, s.errors) == (0, 0, 0, 0)
    assert s.coverage == 0.0
    assert s.cost_per_llm_call == 0.0
    assert s.expected_cost_per_query == 0.0
    assert s.actual_cost_per_query == 0.0
    assert s.savings == 0.0 and s.savings_share == 0.0
    assert s.families == {} and s.first_ts is None
    text = render_text(s)
    assert "coverage" in text and "0.0%" in text and "empty" in text


def test_to_json_is_plain_json(store: Store) -> None:
    import json

    _fill(store)
    s = compute_stats(store, price_in=0.5, price_out=2.0)
    data = s.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["queries"] == 11 and data["families"] == {"books": 4, "weather": 3}
    assert set(data) == {a.name for a in Stats.__attrs_attrs__}


def test_render_text_is_a_readable_table(store: Store) -> None:
    _fill(store)
    text = render_text(compute_stats(store, price_in=0.5, price_out=2.0, det_cost=0.01))
    lines = text.splitlines()
    assert lines[0].split() == ["queries", "11"]
    assert "coverage" in text and "63.6%" in text
    assert "per-family hits" in text
    assert any(line.split()[:2] == ["books", "4"] for line in lines)
    assert "600 / 300" in text
    assert "mean cost per query" in text and "0.115455" in text
    assert any(line.split() == ["savings", "on", "the", "answered", "queries", "2.03", "(67.7%)"] for line in lines)
    assert any(line.split() == ["cost", "had", "the", "model", "answered", "the", "10", "answered", "3"] for line in lines)
    assert any(line.split()[:6] == ["unanswered", "1", "of", "11", "(9.1%):", "no"] for line in lines)
    assert "H_k" not in text and "C_std" not in text


def test_bad_prices_are_invalid_requests(store: Store) -> None:
    for kwargs in ({"price_in": -1.0, "price_out": 0.0}, {"price_in": float("nan"), "price_out": 0.0}):
        with pytest.raises(HandlerError) as info:
            compute_stats(store, **kwargs)
        assert info.value.code == "DDL705"
    with pytest.raises(HandlerError):
        compute_stats(store, price_in=0.0, price_out=0.0, cost_per_call=-0.5)


def test_stats_on_postgres(fresh_postgres_url: str) -> None:
    with open_store(fresh_postgres_url) as pg:
        _fill(pg)
        s = compute_stats(pg, price_in=0.5, price_out=2.0, det_cost=0.01)
    assert s.savings == pytest.approx(2.03, rel=1e-12)
    assert s.families == {"books": 4, "weather": 3}


# ----------------------------------------------------------------------------------------
# plot
# ----------------------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    crc = struct.unpack(">I", data[29:33])[0]
    assert crc == zlib.crc32(data[12:29])
    assert data.endswith(b"IEND\xaeB`\x82")
    return width, height


def test_plot_writes_a_png(store: Store, tmp_path: Path) -> None:
    _fill(store)
    out = plot(store, tmp_path / "cost.png", price_in=0.5, price_out=2.0)
    assert out == tmp_path / "cost.png"
    data = out.read_bytes()
    width, height = _png_size(data)
    assert width > 0 and height > 0 and len(data) > 1000


def test_plot_of_an_empty_ledger(store: Store, tmp_path: Path) -> None:
    out = plot(store, tmp_path / "empty.png", price_in=0.0, price_out=0.0)
    assert _png_size(out.read_bytes())[0] > 0


def test_plot_without_matplotlib_says_how_to_get_it(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    with pytest.raises(HandlerError) as info:
        plot(store, tmp_path / "x.png", price_in=0.5, price_out=2.0)
    assert "pip install 'ddl-lang[plot]'" in info.value.message
    assert "matplotlib" in info.value.message
    assert not (tmp_path / "x.png").exists()


def test_plot_to_an_unwritable_place_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HandlerError, match="cannot write plot"):
        plot(store, blocker / "sub" / "x.png", price_in=0.5, price_out=2.0)


def test_plot_refuses_a_missing_folder_and_a_name_that_is_not_png(store: Store, tmp_path: Path) -> None:
    with pytest.raises(HandlerError, match="no directory") as info:
        plot(store, tmp_path / "typo" / "x.png", price_in=0.5, price_out=2.0)
    assert not (tmp_path / "typo").exists()  # nothing created on the way
    for name in ("cost.jpg", "cost.txt", "cost"):
        with pytest.raises(HandlerError, match="the plot is a PNG") as info:
            plot(store, tmp_path / name, price_in=0.5, price_out=2.0)
        assert info.value.code == "DDL705" and not (tmp_path / name).exists()


# ----------------------------------------------------------------------------------------
# Extracted answers: covered by a family, costed as a (small) model call
# ----------------------------------------------------------------------------------------

# _fill's 11 queries plus two "extracted" ones: the model named the family and θ, the family answered.
#   extraction 1 (books):   40/1000*0.5 + 10/1000*2.0 = 0.02 + 0.02 = 0.04
#   extraction 2 (weather): 60/1000*0.5 + 30/1000*2.0 = 0.03 + 0.06 = 0.09
#   extraction calls 0.13, c_X = 0.065; with c_det = 0.01 the extracted answers cost 0.13 + 2*0.01 = 0.15
#   N = 13, coverage = 9/13 (grammar 7/13); full LLM calls unchanged: 0.90, c_M = 0.30
#   actual = 0.90 + 0.07 + 0.15 = 1.12; 12 answered: C_std = 12*0.30 = 3.60; savings = 2.48
#   E[C] = (7*0.01 + 2*(0.01 + 0.065))/13 + 4/13*0.30 = (0.07 + 0.15 + 1.20)/13 = 1.42/13
EXTRACTED = [
    _q("extracted", family="books", theta={"count": 2}, model="fake-extract", tokens_in=40, tokens_out=10, i=11),
    _q("extracted", family="weather", theta={"city": "oslo"}, model="fake-extract", tokens_in=60, tokens_out=30,
       i=12),
]


def _check_extracted_mix(s: Stats) -> None:
    assert (s.queries, s.deterministic, s.extracted, s.llm_calls, s.errors) == (13, 7, 2, 3, 1)
    assert s.coverage == 9 / 13 and s.grammar_coverage == 7 / 13
    assert s.families == {"books": 5, "weather": 4}
    assert s.extracted_families == {"books": 1, "weather": 1}
    assert s.models == {"fake-echo": 2, "other": 1}  # full LLM calls only
    assert (s.tokens_in, s.tokens_out) == (600, 300)  # full LLM calls only
    assert (s.extraction_tokens_in, s.extraction_tokens_out) == (100, 40)
    assert s.extraction_calls_unpriced == 0
    assert s.llm_cost == pytest.approx(0.90, rel=1e-12)
    assert s.cost_per_llm_call == pytest.approx(0.30, rel=1e-12)
    assert s.cost_per_extraction == pytest.approx(0.065, rel=1e-12)
    assert s.extraction_cost == pytest.approx(0.15, rel=1e-12)
    assert s.deterministic_cost == pytest.approx(0.07, rel=1e-12)
    assert s.actual_cost == pytest.approx(1.12, rel=1e-12)
    assert s.standard_cost == pytest.approx(3.60, rel=1e-12)
    assert s.savings == pytest.approx(2.48, rel=1e-12)
    assert s.expected_cost_per_query == pytest.approx(1.42 / 13, rel=1e-12)
    assert s.actual_cost_per_query == pytest.approx(1.12 / 13, rel=1e-12)
    assert s.last_ts == 1_700_000_012.0


def test_extracted_answers_are_covered_and_cost_their_small_call(store: Store) -> None:
    _fill(store, EXTRACTED)
    _check_extracted_mix(compute_stats(store, price_in=0.5, price_out=2.0, det_cost=0.01))


def test_stats_with_extracted_answers_on_postgres(fresh_postgres_url: str) -> None:
    with open_store(fresh_postgres_url) as pg:
        _fill(pg, EXTRACTED)
        _check_extracted_mix(compute_stats(pg, price_in=0.5, price_out=2.0, det_cost=0.01))


def test_a_ledger_without_extraction_reports_none(store: Store) -> None:
    _fill(store)
    s = compute_stats(store, price_in=0.5, price_out=2.0)
    assert (s.extracted, s.extraction_tokens_in, s.extraction_tokens_out, s.extraction_calls_unpriced) == (0, 0, 0, 0)
    assert (s.extraction_cost, s.cost_per_extraction, s.extracted_families) == (0.0, 0.0, {})
    assert s.grammar_coverage == s.coverage == 7 / 11
    text = render_text(s)
    assert "extract" not in text


def test_extractions_without_usage_are_costed_at_the_mean_extraction(store: Store) -> None:
    _fill(store, [*EXTRACTED, _q("extracted", family="books", model="quiet", i=13)])
    s = compute_stats(store, price_in=0.5, price_out=2.0)
    assert s.extracted == 3 and s.extraction_calls_unpriced == 1
    assert s.cost_per_extraction == pytest.approx(0.065, rel=1e-12)
    assert s.extraction_cost == pytest.approx(0.13 + 0.065, rel=1e-12)
    assert s.cost_per_llm_call == pytest.approx(0.30, rel=1e-12)  # c_M is not diluted by the small calls
    assert s.families == {"books": 6, "weather": 4}
    assert "extractions without usage" in render_text(s) and "1 (costed at the mean priced extraction)" in render_text(s)


def test_cost_per_call_prices_extraction_calls_too(store: Store) -> None:
    _fill(store, EXTRACTED)
    s = compute_stats(store, price_in=0.5, price_out=2.0, cost_per_call=0.25)
    assert s.cost_per_extraction == 0.25
    assert s.extraction_cost == pytest.approx(0.50, rel=1e-12)
    assert s.llm_cost == pytest.approx(0.75, rel=1e-12)
    assert s.actual_cost == pytest.approx(1.25, rel=1e-12)
    assert s.standard_cost == pytest.approx(12 * 0.25, rel=1e-12)
    assert s.expected_cost_per_query == pytest.approx((2 * 0.25) / 13 + 4 / 13 * 0.25, rel=1e-12)


def test_a_ledger_of_extracted_answers_only(store: Store) -> None:
    """No full LLM call: c_M is 0 (nothing to average), so C_std is 0 and the savings are negative
    by exactly what the extractions cost — the report says what happened, it does not invent a c_M."""
    for rec in EXTRACTED:
        store.record_query(rec)
    s = compute_stats(store, price_in=0.5, price_out=2.0)
    assert (s.queries, s.extracted, s.llm_calls, s.coverage, s.grammar_coverage) == (2, 2, 0, 1.0, 0.0)
    assert s.cost_per_llm_call == 0.0 and s.standard_cost == 0.0
    assert s.actual_cost == pytest.approx(0.13, rel=1e-12)
    assert s.savings == pytest.approx(-0.13, rel=1e-12) and s.savings_share == 0.0
    assert s.expected_cost_per_query == pytest.approx(0.065, rel=1e-12)


def test_extracted_answers_in_the_text_report(store: Store) -> None:
    _fill(store, EXTRACTED)
    text = render_text(compute_stats(store, price_in=0.5, price_out=2.0, det_cost=0.01))
    lines = text.splitlines()
    assert lines[0].split() == ["queries", "13"]
    assert lines[1].split() == ["deterministic", "7"]
    assert lines[2].split() == ["extracted", "(small", "model", "call)", "2"]
    assert lines[3].split() == ["llm", "calls", "3"]
    assert "69.2% (grammar 53.8%, extracted 15.4%)" in text
    assert "600 / 300" in text and "extraction tokens in / out" in text and "100 / 40" in text
    assert any(line.split() == ["mean", "cost", "of", "an", "extraction", "call", "0.065"] for line in lines)
    assert any(line.split() == ["cost", "of", "extracted", "answers", "0.15"] for line in lines)
    assert any(line.split() == ["actual", "cost", "1.12"] for line in lines)
    assert any(line.split() == ["books", "5", "38.5%", "(1", "extracted)"] for line in lines)


def test_extracted_answers_in_the_json_report(store: Store) -> None:
    import json

    _fill(store, EXTRACTED)
    data = compute_stats(store, price_in=0.5, price_out=2.0).to_json()
    assert json.loads(json.dumps(data)) == data
    assert (data["extracted"], data["extracted_families"], data["extraction_tokens_in"]) == (
        2, {"books": 1, "weather": 1}, 100)
    assert data["extraction_cost"] == pytest.approx(0.13, rel=1e-12)
    assert data["llm_calls"] == 3 and data["deterministic"] == 7


def test_plot_with_extracted_answers(store: Store, tmp_path: Path) -> None:
    _fill(store, EXTRACTED)
    out = plot(store, tmp_path / "extracted.png", price_in=0.5, price_out=2.0)
    assert _png_size(out.read_bytes())[0] > 0


# ----------------------------------------------------------------------------------------
# Unanswered queries are not savings; the plot speaks in words with units
# ----------------------------------------------------------------------------------------


def _eight_answered_two_unanswered(store: Store) -> None:
    """The ledger of issue 18: 10 queries, 8 answered by a family, 2 errors (no model configured)."""
    for i in range(10):
        if i in (3, 7):
            store.record_query(_q("error", error={"code": "DDL707", "message": "no model"}, i=i))
        else:
            store.record_query(_q("deterministic", family="books", i=i))


def test_unanswered_queries_are_reported_beside_the_savings_not_counted_in_them(store: Store) -> None:
    _eight_answered_two_unanswered(store)
    s = compute_stats(store, price_in=0.0, price_out=0.0, cost_per_call=0.002)
    assert (s.queries, s.answered, s.unanswered, s.errors) == (10, 8, 2, 2)
    # the 8 answered queries would have cost 8 model calls; the 2 unanswered saved nothing
    assert s.standard_cost == pytest.approx(8 * 0.002, rel=1e-12)
    assert s.savings == pytest.approx(0.016, rel=1e-12) and s.savings_share == 1.0
    lines = render_text(s).splitlines()
    assert any(line.split() == ["savings", "on", "the", "answered", "queries", "0.016", "(100.0%)"] for line in lines)
    assert any(line.split() == ["cost", "had", "the", "model", "answered", "the", "8", "answered", "0.016"]
               for line in lines)
    assert any(line.split() == ["unanswered", "2", "of", "10", "(20.0%):", "no", "answer,", "so", "no", "savings"]
               for line in lines)
    assert any(line.split() == ["errors", "(no", "answer)", "2"] for line in lines)
    # without a price for a model answer the savings are unknown, not 0%
    unpriced = render_text(compute_stats(store, price_in=0.0, price_out=0.0)).splitlines()
    assert [line.split(None, 5)[-1] for line in unpriced if line.startswith("savings")] == [
        "unknown: no priced model answer to compare with (give --cost-per-call, or --price-in/--price-out)"]


def _texts(fig: object) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]  # type: ignore[attr-defined]


def test_the_plot_is_labelled_in_words_with_units(store: Store) -> None:
    from ddl.handler.stats import figure

    _fill(store, EXTRACTED)
    fig = figure(store, price_in=0.5, price_out=2.0)
    who, cost = fig.axes
    assert fig.get_suptitle() == ("13 queries: 9 answered by a family, 3 by the model, 1 unanswered\n"
                                  "savings 2.57 dollars (71.4%) on the 12 answered")  # 3.60 - 1.03
    assert who.get_ylabel() == "number of queries so far"
    assert cost.get_ylabel() == "cumulative cost in dollars"
    assert cost.get_xlabel() == "queries received, in ledger order"
    assert [t.get_text() for t in who.get_legend().get_texts()] == [
        "answered by a family (free)", "answered by a family after a small model call", "answered by the model",
        "unanswered (errors, no savings)"]
    assert [t.get_text() for t in cost.get_legend().get_texts()] == [
        "had the model answered every answered query", "actual cost (families and model)"]
    # the running counts end at the totals, and the two cost lines at C_std and the actual cost
    ends = {line.get_label(): line.get_ydata()[-1] for line in who.get_lines()}
    assert ends == {"answered by a family (free)": 7, "answered by a family after a small model call": 2,
                    "answered by the model": 3, "unanswered (errors, no savings)": 1}
    model_only, actual = (line.get_ydata()[-1] for line in cost.get_lines())
    assert model_only == pytest.approx(12 * 0.30) and actual == pytest.approx(0.90 + 0.13)
    for text in _texts(fig):
        assert not any(symbol in text for symbol in ("H_k", "c_M", "N·", "C_std", "E[C]")), text


def test_the_plot_of_the_issues_ledger_names_the_unanswered(store: Store, tmp_path: Path) -> None:
    from ddl.handler.stats import figure

    _eight_answered_two_unanswered(store)
    fig = figure(store, price_in=0.0, price_out=0.0, cost_per_call=0.002)
    assert fig.get_suptitle() == ("10 queries: 8 answered by a family, 0 by the model, 2 unanswered\n"
                                  "savings 0.016 dollars (100.0%) on the 8 answered")
    # without any price the savings are not invented
    unpriced = figure(store, price_in=0.0, price_out=0.0)
    assert unpriced.get_suptitle().splitlines()[1] == (
        "savings unknown: no priced model answer to compare with (give --cost-per-call, or --price-in/--price-out)")
    out = plot(store, tmp_path / "issue.png", price_in=0.0, price_out=0.0, cost_per_call=0.002)
    assert _png_size(out.read_bytes())[0] > 0


def test_without_prices_the_costs_are_unknown_not_zero(store: Store) -> None:
    _fill(store)
    lines = render_text(compute_stats(store, price_in=0.0, price_out=0.0)).splitlines()
    actual = next(line for line in lines if line.startswith("actual cost"))
    assert actual.split(None, 2)[2] == "unknown (no prices given)"
    assert not any(line.split()[-1] == "0" for line in lines if "cost" in line)
    priced = render_text(compute_stats(store, price_in=0.5, price_out=2.0))
    assert "unknown (no prices given)" not in priced
