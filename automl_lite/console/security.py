"""The console's loopback model, as notebook servers have it.

* bound to 127.0.0.1; a request whose ``Host`` is not this server's address is refused (a
  DNS-rebinding page cannot reach it under another name);
* a random token in the first URL: it sets an HttpOnly, SameSite=Strict cookie and every later
  request needs that cookie (or the token again);
* a POST must come from one of our own pages: its ``Origin`` (or, without one, its ``Referer``)
  is this server, and its form carries the CSRF token derived from the session token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

COOKIE_NAME = "automl_lite_console"
CSRF_FIELD = "csrf_token"

#: Sent with every response: no script but our own file, no framing by other sites, no sniffing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: A report (self-contained HTML from a run) is served sandboxed: its scripts, if it had any, never run.
REPORT_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class Guard:
    """Checks one server's requests against its token and address."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(32)
        self.csrf_token = hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()

    @property
    def allowed_hosts(self) -> set[str]:
        names = {self.host, "127.0.0.1", "localhost"} if self.host == "127.0.0.1" else {self.host}
        return {f"{name}:{self.port}" for name in names}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/?token={self.token}"

    def host_ok(self, host_header: str | None) -> bool:
        return (host_header or "").lower() in self.allowed_hosts

    def token_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate), self.token)

    def cookie_ok(self, cookie_header: str | None) -> bool:
        if not cookie_header:
            return False
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(cookie_header)
        except Exception:  # noqa: BLE001 - a malformed Cookie header is no session
            return False
        morsel = cookies.get(COOKIE_NAME)
        return morsel is not None and self.token_ok(morsel.value)

    def set_cookie(self) -> str:
        return f"{COOKIE_NAME}={self.token}; HttpOnly; SameSite=Strict; Path=/"

    def same_origin(self, headers: Mapping[str, str]) -> bool:
        """A POST's ``Origin`` (or ``Referer``) names this server: no other site sent it."""
        origin = headers.get("Origin")
        if origin is None or origin == "null":
            referer = headers.get("Referer")
            if not referer or origin == "null":
                return False
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}"
        parts = urlsplit(origin)
        return parts.scheme == "http" and parts.netloc.lower() in self.allowed_hosts

    def csrf_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate), self.csrf_token)
