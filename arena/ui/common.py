"""Small pieces every tab uses."""

from __future__ import annotations

from typing import Any

import gradio as gr

from arena.battles import Voter
from arena.errors import ArenaError

__all__ = ["chatbot", "refuse", "voter_of"]


def voter_of(request: gr.Request | None) -> Voter:
    if request is None:
        return Voter(session="anonymous")
    ip = request.client.host if request.client else ""
    return Voter(session=request.session_hash or "anonymous", ip=ip)


def refuse(exc: ArenaError | str) -> gr.Error:
    """The arena's message for the voter, as a Gradio error (no traceback)."""
    return gr.Error(str(exc), print_exception=False)


def chatbot(label: str, elem_id: str, **kw: Any) -> gr.Chatbot:
    return gr.Chatbot(
        label=label,
        elem_id=elem_id,
        height=kw.pop("height", 460),
        buttons=["copy"],
        group_consecutive_messages=False,
        sanitize_html=True,
        allow_tags=False,
        **kw,
    )
