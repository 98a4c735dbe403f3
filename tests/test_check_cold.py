"""A cold `ddl check` shares work and runs Θ compiled: the verdicts are the same as before (issue 17).

* The verifier's runs over Θ go to the compiled backend after a few interpreted ones
  (``ddl.verify.prove.COMPILE_AFTER``): every run (θ, outcome, branches taken), the steps charged to the
  family's budget and whether Θ was enumerated must be the interpreter's, on the shipped families and on
  the verifier's conformance suite (its failure cases fail at run time, loop, and exhaust budgets).
* Languages built from the same regex are shared between families (``ddl.regular.lang``), and so are the
  texts of small capture languages (``ddl.regular.tagged``) and a pattern's samples at one rng state
  (``ddl.verify.domains``): a file's report must not depend on what was checked before it in the process.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from ddl.api import check_file, compile_source
from ddl.eval import Evaluator, Ok
from ddl.eval.compile import compile_covered
from ddl.eval.ops import UNTIMED
from ddl.eval.theta import enum_value
from ddl.regular import lang as lang_module
from ddl.regular import tagged
from ddl.verify import domains, prove
from ddl.verify.family import CHECK_LIMITS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.ddl"))
CHECK_CASES = sorted((ROOT / "spec" / "tests" / "check").glob("*/*.ddl"))


def prover_state(module: Any, family: Any, monkeypatch: pytest.MonkeyPatch, compile_after: int) -> Any:
    """What the obligations read from a FamilyProver's runs over Θ, with runs compiled after ``compile_after``."""
    monkeypatch.setattr(prove, "COMPILE_AFTER", compile_after)
    p = prove.FamilyProver(module, family, Evaluator(module, budget=UNTIMED), limits=CHECK_LIMITS)
    return ([(r.theta, r.outcome, r.hits) for r in p.runs], p.steps_spent, p.over_budget, p.space.exhaustive,
            p._compiled is not None)


def assert_same_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Compiled and interpreted runs agree on every family of ``path``; the number of compiled runs."""
    module, diags = compile_source(path.read_bytes(), str(path))
    assert module is not None and not any(d.is_error for d in diags), path
    compiled_runs = 0
    for family in module.families.values():
        interpreted = prover_state(module, family, monkeypatch, 10**12)
        compiled = prover_state(module, family, monkeypatch, 0)
        assert not interpreted[-1]
        assert compiled[:-1] == interpreted[:-1], f"{path.name}: {family.name}"
        compiled_runs += len(compiled[0]) if compiled[-1] else 0
    return compiled_runs


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_compiled_runs_over_theta_are_the_interpreters_on_the_examples(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert assert_same_runs(path, monkeypatch) > 0


@pytest.mark.slow  # the verifier's conformance suite's Θ run twice (about 10 s of CPU)
def test_compiled_runs_over_theta_are_the_interpreters_on_the_check_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(CHECK_CASES) > 200
    assert sum(assert_same_runs(path, monkeypatch) for path in CHECK_CASES) > 0


def test_compiled_runs_record_branches_and_steps_without_leaving_the_fast_path() -> None:
    """A run the interpreter finishes with a value is the generated code's own (not the fallback's), and its
    branches and steps are the recording interpreter's; failing runs are the interpreter's."""
    source = b"""
enum Size { small, large = "large" | "big" }
fn grade(n: Int) -> Text = if n > 50 then "high" else if n > 10 then "mid" else "low"
family sized {
  "A size and an amount."
  param size : Size
  param n : Int in 0..100
  program -> Text = match size { small => grade(n), large => "${100 / (n - 7)}" }
}
"""
    module, diags = compile_source(source, "sized.ddl")
    assert module is not None and not any(d.is_error for d in diags), [d.render() for d in diags]
    hits: set[tuple[int, int]] = set()
    interpreter = Evaluator(module, budget=UNTIMED)
    interpreter.record_branches(lambda node, arm: hits.add((id(node), arm)))
    left: list[BaseException] = []
    run = compile_covered(module, "sized", budget=UNTIMED, on_fallback=left.append)
    size = module.families["sized"].params[0].type
    failures = 0
    seen: set[frozenset[tuple[int, int]]] = set()
    for variant in ("small", "large"):
        for n in range(0, 101):
            theta = {"size": enum_value(size, variant), "n": n}
            hits.clear()
            expected = interpreter.run("sized", theta)
            before = len(left)
            got = run(theta)
            assert got == (expected, interpreter.last_steps, frozenset(hits)), theta
            if isinstance(expected, Ok):
                assert len(left) == before, theta  # computed by the generated code
            else:
                failures += 1
            seen.add(got[2])
    assert failures == 1  # 100 / (7 - 7)
    assert len(seen) >= 4  # small×{high, mid, low} and large: the branches are really recorded


def test_a_files_report_does_not_depend_on_what_was_checked_before(tmp_path: Path) -> None:
    """Languages are shared between families and files in one process: checking the examples in one
    order, then in the other with the shared languages dropped in between, gives the same reports."""
    files = [p for p in EXAMPLES if p.name in ("books.ddl", "units.ddl", "weather.ddl", "email.ddl")]

    def reports(order: list[Path]) -> dict[str, Any]:
        out = {}
        for p in order:
            result = check_file(p, None, None)
            out[p.name] = ([f.report_json(timings=False) for f in result.families],
                           [f.diagnostic.render() for f in result.findings])
        return out

    forward = reports(files)
    lang_module.forget_shared_languages()
    backward = reports(files[::-1])
    assert forward == backward


def test_a_patterns_samples_drawn_again_are_the_fresh_draw_and_leave_the_rng_where_it_would() -> None:
    """Samples of a Text pattern are remembered per (pattern, length, rng state): a repeat gives the texts a
    fresh draw gives and moves the rng as the draw would; another rng state draws anew."""
    module, _ = compile_source(b'''
family f {
  "Two texts of one pattern."
  param a : Text(max 40, pattern [a-z]{1,8}(" " [a-z]{1,8}){0,3})
  param b : Text(max 40, pattern [a-z]{1,8}(" " [a-z]{1,8}){0,3})
  program -> Text = a ++ b
}
''', "f.ddl")
    assert module is not None
    t = module.families["f"].params[0].type

    def draw(seed: int, clear: bool) -> tuple[list[str], float]:
        if clear:
            domains._PATTERN_SAMPLES.clear()
        rng = random.Random(seed)
        return domains.text_samples(t, rng, CHECK_LIMITS, 16), rng.random()

    fresh = draw(1, clear=True)
    assert fresh == draw(1, clear=False)  # remembered: same texts, same rng state after
    assert len(fresh[0]) >= 10
    other = draw(2, clear=False)
    assert other == draw(2, clear=True) and other != fresh


def test_small_capture_texts_are_the_same_remembered_or_not() -> None:
    """The texts of a small capture language (an Int range's numerals) are remembered across families."""
    from ddl.regular import Lang
    from ddl.regular.parse import parse

    inner = parse("[0-9]|1[0-9]|2[0-3]")
    tagged._small_texts.cache_clear()
    lang_module.forget_shared_languages()
    fresh = tagged._small_texts(inner, CHECK_LIMITS)
    assert fresh is not None and sorted(fresh, key=int) == [str(n) for n in range(24)]
    assert tagged._small_texts(inner, CHECK_LIMITS) == fresh
    assert tagged._small_texts(parse("[0-9]+"), CHECK_LIMITS) is None  # infinite: compared by position
    assert Lang.from_regex(inner, limits=CHECK_LIMITS) == Lang.parse("[0-9]|1[0-9]|2[0-3]", limits=CHECK_LIMITS)


def test_full_collections_pause_while_checking_and_the_callers_thresholds_come_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checking families pauses full garbage collections (a third of a big file's time) and restores the
    caller's own thresholds afterwards, also when the check fails inside."""
    import gc

    from ddl.verify import family as family_module

    seen: list[tuple[int, int, int]] = []
    real = family_module.check_family

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.get_threshold())
        return real(*args, **kwargs)

    monkeypatch.setattr(family_module, "check_family", spy)
    saved = gc.get_threshold()
    gc.set_threshold(555, 7, 9)
    try:
        check_file(ROOT / "examples" / "weather.ddl", None, None)
        assert seen and all(t[:2] == (555, 7) and t[2] > 10**6 for t in seen)
        assert gc.get_threshold() == (555, 7, 9)

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

        monkeypatch.setattr(family_module, "check_family", broken)
        result = check_file(ROOT / "examples" / "weather.ddl", None, None)
        assert any(f.diagnostic.code == "DDL999" for f in result.findings)  # reported, not raised
        assert gc.get_threshold() == (555, 7, 9)
    finally:
        gc.set_threshold(*saved)


def test_small_languages_are_shared_and_big_ones_are_not_kept() -> None:
    """Lang.from_regex shares a small language between callers (the same object), and keeps no language
    above its state cap (a whole grammar's, built once: memory held for nothing)."""
    from ddl.regular import Lang
    from ddl.regular.parse import parse

    lang_module.forget_shared_languages()
    small = parse("[a-z]{1,3}( [a-z]{1,3}){0,2}")
    assert Lang.from_regex(small, limits=CHECK_LIMITS) is Lang.from_regex(small, limits=CHECK_LIMITS)
    big = parse("[a-z]{3000}")  # a chain of 3,001 states
    first = Lang.from_regex(big, limits=CHECK_LIMITS)
    assert first.num_states > lang_module._Shared.MAX_STATES
    again = Lang.from_regex(big, limits=CHECK_LIMITS)
    assert again is not first and again == first
