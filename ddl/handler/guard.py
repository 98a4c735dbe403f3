"""The service's front door: who may ask (a bearer token) and from where (Host and Origin).

:class:`Guard` is ASGI middleware in front of every route, unknown paths included, in this order:

1. **Host** (DNS rebinding): a present ``Host`` header must name the bound host, a loopback name when
   bound to loopback or to every interface, or a name in ``allowed_hosts`` (``*``: any).  A page on
   ``evil.example`` whose name is made to resolve to 127.0.0.1 still sends ``Host: evil.example``.
   A request without a ``Host`` header is let through: browsers always send one (HTTP/1.1 requires
   it, and h11 refuses a 1.1 request without it), so such a request cannot come from a web page.
2. **Origin** (cross-site requests): a present ``Origin`` header must be the server's own origin
   (the scheme and the ``Host`` the request was sent to) or one of ``allowed_origins``; ``null`` is
   refused.
3. **Token**: when one is configured, ``Authorization: Bearer <token>``, compared in constant time
   (the SHA-256 digests of both, so not even the length leaks).

Refusals are JSON like every other error: 403 DDL716 naming the Host or Origin and the setting that
allows it, 401 DDL715 with ``WWW-Authenticate: Bearer``.  Nothing here logs or echoes the token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ddl.handler.serve_settings import (
    ANY_HOST,
    LOOPBACK_NAMES,
    TOKEN_ENV,
    WILDCARD_HOSTS,
    is_loopback,
    normalize_host,
    normalize_origin,
)

UNAUTHORIZED = "DDL715"
CROSS_SITE = "DDL716"


def accepted_hosts(bind_host: str, allowed_hosts: Iterable[str]) -> frozenset[str]:
    """The host names a request's ``Host`` header may carry for a server bound to ``bind_host``."""
    names = set(allowed_hosts)
    bound = bind_host.strip()
    if bound in WILDCARD_HOSTS or is_loopback(bound):
        names.update(normalize_host(name) or name for name in LOOPBACK_NAMES)
    if bound not in WILDCARD_HOSTS:
        names.add(normalize_host(bound) or bound.lower())
    return frozenset(names)


_GUARDED = (b"host", b"origin", b"authorization")
#: The most verdicts on Host headers a Guard remembers: a client inventing a new Host for every
#: request gets each one checked afresh, and the memory stays bounded.
MAX_REMEMBERED_HOSTS = 64


def _guarded_headers(scope: Scope) -> dict[bytes, list[str]]:
    """The values of the Host, Origin and Authorization headers, in one pass over the request's headers."""
    found: dict[bytes, list[str]] = {}
    for key, value in scope.get("headers", ()):
        name = key.lower()
        if name in _GUARDED:
            found.setdefault(name, []).append(value.decode("latin-1"))
    return found


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("latin-1", "replace")).digest()


class Guard:
    """ASGI middleware: refuse requests from the wrong Host or Origin, or without the token."""

    def __init__(self, app: ASGIApp, *, bind_host: str = "127.0.0.1", token: str | None = None,
                 allowed_hosts: Iterable[str] = (), allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.hosts = accepted_hosts(bind_host, allowed_hosts)
        self.any_host = ANY_HOST in self.hosts
        self.origins = frozenset(allowed_origins)
        self.token_digest = None if token is None else _digest(token)
        self.host_verdicts: dict[str, str | None] = {}  # Host header → host_problem's answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refusal
        scope.setdefault("state", {})["error"] = code
        headers = {"WWW-Authenticate": 'Bearer realm="ddl"'} if status == 401 else None
        response = JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)
        await response(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """(status, code, message) for a request to refuse, None for one to serve."""
        headers = _guarded_headers(scope)
        hosts = headers.get(b"host", ())
        origins = headers.get(b"origin", ())
        if len(hosts) > 1 or len(origins) > 1:
            return 403, CROSS_SITE, "request refused: more than one Host or Origin header"
        host_header = hosts[0] if hosts else None
        if host_header is not None:
            problem = self.remembered_host_problem(host_header)
            if problem is not None:
                return 403, CROSS_SITE, problem
        if origins:
            problem = self.origin_problem(origins[0], scope.get("scheme", "http"), host_header)
            if problem is not None:
                return 403, CROSS_SITE, problem
        if self.token_digest is not None:
            return self.token_problem(list(headers.get(b"authorization", ())))
        return None

    def remembered_host_problem(self, header: str) -> str | None:
        """:meth:`host_problem`, remembered for the first :data:`MAX_REMEMBERED_HOSTS` headers seen
        (every request of a client carries the same Host, and parsing it is most of the Guard's work)."""
        try:
            return self.host_verdicts[header]
        except KeyError:
            pass
        problem = self.host_problem(header)
        if len(self.host_verdicts) < MAX_REMEMBERED_HOSTS:
            self.host_verdicts[header] = problem
        return problem

    def host_problem(self, header: str) -> str | None:
        try:
            hostname = urlsplit("//" + header).hostname
        except ValueError:
            hostname = None
        name = normalize_host(hostname) if hostname and "/" not in header and "@" not in header else None
        if name is None:
            return f"request refused: malformed Host header {header!r}"
        if self.any_host or name in self.hosts:
            return None
        answered = ", ".join(sorted(host for host in self.hosts))
        return (f"request refused: Host {header!r} is not this server (it answers to {answered}); a name that "
                "resolves here but is not one of them is a DNS-rebinding attempt. If the name is yours, add it "
                "with --allow-host NAME or allowed_hosts under [serve] in ddl.toml")

    def origin_problem(self, header: str, scheme: str, host_header: str | None) -> str | None:
        origin = normalize_origin(header)
        if origin is not None:
            if origin in self.origins:
                return None
            # the server's own origin: the page was loaded from the very host:port this request went to
            if host_header is not None and origin == normalize_origin(f"{scheme}://{host_header}"):
                return None
            if host_header is not None and origin.split("://", 1)[1] == host_header.strip().lower():
                return None  # the same authority seen through a TLS proxy (https outside, http here)
        return (f"request refused: Origin {header!r} is not this server's origin; cross-site requests are "
                "refused. If a web application of yours calls this API, allow its origin with --allow-origin "
                "ORIGIN or allowed_origins under [serve] in ddl.toml")

    def token_problem(self, values: list[str]) -> tuple[int, str, str] | None:
        if not values:
            return 401, UNAUTHORIZED, ("missing token: send the header 'Authorization: Bearer <token>' with the "
                                       f"server's token (its --token-file or ${TOKEN_ENV})")
        scheme, _, given = values[0].strip().partition(" ")
        if len(values) > 1 or scheme.lower() != "bearer" or not given.strip():
            return 401, UNAUTHORIZED, "the Authorization header must be 'Bearer <token>' (once)"
        assert self.token_digest is not None
        if not hmac.compare_digest(_digest(given.strip()), self.token_digest):
            return 401, UNAUTHORIZED, "wrong token"
        return None

