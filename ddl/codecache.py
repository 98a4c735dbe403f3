"""attrs-generated methods compiled once per user, not once per process (issue 17; spec/handler.md).

attrs writes each class's ``__init__``, ``__eq__``, ``__hash__``, … as Python source and compiles it when the
class is defined: for the ~200 attrs classes a covered ``ddl handle`` defines (the AST and IR that unpickling a
checked module needs), ``compile`` alone was a third of its start.  :func:`install` gives attrs a ``compile``
that looks the code object up in a file of the user's cache (``$XDG_CACHE_HOME/ddl`` or ``~/.cache/ddl``), by
a hash of the source and its file name, and compiles (and remembers) only what is not there.  The file is
opened once at start, written at exit when something was added, and **sealed** like the check cache's
pickles (:mod:`ddl.sealing`): code objects are only ever loaded from a file this user's ddl wrote.

The file holds the classes of every command (800-odd), a process defines a fraction of them: its index
(key → offset, length and seal of the entry) is sealed and read on its own, the entries are mapped, not
read, and each entry's seal is checked and its code unmarshalled only when a class asks for it.  Reading,
hashing and unmarshalling the whole file had cost a covered ``ddl handle`` 5 ms, more than its hit.  A
missing, damaged, foreign or unsealed file or entry, another Python, or any error is a miss: attrs compiles
as it always did.

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
import mmap
import os
import re
import sys
from types import CodeType
from typing import Any

from ddl.sealing import hmac_digest, hmac_tag, tag_matches

# The first line of the file: another Python (whose code objects differ) reads no entry.  The format's number
# is in the file's name too, so that ddl versions of another format keep their own file instead of replacing
# each other's at every exit.
_FORMAT = 3  # 3: a sealed index, each entry sealed on its own and read only when asked for
_MAGIC = f"ddl-attrs-code {_FORMAT} {sys.implementation.cache_tag} {sys.hexversion:x}\n".encode()
_PREFIX = "<attrs generated "  # attrs' generated file names; any other compile is not ours to cache
_SALT = re.compile(r"hash\(\(\n\s*-?[0-9]+,")  # the per-process salt of a generated __hash__
_MAX_ENTRIES = 20_000  # past this, the file keeps only the entries the writing process used
_MAX_INDEX = 64 << 20  # an index line claiming more is damage, not a reason to read that much

STATS = {"hits": 0, "misses": 0}  # this process's lookups (tests look)


def path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ddl", f"attrs-code-{_FORMAT}-{sys.implementation.cache_tag}.marshal")


def code_key(source: str, filename: str, mode: str) -> bytes:
    """The entry of a compiled source: its text (the salt left out), file name and mode."""
    text = _SALT.sub("hash((\n0,", source)
    return hashlib.blake2b(f"{filename}\0{mode}\0{text}".encode("utf-8", "surrogatepass"), digest_size=20).digest()


class CodeTable:
    """The entries of a code cache file: the sealed index read at once, each entry read (from the mapped file),
    its seal checked and its code unmarshalled by :meth:`code`; entries added in this process are kept as
    marshalled bytes until :meth:`write`."""

    def __init__(self, index: dict[bytes, tuple[int, int, bytes]] | None = None, blob: Any = b"") -> None:
        self._index = index or {}
        self._blob = blob  # the entries: an mmap of the file from their start, or bytes
        self._added: dict[bytes, bytes] = {}

    def __len__(self) -> int:
        return len(self._index) + sum(1 for k in self._added if k not in self._index)

    def keys(self) -> list[bytes]:
        return [*self._index, *(k for k in self._added if k not in self._index)]

    def entry(self, key: bytes) -> bytes | None:
        """The marshalled code of ``key``, its seal checked (None: no such entry, or one not sealed)."""
        added = self._added.get(key)
        if added is not None:
            return added
        data, tag = self._stored(key)
        return data if data is not None and tag is not None and tag_matches(tag, data) else None

    def _sealed(self, key: bytes) -> tuple[bytes | None, bytes | None]:
        """An entry's bytes and seal as :meth:`write` copies them: an added one sealed now, a read one as it was
        (not checked again: one that does not match its seal is refused when it is read, as before)."""
        added = self._added.get(key)
        return (added, hmac_digest(added)) if added is not None else self._stored(key)

    def _stored(self, key: bytes) -> tuple[bytes | None, bytes | None]:
        """The bytes and seal the file holds for ``key`` (not checked); (None, None) when it holds none."""
        try:
            offset, length, tag = self._index[key]
            data = bytes(self._blob[offset:offset + length])
        except (KeyError, TypeError, ValueError, IndexError):  # no entry (a malformed one: the index is sealed)
            return None, None
        return (data, tag) if isinstance(tag, bytes) and len(data) == length else (None, None)

    def code(self, key: bytes) -> CodeType | None:
        return _code(self.entry(key))

    def add(self, key: bytes, code: CodeType) -> None:
        self._added[key] = marshal.dumps(code)

    def write(self, where: str, keys: list[bytes]) -> bool:
        """The entries of ``keys`` into a new file at ``where``, atomically: the added ones sealed now, the read
        ones with the seals they had (see :meth:`_sealed`)."""
        index: dict[bytes, tuple[int, int, bytes]] = {}
        chunks: list[bytes] = []
        offset = 0
        for key in keys:
            data, tag = self._sealed(key)
            if data is None or tag is None:
                continue
            index[key] = (offset, len(data), tag)
            chunks.append(data)
            offset += len(data)
        packed = marshal.dumps(index)
        seal = hmac_tag(packed)
        if seal is None:
            return False
        return _replace(where, b"".join([_MAGIC, seal, b" %d\n" % len(packed), packed, *chunks]))


def read_table(where: str) -> CodeTable:
    """The table of the file at ``where``: its index read and its seal checked, the entries mapped (read only
    when asked for); empty when the file is missing, damaged, of another Python or not sealed with the user's
    secret (nothing of it is unmarshalled then)."""
    try:
        with open(where, "rb") as handle:
            if handle.readline() != _MAGIC:
                return CodeTable()
            seal, _, size = handle.readline().rstrip(b"\n").partition(b" ")
            if not size.isdigit() or int(size) > _MAX_INDEX:
                return CodeTable()
            packed = handle.read(int(size))
            if len(packed) != int(size) or not tag_matches(seal, packed):
                return CodeTable()
            start = handle.tell()
            try:
                mapped: Any = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                blob: Any = memoryview(mapped)[start:]
            except (OSError, ValueError):  # an empty rest, or a file system that cannot map: read it
                blob = handle.read()
    except OSError:
        return CodeTable()
    try:
        index = marshal.loads(packed)
    except (ValueError, EOFError, TypeError):  # pragma: no cover - sealed by this user's ddl
        return CodeTable()
    if not isinstance(index, dict):  # pragma: no cover - sealed by this user's ddl
        return CodeTable()
    return CodeTable(index, blob)


def _replace(where: str, data: bytes) -> bool:
    temporary = f"{where}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(where), exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
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
    used: dict[bytes, None] = {}  # the keys this process looked up, in order
    added = [False]

    def cached_compile(source: Any, filename: Any, mode: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not isinstance(source, str) or not str(filename).startswith(_PREFIX):
            return compile(source, filename, mode, *args, **kwargs)
        key = code_key(source, filename, mode)
        code = table.code(key)
        if code is None:
            code = compile(source, filename, mode)
            table.add(key, code)
            added[0] = True
            STATS["misses"] += 1
        else:
            STATS["hits"] += 1
        used[key] = None
        return code

    def save() -> None:
        if added[0]:
            table.write(where, table.keys() if len(table) <= _MAX_ENTRIES else list(used))

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
