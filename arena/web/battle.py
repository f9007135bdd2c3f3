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
  page whose stream broke); 404 for a battle that is not this browser's.

The handlers both front ends share live here too: :func:`turn_steps` (a turn's place
in line, then its start, as views) and :func:`vote_status` (the vote and its reveal),
which the Gradio API events of arena/ui/battle.py call as these endpoints do.

Each needs the browser's cookie (the page's first response sets it) and acts only on
that browser's battles. No model name is sent before the vote. A body over
``max_body_bytes`` is refused (413) before it is read, and a refusal quotes at most an
excerpt of what it was sent (arena/bounds.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from arena.app import Arena
from arena.battles import TurnStart
from arena.errors import ArenaError, BattleStateError, NotFoundError
from arena.gate import Voter
from arena.web.render import placeholder_chat
from arena.web.stream import SSE_HEADERS, stream_events
from arena.web.view import ANSWERING, reveal_text, turn_view, waiting_text, wire_chat
from arena.web.voters import voter_of
from arena.words import SIDES, Side, StreamEvent

__all__ = ["Started", "Waiting", "battle_router", "turn_steps", "vote_status"]


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


@dataclass(frozen=True)
class Waiting:
    """The turn waits in line: its place, and what the status line says."""

    place: int
    status: str


@dataclass(frozen=True)
class Started:
    """The turn started: its battle, each side's pane (the prompt and a placeholder
    answer, as Chatbot messages), the status line, and where its answers stream."""

    battle_id: str
    panes: dict[Side, list[dict[str, str]]]
    status: str
    token: str


async def turn_steps(
    arena: Arena,
    voter: Voter,
    prompt: str | None,
    battle: str | None,
    models: tuple[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> AsyncGenerator[Waiting | Started, None]:
    """A turn as a front end shows it: :class:`Waiting` while in line, then one
    :class:`Started`. Raises the arena's refusal (nothing started)."""
    steps = arena.battles.start_turn(voter, prompt, battle, models=models, params=params)
    async with contextlib.aclosing(steps):
        async for step in steps:
            if isinstance(step, int):
                yield Waiting(step, waiting_text(step))
            else:
                yield _started(step)


def _started(start: TurnStart) -> Started:
    panes = {side: placeholder_chat(start, side) for side in SIDES}
    return Started(start.battle_id, panes, ANSWERING, start.token)


async def vote_status(arena: Arena, battle: str, vote: str, voter: Voter) -> str:
    """Cast the battle's vote; the status line that reveals both models."""
    reveal = await arena.votes.vote(battle, vote, voter)
    return reveal_text(reveal, arena.config.settings.share_battles)


def battle_router(arena: Arena) -> APIRouter:
    router = APIRouter(prefix="/api")
    service = arena.battles

    @router.post("/turn")
    async def turn(ask: TurnAsk, request: Request) -> StreamingResponse:
        voter = voter_of(request, cookie=True)
        models, params = (ask.models, ask.params) if ask.battle is None else (None, None)
        return StreamingResponse(
            _turn_events(arena, voter, ask.prompt, ask.battle, models, params),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )

    @router.post("/vote")
    async def vote(ask: VoteAsk, request: Request) -> dict[str, Any]:
        return {
            "status": await vote_status(arena, ask.battle, ask.vote, voter_of(request, cookie=True))
        }

    @router.post("/stop")
    async def stop(ask: StopAsk, request: Request) -> dict[str, Any]:
        await service.stop(ask.battle, voter_of(request, cookie=True))
        return {}

    @router.get("/turn/{battle}")
    async def finished(battle: str, request: Request) -> dict[str, Any]:
        voter = voter_of(request, cookie=True)
        try:
            record, turns = await service.view(battle, voter)
        except BattleStateError as exc:  # unknown, or another browser's: not found to it
            raise NotFoundError(str(exc)) from None
        return turn_view(record, turns, wire=True)

    return router


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


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
    steps = turn_steps(arena, voter, prompt, battle, models, params)
    try:
        # Closed at once if the page goes away while in line: its place is given up.
        async with contextlib.aclosing(steps):
            async for step in steps:
                if isinstance(step, Waiting):
                    yield _event(StreamEvent.LINE, {"place": step.place, "status": step.status})
                else:
                    start = step
    except ArenaError as exc:
        yield _event(StreamEvent.REFUSED, {"message": str(exc)})
        return
    assert start is not None
    panes: dict[str, Any] = {side: wire_chat(chat) for side, chat in start.panes.items()}
    yield _event(StreamEvent.START, {"battle": start.battle_id, **panes, "status": start.status})
    async for event in stream_events(arena, arena.battles.live_turn(start.token)):
        yield event
