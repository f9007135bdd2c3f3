"""Battles: draw a pair, stream both answers at once, store each turn (the vote and
the reveal: arena/votes.py).

This module knows nothing of Gradio; the web page, the JSON API and the tests all
drive the same :class:`BattleService`. Conversation history is rebuilt from the
database on every turn, so the service holds no per-battle state of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from arena import language
from arena.answers import SideState, answer_side
from arena.backends.pool import ModelPool
from arena.choices import offered_model, params_for
from arena.config import Config
from arena.content import Message
from arena.draw import Draw
from arena.errors import BattleStateError, NoModelsError, NotFoundError
from arena.gate import Gate, Voter, pick_first
from arena.integrity.verdicts import LeakVerdicts
from arena.live import LiveTurn, LiveTurns, TurnUpdate, follow
from arena.store import BattleRecord, Store, TurnRecord
from arena.words import SIDES, BattleState, Mode, Side
from ratings.categories import prompt_tags

__all__ = [
    "BattleService",
    "SideState",
    "TurnStart",
    "TurnUpdate",
]


@dataclass(frozen=True)
class TurnStart:
    """A turn that started streaming: follow it by ``token`` (never a model name)."""

    battle_id: str
    token: str
    turn: int
    prompt: str
    history: list[TurnRecord]  # the battle's finished turns before this one


class BattleService:
    """Creates battles, streams turns, records votes."""

    @property
    def config(self) -> Config:
        return self._config()

    @property
    def rng(self) -> random.Random:
        """The draw's random source (a test seeds it)."""
        return self.draw.rng

    @rng.setter
    def rng(self, rng: random.Random) -> None:
        self.draw.rng = rng

    def __init__(
        self,
        config: Callable[[], Config],
        store: Store,
        pool: ModelPool,
        rng: random.Random | None = None,
        gate: Gate | None = None,
        leaks: LeakVerdicts | None = None,
    ) -> None:
        self._config = config  # the arena's configuration in force, read at each use
        self.store = store
        self.pool = pool
        self.draw = Draw(lambda: self.config, store, pool, rng or random.Random())
        self.gate = gate or Gate(lambda: self.config, store)
        # Noted as turns end, for the vote (arena/votes.py).
        self.leaks = leaks or LeakVerdicts(lambda: self.config)
        self.live = LiveTurns(
            lambda: self.config.settings.max_live_turns,
            lambda: self.config.settings.max_wait_s,
            lambda: (
                self.config.settings.max_live_turns_per_browser,
                self.config.settings.max_live_turns_per_address,
            ),
        )

    async def start_battle(
        self,
        voter: Voter,
        *,
        models: tuple[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> str:
        """A new battle; returns its id.

        Without ``models`` it is anonymous, between two ready models drawn at random.
        With ``models`` (the side-by-side mode) it is named: the voter chose both, and
        its vote is left out of the default leaderboard. ``params`` (temperature,
        top_p, max_tokens) override each model's own sampling parameters.

        Raises:
            BattleStateError: the terms of use were not accepted, or both chosen
                models are the same.
            NoModelsError: fewer than two ready models, or a chosen one not offered
                by name or not ready (:func:`arena.choices.offered_model`).
            PromptError: a chosen parameter refused (:func:`arena.choices.params_for`).
        """
        battle = await self._new_battle(voter, models, params)
        await self.store.run(self.store.add_battle, battle)
        return battle.id

    async def _new_battle(
        self,
        voter: Voter,
        models: tuple[str, str] | None,
        params: Mapping[str, Any] | None,
    ) -> BattleRecord:
        """The record of a new battle (not stored yet); see :meth:`start_battle`."""
        if self.config.settings.terms:
            await self.store.run(self.gate.check_terms, voter)
        if models is None:
            model_a, model_b = await self.draw.pair()
        else:
            model_a, model_b = models
            if not model_a or not model_b:
                raise NoModelsError(pick_first(self.config))
            for name in models:
                offered_model(self.config, self.pool, name, "Side-by-side")
            if model_a == model_b:
                raise BattleStateError(f"pick two different models (both are {model_a})")
        voter_hash, ip_hash = self.gate.hashes(voter)
        battle = BattleRecord(
            id=str(uuid.uuid4()),
            mode=Mode.ANONY if models is None else Mode.NAMED,
            anony=models is None,  # the LMSYS column, kept beside the mode it repeats
            model_a=model_a,
            model_b=model_b,
            params={
                Side.A: params_for(self.pool, model_a, params),
                Side.B: params_for(self.pool, model_b, params),
            },
            voter_hash=voter_hash,
            ip_hash=ip_hash,
        )
        return battle

    async def start_turn(
        self,
        voter: Voter,
        prompt: str | None,
        battle_id: str | None = None,
        *,
        models: tuple[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[int | TurnStart, None]:
        """Start a turn: ``prompt`` to both models of ``battle_id`` (a new battle when
        None, see :meth:`start_battle`), or with ``prompt`` None the battle's last turn
        again (regenerate, before the vote only).

        While the arena is full this yields the voter's place in line (an int, 1 =
        next); then it yields one :class:`TurnStart` and the answers stream on in a task
        of their own: follow them with :meth:`live_turn` and :func:`arena.live.follow`.
        Both streams run concurrently; a slow or failing side never holds up the other.
        Each side's answer is stored the moment it completes; if a side fails, the other
        finishes and the battle is stored as failed (it takes no vote).

        Raises:
            PromptError, LimitError: see :meth:`admit`; LimitError also when this
                browser or address already has its most live turns
                (:meth:`arena.live.LiveTurns.claim`).
            BusyError: the arena stayed full for ``max_wait_s``.
            BattleStateError: the battle cannot take a turn now.
        """
        owner = self.gate.hashes(voter)
        self.live.claim(*owner)  # held until the turn ends (LiveTurns.leave)
        try:
            if prompt is not None:
                await self.gate.admit(prompt, voter)  # before waiting in line for nothing
            async for place in self.live.enter():
                yield place
        except BaseException:
            self.live.release(*owner)
            raise
        try:
            if prompt is None:
                if battle_id is None:
                    raise BattleStateError("send a prompt first; there is nothing to regenerate")
                prompt = await self.store.run(
                    self._drop_last_turn, battle_id, self.gate.hash(voter.session)
                )
                await self.gate.admit(prompt, voter)
            if battle_id is None:
                new = await self._new_battle(voter, models, params)
                start = await self._launch(new.id, prompt, voter, new)
            else:
                labels = await self._labels(prompt)  # kept if this is its first turn
                start = await self._launch(battle_id, prompt, voter, labels=labels)
        except BaseException:
            self.live.leave(owner)
            raise
        yield start

    async def _labels(self, prompt: str) -> tuple[str | None, list[str]]:
        """The prompt's language (when detected) and the organizer's tags for it."""
        lang = None
        if self.config.settings.detect_languages:
            lang = await asyncio.to_thread(language.detect, prompt, wait=False)
        return lang, prompt_tags(prompt, self.config.settings.tags)

    async def _store_new(self, new: BattleRecord, prompt: str, voter_hash: str) -> None:
        new.language, new.tags = await self._labels(prompt)
        await self.store.run(self._claim_turn, new.id, voter_hash, new)

    async def _launch(
        self,
        battle_id: str,
        prompt: str,
        voter: Voter,
        new: BattleRecord | None = None,
        labels: tuple[str | None, list[str]] = (None, []),
    ) -> TurnStart:
        """Claim the battle's next turn and start both answers (a place is held).

        ``new``, a new battle, is stored (with the prompt's labels) while its answers
        already start: the models take far longer to a first token than the store
        takes to write, so the voter waits for neither the labels nor the write. If
        the write fails, the answers are cut and nothing of the battle is kept.
        Otherwise ``labels`` (language, tags) are kept if this is the first turn."""
        voter_hash = self.gate.hash(voter.session)
        stored: asyncio.Future[None] | None = None
        if new is not None:
            battle, history = new, list[TurnRecord]()
            stored = asyncio.ensure_future(self._store_new(new, prompt, voter_hash))
        else:
            battle, history = await self.store.run(
                self._claim_turn, battle_id, voter_hash, None, labels
            )
        turn = battle.turns + 1
        update = TurnUpdate(battle_id, turn)
        live = LiveTurn(battle_id, update, voter_hash, self.gate.hashes(voter)[1])
        models = {Side.A: battle.model_a, Side.B: battle.model_b}
        tasks = [
            asyncio.create_task(
                answer_side(
                    self.store,
                    self.pool.backend(models[side]),
                    battle_id,
                    turn,
                    side,
                    history,
                    Message.user(prompt),
                    getattr(update, side),
                    live.touch,
                    battle.params.get(side, {}),
                    stored,
                )
            )
            for side in SIDES
        ]
        if stored is not None:
            try:
                await stored
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        live.task = asyncio.create_task(
            self._run(live, tasks, (history, prompt, models)), name=f"turn {battle_id}:{turn}"
        )
        self.live.add(live)
        return TurnStart(battle_id, live.token, turn, prompt, history)

    def _claim_turn(
        self,
        battle_id: str,
        voter_hash: str,
        new: BattleRecord | None,
        labels: tuple[str | None, list[str]] = (None, []),
    ) -> tuple[BattleRecord, list[TurnRecord]]:
        """The battle with its next turn claimed, and its finished turns (one trip to
        the store's thread)."""
        if new is not None:
            new.streaming = True
            self.store.add_battle(new)
            return new, []
        battle = self.store.begin_turn(
            battle_id,
            voter_hash,
            self.config.settings.max_turns,
            language=labels[0],
            tags=labels[1],
        )
        try:
            self._check_models(battle)
        except NoModelsError:
            self.store.release_turn(battle_id)
            raise
        return battle, self.store.turns(battle_id) if battle.turns else []

    def _drop_last_turn(self, battle_id: str, voter_hash: str) -> str:
        """Remove the battle's last turn to play it again (its models still here)."""
        self._check_models(self.store.battle(battle_id))
        return self.store.drop_last_turn(battle_id, voter_hash)

    def _check_models(self, battle: BattleRecord) -> None:
        """Raise :class:`NoModelsError`, never naming it, if a model of ``battle`` has
        left the arena (removed from ``arena.toml`` since the battle began)."""
        if any(m not in self.pool.backends for m in (battle.model_a, battle.model_b)):
            raise NoModelsError(
                "one of the two models has left the arena since this battle began: vote on "
                "the answers you have, or start a new round"
            )

    async def _run(
        self,
        live: LiveTurn,
        tasks: list[asyncio.Task[None]],
        asked: tuple[list[TurnRecord], str, dict[Side, str]],
    ) -> None:
        """Wait for both sides, then close the turn (failed if a side failed), note its
        identity-leak verdict for the vote and hand its place on. Cancelled (Stop),
        both sides stop and keep what they wrote. ``asked``: the battle's earlier
        turns, this turn's prompt and each side's model."""
        update = live.update
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                # A side already cancelled (Stop cancels this task, and the gather passes
                # it on) is storing what it wrote: a second cancel would cut that off.
                if not task.done() and not task.cancelling():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            errors = [
                f"model {side.label}: {state.error}"
                for side, state in ((Side.A, update.a), (Side.B, update.b))
                if state.error
            ]
            try:
                error = "; ".join(errors) or None
                ended = await self.store.run(self.store.end_turn, live.battle_id, error)
                if not errors:
                    history, prompt, models = asked
                    texts = {side: getattr(update, side).text for side in SIDES}
                    self.leaks.note(live.battle_id, ended, history, prompt, texts, models)
            finally:
                live.closed = True
                live.touch()
                self.live.leave((live.voter_hash, live.ip_hash))
                self.live.forget(live)

    def live_turn(self, token: str) -> LiveTurn:
        """The turn streaming under ``token``.

        Raises:
            NotFoundError: no such turn in this process (unknown, or long over).
        """
        live = self.live.by_token.get(token)
        if live is None:
            raise NotFoundError(
                "this answer stream is over or unknown; press New round to start again"
            )
        return live

    async def stop(self, battle_id: str, voter: Voter | None = None) -> None:
        """Cut the battle's streaming turn short (both sides keep what they wrote, marked
        stopped); returns once it is stored. Nothing streaming, or (given ``voter``)
        another browser's battle: nothing happens."""
        live = self.live.by_battle.get(battle_id)
        if live is not None and (voter is None or live.voter_hash == self.gate.hash(voter.session)):
            await live.stop()

    async def view(
        self, battle_id: str, voter: Voter | None = None
    ) -> tuple[BattleRecord, list[TurnRecord]]:
        """The battle and its stored turns, read off the event loop.

        Raises:
            BattleStateError: no such battle, or (given ``voter``) another browser's.
        """
        battle, turns = await self.store.run(
            lambda: (self.store.battle(battle_id), self.store.turns(battle_id))
        )
        if voter is not None and battle.voter_hash != self.gate.hash(voter.session):
            raise BattleStateError("this battle belongs to another browser")
        return battle, turns

    async def stream_turn(
        self, battle_id: str, prompt: str, voter: Voter
    ) -> AsyncGenerator[TurnUpdate, None]:
        """:meth:`start_turn` on an existing battle, yielding both answers as they grow
        (at most once per ``update_interval_s``). If the caller stops listening, both
        answers are stopped and kept, as with :meth:`stop`."""
        async with contextlib.aclosing(self._follow(voter, prompt, battle_id)) as updates:
            async for update in updates:
                yield update

    async def regenerate(self, battle_id: str, voter: Voter) -> AsyncGenerator[TurnUpdate, None]:
        """Play the last turn again on both sides (before the vote only)."""
        async with contextlib.aclosing(self._follow(voter, None, battle_id)) as updates:
            async for update in updates:
                yield update

    async def _follow(
        self, voter: Voter, prompt: str | None, battle_id: str
    ) -> AsyncGenerator[TurnUpdate, None]:
        start = None
        async for step in self.start_turn(voter, prompt, battle_id):
            start = step
        assert isinstance(start, TurnStart)
        live = self.live_turn(start.token)
        try:
            async for _ in follow(live, self.config.settings.update_interval_s):
                yield live.update
        finally:
            await live.stop()

    def shared(self, battle_id: str) -> tuple[BattleRecord, list[TurnRecord]] | None:
        """A voted battle and its turns, for its read-only share page; None when there
        is no such page: sharing is off, no such battle, a direct chat, or not voted yet
        (the names stay hidden until the vote)."""
        if not self.config.settings.share_battles:
            return None
        try:
            battle = self.store.battle(battle_id)
        except BattleStateError:
            return None
        if battle.state != BattleState.VOTED or battle.mode == Mode.DIRECT:
            return None
        return battle, self.store.turns(battle_id)
