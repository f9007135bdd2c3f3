"""What the web server takes from a client before any handler sees it: how big a
request may be, what an error quotes back, and whose address a forwarded request is.

- **Bodies** (``max_body_bytes``, :class:`BodyLimit`): a body over the limit is refused
  with 413 before it is read, by its ``Content-Length`` or, sent in chunks, once the
  chunks pass the limit (a chunked body is read whole, up to the limit, before the
  handler sees it). Every path: the page has no uploads.
- **Request heads** (``max_header_bytes``, :func:`head_limit`): the request line and
  headers. uvicorn's h11 parser bounds them (``h11_max_incomplete_event_size``, 16 KB by
  default); its httptools parser, which it prefers when installed, bounds nothing (a
  10 MB header was read whole), so :class:`BoundedHttpTools` feeds it no more than the
  limit until a request's head is complete, and answers 431 past it. (Requests
  pipelined on one connection: a head that starts in the same read as the previous
  request's end may go one read, at most 256 KiB, past the limit.)
- **Quoted input** (:func:`short_errors`): a refused request's 422 quotes each bad
  value cut to an excerpt (FastAPI's own quotes it whole).
- **Forwarded addresses** (``trusted_proxies``, :func:`trust_proxies`): uvicorn's
  ProxyHeadersMiddleware, except that ``*`` takes the last ``X-Forwarded-For`` entry,
  the address the nearest proxy saw; uvicorn takes the first, which any client writes
  itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from arena.errors import EXCERPT_CHARS, excerpt

__all__ = [
    "BodyLimit",
    "BoundedHttpTools",
    "NearestHop",
    "bound_requests",
    "head_limit",
    "short_errors",
    "trust_proxies",
]


class BodyLimit:
    """ASGI middleware: refuse a request body over ``limit()`` bytes (0: no limit)
    with 413 before the handler reads any of it."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit  # read per request: a reload can change it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit() if scope["type"] == "http" else 0
        if limit <= 0:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        if length.isdigit():
            if int(length) > limit:
                await _too_large(scope, send, int(length), limit)
                return
            await self.app(scope, receive, send)  # the server reads no more than it says
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)  # no body
            return
        body = await _read_up_to(receive, limit)
        if body is None:
            await _too_large(scope, send, None, limit)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_up_to(receive: Receive, limit: int) -> bytes | None:
    """A chunked body, whole, or None once it passes ``limit`` bytes (or the client
    left)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        size += len(parts[-1])
        if size > limit:
            return None
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` with ``body`` as its first message (later calls: the client's
    disconnect)."""
    first = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return first.pop() if first else await receive()

    return replayed


async def _too_large(scope: Scope, send: Send, size: int | None, limit: int) -> None:
    """413, saying how big the body was (``size``; None: sent in chunks, and over)."""
    what = f"{size:,} bytes, more" if size is not None else "longer"
    detail = (
        f"the request body is {what} than this arena reads ({limit:,} bytes, its "
        "max_body_bytes): send less, such as a shorter prompt"
    )
    response = JSONResponse({"detail": detail}, status_code=413, headers={"connection": "close"})
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _short(value: Any) -> Any:
    """``value`` when its text is short, else an excerpt of it."""
    if isinstance(value, str):
        return value if len(value) <= EXCERPT_CHARS else excerpt(value)
    return value if len(repr(value)) <= EXCERPT_CHARS else excerpt(value)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, each bad value and key cut to an excerpt."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            **error,
            "loc": [_short(part) for part in error.get("loc", ())],
            **({"input": _short(error["input"])} if "input" in error else {}),
        }
        for error in exc.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


def _apps(app: FastAPI) -> Iterator[FastAPI]:
    """``app`` and the FastAPI apps mounted in it (Gradio's)."""
    yield app
    for route in app.routes:
        if isinstance(route, Mount) and isinstance(route.app, FastAPI):
            yield from _apps(route.app)


def short_errors(app: FastAPI) -> None:
    """Make ``app``'s 422s, and those of the apps mounted in it, quote excerpts."""
    for each in _apps(app):
        each.add_exception_handler(RequestValidationError, _validation_error)


def bound_requests(app: FastAPI, max_body_bytes: Callable[[], int]) -> None:
    """Bound ``app``'s request bodies (:class:`BodyLimit`, outermost) and what its
    errors quote back (:func:`short_errors`); call it once Gradio is mounted."""
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    short_errors(app)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: uvicorn uses h11, which bounds heads
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

HEAD_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"


if HttpToolsProtocol is not None:

    class BoundedHttpTools(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol with each request's head (request line and
        headers) bounded by ``h11_max_incomplete_event_size``, as h11 bounds it."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head_limit: int = self.config.h11_max_incomplete_event_size or 16384
            self._head: int | None = 0  # bytes so far of a head; None while a body is read

        def data_received(self, data: bytes) -> None:
            if self._head is None:  # a body
                super().data_received(data)
                return
            room = self._head_limit - self._head
            if len(data) <= room:
                self._head += len(data)
                super().data_received(data)
                return
            # The parser takes data in any slices: up to the limit first, and only if
            # the head ended within it, the rest.
            super().data_received(data[:room])
            if self._head is not None:
                self._refuse_head()
            elif not self.transport.is_closing():
                super().data_received(data[room:])

        def on_headers_complete(self) -> None:
            self._head = None
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._head = 0

        def _refuse_head(self) -> None:
            if self.transport.is_closing():
                return
            message = (
                f"the request line and headers are over {self._head_limit:,} bytes (the "
                "arena's max_header_bytes): send fewer or shorter headers, such as cookies"
            ).encode()
            self.transport.write(
                HEAD_TOO_LARGE
                + b"content-type: text/plain; charset=utf-8\r\n"
                + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(message)
                + message
            )
            self.transport.close()

else:  # pragma: no cover
    BoundedHttpTools = None  # type: ignore[assignment,misc]


def head_limit(max_header_bytes: int) -> dict[str, Any]:
    """uvicorn's options that bound each request's head to ``max_header_bytes``."""
    protocol: type[asyncio.Protocol] | str = (
        "h11" if HttpToolsProtocol is None else BoundedHttpTools
    )
    return {"http": protocol, "h11_max_incomplete_event_size": max_header_bytes}


class NearestHop:
    """ASGI middleware: keep only the last ``X-Forwarded-For`` entry, the one the
    nearest proxy wrote (the others are whatever the client sent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            forwarded = [v for k, v in scope["headers"] if k == b"x-forwarded-for"]
            if forwarded:
                last = b",".join(forwarded).rsplit(b",", 1)[-1].strip()
                headers = [(k, v) for k, v in scope["headers"] if k != b"x-forwarded-for"]
                scope = {**scope, "headers": [*headers, (b"x-forwarded-for", last)]}
        await self.app(scope, receive, send)


def trust_proxies(app: ASGIApp, trusted: str) -> ASGIApp:
    """``app`` taking the voter's address (and scheme) from the ``X-Forwarded-For``
    (``X-Forwarded-Proto``) of the proxies in ``trusted`` (``trusted_proxies``):
    uvicorn's ProxyHeadersMiddleware, which takes the nearest entry no trusted proxy
    wrote. ``*`` trusts any peer, and so only the entry the nearest one wrote; empty,
    none (the address is the peer's own)."""
    trusted = trusted.strip()
    if not trusted:
        return app
    if trusted == "*":
        return NearestHop(ProxyHeadersMiddleware(app, "*"))  # type: ignore[arg-type]
    return ProxyHeadersMiddleware(app, trusted)  # type: ignore[arg-type,return-value]
