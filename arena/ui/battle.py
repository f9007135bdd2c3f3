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
from arena.battles import Reveal
from arena.errors import ArenaError
from arena.gate import Voter, check_prompt
from arena.ui.common import chatbot, prompt_row, refuse, voter_of
from arena.ui.render import chat_of, placeholder_chat, safe_markdown
from arena.ui.share import share_path
from arena.ui.view import turn_view

__all__ = ["VOTE_BUTTONS", "battle_panel"]

# Button label -> (stored vote, element id suffix, keyboard shortcut).
VOTE_BUTTONS: dict[str, tuple[str, str, str]] = {
    "A is better": ("model_a", "a", "1"),
    "B is better": ("model_b", "b", "2"),
    "Tie": ("tie", "tie", "3"),
    "Both are bad": ("tie (bothbad)", "bad", "4"),
}


ANSWERING = "Both models are answering… (press **Stop** to cut them short)"


def _waiting(place: int) -> str:
    return (
        f"The arena is busy right now: you are number {place} in line. Your battle "
        "starts as soon as a place is free; please keep this page open."
    )


def _reveal(reveal: Reveal, share: bool = False) -> str:
    def who(side: dict[str, Any]) -> str:
        org = f" ({side['organization']})" if side.get("organization") else ""
        return f"**{side['name']}**{org}"

    return (
        f"Thanks for voting! Model A was {who(reveal.model_a)}; "
        f"Model B was {who(reveal.model_b)}. Press **New round** for another battle."
        + (f" [Share this battle]({share_path(reveal.battle_id)})" if share else "")
        + reveal_cards(reveal.model_a, reveal.model_b)
    )


def _cell(text: str | None) -> str:
    return safe_markdown(text or "").replace("|", "\\|")


def reveal_cards(a: dict[str, Any], b: dict[str, Any]) -> str:
    """A short card of each model, side by side: what arena.toml says about it."""

    def price(side: dict[str, Any]) -> str:
        if not side.get("price_in") and not side.get("price_out"):
            return ""
        shown = [f"${side[k]:g}" if side.get(k) else "?" for k in ("price_in", "price_out")]
        return " / ".join(shown) + " per M tokens (in / out)"

    def link(side: dict[str, Any]) -> str:
        return f"[model page]({side['url']})" if side.get("url") else ""

    lines = [
        ("Organization", lambda s: _cell(s.get("organization"))),
        ("Licence", lambda s: _cell(s.get("license"))),
        ("Price", price),
        ("Link", link),
    ]
    shown = [(label, get(a), get(b)) for label, get in lines if get(a) or get(b)]
    if not shown:
        return ""
    table = [
        "",
        "",
        f"| | Model A: {_cell(a['name'])} | Model B: {_cell(b['name'])} |",
        "|---|---|---|",
    ]
    table += [f"| {label} | {x} | {y} |" for label, x, y in shown]
    return "\n".join(table)


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
            async for step in service.start_turn(
                voter, text, current, models=models, params=params
            ):
                if isinstance(step, int):
                    yield (gr.skip(), gr.skip(), gr.skip(), _waiting(step), gr.skip(), "")
                    continue
                base_a, base_b = chat_of(step.history, "a"), chat_of(step.history, "b")
                yield (
                    placeholder_chat(base_a, step.prompt),
                    placeholder_chat(base_b, step.prompt),
                    step.battle_id,
                    ANSWERING,
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
        """The finished turn as stored (for API clients, and for the page when its
        stream broke): the panes, the status, and whether the vote buttons wake."""
        if not current:
            message = (
                "The connection to the arena was lost, so this battle cannot go on. "
                "Press **New round** to start another."
            )
            return (gr.skip(), gr.skip(), message, "no")
        view = turn_view(*await service.view(current))
        return (view["a"], view["b"], view["status"], view["can_vote"])

    async def on_stop(current: str | None) -> Any:
        if not current:
            return "Nothing is streaming."
        await service.stop(current)
        # The stream ends with the stored turn, which redraws the panes and the status
        # ("Stopped. …"); writing the status here could land after that and hide it.
        return gr.skip()

    async def on_new_round() -> tuple[Any, ...]:
        return ([], [], None, "New round. Write a prompt below to start the battle.")

    def on_vote(label: str) -> Callable[..., Coroutine[Any, Any, str]]:
        async def cast(current: str | None, request: gr.Request) -> str:
            if not current:
                raise refuse("send a prompt first; there is nothing to vote on yet")
            try:
                reveal = await service.vote(current, VOTE_BUTTONS[label][0], voter_of(request))
            except ArenaError as exc:
                raise refuse(exc) from None
            # The names go in the status line, not the panes' labels: relabelling a
            # Chatbot makes Gradio rebuild its schema (milliseconds per vote under load).
            return _reveal(reveal, arena.config.settings.share_battles)

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
    outputs = [chat_a, chat_b, battle_id, status, can_vote, stream_url]
    finished = [chat_a, chat_b, status, can_vote]
    api = "sbs_" if named else ""
    sender = on_send_named if named else on_send

    # The finished turn for API clients, and for the page when its stream broke (the
    # script presses this hidden button then).
    finish = gr.Button("Finish", elem_id=f"{prefix}-finish", elem_classes="arena-hidden")
    finish.click(
        on_finished,
        [stream_url, battle_id],
        finished,
        api_name=f"{api}finish",
        concurrency_limit=None,
    )

    def then_follow(event: Any) -> Any:
        """After a turn starts, the page's script reads its stream into the panes and,
        at its end, shows the stored answers the stream carries: no Gradio event."""
        return event.success(
            None,
            [stream_url, *finished],
            finished,
            js=f"(url, ...now) => window.arenaStream('{prefix}', url, now)",
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
        return then_follow(started)

    on_prompt(send.click, public=True)
    on_prompt(prompt.submit, public=False)
    regenerated = regenerate.click(
        on_regenerate, [battle_id], outputs, api_name=f"{api}regenerate", concurrency_limit=None
    )
    then_follow(regenerated)
    stop.click(on_stop, [battle_id], [status], api_name=f"{api}stop", concurrency_limit=None)
    asleep = "() => 'no'"  # the buttons sleep after a vote or a new round (page only)
    # After a vote the page also renews its proof of work when it has run out.
    voted = "() => { window.arenaProof(); return 'no'; }"
    for button, (label, (value, _, _)) in zip(votes, VOTE_BUTTONS.items(), strict=True):
        button.click(
            on_vote(label),
            [battle_id],
            [status],
            api_name=f"{api}{value.replace(' (bothbad)', '_bothbad')}",
            concurrency_limit=None,  # Gradio's default of 1 would make all voters queue
        ).success(None, None, [can_vote], js=voted)
    new_round.click(
        on_new_round,
        None,
        [chat_a, chat_b, battle_id, status],
        api_name=f"{api}new_round",
        concurrency_limit=None,
    ).then(None, None, [can_vote], js=asleep)
    return [pick_a, pick_b] if named else []


def _picked(picked: tuple[Any, ...]) -> tuple[tuple[str, str], dict[str, Any]]:
    """The side-by-side choices as models and sampling parameters."""
    a, b, temp, top, tokens = picked
    params = {"temperature": float(temp), "top_p": float(top), "max_tokens": int(tokens)}
    return (a, b), params
