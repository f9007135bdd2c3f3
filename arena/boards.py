"""The leaderboard once per deployment: each board (a category, with or without style
control) is computed by one arena process at a time and kept in the database; every
open Leaderboard tab and ``/api/leaderboard`` call, in every process, reads that
snapshot instead of refitting from all the battles.

A board is computed again when someone asks for it and

- it is at least ``min_age`` old: ``COST_FACTOR`` times what computing it last took,
  at least ``MIN_AGE_S``, at most the interval below (a board that takes 3 s is refitted
  at most every 30 s by the whole deployment; a small arena's, in 50 ms, within a
  second of a new vote), and the votes, the audits or the models' details changed
  since; or
- it is ``leaderboard_refresh_s`` old (what else changes a board: a vote found invalid,
  another process's newer configuration).

The process that takes the work holds a claim on the ``meta`` table (as the battle
monitor's checks do); the others keep showing the snapshot before it meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError

from arena.config import Config
from arena.errors import StoreError
from arena.leaderboard import OVERALL, HistoryFits, LeaderboardView, leaderboard_view
from arena.store import Store
from arena.store.audits import claim
from arena.store.snapshots import board_stamp, load_snapshot, save_snapshot, snapshot_head
from arena.store.tables import BoardSnapshotRecord, utcnow
from ratings import LeaderboardError

__all__ = ["COST_FACTOR", "MIN_AGE_S", "Boards", "Snapshot"]

log = logging.getLogger(__name__)

COST_FACTOR = 10  # a board is recomputed at most once per 10 times its cost...
MIN_AGE_S = 1.0  # ...and at most once a second


@dataclass(frozen=True)
class Snapshot:
    """A board as computed at ``computed_at`` (by this process or another)."""

    key: str
    view: LeaderboardView
    computed_at: datetime
    compute_s: float
    stamp: str


class Boards:
    """The deployment's boards, as this process last read or computed them."""

    def __init__(
        self, config: Callable[[], Config], store: Store, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._config = config
        self.store = store
        self._clock = clock  # what "due" is measured by (the tests give their own)
        self.computed = 0  # boards this process computed (the tests read it)
        self._kept: dict[str, Snapshot] = {}
        self._checked: dict[str, datetime] = {}  # when a kept board was last found current
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._fits: HistoryFits = {}  # past weeks' boards, fitted once per process

    def view(self, category: str = OVERALL, style: bool = False) -> Snapshot:
        """The board for ``category`` and style control (blocking: call it from a
        worker thread). Raises :class:`LeaderboardError` for a category the battles
        do not have."""
        if category != OVERALL and category not in self.view(OVERALL).view.categories:
            raise LeaderboardError(
                f"unknown category {category!r}; this arena's categories: "
                f"{', '.join(self.view(OVERALL).view.categories[1:]) or 'none yet'}"
            )
        key = f"{category}|{'style' if style else 'plain'}"
        with self._lock(key):  # one computation per board in this process at a time
            return self._current(key, category, style)

    def _current(self, key: str, category: str, style: bool) -> Snapshot:
        now = self._clock()
        kept = self._kept.get(key)
        if kept is not None and now - self._checked[key] < self._min_age(kept):
            return kept
        head = snapshot_head(self.store, key)
        if head is not None and (kept is None or head.computed_at > kept.computed_at):
            kept = self._read(key) or kept
        stamp = self._stamp()
        if kept is not None and not self._due(kept, now, stamp):
            self._checked[key] = now
            return kept
        try:
            claimed = claim(self.store, f"board:{key}", self._min_age(kept), now)
        except DBAPIError as exc:  # locked or away: the board as it was, or one of our own
            log.warning("could not claim the %s board: %s", key, exc.orig or exc)
            claimed = False
        if claimed:
            return self._compute(key, category, style, stamp, keep=True)
        if kept is not None:  # another process is computing it: the one before meanwhile
            return kept
        return self._compute(key, category, style, stamp, keep=False)  # none stored yet

    def _due(self, kept: Snapshot, now: datetime, stamp: str) -> bool:
        age = now - kept.computed_at
        if age >= timedelta(seconds=self._config().settings.leaderboard_refresh_s):
            return True
        return age >= self._min_age(kept) and kept.stamp != stamp

    def _min_age(self, kept: Snapshot | None) -> timedelta:
        """How long ``kept`` stands whatever changes: its cost times ``COST_FACTOR``, at
        least ``MIN_AGE_S``, at most the refresh interval."""
        cost = COST_FACTOR * kept.compute_s if kept is not None else 0.0
        refresh = self._config().settings.leaderboard_refresh_s
        return timedelta(seconds=min(refresh, max(MIN_AGE_S, cost)))

    def _stamp(self) -> str:
        """What the boards are computed from: votes and audits, the models' details."""
        config = self._config()
        s = config.settings
        details: list[Any] = [
            (s.provisional_votes, s.provisional_width, s.inverse_pair_weights),
            (s.exclude_campaigns, s.campaign_alpha),
        ]
        details += [(m.name, m.board(), m.anonymous_only) for m in config.models]
        digest = hashlib.sha256(json.dumps(details, default=str).encode()).hexdigest()[:16]
        return f"{board_stamp(self.store)} config={digest}"

    def _read(self, key: str) -> Snapshot | None:
        record = load_snapshot(self.store, key)
        if record is None:
            return None
        view = LeaderboardView.from_dict(json.loads(record.data))
        snapshot = Snapshot(key, view, record.computed_at, record.compute_s, record.stamp)
        self._keep(snapshot, record.computed_at)
        return snapshot

    def _compute(self, key: str, category: str, style: bool, stamp: str, keep: bool) -> Snapshot:
        started = time.perf_counter()
        view = leaderboard_view(self.store, self._config(), category, style, self._fits)
        snapshot = Snapshot(key, view, self._clock(), time.perf_counter() - started, stamp)
        self.computed += 1
        if keep:
            record = BoardSnapshotRecord(
                key=key,
                computed_at=snapshot.computed_at,
                compute_s=snapshot.compute_s,
                stamp=stamp,
                data=json.dumps(view.to_dict(), default=_json_default),
            )
            try:
                save_snapshot(self.store, record)
            except StoreError as exc:  # shown here all the same; the others refit it later
                log.warning("the %s board was not kept for the other processes: %s", key, exc)
        self._keep(snapshot, snapshot.computed_at)
        return snapshot

    def _keep(self, snapshot: Snapshot, checked: datetime) -> None:
        self._kept[snapshot.key] = snapshot
        self._checked[snapshot.key] = checked

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


def _json_default(value: Any) -> Any:
    """numpy numbers in a manifest or metadata, and anything else as text."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)
