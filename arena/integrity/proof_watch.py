"""Is the proof of work healthy? The share of the last hour's votes flagged "no proof of
work", shown on the admin view and watched for a jump.

A challenge that stops working fails silently: the page cannot solve it, every vote is
still stored, and every vote is flagged and left off the board (a public arena's bot
check once marked every vote for three months that way). Scripts that skip the
challenge make up a steady share; a broken challenge makes it jump towards all.

:class:`ProofWatch` counts, in the database, the votes of the last hour and of the
hour before and how many of each were flagged (a range of the ``voted_at`` index:
what an hour holds, however large the table). Every :data:`CHECK_EVERY` one arena
process of several (a claim in ``meta``) compares the last hour with
``proof_alert_share`` (from ``proof_alert_votes`` votes on) and logs a warning when
the share goes above it and a line when it is back below: once per change across the
deployment, the state being kept in ``meta`` too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from arena.config import ArenaSettings, Config
from arena.integrity.proof import NO_PROOF, proof_enabled
from arena.store import Store
from arena.store.audits import claim, set_meta
from arena.store.tables import BattleRecord, MetaRecord, utcnow

__all__ = ["CHECK_EVERY", "WINDOW", "ProofHealth", "ProofShare", "ProofWatch", "proof_share"]

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
CHECK_EVERY = timedelta(minutes=5)
CLAIM_KEY = "proof-watch"  # the meta row of the periodic check's claim
STATE_KEY = "proof-watch:state"  # the meta row of the last state seen: ok | alert


@dataclass(frozen=True)
class ProofShare:
    """The votes cast in one window and how many of them were flagged "no proof of work"."""

    votes: int
    flagged: int

    @property
    def share(self) -> float | None:
        """flagged / votes, or None without votes."""
        return self.flagged / self.votes if self.votes else None

    def to_dict(self) -> dict[str, Any]:
        return {"votes": self.votes, "flagged": self.flagged, "share": self.share}

    def describe(self) -> str:
        """``"9 of 10 votes (90%)"``."""
        share = "" if self.share is None else f" ({self.share:.0%})"
        return f"{self.flagged} of {self.votes} votes{share}"


def proof_share(store: Store, since: datetime, until: datetime) -> ProofShare:
    """The votes cast in [``since``, ``until``) and those flagged "no proof of work"
    (the flag may follow another, after "; ")."""
    reason, voted_at = col(BattleRecord.invalid_reason), col(BattleRecord.voted_at)
    flagged = and_(
        col(BattleRecord.valid).is_(False),
        or_(reason.startswith(NO_PROOF), reason.contains(f"; {NO_PROOF}")),
    )
    query = select(func.count(), func.sum(case((flagged, 1), else_=0))).where(
        voted_at >= since, voted_at < until
    )
    with store.session() as s:
        votes, flags = s.exec(query).one()
    return ProofShare(int(votes), int(flags or 0))


@dataclass(frozen=True)
class ProofHealth:
    """The proof of work as the admin view shows it: the last hour, the hour before,
    and whether the last hour is above the alert share."""

    enabled: bool
    last_hour: ProofShare
    previous_hour: ProofShare
    alert: bool
    alert_share: float
    alert_votes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            **self.last_hour.to_dict(),
            "previous_hour": self.previous_hour.to_dict(),
            "alert": self.alert,
            "alert_share": self.alert_share,
            "alert_votes": self.alert_votes,
        }


def alarming(last_hour: ProofShare, settings: ArenaSettings) -> bool:
    """Whether the last hour's flagged share calls for a warning."""
    return (
        proof_enabled(settings)
        and settings.proof_alert_share > 0
        and last_hour.votes >= max(1, settings.proof_alert_votes)
        and last_hour.flagged >= settings.proof_alert_share * last_hour.votes
    )


class ProofWatch:
    """The share of votes without a proof of work, and the periodic check of it.

    Args:
        config: the configuration in force (read at each call, so a reload applies).
        store: the database.
        clock: now, as a timezone-aware UTC datetime (a test sets its own).
    """

    def __init__(
        self,
        config: Callable[[], Config],
        store: Store,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._config = config
        self.store = store
        self.clock = clock

    def health(self) -> ProofHealth:
        """The last hour and the hour before, counted now (two index range reads)."""
        settings = self._config().settings
        now = self.clock()
        last = proof_share(self.store, now - WINDOW, now)
        before = proof_share(self.store, now - 2 * WINDOW, now - WINDOW)
        return ProofHealth(
            proof_enabled(settings),
            last,
            before,
            alarming(last, settings),
            settings.proof_alert_share,
            settings.proof_alert_votes,
        )

    def check(self) -> ProofHealth:
        """Count now, and log when the state (ok or alert) changed since any process
        of the deployment last looked."""
        health = self.health()
        if not _switch(self.store, "alert" if health.alert else "ok"):
            return health
        last, before = health.last_hour, health.previous_hour
        if health.alert:
            log.warning(
                "proof of work: %s in the last hour were flagged %r (the hour before: %s), "
                "at or above proof_alert_share = %g. If the page's challenge is failing "
                "(GET /api/proof, the browser's console), honest votes are being left off "
                "the board; if scripts are voting, see run_arena.py voters",
                last.describe(),
                NO_PROOF,
                before.describe(),
                health.alert_share,
            )
        else:
            log.info(
                "proof of work: back below proof_alert_share: %s in the last hour flagged %r",
                last.describe(),
                NO_PROOF,
            )
        return health

    async def run_due(self) -> ProofHealth | None:
        """:meth:`check`, if no process of the deployment did in the last
        :data:`CHECK_EVERY` (a claim in ``meta``); on the store's thread."""
        due = await self.store.run(claim, self.store, CLAIM_KEY, CHECK_EVERY * 0.9, self.clock())
        if not due:
            return None
        return await self.store.run(self.check)

    async def run_forever(self) -> None:
        """Every :data:`CHECK_EVERY`, :meth:`run_due`; a database error is logged and
        the next round tries again."""
        while True:
            await asyncio.sleep(CHECK_EVERY.total_seconds())
            try:
                await self.run_due()
            except SQLAlchemyError as exc:
                log.warning("proof of work: the check of flagged votes failed: %s", exc)


def _switch(store: Store, state: str) -> bool:
    """Whether this call changed the deployment's recorded state to ``state``: one
    conditional UPDATE, so of several processes seeing the change only one is told.
    The first look ever counts as a change only when it is an alert."""
    changed = set_meta(store, STATE_KEY, state, MetaRecord.value != state)
    return changed is True or (changed is None and state == "alert")
