"""Contextual Bradley–Terry: ratings plus covariates, per battle.

Model: ``P(A beats B) = σ(θ_A − θ_B + xᵀβ)`` where ``x`` (shape (k,)) describes the
battle: the style differences for style control, or a home-advantage indicator in the
classic sports data. Ties count half a win for each side, as in plain Bradley–Terry.
The fit is Newton's method on (θ, β) with Σθ = 0; every sum over battles is a
``bincount``, so one step costs O(n_battles · k).

Style control (LMArena's method): for each feature f (answer length, markdown
headers, lists, bold) the per-battle covariate is ``(f_A − f_B) / (f_A + f_B + 1)``,
standardised over the battles. The ratings θ are then the strengths with style held
equal; β says how much each style difference moves a vote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ratings._numeric import backtrack, expit, log_expit
from ratings.battles import MODEL_A, MODEL_B, BattleTable
from ratings.io import STYLE_COLUMNS

__all__ = ["ContextualFit", "fit_contextual", "style_features"]


@dataclass(frozen=True)
class ContextualFit:
    """Attributes:
    theta: shape (m,), strengths (natural log units), summing to zero.
    beta: shape (k,), covariate coefficients.
    cov: shape (m + k, m + k), covariance of (θ, β).
    iterations: Newton steps taken.
    max_gradient: largest |∂L| at the answer, in votes.
    """

    theta: np.ndarray
    beta: np.ndarray
    cov: np.ndarray
    iterations: int
    max_gradient: float


def style_features(table: BattleTable) -> tuple[np.ndarray, list[str]]:
    """The standardised style covariates of each battle.

    Returns:
        ``X`` of shape (n_battles, k) and the k feature names, for the features whose
        ``_a`` and ``_b`` columns are both present and vary; k = 0 when none does.
    """
    names, columns = [], []
    for feature in STYLE_COLUMNS:
        fa, fb = table.column(f"{feature}_a"), table.column(f"{feature}_b")
        if fa is None or fb is None:
            continue
        x = (fa - fb) / (fa + fb + 1.0)
        std = x.std()
        if not std > 0:  # constant: carries no information and would make A singular
            continue
        columns.append((x - x.mean()) / std)
        names.append(feature)
    if not columns:
        return np.zeros((len(table), 0)), []
    return np.column_stack(columns), names


def _outcome_values(table: BattleTable) -> np.ndarray:
    out = table.outcome
    return np.where(out == MODEL_A, 1.0, np.where(out == MODEL_B, 0.0, 0.5))


def _blocks(table: BattleTable, x: np.ndarray, w: np.ndarray, m: int) -> np.ndarray:
    """Σ_battles w · z zᵀ with z = (e_A − e_B, x): shape (m + k, m + k)."""
    k = x.shape[1]
    a, b = table.a, table.b
    pair = np.bincount(a * m + b, w, minlength=m * m).reshape(m, m)
    pair = pair + pair.T
    out = np.zeros((m + k, m + k))
    out[:m, :m] = np.diag(pair.sum(axis=1)) - pair
    for j in range(k):
        wx = w * x[:, j]
        col = np.bincount(a, wx, minlength=m) - np.bincount(b, wx, minlength=m)
        out[:m, m + j] = out[m + j, :m] = col
    out[m:, m:] = (x * w[:, None]).T @ x
    return out


def fit_contextual(
    table: BattleTable,
    x: np.ndarray,
    *,
    l2: float = 0.0,
    interval: str = "sandwich",
    tol: float = 1e-8,
    max_iter: int = 100,
) -> ContextualFit:
    """Maximum-likelihood contextual Bradley–Terry on one connected set of models.

    Args:
        table: the battles (its models all in one connected comparison graph).
        x: shape (n_battles, k), the covariates of each battle (A's side minus B's).
        l2: ridge penalty ``½·l2·‖θ‖²`` on the ratings (not on β).
        interval: ``sandwich`` (robust) or ``fisher``.
        tol: stop when the largest gradient component is below this many votes.
    """
    m, k = len(table.models), x.shape[1]
    y = _outcome_values(table)
    a, b = table.a, table.b
    phi = np.zeros(m + k)
    ridge = np.zeros(m + k)
    ridge[:m] = l2
    centre = np.zeros((m + k, m + k))
    centre[:m, :m] = 1.0 / m

    def margin(params: np.ndarray) -> np.ndarray:
        return params[a] - params[b] + x @ params[m:]

    def loglik(params: np.ndarray) -> float:
        d = margin(params)
        return float(
            (y * log_expit(d) + (1 - y) * log_expit(-d)).sum() - 0.5 * l2 * params[:m] @ params[:m]
        )

    current = loglik(phi)
    iterations = 0
    while True:
        p = expit(margin(phi))
        r = y - p
        grad = (
            np.concatenate(
                [np.bincount(a, r, minlength=m) - np.bincount(b, r, minlength=m), x.T @ r]
            )
            - ridge * phi
        )
        if np.abs(grad).max() < tol or iterations == max_iter:
            break
        iterations += 1
        info = _blocks(table, x, p * (1 - p), m) + np.diag(ridge)
        step = np.linalg.solve(info + centre, grad)
        step[:m] -= step[:m].mean()
        phi, current = backtrack(phi, step, loglik, current)
    p = expit(margin(phi))
    info = _blocks(table, x, p * (1 - p), m) + np.diag(ridge)
    inv = np.linalg.inv(info + centre)
    inv[:m, :m] -= 1.0 / m
    if interval == "fisher":
        cov = inv
    elif interval == "sandwich":
        cov = inv @ _blocks(table, x, (y - p) ** 2, m) @ inv
    else:
        raise ValueError(f"unknown interval method {interval!r}; expected sandwich or fisher")
    return ContextualFit(phi[:m], phi[m:], cov, iterations, float(np.abs(grad).max()))
