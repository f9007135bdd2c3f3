"""The Battle tab: prompt, two anonymous streaming answers, four vote buttons, reveal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import gradio as gr

from arena.app import Arena
from arena.battles import Reveal, SideState, TurnUpdate, Voter, check_prompt
from arena.errors import ArenaError
from arena.store import TurnRecord

__all__ = ["VOTE_BUTTONS", "battle_tab"]

# Button label -> stored vote.
VOTE_BUTTONS: dict[str, str] = {
    "A is better": "model_a",
    "B is better": "model_b",
    "Tie": "tie",
    "Both are bad": "tie (bothbad)",
}


def voter_of(request: gr.Request | None) -> Voter:
    if request is None:
        return Voter(session="anonymous")
    ip = request.client.host if request.client else ""
    return Voter(session=request.session_hash or "anonymous", ip=ip)


def chat_of(turns: list[TurnRecord], side: str) -> list[dict[str, str]]:
    """A side's finished turns as Chatbot messages."""
    messages = []
    for t in turns:
        if t.side == side:
            messages.append({"role": "user", "content": t.prompt})
            messages.append({"role": "assistant", "content": _answer_text(t.answer, t.error)})
    return messages


def _answer_text(text: str, error: str | None) -> str:
    if error:
        return (text + "\n\n" if text else "") + f"⚠️ **This answer failed:** {error}"
    return text


def _live(chat: list[dict[str, str]], prompt: str, side: SideState) -> list[dict[str, str]]:
    answer = _answer_text(side.text, side.error) or "…"
    return [*chat, {"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def _status(update: TurnUpdate) -> str:
    if not update.done:
        return "Both models are answering…"
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


def battle_tab(arena: Arena) -> None:
    service = arena.battles
    battle_id = gr.State(None)
    with gr.Row(equal_height=True, elem_classes="arena-panes"):
        chat_a = gr.Chatbot(
            label="Model A",
            height=460,
            elem_id="chat-a",
            buttons=["copy"],
            group_consecutive_messages=False,
        )
        chat_b = gr.Chatbot(
            label="Model B",
            height=460,
            elem_id="chat-b",
            buttons=["copy"],
            group_consecutive_messages=False,
        )
    status = gr.Markdown("Write a prompt below to start a battle.", elem_id="battle-status")
    with gr.Row(elem_classes="arena-votes"):
        votes = [
            gr.Button(label, interactive=False, variant="secondary", elem_classes="vote")
            for label in VOTE_BUTTONS
        ]
    with gr.Row(equal_height=True):
        prompt = gr.Textbox(
            show_label=False,
            label="Prompt",
            scale=8,
            lines=1,
            max_lines=8,
            autofocus=True,
            placeholder="Type your prompt and press Enter",
            elem_id="prompt",
        )
        send = gr.Button("Send", variant="primary", scale=1, min_width=90)
    with gr.Row():
        new_round = gr.Button("New round", variant="secondary", scale=0, min_width=140)

    def vote_buttons(enabled: bool) -> list[Any]:
        return [gr.Button(interactive=enabled) for _ in votes]

    async def on_send(text: str, current: str | None, request: gr.Request) -> AsyncIterator[Any]:
        voter = voter_of(request)
        try:
            check_prompt(text, arena.config.settings.max_prompt_chars)
            current = current or await service.start_battle(voter)
            history = arena.store.turns(current)
            base_a, base_b = chat_of(history, "a"), chat_of(history, "b")
            async for update in service.stream_turn(current, text, voter):
                yield (
                    _live(base_a, text, update.a),
                    _live(base_b, text, update.b),
                    current,
                    "",
                    _status(update),
                    *vote_buttons(update.done and not update.failed),
                )
        except ArenaError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    async def on_new_round() -> tuple[Any, ...]:
        return (
            gr.Chatbot(value=[], label="Model A"),
            gr.Chatbot(value=[], label="Model B"),
            None,
            "New pair drawn. Write a prompt below to start the battle.",
            *vote_buttons(False),
        )

    def on_vote(label: str) -> Callable[..., Coroutine[Any, Any, tuple[Any, ...]]]:
        async def cast(current: str | None, request: gr.Request) -> tuple[Any, ...]:
            if not current:
                raise gr.Error(
                    "send a prompt first; there is nothing to vote on yet", print_exception=False
                )
            try:
                reveal = await service.vote(current, VOTE_BUTTONS[label], voter_of(request))
            except ArenaError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            return (
                _reveal(reveal),
                gr.Chatbot(label=f"Model A: {reveal.model_a['name']}"),
                gr.Chatbot(label=f"Model B: {reveal.model_b['name']}"),
                *vote_buttons(False),
            )

        return cast

    stream_outputs = [chat_a, chat_b, battle_id, prompt, status, *votes]
    send.click(
        on_send, [prompt, battle_id], stream_outputs, api_name="send", concurrency_limit=None
    )
    prompt.submit(
        on_send,
        [prompt, battle_id],
        stream_outputs,
        api_visibility="private",
        concurrency_limit=None,
    )
    for button, label in zip(votes, VOTE_BUTTONS, strict=True):
        button.click(
            on_vote(label),
            [battle_id],
            [status, chat_a, chat_b, *votes],
            api_name=VOTE_BUTTONS[label].replace(" (bothbad)", "_bothbad"),
        )
    new_round.click(
        on_new_round, None, [chat_a, chat_b, battle_id, status, *votes], api_name="new_round"
    )
