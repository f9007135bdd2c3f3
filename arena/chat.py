"""Direct chat: one chosen model, several turns, with upvote, downvote and flag.

A chat is stored like a battle (mode ``direct``, one side) so that its turns keep the
same record, but it never takes a vote and never reaches a leaderboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from arena.answers import SideState, answer_side, until_done
from arena.backends.pool import ModelPool
from arena.choices import offered_model, params_for
from arena.config import Config
from arena.content import Message
from arena.errors import BattleStateError, NoModelsError, excerpt
from arena.gate import Gate, Voter, pick_first
from arena.live import LiveTurn, LiveTurns, TurnUpdate
from arena.store import BattleRecord, FeedbackRecord, Store, TurnRecord
from arena.words import Feedback, Mode, Side, TurnEvent

__all__ = ["ChatService"]


class ChatService:
    """Conversations with one model. Its turns wait in the same line as the battles'
    (``live``, the arena's one :class:`LiveTurns`) and stop the same way."""

    def __init__(
        self,
        config: Callable[[], Config],
        store: Store,
        pool: ModelPool,
        gate: Gate,
        live: LiveTurns,
    ) -> None:
        self._config = config
        self.store = store
        self.pool = pool
        self.gate = gate
        self.live = live

    async def start(self, voter: Voter, model: str, params: Mapping[str, Any] | None = None) -> str:
        """A new chat with ``model``; returns its id.

        Raises:
            NoModelsError: no model picked, or one not offered by name or not ready
                (:func:`arena.choices.offered_model`).
            PromptError: a chosen parameter refused (:func:`arena.choices.params_for`).
        """
        await self.store.run(self.gate.check_terms, voter)
        if not model:
            raise NoModelsError(pick_first(self._config()))
        offered_model(self._config(), self.pool, model, "Direct chat")
        chat = BattleRecord(
            id=str(uuid.uuid4()),
            mode=Mode.DIRECT,
            anony=False,
            model_a=model,
            model_b="",
            params={Side.A: params_for(self.pool, model, params)},
            voter_hash=self.gate.hash(voter.session),
        )
        await self.store.run(self.store.add_battle, chat)
        return chat.id

    async def turns(self, chat_id: str) -> list[TurnRecord]:
        """The chat's finished turns, read off the event loop."""
        return await self.store.run(self.store.turns, chat_id)

    async def stream(
        self, chat_id: str, prompt: str, voter: Voter
    ) -> AsyncGenerator[int | SideState, None]:
        """Send ``prompt`` and yield the answer as it grows.

        The turn is one of the arena's live turns, as a battle's is: while the arena is
        full (``max_live_turns``) this first yields the voter's place in line (an int,
        1 = next); it counts among the browser's and the address's live turns while it
        waits or streams; and :meth:`arena.battles.BattleService.stop` (``/api/stop``,
        the tab's Stop) cuts it short, keeping what the model wrote.

        Raises:
            LimitError: this browser or address already has its most live turns
                (:meth:`arena.live.LiveTurns.claim`), or see :meth:`arena.gate.Gate.admit`.
            BusyError: the arena stayed full for ``max_wait_s``.
        """
        owner = self.gate.hashes(voter)
        live = self.live
        live.claim(*owner)
        try:
            await self.gate.admit(prompt, voter)  # before waiting in line for nothing
            async for place in live.enter():
                yield place
        except BaseException:
            live.release(*owner)
            raise
        try:
            async with contextlib.aclosing(self._stream(chat_id, prompt, owner)) as states:
                async for state in states:
                    yield state
        finally:
            live.leave(owner)

    async def _stream(
        self, chat_id: str, prompt: str, owner: tuple[str, str]
    ) -> AsyncGenerator[SideState, None]:
        settings = self._config().settings
        if (await self.store.run(self.store.battle, chat_id)).mode != Mode.DIRECT:
            raise BattleStateError("that id is a battle, not a direct chat")
        chat = await self.store.run(self.store.begin_turn, chat_id, owner[0], settings.max_turns)
        turn = chat.turns + 1
        history = await self.store.run(self.store.turns, chat_id)
        state = SideState()
        queue: asyncio.Queue[TurnEvent] = asyncio.Queue()
        task = asyncio.create_task(
            answer_side(
                self.store,
                self.pool.backend(chat.model_a),
                chat_id,
                turn,
                Side.A,
                history,
                Message.user(prompt),
                state,
                queue.put_nowait,
                chat.params.get(Side.A, {}),
            )
        )
        # Registered as the chat's live turn, so a Stop finds it by the chat's id.
        running = LiveTurn(chat_id, TurnUpdate(chat_id, turn, a=state), *owner, task=task)
        self.live.add(running)
        ticks = until_done(
            queue, [task], {Side.A: state}, self.store, chat_id, settings.update_interval_s
        )
        try:
            async with contextlib.aclosing(ticks):
                async for _ in ticks:
                    yield state
        finally:
            self.live.forget(running, after=0)

    async def feedback(self, chat_id: str, kind: str, voter: Voter) -> None:
        """Record an upvote, downvote or flag on the chat's latest answer."""
        if kind not in list(Feedback):
            raise BattleStateError(
                f"unknown feedback {excerpt(kind)}; expected upvote, downvote or flag"
            )
        chat = await self.store.run(self.store.battle, chat_id)
        voter_hash = self.gate.hash(voter.session)
        if chat.voter_hash != voter_hash:
            raise BattleStateError("this chat belongs to another browser")
        if chat.turns < 1:
            raise BattleStateError("there is no answer to rate yet")
        await self.store.run(
            self.store.add_feedback,
            FeedbackRecord(battle_id=chat_id, turn=chat.turns, kind=kind, voter_hash=voter_hash),
        )
