"""The Leaderboard tab: ratings with 95% intervals, categories, style control, plots,
downloads.

The board loads when its tab is opened and refreshes on a timer while it stays open,
so a voter on the Battle tab never receives model names before voting. What it shows
is the deployment's snapshot (arena/boards.py): however many tabs are open, in however
many processes, a board is fitted once per interval; its files and plots are drawn
once per snapshot in each process.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import gradio as gr

from arena.app import Arena
from arena.leaderboard import OVERALL, LeaderboardView, personal_view
from arena.store.tables import utcnow
from arena.web.voters import voter_of
from ratings import Leaderboard, LeaderboardError, render
from ratings.history import history_figure
from ratings.leaderboard import Row
from ratings.plots import heatmap_figure, interval_figure

__all__ = ["leaderboard_tab", "table_rows"]

HEADERS = [
    "Rank (UB)",
    "Rank spread",
    "Model",
    "Rating",
    "95% interval",
    "Votes",
    "Win rate",
    "Organization",
    "License",
    "$ / M tokens (in / out)",
    "Knowledge cutoff",
    "Audit",
]
DATATYPES: list[Literal["str", "number", "markdown"]] = [
    "str",
    "str",
    "markdown",
    "number",
    "str",
    "number",
    "str",
    "str",
    "str",
    "str",
    "str",
    "str",
]


def table_rows(board: Leaderboard, retired: bool = True) -> list[list[Any]]:
    """The board's rows as the table shows them (``retired`` False leaves those out)."""
    rows = []
    for group, members in enumerate([board.rows, *board.others]):
        for r in members:
            if r.retired and not retired:
                continue
            rank = str(r.rank) if group == 0 else f"{r.rank} (group {group + 1})"
            rows.append(
                [
                    rank,
                    f"{r.rank}–{r.worst_rank}" if r.worst_rank > r.rank else str(r.rank),
                    _model_cell(r),
                    round(r.rating, 1),
                    f"{r.lower:.0f} – {r.upper:.0f}",
                    r.votes,
                    f"{r.win_rate:.0%}",
                    r.organization or "",
                    r.license or "",
                    _price(r.price_in, r.price_out),
                    r.knowledge_cutoff or "",
                    _audit_cell(r.audit),
                ]
            )
    return rows


def _model_cell(r: Row) -> str:
    name = r.model.replace("[", "\\[").replace("]", "\\]")
    cell = f"[{name}]({r.url})" if r.url else name
    if r.provisional:
        cell += " *(provisional)*"
    if r.retired:
        cell += " *(retired)*"
    return cell


def _price(price_in: float | None, price_out: float | None) -> str:
    if price_in is None and price_out is None:
        return ""
    shown = ["?" if p is None else f"${p:g}" for p in (price_in, price_out)]
    return " / ".join(shown)


def _audit_cell(audit: Mapping[str, Any] | None) -> str:
    """The latest endpoint audit: a failed one is marked where the rating is read."""
    if not audit:
        return "not audited"
    if audit["verdict"] == "different":
        return f"⚠️ FAILED: differs from {audit['reference']} ({audit['date']})"
    return f"✓ consistent with {audit['reference']} ({audit['date']})"


def _summary(view: LeaderboardView, computed: datetime) -> str:
    """Above the table; ``computed``: when the board was (by whichever process)."""
    at = computed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    count, total = view.board.manifest.get("battles", 0), view.total_votes
    if view.personal:
        text = (
            f"**Your board: {count:,} of your vote{'' if count == 1 else 's'}** (this "
            f"browser's anonymous votes only; no one else's) · refreshed {at}"
        )
    else:
        text = (
            f"**{count:,} vote{'' if count == 1 else 's'}** in this board "
            f"({total:,} anonymous vote{'' if total == 1 else 's'} in all) · refreshed {at}"
        )
    if view.note:
        text += f"\n\nℹ️ {view.note}."
    if view.problem:
        text += f"\n\n⚠️ {view.problem}; showing the plain board instead."
    if view.board.others:
        text += (
            "\n\nSome models were never compared with the main group; they are ranked "
            "within their own group."
        )
    failed = [
        r.model
        for r in view.board.rows + [r for g in view.board.others for r in g]
        if r.audit and r.audit["verdict"] == "different"
    ]
    if failed:
        text += (
            f"\n\n⚠️ {', '.join(failed)} failed {'its' if len(failed) == 1 else 'their'} latest "
            "endpoint audit: the answers ranked under "
            f"{'that name' if len(failed) == 1 else 'those names'} may come from other "
            "weights (see the Audit column)."
        )
    provisional = [r.model for r in view.board.rows if r.provisional]
    if provisional:
        text += (
            f"\n\n*Provisional*: {', '.join(provisional)} "
            f"{'has' if len(provisional) == 1 else 'have'} too few votes or too wide an "
            "interval for a settled rank yet."
        )
    if not view.board.rows and not view.personal:
        text += "\n\nNo votes here yet. Go to the Battle tab and cast the first one!"
    return text


def leaderboard_tab(arena: Arena, tab: gr.Tab) -> gr.Timer:
    """Build the tab; returns its refresh timer (to pause when another tab opens)."""
    downloads = Path(tempfile.mkdtemp(prefix="arena-board-"))
    with gr.Row():
        category = gr.Dropdown(
            [(OVERALL, OVERALL)], value=OVERALL, label="Category", scale=2, elem_id="board-category"
        )
        style = gr.Checkbox(
            False,
            label="Style control",
            scale=1,
            elem_id="board-style",
            info="Hold answer length and markdown equal",
        )
        whose = gr.Radio(
            ["Everyone", "My votes"],
            value="Everyone",
            label="Whose votes",
            scale=1,
            elem_id="board-whose",
            info="My votes: the board your own votes imply (this browser)",
        )
        retired = gr.Checkbox(
            True,
            label="Show retired models",
            scale=1,
            elem_id="board-retired",
            info="Models no longer in the draw",
        )
    summary = gr.Markdown("", elem_id="board-summary")
    table = gr.Dataframe(
        headers=HEADERS,
        interactive=False,
        elem_id="board",
        wrap=True,
        datatype=DATATYPES,
    )
    with gr.Row():
        csv_file = gr.DownloadButton("Download CSV", elem_id="board-csv", scale=0, min_width=200)
        json_file = gr.DownloadButton("Download JSON", elem_id="board-json", scale=0, min_width=200)
    with gr.Accordion("Plots", open=True):
        intervals = gr.Plot(label="Ratings with 95% intervals")
        with gr.Row():
            fractions = gr.Plot(label="Win fraction")
            counts = gr.Plot(label="Battle counts")
        over_time = gr.Plot(label="Ratings by week", elem_id="board-history")
    gr.Markdown(
        "Ratings are Bradley–Terry maximum-likelihood estimates on an Elo-like scale "
        "(400·log₁₀ strength + 1000); ties count half a win each. Rank (UB) is by upper "
        "bound: 1 + the number of models whose lower bound is above this model's upper "
        "bound; the rank spread runs from there to the lowest rank the intervals allow "
        "(behind every model not confidently worse). See the About tab.",
        elem_classes="board-note",
    )
    timer = gr.Timer(arena.config.settings.leaderboard_refresh_s, active=False)

    # Per board: the snapshot last drawn in this process, with its files and plots
    # (drawn once per snapshot, not per open tab).
    drawn: dict[str, tuple[datetime, list[str], list[Any]]] = {}

    def draw(view: LeaderboardView, name: str) -> tuple[list[str], list[Any]]:
        files = []
        for fmt in ("csv", "json"):
            path = downloads / f"leaderboard-{name}.{fmt}"
            part = path.with_name(f".{path.name}.{threading.get_ident()}")
            part.write_text(render(view.board, fmt), encoding="utf-8")
            part.replace(path)  # whole: another tab may be sending the file meanwhile
            files.append(str(path))
        plots: list[Any] = [None, None, None, None]
        if view.board.rows and view.tables is not None:
            plots = [
                interval_figure(view.board),
                heatmap_figure(view.tables, "win_fraction"),
                heatmap_figure(view.tables, "battle_counts"),
                history_figure(view.history) if view.history else None,
            ]
        return files, plots

    def refresh(
        chosen: str,
        styled: bool,
        show_retired: bool = True,
        whose: str = "Everyone",
        request: gr.Request | None = None,
    ) -> tuple[Any, ...]:
        if whose == "My votes":
            voter = arena.gate.hash(voter_of(request).session)
            view, computed = personal_view(arena.store, arena.config, voter), utcnow()
            # The files' name must not show the voter's stored hash (the download URL
            # reaches the browser): a hash of it, one pair of files per voter.
            mine = hashlib.sha256(f"board files:{voter}".encode()).hexdigest()[:16]
            files, plots = draw(view, f"mine-{mine}")
        else:
            try:
                snapshot = arena.boards.view(chosen or OVERALL, bool(styled))
                view = snapshot.view
            except LeaderboardError as exc:  # a category the battles do not have
                snapshot = arena.boards.view(OVERALL, False)
                view = replace(snapshot.view, problem=str(exc))
            computed = snapshot.computed_at
            shown = drawn.get(snapshot.key)
            if shown is None or shown[0] != computed:
                name = "".join(c if c.isalnum() or c in "-_" else "_" for c in snapshot.key)
                name += "-" + hashlib.sha256(snapshot.key.encode()).hexdigest()[:8]  # 1:1
                shown = (computed, *draw(view, name))
                drawn[snapshot.key] = shown
            files, plots = shown[1], shown[2]
        return (
            gr.Dropdown(
                choices=view.choices(), value=chosen if chosen in view.categories else OVERALL
            ),
            _summary(view, computed),
            table_rows(view.board, retired=bool(show_retired)),
            gr.DownloadButton(value=files[0]),
            gr.DownloadButton(value=files[1]),
            *plots,
        )

    outputs = [
        category,
        summary,
        table,
        csv_file,
        json_file,
        intervals,
        fractions,
        counts,
        over_time,
    ]

    def opened(
        chosen: str, styled: bool, show_retired: bool, whose: str, request: gr.Request
    ) -> tuple[Any, ...]:
        return (*refresh(chosen, styled, show_retired, whose, request), gr.Timer(active=True))

    inputs = [category, style, retired, whose]
    tab.select(opened, inputs, [*outputs, timer], api_name="leaderboard")
    timer.tick(refresh, inputs, outputs, api_visibility="private")
    for control in (category, style, retired, whose):
        control.input(refresh, inputs, outputs, api_visibility="private")
    return timer
