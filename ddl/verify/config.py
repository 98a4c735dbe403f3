"""Settings of ``ddl check``: the resource limit of the grammar obligations, from the command line
or a config file.

The limit bounds every automaton the obligations build (capture automata, the two-parse product,
path searches, projections): ``max_states`` states each (path searches, which are linear, get four
times as many).  It is there for hostile grammars; real ones stay far below it
(bench/grammar_scale.py).  When a grammar reaches it, the obligation is ``unknown`` (DDL506) with
what grew, how far and which part of the grammar drove it, and the limit can be raised:

1. ``ddl check --max-states N`` (wins);
2. ``max_states = N`` in the ``[check]`` table of the config file: the file given with ``--config``,
   else ``$DDL_CONFIG``, else ``ddl.toml`` in the current directory (the handler's ``[handler]``
   settings may live in the same file);
3. the default, :data:`DEFAULT_MAX_STATES`.

``family_steps = N`` (or ``ddl check --family-steps N``, which wins) is the verifier's own budget per
family, in evaluation steps (:mod:`ddl.verify.limits`).

The same table may hold ``import_path = ["dir", ...]``: directories (relative to the config file)
whose files a module may import besides those under its own directory tree (spec/types.md,
section 19).

A bad file or value is a :class:`ConfigError` naming the file and key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import attrs

from ddl.regular import Limits
from ddl.verify.limits import DEFAULT_FAMILY_STEPS, DEFAULT_MAX_STATES, MAX_FAMILY_STEPS, check_limits

CONFIG_ENV = "DDL_CONFIG"
CONFIG_FILE_NAME = "ddl.toml"
MAX_MAX_STATES = 100_000_000
_KEYS = {"max_states", "import_path", "family_steps"}


class ConfigError(Exception):
    """The config file or a setting is invalid (a usage error: exit 2)."""


@attrs.frozen
class CheckSettings:
    max_states: int = DEFAULT_MAX_STATES
    source: str = "default"  # where max_states came from, for messages
    import_path: tuple[str, ...] = ()  # directories imports may also come from (absolute)
    family_steps: int = DEFAULT_FAMILY_STEPS  # the verifier's evaluation steps per family

    def limits(self) -> Limits:
        return check_limits(self.max_states, self.family_steps)


def _valid(value: Any, where: str, most: int = MAX_MAX_STATES) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ConfigError(f"{where} must be an integer from 1 to {most:,}, not {value!r}")
    return value


def load_check_settings(config: str | os.PathLike[str] | None = None, *, max_states: int | None = None,
                        directory: str | os.PathLike[str] | None = None,
                        family_steps: int | None = None) -> CheckSettings:
    """The settings that apply (see the module docstring)."""
    settings = _from_file(config, max_states, directory)
    if family_steps is not None:  # --family-steps wins over the file
        return attrs.evolve(settings, family_steps=_valid(family_steps, "--family-steps", MAX_FAMILY_STEPS))
    return settings


def _from_file(config: str | os.PathLike[str] | None, max_states: int | None,
               directory: str | os.PathLike[str] | None) -> CheckSettings:
    chosen: Path | None = None
    if config is not None:
        chosen = Path(config)
    elif os.environ.get(CONFIG_ENV):
        chosen = Path(os.environ[CONFIG_ENV])
    else:
        here = Path(directory) if directory is not None else Path.cwd()
        if (here / CONFIG_FILE_NAME).is_file():
            chosen = here / CONFIG_FILE_NAME
    if chosen is None:
        return _override(CheckSettings(), max_states)
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {chosen}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConfigError(f"config file {chosen}: cannot read: {reason}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {chosen}: invalid TOML: {err}") from None
    table = data.get("check", {})
    if not isinstance(table, dict):
        raise ConfigError(f"config file {chosen}: 'check' must be a table ([check])")
    for key in table:
        if key not in _KEYS:
            raise ConfigError(f"config file {chosen}: unknown key [check].{key} (known keys: {', '.join(sorted(_KEYS))})")
    import_path = _import_path(table.get("import_path", []), chosen)
    steps = DEFAULT_FAMILY_STEPS
    if "family_steps" in table:
        steps = _valid(table["family_steps"], f"config file {chosen}: [check].family_steps", MAX_FAMILY_STEPS)
    if "max_states" not in table:
        return _override(CheckSettings(import_path=import_path, family_steps=steps), max_states)
    return _override(CheckSettings(_valid(table["max_states"], f"config file {chosen}: [check].max_states"),
                                   str(chosen), import_path, steps), max_states)


def _override(settings: CheckSettings, max_states: int | None) -> CheckSettings:
    """``--max-states`` wins over the file (whose other keys still apply)."""
    if max_states is None:
        return settings
    return attrs.evolve(settings, max_states=_valid(max_states, "--max-states"), source="--max-states")


def _import_path(value: Any, config: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"config file {config}: [check].import_path must be a list of directory names, "
                          f"not {value!r}")
    return tuple(str((config.parent / v).resolve()) for v in value)
