"""The Battle and Side-by-side tabs: one panel, two modes.

Anonymous (Battle): the arena draws the pair; names appear only after the vote.
Named (Side-by-side): the voter picks both models and the sampling parameters; the
vote is stored as named and left out of the default leaderboard.

The page plays a battle through the panel's own endpoints (arena/web/battle.py)
from its script (static/arena.js); the panel's events here run in the browser. The
same actions are also Gradio API events (``/send``, ``/model_a``, ``/new_round``, ...)
for scripts that use gradio_client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import gradio as gr

from arena.app import Arena
from arena.errors import ArenaError
from arena.gate import Voter
from arena.params import CHOSEN_MAX_TOKENS
from arena.ui.common import prompt_row, refuse
from arena.web.battle import Waiting, turn_steps, vote_status
from arena.web.view import chatbot, turn_view
from arena.web.voters import voter_of
from arena.words import Side, Vote

__all__ = ["battle_panel"]


def battle_panel(arena: Arena, *, named: bool) -> list[gr.Dropdown]:
    """Build one battle panel inside the current tab; returns its model pickers."""
    service = arena.battles
    prefix = "sbs" if named else "battle"
    names = arena.config.public_names
    battle_id = gr.State(None)
    if named:
        with gr.Row():
            first, last = (names[0], names[-1]) if names else (None, None)
            pick_a = gr.Dropdown(names, value=first, label="Model A", elem_id="sbs-pick-a")
            pick_b = gr.Dropdown(names, value=last, label="Model B", elem_id="sbs-pick-b")
        with gr.Accordion("Parameters", open=False):
            temperature = gr.Slider(0, 2, value=0.7, step=0.05, label="Temperature")
            top_p = gr.Slider(0.05, 1, value=0.9, step=0.05, label="Top-p")
            # At most each model's own max_tokens is sent (arena.choices.params_for).
            max_tokens = gr.Slider(16, CHOSEN_MAX_TOKENS, value=512, step=16, label="Max tokens")
        choices = [pick_a, pick_b, temperature, top_p, max_tokens]
    else:
        choices = []
    with gr.Row(equal_height=True, elem_classes="arena-panes"):
        chat_a = chatbot("Model A", f"{prefix}-chat-a")
        chat_b = chatbot("Model B", f"{prefix}-chat-b")
    status = gr.Markdown("Write a prompt below to start a battle.", elem_id=f"{prefix}-status")
    with gr.Row(elem_classes="arena-votes"):
        votes = [
            gr.Button(
                vote.label,
                interactive=False,
                elem_id=f"{prefix}-vote-{vote.key}",
                elem_classes=["vote", f"vote-{vote.key}"],
            )
            for vote in Vote
        ]
    prompt, send = prompt_row(
        f"{prefix}-prompt", "Prompt", "Type your prompt and press Enter", autofocus=not named
    )
    with gr.Row(elem_classes="arena-actions"):
        stop = gr.Button("Stop", scale=0, min_width=100, elem_id=f"{prefix}-stop")
        regenerate = gr.Button("Regenerate", scale=0, min_width=120, elem_id=f"{prefix}-regenerate")
        new_round = gr.Button("New round", scale=0, min_width=120, elem_id=f"{prefix}-new")

    # Whether the vote buttons are awake travels as a plain value ("yes"/"no") that the
    # page's script applies to the four buttons (static/arena.js): a Button update
    # would make Gradio rebuild four components per event (about 30% of its event
    # processing under load, by py-spy). The service refuses a vote at the wrong time either way.
    can_vote = gr.Textbox("no", visible=False, elem_id=f"{prefix}-can-vote")
    can_vote.change(None, [can_vote], None, js=f"(v) => window.arenaVotes('{prefix}', v)")

    async def begin(
        voter: Voter, text: str | None, current: str | None, picked: tuple[Any, ...]
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Start a turn: the panes show the prompt and a placeholder, and the stream's
        URL goes to the page's script, which fills the panes from it."""
        models, params = _picked(picked) if named and not current else (None, None)
        try:
            async for step in turn_steps(arena, voter, text, current, models, params):
                if isinstance(step, Waiting):
                    yield (gr.skip(), gr.skip(), gr.skip(), step.status, gr.skip(), "")
                    continue
                yield (
                    step.panes[Side.A],
                    step.panes[Side.B],
                    step.battle_id,
                    step.status,
                    "no",
                    f"/api/stream/{step.token}",
                )
        except ArenaError as exc:
            raise refuse(exc) from None

    async def on_send(
        text: str, current: str | None, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        async for out in begin(voter_of(request), text, current, ()):
            yield out

    async def on_send_named(
        text: str,
        current: str | None,
        a: str,
        b: str,
        temp: float,
        top: float,
        tokens: float,
        request: gr.Request,
    ) -> AsyncIterator[tuple[Any, ...]]:
        async for out in begin(voter_of(request), text, current, (a, b, temp, top, tokens)):
            yield out

    async def on_regenerate(
        current: str | None, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        async for out in begin(voter_of(request), None, current, ()):
            yield out

    async def on_finished(_url: str, current: str | None) -> tuple[Any, ...]:
        """The finished turn as stored, after its stream: the panes, the status, and
        whether the vote buttons wake."""
        if not current:
            message = (
                "The connection to the arena was lost, so this battle cannot go on. "
                "Press **New round** to start another."
            )
            return (gr.skip(), gr.skip(), message, "no")
        view = turn_view(*await service.view(current))
        return (view[Side.A], view[Side.B], view["status"], view["can_vote"])

    async def on_stop(current: str | None) -> Any:
        if not current:
            return "Nothing is streaming."
        await service.stop(current)
        # The stream ends with the stored turn, which redraws the panes and the status
        # ("Stopped. …"); writing the status here could land after that and hide it.
        return gr.skip()

    async def on_new_round() -> tuple[Any, ...]:
        return ([], [], None, "New round. Write a prompt below to start the battle.")

    def on_vote(vote: Vote) -> Callable[..., Coroutine[Any, Any, str]]:
        async def cast(current: str | None, request: gr.Request) -> str:
            if not current:
                raise refuse("send a prompt first; there is nothing to vote on yet")
            try:
                # The names go in the status line, not the panes' labels: relabelling a
                # Chatbot makes Gradio rebuild its schema (milliseconds per vote under load).
                return await vote_status(arena, current, vote, voter_of(request))
            except ArenaError as exc:
                raise refuse(exc) from None

        return cast

    # The page plays a battle through the panel's own endpoints (arena/web/battle.py),
    # called by its script (static/arena.js): each event below runs in the browser
    # ("js", no server function) and Gradio draws what it returns. Below them, the same
    # actions as Gradio API events for gradio_client, on a trigger nobody clicks.
    page = f"'{prefix}'"
    panes = [chat_a, chat_b, status, can_vote]
    # Sending: the script posts the prompt and resolves once the turn has started (the
    # box is emptied, the panes show the prompt) or was refused (the prompt stays, the
    # status says why), or with the place in line; then it waits out the line, then
    # reads the answers into the panes, and ends with the stored turn.
    box_and_panes = [prompt, *panes]
    starts = ((send.click, "true"), (prompt.submit, "true"), (regenerate.click, "false"))
    for trigger, sending in starts:
        trigger(
            None,
            [*box_and_panes, *choices],
            box_and_panes,
            js=f"(box, ...rest) => window.arenaTurn({page}, box, {sending}, rest)",
        ).then(
            None, box_and_panes, box_and_panes, js=f"(...now) => window.arenaWait({page}, now)"
        ).then(None, panes, panes, js=f"(...now) => window.arenaFollow({page}, now)").then(
            None, js=f"() => window.arenaStreamDone({page})"
        )
    stop.click(None, js=f"() => window.arenaStop({page})")
    for button, vote in zip(votes, Vote, strict=True):
        # After a vote the page also renews its proof of work when it has run out.
        button.click(
            None,
            [status, can_vote],
            [status, can_vote],
            js=f"(...now) => window.arenaVote({page}, {json.dumps(vote)}, now)",
        )
    new_round.click(None, None, panes, js=f"() => window.arenaNewRound({page})")

    # The Gradio API: the prompt to send comes in ``sent``; the running turn's stream
    # URL goes out in ``stream_url``, the battle stays in the session (``battle_id``).
    sent = gr.Textbox(visible=False, elem_id=f"{prefix}-sent")
    stream_url = gr.Textbox(visible=False, elem_id=f"{prefix}-stream")
    outputs = [chat_a, chat_b, battle_id, status, can_vote, stream_url]
    api = "sbs_" if named else ""
    calls = gr.Button("API", visible=False, elem_id=f"{prefix}-api")

    def call(fn: Callable[..., Any], inputs: list[Any] | None, out: list[Any], name: str) -> None:
        # concurrency_limit: Gradio's default of 1 would make all callers queue.
        calls.click(fn, inputs, out, api_name=f"{api}{name}", concurrency_limit=None)

    call(on_send_named if named else on_send, [sent, battle_id, *choices], outputs, "send")
    call(on_regenerate, [battle_id], outputs, "regenerate")
    # The finished turn (after its stream).
    call(on_finished, [stream_url, battle_id], panes, "finish")
    call(on_stop, [battle_id], [status], "stop")
    for vote in Vote:
        call(on_vote(vote), [battle_id], [status], vote.api_name)
    call(on_new_round, None, [chat_a, chat_b, battle_id, status], "new_round")
    return [pick_a, pick_b] if named else []


def _picked(picked: tuple[Any, ...]) -> tuple[tuple[str, str], dict[str, Any]]:
    """The side-by-side choices as models and sampling parameters."""
    a, b, temp, top, tokens = picked
    params = {"temperature": temp, "top_p": top, "max_tokens": tokens}  # checked, then sent
    return (a, b), params
