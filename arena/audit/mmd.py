"""The two-sample test of Model Equality Testing (Gao, Liang and Guestrin, arXiv
2410.20247): is the distribution of an endpoint's completions the same as the
reference's, over the same prompts?

Each sample is a (prompt, completion) pair, a completion a sequence of tokens (any
hashable units: tokens of one tokenizer, or characters). The kernel compares two
completions of the same prompt position by position,

    k((p, c), (p', c')) = 1[p = p'] · (1/L) · Σ_{l<L} 1[c_l = c'_l],

completions cut or padded to ``L`` units, and the statistic is the unbiased estimate of
the squared maximum mean discrepancy between the two samples. Its null distribution is
found by permutation: under equal distributions the pooled pairs of each prompt are
exchangeable, so shuffling them between the two sides within each prompt gives draws
of the statistic with the same law. The p-value, (1 + #{draws ≥ observed}) /
(1 + draws), is exact for any number of samples: the false-positive rate is at most α.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MMDResult", "encode", "mmd_test"]

PAD = -1  # the code of a position past a completion's end


@dataclass(frozen=True)
class MMDResult:
    statistic: float  # unbiased MMD² (about 0 under the null)
    p_value: float
    permutations: int
    samples: tuple[int, int]  # completions on each side


def encode(
    completions: Sequence[Sequence[Hashable]], length: int, vocabulary: dict[Hashable, int]
) -> np.ndarray:
    """Completions as an int32 matrix (n, ``length``), units coded through (and added
    to) ``vocabulary``, padded with :data:`PAD`."""
    out = np.full((len(completions), length), PAD, dtype=np.int32)
    for i, completion in enumerate(completions):
        for j, unit in enumerate(list(completion)[:length]):
            out[i, j] = vocabulary.setdefault(unit, len(vocabulary))
    return out


def _gram(codes: np.ndarray, prompts: np.ndarray) -> np.ndarray:
    """The kernel matrix of all pooled samples: mean agreement over positions, zero
    across prompts (padding agrees with padding: two completions that both ended agree
    there)."""
    n, length = codes.shape
    gram = np.zeros((n, n))
    for position in range(length):
        column = codes[:, position]
        gram += column[:, None] == column[None, :]
    gram /= max(1, length)
    gram *= prompts[:, None] == prompts[None, :]
    return gram


def _mmd2(gram: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Unbiased MMD² between the samples with side False (X) and True (Y), for each
    column of ``sides`` (n, draws) at once; ``gram`` has a zero diagonal."""
    y = sides.astype(float)
    x = 1.0 - y
    m, n = x.sum(axis=0), y.sum(axis=0)
    gx, gy = gram @ x, gram @ y
    within_x = (x * gx).sum(axis=0) / np.maximum(m * (m - 1), 1)
    within_y = (y * gy).sum(axis=0) / np.maximum(n * (n - 1), 1)
    across = (x * gy).sum(axis=0) / np.maximum(m * n, 1)
    return within_x + within_y - 2 * across


def mmd_test(
    audited: Sequence[tuple[Hashable, Sequence[Hashable]]],
    reference: Sequence[tuple[Hashable, Sequence[Hashable]]],
    *,
    length: int = 50,
    permutations: int = 1000,
    seed: int = 0,
) -> MMDResult:
    """Test whether ``audited`` and ``reference`` (lists of (prompt, completion)) come
    from the same model, by MMD² with the Hamming kernel and a within-prompt
    permutation null (see the module docstring)."""
    vocabulary: dict[Hashable, int] = {}
    pairs = list(audited) + list(reference)
    codes = encode([c for _, c in pairs], length, vocabulary)
    prompt_ids: dict[Hashable, int] = {}
    prompts = np.array([prompt_ids.setdefault(p, len(prompt_ids)) for p, _ in pairs])
    side = np.zeros(len(pairs), dtype=bool)
    side[len(audited) :] = True
    gram = _gram(codes, prompts)
    np.fill_diagonal(gram, 0.0)
    observed = float(_mmd2(gram, side[:, None])[0])
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(prompts == k) for k in range(len(prompt_ids))]
    draws = np.empty((len(pairs), permutations), dtype=bool)
    for b in range(permutations):  # exchange sides within each prompt only
        for group in groups:
            draws[group, b] = rng.permutation(side[group])
    null = _mmd2(gram, draws)
    exceed = int((null >= observed - 1e-12).sum())
    return MMDResult(
        statistic=observed,
        p_value=(1 + exceed) / (1 + permutations),
        permutations=permutations,
        samples=(len(audited), len(reference)),
    )
