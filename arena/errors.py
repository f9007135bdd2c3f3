"""Errors the arena raises on purpose. Each message says what was wrong, with the
offending value, and what to do next; each error carries the HTTP status it is answered
with (``status``, 400 unless below), so one handler answers them all
(arena/web/voters.py) and no endpoint restates the mapping.

    ArenaError                                                                   400
    ├── ConfigError          arena.toml or an ARENA_* variable is wrong (names file, line, key)
    ├── PrerequisiteError    an optional package or model file is missing (names the install)
    ├── PromptError          a prompt the arena refuses (empty, over the limit, bad parameters)
    ├── BattleStateError     an action the battle's state forbids (vote twice, turn   409
    │                        after vote)
    ├── NotFoundError        no such thing here (a model, a stream, a shared battle)  404
    ├── AccessError          the caller may not: no browser cookie, admin views off   403
    │   └── TokenError       ...without a valid admin token                           401
    ├── NoModelsError        fewer than two healthy models to draw a pair from
    ├── LimitError           a voter over a rate limit or daily cap (says when to     429
    │                        return)
    ├── BusyError            the arena is at capacity and no place came free in time  503
    ├── StoreError           the database stayed locked or unreachable; nothing was   503
    │                        stored
    └── BackendError         a model failed to answer
        └── BackendTimeout   ...within its connect, first-token or total timeout
            └── BackendBusy  ...because every slot of its max_concurrent stayed taken
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "ArenaError",
    "BackendError",
    "BackendBusy",
    "BackendTimeout",
    "BattleStateError",
    "BusyError",
    "ConfigError",
    "LimitError",
    "NoModelsError",
    "NotFoundError",
    "PrerequisiteError",
    "PromptError",
    "StoreError",
    "TokenError",
    "excerpt",
]

# The most of a client's input an error quotes back (``excerpt``).
EXCERPT_CHARS = 40


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters: an error names what it was
    given, but never echoes all of a long input back (a 10 MB battle id came back
    whole in a 409)."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class ArenaError(Exception):
    """Base class of the arena's own errors."""

    status = 400  # the HTTP status it is answered with


class ConfigError(ArenaError):
    """The configuration cannot be used."""


class PrerequisiteError(ArenaError):
    """Something to install is missing; the message names the command."""


class PromptError(ArenaError, ValueError):
    """A prompt (or its sampling parameters) the arena refuses."""


class BattleStateError(ArenaError):
    """The battle cannot take this action in its current state."""

    status = 409


class NotFoundError(ArenaError):
    """No such thing here: a model, a live turn's stream, a shared battle."""

    status = 404


class AccessError(ArenaError):
    """The caller may not do this: a request without the page's cookie, or admin views
    that are off."""

    status = 403


class TokenError(AccessError):
    """An admin view asked for without a valid token."""

    status = 401


class NoModelsError(ArenaError):
    """Not enough healthy models to start a battle."""


class BackendError(ArenaError):
    """A model backend failed to answer."""


class BackendTimeout(BackendError):
    """A model backend did not answer in time."""


class LimitError(ArenaError):
    """A voter went over a rate limit or a daily cap; the message says when to return."""

    status = 429


class StoreError(ArenaError):
    """The database could not store something within the retry bound; nothing was stored."""

    status = 503


class BusyError(ArenaError):
    """The arena is at its configured capacity and no place came free in time."""

    status = 503


class BackendBusy(BackendTimeout):
    """Every slot of the model's ``max_concurrent`` stayed taken: busy, not broken."""
