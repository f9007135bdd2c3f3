"""The rating methods, one registry: each takes one connected component of the
comparison graph and returns its ratings, their interval bounds, and what it has to
report (warnings for the manifest, fitted extras such as Davidson's tie parameter or
the style coefficients). ``Settings.method`` names one of :data:`METHODS`;
``bradley-terry`` with ``style=True`` is the contextual model of
:mod:`ratings.contextual`.

Add a method by writing ``def mine(part, settings, progress) -> Estimate`` and one
:class:`RatingMethod` entry in :data:`METHODS`, which says what it supports (its
intervals and default, style control, pair weights); ``ratings.leaderboard.Settings``
checks a request against it and the command line offers every entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Protocol

import numpy as np

from ratings._numeric import reachable
from ratings.battles import BattleTable
from ratings.bootstrap import bootstrap_thetas
from ratings.bradley_terry import PairCounts, fit_bradley_terry
from ratings.contextual import fit_contextual, style_features
from ratings.davidson import fit_davidson
from ratings.elo import online_elo
from ratings.errors import LeaderboardError


class Settings(Protocol):
    """What a rating method reads of :class:`ratings.leaderboard.Settings` (a protocol,
    so this module does not import the one that imports it)."""

    @property
    def method(self) -> str: ...
    @property
    def level(self) -> float: ...
    @property
    def rounds(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def style(self) -> bool: ...
    @property
    def anchor(self) -> tuple[str, float] | None: ...
    @property
    def elo_k(self) -> float: ...
    @property
    def resolved_interval(self) -> str: ...


__all__ = [
    "INTERVALS",
    "METHODS",
    "Component",
    "Estimate",
    "RatingMethod",
    "method_of",
    "mle_exists",
]

INTERVALS = ("sandwich", "fisher", "bootstrap", "none")

SCALE = 400.0 / math.log(10.0)
INITIAL_RATING = 1000.0
# When some model never lost (or never won) the maximum-likelihood ratings are infinite.
# Then a weak Gaussian prior on θ (σ = 1/√0.05 ≈ 4.5 nats ≈ 1,900 rating points) keeps
# them finite, and intervals come from the posterior curvature (Fisher): the sandwich
# collapses to almost nothing when every residual is near zero, which would claim a
# precision that one or two votes cannot give.
FALLBACK_L2 = 0.05


@dataclass(frozen=True)
class Component:
    """One connected piece of the comparison graph, as a method sees it."""

    names: list[str]
    counts: PairCounts  # its pair counts
    battles: Callable[[], BattleTable]  # its battles, selected when a method needs them
    l2: float  # the prior to fit with (raised when plain maximum likelihood has no answer)
    interval: str  # sandwich | fisher | bootstrap | none


@dataclass
class Estimate:
    """A method's answer for one component: rating and bounds, shape (size,) each."""

    rating: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    warnings: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)  # manifest key -> this part's value


Method = Callable[[Component, Settings, bool], Estimate]


def bradley_terry(part: Component, settings: Settings, progress: bool) -> Estimate:
    """Maximum likelihood on pair counts, ties as half a win each; with ``style`` the
    contextual model that holds answer style equal."""
    if settings.style:
        return _styled(part, settings)
    l2, interval = part.l2, part.interval
    fit = fit_bradley_terry(
        part.counts, l2=l2, interval=None if interval == "bootstrap" else interval
    )
    if interval != "bootstrap":
        return _from_cov(fit.theta, fit.cov, part.names, settings)
    samples = bootstrap_thetas(
        part.counts,
        lambda c: (
            fit_bradley_terry(
                c,
                l2=max(l2, 0.0 if mle_exists(c) else FALLBACK_L2),
                interval=None,
                start=fit.theta,
            ).theta
        ),
        rounds=settings.rounds,
        seed=settings.seed,
        progress=progress,
    )
    return _from_samples(fit.theta, samples, part.names, settings)


def _styled(part: Component, settings: Settings) -> Estimate:
    battles = part.battles()
    x, feature_names = style_features(battles)
    if not feature_names:
        raise LeaderboardError(
            "style control needs per-side style columns (len_a/len_b, "
            "headers_a/_b, lists_a/_b, bold_a/_b), which these battles lack"
        )
    size = len(part.names)
    fit = fit_contextual(battles, x, l2=part.l2, interval=part.interval)
    se = np.sqrt(np.clip(np.diag(fit.cov)[size:], 0, None))
    estimate = _from_cov(fit.theta, fit.cov[:size, :size], part.names, settings)
    estimate.notes["style_coefficients"] = {
        name: {"coef": float(c), "se": float(s)}
        for name, c, s in zip(feature_names, fit.beta, se, strict=True)
    }
    return estimate


def davidson(part: Component, settings: Settings, progress: bool) -> Estimate:
    """Ties as an outcome of their own, with a fitted tie parameter ν."""
    fit = fit_davidson(part.counts, l2=part.l2)
    if part.interval == "bootstrap":
        samples = bootstrap_thetas(
            part.counts,
            lambda c: fit_davidson(c, l2=part.l2).theta,
            rounds=settings.rounds,
            seed=settings.seed,
            progress=progress,
        )
        estimate = _from_samples(fit.theta, samples, part.names, settings)
    else:
        estimate = _from_cov(fit.theta, fit.cov, part.names, settings)
    estimate.notes["davidson_nu"] = fit.nu
    return estimate


def elo(part: Component, settings: Settings, progress: bool) -> Estimate:
    """Online Elo in battle order (K = ``elo_k``); intervals by replaying resamples of
    the battles (FastChat's method) when asked."""
    sub = part.battles()
    stamps = sub.column("tstamp")
    order = np.argsort(stamps, kind="stable") if stamps is not None else None
    rating = online_elo(sub, k=settings.elo_k, order=order)
    names = list(sub.models)
    rating = _anchored(rating[None, :], names, settings.anchor)[0]
    if settings.resolved_interval == "none":
        return Estimate(rating, rating, rating)
    rng = np.random.default_rng(settings.seed)
    rounds: Any = range(settings.rounds)
    if progress:
        from tqdm import tqdm

        rounds = tqdm(rounds, desc="bootstrap", unit="round", leave=False)
    draws = []
    for _ in rounds:  # FastChat's method: replay a resample of the battles
        pick = np.sort(rng.integers(0, len(sub), len(sub)))
        draws.append(
            online_elo(sub, k=settings.elo_k, order=pick if order is None else order[pick])
        )
    tail = (1 - settings.level) / 2 * 100
    draws_arr = _anchored(np.vstack(draws), names, settings.anchor)
    lower, upper = np.percentile(draws_arr, [tail, 100 - tail], axis=0)
    return Estimate(rating, np.minimum(lower, rating), np.maximum(upper, rating))


@dataclass(frozen=True)
class RatingMethod:
    """A rating method and what it supports."""

    fit: Method
    default_interval: str
    intervals: tuple[str, ...] = INTERVALS  # the intervals it can give
    # A maximum-likelihood fit: where some model never lost (or never won) it takes a
    # weak prior instead (FALLBACK_L2), as ratings.leaderboard applies.
    likelihood: bool = True
    style: bool = False  # style control (with sandwich or Fisher intervals)
    pair_weights: bool = False  # inverse pair weights (with sandwich or Fisher, no style)


METHODS: dict[str, RatingMethod] = {
    "bradley-terry": RatingMethod(bradley_terry, "sandwich", style=True, pair_weights=True),
    "davidson": RatingMethod(davidson, "fisher"),
    "elo": RatingMethod(elo, "none", ("bootstrap", "none"), likelihood=False),
}


def method_of(settings: Settings) -> Method:
    return METHODS[settings.method].fit


def _from_cov(
    theta: np.ndarray, cov: np.ndarray | None, names: list[str], settings: Settings
) -> Estimate:
    """Ratings and normal intervals from a fit's covariance (on the rating scale)."""
    assert cov is not None
    rating, scaled = _anchor(SCALE * theta + INITIAL_RATING, SCALE**2 * cov, names, settings.anchor)
    z = NormalDist().inv_cdf(0.5 + settings.level / 2)
    se = np.sqrt(np.clip(np.diag(scaled), 0.0, None))
    return Estimate(rating, rating - z * se, rating + z * se)


def _from_samples(
    theta: np.ndarray, samples: np.ndarray, names: list[str], settings: Settings
) -> Estimate:
    """Ratings and percentile intervals from bootstrap draws of θ."""
    rating = SCALE * theta + INITIAL_RATING
    draws = _anchored(SCALE * samples + INITIAL_RATING, names, settings.anchor)
    tail = (1 - settings.level) / 2 * 100
    lower, upper = np.percentile(draws, [tail, 100 - tail], axis=0)
    rating = _anchored(rating[None, :], names, settings.anchor)[0]
    return Estimate(rating, np.minimum(lower, rating), np.maximum(upper, rating))


def _anchored(draws: np.ndarray, names: list[str], anchor: tuple[str, float] | None) -> np.ndarray:
    """Shift each row of ``draws`` (shape (r, m)) so the anchor model has its value."""
    if anchor is None or anchor[0] not in names:
        return draws
    k = names.index(anchor[0])
    return draws - draws[:, [k]] + anchor[1]


def _anchor(
    rating: np.ndarray, cov: np.ndarray, names: list[str], anchor: tuple[str, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Shift ratings so the anchor model has its fixed value; intervals then measure
    uncertainty relative to the anchor (Var(θ_i − θ_a))."""
    if anchor is None or anchor[0] not in names:
        return rating, cov
    k = names.index(anchor[0])
    shift = np.eye(len(names))
    shift[:, k] -= 1.0
    return rating - rating[k] + anchor[1], shift @ cov @ shift.T


def mle_exists(counts: PairCounts) -> bool:
    """The MLE is finite iff the directed 'won or tied against' graph is strongly connected."""
    beats = counts.effective_wins > 0
    return bool(reachable(beats, 0).all() and reachable(beats.T, 0).all())
