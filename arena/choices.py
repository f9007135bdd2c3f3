"""What a voter picks by name (Side-by-side, Direct chat): a model the arena offers by
name, and the sampling parameters it is then sent.

A refusal never tells an unreleased model from one that does not exist, and a voter's
parameters never reach a backend beyond what the page offers (:data:`arena.params.CHOSEN`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arena.backends.pool import ModelPool
from arena.config import Config
from arena.errors import NoModelsError, PromptError, excerpt
from arena.params import CHOSEN_MAX_TOKENS

__all__ = ["offered_model", "params_for"]


def offered_model(config: Config, pool: ModelPool, name: Any, mode: str) -> str:
    """``name``, a model a voter picked by name in ``mode`` (Side-by-side, Direct
    chat), when it may be picked and is ready.

    Raises:
        NoModelsError: it is not offered by name, in the same words whether it is
            unknown, anonymous-only or retired (a refusal must not confirm that an
            unreleased model exists), or it is not ready.
    """
    offered = config.public_names
    if not isinstance(name, str) or name not in offered:
        raise NoModelsError(
            f"unknown model {excerpt(name)}; {mode} offers: {', '.join(offered) or 'none'}"
        )
    if name not in pool.ready():
        raise NoModelsError(f"{name} is not ready to answer right now")
    return name


def params_for(pool: ModelPool, model: str, chosen: Mapping[str, Any] | None) -> dict[str, Any]:
    """The sampling parameters ``model`` is sent: its own, then those the voter chose
    (see :meth:`arena.params.ParamRules.chosen`: temperature, top_p and max_tokens, the
    last no more than the model's own max_tokens), as its provider takes them.

    Raises:
        PromptError: a chosen parameter or value refused (the model is named: only the
            named modes choose parameters).
    """
    backend = pool.backend(model)
    own = backend.spec.params
    ceiling = int(own.get("max_tokens") or CHOSEN_MAX_TOKENS)
    picked, problems = backend.rules.chosen(chosen or {}, ceiling)
    if problems:
        raise PromptError(f"{model}: " + "; ".join(problems))
    return backend.rules.request({**own, **picked})
