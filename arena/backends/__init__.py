"""Model backends: one interface (:class:`Backend`), a class per kind.

The kinds are registered in arena/kinds.py, each naming the class that implements it,
imported only when a model of that kind is configured, so an optional SDK is needed
only by those who use it.
"""

from __future__ import annotations

import importlib

from arena.backends.base import Backend, Message, Usage
from arena.config import ArenaSettings, ModelSpec
from arena.kinds import KINDS, kind_of

__all__ = ["KINDS", "Backend", "Message", "Usage", "create_backend"]


def create_backend(spec: ModelSpec, settings: ArenaSettings) -> Backend:
    """The backend for one configured model (its kind is checked when config loads)."""
    module, _, name = kind_of(spec.kind).backend.partition(":")
    cls: type[Backend] = getattr(importlib.import_module(module), name)
    return cls(spec, settings)
