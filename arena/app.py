"""The arena as one object: configuration, database, models and the battle service.

Every shell (the web page, the JSON API, the CLI, the tests) is handed an
:class:`Arena`; nothing lives in module globals. While it runs, the arena re-reads
its ``arena.toml`` when the file changes (every ``reload_s`` seconds): models added,
removed or changed there join or leave without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from arena import language
from arena.audit.monitor import Monitor
from arena.backends.pool import ModelPool
from arena.battles import BattleService
from arena.boards import Boards
from arena.chat import ChatService
from arena.config import Config, load_config
from arena.errors import ArenaError
from arena.gate import Gate
from arena.integrity.proof_watch import ProofWatch
from arena.leaderboard import compute_leaderboard
from arena.store import Store
from arena.votes import VoteService
from ratings import Leaderboard

__all__ = ["Arena"]

log = logging.getLogger(__name__)

# Settings a running arena cannot change: they need a restart.
RESTART_ONLY = (
    "db",
    "host",
    "port",
    "secret",
    "secret_file",
    "trusted_proxies",
    "max_header_bytes",
)


@dataclass
class Reload:
    """What the last look at ``arena.toml`` found (shown on the admin view)."""

    checked_at: float | None = None
    applied_at: float | None = None
    changes: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None


class Arena:
    """The running arena. ``config`` is the one configuration in force: the services
    read it through a getter, so a reload (or a test) that swaps it whole applies to
    all of them at once; the model pool applies it in :meth:`ModelPool.update`."""

    def __init__(
        self,
        config: Config,
        store: Store,
        pool: ModelPool,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.pool = pool
        self.battles = BattleService(lambda: self.config, store, pool)
        self.gate: Gate = self.battles.gate
        self.votes = VoteService(lambda: self.config, store, self.gate, self.battles.leaks)
        self.chats = ChatService(lambda: self.config, store, pool, self.gate, self.battles.live)
        self.monitor = Monitor(lambda: self.config, store, pool)
        self.proof_watch = ProofWatch(lambda: self.config, store)  # votes without a proof
        self.boards = Boards(lambda: self.config, store)  # the leaderboard's snapshots
        self.reload = Reload()
        self._overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        self._mtime = self._config_mtime()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def create(cls, config: Config, overrides: dict[str, Any] | None = None) -> Arena:
        """``overrides`` are the command-line settings, kept over every reload."""
        store = Store(config.settings.db, retry_s=config.settings.db_retry_s)
        return cls(config, store, ModelPool(config), overrides)

    async def start(self) -> None:
        if self.config.settings.detect_languages:
            language.preload()  # in a thread: battles started meanwhile get none
        await self.pool.start()
        status, problem = self.pool.health()
        if status != "ok":  # said at start, and in /api/health for as long as it lasts
            log.error("no battles can start: %s", problem)
        if self._config_mtime() is not None and self.config.settings.reload_s > 0:
            self._tasks.append(asyncio.create_task(self._watch_config(), name="watch arena.toml"))
        # Always running: a reload may add a model with an audit_reference.
        self._tasks.append(asyncio.create_task(self.monitor.run_forever(), name="monitor"))
        self._tasks.append(asyncio.create_task(self.proof_watch.run_forever(), name="proof"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pool.stop()
        self.store.close()

    def leaderboard(self) -> Leaderboard:
        return compute_leaderboard(self.store, self.config)

    def _config_mtime(self) -> float | None:
        path = Path(self.config.source)
        try:
            return path.stat().st_mtime_ns / 1e9 if path.is_file() else None
        except OSError:
            return None

    async def _watch_config(self) -> None:
        while True:
            await asyncio.sleep(self.config.settings.reload_s)
            await self.reload_if_changed()

    async def reload_if_changed(self) -> bool:
        """Apply ``arena.toml`` if it changed since it was last read; returns whether
        it was applied. A file that does not load leaves everything as it was, and
        the error is logged and kept for the admin view."""
        self.reload.checked_at = time.time()
        mtime = self._config_mtime()
        if mtime is None or mtime == self._mtime:
            return False
        self._mtime = mtime
        try:
            new = load_config(self.config.source, overrides=self._overrides)
            fixed = {f.name for f in fields(new.settings)} & set(RESTART_ONLY)
            kept = {k: getattr(self.config.settings, k) for k in fixed}
            ignored = [k for k, v in kept.items() if getattr(new.settings, k) != v]
            new = replace(new, settings=replace(new.settings, **kept))
            changes = await self.pool.update(new)
        except ArenaError as exc:
            self.reload.error = str(exc)
            log.error("arena.toml not applied, still running the previous one: %s", exc)
            return False
        self.config = new
        self.reload.error = None
        self.reload.applied_at = time.time()
        self.reload.changes = changes
        if ignored:
            log.warning("arena.toml: %s change(s) need a restart", ", ".join(ignored))
        log.info(
            "arena.toml applied: added %s, removed %s, changed %s",
            changes["added"] or "none",
            changes["removed"] or "none",
            changes["changed"] or "none",
        )
        return True
