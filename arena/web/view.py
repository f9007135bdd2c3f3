"""What the battle panel shows, as text and chats: once a turn is over (both panes,
the status line, whether the vote buttons wake, all from what was stored), while a
turn waits or streams, and the reveal after the vote. The page gets these from the
panel's endpoints (:mod:`arena.web.battle`) or from its Gradio API events."""

from __future__ import annotations

import html
from functools import cache
from typing import Any

import gradio as gr

from arena.store import BattleRecord, TurnRecord
from arena.votes import Reveal
from arena.web.render import chat_of
from arena.web.share import share_path
from arena.words import SIDES, BattleState, votable

__all__ = [
    "ANSWERING",
    "reveal_cards",
    "reveal_text",
    "turn_status",
    "turn_view",
    "waiting_text",
    "wire_chat",
]


def turn_status(battle: BattleRecord, turns: list[TurnRecord]) -> str:
    """What the voter is told once a turn is over, from what was stored."""
    # The turn just played: a failed one was never counted in ``battle.turns``.
    latest = max((t.turn for t in turns), default=0)
    last = [t for t in turns if t.turn == latest]
    failed = sum(1 for t in last if t.error)
    if battle.state == BattleState.FAILED or failed:
        which = "Both answers" if failed == 2 else "One of the answers"
        return (
            f"{which} failed, so this battle cannot be voted on. "
            "Press **New round** to try another pair."
        )
    if battle.state == BattleState.VOTED:
        return "This battle already has its vote. Press **New round** for another."
    if any(t.finish_reason == "stopped" for t in last):
        return "Stopped. You can vote on what the models wrote, regenerate, or go on."
    return "Both answers are in. Which is better? Vote, or keep the conversation going."


def turn_view(
    battle: BattleRecord, turns: list[TurnRecord], *, wire: bool = False
) -> dict[str, Any]:
    """The panes, the status line and ``can_vote`` ("yes"/"no") after a turn. With
    ``wire``, the panes as the page's Chatbot takes them (JSON), for the stream."""
    panes: dict[str, Any] = {side: chat_of(turns, side) for side in SIDES}
    if wire:
        panes = {side: wire_chat(msgs) for side, msgs in panes.items()}
    return {
        **panes,
        "status": turn_status(battle, turns),
        "can_vote": "yes" if votable(battle) else "no",
    }


def chatbot(label: str, elem_id: str, **kw: Any) -> gr.Chatbot:
    """A pane of messages given as sanitised HTML (:mod:`arena.web.render`): the page
    does not interpret them as markdown again."""
    return gr.Chatbot(
        label=label,
        elem_id=elem_id,
        height=kw.pop("height", 460),
        buttons=["copy"],
        group_consecutive_messages=False,
        render_markdown=False,
        latex_delimiters=[],  # KaTeX would draw an answer's $$...$$: colours, boxes of any size
        sanitize_html=True,
        allow_tags=False,
        **kw,
    )


def wire_chat(messages: list[dict[str, str]]) -> Any:
    """A pane's messages as the page's Chatbot takes them (JSON), for the page's script."""
    return _chatbot().postprocess(messages).model_dump()


@cache
def _chatbot() -> Any:
    """A Chatbot like the panes, only to convert messages the way Gradio would."""
    return chatbot("", "arena-wire")


ANSWERING = "Both models are answering… (press **Stop** to cut them short)"


def waiting_text(place: int, what: str = "battle") -> str:
    return (
        f"The arena is busy right now: you are number {place} in line. Your {what} "
        "starts as soon as a place is free; please keep this page open."
    )


def reveal_text(reveal: Reveal, share: bool = False) -> str:
    def who(side: dict[str, Any]) -> str:
        org = f" ({side['organization']})" if side.get("organization") else ""
        return f"**{side['name']}**{org}"

    return (
        f"Thanks for voting! Model A was {who(reveal.model_a)}; "
        f"Model B was {who(reveal.model_b)}. Press **New round** for another battle."
        + (f" [Share this battle]({share_path(reveal.battle_id)})" if share else "")
        + reveal_cards(reveal.model_a, reveal.model_b)
    )


def _cell(text: str | None) -> str:
    """An organizer's words (arena.toml) as one markdown table cell: any HTML shown as
    text, a ``|`` kept inside the cell."""
    return html.escape(text or "", quote=False).replace("|", "\\|")


def reveal_cards(a: dict[str, Any], b: dict[str, Any]) -> str:
    """A short card of each model, side by side: what arena.toml says about it."""

    def price(side: dict[str, Any]) -> str:
        if not side.get("price_in") and not side.get("price_out"):
            return ""
        shown = [f"${side[k]:g}" if side.get(k) else "?" for k in ("price_in", "price_out")]
        return " / ".join(shown) + " per M tokens (in / out)"

    def link(side: dict[str, Any]) -> str:
        return f"[model page]({side['url']})" if side.get("url") else ""

    lines = [
        ("Organization", lambda s: _cell(s.get("organization"))),
        ("Licence", lambda s: _cell(s.get("license"))),
        ("Price", price),
        ("Link", link),
    ]
    shown = [(label, get(a), get(b)) for label, get in lines if get(a) or get(b)]
    if not shown:
        return ""
    table = [
        "",
        "",
        f"| | Model A: {_cell(a['name'])} | Model B: {_cell(b['name'])} |",
        "|---|---|---|",
    ]
    table += [f"| {label} | {x} | {y} |" for label, x, y in shown]
    return "\n".join(table)
