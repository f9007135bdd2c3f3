"""Suspected rigging campaigns (ratings.campaigns): found on simulated votes with known
truth, left out of the board when asked, listed for the organizer."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from ratings import BattleTable, Settings, build_leaderboard
from ratings.campaigns import suspected_campaigns

MODELS = 16
TARGET = "m07"


def simulate(seed: int, campaign: int = 5, votes: int = 60, honest: int = 400) -> BattleTable:
    """Honest voters (30 votes each, an address of their own) vote by the true win
    probability; ``campaign`` addresses (two browsers each) vote for ``TARGET`` in
    ``votes`` battles with it, recognising it 95% of the time."""
    rng = np.random.default_rng(seed)
    truth = np.linspace(1000, 1300, MODELS)
    a, b, winner, voter, address = [], [], [], [], []

    def battle(i: int, j: int, a_wins: bool, who: str, where: str) -> None:
        a.append(f"m{i:02d}")
        b.append(f"m{j:02d}")
        winner.append("model_a" if a_wins else "model_b")
        voter.append(who)
        address.append(where)

    for v in range(honest):
        for _ in range(30):
            i, j = rng.choice(MODELS, 2, replace=False)
            p = 1 / (1 + 10 ** ((truth[j] - truth[i]) / 400))
            battle(i, j, bool(rng.random() < p), f"honest-{v}", f"home-{v}")
    target = int(TARGET[1:])
    for k in range(campaign):
        for n in range(votes):
            other = int(rng.choice([m for m in range(MODELS) if m != target]))
            read = rng.random() < 0.95
            i, j = (target, other) if n % 2 else (other, target)
            battle(i, j, (i == target) == read, f"rig-{k}-{n % 2}", f"rig-net-{k}")
    return BattleTable.from_records(
        a, b, winner, [True] * len(a), extra={"voter": voter, "address": address}
    )


def test_a_target_only_campaign_is_found_and_no_honest_voter_is() -> None:
    found = suspected_campaigns(simulate(0))
    assert [c.model for c in found] == [TARGET]
    assert found[0].addresses == [f"rig-net-{k}" for k in range(5)]
    assert not any(name.startswith("honest") for name in found[0].browsers)
    assert found[0].votes == 5 * 60
    assert found[0].shift > 20  # the rating points its votes add to the target


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_honest_votes_alone_raise_no_campaign(seed: int) -> None:
    assert suspected_campaigns(simulate(seed, campaign=0)) == []


def test_the_board_leaves_the_campaign_out_and_its_manifest_says_so() -> None:
    table = simulate(0)
    honest = build_leaderboard(simulate(0, campaign=0))
    rigged = build_leaderboard(table)
    screened = build_leaderboard(table, Settings(exclude_campaigns=True))
    rating = {
        name: {r.model: r.rating for r in b.rows}
        for name, b in (("honest", honest), ("rigged", rigged), ("screened", screened))
    }
    half = next((r.upper - r.lower) / 2 for r in honest.rows if r.model == TARGET)
    assert rating["rigged"][TARGET] - rating["honest"][TARGET] > half
    assert abs(rating["screened"][TARGET] - rating["honest"][TARGET]) < 1e-6
    assert screened.manifest["campaign_votes_excluded"] == 5 * 60
    assert screened.manifest["campaigns"][0]["model"] == TARGET
    assert "campaign screen" in screened.manifest["defences"][0]
    assert "defences" not in rigged.manifest


def _store_votes(url: str, table: BattleTable) -> None:
    from arena.store import BattleRecord, Store
    from arena.store.tables import utcnow

    store = Store(url)
    voters, addresses = table.column("voter"), table.column("address")
    assert voters is not None and addresses is not None
    now = utcnow()
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
                    voter_hash=str(voters[i]),
                    ip_hash=str(addresses[i]),
                    voted_at=now - timedelta(days=3, seconds=len(table) - i),
                )
            )
        s.commit()
    store.close()


def test_the_organizer_sees_the_campaign_in_voters_admin_board_and_release(
    tmp_path: Path,
) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from arena.app import Arena
    from arena.config import load_config
    from arena.release.public import write_release
    from arena.store import Store
    from arena.web.api import admin_router
    from arena.web.voters import answer_errors
    from tests.conftest import ROOT, db_url

    url = db_url(tmp_path)
    _store_votes(url, simulate(0))

    def cli(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, str(ROOT / "run_arena.py"), *args, "--db", url, "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        return json.loads(done.stdout)

    report = cli("voters")
    assert [c["model"] for c in report["campaigns"]] == [TARGET]
    assert (
        report["campaigns"][0]["votes"] == 300 and report["campaigns_excluded_from_board"] is False
    )
    board = cli("leaderboard", "--exclude-campaigns")["manifest"]
    assert board["campaign_votes_excluded"] == 300
    assert board["battles"] == board["battles_read"] - 300

    models = "".join(
        f'[[models]]\nname = "m{i:02d}"\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
        for i in range(MODELS)
    )
    (tmp_path / "arena.toml").write_text("[arena]\nexclude_campaigns = true\n" + models)
    config = load_config(tmp_path / "arena.toml", overrides={"db": url}, env={})
    arena = Arena.create(config)
    try:
        app = FastAPI()
        answer_errors(app)
        app.include_router(admin_router(arena, token="t"))
        with TestClient(app) as client:
            listed = client.get("/api/admin/campaigns", headers={"Authorization": "Bearer t"})
            assert client.get("/api/admin/campaigns").status_code == 401
    finally:
        arena.store.close()
    data = listed.json()
    assert data["excluded_from_board"] is True and data["votes"] == 300
    assert data["campaigns"][0]["addresses"] == [f"rig-net-{k}" for k in range(5)]
    assert "Suspected campaigns" in (ROOT / "static" / "admin.html").read_text()

    store = Store(url)
    try:
        release = write_release(
            store, tmp_path / "release", campaign_alpha=0.01, say=lambda _: None
        )
    finally:
        store.close()
    assert release.left_out["suspected rigging campaign"] == 300
    card = (tmp_path / "release" / "README.md").read_text()
    assert "300 vote(s) of suspected rigging campaigns were left out" in card
