"""Immutable runtime values and their JSON form.

Representation (chosen for speed and immutability):

==========  ============================================
DDL type    Python value
==========  ============================================
Bool        ``bool``
Int         ``int``
Decimal(s)  ``decimal.Decimal`` quantized to scale s
Text        ``str``
enum        :class:`EnumV`
record      :class:`RecordV` (fields in declaration order)
List        ``pyrsistent.PVector``
Map         ``pyrsistent.PMap``
Option      :class:`SomeV` or the singleton :data:`NONE`
==========  ============================================

JSON form: Decimal becomes a string with its fixed scale (``"12.50"``, lossless);
an enum becomes its variant name; a map becomes an object with keys in sorted
order (text keys as is, other keys shown); ``none`` becomes ``null``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Union

import attrs
from pyrsistent import PMap, PVector, pmap, pvector


@attrs.frozen
class EnumV:
    enum: str
    name: str
    display: str

    def __str__(self) -> str:
        return self.name


@attrs.frozen
class RecordV:
    type_name: str
    fields: tuple[tuple[str, Value], ...]

    def get(self, name: str) -> Value:
        for fname, value in self.fields:
            if fname == name:
                return value
        raise KeyError(name)


@attrs.frozen
class SomeV:
    value: Value


@attrs.frozen
class NoneV:
    def __repr__(self) -> str:
        return "NONE"


NONE = NoneV()

Value = Union[bool, int, Decimal, str, EnumV, RecordV, PVector, PMap, SomeV, NoneV]  # type: ignore[type-arg]


def to_json(value: Value) -> Any:
    """Plain JSON-able Python data for a runtime value."""
    if isinstance(value, bool) or isinstance(value, int) or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, EnumV):
        return value.name
    if isinstance(value, RecordV):
        return {name: to_json(v) for name, v in value.fields}
    if isinstance(value, PVector):
        return [to_json(v) for v in value]
    if isinstance(value, PMap):
        items = sorted(((json_key(k), to_json(v)) for k, v in value.items()), key=lambda kv: kv[0])
        return dict(items)
    if isinstance(value, SomeV):
        return to_json(value.value)
    if isinstance(value, NoneV):
        return None
    raise TypeError(f"not a DDL value: {value!r}")


def json_key(key: Value) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, EnumV):
        return key.name
    return str(to_json(key))


def show_value(value: Value) -> str:
    """The DDL source form of a value (used for θ in diagnostics and by the formatter)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int_text(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return quote_text(value)
    if isinstance(value, EnumV):
        return value.name
    if isinstance(value, RecordV):
        inner = ", ".join(f"{n} = {show_value(v)}" for n, v in value.fields)
        return f"{value.type_name} {{ {inner} }}"
    if isinstance(value, PVector):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, PMap):
        if not value:
            return "{:}"
        entries = sorted(value.items(), key=lambda kv: json_key(kv[0]))
        return "{ " + ", ".join(f"{show_value(k)}: {show_value(v)}" for k, v in entries) + " }"
    if isinstance(value, SomeV):
        return f"some({show_value(value.value)})"
    if isinstance(value, NoneV):
        return "none"
    return repr(value)


_STR_LIMIT = 10**4000


def int_text(n: int) -> str:
    """Decimal digits of any int (``str`` refuses ints of more than 4300 digits)."""
    if -_STR_LIMIT < n < _STR_LIMIT:
        return str(n)
    return format(Decimal(n), "f")


def quote_text(text: str) -> str:
    out = ['"']
    for i, ch in enumerate(text):
        if ch == "$" and text[i + 1 : i + 2] == "{":
            out.append("\\$")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def make_list(items: Any) -> PVector:  # type: ignore[type-arg]
    return pvector(items)


def make_map(items: Any) -> PMap:  # type: ignore[type-arg]
    return pmap(dict(items))
