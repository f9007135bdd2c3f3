"""The Direct chat tab: one chosen model, several turns, upvote, downvote and flag."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import gradio as gr

from arena.answers import SideState
from arena.app import Arena
from arena.errors import ArenaError
from arena.gate import check_prompt
from arena.ui.common import prompt_row, refuse
from arena.web.render import chat_of, live_chat
from arena.web.view import chatbot, waiting_text
from arena.web.voters import voter_of
from arena.words import Feedback, Side

__all__ = ["chat_tab"]


def chat_tab(arena: Arena) -> list[gr.Dropdown]:
    """Build the Direct chat tab; returns its model picker."""
    chats = arena.chats
    chat_id = gr.State(None)
    names = arena.config.public_names
    model = gr.Dropdown(
        names, value=names[0] if names else None, label="Model", elem_id="chat-model"
    )
    conversation = chatbot("Conversation", "direct-chat", height=420)
    prompt, send = prompt_row("chat-prompt", "Message", "Type a message and press Enter")
    with gr.Row():
        feedback = [
            gr.Button(label, interactive=False, scale=0, min_width=120)
            for label in (kind.label for kind in Feedback)
        ]
        stop = gr.Button("Stop", scale=0, min_width=120, elem_id="chat-stop")
        clear = gr.Button("New chat", scale=0, min_width=120)
    status = gr.Markdown("", elem_id="chat-status")

    async def on_send(
        text: str, current: str | None, chosen: str, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        voter = voter_of(request)
        try:
            check_prompt(text, arena.config.settings.max_prompt_chars)  # before any record
            history = chat_of(await chats.turns(current), Side.A) if current else []
            current = current or await chats.start(voter, chosen)
            async for step in chats.stream(current, text, voter):
                if isinstance(step, int):  # the arena is full: the place in line
                    told = waiting_text(step, "answer")
                    shown = live_chat(history, text, SideState(), waiting=told)
                    yield (shown, current, "", gr.skip(), *[gr.skip() for _ in feedback])
                    continue
                ready = step.done and not step.error
                yield (
                    live_chat(history, text, step),
                    current,
                    "",
                    gr.Dropdown(interactive=False),
                    *[gr.Button(interactive=ready) for _ in feedback],
                )
        except ArenaError as exc:
            raise refuse(exc) from None

    def on_feedback(kind: Feedback) -> Callable[..., Coroutine[Any, Any, str]]:
        async def rate(current: str | None, request: gr.Request) -> str:
            if not current:
                raise refuse("there is no answer to rate yet")
            try:
                await chats.feedback(current, kind, voter_of(request))
            except ArenaError as exc:
                raise refuse(exc) from None
            return kind.thanks

        return rate

    async def on_stop(current: str | None, request: gr.Request) -> None:
        # The same stop as the battles' (/api/stop): only this browser's own chat.
        if current:
            await arena.battles.stop(current, voter_of(request))

    def on_clear() -> tuple[Any, ...]:
        return (
            [],
            None,
            "",
            gr.Dropdown(interactive=True),
            *[gr.Button(interactive=False) for _ in feedback],
        )

    outputs = [conversation, chat_id, prompt, model, *feedback]
    send.click(
        on_send, [prompt, chat_id, model], outputs, api_name="chat_send", concurrency_limit=None
    )
    prompt.submit(
        on_send, [prompt, chat_id, model], outputs, api_visibility="private", concurrency_limit=None
    )
    for button, kind in zip(feedback, Feedback, strict=True):
        button.click(on_feedback(kind), [chat_id], [status], api_name=f"chat_{kind}")
    stop.click(on_stop, [chat_id], None, api_name="chat_stop", concurrency_limit=None)
    clear.click(on_clear, None, outputs, api_name="chat_new")
    return [model]
