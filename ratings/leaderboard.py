"""From battles to a leaderboard: filters, a method, intervals, ranks, components, manifest.

Methods (``Settings.method``):

- ``bradley-terry`` (default): maximum likelihood on pair counts, ties as half a win
  each (:mod:`ratings.bradley_terry`); with ``style=True`` the contextual model that
  holds answer style equal (:mod:`ratings.contextual`).
- ``davidson``: ties as an outcome of their own (:mod:`ratings.davidson`).
- ``elo``: online Elo in battle order, K = 4 by default (:mod:`ratings.elo`).

Intervals (``Settings.interval``): ``sandwich`` (robust; the Bradley–Terry default),
``fisher`` (inverse information; the Davidson default), ``bootstrap`` (percentiles
over resampled data; :mod:`ratings.bootstrap`), ``none`` (the Elo default).

The scale is ``rating = 400 · log10(strength) + 1000 = (400 / ln 10) · θ + 1000``,
optionally shifted so that an anchor model has a fixed rating. Rank is by upper
bound: 1 + the number of models whose lower bound is above this model's upper bound.
A comparison graph in several pieces is never put into one order: the largest
connected component is ranked, the others are reported apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ratings._version import __version__
from ratings.battles import BattleTable
from ratings.bradley_terry import PairCounts, components
from ratings.campaigns import campaign_mask, suspected_campaigns
from ratings.categories import category_mask
from ratings.errors import LeaderboardError
from ratings.methods import (
    FALLBACK_L2,
    INITIAL_RATING,
    INTERVALS,
    METHODS,
    Component,
    method_of,
    mle_exists,
)
from ratings.voters import anomalous_voters, repeated_prompt_mask

__all__ = [
    "METHODS",
    "Leaderboard",
    "Row",
    "Settings",
    "build_leaderboard",
    "category_boards",
    "mle_exists",
    "select_battles",
]


@dataclass(frozen=True)
class Settings:
    """How a leaderboard is computed; recorded in the manifest of every export."""

    method: str = "bradley-terry"
    interval: str | None = None  # None: the method's default
    level: float = 0.95
    rounds: int = 100
    seed: int = 0
    style: bool = False
    anchor: tuple[str, float] | None = None
    anony_only: bool = True
    include_invalid: bool = False
    exclude_anomalous: bool = False  # leave out voters ratings.voters flags
    anomaly_alpha: float = 0.01
    # Leave out the browsers and addresses ratings.campaigns flags for lifting a model.
    exclude_campaigns: bool = False
    campaign_alpha: float = 0.01
    repeat_quantile: float = 0.999  # cap each prompt's battles (1: keep every repeat)
    exclude: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    category: str | None = None
    l2: float = 0.0
    elo_k: float = 4.0
    # A row is marked provisional under this many votes, or with an interval wider
    # than this many points (0: no mark of that kind).
    provisional_votes: int = 0
    provisional_width: float = 0.0
    # Weight each battle by 1 / (battles of its pair): every pair counts alike.
    inverse_pair_weights: bool = False

    def __post_init__(self) -> None:
        """Checked against what the method supports (:data:`ratings.methods.METHODS`)."""
        method = METHODS.get(self.method)
        if method is None:
            raise LeaderboardError(
                f"unknown method {self.method!r}; expected one of {', '.join(METHODS)}"
            )
        interval = self.resolved_interval
        if interval not in INTERVALS:
            raise LeaderboardError(
                f"unknown interval {interval!r}; expected one of {', '.join(INTERVALS)}"
            )
        if not 0 < self.level < 1:
            raise LeaderboardError(f"interval level must be between 0 and 1, got {self.level}")
        if interval not in method.intervals:
            raise LeaderboardError(
                f"{self.method} has no {interval} interval; use {' or '.join(method.intervals)}"
            )
        if self.inverse_pair_weights and (
            not method.pair_weights or interval == "bootstrap" or self.style
        ):
            raise LeaderboardError(
                "inverse pair weights are built for plain Bradley–Terry with sandwich or "
                "Fisher intervals (not style control, Davidson, Elo or bootstrap)"
            )
        if self.style and (not method.style or interval == "bootstrap"):
            raise LeaderboardError(
                "style control is a Bradley–Terry model with sandwich or Fisher intervals"
            )

    @property
    def resolved_interval(self) -> str:
        method = METHODS.get(self.method)
        return self.interval or (method.default_interval if method else "sandwich")

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> Settings:
        """The settings recorded in an export's manifest."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("anchor"):
            values["anchor"] = (values["anchor"][0], float(values["anchor"][1]))
        values["exclude"] = tuple(values.get("exclude") or ())
        return cls(**values)


@dataclass(frozen=True)
class Row:
    rank: int
    model: str
    rating: float
    lower: float
    upper: float
    votes: int
    win_rate: float
    worst_rank: int = 0  # the lowest rank the intervals allow (rank is the highest)
    provisional: bool = False  # too few votes or too wide an interval (Settings)
    organization: str | None = None
    license: str | None = None
    url: str | None = None
    price_in: float | None = None  # USD per million tokens
    price_out: float | None = None
    knowledge_cutoff: str | None = None
    retired: bool = False  # out of the arena's draw, kept on the board
    # The arena's latest endpoint audit of the model: date, verdict, kind, reference.
    audit: Mapping[str, Any] | None = None


METADATA = (
    "organization",
    "license",
    "url",
    "price_in",
    "price_out",
    "knowledge_cutoff",
    "retired",
    "audit",
)  # Row fields the caller's metadata fills


@dataclass
class Leaderboard:
    """Rows of the largest connected component, ranked; ``others`` holds each smaller
    component's rows, ranked within it and never against the main board."""

    rows: list[Row]
    others: list[list[Row]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"manifest": self.manifest, "rows": [asdict(r) for r in self.rows]}
        if self.others:
            data["disconnected"] = [[asdict(r) for r in group] for group in self.others]
        return data


def select_battles(
    table: BattleTable, settings: Settings, report: dict[str, Any] | None = None
) -> BattleTable:
    """The battles ``settings`` asks to rate (anonymous, valid, in range, category...),
    with very frequent prompts capped and, if asked, anomalous voters and suspected
    campaigns left out (``report`` gets the campaigns and the votes left out)."""
    mask = np.ones(len(table), dtype=bool)
    if settings.anony_only:
        mask &= table.anony
    valid = table.column("valid")
    if not settings.include_invalid and valid is not None:
        mask &= valid.astype(bool)
    stamps = table.column("tstamp")
    if settings.since is not None or settings.until is not None:
        if stamps is None:
            raise LeaderboardError("a time range needs a tstamp column, which these battles lack")
        if settings.since is not None:
            mask &= stamps >= settings.since
        if settings.until is not None:
            mask &= stamps < settings.until
    if settings.exclude:
        unknown = sorted(set(settings.exclude) - set(table.models))
        if unknown:
            raise LeaderboardError(f"cannot exclude unknown model(s) {', '.join(unknown)}")
        dropped = np.isin(np.asarray(table.models, dtype=object), list(settings.exclude))
        mask &= ~dropped[table.a] & ~dropped[table.b]
    if settings.category:
        mask &= category_mask(table, settings.category)
    mask &= table.a != table.b  # a model against itself carries no information
    table = table.select(mask)
    repeats = repeated_prompt_mask(table, settings.repeat_quantile, settings.seed)
    if not repeats.all():
        table = table.select(repeats)
    if settings.exclude_anomalous:  # raises, naming it, when there is no voter column
        scores = anomalous_voters(table, alpha=settings.anomaly_alpha, seed=settings.seed)
        flagged = [s.voter for s in scores if s.flagged]
        voters = table.column("voter")
        if flagged and voters is not None:
            table = table.select(~np.isin(voters.astype(str), flagged))
    if settings.exclude_campaigns:  # raises, naming it, when there is no voter column
        campaigns = suspected_campaigns(table, alpha=settings.campaign_alpha)
        hit = campaign_mask(table, campaigns)
        if report is not None:
            report["campaigns"] = [asdict(c) for c in campaigns]
            report["campaign_votes_excluded"] = int(hit.sum())
        if hit.any():
            table = table.select(~hit)
    return table


def build_leaderboard(
    table: BattleTable,
    settings: Settings | None = None,
    *,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = False,
) -> Leaderboard:
    """Compute a leaderboard with confidence intervals.

    Args:
        table: the battles.
        settings: method, intervals, filters (defaults: Bradley–Terry, sandwich 95%,
            anonymous valid battles only).
        metadata: per model name, optional values of the rows' :data:`METADATA` fields
            (organization, license, url, prices, knowledge cutoff, retired, and the
            arena's latest endpoint audit: date, verdict, kind, reference).
        progress: show a progress bar for long work (bootstrap) on standard error.

    Returns:
        The leaderboard; an empty one (no rows) when no battle is left after filtering.
    """
    settings = settings or Settings()
    total = len(table)
    self_battles = int((table.a == table.b).sum())
    report: dict[str, Any] = {}
    table = select_battles(table, settings, report)
    manifest: dict[str, Any] = {
        "battles_sha256": table.sha256(),
        "battles": len(table),
        "battles_read": total,
        "method": settings.method,
        "settings": {**asdict(settings), "interval": settings.resolved_interval},
        "rating_scale": "400 * log10(strength) + 1000",
        "software": {"ratings": __version__},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "warnings": [],
        **report,
    }
    if settings.exclude_campaigns:
        manifest["defences"] = [
            f"campaign screen (alpha {settings.campaign_alpha:g}): "
            f"{report.get('campaign_votes_excluded', 0)} votes of "
            f"{len(report.get('campaigns', []))} suspected campaign(s) left out"
        ]
    if self_battles:
        manifest["warnings"].append(
            f"{self_battles} battle(s) of a model against itself "
            "carry no information and were left out"
        )
    if len(table) == 0:
        return Leaderboard([], [], manifest)
    if settings.anchor and settings.anchor[0] not in table.models:
        raise LeaderboardError(f"anchor model {settings.anchor[0]!r} has no battles here")
    counts = PairCounts.from_table(table)
    votes, win_rate = _votes_and_win_rate(counts)
    groups = components(counts)
    boards = []
    for index in groups:
        rating, lower, upper = _component(table, counts, index, settings, manifest, progress)
        boards.append(
            _rows(table, index, rating, lower, upper, votes, win_rate, metadata or {}, settings)
        )
    if len(groups) > 1:
        manifest["warnings"].append(
            f"the comparison graph has {len(groups)} components that never meet; the board ranks "
            f"the largest ({groups[0].size} models) and reports the others apart"
        )
    return Leaderboard(boards[0], boards[1:], manifest)


def category_boards(
    table: BattleTable,
    settings: Settings | None = None,
    *,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    min_battles: int = 1,
) -> dict[str, Leaderboard]:
    """One board per category the battles have (see :mod:`ratings.categories`)."""
    from dataclasses import replace

    from ratings.categories import list_categories

    settings = settings or Settings()
    base = replace(settings, category=None)
    pool = select_battles(table, base)
    return {
        name: build_leaderboard(table, replace(settings, category=name), metadata=metadata)
        for name in list_categories(pool, min_battles)
    }


def _component(
    table: BattleTable,
    counts: PairCounts,
    index: np.ndarray,
    settings: Settings,
    manifest: dict[str, Any],
    progress: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ratings and interval bounds for one connected component, shape (size,) each, by
    the method of ``settings`` (:data:`ratings.methods.METHODS`); what the method
    reports (warnings, fitted extras) goes into ``manifest`` here, in one place."""
    names = [table.models[i] for i in index]
    if index.size == 1:
        one = np.array([INITIAL_RATING])
        return one, one, one
    sub_counts = counts.sub(index)
    if settings.inverse_pair_weights:
        sub_counts = sub_counts.inverse_pair_weighted()
    interval = settings.resolved_interval
    l2 = settings.l2
    warnings = []
    if METHODS[settings.method].likelihood and l2 == 0.0 and not mle_exists(sub_counts):
        l2 = FALLBACK_L2
        interval = "fisher" if interval == "sandwich" else interval
        shown = ", ".join(names[:5]) + ("…" if len(names) > 5 else "")
        warnings.append(
            f"in {{{shown}}} some model never lost (or never won) against the rest, so plain "
            f"maximum likelihood has no finite answer; a weak prior (l2={l2}) and "
            f"{interval} intervals were used there"
        )

    def battles() -> BattleTable:
        inside = np.zeros(len(table.models), dtype=bool)
        inside[index] = True
        return table.select(inside[table.a])

    part = Component(names, sub_counts, battles, l2, interval)
    estimate = method_of(settings)(part, settings, progress)
    manifest["warnings"] += warnings + estimate.warnings
    for key, value in estimate.notes.items():
        manifest.setdefault(key, []).append(value)
    return estimate.rating, estimate.lower, estimate.upper


def _rows(
    table: BattleTable,
    index: np.ndarray,
    rating: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    votes: np.ndarray,
    win_rate: np.ndarray,
    metadata: Mapping[str, Mapping[str, Any]],
    settings: Settings,
) -> list[Row]:
    names = [table.models[i] for i in index]
    ranks = 1 + (lower[None, :] > upper[:, None]).sum(axis=1)
    # The worst rank: behind every model not confidently worse (upper bound below ours).
    worst = len(names) - (upper[None, :] < lower[:, None]).sum(axis=1)
    order = np.lexsort((np.asarray(names), -rating, ranks))
    rows = []
    for k in order:
        count, width = int(votes[index[k]]), float(upper[k] - lower[k])
        extra: dict[str, Any] = {f: metadata.get(names[k], {}).get(f) or None for f in METADATA}
        extra["retired"] = bool(extra["retired"])
        rows.append(
            Row(
                rank=int(ranks[k]),
                model=names[k],
                rating=float(rating[k]),
                lower=float(lower[k]),
                upper=float(upper[k]),
                votes=count,
                win_rate=float(win_rate[index[k]]),
                worst_rank=int(worst[k]),
                provisional=count < settings.provisional_votes
                or (settings.provisional_width > 0 and not width <= settings.provisional_width),
                **extra,
            )
        )
    return rows


def _votes_and_win_rate(counts: PairCounts) -> tuple[np.ndarray, np.ndarray]:
    """Battles per model, and the share of them it won (a tie counts half)."""
    votes = counts.battles.sum(axis=1)
    points = counts.effective_wins.sum(axis=1)
    return votes.astype(int), np.where(votes > 0, points / np.maximum(votes, 1), 0.0)
