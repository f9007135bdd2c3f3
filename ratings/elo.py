"""Online Elo in battle order (FastChat's ``compute_online_elo``).

Each battle moves both ratings by ``K · (S − E)``, with ``E = 1 / (1 + base^((R_B − R_A)/scale))``
and S = 1, 0 or ½ (ties and both-bad votes). The result depends on the order of the
battles, which is why the arena ranks by Bradley–Terry and offers Elo for comparison.
"""

from __future__ import annotations

import numpy as np

from ratings.battles import MODEL_A, MODEL_B, BattleTable

__all__ = ["online_elo"]


def online_elo(
    table: BattleTable,
    *,
    k: float = 4.0,
    scale: float = 400.0,
    base: float = 10.0,
    initial: float = 1000.0,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Ratings after replaying the battles once.

    Args:
        table: the battles, replayed in table order (or ``order``, an index array).
        k: the K factor (FastChat and LMArena use 4).

    Returns:
        shape (m,), one rating per model of ``table.models``.
    """
    ratings = [initial] * len(table.models)
    score = np.where(
        table.outcome == MODEL_A, 1.0, np.where(table.outcome == MODEL_B, 0.0, 0.5)
    ).tolist()
    a, b = table.a.tolist(), table.b.tolist()
    sequence = range(len(table)) if order is None else order.tolist()
    for i in sequence:  # inherently sequential: each update depends on the last
        ra, rb = ratings[a[i]], ratings[b[i]]
        expected = 1.0 / (1.0 + base ** ((rb - ra) / scale))
        delta = k * (score[i] - expected)
        ratings[a[i]] = ra + delta
        ratings[b[i]] = rb - delta
    return np.asarray(ratings)
