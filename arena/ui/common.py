"""Small pieces every tab uses."""

from __future__ import annotations

import gradio as gr

from arena.errors import ArenaError

__all__ = ["prompt_row", "refuse"]


def refuse(exc: ArenaError | str) -> gr.Error:
    """The arena's message for the voter, as a Gradio error (no traceback)."""
    return gr.Error(str(exc), print_exception=False)


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
