"""Synthetic but realistic intent families for the routing benchmark (bench/route.py) and tests.

    >>> import random
    >>> from synth_families import make_families, miss, module_sources
    >>> fams = make_families(1000, seed=1)
    >>> fams[0].name, fams[0].sample(random.Random(0))
    ('log_restorative_stretching', ('log 431 minutes of restorative stretching on tmrw', {'day': 'tomorrow', 'amount': 431}))
    >>> fams[0].near_miss(random.Random(0)), miss(random.Random(0))
    ('log 524 mins of restorative stretching on someday', 'is a hedgehog a   mammal')
    >>> len(module_sources(fams))  # DDL module texts of at most 400 kB each
    2

Each :class:`SynthFamily` is one DDL family (``source``: its text) of an intent-style grammar
with 1–3 typed captures (``Int in a..b``, some with a ``where``; family-scoped enums with
aliases; ``Text`` with a ``pattern`` and a ``max``; optional parts with defaults), together with

* ``python_regex`` — an equivalent Python ``re`` pattern (named groups, use ``re.IGNORECASE``;
  it matches the *normalized* utterance: whitespace runs collapsed, ends trimmed, see
  :func:`normalize`).  It stays within the syntax RE2 accepts, so the same text builds an
  RE2 ``Set``;
* ``sample(rng) -> (utterance, expected_theta)`` — a member of the family; θ holds every
  parameter (defaults included) as plain Python values: ``int``, the enum *variant name*
  (``str``), the captured text (``str``, the utterance's spelling);
* ``near_miss(rng) -> str`` — close to the family but outside it: a number out of range, an
  unknown enum word, a Text that breaks its pattern, a misspelt or missing keyword, an extra
  word.

Families do not overlap by construction: every family has its own intent phrase (a
``modifier noun`` pair used by no other family, after a verb), captures come after a
connector word that no phrase contains.  Cross-family exclusion of near misses and of
:func:`miss` texts is *not* guaranteed by the generator alone (a near miss of one family
could, in principle, belong to another); :func:`outside_all` filters a batch against all
families (bench/route.py does this with an RE2 Set).

Everything is deterministic given the seed.  Module-level vocabularies are plain lists.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Union

# ----------------------------------------------------------------------------- grammar AST


@dataclass(frozen=True)
class Lit:
    text: str
    phrase: bool = False  # part of the intent phrase: a target for misspelling / dropping a word


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Opt:
    body: Node


@dataclass(frozen=True)
class Cap:
    param: str


Node = Union[Lit, Seq, Alt, Opt, Cap]


def S(*items: Node | str) -> Seq:
    return Seq(tuple(Lit(i) if isinstance(i, str) else i for i in items))


def A(*options: Node | str) -> Alt:
    return Alt(tuple(Lit(o) if isinstance(o, str) else o for o in options))


def O(*items: Node | str) -> Opt:  # noqa: E743 - a one-letter grammar combinator like S and A
    return Opt(S(*items))


def P(text: str) -> Lit:
    return Lit(text, phrase=True)


# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class IntParam:
    name: str
    lo: int
    hi: int
    default: int | None = None
    step: int = 1  # > 1: a `where name % step == 0` refinement

    def values(self) -> list[int]:
        return [v for v in range(self.lo, self.hi + 1) if v % self.step == 0]

    def ddl_type(self) -> str:
        where = f" where {self.name} % {self.step} == 0" if self.step > 1 else ""
        return f"Int in {self.lo}..{self.hi}{where}"

    def py_regex(self) -> str:
        if self.step > 1:
            vals = sorted((str(v) for v in self.values()), key=lambda s: (-len(s), s))
            return "(?:" + "|".join(vals) + ")"
        return int_range_regex(self.lo, self.hi)

    def sample(self, rng: random.Random) -> tuple[str, object]:
        v = rng.choice(self.values()) if self.step > 1 else rng.randint(self.lo, self.hi)
        return str(v), v

    def outside(self, rng: random.Random) -> str:
        """A canonical numeral that is not a value of the parameter."""
        choices: list[int] = [self.hi + rng.randint(1, max(9, self.hi)), self.hi + 1]
        if self.lo > 0:
            choices.append(rng.randint(0, self.lo - 1))
        if self.step > 1:
            choices.append(rng.choice(self.values()) + rng.randint(1, self.step - 1))
        return str(rng.choice(choices))


@dataclass(frozen=True)
class EnumParam:
    name: str
    enum: str  # the type name, declared in the family
    variants: tuple[tuple[str, tuple[str, ...]], ...]  # (variant, texts: display first, then aliases)
    default: str | None = None
    foreign: tuple[str, ...] = ()  # plausible words that are not texts of this enum (near misses)

    def texts(self) -> list[str]:
        return [t for _, ts in self.variants for t in ts]

    def ddl_decl(self) -> str:
        parts = []
        for v, texts in self.variants:
            if texts == (v.replace("_", " "),):
                parts.append(v)
            else:
                parts.append(v + " = " + " | ".join(ddl_string(t) for t in texts))
        return f"enum {self.enum} {{ {', '.join(parts)} }}"

    def ddl_type(self) -> str:
        return self.enum

    def py_regex(self) -> str:
        texts = sorted(self.texts(), key=lambda s: (-len(s), s))
        return "(?:" + "|".join(_escape(t) for t in texts) + ")"

    def sample(self, rng: random.Random) -> tuple[str, object]:
        v, texts = rng.choice(self.variants)
        return rng.choice(texts), v

    def outside(self, rng: random.Random) -> str:
        known = {t.casefold() for t in self.texts()}
        pool = [w for w in self.foreign if w.casefold() not in known]
        return rng.choice(pool)


@dataclass(frozen=True)
class TextParam:
    name: str
    ddl_pattern: str
    py_pattern: str
    max_len: int  # chosen ≥ the pattern's own longest string, so the Python pattern is exact
    words: tuple[str, ...]  # vocabulary for samples
    max_words: int
    default: str | None = None
    breaker: tuple[str, ...] = ("2", "#1", "&", "x2", "...")  # tokens the pattern rejects

    def ddl_type(self) -> str:
        return f"Text(max {self.max_len}, pattern {self.ddl_pattern})"

    def py_regex(self) -> str:
        return self.py_pattern

    def sample(self, rng: random.Random) -> tuple[str, object]:
        n = rng.randint(1, min(self.max_words, 5))
        text = " ".join(rng.choice(self.words) for _ in range(n))
        return text, text

    def outside(self, rng: random.Random) -> str:
        words = self.sample(rng)[0].split(" ")
        if rng.random() < 0.3:  # too many words for the pattern
            return " ".join(words + [rng.choice(self.words) for _ in range(self.max_words + 1 - len(words))])
        words.insert(rng.randint(0, len(words)), rng.choice(self.breaker))
        return " ".join(words)


Param = Union[IntParam, EnumParam, TextParam]


# ----------------------------------------------------------------------------- helpers


def ddl_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


_META = re.compile(r"([.^$*+?{}\[\]\\|()])")


def _escape(text: str) -> str:
    """A literal for both Python re and RE2 (only metacharacters escaped)."""
    return _META.sub(r"\\\1", text)


def _same_len_regex(a: str, b: str) -> str:
    """Digit strings a <= b of one length: a regex for every digit string between them."""
    if a == b:
        return a
    if len(a) == 1:
        return f"[{a}-{b}]"
    m = len(a) - 1
    if a[0] == b[0]:
        rest = _same_len_regex(a[1:], b[1:])
        return a[0] + (f"(?:{rest})" if "|" in rest else rest)
    zeros, nines = "0" * m, "9" * m
    lo_d, hi_d = int(a[0]), int(b[0])
    parts: list[str] = []
    first_full = a[1:] == zeros
    last_full = b[1:] == nines
    if not first_full:
        parts.append(a[0] + _group(_same_len_regex(a[1:], nines)))
    mid_lo = lo_d if first_full else lo_d + 1
    mid_hi = hi_d if last_full else hi_d - 1
    if mid_lo <= mid_hi:
        head = str(mid_lo) if mid_lo == mid_hi else f"[{mid_lo}-{mid_hi}]"
        parts.append(head + ("[0-9]" if m == 1 else f"[0-9]{{{m}}}"))
    if not last_full:
        parts.append(b[0] + _group(_same_len_regex(zeros, b[1:])))
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _group(rx: str) -> str:
    return f"(?:{rx})" if "|" in rx and not (rx.startswith("(?:") and rx.endswith(")")) else rx


def int_range_regex(lo: int, hi: int) -> str:
    """A regex of the canonical numerals (no leading zeros) of lo..hi, 0 <= lo <= hi."""
    assert 0 <= lo <= hi
    parts: list[str] = []
    digits = len(str(lo))
    while lo <= hi:
        top = min(hi, 10**digits - 1)
        parts.append(_same_len_regex(str(lo), str(top)))
        lo, digits = top + 1, digits + 1
    parts.reverse()  # longer numerals first
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def normalize(utterance: str) -> str:
    """What ``normalize_space`` does before matching: whitespace runs → one space, ends trimmed
    (``str.split`` splits on the whitespace ``\\s`` matches; the fastest way in Python)."""
    return " ".join(utterance.split())


# ----------------------------------------------------------------------------- the family


@dataclass
class SynthFamily:
    name: str
    template: str
    doc: str
    params: tuple[Param, ...]
    grammar: Node
    program_type: str
    program: str
    types: tuple[str, ...] = ()
    _compiled: re.Pattern[str] | None = field(default=None, repr=False)

    # -- texts
    @property
    def source(self) -> str:
        lines = [f"family {self.name} {{", f"  {ddl_string(self.doc)}"]
        declared: set[str] = set()
        for p in self.params:
            if isinstance(p, EnumParam) and p.enum not in declared:  # two params may share one enum
                declared.add(p.enum)
                lines.append(f"  {p.ddl_decl()}")
        lines.extend(f"  {t}" for t in self.types)
        for p in self.params:
            default = ""
            if p.default is not None:
                if isinstance(p, IntParam):
                    default = f" = {p.default}"
                elif isinstance(p, EnumParam):
                    default = f" = {p.default}"
                else:
                    default = f" = {ddl_string(p.default)}"
            lines.append(f"  param {p.name} : {p.ddl_type()}{default}")
        lines.append("  grammar ignore_case normalize_space {")
        lines.append(f"    {_ddl(self.grammar)}")
        lines.append("  }")
        lines.append(f"  program -> {self.program_type} = {self.program}")
        lines.append("}")
        return "\n".join(lines) + "\n"

    @property
    def python_regex(self) -> str:
        params = {p.name: p for p in self.params}
        return _py(self.grammar, params)

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.python_regex, re.IGNORECASE)
        return self._compiled

    def matches(self, utterance: str) -> bool:
        return self.compiled.fullmatch(normalize(utterance)) is not None

    def defaults(self) -> dict[str, object]:
        return {p.name: p.default for p in self.params if p.default is not None}

    # -- members
    def sample(self, rng: random.Random) -> tuple[str, dict[str, object]]:
        written, theta = self._walk(rng, {}, set())
        # People capitalize the words they type, but a Text capture's pattern decides its letters
        # (DDL keeps a Text capture's case under ignore_case): its text keeps the case it was drawn in.
        segs = [(text if tag.startswith("cap:") and isinstance(self._param(tag[4:]), TextParam) else styled, tag)
                for (text, tag), (styled, _) in zip(written, _case(rng, written))]
        for text, tag in segs:  # a Text capture keeps the utterance's spelling
            if tag.startswith("cap:") and isinstance(self._param(tag[4:]), TextParam):
                theta[tag[4:]] = text
        return _space(rng, "".join(t for t, _ in segs)), theta

    def _param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def _walk(self, rng: random.Random, override: dict[str, str], force: set[str]
              ) -> tuple[list[tuple[str, str]], dict[str, object]]:
        """Segments (text, tag) — tag "phrase", "lit" or "cap:NAME" — and θ (defaults filled)."""
        params = {p.name: p for p in self.params}
        theta = self.defaults()
        segs: list[tuple[str, str]] = []

        def walk(node: Node) -> None:
            if isinstance(node, Lit):
                segs.append((node.text, "phrase" if node.phrase else "lit"))
            elif isinstance(node, Seq):
                for item in node.items:
                    walk(item)
            elif isinstance(node, Alt):
                walk(rng.choice(node.options))
            elif isinstance(node, Opt):
                if (_captures(node) & force) or rng.random() < 0.5:
                    walk(node.body)
            else:
                p = params[node.param]
                if node.param in override:
                    segs.append((override[node.param], f"cap:{node.param}"))
                else:
                    text, value = p.sample(rng)
                    segs.append((text, f"cap:{node.param}"))
                    theta[node.param] = value

        walk(self.grammar)
        return segs, theta

    # -- near misses
    def near_miss(self, rng: random.Random) -> str:
        """A close utterance outside this family (checked against ``python_regex``)."""
        kinds = ["misspell", "missing", "extra"] + ["value"] * (2 if self.params else 0)
        for _ in range(200):
            kind = rng.choice(kinds)
            u = self._near_miss(rng, kind)
            if u is not None and not self.matches(u):
                return u
        raise RuntimeError(f"no near miss found for {self.name}")  # pragma: no cover

    def _near_miss(self, rng: random.Random, kind: str) -> str | None:
        if kind == "value":
            p = rng.choice(self.params)
            segs, _ = self._walk(rng, {p.name: p.outside(rng)}, {p.name})
            return _style(rng, segs)
        segs, _ = self._walk(rng, {}, set())
        text = "".join(t for t, _ in segs)
        if kind == "extra":
            return _style(rng, [(text + " " + rng.choice(EXTRA_WORDS), "lit")])
        # Misspell or drop one word of the intent phrase.
        spans: list[tuple[int, int]] = []
        pos = 0
        for t, tag in segs:
            if tag == "phrase":
                for m in re.finditer(r"[a-z']+", t):
                    if len(m.group()) >= (4 if kind == "misspell" else 2):
                        spans.append((pos + m.start(), pos + m.end()))
            pos += len(t)
        if not spans:
            return None
        start, end = rng.choice(spans)
        word = text[start:end]
        if kind == "missing":
            new = (text[:start] + text[end:]).replace("  ", " ").strip()
        else:
            new = text[:start] + misspell(rng, word) + text[end:]
        return _style(rng, [(new, "lit")])


def _captures(node: Node) -> set[str]:
    if isinstance(node, Cap):
        return {node.param}
    if isinstance(node, Lit):
        return set()
    if isinstance(node, Opt):
        return _captures(node.body)
    items = node.items if isinstance(node, Seq) else node.options
    out: set[str] = set()
    for i in items:
        out |= _captures(i)
    return out


def _ddl(node: Node, top: bool = True) -> str:
    if isinstance(node, Lit):
        return ddl_string(node.text)
    if isinstance(node, Cap):
        return node.param
    if isinstance(node, Seq):
        inner = " ".join(_ddl(i, False) for i in node.items)
        return inner if top or len(node.items) == 1 else f"({inner})"
    if isinstance(node, Alt):
        return "(" + " | ".join(_ddl(o, True) for o in node.options) + ")"
    return "(" + _ddl(node.body, True) + ")?"


def _py(node: Node, params: dict[str, Param]) -> str:
    if isinstance(node, Lit):
        return _escape(node.text)
    if isinstance(node, Cap):
        return f"(?P<{node.param}>{params[node.param].py_regex()})"
    if isinstance(node, Seq):
        return "".join(_py(i, params) for i in node.items)
    if isinstance(node, Alt):
        return "(?:" + "|".join(_py(o, params) for o in node.options) + ")"
    return "(?:" + _py(node.body, params) + ")?"


def _case(rng: random.Random, segs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The way people type: sometimes capitalized, sometimes all upper case."""
    r = rng.random()
    if r < 0.25:
        first = segs[0][0]
        return [(first[:1].upper() + first[1:], segs[0][1]), *segs[1:]]
    if r < 0.30:
        return [(t.upper(), tag) for t, tag in segs]
    return list(segs)


def _space(rng: random.Random, text: str) -> str:
    """Sometimes a double space or spaces around (normalize_space removes them)."""
    if rng.random() < 0.1 and " " in text:
        spaces = [i for i, c in enumerate(text) if c == " "]
        i = rng.choice(spaces)
        text = text[:i] + "  " + text[i:]
    if rng.random() < 0.05:
        text = " " + text + " "
    return text


def _style(rng: random.Random, segs: Sequence[tuple[str, str]]) -> str:
    return _space(rng, "".join(t for t, _ in _case(rng, segs)))


def misspell(rng: random.Random, word: str) -> str:
    """A typo: swap two neighbours, drop, double or replace one letter (never the word itself)."""
    for _ in range(20):
        i = rng.randrange(1, len(word) - 1) if len(word) > 2 else 0
        kind = rng.randrange(4)
        if kind == 0:
            new = word[:i] + word[i + 1] + word[i] + word[i + 2:] if i + 1 < len(word) else word
        elif kind == 1:
            new = word[:i] + word[i + 1:]
        elif kind == 2:
            new = word[:i] + word[i] + word[i:]
        else:
            new = word[:i] + rng.choice("aeiou") + word[i + 1:]
        if new != word:
            return new
    return word + "x"


# ----------------------------------------------------------------------------- vocabularies

CONNECTORS = frozenset(
    "to for at on in from with by of into that within about until percent minutes mins minute stars star "
    "people guests am pm playlist channel account balance open nearest volume".split())

EXTRA_WORDS = ["please", "now", "thanks", "asap", "again", "quickly", "tonight", "ok"]

DAYS = (("monday", ("monday", "mon")), ("tuesday", ("tuesday", "tue")), ("wednesday", ("wednesday", "wed")),
        ("thursday", ("thursday", "thu")), ("friday", ("friday", "fri")), ("saturday", ("saturday", "sat")),
        ("sunday", ("sunday", "sun")), ("today", ("today",)), ("tomorrow", ("tomorrow", "tmrw")))
DAY_FOREIGN = ("someday", "funday", "mondey", "fryday", "yesterday", "weekday", "tomorow", "satday")

CITIES = (("paris", ("paris",)), ("london", ("london",)), ("new_york", ("new york", "nyc", "new york city")),
          ("tokyo", ("tokyo",)), ("berlin", ("berlin",)), ("sydney", ("sydney",)), ("cairo", ("cairo",)),
          ("rio", ("rio de janeiro", "rio")), ("toronto", ("toronto",)), ("mumbai", ("mumbai", "bombay")),
          ("san_francisco", ("san francisco", "sf")), ("madrid", ("madrid",)), ("rome", ("rome",)),
          ("lagos", ("lagos",)), ("seoul", ("seoul",)), ("lima", ("lima",)), ("oslo", ("oslo",)))
CITY_FOREIGN = ("atlantis", "gotham", "springfield", "narnia", "paris texas", "londn", "tokio", "berlim")

FLOORS = ("upstairs", "downstairs", "front", "back", "guest", "main", "kids")
ROOMS = ("kitchen bedroom bathroom hallway garage office attic basement porch garden nursery study cellar lounge "
         "pantry patio balcony den loft studio library foyer laundry playroom guestroom workshop shed sunroom "
         "closet terrace deck yard conservatory annex gym spa cabin boathouse").split()
DIMMABLES = "lights lamp heater fan blinds speaker radiator humidifier purifier dimmer spotlights chandelier " \
            "floodlight thermostat shutters".split()
SWITCHABLES = "kettle oven dishwasher tv projector camera sprinkler fountain doorbell dryer washer toaster " \
              "fireplace jacuzzi vacuum".split()
BOOK_ADJ = ("rooftop window corner quiet private outdoor lakeside booth terrace riverside family vip poolside "
            "fireside courtyard mezzanine waterfront garden hilltop beachfront balcony chef's skyline sunny "
            "shaded lounge cozy spacious accessible").split()
BOOKABLES = "table room court lane desk cabin pitch studio suite pod bay cottage villa loft slot".split()
TIMER_KIND = ("pasta egg tea laundry workout nap pizza rice bread oven study focus meditation cookie steak "
              "sourdough stretch homework plank sauna parking dough coffee roast soup bath practice cake "
              "pomodoro rest").split()
TIMER_NOUN = "timer countdown alarm stopwatch buzzer reminder clock".split()
LIST_KIND = ("grocery packing reading gift camping holiday hardware pharmacy party wedding baby moving garden "
             "bucket chores errands movie school office birthday christmas picnic beach ski baking "
             "recipe project cleaning travel").split()
LIST_NOUN = "list notes board basket cart planner checklist queue journal tracker backlog".split()
MOODS = ("morning evening workout focus party dinner sleep study summer winter sunday chill rainy throwback "
         "roadtrip cooking coffeehouse wedding romantic upbeat mellow nostalgic acoustic").split()
GENRES = ("jazz rock pop lofi classical soul funk reggae blues metal indie folk techno house disco country "
          "ambient swing gospel salsa latin kpop grunge punk").split()
SPEAKERS = (("kitchen", ("kitchen",)), ("bedroom", ("bedroom",)), ("living_room", ("living room", "lounge")),
            ("office", ("office", "study")), ("patio", ("patio", "garden")), ("bathroom", ("bathroom",)))
SPEAKER_FOREIGN = ("garage", "attic", "car", "hallway", "kitchn", "bedrom")
FLAVOURS = ("vanilla caramel mocha hazelnut pumpkin matcha chai cinnamon almond coconut honey maple lemon "
            "blueberry raspberry pistachio ginger espresso truffle pepperoni margherita veggie hawaiian "
            "chicken tuna falafel halloumi").split()
FOODS = "lattes muffins cookies pizzas smoothies bagels donuts wraps croissants salads burritos pretzels " \
        "scones waffles sandwiches".split()
STORES = (("downtown", ("downtown",)), ("airport", ("airport",)), ("main_street", ("main street",)),
          ("campus", ("campus",)), ("station", ("station", "train station")))
STORE_FOREIGN = ("uptown", "harbour", "mall", "dwntown", "central")
INTENSITY = ("morning evening lunchtime indoor outdoor easy hard interval recovery tempo weekend hot gentle "
             "power beginner advanced trail sprint endurance restorative").split()
ACTIVITIES = ("yoga running cycling swimming rowing walking hiking pilates boxing climbing skating dancing "
              "stretching spinning kayaking tennis squash karate crossfit jogging surfing skiing").split()
ACCOUNT_KIND = ("joint personal business holiday emergency college travel wedding house car rainy retirement "
                "household pet kids medical tax vacation bills renovation").split()
ACCOUNTS = "savings checking brokerage pension investment current deposit trust isa rewards".split()
CURRENCIES = (("usd", ("dollars", "usd", "bucks")), ("eur", ("euros", "eur")), ("gbp", ("pounds", "gbp", "quid")),
              ("jpy", ("yen", "jpy")), ("chf", ("francs", "chf")))
CURRENCY_FOREIGN = ("pesos", "rupees", "dollors", "euro's", "bitcoin", "kroner")
CUISINES = ("vegan italian thai mexican indian japanese greek korean lebanese french spanish chinese "
            "turkish ethiopian peruvian vietnamese halal kosher organic cheap late-night family").split()
PLACES = "restaurant cafe bakery bar diner bistro pizzeria deli market grocer takeaway brewery buffet " \
         "steakhouse eatery".split()
MODES = (("driving", ("car", "driving")), ("walking", ("foot", "walking")), ("cycling", ("bike", "bicycle")),
         ("transit", ("train", "bus", "transit")))
MODE_FOREIGN = ("boat", "plane", "horse", "scooter", "bik", "cars")
ORG_KIND = ("team company project design legal sales support hr finance marketing engineering research "
            "security product data platform billing mobile infra ops").split()
REPOS = "wiki drive inbox archive tracker handbook chat forum docs repo calendar notebook".split()
GROUP_KIND = ("family book running chess choir hiking cycling poker gaming parents neighbours football "
              "climbing knitting photography cooking camping alumni startup volunteers").split()
GROUPS = "group chat club crew circle squad thread".split()
MEET_KIND = ("team client project budget design product sales board weekly quarterly hiring onboarding "
             "planning strategy security launch research partner vendor investor").split()
MEETINGS = "standup review sync retro call demo interview lunch workshop meeting kickoff briefing".split()
DISH_KIND = ("thai spicy vegan grilled smoked crispy sweet sour garlic lemon cajun teriyaki tandoori "
             "bbq herb roasted").split()
DISHES = ("curry burger noodles ramen tacos salad risotto lasagna dumplings chowder kebab paella burrito "
          "sushi pasta").split()
AREA_KIND = ("central north south east west city harbour riverside university county village airport "
             "hospital uptown midtown suburb lakeside hillside").split()
VENUES = "library pool pharmacy museum market gym clinic zoo gallery aquarium bank cinema".split()
WORDS = ("buy milk eggs bread call mum dad the dentist book flights pay rent water plants pick up kids "
         "laundry email boss send invoice renew passport walk dog feed cat charge phone take pills fix "
         "bike tap clean car gutters order birthday cake check tyres return library books").split()
QUERY_WORDS = ("onboarding guide expense policy vpn setup release notes roadmap budget q3 invoices 2024 "
               "contract template holiday rota api keys style guide postmortem incident oncall").split()
MESSAGE_WORDS = ("running late be there in ten minutes see you soon dinner is ready bring snacks meeting "
                 "moved tomorrow game night starts at eight who is coming").split()
LANGS = (("french", ("french",)), ("spanish", ("spanish",)), ("german", ("german",)), ("italian", ("italian",)),
         ("japanese", ("japanese",)), ("portuguese", ("portuguese",)), ("dutch", ("dutch",)),
         ("korean", ("korean",)), ("arabic", ("arabic",)))
LANG_FOREIGN = ("klingon", "elvish", "latin", "frenchh", "spanis")

LETTER_WORDS = ("[a-z']{1,12}(\" \" [a-z']{1,12}){0,9}", "[a-z']{1,12}(?: [a-z']{1,12}){0,9}", 130, 10)
QUERY_TEXT = ("[a-z0-9]{1,15}(\" \" [a-z0-9]{1,15}){0,5}", "[a-z0-9]{1,15}(?: [a-z0-9]{1,15}){0,5}", 95, 6)


def _text(name: str, spec: tuple[str, str, int, int], words: Sequence[str],
          breaker: tuple[str, ...] = ("2", "#1", "&", "x2", "...")) -> TextParam:
    return TextParam(name, spec[0], spec[1], spec[2], tuple(words), spec[3], breaker=breaker)


def _enum(name: str, enum: str, variants: Sequence[tuple[str, tuple[str, ...]]], foreign: Sequence[str],
          default: str | None = None) -> EnumParam:
    return EnumParam(name, enum, tuple(variants), default, tuple(foreign))


# ----------------------------------------------------------------------------- templates

# A template turns a (modifier, noun) pair into a family. Scalable templates draw pairs from their
# own vocabularies; fixed templates have a short list of instances.


@dataclass(frozen=True)
class Template:
    name: str
    mods: Sequence[str]
    nouns: Sequence[str]
    build: Callable[[random.Random, str, str], SynthFamily]

    def pairs(self) -> list[tuple[str, str]]:
        return [(m, n) for m in self.mods for n in self.nouns]


def _qualified(qualifiers: Sequence[str], words: Sequence[str]) -> list[str]:
    """Every word, alone and after each qualifier ("upstairs kitchen")."""
    return [*words, *(f"{q} {w}" for q in qualifiers for w in words)]


def _ident(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", "_".join(parts).lower()).strip("_")


def _verbs(rng: random.Random, verbs: Sequence[str], most: int = 2) -> Node:
    chosen = rng.sample(list(verbs), rng.randint(1, most))
    return A(*[P(v) for v in chosen]) if len(chosen) > 1 else P(chosen[0])


def t_home_level(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["set", "dim", "turn", "change"]), P(f" the {m} {n}"), " to ", Cap("level"),
          O(A(" percent", "%")), O(" for ", Cap("minutes"), A(" minutes", " mins")))
    return SynthFamily(
        _ident("home_level", m, n), "home_level", f"Set the {m} {n} to a level in percent, optionally for a while.",
        (IntParam("level", 0, 100), IntParam("minutes", 1, 240, 60)), g, "Command",
        f'Command {{ action = "set_level", target = "{m} {n}", level = level, minutes = minutes }}',
        ("type Command = { action: Text, target: Text, level: Int, minutes: Int }",))


def t_home_power(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(A(P("turn "), P("switch ")), Cap("state"), P(f" the {m} {n}"), O(" in ", Cap("delay"), " minutes"))
    state = _enum("state", "Power", [("on", ("on",)), ("off", ("off",))], ("of", "onn", "up", "down"))
    return SynthFamily(
        _ident("home_power", m, n), "home_power", f"Switch the {m} {n} on or off, now or after a delay.",
        (state, IntParam("delay", 0, 120, 0)), g, "Text",
        f'"switch the {m} {n} ${{state}} in ${{delay}} minutes"')


def t_booking(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["book", "reserve"]), P(f" a {m} {n}"), " for ", Cap("people"),
          O(A(" people", " guests")), O(" on ", Cap("day")), O(" at ", Cap("hour")))
    day = _enum("day", "Day", DAYS, DAY_FOREIGN, "today")
    return SynthFamily(
        _ident("book", m, n), "booking", f"Book a {m} {n} for a party on a day at an hour.",
        (IntParam("people", 1, 20), day, IntParam("hour", 1, 12, 7)), g, "Booking",
        f'Booking {{ resource = "{m} {n}", party = people, day = text(day), hour = hour }}',
        ("type Booking = { resource: Text, party: Int, day: Text, hour: Int }",))


def t_timer(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["set", "start"]), P(f" a {m} {n}"), " for ", Cap("minutes"), A(" minutes", " mins", " minute"))
    return SynthFamily(
        _ident("timer", m, n), "timer", f"Start a {m} {n} for some minutes.",
        (IntParam("minutes", 1, 180),), g, "Timer",
        f'Timer {{ label = "{m} {n}", seconds = minutes * 60 }}',
        ("type Timer = { label: Text, seconds: Int }",))


def t_list_add(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(P("add "), Cap("item"), " to ", A("my ", "the "), P(f"{m} {n}"))
    return SynthFamily(
        _ident("list_add", m, n), "list_add", f"Add an item to the {m} {n}.",
        (_text("item", LETTER_WORDS, WORDS),), g, "ListItem",
        f'ListItem {{ list = "{m} {n}", item = item }}',
        ("type ListItem = { list: Text, item: Text }",))


def t_playlist(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(P("play the "), P(f"{m} {n}"), " playlist", O(" on the ", Cap("speaker"), " speaker"),
          O(" at volume ", Cap("volume")))
    speaker = _enum("speaker", "Speaker", SPEAKERS, SPEAKER_FOREIGN, "living_room")
    return SynthFamily(
        _ident("play", m, n), "playlist", f"Play the {m} {n} playlist on a speaker.",
        (speaker, IntParam("volume", 1, 10, 5)), g, "Text",
        f'"play {m} {n} on ${{speaker}} at ${{volume}}"')


def t_order(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["order", "get me"]), " ", O(Cap("count"), " "), P(f"{m} {n}"), O(" from ", Cap("store")))
    store = _enum("store", "Store", STORES, STORE_FOREIGN, "downtown")
    return SynthFamily(
        _ident("order", m, n), "order", f"Order {m} {n} from a store.",
        (IntParam("count", 1, 12, 1), store), g, "Order",
        f'Order {{ item = "{m} {n}", quantity = count, store = text(store) }}',
        ("type Order = { item: Text, quantity: Int, store: Text }",))


def t_log(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["log", "record", "track"]), " ", Cap("amount"), A(" minutes", " mins"), P(f" of {m} {n}"),
          O(" on ", Cap("day")))
    day = _enum("day", "Day", DAYS, DAY_FOREIGN, "today")
    return SynthFamily(
        _ident("log", m, n), "log", f"Log minutes of {m} {n}.",
        (IntParam("amount", 1, 600), day), g, "Text",
        f'"${{amount}} minutes of {m} {n} on ${{day}}"')


def t_transfer(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["transfer", "move", "send"]), " ", Cap("amount"), " ", Cap("currency"),
          " to ", A("my ", "the "), P(f"{m} {n}"), " account")
    cur = _enum("currency", "Currency", CURRENCIES, CURRENCY_FOREIGN)
    return SynthFamily(
        _ident("transfer", m, n), "transfer", f"Transfer money to the {m} {n} account.",
        (IntParam("amount", 1, 10000), cur), g, "Transfer",
        f'Transfer {{ account = "{m} {n}", cents = amount * 100, currency = text(currency) }}',
        ("type Transfer = { account: Text, cents: Int, currency: Text }",))


def t_nearest(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["find", "navigate to", "show me"]), P(f" the nearest {m} {n}"), O(" by ", Cap("mode")),
          O(" within ", Cap("radius"), A(" km", " kilometers")))
    mode = _enum("mode", "Mode", MODES, MODE_FOREIGN, "walking")
    return SynthFamily(
        _ident("nearest", m, n), "nearest", f"Directions to the nearest {m} {n}.",
        (mode, IntParam("radius", 1, 50, 5)), g, "Text",
        f'"nearest {m} {n} by ${{mode}} within ${{radius}} km"')


def t_search(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["search", "look through"]), P(f" the {m} {n}"), " for ", Cap("query"))
    return SynthFamily(
        _ident("search", m, n), "search", f"Search the {m} {n}.",
        (_text("query", QUERY_TEXT, QUERY_WORDS, ("#", "!", "a-b", "x.y", "&")),), g, "Search",
        f'Search {{ index = "{m}_{n}", terms = split(query, " ") }}',
        ("type Search = { index: Text, terms: List[Text] }",))


def t_tell(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["tell", "message"]), P(f" the {m} {n}"), " that ", Cap("message"))
    return SynthFamily(
        _ident("tell", m, n), "tell", f"Send a message to the {m} {n}.",
        (_text("message", LETTER_WORDS, MESSAGE_WORDS),), g, "Text",
        f'"to {m} {n}: ${{message}}"')


def t_schedule(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["schedule", "set up", "plan"]), P(f" a {m} {n}"), O(" on ", Cap("day")), " at ", Cap("hour"),
          O(" for ", Cap("duration"), " minutes"))
    day = _enum("day", "Day", DAYS, DAY_FOREIGN, "tomorrow")
    return SynthFamily(
        _ident("schedule", m, n), "schedule", f"Schedule a {m} {n}.",
        (day, IntParam("hour", 0, 23), IntParam("duration", 5, 240, 30, step=5)), g, "Meeting",
        f'Meeting {{ title = "{m} {n}", day = text(day), start = "${{hour}}:00", minutes = duration }}',
        ("type Meeting = { title: Text, day: Text, start: Text, minutes: Int }",))


def t_rate(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(_verbs(rng, ["give", "rate"]), P(f" the {m} {n}"), " ", Cap("stars"), A(" stars", " star", "/5"))
    return SynthFamily(
        _ident("rate", m, n), "rate", f"Rate the {m} {n} from 1 to 5 stars.",
        (IntParam("stars", 1, 5),), g, "Text",
        f'"{m} {n}: ${{stars}}/5"')


def t_opening(rng: random.Random, m: str, n: str) -> SynthFamily:
    g = S(A(P("is "), P("when is ")), P(f"the {m} {n}"), " open", O(" on ", Cap("day")), O("?"))
    day = _enum("day", "Day", DAYS, DAY_FOREIGN, "today")
    return SynthFamily(
        _ident("open", m, n), "opening", f"Opening hours of the {m} {n}.",
        (day,), g, "Text", f'"opening hours of the {m} {n} on ${{day}}"')


# Fixed templates: a few instances each, each with its own vocabulary.

UNIT_SETS = {
    "length": (("meters", ("meters", "m", "metres")), ("feet", ("feet", "ft")), ("inches", ("inches", "in")),
               ("kilometers", ("kilometers", "km")), ("miles", ("miles", "mi"))),
    "weight": (("grams", ("grams", "g")), ("kilograms", ("kilograms", "kg", "kilos")), ("pounds", ("pounds", "lb")),
               ("ounces", ("ounces", "oz"))),
    "volume": (("liters", ("liters", "l", "litres")), ("gallons", ("gallons", "gal")), ("cups", ("cups",)),
               ("milliliters", ("milliliters", "ml"))),
    "data": (("bytes", ("bytes",)), ("kilobytes", ("kilobytes", "kb")), ("megabytes", ("megabytes", "mb")),
             ("gigabytes", ("gigabytes", "gb"))),
    "duration": (("seconds", ("seconds", "secs")), ("hours", ("hours", "hrs")), ("days", ("days",)),
                 ("weeks", ("weeks",))),
    "speed": (("mph", ("mph", "miles per hour")), ("kmh", ("kmh", "km/h")), ("knots", ("knots",))),
}


def f_convert(rng: random.Random, kind: str) -> SynthFamily:
    units = UNIT_SETS[kind]
    g = S(P("convert "), Cap("amount"), " ", Cap("source"), A(" to ", " into "), Cap("target"))
    src = _enum("source", "Unit", units, ("parsecs", "furlongs", "cubits", "leagues"))
    dst = _enum("target", "Unit", units, ("parsecs", "furlongs", "cubits", "leagues"))
    return SynthFamily(
        f"convert_{kind}", "convert", f"Convert an amount between {kind} units.",
        (IntParam("amount", 0, 1000000), src, dst), g, "Text",
        '"${amount} ${source} in ${target}"')


WEATHER_KINDS = ["weather", "forecast", "temperature", "humidity", "uv index", "pollen count", "air quality",
                 "wind speed", "sunrise time", "sunset time", "tide times", "snow report"]


def f_weather(rng: random.Random, kind: str) -> SynthFamily:
    g = S(A(P("what's the "), P("what is the "), P("how's the ")), P(kind), " in ", Cap("city"),
          O(" ", Cap("when")), O("?"))
    city = _enum("city", "City", CITIES, CITY_FOREIGN)
    when = _enum("when", "When", (("today", ("today",)), ("tomorrow", ("tomorrow",)),
                                  ("weekend", ("this weekend", "at the weekend"))),
                 ("yesterday", "tonite", "next year"), "today")
    return SynthFamily(
        _ident("weather", kind), "weather", f"The {kind} in a city.",
        (city, when), g, "Text", f'"{kind} for ${{city}} (${{when}})"')


def f_remind(rng: random.Random, kind: str) -> SynthFamily:
    g = S(P("remind me"), O(" at ", Cap("hour")), O(" on ", Cap("day")), " to ", Cap("task"))
    day = _enum("day", "Day", DAYS, DAY_FOREIGN, "today")
    return SynthFamily(
        "remind_me", "remind", "A reminder at an hour on a day.",
        (IntParam("hour", 0, 23, 9), day, _text("task", LETTER_WORDS, WORDS)), g, "Reminder",
        "Reminder { task = task, day = text(day), hour = hour }",
        ("type Reminder = { task: Text, day: Text, hour: Int }",))


def f_translate(rng: random.Random, kind: str) -> SynthFamily:
    g = S(P("translate "), Cap("phrase"), A(" into ", " to "), Cap("language"))
    lang = _enum("language", "Language", LANGS, LANG_FOREIGN)
    return SynthFamily(
        "translate_phrase", "translate", "Translate a phrase into a language.",
        (_text("phrase", LETTER_WORDS, MESSAGE_WORDS), lang), g, "Text",
        '"translate \\"${phrase}\\" to ${language}"')


def f_alarm(rng: random.Random, kind: str) -> SynthFamily:
    g = S(P("wake me up at "), Cap("hour"), O(" ", Cap("half")), O(" on ", Cap("day")))
    half = _enum("half", "Half", (("am", ("am", "a.m.")), ("pm", ("pm", "p.m."))), ("pn", "a.m", "noon"), "am")
    day = _enum("day", "Day", DAYS, DAY_FOREIGN, "tomorrow")
    return SynthFamily(
        "wake_me_up", "alarm", "An alarm at an hour of the morning or evening.",
        (IntParam("hour", 1, 12), half, day), g, "Text", '"alarm ${hour} ${half} ${day}"')


SCALABLE: list[Template] = [
    Template("home_level", _qualified(FLOORS, ROOMS), DIMMABLES, t_home_level),
    Template("home_power", _qualified(FLOORS, ROOMS), SWITCHABLES, t_home_power),
    Template("booking", _qualified(("large", "small", "quiet", "second"), BOOK_ADJ), BOOKABLES, t_booking),
    Template("timer", TIMER_KIND, TIMER_NOUN, t_timer),
    Template("list_add", LIST_KIND, LIST_NOUN, t_list_add),
    Template("playlist", MOODS, GENRES, t_playlist),
    Template("order", FLAVOURS, FOODS, t_order),
    Template("log", INTENSITY, ACTIVITIES, t_log),
    Template("transfer", _qualified(("old", "new", "shared", "second"), ACCOUNT_KIND), ACCOUNTS, t_transfer),
    Template("nearest", _qualified(("cheap", "quiet", "good", "popular", "new"), CUISINES), PLACES, t_nearest),
    Template("search", _qualified(("old", "shared", "internal", "public", "main"), ORG_KIND), REPOS, t_search),
    Template("tell", GROUP_KIND, GROUPS, t_tell),
    Template("schedule", _qualified(("quick", "long", "remote", "monthly", "short"), MEET_KIND), MEETINGS,
             t_schedule),
    Template("rate", DISH_KIND, DISHES, t_rate),
    Template("opening", AREA_KIND, VENUES, t_opening),
]

FIXED: list[tuple[Callable[[random.Random, str], SynthFamily], list[str]]] = [
    (f_weather, WEATHER_KINDS),
    (f_convert, list(UNIT_SETS)),
    (f_remind, ["remind"]),
    (f_translate, ["translate"]),
    (f_alarm, ["alarm"]),
]


def capacity() -> int:
    """How many distinct families :func:`make_families` can make."""
    keys = {(m, n) for t in SCALABLE for m, n in t.pairs()}
    return len(keys) + sum(len(kinds) for _, kinds in FIXED)


def _check_vocabulary() -> None:
    for t in SCALABLE:
        for w in [*t.mods, *t.nouns]:
            assert not set(w.split(" ")) & CONNECTORS, (t.name, w)


def make_families(k: int, seed: int = 0) -> list[SynthFamily]:
    """k distinct families, deterministic given seed; the first ones cover every template."""
    _check_vocabulary()
    rng = random.Random(f"synth-families-{seed}")
    fixed: list[Iterator[SynthFamily]] = [
        iter([f(rng, kind) for kind in rng.sample(kinds, len(kinds))]) for f, kinds in FIXED]
    pools: list[tuple[Template, list[tuple[str, str]]]] = []
    for t in SCALABLE:
        pairs = t.pairs()
        rng.shuffle(pairs)
        pools.append((t, pairs))
    used: set[tuple[str, str]] = set()
    names: set[str] = set()
    out: list[SynthFamily] = []
    sources: list[Iterator[SynthFamily] | tuple[Template, list[tuple[str, str]]]] = [*fixed, *pools]
    order = list(range(len(sources)))
    rng.shuffle(order)
    while len(out) < k:
        progressed = False
        for i in order:
            if len(out) >= k:
                break
            src = sources[i]
            fam: SynthFamily | None = None
            if isinstance(src, tuple):
                t, pairs = src
                while pairs and fam is None:
                    m, n = pairs.pop()
                    if (m, n) not in used:
                        used.add((m, n))
                        fam = t.build(rng, m, n)
            else:
                fam = next(src, None)
            if fam is None:
                continue
            progressed = True
            assert fam.name not in names, fam.name
            names.add(fam.name)
            out.append(fam)
        if not progressed:
            raise ValueError(f"make_families: only {len(out)} distinct families can be made (k={k})")
    return out


def module_sources(families: Iterable[SynthFamily], max_bytes: int = 400_000) -> list[str]:
    """The families' sources joined into module texts of at most ``max_bytes`` each (a DDL source
    file is limited to 1,000,000 bytes and 200,000 tokens, so 10,000 families need several)."""
    chunks: list[str] = []
    cur: list[str] = []
    size = 0
    for fam in families:
        src = fam.source
        n = len(src.encode())
        if cur and size + n > max_bytes:
            chunks.append("\n".join(cur))
            cur, size = [], 0
        cur.append(src)
        size += n + 1
    if cur:
        chunks.append("\n".join(cur))
    return chunks


# ----------------------------------------------------------------------------- misses

MISS_TEMPLATES = [
    "tell me a joke about {animal}", "who wrote {book}", "how do i {diy}", "what does {word} mean",
    "write a poem about {thing}", "explain {concept} like i'm five", "how tall is {landmark}",
    "recommend a good {medium} about {thing}", "why is the sky blue", "how many calories are in {food}",
    "what year did {event}", "summarize this article about {thing}", "is {animal} a mammal",
    "can you help me with my {thing} homework", "what's the capital of {country}", "hello there",
    "who won the {event}", "draft an email to my landlord about the {thing}", "what rhymes with {word}",
    "how long does it take to {diy}", "should i learn {concept} or {concept}", "good morning",
    "what is {number} times {number}", "i feel tired today", "compare {country} and {country}",
]
MISS_FILL = {
    "animal": ["penguins", "a cat", "otters", "the platypus", "a giraffe", "dolphins", "a hedgehog"],
    "book": ["war and peace", "dune", "the hobbit", "moby dick", "beloved", "ulysses"],
    "diy": ["fix a leaking tap", "paint a wall", "unclog a drain", "bake sourdough", "change a tyre",
            "hang a shelf", "learn the guitar"],
    "word": ["ephemeral", "serendipity", "gaslighting", "quokka", "ubiquitous", "sonder"],
    "thing": ["autumn", "the sea", "quantum physics", "my grandmother", "robots", "rent increase", "chemistry"],
    "concept": ["recursion", "inflation", "black holes", "photosynthesis", "blockchain", "rust", "haskell"],
    "landmark": ["the eiffel tower", "mount everest", "the burj khalifa", "big ben"],
    "medium": ["book", "podcast", "documentary", "film", "series"],
    "food": ["an avocado", "a croissant", "a banana", "100g of rice"],
    "event": ["the berlin wall fall", "world cup in 1998", "tour de france last year", "first moon landing happen"],
    "country": ["peru", "mongolia", "canada", "australia", "kenya", "norway"],
    "number": ["7", "12", "19", "144", "3"],
}


def miss(rng: random.Random) -> str:
    """Off-family text: small talk, general knowledge, writing requests."""
    template = rng.choice(MISS_TEMPLATES)
    text = re.sub(r"\{(\w+)\}", lambda m: rng.choice(MISS_FILL[m.group(1)]), template)
    return _style(rng, [(text, "lit")])


def outside_all(utterances: Iterable[str], families: Sequence[SynthFamily]) -> list[str]:
    """The utterances that no family accepts (a plain loop over Python regexes; slow for large k —
    bench/route.py uses an RE2 Set instead)."""
    return [u for u in utterances if not any(f.matches(u) for f in families)]
