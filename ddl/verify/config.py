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

A bad file or value is a :class:`ConfigError` naming the file and key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import attrs

from ddl.regular import Limits
from ddl.verify.grammar import DEFAULT_MAX_STATES, check_limits

CONFIG_ENV = "DDL_CONFIG"
CONFIG_FILE_NAME = "ddl.toml"
MAX_MAX_STATES = 100_000_000
_KEYS = {"max_states"}


class ConfigError(Exception):
    """The config file or a setting is invalid (a usage error: exit 2)."""


@attrs.frozen
class CheckSettings:
    max_states: int = DEFAULT_MAX_STATES
    source: str = "default"  # where max_states came from, for messages

    def limits(self) -> Limits:
        return check_limits(self.max_states)


def _valid(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MAX_STATES:
        raise ConfigError(f"{where} must be an integer from 1 to {MAX_MAX_STATES:,}, not {value!r}")
    return value


def load_check_settings(config: str | os.PathLike[str] | None = None, *, max_states: int | None = None,
                        directory: str | os.PathLike[str] | None = None) -> CheckSettings:
    """The settings that apply (see the module docstring)."""
    if max_states is not None:
        return CheckSettings(_valid(max_states, "--max-states"), "--max-states")
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
        return CheckSettings()
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
    if "max_states" not in table:
        return CheckSettings()
    return CheckSettings(_valid(table["max_states"], f"config file {chosen}: [check].max_states"), str(chosen))
