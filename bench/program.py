"""Benchmark: a compiled family called from Python against the same function written by hand.

Run:  .venv/bin/python bench/program.py [--thetas 1000] [--timed 200] [--rounds 5] [--families books,bill]

For each example family (books, bill, units, weather, dates) the bench draws --thetas random θ
from the family's Θ (a seeded sampler per family; every θ passes the family's own validation),
and checks before timing that on every one of them

* the public call ``ddl.load(path).family(name)(**θ)`` (arguments validated, the compiled
  program, the output as JSON data),
* the hand-written Python function below (arguments validated as carefully as a Python author
  would: types, ranges, names), and
* the interpreter (``validate_theta`` + ``Evaluator.run`` + ``to_json``)

give the same output.  It then times, on --timed of those θ, median over --rounds rounds, µs per
call:

* hand      — the hand-written function (the baseline),
* compiled  — the public family call,
* interp    — the same call path through the interpreter,
* prog/int  — the compiled program alone (``compile_family``) against ``Evaluator.run`` alone, on
              validated θ: the two backends, no validation, no JSON,

and prints compiled/hand (the goal: ≤ 3; also as the ratio of the two best rounds, the least
disturbed by other work on a loaded machine), interp/compiled and int/prog.  The rounds interleave
the five timings and each ratio is the median of its per-round ratios: absolute times depend on
the machine's load, the ratios are measured side by side in the same run.

Times are the process's CPU time by default (``--clock wall`` for elapsed time): on a shared
machine a round of a few milliseconds that loses the core for one scheduler slice doubles or
triples in elapsed time (dates' rounds were bimodal, 10 or 30 µs a call), which is no cost of the
code timed.  Each round starts after a ``gc.collect()``, so it pays for collecting its own garbage
and not for the round before it.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, ROOT)

import ddl  # noqa: E402
from ddl.eval import Evaluator, Ok, compile_family, validate_theta  # noqa: E402
from ddl.values import to_json  # noqa: E402

EXACT = Context(prec=80, rounding=ROUND_HALF_EVEN)
CENT = Decimal("0.01")

# ------------------------------------------------------------------ the hand-written functions


def _int(name: str, value: Any, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}")
    return value


def _decimal(name: str, value: Any, places: int, lo: Decimal, hi: Decimal) -> Decimal:
    d = Decimal(value) if isinstance(value, (int, str)) else value
    if type(d) is not Decimal or not d.is_finite() or d != d.quantize(Decimal(1).scaleb(-places)) or not lo <= d <= hi:
        raise ValueError(f"{name} must be a decimal in {lo}..{hi} with at most {places} places")
    return d.quantize(Decimal(1).scaleb(-places))


def _choice(name: str, value: Any, choices: dict[str, Any]) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}")
    return choices[value]


GENRE_SUBJECT = {"fantasy": "fantasy", "mystery": "mystery", "romance": "romance",
                 "science_fiction": "science_fiction"}


def books(genre: str, count: int = 5, decade: int = 2000) -> dict[str, Any]:
    subject = _choice("genre", genre, GENRE_SUBJECT)
    count = _int("count", count, 1, 20)
    decade = _int("decade", decade, 1900, 2020)
    if decade % 10:
        raise ValueError("decade must be a multiple of 10")
    return {
        "method": "GET",
        "url": f"https://openlibrary.org/subjects/{subject}.json",
        "query": {"limit": str(count), "published_in": f"{decade}-{decade + 9}"},
    }


def _money(x: Decimal) -> str:
    cents = int((abs(x) * 100).to_integral_value(rounding=ROUND_FLOOR))
    return f"{'-' if x < 0 else ''}${cents // 100:,}.{cents % 100:02d}"


def bill(total: Any, people: int, tip_percent: int = 15) -> dict[str, Any]:
    total = _decimal("total", total, 2, Decimal("0.01"), Decimal("100000.00"))
    people = _int("people", people, 1, 50)
    tip_percent = _int("tip_percent", tip_percent, 0, 40)
    tip = EXACT.divide(total * tip_percent, 100).quantize(CENT, rounding=ROUND_HALF_EVEN)
    grand = total + tip
    # DDL divides to the type's 8 places, then round(…, 2): two half-even roundings, as written.
    each = EXACT.divide(grand, people).quantize(Decimal("1e-8")).quantize(CENT, rounding=ROUND_HALF_EVEN)
    cents = int(grand * 100)
    base, extra = divmod(cents, people)
    shares = [format(Decimal(base + (1 if i <= extra else 0)).scaleb(-2), "f") for i in range(1, people + 1)]
    party = "1 person" if people == 1 else f"{people} people"
    return {
        "subtotal": format(total, "f"),
        "tip": format(tip, "f"),
        "grand_total": format(grand, "f"),
        "per_person": format(each, "f"),
        "shares": shares,
        "summary": f"{_money(grand)} including a {_money(tip)} tip ({tip_percent}%): {_money(each)} each "
                   f"for {party}",
    }


METRES = {"millimeter": Decimal("0.001"), "centimeter": Decimal("0.01"), "meter": Decimal(1),
          "kilometer": Decimal(1000), "inch": Decimal("0.0254"), "foot": Decimal("0.3048"),
          "yard": Decimal("0.9144"), "mile": Decimal("1609.344")}
SYMBOL = {"millimeter": "mm", "centimeter": "cm", "meter": "m", "kilometer": "km", "inch": "in", "foot": "ft",
          "yard": "yd", "mile": "mi"}


def units(amount: Any, from_unit: str, to_unit: str) -> dict[str, Any]:
    amount = _decimal("amount", amount, 2, Decimal("0.00"), Decimal("1000000.00"))
    a, b = _choice("from_unit", from_unit, METRES), _choice("to_unit", to_unit, METRES)
    # The quotient is typed Decimal(12), then rounded to 3 places: two half-even roundings.
    value = EXACT.divide(amount * a, b).quantize(Decimal("1e-12")).quantize(Decimal("0.001"))
    return {"value": format(value, "f"),
            "text": f"{format(amount, 'f')} {SYMBOL[from_unit]} = {format(value, 'f')} {SYMBOL[to_unit]}"}


COORDS = {"paris": ("48.8566", "2.3522"), "london": ("51.5074", "-0.1278"), "new_york": ("40.7128", "-74.0060"),
          "tokyo": ("35.6762", "139.6503"), "berlin": ("52.5200", "13.4050"), "sydney": ("-33.8688", "151.2093"),
          "cairo": ("30.0444", "31.2357"), "rio_de_janeiro": ("-22.9068", "-43.1729"),
          "toronto": ("43.6532", "-79.3832"), "mumbai": ("19.0760", "72.8777"),
          "san_francisco": ("37.7749", "-122.4194"), "reykjavik": ("64.1466", "-21.9426")}
UNIT_NAMES = {"metric": ("celsius", "kmh", "mm"), "imperial": ("fahrenheit", "mph", "inch")}


def weather(city: str, days: int = 1, units: str = "metric") -> dict[str, Any]:
    lat, lon = _choice("city", city, COORDS)
    days = _int("days", days, 1, 16)
    temperature, wind, rain = _choice("units", units, UNIT_NAMES)
    return {
        "method": "GET",
        "url": "https://api.open-meteo.com/v1/forecast",
        "query": {
            "latitude": lat, "longitude": lon, "current": "temperature_2m,wind_speed_10m",
            "daily": "temperature_2m_max,temperature_2m_min,precipitation_sum", "forecast_days": str(days),
            "timezone": "auto", "temperature_unit": temperature, "wind_speed_unit": wind,
            "precipitation_unit": rain,
        },
    }


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era, yoe = divmod(y, 400)
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _civil(z: int) -> tuple[int, int, int]:
    era, doe = divmod(z + 719468, 146097)
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = (mp + 2) % 12 + 1
    return yoe + era * 400 + (m <= 2), m, doy - (153 * mp + 2) // 5 + 1


def _month_length(y: int, m: int) -> int:
    if m == 2:
        return 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def dates(start: str, amount: int, step: str, direction: str = "after") -> dict[str, Any]:
    if type(start) is not str or len(start) != 10 or start[4] != "-" or start[7] != "-" or not (
            start[:4] + start[5:7] + start[8:]).isdigit():
        raise ValueError("start must be a date YYYY-MM-DD")
    y, m, d = int(start[:4]), int(start[5:7]), int(start[8:])
    if not (1 <= m <= 12 and 1 <= d <= _month_length(y, m)):
        raise ValueError("start must be a date that exists")
    amount = _int("amount", amount, 0, 1000)
    _choice("step", step, dict.fromkeys(("days", "weeks", "months", "years")))
    n = amount if _choice("direction", direction, {"after": 1, "before": -1}) == 1 else -amount
    first = _days_from_civil(y, m, d)
    if step in ("days", "weeks"):
        moved = first + (n if step == "days" else 7 * n)
    else:
        total = y * 12 + (m - 1) + (n if step == "months" else 12 * n)
        ny, nm = divmod(total, 12)
        moved = _days_from_civil(ny, nm + 1, min(d, _month_length(ny, nm + 1)))
    cy, cm, cd = _civil(moved)
    weekday = WEEKDAYS[(moved + 3) % 7]
    return {
        "iso": f"{cy:04d}-{cm:02d}-{cd:02d}" if cy >= 0 else f"-{-cy:04d}-{cm:02d}-{cd:02d}",
        "weekday": weekday,
        "long": f"{weekday.capitalize()}, {cd} {MONTHS[cm - 1]} {cy}",
        "offset_days": moved - first,
    }


# ------------------------------------------------------------------ Θ samplers (seeded)


def _cents(rng: random.Random, lo: int, hi: int) -> Decimal:
    return Decimal(rng.randint(lo, hi)).scaleb(-2)


def _date(rng: random.Random) -> str:
    y, m = rng.randint(0, 9999), rng.randint(1, 12)
    return f"{y:04d}-{m:02d}-{rng.randint(1, _month_length(y, m)):02d}"


def _maybe(rng: random.Random, args: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    if rng.random() < 0.8:  # sometimes leave a defaulted parameter out
        args[name] = value
    return args


SAMPLERS: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "books": lambda r: _maybe(r, _maybe(r, {"genre": r.choice(list(GENRE_SUBJECT))}, "count", r.randint(1, 20)),
                              "decade", r.randrange(1900, 2021, 10)),
    "bill": lambda r: _maybe(r, {"total": _cents(r, 1, 10_000_000), "people": r.randint(1, 50)}, "tip_percent",
                             r.randint(0, 40)),
    "units": lambda r: {"amount": _cents(r, 0, 100_000_000), "from_unit": r.choice(list(METRES)),
                        "to_unit": r.choice(list(METRES))},
    "weather": lambda r: _maybe(r, _maybe(r, {"city": r.choice(list(COORDS))}, "days", r.randint(1, 16)), "units",
                                r.choice(list(UNIT_NAMES))),
    "dates": lambda r: _maybe(r, {"start": _date(r), "amount": r.randint(0, 1000),
                                  "step": r.choice(["days", "weeks", "months", "years"])}, "direction",
                              r.choice(["after", "before"])),
}

FAMILIES: dict[str, tuple[str, str, Callable[..., Any]]] = {
    "books": ("examples/books.ddl", "recommend_books", books),
    "bill": ("examples/bill.ddl", "split_bill", bill),
    "units": ("examples/units.ddl", "convert_length", units),
    "weather": ("examples/weather.ddl", "weather_request", weather),
    "dates": ("examples/dates.ddl", "shift_date", dates),
}

# ------------------------------------------------------------------ the run


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCKS["cpu"]


def _per_call(fn: Callable[[], None], calls: int, rounds: int) -> float:
    """Median over rounds of µs per call (fn makes ``calls`` calls)."""
    times = []
    for _ in range(rounds):
        # Garbage left by the timing before (the interpreter makes much) is collected now, not inside
        # this one; the collector stays on, so this timing pays for collecting its own garbage.
        gc.collect()
        t0 = clock()
        fn()
        times.append((clock() - t0) / calls * 1e6)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--thetas", type=int, default=1000, help="random θ verified per family (default 1000)")
    parser.add_argument("--timed", type=int, default=200, help="θ timed per round (default 200)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds; medians are printed (default 7)")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated subset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock", choices=CLOCKS, default="cpu",
                        help="cpu: the process's CPU time (default; a loaded machine's waits for a core are not the "
                             "code's), wall: elapsed time")
    args = parser.parse_args()
    global clock
    clock = CLOCKS[args.clock]

    print(f"{'family':8} {'hand µs':>8} {'compiled µs':>11} {'interp µs':>9} {'compiled/hand':>13} {'(best/best)':>10} "
          f"{'interp/compiled':>15} {'prog µs':>8} {'int µs':>8} {'int/prog':>8}")
    failed = False
    for key in args.families.split(","):
        path, name, hand = FAMILIES[key]
        program = ddl.load(os.path.join(ROOT, path))
        family = program.family(name)
        checked = program.checked.families[name]
        evaluator = Evaluator(program.checked)
        compiled = compile_family(program.checked, name)
        rng = random.Random(f"{args.seed}-{key}")
        thetas = [SAMPLERS[key](rng) for _ in range(args.thetas)]

        def interpreted(kwargs: dict[str, Any], checked: Any = checked, evaluator: Evaluator = evaluator,
                        name: str = name) -> Any:
            theta, problems = validate_theta(checked, evaluator, kwargs)
            if theta is None:
                raise ValueError(problems)
            outcome = evaluator.run(name, theta)
            assert isinstance(outcome, Ok), outcome
            return to_json(outcome.value)

        wrong = 0
        for kwargs in thetas:
            want = hand(**kwargs)
            got, slow = family(**kwargs), interpreted(kwargs)
            if not (got == want == slow):
                wrong += 1
                if wrong <= 3:
                    print(f"  {key}: θ {kwargs}\n    hand     {want}\n    compiled {got}\n    interp   {slow}")
        if wrong:
            print(f"{key}: {wrong} of {len(thetas)} θ disagree; not timed")
            failed = True
            continue

        timed = thetas[: args.timed]
        validated = [family.theta(**kw) for kw in timed]
        n = len(timed)

        def run_hand(timed: list[dict[str, Any]] = timed, hand: Callable[..., Any] = hand) -> None:
            for kw in timed:
                hand(**kw)

        def run_compiled(timed: list[dict[str, Any]] = timed, family: Any = family) -> None:
            for kw in timed:
                family(**kw)

        def run_interp(timed: list[dict[str, Any]] = timed, interpreted: Any = interpreted) -> None:
            for kw in timed:
                interpreted(kw)

        def run_prog(validated: list[Any] = validated, compiled: Any = compiled) -> None:
            for theta in validated:
                compiled(theta)

        def run_int(validated: list[Any] = validated, evaluator: Evaluator = evaluator, name: str = name) -> None:
            for theta in validated:
                evaluator.run(name, theta)

        runs = {"hand": run_hand, "compiled": run_compiled, "interp": run_interp, "prog": run_prog, "int": run_int}
        for warm in runs.values():
            warm()
        # Rounds interleave the five (each timed right after the others), so a burst of load from
        # other work hits them alike; ratios are taken per round, then the median.
        us: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.rounds):
            for label, fn in runs.items():
                us[label].append(_per_call(fn, n, 1))
        med = {k: statistics.median(v) for k, v in us.items()}

        def ratio(a: str, b: str, us: dict[str, list[float]] = us) -> float:
            return statistics.median(x / y for x, y in zip(us[a], us[b]))

        least = min(us["compiled"]) / min(us["hand"])
        print(f"{key:8} {med['hand']:8.2f} {med['compiled']:11.2f} {med['interp']:9.2f} "
              f"{ratio('compiled', 'hand'):13.2f} {least:10.2f} {ratio('interp', 'compiled'):15.2f} "
              f"{med['prog']:8.2f} {med['int']:8.2f} {ratio('int', 'prog'):8.2f}")
    load = os.getloadavg()
    print(f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores; "
          f"{args.thetas} θ verified per family, {args.timed} timed, median of {args.rounds} rounds, {args.clock} time)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
