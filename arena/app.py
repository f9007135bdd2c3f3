"""The arena as one object: configuration, database, models and the battle service.

Every shell (the web page, the JSON API, the CLI, the tests) is handed an
:class:`Arena`; nothing lives in module globals.
"""

from __future__ import annotations

from dataclasses import dataclass

from arena.backends.pool import ModelPool
from arena.battles import BattleService
from arena.chat import ChatService
from arena.config import Config
from arena.leaderboard import compute_leaderboard
from arena.store import Store
from ratings import Leaderboard

__all__ = ["Arena"]


@dataclass
class Arena:
    config: Config
    store: Store
    pool: ModelPool
    battles: BattleService
    chats: ChatService

    @classmethod
    def create(cls, config: Config) -> Arena:
        store = Store(config.settings.db)
        pool = ModelPool(config)
        battles = BattleService(config, store, pool)
        return cls(config, store, pool, battles, ChatService(battles))

    async def start(self) -> None:
        await self.pool.start()

    async def stop(self) -> None:
        await self.pool.stop()
        self.store.close()

    def leaderboard(self) -> Leaderboard:
        return compute_leaderboard(self.store, self.config)
