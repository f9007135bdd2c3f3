"""Benchmark: how many votes each pair-sampling policy needs.

    python bench/sampling.py [--models 20] [--seeds 5] [--width 80]

Simulated voters answer by known true ratings (Bradley–Terry on the Elo scale). Every
100 votes the board is refitted (sandwich intervals); we record the votes needed until
the mean 95% interval width falls to ``--width`` rating points, and until the top-10
order is right. Active sampling should need fewer votes than uniform (the Chatbot Arena
paper reports 4,400 against 6,800 for one precision target).
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
    policy: str, truth: np.ndarray, seed: int, width: float, every: int = 100, limit: int = 40_000
) -> tuple[int | None, int | None]:
    m = truth.size
    names = [f"model-{i:02d}" for i in range(m)]
    index = {n: i for i, n in enumerate(names)}
    rng, pyrng = np.random.default_rng(seed), random.Random(seed)
    wins = np.zeros((m, m))
    evidence: Evidence | None = None
    top = list(np.argsort(-truth)[:10])
    reached_width = reached_order = None
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
        if reached_width and reached_order:
            break
    return reached_width, reached_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--width", type=float, default=80.0, help="target mean 95%% interval width, rating points"
    )
    args = parser.parse_args()
    print(
        f"{args.models} models, true ratings spaced evenly over 1000-1400; "
        f"target mean interval width {args.width:g}; median over {args.seeds} seeds"
    )
    results = {}
    for policy in ("uniform", "active"):
        widths, orders = [], []
        for seed in range(args.seeds):
            truth = np.linspace(1000, 1400, args.models)
            np.random.default_rng(100 + seed).shuffle(truth)
            w, o = simulate(policy, truth, seed, args.width)
            widths.append(w or float("inf"))
            orders.append(o or float("inf"))
        results[policy] = (statistics.median(widths), statistics.median(orders))
        print(
            f"{policy:8} votes to width {results[policy][0]:>8,.0f}   "
            f"votes to a correct top-10 order {results[policy][1]:>8,.0f}"
        )
    u, a = results["uniform"][0], results["active"][0]
    print(f"active needs {a / u:.0%} of uniform's votes for the width target")


if __name__ == "__main__":
    main()
