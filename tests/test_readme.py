"""The README's code blocks work as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ddl.api import compile_source

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_quick_start_has_exactly_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", quick, flags=re.S)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


@pytest.mark.parametrize("source", blocks("ddl"))
def test_ddl_blocks_type_check(source: str) -> None:
    module, diags = compile_source(source, "README.md")
    assert module is not None, [d.render() for d in diags]


@pytest.mark.parametrize("snippet", blocks("python"))
def test_python_blocks_run(snippet: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    for name, value in namespace.items():  # a snippet's test functions run too
        if name.startswith("test_") and callable(value):
            value()
