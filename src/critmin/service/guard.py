"""The gate in front of the app (pure ASGI): admission control, rate limits, body limits
and security headers, all decided before a request is parsed or reaches a route.

- **Admission**: at most :attr:`Settings.max_inflight` requests are served at once; beyond
  that a request answers 503 (``Retry-After: 1``) at once instead of queueing without bound.
- **Rates**: token buckets per client address and per credential (bearer token or session
  cookie, valid or not), 429 with ``Retry-After`` when empty; failed sign-ins have their own,
  much smaller, bucket per address (:meth:`Guard.auth_failed`).
- **Bodies**: a declared ``Content-Length`` over the limit answers 413 before a byte is read;
  a body streamed without one is cut off at the limit (413).
- **Headers** on every response: a Content-Security-Policy that allows only this origin (no
  CDN, no inline script), ``nosniff``, no framing, no referrer, and ``Cache-Control:
  no-store`` on every ``/api`` answer (records and tokens are not to be cached).

The buckets live in this process's memory, bounded in size (least recently used dropped).
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from critmin.service.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "critmin_session"
MAX_BUCKETS = 10_000
DISCONNECTED = b"<disconnected>"  # sentinel (compared by identity)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
# Swagger UI and ReDoc come from this CDN; only when Settings.api_docs turns them on
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class TokenBuckets:
    """Token buckets by key: ``rate`` per second, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, key: str, now: float) -> float:
        tokens, last = self.buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token of ``key``: 0.0 if there was one, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        level = self._level(key, now)
        if level < 1.0:
            self.buckets[key] = (level, now)
            self.buckets.move_to_end(key)
            return (1.0 - level) / self.rate
        self.buckets[key] = (level - 1.0, now)
        self.buckets.move_to_end(key)
        if len(self.buckets) > MAX_BUCKETS:
            self.buckets.popitem(last=False)
        return 0.0

    def empty(self, key: str, now: float | None = None) -> float:
        """Seconds until ``key`` has a token again (0.0: it has one), spending nothing."""
        now = time.monotonic() if now is None else now
        level = self._level(key, now)
        return 0.0 if level >= 1.0 else (1.0 - level) / self.rate


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def credential_key(scope: Scope) -> str | None:
    """The credential a request presents (bearer token, else session cookie), if any."""
    authorization = _header(scope, b"authorization")
    if authorization is not None:
        return authorization.decode("latin-1")
    cookie = _header(scope, b"cookie")
    if cookie is not None:
        for part in cookie.decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE:
                return value
    return None


def client_address(scope: Scope) -> str:
    """The client's address (behind a trusted proxy: the forwarded one, set by uvicorn)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def refuse(send: Send, status: int, detail: str, retry_after: float | None = None) -> None:
    """Answer ``status`` with ``{"detail": ...}`` and the security headers."""
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"content-security-policy", CSP.encode()),
        *SECURITY_HEADERS,
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(retry_after))).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Limits:
    """The counters and buckets the guard and the sign-in code share (one per app)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.inflight = 0
        self.addresses = TokenBuckets(settings.address_rate, settings.address_burst)
        self.credentials = TokenBuckets(settings.token_rate, settings.token_burst)
        self.auth_failures = TokenBuckets(settings.auth_failure_rate, settings.auth_failure_burst)
        self.refused = {429: 0, 503: 0, 413: 0}

    def auth_failed(self, address: str) -> float:
        """Count a failed sign-in from ``address``; seconds to wait if now over its limit."""
        return self.auth_failures.take(address)

    def auth_blocked(self, address: str) -> float:
        """Seconds ``address`` must wait before its next sign-in attempt (0.0: none)."""
        return self.auth_failures.empty(address)


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.settings = limits.settings

    def _body_limit(self, scope: Scope) -> int:
        content_type = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        if content_type == b"text/csv":
            return self.settings.max_csv_bytes
        return self.settings.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._admit(scope)
        if refusal is not None:
            status, detail, wait = refusal
            self.limits.refused[status] += 1
            await refuse(send, status, detail, wait)
            return
        limit = self._body_limit(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            self.limits.refused[413] += 1
            await refuse(send, 413, f"request body over {limit} bytes")
            return
        self.limits.inflight += 1
        try:
            await self._serve(scope, receive, send, limit)
        finally:
            self.limits.inflight -= 1

    def _admit(self, scope: Scope) -> tuple[int, str, float | None] | None:
        """(status, detail, retry-after) when the request is refused before any work."""
        limits = self.limits
        if limits.inflight >= self.settings.max_inflight:
            return 503, "the server is at capacity: retry shortly", 1.0
        wait = limits.addresses.take(client_address(scope))
        if wait:
            return 429, "too many requests from this address", wait
        key = credential_key(scope)
        if key is not None:
            wait = limits.credentials.take(key)
            if wait:
                return 429, "too many requests with this credential", wait
        return None

    async def _serve(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        path = str(scope.get("path", ""))
        csp = DOCS_CSP if path in ("/docs", "/redoc") else CSP
        extra = [(b"content-security-policy", csp.encode()), *SECURITY_HEADERS]
        if path.startswith("/api/") and not path.endswith(".js"):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in extra if h[0] not in names),
                ]
            await send(message)

        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send_with_headers)
            return
        body = await self._read_body(receive, limit)
        if body is DISCONNECTED:
            return  # the client left mid-body: never act on part of a request
        if body is None:
            self.limits.refused[413] += 1
            await refuse(send, 413, f"request body over {limit} bytes")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> bytes | None:
        """The whole request body, or None once it passes ``limit`` bytes (read no further)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return DISCONNECTED
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)
