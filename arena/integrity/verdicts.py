"""Each battle's identity-leak verdict, ready for its vote.

A vote is flagged when the battle's answers reveal a model (:mod:`arena.integrity.leaks`).
The verdict is noted as each turn ends, from the answers still in memory, so the vote
(on the store's one thread, which caps a SQLite process) reads back only the battle,
not every turn. A note holds only while the battle is as that turn's end left it (its
``updated_at`` stamp): a vote this process has no note for (another process streamed
the turn, or this one restarted), or one whose battle changed since (another process
regenerated the turn behind a balancer), is judged from the stored turns.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from arena.config import Config
from arena.integrity.leaks import find_leaks
from arena.store import Store, TurnRecord
from arena.words import SIDES, Side

__all__ = ["LEAK_VERDICTS", "LeakVerdicts"]

LEAK_VERDICTS = 10_000  # battles whose last turn's verdict is kept for the vote


class LeakVerdicts:
    """The latest verdicts, by battle: (the stamp its turn's end left, why it leaks or
    None)."""

    def __init__(self, config: Callable[[], Config], size: int = LEAK_VERDICTS) -> None:
        self._config = config
        self._size = size
        self.noted: OrderedDict[str, tuple[datetime, str | None]] = OrderedDict()

    def note(
        self,
        battle_id: str,
        ended: datetime,
        history: Sequence[TurnRecord],
        prompt: str,
        texts: Mapping[Side, str],
        models: Mapping[Side, str],
    ) -> None:
        """The battle's turn after ``history`` ended with ``texts`` (by side, as stored),
        leaving the battle stamped ``ended`` (:meth:`arena.store.Store.end_turn`)."""
        answers = {side: [t.answer for t in history if t.side == side] for side in SIDES}
        for side in SIDES:
            answers[side].append(texts[side])
        prompts = [t.prompt for t in history if t.side == Side.A] + [prompt]
        self.noted[battle_id] = (ended, self._judge(answers, prompts, models))
        self.noted.move_to_end(battle_id)
        while len(self.noted) > self._size:
            self.noted.popitem(last=False)

    def of(self, store: Store, battle_id: str) -> str | None:
        """Why the battle's answers reveal a model, or None. On the store's thread."""
        battle = store.battle(battle_id)
        noted = self.noted.get(battle_id)
        if noted is not None and noted[0] == battle.updated_at:
            return noted[1]
        turns = store.turns(battle_id)
        answers = {side: [t.answer for t in turns if t.side == side] for side in SIDES}
        prompts = [t.prompt for t in turns if t.side == Side.A]
        return self._judge(answers, prompts, {Side.A: battle.model_a, Side.B: battle.model_b})

    def _judge(
        self,
        answers: Mapping[Side, list[str]],
        prompts: list[str],
        models: Mapping[Side, str],
    ) -> str | None:
        config = self._config()
        specs = {m.name: m for m in config.models}
        own = {side: specs.get(name) for side, name in models.items()}
        leaks = find_leaks(answers, prompts, own, config.models)
        return "; ".join(leak.reason() for leak in leaks) or None
