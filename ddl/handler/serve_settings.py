"""``ddl serve``'s own settings: the token, the hosts and origins it answers, timeouts, the log.

They come from flags, then the ``[serve]`` table of the config file (the file
:func:`ddl.handler.config.config_file` picks: ``--config``, ``$DDL_CONFIG``, ``DIR/ddl.toml``), then
the defaults of :class:`ServeSettings`::

    [serve]
    token_file = "/etc/ddl/token"          # relative paths are relative to the config file
    allowed_hosts = ["ddl.example.org"]    # Host names answered besides the bound host ("*": any)
    allowed_origins = ["https://app.example.org"]   # browser origins allowed besides the server's own
    header_timeout = 10                    # seconds a client has to send a request's headers
    body_timeout = 30                      # seconds a client has to send a request's body
    log_file = "/var/log/ddl/serve.jsonl"  # JSON lines; default: stderr
    log_utterances = false                 # true: the access log carries each query's utterance

The token is read from ``--token-file``, else ``$DDL_SERVE_TOKEN``, else ``token_file`` (spec/handler.md,
"Running it safely"); a service bound beyond loopback refuses to start without one (DDL718).
"""

from __future__ import annotations

import ipaddress
import math
import os
import stat
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from ddl.handler.records import HandlerError

TOKEN_ENV = "DDL_SERVE_TOKEN"
MIN_TOKEN_LENGTH = 16
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
ANY_HOST = "*"
_SETUP_CODE = "DDL718"  # the service cannot start safely as configured


@attrs.frozen
class ServeSettings:
    """What ``ddl serve`` checks and logs, besides the handler's own settings."""

    token_file: str | None = None
    allowed_hosts: tuple[str, ...] = ()  # normalized host names (lowercase, no brackets, no port), or "*"
    allowed_origins: tuple[str, ...] = ()  # normalized origins: scheme://host[:port], default port dropped
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    log_file: str | None = None
    log_utterances: bool = False


_KEYS = ("token_file", "allowed_hosts", "allowed_origins", "header_timeout", "body_timeout", "log_file",
         "log_utterances")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses no other machine can reach."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def normalize_host(raw: str) -> str | None:
    """A host name or address as the Host check compares it (lowercase, no brackets, no trailing
    dot), ``*`` as is; None when ``raw`` is not a host name or address."""
    text = raw.strip()
    if text == ANY_HOST:
        return ANY_HOST
    name = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    name = name.lower().rstrip(".")
    if not name:
        return None
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    labels = name.split(".")
    if all(label and len(label) <= 63 and all(c.isascii() and (c.isalnum() or c in "-_") for c in label)
           for label in labels):
        return name
    return None


def normalize_origin(raw: str) -> str | None:
    """``scheme://host[:port]`` as a browser sends it in ``Origin`` (lowercase, the scheme's default
    port dropped); None when ``raw`` is not an http(s) origin (a path, a query, user info)."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or parts.path not in ("", "/") or parts.query \
            or parts.fragment or parts.username is not None or parts.password is not None or not parts.hostname:
        return None
    host = normalize_host(parts.hostname)
    if host is None or host == ANY_HOST:
        return None
    scheme = parts.scheme.lower()
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{shown}" if port in (None, default) else f"{scheme}://{shown}:{port}"


def _normalized(values: Sequence[Any], where: str, normalize: Callable[[str], str | None], wanted: str) -> tuple[str, ...]:
    """Each value normalized (duplicates dropped), or DDL705 naming the first that is not ``wanted``."""
    out = []
    for value in values:
        norm = normalize(value) if isinstance(value, str) else None
        if norm is None:
            raise HandlerError(f"{where}: {value!r} is not {wanted}", "DDL705")
        out.append(norm)
    return tuple(dict.fromkeys(out))


def _hosts(values: Sequence[Any], where: str) -> tuple[str, ...]:
    return _normalized(values, where, normalize_host,
                       'a host name or address (e.g. "ddl.example.org", "10.0.0.5", or "*" for any)')


def _origins(values: Sequence[Any], where: str) -> tuple[str, ...]:
    return _normalized(values, where, normalize_origin, 'an origin (scheme://host[:port], e.g. "https://app.example.org")')


def _timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise HandlerError(f"{where} must be a positive number of seconds, not {value!r}", "DDL705")
    return float(value)


def load_serve_settings(path: Path | None) -> ServeSettings:
    """The ``[serve]`` table of the config file at ``path`` (None: no file, the defaults); DDL705 naming
    the file and key when the table is wrong."""
    if path is None:
        return ServeSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        # load_config reads the same file first and reports these; this is for a file that changed since
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise HandlerError(f"config file {path}: cannot read: {reason}", "DDL705") from None
    table = data.get("serve", {})
    if not isinstance(table, dict):
        raise HandlerError(f"config file {path}: 'serve' must be a table ([serve])", "DDL705")
    values: dict[str, Any] = {}
    for key, value in table.items():
        where = f"config file {path}: [serve].{key}"
        if key not in _KEYS:
            raise HandlerError(f"config file {path}: unknown key [serve].{key} (known keys: {', '.join(_KEYS)})",
                               "DDL705")
        if key in ("token_file", "log_file"):
            if not isinstance(value, str) or not value:
                raise HandlerError(f"{where} must be a file path (a non-empty string), not {value!r}", "DDL705")
            values[key] = value if Path(value).is_absolute() else str(path.parent / value)
        elif key in ("allowed_hosts", "allowed_origins"):
            if not isinstance(value, list):
                raise HandlerError(f"{where} must be a list of strings, not {value!r}", "DDL705")
            values[key] = _hosts(value, where) if key == "allowed_hosts" else _origins(value, where)
        elif key == "log_utterances":
            if not isinstance(value, bool):
                raise HandlerError(f"{where} must be true or false, not {value!r}", "DDL705")
            values[key] = value
        else:
            values[key] = _timeout(value, where)
    return ServeSettings(**values)


def resolve_serve_settings(settings: ServeSettings, *, token_file: str | None = None,
                           allowed_hosts: Sequence[str] | None = None, allowed_origins: Sequence[str] | None = None,
                           header_timeout: float | None = None, body_timeout: float | None = None,
                           log_file: str | None = None, log_utterances: bool | None = None) -> ServeSettings:
    """Flag values (when not None) over the file's ``settings``; a list given by flags replaces the file's."""
    changes: dict[str, Any] = {}
    if token_file is not None:
        changes["token_file"] = token_file
    if allowed_hosts is not None:
        changes["allowed_hosts"] = _hosts(allowed_hosts, "--allow-host")
    if allowed_origins is not None:
        changes["allowed_origins"] = _origins(allowed_origins, "--allow-origin")
    if header_timeout is not None:
        changes["header_timeout"] = _timeout(header_timeout, "--header-timeout")
    if body_timeout is not None:
        changes["body_timeout"] = _timeout(body_timeout, "--body-timeout")
    if log_file is not None:
        if not log_file:
            raise HandlerError("--log-file must be a file path, not an empty string", "DDL705")
        changes["log_file"] = log_file
    if log_utterances is not None:
        changes["log_utterances"] = log_utterances
    return attrs.evolve(settings, **changes)


def _valid_token(token: str, source: str) -> str:
    token = token.strip()
    if not token:
        raise HandlerError(f"{source} is empty: put a random token in it (e.g. `python -c \"import secrets; "
                           "print(secrets.token_urlsafe(32))\"`)", _SETUP_CODE)
    if not all("!" <= c <= "~" for c in token):
        raise HandlerError(f"{source} holds spaces, control or non-ASCII characters: a token must be printable "
                           "ASCII to travel in an Authorization header", _SETUP_CODE)
    if len(token) < MIN_TOKEN_LENGTH:
        raise HandlerError(f"{source} holds a token of {len(token)} characters; at least {MIN_TOKEN_LENGTH} are "
                           "needed (e.g. `python -c \"import secrets; print(secrets.token_urlsafe(32))\"`)",
                           _SETUP_CODE)
    return token


def load_token(token_file: str | None, environ: Mapping[str, str] | None = None,
               *, file_first: bool = True) -> tuple[str | None, list[str]]:
    """The bearer token and warnings about it: from ``token_file`` when given, else ``$DDL_SERVE_TOKEN``.

    ``file_first=False`` lets the environment win over a file that came from the config file (a flag's
    file always wins).  A file that cannot be read, an empty or short token, or one with characters a
    header cannot carry is DDL718.  The token itself never appears in a message.
    """
    env = os.environ if environ is None else environ
    from_env = env.get(TOKEN_ENV)
    if token_file is not None and (file_first or not from_env):
        path = Path(token_file)
        try:
            raw = path.read_bytes()
        except OSError as err:
            raise HandlerError(f"cannot read the token file {path}: {err.strerror or err}", _SETUP_CODE) from None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise HandlerError(f"the token file {path} holds non-ASCII bytes: a token must be printable ASCII",
                               _SETUP_CODE) from None
        token = _valid_token(text, f"the token file {path}")
        warnings = []
        try:
            mode = path.stat().st_mode
        except OSError:  # pragma: no cover - it was just read
            mode = 0
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            warnings.append(f"the token file {path} is readable by other users (chmod 600 {path})")
        return token, warnings
    if from_env is not None:
        return _valid_token(from_env, f"${TOKEN_ENV}"), []
    return None, []


def require_token_beyond_loopback(host: str, token: str | None) -> None:
    """DDL718 when ``host`` is reachable from other machines and no token is configured."""
    if token is None and not is_loopback(host):
        raise HandlerError(
            f"refusing to serve on {host or '0.0.0.0'} without a token: any machine that can reach it could "
            f"query, send feedback and reload. Give a token (--token-file FILE or ${TOKEN_ENV}; clients send "
            "'Authorization: Bearer <token>'), or listen on loopback (--host 127.0.0.1, the default) behind a "
            "reverse proxy", _SETUP_CODE)


def check_log_file(log_file: str | None) -> None:
    """DDL718 when the log file cannot be appended to (checked before the service starts, so the
    operator hears of it at once and not as a failure inside the HTTP server's logging setup)."""
    if log_file is None:
        return
    try:
        with open(log_file, "a", encoding="utf-8"):
            pass
    except OSError as err:
        raise HandlerError(f"cannot write the log file {log_file}: {err.strerror or err}", _SETUP_CODE) from None
