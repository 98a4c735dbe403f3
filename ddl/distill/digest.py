"""The reference material of the distillation prompt, generated at run time from the sources.

Nothing here is a hand-kept copy of the language: the spec digest is cut from ``spec/*.md`` by
section heading (so an edited spec changes the prompt at once), the built-ins come from
``ddl/builtins.py`` and the stdlib functions from ``stdlib/*.ddl`` (as ``stdlib/README.md`` is
made), and the example families are read from ``examples/``.

Where ``spec/`` and ``examples/`` are found (spec/distill.md, "Where the prompt's material comes
from"): ``DDL_SPEC_DIR`` / ``DDL_EXAMPLES_DIR`` when set; else, when ddl runs from a source checkout
(``pyproject.toml`` next to the package), the checkout's own ``spec/`` and ``examples/``, so an
edited spec changes the prompt at once; else the copies an installed wheel carries as package data
(``ddl.distill.spec`` and ``ddl.distill.examples``, mapped from the same two directories by
pyproject.toml, found through the import system).  Only when none is there does a short built-in
note (``templates/spec_fallback.txt``, ``templates/fallback_example.ddl``) stand in, and the prompt
says so.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import attrs

from ddl.api import source_checkout, stdlib_dir
from ddl.builtins import names_by_category
from ddl.stdlib_reference import fn_entries

SPEC_BUDGET = 25_000  # characters of spec text in the prompt (about 6k tokens)
EXAMPLE_FILES = ("books.ddl", "weather.ddl", "bill.ddl")
FILE_ORDER = ("syntax.md", "grammar.md", "types.md", "checks.md")  # how the digest is laid out


@attrs.frozen
class Section:
    """A spec section to quote: a heading of ``file`` (numbering ignored, matched as a prefix).

    ``whole`` keeps its subsections; otherwise the section stops at the next heading of any level.
    """

    file: str
    title: str
    whole: bool = True


# In priority order: when the budget runs out, the sections at the end are left out.
SECTIONS: tuple[Section, ...] = (
    Section("syntax.md", "Families"),
    Section("syntax.md", "Declarations"),
    Section("syntax.md", "Types"),
    Section("grammar.md", "Captures are typed by their parameters"),
    Section("grammar.md", "Regular expressions"),
    Section("grammar.md", "Options"),
    Section("checks.md", "Obligations", whole=False),
    Section("syntax.md", "Expressions"),
    Section("syntax.md", "Tokens"),
    Section("syntax.md", "Text literals"),
    Section("syntax.md", "Interpolation"),
    Section("syntax.md", "Modules"),
    Section("types.md", "Families"),
    Section("syntax.md", "Reserved words"),
    Section("grammar.md", "G(u)"),
    Section("types.md", "Lists and bounds"),
    Section("types.md", "Int arithmetic"),
    Section("types.md", "Decimal arithmetic"),
    Section("types.md", "Text and list concatenation"),
    Section("types.md", "Option default"),
    Section("types.md", "Tables"),
    Section("types.md", "Records"),
    Section("types.md", "Maps"),
    Section("types.md", "Lambdas and higher-order built-ins"),
    Section("types.md", "Well-formed types"),
)

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")
_NUMBERING = re.compile(r"^\d+(\.\d+)*\.?\s+")


SPEC_PACKAGE = "ddl.distill.spec"  # spec/*.md as package data (pyproject.toml maps the directory)
EXAMPLES_PACKAGE = "ddl.distill.examples"  # examples/*.ddl likewise


def package_data_dir(package: str) -> Path | None:
    """The directory of the data-only package ``package`` (as an installed wheel has it), else None."""
    try:
        spec = importlib.util.find_spec(package)
    except ImportError:
        return None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    return Path(locations[0]) if locations else None


def _material_dir(env_var: str, checkout_name: str, package: str, marker: str | None) -> Path | None:
    """The first of the candidate directories that holds ``marker`` (or exists, when ``marker`` is None)."""
    env = os.environ.get(env_var)
    if env:
        candidates = [Path(env)]
    else:
        checkout = source_checkout()
        candidates = [p for p in (checkout / checkout_name if checkout else None, package_data_dir(package)) if p]
    return next((p for p in candidates if ((p / marker).is_file() if marker else p.is_dir())), None)


def default_spec_dir() -> Path | None:
    """``$DDL_SPEC_DIR``, else a source checkout's ``spec/``, else the installed package data; None when
    none of them is there."""
    return _material_dir("DDL_SPEC_DIR", "spec", SPEC_PACKAGE, "syntax.md")


def default_examples_dir() -> Path | None:
    """``$DDL_EXAMPLES_DIR``, else a source checkout's ``examples/``, else the installed package data; None
    when none of them is there."""
    return _material_dir("DDL_EXAMPLES_DIR", "examples", EXAMPLES_PACKAGE, None)


def template_text(name: str) -> str:
    """A file of ``ddl/distill/templates`` (package data of ``ddl.distill.templates``, so it works from a wheel)."""
    return resources.files("ddl.distill.templates").joinpath(name).read_text(encoding="utf-8")


def _title_key(title: str) -> str:
    return _NUMBERING.sub("", title).strip().lower()


def _headings(text: str) -> list[tuple[int, int, str]]:
    """(offset, level, title) of every Markdown heading outside fenced code blocks."""
    found: list[tuple[int, int, str]] = []
    offset, fenced = 0, False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            m = _HEADING.match(line)
            if m is not None:
                found.append((offset, len(m.group(1)), m.group(2)))
        offset += len(line) + 1
    return found


def find_section(text: str, section: Section) -> tuple[int, str] | None:
    """(offset, text) of the first heading of ``text`` whose title starts with ``section.title``."""
    headings = [(start, level, _title_key(title)) for start, level, title in _headings(text)]
    want = section.title.lower()
    for i, (start, level, key) in enumerate(headings):
        if not key.startswith(want):
            continue
        end = len(text)
        for later_start, later_level, _ in headings[i + 1:]:
            if not section.whole or later_level <= level:
                end = later_start
                break
        return start, text[start:end].strip() + "\n"
    return None


def _tidy(text: str) -> str:
    """Comments dropped, blank runs collapsed, headings demoted two levels (they sit under "### From ...")."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    for start, level, _ in reversed(_headings(text)):
        text = text[:start] + "#" * min(level + 2, 6) + text[start + level:]
    return re.sub(r"\n{3,}", "\n\n", text)


def _header(file: str) -> str:
    return f"### From spec/{file}\n"


@attrs.frozen
class SpecDigest:
    text: str
    included: tuple[Section, ...]
    left_out: tuple[Section, ...]  # over the budget, or not found in the spec
    from_spec: bool  # False: spec/ was not found and the built-in note stands in


def spec_digest(spec_dir: Path | None = None, *, budget: int = SPEC_BUDGET,
                sections: Sequence[Section] = SECTIONS) -> SpecDigest:
    """The spec sections (in priority order, as many as fit ``budget``), grouped by file in document order."""
    directory = spec_dir if spec_dir is not None else default_spec_dir()
    if directory is None:
        return SpecDigest(template_text("spec_fallback.txt"), (), tuple(sections), False)
    texts: dict[str, str] = {}
    chosen: list[tuple[str, int, Section, str]] = []
    left_out: list[Section] = []
    used = 0
    for section in sections:
        if section.file not in texts:
            try:
                texts[section.file] = (directory / section.file).read_text(encoding="utf-8")
            except OSError:
                texts[section.file] = ""
        found = find_section(texts[section.file], section)
        if found is None or any(c[0] == section.file and c[1] == found[0] for c in chosen):
            left_out.append(section)
            continue
        body = _tidy(found[1])
        # every part is joined with a newline; a file's first section also brings its header
        cost = len(body) + 1 + (0 if any(c[0] == section.file for c in chosen) else len(_header(section.file)) + 1)
        if used + cost > budget:
            left_out.append(section)
            continue
        used += cost
        chosen.append((section.file, found[0], section, body))
    order = {f: i for i, f in enumerate(FILE_ORDER)}
    chosen.sort(key=lambda c: (order.get(c[0], len(order)), c[0], c[1]))
    out: list[str] = []
    current = None
    for file, _, _, body in chosen:
        if file != current:
            out.append(_header(file))
            current = file
        out.append(body)
    return SpecDigest("\n".join(out), tuple(c[2] for c in chosen), tuple(left_out), True)


def builtins_reference() -> str:
    """One line per built-in function, from ``ddl/builtins.py``."""
    lines: list[str] = []
    for category, items in names_by_category().items():
        lines.append(f"{category}:")
        for b in items:
            notes = [n for n, on in (("partial", b.partial), ("higher-order", b.higher_order)) if on]
            extra = f" ({', '.join(notes)})" if notes else ""
            lines.append(f"  {b.signature}: {b.doc}{extra}")
    return "\n".join(lines)


def stdlib_reference() -> str:
    """The stdlib modules' function signatures (``import NAME``, then ``NAME::f(...)``)."""
    lines: list[str] = []
    try:
        paths = sorted(stdlib_dir().glob("*.ddl"))
    except OSError:
        paths = []
    for path in paths:
        try:
            name, entries, decls = fn_entries(path)
        except (OSError, SystemExit):
            continue
        lines.append(f"module {name} (import {name}; call as {name}::f(...)):")
        for decl in decls:
            lines.append(f"  {decl.replace('`', '')}")  # the README's code marks, e.g. `enum Weekday` { ... }
        for signature, doc in entries:
            lines.append(f"  {name}::{signature}" + (f": {doc}" if doc else ""))
    return "\n".join(lines) if lines else "(the stdlib modules are not available in this installation)"


@attrs.frozen
class Examples:
    text: str
    names: tuple[str, ...]
    bundled: bool  # False: examples/ was not found and the built-in example stands in


def example_families(examples_dir: Path | None = None, files: Sequence[str] = EXAMPLE_FILES) -> Examples:
    """The bundled example families, each as a fenced block headed by its file name."""
    directory = examples_dir if examples_dir is not None else default_examples_dir()
    parts: list[str] = []
    names: list[str] = []
    if directory is not None:
        for name in files:
            try:
                source = (directory / name).read_text(encoding="utf-8")
            except OSError:
                continue
            parts.append(f"examples/{name}:\n```ddl\n{source.rstrip()}\n```")
            names.append(name)
    if parts:
        return Examples("\n\n".join(parts), tuple(names), True)
    source = template_text("fallback_example.ddl")
    return Examples(f"```ddl\n{source.rstrip()}\n```", ("fallback_example.ddl",), False)
