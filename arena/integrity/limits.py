"""Rate limits and daily caps per browser session and per IP address.

Prompts are limited per minute (they cost model time); votes are capped per 24 hours
(they move the board). Prompt windows are kept in this process's memory; vote counts
are read from the database, so a cap holds across restarts and across several arena
processes. Every refusal says which limit it hit and when the voter may go on.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta

from arena.config import ArenaSettings
from arena.errors import LimitError
from arena.store import Store
from arena.store.tables import utcnow

__all__ = ["Limits"]

WINDOW_S = 60.0


class Limits:
    """Checks one voter's next prompt or vote against the configured limits."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self._prompts: dict[str, deque[float]] = {}

    def prompt(self, settings: ArenaSettings, voter_hash: str, ip_hash: str) -> None:
        """Count a prompt, or raise :class:`LimitError` (and count nothing) if it is one
        too many for this session or this IP address in the last minute."""
        now = self.clock()
        checks = [("this browser", "s:" + voter_hash, settings.prompts_per_minute)]
        if ip_hash:
            checks.append(("your network address", "i:" + ip_hash, settings.ip_prompts_per_minute))
        for who, key, limit in checks:
            if limit <= 0:
                continue
            window = self._window(key, now)
            if len(window) >= limit:
                wait = max(1, round(window[0] + WINDOW_S - now))
                raise LimitError(
                    f"slow down: {who} sent {len(window)} prompts in the last minute (the "
                    f"limit is {limit}); try again in {wait} s"
                )
        for _, key, limit in checks:
            if limit > 0:
                self._prompts.setdefault(key, deque()).append(now)

    def vote(self, settings: ArenaSettings, voter_hash: str, ip_hash: str) -> None:
        """Raise :class:`LimitError` if this session or IP address already cast its
        daily number of votes (counted over the last 24 hours)."""
        since = utcnow() - timedelta(days=1)
        checks = [("this browser", "voter_hash", voter_hash, settings.votes_per_day)]
        if ip_hash:
            checks.append(("your network address", "ip_hash", ip_hash, settings.ip_votes_per_day))
        for who, column, value, cap in checks:
            if cap > 0 and self.store.votes_since(column, value, since) >= cap:
                raise LimitError(
                    f"daily limit reached: {who} cast {cap} votes in the last 24 hours, the "
                    "most this arena takes. Thank you! Come back tomorrow"
                )

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._prompts.get(key)
        if window is None:
            return deque()
        while window and window[0] <= now - WINDOW_S:
            window.popleft()
        if not window:
            del self._prompts[key]  # idle voters cost no memory
        return window
