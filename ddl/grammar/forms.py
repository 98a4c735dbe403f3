"""Value forms: the ways people write a parameter's values, each an exact regular language.

A capture ``count`` accepts the canonical numerals of count's domain; ``number(count)`` also
accepts "1,200", "twelve" and "a dozen"; ``date(start)`` accepts "Dec 20 2026" for the ISO
text "2026-12-20".  Every form is a :class:`Form`:

* ``regex`` — the texts it accepts, built *from the parameter's domain* (a number word for a
  value outside the range is simply not in the language);
* ``convert`` — text → the canonical text of the value (the type's parser reads that);
* ``image`` — the canonical texts the form converts to, computed separately from ``convert``
  by the algebra (a homomorphism for thousands separators, a right quotient of the domain for
  dates, the literal set for finite forms).  ``grammar-sound`` checks ``image ⊆ domain``: the
  form can never produce a value outside Θ, decided, not assumed;
* ``spell`` — a text of this form for a value (rendering, φ(θ));
* ``spellings`` — every text of this form for a value, when the form is a finite table or one
  text per value (Int forms): the ambiguity search compares small Int captures by value through it.

Forms are case-insensitive ("Twelve", "DEC") whatever the grammar's options: month names and
number words carry no meaning in their case.

Number words cover 0 to 1,000 in full ("seven hundred and twelve"), round thousands ("five
thousand"), "a"/"an" for 1, "a dozen", "half a dozen" and "N dozen" up to twelve dozen: people
write larger numbers in digits.  Two-digit decades ("80s", "eighties") need the family to say
which century they mean: ``decade(x, 1900)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import cached_property, lru_cache

import attrs

from ddl.grammar.numerals import decimal_range, int_range, natural_range
from ddl.regular import EMPTY, CharSet, Lang, Regex, alt, case_key, lit, seq
from ddl.regular import ignore_case as fold_case

Spell = Callable[[object], "str | None"]


@attrs.frozen(eq=False, slots=False)
class Form:
    """One way of writing values (see the module docstring)."""

    name: str
    regex: Regex
    image: Regex
    convert: Callable[[str], str]
    spell: Spell
    finite: bool = False
    table: tuple[tuple[str, str], ...] | None = None  # a finite form's texts and their canonical texts
    # The form's texts whose canonical text is in a given language (None: only through ``table``).
    inverse: Callable[[Lang], Lang] | None = None

    def spellings(self, value: object) -> list[str]:
        """Every text of this form that converts to ``value`` (as written, before case folding)."""
        if self.table is not None:
            return [text for text, canonical in self.table if canonical == str(value)]
        text = self.spell(value)
        return [text] if text is not None else []

    def preimage(self, canonical: Lang) -> Lang | None:
        """The texts of this form that convert into ``canonical`` (e.g. the number words of the
        allowed values); None when the form cannot say (the caller then cannot restrict it)."""
        if self.table is not None:
            return Lang.literals([text for text, value in self.table if canonical.contains(value)], fold_case=True)
        if self.inverse is not None:
            return self.lang & self.inverse(canonical)
        return None

    @cached_property
    def lang(self) -> Lang:
        """The accepted texts as an automaton (to tell which form a captured text is in)."""
        return Lang.from_regex(self.regex)


def _identity(text: str) -> str:
    return text


def identity_form(name: str, regex: Regex, spell: Spell) -> Form:
    """A form whose texts are canonical (the digits of a numeral, a Text's own strings)."""
    return Form(name, regex, regex, _identity, spell, inverse=lambda allowed: allowed)


# ------------------------------------------------------------------ number words

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
WORDS_FULL_TO = 1000  # every value up to this has words; above, only round thousands
_DOZENS = {"a dozen": 12, "one dozen": 12, "half a dozen": 6, **{f"{_UNITS[k]} dozen": 12 * k for k in range(2, 13)}}


def _below_hundred(n: int) -> list[str]:
    if n < 20:
        return [_UNITS[n]]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return [_TENS[tens]]
    return [f"{_TENS[tens]}-{_UNITS[unit]}", f"{_TENS[tens]} {_UNITS[unit]}"]


def _below_thousand(n: int) -> list[str]:
    if n < 100:
        return _below_hundred(n)
    hundreds, rest = divmod(n, 100)
    heads = [f"{_UNITS[hundreds]} hundred"] + (["a hundred"] if hundreds == 1 else [])
    if rest == 0:
        return heads
    return [f"{h}{sep}{r}" for h in heads for sep in (" and ", " ") for r in _below_hundred(rest)]


def number_words(n: int) -> list[str]:
    """Every spelling of n in words (canonical first); empty when n has none (see the module docstring)."""
    out: list[str] = []
    if 0 <= n <= WORDS_FULL_TO:
        if n == 1000:
            out = ["one thousand", "a thousand"]
        else:
            out = _below_thousand(n)
        if n == 1:
            out += ["a", "an"]
    elif 1000 < n < 1_000_000 and n % 1000 == 0:
        out = [f"{w} thousand" for w in _below_thousand(n // 1000)]
    out += [w for w, v in _DOZENS.items() if v == n]
    return out


#: The words numbers are spelled with ("six", "twenty-one", "hundred", "dozen"), but the articles and
#: "and" that other text says too.  A learner that finds one read as a free-text value drops them all.
NUMBER_WORDS = (frozenset(w for n in range(100) for spelling in number_words(n) for w in spelling.split())
                | {"hundred", "thousand", "dozen", "half"}) - {"a", "an", "and"}


def _word_values(values: Iterable[int]) -> dict[str, int]:
    table: dict[str, int] = {}
    for v in values:
        for w in number_words(v):
            table.setdefault(w, v)
    return table


class _FoldedTable:
    """A finite form's conversion: its table looked up case- and space-insensitively (a class, not a closure,
    so that a family's hit kit, ``CompiledGrammar.hit_kit``, can be saved with it)."""

    __slots__ = ("folded",)

    def __init__(self, folded: dict[str, str]) -> None:
        self.folded = folded

    def __call__(self, text: str) -> str:
        return self.folded[case_key(" ".join(text.split()))]

    def __getstate__(self) -> tuple[dict[str, str]]:
        return (self.folded,)

    def __setstate__(self, state: tuple[dict[str, str]]) -> None:
        self.folded = state[0]


def _finite_form(name: str, table: dict[str, str], spell: Spell) -> Form:
    """A form that is a finite table text → canonical text (looked up case-insensitively)."""
    if not table:
        return Form(name, EMPTY, EMPTY, _identity, spell, finite=True)
    lang = Lang.literals(table, fold_case=True)
    regex = lang.ref()
    convert = _FoldedTable({case_key(k): v for k, v in table.items()})
    return Form(name, regex, alt(*(lit(v) for v in sorted(set(table.values())))), convert, spell, finite=True,
                table=tuple(sorted(table.items())))


# ------------------------------------------------------------------ domains


@attrs.frozen
class IntDomain:
    """The values of an Int parameter: a range, or (a folded ``where``) an explicit finite set."""

    lo: int | None
    hi: int | None
    values: tuple[int, ...] | None = None

    def contains(self, v: int) -> bool:
        if self.values is not None:
            return v in self.values
        return (self.lo is None or v >= self.lo) and (self.hi is None or v <= self.hi)

    def candidates(self, pool: Iterable[int]) -> list[int]:
        return [v for v in pool if self.contains(v)]

    def canonical(self) -> Regex:
        if self.values is not None:
            return alt(*(lit(str(v)) for v in self.values)) if self.values else EMPTY
        return int_range(self.lo, self.hi)


def _word_pool(dom: IntDomain) -> list[int]:
    if dom.values is not None:
        return list(dom.values)
    lo = 0 if dom.lo is None else max(dom.lo, 0)
    hi = 999_000 if dom.hi is None else min(dom.hi, 999_000)
    pool = list(range(lo, min(hi, WORDS_FULL_TO) + 1))
    pool += [k * 1000 for k in range(2, 1000) if lo <= k * 1000 <= hi]
    pool += [v for v in _DOZENS.values() if lo <= v <= hi and v > WORDS_FULL_TO]
    return pool


@lru_cache(maxsize=256)
def int_words(dom: IntDomain) -> Form:
    table = {w: str(v) for w, v in _word_values(dom.candidates(_word_pool(dom))).items()}

    def spell(v: object) -> str | None:
        words = number_words(v) if isinstance(v, int) and not isinstance(v, bool) else []
        return words[0] if words and dom.contains(v) else None  # type: ignore[arg-type]

    return _finite_form("words", table, spell)


_COMMA = CharSet.char(",")


@lru_cache(maxsize=2)
def _grouped_format(decimals: bool) -> Lang:
    """Numerals with thousands separators ("1,234", with ``decimals`` "1,234.5"); built on first use, not when the
    module loads: a cached ``ddl handle`` builds no form (about 1 ms of its start)."""
    return Lang.parse("-?[1-9][0-9]{0,2}(,[0-9]{3})+" + ("(\\.[0-9]+)?" if decimals else ""))


def _strip_commas(text: str) -> str:
    return text.replace(",", "")


def group_thousands(text: str) -> str:
    """ "1234567.5" → "1,234,567.5" """
    sign = "-" if text.startswith("-") else ""
    body = text[len(sign):]
    whole, dot, frac = body.partition(".")
    groups = []
    while len(whole) > 3:
        groups.append(whole[-3:])
        whole = whole[:-3]
    return sign + ",".join([whole, *reversed(groups)]) + dot + frac


def _grouped(canonical: Lang, fmt: Lang, exact_spell: Spell) -> Form:
    """Thousands separators: the inverse image of the canonical numerals under erasing commas,
    cut to the grouped format; its image is computed back by erasing them (a homomorphism)."""
    lang = canonical.ignoring(_COMMA) & fmt
    image = lang.erase(_COMMA)
    return Form("grouped", lang.ref(), image.ref(), _strip_commas, exact_spell,
                inverse=lambda allowed: allowed.ignoring(_COMMA))


@lru_cache(maxsize=256)
def int_grouped(dom: IntDomain) -> Form:
    canonical = Lang.from_regex(dom.canonical())

    def spell(v: object) -> str | None:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1000 and dom.contains(v):
            return group_thousands(str(v))
        return None

    return _grouped(canonical, _grouped_format(False), spell)


@lru_cache(maxsize=256)
def int_padded(dom: IntDomain, width: int) -> Form:
    parts: list[Regex] = []
    images: list[Regex] = []
    top = 10**width - 1
    for digits in range(1, width + 1):
        lo, hi = (0 if digits == 1 else 10 ** (digits - 1)), 10**digits - 1
        if dom.values is not None:
            vals = [v for v in dom.values if lo <= v <= hi]
            core = alt(*(lit(str(v)) for v in vals)) if vals else EMPTY
        else:
            a = lo if dom.lo is None else max(lo, dom.lo)
            b = min(hi, top) if dom.hi is None else min(hi, dom.hi)
            core = natural_range(a, b) if a <= b else EMPTY
        if core == EMPTY:
            continue
        parts.append(seq(lit("0" * (width - digits)), core))
        images.append(core)

    def spell(v: object) -> str | None:
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= top and dom.contains(v):
            return str(v).zfill(width)
        return None

    return Form(f"padded{width}", alt(*parts), alt(*images), _unpadded, spell,
                inverse=lambda allowed: Lang.parse("0*") + allowed)


# ------------------------------------------------------------------ decades

_DECADE_WORDS = {20: "twenties", 30: "thirties", 40: "forties", 50: "fifties", 60: "sixties", 70: "seventies",
                 80: "eighties", 90: "nineties"}
MAX_DECADES = 10_000


@lru_cache(maxsize=256)
def int_decade(dom: IntDomain, century: int | None) -> Form:
    if dom.values is not None:
        values = [v for v in dom.values if v % 10 == 0]
    else:
        lo = dom.lo if dom.lo is not None else 0
        hi = dom.hi if dom.hi is not None else 9990
        first = lo + (-lo) % 10
        values = list(range(first, hi + 1, 10))[:MAX_DECADES]
    table: dict[str, str] = {}
    for v in values:
        if v < 0:
            continue
        for text in (f"{v}s", f"{v}'s", f"{v}\u2019s"):
            table[text] = str(v)
        if century is not None and century <= v < century + 100:
            yy = v - century
            for text in (f"{yy:02d}s", f"'{yy:02d}s", f"\u2019{yy:02d}s", f"{yy:02d}'s"):
                table[text] = str(v)
            if yy in _DECADE_WORDS:
                table[_DECADE_WORDS[yy]] = str(v)

    def spell(v: object) -> str | None:
        return f"{v}s" if isinstance(v, int) and not isinstance(v, bool) and str(v) in table.values() else None

    return _finite_form("decade", table, spell)


# ------------------------------------------------------------------ decimals


@attrs.frozen
class DecDomain:
    scale: int
    lo: Decimal | None
    hi: Decimal | None

    def canonical(self) -> Regex:
        return decimal_range(self.scale, self.lo, self.hi)

    def contains(self, v: Decimal) -> bool:
        return (self.lo is None or v >= self.lo) and (self.hi is None or v <= self.hi)


@lru_cache(maxsize=256)
def dec_grouped(dom: DecDomain) -> Form:
    canonical = Lang.from_regex(dom.canonical())

    def spell(v: object) -> str | None:
        if isinstance(v, Decimal) and abs(v) >= 1000 and dom.contains(v):
            return group_thousands(format(v, "f"))
        return None

    return _grouped(canonical, _grouped_format(True), spell)


@lru_cache(maxsize=256)
def dec_words(dom: DecDomain) -> Form:
    lo = None if dom.lo is None else int(dom.lo.to_integral_value(rounding="ROUND_CEILING"))
    hi = None if dom.hi is None else int(dom.hi.to_integral_value(rounding="ROUND_FLOOR"))
    words = int_words(IntDomain(lo, hi))

    def spell(v: object) -> str | None:
        if isinstance(v, Decimal) and v == v.to_integral_value():
            return words.spell(int(v))
        return None

    return Form("words", words.regex, words.image, words.convert, spell, finite=True, table=words.table)


# ------------------------------------------------------------------ dates

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]


def _month_names(m: int) -> list[str]:
    full = MONTHS[m - 1]
    names = [full.capitalize()]
    if len(full) > 3:
        names += [full[:3].capitalize(), full[:3].capitalize() + "."]
    if m == 9:
        names += ["Sept", "Sept."]
    return names


def _ordinal(d: int) -> str:
    if 10 <= d % 100 <= 20:
        return f"{d}th"
    return f"{d}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th') }"


def _day_texts(d: int) -> list[str]:
    return [str(d), _ordinal(d)] + ([f"0{d}"] if d < 10 else [])


_MONTH_OF = {case_key(n.rstrip(".")): m for m in range(1, 13) for n in _month_names(m)}
_DATE_TOKEN = re.compile(r"(\d{4})|(\d{1,2})(?:st|nd|rd|th)?|([^\W\d_]+)\.?", re.IGNORECASE)


def _date_parts(text: str) -> tuple[int | None, int, int]:
    """(year or None, month, day) of a month-name date (the language guarantees the shape)."""
    year = None
    month = day = 0
    for m in _DATE_TOKEN.finditer(text):
        if m.group(1):
            year = int(m.group(1))
        elif m.group(2):
            day = int(m.group(2))
        elif m.group(3):
            word = case_key(m.group(3))
            if word in _MONTH_OF:
                month = _MONTH_OF[word]
    return year, month, day


def _day_groups(domain: Lang, key_of: Callable[[int, int], Lang]) -> dict[int, list[tuple[list[int], Lang]]]:
    """Per month, the days grouped by the language ``key_of(month, day)`` (equal languages together)."""
    out: dict[int, list[tuple[list[int], Lang]]] = {}
    for m in range(1, 13):
        groups: dict[Lang, list[int]] = {}
        for d in range(1, 32):
            lang = key_of(m, d)
            if not lang.is_empty():
                groups.setdefault(lang, []).append(d)
        out[m] = [(days, lang) for lang, days in groups.items()]
    return out


def _spellings(m: int, days: list[int], year: Regex | None) -> tuple[Regex, Regex]:
    """(month day [year] texts, day month [year] texts) for month m and these days."""
    month = alt(*(lit(n) for n in _month_names(m)))
    day = alt(*(lit(t) for d in days for t in _day_texts(d)))
    if year is None:
        return seq(month, lit(" "), day), seq(day, alt(lit(" "), lit(" of ")), month)
    tail = seq(alt(lit(" "), lit(", ")), year)
    return (seq(month, lit(" "), day, tail),
            seq(day, alt(lit(" "), lit(" of ")), month, alt(lit(" "), lit(", ")), year))


# The forms' conversions are module functions or _FoldedTable, never closures: a hit kit saves them.
def _unpadded(text: str) -> str:
    return text.lstrip("0") or "0"


def _iso_date(text: str) -> str:
    y, m, d = _date_parts(text)
    return f"{y:04d}-{m:02d}-{d:02d}"


def _iso_month_day(text: str) -> str:
    _, m, d = _date_parts(text)
    return f"{m:02d}-{d:02d}"


@lru_cache(maxsize=64)
def text_date(domain: Lang) -> Form:
    """Month-name dates whose ISO text ("YYYY-MM-DD") is in ``domain`` (plus nothing else)."""
    years = Lang.parse("[0-9]{4}")
    groups = _day_groups(domain, lambda m, d: domain.right_quotient(f"-{m:02d}-{d:02d}") & years)
    texts: list[Regex] = []
    images: list[Regex] = []
    for m, entries in groups.items():
        for days, ylang in entries:
            md, dm = _spellings(m, days, ylang.ref())
            texts += [md, dm]
            images.append(seq(ylang.ref(), lit(f"-{m:02d}-"), alt(*(lit(f"{d:02d}") for d in days))))

    def spell(v: object) -> str | None:
        if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) and domain.contains(v):
            y, m, d = int(v[:4]), int(v[5:7]), int(v[8:])
            if 1 <= m <= 12:
                return f"{MONTHS[m - 1].capitalize()} {d}, {y}"
        return None

    lang = Lang.from_regex(fold_case(alt(*texts)))
    return Form("date", lang.ref(), alt(*images), _iso_date, spell)


@lru_cache(maxsize=64)
def text_month_day(domain: Lang) -> Form:
    """Month-name days ("Dec 20", "20th of December") whose "MM-DD" text is in ``domain``."""
    empty_or_all = Lang.epsilon()
    groups = _day_groups(domain, lambda m, d: empty_or_all if domain.contains(f"{m:02d}-{d:02d}") else Lang.empty())
    texts: list[Regex] = []
    images: list[Regex] = []
    for m, entries in groups.items():
        for days, _ in entries:
            md, dm = _spellings(m, days, None)
            texts += [md, dm]
            images.append(seq(lit(f"{m:02d}-"), alt(*(lit(f"{d:02d}") for d in days))))

    def spell(v: object) -> str | None:
        if isinstance(v, str) and re.fullmatch(r"\d{2}-\d{2}", v) and domain.contains(v):
            m, d = int(v[:2]), int(v[3:])
            if 1 <= m <= 12:
                return f"{MONTHS[m - 1].capitalize()} {d}"
        return None

    lang = Lang.from_regex(fold_case(alt(*texts)))
    return Form("month_day", lang.ref(), alt(*images), _iso_month_day, spell)
