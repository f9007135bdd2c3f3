"""Choosing which two models meet in a battle."""

from __future__ import annotations

import random
from collections.abc import Sequence

from arena.errors import NoModelsError

__all__ = ["pick_pair"]


def pick_pair(models: Sequence[str], rng: random.Random) -> tuple[str, str]:
    """Two different models, uniformly over unordered pairs, in random order (A, B).

    Raises:
        NoModelsError: fewer than two models to choose from.
    """
    if len(set(models)) < 2:
        raise NoModelsError(
            "fewer than two models are ready to answer right now; try again in a moment"
        )
    a, b = rng.sample(sorted(set(models)), 2)
    return a, b
