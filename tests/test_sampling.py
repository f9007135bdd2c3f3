"""Pair sampling: each policy draws pairs with the distribution it promises."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from arena.errors import ConfigError, NoModelsError
from arena.sampling import Evidence, pair_weights, pick_pair

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)

MODELS = ["a", "b", "c", "d"]
DRAWS = 40_000


def frequencies(policy: str, **kw: object) -> tuple[Counter[tuple[str, str]], float]:
    rng = random.Random(0)
    pairs: Counter[tuple[str, str]] = Counter()
    first_is_smaller = 0
    for _ in range(DRAWS):
        a, b = pick_pair(MODELS, rng, policy, **kw)
        pairs[tuple(sorted((a, b)))] += 1  # type: ignore[index]
        first_is_smaller += a < b
    return pairs, first_is_smaller / DRAWS


def expected_share(weights: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    total = sum(weights.values())
    return {pair: w / total for pair, w in weights.items()}


def assert_matches(pairs: Counter[tuple[str, str]], shares: dict[tuple[str, str], float]) -> None:
    for pair, share in shares.items():
        sd = np.sqrt(share * (1 - share) / DRAWS)
        assert abs(pairs[pair] / DRAWS - share) < 5 * sd + 1e-9, (pair, pairs[pair], share)


def test_uniform_draws_every_pair_alike_and_either_side_first() -> None:
    pairs, order = frequencies("uniform")
    assert len(pairs) == 6
    assert_matches(pairs, dict.fromkeys(pairs, 1 / 6))
    assert abs(order - 0.5) < 0.02


def test_weighted_draws_pairs_in_proportion_to_the_product_of_weights() -> None:
    weights = {"a": 3.0, "b": 1.0, "c": 1.0, "d": 0.5}
    pairs, _ = frequencies("weighted", weights=weights)
    assert_matches(pairs, expected_share(pair_weights(MODELS, "weighted", weights=weights)))
    assert pairs[("a", "b")] / pairs[("c", "d")] == pytest.approx(6.0, rel=0.15)


def test_targets_boost_a_models_named_rivals() -> None:
    pairs, _ = frequencies("targets", targets={"a": ["b"]}, target_boost=5.0)
    shares = expected_share({p: 5.0 if p == ("a", "b") else 1.0 for p in pairs})
    assert_matches(pairs, shares)
    assert pairs[("a", "b")] / pairs[("c", "d")] == pytest.approx(5.0, rel=0.15)


def test_active_meets_unexplored_pairs_first() -> None:
    battles = np.array([[0, 5, 5, 0], [5, 0, 5, 5], [5, 5, 0, 5], [0, 5, 5, 0]], float)
    evidence = Evidence(tuple(MODELS), battles, np.eye(4) * 0.1)
    pairs, _ = frequencies("active", evidence=evidence)
    assert set(pairs) == {("a", "d")}  # the only pair that never met


def test_active_favours_pairs_whose_next_vote_shrinks_uncertainty_most() -> None:
    battles = np.full((4, 4), 100.0) - np.diag([100.0] * 4)
    battles[0, 1] = battles[1, 0] = 10  # a-b met rarely
    cov = np.eye(4) * 0.01
    cov[3, 3] = 0.09  # d is uncertain
    weights = pair_weights(MODELS, "active", evidence=Evidence(tuple(MODELS), battles, cov))
    total = battles.sum() / 2
    for (x, y), w in weights.items():
        i, j = MODELS.index(x), MODELS.index(y)
        sigma = (cov[i, i] + cov[j, j]) * total
        assert w == pytest.approx(
            np.sqrt(sigma / battles[i, j]) - np.sqrt(sigma / (battles[i, j] + 1))
        )
    assert weights[("a", "b")] > weights[("a", "c")]  # fewer battles
    assert weights[("c", "d")] > weights[("b", "c")]  # more uncertainty
    pairs, _ = frequencies("active", evidence=Evidence(tuple(MODELS), battles, cov))
    assert_matches(pairs, expected_share(weights))


def test_active_without_evidence_is_uniform() -> None:
    pairs, _ = frequencies("active", evidence=None)
    assert_matches(pairs, dict.fromkeys(pairs, 1 / 6))


def test_an_unknown_policy_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown sampling policy 'random'"):
        pick_pair(MODELS, random.Random(0), "random")


def test_fewer_than_two_models_cannot_battle() -> None:
    with pytest.raises(NoModelsError, match="fewer than two models"):
        pick_pair(["a"], random.Random(0))
