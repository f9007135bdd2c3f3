"""Rate limits and daily caps per browser session and per IP address.

Prompts are limited per minute (they cost model time); votes are capped per 24 hours
(they move the board). Both are counted in the database, so a limit holds across
restarts and across every arena process of a deployment. Every refusal says which
limit it hit and when the voter may go on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from arena.config import ArenaSettings
from arena.errors import LimitError
from arena.store import Store
from arena.store.tables import utcnow

__all__ = ["Limits"]

WINDOW_S = 60.0


class Limits:
    """Checks one voter's next prompt or vote against the configured limits."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    def prompt(self, settings: ArenaSettings, voter_hash: str, ip_hash: str) -> None:
        """Count a prompt, or raise :class:`LimitError` (and count nothing) if it is one
        too many for this session or this IP address in the last minute."""
        checks = [("this browser", "s:" + voter_hash, settings.prompts_per_minute)]
        if ip_hash:
            checks.append(("your network address", "i:" + ip_hash, settings.ip_prompts_per_minute))
        checks = [check for check in checks if check[2] > 0]
        if not checks:
            return
        now = self.clock()
        window = timedelta(seconds=WINDOW_S)
        recent = self.store.recent_prompts([key for _, key, _ in checks], now - window)
        for who, key, limit in checks:
            sent = recent[key]
            if len(sent) >= limit:
                wait = max(1, round((sent[-limit] + window - now).total_seconds()))
                raise LimitError(
                    f"slow down: {who} sent {len(sent)} prompts in the last minute (the "
                    f"limit is {limit}); try again in {wait} s"
                )
        self.store.log_prompt([key for _, key, _ in checks], now, now - window)

    def vote(self, settings: ArenaSettings, voter_hash: str, ip_hash: str) -> None:
        """Raise :class:`LimitError` if this session or IP address already cast its
        daily number of votes (counted over the last 24 hours)."""
        since = self.clock() - timedelta(days=1)
        checks = [("this browser", "voter_hash", voter_hash, settings.votes_per_day)]
        if ip_hash:
            checks.append(("your network address", "ip_hash", ip_hash, settings.ip_votes_per_day))
        for who, column, value, cap in checks:
            if cap > 0 and self.store.votes_since(column, value, since) >= cap:
                raise LimitError(
                    f"daily limit reached: {who} cast {cap} votes in the last 24 hours, the "
                    "most this arena takes. Thank you! Come back tomorrow"
                )
