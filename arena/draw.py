"""Which two models meet next: the configured sampling policy (arena/sampling.py) over
the ready models, fed with what it needs from the database (the votes each model has,
for the new-model boost; the current fit, for active sampling), each read at most so
often."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from arena.backends.pool import ModelPool
from arena.config import Config
from arena.errors import NoModelsError
from arena.sampling import Evidence, pick_pair
from arena.store import Store
from arena.store.battle_table import battle_table, votes_per_model
from ratings import PairCounts, Settings, components, fit_bradley_terry
from ratings.leaderboard import select_battles
from ratings.methods import mle_exists

__all__ = ["Draw"]


class Draw:
    """The pair drawer of a :class:`arena.battles.BattleService`."""

    def __init__(
        self, config: Callable[[], Config], store: Store, pool: ModelPool, rng: random.Random
    ) -> None:
        self._config = config
        self.store = store
        self.pool = pool
        self.rng = rng
        self._evidence_cache: tuple[float, Evidence | None] | None = None
        self._votes_cache: tuple[float, dict[str, int]] | None = None

    @property
    def config(self) -> Config:
        return self._config()

    async def pair(self) -> tuple[str, str]:
        """A pair of ready models by the configured sampling policy."""
        settings = self.config.settings
        if self.pool.health()[0] == "misconfigured":
            raise NoModelsError(
                "this arena has fewer than two models, and a battle needs two: the "
                "organizer has to add another (the Direct chat tab works meanwhile)"
            )
        specs = {m.name: m for m in self.config.models}
        evidence = None
        if settings.sampling == "active":
            evidence = await self.store.run(self._evidence)
        new = settings.new_model_boost != 1.0 and settings.new_model_votes > 0
        votes: dict[str, int] = {}
        if new:  # read on the store's thread only when the cached counts are stale
            cached = self._fresh_votes()
            votes = cached if cached is not None else await self.store.run(self._votes)
        return pick_pair(
            self.pool.available(),
            self.rng,
            settings.sampling,
            weights={n: s.weight for n, s in specs.items()},
            targets={n: s.targets for n, s in specs.items()},
            target_boost=settings.target_boost,
            evidence=evidence,
            boost={
                n: settings.new_model_boost
                for n in specs
                if new and votes.get(n, 0) < settings.new_model_votes
            },
        )

    def _fresh_votes(self) -> dict[str, int] | None:
        """Votes per model as read less than 10 s ago, or None."""
        cache = self._votes_cache
        return cache[1] if cache is not None and time.monotonic() - cache[0] <= 10 else None

    def _votes(self) -> dict[str, int]:
        """Votes per model, read at most every 10 s (for the new-model boost)."""
        votes = self._fresh_votes()
        if votes is None:
            votes = votes_per_model(self.store)
            self._votes_cache = (time.monotonic(), votes)
        return votes

    def _evidence(self) -> Evidence | None:
        """The current fit for active sampling, recomputed at most once a minute."""
        now = time.monotonic()
        if self._evidence_cache is not None and now - self._evidence_cache[0] < 60:
            return self._evidence_cache[1]
        evidence = None
        table = select_battles(battle_table(self.store, details=False), Settings())
        if len(table):
            counts = PairCounts.from_table(table)
            if len(components(counts)) == 1 and mle_exists(counts):
                fit = fit_bradley_terry(counts)
                if fit.cov is not None:
                    evidence = Evidence(table.models, counts.battles, fit.cov)
        self._evidence_cache = (now, evidence)
        return evidence
