"""One answer streamed into a :class:`SideState` and stored when it ends.

The battle service runs two of these at once; the direct chat runs one and follows
it with :func:`until_done`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from arena.backends import Backend, Usage
from arena.content import Message, conversation
from arena.errors import BackendError
from arena.store import Store, TurnRecord
from arena.words import TurnEvent

__all__ = ["MAX_ANSWER_CHARS", "SideState", "answer_side", "until_done"]

log = logging.getLogger(__name__)

# An answer is cut here, as a model's max_tokens would cut it (finish reason "length"):
# an endpoint that ignores max_tokens could otherwise stream without end into the
# arena's memory and database. About 25,000 tokens of prose.
MAX_ANSWER_CHARS = 100_000


@dataclass
class SideState:
    """One side's answer so far in the current turn."""

    text: str = ""
    done: bool = False
    error: str | None = None
    stopped: bool = False


async def answer_side(
    store: Store,
    backend: Backend,
    battle_id: str,
    turn: int,
    side: str,
    history: list[TurnRecord],
    prompt: Message,
    state: SideState,
    notify: Callable[[TurnEvent], None],
    params: Mapping[str, Any],
    stored_after: Awaitable[object] | None = None,
) -> None:
    """Stream one side's answer into ``state`` and store it as a turn when it ends:
    completed, failed (``state.error``) or stopped (cancelled: the partial answer is
    kept with finish reason ``stopped``). Calls ``notify(TurnEvent.FIRST)`` for the first
    chunk, ``notify(TurnEvent.CHUNK)`` for every later one and ``notify(TurnEvent.DONE)``
    once stored.

    ``stored_after``: the storing of the battle itself, when the answer started
    before it was stored (a new battle's first turn); the answer is stored only
    after it, and not at all if it failed (then there is no battle to keep it)."""
    messages = conversation(history, side, prompt)
    started = time.monotonic()
    ttft: float | None = None
    usage = Usage()
    cancelled = cut = False
    try:
        async with contextlib.aclosing(backend.stream(messages, params)) as chunks:
            async for chunk in chunks:
                if isinstance(chunk, Usage):
                    usage = chunk
                    continue
                state.text += chunk
                if len(state.text) > MAX_ANSWER_CHARS:
                    state.text, cut = state.text[:MAX_ANSWER_CHARS], True
                if ttft is None:
                    ttft = time.monotonic() - started
                    notify(TurnEvent.FIRST)
                else:
                    notify(TurnEvent.CHUNK)
                if cut:
                    break  # closing the stream ends the request to the model
    except BackendError as exc:
        state.error = str(exc)
    except asyncio.CancelledError:
        cancelled = True
        state.stopped = True
    state.done = True
    record = TurnRecord(
        battle_id=battle_id,
        turn=turn,
        side=side,
        prompt=prompt.text,
        answer=state.text,
        error=state.error,
        ttft_s=ttft,
        total_s=time.monotonic() - started,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        finish_reason="stopped" if cancelled else "length" if cut else usage.finish_reason,
    )
    if stored_after is not None:
        try:
            await stored_after
        except BaseException:  # the battle was never stored: neither is its answer
            return
    await _store_answer(store, record, state)
    notify(TurnEvent.DONE)
    if cancelled:
        raise asyncio.CancelledError


async def _store_answer(store: Store, record: TurnRecord, state: SideState) -> None:
    """Store the answer; if the write fails, for whatever reason, the side fails with
    it (``state.error``), so the turn closes failed and the battle takes no vote,
    instead of counting a turn whose answer was never kept."""
    try:
        await store.run(store.add_turn, record)
    except Exception as exc:  # the write's own error, whatever the database said
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [repr(exc)]
        shown = reason[0] if len(reason[0]) <= 200 else reason[0][:199] + "…"
        state.error = f"its answer could not be stored ({type(exc).__name__}: {shown})"
        log.error(
            "battle %s turn %d side %s: the answer was not stored",
            record.battle_id,
            record.turn,
            record.side,
            exc_info=exc,
        )


async def until_done(
    queue: asyncio.Queue[TurnEvent],
    tasks: list[asyncio.Task[None]],
    states: Mapping[str, SideState],
    store: Store,
    battle_id: str,
    interval: float = 0.0,
) -> AsyncGenerator[None, None]:
    """Yield as chunks arrive (at most once per ``interval`` seconds) until every side
    is done, then close the turn.

    However the caller leaves (done, Stop, a dropped connection), the sides are
    stopped, their answers stored, and the turn closed: failed if a side failed."""
    try:
        finished = 0
        last = 0.0
        while finished < len(states):
            # At most one tick per ``interval``, carrying everything that arrived
            # meanwhile: the first chunk shows at once, later ones in batches, so a busy
            # server sends fewer, larger updates instead of falling behind.
            items = [await queue.get()]
            wait = interval - (time.monotonic() - last)
            if wait > 0 and finished + items.count(TurnEvent.DONE) < len(states):
                await asyncio.sleep(wait)
            while not queue.empty():
                items.append(queue.get_nowait())
            finished += items.count(TurnEvent.DONE)
            last = time.monotonic()
            yield None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        named = len(states) > 1
        errors = [
            f"model {side.upper()}: {st.error}" if named else str(st.error)
            for side, st in states.items()
            if st.error
        ]
        await store.run(store.end_turn, battle_id, "; ".join(errors) or None)
