"""Finding the DDL module in a model's reply.

Models wrap code in prose, forget the language tag, answer with several blocks (a first try
and a corrected one) or with no fence at all.  :func:`extract_ddl` takes, in this order:

1. the last ```` ```ddl ```` block that declares a family;
2. the last fenced block of any language that declares a family;
3. the last ```` ```ddl ```` block (even without a family: the checker then says what is wrong);
4. unfenced text: from the first ``import``/``family`` line (with the ``#`` comment block right
   above it) to the closing brace of the last family, braces balanced outside strings and
   comments (to the end of the reply when the last family is never closed).

None when the reply has no DDL at all.  Line endings are normalized to ``\\n``.
"""

from __future__ import annotations

import re

_FENCE_OPEN = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^\n`]*$")
_FAMILY = re.compile(r"^[ \t]*family[ \t]+[a-z_][A-Za-z0-9_]*", re.MULTILINE)
_IMPORT_LINE = re.compile(r'^[ \t]*import[ \t]+(?:[a-z_][A-Za-z0-9_]*|"[^"\n]*")(?:[ \t]+as[ \t]+[a-z_][A-Za-z0-9_]*)?'
                          r"[ \t]*(?:#.*)?$")
_FAMILY_LINE = re.compile(r"^[ \t]*family[ \t]+[a-z_][A-Za-z0-9_]*[ \t]*(?:\{.*)?$")


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language tag in lower case, body); an unclosed fence runs to the end."""
    blocks: list[tuple[str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if m is None:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        close = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        i += 1
        while i < len(lines) and not close.match(lines[i]):
            body.append(lines[i])
            i += 1
        blocks.append((lang, "\n".join(body)))
        i += 1  # past the closing fence
    return blocks


def _has_family(body: str) -> bool:
    return _FAMILY.search(body) is not None


def _close_of(text: str, start: int) -> int | None:
    """The index just past the brace closing the first ``{`` at or after ``start``; None if unbalanced."""
    depth = 0
    i = text.find("{", start)
    if i < 0:
        return None
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _unfenced(text: str) -> str | None:
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if _IMPORT_LINE.match(line) or _FAMILY_LINE.match(line)), None)
    if first is None:
        return None
    families = [i for i, line in enumerate(lines) if _FAMILY_LINE.match(line)]
    if not families or families[-1] < first:
        return None
    above = first  # take in the comment block above (blank lines within it too), not the blanks before it
    while above > 0 and (not lines[above - 1].strip() or lines[above - 1].lstrip().startswith("#")):
        above -= 1
    while above < first and not lines[above].strip():
        above += 1
    first = above
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    begin, last = offsets[first], offsets[families[-1]]
    end = _close_of(text, last)
    return text[begin:end] if end is not None else text[begin:]


def _tidy(body: str) -> str:
    return body.strip("\n").rstrip() + "\n"


def extract_ddl(reply: str) -> str | None:
    """The DDL module in ``reply`` (see the module docstring for the order), or None if there is none."""
    text = reply.replace("\r\n", "\n").replace("\r", "\n")
    blocks = _fenced_blocks(text)
    ddl_blocks = [body for lang, body in blocks if lang == "ddl"]
    for candidates in ([b for b in ddl_blocks if _has_family(b)], [b for _, b in blocks if _has_family(b)]):
        if candidates:
            return _tidy(candidates[-1])
    if ddl_blocks and ddl_blocks[-1].strip():
        return _tidy(ddl_blocks[-1])
    found = _unfenced(text)
    return _tidy(found) if found is not None and found.strip() else None
