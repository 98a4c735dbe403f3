"""Sets of Unicode code points as sorted, disjoint ranges.

A :class:`CharSet` is an immutable, hashable set of code points in
``[0, 0x10FFFF]``.  Internally it is a flat tuple of *boundaries*
``(lo0, hi0 + 1, lo1, hi1 + 1, ...)``: strictly increasing, half-open, with
adjacent ranges merged.  That normal form makes equality structural, makes
membership one ``bisect`` (a code point is inside iff an odd number of
boundaries are ``<=`` it) and turns every Boolean operation into one linear
merge of two boundary lists.  Nothing is ever expanded to one entry per code
point, so the complement of ``"abc"`` is three ranges, not a million points.

Code points are the whole range ``[0, 0x10FFFF]`` including the surrogates
``D800–DFFF``: Python strings may contain them, so the complement of a set is
taken over all of them.  When a single character has to be *chosen* from a set
(witnesses, sampling order) we prefer visible ASCII, then the space, then the
smallest code point (:meth:`CharSet.pick`), so witnesses are readable.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import Union

MAX_CODE_POINT = 0x10FFFF
_END = MAX_CODE_POINT + 1

CharLike = Union[str, int]


def _cp(c: CharLike) -> int:
    if isinstance(c, int):
        if not 0 <= c <= MAX_CODE_POINT:
            raise ValueError(f"code point out of range: {c:#x}")
        return c
    if len(c) != 1:
        raise ValueError(f"expected a single character, got {c!r}")
    return ord(c)


def _merge(a: tuple[int, ...], b: tuple[int, ...], op: int) -> tuple[int, ...]:
    """Combine two boundary lists with a Boolean operation.

    ``op`` is a 4-bit truth table indexed by ``in_a | in_b << 1``
    (union = 0b1110, intersection = 0b1000, difference = 0b0010, xor = 0b0110).
    """
    out: list[int] = []
    i = j = 0
    ina = inb = 0
    inside = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        if j >= lb or (i < la and a[i] < b[j]):
            x = a[i]
            i += 1
            ina ^= 1
        elif i >= la or b[j] < a[i]:
            x = b[j]
            j += 1
            inb ^= 1
        else:
            x = a[i]
            i += 1
            j += 1
            ina ^= 1
            inb ^= 1
        now = (op >> (ina | inb << 1)) & 1
        if now != inside:  # boundaries arrive strictly increasing, so this stays normal form
            out.append(x)
            inside = now
    return tuple(out)


class CharSet:
    """An immutable set of code points stored as sorted disjoint ranges."""

    __slots__ = ("_b", "_hash")

    _b: tuple[int, ...]
    _hash: int

    def __init__(self, boundaries: tuple[int, ...] = ()) -> None:
        # Trusted constructor: callers pass a normal-form boundary tuple.
        object.__setattr__(self, "_b", boundaries)
        object.__setattr__(self, "_hash", hash(boundaries))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CharSet is immutable")

    # ------------------------------------------------------------ constructors

    @classmethod
    def empty(cls) -> CharSet:
        return _EMPTY

    @classmethod
    def any(cls) -> CharSet:
        """Every code point, ``[0, 0x10FFFF]``."""
        return _ANY

    @classmethod
    def from_ranges(cls, ranges: Iterable[tuple[CharLike, CharLike]]) -> CharSet:
        """From inclusive ``(lo, hi)`` pairs of characters or code points, in any order."""
        pairs = sorted((_cp(lo), _cp(hi)) for lo, hi in ranges)
        out: list[int] = []
        for lo, hi in pairs:
            if lo > hi:
                raise ValueError(f"bad range {lo:#x}-{hi:#x}")
            if out and lo <= out[-1]:
                if hi + 1 > out[-1]:
                    out[-1] = hi + 1
            else:
                out.append(lo)
                out.append(hi + 1)
        return cls(tuple(out))

    @classmethod
    def from_chars(cls, chars: Iterable[CharLike]) -> CharSet:
        """From individual characters (a string works) or code points."""
        return cls.from_ranges((c, c) for c in chars)

    @classmethod
    def char(cls, c: CharLike) -> CharSet:
        x = _cp(c)
        return cls((x, x + 1))

    @classmethod
    def range(cls, lo: CharLike, hi: CharLike) -> CharSet:
        return cls.from_ranges([(lo, hi)])

    @classmethod
    def from_boundaries(cls, boundaries: Iterable[int]) -> CharSet:
        """From a boundary list (strictly increasing, even length); validated."""
        b = tuple(boundaries)
        if len(b) % 2 or any(x >= y for x, y in zip(b, b[1:])) or (b and (b[0] < 0 or b[-1] > _END)):
            raise ValueError("boundaries must be strictly increasing, even in number, within [0, 0x110000]")
        return cls(b)

    # ------------------------------------------------------------ inspection

    @property
    def boundaries(self) -> tuple[int, ...]:
        return self._b

    def ranges(self) -> tuple[tuple[int, int], ...]:
        """Inclusive ``(lo, hi)`` code-point ranges, ascending."""
        b = self._b
        return tuple((b[i], b[i + 1] - 1) for i in range(0, len(b), 2))

    def size(self) -> int:
        """Number of code points."""
        b = self._b
        return sum(b[i + 1] - b[i] for i in range(0, len(b), 2))

    def __len__(self) -> int:
        return self.size()

    def __bool__(self) -> bool:
        return bool(self._b)

    def is_empty(self) -> bool:
        return not self._b

    def is_any(self) -> bool:
        return self._b == (0, _END)

    def __contains__(self, c: object) -> bool:
        if isinstance(c, str):
            if len(c) != 1:
                return False
            x = ord(c)
        elif isinstance(c, int):
            x = c
        else:
            return False
        return bisect_right(self._b, x) & 1 == 1

    def __iter__(self) -> Iterator[str]:
        """Every character, ascending (beware: may be a million of them)."""
        b = self._b
        for i in range(0, len(b), 2):
            for x in range(b[i], b[i + 1]):
                yield chr(x)

    def min(self) -> int:
        if not self._b:
            raise ValueError("empty CharSet has no minimum")
        return self._b[0]

    def nth(self, index: int) -> int:
        """The ``index``-th code point in ascending order."""
        b = self._b
        for i in range(0, len(b), 2):
            width = b[i + 1] - b[i]
            if index < width:
                return b[i] + index
            index -= width
        raise IndexError("CharSet index out of range")

    def pick(self, index: int = 0) -> str:
        """The ``index``-th character in *preference order*.

        Preference order lists visible ASCII (``!``..``~``) first, then the space,
        then every other code point ascending; ``pick(0)`` is the representative
        used for witnesses.  Each index in ``range(size())`` maps to a distinct
        character, which makes uniform sampling and unranking straightforward.
        """
        for part in self._pref_parts():
            n = part.size()
            if index < n:
                return chr(part.nth(index))
            index -= n
        raise IndexError("CharSet index out of range")

    def representative(self) -> str:
        """``pick(0)``: the smallest visible ASCII member, else space, else the smallest member."""
        b = self._b
        if not b:
            raise IndexError("empty CharSet has no representative")
        space = False
        for i in range(0, len(b), 2):
            lo, hi = b[i], b[i + 1]
            if lo >= 0x7F:
                break
            if hi > 0x21:
                return chr(max(lo, 0x21))
            if lo <= 0x20 < hi:
                space = True
        return " " if space else chr(b[0])

    def pref_key(self) -> tuple[int, int]:
        """Sort key that puts sets with nicer representatives first."""
        if not self._b:
            return (3, 0)
        vis = self & _VISIBLE
        if vis:
            return (0, vis.min())
        if 0x20 in self:
            return (1, 0x20)
        return (2, self.min())

    def _pref_parts(self) -> tuple[CharSet, CharSet, CharSet]:
        return (self & _VISIBLE, self & _SPACE, self - _PRINTABLE)

    # ------------------------------------------------------------ algebra

    def union(self, *others: CharSet) -> CharSet:
        r = self._b
        for o in others:
            r = _merge(r, o._b, 0b1110)
        return CharSet(r)

    def intersection(self, *others: CharSet) -> CharSet:
        r = self._b
        for o in others:
            r = _merge(r, o._b, 0b1000)
        return CharSet(r)

    def difference(self, other: CharSet) -> CharSet:
        return CharSet(_merge(self._b, other._b, 0b0010))

    def symmetric_difference(self, other: CharSet) -> CharSet:
        return CharSet(_merge(self._b, other._b, 0b0110))

    def complement(self) -> CharSet:
        """Every code point in ``[0, 0x10FFFF]`` not in this set."""
        b = list(self._b)
        if b and b[0] == 0:
            b.pop(0)
        else:
            b.insert(0, 0)
        if b and b[-1] == _END:
            b.pop()
        else:
            b.append(_END)
        return CharSet(tuple(b))

    def isdisjoint(self, other: CharSet) -> bool:
        return not _merge(self._b, other._b, 0b1000)

    def issubset(self, other: CharSet) -> bool:
        return not _merge(self._b, other._b, 0b0010)

    __or__ = union
    __and__ = intersection
    __sub__ = difference
    __xor__ = symmetric_difference
    __le__ = issubset

    def __invert__(self) -> CharSet:
        return self.complement()

    # ------------------------------------------------------------ dunder

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharSet) and self._b == other._b

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: CharSet) -> bool:
        return self._b < other._b

    def __repr__(self) -> str:
        return f"CharSet({self.to_class()!r})"

    def __reduce__(self) -> tuple[type[CharSet], tuple[tuple[int, ...]]]:
        return (CharSet, (self._b,))

    def to_class(self) -> str:
        """A regex character class for this set (``[^...]`` when shorter)."""
        if not self._b:
            return "[^\\x00-\\U0010ffff]"
        if self.is_any():
            return "[\\x00-\\U0010ffff]"
        if len(self._b) == 2 and self._b[1] - self._b[0] == 1:
            return escape_char(chr(self._b[0]))
        comp = self.complement()
        if len(comp._b) < len(self._b):
            return "[^" + comp._class_body() + "]"
        return "[" + self._class_body() + "]"

    def _class_body(self) -> str:
        parts: list[str] = []
        for lo, hi in self.ranges():
            if lo == hi:
                parts.append(escape_class_char(chr(lo)))
            elif hi == lo + 1:
                parts.append(escape_class_char(chr(lo)) + escape_class_char(chr(hi)))
            else:
                parts.append(escape_class_char(chr(lo)) + "-" + escape_class_char(chr(hi)))
        return "".join(parts)


_SPECIAL = set("\\.^$|?*+()[]{}&~-#")
_CLASS_SPECIAL = set("\\]^-[&~|")


def _escape_code(c: str) -> str:
    x = ord(c)
    if x < 0x100:
        return f"\\x{x:02x}"
    if x < 0x10000:
        return f"\\u{x:04x}"
    return f"\\U{x:08x}"


def escape_char(c: str) -> str:
    """A character as a regex literal outside classes (Python ``re`` syntax)."""
    if c in _SPECIAL:
        return "\\" + c
    if not c.isprintable() or c.isspace() or 0xD800 <= ord(c) <= 0xDFFF:
        return _escape_code(c)
    return c


def escape_class_char(c: str) -> str:
    """A character inside ``[...]`` (Python ``re`` syntax)."""
    if c in _CLASS_SPECIAL:
        return "\\" + c
    if not c.isprintable() or c.isspace() or 0xD800 <= ord(c) <= 0xDFFF:
        return _escape_code(c)
    return c


_EMPTY = CharSet(())
_ANY = CharSet((0, _END))
_VISIBLE = CharSet((0x21, 0x7F))
_SPACE = CharSet((0x20, 0x21))
_PRINTABLE = CharSet((0x20, 0x7F))

#: ``\d`` (ASCII digits), ``\w`` (ASCII word characters), ``\s`` (ASCII white space).
DIGIT = CharSet.range("0", "9")
WORD = CharSet.from_ranges([("0", "9"), ("A", "Z"), ("_", "_"), ("a", "z")])
SPACE = CharSet.from_chars(" \t\n\r\f\v")
#: ``.``: any code point except the newline (as in Python ``re`` without DOTALL).
DOT = CharSet.char("\n").complement()
