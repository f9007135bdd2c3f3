"""Errors of the ratings library.

RatingsError
├── BattleDataError      a battle file or table that cannot be read as battles
└── LeaderboardError     a request the data cannot answer (unknown anchor model, ...)
"""

from __future__ import annotations

__all__ = ["BattleDataError", "LeaderboardError", "RatingsError"]


class RatingsError(Exception):
    """Base class of every error the ratings library raises on purpose."""


class BattleDataError(RatingsError, ValueError):
    """Battles that cannot be read; the message names the line or row and the value."""


class LeaderboardError(RatingsError, ValueError):
    """A leaderboard that cannot be computed as asked."""
