"""Suspected campaigns: browsers and addresses whose votes lift one model over the
models ranked around it far beyond what the ratings predict (a partiality test,
issue 22).

A model's owner who recognises their model (a watermark, a classifier: Huang et al.
2025 tell models apart with > 95% accuracy) can vote for it whenever it appears
(*target-only*), and in battles without it against the models just above it
(*omnipresent*, Min et al., ICML 2025). Either way the votes of the browsers and
addresses they use lean one way: X wins, its rivals lose.

The test. For each group g (one browser, or one address) and each direction "X over N"
(N one of the ``window`` models either side of X by rating), take g's decisive votes
in battles of X or of N; one *favours* the direction when X won or N lost. With
reference ratings θ, a vote favours it with the probability q the ratings give that
outcome, so the count F of favouring votes among the n counted is a sum of independent
Bernoulli(qᵢ) for a group that votes as the ratings predict. Chernoff's bound

    P(F ≥ f) ≤ exp(−n · KL(f/n ‖ q̄)),   q̄ = Σ qᵢ / n

holds for any such sum (no normal approximation: a few lucky upsets do not look like a
campaign). A group is flagged when the bound is below ``alpha`` / (groups tested ×
directions), so ``alpha`` bounds the chance that any honest browser or address at all
is flagged. Ties carry no direction and are not counted.

The reference ratings. Fitted on every vote, a campaign that casts most of its model's
votes pulls the ratings its way and hides (1,000 votes for a model with 500 honest ones
make them look expected). So the reference is a bounded-influence fit: a group with
n > ``INFLUENCE_CAP`` battles of a model has each of them weighted ``INFLUENCE_CAP`` / n
(weights that depend on who played which battles, never on the votes, so the fit still
estimates the honest ratings); and after a first look, the groups that look suspicious
at a loose level are left out of it and every group is tested again.

What it does not see: votes spread over so many browsers and addresses that none casts
enough for the test; omnipresent votes, most of which fall in battles that move the
target little, until a group casts hundreds (bench/rigging.py measures both); a
campaign that votes as the ratings predict (and so moves nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ratings.battles import BattleTable
from ratings.bradley_terry import PairCounts, fit_bradley_terry
from ratings.errors import LeaderboardError

__all__ = ["Campaign", "campaign_mask", "suspected_campaigns"]

SCALE = 400 / math.log(10)  # rating points per unit of θ


@dataclass(frozen=True)
class Campaign:
    """Browsers and addresses flagged for lifting one model."""

    model: str  # the model they favour
    browsers: list[str] = field(default_factory=list)  # keyed hashes
    addresses: list[str] = field(default_factory=list)
    votes: int = 0  # their votes in the battles read (ties too)
    shift: float = 0.0  # the model's rating with their votes minus without, in points
    p_value: float = 1.0  # the smallest Bernstein bound among them (before Bonferroni)


def suspected_campaigns(
    table: BattleTable, *, alpha: float = 0.01, min_votes: int = 10, window: int = 2
) -> list[Campaign]:
    """The campaigns in ``table``, largest shift first.

    ``table`` needs a ``voter`` column; an ``address`` column (the arena's keyed hash of
    the IP address, "" for none) adds the addresses as groups of their own.

    Raises:
        LeaderboardError: the table has no voter column.
    """
    voters = table.column("voter")
    if voters is None:
        raise LeaderboardError("finding campaigns needs a voter column in the battles")
    groups, kinds, index = _groups(table)
    flagged = _flag(table, index, len(groups), alpha, min_votes, window)
    by_model: dict[int, list[tuple[int, float]]] = {}
    for g, model, p in flagged:
        by_model.setdefault(model, []).append((g, p))
    out = []
    for model, members in by_model.items():
        hit = campaign_mask_of(index, [g for g, _ in members])
        out.append(
            Campaign(
                model=table.models[model],
                browsers=sorted(groups[g] for g, _ in members if kinds[g] == "browser"),
                addresses=sorted(groups[g] for g, _ in members if kinds[g] == "address"),
                votes=int(hit.sum()),
                shift=_shift(table, hit, model),
                p_value=min(p for _, p in members),
            )
        )
    return sorted(out, key=lambda c: -c.shift)


def campaign_mask(table: BattleTable, campaigns: list[Campaign]) -> np.ndarray:
    """Which battles the ``campaigns``' browsers and addresses voted in."""
    hit = np.zeros(len(table), dtype=bool)
    voters, addresses = table.column("voter"), table.column("address")
    browsers = [b for c in campaigns for b in c.browsers]
    places = [a for c in campaigns for a in c.addresses]
    if voters is not None and browsers:
        hit |= np.isin(voters.astype(str), browsers)
    if addresses is not None and places:
        hit |= np.isin(addresses.astype(str), places)
    return hit


def _groups(table: BattleTable) -> tuple[list[str], list[str], list[np.ndarray]]:
    """Group names, their kinds, and per kind each battle's group number (-1: none)."""
    names: list[str] = []
    kinds: list[str] = []
    index = []
    for kind, column in (("browser", "voter"), ("address", "address")):
        values = table.column(column)
        if values is None:
            continue
        values = values.astype(str)
        unique, inverse = np.unique(values, return_inverse=True)
        number = inverse + len(names)
        blank = unique == ""
        number[blank[inverse]] = -1
        names += unique.tolist()
        kinds += [kind] * unique.size
        index.append(number)
    return names, kinds, index


def campaign_mask_of(index: list[np.ndarray], members: list[int]) -> np.ndarray:
    hit = np.zeros(index[0].shape[0], dtype=bool)
    for number in index:
        hit |= np.isin(number, members)
    return hit


@dataclass
class _Evidence:
    """Every group's votes for each direction against one reference fit."""

    favoured: np.ndarray  # (groups, k): F, votes won by the side the direction favours
    expected: np.ndarray  # (groups, k): Σ q, what the ratings expect of F
    counted: np.ndarray  # (groups, k): the votes that move the direction's margin
    votes: np.ndarray  # (groups,): decisive votes


def _evidence(
    table: BattleTable, index: list[np.ndarray], n_groups: int, window: int, keep: np.ndarray
) -> _Evidence:
    """F, Σ q and the votes counted of every group for each direction "X over N" (N one
    of X's ``window`` neighbours either side by rating), shape (groups, m · 2·window):
    the group's decisive votes in battles of X or N, favouring the direction when X won
    or N lost, against the reference ratings (fitted on the battles in ``keep``, each
    weighted by :func:`_influence_weights`)."""
    m = len(table.models)
    weight = _influence_weights(table, index, n_groups) * keep
    theta = fit_bradley_terry(_weighted_counts(table, weight), l2=1e-3, interval=None).theta
    order = np.argsort(-theta)
    rank = np.empty(m, dtype=int)
    rank[order] = np.arange(m)
    offsets = [o for o in range(-window, window + 1) if o != 0]
    # rival[x, r]: the model `offsets[r]` places from x by rating (-1: off the board)
    rival = np.full((m, len(offsets)), -1)
    for r, o in enumerate(offsets):
        inside = (rank + o >= 0) & (rank + o < m)
        rival[inside, r] = order[rank[inside] + o]
    decisive = table.outcome < 2
    i, j = table.a[decisive], table.b[decisive]
    a_won = (table.outcome[decisive] == 0).astype(float)
    p = 1 / (1 + np.exp(theta[j] - theta[i]))  # P(A wins)
    shape = (n_groups, m)
    k = len(offsets)
    favoured, expected, counted = (np.zeros((n_groups, m * k)) for _ in range(3))
    votes = np.zeros(n_groups)
    for number in index:
        g = number[decisive]
        has = g >= 0
        g, ii, jj, y, pp = g[has], i[has], j[has], a_won[has], p[has]
        np.add.at(votes, g, 1)
        wins, chance, count = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for side, won, prob in ((ii, y, pp), (jj, 1 - y, 1 - pp)):
            np.add.at(wins, (g, side), won)
            np.add.at(chance, (g, side), prob)
            np.add.at(count, (g, side), 1)
        for r in range(k):
            columns = slice(r * m, (r + 1) * m)
            f, e, c = _direction(rival[:, r], g, ii, jj, y, pp, wins, chance, count)
            favoured[:, columns] += f
            expected[:, columns] += e
            counted[:, columns] += c
    return _Evidence(favoured, expected, counted, votes)


def _direction(
    rival: np.ndarray,
    g: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    a_won: np.ndarray,
    p: np.ndarray,
    wins: np.ndarray,
    chance: np.ndarray,
    count: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F, Σ q and n per group for "X over rival[X]", each of shape (groups, m), from the
    per-group, per-model wins, chances to win and battles (shape (groups, m)) and the
    group's votes (g, i, j, a_won, p: one value per decisive vote). A battle of X
    against its rival counts once (X won is the rival lost)."""
    shape = wins.shape
    both_w, both_p, both_c = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for x, other, won, prob in ((i, j, a_won, p), (j, i, 1 - a_won, 1 - p)):
        pair = rival[x] == other
        np.add.at(both_w, (g[pair], x[pair]), won[pair])
        np.add.at(both_p, (g[pair], x[pair]), prob[pair])
        np.add.at(both_c, (g[pair], x[pair]), 1)
    n = np.maximum(rival, 0)
    on = (rival >= 0)[None, :]
    favoured = on * (wins + count[:, n] - wins[:, n] - both_w)
    expected = on * (chance + count[:, n] - chance[:, n] - both_p)
    return favoured, expected, on * (count + count[:, n] - both_c)


def _tail(ev: _Evidence) -> np.ndarray:
    """Chernoff's bound on P(F ≥ f) for each group and direction, shape (groups, k):
    exp(−n · KL(f/n ‖ q̄)) for f/n above q̄ (1 otherwise), valid for any sum of n
    independent votes whose mean chance to favour the direction is q̄ (by Jensen, no
    such sum has a heavier upper tail than the binomial's Chernoff bound)."""
    n = np.maximum(ev.counted, 1)
    f = np.clip(ev.favoured / n, 1e-12, 1 - 1e-12)
    q = np.clip(ev.expected / n, 1e-12, 1 - 1e-12)
    kl = f * np.log(f / q) + (1 - f) * np.log((1 - f) / (1 - q))
    return np.where(f > q, np.exp(-n * kl), 1.0)


def _flag(
    table: BattleTable,
    index: list[np.ndarray],
    n_groups: int,
    alpha: float,
    min_votes: int,
    window: int,
) -> list[tuple[int, int, float]]:
    """(group, model it lifts, Chernoff bound) of every group flagged.

    A first look names candidates (a bound below ``LOOSE``); the reference ratings
    are fitted again without their votes (a campaign's votes pull the fit its way and
    so hide it), and every group is tested again against that fit at the
    Bonferroni level."""
    m = len(table.models)
    everything = np.ones(len(table), dtype=bool)
    first = _evidence(table, index, n_groups, window, everything)
    tested = first.votes >= min_votes
    if not tested.any():
        return []
    tail = _tail(first)
    tail[~tested] = 1.0
    candidates = np.flatnonzero((tail < LOOSE).any(axis=1))
    keep = ~campaign_mask_of(index, candidates.tolist()) if candidates.size else everything
    second = _evidence(table, index, n_groups, window, keep) if candidates.size else first
    tail = _tail(second)
    tail[~tested] = 1.0
    level = alpha / (int(tested.sum()) * tail.shape[1])
    out = []
    for group in np.flatnonzero((tail < level).any(axis=1)):
        direction = int(np.argmin(tail[group]))
        out.append((int(group), direction % m, float(tail[group, direction])))
    return out


LOOSE = 1e-3  # candidates for the second look: left out of its reference fit


INFLUENCE_CAP = 10.0  # votes of evidence one group gives the reference on any model


def _influence_weights(table: BattleTable, index: list[np.ndarray], n_groups: int) -> np.ndarray:
    """Each battle's weight in the reference fit, shape (battles,): a group (browser or
    address) with n > ``INFLUENCE_CAP`` battles of a model has each of them weighted
    ``INFLUENCE_CAP`` / n, the smallest such factor over its two models and both groups.
    The weights depend on who played which battles, never on the votes, so the weighted
    fit still estimates the honest ratings; a campaign's pull on it is bounded by
    ``INFLUENCE_CAP`` votes per group and model, so its votes stand out against it."""
    m = len(table.models)
    weight = np.ones(len(table))
    for number in index:
        has = number >= 0
        count = np.zeros((n_groups, m))
        np.add.at(count, (number[has], table.a[has]), 1)
        np.add.at(count, (number[has], table.b[has]), 1)
        most = np.maximum(count[number[has], table.a[has]], count[number[has], table.b[has]])
        weight[has] = np.minimum(weight[has], np.minimum(1.0, INFLUENCE_CAP / most))
    return weight


def _weighted_counts(table: BattleTable, weight: np.ndarray) -> PairCounts:
    """:meth:`PairCounts.from_table` with a weight per battle."""
    m = len(table.models)
    code = (table.a.astype(np.int64) * m + table.b) * 4 + table.outcome
    cells = np.bincount(code, weights=weight, minlength=m * m * 4).reshape(m, m, 4)
    wins = cells[:, :, 0] + cells[:, :, 1].T
    ties = cells[:, :, 2] + cells[:, :, 3]
    return PairCounts(wins, ties + ties.T)


def _shift(table: BattleTable, hit: np.ndarray, model: int) -> float:
    """The model's rating with the flagged votes minus without them, in points."""
    without = table.select(~hit)
    full = fit_bradley_terry(PairCounts.from_table(table), l2=1e-3, interval=None).theta
    if table.models[model] not in without.models:
        return float("nan")
    rest = fit_bradley_terry(PairCounts.from_table(without), l2=1e-3, interval=None).theta
    rest_model = without.models.index(table.models[model])
    # Both fits centre θ on their own models: compare against the models both rate.
    common = [table.models.index(name) for name in without.models]
    offset = full[common].mean() - rest.mean()
    return float(SCALE * (full[model] - rest[rest_model] - offset))
