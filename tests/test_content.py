"""A conversation's content: typed messages, and each backend's translator of them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from arena.backends.anthropic import anthropic_messages
from arena.backends.gemini import gemini_contents
from arena.backends.openai_compat import openai_messages
from arena.content import Message, Role, Text, conversation
from arena.web.render import parts_html

pytestmark = pytest.mark.no_database


@dataclass
class Past:
    side: str
    prompt: str
    answer: str


def test_a_sides_conversation_holds_its_own_past_turns_in_order_then_the_prompt() -> None:
    history = [Past("a", "p1", "a1"), Past("b", "p1", "b1"), Past("a", "p2", "a2")]
    said = conversation(history, "a", Message.user("p3"))
    assert [(m.role, m.text) for m in said] == [
        (Role.USER, "p1"),
        (Role.ASSISTANT, "a1"),
        (Role.USER, "p2"),
        (Role.ASSISTANT, "a2"),
        (Role.USER, "p3"),
    ]
    assert [m.text for m in conversation(history, "b", Message.user("p3"))] == ["p1", "b1", "p3"]


def test_one_text_part_goes_as_a_plain_string_to_every_provider() -> None:
    messages = [Message.user("hi"), Message.assistant("hello"), Message.user("and?")]
    assert openai_messages(messages, "Be brief.") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and?"},
    ]
    assert openai_messages(messages)[0] == {"role": "user", "content": "hi"}
    assert anthropic_messages(messages)[1] == {"role": "assistant", "content": "hello"}
    contents = gemini_contents(messages)
    assert [c.role for c in contents] == ["user", "model", "user"]
    assert [p.text for c in contents for p in c.parts] == ["hi", "hello", "and?"]


def test_several_parts_go_as_each_providers_typed_parts() -> None:
    message = Message(Role.USER, (Text("Look:"), Text("what is this?")))
    assert message.text == "Look:\n\nwhat is this?"
    assert openai_messages([message]) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look:"},
                {"type": "text", "text": "what is this?"},
            ],
        }
    ]
    assert anthropic_messages([message])[0]["content"] == [
        {"type": "text", "text": "Look:"},
        {"type": "text", "text": "what is this?"},
    ]
    assert [p.text for p in gemini_contents([message])[0].parts] == ["Look:", "what is this?"]


def test_the_renderer_shows_each_part_sanitised() -> None:
    html = parts_html((Text("**bold**"), Text("<img src=x onerror=alert(1)>")))
    assert "<strong>bold</strong>" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
