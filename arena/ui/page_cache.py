"""The page itself (``GET /``) served from memory.

Gradio builds the page on every load: its configuration deep-copied, every URL in it
rewritten for the request's root, the API description walked, 340 KB of HTML, about
17 ms of CPU on a 2-core machine; and it does so in a worker thread, which under a
crowd takes Python's interpreter lock from the event loop for as long as it runs.
When a crowd arrives, a dozen page loads a second starved every stream and every
event in the process for seconds (``bench/load.py``: sends waited 2-4 s at p95 while
the voters arrived). The page is the same for every visitor of one address (the
voter's cookie is set outside it, by :class:`arena.identity.BrowserCookies`), so it
is built once per address, encoding and configuration, and kept for a minute.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PageCache", "PageStore"]

Message = dict[str, Any]
# What Gradio's page depends on: the address it was asked at (its URLs are absolute)
# and the encoding it was compressed with.
VARY = (
    b"host",
    b"x-forwarded-host",
    b"x-forwarded-proto",
    b"x-forwarded-prefix",
    b"forwarded",
    b"accept-encoding",
)
MAX_PAGES = 16  # different addresses kept at once (a Host header is anyone's to choose)


@dataclass
class PageStore:
    """The built pages, by what they depend on; ``hits`` counts pages served from it.

    A page is kept with the configuration it was built from and served only while
    that is still the one in force (a reload builds new pages)."""

    ttl_s: float = 60.0
    pages: dict[tuple[Any, ...], tuple[float, object, list[Message]]] = field(default_factory=dict)
    hits: int = 0

    def get(self, key: tuple[Any, ...], version: object) -> list[Message] | None:
        page = self.pages.get(key)
        if page is None or page[1] is not version or time.monotonic() - page[0] > self.ttl_s:
            return None
        self.hits += 1
        return page[2]

    def put(self, key: tuple[Any, ...], version: object, messages: list[Message]) -> None:
        self.pages.pop(key, None)  # a page built again replaces its own, not the oldest
        if len(self.pages) >= MAX_PAGES:
            del self.pages[next(iter(self.pages))]  # the oldest
        self.pages[key] = (time.monotonic(), version, messages)


class PageCache:
    """ASGI middleware: ``GET /`` (no query) from :class:`PageStore` when it is there.

    ``version`` names the arena's configuration (a reload builds new pages)."""

    def __init__(
        self, app: Callable[..., Awaitable[None]], store: PageStore, version: Callable[[], Any]
    ) -> None:
        self.app = app
        self.store = store
        self.version = version

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] != "/"
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        version = self.version()
        key = (
            scope.get("scheme"),
            scope.get("root_path"),
            *(headers.get(name) for name in VARY),
        )
        cached = self.store.get(key, version)
        if cached is not None:
            for message in cached:
                await send(dict(message))
            return
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)
            await send(message)

        await self.app(scope, receive, keep)
        start = messages[0] if messages else {}
        if (
            start.get("type") == "http.response.start"
            and start.get("status") == 200
            and not any(k.lower() == b"set-cookie" for k, _ in start.get("headers", []))
            and not messages[-1].get("more_body", False)
        ):
            self.store.put(key, version, messages)
