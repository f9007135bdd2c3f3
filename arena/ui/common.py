"""Small pieces every tab uses."""

from __future__ import annotations

from typing import Any

import gradio as gr

from arena.battles import Voter
from arena.errors import ArenaError

__all__ = ["chatbot", "prompt_row", "refuse", "voter_of"]


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


def prompt_row(
    elem_id: str, label: str, placeholder: str, *, autofocus: bool = False
) -> tuple[gr.Textbox, gr.Button]:
    """A message box with its Send button (Enter sends too)."""
    with gr.Row(equal_height=True):
        box = gr.Textbox(
            show_label=False,
            label=label,
            scale=8,
            lines=1,
            max_lines=8,
            autofocus=autofocus,
            elem_id=elem_id,
            placeholder=placeholder,
        )
        send = gr.Button("Send", variant="primary", scale=1, min_width=90)
    return box, send
