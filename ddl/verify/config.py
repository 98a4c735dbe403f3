"""Settings of ``ddl check`` (and of ``ddl fmt``'s file discovery), from the command line or a config file.

Where the settings come from (spec/checks.md, "Configuration"), the first that applies:

1. the command line (``--max-states``, ``--family-steps``, ``--allow-unknown``, ``--exclude``… win key by key);
2. the file given with ``--config``, else ``$DDL_CONFIG``;
3. the nearest config file found walking up from the first path named (its directory; for ``-``, that of
   ``--stdin-filename``), else from the current directory: in each directory, ``ddl.toml``
   (its ``[check]`` table) wins over ``pyproject.toml`` (its ``[tool.ddl]`` table; a pyproject.toml
   without that table is passed over), as ruff's ``ruff.toml`` wins over ``pyproject.toml``;
4. the defaults.

Both tables take the same keys (``-`` and ``_`` are the same in a key: ``extend-exclude`` is
``extend_exclude``): ``paths`` (checked when the command line names none), ``exclude`` (gitignore-style
patterns a directory walk skips; replaces :data:`ddl.files.DEFAULT_EXCLUDE`), ``extend_exclude`` (adds to
it), ``respect_gitignore``, ``allow_unknown``, ``max_states``, ``family_steps`` and ``import_path``.
Paths and patterns are relative to the config file's directory.

The limit ``max_states`` bounds every automaton the grammar obligations build (capture automata, the
two-parse product, path searches, projections): ``max_states`` states each (path searches, which are
linear, get four times as many).  It is there for hostile grammars; real ones stay far below it
(bench/grammar_scale.py).  When a grammar reaches it, the obligation is ``unknown`` (DDL506) with what
grew, how far and which part of the grammar drove it.  ``family_steps`` is the verifier's own budget per
family, in evaluation steps (:mod:`ddl.verify.limits`).  ``import_path = ["dir", ...]`` names
directories whose files a module may import besides those under its own directory tree (spec/types.md,
section 19).

A bad file or value is a :class:`ConfigError` naming the file and key; an unknown key (DDL903) or a bad
value (DDL904) also carries a diagnostic at the key's line, with a did-you-mean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from ddl.diagnostics import Diagnostic, Span, did_you_mean
from ddl.files import DEFAULT_EXCLUDE, Discovery
from ddl.regular import Limits
from ddl.verify.limits import DEFAULT_FAMILY_STEPS, DEFAULT_MAX_STATES, MAX_FAMILY_STEPS, check_limits

CONFIG_ENV = "DDL_CONFIG"
CONFIG_FILE_NAME = "ddl.toml"
PYPROJECT = "pyproject.toml"
MAX_MAX_STATES = 100_000_000
_KEYS = ("paths", "exclude", "extend_exclude", "respect_gitignore", "allow_unknown", "max_states",
         "family_steps", "import_path")


class ConfigError(Exception):
    """The config file or a setting is invalid (a usage error: exit 2).  ``diagnostic``, when the culprit
    is a key of the file, points at its line."""

    def __init__(self, message: str, diagnostic: Diagnostic | None = None) -> None:
        super().__init__(message)
        self.diagnostic = diagnostic


@attrs.frozen
class CheckSettings:
    max_states: int = DEFAULT_MAX_STATES
    source: str = "default"  # where max_states came from, for messages
    import_path: tuple[str, ...] = ()  # directories imports may also come from (absolute)
    family_steps: int = DEFAULT_FAMILY_STEPS  # the verifier's evaluation steps per family
    paths: tuple[str, ...] = ()  # checked when the command line names none (as the user may type them)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    allow_unknown: bool = False
    config_file: str | None = None  # the file these came from, if any

    def limits(self) -> Limits:
        return check_limits(self.max_states, self.family_steps)

    def discovery(self, *, force_exclude: bool = False) -> Discovery:
        """How the files under a directory are found (patterns relative to the config file's directory)."""
        root = Path(self.config_file).resolve().parent if self.config_file is not None else None
        return Discovery(self.exclude, self.extend_exclude, root, self.respect_gitignore, force_exclude)


def _valid(value: Any, where: str, most: int = MAX_MAX_STATES) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ConfigError(f"{where} must be an integer from 1 to {most:,}, not {value!r}")
    return value


def load_check_settings(config: str | os.PathLike[str] | None = None, *, max_states: int | None = None,
                        directory: str | os.PathLike[str] | None = None,
                        family_steps: int | None = None, allow_unknown: bool | None = None,
                        extend_exclude: Sequence[str] = (), start: str | os.PathLike[str] | None = None) -> CheckSettings:
    """The settings that apply (see the module docstring).  ``directory``: read ``ddl.toml`` there only
    (the handler's directory), without walking up; ``start``: where the walk up begins (default: the
    current directory)."""
    chosen = _choose(config, directory, start)
    settings = CheckSettings() if chosen is None else _read(chosen)
    if max_states is not None:  # the command line wins over the file (whose other keys still apply)
        settings = attrs.evolve(settings, max_states=_valid(max_states, "--max-states"), source="--max-states")
    if family_steps is not None:
        settings = attrs.evolve(settings, family_steps=_valid(family_steps, "--family-steps", MAX_FAMILY_STEPS))
    if allow_unknown is not None:
        settings = attrs.evolve(settings, allow_unknown=allow_unknown)
    if extend_exclude:
        settings = attrs.evolve(settings, extend_exclude=(*settings.extend_exclude, *extend_exclude))
    return settings


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``ddl.toml``, or ``pyproject.toml`` with a ``[tool.ddl]`` table, in ``start`` (default:
    the current directory) or a directory above it."""
    here = Path(os.path.abspath(start if start is not None else Path.cwd()))
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE_NAME).is_file():
            return folder / CONFIG_FILE_NAME
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _has_tool_ddl(pyproject):
            return pyproject
    return None


def _has_tool_ddl(pyproject: Path) -> bool:
    try:  # a pyproject.toml that cannot be read or parsed is not ours to complain about unless it names us
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "ddl" not in text:  # the common case, without parsing someone else's file
        return False
    import tomllib  # deferred: only a config file needs the TOML parser

    try:
        tool = tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:  # when it names [tool.ddl], reading it reports the TOML error
        return re.search(r"^\s*\[\s*tool\s*\.\s*ddl\b", text, re.MULTILINE) is not None
    return isinstance(tool, dict) and "ddl" in tool


def _choose(config: str | os.PathLike[str] | None, directory: str | os.PathLike[str] | None,
            start: str | os.PathLike[str] | None) -> Path | None:
    if config is not None:
        return Path(config)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    if directory is not None:
        candidate = Path(directory) / CONFIG_FILE_NAME
        return candidate if candidate.is_file() else None
    return find_config(start)


def _read(chosen: Path) -> CheckSettings:
    import tomllib  # deferred: only a config file needs the TOML parser

    try:
        text = chosen.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"config file {chosen}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConfigError(f"config file {chosen}: cannot read: {reason}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {chosen}: invalid TOML: {err}") from None
    if chosen.name == PYPROJECT:
        tool = data.get("tool", {})
        table, name = (tool.get("ddl", {}) if isinstance(tool, dict) else {}), "tool.ddl"
    else:
        table, name = data.get("check", {}), "check"
    if not isinstance(table, dict):
        raise ConfigError(f"config file {chosen}: '{name}' must be a table ([{name}])")
    file = _File(chosen, text, name)
    values: dict[str, Any] = {}
    for key, value in table.items():
        canonical = key.replace("-", "_")
        if canonical not in _KEYS:
            hint = did_you_mean(canonical, _KEYS)
            raise ConfigError(f"config file {chosen}: unknown key [{name}].{key} "
                              f"(known keys: {', '.join(_KEYS)})" + (f"; {hint}" if hint else ""),
                              file.diagnostic("DDL903", key, f"unknown key [{name}].{key}",
                                              hint or f"the known keys are {', '.join(_KEYS)}"))
        if canonical in values:
            raise ConfigError(f"config file {chosen}: [{name}].{key} is given twice (as - and _ spellings)",
                              file.diagnostic("DDL904", key, f"[{name}].{key} is given twice (as - and _ spellings)"))
        values[canonical] = (key, value)
    settings = CheckSettings(config_file=str(chosen))
    for canonical, (key, value) in values.items():
        settings = attrs.evolve(settings, **file.setting(canonical, key, value))
    return settings


@attrs.frozen
class _File:
    """A config file being read: where its keys are, to point diagnostics at them."""

    path: Path
    text: str
    table: str

    def setting(self, canonical: str, key: str, value: Any) -> dict[str, Any]:
        where = f"config file {self.path}: [{self.table}].{key}"
        try:
            if canonical == "max_states":
                return {"max_states": _valid(value, where), "source": str(self.path)}
            if canonical == "family_steps":
                return {"family_steps": _valid(value, where, MAX_FAMILY_STEPS)}
            if canonical == "import_path":
                return {"import_path": _import_path(value, self.path, self.table)}
            if canonical in ("respect_gitignore", "allow_unknown"):
                if not isinstance(value, bool):
                    raise ConfigError(f"{where} must be true or false, not {value!r}")
                return {canonical: value}
            names = _strings(value, where)
            if canonical == "paths":
                return {"paths": tuple(_shown(self.path.parent / p) for p in names)}
            return {canonical: tuple(names)}
        except ConfigError as err:
            if err.diagnostic is not None:
                raise
            raise ConfigError(str(err), self.diagnostic("DDL904", key, str(err).removeprefix(f"config file {self.path}: "))) from None

    def diagnostic(self, code: str, key: str, message: str, hint: str | None = None) -> Diagnostic:
        line, col, offset = _key_position(self.text, self.table, key)
        span = Span(str(self.path), offset, offset + len(key), line, col, line, col + len(key))
        return Diagnostic(code, message, span, hint=hint)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings, not {value!r}")
    return list(value)


def _shown(path: Path) -> str:
    """A configured path as diagnostics show it: relative to the current directory (``../x.ddl`` when the
    config file is above it), as if the user had typed it here."""
    try:
        return os.path.relpath(os.path.abspath(path))
    except ValueError:  # another drive (Windows)
        return os.path.abspath(path)


def _key_position(text: str, table: str, key: str) -> tuple[int, int, int]:
    """Line, column and offset of ``key`` in ``table`` (tomllib keeps no positions): the first line after
    the table's header that assigns it, or a header ``[table.key]``; else the table's header; else 1:1."""
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(map(re.escape, table.split("."))) + r"\s*\]")
    sub = re.compile(r"^\s*\[+\s*" + r"\s*\.\s*".join(map(re.escape, [*table.split("."), key])) + r"\s*\]")
    assign = re.compile(r"^(\s*)[\"']?" + re.escape(key) + r"[\"']?\s*[=.]")
    inside, header_at = False, None
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if m := sub.match(line):
            col = line.index(key, line.index("[")) + 1
            return number, col, offset + col - 1
        if header.match(line):
            inside, header_at = True, (number, 1, offset)
        elif line.lstrip().startswith("["):
            inside = False
        elif inside and (m := assign.match(line)):
            col = len(m.group(1)) + (2 if line[len(m.group(1))] in "\"'" else 1)
            return number, col, offset + col - 1
        offset += len(line) + 1
    return header_at or (1, 1, 0)


def _import_path(value: Any, config: Path, table: str = "check") -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"config file {config}: [{table}].import_path must be a list of directory names, "
                          f"not {value!r}")
    return tuple(str((config.parent / v).resolve()) for v in value)
