"""Anomalous voters, and prompts repeated so often that they would weigh too much.

**Anomalous voters** (the Chatbot Arena paper's test, Chiang et al. 2024): fit the
ratings, then give each decisive vote a randomised p-value for "a vote this
improbable". If the ratings give the less likely outcome of that battle probability s,

    p = U · s              for a vote for the less likely side
    p = s + U · (1 − s)    for a vote for the more likely side

(U uniform on (0, 1), seeded per voter so the report is reproducible), which is
exactly Uniform(0, 1) for a voter who votes as the ratings predict. A voter's votes
are combined by Fisher's method, X = −2 Σ ln pᵢ, which for such a voter follows χ²
with 2k degrees of freedom. Fisher's test is strong against a voter who picks the
weaker model on purpose but weak against one who flips coins, so a second test counts
the voter's upsets against the number the ratings expect (one-sided, normal
approximation). A voter's p-value is twice the smaller of the two; the voter is flagged
when it is below ``alpha`` divided by the number of voters tested (Bonferroni), so
``alpha`` bounds the chance that any honest voter at all is flagged.

**Repeated prompts**: the prompt everyone tries first ("hi", a riddle from social
media) would otherwise decide a large share of the board. As LMArena does for its most
frequent 0.1%, prompts are ranked by how many battles they started; each keeps at most
as many battles as the prompt at the ``quantile`` (0.999), a prompt over that cap a
seeded random sample of that many.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from hashlib import sha256

import numpy as np

from ratings.battles import BattleTable
from ratings.bradley_terry import PairCounts, fit_bradley_terry
from ratings.errors import LeaderboardError

__all__ = ["VoterScore", "anomalous_voters", "repeated_prompt_mask"]


@dataclass(frozen=True)
class VoterScore:
    """One voter's decisive votes tested against the ratings."""

    voter: str
    votes: int  # decisive votes tested
    upsets: int  # votes for the side the ratings gave under even odds
    statistic: float  # Fisher's X = -2 Σ ln p
    p_value: float  # twice the smaller of Fisher's P(χ²(2·votes) ≥ X) and the upset count's
    flagged: bool


def anomalous_voters(
    table: BattleTable, *, alpha: float = 0.01, min_votes: int = 10, seed: int = 0
) -> list[VoterScore]:
    """Every voter with at least ``min_votes`` decisive votes, most anomalous first.

    ``table`` needs a ``voter`` column (the arena stores a salted hash). Ties carry
    no direction and are not tested. The ratings are fitted twice: on every vote, then
    without the voters the first pass flagged (their votes had pulled the ratings
    towards their own).

    Raises:
        LeaderboardError: the table has no voter column.
    """
    voters = table.column("voter")
    if voters is None:
        raise LeaderboardError("finding anomalous voters needs a voter column in the battles")
    if not (table.outcome < 2).any():
        return []
    voters = voters.astype(str)
    scores = _scores(table, voters, _fit(table), alpha, min_votes, seed)
    flagged = [s.voter for s in scores if s.flagged]
    if flagged:
        honest = table.select(~np.isin(voters, flagged))
        if (honest.outcome < 2).any():
            theta = dict(zip(honest.models, _fit(honest), strict=True))
            refit = np.array([theta.get(name, 0.0) for name in table.models])
            scores = _scores(table, voters, refit, alpha, min_votes, seed)
    return scores


def _fit(table: BattleTable) -> np.ndarray:
    # A little regularisation keeps a model that never lost (or never won) finite.
    return fit_bradley_terry(PairCounts.from_table(table), l2=1e-3).theta


def _scores(
    table: BattleTable,
    voters: np.ndarray,
    theta: np.ndarray,
    alpha: float,
    min_votes: int,
    seed: int,
) -> list[VoterScore]:
    from scipy.stats import chi2, norm  # here, not at import: SciPy costs ~1 s of start-up

    decisive = table.outcome < 2
    winner = np.where(table.outcome == 0, table.a, table.b)[decisive]
    loser = np.where(table.outcome == 0, table.b, table.a)[decisive]
    q = 1.0 / (1.0 + np.exp(theta[loser] - theta[winner]))  # P(the chosen side wins)
    names, index = np.unique(voters[decisive], return_inverse=True)
    scores = []
    for v, name in enumerate(names):
        mine = q[index == v]
        if mine.size < min_votes:
            continue
        u = np.random.default_rng(_seed(name, seed)).random(mine.size)
        upset = mine < 1 - mine
        p = np.where(upset, u * mine, (1 - mine) + u * mine)
        statistic = float(-2 * np.log(np.maximum(p, 1e-300)).sum())
        fisher = float(chi2.sf(statistic, 2 * mine.size))
        # Upsets against their expected number (a normal approximation to the
        # Poisson-binomial count): sharper than Fisher against a voter who flips coins.
        s = np.minimum(mine, 1 - mine)
        z = (upset.sum() - s.sum()) / max(float(np.sqrt((s * (1 - s)).sum())), 1e-12)
        count = float(norm.sf(z))
        p_value = min(1.0, 2 * min(fisher, count))  # two tests: Bonferroni again
        scores.append((name, mine.size, int(upset.sum()), statistic, p_value))
    tested = max(len(scores), 1)
    out = [
        VoterScore(str(name), n, upsets, x, pv, pv < alpha / tested)
        for name, n, upsets, x, pv in scores
    ]
    return sorted(out, key=lambda s: s.p_value)


def _seed(voter: str, seed: int) -> int:
    return int.from_bytes(sha256(f"{seed}:{voter}".encode()).digest()[:8], "little")


def repeated_prompt_mask(table: BattleTable, quantile: float, seed: int = 0) -> np.ndarray:
    """Which battles to keep so that no prompt has more battles than the prompt at the
    ``quantile`` of prompts ranked by frequency (all kept when ``quantile`` ≥ 1 or the
    table has no prompts).

    Prompts are compared after case folding and collapsing whitespace; a table with a
    ``cluster`` column (a public release's near-duplicate clusters) is capped per
    cluster instead."""
    keep = np.ones(len(table), dtype=bool)
    prompts, clusters = table.column("prompt"), table.column("cluster")
    if (prompts is None and clusters is None) or quantile >= 1 or len(table) == 0:
        return keep
    if clusters is not None:
        normal = np.array([str(int(c)) if c == c else "" for c in clusters])  # NaN: none
    else:
        assert prompts is not None  # one of the two is (checked above)
        normal = np.array([re.sub(r"\s+", " ", str(p)).strip().casefold() for p in prompts])
    unique, index, counts = np.unique(normal, return_inverse=True, return_counts=True)
    # The count of the prompt at the quantile of prompts by frequency (an observed
    # count, so fewer than 1/(1 - quantile) distinct prompts are never capped).
    cap = max(int(np.quantile(counts, quantile, method="higher")), 1)
    rng = np.random.default_rng(seed)
    for u in np.flatnonzero(counts > cap):
        if not unique[u]:
            continue  # battles without a stored prompt are not one repeated prompt
        rows = np.flatnonzero(index == u)
        keep[rng.choice(rows, size=rows.size - cap, replace=False)] = False
    return keep
