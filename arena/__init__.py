"""arena: blind pairwise battles between LLMs, ranked by human votes.

Importing this package is cheap: the web stack (Gradio) loads only in
:mod:`arena.server` and :mod:`arena.ui`.
"""

from __future__ import annotations

from arena.config import ArenaSettings, Config, ModelSpec, load_config
from arena.errors import (
    ArenaError,
    BackendError,
    BackendTimeout,
    BattleStateError,
    ConfigError,
    NoModelsError,
    PrerequisiteError,
    PromptError,
)

__all__ = [
    "ArenaError",
    "ArenaSettings",
    "BackendError",
    "BackendTimeout",
    "BattleStateError",
    "Config",
    "ConfigError",
    "ModelSpec",
    "NoModelsError",
    "PrerequisiteError",
    "PromptError",
    "load_config",
]
