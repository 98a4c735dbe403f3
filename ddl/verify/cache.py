"""The `ddl check` result cache, keyed by content hash (spec/checks.md, "Caching").

One entry per checked path (so an edited file replaces its entry instead of piling up), holding
the :class:`FileResult` and the key it is valid for: a sha256 of the file's bytes, the bytes of
every module loaded while checking it (imports, transitively, and stdlib modules; a missing
import counts as "missing"), the ddl version, :data:`VERIFIER_VERSION` and a fingerprint of the
installed ``ddl`` package's source files.  An entry whose key no longer matches, or that cannot
be read or parsed, is ignored and recomputed.  Writes go to a temporary file in the cache
directory and are moved into place with :func:`os.replace`, so concurrent runs never see a
partial entry.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ddl.files import read_regular, write_atomic
from ddl.regular import Limits
from ddl.verify.config import CheckSettings
from ddl.verify.report import FileResult
from ddl.version import __version__

VERIFIER_VERSION = "4"  # bump when a change to the verifier changes results
ENTRY_FORMAT = 2  # 2: typed obligations with full spans, codes and notes
DEFAULT_DIR = ".ddl-cache"


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
        for name in sorted(filenames):
            if name.endswith((".py", ".ddl", ".lark")):
                full = os.path.join(dirpath, name)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                h.update(f"{os.path.relpath(full, root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
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


class ResultCache:
    def __init__(self, directory: str | os.PathLike[str] = DEFAULT_DIR) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    # -- keys
    def entry_path(self, path: str) -> Path:
        where = f"{path}\0{os.path.abspath(path)}\0{VERIFIER_VERSION}\0{__version__}"
        return self.directory / f"{hashlib.sha256(where.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}.json"

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
            deps: Mapping[str, str | None] | None = None) -> FileResult | None:
        """The cached result for ``path`` whose bytes hash to ``digest`` (the caller read them once, so the
        result and whatever the caller compiles describe the same bytes), if its key still matches; None
        (a miss) otherwise.

        ``deps`` are the digests of the modules the caller compiled with those bytes (so the result
        describes exactly what the caller runs); without them, the modules the cached result loaded
        are read now (a report that runs nothing)."""
        result = self._load(path, digest, limits, imports, deps)
        self.count(result is not None)
        return result

    def count(self, hit: bool) -> None:
        """Count a look-up (also one made by another process on this cache's behalf)."""
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    def _load(self, path: str, digest: str, limits: Limits | None, imports: str,
              deps: Mapping[str, str | None] | None) -> FileResult | None:
        try:
            with open(self.entry_path(path), "rb") as handle:
                entry = json.loads(handle.read())
            if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT:
                return None
            result = FileResult.from_json(entry["result"])
            if result.path != path or digest != result.digest:
                return None
            if deps is None:
                deps = {dep: digest_file(dep) for dep in result.deps}
            if entry.get("key") != self.key(path, digest, deps, limits, imports):
                return None
            return result
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None  # a missing, unreadable or corrupt entry is recomputed

    # -- store
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
        self.directory.mkdir(parents=True, exist_ok=True)
        # Like .pytest_cache: keep the directory out of version control and backups.
        for name, text in (("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"
                                            "# This directory holds ddl check results (see spec/checks.md).\n"),
                           (".gitignore", "# created by ddl check\n*\n")):
            try:
                (self.directory / name).write_text(text, encoding="utf-8")
            except OSError:
                pass
