"""The Leaderboard tab: ratings with 95% intervals, read from the database.

The board loads when its tab is opened and refreshes on a timer while it stays open,
so a voter on the Battle tab never receives model names before voting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import gradio as gr

from arena.app import Arena
from ratings import Leaderboard

__all__ = ["leaderboard_tab", "table_rows"]

HEADERS = [
    "Rank",
    "Model",
    "Rating",
    "95% interval",
    "Votes",
    "Win rate",
    "Organization",
    "License",
]


def table_rows(board: Leaderboard) -> list[list[Any]]:
    rows = []
    for group, members in enumerate([board.rows, *board.others]):
        for r in members:
            rank = str(r.rank) if group == 0 else f"{r.rank} (group {group + 1})"
            rows.append(
                [
                    rank,
                    r.model,
                    round(r.rating, 1),
                    f"{r.lower:.0f} – {r.upper:.0f}",
                    r.votes,
                    f"{r.win_rate:.0%}",
                    r.organization or "",
                    r.license or "",
                ]
            )
    return rows


def _summary(board: Leaderboard) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    count = board.manifest.get("battles", 0)
    text = (
        f"**{count:,} vote{'' if count == 1 else 's'}** counted (anonymous battles only) · "
        f"refreshed {now}"
    )
    if board.others:
        text += (
            "\n\nSome models were never compared with the main group; they are ranked "
            "within their own group."
        )
    if not board.rows:
        text += "\n\nNo votes yet. Go to the Battle tab and cast the first one!"
    return text


def leaderboard_tab(arena: Arena, tab: gr.Tab, battle_tab: gr.Tab) -> None:
    summary = gr.Markdown("", elem_id="board-summary")
    table = gr.Dataframe(
        headers=HEADERS,
        interactive=False,
        elem_id="board",
        wrap=True,
        datatype=["str", "str", "number", "str", "number", "str", "str", "str"],
    )
    gr.Markdown(
        "Ratings are Bradley–Terry maximum-likelihood estimates on an Elo-like scale "
        "(400·log₁₀ strength + 1000); ties count half a win each. Rank is by upper bound: "
        "1 + the number of models whose lower bound is above this model's upper bound.",
        elem_classes="board-note",
    )
    timer = gr.Timer(arena.config.settings.leaderboard_refresh_s, active=False)

    def refresh() -> tuple[Any, ...]:
        board = arena.leaderboard()
        return _summary(board), table_rows(board)

    def opened() -> tuple[Any, ...]:
        return (*refresh(), gr.Timer(active=True))

    tab.select(opened, None, [summary, table, timer], api_name="leaderboard")
    battle_tab.select(lambda: gr.Timer(active=False), None, [timer], api_visibility="private")
    timer.tick(refresh, None, [summary, table], api_visibility="private")
