"""The Battle and Side-by-side tabs: one panel, two modes.

Anonymous (Battle): the arena draws the pair; names appear only after the vote.
Named (Side-by-side): the voter picks both models and the sampling parameters; the
vote is stored as named and left out of the default leaderboard.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import gradio as gr

from arena.app import Arena
from arena.battles import Reveal, TurnUpdate, Voter, check_prompt
from arena.errors import ArenaError
from arena.store import TurnRecord
from arena.ui.common import chatbot, prompt_row, refuse, voter_of
from arena.ui.render import chat_of, live_chat

__all__ = ["VOTE_BUTTONS", "battle_panel"]

# Button label -> (stored vote, element id suffix, keyboard shortcut).
VOTE_BUTTONS: dict[str, tuple[str, str, str]] = {
    "A is better": ("model_a", "a", "1"),
    "B is better": ("model_b", "b", "2"),
    "Tie": ("tie", "tie", "3"),
    "Both are bad": ("tie (bothbad)", "bad", "4"),
}


def _status(update: TurnUpdate) -> str:
    if not update.done:
        return "Both models are answering… (press **Stop** to cut them short)"
    if update.failed:
        return (
            "One of the answers failed, so this battle cannot be voted on. "
            "Press **New round** to try another pair."
        )
    return "Both answers are in. Which is better? Vote, or keep the conversation going."


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

    async def stream(
        updates: AsyncIterator[TurnUpdate],
        current: str,
        prompt_text: str,
        history: list[TurnRecord],
    ) -> AsyncIterator[tuple[Any, ...]]:
        base_a, base_b = chat_of(history, "a"), chat_of(history, "b")
        labels = list(VOTE_BUTTONS)
        enabled_shown: bool | None = None
        async for update in updates:
            enabled = update.done and not update.failed
            first = enabled_shown is None
            # Gradio rebuilds a component (and its config) for every update object it
            # is handed, gr.skip() included, except for State. So between the ticks that
            # change the buttons, plain values go out: the buttons' own labels.
            buttons = vote_buttons(enabled) if enabled != enabled_shown else labels
            enabled_shown = enabled
            yield (
                live_chat(base_a, prompt_text, update.a),
                live_chat(base_b, prompt_text, update.b),
                current if first else gr.skip(),
                _status(update),
                *buttons,
            )

    async def send_turn(
        text: str, current: str | None, picked: tuple[Any, ...], request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        voter = voter_of(request)
        try:
            check_prompt(text, arena.config.settings.max_prompt_chars)  # before any record
            history = arena.store.turns(current) if current else []
            if not current:
                current = await _start(voter, picked)
            updates = service.stream_turn(current, text, voter)
            async for out in stream(updates, current, text, history):
                yield out
        except ArenaError as exc:
            raise refuse(exc) from None

    async def on_send(
        text: str, current: str | None, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        async for out in send_turn(text, current, (), request):
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
        async for out in send_turn(text, current, (a, b, temp, top, tokens), request):
            yield out

    async def _start(voter: Voter, picked: tuple[Any, ...]) -> str:
        if not named:
            return await service.start_battle(voter)
        a, b, temp, top, tokens = picked
        if a == b:
            raise ArenaError("pick two different models")
        return await service.start_battle(
            voter,
            models=(a, b),
            params={"temperature": float(temp), "top_p": float(top), "max_tokens": int(tokens)},
        )

    async def on_regenerate(
        current: str | None, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        if not current:
            raise refuse("send a prompt first; there is nothing to regenerate yet")
        try:
            turns = arena.store.turns(current)
            prompt_text = turns[-1].prompt if turns else ""
            kept = [t for t in turns if t.turn < turns[-1].turn] if turns else []
            updates = service.regenerate(current, voter_of(request))
            async for out in stream(updates, current, prompt_text, kept):
                yield out
        except ArenaError as exc:
            raise refuse(exc) from None

    async def on_stopped(current: str | None) -> tuple[Any, ...]:
        if not current:
            return (gr.skip(), gr.skip(), "Nothing is streaming.", *vote_buttons(False))
        for _ in range(50):  # the cancelled stream stores what it had; wait for it
            battle = arena.store.battle(current)
            if not battle.streaming:
                break
            await asyncio.sleep(0.1)
        turns = arena.store.turns(current)
        open_ = battle.state == "open" and battle.turns >= 1
        message = (
            "Stopped. You can vote on what the models wrote, regenerate, or go on."
            if open_
            else "Stopped."
        )
        return (chat_of(turns, "a"), chat_of(turns, "b"), message, *vote_buttons(open_))

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

    # The prompt being answered; the streaming event reads it from here, so its ticks
    # never touch the prompt box (any update to it costs a component rebuild).
    sent = gr.Textbox(visible=False, elem_id=f"{prefix}-sent")
    outputs = [chat_a, chat_b, battle_id, status, *votes]
    api = "sbs_" if named else ""
    sender = on_send_named if named else on_send

    def on_prompt(trigger: Callable[..., Any], public: bool) -> Any:
        moved = trigger(take, [prompt], [prompt, sent], queue=False, api_visibility="private")
        return moved.success(
            sender,
            [sent, battle_id, *choices],
            outputs,
            api_name=f"{api}send" if public else None,
            api_visibility="public" if public else "private",
            concurrency_limit=None,
        )

    events = [
        on_prompt(send.click, public=True),
        on_prompt(prompt.submit, public=False),
        regenerate.click(
            on_regenerate, [battle_id], outputs, api_name=f"{api}regenerate", concurrency_limit=None
        ),
    ]
    # Cancel first, then redraw from the database: a late update from the cancelled
    # stream must not land after (and over) the redraw.
    stop.click(None, None, None, cancels=events).then(  # type: ignore[arg-type]
        on_stopped, [battle_id], [chat_a, chat_b, status, *votes], api_name=f"{api}stop"
    )
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
