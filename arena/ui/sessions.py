"""Gradio's per-session state, kept lean.

Gradio keeps a ``SessionState`` for every page ever opened (up to 10,000 of them) and,
for its deep links, fills each one at the session's first event with a copy of the
configuration of every block on the page: on the arena's page (about 100 blocks) 5.7
ms of CPU and 530 objects per page load, kept for as long as the session is. A crowd
piles those up: 100 voters' sessions made the garbage collector's full passes take
80-140 ms (each a stall of every stream in the process), and 10,000 would make them
take seconds. The arena has no deep links (and answers their route with 404), so its
sessions keep only what the events need: the ``gr.State`` values and any component
an event replaced.
"""

from __future__ import annotations

import copy
import datetime
import os
from typing import Any

import gradio as gr
from gradio.state_holder import SessionState, StateHolder

__all__ = ["LeanSession", "lean_sessions"]


class LeanSession(SessionState):
    """A ``SessionState`` without the deep-link copy of every block's configuration."""

    def __init__(self, blocks: gr.Blocks) -> None:  # noqa: D107 - replaces Gradio's
        # Everything Gradio's own __init__ sets, but config_values left empty.
        self.blocks_config = copy.copy(blocks.default_config)
        self.config_values: dict[int, Any] = {}
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict[int, tuple[Any, datetime.datetime]] = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST") else 3600

    def __setitem__(self, key: int, value: Any) -> None:
        block = self.blocks_config.blocks.get(key)
        if isinstance(block, gr.State):
            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value

    def _update_config(self, key: int) -> None:
        """Deep links only."""

    def _update_value_in_config(self, key: int, value: Any) -> None:
        """Deep links only."""


class _LeanSessions(StateHolder):
    def __getitem__(self, session_id: str) -> SessionState:
        if session_id not in self.session_data:
            self.session_data[session_id] = LeanSession(self.blocks)
        return super().__getitem__(session_id)


def lean_sessions(blocks: gr.Blocks) -> None:
    """Make the sessions of mounted ``blocks`` lean (see the module's text)."""
    holder = blocks.state_holder
    if type(holder) is not StateHolder:  # a Gradio that changed how it keeps sessions
        raise TypeError(f"unexpected Gradio session holder {type(holder).__name__}")
    holder.__class__ = _LeanSessions
