"""The handler's settings: which fallback model, its timeout, the store, prices, limits.

Settings come from four layers, the first that sets a value wins:

1. command-line flags (``resolve(model=..., store=..., ...)``);
2. environment variables ``DDL_MODEL`` and ``DDL_STORE``;
3. a TOML config file, whose ``[handler]`` table holds the keys below; the file is the one given
   explicitly (``--config``), else ``$DDL_CONFIG``, else ``<directory>/ddl.toml`` when it exists;
4. the defaults of :class:`HandlerConfig`; the store defaults to ``<directory>/.ddl-handler/ledger.sqlite3``.

A bad config file is a :class:`HandlerError` with code DDL705 naming the file and the key, so a
typo (``modle = ...``) or a wrong type (``timeout = "30"``) is reported instead of silently ignored.

Example ``ddl.toml``::

    [handler]
    model = "gpt-4o-mini"
    timeout = 20
    store = ".ddl-handler/ledger.sqlite3"      # relative paths are relative to the config file
    price_in = 0.00015                  # per 1,000 input tokens
    price_out = 0.0006                  # per 1,000 output tokens
    max_utterance = 4096
    extract = true                      # on a miss, first ask the model which family and θ (spec/widen.md)
    widen_after = 10                    # widen a family after this many new candidate phrasings (0: never)
    widen_method = "align"              # how: "align" (no model call), "llm" or "both" (spec/widen.md)
    max_model_priority = 5              # the highest priority a family a model wrote may declare (default:
                                        # the lowest served priority, never above 0; spec/handler.md)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ddl.handler.records import HandlerError

CONFIG_ENV = "DDL_CONFIG"
MODEL_ENV = "DDL_MODEL"
STORE_ENV = "DDL_STORE"
CONFIG_FILE_NAME = "ddl.toml"
DEFAULT_STORE = Path(".ddl-handler") / "ledger.sqlite3"  # not ".ddl": a directory must never look like a source file
# The learners `ddl widen` and the handler's automatic widening may use (spec/widen.md).
WIDEN_METHODS = ("align", "llm", "both")


@attrs.frozen
class HandlerConfig:
    """Everything the handler needs besides its directory of families."""

    model: str | None = None  # an `llm` model id or alias; None: misses are DDL707 results
    timeout: float = 30.0  # seconds to wait for the model
    store: str | None = None  # a file path or a sqlite:/// / postgresql:// URL
    price_in: float = 0.0  # price per 1,000 input tokens
    price_out: float = 0.0  # price per 1,000 output tokens
    cost_per_call: float | None = None  # the cost of one LLM call when tokens are not reported
    system: str | None = None  # the system prompt sent with each fallback query
    max_utterance: int = 4096  # characters; longer utterances are refused (DDL705)
    compile_on_miss: bool = False  # distill a miss into a new family (spec/handler.md, "Compile on miss")
    distill_rounds: int = 3  # repair rounds when compiling a miss
    extract: bool = True  # on a miss, first ask the model for the family and θ (spec/widen.md, "Extraction")
    widen_after: int = 0  # widen a family after this many new candidate phrasings; 0: never automatically
    widen_method: str = "align"  # the learner of automatic widening: align needs no model call
    # The highest priority a family a model wrote (DIR/distilled/) may declare; None: the lowest served
    # priority, never above 0, so it cannot outrank a served family (spec/handler.md, "Compile on miss").
    max_model_priority: int | None = None


# key -> kind of value it takes (see _EXPECTED)
_KEYS: dict[str, str] = {
    "model": "str",
    "timeout": "positive",
    "store": "str",
    "price_in": "nonnegative",
    "price_out": "nonnegative",
    "cost_per_call": "nonnegative",
    "system": "str",
    "max_utterance": "count",
    "compile_on_miss": "bool",
    "distill_rounds": "count",
    "extract": "bool",
    "widen_after": "count0",
    "widen_method": "widen_method",
    "max_model_priority": "int",
}
_EXPECTED = {
    "str": "a string",
    "positive": "a positive number",
    "nonnegative": "a number >= 0",
    "count": "a positive integer",
    "count0": "an integer >= 0",
    "bool": "true or false",
    "int": "an integer",
    "widen_method": "one of " + ", ".join(f'"{m}"' for m in WIDEN_METHODS),
}


def _toml_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


def _check_value(key: str, value: Any) -> str | None:
    """None if ``value`` fits ``key``, else what was expected (for the message)."""
    kind = _KEYS[key]
    if kind == "str":
        return None if isinstance(value, str) else _EXPECTED[kind]
    if kind == "widen_method":
        return None if value in WIDEN_METHODS else _EXPECTED[kind]
    if kind == "bool":
        return None if isinstance(value, bool) else _EXPECTED[kind]
    if kind == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else _EXPECTED[kind]
    if kind in ("count", "count0"):
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= (1 if kind == "count" else 0)
        return None if ok else _EXPECTED[kind]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _EXPECTED[kind]
    if kind == "positive" and value <= 0:
        return _EXPECTED[kind]
    if kind == "nonnegative" and value < 0:
        return _EXPECTED[kind]
    return None


def _is_url(store: str) -> bool:
    return "://" in store or store.lower().startswith("sqlite:") or store == ":memory:"


def load_config(path: str | os.PathLike[str] | None = None, directory: Path | None = None) -> HandlerConfig:
    """Read the config file that applies (explicit path > $DDL_CONFIG > <directory>/ddl.toml), or defaults.

    An explicit or $DDL_CONFIG file must exist; ``<directory>/ddl.toml`` is optional.  Relative store
    paths in the file are taken relative to the file, so the config means the same from any directory.
    """
    chosen = config_file(path, directory)
    if chosen is None:
        return HandlerConfig()
    return _read_file(chosen)


def config_file(path: str | os.PathLike[str] | None = None, directory: Path | None = None) -> Path | None:
    """The config file that applies: explicit path > $DDL_CONFIG > <directory>/ddl.toml when it exists."""
    if path is not None:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    if directory is not None and (Path(directory) / CONFIG_FILE_NAME).is_file():
        return Path(directory) / CONFIG_FILE_NAME
    return None


def _read_file(path: Path) -> HandlerConfig:
    import tomllib  # deferred: only a directory with a config file needs the TOML parser

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HandlerError(f"config file {path}: no such file", "DDL705") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise HandlerError(f"config file {path}: cannot read: {reason}", "DDL705") from None
    except tomllib.TOMLDecodeError as err:
        raise HandlerError(f"config file {path}: invalid TOML: {err}", "DDL705") from None
    for key, value in data.items():
        if not isinstance(value, dict) and key in _KEYS:
            raise HandlerError(
                f"config file {path}: key '{key}' must be in the [handler] table", "DDL705")
    table = data.get("handler", {})
    if not isinstance(table, dict):
        raise HandlerError(f"config file {path}: 'handler' must be a table ([handler])", "DDL705")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            known = ", ".join(_KEYS)
            raise HandlerError(
                f"config file {path}: unknown key [handler].{key} (known keys: {known})", "DDL705")
        expected = _check_value(key, value)
        if expected is not None:
            raise HandlerError(
                f"config file {path}: [handler].{key} must be {expected}, not {_toml_type(value)} {value!r}",
                "DDL705")
        values[key] = value
    for key in ("timeout", "price_in", "price_out", "cost_per_call"):
        if key in values:
            values[key] = float(values[key])
    store = values.get("store")
    if store is not None and not _is_url(store) and not Path(store).is_absolute():
        values["store"] = str(path.parent / store)
    return HandlerConfig(**values)


def resolve(
    config: HandlerConfig,
    *,
    directory: Path | None = None,
    model: str | None = None,
    store: str | None = None,
    timeout: float | None = None,
    price_in: float | None = None,
    price_out: float | None = None,
    cost_per_call: float | None = None,
    system: str | None = None,
    max_utterance: int | None = None,
    compile_on_miss: bool | None = None,
    distill_rounds: int | None = None,
    extract: bool | None = None,
    widen_after: int | None = None,
    widen_method: str | None = None,
    env: Mapping[str, str] | None = None,
) -> HandlerConfig:
    """Apply command-line values (when not None) and the environment over the file's ``config``.

    The store falls back to ``<directory>/.ddl-handler/ledger.sqlite3`` when nothing names one.  Flag
    values are checked like file values (DDL705), since they are user input too.
    """
    environ = os.environ if env is None else env
    flags: dict[str, Any] = {
        "timeout": timeout, "price_in": price_in, "price_out": price_out,
        "cost_per_call": cost_per_call, "system": system, "max_utterance": max_utterance,
        "compile_on_miss": compile_on_miss, "distill_rounds": distill_rounds,
        "extract": extract, "widen_after": widen_after, "widen_method": widen_method,
    }
    changes: dict[str, Any] = {}
    for key, value in flags.items():
        if value is None:
            continue
        expected = _check_value(key, value)
        if expected is not None:
            raise HandlerError(f"{key.replace('_', '-')} must be {expected}, not {value!r}", "DDL705")
        exact = ("system", "max_utterance", "compile_on_miss", "distill_rounds", "extract", "widen_after",
                 "widen_method")
        changes[key] = value if key in exact else float(value)
    chosen_model = model or environ.get(MODEL_ENV) or config.model
    changes["model"] = chosen_model or None
    chosen_store = store or environ.get(STORE_ENV) or config.store
    if not chosen_store and directory is not None:
        chosen_store = str(Path(directory) / DEFAULT_STORE)
    changes["store"] = chosen_store or None
    return attrs.evolve(config, **changes)
