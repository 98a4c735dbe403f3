"""Fuzz the checker, the evaluator and the grammar compiler with mutated real programs.

Token-level mutations keep most of a program well-formed, so they reach deep into name
resolution, typing, range reasoning, evaluation and grammar compilation.  Whatever comes out
must be DDL diagnostics from the catalogue, never a Python exception and never DDL999.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddl.api import check_examples, compile_source
from ddl.errors import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.ddl"))]
# A (qualified) name directly followed by "(" is one token: in a grammar that is a call
# (`number(count)`, `phrasing::polite(`), while `number (count)` is a sequence, so joining tokens
# with spaces must keep them together.
TOKEN = re.compile(r'#[^\n]*|(?:[A-Za-z_][A-Za-z0-9_]*::)?[A-Za-z_][A-Za-z0-9_]*\(|\{[0-9]+(?:,[0-9]*)?\}|\.\.|->|::|==|!=|<=|>=|\+\+|\?\?|=>|"(?:\\.|[^"\\\n])*"|\[(?:\\.|[^\]\\\n])*\]|[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+)?|\S')
NAMES = sorted({t for s in SOURCES for t in TOKEN.findall(s) if (t[:1].isalpha() or t[:1] == "_") and t[-1] != "("})
NUMBERS = ["0", "-1", "1", "7", "99999999999999999999", "0.001", "1000"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    source = draw(st.sampled_from(SOURCES))
    tokens = [t for t in TOKEN.findall(source) if not t.startswith("#")]  # one line: comments would swallow it
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(tokens) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "name", "number", "swap"]))
        if action == "delete":
            del tokens[i]
        elif action == "duplicate":
            tokens.insert(i, tokens[i])
        elif action == "name":
            tokens[i] = draw(st.sampled_from(NAMES))
        elif action == "number":
            tokens[i] = draw(st.sampled_from(NUMBERS))
        else:
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
    return " ".join(tokens)


def test_mutants_are_mostly_checkable() -> None:
    """Guard: the generator must reach the checker, not just the parser."""
    from hypothesis import find

    ok = find(mutated(), lambda src: compile_source(src, "m.ddl")[0] is not None)
    assert ok


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_programs_yield_only_catalogued_diagnostics(source: str) -> None:
    module, diagnostics = compile_source(source, str(ROOT / "examples" / "mutant.ddl"))
    if module is not None:
        diagnostics = diagnostics + check_examples(module)
    for d in diagnostics:
        assert d.code in CATALOGUE, d.render()
        assert d.code != "DDL999", d.render()
        d.render()
