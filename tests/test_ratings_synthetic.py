"""ratings/ on synthetic battles with known true ratings (../shared/bench/make_battles.py)."""

from __future__ import annotations

import importlib.util
from functools import cache
from types import ModuleType

import numpy as np
import pytest

from ratings import BattleTable, PairCounts, Settings, build_leaderboard, fit_bradley_terry
from ratings.bootstrap import bootstrap_thetas
from ratings.contextual import fit_contextual, style_features
from ratings.davidson import fit_davidson
from ratings.methods import SCALE
from tests.conftest import ROOT

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)


@cache
def generator() -> ModuleType:
    path = ROOT.parent / "shared" / "bench" / "make_battles.py"
    if not path.is_file():
        pytest.skip(f"needs ../shared/bench/make_battles.py ({path} is absent)")
    spec = importlib.util.spec_from_file_location("make_battles", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic(n: int, m: int, seed: int, **kw: float) -> tuple[BattleTable, np.ndarray]:
    columns, truth = generator().generate(n, m, seed, **kw)
    extra = {
        k: columns[k]
        for k in columns
        if k[-2:] in ("_a", "_b") and k != "model_a" and k != "model_b"
    }
    extra["tstamp"] = columns["tstamp"]
    table = BattleTable.from_records(
        columns["model_a"], columns["model_b"], columns["winner"], extra=extra
    )
    true = np.array([truth[name] for name in table.models])
    return table, true - true.mean()


def scaled_error(theta: np.ndarray, truth: np.ndarray) -> float:
    """RMSE after the best scale: ties as half-wins shrink BT's scale under Davidson
    outcomes, so compare shapes, not units."""
    r = SCALE * (theta - theta.mean())
    s = (r @ truth) / (r @ r)
    return float(np.sqrt(np.mean((s * r - truth) ** 2)))


def test_ratings_recover_the_truth() -> None:
    table, truth = synthetic(200_000, 40, seed=3, style_effect=0.0)
    fit = fit_bradley_terry(PairCounts.from_table(table))
    assert np.corrcoef(fit.theta, truth)[0, 1] > 0.995
    assert fit.max_gradient < 1e-6


def test_davidson_recovers_the_scale_and_the_tie_rate() -> None:
    table, truth = synthetic(200_000, 40, seed=4, style_effect=0.0, tie_rate=0.25)
    counts = PairCounts.from_table(table)
    fit = fit_davidson(counts)
    half_wins = fit_bradley_terry(counts)

    def best_scale(theta: np.ndarray) -> float:
        r = SCALE * theta
        return float((r @ truth) / (r @ r))

    assert 0.95 < best_scale(fit.theta) < 1.05  # Davidson: the truth's own units
    assert best_scale(half_wins.theta) > 1.15  # ties as half-wins shrink the scale
    assert fit.nu == pytest.approx(2 * 0.25 / 0.75, rel=0.03)


def test_style_control_brings_ratings_closer_to_the_truth() -> None:
    table, truth = synthetic(300_000, 60, seed=5, style_effect=80.0)
    plain = fit_bradley_terry(PairCounts.from_table(table))
    x, names = style_features(table)
    styled = fit_contextual(table, x)
    assert names == ["len", "headers", "lists", "bold"]
    assert scaled_error(styled.theta, truth) < 0.85 * scaled_error(plain.theta, truth)
    assert styled.beta[0] > 0  # longer answers win more often: the planted bias
    board = build_leaderboard(table, Settings(style=True))
    assert set(board.manifest["style_coefficients"][0]) == set(names)


def test_sandwich_and_bootstrap_intervals_agree() -> None:
    table, _ = synthetic(100_000, 30, seed=6)
    counts = PairCounts.from_table(table)
    fit = fit_bradley_terry(counts)
    draws = bootstrap_thetas(
        counts, lambda c: fit_bradley_terry(c, interval=None).theta, rounds=200, seed=1
    )
    ratio = draws.std(axis=0) / np.sqrt(np.diag(fit.cov))
    assert 0.85 < np.median(ratio) < 1.15


def test_bootstrap_is_reproducible_whatever_the_thread_count() -> None:
    table, _ = synthetic(20_000, 10, seed=7)
    counts = PairCounts.from_table(table)

    def fit(c: PairCounts) -> np.ndarray:
        return fit_bradley_terry(c, interval=None).theta

    one = bootstrap_thetas(counts, fit, rounds=16, seed=3, workers=1)
    four = bootstrap_thetas(counts, fit, rounds=16, seed=3, workers=4)
    other = bootstrap_thetas(counts, fit, rounds=16, seed=4, workers=4)
    np.testing.assert_array_equal(one, four)
    assert not np.array_equal(one, other)


def test_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    # Pure Bradley–Terry data (no ties, no style bias), so the truth is what BT estimates.
    covered, total = 0, 0
    for seed in range(30):
        table, truth = synthetic(20_000, 12, seed=100 + seed, tie_rate=0.0, style_effect=0.0)
        board = build_leaderboard(table)
        for row in board.rows:
            t = truth[table.models.index(row.model)] + 1000
            covered += row.lower <= t <= row.upper
            total += 1
    assert 0.92 <= covered / total <= 0.98, covered / total
