"""Generate stdlib/README.md: the built-in reference (from ddl/builtins.py) and the
stdlib modules' functions (from stdlib/*.ddl: the header of each `fn`, and the
`#` comment lines right above it as its description).

Usage: ``python -m ddl.stdlib_reference [--check]`` from the repository root.
tests/test_stdlib.py fails when the README is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ddl.builtins import BUILTINS, names_by_category
from ddl.syntax import ast as A
from ddl.syntax import parse_source

CATEGORY_TITLES = {"text": "Text", "number": "Numbers", "list": "Lists", "option": "Options"}

MODULE_INTROS = {
    "date": "Calendar dates as `Int`: days since 1970-01-01 (negative before), proleptic Gregorian, "
    "exact for every `Int` (Howard Hinnant's algorithms with floor division).",
    "text": "Text helpers: quoting for shells, SQL, HTML and CSV; initials, truncation, English lists and ordinals.",
    "num": "Number helpers: signs, rounding to multiples, percentages with `Decimal`, money formatting, fair shares.",
    "phrasing": "Grammar rules for the words people wrap requests in (spec/grammar.md, \"The standard rules\"): "
                "use them in a grammar with `normalize_space` (and usually `ignore_case`), e.g. "
                "`phrasing::polite(\"split \" ...)`. They capture nothing.",
}


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def doc_above(lines: list[str], line: int) -> str:
    """The ``#`` comment lines right above a 1-based source line."""
    doc: list[str] = []
    i = line - 2
    while i >= 0 and lines[i].lstrip().startswith("#"):
        doc.insert(0, lines[i].lstrip()[1:].strip())
        i -= 1
    return " ".join(doc)


def rule_entries(path: Path) -> list[tuple[str, str]]:
    """[(rule head, description)] of a module's grammar rules."""
    text = path.read_text(encoding="utf-8")
    module, _ = parse_source(text, str(path))
    if module is None:
        return []
    lines = text.splitlines()
    out = []
    for item in module.items:
        if isinstance(item, A.RuleDef):
            head = f"{item.name}({', '.join(item.params)})" if item.params else item.name
            out.append((head, doc_above(lines, item.span.line)))
    return out


def fn_entries(path: Path) -> tuple[str, list[tuple[str, str]], list[str]]:
    """(module comment, [(signature, description)], [declared types and enums])."""
    text = path.read_text(encoding="utf-8")
    module, diags = parse_source(text, str(path))
    if module is None:
        raise SystemExit(f"{path}: does not parse: {diags[0].message}")
    lines = text.splitlines()
    entries: list[tuple[str, str]] = []
    decls: list[str] = []
    for item in module.items:
        if isinstance(item, A.FnDecl):
            header = text[item.span.start : item.body.span.start].rstrip()
            header = re.sub(r"\s+", " ", header.removesuffix("=").rstrip())
            header = re.sub(r"\(\s+", "(", header)
            header = re.sub(r",?\s*\)\s*->", ") ->", header)
            signature = header.removeprefix("fn ")
            entries.append((signature, doc_above(lines, item.span.line)))
        elif isinstance(item, A.EnumDecl):
            decls.append(f"`enum {item.name}` {{ {', '.join(v.name for v in item.variants)} }}")
        elif isinstance(item, (A.RecordDecl, A.TypeAlias)):
            src = re.sub(r"\s+", " ", text[item.span.start : item.span.end])
            decls.append(f"`{src}`")
    return path.stem, entries, decls


def render(stdlib: Path) -> str:
    """The README text for the stdlib directory ``stdlib``."""
    out: list[str] = []
    w = out.append
    w("# DDL standard library")
    w("")
    w("Two layers, both total on their declared domains:")
    w("")
    w("- **Built-in functions** (implemented in Python, always in scope, no import needed). "
      "The tables below are generated from `ddl/builtins.py`, the single source of their signatures and semantics.")
    w("- **Library modules** written in DDL in this directory: `import date`, `import text`, `import num`, "
      "then call `date::add_days(d, 3)`. Dates are not built in: they live in `stdlib/date.ddl`. "
      "`import phrasing` brings grammar rules (greetings, politeness, money and percent signs) instead of functions.")
    w("")
    w("Signature notation: `T` any type, `N` a number type (`Int` or `Decimal`), `|x| e` a lambda argument "
      "(only allowed as an argument of a higher-order built-in). A function marked *partial* has a domain "
      "narrower than its argument types; each call is a `safe` obligation for `ddl check`.")
    w("")
    w("## Built-in functions")
    w("")
    groups = names_by_category()
    for cat, title in CATEGORY_TITLES.items():
        w(f"### {title}")
        w("")
        w("| name | signature | description |")
        w("|---|---|---|")
        for b in groups.get(cat, []):
            notes = []
            if b.partial:
                notes.append("*partial*")
            if b.higher_order:
                notes.append("*higher-order*")
            desc = cell(b.doc) + (" (" + ", ".join(notes) + ")" if notes else "")
            w(f"| `{b.name}` | `{cell(b.signature)}` | {desc} |")
        w("")
    extra = [c for c in groups if c not in CATEGORY_TITLES]
    for cat in extra:
        w(f"### {cat}")
        w("")
        w("| name | signature | description |")
        w("|---|---|---|")
        for b in groups[cat]:
            w(f"| `{b.name}` | `{cell(b.signature)}` | {cell(b.doc)} |")
        w("")
    w("Dates have no built-ins: use the `date` module below.")
    w("")
    w("## Library modules")
    w("")
    w("Every function is total on its declared parameter types. A refined parameter "
      "(`m: Int in 1..12`, `t: Text(max 1000)`) is part of the domain: when an argument might fall "
      "outside it, the call is a `safe` obligation at the call site, proved by `ddl check` over the "
      "family's parameters. The description of each function is the `#` comment above it in the source.")
    w("")
    for path in sorted(stdlib.glob("*.ddl"), key=lambda p: (p.stem != "date", p.stem)):
        name, entries, decls = fn_entries(path)
        w(f"### `{name}` (`import {name}`)")
        w("")
        if name in MODULE_INTROS:
            w(MODULE_INTROS[name])
            w("")
        if decls:
            w("Types: " + "; ".join(decls) + ".")
            w("")
        if entries:
            w("| function | description |")
            w("|---|---|")
            for signature, doc in entries:
                w(f"| `{cell(signature)}` | {cell(doc)} |")
            w("")
        rules = rule_entries(path)
        if rules:
            w("| grammar rule | accepts |")
            w("|---|---|")
            for head, doc in rules:
                w(f"| `{name}::{cell(head)}` | {cell(doc)} |")
            w("")
    text = "\n".join(out)
    missing = [n for n in BUILTINS if f"`{n}`" not in text]
    if missing:
        raise ValueError(f"built-ins missing from the README: {missing}")
    return text


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    stdlib = Path("stdlib")
    target = stdlib / "README.md"
    text = render(stdlib)
    if "--check" in args:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is stale: run python -m ddl.stdlib_reference", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
