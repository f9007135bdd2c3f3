"""The arena's leaderboard: its database's voted battles through :mod:`ratings`."""

from __future__ import annotations

from dataclasses import dataclass

from arena.config import Config
from arena.store import Store
from arena.store.board import battle_table
from ratings import BattleTable, Leaderboard, LeaderboardError, Settings, build_leaderboard
from ratings.categories import list_categories
from ratings.leaderboard import select_battles
from ratings.tables import PairTables, pair_tables

__all__ = ["LeaderboardView", "compute_leaderboard", "hide_unreleased", "leaderboard_view"]

OVERALL = "Overall"


def compute_leaderboard(
    store: Store, config: Config | None = None, settings: Settings | None = None
) -> Leaderboard:
    """Bradley–Terry board of the anonymous, valid, voted battles in ``store``;
    organization and license come from the configured models. Models in
    anonymous-only mode are rated with the rest but their rows are not shown."""
    board = build_leaderboard(battle_table(store), settings, metadata=_metadata(config))
    board.manifest["source"] = "arena database"
    return hide_unreleased(board, config)


def hide_unreleased(board: Leaderboard, config: Config | None) -> Leaderboard:
    """The public board: rows of anonymous-only models removed (their votes still
    count for the others; the manifest says how many rows were hidden)."""
    hidden = {m.name for m in config.models if m.anonymous_only} if config else set()
    if not hidden:
        return board
    before = len(board.rows) + sum(len(g) for g in board.others)
    board.rows = [r for r in board.rows if r.model not in hidden]
    board.others = [
        g for g in ([r for r in grp if r.model not in hidden] for grp in board.others) if g
    ]
    board.manifest["hidden_models"] = before - len(board.rows) - sum(len(g) for g in board.others)
    return board


@dataclass
class LeaderboardView:
    """What the Leaderboard tab shows for one choice of category and style control."""

    board: Leaderboard
    categories: list[str]
    tables: PairTables | None
    problem: str | None = None
    total_votes: int = 0


def leaderboard_view(
    store: Store, config: Config, category: str = OVERALL, style: bool = False
) -> LeaderboardView:
    """The board, the categories to choose from, and the pairwise tables."""
    table = battle_table(store)
    base = Settings()
    pool = select_battles(table, base)
    categories = [OVERALL, *list_categories(pool)]
    settings = Settings(style=style, category=None if category == OVERALL else category)
    try:
        board = build_leaderboard(table, settings, metadata=_metadata(config))
    except LeaderboardError as exc:  # style control before any answer varies in style, ...
        board = hide_unreleased(build_leaderboard(table, base, metadata=_metadata(config)), config)
        return LeaderboardView(board, categories, _tables(table, base, board), str(exc), len(pool))
    board = hide_unreleased(board, config)
    return LeaderboardView(board, categories, _tables(table, settings, board), None, len(pool))


def _tables(table: BattleTable, settings: Settings, board: Leaderboard) -> PairTables | None:
    return pair_tables(select_battles(table, settings), board) if board.rows else None


def _metadata(config: Config | None) -> dict[str, dict[str, str]]:
    if config is None:
        return {}
    return {m.name: {"organization": m.organization, "license": m.license} for m in config.models}
