"""pytest plugin: collect `.ddl` files; each family's check, each example and each property is a test item.

Installed through the ``pytest11`` entry point but **opt-in**, as pytest-mypy's ``--mypy`` and
pytest-ruff's ``--ruff``: ``pytest --ddl`` or ``ddl = true`` in the ini file (``pytest.ini``,
``[tool.pytest.ini_options]``).  Without either it collects nothing and imports nothing of the
language, so a project whose ``schema.ddl`` is SQL is left alone.

A file is checked once, as ``ddl check`` does (:func:`ddl.api.check_file`, the ``[check]`` limits and
import path of the config file, and its result cache ``.ddl-cache`` unless ``--ddl-no-cache``).  ``books.ddl::check`` fails when the file does not
compile; ``books.ddl::recommend_books::check`` fails exactly when ``ddl check`` reports an error for
that family (unknown obligations included unless ``--ddl-allow-unknown``); ``…::example[2]`` reports
that example's obligations (its output and its utterance); properties (``…::round_trip``) run on the
module that was checked.  Failures show the DDL diagnostic (path:line:col, the source line and a
caret), not a Python stack.  Tuning options (they do not turn the plugin on): ``--ddl-examples N``,
``--ddl-seed N``, ``--ddl-profile ci|dev|thorough``, ``--ddl-allow-unknown``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ddl.diagnostics import Diagnostic, SourceMap
    from ddl.verify.config import CheckSettings

_SETTINGS: pytest.StashKey[CheckSettings] = pytest.StashKey()
_TUNING = ("ddl_examples", "ddl_seed", "ddl_profile", "ddl_allow_unknown", "ddl_no_cache")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ddl", "DDL task families")
    group.addoption("--ddl", action="store_true", default=False,
                    help="collect .ddl files: check each family (as `ddl check`), run its examples and properties")
    group.addoption("--ddl-examples", type=int, default=None, help="Hypothesis examples per property")
    group.addoption("--ddl-seed", type=int, default=None, help="seed for the property runs")
    group.addoption("--ddl-profile", choices=["ci", "dev", "thorough"], default=None,
                    help="property budget (default: ci when CI is set, else dev)")
    group.addoption("--ddl-allow-unknown", action="store_true", default=False,
                    help="an unknown obligation does not fail a check item (as `ddl check --allow-unknown`)")
    parser.addini("ddl", type="bool", default=False, help="collect .ddl files (as --ddl)")
    group.addoption("--ddl-no-cache", action="store_true", default=False,
                    help="neither read nor write ddl check's result cache (.ddl-cache where pytest runs)")
    parser.addini("ddl_allow_unknown", type="bool", default=False, help="as --ddl-allow-unknown")


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("ddl") or config.getini("ddl"))


def _allow_unknown(config: pytest.Config) -> bool:
    return bool(config.getoption("ddl_allow_unknown") or config.getini("ddl_allow_unknown"))


def pytest_configure(config: pytest.Config) -> None:
    if not _enabled(config):
        given = [f"--{name.replace('_', '-')}" for name in _TUNING
                 if config.getoption(name) is not None and config.getoption(name) is not False]
        if given:  # a tuning option alone does nothing: say so rather than silently run no .ddl file
            config.issue_config_time_warning(pytest.PytestConfigWarning(
                f"{', '.join(given)} {'has' if len(given) == 1 else 'have'} no effect without --ddl "
                "(or `ddl = true` in the ini file)"), stacklevel=2)
        return
    from ddl.verify.config import ConfigError, load_check_settings  # deferred: only an opted-in run loads ddl

    try:  # the same config file (ddl.toml, [tool.ddl]) `ddl check` reads when run from this directory
        config.stash[_SETTINGS] = load_check_settings(start=config.invocation_params.dir)
    except ConfigError as err:
        raise pytest.UsageError(f"ddl: {err}") from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".ddl":
        return None
    if _enabled(parent.config):
        # A file pytest's own walk reached is left out where `ddl check`'s walk leaves it out (the config
        # file's excludes, .gitignore); a file named on the command line is always taken, as by ddl check.
        if not parent.session.isinitpath(file_path) and parent.config.stash[_SETTINGS].discovery().skips(file_path):
            return None
        return DDLFile.from_parent(parent, path=file_path)
    if parent.session.isinitpath(file_path):  # named on the command line: say why pytest finds nothing in it
        parent.config.issue_config_time_warning(pytest.PytestConfigWarning(
            f"{file_path.name} is not collected: pass --ddl (or set ddl = true in the ini file) to test .ddl files"),
            stacklevel=2)
    return None


class DDLFailure(Exception):
    """A failure already rendered in DDL terms."""


def _render(diagnostics: Sequence[Diagnostic], sources: SourceMap) -> str:
    return "\n".join(d.render(sources) for d in diagnostics)


class DDLFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        # deferred: the plugin loads in every pytest run; the language loads only when a .ddl file is collected
        from ddl.api import ImportScope, Program, check_file
        from ddl.diagnostics import SourceMap
        from ddl.verify.cache import DEFAULT_DIR, ResultCache

        settings = self.config.stash[_SETTINGS]
        allow_unknown = _allow_unknown(self.config)
        # Named as pytest names it, relative to where pytest runs (`ex/books.ddl:52:3: DDL505: …` in the
        # failure and in the short summary, not an absolute path that the summary line cuts off).
        here = Path(self.config.invocation_params.dir)
        path = str(self.path.relative_to(here)) if self.path.is_relative_to(here) else str(self.path)
        # ddl check's result cache (content-addressed, sealed): an unchanged file is not proved again.
        cache = None if self.config.getoption("ddl_no_cache") else ResultCache(here / DEFAULT_DIR)
        result = check_file(path, settings.limits(), cache, imports=ImportScope.of(path, settings.import_path))
        sources = result.sources or SourceMap()
        # What `ddl check` reports as an error, as it reports it (an allowed unknown is a warning).
        errors = [(f, d) for f in result.findings if (d := f.effective(allow_unknown)).is_error]
        if result.module is None:  # the file does not compile: one item carries every error
            yield CheckItem.from_parent(self, name="check", rendered=_render([d for _, d in errors], sources))
            return
        yield CheckItem.from_parent(self, name="check",
                                    rendered=_render([d for f, d in errors if f.family is None], sources))
        program = Program(result.module, sources)
        for fam in result.families:
            yield DDLFamily.from_parent(self, name=fam.name, program=program, obligations=fam.obligations,
                                        failed=_render([d for f, d in errors if f.family == fam.name], sources),
                                        allow_unknown=allow_unknown)


class DDLFamily(pytest.Collector):
    def __init__(self, *, program: Any, obligations: Any, failed: str, allow_unknown: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.program = program
        self.obligations = obligations
        self.failed = failed
        self.allow_unknown = allow_unknown

    def collect(self) -> Iterator[pytest.Item]:
        from ddl.testing.profiles import PROPERTIES  # deferred: as in DDLFile.collect

        family = self.program.family(self.name)
        yield CheckItem.from_parent(self, name="check", rendered=self.failed)
        for ex in family.checked.examples:
            # An example has two obligations: its output (example[i]) and, with a grammar, its utterance.
            mine = [o for o in self.obligations
                    if o.kind == "examples" and o.subject in (f"example[{ex.index}]", f"utterance[{ex.index}]")]
            name = f"example[{ex.index}]"
            # The node id is given as text so that pytest parses it as it parses the ids it saved: pytest 9
            # compares structured ids (name `example`, params `1`), and one built from the name
            # `example[1]` would never match the cache, so `--lf` would drop a failed example.
            yield ExampleItem.from_parent(self, name=name, nodeid=f"{self.nodeid}::{name}", family=family,
                                          obligations=mine, line=ex.span.line - 1, allow_unknown=self.allow_unknown)
        for prop in PROPERTIES:
            yield PropertyItem.from_parent(self, name=prop, family=family)


class _DDLItem(pytest.Item):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # No fixtures (as pytest's doctest items), but some plugins assume every item has them: pytest-lsp
        # 1.0's runtest wrapper returns without yielding for an item lacking `funcargs`, an error per item.
        self.funcargs: dict[str, object] = {}

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, DDLFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def _domain(self) -> str:
        # The node id's tail after the file, with no '.': pytest's verbose line turns a '.' of the
        # domain into '::' (books.ddl → books::ddl), which would print an id that does not paste back.
        # The file's own check is headed by the file's name (a domain that does not end the node id is
        # left alone in the verbose line).
        return f"{self.parent.name}::{self.name}" if isinstance(self.parent, DDLFamily) else self.path.name


class CheckItem(_DDLItem):
    """The file's errors (on the file), or everything `ddl check` reports against a family (on the family)."""

    def __init__(self, *, rendered: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rendered = rendered

    def runtest(self) -> None:
        if self.rendered:
            raise DDLFailure(self.rendered)

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.parent.program.family(self.parent.name).checked.span.line - 1 \
            if isinstance(self.parent, DDLFamily) else 0
        return self.path, line, self._domain()


class ExampleItem(_DDLItem):
    def __init__(self, *, family: Any, obligations: Any, line: int, allow_unknown: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.family = family
        self.obligations = obligations  # discharged by the check; not evaluated again
        self.line = line
        self.allow_unknown = allow_unknown

    def runtest(self) -> None:
        failed = [d for o in self.obligations if (d := o.diagnostic(self.family.name)) is not None
                  and not (self.allow_unknown and o.verdict == "unknown")]
        if failed:
            raise DDLFailure(_render(failed, self.family.program.sources))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line, self._domain()


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
        return self.path, self.family.checked.span.line - 1, self._domain()
