"""What another web site may do with a voter's browser here, and what the page may load.

- :class:`SameOrigin`: a request that changes something (``POST``, ``PUT``, ``PATCH``,
  ``DELETE``), a CORS preflight and a WebSocket must come from the arena's own pages:
  their ``Origin`` (or, without one, ``Sec-Fetch-Site``) names the address the request
  was sent to, or one of ``allowed_origins``. Another site's page, even one on another
  port of the same host (which the browser sends the voter's cookies from), is refused
  with 403, so it can neither start a battle, vote with the voter's proof of work nor
  stop one. Its ``GET`` requests pass (a link to a shared battle), but with every
  ``Access-Control-Allow-*`` header taken off the answer: no other site reads the
  arena's answers with a voter's cookies (Gradio's own CORS middleware echoes any
  origin with credentials when the Host is not localhost). Clients that are not
  browsers (scripts, ``gradio_client``) send neither header and are not concerned:
  they have no voter's cookies to abuse.
- :class:`SecurityHeaders`: every response carries a Content-Security-Policy (images,
  fonts and connections from the arena itself only; no plug-ins, frames, ``<base>`` or
  foreign form targets; scripts from the arena itself, and inline scripts only by the
  SHA-256 of their text), ``Referrer-Policy: no-referrer``, ``X-Content-Type-Options:
  nosniff`` and ``X-Frame-Options: DENY``. Whatever an answer holds, the browser loads
  nothing from elsewhere (arena/web/render.py already shows no image).

The policy allows ``'unsafe-eval'``: Gradio compiles the page's own event handlers
(``js=``) with ``new Function``. No text of a prompt or an answer ever reaches it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import brotli
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arena.errors import excerpt

__all__ = ["SameOrigin", "SecurityHeaders", "content_security_policy", "inline_script_hashes"]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FOREIGN = (
    "this request came from another web site ({origin}); the arena takes prompts, votes "
    "and stops only from its own page. If this is your own front end, add its origin to "
    "allowed_origins"
)

STATIC_HEADERS = [
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]

POLICY = {
    "default-src": "'self'",
    "script-src": "'self' 'unsafe-eval'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "media-src": "'self' blob:",
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "frame-src": "'none'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}

_INLINE_SCRIPT = re.compile(
    rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.DOTALL | re.IGNORECASE
)


def inline_script_hashes(html: bytes) -> list[str]:
    """The CSP source of each inline ``<script>`` in ``html``: ``'sha256-...'``."""
    return [_hash(m.group(1)) for m in _INLINE_SCRIPT.finditer(html) if m.group(1).strip()]


def _hash(text: bytes) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text).digest()).decode()}'"


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The policy, allowing the inline scripts whose hashes are given."""
    policy = dict(POLICY)
    extra = " ".join(dict.fromkeys(script_hashes))
    if extra:
        policy["script-src"] += " " + extra
    return "; ".join(f"{name} {value}" for name, value in policy.items())


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response. An HTML page is read
    whole (decompressed where Gradio compressed it) to hash its inline scripts; put it
    inside :class:`arena.ui.page_cache.PageCache` so a cached page is hashed once.

    ``scripts``: the text of scripts the page inserts itself (Gradio adds the ``head``
    given to it, static/arena.js, as an inline script after the page loads)."""

    def __init__(self, app: ASGIApp, scripts: Iterable[str] = ()) -> None:
        self.app = app
        self.known = [_hash(s.encode()) for s in scripts]
        self.policy = content_security_policy(self.known).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                if _is_html(message):
                    held.append(message)  # sent with the body, once its scripts are known
                    return
                message["headers"] = _with_headers(message, self.policy)
            elif held:
                held.append(message)
                if message.get("more_body", False):
                    return
                await self._send_page(held, send)
                held.clear()
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _send_page(self, messages: list[Message], send: Send) -> None:
        start, *bodies = messages
        body = b"".join(m.get("body", b"") for m in bodies)
        headers = Headers(raw=start["headers"])
        scripts = inline_script_hashes(_decoded(body, headers.get("content-encoding", "")))
        policy = content_security_policy([*self.known, *scripts]).encode()
        start["headers"] = _with_headers(start, policy)
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _is_html(start: Message) -> bool:
    return Headers(raw=start["headers"]).get("content-type", "").startswith("text/html")


def _with_headers(start: Message, policy: bytes) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-security-policy"]
    return [*kept, (b"content-security-policy", policy), *STATIC_HEADERS]


def _decoded(body: bytes, encoding: str) -> bytes:
    """``body`` as the browser will read it (Gradio compresses with brotli or gzip)."""
    if encoding == "br":
        return bytes(brotli.decompress(body))
    if encoding in ("gzip", "deflate"):
        return zlib.decompress(body, wbits=47)  # 47: gzip or zlib header, detected
    return body


class SameOrigin:
    """ASGI middleware: refuse what another web site's page sends in a voter's name
    (see the module's docstring). ``allowed()``: the extra origins, as configured."""

    def __init__(self, app: ASGIApp, allowed: Callable[[], str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        foreign = self._foreign(headers)
        if foreign is None:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "")
        preflight = method == "OPTIONS" and "access-control-request-method" in headers
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if method in UNSAFE_METHODS or preflight:
            await _refuse(send, foreign)
            return

        async def send_without_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-allow-")
                ]
            await send(message)

        await self.app(scope, receive, send_without_cors)

    def _foreign(self, headers: Headers) -> str | None:
        """The other site a browser's request came from, or None (the arena's own page,
        or a client that is not a browser)."""
        origin = headers.get("origin")
        if origin is None:
            site = headers.get("sec-fetch-site")
            return (
                f"Sec-Fetch-Site: {excerpt(site)}" if site in ("cross-site", "same-site") else None
            )
        own = {_netloc(headers.get("host", ""))}
        own |= {_netloc(o) for o in self.allowed().split(",") if o.strip()}
        if origin != "null" and _netloc(origin) in own - {""}:
            return None
        return f"Origin: {excerpt(origin)}"


def _netloc(address: str) -> str:
    """``host[:port]`` of an origin or a Host header, lower case, without the scheme's
    default port."""
    address = address.strip().lower()
    parts = urlsplit(address if "//" in address else f"//{address}")
    try:
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    return (
        host
        if port is None or port == default or (not parts.scheme and port in (80, 443))
        else f"{host}:{port}"
    )


async def _refuse(send: Send, foreign: str) -> None:
    body = json.dumps({"detail": FOREIGN.format(origin=foreign)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"vary", b"Origin"),
                *STATIC_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
