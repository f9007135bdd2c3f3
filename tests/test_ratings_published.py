"""ratings/ against published results: BradleyTerry2, GenAI-Arena, evalica's Elo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ratings import BattleTable, PairCounts, Settings, build_leaderboard, read_battles
from ratings.bradley_terry import fit_bradley_terry
from ratings.contextual import fit_contextual
from ratings.elo import online_elo
from tests.conftest import csv_rows, evalica_case, shared_file

pytestmark = pytest.mark.no_database  # run once, on SQLite (tests/conftest.py)


def relative(
    theta: np.ndarray, cov: np.ndarray, names: list[str], ref: str
) -> dict[str, tuple[float, float]]:
    """Log-abilities and standard errors against a reference category (R's refcat)."""
    k = names.index(ref)
    return {
        n: (theta[i] - theta[k], math.sqrt(cov[i, i] + cov[k, k] - 2 * cov[i, k]))
        for i, n in enumerate(names)
    }


def test_bradleyterry2_citations_log_abilities() -> None:
    rows = csv_rows(shared_file("bradleyterry2_cran", "citations_pairs_binomial.csv"))
    names = sorted({r["journal1"] for r in rows} | {r["journal2"] for r in rows})
    wins = np.zeros((len(names), len(names)))
    for r in rows:
        i, j = names.index(r["journal1"]), names.index(r["journal2"])
        wins[i, j], wins[j, i] = float(r["win1"]), float(r["win2"])
    fit = fit_bradley_terry(PairCounts(wins, np.zeros_like(wins)), interval="fisher")
    got = relative(fit.theta, fit.cov, names, "Biometrika")
    published = {"Comm Statist": -2.9491, "JASA": -0.4796, "JRSS-B": 0.2690}
    for journal, value in published.items():
        assert round(got[journal][0], 4) == value


def baseball() -> BattleTable:
    a, b, w = [], [], []
    for r in csv_rows(shared_file("bradleyterry2_cran", "baseball_agresti1987ALeast.csv")):
        for label, count in (("model_a", r["home.wins"]), ("model_b", r["away.wins"])):
            n = int(count)
            a += [r["home.team"]] * n
            b += [r["away.team"]] * n
            w += [label] * n
    return BattleTable.from_records(a, b, w)


def test_bradleyterry2_baseball_abilities_and_standard_errors() -> None:
    table = baseball()
    fit = fit_bradley_terry(PairCounts.from_table(table), interval="fisher")
    got = relative(fit.theta, fit.cov, list(table.models), "Baltimore")
    published = {
        "Boston": (1.1077, 0.3339),
        "Cleveland": (0.6839, 0.3319),
        "Detroit": (1.4364, 0.3396),
        "Milwaukee": (1.5814, 0.3433),
        "New York": (1.2476, 0.3359),
        "Toronto": (1.2945, 0.3367),
    }
    for team, (value, se) in published.items():
        assert (round(got[team][0], 4), round(got[team][1], 4)) == (value, se)


def test_bradleyterry2_baseball_home_advantage_is_a_covariate() -> None:
    # Every battle lists the home team as A: the covariate is 1 throughout.
    table = baseball()
    fit = fit_contextual(table, np.ones((len(table), 1)), interval="fisher")
    m = len(table.models)
    got = relative(fit.theta, fit.cov[:m, :m], list(table.models), "Baltimore")
    published = {
        "Boston": 1.1438,
        "Cleveland": 0.7047,
        "Detroit": 1.4754,
        "Milwaukee": 1.6196,
        "New York": 1.2813,
        "Toronto": 1.3271,
    }
    for team, value in published.items():
        assert round(got[team][0], 4) == value
    assert round(float(fit.beta[0]), 4) == 0.3023
    assert round(math.sqrt(fit.cov[m, m]), 4) == 0.1309


# GenAI-Arena's method (FastChat's compute_elo_mle_with_tie): every battle twice, a tie
# as one win each way, sklearn's default L2 penalty ½‖w‖² (C = 1) on w = θ / ln 10.
# On our half-win counts that is a ridge of 1 / (2 ln² 10) on θ.
GENAI_L2 = 1 / (2 * math.log(10) ** 2)


@pytest.mark.parametrize(
    "column,anony_only", [("Arena Elo rating (anony)", True), ("Arena Elo rating (full)", False)]
)
def test_genai_arena_published_boards(column: str, anony_only: bool) -> None:
    table = read_battles(shared_file("genai_arena_20240220", "clean_battle_20240220.json"))
    board = build_leaderboard(table, Settings(l2=GENAI_L2, anony_only=anony_only))
    got = {r.model: r.rating for r in board.rows + [r for g in board.others for r in g]}
    combined = csv_rows(shared_file("genai_arena_20240220", "leaderboard_20240220_published.csv"))
    # PROVENANCE: sklearn stopped early on the combined board (up to 2.6 points off).
    assert max(abs(got[r["key"]] - float(r[column])) for r in combined) < 3.0
    for task, suffix in (("t2i_generation", "generation"), ("image_editing", "edition")):
        split = csv_rows(
            shared_file("genai_arena_20240220", f"{task}_leaderboard_20240220_published.csv")
        )
        keys = [f"imagenhub_{r['key']}_{suffix}" for r in split]
        sub = table.select(np.isin(np.asarray(table.models)[table.a], keys))
        alone = build_leaderboard(sub, Settings(l2=GENAI_L2, anony_only=anony_only))
        mine = {r.model: r.rating for r in alone.rows}
        assert max(abs(mine[k] - float(r[column])) for k, r in zip(keys, split, strict=True)) < 0.12


def test_genai_arena_plain_maximum_likelihood_keeps_the_groups_apart() -> None:
    table = read_battles(shared_file("genai_arena_20240220", "clean_battle_20240220.json"))
    board = build_leaderboard(table)
    assert len(board.rows) == 7 and len(board.others) == 1 and len(board.others[0]) == 6
    assert board.manifest["warnings"]


@pytest.mark.parametrize("name", ["simple", "food", "llmfao"])
def test_evalica_golden_elo(name: str) -> None:
    data, golden = evalica_case(name, "elo")
    table = read_battles(data)
    got = dict(zip(table.models, online_elo(table, k=4), strict=True))
    for item, score in golden.items():
        assert got[item] == pytest.approx(score, abs=1e-9)
