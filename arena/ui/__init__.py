"""The Gradio page: a thin shell over :class:`arena.app.Arena`.

Callbacks translate between widgets and the battle service; they hold no rules of
their own. Only the battle's id travels in Gradio state (kept on the server); model
names reach the browser only in the reveal after the vote.
"""

from __future__ import annotations

import gradio as gr

from arena.app import Arena
from arena.ui.battle import battle_tab
from arena.ui.leaderboard import leaderboard_tab

__all__ = ["build_ui"]

INTRO = """\
<div class="arena-header">
  <img src="/gradio_api/file={logo}" alt="" class="arena-logo">
  <div><h1>{title}</h1>
  <p>Ask anything. Two anonymous models answer side by side. Vote for the better answer,
  then see who they were. Your votes build the leaderboard.</p></div>
</div>
"""


def build_ui(arena: Arena) -> gr.Blocks:
    from arena.server import STATIC

    settings = arena.config.settings
    with gr.Blocks(title=settings.title, analytics_enabled=False) as blocks:
        gr.HTML(INTRO.format(title=settings.title, logo=STATIC / "logo.svg"))
        with gr.Tabs():
            with gr.Tab("Battle", id="battle") as battle:
                battle_tab(arena)
            with gr.Tab("Leaderboard", id="leaderboard") as board:
                leaderboard_tab(arena, board, battle)
    return blocks
