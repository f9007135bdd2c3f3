"""From battles to a leaderboard: fit, intervals, ranks, components and a manifest.

The Elo-like scale is ``rating = 400 · log10(strength) + 1000 = (400 / ln 10) · θ + 1000``.
Rank is by upper bound: 1 + the number of models whose lower bound is above this
model's upper bound, so models whose intervals overlap share a rank.

A comparison graph in several pieces is never put into one arbitrary order: the
largest connected component is ranked, the others are reported apart
(:attr:`Leaderboard.others`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import norm

from ratings import __version__
from ratings.battles import MODEL_A, MODEL_B, BattleTable
from ratings.bradley_terry import PairCounts, components, fit_bradley_terry
from ratings.errors import LeaderboardError

__all__ = ["Leaderboard", "Row", "Settings", "build_leaderboard"]

SCALE = 400.0 / math.log(10.0)
INITIAL_RATING = 1000.0
# When some model never lost (or never won) the maximum-likelihood ratings are infinite.
# Then a weak Gaussian prior on θ (σ = 1/√0.05 ≈ 4.5 nats ≈ 1,900 rating points) keeps
# them finite, and intervals come from the posterior curvature (Fisher): the sandwich
# collapses to almost nothing when every residual is near zero, which would claim a
# precision that one or two votes cannot give.
_FALLBACK_L2 = 0.05


@dataclass(frozen=True)
class Settings:
    """How a leaderboard is computed; recorded in the manifest of every export."""

    method: str = "bradley-terry"
    interval: str = "sandwich"
    level: float = 0.95
    anchor: tuple[str, float] | None = None
    anony_only: bool = True
    l2: float = 0.0


@dataclass(frozen=True)
class Row:
    rank: int
    model: str
    rating: float
    lower: float
    upper: float
    votes: int
    win_rate: float
    organization: str | None = None
    license: str | None = None


@dataclass
class Leaderboard:
    """Rows of the largest connected component, ranked; ``others`` holds each smaller
    component's rows, ranked within it and never against the main board."""

    rows: list[Row]
    others: list[list[Row]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "manifest": self.manifest,
            "rows": [asdict(r) for r in self.rows],
        }
        if self.others:
            data["disconnected"] = [[asdict(r) for r in group] for group in self.others]
        return data


def build_leaderboard(
    table: BattleTable,
    settings: Settings | None = None,
    *,
    metadata: Mapping[str, Mapping[str, str]] | None = None,
) -> Leaderboard:
    """Compute a Bradley–Terry leaderboard with confidence intervals.

    Args:
        table: the battles.
        settings: method and options (defaults: sandwich 95% intervals, anonymous only).
        metadata: per model name, optional ``organization`` and ``license``.

    Returns:
        The leaderboard; an empty one (no rows) when no battle is left after filtering.
    """
    settings = settings or Settings()
    if not 0 < settings.level < 1:
        raise LeaderboardError(f"interval level must be between 0 and 1, got {settings.level}")
    total = len(table)
    if settings.anony_only:
        table = table.select(table.anony)
    self_battles = int((table.a == table.b).sum())
    if self_battles:
        table = table.select(table.a != table.b)
    manifest: dict[str, Any] = {
        "battles_sha256": table.sha256(),
        "battles": len(table),
        "battles_read": total,
        "method": settings.method,
        "settings": {k: v for k, v in asdict(settings).items() if k != "method"},
        "rating_scale": "400 * log10(strength) + 1000",
        "software": {"ratings": __version__},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "warnings": [],
    }
    if self_battles:
        manifest["warnings"].append(
            f"{self_battles} battle(s) of a model against itself carry no information "
            "and were left out"
        )
    if len(table) == 0:
        return Leaderboard([], [], manifest)
    counts = PairCounts.from_table(table)
    votes, win_rate = _votes_and_win_rate(table)
    z = float(norm.ppf(0.5 + settings.level / 2))
    groups = components(counts)
    boards = [
        _rank_component(table, counts, g, settings, z, votes, win_rate, metadata or {}, manifest)
        for g in groups
    ]
    if len(groups) > 1:
        manifest["warnings"].append(
            f"the comparison graph has {len(groups)} components that never meet; the board ranks "
            f"the largest ({groups[0].size} models) and reports the others apart"
        )
    return Leaderboard(boards[0], boards[1:], manifest)


def _rank_component(
    table: BattleTable,
    counts: PairCounts,
    index: np.ndarray,
    settings: Settings,
    z: float,
    votes: np.ndarray,
    win_rate: np.ndarray,
    metadata: Mapping[str, Mapping[str, str]],
    manifest: dict[str, Any],
) -> list[Row]:
    names = [table.models[i] for i in index]
    if index.size == 1:
        rating, se = np.array([INITIAL_RATING]), np.array([0.0])
    else:
        sub = counts.sub(index)
        l2, interval = settings.l2, settings.interval
        if l2 == 0.0 and not _mle_exists(sub):
            l2, interval = _FALLBACK_L2, "fisher"
            shown = ", ".join(names[:5]) + ("…" if len(names) > 5 else "")
            manifest["warnings"].append(
                f"in {{{shown}}} some model never lost (or never won) against the rest, so "
                "plain maximum likelihood has no finite answer; a weak prior "
                f"(l2={l2}) and Fisher intervals were used there"
            )
        fit = fit_bradley_terry(sub, l2=l2, interval=interval)
        rating, cov = SCALE * fit.theta + INITIAL_RATING, SCALE**2 * fit.cov
        rating, cov = _anchor(rating, cov, names, settings.anchor)
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    lower, upper = rating - z * se, rating + z * se
    ranks = 1 + (lower[None, :] > upper[:, None]).sum(axis=1)
    order = np.lexsort((np.asarray(names), -rating, ranks))
    return [
        Row(
            rank=int(ranks[k]),
            model=names[k],
            rating=float(rating[k]),
            lower=float(lower[k]),
            upper=float(upper[k]),
            votes=int(votes[index[k]]),
            win_rate=float(win_rate[index[k]]),
            organization=metadata.get(names[k], {}).get("organization"),
            license=metadata.get(names[k], {}).get("license"),
        )
        for k in order
    ]


def _anchor(
    rating: np.ndarray, cov: np.ndarray, names: list[str], anchor: tuple[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Shift ratings so the anchor model has its fixed value; intervals then measure
    uncertainty relative to the anchor (Var(θ_i − θ_a))."""
    if anchor is None:
        return rating, cov
    model, value = anchor
    if model not in names:
        return rating, cov
    k = names.index(model)
    shift = np.eye(len(names))
    shift[:, k] -= 1.0
    return rating - rating[k] + value, shift @ cov @ shift.T


def _mle_exists(counts: PairCounts) -> bool:
    """The MLE is finite iff the directed 'won or tied against' graph is strongly connected."""
    beats = counts.effective_wins > 0
    n_strong, _ = connected_components(csr_matrix(beats), directed=True, connection="strong")
    return bool(n_strong == 1)


def _votes_and_win_rate(table: BattleTable) -> tuple[np.ndarray, np.ndarray]:
    m = len(table.models)
    votes = np.bincount(table.a, minlength=m) + np.bincount(table.b, minlength=m)
    score_a = np.where(table.outcome == MODEL_A, 1.0, np.where(table.outcome == MODEL_B, 0.0, 0.5))
    points = np.bincount(table.a, score_a, minlength=m) + np.bincount(
        table.b, 1 - score_a, minlength=m
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return votes, np.where(votes > 0, points / np.maximum(votes, 1), 0.0)
