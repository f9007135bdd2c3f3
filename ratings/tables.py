"""Pairwise tables beside a leaderboard.

- ``battle_counts``: battles between each pair (symmetric);
- ``win_fraction``: of the decisive battles between i and j, the fraction i won;
- ``predicted_win_rate``: σ((R_i − R_j) / (400 / ln 10)) from the board's ratings;
- ``average_win_rate``: each model's predicted win rate against all the others, averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ratings._numeric import expit
from ratings.battles import BattleTable
from ratings.bradley_terry import PairCounts
from ratings.leaderboard import Leaderboard
from ratings.methods import SCALE

__all__ = ["PairTables", "pair_tables", "write_tables"]


@dataclass(frozen=True)
class PairTables:
    """All matrices are shape (m, m), rows and columns in ``models`` order (board order)."""

    models: list[str]
    battle_counts: np.ndarray
    win_fraction: np.ndarray  # NaN where two models never had a decisive battle
    predicted_win_rate: np.ndarray
    average_win_rate: np.ndarray  # shape (m,)


def pair_tables(table: BattleTable, board: Leaderboard) -> PairTables:
    """The tables for the models of the board's main component."""
    models = [r.model for r in board.rows]
    index = np.array([table.models.index(m) for m in models], dtype=int)
    counts = PairCounts.from_table(table).sub(index)
    decisive = counts.wins + counts.wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(decisive > 0, counts.wins / decisive, np.nan)
    rating = np.array([r.rating for r in board.rows])
    predicted = expit((rating[:, None] - rating[None, :]) / SCALE)
    np.fill_diagonal(predicted, np.nan)
    average = np.nanmean(predicted, axis=1) if len(models) > 1 else np.full(len(models), np.nan)
    return PairTables(models, counts.battles, fraction, predicted, average)


def write_tables(tables: PairTables, folder: str) -> list[str]:
    """Write each matrix as CSV into ``folder``; returns the paths written."""
    import csv
    from pathlib import Path

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("battle_counts", "win_fraction", "predicted_win_rate"):
        path = out / f"{name}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["model", *tables.models])
            for model, row in zip(tables.models, getattr(tables, name), strict=True):
                writer.writerow([model, *("" if np.isnan(v) else f"{v:.6g}" for v in row)])
        written.append(str(path))
    path = out / "average_win_rate.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "average_win_rate"])
        for model, value in zip(tables.models, tables.average_win_rate, strict=True):
            writer.writerow([model, f"{value:.6g}"])
    written.append(str(path))
    return written
