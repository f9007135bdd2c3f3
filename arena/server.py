"""The web server: FastAPI with the Gradio page mounted at ``/`` and the JSON API at ``/api``.

Model servers start in the background, so the page is up at once; until two models
are ready a voter is told to try again in a moment.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Gradio's queue rebuilds a pandas summary of its last 10,000 events after every
# event (about a tenth of the server's CPU under load, for a panel the arena never
# shows): keep one event and refresh the summary once in a million.
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1")
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000000")
# Gradio tries `import matplotlib` twice around every event (to switch its backend);
# where it is not installed each try searches the whole import path, about 8% of the
# server's time under load. Record its absence once.
if importlib.util.find_spec("matplotlib") is None:
    sys.modules.setdefault("matplotlib", None)  # type: ignore[arg-type]

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from arena import language  # noqa: E402
from arena.app import Arena  # noqa: E402
from arena.bounds import bound_requests  # noqa: E402
from arena.errors import NotFoundError  # noqa: E402
from arena.guard import SameOrigin, SecurityHeaders  # noqa: E402
from arena.identity import BrowserCookies  # noqa: E402
from arena.ui import build_ui  # noqa: E402
from arena.ui.page_cache import PageCache, PageStore  # noqa: E402
from arena.ui.queue import woken_queue  # noqa: E402
from arena.ui.sessions import lean_sessions  # noqa: E402
from arena.web import STATIC  # noqa: E402
from arena.web.api import admin_router, api_router  # noqa: E402
from arena.web.battle import battle_router  # noqa: E402
from arena.web.proof import proof_router  # noqa: E402
from arena.web.share import share_router  # noqa: E402
from arena.web.stream import stream_router  # noqa: E402
from arena.web.voters import answer_errors  # noqa: E402
from arena.words import page_words  # noqa: E402

__all__ = ["create_server"]

GRADIO_JOBS = 1000
# The page's own script (static/arena.js), led by the names it shares with the server.
ARENA_JS = f"window.arenaWords = {json.dumps(page_words())};\n" + (STATIC / "arena.js").read_text()

log = logging.getLogger(__name__)


def freeze_heap() -> None:
    """Keep the garbage collector off what start-up built.

    A full collection walks every tracked object: the ~330,000 that importing Gradio,
    building the page and starting the models leave behind took it 200-250 ms on a
    2-core machine, a stall of every stream in the process each time one ran (every
    10-20 s under a crowd). Frozen, they are never walked again."""
    gc.collect()
    gc.freeze()


# The store's thread (arena/store/db.py) gives up the interpreter at every database
# call and waits for it back; while the event loop is busy that wait is Python's
# switch interval, 5 ms by default, several times per transaction. Under a crowd
# this made starting a turn take 110 ms at p95 (780 ms at p99); at 1 ms, 32 ms.
SWITCH_INTERVAL_S = 0.001


def create_server(arena: Arena, *, served: bool = False) -> FastAPI:
    """The ASGI app for ``arena``; starting it starts the model servers, stopping it
    stops them. ``served``: the process serves this arena and nothing else
    (``run_arena.py serve``), and is tuned for it: the language models load before
    the first request (arena/language.py), the switch interval above, and
    :func:`freeze_heap` once the arena has started."""
    # No /docs or /redoc: FastAPI's pages load Swagger from a CDN, which the page's policy
    # (and a LAN without internet) refuses; README documents the API.
    api = FastAPI(title="arena", lifespan=_lifespan(arena, served), docs_url=None, redoc_url=None)
    # Inside the cookies (added last, so outermost): a page from the cache still gives
    # a new browser its own cookie.
    api.state.pages = PageStore()
    # Inside the page cache, so a cached page's scripts are hashed once (arena/guard.py).
    api.add_middleware(SecurityHeaders, scripts=[ARENA_JS])
    api.add_middleware(PageCache, store=api.state.pages, version=lambda: arena.config)
    api.add_middleware(BrowserCookies, identity=arena.gate.identity)
    # Another site's request is refused before anything reads it (only the body limit,
    # added by bound_requests below, stands outside: both refuse before reading a body).
    api.add_middleware(SameOrigin, allowed=lambda: arena.config.settings.allowed_origins)

    answer_errors(api)  # each of the arena's errors with its own status (arena/errors.py)
    api.include_router(api_router(arena))
    api.include_router(stream_router(arena))
    api.include_router(battle_router(arena))
    api.include_router(proof_router(arena))
    api.include_router(share_router(arena))
    api.include_router(admin_router(arena))
    _close_gradio_extras(api)
    mounted = _mount_page(api, arena)
    bound_requests(mounted, lambda: arena.config.settings.max_body_bytes)  # 413, short 422s
    return mounted


def _lifespan(arena: Arena, served: bool) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if served and arena.config.settings.detect_languages:
            language.load()  # before the first request: it holds the interpreter 3-5 s
        task = asyncio.create_task(arena.start())
        if served:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
            task.add_done_callback(lambda _: freeze_heap())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await arena.stop()

    return lifespan


def _close_gradio_extras(api: FastAPI) -> None:
    """Gradio routes the arena does not use, answered 404 before Gradio sees them."""

    @api.get("/gradio_api/deep_link", include_in_schema=False)
    def no_deep_links() -> None:
        # Gradio's deep links write a folder per call; the arena's sessions keep no
        # state for them (arena/ui/sessions.py).
        raise NotFoundError("this arena has no deep links")

    @api.post("/gradio_api/upload", include_in_schema=False)
    @api.post("/gradio_api/process_recording", include_in_schema=False)
    @api.get("/gradio_api/upload_progress", include_in_schema=False)
    def no_uploads() -> None:
        # The page takes no files; Gradio's upload route stored anyone's files on the
        # server's disk and served them back from the arena's origin.
        raise NotFoundError("this arena takes no uploads")


def _mount_page(api: FastAPI, arena: Arena) -> FastAPI:
    """The Gradio page mounted at ``/`` of ``api``, tuned for a crowd."""
    blocks = build_ui(arena)
    # Gradio runs at most max_threads events at once (40 by default) and holds the rest
    # in its queue. A battle waiting in the arena's own line (max_live_turns) holds its
    # send event for up to max_wait_s, and 40 of those would hold every vote behind
    # them; the arena's events are short and async, so the cap is lifted.
    blocks.max_threads = GRADIO_JOBS
    woken_queue(blocks, GRADIO_JOBS)  # and no polling while it has nothing to do
    mounted = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        css_paths=[STATIC / "arena.css"],
        # System fonts only: the default theme fetches fonts from Google, and the page
        # must work on a LAN with no internet.
        theme=gr.themes.Soft(
            primary_hue="indigo",
            font=[gr.themes.Font("system-ui"), gr.themes.Font("sans-serif")],
            font_mono=[gr.themes.Font("ui-monospace"), gr.themes.Font("monospace")],
        ),
        head=f"<script>{ARENA_JS}</script>",
        allowed_paths=[str(STATIC)],
        favicon_path=str(STATIC / "logo.svg"),
        footer_links=[],
    )
    lean_sessions(blocks)
    mounted.state.blocks = blocks
    return mounted
