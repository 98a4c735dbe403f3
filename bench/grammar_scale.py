"""Grammar obligations at real sizes: the new engine against the limits of the old one, same run.

Run:  .venv/bin/python bench/grammar_scale.py [--only NAME]

Each grammar below is a family (DDL source, generated) of the size real families need. For each,
in a fresh process (so the peak memory is its own):

* ours — ``ddl check``'s grammar obligations as shipped (default limit, ``max_states`` 200,000):
  the time to build the grammar (parse, type-check, expand, compile), each obligation's time and
  verdict, and the process's peak RSS;
* baseline — the engine before issue 12, same process, same grammar: the whole grammar as one
  minimal DFA (how nonempty, covers and sound were decided) and the two-parse search on the NFA
  (``find_ambiguity_nfa``, how unambiguous was decided), both with that engine's default limit of
  50,000 states. "limit" means that engine gave up (DDL506 / DDL508 unknown).

The grammars:

* enum5000x2 — an enum of 5,000 values captured twice ("pair X with Y");
* cities200x2 — five sentence forms over two 200-city enums, with hh:mm times (padded minutes)
  and am/pm;
* freetext200 — one free-text capture of up to 200 characters between literal anchors;
* twotext40 — ``Text(max 40, pattern [a-z ]+)`` captured twice (ambiguous: must be refuted
  with a witness);
* anyorder5 — an any_order group of five parts with number words, money and percent forms;
* hostile — a Text pattern whose automaton is exponential (`[ab]* "a" [ab]{20}`: the 21st
  letter from the end is an "a"): the obligations that need it are unknown (DDL506) with the
  construct that grew and the count reached; every other obligation is still decided.

Then the overlap search between families: the ten bundled examples' registry (``ddl handle
examples``), against the algebra's way (each family's whole language as a minimal DFA, then a
product per pair), in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SYLLABLES = ["ka", "lo", "mi", "ra", "te", "so", "na", "vu", "pe", "di", "zo", "gu", "ba", "fi", "he"]


def _words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(out)


def enum5000x2() -> str:
    words = _words(5000, 1)
    return f'''family pair_words {{
  "Pair two words."
  enum Word {{ {", ".join(words)} }}
  param a : Word
  param b : Word
  grammar ignore_case normalize_space {{ "pair " a " with " b }}
  program -> Text = "${{a}}+${{b}}"
  example "pair {words[0]} with {words[1]}" => {{ a = {words[0]}, b = {words[1]} }} => "{words[0]}+{words[1]}"
}}
'''


def cities200x2() -> str:
    cities = _words(200, 2)
    return f'''family flights {{
  "Find flights between two cities at a time of day."
  enum City {{ {", ".join(cities)} }}
  enum Half {{ am, pm }}
  param origin : City
  param dest : City
  param hour : Int in 1..12
  param minute : Int in 0..59 = 0
  param half : Half
  grammar ignore_case normalize_space {{
    rule time = hour (":" padded(minute, 2))? " " half;
    "flights from " origin " to " dest " at " time
    | "fly " origin " to " dest " at " time
    | "flight to " dest " from " origin " at " time
    | "at " time " fly from " origin " to " dest
    | "book " origin " " dest " " time
  }}
  program -> Text = "${{origin}}-${{dest}} ${{hour}}:${{minute}} ${{half}}"
  example "fly {cities[0]} to {cities[1]} at 9:05 am"
    => {{ origin = {cities[0]}, dest = {cities[1]}, hour = 9, minute = 5, half = am }}
    => "{cities[0]}-{cities[1]} 9:5 am"
}}
'''


def freetext200() -> str:
    return '''family note {
  "Save a note under a title."
  param title : Text(max 200, pattern [^"]+)
  grammar normalize_space { "save a note titled \\"" title "\\" please" }
  program -> Text = "note: ${title}"
  example "save a note titled \\"groceries for sunday\\" please" => { title = "groceries for sunday" }
    => "note: groceries for sunday"
}
'''


def twotext40() -> str:
    return '''family join_texts {
  "Join two texts."
  param a : Text(max 40, pattern [a-z ]+)
  param b : Text(max 40, pattern [a-z ]+)
  grammar { "join " a " and " b }
  program -> Text = "${a}|${b}"
  example "join x and y" => { a = "x", b = "y" } => "x|y"
}
'''


def anyorder5() -> str:
    return '''import phrasing

family order_pizza {
  "Order pizzas."
  enum Size { small, medium, large }
  enum Crust { thin, thick, stuffed }
  param count : Int in 1..20
  param size : Size = medium
  param crust : Crust = thin
  param budget : Decimal(2) in 1.00..1000.00 = 50.00
  param tip : Int in 0..40 = 10
  grammar ignore_case normalize_space {
    phrasing::polite("order " any_order(
      number(count) " pizzas",
      (size " size")?,
      (crust " crust")?,
      ("under " phrasing::money(grouped(budget)))?,
      (phrasing::percent(number(tip)) " tip")?,
      sep = " " | ", " | " and "))
  }
  program -> Text = "${count} ${size} ${crust} ${budget} ${tip}"
  example "order 2 pizzas large size" => { count = 2, size = large } => "2 large thin 50.00 10"
}
'''


def hostile() -> str:
    return '''family hostile {
  "A pattern no automaton can hold."
  param w : Text(max 60, pattern [ab]* "a" [ab]{20})
  param n : Int in 1..9
  grammar { "take " w " " n }
  program -> Text = "${w}${n}"
}
'''


GRAMMARS = {"enum5000x2": enum5000x2, "cities200x2": cities200x2, "freetext200": freetext200,
            "twotext40": twotext40, "anyorder5": anyorder5, "hostile": hostile}


def measure_overlaps() -> dict[str, object]:
    """The overlap search over the bundled examples, and the algebra's pairwise products."""
    import ddl
    from ddl.grammar.compile import CompiledGrammar
    from ddl.grammar.router import RoutedFamily, Router
    from ddl.regular import Limits
    from ddl.regular.errors import RegularError

    programs = [ddl.load(p) for p in sorted((ROOT / "examples").glob("*.ddl"))]
    specs = [RoutedFamily(name, prog.checked.families[name], prog.evaluator) for prog in programs
             for name in prog.families]
    out: dict[str, object] = {"families": len(specs)}
    t0 = time.perf_counter()
    router = Router.build(specs)
    out["build"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    found = router.overlaps()
    out["search"] = time.perf_counter() - t1
    out["overlaps"] = len(found)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Baseline: every family's language as one minimal DFA (the largest limit the old engine could
    # be given without running out of memory), then a product per pair.
    t2 = time.perf_counter()
    limits = Limits(max_dfa_states=1_000_000)
    langs = []
    try:
        for e in router.entries:
            langs.append(CompiledGrammar(e.family, e.evaluator, limits=limits).lang)
        pairs = [(a, b) for i, a in enumerate(langs) for b in langs[i + 1:]]
        overlapping = sum(1 for a, b in pairs if not a.disjoint(b)[0])
        out["baseline"] = f"{overlapping} overlaps"
    except RegularError as err:
        out["baseline"] = f"limit ({err})"
    out["baseline_s"] = time.perf_counter() - t2
    out["rss_total_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def measure(name: str) -> dict[str, object]:
    """One grammar, in this process: ours, then the baseline."""
    import tempfile

    from ddl.api import compile_source
    from ddl.eval import Evaluator
    from ddl.grammar.compile import CompiledGrammar
    from ddl.regular import Lang, Limits, find_ambiguity_nfa
    from ddl.regular.errors import RegularError
    from ddl.verify.config import CheckSettings
    from ddl.verify.grammar import check_grammar

    source = GRAMMARS[name]()
    out: dict[str, object] = {"name": name}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.ddl"
        path.write_text(source, encoding="utf-8")
        t0 = time.perf_counter()
        checked, diags = compile_source(source, str(path))
        assert checked is not None, [d.message for d in diags]
        (family,) = checked.families.values()
        evaluator = Evaluator(checked)
        limits = CheckSettings().limits()
        grammar = CompiledGrammar(family, evaluator, limits=limits)
        out["build"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        obligations = check_grammar(family, evaluator, limits=limits)
        out["check"] = time.perf_counter() - t1
        by_kind: dict[str, list[tuple[str, float]]] = {}
        for o in obligations:
            key = o.kind if o.kind != "examples" else "examples"
            if o.kind == "grammar-covers" and o.subject == "together":
                key = "together"
            by_kind.setdefault(key, []).append((o.verdict, o.seconds))
        out["obligations"] = {k: (sorted({v for v, _ in vs}), max(s for _, s in vs)) for k, vs in by_kind.items()}
        out["unknown"] = [f"{o.kind}({o.subject}): {o.evidence}" for o in obligations if o.verdict == "unknown"]
        evidence = [o.evidence for o in obligations if o.kind == "unambiguous"]
        out["unambiguous_evidence"] = evidence[0] if evidence else ""
        out["rss_ours_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # The baseline: the old engine's decisions, with its default limit.
        old = Limits(max_dfa_states=50_000)
        t2 = time.perf_counter()
        try:
            states = Lang.from_regex(grammar.regex, limits=old).num_states
            out["old_dfa"] = f"{states:,} states"
        except RegularError:
            out["old_dfa"] = "limit"
        out["old_dfa_s"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        try:
            found = find_ambiguity_nfa(grammar.regex, limits=old)
            out["old_amb"] = "refuted" if found else "proved"
        except (RegularError, ValueError):
            out["old_amb"] = "limit"
        out["old_amb_s"] = time.perf_counter() - t3
        out["rss_total_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=list(GRAMMARS), help="measure one grammar")
    ap.add_argument("--one", choices=[*GRAMMARS, "overlaps"], help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(measure_overlaps() if args.one == "overlaps" else measure(args.one)))
        return 0
    names = [args.only] if args.only else list(GRAMMARS)
    rows = []
    for name in names:
        done = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{name}: failed\n{done.stderr}", file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    kinds = ["grammar-nonempty", "grammar-covers", "together", "grammar-sound", "unambiguous", "examples"]
    short = {"grammar-nonempty": "nonempty", "grammar-covers": "covers", "together": "together",
             "grammar-sound": "sound", "unambiguous": "unambiguous", "examples": "examples"}
    print("ours: ddl check's grammar obligations (max_states 200,000); seconds, verdict")
    head = f"{'grammar':12} {'build s':>8} " + " ".join(f"{short[k]:>16}" for k in kinds) + f" {'peak MB':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        cells = []
        obligations = r["obligations"]
        assert isinstance(obligations, dict)
        for k in kinds:
            if k not in obligations:
                cells.append(f"{'-':>16}")
                continue
            verdicts, seconds = obligations[k]
            cells.append(f"{seconds:7.2f} {'/'.join(verdicts):>8}")
        print(f"{r['name']:12} {r['build']:8.2f} " + " ".join(cells) + f" {r['rss_ours_mb']:8.0f}")
    print()
    print("baseline: the engine before issue 12 on the same grammar (its default limit, 50,000 states)")
    head2 = f"{'grammar':12} {'whole-grammar DFA':>20} {'s':>6} {'NFA ambiguity':>14} {'s':>6}   ours vs baseline"
    print(head2)
    print("-" * len(head2))
    for r in rows:
        ours = r["obligations"]["unambiguous"][0]  # type: ignore[index]
        print(f"{r['name']:12} {r['old_dfa']:>20} {r['old_dfa_s']:6.2f} {r['old_amb']:>14} {r['old_amb_s']:6.2f}"
              f"   unambiguous {'/'.join(ours)} (baseline: {r['old_amb']})")
    print()
    for r in rows:
        if r["unambiguous_evidence"] and "refuted" in r["obligations"]["unambiguous"][0]:  # type: ignore[index]
            print(f"{r['name']}: {r['unambiguous_evidence']}")
    for r in rows:
        for reason in r.get("unknown", []):  # type: ignore[attr-defined]
            print(f"{r['name']}: unknown: {reason}")
    if args.only:
        return 0
    done = subprocess.run([sys.executable, __file__, "--one", "overlaps"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"overlaps: failed\n{done.stderr}", file=sys.stderr)
        return 1
    o = json.loads(done.stdout.strip().splitlines()[-1])
    print()
    print(f"overlap search over the {o['families']} bundled example families (ddl handle examples)")
    print(f"  ours:     build {o['build']:.2f} s, search {o['search']:.2f} s, {o['overlaps']} overlaps, "
          f"peak {o['rss_mb']:.0f} MB")
    print(f"  baseline: whole-language minimal DFAs + a product per pair: {o['baseline_s']:.2f} s, "
          f"{o['baseline']}, peak {o['rss_total_mb']:.0f} MB")
    print(f"  ratio:    baseline / ours = {o['baseline_s'] / (o['build'] + o['search']):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
