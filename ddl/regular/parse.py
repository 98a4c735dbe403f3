"""A parser from conventional regex syntax to the engine's AST.

The accepted syntax is the regular subset of Python ``re``:

* literals and escapes: ``\\\\ \\. \\n \\t \\r \\f \\v \\a \\0 \\xhh \\uhhhh \\Uhhhhhhhh \\N{NAME}``;
* classes ``[...]`` with ranges, negation ``[^...]`` and ``\\d \\w \\s \\D \\W \\S`` inside;
* ``.`` (any character but newline; any character with ``(?s)``);
* ``\\d \\w \\s`` are **ASCII** (``[0-9]``, ``[A-Za-z0-9_]``, ``[ \\t\\n\\r\\f\\v]``) and the
  upper-case forms their complements over all of Unicode;
* groups ``( )`` (grouping only: only *named* groups capture), ``(?:...)``,
  ``(?P<name>...)``, comments ``(?#...)``, flags ``(?i)``/``(?s)``/``(?a)`` at the
  start and scoped ``(?i:...)``;
* alternation ``|``; quantifiers ``? * + {m} {m,} {,n} {m,n}``, lazy with a
  trailing ``?``; ``{`` that does not start a valid quantifier is a literal (as in ``re``);
* ``^``/``\\A`` at the very start and ``$``/``\\Z`` at the very end (no-ops: the
  engine always matches whole strings).

With ``extended=True`` two operators beyond ``re`` are available: ``a&b``
(intersection; binds tighter than ``|``, looser than concatenation) and the
prefix ``~a`` (complement over all of Unicode; applies to the following
quantified atom, so ``~ab`` is ``(~a)b`` and ``~(ab)`` complements the pair).

Backreferences, lookaround, word boundaries and possessive quantifiers are not
regular (or not supported) and raise :class:`RegexSyntaxError`.
"""

from __future__ import annotations

import sys
import unicodedata

from ddl.regular.ast import (
    EMPTY,
    EPSILON,
    Capture,
    Chars,
    Complement,
    Regex,
    Repeat,
    alt,
    case_closure,
    inter,
    seq,
)
from ddl.regular.charset import DIGIT, DOT, SPACE, WORD, CharSet
from ddl.regular.errors import DEFAULT_LIMITS, Limits, RegexSyntaxError, RegexTooLarge

_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_CLASS_ESCAPES = {"d": DIGIT, "w": WORD, "s": SPACE, "D": ~DIGIT, "W": ~WORD, "S": ~SPACE}

# The parser and the automata recurse once per nesting level (about six frames per level through
# alternation, intersection, sequence, postfix and atom); a regex at the nesting limit must reach the
# RegexTooLarge check, not Python's recursion limit.  The facade raises the limit for the same reason.
if sys.getrecursionlimit() < 8 * DEFAULT_LIMITS.max_depth + 1_000:
    sys.setrecursionlimit(8 * DEFAULT_LIMITS.max_depth + 1_000)


def parse(
    pattern: str,
    *,
    extended: bool = False,
    dotall: bool = False,
    ignorecase: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Regex:
    """Parse ``pattern`` into a regex AST (see the module docstring for the syntax)."""
    return _Parser(pattern, extended, dotall, ignorecase, limits).parse()


class _Parser:
    def __init__(self, pattern: str, extended: bool, dotall: bool, ignorecase: bool, limits: Limits) -> None:
        self.src = pattern
        self.pos = 0
        self.extended = extended
        self.dotall = dotall
        self.icase = ignorecase
        self.limits = limits
        self.depth = 0

    # ------------------------------------------------------------ helpers

    def error(self, msg: str, pos: int | None = None) -> RegexSyntaxError:
        return RegexSyntaxError(msg, self.src, self.pos if pos is None else pos)

    def peek(self) -> str | None:
        return self.src[self.pos] if self.pos < len(self.src) else None

    def take(self) -> str:
        if self.pos >= len(self.src):
            raise self.error("unexpected end of pattern")
        c = self.src[self.pos]
        self.pos += 1
        return c

    def eat(self, s: str) -> bool:
        if self.src.startswith(s, self.pos):
            self.pos += len(s)
            return True
        return False

    def chars(self, cs: CharSet) -> Regex:
        if self.icase:
            cs = case_closure(cs)
        return Chars(cs) if cs else EMPTY

    # ------------------------------------------------------------ grammar

    def parse(self) -> Regex:
        self.eat("^") or self.eat("\\A")
        self.leading_flags()
        node = self.alternation()
        if self.pos < len(self.src):
            if self.peek() == ")":
                raise self.error("unbalanced parenthesis")
            raise self.error("unexpected character")
        return node

    def leading_flags(self) -> None:
        # Global inline flags, as Python requires them: at the start of the pattern.
        while self.src.startswith("(?", self.pos):
            j = self.pos + 2
            flags = ""
            while j < len(self.src) and self.src[j] in "isa":
                flags += self.src[j]
                j += 1
            if not flags or j >= len(self.src) or self.src[j] != ")":
                return
            self.apply_flags(flags)
            self.pos = j + 1

    def apply_flags(self, flags: str) -> None:
        if "i" in flags:
            self.icase = True
        if "s" in flags:
            self.dotall = True

    def alternation(self) -> Regex:
        items = [self.intersection()]
        while self.eat("|"):
            items.append(self.intersection())
        return alt(*items) if len(items) > 1 else items[0]

    def intersection(self) -> Regex:
        items = [self.concatenation()]
        while self.extended and self.eat("&"):
            items.append(self.concatenation())
        return inter(*items)

    def concatenation(self) -> Regex:
        items: list[Regex] = []
        while True:
            c = self.peek()
            if c is None or c in "|)" or (self.extended and c == "&"):
                break
            if c == "$" and self.pos == len(self.src) - 1:
                self.pos += 1
                break
            if self.src.startswith("\\Z", self.pos) and self.pos == len(self.src) - 2:
                self.pos += 2
                break
            items.append(self.unary())
        return seq(*items) if items else EPSILON

    def unary(self) -> Regex:
        if self.extended and self.peek() == "~":
            self.pos += 1
            self.enter()
            inner = self.unary()
            self.depth -= 1
            return Complement(inner)
        return self.quantified()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise RegexTooLarge(f"regex nesting deeper than {self.limits.max_depth}")

    def quantified(self) -> Regex:
        start = self.pos
        node = self.atom()
        quantified = False
        while True:
            c = self.peek()
            here = self.pos
            if c in ("*", "+", "?"):
                self.pos += 1
                lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            elif c == "{":
                bounds = self.braces()
                if bounds is None:
                    break
                lo, hi = bounds
            else:
                break
            if quantified:
                raise self.error("multiple repeat", here)
            if node is None:
                raise self.error("nothing to repeat", here)
            greedy = not self.eat("?")
            if self.peek() == "+":
                raise self.error("possessive quantifiers are not supported")
            node = Repeat(node, lo, hi, greedy)
            quantified = True
        if node is None:
            raise self.error("nothing to repeat", start)
        return node

    def braces(self) -> tuple[int, int | None] | None:
        """Parse ``{m}``, ``{m,}``, ``{,n}``, ``{m,n}``; ``None`` if this ``{`` is a literal."""
        here = self.pos
        self.pos += 1
        lo = hi = ""
        while (c := self.peek()) is not None and c.isascii() and c.isdigit():
            lo += self.take()
        if self.eat(","):
            while (c := self.peek()) is not None and c.isascii() and c.isdigit():
                hi += self.take()
            comma = True
        else:
            hi = lo
            comma = False
        if not self.eat("}") or (not lo and not comma):
            self.pos = here
            return None
        low = int(lo) if lo else 0
        high = int(hi) if hi else None
        if high is not None and high < low:
            raise self.error("min repeat greater than max repeat", here)
        return low, high

    def atom(self) -> Regex | None:
        c = self.take()
        if c == "(":
            return self.group()
        if c == "[":
            return self.chars(self.char_class())
        if c == ".":
            return self.chars(CharSet.any() if self.dotall else DOT)
        if c == "\\":
            return self.escape()
        if c in "*+?":
            raise self.error("nothing to repeat", self.pos - 1)
        if c == "{":
            self.pos -= 1
            if self.braces() is not None:
                raise self.error("nothing to repeat")
            self.pos += 1
            return self.chars(CharSet.char("{"))
        if c == ")":
            raise self.error("unbalanced parenthesis", self.pos - 1)
        if c == "^":
            raise self.error("'^' is only supported at the start of the pattern", self.pos - 1)
        if c == "$":
            raise self.error("'$' is only supported at the end of the pattern", self.pos - 1)
        return self.chars(CharSet.char(c))

    def group(self) -> Regex:
        open_pos = self.pos - 1
        name: str | None = None
        saved = (self.icase, self.dotall)
        if self.eat("?"):
            if self.eat(":"):
                pass
            elif self.eat("P<"):
                end = self.src.find(">", self.pos)
                if end < 0:
                    raise self.error("missing >, unterminated name")
                name = self.src[self.pos : end]
                if not name.isidentifier():
                    raise self.error(f"bad character in group name {name!r}")
                self.pos = end + 1
            elif self.eat("#"):
                end = self.src.find(")", self.pos)
                if end < 0:
                    raise self.error("missing ), unterminated comment")
                self.pos = end + 1
                return EPSILON
            elif (
                self.peek() in ("=", "!") or self.src.startswith("<=", self.pos) or self.src.startswith("<!", self.pos)
            ):
                raise self.error("lookaround assertions are not supported", open_pos)
            elif self.src.startswith("P=", self.pos):
                raise self.error("backreferences are not supported", open_pos)
            else:
                flags = ""
                while (c := self.peek()) is not None and c in "isa":
                    flags += self.take()
                if not flags or not self.eat(":"):
                    if flags and self.peek() == ")":
                        raise self.error("global flags not at the start of the expression", open_pos)
                    raise self.error("unknown extension", open_pos)
                self.apply_flags(flags)
        self.enter()
        inner = self.alternation()
        self.depth -= 1
        self.icase, self.dotall = saved
        if not self.eat(")"):
            raise self.error("missing ), unterminated subpattern", open_pos)
        return Capture(name, inner) if name is not None else inner

    def escape(self) -> Regex:
        start = self.pos - 1
        c = self.take()
        if c in _CLASS_ESCAPES:
            return self.chars(_CLASS_ESCAPES[c])
        if c in "bB":
            raise self.error("word boundaries are not supported", start)
        if c == "A" or c == "Z":
            raise self.error(f"\\{c} is only supported at the start/end of the pattern", start)
        if c.isdigit() and c != "0":
            raise self.error("backreferences are not supported", start)
        return self.chars(CharSet.char(self.escaped_char(c, start)))

    def escaped_char(self, c: str, start: int) -> str:
        """The character denoted by the escape whose letter ``c`` was just read."""
        if c in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[c]
        if c == "0":
            digits = ""
            while len(digits) < 2 and (d := self.peek()) is not None and d in "01234567":
                digits += self.take()
            return chr(int("0" + digits, 8))
        if c in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[c]
            digits = self.src[self.pos : self.pos + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.error(f"incomplete escape \\{c}{digits}", start)
            self.pos += width
            cp = int(digits, 16)
            if cp > 0x10FFFF:
                raise self.error(f"bad escape \\{c}{digits}", start)
            return chr(cp)
        if c == "N":
            if not self.eat("{"):
                raise self.error("missing {", start)
            end = self.src.find("}", self.pos)
            if end < 0:
                raise self.error("missing }, unterminated name", start)
            name = self.src[self.pos : end]
            try:
                ch = unicodedata.lookup(name)
            except KeyError:
                raise self.error(f"undefined character name {name!r}", start) from None
            self.pos = end + 1
            return ch
        if c.isascii() and c.isalnum():
            raise self.error(f"bad escape \\{c}", start)
        return c

    def char_class(self) -> CharSet:
        open_pos = self.pos - 1
        negate = self.eat("^")
        acc: list[CharSet] = []
        first = True
        while True:
            if self.pos >= len(self.src):
                raise self.error("unterminated character set", open_pos)
            c = self.take()
            if c == "]" and not first:
                break
            first = False
            lo_set: CharSet | None = None
            if c == "\\":
                e = self.take()
                if e in _CLASS_ESCAPES:
                    lo_set = _CLASS_ESCAPES[e]
                    lo = ""
                elif e == "b":
                    lo = "\b"
                else:
                    lo = self.escaped_char(e, self.pos - 2)
            else:
                lo = c
            if self.peek() == "-" and self.pos + 1 < len(self.src) and self.src[self.pos + 1] != "]":
                range_pos = self.pos
                self.pos += 1
                d = self.take()
                if d == "\\":
                    e = self.take()
                    if e in _CLASS_ESCAPES or lo_set is not None:
                        raise self.error("bad character range", range_pos)
                    hi = "\b" if e == "b" else self.escaped_char(e, self.pos - 2)
                else:
                    hi = d
                if lo_set is not None:
                    raise self.error("bad character range", range_pos)
                if ord(hi) < ord(lo):
                    raise self.error(f"bad character range {lo}-{hi}", range_pos)
                acc.append(CharSet.range(lo, hi))
            else:
                acc.append(lo_set if lo_set is not None else CharSet.char(lo))
        cs = CharSet.empty().union(*acc)
        if negate:
            # re negates after case folding; fold first so (?i)[^a] excludes 'A' too.
            if self.icase:
                cs = case_closure(cs)
            return cs.complement()
        return cs


def chars(spec: str | CharSet) -> Chars:
    """One character: from a CharSet or a class body such as ``"a-z0-9_"``."""
    if isinstance(spec, CharSet):
        return Chars(spec)
    node = parse("[" + spec + "]")
    assert isinstance(node, Chars)
    return node
