"""The shipped case table (ddl/regular/casedata.py, read so that a one-query `ddl handle` does not scan every
code point) is exactly the one computed from this Python's Unicode database.

Regenerate it with:  PYTHONPATH=. python tests/test_case_table.py
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from ddl.regular import casedata
from ddl.regular.ast import case_closure, case_key, computed_case_table
from ddl.regular.charset import CharSet

CASEDATA = Path(__file__).resolve().parent.parent / "ddl" / "regular" / "casedata.py"


def _classes() -> list[tuple[int, ...]]:
    return sorted(set(computed_case_table()[1]))


@pytest.mark.skipif(casedata.UNIDATA_VERSION != unicodedata.unidata_version,
                    reason="another Unicode version: the table is computed, not read")
def test_the_shipped_case_table_is_the_computed_one() -> None:
    assert sorted(casedata.CLASSES) == _classes(), "regenerate: PYTHONPATH=. python tests/test_case_table.py"
    # and what case folding answers with it (the Kelvin sign, the long s, the dotless i)
    assert case_closure(CharSet.char("k")) == CharSet.from_chars({ord("k"), ord("K"), 0x212A})
    assert case_closure(CharSet.char("s")) == CharSet.from_chars({ord("s"), ord("S"), 0x17F})
    assert case_key("PARIS") == case_key("parıs") == case_key("Paris")


def _render() -> str:
    rows = [", ".join("(" + ", ".join(map(str, c)) + ("," if len(c) == 1 else "") + ")" for c in chunk)
            for chunk in (_classes()[i:i + 8] for i in range(0, len(_classes()), 8))]
    return "\n".join([
        '"""The case-equivalence classes of :func:`ddl.regular.ast.computed_case_table` for one Unicode version.', "",
        "Generated (tests/test_case_table.py says how); read instead of computing them under the same Unicode",
        'version: scanning every code point costs a one-query ``ddl handle`` tens of milliseconds."""', "",
        f'UNIDATA_VERSION = "{unicodedata.unidata_version}"', "",
        "# fmt: off", "CLASSES: tuple[tuple[int, ...], ...] = (", *(f"    {r}," for r in rows), ")", "# fmt: on", ""])


if __name__ == "__main__":
    CASEDATA.write_text(_render(), encoding="utf-8")
