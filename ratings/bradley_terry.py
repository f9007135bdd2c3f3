"""Bradley–Terry maximum likelihood on aggregated pair counts.

Model: model i beats model j with probability ``p_ij = σ(θ_i − θ_j)`` (σ the logistic
function, θ in natural-log strength units). A tie counts as half a win for each side
(so does a "both bad" vote). With ``E`` the matrix of effective wins
(``E_ij`` = wins of i over j + ½ ties between them) and ``N = E + Eᵀ``, the
log-likelihood is

    L(θ) = Σ_ij E_ij log σ(θ_i − θ_j)

It is concave; we maximise it by Newton's method on the subspace Σθ = 0 (the fit fixes
only differences), which converges to the exact optimum in a handful of steps. The
work per step is O(m²) for m models, independent of the number of battles once they
are counted.

Intervals come from the sandwich (robust) covariance ``A⁺ B A⁺``: ``A`` is the Fisher
information (the graph Laplacian with weights ``N_ij p_ij (1 − p_ij)``), ``B`` the sum of
outer products of per-battle scores (the Laplacian with weights
``Σ_battles (y − p_ij)²``), and ``⁺`` the pseudo-inverse on the subspace Σθ = 0. The
sandwich stays honest when ties make the Bernoulli model only approximately right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ratings._numeric import backtrack, expit, log_expit, weak_components
from ratings.battles import MODEL_A, MODEL_B, BattleTable

__all__ = ["BTFit", "PairCounts", "components", "fit_bradley_terry", "zermelo"]


@dataclass(frozen=True)
class PairCounts:
    """Battle outcomes aggregated per ordered pair of models.

    Attributes:
        wins: shape (m, m); ``wins[i, j]`` is how often i beat j (as A or as B).
        ties: shape (m, m), symmetric; ties and both-bad votes between i and j.
    """

    wins: np.ndarray
    ties: np.ndarray
    # Optional weight of each battle of a pair, shape (m, m), symmetric (None: 1 each):
    # :meth:`inverse_pair_weighted` makes every compared pair count alike.
    weight: np.ndarray | None = None

    @classmethod
    def from_table(cls, table: BattleTable) -> PairCounts:
        """Count in one pass: a ``bincount`` over the code (A, B, outcome)."""
        m = len(table.models)
        code = (table.a.astype(np.int64) * m + table.b) * 4 + table.outcome
        cells = np.bincount(code, minlength=m * m * 4).reshape(m, m, 4).astype(float)
        wins = cells[:, :, MODEL_A] + cells[:, :, MODEL_B].T
        ties = cells[:, :, 2] + cells[:, :, 3]
        return cls(wins, ties + ties.T)

    @property
    def effective_wins(self) -> np.ndarray:
        """``E = wins + ties / 2``, shape (m, m)."""
        return self.wins + 0.5 * self.ties

    @property
    def battles(self) -> np.ndarray:
        """``N_ij``, battles between i and j, shape (m, m), symmetric."""
        return self.wins + self.wins.T + self.ties

    def sub(self, index: np.ndarray) -> PairCounts:
        cells = np.ix_(index, index)
        weight = None if self.weight is None else self.weight[cells]
        return PairCounts(self.wins[cells], self.ties[cells], weight)

    def inverse_pair_weighted(self) -> PairCounts:
        """Each battle weighted by 1 / (battles of its pair), scaled so the weights sum
        to the number of battles: every pair that met counts alike, however often it
        was drawn (LMArena's 2025 reweighting, so that new and retired models are rated
        on equal terms)."""
        n = self.battles
        met = n > 0
        pairs = met.sum() / 2
        weight = np.zeros_like(n)
        weight[met] = (n.sum() / 2) / pairs / n[met]
        return PairCounts(self.wins, self.ties, weight)


@dataclass(frozen=True)
class BTFit:
    """A Bradley–Terry fit on one connected set of models.

    Attributes:
        theta: shape (m,), natural-log strengths, summing to zero.
        cov: shape (m, m), covariance of ``theta`` (sandwich unless asked otherwise).
        iterations: Newton steps taken.
        max_gradient: largest |∂L/∂θ_i| at the answer, in votes.
        log_likelihood: L(θ) at the answer.
    """

    theta: np.ndarray
    cov: np.ndarray | None
    iterations: int
    max_gradient: float
    log_likelihood: float


def components(counts: PairCounts) -> list[np.ndarray]:
    """The connected components of the comparison graph, largest first (by models,
    then by battles). Ratings in different components cannot be compared."""
    n_battles = counts.battles
    groups = weak_components(n_battles > 0)
    return sorted(groups, key=lambda g: (-g.size, -n_battles[np.ix_(g, g)].sum(), g[0]))


def _log_likelihood(theta: np.ndarray, e: np.ndarray, l2: float) -> float:
    diff = theta[:, None] - theta[None, :]
    return float((e * log_expit(diff)).sum() - 0.5 * l2 * theta @ theta)


def fit_bradley_terry(
    counts: PairCounts,
    *,
    l2: float = 0.0,
    tol: float = 1e-9,
    max_iter: int = 200,
    interval: str | None = "sandwich",
    start: np.ndarray | None = None,
) -> BTFit:
    """Maximum-likelihood Bradley–Terry strengths for one connected set of models.

    Args:
        counts: pair counts of a connected comparison graph with m models.
        l2: optional ridge penalty ``½·l2·‖θ‖²`` (0 = plain maximum likelihood). Needed
            only when the MLE does not exist (a model that never lost, say).
        tol: stop when the largest gradient component is below this many votes.
        max_iter: Newton steps at most.
        interval: ``"sandwich"`` (robust), ``"fisher"`` (inverse information), or
            ``None`` to skip the covariance (bootstrap rounds).
        start: a starting point (warm start), shape (m,).

    Returns:
        The fit, with θ centred to sum zero.
    """
    weight = 1.0 if counts.weight is None else counts.weight
    e = counts.effective_wins * weight
    n = counts.battles * weight
    m = e.shape[0]
    theta = np.zeros(m) if start is None else start - start.mean()
    ones = np.full((m, m), 1.0 / m)
    loglik = _log_likelihood(theta, e, l2)
    iterations = 0
    while True:
        p = expit(theta[:, None] - theta[None, :])
        grad = (e - n * p).sum(axis=1) - l2 * theta
        if np.abs(grad).max() < tol or iterations == max_iter:
            break
        iterations += 1
        info = _laplacian(n * p * p.T) + l2 * np.eye(m)
        step = np.linalg.solve(info + ones, grad)
        step -= step.mean()
        candidate, loglik = backtrack(theta, step, lambda t: _log_likelihood(t, e, l2), loglik)
        theta = candidate - candidate.mean()
    if interval is None:
        return BTFit(theta, None, iterations, float(np.abs(grad).max()), loglik)
    p = expit(theta[:, None] - theta[None, :])
    info = _laplacian(n * p * p.T) + l2 * np.eye(m)
    inv = np.linalg.inv(info + ones) - ones
    if interval == "fisher":
        cov = inv
    elif interval == "sandwich":
        # Weighted battles: each score term is scaled by its weight, its square in the meat.
        cov = inv @ _laplacian(_squared_residuals(counts, p) * weight**2) @ inv
    else:
        raise ValueError(f"unknown interval method {interval!r}; expected sandwich or fisher")
    return BTFit(theta, cov, iterations, float(np.abs(grad).max()), loglik)


def _laplacian(weights: np.ndarray) -> np.ndarray:
    """Graph Laplacian ``diag(Σ_j w_ij) − w`` of a symmetric weight matrix."""
    lap = -weights.copy()
    np.fill_diagonal(lap, 0.0)
    np.fill_diagonal(lap, -lap.sum(axis=1))
    return lap


def _squared_residuals(counts: PairCounts, p: np.ndarray) -> np.ndarray:
    """``Σ_battles (y − p_ij)²`` per pair, y = 1 for a win of i, 0 for a loss, ½ for a tie."""
    w = counts.wins
    return w * (1 - p) ** 2 + w.T * p**2 + counts.ties * (0.5 - p) ** 2


def zermelo(counts: PairCounts, *, limit: int = 100, tol: float = 1e-6) -> tuple[np.ndarray, int]:
    """Zermelo's minorise–maximise iteration, the way evalica (and so the LLMFAO
    notebook) computes Bradley–Terry: ``s_i ← W_i / Σ_j N_ij / (s_i + s_j)``, normalised to
    sum 1, stopping when the L1 change is below ``tol`` or after ``limit`` steps.

    It converges slowly on lopsided data; with evalica's cap of 100 steps it can stop
    far from the optimum (LLMFAO's GPT-4 judge: 7.3e-3 off). Use it to reproduce
    published numbers; use :func:`fit_bradley_terry` for the exact answer.

    Returns:
        The strengths, shape (m,), summing to 1, and the steps taken.
    """
    e = counts.effective_wins
    n = counts.battles
    wins = e.sum(axis=1)
    s = np.full(e.shape[0], 1.0 / e.shape[0])
    steps = 0
    for steps in range(1, limit + 1):  # noqa: B007 - steps is the result
        new = wins / (n / (s[:, None] + s[None, :])).sum(axis=1)
        new /= new.sum()
        change = np.abs(new - s).sum()
        s = new
        if change < tol:
            break
    return s, steps
