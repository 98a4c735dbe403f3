"""pytest plugin: collect `.ddl` files; each example and each property of each family is a test item.

Installed through the ``pytest11`` entry point, so ``pytest examples/`` works in
any project that has ``ddl`` installed.  Ids read
``books.ddl::recommend_books::example[2]`` and ``…::round_trip``; failures show
the DDL diagnostic (path:line:col, the source line and a caret), not a Python
stack.  Options: ``--ddl-examples N``, ``--ddl-seed N``, ``--ddl-profile
ci|dev|thorough``; ``-p no:ddl`` turns the plugin off.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ddl.diagnostics import SourceMap


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ddl", "DDL task families")
    group.addoption("--ddl-examples", type=int, default=None, help="Hypothesis examples per property")
    group.addoption("--ddl-seed", type=int, default=None, help="seed for the property runs")
    group.addoption("--ddl-profile", choices=["ci", "dev", "thorough"], default=None,
                    help="property budget (default: ci when CI is set, else dev)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".ddl":
        return DDLFile.from_parent(parent, path=file_path)
    return None


class DDLFailure(Exception):
    """A failure already rendered in DDL terms."""


class DDLFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        from ddl.api import ModuleLoader, Program, compile_file

        loader = ModuleLoader()
        checked, diags = compile_file(self.path, loader)
        errors = [d for d in diags if d.is_error]
        if checked is None or errors:
            yield CheckItem.from_parent(self, name="check", rendered="\n".join(d.render(loader.sources) for d in errors))
            return
        program = Program(checked, loader.sources)
        for name in checked.families:
            yield DDLFamily.from_parent(self, name=name, program=program)


class DDLFamily(pytest.Collector):
    def __init__(self, *, program: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.program = program

    def collect(self) -> Iterator[pytest.Item]:
        from ddl.testing.profiles import PROPERTIES

        family = self.program.family(self.name)
        for ex in family.checked.examples:
            yield ExampleItem.from_parent(self, name=f"example[{ex.index}]", family=family, example=ex)
        for prop in PROPERTIES:
            yield PropertyItem.from_parent(self, name=prop, family=family)


class _DDLItem(pytest.Item):
    sources: SourceMap | None = None

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, DDLFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class CheckItem(_DDLItem):
    def __init__(self, *, rendered: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rendered = rendered

    def runtest(self) -> None:
        raise DDLFailure(self.rendered)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name}::check"


class ExampleItem(_DDLItem):
    def __init__(self, *, family: Any, example: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family
        self.example = example

    def runtest(self) -> None:
        from ddl.verify.family import example_obligation

        obligation = example_obligation(self.family.checked, self.example, self.family.program.evaluator)
        diag = obligation.diagnostic(self.family.name)
        if diag is not None:
            raise DDLFailure(diag.render(self.family.program.sources))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.example.span.line - 1, f"{self.path.name}::{self.family.name}::{self.name}"


class PropertyItem(_DDLItem):
    def __init__(self, *, family: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family

    def runtest(self) -> None:
        from ddl.testing.properties import run_property

        config = self.config
        result = run_property(self.family, self.name, examples=config.getoption("--ddl-examples"),
                              seed=config.getoption("--ddl-seed"), profile=config.getoption("--ddl-profile"))
        if result.skipped:
            pytest.skip(result.skipped)
        if not result.ok:
            raise DDLFailure(result.render(self.family.program.sources))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.family.checked.span.line - 1, f"{self.path.name}::{self.family.name}::{self.name}"
