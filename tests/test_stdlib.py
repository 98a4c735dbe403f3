"""The standard library: its modules check, and its reference is complete and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from ddl.api import compile_file
from ddl.builtins import BUILTINS
from ddl.stdlib_reference import render

ROOT = Path(__file__).resolve().parent.parent
STDLIB = ROOT / "stdlib"


@pytest.mark.parametrize("module", sorted(p.name for p in STDLIB.glob("*.ddl")))
def test_stdlib_module_type_checks(module: str) -> None:
    checked, diags = compile_file(STDLIB / module)
    assert checked is not None, [d.render() for d in diags]
    assert not checked.families, "stdlib modules declare functions and types, not families"


def test_readme_is_generated_from_the_sources() -> None:
    assert (STDLIB / "README.md").read_text(encoding="utf-8") == render(STDLIB), (
        "stdlib/README.md is stale: run `python -m ddl.stdlib_reference`"
    )


def test_every_builtin_is_documented() -> None:
    text = (STDLIB / "README.md").read_text(encoding="utf-8")
    assert [name for name in BUILTINS if f"`{name}`" not in text] == []
