"""Battles: draw a pair, stream both answers at once, store each turn, take one vote,
reveal the names.

This module knows nothing of Gradio; the web page, the JSON API and the tests all
drive the same :class:`BattleService`. Conversation history is rebuilt from the
database on every turn, so the service holds no per-battle state of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from arena.backends import Usage
from arena.backends.pool import ModelPool
from arena.config import Config
from arena.errors import BackendError, PromptError
from arena.sampling import pick_pair
from arena.store import BattleRecord, Store, TurnRecord

__all__ = ["BattleService", "Reveal", "SideState", "TurnUpdate", "Voter", "check_prompt"]

SIDES = ("a", "b")


@dataclass(frozen=True)
class Voter:
    """Who is voting, as the web layer knows them (hashed before storage)."""

    session: str
    ip: str = ""


@dataclass
class SideState:
    """One side's answer so far in the current turn."""

    text: str = ""
    done: bool = False
    error: str | None = None


@dataclass
class TurnUpdate:
    """Both sides of the streaming turn; never carries a model name."""

    battle_id: str
    turn: int
    a: SideState = field(default_factory=SideState)
    b: SideState = field(default_factory=SideState)

    @property
    def done(self) -> bool:
        return self.a.done and self.b.done

    @property
    def failed(self) -> bool:
        return self.a.error is not None or self.b.error is not None


@dataclass(frozen=True)
class Reveal:
    """Shown after the vote."""

    battle_id: str
    winner: str
    model_a: dict[str, str]
    model_b: dict[str, str]


def check_prompt(prompt: str, limit: int) -> str:
    """The prompt to send, or :class:`PromptError` saying why not (never cut silently)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise PromptError("the prompt is empty; write something for the two models to answer")
    if len(prompt) > limit:
        raise PromptError(
            f"the prompt has {len(prompt):,} characters; the limit is {limit:,}. Shorten it and "
            "send again"
        )
    return prompt


class BattleService:
    """Creates battles, streams turns, records votes."""

    def __init__(
        self, config: Config, store: Store, pool: ModelPool, rng: random.Random | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.pool = pool
        self.rng = rng or random.Random()
        self._salt = config.settings.salt or store.voter_salt()

    def hash_identity(self, value: str) -> str:
        return hashlib.sha256(f"{self._salt}:{value}".encode()).hexdigest()

    async def start_battle(self, voter: Voter) -> str:
        """A new anonymous battle between two ready models; returns its id."""
        model_a, model_b = pick_pair(self.pool.ready(), self.rng)
        battle = BattleRecord(
            id=str(uuid.uuid4()),
            anony=True,
            model_a=model_a,
            model_b=model_b,
            params={
                "a": self.pool.backend(model_a).spec.params,
                "b": self.pool.backend(model_b).spec.params,
            },
            voter_hash=self.hash_identity(voter.session),
            ip_hash=self.hash_identity(voter.ip) if voter.ip else "",
        )
        await asyncio.to_thread(self.store.add_battle, battle)
        return battle.id

    async def stream_turn(
        self, battle_id: str, prompt: str, voter: Voter
    ) -> AsyncIterator[TurnUpdate]:
        """Send ``prompt`` to both models and yield both answers as they grow.

        Both streams run concurrently; a slow or failing side never holds up the
        other. Each side's answer is stored the moment it completes. If a side fails,
        the update shows its error, the other side finishes, and the battle is stored
        as failed (it takes no vote).

        Raises:
            PromptError: empty or too long a prompt.
            BattleStateError: the battle cannot take a turn now.
        """
        settings = self.config.settings
        check_prompt(prompt, settings.max_prompt_chars)
        voter_hash = self.hash_identity(voter.session)
        turn = await asyncio.to_thread(
            self.store.begin_turn, battle_id, voter_hash, settings.max_turns
        )
        battle = await asyncio.to_thread(self.store.battle, battle_id)
        history = await asyncio.to_thread(self.store.turns, battle_id)
        update = TurnUpdate(battle_id, turn)
        queue: asyncio.Queue[str] = asyncio.Queue()
        models = {"a": battle.model_a, "b": battle.model_b}
        tasks = [
            asyncio.create_task(
                self._answer(battle_id, turn, side, models[side], history, prompt, update, queue)
            )
            for side in SIDES
        ]
        try:
            finished = 0
            while finished < 2:
                if await queue.get() == "done":
                    finished += 1
                yield update
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            errors = [
                f"model {s.upper()}: {getattr(update, s).error}"
                for s in SIDES
                if getattr(update, s).error
            ]
            if not update.done and not errors:
                errors = ["the turn was interrupted before both answers finished"]
            await asyncio.to_thread(self.store.end_turn, battle_id, "; ".join(errors) or None)

    async def _answer(
        self,
        battle_id: str,
        turn: int,
        side: str,
        model: str,
        history: list[TurnRecord],
        prompt: str,
        update: TurnUpdate,
        queue: asyncio.Queue[str],
    ) -> None:
        state: SideState = getattr(update, side)
        messages: list[dict[str, str]] = []
        for past in history:
            if past.side == side:
                messages += [
                    {"role": "user", "content": past.prompt},
                    {"role": "assistant", "content": past.answer},
                ]
        messages.append({"role": "user", "content": prompt})
        started = time.monotonic()
        ttft: float | None = None
        usage = Usage()
        try:
            async for chunk in self.pool.backend(model).stream(messages):
                if isinstance(chunk, Usage):
                    usage = chunk
                    continue
                if ttft is None:
                    ttft = time.monotonic() - started
                state.text += chunk
                queue.put_nowait("chunk")
        except BackendError as exc:
            state.error = str(exc)
        state.done = True
        record = TurnRecord(
            battle_id=battle_id,
            turn=turn,
            side=side,
            prompt=prompt,
            answer=state.text,
            error=state.error,
            ttft_s=ttft,
            total_s=time.monotonic() - started,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            finish_reason=usage.finish_reason,
        )
        await asyncio.to_thread(self.store.add_turn, record)
        queue.put_nowait("done")

    async def vote(self, battle_id: str, winner: str, voter: Voter) -> Reveal:
        """Record the battle's one vote and reveal both models.

        ``winner`` is ``model_a``, ``model_b``, ``tie`` or ``tie (bothbad)``. Voting
        again with the same choice returns the same reveal (a double click counts once).

        Raises:
            BattleStateError: see :meth:`arena.store.Store.record_vote`.
        """
        battle = await asyncio.to_thread(
            self.store.record_vote, battle_id, winner, self.hash_identity(voter.session)
        )
        return Reveal(battle.id, winner, self._public(battle.model_a), self._public(battle.model_b))

    def _public(self, name: str) -> dict[str, str]:
        try:
            return self.config.model(name).public()
        except Exception:  # a model since removed from the config: its name is all we know
            return {"name": name, "kind": "", "organization": "", "license": ""}
