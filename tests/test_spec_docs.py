"""The spec documents stay in step with the implementation's catalogues."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ddl.builtins import BUILTINS
from ddl.errors import CATALOGUE
from ddl.syntax import parser

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
ERRORS_MD = (SPEC / "errors.md").read_text(encoding="utf-8")
SYNTAX_MD = (SPEC / "syntax.md").read_text(encoding="utf-8")
TYPES_MD = (SPEC / "types.md").read_text(encoding="utf-8")
STDLIB_README = ROOT / "stdlib" / "README.md"

# A documented code is the first cell of a table row: | `DDL123` | title | ...
_ROW = re.compile(r"^\|\s*`(DDL\d{3})`\s*\|\s*([^|]+?)\s*\|", re.MULTILINE)


def documented_codes() -> dict[str, str]:
    rows: dict[str, str] = {}
    for code, title in _ROW.findall(ERRORS_MD):
        assert code not in rows, f"{code} is documented twice in spec/errors.md"
        rows[code] = title
    return rows


def test_every_catalogued_code_is_documented() -> None:
    missing = sorted(set(CATALOGUE) - set(documented_codes()))
    assert not missing, f"codes in ddl/errors.py without a row in spec/errors.md: {missing}"


def test_every_documented_code_is_catalogued() -> None:
    extra = sorted(set(documented_codes()) - set(CATALOGUE))
    assert not extra, f"codes in spec/errors.md that ddl/errors.py does not define: {extra}"


def test_documented_titles_match_the_catalogue() -> None:
    wrong = {code: (title, CATALOGUE[code]) for code, title in documented_codes().items()
             if code in CATALOGUE and title != CATALOGUE[code]}
    assert not wrong, f"titles differ (errors.md, errors.py): {wrong}"


@pytest.mark.parametrize("doc", ["syntax.md", "types.md", "semantics.md", "errors.md", "README.md"])
def test_codes_mentioned_anywhere_in_the_spec_exist(doc: str) -> None:
    text = (SPEC / doc).read_text(encoding="utf-8")
    unknown = sorted({c for c in re.findall(r"\bDDL\d{3}\b", text) if c not in CATALOGUE})
    assert not unknown, f"spec/{doc} mentions codes that do not exist: {unknown}"


# References in the last ("conformance" / "case") column of errors.md.
_CASE_REF = re.compile(r"`((?:parse|types|eval|grammar|check)/(?:success|failure)/[a-z0-9_]+)`")
_TEST_REF = re.compile(r"`(tests/[a-z0-9_]+\.py)::(test_[A-Za-z0-9_]+)`")
_REASON = re.compile(r"^— \((?P<reason>[^)].*)\)")  # "— (reason)": the code cannot be triggered by a case


def reference_cells() -> dict[str, str]:
    """Each documented code's last table cell (cells are split at unescaped pipes)."""
    cells: dict[str, str] = {}
    for line in ERRORS_MD.splitlines():
        m = _ROW.match(line)
        if m:
            row = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            cells[m.group(1)] = row[-1]
    return cells


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_conformance_cases_named_in_errors_md_exist() -> None:
    named = set(_CASE_REF.findall(ERRORS_MD))
    assert named, "spec/errors.md names no conformance case"
    missing = sorted(n for n in named if not (SPEC / "tests" / f"{n}.ddl").is_file())
    assert not missing, f"spec/errors.md names cases that do not exist: {missing}"


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_names_a_case_a_test_or_a_reason(code: str) -> None:
    """Every catalogued code names, in errors.md, a conformance case that expects it, a test function that
    exercises it (`tests/FILE.py::test_name`), or why it cannot be triggered ("— (reason)")."""
    from test_conformance import load_case

    cell = reference_cells().get(code)
    assert cell is not None, f"{code} has no row in spec/errors.md"
    cases = _CASE_REF.findall(cell)
    tests = _TEST_REF.findall(cell)
    assert cases or tests or _REASON.match(cell), (
        f"{code}: the last column names no case, no test and no '— (reason)': {cell!r}")
    for name in cases:
        path = SPEC / "tests" / f"{name}.ddl"
        assert path.is_file(), f"{code}: no case {name}"
        phase, outcome, _ = name.split("/")
        case = load_case(phase, outcome, path)
        assert code in case.expected_codes(), f"{code}: {name} expects {case.expected_codes() or 'no code'}"
    for file, function in tests:
        assert (ROOT / file).is_file(), f"{code}: no test file {file}"
        assert function in _test_functions(ROOT / file), f"{code}: {file} has no function {function}"


def _reserved_block() -> set[str]:
    section = SYNTAX_MD.split("### 1.3 Reserved words", 1)[1].split("###", 1)[0]
    block = section.split("```", 2)[1]
    return set(block.split())


def test_syntax_md_lists_exactly_the_reserved_words() -> None:
    listed = _reserved_block()
    assert listed == set(parser.RESERVED), (
        f"missing from spec/syntax.md: {sorted(set(parser.RESERVED) - listed)}; "
        f"not reserved: {sorted(listed - set(parser.RESERVED))}"
    )


def test_syntax_md_mentions_the_contextual_keywords() -> None:
    for word in sorted(parser.CONTEXTUAL_KEYWORDS):
        assert f"`{word}`" in SYNTAX_MD, f"contextual keyword {word!r} is not described in spec/syntax.md"


@pytest.mark.parametrize("name, value", [
    ("MAX_SOURCE_BYTES", parser.MAX_SOURCE_BYTES),
    ("MAX_TOKENS", parser.MAX_TOKENS),
    ("MAX_DEPTH", parser.MAX_DEPTH),
    ("MAX_INT_DIGITS", parser.MAX_INT_DIGITS),
])
def test_syntax_md_states_the_front_end_limits(name: str, value: int) -> None:
    row = next((line for line in SYNTAX_MD.splitlines() if line.startswith(f"| `{name}`")), None)
    assert row is not None, f"spec/syntax.md has no limits row for {name}"
    assert f"{value:,}" in row or str(value) in row, f"{name} = {value} but spec/syntax.md says: {row}"


def test_types_md_refers_to_the_builtin_reference() -> None:
    assert "stdlib/README.md" in TYPES_MD


def test_every_builtin_is_documented() -> None:
    reference = STDLIB_README.read_text(encoding="utf-8") if STDLIB_README.is_file() else ""
    undocumented = sorted(name for name in BUILTINS if f"`{name}" not in TYPES_MD and f"`{name}`" not in reference)
    assert not undocumented, f"built-ins in neither spec/types.md nor stdlib/README.md: {undocumented}"
