"""The `ddl check` result cache, keyed by content hash (spec/checks.md, "Caching").

One entry per checked path (so an edited file replaces its entry instead of piling up), holding
the :class:`FileResult` and the key it is valid for: a sha256 of the file's bytes, the bytes of
every module loaded while checking it (imports, transitively, and stdlib modules; a missing
import counts as "missing"), the ddl version, :data:`VERIFIER_VERSION` and a fingerprint of the
installed ``ddl`` package's source files.  An entry whose key no longer matches, or that cannot
be read or parsed, is ignored and recomputed.  Writes go to a temporary file in the cache
directory and are moved into place with :func:`os.replace`, so concurrent runs never see a
partial entry.

Beside an entry, a caller that runs the module (the registry) finds the checked module itself, pickled
under the same key (``*.module``): a hit then costs reading the file and its imports (to hash them) and
unpickling, no parsing or type checking.  The key is compared before anything is unpickled, and a
module entry that cannot be read or unpickled is a miss (the module is compiled and stored again).
After the key line comes a one-line JSON summary of the module's families (priority, whether it has a
grammar) and then the pickle, each sealed on its own, so a registry can be opened lazily
(:class:`PickledModule`): it reads the key and the summary (and checks the summary's seal) when it
opens, and reads the pickle, checks its seal and unpickles it only when one of the file's families
is first needed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from ddl.diagnostics import SourceMap
from ddl.files import collector_paused, make_private_dir, read_regular, write_atomic
from ddl.regular import Limits
from ddl.sealing import hmac_tag, tag_matches
from ddl.types.checked import CheckedModule
from ddl.verify.config import CheckSettings
from ddl.verify.report import FileResult
from ddl.version import __version__

VERIFIER_VERSION = "4"  # bump when a change to the verifier changes results
ENTRY_FORMAT = 2  # 2: typed obligations with full spans, codes and notes
DEFAULT_DIR = ".ddl-cache"
MODULE_MAGIC = b"ddl-module 3 "  # then the entry's key and a newline, the sealed summary line, the sealed pickle


def seal(data: bytes) -> bytes | None:
    """``data`` behind its HMAC under the user's secret (:mod:`ddl.sealing`); None when there is no secret."""
    tag = hmac_tag(data)
    return None if tag is None else tag + b"\n" + data


def unseal(blob: bytes) -> bytes | None:
    """The data :func:`seal` sealed, or None when the blob was not sealed with the user's secret."""
    tag, sep, data = blob.partition(b"\n")
    return _verified(tag, data) if sep else None


def _unseal_rest(handle: BinaryIO) -> bytes | None:
    """:func:`unseal` of the rest of an open entry, read in one piece: a saved router is megabytes, and each
    copy of it costs a fresh process more than the HMAC does."""
    tag = handle.readline()
    return _verified(tag[:-1], handle.read()) if tag.endswith(b"\n") else None


def _verified(tag: bytes, data: bytes) -> bytes | None:
    return data if tag_matches(tag, data) else None


@functools.cache
def code_fingerprint() -> str:
    """A hash of the names, sizes and modification times of the ddl package's sources.

    Editing the checker or verifier (in a development checkout) invalidates every entry even when
    nobody remembered to bump :data:`VERIFIER_VERSION`.
    """
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        where = os.path.relpath(dirpath, root)  # once per directory: each file's path relative to the root is this plus its name
        prefix = "" if where == os.curdir else where + os.sep
        for name in sorted(filenames):
            if name.endswith((".py", ".ddl", ".lark")):
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError:
                    continue
                h.update(f"{prefix}{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_file(path: str | os.PathLike[str]) -> str | None:
    """The digest of a module's bytes as they are now (None: missing, unreadable, not a regular file, or a
    link: module paths are resolved, so a link there was swapped in since)."""
    try:
        return digest_bytes(read_regular(path))
    except OSError:
        return None


@attrs.frozen(eq=False)
class PickledModule:
    """A file's checked module in its cache entry, found under the key of the bytes read: its summary was read
    (and its seal checked) when the registry opened; :meth:`load` reads the pickle, checks its seal and
    unpickles it (a registry opened lazily loads the modules of the families a query needs, not all)."""

    families: Mapping[str, tuple[int, bool]]  # family name → (priority, whether it has a grammar)
    path: Path  # the entry
    head: bytes  # its first line (magic and key): the entry must still be the one for these bytes

    def load(self) -> tuple[CheckedModule, SourceMap]:
        """The module and its sources; ValueError when the entry changed since, is not sealed with the user's
        secret (never unpickled) or does not hold them; OSError when it cannot be read."""
        with open(self.path, "rb") as handle:
            if handle.readline() != self.head:
                raise ValueError("the module entry was replaced")
            handle.readline()  # the summary's seal
            handle.readline()  # the summary
            payload = _unseal_rest(handle)
        if payload is None:
            raise ValueError("the module entry is not sealed with the user's secret")
        with collector_paused():
            module, sources = pickle.loads(payload)
        if not isinstance(module, CheckedModule) or not isinstance(sources, SourceMap):
            raise ValueError("the cached module entry does not hold a checked module")
        return module, sources


def _summary(module: CheckedModule) -> bytes:
    """The one-line JSON that opens a module entry's payload: what a lazy registry needs of each family."""
    families = {name: [fam.priority or 0, fam.grammar is not None] for name, fam in module.families.items()}
    return json.dumps({"families": families}, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _read_summary(line: bytes) -> dict[str, tuple[int, bool]]:
    data = json.loads(line.decode("utf-8", "surrogatepass"))
    families = data["families"]
    if not isinstance(families, dict):
        raise ValueError("malformed module summary")
    out: dict[str, tuple[int, bool]] = {}
    for name, (priority, grammar) in families.items():
        if not isinstance(priority, int) or not isinstance(grammar, bool):
            raise ValueError("malformed module summary")
        out[name] = (priority, grammar)
    return out


class ResultCache:
    def __init__(self, directory: str | os.PathLike[str] = DEFAULT_DIR) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    # -- keys
    def entry_path(self, path: str) -> Path:
        where = f"{path}\0{os.path.abspath(path)}\0{VERIFIER_VERSION}\0{__version__}"
        return self.directory / f"{hashlib.sha256(where.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}.json"

    def module_path(self, path: str) -> Path:
        return self.entry_path(path).with_suffix(".module")

    @staticmethod
    def key(path: str, digest: str, deps: Mapping[str, str | None], limits: Limits | None = None,
            imports: str = "") -> str:
        """The key of a result for ``path`` whose bytes hash to ``digest``, whose loaded modules had the
        digests ``deps`` (None: missing), checked under ``limits`` with imports confined to ``imports``
        (``ImportScope.key``)."""
        h = hashlib.sha256()
        h.update(f"ddl {__version__}\0verifier {VERIFIER_VERSION}\0{code_fingerprint()}\0".encode())
        # The limits decide what can be decided: results under other limits are other results.
        h.update(f"limits {limits or CheckSettings().limits()!r}\0".encode())
        # So does where imports may come from: an import allowed in one scope is refused in another.
        h.update(f"imports {imports}\0".encode("utf-8", "surrogatepass"))
        h.update(f"{path}\0{digest}\0".encode("utf-8", "surrogatepass"))
        for dep in sorted(deps):
            h.update(f"{dep}\0{deps[dep] or 'missing'}\0".encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    # -- lookup
    def get(self, path: str, digest: str, limits: Limits | None = None, *, imports: str = "",
            deps: Mapping[str, str | None] | None = None, count: bool = True) -> FileResult | None:
        """The cached result for ``path`` whose bytes hash to ``digest`` (the caller read them once, so the
        result and whatever the caller compiles describe the same bytes), if its key still matches; None
        (a miss) otherwise.

        ``deps`` are the digests of the modules the caller compiled with those bytes (so the result
        describes exactly what the caller runs); without them, the modules the cached result loaded
        are read now (a report that runs nothing)."""
        result = self._load(path, digest, limits, imports, deps)
        if count:
            self.count(result is not None)
        return result

    def count(self, hit: bool) -> None:
        """Count a look-up (also one made by another process on this cache's behalf)."""
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    def _read_entry(self, path: str, digest: str, obligations: bool = True) -> tuple[dict[str, Any], FileResult] | None:
        """The entry of ``path`` and its result (without the families' obligations unless ``obligations``),
        when the entry is of this format and for these bytes; raises what a damaged entry raises (the
        callers count it a miss)."""
        with open(self.entry_path(path), "rb") as handle:
            entry = json.loads(handle.read())
        if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT:
            return None
        result = FileResult.from_json(entry["result"], obligations)
        if result.path != path or digest != result.digest:
            return None
        return entry, result

    def _load(self, path: str, digest: str, limits: Limits | None, imports: str,
              deps: Mapping[str, str | None] | None) -> FileResult | None:
        try:
            found = self._read_entry(path, digest)
            if found is None:
                return None
            entry, result = found
            if deps is None:
                deps = {dep: digest_file(dep) for dep in result.deps}
            if entry.get("key") != self.key(path, digest, deps, limits, imports):
                return None
            return result
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None  # a missing, unreadable or corrupt entry is recomputed

    def get_compiled(self, path: str, digest: str, limits: Limits | None = None, *, imports: str = "",
                     read: Callable[[str], bytes | None], lazy: bool = False) -> FileResult | None:
        """The cached result for ``path`` (bytes hashing to ``digest``) *with* its checked module and sources,
        when both entries match the key of the bytes as they are now; None (a miss) otherwise.

        ``read(dep)`` gives the bytes of each module the cached result loaded (None: missing), read once by
        the caller for the whole load, so the key describes exactly the bytes the module was compiled from.
        Nothing is unpickled unless the module entry carries that key.  Not counted: the caller counts a
        hit, and a miss when it does not look the result up again.

        ``lazy``: the result carries no module but ``pickled``, a :class:`PickledModule` (the entry's key
        and seal checked now, its pickle loaded when the caller first needs the module), and its families
        no obligations (a caller that runs the module needs the findings only)."""
        return self._load_compiled(path, digest, limits, imports, read, lazy)

    def _load_compiled(self, path: str, digest: str, limits: Limits | None, imports: str,
                       read: Callable[[str], bytes | None], lazy: bool = False) -> FileResult | None:
        try:
            found = self._read_entry(path, digest, obligations=not lazy)
            if found is None:
                return None
            entry, result = found
            deps: dict[str, str | None] = {}
            for dep in result.deps:
                data = read(dep)
                deps[dep] = None if data is None else digest_bytes(data)
            key = self.key(path, digest, deps, limits, imports)
            if entry.get("key") != key:
                return None
            head = MODULE_MAGIC + key.encode() + b"\n"
            where = self.module_path(path)
            with open(where, "rb") as handle:  # the key and the summary only: the pickle is read by load()
                if handle.readline() != head:
                    return None  # stale or foreign: never unpickled
                summary = unseal(handle.readline() + handle.readline().rstrip(b"\n"))
            if summary is None:
                return None  # not written by this user's ddl: never trusted
            pickled = PickledModule(_read_summary(summary), where, head)
            if set(pickled.families) != {f.name for f in result.families}:
                return None
            hit = attrs.evolve(result, from_cache=True, dep_digests=tuple(sorted(deps.items())), imports=imports)
            if lazy:
                return attrs.evolve(hit, pickled=pickled)
            module, sources = pickled.load()
            return attrs.evolve(hit, module=module, sources=sources)
        except Exception:  # noqa: BLE001 - a damaged entry can fail to unpickle in any way: a miss, rebuilt
            return None

    # -- derived data (the registry's overlap decisions; a compiled router)
    def derived_path(self, kind: str, where: str) -> Path:
        name = f"{kind}\0{where}\0{VERIFIER_VERSION}\0{__version__}"
        return self.directory / f"{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}.{kind}"

    @staticmethod
    def derived_key(*parts: str) -> str:
        """A key over ``parts`` and everything a cached result's key holds of the code (version, fingerprint)."""
        h = hashlib.sha256(f"ddl {__version__}\0verifier {VERIFIER_VERSION}\0{code_fingerprint()}\0".encode())
        for part in parts:
            h.update(part.encode("utf-8", "surrogatepass") + b"\0")
        return h.hexdigest()

    def get_derived(self, kind: str, where: str, key: str) -> bytes | None:
        """The bytes stored for (``kind``, ``where``) when they were stored under ``key``; None otherwise
        (missing, unreadable, or stored for another key: one entry per place, replaced when it changes)."""
        try:
            with open(self.derived_path(kind, where), "rb") as handle:
                if handle.readline() != f"ddl-{kind} {key}\n".encode():
                    return None
                return _unseal_rest(handle)
        except OSError:
            return None

    def put_derived(self, kind: str, where: str, key: str, data: bytes) -> bool:
        sealed = seal(data)
        if sealed is None:
            return False
        try:
            self._ensure_dir()
            write_atomic(self.derived_path(kind, where), f"ddl-{kind} {key}\n".encode() + sealed)
        except OSError:
            return False
        return True

    # -- store
    def put_module(self, result: FileResult, limits: Limits | None = None) -> bool:
        """Store ``result``'s checked module and sources under the key of ``result`` (as :meth:`put`); False
        when there is none, it cannot be pickled or the cache cannot be written."""
        deps = dict(result.dep_digests)
        if (result.module is None or result.sources is None or not result.cacheable or result.digest is None
                or set(deps) != set(result.deps)):
            return False
        key = self.key(result.path, result.digest, deps, limits, result.imports)
        try:
            summary = seal(_summary(result.module))
            data = seal(pickle.dumps((result.module, result.sources), protocol=pickle.HIGHEST_PROTOCOL))
            if summary is None or data is None:
                return False
            self._ensure_dir()
            write_atomic(self.module_path(result.path), MODULE_MAGIC + key.encode() + b"\n" + summary + b"\n" + data)
        except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
            return False  # an unpicklable module or a full disk only loses the caching
        return True

    def put(self, result: FileResult, limits: Limits | None = None) -> bool:
        """Store ``result`` atomically under the key of the bytes it was checked from (``result.digest``
        and ``result.dep_digests``, as read for the check: never read again, so a file changed since
        cannot be cached as checked); False (and nothing stored) when it cannot be cached or written."""
        deps = dict(result.dep_digests)
        if not result.cacheable or result.digest is None or set(deps) != set(result.deps):
            return False
        entry: dict[str, Any] = {"format": ENTRY_FORMAT,
                                 "key": self.key(result.path, result.digest, deps, limits, result.imports),
                                 "result": result.to_json()}
        try:
            data = json.dumps(entry, ensure_ascii=False).encode("utf-8", "surrogatepass")
            self._ensure_dir()
            write_atomic(self.entry_path(result.path), data)
        except (OSError, ValueError, TypeError):
            return False  # a read-only or full disk never fails the check
        return True

    def _ensure_dir(self) -> None:
        if self.directory.is_dir():
            return
        make_private_dir(self.directory, "ddl check")
        # Like .pytest_cache: also out of backups.
        try:
            (self.directory / "CACHEDIR.TAG").write_text(
                "Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This directory holds ddl check results (see spec/checks.md).\n", encoding="utf-8")
        except OSError:
            pass
