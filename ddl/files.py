"""Writing files so that a crash or a full disk never leaves half a file behind, and reading an
imported module without following a link out of the directories it was allowed to come from."""

from __future__ import annotations

import difflib
import errno
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``.

    Text is written as UTF-8 with ``\\n`` line ends.  The file gets the permissions an ordinary
    ``open()`` would give it (``mkstemp`` makes 0600).
    """
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


def text_diff(old: str, new: str, path: str) -> str:
    """A unified diff of a file's text before and after a rewrite (``a/path``, ``b/path``), as shown to
    the user before ``--write`` (``ddl refine``, ``ddl widen``)."""
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
