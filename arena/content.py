"""What a conversation is made of: messages, each a role and a list of typed parts.

A prompt is not a string but content: text now, images and documents next (issue 24)
as parts of their own. Only two kinds of code look inside a part: each backend's
translator, which writes the parts the way its provider documents (``openai_messages``
in arena/backends/openai_compat.py for every OpenAI-compatible kind,
``anthropic_messages`` and ``gemini_contents`` beside their backends), and the
renderer (``parts_html`` in arena/web/render.py). Everything between (the turn, the
line, the store's prompt column, the categories) passes messages along, or reads
:attr:`Message.text`, the text a person typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["Message", "Part", "Role", "Text", "conversation", "plain_text"]


class Role(StrEnum):
    """Who says a message; the values are the chat APIs' own."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, slots=True)
class Text:
    """Text a person typed or a model wrote."""

    text: str


# The kinds of part a message may hold. A new kind joins this union, its translators
# (one per backend kind) and the renderer; nothing else changes.
Part = Text


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @classmethod
    def of(cls, role: Role, text: str) -> Message:
        """A message of one text part."""
        return cls(role, (Text(text),))

    @classmethod
    def user(cls, text: str) -> Message:
        return cls.of(Role.USER, text)

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls.of(Role.ASSISTANT, text)

    @property
    def text(self) -> str:
        """The message's text parts, joined: what the store's ``prompt`` column keeps
        and what language detection, categories and near-duplicates read."""
        return "\n\n".join(p.text for p in self.parts if isinstance(p, Text))


def plain_text(parts: tuple[Part, ...]) -> str | None:
    """The text of content that is one text part, which the chat APIs take as a plain
    string; None for anything else, which each translator writes as typed parts."""
    return parts[0].text if len(parts) == 1 and isinstance(parts[0], Text) else None


class Turn(Protocol):
    """What :func:`conversation` reads of a past turn (the store's TurnRecord)."""

    side: str
    prompt: str
    answer: str


def conversation(history: Iterable[Turn], side: str, prompt: Message) -> list[Message]:
    """One side's conversation so far, then the new prompt: its past prompts and
    answers in turn order (the other side's answers are never shown to a model)."""
    messages: list[Message] = []
    for past in history:
        if past.side == side:
            messages += [Message.user(past.prompt), Message.assistant(past.answer)]
    messages.append(prompt)
    return messages
