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

Ties are exact. Two samples whose answers are the same to each prompt (temperature 0, a
deterministic server) make every draw equal to the observed value, and only then is
p = 1. Floating-point sums in another order would break those ties by a few ulps, by
an amount that depends on the BLAS kernel (``OPENBLAS_CORETYPE``), and call identical
models different; so the kernel is held as integers (agreeing positions; the cosine on
a grid of 2⁻²⁰), whose sums are exact in any order, and is scaled back only at the end.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MMDResult", "encode", "mmd_test"]

PAD = -1  # the code of a position past a completion's end
GRID = 2**20  # the n-gram cosine is held as an integer multiple of 1 / GRID


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
    """The kernel matrix of all pooled samples times ``length``: the number of positions
    where two completions agree, zero across prompts (padding agrees with padding: two
    completions that both ended agree there)."""
    n, length = codes.shape
    gram = np.zeros((n, n))
    for position in range(length):
        column = codes[:, position]
        gram += column[:, None] == column[None, :]
    gram *= prompts[:, None] == prompts[None, :]
    return gram


def _ngram_gram(texts: Sequence[str], prompts: np.ndarray, n: int) -> np.ndarray:
    """Cosine similarity of the sets of character ``n``-grams of two answers to the same
    prompt (zero across prompts), times :data:`GRID` and rounded: unlike the Hamming
    kernel it sees shared wording wherever it sits, which one answer per prompt needs.

    The shared n-grams are counted exactly (a product of 0/1 float64 matrices sums small
    integers), so two identical answers have cosine exactly 1 whatever the BLAS kernel."""
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        padded = f" {text} "
        grams = {padded[j : j + n] for j in range(max(1, len(padded) - n + 1))}
        for gram in grams:
            rows.append(i)
            cols.append(vocabulary.setdefault(gram, len(vocabulary)))
    matrix = np.zeros((len(texts), max(1, len(vocabulary))))
    matrix[rows, cols] = 1.0
    shared = matrix @ matrix.T
    sizes = np.maximum(matrix.sum(axis=1), 1.0)
    gram = np.rint(GRID * shared / np.sqrt(sizes[:, None] * sizes[None, :]))
    gram *= prompts[:, None] == prompts[None, :]
    return gram


def _mmd2(gram: np.ndarray, sides: np.ndarray) -> np.ndarray:
    """Unbiased MMD² between the samples with side False (X) and True (Y), for each
    column of ``sides`` (n, draws) at once, in the units of ``gram`` (integers with a
    zero diagonal: every sum below is an exact integer, so equal draws are equal)."""
    if gram.size and gram.max() * sides.shape[0] ** 2 >= 2**53:
        raise ValueError(
            f"{sides.shape[0]} samples are too many for an exact MMD test; "
            "audit with fewer queries (--queries)"
        )
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
    ngram: int = 0,
) -> MMDResult:
    """Test whether ``audited`` and ``reference`` (lists of (prompt, completion)) come
    from the same model, by MMD² with the Hamming kernel on the first ``length`` units
    (or, with ``ngram`` > 0, the cosine of the completions' character n-gram sets) and
    a within-prompt permutation null (see the module docstring)."""
    pairs = list(audited) + list(reference)
    prompt_ids: dict[Hashable, int] = {}
    prompts = np.array([prompt_ids.setdefault(p, len(prompt_ids)) for p, _ in pairs])
    side = np.zeros(len(pairs), dtype=bool)
    side[len(audited) :] = True
    if ngram > 0:
        gram = _ngram_gram(["".join(map(str, c)) for _, c in pairs], prompts, ngram)
        scale = float(GRID)
    else:
        gram = _gram(encode([c for _, c in pairs], length, {}), prompts)
        scale = float(max(1, length))
    np.fill_diagonal(gram, 0.0)
    observed = float(_mmd2(gram, side[:, None])[0])
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(prompts == k) for k in range(len(prompt_ids))]
    draws = np.empty((len(pairs), permutations), dtype=bool)
    for b in range(permutations):  # exchange sides within each prompt only
        for group in groups:
            draws[group, b] = rng.permutation(side[group])
    null = _mmd2(gram, draws)
    exceed = int((null >= observed).sum())  # exact: see the module docstring
    return MMDResult(
        statistic=observed / scale,
        p_value=(1 + exceed) / (1 + permutations),
        permutations=permutations,
        samples=(len(audited), len(reference)),
    )
