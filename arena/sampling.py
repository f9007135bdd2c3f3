"""Choosing which two models meet in a battle.

Each policy gives every unordered pair of ready models a weight; a pair is drawn in
proportion to its weight, and its order (who is A) is a coin flip.

- ``uniform``: every pair alike.
- ``weighted``: pair (a, b) weighs ``weight_a · weight_b`` (``weight`` per model).
- ``targets``: like weighted, and a pair of a model with one of its named rivals
  (``targets`` per model) weighs ``target_boost`` times more.
- ``active`` (the Chatbot Arena paper's rule): pair (a, b) weighs
  ``√(Σ_ab / n_ab) − √(Σ_ab / (n_ab + 1))``, where n_ab is how often they met and Σ_ab
  one battle's share of ``Var(θ̂_a − θ̂_b)`` under the current fit (N times it): the
  next vote goes where it shrinks that uncertainty most. Pairs that never met come
  first. (Σ_ab = p(1 − p), the other reading, needed more votes in bench/sampling.py.)

Under every policy, ``boost`` (per model) multiplies the weight of each pair the model
is in: the arena boosts models that are new (fewer than ``new_model_votes`` votes) so
they reach a stable rating sooner. A pair of two boosted models takes the larger.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from arena.errors import ConfigError, NoModelsError

__all__ = ["POLICIES", "Evidence", "pair_weights", "pick_pair"]

POLICIES = ("uniform", "weighted", "targets", "active")


@dataclass(frozen=True)
class Evidence:
    """What the active policy knows from the current fit.

    Attributes:
        models: names, in the order of the arrays.
        battles: shape (m, m), battles between each pair.
        cov: shape (m, m), covariance of the current strengths θ.
    """

    models: tuple[str, ...]
    battles: np.ndarray
    cov: np.ndarray


def pair_weights(
    models: Sequence[str],
    policy: str = "uniform",
    *,
    weights: Mapping[str, float] | None = None,
    targets: Mapping[str, Sequence[str]] | None = None,
    target_boost: float = 4.0,
    evidence: Evidence | None = None,
    boost: Mapping[str, float] | None = None,
) -> dict[tuple[str, str], float]:
    """The weight of every unordered pair of ``models`` (sorted names, a < b)."""
    out = _policy_weights(models, policy, weights, targets, target_boost, evidence)
    if boost:
        for a, b in out:
            out[(a, b)] *= max(boost.get(a, 1.0), boost.get(b, 1.0))
    return out


def _policy_weights(
    models: Sequence[str],
    policy: str,
    weights: Mapping[str, float] | None,
    targets: Mapping[str, Sequence[str]] | None,
    target_boost: float,
    evidence: Evidence | None,
) -> dict[tuple[str, str], float]:
    if policy not in POLICIES:
        raise ConfigError(
            f"unknown sampling policy {policy!r}; expected one of {', '.join(POLICIES)}"
        )
    names = sorted(set(models))
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if policy == "active":
        return _active(pairs, evidence)
    out = {}
    for a, b in pairs:
        w = 1.0
        if policy in ("weighted", "targets"):
            w = (weights or {}).get(a, 1.0) * (weights or {}).get(b, 1.0)
        if policy == "targets" and (
            b in (targets or {}).get(a, ()) or a in (targets or {}).get(b, ())
        ):
            w *= target_boost
        out[(a, b)] = w
    return out


def _active(
    pairs: list[tuple[str, str]], evidence: Evidence | None
) -> dict[tuple[str, str], float]:
    if evidence is None:
        return dict.fromkeys(pairs, 1.0)
    index = {name: i for i, name in enumerate(evidence.models)}
    total = max(int(evidence.battles.sum() // 2), 1)
    out = {}
    for a, b in pairs:
        if a not in index or b not in index:
            out[(a, b)] = float("inf")  # a model with no votes yet: meet it first
            continue
        i, j = index[a], index[b]
        n = float(evidence.battles[i, j])
        variance = evidence.cov[i, i] + evidence.cov[j, j] - 2 * evidence.cov[i, j]
        sigma = max(float(variance) * total, 1e-12)  # one battle's share of Var(θa − θb)
        out[(a, b)] = float("inf") if n == 0 else np.sqrt(sigma / n) - np.sqrt(sigma / (n + 1))
    return out


def pick_pair(
    models: Sequence[str],
    rng: random.Random,
    policy: str = "uniform",
    **kw: object,
) -> tuple[str, str]:
    """Two different models drawn by ``policy``, in random order (A, B).

    Raises:
        NoModelsError: fewer than two models to choose from.
    """
    if len(set(models)) < 2:
        raise NoModelsError(
            "fewer than two models are ready to answer right now; try again in a moment"
        )
    weights = pair_weights(models, policy, **kw)  # type: ignore[arg-type]
    pairs = list(weights)
    values = [weights[p] for p in pairs]
    if any(np.isinf(v) for v in values):  # unexplored pairs first, uniformly among them
        pairs = [p for p, v in zip(pairs, values, strict=True) if np.isinf(v)]
        values = [1.0] * len(pairs)
    if not sum(values) > 0:
        values = [1.0] * len(pairs)
    a, b = rng.choices(pairs, weights=values)[0]
    return (a, b) if rng.random() < 0.5 else (b, a)
