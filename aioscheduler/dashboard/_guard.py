"""The dashboard's guards: an access token, cross-site request checks, security headers."""

from __future__ import annotations

import hmac
from collections.abc import MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ("COOKIE", "SECURITY_HEADERS", "TokenGuard", "same_origin")

Scope = MutableMapping[str, Any]
Receive = Any
Send = Any
ASGIApp = Any

#: Host names a token-less dashboard answers to (plus any 127.x.y.z).
LOOPBACK_NAMES = frozenset({"localhost", "::1", ""})

#: The cookie that carries the token after a first visit with ``?token=...``.
COOKIE = "aioscheduler_dashboard"

#: Sent with every response: no inline script or style runs, nothing loads from elsewhere,
#: no other site frames the page.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def same_origin(scope: Scope) -> bool:
    """Whether a request comes from the dashboard's own pages, judged by the headers browsers
    set and pages cannot forge (``Sec-Fetch-Site``, ``Origin``). Requests without either (curl,
    tests) pass: they still need the CSRF token."""
    site = _header(scope, b"sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = _header(scope, b"origin")
    if origin is not None and origin != "null":
        host = _header(scope, b"host")
        return host is not None and urlsplit(origin).netloc == host
    return origin != "null"


class TokenGuard:
    """ASGI middleware: add the security headers; with a token, refuse requests without it.

    The token is accepted as ``Authorization: Bearer <token>``, as the ``aioscheduler_dashboard``
    cookie, or once as ``?token=<token>``, which sets the cookie (HttpOnly, SameSite=Strict)
    and redirects to the same URL without the token.
    """

    def __init__(
        self, app: ASGIApp, token: str | None, allowed_hosts: frozenset[str] | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = allowed_hosts

    def _host_allowed(self, scope: Scope) -> bool:
        """Without a token, answer only requests addressed to this machine (or to the
        ``allowed_hosts``): a page whose own domain was re-pointed at 127.0.0.1 (DNS
        rebinding) sends its domain as Host, and is refused."""
        host = (_header(scope, b"host") or "").lower()
        if host.startswith("["):
            name = host[1 : host.find("]")] if "]" in host else host
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if self.allowed_hosts is not None:
            return name in self.allowed_hosts or "*" in self.allowed_hosts
        return name in LOOPBACK_NAMES or name.startswith("127.")

    def _has_token(self, scope: Scope) -> bool:
        assert self.token is not None
        expected = self.token.encode()
        auth = _header(scope, b"authorization")
        if auth and auth.startswith("Bearer "):
            return hmac.compare_digest(auth[7:].encode(), expected)
        cookie = _header(scope, b"cookie")
        if cookie:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(cookie)
            except Exception:
                return False
            morsel = jar.get(COOKIE)
            if morsel is not None:
                return hmac.compare_digest(morsel.value.encode(), expected)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.token is None and not self._host_allowed(scope):
            await self._plain(
                send,
                403,
                b"This dashboard has no token, so it only answers requests addressed to "
                b"localhost: give it a token (or allowed_hosts) to open it from elsewhere.\n",
            )
            return
        if self.token is not None and not self._has_token(scope):
            query = parse_qsl(bytes(scope.get("query_string", b"")).decode("latin-1"))
            given = [v for k, v in query if k == "token"]
            if given and hmac.compare_digest(given[-1].encode(), self.token.encode()):
                await self._login(scope, send, [(k, v) for k, v in query if k != "token"])
            else:
                await self._plain(
                    send,
                    401,
                    b"A token is required: open the dashboard with "
                    b"?token=... or send 'Authorization: Bearer ...'.\n",
                )
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", ())) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _login(self, scope: Scope, send: Send, rest: list[tuple[str, str]]) -> None:
        assert self.token is not None
        root = scope.get("root_path", "") or ""
        path = scope.get("path", "") or "/"
        if not path.startswith(root):  # servers differ on whether the path includes it
            path = root + path
        location = path + ("?" + urlencode(rest) if rest else "")
        cookie = (f"{COOKIE}={self.token}; Path={root or '/'}; HttpOnly; SameSite=Strict").encode(
            "latin-1"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _plain(self, send: Send, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
