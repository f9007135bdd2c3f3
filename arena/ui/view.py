"""What the battle panel shows once a turn is over, from what was stored: both panes,
the status line, and whether the vote buttons wake. The page gets it at the end of
the answer stream (:mod:`arena.ui.stream`) or from the panel's finish event."""

from __future__ import annotations

from functools import cache
from typing import Any

from arena.store import BattleRecord, TurnRecord
from arena.store.tables import SIDES
from arena.ui.common import chatbot
from arena.ui.render import chat_of

__all__ = ["can_vote", "turn_status", "turn_view"]


def turn_status(battle: BattleRecord, turns: list[TurnRecord]) -> str:
    """What the voter is told once a turn is over, from what was stored."""
    # The turn just played: a failed one was never counted in ``battle.turns``.
    latest = max((t.turn for t in turns), default=0)
    last = [t for t in turns if t.turn == latest]
    failed = sum(1 for t in last if t.error)
    if battle.state == "failed" or failed:
        which = "Both answers" if failed == 2 else "One of the answers"
        return (
            f"{which} failed, so this battle cannot be voted on. "
            "Press **New round** to try another pair."
        )
    if battle.state == "voted":
        return "This battle already has its vote. Press **New round** for another."
    if any(t.finish_reason == "stopped" for t in last):
        return "Stopped. You can vote on what the models wrote, regenerate, or go on."
    return "Both answers are in. Which is better? Vote, or keep the conversation going."


def can_vote(battle: BattleRecord) -> bool:
    return battle.state == "open" and battle.turns >= 1 and not battle.streaming


def turn_view(
    battle: BattleRecord, turns: list[TurnRecord], *, wire: bool = False
) -> dict[str, Any]:
    """The panes, the status line and ``can_vote`` ("yes"/"no") after a turn. With
    ``wire``, the panes as the page's Chatbot takes them (JSON), for the stream."""
    panes = {side: chat_of(turns, side) for side in SIDES}
    if wire:
        panes = {side: _chatbot().postprocess(msgs).model_dump() for side, msgs in panes.items()}
    return {
        **panes,
        "status": turn_status(battle, turns),
        "can_vote": "yes" if can_vote(battle) else "no",
    }


@cache
def _chatbot() -> Any:
    """A Chatbot like the panes, only to convert messages the way Gradio would."""
    return chatbot("", "arena-wire")
