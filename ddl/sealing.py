"""The user's own secret, which seals what ddl caches and later loads as code or pickles (spec/checks.md).

Kept outside every cache directory on purpose: a cache that arrives with a checkout or an archive can
carry entries whose keys match its files (the keys are hashes anyone can compute), but not this secret.
Used by the check cache (:mod:`ddl.verify.cache`) and the generated-code cache (:mod:`ddl.codecache`).
"""

from __future__ import annotations

import functools
import hmac
import os


@functools.cache
def signing_key() -> bytes | None:
    """The user's secret that seals the cache's pickles (created on first use, readable by the user
    only); None when it cannot be kept (then nothing is pickled into the cache, and none is loaded).

    Outside every cache directory on purpose: a cache that arrives with a checkout or an archive can
    carry entries whose keys match its files (the keys are hashes anyone can compute), but not this
    secret, so its pickles are misses, never unpickled."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "ddl", "cache-signing-key")
    for _ in range(2):
        try:
            with open(path, "rb") as handle:
                secret = handle.read()
            return secret if len(secret) >= 32 else None
        except FileNotFoundError:
            pass
        except OSError:
            return None
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue  # another process made it first: read that one
        except OSError:
            return None
        secret = os.urandom(32)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret)
        return secret
    return None


def hmac_digest(data: bytes | memoryview) -> bytes | None:
    """The HMAC-SHA256 of ``data`` under the user's secret (32 bytes); None when there is no secret."""
    key = signing_key()
    return None if key is None else hmac.digest(key, data, "sha256")


def hmac_tag(data: bytes) -> bytes | None:
    """:func:`hmac_digest` of ``data`` in hex (a line of a cache file); None when there is no secret."""
    digest = hmac_digest(data)
    return None if digest is None else digest.hex().encode()


def tag_matches(tag: bytes, data: bytes | memoryview) -> bool:
    """Whether ``tag`` is :func:`hmac_tag` (hex) or :func:`hmac_digest` (binary) of ``data`` (False when there
    is no secret)."""
    expected = hmac_digest(data)
    if expected is None:
        return False
    return hmac.compare_digest(tag, expected if len(tag) == len(expected) else expected.hex().encode())
