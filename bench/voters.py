"""Benchmark: how well ratings.voters finds anomalous voters.

    python bench/voters.py [--seeds 5] [--honest 500]

Simulated voters vote on random pairs of 12 models whose true ratings are spread over
1000-1400: honest voters by the true win probability, and three kinds of adversary,
20 each: ``inverted`` (always the weaker model), ``random`` (a coin) and ``always_a``.
Each voter casts a random 20-60 votes, or ``--votes`` if given. Prints, per kind, the
share flagged (recall for adversaries, false positives for honest voters) at the
default alpha of 0.01 (Bonferroni over all voters).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from ratings import BattleTable  # noqa: E402
from ratings.voters import anomalous_voters  # noqa: E402

KINDS = ("honest", "inverted", "random", "always_a")


def simulate(seed: int, honest: int, votes: tuple[int, int]) -> BattleTable:
    rng = np.random.default_rng(seed)
    m = 12
    truth = np.linspace(1000, 1400, m)
    rng.shuffle(truth)
    a, b, winner, voter = [], [], [], []
    for kind in KINDS:
        for v in range(honest if kind == "honest" else 20):
            for _ in range(int(rng.integers(votes[0], votes[1] + 1))):
                i, j = rng.choice(m, 2, replace=False)
                p = 1 / (1 + 10 ** ((truth[j] - truth[i]) / 400))
                a_wins = {
                    "honest": rng.random() < p,
                    "inverted": p < 0.5,
                    "random": rng.random() < 0.5,
                    "always_a": True,
                }[kind]
                a.append(f"m{i}")
                b.append(f"m{j}")
                winner.append("model_a" if a_wins else "model_b")
                voter.append(f"{kind}-{v}")
    return BattleTable.from_records(a, b, winner, [True] * len(a), extra={"voter": voter})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--honest", type=int, default=500)
    parser.add_argument("--votes", type=int, default=0, help="votes per voter (0: 20-60)")
    args = parser.parse_args()
    span = (args.votes, args.votes) if args.votes else (20, 60)
    flagged: Counter[str] = Counter()
    for seed in range(args.seeds):
        for score in anomalous_voters(simulate(seed, args.honest, span)):
            flagged[score.voter.split("-")[0]] += score.flagged
    print(f"{args.seeds} seeds, {span[0]}-{span[1]} votes per voter, alpha 0.01")
    for kind in KINDS:
        total = (args.honest if kind == "honest" else 20) * args.seeds
        label = "false positives" if kind == "honest" else "recall"
        share = flagged[kind] / total
        print(f"{kind:9} flagged {flagged[kind]:>5} of {total:>5}  {label} {share:.1%}")


if __name__ == "__main__":
    main()
