"""API keys: read from the environment variable a model names, never from config."""

from __future__ import annotations

import os

from arena.config import ModelSpec
from arena.errors import ConfigError

__all__ = ["api_key"]


def api_key(spec: ModelSpec, default_env: str = "") -> str | None:
    """The key for ``spec`` (``None`` when it names no variable and has no default).

    Raises:
        ConfigError: the named variable is not set; the message names the variable.
    """
    name = spec.api_key_env or default_env
    if not name:
        return None
    key = os.environ.get(name)
    if not key:
        raise ConfigError(
            f"model {spec.name!r} reads its API key from the environment variable {name}, "
            "which is not set"
        )
    return key
