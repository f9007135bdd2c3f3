"""Turning stored turns into Chatbot messages, safely.

Prompts and answers are shown as markdown, but any HTML in them is shown as text:
``<``, ``>`` and ``&`` are escaped outside code spans and fenced blocks (inside
those, markdown already shows them literally), so a ``<script>`` or an ``onerror``
attribute can never run in a voter's browser.
"""

from __future__ import annotations

import html
import re

from arena.battles import SideState, TurnStart
from arena.store import TurnRecord

__all__ = ["answer_text", "chat_of", "live_chat", "placeholder_chat", "safe_markdown"]

_CODE = re.compile(r"(```.*?(?:```|\Z)|`[^`\n]*`)", re.DOTALL)


def safe_markdown(text: str) -> str:
    """``text`` with HTML escaped outside code, so it renders as text."""
    parts = _CODE.split(text)
    return "".join(
        part if i % 2 else html.escape(part, quote=False) for i, part in enumerate(parts)
    )


def answer_text(text: str, error: str | None, stopped: bool = False) -> str:
    shown = safe_markdown(text)
    if error:
        return (shown + "\n\n" if shown else "") + f"⚠️ **This answer failed:** {html.escape(error)}"
    if stopped:
        return (shown or "…") + "\n\n*(stopped)*"
    return shown


def chat_of(turns: list[TurnRecord], side: str) -> list[dict[str, str]]:
    """A side's finished turns as Chatbot messages."""
    messages = []
    for t in turns:
        if t.side == side:
            messages.append({"role": "user", "content": safe_markdown(t.prompt)})
            messages.append(
                {
                    "role": "assistant",
                    "content": answer_text(t.answer, t.error, t.finish_reason == "stopped"),
                }
            )
    return messages


def live_chat(chat: list[dict[str, str]], prompt: str, side: SideState) -> list[dict[str, str]]:
    """Finished turns plus the one streaming now."""
    answer = answer_text(side.text, side.error, side.stopped) or "…"
    return [
        *chat,
        {"role": "user", "content": safe_markdown(prompt)},
        {"role": "assistant", "content": answer},
    ]


def placeholder_chat(start: TurnStart, side: str) -> list[dict[str, str]]:
    """A side's pane as a turn starts: its finished turns, the new prompt and an empty
    answer that the page's script fills from the turn's stream (static/arena.js)."""
    return [
        *chat_of(start.history, side),
        {"role": "user", "content": safe_markdown(start.prompt)},
        {"role": "assistant", "content": "…"},
    ]
