"""Loading ``FILE`` or ``FILE:FAMILY`` for a command, through the facade (``ddl run``, ``ddl grammar``)."""

from __future__ import annotations

from pathlib import Path

import attrs

from ddl.api import ImportScope, ModuleLoader, compile_source, find_family
from ddl.commands.base import Failed, UsageError, is_dir, is_file, print_diagnostics, read_bytes
from ddl.diagnostics import SourceMap
from ddl.eval import Evaluator
from ddl.grammar.compile import CompiledGrammar
from ddl.regular import AutomatonTooLarge, RegularError
from ddl.types.checked import CheckedFamily, CheckedModule
from ddl.verify.config import ConfigError, load_check_settings


@attrs.frozen
class LoadedFamily:
    module: CheckedModule
    family: CheckedFamily
    evaluator: Evaluator
    sources: SourceMap


def load_module(path: Path) -> tuple[CheckedModule, SourceMap]:
    """A file compiled; its errors printed (raises :class:`Failed`), or a usage error (exit 2) when it is
    missing or cannot be read, as under ``ddl check``."""
    if not is_file(path):
        raise UsageError(f"'{path}' is a directory; give a .ddl file" if is_dir(path) else f"no such file: '{path}'")
    loader = ModuleLoader(scope=ImportScope.of(str(path), import_path()))
    checked, diags = compile_source(read_bytes(path), str(path), loader)
    errors = [d for d in diags if d.is_error]
    if checked is None or errors:
        print_diagnostics(errors or diags, loader.sources)
        raise Failed()
    return checked, loader.sources


def load_family(ref: str, name: str | None = None) -> LoadedFamily:
    """``FILE`` or ``FILE:FAMILY`` (or FILE with ``name``) → the module's family; the name is looked up by
    the facade (with "did you mean"); a file with several families needs the name."""
    path_text, _, given = ref.partition(":") if not is_file(ref) else (ref, "", "")
    checked, sources = load_module(Path(path_text))
    family = find_family(checked, name or given or None, path_text)
    return LoadedFamily(checked, family, Evaluator(checked), sources)


def grammar_too_large(grammar: CompiledGrammar) -> str | None:
    """Why ``grammar`` cannot match any utterance here (its matcher is over the engine's limits: a Text
    capture whose pattern is one huge DFA), or None; ``ddl check`` reports the same as DDL506."""
    try:
        grammar.matcher  # noqa: B018 - built lazily; building it is the test
    except RegularError as err:
        return err.summary if isinstance(err, AutomatonTooLarge) else str(err)
    return None


def import_path() -> tuple[str, ...]:
    """The import search path of ``[check]`` in ddl.toml ($DDL_CONFIG, else the working directory's), as
    ``ddl check`` reads it, so a file ``ddl check`` passes can be run."""
    try:
        return load_check_settings().import_path
    except ConfigError as err:
        raise UsageError(str(err)) from None
