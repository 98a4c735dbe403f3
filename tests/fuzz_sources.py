"""Generators of hostile .ddl sources for the front-end reliability suite, driven by a
``random.Random`` so that tests/test_reliability_frontend.py (Hypothesis, through
``st.randoms()``) and bench/soak.py (a seeded loop) draw from the same inputs.

Kinds:

* ``random`` — random bytes or text (every code point, syntax characters, lone surrogates);
* ``soup`` — random sequences of DDL tokens;
* ``mutated`` — a real program (examples/) with a few tokens deleted, duplicated, swapped or
  replaced, or a few bytes flipped: mostly well-formed, so it reaches typing and verification;
* ``hostile`` — a well-formed family whose grammar or types are built to be expensive: nested
  bounded repetitions, nested ``any_order`` groups, classes of thousands of code points,
  towers of complements and intersections, thousands of alternatives, nesting at and past the
  depth limit, enums of thousands of variants, very long literals.

:func:`check_outcome` runs one source through ``ddl.api.check_source`` and says whether the
front end behaved: diagnostics from the catalogue are fine; an exception escaping it, a DDL999
(internal error) or an uncatalogued code is a crash.
"""

from __future__ import annotations

import random
import re
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.ddl"))
# The small examples (their full check takes under a second): mutants of the others are
# checked by bench/soak.py, where time is not short.
SMALL_EXAMPLES = ("books.ddl", "recipe.ddl", "weather.ddl", "units.ddl")

TOKEN = re.compile(
    r'#[^\n]*|(?:[A-Za-z_][A-Za-z0-9_]*::)?[A-Za-z_][A-Za-z0-9_]*\(|\{[0-9]+(?:,[0-9]*)?\}|\.\.|->|::|==|!=|<=|>=|'
    r'\+\+|\?\?|=>|"(?:\\.|[^"\\\n])*"|\[(?:\\.|[^\]\\\n])*\]|[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+)?|\S'
)
SOUP = [
    "family", "f", "{", "}", "(", ")", "[", "]", ",", ":", ";", "=", "=>", "->", "..", ".", "::", "param",
    "x", "Int", "in", "0", "1", "-", "+", "*", "/", "%", "++", "??", "==", "<", ">=", "and", "or", "not",
    "let", "if", "then", "else", "match", "_", "some", "none", "true", "for", "grammar", "rule", "program",
    "example", "ensures", "teach", "priority", "type", "enum", "table", "fn", "Text", "List", "Map",
    "Option", "Decimal", "max", "pattern", "|", "&", "~", "?", "*", "{2,3}", "{1000}", "[a-z]", "[^ ]",
    '"s"', '"${x}"', '"${"', "2.50", "T::a", "any_order(", "number(", "{:}", "\n", "\x00",
]
NUMBERS = ["0", "-1", "1", "7", "1000", "1001", "99999999999999999999", "0.001", "9" * 999]


def example_texts(names: tuple[str, ...] | None) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in EXAMPLES if names is None or p.name in names]


def random_source(rng: random.Random, *, surrogates: bool = True) -> str | bytes:
    """Random bytes, or random text over syntax characters and all of Unicode (lone surrogates
    only when ``surrogates``)."""
    size = rng.choice([0, 1, 10, 100, 1000])
    if rng.random() < 0.3:
        return bytes(rng.randrange(256) for _ in range(size))
    alphabet = '{}[]()"\\$#\n\r\t\x00:;=|.-~&?*+0123456789 family param grammar program'
    chars = []
    for _ in range(size):
        roll = rng.random()
        if roll < 0.7:
            chars.append(rng.choice(alphabet))
        elif roll < 0.95:
            chars.append(chr(rng.randrange(0x20, 0x3000)))
        else:
            special = [0xFFFE, 0x10FFFF, rng.randrange(0x110000)] + ([0xD800, 0xDFFF] if surrogates else [])
            point = rng.choice(special)
            chars.append(chr(point) if surrogates or not 0xD800 <= point <= 0xDFFF else "?")
    return "".join(chars)


def token_soup(rng: random.Random) -> str:
    sep = rng.choice([" ", "", "\n"])
    return sep.join(rng.choice(SOUP) for _ in range(rng.randrange(0, 80)))


def mutated(rng: random.Random, sources: list[str]) -> str | bytes:
    """A real program with 1–4 token mutations (or, one time in five, byte flips)."""
    source = rng.choice(sources)
    if rng.random() < 0.2:
        data = bytearray(source.encode("utf-8"))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            action = rng.choice(["flip", "insert", "delete"])
            if action == "flip":
                data[at] ^= 1 << rng.randrange(8)
            elif action == "insert":
                data.insert(at, rng.randrange(256))
            else:
                del data[at]
        return bytes(data)
    tokens = [t for t in TOKEN.findall(source) if not t.startswith("#")]
    names = sorted({t for t in tokens if t[:1].isalpha() and t[-1] != "("})
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(tokens))
        action = rng.choice(["delete", "duplicate", "name", "number", "swap", "soup"])
        if action == "delete":
            del tokens[i]
        elif action == "duplicate":
            tokens.insert(i, tokens[i])
        elif action == "name":
            tokens[i] = rng.choice(names)
        elif action == "number":
            tokens[i] = rng.choice(NUMBERS)
        elif action == "soup":
            tokens[i] = rng.choice(SOUP)
        else:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
    return " ".join(tokens)


# ------------------------------------------------------------------ hostile grammars and types

WORDS = ["red", "green", "blue", "one", "two", "three", "please", "now", "big", "small", "north", "south"]


def family_source(grammar: str, *, params: str = "  param n : Int in 1..9\n", program: str = '"n=${n}"') -> str:
    """A family around ``grammar`` (no example: the grammar, not the examples, is under test)."""
    return (
        "family hostile {\n"
        '  "A family built to be expensive to check."\n'
        f"{params}"
        f"  grammar {{\n    {grammar}\n  }}\n"
        f"  program -> Text = {program}\n"
        "}\n"
    )


def _repetitions(rng: random.Random, big: bool) -> str:
    """Nested bounded repetitions: ("ab"{m}){n}… — up to 1000^k copies when expanded."""
    inner = rng.choice(['"a"', '"ab"', "[a-z]", ".", '("x" | "yy")', '" "?'])
    top = 1000 if big else 40
    for _ in range(rng.randint(1, 4 if big else 3)):
        low = rng.choice([0, 1, 2, 10, top - 1, top])
        high = rng.choice([low, top, low + 1])
        bound = rng.choice([f"{{{low}}}", f"{{{low},{high}}}", f"{{{low},}}", "*", "+", "?"])
        inner = f"({inner}){bound}"
    where = rng.random()
    if where < 0.4:  # in a Text parameter's pattern
        return family_source('"say " t " " n', params=f"  param t : Text(pattern {inner})\n  param n : Int in 1..9\n",
                             program='"${t} ${n}"')
    return family_source(f'{inner} " " n')


def _any_order(rng: random.Random, big: bool) -> str:
    """any_order groups of many parts, nested: the language has k! orders per level."""

    def group(depth: int) -> str:
        parts = []
        for _ in range(rng.randint(2, 9 if big else 5)):
            part = group(depth - 1) if depth > 0 and rng.random() < 0.4 else f'"{rng.choice(WORDS)}{rng.randrange(99)}"'
            parts.append(part + ("?" if rng.random() < 0.4 else ""))
        sep = rng.choice(["", ', sep = " "', ', sep = ", " | " and "', ', sep = " "+'])
        return f"any_order({', '.join(parts)}{sep})"

    top = group(rng.randint(1, 3) if big else rng.randint(0, 1))
    return family_source(f'{top} " " n' if rng.random() < 0.7 else f'any_order({top}, n)')


def _char_class(rng: random.Random, big: bool) -> str:
    """Classes of thousands of code points across Unicode, negated, intersected, repeated."""

    def one_class() -> str:
        items = []
        for _ in range(rng.choice([10, 500, 3000] if big else [10, 100, 400])):
            a = rng.randrange(0x21, 0x2FFFF)
            while 0xD800 <= a <= 0xDFFF:
                a = rng.randrange(0x21, 0x2FFFF)
            char = chr(a)
            if char in "\\]-^[":
                char = "\\" + char
            if rng.random() < 0.3:
                b = min(a + rng.randrange(1, 50), 0xD7FF if a < 0xD800 else 0x10FFFF)
                end = chr(b)
                if end in "\\]-^[":
                    end = "\\" + end
                items.append(f"{char}-{end}")
            else:
                items.append(char)
        return "[" + ("^" if rng.random() < 0.3 else "") + "".join(items) + "]"

    classes = [one_class() for _ in range(rng.randint(1, 4))]
    op = rng.choice([" & ", " | ", " "])
    body = "(" + op.join(classes) + ")" + rng.choice(["", "+", "{1,1000}" if big else "{1,20}", "*"])
    return family_source(f'{body} " " n')


def _complements(rng: random.Random, big: bool) -> str:
    """Towers of complement and intersection (each a determinization)."""
    regex = rng.choice(['"a"', '[a-c]+', '"ab"*', '. .', '"x" [0-9]{1,3}'])
    for _ in range(rng.randint(2, 12 if big else 6)):
        other = rng.choice(['"a"', '[^a]', '.*"b".*', '[a-z]{3}', '("c" | "dd")+', '.{2,40}'])
        regex = rng.choice([f"~({regex})", f"({regex}) & ({other})", f"({regex}) & ~({other})",
                            f"({regex}) | ({other})", f"({regex}) ({other})"])
    return family_source(f'({regex}) " " n')


def _alternatives(rng: random.Random, big: bool) -> str:
    """Thousands of literal alternatives (a trie of them), or one very long literal."""
    if rng.random() < 0.3:
        text = "".join(rng.choice("abcdefgh ") for _ in range(rng.choice([10_000, 200_000] if big else [2000])))
        return family_source(f'"{text}" " " n')
    count = rng.choice([100, 2000, 20_000] if big else [100, 1000])
    words = " | ".join(f'"w{i}{rng.choice(WORDS)}"' for i in range(count))
    return family_source(f'({words}) " " n')


def _depth(rng: random.Random, big: bool) -> str:
    """Nesting at, just past and far past the depth limit, in a grammar or a program."""
    depth = rng.choice([50, 150, 199, 200, 201, 1000] + ([50_000] if big else []))
    if rng.random() < 0.5:
        op = rng.choice(["(", "~(", '("a" '])
        close = {"(": ")", "~(": ")", '("a" ': ")"}[op]
        return family_source(op * depth + '"z"' + close * depth + ' " " n')
    expr = "1" + " + 1" * depth if rng.random() < 0.5 else "[" * depth + "n" + "]" * depth
    return family_source('"go " n', program=f'"${{{expr}}}"' if expr.startswith("1") else f'"${{len({expr})}}"')


def _wide_types(rng: random.Random, big: bool) -> str:
    """Θ built to be large: an enum of thousands of variants, many parameters, huge ranges."""
    roll = rng.random()
    if roll < 0.4:
        variants = ", ".join(f"v{i}" for i in range(rng.choice([100, 3000, 20_000] if big else [100, 1000])))
        family = family_source('"pick " big " " n', params="  param big : Big\n  param n : Int in 1..9\n",
                               program='"${big} ${n}"')
        return "enum Big { " + variants + " }\n" + family
    if roll < 0.7:
        count = rng.choice([5, 12, 30] if big else [5, 12])
        params = "".join(f"  param p{i} : Int in 0..{rng.choice([1, 9, 999])}\n" for i in range(count))
        grammar = ' " " '.join(f"p{i}" for i in range(count))
        program = '"' + "".join(f"${{p{i}}}" for i in range(count)) + '"'
        return family_source(grammar, params=params, program=program)
    low, high = rng.choice([(0, 10**9), (-(10**18), 10**18), (1, 10**999)])
    return family_source('"n " n', params=f"  param n : Int in {low}..{high}\n", program='"${n * n * n}"')


HOSTILE: dict[str, Callable[[random.Random, bool], str]] = {
    "repetition": _repetitions,
    "any_order": _any_order,
    "char_class": _char_class,
    "complement": _complements,
    "alternatives": _alternatives,
    "depth": _depth,
    "wide_types": _wide_types,
}


def hostile(rng: random.Random, kind: str | None = None, *, big: bool = True) -> tuple[str, str]:
    """(kind, source) of a hostile family; ``big=False`` keeps the sizes to those whose check takes
    seconds at most (the CI suite; bench/soak.py draws the big ones)."""
    kind = kind or rng.choice(sorted(HOSTILE))
    return kind, HOSTILE[kind](rng, big)


def draw(rng: random.Random, sources: list[str]) -> tuple[str, str | bytes]:
    """(kind, source): one input of any kind, at full size."""
    roll = rng.random()
    if roll < 0.15:
        return "random", random_source(rng)
    if roll < 0.3:
        return "soup", token_soup(rng)
    if roll < 0.7:
        return "mutated", mutated(rng, sources)
    return hostile(rng)


def check_outcome(source: str | bytes, path: str) -> str | None:
    """Check ``source`` as if it lived at ``path``; None when the front end behaved (a result,
    with catalogued diagnostics only), else a description of the crash."""
    from ddl.api import check_source  # deferred: tests/ helpers load the language only when used
    from ddl.errors import CATALOGUE  # deferred: as above

    try:
        result = check_source(source, path)
        for finding in result.findings:
            diagnostic = finding.diagnostic
            if diagnostic.code == "DDL999" or diagnostic.code not in CATALOGUE:
                return f"{diagnostic.code}: {diagnostic.message}"
            diagnostic.render(result.sources)
    except Exception:  # the one thing the front end must never do
        return traceback.format_exc(limit=-6)
    return None
