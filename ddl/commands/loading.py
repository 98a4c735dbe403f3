"""Loading ``FILE`` or ``FILE:FAMILY`` for a command, through the facade (``ddl run``, ``ddl grammar``)."""

from __future__ import annotations

from pathlib import Path

import attrs

from ddl.api import ImportScope, ModuleLoader, compile_file, find_family
from ddl.commands.base import Failed, UsageError, print_diagnostics
from ddl.diagnostics import SourceMap
from ddl.eval import Evaluator
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.verify.config import ConfigError, load_check_settings


@attrs.frozen
class LoadedFamily:
    module: CheckedModule
    family: CheckedFamily
    evaluator: Evaluator
    sources: SourceMap


def load_module(path: Path) -> tuple[CheckedModule, SourceMap]:
    """A file compiled; its errors printed (raises :class:`Failed`) or a usage error when it is missing."""
    if not path.is_file():
        raise UsageError(f"no such file: '{path}'")
    loader = ModuleLoader(scope=ImportScope.of(str(path), import_path()))
    checked, diags = compile_file(path, loader)
    errors = [d for d in diags if d.is_error]
    if checked is None or errors:
        print_diagnostics(errors or diags, loader.sources)
        raise Failed()
    return checked, loader.sources


def load_family(ref: str, name: str | None = None) -> LoadedFamily:
    """``FILE`` or ``FILE:FAMILY`` (or FILE with ``name``) → the module's family; the name is looked up by
    the facade (with "did you mean"); a file with several families needs the name."""
    path_text, _, given = ref.partition(":") if not Path(ref).is_file() else (ref, "", "")
    checked, sources = load_module(Path(path_text))
    family = find_family(checked, name or given or None, path_text)
    return LoadedFamily(checked, family, Evaluator(checked), sources)


def import_path() -> tuple[str, ...]:
    """The import search path of ``[check]`` in ddl.toml ($DDL_CONFIG, else the working directory's), as
    ``ddl check`` reads it, so a file ``ddl check`` passes can be run."""
    try:
        return load_check_settings().import_path
    except ConfigError as err:
        raise UsageError(str(err)) from None
