"""ratings: turn pairwise battles into a leaderboard.

A library of its own: it never imports the arena. Typical use::

    from ratings import read_battles, build_leaderboard
    board = build_leaderboard(read_battles("clean_battle.json"))
"""

from __future__ import annotations

from ratings._version import __version__
from ratings.battles import WINNER_LABELS, BattleTable  # noqa: E402
from ratings.bradley_terry import BTFit, PairCounts, components, fit_bradley_terry  # noqa: E402
from ratings.errors import BattleDataError, LeaderboardError, RatingsError  # noqa: E402
from ratings.export import FORMATS, render  # noqa: E402
from ratings.io import read_battles  # noqa: E402
from ratings.leaderboard import Leaderboard, Row, Settings, build_leaderboard  # noqa: E402

__all__ = [
    "__version__",
    "FORMATS",
    "WINNER_LABELS",
    "BTFit",
    "BattleDataError",
    "BattleTable",
    "Leaderboard",
    "LeaderboardError",
    "PairCounts",
    "RatingsError",
    "Row",
    "Settings",
    "build_leaderboard",
    "components",
    "fit_bradley_terry",
    "read_battles",
    "render",
]
