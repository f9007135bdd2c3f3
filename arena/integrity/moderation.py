"""An optional check of prompts before they reach the models (off by default).

``moderation`` in ``[arena]`` selects it:

- empty: no check;
- a file path: a word list, one word or phrase per line (``#`` starts a comment),
  matched case-insensitively on word boundaries;
- an ``http(s)://`` URL: an OpenAI-compatible moderation endpoint
  (``POST {"input": prompt}`` → ``{"results": [{"flagged": ..., "categories": ...}]}``),
  with the key in the variable named by ``moderation_key_env``.

A refused prompt stays in the voter's box with the reason. If the endpoint cannot be
reached the prompt is refused too (the organizer asked for every prompt to be checked).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

import httpx

from arena.backends.keys import secret_from_env
from arena.config import ArenaSettings
from arena.errors import ConfigError, PromptError

__all__ = ["Moderator", "make_moderator"]


class Moderator(Protocol):
    async def check(self, prompt: str) -> None:
        """Raise :class:`PromptError` with the reason if the prompt is refused."""


class WordList:
    def __init__(self, path: Path) -> None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"moderation word list {path} cannot be read: {exc}") from None
        words = [w.split("#", 1)[0].strip() for w in lines]
        words = [w for w in words if w]
        if not words:
            raise ConfigError(f"moderation word list {path} holds no words")
        self.pattern = re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE
        )

    async def check(self, prompt: str) -> None:
        found = self.pattern.search(prompt)
        if found:
            raise PromptError(
                f"this arena's moderation refused the prompt: it contains “{found.group(0)}”. "
                "Rephrase it and send again"
            )


class Endpoint:
    def __init__(self, url: str, key: str | None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    async def check(self, prompt: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                reply = await client.post(self.url, json={"input": prompt}, headers=self.headers)
                reply.raise_for_status()
                result = reply.json()["results"][0]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise PromptError(
                "the moderation service did not answer "
                f"({type(exc).__name__}); your prompt was not sent. Try again in a moment"
            ) from None
        if result.get("flagged"):
            categories = sorted(k for k, v in (result.get("categories") or {}).items() if v)
            raise PromptError(
                "this arena's moderation refused the prompt"
                + (f" ({', '.join(categories)})" if categories else "")
                + ". Rephrase it and send again"
            )


def make_moderator(settings: ArenaSettings) -> Moderator | None:
    """The configured check, or None when moderation is off.

    Raises:
        ConfigError: the word list cannot be read, or the key variable is not set.
    """
    source = settings.moderation.strip()
    if not source:
        return None
    if source.startswith(("http://", "https://")):
        name = settings.moderation_key_env
        return Endpoint(source, secret_from_env(name, "the moderation endpoint") if name else None)
    return WordList(Path(source).expanduser())
