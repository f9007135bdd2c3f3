"""Leaderboard exports: a terminal table, CSV, JSON, Markdown and HTML.

Every format carries the manifest (the battle-set digest, method and settings, the
software version): JSON as its ``manifest`` object; CSV, Markdown and HTML as comment
lines, one of which (``manifest: {...}``) holds it whole as JSON, so that
``--verify`` can recompute any export; the table as a footer.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from ratings.leaderboard import METADATA, Leaderboard, Row

__all__ = ["COLUMNS", "FORMATS", "render"]

COLUMNS = ("rank", "model", "rating", "lower", "upper", "votes", "win_rate")


def _manifest_lines(board: Leaderboard) -> list[str]:
    m = board.manifest
    lines = [
        f"battles: {m.get('battles')} (sha256 {m.get('battles_sha256')})",
        f"method: {m.get('method')} {json.dumps(m.get('settings', {}), sort_keys=True)}",
        f"software: {json.dumps(m.get('software', {}), sort_keys=True)}",
    ]
    lines += [f"warning: {w}" for w in m.get("warnings", [])]
    return lines


def _machine_line(board: Leaderboard) -> str:
    return "manifest: " + json.dumps(board.manifest, sort_keys=True)


def _columns(board: Leaderboard) -> tuple[str, ...]:
    rows = board.rows + [r for g in board.others for r in g]
    optional = ("provisional", *METADATA)
    extra = tuple(c for c in optional if any(getattr(r, c) for r in rows))
    return (*COLUMNS, "worst_rank", *extra)


def _cells(row: Row, columns: tuple[str, ...]) -> list[str]:
    values = asdict(row)
    out = []
    for c in columns:
        v = values[c]
        if c in ("rating", "lower", "upper"):
            out.append(f"{v:.1f}")
        elif c == "win_rate":
            out.append(f"{v:.3f}")
        elif c == "audit":
            out.append(audit_text(v))
        elif isinstance(v, bool):
            out.append("yes" if v else "")
        elif c in ("price_in", "price_out"):
            out.append("" if v is None else f"{v:g}")
        else:
            out.append("" if v is None else str(v))
    return out


def audit_text(audit: Mapping[str, Any] | None) -> str:
    """An audit mark as text: "consistent 2026-11-27", "DIFFERENT from REF 2026-11-27"."""
    if not audit:
        return ""
    if audit.get("verdict") == "different":
        return f"DIFFERENT from {audit.get('reference')} {audit.get('date')}"
    return f"{audit.get('verdict')} {audit.get('date')}"


def _groups(board: Leaderboard) -> list[tuple[str | None, list[Row]]]:
    groups: list[tuple[str | None, list[Row]]] = [(None, board.rows)]
    for k, rows in enumerate(board.others, start=2):
        groups.append((f"component {k}: never compared with the main board", rows))
    return groups


def to_table(board: Leaderboard) -> str:
    columns = _columns(board)
    if not board.rows:
        return "No battles to rank yet.\n" + "\n".join(_manifest_lines(board)) + "\n"
    out = []
    for title, rows in _groups(board):
        body = [list(columns)] + [_cells(r, columns) for r in rows]
        widths = [max(len(line[i]) for line in body) for i in range(len(columns))]
        if title:
            out.append(f"\n{title}")
        for line in body:
            out.append(
                "  ".join(
                    cell.rjust(w) if i != 1 else cell.ljust(w)
                    for i, (cell, w) in enumerate(zip(line, widths, strict=True))
                )
            )
    out.append("")
    out += _manifest_lines(board)
    return "\n".join(out) + "\n"


def to_csv(board: Leaderboard) -> str:
    columns = _columns(board)
    buffer = io.StringIO()
    for line in [*_manifest_lines(board), _machine_line(board)]:
        buffer.write(f"# {line}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*columns, "component"])
    for k, (_, rows) in enumerate(_groups(board), start=1):
        for r in rows:
            values = asdict(r)
            writer.writerow([*(values[c] if values[c] is not None else "" for c in columns), k])
    return buffer.getvalue()


def to_json(board: Leaderboard) -> str:
    return json.dumps(board.to_dict(), indent=2) + "\n"


def to_markdown(board: Leaderboard) -> str:
    columns = _columns(board)
    out = [f"<!-- {line} -->" for line in [*_manifest_lines(board), _machine_line(board)]]
    if not board.rows:
        return "\n".join([*out, "", "No battles to rank yet."]) + "\n"
    for title, rows in _groups(board):
        out += ["", f"**{title}**", ""] if title else [""]
        out.append("| " + " | ".join(columns) + " |")
        out.append("|" + "|".join("---:" if c != "model" else ":---" for c in columns) + "|")
        for r in rows:
            cells = [c.replace("|", "\\|") for c in _cells(r, columns)]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def to_html(board: Leaderboard) -> str:
    columns = _columns(board)
    manifest = "\n".join(
        f"<!-- {html.escape(line)} -->" for line in [*_manifest_lines(board), _machine_line(board)]
    )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        manifest,
        "<title>Leaderboard</title><style>body{font-family:system-ui,sans-serif;margin:2rem}"
        "table{border-collapse:collapse}th,td{padding:.3rem .7rem;border-bottom:1px solid #ddd;"
        "text-align:right}td:nth-child(2),th:nth-child(2){text-align:left}"
        ".note{color:#666;font-size:.85rem}</style></head><body><h1>Leaderboard</h1>",
    ]
    for title, rows in _groups(board):
        if title:
            parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(
            "<table><thead><tr>"
            + "".join(f"<th>{c}</th>" for c in columns)
            + "</tr></thead><tbody>"
        )
        for r in rows:
            parts.append(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r, columns)) + "</tr>"
            )
        parts.append("</tbody></table>")
    if not board.rows:
        parts.append("<p>No battles to rank yet.</p>")
    parts.append(
        "<p class=note>"
        + "<br>".join(html.escape(x) for x in _manifest_lines(board))
        + "</p></body></html>"
    )
    return "\n".join(parts) + "\n"


FORMATS: dict[str, Callable[[Leaderboard], str]] = {
    "table": to_table,
    "csv": to_csv,
    "json": to_json,
    "md": to_markdown,
    "html": to_html,
}


def render(board: Leaderboard, fmt: str) -> str:
    """The board in one of :data:`FORMATS` (``table``, ``csv``, ``json``, ``md``, ``html``)."""
    try:
        return FORMATS[fmt](board)
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
