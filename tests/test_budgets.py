"""Resource budgets (spec/semantics.md §12, spec/checks.md `budget`): size and time per evaluation,
enforced identically by both backends, and what `ddl check` says about a family that exceeds them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddl.api import check_source, compile_source
from ddl.eval import Budget, Err, Evaluator, Ok, compile_family
from ddl.types.checked import CheckedModule

# The attack of issue 15: a million-character text split 14 times passed `ddl check` (57 s, 1.25 GB)
# and cost 1.25 GB per query — each split well within the step budget.
SPLITS = " + ".join(f'len(split(big, "{c}"))' for c in "abcdefghijklmn".replace("a", ""))
SPLIT_BOMB = f"""family split_bomb {{
  param t : Text(max 20)

  grammar {{
    "split " t
  }}

  program -> Int =
    let big = pad_left(t, 1000000, "x");
    len(split(big, "")) + {SPLITS}
}}
"""


def _module(source: str, path: str = "budget.ddl") -> CheckedModule:
    module, diags = compile_source(source, path)
    assert module is not None, diags
    return module


def _both(module: CheckedModule, family: str, theta: dict[str, object], budget: Budget) -> list[object]:
    """The outcome of the interpreter and of the closure compiler."""
    return [Evaluator(module, budget=budget).run(family, theta), compile_family(module, family, budget=budget)(theta)]


def test_an_oversized_value_fails_fast_with_ddl317_in_both_backends() -> None:
    module = _module(SPLIT_BOMB)
    interp, compiled = _both(module, "split_bomb", {"t": "ab"}, Budget())
    assert interp == compiled
    assert isinstance(interp, Err)
    failure = interp.failure
    # The first split fails, at its own position, naming the operation, the size, the limit and the way out.
    assert (failure.code, failure.span.line, failure.span.col) == ("DDL317", 10, 9)
    assert "split(…) built a List of 1000000 elements, over the limit of 100000 elements" in failure.message
    assert "Budget(max_items=N)" in failure.message


def test_a_smaller_size_budget_is_honoured_the_same_way_by_both_backends() -> None:
    module = _module('family f {\n  param n : Int in 0..50\n  program -> Text = join([show(i) for i in 1..n], "")\n}\n')
    tiny = Budget(max_items=10, max_text=12)
    assert _both(module, "f", {"n": 9}, tiny) == [Ok("123456789")] * 2
    lists = _both(module, "f", {"n": 10}, tiny)  # "12345678910": 11 code points, within max_text
    assert lists == [Ok("12345678910")] * 2
    over_text = _both(module, "f", {"n": 11}, Budget(max_items=100, max_text=12))
    assert over_text[0] == over_text[1] and isinstance(over_text[0], Err)
    assert over_text[0].failure.code == "DDL317" and "join(…) built a Text of 13 code points" in over_text[0].failure.message
    over_list = _both(module, "f", {"n": 11}, tiny)
    assert over_list[0] == over_list[1] and isinstance(over_list[0], Err)
    assert over_list[0].failure.code == "DDL317" and "a range built a List of 11 elements" in over_list[0].failure.message


def test_a_run_past_its_time_budget_fails_with_ddl318_in_both_backends() -> None:
    # 40,000+ steps: past the first look at the clock (every 10,000 steps), with no time allowed.
    module = _module("family f {\n  program -> Int = sum([i * 2 for i in 0..10000])\n}\n")
    for outcome in _both(module, "f", {}, Budget(seconds=0.0)):
        assert isinstance(outcome, Err), outcome
        assert outcome.failure.code == "DDL318"
        assert "ran longer than 0 s" in outcome.failure.message and "Budget(seconds=S)" in outcome.failure.message
    # Without the clock (what `ddl check` uses) the same run succeeds: time never decides a verdict.
    assert _both(module, "f", {}, Budget(seconds=None)) == [Ok(100010000)] * 2


def test_ddl_check_refutes_a_family_that_builds_an_oversized_value() -> None:
    # No example runs the bomb: the verifier's own runs find it and stop at the first oversized value.
    result = check_source(SPLIT_BOMB, "split_bomb.ddl")
    refuted = [o for fam in result.families for o in fam.obligations if o.verdict == "refuted"]
    assert [(o.kind, o.subject, o.code) for o in refuted] == [("budget", "size", "DDL611")]
    diag = refuted[0].diagnostic("split_bomb")
    assert diag is not None
    text = diag.render()
    assert "split_bomb.ddl:10:9: DDL611: split_bomb: budget(size) refuted: with { t = " in text
    assert "over the limit of 100000 elements per value" in text and "ddl.eval.Budget" in text


def test_ddl_run_of_an_oversized_value_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bomb.ddl"
    path.write_text(SPLIT_BOMB, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run([sys.executable, "-m", "ddl", "run", str(path), "--param", 't="ab"'],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1, proc
    assert "bomb.ddl:10:9: DDL317: value too large: split(…) built a List of 1000000 elements" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("steps", [1, 3])
def test_the_older_step_budget_argument_still_sets_the_steps(steps: int) -> None:
    module = _module("family f {\n  program -> Int = 1 + 2\n}\n")
    expected = Ok(3) if steps >= 3 else None
    interp = Evaluator(module, steps).run("f", {})
    compiled = compile_family(module, "f", steps)({})
    assert interp == compiled
    if expected is not None:
        assert interp == expected
    else:
        assert isinstance(interp, Err) and interp.failure.code == "DDL305"


# ---------------------------------------------------------------------------- the check's budget per family

SLOW_SUM = """family slow_sum {
  param n : Int in 1..2000

  grammar {
    "sum to " n
  }

  program -> Int = sum([i * n for i in 1..50])

  ensures "positive" result > 0

  example "sum to 2" => { n = 2 } => 2550
  example "sum to 3" => { n = 3 } => 3825
}
"""


def _verdicts(limits: object | None = None) -> dict[str, object]:
    from ddl.verify.grammar import check_limits

    result = check_source(SLOW_SUM, "slow_sum.ddl", limits if limits is not None else check_limits())
    return {o.title: o for fam in result.families for o in fam.obligations}


def test_theta_is_enumerated_when_it_fits_the_check_budget() -> None:
    obligations = _verdicts()
    assert obligations["ensures(positive)"].verdict == "proved"  # type: ignore[attr-defined]
    assert "all 2000 θ in Θ" in obligations["ensures(positive)"].evidence  # type: ignore[attr-defined]


def test_theta_too_costly_for_the_check_budget_is_sampled_and_unknown_names_the_budget() -> None:
    from ddl.verify.grammar import check_limits

    ensures = _verdicts(check_limits(family_steps=1000))["ensures(positive)"]
    assert ensures.verdict == "unknown" and ensures.code == "DDL610"  # type: ignore[attr-defined]
    evidence = ensures.evidence  # type: ignore[attr-defined]
    assert "enumerating all 2,000 θ in Θ would take about" in evidence
    assert "over the check's budget of 1,000 steps per family, so Θ was sampled" in evidence
    assert "--family-steps N" in ensures.hint  # type: ignore[attr-defined]


def _ddl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.pop("DDL_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "ddl", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


def test_the_check_budget_comes_from_the_command_line_or_ddl_toml(tmp_path: Path) -> None:
    (tmp_path / "slow.ddl").write_text(SLOW_SUM, encoding="utf-8")
    assert _ddl("check", "--no-cache", "slow.ddl", cwd=tmp_path).returncode == 0
    flag = _ddl("check", "--no-cache", "--family-steps", "1000", "slow.ddl", cwd=tmp_path)
    assert flag.returncode == 1
    assert "slow.ddl:10:3: DDL610: slow_sum: ensures(positive) unknown:" in flag.stdout + flag.stderr
    (tmp_path / "ddl.toml").write_text("[check]\nfamily_steps = 1000\n", encoding="utf-8")
    toml = _ddl("check", "--no-cache", "slow.ddl", cwd=tmp_path)
    assert toml.returncode == 1 and "DDL610" in toml.stdout + toml.stderr
    # The flag wins over the file.
    assert _ddl("check", "--no-cache", "--family-steps", "30000000", "slow.ddl", cwd=tmp_path).returncode == 0
    bad = _ddl("check", "--no-cache", "--family-steps", "0", "slow.ddl", cwd=tmp_path)
    assert bad.returncode == 2 and "--family-steps must be an integer from 1 to" in bad.stderr
