"""The endpoint audit's statistics (arena/audit): the two-sample MMD test of Model
Equality Testing, its false-positive rate and its power, on toy models whose answers
are drawn from known distributions (the audit of real endpoints is in bench/audit.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from arena.audit.mmd import encode, mmd_test

LETTERS = "abcdefgh"


def toy(rng: random.Random, bias: float, prompt: int, length: int = 20) -> str:
    """A 'model': each letter of its answer to ``prompt`` drawn with one favourite letter
    (``prompt`` mod 8) weighted 1 + ``bias``."""
    weights = [1.0 + bias * (i == prompt % 8) for i in range(len(LETTERS))]
    return "".join(rng.choices(LETTERS, weights=weights, k=length))


def sample(rng: random.Random, bias: float, per_prompt: int, prompts: int = 10) -> list:
    return [(p, toy(rng, bias, p)) for p in range(prompts) for _ in range(per_prompt)]


def test_the_false_positive_rate_is_at_most_alpha() -> None:
    rng = random.Random(5)
    p = np.array(
        [
            mmd_test(sample(rng, 2.0, 5), sample(rng, 2.0, 5), permutations=100, seed=s).p_value
            for s in range(200)
        ]
    )
    # Same model on both sides: P(p <= a) <= a for every a (a permutation p-value).
    for alpha in (0.01, 0.05, 0.2):
        assert (p <= alpha).mean() <= alpha + 2.5 * np.sqrt(alpha * (1 - alpha) / len(p))
    assert 0.4 < p.mean() < 0.6


def test_a_different_model_is_told_apart_and_more_samples_give_more_power() -> None:
    rng = random.Random(6)
    power = {}
    for per_prompt in (2, 10):
        rejected = [
            mmd_test(
                sample(rng, 1.0, per_prompt), sample(rng, 5.0, per_prompt), permutations=100, seed=s
            ).p_value
            <= 0.05
            for s in range(20)
        ]
        power[per_prompt] = sum(rejected) / len(rejected)
    assert power[10] >= 0.9 and power[10] > power[2]


def test_answers_are_compared_only_within_a_prompt() -> None:
    # The same answers under swapped prompts: each side alone is one model, but which
    # prompt an answer belongs to differs, and only that can tell them apart.
    a = [(p, "aaaa" if p == 0 else "bbbb") for p in (0, 1) for _ in range(8)]
    b = [(p, "bbbb" if p == 0 else "aaaa") for p in (0, 1) for _ in range(8)]
    assert mmd_test(a, b, length=4, permutations=200).p_value <= 0.01
    same = mmd_test(a, list(a), length=4, permutations=200)
    assert same.statistic < 0 and same.p_value == 1.0  # identical samples: nothing to see


def test_completions_are_coded_by_position_and_padded() -> None:
    vocabulary: dict = {}
    codes = encode(["abc", "ab", ""], 3, vocabulary)
    assert codes.tolist() == [[0, 1, 2], [0, 1, -1], [-1, -1, -1]]
    assert encode([["tok", "en"]], 3, vocabulary).tolist() == [[3, 4, -1]]


@pytest.mark.parametrize("per_side", [(1, 5), (5, 1)])
def test_tiny_samples_give_a_valid_p_value(per_side: tuple[int, int]) -> None:
    rng = random.Random(7)
    result = mmd_test(sample(rng, 1.0, per_side[0], 1), sample(rng, 1.0, per_side[1], 1))
    assert 0 < result.p_value <= 1 and result.samples == per_side
