"""The Battle and Side-by-side tabs: one panel, two modes.

Anonymous (Battle): the arena draws the pair; names appear only after the vote.
Named (Side-by-side): the voter picks both models and the sampling parameters; the
vote is stored as named and left out of the default leaderboard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import gradio as gr

from arena.app import Arena
from arena.battles import Reveal, Voter, check_prompt
from arena.errors import ArenaError
from arena.store import BattleRecord, TurnRecord
from arena.ui.common import chatbot, prompt_row, refuse, voter_of
from arena.ui.render import chat_of, placeholder_chat

__all__ = ["VOTE_BUTTONS", "battle_panel"]

# Button label -> (stored vote, element id suffix, keyboard shortcut).
VOTE_BUTTONS: dict[str, tuple[str, str, str]] = {
    "A is better": ("model_a", "a", "1"),
    "B is better": ("model_b", "b", "2"),
    "Tie": ("tie", "tie", "3"),
    "Both are bad": ("tie (bothbad)", "bad", "4"),
}


ANSWERING = "Both models are answering… (press **Stop** to cut them short)"


def _status(battle: BattleRecord, turns: list[TurnRecord]) -> str:
    """What the voter is told once a turn is over, from what was stored."""
    last = [t for t in turns if t.turn == battle.turns]
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


def _waiting(place: int) -> str:
    return (
        f"The arena is busy right now: you are number {place} in line. Your battle "
        "starts as soon as a place is free; please keep this page open."
    )


def _reveal(reveal: Reveal) -> str:
    def who(side: dict[str, str]) -> str:
        org = f" ({side['organization']})" if side.get("organization") else ""
        return f"**{side['name']}**{org}"

    return (
        f"Thanks for voting! Model A was {who(reveal.model_a)}; "
        f"Model B was {who(reveal.model_b)}. Press **New round** for another battle."
    )


def battle_panel(arena: Arena, *, named: bool) -> list[gr.Dropdown]:
    """Build one battle panel inside the current tab; returns its model pickers."""
    service = arena.battles
    prefix = "sbs" if named else "battle"
    names = arena.config.public_names
    battle_id = gr.State(None)
    if named:
        with gr.Row():
            pick_a = gr.Dropdown(names, value=names[0], label="Model A", elem_id="sbs-pick-a")
            pick_b = gr.Dropdown(names, value=names[-1], label="Model B", elem_id="sbs-pick-b")
        with gr.Accordion("Parameters", open=False):
            temperature = gr.Slider(0, 2, value=0.7, step=0.05, label="Temperature")
            top_p = gr.Slider(0.05, 1, value=0.9, step=0.05, label="Top-p")
            max_tokens = gr.Slider(16, 2048, value=512, step=16, label="Max tokens")
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
                label,
                interactive=False,
                elem_id=f"{prefix}-vote-{suffix}",
                elem_classes=["vote", f"vote-{suffix}"],
            )
            for label, (_, suffix, _key) in VOTE_BUTTONS.items()
        ]
    prompt, send = prompt_row(
        f"{prefix}-prompt", "Prompt", "Type your prompt and press Enter", autofocus=not named
    )
    with gr.Row(elem_classes="arena-actions"):
        stop = gr.Button("Stop", scale=0, min_width=100, elem_id=f"{prefix}-stop")
        regenerate = gr.Button("Regenerate", scale=0, min_width=120, elem_id=f"{prefix}-regenerate")
        new_round = gr.Button("New round", scale=0, min_width=120, elem_id=f"{prefix}-new")

    def vote_buttons(enabled: bool) -> list[Any]:
        return [gr.Button(interactive=enabled) for _ in votes]

    labels = list(VOTE_BUTTONS)

    async def begin(
        voter: Voter, text: str | None, current: str | None, picked: tuple[Any, ...]
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Start a turn: the panes show the prompt and a placeholder, and the stream's
        URL goes to the page's script, which fills the panes from it."""
        models, params = _picked(picked) if named and not current else (None, None)
        try:
            async for step in service.start_turn(
                voter, text, current, models=models, params=params
            ):
                if isinstance(step, int):
                    yield (gr.skip(), gr.skip(), gr.skip(), _waiting(step), *labels, "")
                    continue
                base_a, base_b = chat_of(step.history, "a"), chat_of(step.history, "b")
                yield (
                    placeholder_chat(base_a, step.prompt),
                    placeholder_chat(base_b, step.prompt),
                    step.battle_id,
                    ANSWERING,
                    *vote_buttons(False),
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
        """The turn is over (the page's script read its stream to the end): show what
        was stored, rendered, and wake the vote buttons if the battle can be judged."""
        if not current:
            message = (
                "The connection to the arena was lost, so this battle cannot go on. "
                "Press **New round** to start another."
            )
            return (gr.skip(), gr.skip(), message, *vote_buttons(False))
        battle, turns = await service.view(current)
        can_vote = battle.state == "open" and battle.turns >= 1 and not battle.streaming
        return (
            chat_of(turns, "a"),
            chat_of(turns, "b"),
            _status(battle, turns),
            *vote_buttons(can_vote),
        )

    async def on_stop(current: str | None) -> str:
        if not current:
            return "Nothing is streaming."
        await service.stop(current)  # the panes are redrawn as the stream ends
        return "Stopping…"

    async def on_new_round() -> tuple[Any, ...]:
        return (
            [],
            [],
            None,
            "New round. Write a prompt below to start the battle.",
            *vote_buttons(False),
        )

    def on_vote(label: str) -> Callable[..., Coroutine[Any, Any, tuple[Any, ...]]]:
        async def cast(current: str | None, request: gr.Request) -> tuple[Any, ...]:
            if not current:
                raise refuse("send a prompt first; there is nothing to vote on yet")
            try:
                reveal = await service.vote(current, VOTE_BUTTONS[label][0], voter_of(request))
            except ArenaError as exc:
                raise refuse(exc) from None
            # The names go in the status line, not the panes' labels: relabelling a
            # Chatbot makes Gradio rebuild its schema (milliseconds per vote under load).
            return (_reveal(reveal), *vote_buttons(False))

        return cast

    def take(text: str) -> tuple[str, str]:
        """Move an acceptable prompt out of the box (so the voter can type the next one
        while the answers stream); a refused one stays where it is."""
        try:
            check_prompt(text, arena.config.settings.max_prompt_chars)
        except ArenaError as exc:
            raise refuse(exc) from None
        return "", text

    # The prompt being answered; the starting event reads it from here, so it never
    # touches the prompt box (any update to it costs a component rebuild).
    sent = gr.Textbox(visible=False, elem_id=f"{prefix}-sent")
    # The running turn's stream URL, for the page's script (static/arena.js).
    stream_url = gr.Textbox(visible=False, elem_id=f"{prefix}-stream")
    outputs = [chat_a, chat_b, battle_id, status, *votes, stream_url]
    finished = [chat_a, chat_b, status, *votes]
    api = "sbs_" if named else ""
    sender = on_send_named if named else on_send

    def then_follow(event: Any, public: bool) -> Any:
        """After a turn starts, the script reads its stream into the panes; then the
        stored answers are drawn, and the script's live text taken away."""
        return event.success(
            on_finished,
            [stream_url, battle_id],
            finished,
            js=f"(url, id) => window.arenaStream('{prefix}', url).then(() => [url, id])",
            api_name=f"{api}finish" if public else None,
            api_visibility="public" if public else "private",
            concurrency_limit=None,
        ).then(None, js=f"() => window.arenaStreamDone('{prefix}')")

    def on_prompt(trigger: Callable[..., Any], public: bool) -> Any:
        moved = trigger(take, [prompt], [prompt, sent], queue=False, api_visibility="private")
        started = moved.success(
            sender,
            [sent, battle_id, *choices],
            outputs,
            api_name=f"{api}send" if public else None,
            api_visibility="public" if public else "private",
            concurrency_limit=None,
        )
        return then_follow(started, public)

    on_prompt(send.click, public=True)
    on_prompt(prompt.submit, public=False)
    regenerated = regenerate.click(
        on_regenerate, [battle_id], outputs, api_name=f"{api}regenerate", concurrency_limit=None
    )
    then_follow(regenerated, public=False)
    stop.click(on_stop, [battle_id], [status], api_name=f"{api}stop", concurrency_limit=None)
    for button, (label, (value, _, _)) in zip(votes, VOTE_BUTTONS.items(), strict=True):
        button.click(
            on_vote(label),
            [battle_id],
            [status, *votes],
            api_name=f"{api}{value.replace(' (bothbad)', '_bothbad')}",
        )
    new_round.click(
        on_new_round, None, [chat_a, chat_b, battle_id, status, *votes], api_name=f"{api}new_round"
    )
    return [pick_a, pick_b] if named else []


def _picked(picked: tuple[Any, ...]) -> tuple[tuple[str, str], dict[str, Any]]:
    """The side-by-side choices as models and sampling parameters."""
    a, b, temp, top, tokens = picked
    if a == b:
        raise ArenaError("pick two different models")
    params = {"temperature": float(temp), "top_p": float(top), "max_tokens": int(tokens)}
    return (a, b), params
