"""A turn's answer stream as server-sent events: :func:`stream_events`, which the
page's ``POST /api/turn`` (arena/web/battle.py) sends after the turn's start, and
``GET /api/stream/{token}``, the same stream for a turn started through the Gradio API.

The hot path of the arena: per update it costs one JSON dump and one write, with no
database session and no Gradio component. Events:

- ``data: {"a": "new text", "b": "new text"}`` as the answers grow (the first one
  carries everything so far; a side with nothing new is left out);
- ``event: done`` once the turn is stored and closed, with what the page shows next:
  ``{"a": [...], "b": [...], "status": "...", "can_vote": "yes" | "no"}`` (each pane's
  stored conversation as the Chatbot takes it). The page's script hands these to
  Gradio itself, so the end of a turn costs the server no Gradio event.

The token is unguessable and names no model, and nothing in the stream does either;
an unknown or expired token answers 404.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from arena.app import Arena
from arena.errors import ArenaError
from arena.live import LiveTurn, follow
from arena.web.view import turn_view
from arena.words import SIDES, Side, StreamEvent

__all__ = ["SSE_HEADERS", "stream_events", "stream_router"]

# Proxies (nginx) must pass each event on at once, not buffer the stream.
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def stream_router(arena: Arena) -> APIRouter:
    router = APIRouter(prefix="/api")

    @router.get("/stream/{token}")
    async def stream(token: str) -> StreamingResponse:
        return StreamingResponse(
            stream_events(arena, arena.battles.live_turn(token)),  # or 404
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )

    return router


async def stream_events(arena: Arena, live: LiveTurn) -> AsyncIterator[str]:
    """A live turn as server-sent events: each side's new text, then ``done``."""
    update = live.update
    sent = dict.fromkeys(SIDES, 0)
    async for _ in follow(live, arena.config.settings.update_interval_s):
        delta = {}
        for side, state in ((Side.A, update.a), (Side.B, update.b)):
            if len(state.text) > sent[side]:
                delta[side] = state.text[sent[side] :]
                sent[side] = len(state.text)
        if delta:
            yield f"data: {json.dumps(delta)}\n\n"
    final: dict[str, Any] = {}
    try:
        final = turn_view(*await arena.battles.view(live.battle_id), wire=True)
    except ArenaError:
        pass  # the page asks for the finished turn itself (its finish event)
    yield f"event: {StreamEvent.DONE}\ndata: {json.dumps(final)}\n\n"
