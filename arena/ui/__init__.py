"""The Gradio page: a thin shell over :class:`arena.app.Arena`.

Callbacks translate between widgets and the services; they hold no rules of their
own. Only ids travel in Gradio state (kept on the server); model names reach the
browser only in the reveal after the vote, on the named tabs, and on the leaderboard.
"""

from __future__ import annotations

import hashlib
from typing import Any

import gradio as gr

from arena.app import Arena
from arena.ui.about import about_text
from arena.ui.battle import battle_panel
from arena.ui.chat import chat_tab
from arena.ui.leaderboard import leaderboard_tab
from arena.web import STATIC
from arena.web.voters import voter_of

__all__ = ["build_ui"]


INTRO = """\
<div class="arena-header">
  <img src="/gradio_api/file={logo}" alt="" class="arena-logo">
  <div><h1>{title}</h1>
  <p>Ask anything. Two anonymous models answer side by side. Vote for the better answer,
  then see who they were. Your votes build the leaderboard.
  <span class="arena-keys">Keys: 1 A is better · 2 B is better · 3 Tie · 4 Both are bad</span></p>
  </div>
</div>
"""


def build_ui(arena: Arena) -> gr.Blocks:
    settings = arena.config.settings
    terms_key = "arena-terms-" + hashlib.sha256(settings.terms.encode()).hexdigest()[:12]
    with gr.Blocks(title=settings.title, analytics_enabled=False) as blocks:
        gr.HTML(INTRO.format(title=settings.title, logo=STATIC / "logo.svg"))
        with gr.Column(visible=bool(settings.terms), elem_id="terms") as terms:
            gr.Markdown(f"### Terms of use\n\n{settings.terms}")
            agree = gr.Button("I agree", variant="primary", elem_id="terms-agree", scale=0)
        with gr.Column(visible=not settings.terms, elem_id="main") as main:
            with gr.Tabs():
                with gr.Tab("Battle", id="battle") as battle:
                    battle_panel(arena, named=False)
                with gr.Tab("Side-by-side", id="side-by-side") as side_by_side:
                    gr.Markdown(
                        "Pick both models yourself. These votes are stored as named "
                        "and do not count on the default leaderboard."
                    )
                    pickers = battle_panel(arena, named=True)
                with gr.Tab("Direct chat", id="chat") as chat:
                    pickers += chat_tab(arena)
                with gr.Tab("Leaderboard", id="leaderboard") as board:
                    timer = leaderboard_tab(arena, board)
                with gr.Tab("About", id="about") as about:
                    gr.Markdown(about_text(arena.config))
        remembered = gr.Checkbox(False, visible=False)

        def accept(was_remembered: bool, request: gr.Request) -> tuple[Any, Any]:
            arena.gate.accept_terms(voter_of(request), remembered=bool(was_remembered))
            return gr.Column(visible=False), gr.Column(visible=True)

        def on_load(was_remembered: bool, request: gr.Request) -> tuple[Any, Any]:
            if settings.terms and was_remembered:
                return accept(True, request)
            return gr.skip(), gr.skip()

        blocks.load(
            on_load,
            [remembered],
            [terms, main],
            api_visibility="private",
            js=f"() => [localStorage.getItem('{terms_key}') === 'yes']",
        )
        agree.click(
            accept,
            [remembered],
            [terms, main],
            api_name="accept_terms",
            js=f"(x) => {{ localStorage.setItem('{terms_key}', 'yes'); return [false]; }}",
        )

        def model_choices() -> list[Any]:  # arena.toml may have changed since the page loaded
            return [gr.Dropdown(choices=arena.config.public_names) for _ in pickers]

        for tab in (side_by_side, chat):
            tab.select(model_choices, None, pickers, api_visibility="private")
        for tab in (battle, side_by_side, chat, about):  # refresh only while it is shown
            tab.select(lambda: gr.Timer(active=False), None, [timer], api_visibility="private")
    return blocks
