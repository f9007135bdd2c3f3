"""The Davidson tie model: Bradley–Terry with ties as an outcome of their own.

With s = (θ_i − θ_j) / 2 and a tie parameter ν > 0:

    P(i wins) = e^s / Z,   P(j wins) = e^(−s) / Z,   P(tie) = ν / Z,   Z = e^s + e^(−s) + ν

so that, given a decisive vote, P(i wins | not a tie) = σ(θ_i − θ_j): ratings stay on
the Bradley–Terry scale, while ties no longer pull them together. Fitted by Newton's
method on (θ with Σθ = 0, log ν); intervals from the Fisher information.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ratings._numeric import backtrack
from ratings.bradley_terry import PairCounts

__all__ = ["DavidsonFit", "fit_davidson"]


@dataclass(frozen=True)
class DavidsonFit:
    theta: np.ndarray  # shape (m,), sums to zero
    nu: float
    cov: np.ndarray  # shape (m, m), of theta
    iterations: int
    max_gradient: float


def _terms(theta: np.ndarray, log_nu: float, counts: PairCounts):  # type: ignore[no-untyped-def]
    """Per-pair probabilities and the log-likelihood at (θ, log ν)."""
    s = 0.5 * (theta[:, None] - theta[None, :])
    nu = np.exp(log_nu)
    z = np.exp(s) + np.exp(-s) + nu
    pa, pb, pt = np.exp(s) / z, np.exp(-s) / z, nu / z
    w, t = counts.wins, counts.ties
    upper = np.triu(np.ones_like(w, dtype=bool), 1)
    n = (w + w.T + t) * upper  # battles per unordered pair, counted once
    loglik = float((upper * (w * np.log(pa) + w.T * np.log(pb) + t * np.log(pt))).sum())
    return s, pa, pb, pt, n, upper, loglik


def fit_davidson(
    counts: PairCounts, *, l2: float = 0.0, tol: float = 1e-9, max_iter: int = 200
) -> DavidsonFit:
    """Maximum-likelihood Davidson strengths for one connected set of models.

    ``l2`` adds a ridge penalty ``½·l2·‖θ‖²`` (for data where a model never lost)."""
    m = counts.wins.shape[0]
    params = np.zeros(m + 1)
    params[m] = np.log(max(counts.ties.sum(), 1.0) / max(counts.wins.sum(), 1.0))
    centre = np.zeros((m + 1, m + 1))
    centre[:m, :m] = 1.0 / m
    iterations = 0
    ridge = np.zeros(m + 1)
    ridge[:m] = l2

    def objective(p: np.ndarray) -> float:
        return float(_terms(p[:m], float(p[m]), counts)[-1]) - 0.5 * l2 * float(p[:m] @ p[:m])

    current = objective(params)
    while True:
        grad, info = _derivatives(params, counts)
        grad, info = grad - ridge * params, info + np.diag(ridge)
        if np.abs(grad).max() < tol or iterations == max_iter:
            break
        iterations += 1
        step = np.linalg.solve(info + centre, grad)
        step[:m] -= step[:m].mean()
        params, current = backtrack(params, step, objective, current)
    inv = np.linalg.inv(info + centre)
    cov = inv[:m, :m] - 1.0 / m
    return DavidsonFit(
        params[:m], float(np.exp(params[m])), cov, iterations, float(np.abs(grad).max())
    )


def _derivatives(params: np.ndarray, counts: PairCounts) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and information (minus the Hessian) of the log-likelihood in (θ, log ν)."""
    m = params.size - 1
    _, pa, pb, pt, n, upper, _ = _terms(params[:m], params[m], counts)
    t = counts.ties * upper
    d_s = (counts.wins - counts.wins.T) * upper - n * (pa - pb)  # ∂ℓ/∂s per pair (i<j)
    d_nu = t - n * pt  # ∂ℓ/∂log ν per pair
    grad = np.zeros(m + 1)
    grad[:m] = 0.5 * (d_s.sum(axis=1) - d_s.sum(axis=0))
    grad[m] = d_nu.sum()
    h_ss = n * (pa + pb - (pa - pb) ** 2)  # −∂²ℓ/∂s²
    h_sn = -n * (pa - pb) * pt  # −∂²ℓ/∂s∂log ν
    h_nn = n * pt * (1 - pt)
    sym = 0.25 * (h_ss + h_ss.T)
    info = np.zeros((m + 1, m + 1))
    info[:m, :m] = np.diag(sym.sum(axis=1)) - sym
    info[:m, m] = info[m, :m] = 0.5 * (h_sn.sum(axis=1) - h_sn.sum(axis=0))
    info[m, m] = h_nn.sum()
    return grad, info
