"""attrs-generated methods compiled once per user, not once per process (issue 17; spec/handler.md).

attrs writes each class's ``__init__``, ``__eq__``, ``__hash__``, … as Python source and compiles it when the
class is defined: for the ~200 attrs classes a covered ``ddl handle`` defines (the AST and IR that unpickling a
checked module needs), ``compile`` alone was a third of its start.  :func:`install` gives attrs a ``compile``
that looks the code object up in a file of the user's cache (``$XDG_CACHE_HOME/ddl`` or ``~/.cache/ddl``), by
a hash of the source and its file name, and compiles (and remembers) only what is not there.  The file is
read once at start, written at exit when something was added, and **sealed** like the check cache's
pickles (:mod:`ddl.sealing`): code objects are only ever loaded from a file this user's ddl wrote.  Each
entry is marshalled on its own, so a process unmarshals only the classes it defines (the file holds those of
every command: reading them all had cost a covered ``ddl handle`` more than its hit).  A
missing, damaged, foreign or unsealed file, another Python, or any error is a miss: attrs compiles as it
always did.

The one part of the source that differs between processes is the per-class salt attrs writes into
``__hash__`` (``hash(filename)``, randomized per process): it is left out of the key, and a cached
``__hash__`` keeps the salt of the process that compiled it, as good as any other (hashes are never
stored; they only have to be consistent within a process, and different between classes).

Only the entry points install it (``ddl/cli.py``, ``python -m ddl``), before any ddl class is defined.
"""

from __future__ import annotations

import atexit
import hashlib
import marshal
import os
import re
import sys
from types import CodeType
from typing import Any

from ddl.sealing import hmac_tag, tag_matches

# The first line of the file: another Python (whose code objects differ) reads no entry.  The format's number
# is in the file's name too, so that ddl versions of another format keep their own file instead of replacing
# each other's at every exit.
_FORMAT = 2  # 2: each entry marshalled on its own
_MAGIC = f"ddl-attrs-code {_FORMAT} {sys.implementation.cache_tag} {sys.hexversion:x}\n".encode()
_PREFIX = "<attrs generated "  # attrs' generated file names; any other compile is not ours to cache
_SALT = re.compile(r"hash\(\(\n\s*-?[0-9]+,")  # the per-process salt of a generated __hash__
_MAX_ENTRIES = 20_000  # past this, the file keeps only the entries the writing process used

STATS = {"hits": 0, "misses": 0}  # this process's lookups (tests look)


def path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ddl", f"attrs-code-{_FORMAT}-{sys.implementation.cache_tag}.marshal")


def code_key(source: str, filename: str, mode: str) -> bytes:
    """The entry of a compiled source: its text (the salt left out), file name and mode."""
    text = _SALT.sub("hash((\n0,", source)
    return hashlib.blake2b(f"{filename}\0{mode}\0{text}".encode("utf-8", "surrogatepass"), digest_size=20).digest()


def read_table(where: str) -> dict[bytes, bytes]:
    """The entries of the file at ``where``, each code object still marshalled (:func:`install` unmarshals the
    ones a class asks for: the file holds every class any ddl command defined, and one command defines a
    fraction of them); empty when it is missing, damaged, of another Python or not sealed with the user's
    secret (never unmarshalled then)."""
    try:
        with open(where, "rb") as handle:
            if handle.readline() != _MAGIC:
                return {}
            tag = handle.readline()
            data = handle.read()
    except OSError:
        return {}
    if not tag.endswith(b"\n") or not tag_matches(tag[:-1], data):
        return {}
    try:
        table = marshal.loads(data)
    except (ValueError, EOFError, TypeError):  # pragma: no cover - sealed by this user's ddl
        return {}
    if not isinstance(table, dict):  # pragma: no cover - sealed by this user's ddl
        return {}
    return table


def write_table(where: str, table: dict[bytes, bytes]) -> bool:
    data = marshal.dumps(table)
    tag = hmac_tag(data)
    if tag is None:
        return False
    temporary = f"{where}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(where), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(_MAGIC + tag + b"\n" + data)
        os.replace(temporary, where)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    return True


def install() -> None:
    """Give attrs the caching ``compile`` (once per process; nothing when attrs has no ``compile`` to replace)."""
    try:
        from attr import _make  # deferred: attrs loads with the first ddl class, right after this
    except ImportError:  # pragma: no cover - attrs is a dependency
        return
    if getattr(_make, "_ddl_code_cache", False) or not hasattr(_make, "_compile_and_eval"):
        return  # installed already, or an attrs that compiles some other way: it keeps compiling itself
    where = path()
    table = read_table(where)
    used: set[bytes] = set()
    added: list[bytes] = []

    def cached_compile(source: Any, filename: Any, mode: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(source, str) or not str(filename).startswith(_PREFIX):
            return compile(source, filename, mode, *args, **kwargs)
        key = code_key(source, filename, mode)
        code = _code(table.get(key))
        if code is None:
            code = compile(source, filename, mode)
            table[key] = marshal.dumps(code)
            added.append(key)
            STATS["misses"] += 1
        else:
            STATS["hits"] += 1
        used.add(key)
        return code

    def save() -> None:
        if added:
            keep = table if len(table) <= _MAX_ENTRIES else {k: table[k] for k in used}
            write_table(where, keep)

    _make.compile = cached_compile  # type: ignore[attr-defined]  # shadows the built-in for attrs' module only
    _make._ddl_code_cache = True  # type: ignore[attr-defined]
    atexit.register(save)


def _code(entry: Any) -> Any:
    """The code object of a table entry; None for no entry or one that is not a marshalled code object."""
    if not isinstance(entry, bytes):
        return None
    try:
        code = marshal.loads(entry)
    except (ValueError, EOFError, TypeError):  # pragma: no cover - sealed by this user's ddl
        return None
    return code if isinstance(code, CodeType) else None
