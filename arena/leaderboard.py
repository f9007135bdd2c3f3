"""The arena's leaderboard: its database's voted battles through :mod:`ratings`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from arena.config import Config
from arena.store import Store
from arena.store.audits import audit_mark, last_audits
from arena.store.battle_table import battle_table
from ratings import BattleTable, Leaderboard, LeaderboardError, Settings, build_leaderboard
from ratings.categories import category_label, category_mask, list_categories
from ratings.history import HistoryPoint, rating_history
from ratings.leaderboard import Row, select_battles
from ratings.tables import PairTables, pair_tables

__all__ = [
    "LeaderboardView",
    "PERSONAL_MIN_VOTES",
    "personal_view",
    "board_settings",
    "campaign_report",
    "compute_leaderboard",
    "hide_unreleased",
    "leaderboard_view",
]

OVERALL = "Overall"
LANGUAGE_MIN_VOTES = 10  # a language gets a board of its own from this many votes on


# Past weeks' boards of one database, by their settings and battle counts.
HistoryFits = dict[tuple[Any, ...], Leaderboard]


def board_settings(config: Config | None, **changes: Any) -> Settings:
    """The ratings' settings with the arena's provisional thresholds (``changes`` on top)."""
    if config is None:
        return Settings(**changes)
    arena: dict[str, Any] = {
        "provisional_votes": config.settings.provisional_votes,
        "provisional_width": config.settings.provisional_width,
        "inverse_pair_weights": config.settings.inverse_pair_weights,
        "exclude_campaigns": config.settings.exclude_campaigns,
        "campaign_alpha": config.settings.campaign_alpha,
    }
    return Settings(**(arena | changes))


def compute_leaderboard(
    store: Store, config: Config | None = None, settings: Settings | None = None
) -> Leaderboard:
    """Bradley–Terry board of the anonymous, valid, voted battles in ``store``;
    organization and license come from the configured models. Models in
    anonymous-only mode are rated with the rest but their rows are not shown. Each row
    carries the model's latest endpoint audit (``audit``: date, verdict, kind,
    reference), so a model that failed one is never ranked unmarked."""
    settings = settings or board_settings(config)
    board = build_leaderboard(battle_table(store), settings, metadata=_metadata(config, store))
    board.manifest["source"] = "arena database"
    return hide_unreleased(board, config)


def campaign_report(store: Store, config: Config) -> dict[str, Any]:
    """The suspected campaigns (:mod:`ratings.campaigns`) in the store's anonymous valid
    votes, for ``/admin``: each with its browsers and addresses (keyed hashes), the model
    they favour, their votes and the rating shift they cause; and whether the board
    leaves them out (``exclude_campaigns``)."""
    from ratings.campaigns import suspected_campaigns

    table = select_battles(battle_table(store, details=False), Settings(repeat_quantile=1.0))
    alpha = config.settings.campaign_alpha
    found = suspected_campaigns(table, alpha=alpha) if len(table) else []
    return {
        "campaigns": [asdict(c) for c in found],
        "votes": sum(c.votes for c in found),
        "alpha": alpha,
        "excluded_from_board": config.settings.exclude_campaigns,
    }


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
    counts: dict[str, int] = field(default_factory=dict)  # votes in each category
    history: list[HistoryPoint] = field(default_factory=list)  # ratings by week
    note: str | None = None  # said above the board (a personal board's caveat)
    personal: bool = False  # one voter's own votes only

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (NaN as null), read back by :meth:`from_dict`: how a view
        computed by one process is kept for the others (arena/boards.py)."""
        tables = None
        if self.tables is not None:
            t = self.tables
            tables = {"models": t.models} | {
                name: _plain(getattr(t, name))
                for name in ("battle_counts", "win_fraction", "predicted_win_rate")
            }
            tables["average_win_rate"] = _plain(t.average_win_rate)
        return {
            "board": {
                "rows": [asdict(r) for r in self.board.rows],
                "others": [[asdict(r) for r in group] for group in self.board.others],
                "manifest": self.board.manifest,
            },
            "categories": self.categories,
            "tables": tables,
            "problem": self.problem,
            "total_votes": self.total_votes,
            "counts": self.counts,
            "history": [asdict(p) for p in self.history],
            "note": self.note,
            "personal": self.personal,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeaderboardView:
        board = data["board"]
        tables = data["tables"]
        return cls(
            board=Leaderboard(
                [Row(**r) for r in board["rows"]],
                [[Row(**r) for r in group] for group in board["others"]],
                board["manifest"],
            ),
            categories=data["categories"],
            tables=None
            if tables is None
            else PairTables(
                tables["models"],
                np.array(tables["battle_counts"], dtype=np.int64).reshape(
                    len(tables["models"]), len(tables["models"])
                ),
                *(
                    np.array(tables[name], dtype=float)
                    for name in ("win_fraction", "predicted_win_rate", "average_win_rate")
                ),
            ),
            problem=data["problem"],
            total_votes=data["total_votes"],
            counts=data["counts"],
            history=[HistoryPoint(**p) for p in data["history"]],
            note=data["note"],
            personal=data["personal"],
        )

    def choices(self) -> list[tuple[str, str]]:
        """The category selector's (label, value) pairs: each with its votes."""
        return [
            (f"{category_label(name)} ({self.counts.get(name, 0):,} votes)", name)
            for name in self.categories
        ]


def _plain(values: np.ndarray) -> list[Any]:
    """An array as nested lists of floats, NaN as None (JSON has no NaN)."""
    plain: np.ndarray = values.astype(object)
    plain[np.isnan(values)] = None
    out: list[Any] = plain.tolist()
    return out


def leaderboard_view(
    store: Store,
    config: Config,
    category: str = OVERALL,
    style: bool = False,
    fits: HistoryFits | None = None,
) -> LeaderboardView:
    """The board, the categories to choose from, and the pairwise tables. ``fits``
    keeps past weeks' boards (which do not change) between calls on one database:
    :class:`arena.boards.Boards` holds one per process; without it each call fits
    them again."""
    table = battle_table(store)
    base = board_settings(config)
    pool = select_battles(table, base)
    categories = [OVERALL, *list_categories(pool)]
    counts = {OVERALL: len(pool)}
    counts |= {name: int(category_mask(pool, name).sum()) for name in categories[1:]}
    categories = [
        name
        for name in categories
        if not name.startswith("language:") or counts[name] >= LANGUAGE_MIN_VOTES
    ]
    settings = board_settings(
        config, style=style, category=None if category == OVERALL else category
    )
    try:
        board = build_leaderboard(table, settings, metadata=_metadata(config, store))
    except LeaderboardError as exc:  # style control before any answer varies in style, ...
        plain = build_leaderboard(table, base, metadata=_metadata(config, store))
        board = hide_unreleased(plain, config)
        board.manifest["source"] = "arena database"
        tables = _tables(table, base, board)
        return LeaderboardView(board, categories, tables, str(exc), len(pool), counts)
    board = hide_unreleased(board, config)
    board.manifest["source"] = "arena database"
    shown = {r.model for r in board.rows}
    history = _history(table, settings, shown, {} if fits is None else fits)
    return LeaderboardView(
        board, categories, _tables(table, settings, board), None, len(pool), counts, history
    )


PERSONAL_MIN_VOTES = 30  # fewer of one's own votes say little: the board says so


def personal_view(store: Store, config: Config, voter_hash: str) -> LeaderboardView:
    """The board one voter's own anonymous votes imply, and nothing of anyone else's:
    the same fit and intervals as the public board, on their battles alone."""
    mine = battle_table(store, voter_hash=voter_hash)  # their battles only, read alone
    # One voter's own board: the campaign screen (on everyone's votes) has no place here.
    settings = board_settings(config, repeat_quantile=1.0, exclude_campaigns=False)
    votes = len(select_battles(mine, settings))
    if votes == 0:
        empty = Leaderboard([], [], {"battles": 0})
        none_yet = "You have not voted in an anonymous battle from this browser yet"
        return LeaderboardView(empty, [OVERALL], None, None, 0, {OVERALL: 0}, [], none_yet, True)
    try:
        board = build_leaderboard(mine, settings, metadata=_metadata(config, store))
    except LeaderboardError as exc:
        empty = Leaderboard([], [], {"battles": votes})
        counts = {OVERALL: votes}
        return LeaderboardView(empty, [OVERALL], None, None, votes, counts, [], str(exc), True)
    board = hide_unreleased(board, config)
    note = None
    if votes < PERSONAL_MIN_VOTES:
        note = (
            f"Your board rests on {votes} vote{'s' if votes != 1 else ''}: too few to tell "
            f"most models apart (the intervals are wide); it settles after about "
            f"{PERSONAL_MIN_VOTES}"
        )
    tables = _tables(mine, settings, board)
    counts = {OVERALL: votes}
    return LeaderboardView(board, [OVERALL], tables, None, votes, counts, [], note, True)


def _history(
    table: BattleTable, settings: Settings, shown: set[str], fits: HistoryFits
) -> list[HistoryPoint]:
    """Ratings by week of the models on the board; each finished week is fitted once
    into ``fits`` (keyed by its settings and battle counts), only the current week
    again."""
    times, valid = table.column("tstamp"), table.column("valid")

    def fit(t: BattleTable, s: Settings) -> Leaderboard:
        before = times < s.until if times is not None else np.ones(len(t), dtype=bool)
        valid_before = int((before & valid).sum()) if valid is not None else 0
        key = (s, int(before.sum()), valid_before)
        if key not in fits:
            if len(fits) > 1024:
                fits.clear()
            fits[key] = build_leaderboard(t, s)
        return fits[key]

    try:
        points = rating_history(table, settings, fit=fit)
    except LeaderboardError:
        return []
    return [p for p in points if p.model in shown]


def _tables(table: BattleTable, settings: Settings, board: Leaderboard) -> PairTables | None:
    return pair_tables(select_battles(table, settings), board) if board.rows else None


def _metadata(config: Config | None, store: Store) -> dict[str, dict[str, Any]]:
    audits = {name: audit_mark(record) for name, record in last_audits(store).items()}
    out: dict[str, dict[str, Any]] = {name: {"audit": mark} for name, mark in audits.items()}
    for m in config.models if config is not None else ():
        out.setdefault(m.name, {}).update(m.board())
    return out
