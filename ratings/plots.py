"""Plots with plotly, written as standalone HTML that works offline.

``ratings.html`` (ratings with their intervals), ``win_fraction.html`` and
``battle_counts.html`` (heatmaps). The plotly library is written once beside them
(``plotly.min.js``), so the pages need no CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ratings.leaderboard import Leaderboard
from ratings.tables import PairTables

__all__ = ["interval_figure", "heatmap_figure", "write_plots"]


def interval_figure(board: Leaderboard) -> Any:
    import plotly.graph_objects as go

    rows = board.rows
    fig = go.Figure(
        go.Scatter(
            x=[r.model for r in rows],
            y=[r.rating for r in rows],
            mode="markers",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [r.upper - r.rating for r in rows],
                "arrayminus": [r.rating - r.lower for r in rows],
            },
            hovertemplate="%{x}: %{y:.1f}<extra></extra>",
        )
    )
    level = board.manifest.get("settings", {}).get("level", 0.95)
    fig.update_layout(
        title=f"Ratings with {level:.0%} intervals",
        yaxis_title="rating",
        xaxis_tickangle=-45,
        template="plotly_white",
    )
    return fig


def heatmap_figure(tables: PairTables, which: str) -> Any:
    import plotly.graph_objects as go

    values = getattr(tables, which)
    title = {
        "win_fraction": "Fraction of decisive battles won by the row model",
        "battle_counts": "Battles between each pair",
        "predicted_win_rate": "Predicted win rate of the row model",
    }[which]
    text = np.where(np.isnan(values), "", np.round(values, 2).astype(str))
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=tables.models,
            y=tables.models,
            text=text,
            texttemplate="%{text}",
            colorscale="RdBu" if which != "battle_counts" else "Blues",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="opponent",
        yaxis_title="model",
        yaxis_autorange="reversed",
        template="plotly_white",
    )
    return fig


def write_plots(board: Leaderboard, tables: PairTables, folder: str | Path) -> list[str]:
    """Write the three plots as HTML into ``folder``; returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "ratings": interval_figure(board),
        "win_fraction": heatmap_figure(tables, "win_fraction"),
        "battle_counts": heatmap_figure(tables, "battle_counts"),
    }
    written = []
    for name, fig in figures.items():
        path = out / f"{name}.html"
        fig.write_html(path, include_plotlyjs="directory", full_html=True)
        written.append(str(path))
    return written
