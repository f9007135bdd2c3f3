"""Anomalous voters and repeated prompts, on simulated votes with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from ratings import BattleTable, LeaderboardError, Settings
from ratings.leaderboard import select_battles
from ratings.voters import anomalous_voters, repeated_prompt_mask


def simulate(seed: int, honest: int = 300, adversaries: int = 20, votes: int = 40) -> BattleTable:
    """Honest voters vote by the true win probability; ``inverted`` voters always
    pick the weaker model, ``random`` ones flip a coin."""
    rng = np.random.default_rng(seed)
    truth = np.linspace(1000, 1400, 12)
    a, b, winner, voter = [], [], [], []
    for kind, count in (("honest", honest), ("inverted", adversaries), ("random", adversaries)):
        for v in range(count):
            for _ in range(votes):
                i, j = rng.choice(12, 2, replace=False)
                p = 1 / (1 + 10 ** ((truth[j] - truth[i]) / 400))
                chance = {"honest": p, "inverted": float(p > 0.5), "random": 0.5}[kind]
                if kind == "inverted":
                    a_wins = p < 0.5
                else:
                    a_wins = rng.random() < chance
                a.append(f"m{i}")
                b.append(f"m{j}")
                winner.append("model_a" if a_wins else "model_b")
                voter.append(f"{kind}-{v}")
    return BattleTable.from_records(a, b, winner, [True] * len(a), extra={"voter": voter})


def flagged_share(table: BattleTable, kind: str) -> float:
    scores = [s for s in anomalous_voters(table) if s.voter.startswith(kind + "-")]
    return sum(s.flagged for s in scores) / len(scores)


def test_voters_who_pick_the_weaker_model_are_flagged_and_honest_ones_are_not() -> None:
    for seed in range(3):
        table = simulate(seed)
        assert flagged_share(table, "inverted") == 1.0
        assert flagged_share(table, "honest") == 0.0  # alpha bounds any false positive


def test_coin_flippers_are_found_once_they_cast_enough_votes() -> None:
    few, many = simulate(0, votes=40), simulate(0, honest=100, votes=200)
    assert flagged_share(few, "random") < 0.5 < flagged_share(many, "random")
    assert flagged_share(many, "honest") == 0.0


def test_the_report_is_reproducible_and_ordered() -> None:
    table = simulate(1, honest=50, adversaries=3)
    first, again = anomalous_voters(table), anomalous_voters(table)
    assert first == again
    assert [s.p_value for s in first] == sorted(s.p_value for s in first)
    assert first[0].voter.startswith("inverted") and first[0].upsets > first[0].votes / 2


def test_the_leaderboard_can_leave_flagged_voters_out() -> None:
    table = simulate(2, honest=100)
    kept = select_battles(table, Settings(exclude_anomalous=True))
    voters = set(kept.column("voter"))
    assert not any(v.startswith("inverted") for v in voters)
    assert sum(v.startswith("honest") for v in voters) == 100
    assert len(select_battles(table, Settings())) == len(table)


def test_without_a_voter_column_the_option_says_so() -> None:
    table = BattleTable.from_records(["x"], ["y"], ["model_a"], [True])
    with pytest.raises(LeaderboardError, match="voter column"):
        select_battles(table, Settings(exclude_anomalous=True))


def test_a_very_frequent_prompt_is_down_sampled_to_the_cap() -> None:
    prompts = [f"question {i}" for i in range(3000)]
    prompts += ["Hi"] * 200 + [" hi  "] * 200  # one prompt, written two ways
    prompts += ["What is 2+2?"] * 20 + ["Tell me a joke"] * 5 + ["Why?"] * 3
    n = len(prompts)
    table = BattleTable.from_records(
        ["x"] * n, ["y"] * n, ["model_a"] * n, [True] * n, extra={"prompt": prompts}
    )
    # 3,004 distinct prompts: the one at the 99.9th percentile by frequency ("Why?")
    # has 3 battles, so "hi" keeps 3 of 400, "What is 2+2?" 3 of 20.
    keep = repeated_prompt_mask(table, quantile=0.999)
    kept = [p.strip().lower() for p, k in zip(prompts, keep, strict=True) if k]
    for prompt in ("hi", "what is 2+2?", "tell me a joke", "why?"):
        assert kept.count(prompt) == 3
    assert len(kept) == n - 397 - 17 - 2
    assert (repeated_prompt_mask(table, quantile=0.999) == keep).all()  # seeded
    assert repeated_prompt_mask(table, quantile=1.0).all()
    assert len(select_battles(table, Settings())) == n - 416


def test_a_small_arena_keeps_every_repeat() -> None:
    prompts = ["hi"] * 30 + [f"q{i}" for i in range(100)]
    table = BattleTable.from_records(
        ["x"] * 130, ["y"] * 130, ["model_a"] * 130, [True] * 130, extra={"prompt": prompts}
    )
    assert repeated_prompt_mask(table, quantile=0.999).all()  # under 1,000 distinct prompts


def test_the_voters_report_and_the_board_option_from_the_arena_database(tmp_path) -> None:
    import json
    import subprocess
    import sys
    import uuid

    from arena.store import BattleRecord, Store
    from arena.store.tables import utcnow
    from tests.conftest import ROOT, db_url

    table = simulate(4, honest=60, adversaries=5)
    url = db_url(tmp_path)
    store = Store(url)
    voters = table.column("voter")
    with store.session() as s:
        for i in range(len(table)):
            s.add(
                BattleRecord(
                    id=str(uuid.uuid4()),
                    model_a=table.models[table.a[i]],
                    model_b=table.models[table.b[i]],
                    state="voted",
                    turns=1,
                    winner=("model_a", "model_b")[table.outcome[i]],
                    voter_hash=voters[i],
                    voted_at=utcnow(),
                )
            )
        s.commit()

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(ROOT / "run_arena.py"), *args, "--db", url, "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    report = json.loads(run("voters"))
    assert report["tested"] == 70
    assert {v["voter"] for v in report["voters"]} >= {f"inverted-{i}" for i in range(5)}
    assert not any(v["voter"].startswith("honest") for v in report["voters"])
    board = json.loads(run("leaderboard", "--exclude-anomalous"))["manifest"]
    assert board["battles"] < board["battles_read"] - 5 * 40 + 1
    assert board["settings"]["exclude_anomalous"] is True
