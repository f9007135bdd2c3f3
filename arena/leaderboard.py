"""The arena's leaderboard: its database's voted battles through :mod:`ratings`."""

from __future__ import annotations

from arena.config import Config
from arena.store import Store
from ratings import Leaderboard, Settings, build_leaderboard

__all__ = ["compute_leaderboard"]


def compute_leaderboard(
    store: Store, config: Config | None = None, settings: Settings | None = None
) -> Leaderboard:
    """Bradley–Terry board of the anonymous, valid, voted battles in ``store``;
    organization and license come from the configured models."""
    metadata = {}
    if config is not None:
        metadata = {
            m.name: {"organization": m.organization, "license": m.license} for m in config.models
        }
    board = build_leaderboard(store.battle_table(include_invalid=True), settings, metadata=metadata)
    board.manifest["source"] = "arena database"
    return board
