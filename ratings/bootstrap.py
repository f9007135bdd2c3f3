"""Bootstrap intervals: multinomial resampling of the pair counts.

Resampling n battles with replacement is the same as drawing the cells of the
aggregated table (each pair's wins either way and ties) from a multinomial with n
trials and the observed frequencies, so a round costs O(cells), not O(battles).
Each round is refitted, warm-started from the full-data answer.

Rounds run on a thread pool (numpy's linear algebra releases the GIL). No process
is ever forked: forking a process whose threads are running can deadlock, which
is what happens to arena-rank's bootstrap on Linux. Round r draws from
``SeedSequence(seed).spawn(rounds)[r]``, so the result is the same for any number of
threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ratings.bradley_terry import PairCounts

__all__ = ["bootstrap_thetas"]


def bootstrap_thetas(
    counts: PairCounts,
    fit: Callable[[PairCounts], np.ndarray],
    *,
    rounds: int = 100,
    seed: int = 0,
    progress: bool = False,
    workers: int | None = None,
) -> np.ndarray:
    """Strengths refitted on ``rounds`` resampled tables.

    Args:
        counts: the observed pair counts (m models).
        fit: pair counts -> θ, shape (m,), centred.
        rounds: resamples to draw.
        seed: the seed of the whole run.
        progress: show a progress bar on standard error.

    Returns:
        shape (rounds, m).
    """
    m = counts.wins.shape[0]
    i, j = np.triu_indices(m, 1)
    cells = np.concatenate([counts.wins[i, j], counts.wins[j, i], counts.ties[i, j]])
    keep = np.flatnonzero(cells > 0)
    total = int(round(cells.sum()))
    prob = cells[keep] / cells[keep].sum()
    seeds = np.random.SeedSequence(seed).spawn(rounds)
    n_pairs = i.size

    def one(r: int) -> np.ndarray:
        drawn = np.zeros(cells.size)
        drawn[keep] = np.random.default_rng(seeds[r]).multinomial(total, prob)
        wins = np.zeros((m, m))
        ties = np.zeros((m, m))
        wins[i, j], wins[j, i] = drawn[:n_pairs], drawn[n_pairs : 2 * n_pairs]
        ties[i, j] = ties[j, i] = drawn[2 * n_pairs :]
        return fit(PairCounts(wins, ties))

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(one, range(rounds))
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=rounds, desc="bootstrap", unit="round", leave=False)
        return np.vstack(list(results))
