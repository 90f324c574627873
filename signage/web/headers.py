"""One ASGI middleware for the dashboard's transport rules: the Host check and the security headers.

* A request whose ``Host`` is not one of ``allowed_hosts`` gets 400 (no DNS-rebinding page, no
  poisoned absolute links). Entries are names or addresses, ``*.example.com`` for any sub-domain,
  or ``*`` for any host; ports are ignored and IPv6 literals are written without brackets.
* Every answer gets a Content-Security-Policy with no script at all (the pages need none; styles come
  from ``/static/style.css``, charts are ``data:`` images), ``frame-ancestors 'none'``, nosniff, no
  referrer, and ``Cache-Control: no-store`` unless the route chose its own caching (the pages show an
  account's figures and CSRF tokens). Behind TLS (``https_only``) it adds HSTS.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
_FIXED_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000"


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port; IPv6 brackets removed; lower case."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    if not host:
        return False
    for pattern in allowed:
        pattern = pattern.strip().lower().strip("[]")
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], https_only: bool = False) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)
        self.https_only = https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if not host_allowed(host_name(host), self.allowed_hosts):
            await self._refuse(send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _FIXED_HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
                if self.https_only:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, with_headers)

    async def _refuse(self, send: Send) -> None:
        body = b"Invalid host header"
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in _FIXED_HEADERS.items()]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})
