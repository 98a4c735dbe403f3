"""Writing files so that a crash or a full disk never leaves half a file behind, reading an imported
module without following a link out of the directories it was allowed to come from, and finding the
``.ddl`` files under a directory (excludes, ``.gitignore``, virtual environments)."""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import pathspec


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: for unpickling a cached module, router or hit kit, which builds
    hundreds of thousands of objects and no garbage, and whose collector passes over them (each pass
    traversing everything built so far) had cost a one-query ``ddl handle`` more than the unpickling did.
    The collector's previous state is restored after.  (:func:`full_collections_paused`, below, is the
    lighter pause for work that does make garbage: the young generations are still collected.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Pause:
    """How many compilations and checks are under way, and the thresholds the first of them found."""

    lock = threading.Lock()
    depth = 0
    saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def full_collections_paused() -> Iterator[None]:
    """No full (oldest-generation) garbage collection while a module is compiled or its families checked
    (and while a service's registry builds every family's grammar: ddl/handler/registry.py).

    These allocate many objects at once (syntax and IR; runs over Θ and automata that live for one
    family), and each full collection walks every object of the process: on a file of 500 families
    they had taken a third of the check's time.  The young generations are still collected (cycles
    made and dropped within a family are freed), and the oldest as usual once the last compilation or
    check under way ends.  Nothing computed depends on when objects are collected."""
    with _Pause.lock:
        if _Pause.depth == 0:
            _Pause.saved = gc.get_threshold()
            gc.set_threshold(_Pause.saved[0], _Pause.saved[1], 1 << 30)
        _Pause.depth += 1
    try:
        yield
    finally:
        with _Pause.lock:
            _Pause.depth -= 1
            if _Pause.depth == 0:
                gc.set_threshold(*_Pause.saved)


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``.

    Text is written as UTF-8 with ``\\n`` line ends.  The file gets the permissions an ordinary
    ``open()`` would give it (``mkstemp`` makes 0600).
    """
    import tempfile  # deferred: a `ddl handle` that writes nothing never loads it

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_edits(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` edit applied; the edits do not overlap, and are applied
    from the last one back so that each one's offsets still hold."""
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def text_diff(old: str, new: str, path: str) -> str:
    """A unified diff of a file's text before and after a rewrite (``a/path``, ``b/path``), as shown to
    the user before ``--write`` (``ddl refine``, ``ddl widen``)."""
    import difflib  # deferred: it compiles a pattern when imported, and only refine and widen show diffs

    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"a/{path}", tofile=f"b/{path}"))


class OutsideTree(OSError):
    """The file opened is not under any of the allowed directories (a link or a directory was
    swapped after its path was checked)."""


def read_regular(path: str | os.PathLike[str], within: Sequence[Path] | None = None) -> bytes:
    """The bytes of the regular file ``path``, opened without following a symbolic link in its last
    component (``path`` is expected to be resolved already).

    A FIFO, device or directory is an ``OSError`` (``EINVAL``), never a read that blocks or never
    ends.  With ``within``, the file actually opened must lie under one of those (resolved)
    directories, as the kernel names it (``/proc/self/fd``, where there is one): a path component
    swapped for a link between the caller's check and this open is :class:`OutsideTree`, raised
    before a byte is read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if within is not None:
            opened = _opened_path(fd)
            if opened is not None and not any(is_under(opened, root) for root in within):
                raise OutsideTree(errno.EACCES, "outside the allowed directories", str(path))
        chunks: list[bytes] = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def is_under(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """``path`` is ``root`` or below it (both resolved; compared by path components)."""
    return Path(path).is_relative_to(root)


def _opened_path(fd: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:  # no /proc (not Linux): the caller's check of the resolved path stands alone
        return None


def make_private_dir(directory: Path, created_by: str) -> None:
    """``mkdir -p directory``; a directory created here is ddl's own (a cache, a ledger of users' requests,
    transcripts) and is kept out of version control with a ``.gitignore`` of ``*`` (as .pytest_cache).
    A directory that already exists is left as it is.  Raises OSError when it cannot be created."""
    if directory.is_dir():
        return
    directory.mkdir(parents=True, exist_ok=True)
    try:
        (directory / ".gitignore").write_text(f"# created by {created_by}\n*\n", encoding="utf-8")
    except OSError:  # a read-only or full disk: the directory still serves
        pass


# ---------------------------------------------------------------------------- finding the .ddl files

# What a directory walk never enters (gitignore-style patterns, as ruff's `exclude` default): hidden
# directories (`.git`, `.venv`, `.ddl-cache`…), node_modules and __pycache__.  `exclude` in the config
# replaces this list; `extend-exclude` adds to it.  Virtual environments (a directory holding
# pyvenv.cfg) are skipped whatever their name.
DEFAULT_EXCLUDE: tuple[str, ...] = (".*", "node_modules", "__pycache__")
VENV_MARKER = "pyvenv.cfg"


@attrs.frozen
class Discovery:
    """Which files a directory walk yields and which named files are left out (spec/checks.md, "Files").

    Patterns are gitignore-style and match paths relative to ``root`` (the config file's directory, else
    the current directory); a pattern without a slash matches a name at any depth.  Files named
    explicitly are always taken unless ``force_exclude``, as in ruff.
    """

    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    root: Path | None = None
    respect_gitignore: bool = True
    force_exclude: bool = False

    def _spec(self) -> pathspec.GitIgnoreSpec:
        import pathspec  # deferred: only a directory walk matches patterns; `ddl handle` reads files by name

        return pathspec.GitIgnoreSpec.from_lines([*self.exclude, *self.extend_exclude])

    def _relative(self, path: Path, directory: bool, base: Path | None = None) -> str | None:
        root = Path(os.path.abspath(base if base is not None else (self.root or Path.cwd())))
        full = Path(os.path.abspath(path))
        try:
            rel = full.relative_to(root).as_posix()
        except ValueError:  # outside the root: patterns without a slash still match its names
            rel = full.as_posix().lstrip("/")
        if rel in ("", "."):
            return None
        return rel + "/" if directory else rel

    def excluded(self, path: str | os.PathLike[str], directory: bool = False) -> bool:
        """``path`` (a named file, or ``--stdin-filename``) matches an exclude pattern or lies in a
        directory that does."""
        rel = self._relative(Path(path), directory)
        return rel is not None and self._spec().match_file(rel)

    def skips(self, path: str | os.PathLike[str]) -> bool:
        """Whether a directory walk from the root (the config file's directory, else the current one)
        that reaches the file ``path`` leaves it out: an exclude pattern matches it or a directory on
        the way, or (with ``respect_gitignore``) a ``.gitignore`` of the tree or its repository ignores
        it.  For collectors that walk the tree themselves (the pytest plugin)."""
        file = Path(os.path.abspath(path))
        root = Path(os.path.abspath(self.root or Path.cwd()))
        on_the_way = [d for d in reversed(file.parents) if root in d.parents]  # below the root, top down
        if self.excluded(file) or any(self.excluded(d, directory=True) for d in on_the_way):
            return True
        if not self.respect_gitignore:
            return False
        start = root if root in file.parents else file.parent
        ignores = _GitIgnores(start)
        for d in [start, *(d for d in on_the_way if start in d.parents)]:
            ignores.enter(d)
        return ignores.ignored(file, False) or any(ignores.ignored(d, True) for d in on_the_way)

    def walk(self, directory: Path) -> list[Path]:
        """Every ``.ddl`` file under ``directory`` (sorted), skipping what is excluded, virtual
        environments, and (with ``respect_gitignore``) what the ``.gitignore`` files of the tree and of
        its repository above it ignore.  Symbolic links to directories are not followed.  A
        subdirectory that cannot be read raises (``os.walk`` would skip it silently, and its files
        would go unchecked)."""
        def fail(err: OSError) -> None:
            raise err

        spec = self._spec()
        # A directory named explicitly is walked even when a pattern excludes it (`ddl check .hidden`);
        # below it, the patterns then apply to paths relative to it.
        anchor = directory if self.excluded(directory, directory=True) else None
        ignores = _GitIgnores(directory) if self.respect_gitignore else None
        found: list[Path] = []
        for here, dirs, names in os.walk(directory, onerror=fail):
            at = Path(here)
            if ignores is not None:
                ignores.enter(at)
            keep = []
            for name in sorted(dirs):
                sub = at / name
                rel = self._relative(sub, directory=True, base=anchor)
                if rel is not None and spec.match_file(rel):
                    continue
                if (sub / VENV_MARKER).is_file() or (ignores is not None and ignores.ignored(sub, True)):
                    continue
                keep.append(name)
            dirs[:] = keep
            for name in names:
                file = at / name
                if not name.endswith(".ddl") or not file.is_file():
                    continue
                rel = self._relative(file, directory=False, base=anchor)
                if (rel is not None and spec.match_file(rel)) or (ignores is not None and ignores.ignored(file, False)):
                    continue
                found.append(file)
        return sorted(found)


class _GitIgnores:
    """The ``.gitignore`` files that apply during one walk: those of the repository's directories
    above the walk's root (up to the directory holding ``.git``) and those met on the way down."""

    def __init__(self, top: Path) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec] = {}
        top = Path(os.path.abspath(top))
        above: list[Path] = []
        for parent in top.parents:
            if (parent / ".git").exists():
                above.append(parent)
                break
            above.append(parent)
        else:  # no repository around the walk: only the walk's own .gitignore files count
            above = []
        for parent in reversed(above):
            self.enter(parent)
        if self.ignored(top, directory=True):  # named explicitly: its own .gitignore files still count
            self._specs.clear()

    def enter(self, directory: Path) -> None:
        directory = Path(os.path.abspath(directory))
        ignore = directory / ".gitignore"
        try:
            lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines() if ignore.is_file() else None
        except OSError:
            lines = None
        if lines:
            import pathspec  # deferred: as in _spec

            self._specs[directory] = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, path: Path, directory: bool) -> bool:
        """The deepest ``.gitignore`` with a pattern for ``path`` decides (a ``!`` pattern re-includes)."""
        full = Path(os.path.abspath(path))
        verdict = False
        for base in sorted(self._specs, key=lambda p: len(p.parts)):
            try:
                rel = full.relative_to(base).as_posix()
            except ValueError:
                continue
            result = self._specs[base].check_file(rel + "/" if directory else rel)
            if result.include is not None:
                verdict = result.include
        return verdict
