"""The board's columns and marks: rank spread, provisional, retired models, link and
prices, the reveal cards, ratings by week, inverse pair weights, a release's cap per
near-duplicate cluster."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arena.config import load_config
from arena.store import Store
from tests.conftest import db_url
from tests.records import WORDS, add
from tests.wire import WireServer, write_config

# -- the board's columns, marks and retired models --------------------------------------


def test_rows_carry_the_rank_spread_and_provisional_marks() -> None:
    from ratings import BattleTable, Settings, build_leaderboard, render

    rng = random.Random(4)
    strength = {"strong": 4.0, "middle": 1.0, "twin": 1.0, "weak": 0.25}
    a, b, w = [], [], []
    for _ in range(3000):
        x, y = rng.sample(sorted(strength), 2)
        a.append(x)
        b.append(y)
        w.append(
            "model_a" if rng.random() < strength[x] / (strength[x] + strength[y]) else "model_b"
        )
    for i in range(6):  # a newcomer with a handful of votes
        a.append("newcomer")
        b.append("middle")
        w.append("model_a" if i % 3 else "model_b")
    table = BattleTable.from_records(a, b, w)
    board = build_leaderboard(
        table,
        Settings(provisional_votes=50, provisional_width=150),
        metadata={"twin": {"url": "https://example.org/twin", "price_in": 0.5, "retired": True}},
    )
    rows = {r.model: r for r in board.rows}
    # strong is confidently first of the settled models; the newcomer's wide interval
    # allows it anywhere, so strong could also be second behind it.
    assert rows["strong"].rank == 1 and rows["strong"].worst_rank == 2
    # middle and twin are equally strong: the intervals allow each to be 2nd to 4th.
    assert rows["middle"].rank == rows["twin"].rank == 2
    assert rows["middle"].worst_rank == rows["twin"].worst_rank == 4
    assert rows["newcomer"].provisional and not rows["strong"].provisional
    assert rows["newcomer"].rank == 1 and rows["newcomer"].worst_rank == 4  # above weak
    assert rows["twin"].retired
    assert rows["twin"].url == "https://example.org/twin" and rows["twin"].price_in == 0.5
    header = next(line for line in render(board, "csv").splitlines() if line.startswith("rank,"))
    assert "worst_rank" in header and "provisional" in header and "retired" in header
    data = board.to_dict()["rows"]
    assert {"worst_rank", "provisional", "url", "price_in", "knowledge_cutoff"} <= set(data[0])


def test_a_retired_model_leaves_the_draw_and_stays_on_the_board(tmp_path: Path) -> None:
    from arena.backends.pool import ModelPool
    from arena.leaderboard import compute_leaderboard
    from arena.ui.leaderboard import table_rows

    with WireServer() as wire:
        config_path = tmp_path / "arena.toml"
        write_config(
            config_path,
            wire,
            ["m-a", "m-b", "m-c"],
            {"m-c": {"retired": "true", "url": '"https://example.org/c"', "price_in": 1.5}},
        )
        config = load_config(config_path, env={}, overrides={"db": db_url(tmp_path)})
    assert "m-c" not in ModelPool(config).backends and "m-c" not in config.public_names
    store = Store(config.settings.db)
    at = datetime(2026, 1, 5, tzinfo=UTC)
    try:
        for i in range(30):
            x, y = [("m-a", "m-b"), ("m-b", "m-c"), ("m-a", "m-c")][i % 3]
            add(store, x, y, "model_a", f"prompt {i} " + " ".join(WORDS[i % 9 : i % 9 + 4]), at=at)
        board = compute_leaderboard(store, config)
    finally:
        store.close()
    rows = {r.model: r for r in board.rows}
    assert rows["m-c"].retired and rows["m-c"].price_in == 1.5
    shown = [row[2] for row in table_rows(board)]
    assert any(
        cell.startswith("[m-c](https://example.org/c)") and "retired" in cell for cell in shown
    )
    assert not any("m-c" in row[2] for row in table_rows(board, retired=False))
    assert all("provisional" in cell for cell in shown)  # 20 votes each, under 100


def test_the_reveal_shows_a_card_of_each_model() -> None:
    from arena.web.view import reveal_cards

    a = {
        "name": "m|a",
        "organization": "Org A",
        "license": "MIT",
        "url": "https://a.example",
        "price_in": 0.15,
        "price_out": 0.6,
    }
    b = {
        "name": "m-b",
        "organization": "",
        "license": "",
        "url": "",
        "price_in": None,
        "price_out": None,
    }
    card = reveal_cards(a, b)
    assert "| | Model A: m\\|a | Model B: m-b |" in card
    assert "| Price | $0.15 / $0.6 per M tokens (in / out) |  |" in card
    assert "[model page](https://a.example)" in card and "| Licence | MIT |  |" in card
    assert reveal_cards({"name": "x"}, {"name": "y"}) == ""


# -- ratings over time ----------------------------------------------------------------------


def test_ratings_by_week_follow_a_model_that_gets_better() -> None:
    from ratings import BattleTable
    from ratings.history import history_figure, rating_history, week_ends

    rng = random.Random(5)
    start = datetime(2026, 3, 4, 12, tzinfo=UTC).timestamp()  # a Wednesday
    a, b, w, t = [], [], [], []
    for week in range(6):
        for _ in range(400):
            x, y = rng.sample(["rising", "steady", "other"], 2)
            skill = {"rising": 0.5 + week, "steady": 1.0, "other": 1.0}
            a.append(x)
            b.append(y)
            w.append("model_a" if rng.random() < skill[x] / (skill[x] + skill[y]) else "model_b")
            t.append(start + week * 7 * 86400 + rng.random() * 7 * 86400)
    table = BattleTable.from_records(a, b, w, extra={"tstamp": t})
    ends = week_ends(min(t), max(t))
    assert len(ends) == 7 and datetime.fromtimestamp(ends[0], UTC).weekday() == 0
    points = rating_history(table)
    rising = [p for p in sorted(points, key=lambda p: p.at) if p.model == "rising"]
    assert len(rising) == 7 and rising[-1].votes == sum(
        1 for x, y in zip(a, b, strict=True) if "rising" in (x, y)
    )
    assert rising[0].rating < rising[-1].rating - 100  # it climbed
    assert all(p.lower <= p.rating <= p.upper for p in rising)
    assert len(history_figure(points).data) == 6  # a band and a line per model


# -- inverse pair weighting -------------------------------------------------------------------


def test_inverse_pair_weights_make_a_skewed_draw_rate_like_a_uniform_one() -> None:
    from ratings import BattleTable, Settings, build_leaderboard

    def battles(per_pair: dict[tuple[str, str], int]) -> BattleTable:
        # A beats B 90% of the time; every other pair is even (not a Bradley–Terry world,
        # so how often each pair is drawn moves the unweighted fit).
        a, b, w = [], [], []
        for (x, y), n in per_pair.items():
            won = round(n * (0.9 if (x, y) == ("A", "B") else 0.5))
            a += [x] * n
            b += [y] * n
            w += ["model_a"] * won + ["model_b"] * (n - won)
        return BattleTable.from_records(a, b, w)

    pairs = [("A", "B"), ("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"), ("C", "D")]
    uniform = battles({p: 2000 for p in pairs})
    skewed = battles({p: 20000 if p == ("A", "B") else 1000 for p in pairs})

    def gap(table: BattleTable, weights: bool) -> float:
        board = build_leaderboard(table, Settings(inverse_pair_weights=weights))
        rows = {r.model: r for r in board.rows}
        assert board.manifest["settings"]["inverse_pair_weights"] is weights
        assert all(r.lower < r.rating < r.upper for r in board.rows)
        return rows["A"].rating - rows["B"].rating

    target = gap(uniform, False)
    assert abs(gap(skewed, True) - target) < 1.0
    assert gap(skewed, False) - target > 50  # the often-drawn pair dominates unweighted
    assert abs(gap(uniform, True) - target) < 1e-6  # uniform draws: weights change nothing
    with pytest.raises(Exception, match="inverse pair weights"):
        Settings(inverse_pair_weights=True, style=True)


def test_a_release_s_board_caps_each_near_duplicate_cluster() -> None:
    from ratings import BattleTable
    from ratings.voters import repeated_prompt_mask

    # 200 battles of distinct prompts and 50 of one cluster of near-duplicates.
    clusters = list(range(200)) + [7] * 50
    table = BattleTable.from_records(
        ["a"] * 250, ["b"] * 250, ["model_a"] * 250, extra={"cluster": [float(c) for c in clusters]}
    )
    keep = repeated_prompt_mask(table, 0.99)
    kept = [c for c, k in zip(clusters, keep, strict=True) if k]
    assert kept.count(7) == 1 and len(kept) == 200  # capped at the 99th percentile: 1
