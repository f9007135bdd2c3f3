"""Small pieces every tab uses."""

from __future__ import annotations

from typing import Any

import gradio as gr

from arena.errors import ArenaError
from arena.gate import Voter
from arena.identity import BROWSER_HEADER
from arena.integrity.proof import PROOF_HEADER

__all__ = ["chatbot", "prompt_row", "refuse", "voter_of"]


def voter_of(request: gr.Request | None) -> Voter:
    """The voter behind a page event: their browser, by the id its signed cookie holds
    (verified by :class:`arena.identity.BrowserCookies`), or, from a client that keeps
    no cookies, the page's session."""
    if request is None:
        return Voter(session="anonymous")
    ip = request.client.host if request.client else ""
    headers = request.headers if request.headers is not None else {}
    browser = headers.get(BROWSER_HEADER)
    proof = headers.get(PROOF_HEADER)
    return Voter(
        session=browser or f"page:{request.session_hash or 'anonymous'}",
        ip=ip,
        proof=int(proof) if browser and proof and proof.isdigit() else None,
    )


def refuse(exc: ArenaError | str) -> gr.Error:
    """The arena's message for the voter, as a Gradio error (no traceback)."""
    return gr.Error(str(exc), print_exception=False)


def chatbot(label: str, elem_id: str, **kw: Any) -> gr.Chatbot:
    """A pane of messages given as sanitised HTML (:mod:`arena.ui.render`): the page
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
