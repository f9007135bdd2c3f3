"""Benchmark: how many votes each pair-sampling policy needs.

    python bench/sampling.py [--models 20] [--seeds 5] [--width 80] [--win-width 0.3]

Simulated voters answer by known true ratings (Bradley–Terry on the Elo scale). Every
100 votes the board is refitted (sandwich intervals); we record the votes needed until
(1) the mean 95% interval width of the ratings falls to ``--width`` rating points,
(2) the top-10 order is right, and (3) every pair's 95% interval for its win rate (the
paper's win matrix; Agresti–Coull) is at most ``--win-width`` wide. Active sampling
should need fewer votes than uniform (the Chatbot Arena paper reports 4,400 against
6,800 for a win-matrix precision target).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from arena.sampling import Evidence, pick_pair  # noqa: E402
from ratings import PairCounts, fit_bradley_terry  # noqa: E402
from ratings.leaderboard import mle_exists  # noqa: E402

SCALE = 400 / math.log(10)


def simulate(
    policy: str,
    truth: np.ndarray,
    seed: int,
    width: float,
    win_width: float,
    every: int = 100,
    limit: int = 40_000,
) -> tuple[int | None, int | None, int | None]:
    """Votes to each target (None if not reached within ``limit``)."""
    m = truth.size
    names = [f"model-{i:02d}" for i in range(m)]
    index = {n: i for i, n in enumerate(names)}
    rng, pyrng = np.random.default_rng(seed), random.Random(seed)
    wins = np.zeros((m, m))
    evidence: Evidence | None = None
    top = list(np.argsort(-truth)[:10])
    reached_width = reached_order = reached_matrix = None
    upper = np.triu_indices(m, 1)
    for vote in range(1, limit + 1):
        a, b = pick_pair(names, pyrng, policy, evidence=evidence)
        i, j = index[a], index[b]
        if rng.random() < 1 / (1 + math.exp(-(truth[i] - truth[j]) / SCALE)):
            wins[i, j] += 1
        else:
            wins[j, i] += 1
        if vote % every:
            continue
        counts = PairCounts(wins.copy(), np.zeros_like(wins))
        if not mle_exists(counts):
            continue
        fit = fit_bradley_terry(counts)
        evidence = Evidence(tuple(names), counts.battles, fit.cov)
        mean_width = float(np.mean(2 * 1.96 * SCALE * np.sqrt(np.diag(fit.cov))))
        if reached_width is None and mean_width <= width:
            reached_width = vote
        if reached_order is None and list(np.argsort(-fit.theta)[:10]) == top:
            reached_order = vote
        n = (wins + wins.T)[upper] + 4  # Agresti–Coull: two wins and two losses added
        p = (wins[upper] + 2) / n
        if reached_matrix is None and (2 * 1.96 * np.sqrt(p * (1 - p) / n)).max() <= win_width:
            reached_matrix = vote
        if reached_width and reached_order and reached_matrix:
            break
    return reached_width, reached_order, reached_matrix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--width", type=float, default=80.0, help="target mean 95%% interval width, rating points"
    )
    parser.add_argument(
        "--win-width", type=float, default=0.3, help="target widest win-rate interval (0.3)"
    )
    args = parser.parse_args()
    print(
        f"{args.models} models, true ratings spaced evenly over 1000-1400; median over "
        f"{args.seeds} seeds of the votes needed to reach each target"
    )
    targets = (
        f"mean rating interval <= {args.width:g}",
        "correct top-10 order",
        f"every win-rate interval <= {args.win_width:g}",
    )
    results: dict[str, list[float]] = {}
    for policy in ("uniform", "active"):
        runs = []
        for seed in range(args.seeds):
            truth = np.linspace(1000, 1400, args.models)
            np.random.default_rng(100 + seed).shuffle(truth)
            reached = simulate(policy, truth, seed, args.width, args.win_width)
            runs.append([float("inf") if r is None else r for r in reached])
        results[policy] = [statistics.median(column) for column in zip(*runs, strict=True)]
    print(f"{'target':36} {'uniform':>8} {'active':>8}  active/uniform")
    for k, target in enumerate(targets):
        u, a = results["uniform"][k], results["active"][k]
        print(f"{target:36} {u:>8,.0f} {a:>8,.0f}  {a / u:.0%}")


if __name__ == "__main__":
    main()
