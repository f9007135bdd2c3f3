"""The battle panel's own endpoints, which the page's script calls (static/arena.js).

A battle on the page (send, regenerate, stop, vote) goes through these plain endpoints,
not through Gradio's queue: a Gradio event costs the server about 4.7 ms of CPU (the
queue's join, its event stream, ``process_api``), a plain request about 0.4 ms, and a
battle made four of them besides its answer stream. Gradio keeps the layout and draws
what these return; New round needs no server at all. The same actions stay Gradio API
events (``/send``, ``/model_a``, ``/new_round``, ...) for scripts that use
``gradio_client`` (arena/ui/battle.py).

- ``POST /api/turn`` ``{"battle": id | null, "prompt": text | null, "models": [a, b] |
  null, "params": {...} | null}``: a turn (a new battle when ``battle`` is null; the
  last turn again when ``prompt`` is null: regenerate; ``models``/``params`` only for a
  new side-by-side battle: two of the models Side-by-side offers, and any of
  ``temperature``, ``top_p``, ``max_tokens``, in the model's range, ``max_tokens`` cut
  to the model's own). Answered with server-sent events: ``event: line``
  ``{"place", "status"}`` while the arena is full; then ``event: start`` ``{"battle",
  "a", "b", "status"}`` (both panes with the prompt and an empty answer); then the
  turn's answers exactly as ``/api/stream/{token}`` sends them, ending with ``event:
  done``. A refused turn ends with ``event: refused`` ``{"message"}`` (nothing started;
  the page keeps the prompt in its box).
- ``POST /api/vote`` ``{"battle", "vote"}`` (``model_a``, ``model_b``, ``tie``, ``tie
  (bothbad)``): ``{"status"}``, the reveal; when it cannot count, 409 (429 over a
  voting limit, 503 while the database is away) with ``detail`` saying why.
- ``POST /api/stop`` ``{"battle"}``: cut the running turn short; its stream then ends
  with the stored turn.
- ``GET /api/turn/{battle}``: the finished turn as ``event: done`` carries it (for a
  page whose stream broke).

Each needs the browser's cookie (the page's first response sets it) and acts only on
that browser's battles. No model name is sent before the vote. A body over
``max_body_bytes`` is refused (413) before it is read, and a refusal quotes at most an
excerpt of what it was sent (arena/bounds.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from arena.app import Arena
from arena.battles import TurnStart
from arena.errors import ArenaError, BattleStateError, BusyError, LimitError, StoreError
from arena.gate import Voter
from arena.identity import BROWSER_HEADER
from arena.integrity.proof import PROOF_HEADER
from arena.ui.proof import NO_COOKIES
from arena.ui.render import placeholder_chat
from arena.ui.stream import SSE_HEADERS, stream_events
from arena.ui.view import ANSWERING, reveal_text, turn_view, waiting_text, wire_chat
from arena.words import SIDES, StreamEvent

__all__ = ["battle_router"]


class TurnAsk(BaseModel):
    battle: str | None = None
    prompt: str | None = None
    models: tuple[str, str] | None = None
    params: dict[str, Any] | None = None  # checked by arena.choices.params_for


class VoteAsk(BaseModel):
    battle: str
    vote: str


class StopAsk(BaseModel):
    battle: str


def page_voter(request: Request) -> Voter:
    """The browser behind a request of the page's script (see
    :func:`arena.ui.common.voter_of`); a request without the page's cookie is refused,
    since nothing it started could be voted on."""
    browser = request.headers.get(BROWSER_HEADER)
    if not browser:
        raise HTTPException(403, NO_COOKIES)
    proof = request.headers.get(PROOF_HEADER)
    return Voter(
        session=browser,
        ip=request.client.host if request.client else "",
        proof=int(proof) if proof and proof.isdigit() else None,
    )


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


# A refusal's HTTP status; any other of the arena's errors is a 400.
STATUS = {BattleStateError: 409, LimitError: 429, BusyError: 503, StoreError: 503}


def _status_code(exc: ArenaError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)


def battle_router(arena: Arena) -> APIRouter:
    router = APIRouter(prefix="/api")
    service = arena.battles

    @router.post("/turn")
    async def turn(ask: TurnAsk, request: Request) -> StreamingResponse:
        voter = page_voter(request)
        models, params = (ask.models, ask.params) if ask.battle is None else (None, None)
        return StreamingResponse(
            _turn_events(arena, voter, ask.prompt, ask.battle, models, params),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )

    @router.post("/vote")
    async def vote(ask: VoteAsk, request: Request) -> dict[str, Any]:
        voter = page_voter(request)
        try:
            reveal = await service.vote(ask.battle, ask.vote, voter)
        except ArenaError as exc:
            raise HTTPException(_status_code(exc), str(exc)) from None
        return {"status": reveal_text(reveal, arena.config.settings.share_battles)}

    @router.post("/stop")
    async def stop(ask: StopAsk, request: Request) -> dict[str, Any]:
        voter = page_voter(request)
        await service.stop(ask.battle, voter)
        return {}

    @router.get("/turn/{battle}")
    async def finished(battle: str, request: Request) -> dict[str, Any]:
        voter = page_voter(request)
        try:
            record, turns = await service.view(battle, voter)
        except ArenaError as exc:
            raise HTTPException(404, str(exc)) from None
        return turn_view(record, turns, wire=True)

    return router


async def _turn_events(
    arena: Arena,
    voter: Voter,
    prompt: str | None,
    battle: str | None,
    models: tuple[str, str] | None,
    params: dict[str, Any] | None,
) -> AsyncIterator[str]:
    """One turn as server-sent events: the place in line, the start, the answers."""
    start = None
    steps = arena.battles.start_turn(voter, prompt, battle, models=models, params=params)
    try:
        # Closed at once if the page goes away while in line: its place is given up.
        async with contextlib.aclosing(steps):
            async for step in steps:
                if isinstance(step, int):
                    yield _event(StreamEvent.LINE, {"place": step, "status": waiting_text(step)})
                else:
                    start = step
    except ArenaError as exc:
        yield _event(StreamEvent.REFUSED, {"message": str(exc)})
        return
    assert isinstance(start, TurnStart)
    panes: dict[str, Any] = {side: wire_chat(placeholder_chat(start, side)) for side in SIDES}
    yield _event(StreamEvent.START, {"battle": start.battle_id, **panes, "status": ANSWERING})
    async for event in stream_events(arena, arena.battles.live_turn(start.token)):
        yield event
