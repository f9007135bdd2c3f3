"""Verify a published leaderboard: recompute it from the same battles and compare.

An export (JSON, CSV, Markdown or HTML) carries its manifest: the digest of the
battle set it was computed from and every setting. :func:`verify_export` reads it,
recomputes the board from the battles it is given with those settings, and reports
whether the battle set and every model's rating and interval agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ratings.battles import BattleTable
from ratings.errors import LeaderboardError
from ratings.leaderboard import Settings, build_leaderboard

__all__ = ["Verification", "read_export", "verify_export"]

_MANIFEST = re.compile(r"manifest: (\{.*\})")


@dataclass
class Verification:
    matches: bool
    problems: list[str] = field(default_factory=list)
    compared: int = 0

    def report(self) -> str:
        if self.matches and self.compared:
            return f"match: the battle set and all {self.compared} models' ratings agree"
        if self.matches:
            return (
                "match: the battle set agrees (this format's rows are not read back; "
                "verify a JSON or CSV export to compare every rating too)"
            )
        return "MISMATCH:\n" + "\n".join(f"- {p}" for p in self.problems)


def read_export(path: str | Path) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The manifest and ``{model: {rating, lower, upper}}`` of an export file."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        listed = data["rows"] + [r for group in data.get("disconnected", []) for r in group]
        return data["manifest"], {r["model"]: r for r in listed}
    found = _MANIFEST.search(text.replace("&quot;", '"').replace("&amp;", "&"))
    if not found:
        raise LeaderboardError(f"{path}: no manifest found; is this a leaderboard export?")
    manifest = json.loads(found.group(1))
    rows: dict[str, dict[str, float]] = {}
    if Path(path).suffix.lower() == ".csv":
        import csv

        lines = [line for line in text.splitlines() if not line.startswith("#")]
        for row in csv.DictReader(lines):
            rows[row["model"]] = {k: float(row[k]) for k in ("rating", "lower", "upper")}
    return manifest, rows


def verify_export(path: str | Path, table: BattleTable, *, tolerance: float = 0.05) -> Verification:
    """Recompute the board of export ``path`` from ``table`` and compare.

    Ratings and bounds must agree within ``tolerance`` rating points (exports round to
    0.1 in text formats; JSON keeps full precision).
    """
    manifest, published = read_export(path)
    settings = Settings.from_manifest(manifest.get("settings", {}))
    board = build_leaderboard(table, settings)
    result = Verification(True)
    if board.manifest["battles_sha256"] != manifest.get("battles_sha256"):
        result.problems.append(
            f"battle set differs: export {manifest.get('battles_sha256')}, "
            f"these battles {board.manifest['battles_sha256']} "
            f"({board.manifest['battles']} battles after the export's filters)"
        )
    fresh = {r.model: r for r in board.rows + [r for g in board.others for r in g]}
    tol = tolerance if Path(path).suffix.lower() == ".json" else max(tolerance, 0.051)
    for model, row in published.items():
        if model not in fresh:
            result.problems.append(f"{model}: in the export, not in the recomputed board")
            continue
        for key in ("rating", "lower", "upper"):
            mine = getattr(fresh[model], key)
            if abs(mine - float(row[key])) > tol:
                result.problems.append(
                    f"{model}: {key} {row[key]} in the export, {mine:.3f} recomputed"
                )
        result.compared += 1
    for model in sorted(set(fresh) - set(published)):
        if published:
            result.problems.append(f"{model}: recomputed, but missing from the export")
    result.matches = not result.problems
    return result
