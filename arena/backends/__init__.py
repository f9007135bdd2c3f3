"""Model backends: one interface (:class:`Backend`), one registry of kinds.

A kind maps to the class that implements it, imported only when a model of that
kind is configured, so an optional SDK is needed only by those who use it.
"""

from __future__ import annotations

import importlib

from arena.backends.base import Backend, Message, Usage
from arena.config import KINDS, ArenaSettings, ModelSpec

__all__ = ["KINDS", "Backend", "Message", "Usage", "create_backend"]


def create_backend(spec: ModelSpec, settings: ArenaSettings) -> Backend:
    """The backend for one configured model (its kind is checked when config loads)."""
    module, _, name = KINDS[spec.kind].partition(":")
    cls: type[Backend] = getattr(importlib.import_module(module), name)
    return cls(spec, settings)
