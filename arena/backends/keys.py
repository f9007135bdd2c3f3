"""API keys: read from the environment variable a model names, never from config."""

from __future__ import annotations

import os

from arena.config import ModelSpec
from arena.errors import ConfigError

__all__ = ["api_key", "secret_from_env"]


def secret_from_env(name: str, reader: str) -> str:
    """The value of the environment variable ``name``, which ``reader`` needs.

    Raises:
        ConfigError: the variable is not set; the message names it and its reader.
    """
    key = os.environ.get(name)
    if not key:
        raise ConfigError(
            f"{reader} reads its API key from the environment variable {name}, which is not set"
        )
    return key


def api_key(spec: ModelSpec, default_env: str = "") -> str | None:
    """The key for ``spec`` (``None`` when it names no variable and has no default).

    Raises:
        ConfigError: the named variable is not set; the message names the variable.
    """
    name = spec.api_key_env or default_env
    return secret_from_env(name, f"model {spec.name!r}") if name else None
