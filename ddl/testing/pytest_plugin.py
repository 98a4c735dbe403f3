"""pytest plugin: collect `.ddl` files; each family's check, each example and each property is a test item.

Installed through the ``pytest11`` entry point, so ``pytest examples/`` works in
any project that has ``ddl`` installed.  A file is checked once, as ``ddl check``
does (:func:`ddl.api.check_file`, no result cache): ``books.ddl::recommend_books::check``
fails when an obligation other than the examples is refuted or unknown, and
``…::example[2]`` reports that example's obligation; properties run on the
module that was checked.  Ids read ``books.ddl::recommend_books::example[2]``
and ``…::round_trip``; failures show
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
        # deferred: the plugin loads in every pytest run; the language loads only when a .ddl file is collected
        from ddl.api import Program, check_file

        result = check_file(self.path)
        sources = result.sources or SourceMap()
        if result.module is None:
            errors = [f.diagnostic for f in result.findings if f.family is None and f.diagnostic.is_error]
            yield CheckItem.from_parent(self, name="check", rendered="\n".join(d.render(sources) for d in errors))
            return
        program = Program(result.module, sources)
        for fam in result.families:
            failed = [f.diagnostic.render(sources) for f in result.findings
                      if f.family == fam.name and f.kind != "examples" and f.diagnostic.is_error]
            yield DDLFamily.from_parent(self, name=fam.name, program=program,
                                        obligations=fam.obligations, failed="\n".join(failed))


class DDLFamily(pytest.Collector):
    def __init__(self, *, program: Any, obligations: Any, failed: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.program = program
        self.obligations = obligations
        self.failed = failed

    def collect(self) -> Iterator[pytest.Item]:
        from ddl.testing.profiles import PROPERTIES  # deferred: as in DDLFile.collect

        family = self.program.family(self.name)
        yield CheckItem.from_parent(self, name="check", rendered=self.failed)
        by_subject = {o.subject: o for o in self.obligations if o.kind == "examples"}
        for ex in family.checked.examples:
            name = f"example[{ex.index}]"
            yield ExampleItem.from_parent(self, name=name, family=family, obligation=by_subject[name])
        for prop in PROPERTIES:
            yield PropertyItem.from_parent(self, name=prop, family=family)


class _DDLItem(pytest.Item):
    sources: SourceMap | None = None

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, DDLFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class CheckItem(_DDLItem):
    """The file's errors (on the file), or a family's obligations other than its examples (on the family)."""

    def __init__(self, *, rendered: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rendered = rendered

    def runtest(self) -> None:
        if self.rendered:
            raise DDLFailure(self.rendered)

    def reportinfo(self) -> tuple[Path, int, str]:
        family = self.parent.name if isinstance(self.parent, DDLFamily) else None
        return self.path, 0, f"{self.path.name}::{family + '::' if family else ''}check"


class ExampleItem(_DDLItem):
    def __init__(self, *, family: Any, obligation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family
        self.obligation = obligation  # discharged by the check; not evaluated again

    def runtest(self) -> None:
        diag = self.obligation.diagnostic(self.family.name)
        if diag is not None:
            raise DDLFailure(diag.render(self.family.program.sources))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.obligation.span.line - 1, f"{self.path.name}::{self.family.name}::{self.name}"


class PropertyItem(_DDLItem):
    def __init__(self, *, family: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family

    def runtest(self) -> None:
        from ddl.testing.properties import run_property  # deferred: as in DDLFile.collect

        config = self.config
        result = run_property(self.family, self.name, examples=config.getoption("--ddl-examples"),
                              seed=config.getoption("--ddl-seed"), profile=config.getoption("--ddl-profile"))
        if result.skipped:
            pytest.skip(result.skipped)
        if not result.ok:
            raise DDLFailure(result.render(self.family.program.sources))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.family.checked.span.line - 1, f"{self.path.name}::{self.family.name}::{self.name}"
