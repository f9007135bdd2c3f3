"""Small numeric helpers in plain numpy, so that a leaderboard run never imports SciPy
(its import alone costs a quarter of a second, more than a 2M-battle fit)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["backtrack", "expit", "log_expit", "reachable", "weak_components"]


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function σ(x) = 1 / (1 + e^(−x)), without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def log_expit(x: np.ndarray) -> np.ndarray:
    """log σ(x), accurate for large |x|."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=float))


def reachable(adjacency: np.ndarray, start: int) -> np.ndarray:
    """Shape (m,): which nodes a directed graph (adjacency[i, j]: edge i → j) reaches
    from ``start``."""
    seen = np.zeros(adjacency.shape[0], dtype=bool)
    seen[start] = True
    frontier = seen.copy()
    while frontier.any():
        frontier = adjacency[frontier].any(axis=0) & ~seen
        seen |= frontier
    return seen


def weak_components(adjacency: np.ndarray) -> list[np.ndarray]:
    """The connected components of an undirected graph (symmetric boolean adjacency)."""
    left = np.ones(adjacency.shape[0], dtype=bool)
    groups = []
    while left.any():
        start = int(np.flatnonzero(left)[0])
        group = reachable(adjacency, start)
        groups.append(np.flatnonzero(group))
        left &= ~group
    return groups


def backtrack(
    params: np.ndarray,
    step: np.ndarray,
    objective: Callable[[np.ndarray], float],
    current: float,
    tries: int = 50,
) -> tuple[np.ndarray, float]:
    """One Newton step on a concave objective, halved until the objective does not fall.

    Returns the new parameters and the objective there."""
    for _ in range(tries):
        candidate = params + step
        value = objective(candidate)
        if value >= current - 1e-12 * abs(current):
            break
        step = step * 0.5
    return candidate, value
