"""Structure first (spec/checks.md, "How the verifier decides"): what follows from the program's structure
is proved whatever Θ's size — records, map literals, enum arms and table lookups by symbolic evaluation,
Int and Decimal arithmetic by z3 (a sat model replayed before it is reported), numeral patterns by their
language."""

from __future__ import annotations

import random
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest

from ddl.api import check_source, compile_source
from ddl.eval import Evaluator, Ok
from ddl.verify.intervals import numeral_range
from ddl.verify.prove import FamilyProver
from ddl.verify.smt import _Enc, param_terms


def obligations(src: str) -> dict[tuple[str, str], tuple[str, str, str | None]]:
    result = check_source(src, "t.ddl")
    (family,) = result.families
    return {(o.kind, o.subject): (o.verdict, o.evidence, o.code) for o in family.obligations}


RECORD = """
family search {
  "Search."

  enum Sort { relevance, newest, oldest }

  type Request = { method: Text, query: Map[Text, Text], limit: Int, sort: Sort, tag: Text }

  table sort_key : Sort -> Text { relevance => "score", newest => "date_desc", oldest => "date_asc" }

  param q : Text(max 40)
  param limit : Int in 1..100000
  param sort : Sort = relevance

  program -> Request =
    Request {
      method = "GET",
      query = { "q": q, "order": sort_key[sort] },
      limit = limit,
      sort = sort,
      tag = match sort { relevance => "R", newest => "N", oldest => "O" },
    }

  ensures "constant field" result.method == "GET"
  ensures "map entry" get(result.query, "q") == some(q)
  ensures "map index" result.query["q"] == q
  ensures "absent key" get(result.query, "page") == none
  ensures "copied fields" result.limit == limit and result.sort == sort
  ensures "enum arms" len(result.tag) == 1
  ensures "wrong" result.query["q"] == "x"

  example { q = "cats", limit = 5 }
    => Request { method = "GET", query = { "q": "cats", "order": "score" }, limit = 5, sort = relevance, tag = "R" }
}
"""


def test_record_fields_and_map_entries_are_proved_by_construction_over_a_large_theta() -> None:
    got = obligations(RECORD)
    for label in ("constant field", "map entry", "map index", "absent key", "copied fields", "enum arms"):
        verdict, evidence, _ = got[("ensures", label)]
        assert verdict == "proved", (label, evidence)
        assert "symbolically" in evidence
    verdict, evidence, code = got[("ensures", "wrong")]
    assert (verdict, code) == ("refuted", "DDL605")  # a false one is still refuted by a run
    assert 'q = "' in evidence


DIVISION = """
family unit_price {
  "Unit price."

  param total : Decimal(2) in 0.00..100000.00
  param weight : Decimal(2) in 0.00..1000.00

  program -> Decimal(8) = total / (weight - 12.50)

  example { total = 10.00, weight = 20.00 } => 1.33333333
}
"""


def test_a_decimal_divisor_zero_at_an_interior_point_is_refuted_with_that_point() -> None:
    ((_, subject), (verdict, evidence, code)), = [(k, v) for k, v in obligations(DIVISION).items() if k[0] == "safe"]
    assert (verdict, code) == ("refuted", "DDL600")
    # z3's model, simplified towards the example (total kept) and replayed through the evaluator.
    assert evidence == "with { total = 10.00, weight = 12.50 }: division by zero (found by z3)"


FEE = """
family fee {
  "Fee."

  type Fee = { fee: Decimal(2), total: Decimal(2) }

  param amount : Decimal(2) in 0.00..100000.00
  param items : Int in 1..100000

  program -> Fee =
    let fee = if amount >= 100.00 then round(amount * 0.02, 2) else 4.99;
    Fee { fee = fee, total = amount + fee + items * 0.10 }

  ensures "at least" result.total >= amount + 0.10
  ensures "flat below 100" result.fee == 4.99 or amount >= 100.00
  ensures "never 20" result.fee != 20.00

  example { amount = 10.00, items = 1 } => Fee { fee = 4.99, total = 15.09 }
}
"""


def test_decimal_ensures_are_proved_or_refuted_at_the_breaking_point_by_z3() -> None:
    got = obligations(FEE)
    for label in ("at least", "flat below 100"):
        verdict, evidence, _ = got[("ensures", label)]
        assert verdict == "proved" and "z3" in evidence, (label, evidence)
    verdict, evidence, code = got[("ensures", "never 20")]
    assert (verdict, code) == ("refuted", "DDL605")
    # 999.75 * 0.02 = 19.995, rounded half-even to 20.00: the rounding is encoded as the evaluator does it
    assert evidence.startswith("with { amount = 999.75, items = 1 } the output is Fee { fee = 20.00")


def port(pattern: str, hi: int) -> str:
    return f"""
family probe {{
  "Probe."

  param code : Text(max 6, pattern {pattern})

  program -> Int in 1..{hi} = parse_int(code) ?? 1

  ensures "parses" parse_int(code) != none

  example {{ code = "80" }} => 80
}}
"""


def test_a_numeral_pattern_makes_parse_int_and_its_narrowing_safe() -> None:
    got = obligations(port("[1-9] [0-9]{0,3}", 9999))
    ((verdict, evidence, _),) = [v for k, v in got.items() if k[0] == "safe"]
    assert verdict == "proved" and "1..9999" in evidence
    assert got[("ensures", "parses")][0] == "proved"


def test_a_pattern_with_numerals_beyond_the_range_is_refuted_by_samples() -> None:
    got = obligations(port("[1-9] [0-9]{0,4}", 9999))
    ((verdict, evidence, code),) = [v for k, v in got.items() if k[0] == "safe"]
    assert (verdict, code) == ("refuted", "DDL600")
    assert "is outside Int in 1..9999" in evidence


def test_a_pattern_that_admits_non_digits_is_not_taken_for_numerals() -> None:
    got = obligations(port("[0-9a-f]{1,3}", 4095))
    assert got[("ensures", "parses")][0] == "refuted"  # "a" does not parse


def range_of(pattern_source: str) -> tuple[Fraction | None, Fraction | None] | None:
    module, _ = compile_source(f'family f {{ "f" param t : Text(pattern {pattern_source}) program -> Text = t }}', "p")
    assert module is not None
    (family,) = module.families.values()
    (param,) = family.params
    return numeral_range(param.type.pattern)  # type: ignore[attr-defined]


def test_numeral_range_is_the_patterns_least_and_greatest_numeral() -> None:
    assert range_of("[1-9] [0-9]{0,3}") == (1, 9999)
    assert range_of('("+" | "-")? [0-9]{1,2}') == (-99, 99)
    assert range_of('"0" [0-7]{2}') == (0, 77)
    assert range_of("[0-9]+ [a-z]") is None


DIV_BY_PARAM = """
family per_item {
  "Per item."

  param total : Int in 0..100
  param n : Int in 0..10

  program -> Int = total / n

  ensures "small" result <= 100

  example { total = 10, n = 2 } => 5
}
"""


def test_a_proof_that_a_run_contradicts_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The runs refute whatever a prover says (spec/checks.md, "Structure first"): a prover that claims
    # the division safe although a run divides by zero is a verifier bug, reported as DDL607.
    monkeypatch.setattr(FamilyProver, "_safe_by_type", lambda self, site: "a bogus proof")
    ((verdict, evidence, code),) = [v for k, v in obligations(DIV_BY_PARAM).items() if k[0] == "safe"]
    assert (verdict, code) == ("unknown", "DDL607")
    assert 'a prover claimed "a bogus proof" but the run with { total = 0, n = 0 } contradicts it' in evidence


def test_without_a_contradicting_prover_the_same_division_is_refuted() -> None:
    ((verdict, evidence, code),) = [v for k, v in obligations(DIV_BY_PARAM).items() if k[0] == "safe"]
    assert (verdict, code) == ("refuted", "DDL600")
    assert "n = 0" in evidence


SINGLE_TEXT = """
family shout {
  "Shout."

  param word : Text(max 12, pattern [a-z]{1,12})

  program -> Text = upper(word) ++ "!"

  ensures "short" len(result) <= 13

  example { word = "hey" } => "HEY!"
}
"""


def test_a_single_text_parameter_is_sampled_far_more_than_eight_times() -> None:
    verdict, evidence, code = obligations(SINGLE_TEXT)[("ensures", "short")]
    assert (verdict, code) == ("unknown", "DDL606")  # len of an upper-cased text is not decided symbolically
    tried = int(evidence.split("(")[1].split(" tried")[0])
    assert tried >= 60, evidence


IN_A_FUNCTION = """
fn per_kg(total: Decimal(2), weight: Decimal(2)) -> Decimal(8) = total / (weight - 12.50)

family unit_price_fn {
  "Unit price."

  param total : Decimal(2) in 0.00..100000.00
  param weight : Decimal(2) in 0.00..1000.00

  program -> Decimal(8) = per_kg(total, weight)

  example { total = 10.00, weight = 20.00 } => 1.33333333
}
"""


def test_a_failing_division_inside_a_function_is_refuted_through_the_programs_call() -> None:
    ((verdict, evidence, code),) = [v for k, v in obligations(IN_A_FUNCTION).items() if k[0] == "safe"]
    assert (verdict, code) == ("refuted", "DDL600")
    assert evidence == "with { total = 10.00, weight = 12.50 }: division by zero (found by z3)"


def test_a_pattern_that_admits_non_digits_leaves_the_narrowing_refuted_by_samples() -> None:
    src = port("[0-9a-f]{1,3}", 4095).replace("parse_int(code) ?? 1", "parse_int(code) ?? 0")
    ((verdict, evidence, code),) = [v for k, v in obligations(src).items() if k[0] == "safe"]
    assert (verdict, code) == ("refuted", "DDL600")
    assert "value 0 is outside Int in 1..4095" in evidence  # a sampled code with a letter does not parse


STEPS = """
family steps {
  "Steps."

  type Plan = { steps: List[Text], count: Int }

  param n : Int in 1..50
  param start : Int in 0..100000
  param label : Text(max 10)

  program -> Plan = Plan { steps = ["${label} ${i}" for i in start..start + n - 1], count = n }

  ensures "one step each" len(result.steps) == n and len(result.steps) == result.count

  example { n = 2, start = 0, label = "s" } => Plan { steps = ["s 0", "s 1"], count = 2 }
}
"""


def test_a_comprehension_over_an_opaque_range_has_a_known_length() -> None:
    verdict, evidence, _ = obligations(STEPS)[("ensures", "one step each")]
    assert verdict == "proved" and "symbolically" in evidence


SPLIT = """
family split {
  "Split."

  param amount : Decimal(2) in 1.00..100000.00
  param people : Int in 2..50

  program -> Decimal(2) = round(amount / people, 2)

  ensures "within a cent each" result * people - amount <= 0.01 * people
  ensures "never 1234.57" result != 1234.57

  example { amount = 120.00, people = 4 } => 30.00
}
"""


def test_a_division_by_a_parameter_with_few_values_is_decided_by_one_linear_query_per_value() -> None:
    got = obligations(SPLIT)
    verdict, evidence, _ = got[("ensures", "within a cent each")]
    assert verdict == "proved", evidence
    assert evidence.endswith("one linear query for each of people's 49 values)")
    verdict, evidence, code = got[("ensures", "never 1234.57")]
    # z3's model of the part people = 2, replayed: 2469.14 / 2 is 1234.57
    assert (verdict, code) == ("refuted", "DDL605"), evidence
    assert evidence.endswith("the output is 1234.57 (found by z3)")


NET = """
family net {
  "Net."

  param gross : Decimal(2) in 0.01..100000.00
  param vat : Decimal(2) in 0.00..30.00

  program -> Decimal(2) = round(gross / (1 + vat / 100), 2)

  ensures "at most the gross" result <= gross
  ensures "below the gross" result < gross

  example { gross = 119.00, vat = 19.00 } => 100.00
}
"""

GUARDED = """
family ratio {
  "Ratio."

  param a : Decimal(2) in 1.00..1000.00
  param b : Decimal(2) in -5.00..5.00

  program -> Decimal(2) = if b == 0.00 then 0.00 else round(a / b, 2)

  ensures "never zero" result != 0.00

  example { a = 1.00, b = 1.00 } => 1.00
}
"""


def test_a_division_by_a_decimal_expression_is_decided_by_z3s_nonlinear_arithmetic() -> None:
    got = obligations(NET)
    verdict, evidence, _ = got[("ensures", "at most the gross")]
    assert verdict == "proved", evidence
    assert "a division by a variable in z3's nonlinear arithmetic" in evidence
    assert got[("ensures", "below the gross")][0] == "refuted"  # vat = 0.00: the net is the gross
    # Where the divisor is 0 the quotient is left free, never assumed away: b = 0.00 gives 0.00.
    verdict, evidence, code = obligations(GUARDED)[("ensures", "never zero")]
    assert (verdict, code) == ("refuted", "DDL605"), evidence
    assert "b = 0.00" in evidence


@pytest.mark.parametrize(("left", "sa", "right", "sb", "rounding"), [
    ("Int in -100000..100000", 0, "Decimal(2) in -60.00..60.00", 2, None),
    ("Decimal(2) in -1000.00..1000.00", 2, "Int in -60..60", 0, 2),
    ("Decimal(3) in -1000.000..1000.000", 3, "Decimal(12) in -60.000000000000..60.000000000000", 12, None),
    ("Decimal(8) in -1000.00000000..1000.00000000", 8, "Decimal(1) in -60.0..60.0", 1, 0),
])
def test_z3s_quotient_of_a_division_by_a_variable_is_the_evaluators(left: str, sa: int, right: str, sb: int,
                                                                      rounding: int | None) -> None:
    """Differential: for random a and b (every third a tie), the one quotient z3's encoding admits is the
    evaluator's, digit for digit (scale min(18, max(sa, sb) + 6), rounded half-even once; then round)."""
    z3 = pytest.importorskip("z3")
    scale = min(18, max(sa, sb) + 6) if rounding is None else rounding
    body = "a / b" if rounding is None else f"round(a / b, {rounding})"
    src = f'family f {{\n  "F."\n  param a : {left}\n  param b : {right}\n  program -> Decimal({scale}) = {body}\n}}\n'
    module, diags = compile_source(src, "f.ddl")
    assert module is not None, diags
    family = module.families["f"]
    evaluator = Evaluator(module)
    exact = min(18, max(sa, sb) + 6)
    rng = random.Random(16)
    for i in range(12):
        if i % 3 == 0:  # a tie: a odd, b = 2^(e+1) makes the quotient end in a 5 just past its last digit
            e = exact + sb - sa
            ub = rng.choice([1, -1]) * (2 ** (e + 1) if 2 ** (e + 1) <= 60 * 10**sb else 2)
            ua = rng.randrange(-999, 1000, 2)
        else:
            ub = rng.choice([-1, 1]) * rng.randint(1, 60 * 10**sb)
            ua = rng.randint(-1000 * 10**sa, 1000 * 10**sa)
        a = ua if "Int" in left else Decimal(ua).scaleb(-sa)
        b = ub if "Int" in right else Decimal(ub).scaleb(-sb)
        out = evaluator.run("f", {"a": a, "b": b})
        assert isinstance(out, Ok)
        with localcontext() as ctx:
            ctx.prec = 60
            want = int(Decimal(out.value).scaleb(scale))
        enc = _Enc(z3, module, inline=True)
        env: dict[str, object] = {}
        param_terms(enc, family, env)
        quotient = enc.enc(family.program, env)
        assert enc.divisions  # the divisor is a variable: the nonlinear encoding
        solver = z3.Solver()
        solver.add(*enc.side, env["P:a"] == ua, env["P:b"] == ub)
        assert solver.check() == z3.sat
        assert solver.model().eval(quotient).as_long() == want, (a, b, out.value)
        solver.add(quotient != want)
        assert solver.check() == z3.unsat, (a, b)  # and no other quotient


MINUTE = """
family cron {
  "A cron line."

  param minute : Text(max 3, pattern [0-9]{1,3})
  param script : Text(max 40)

  program -> Text =
    let m: Int in 0..59 = parse_int(minute) ?? 0;
    "${m} * * * * ${script}"

  ensures "a cron line" ends_with(result, script)

  example { minute = "5", script = "/opt/backup.sh" } => "5 * * * * /opt/backup.sh"
}
"""


def test_a_sampled_counterexample_keeps_the_example_values_of_what_the_failure_does_not_need() -> None:
    # Samples of a free Text are long random words; the refutation shows the script of the example, so the
    # θ a reader sees is short, exact and replays (`ddl run --param ...`).
    verdict, evidence, code = next(v for (kind, _), v in obligations(MINUTE).items() if kind == "safe")
    assert (verdict, code) == ("refuted", "DDL600"), evidence
    assert 'script = "/opt/backup.sh" }' in evidence and "…" not in evidence, evidence


KUBECTL = r"""
family k {
  "Kubectl."

  type Cmd = { argv: List[Text, max 8], line: Text }

  param deployment : Text(max 30, pattern [a-z] [a-z0-9\-]*)
  param namespace : Text(max 30, pattern [a-z] [a-z0-9\-]*)
  param replicas : Int in 0..50

  program -> Cmd =
    let argv = ["kubectl", "scale", "deployment/${deployment}", "--replicas=${replicas}", "-n", namespace];
    Cmd { argv = argv, line = join(argv, " ") }

  ensures "line starts with kubectl" starts_with(result.line, "kubectl scale ")
  ensures "joined" result.line == join(result.argv, " ")
  ensures "first is kubectl" get(result.argv, 0) == some("kubectl")
  ensures "names the namespace" contains(result.line, " -n " ++ namespace)
  ensures "six words" len(result.argv) == 6
  ensures "namespace last" result.argv[5] == namespace

  example { deployment = "web", namespace = "payments", replicas = 3 }
    => Cmd { argv = ["kubectl", "scale", "deployment/web", "--replicas=3", "-n", "payments"], line = "kubectl scale deployment/web --replicas=3 -n payments" }
}
"""


def test_a_list_literal_is_read_item_by_item_joined_and_indexed() -> None:
    # `join` of a list literal of texts is its items with the separator between; `get` of a constant index
    # is the item or none — so these hold by construction over a Θ of free names.
    got = obligations(KUBECTL)
    for label in ("line starts with kubectl", "joined", "first is kubectl", "names the namespace", "six words",
                  "namespace last"):
        verdict, evidence, _ = got[("ensures", label)]
        assert verdict == "proved", (label, evidence)
    wrong = KUBECTL.replace('get(result.argv, 0) == some("kubectl")', 'get(result.argv, 6) == some("kubectl")')
    assert obligations(wrong)[("ensures", "first is kubectl")][0] == "refuted"
