"""Ratings over time: the board as it stood at the end of each week, refitted from the
battles up to then (cumulative, like a leaderboard that was published every week)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ratings.battles import BattleTable
from ratings.errors import LeaderboardError
from ratings.leaderboard import Leaderboard, Settings, build_leaderboard

__all__ = ["HistoryPoint", "history_figure", "rating_history", "week_ends"]

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class HistoryPoint:
    model: str
    at: float  # the week's end (unix seconds; the last point is the latest vote)
    rating: float
    lower: float
    upper: float
    votes: int


def week_ends(first: float, last: float, most: int = 52) -> list[float]:
    """Mondays 00:00 UTC after ``first`` up to ``last``, then just after ``last`` (so
    the latest vote counts); at most ``most`` points (the latest)."""
    start = datetime.fromtimestamp(first, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = start + timedelta(days=7 - start.weekday())
    ends = []
    while monday.timestamp() < last:
        ends.append(monday.timestamp())
        monday += WEEK
    return [*ends, last + 1.0][-most:]


def rating_history(
    table: BattleTable,
    settings: Settings | None = None,
    *,
    most: int = 52,
    fit: Callable[[BattleTable, Settings], Leaderboard] | None = None,
) -> list[HistoryPoint]:
    """Each model's rating and interval at the end of each week (see :func:`week_ends`),
    from the battles voted up to then; ``fit`` replaces :func:`build_leaderboard` (a
    cache, say).

    Raises:
        LeaderboardError: the battles carry no times.
    """
    settings = settings or Settings()
    times = table.column("tstamp")
    if times is None:
        raise LeaderboardError("ratings over time need the battles' times (tstamp)")
    known = times[np.isfinite(times)]
    if len(known) == 0:
        return []
    fit = fit or (lambda t, s: build_leaderboard(t, s))
    points = []
    for end in week_ends(float(known.min()), float(known.max()), most):
        try:
            board = fit(table, replace(settings, until=end))
        except LeaderboardError:
            continue  # too few battles yet for this week's category, say
        for row in board.rows:  # the main component: the only one ranked
            points.append(HistoryPoint(row.model, end, row.rating, row.lower, row.upper, row.votes))
    return points


def history_figure(points: list[HistoryPoint], level: float = 0.95) -> Any:
    """One line per model with its interval as a band, by week."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for model in sorted({p.model for p in points}):
        mine = sorted((p for p in points if p.model == model), key=lambda p: p.at)
        when = [datetime.fromtimestamp(p.at, UTC) for p in mine]
        fig.add_trace(
            go.Scatter(
                x=when + when[::-1],
                y=[p.upper for p in mine] + [p.lower for p in mine][::-1],
                fill="toself",
                opacity=0.15,
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=model,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=when,
                y=[p.rating for p in mine],
                mode="lines+markers",
                name=model,
                legendgroup=model,
                customdata=[[p.lower, p.upper, p.votes] for p in mine],
                hovertemplate=(
                    f"{model}: %{{y:.1f}} (%{{customdata[0]:.0f}} – %{{customdata[1]:.0f}}), "
                    "%{customdata[2]} votes<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        title=f"Ratings by week, with {level:.0%} intervals",
        yaxis_title="rating",
        template="plotly_white",
    )
    return fig
