"""Monitoring from battles (arena/audit/monitor.py) and the verdicts on the board: a
model's battle answers are checked against its reference's answers to the same
prompts, the verdicts are kept, and the leaderboard, /api/models and the admin view
show each model's latest audit, a failed one marked."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from arena.audit.monitor import MIN_ANSWERS, Monitor, check_answers
from arena.audit.run import PROMPTS
from arena.backends.pool import ModelPool
from arena.config import load_config
from arena.content import Message
from arena.errors import ArenaError, ConfigError
from arena.leaderboard import compute_leaderboard
from arena.store import BattleRecord, Store, TurnRecord
from arena.store.audits import BattleAnswer, battle_answers, claim, last_audits, save_audit
from arena.ui.leaderboard import table_rows
from tests.conftest import ROOT, db_url, serve
from tests.wire import WireServer, write_config

SMOL = "SmolLM2-135M-Instruct"
QWEN = "Qwen2.5-Coder-0.5B-Instruct"


def add_battle(
    store: Store,
    a: tuple[str, str],
    b: tuple[str, str],
    prompt: str,
    *,
    params: dict[str, Any] | None = None,
    winner: str = "model_a",
    error_b: str | None = None,
) -> None:
    """A voted battle whose first turn ``a`` = (model, answer) and ``b`` answered."""
    battle_id = str(uuid.uuid4())
    store.add_battle(
        BattleRecord(
            id=battle_id,
            model_a=a[0],
            model_b=b[0],
            params={"a": dict(params or {}), "b": dict(params or {})},
            state="voted",
            turns=1,
            winner=winner,
            voted_at=datetime.now(UTC),
            voter_hash=f"v-{battle_id[:8]}",
        )
    )
    for side, (_, answer), error in (("a", a, None), ("b", b, error_b)):
        store.add_turn(
            TurnRecord(
                battle_id=battle_id, turn=1, side=side, prompt=prompt, answer=answer, error=error
            )
        )


@pytest.fixture(scope="module")
def wire() -> WireServer:
    with WireServer() as server:
        # m-twin answers as m-ref does ("You said: ..."); m-other adds a word.
        server.misbehave["m-other"] = " Also: zebra."
        yield server


def wire_arena(tmp_path: Path, wire: WireServer, battles: int = 12) -> tuple[Path, str]:
    """arena.toml with m-ref, and m-twin and m-other claiming its weights; a database
    where they met ``battles`` times, each answering as the wire server answers them."""
    config = tmp_path / "arena.toml"
    write_config(
        config,
        wire,
        ["m-ref", "m-twin", "m-other"],
        {"m-twin": {"audit_reference": '"m-ref"'}, "m-other": {"audit_reference": '"m-ref"'}},
    )
    db = db_url(tmp_path)
    store = Store(db)
    for i in range(battles):
        prompt = f"tell me about topic {i}"
        add_battle(
            store,
            ("m-twin", f"You said: {prompt}"),
            ("m-other", f"You said: {prompt} Also: zebra."),
            prompt,
            winner="model_a" if i % 3 else "model_b",
        )
    store.close()
    return config, db


def models_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "run_arena.py"), "models", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- what the store gives the monitor -----------------------------------------------


def test_the_monitor_reads_each_model_s_own_first_answers(tmp_path: Path) -> None:
    store = Store(db_url(tmp_path))
    try:
        add_battle(store, ("A", "a1"), ("B", "b1"), "p1", params={"temperature": 0.5})
        add_battle(store, ("B", "b2"), ("A", "a2"), "p2")
        add_battle(store, ("A", "a3"), ("B", ""), "p3", error_b="timed out")
        answers = battle_answers(store, "A", 10)
        assert sorted(a.answer for a in answers) == ["a1", "a2", "a3"]
        assert {a.answer: a.params for a in answers}["a1"] == {"temperature": 0.5}
        # B's failed answer is no sample of B; the newest come first, and at most limit.
        assert [a.answer for a in battle_answers(store, "B", 10)] == ["b2", "b1"]
        assert [a.answer for a in battle_answers(store, "A", 1)] == ["a3"]
    finally:
        store.close()


def test_a_scheduled_job_is_claimed_once_per_interval(tmp_path: Path) -> None:
    store, other = Store(db_url(tmp_path)), None
    try:
        other = Store(store.engine.url.render_as_string(hide_password=False))  # a second process
        assert claim(store, "monitor:m", timedelta(hours=1))
        assert not claim(other, "monitor:m", timedelta(hours=1))
        assert not claim(store, "monitor:m", timedelta(hours=1))
        assert claim(other, "monitor:other-model", timedelta(hours=1))
        assert claim(other, "monitor:m", timedelta(0))  # due again
    finally:
        store.close()
        if other is not None:
            other.close()


def test_verdicts_are_kept_and_the_latest_counts(tmp_path: Path) -> None:
    store = Store(db_url(tmp_path))
    try:
        base = {"reference": "R", "queries": 4, "alpha": 0.01, "tests": []}
        save_audit(store, "audit", {**base, "model": "M", "verdict": "consistent"})
        save_audit(store, "monitor", {**base, "model": "M", "verdict": "different", "queries": 0})
        save_audit(store, "audit", {**base, "model": "N", "verdict": "consistent"})
        latest = last_audits(store)
        assert latest["M"].verdict == "different" and latest["M"].kind == "monitor"
        assert latest["N"].verdict == "consistent" and latest["N"].report["queries"] == 4
    finally:
        store.close()


# -- the check itself, on the wire server -------------------------------------------


async def test_the_check_tells_a_changed_model_from_the_same_one(
    tmp_path: Path, wire: WireServer
) -> None:
    config, db = wire_arena(tmp_path, wire)
    store = Store(db)
    pool = ModelPool(load_config(config, env={}))
    await pool.start()
    try:
        reference = pool.backend("m-ref")
        same = await check_answers(
            battle_answers(store, "m-twin", 40), reference, "m-twin", "m-ref"
        )
        other = await check_answers(
            battle_answers(store, "m-other", 40), reference, "m-other", "m-ref"
        )
        assert same.verdict == "consistent" and same.tests[0].p_value == 1.0
        assert other.verdict == "different" and other.tests[0].p_value <= 0.001
        assert other.queries == 0 and "12 battle answers" in other.tests[0].detail
        # The reference was asked each prompt 8 times, never for more than 96 tokens.
        asked = [r for r in wire.requests if r.get("model") == "m-ref"]
        assert len(asked) >= 2 * 12 * 8
        assert all(r["max_tokens"] <= 96 for r in asked if "max_tokens" in r)
        with pytest.raises(ArenaError, match=f"at least {MIN_ANSWERS}"):
            await check_answers(battle_answers(store, "m-twin", 3), reference, "m-twin", "m-ref")
    finally:
        await pool.stop()
        store.close()


async def test_the_schedule_checks_each_watched_model_once_per_interval(
    tmp_path: Path, wire: WireServer
) -> None:
    config_path, db = wire_arena(tmp_path, wire)
    config = load_config(config_path, env={}, overrides={"monitor_answers": 12})
    store = Store(db)
    pool = ModelPool(config)
    await pool.start()
    try:
        monitor = Monitor(lambda: config, store, pool)
        assert monitor.watched() == [("m-twin", "m-ref"), ("m-other", "m-ref")]
        done = await monitor.run_due(timedelta(hours=24))
        assert {(r.model, r.verdict) for r in done} == {
            ("m-twin", "consistent"),
            ("m-other", "different"),
        }
        assert await monitor.run_due(timedelta(hours=24)) == []  # not due again yet
        assert {m: r.kind for m, r in last_audits(store).items()} == {
            "m-twin": "monitor",
            "m-other": "monitor",
        }
        # A model with fewer answers than a check uses waits for more.
        wanting = load_config(config_path, env={}, overrides={"monitor_answers": 50})
        assert await Monitor(lambda: wanting, store, pool).run_due(timedelta(0)) == []
    finally:
        await pool.stop()
        store.close()


def test_an_audit_reference_must_name_another_model(tmp_path: Path, wire: WireServer) -> None:
    config = tmp_path / "arena.toml"
    for bad in ('"m-nope"', '"m-a"'):
        write_config(config, wire, ["m-a", "m-b"], {"m-a": {"audit_reference": bad}})
        with pytest.raises(ConfigError, match="audit_reference of 'm-a'.*another configured"):
            load_config(config, env={})


# -- the verdicts where people look ---------------------------------------------------


def test_the_board_the_api_and_the_admin_view_show_the_latest_audit(
    tmp_path: Path, wire: WireServer
) -> None:
    config, db = wire_arena(tmp_path, wire)
    flagged = models_cli(
        "monitor", "m-other", "--config", str(config), "--db", db, "--format", "json"
    )
    assert flagged.returncode == 3, flagged.stderr
    report = json.loads(flagged.stdout)
    assert report["verdict"] == "different" and report["queries"] == 0
    assert report["tests"][0]["name"] == "battle answers vs reference"
    fine = models_cli("monitor", "m-twin", "--config", str(config), "--db", db)
    assert fine.returncode == 0 and "CONSISTENT" in fine.stdout, fine.stderr
    # An audit with the reference from arena.toml; its verdict is kept too.
    audited = models_cli("audit", "m-twin", "--config", str(config), "--db", db, "--queries", "24")
    assert audited.returncode == 0, audited.stderr

    store = Store(db)
    try:
        board = compute_leaderboard(store, load_config(config, env={}))
    finally:
        store.close()
    rows = {r.model: r for r in board.rows}
    assert rows["m-other"].audit["verdict"] == "different"
    assert rows["m-twin"].audit == {
        **rows["m-twin"].audit,
        "verdict": "consistent",
        "kind": "audit",
    }
    assert "m-ref" not in rows  # in no battle
    cells = {row[2].split(" *(")[0]: row[-1] for row in table_rows(board)}
    assert cells["m-other"].startswith("⚠️ FAILED: differs from m-ref")
    assert cells["m-twin"].startswith("✓ consistent with m-ref")

    token = "admin-" + uuid.uuid4().hex
    with serve(config, db, tmp_path, {"ARENA_ADMIN_TOKEN": token}) as (_, url):
        listed = {m["name"]: m for m in httpx.get(url + "api/models").json()}
        assert listed["m-other"]["audit"]["verdict"] == "different"
        assert listed["m-twin"]["audit"]["kind"] == "audit" and listed["m-ref"]["audit"] is None
        board_rows = {r["model"]: r for r in httpx.get(url + "api/leaderboard").json()["rows"]}
        assert board_rows["m-other"]["audit"]["reference"] == "m-ref"
        admin = httpx.get(url + "api/admin/models", headers={"Authorization": f"Bearer {token}"})
        states = {m["name"]: m for m in admin.json()["models"]}
        assert states["m-other"]["audit"]["verdict"] == "different"


def test_bad_monitor_requests_say_what_is_wrong(tmp_path: Path, wire: WireServer) -> None:
    config, db = wire_arena(tmp_path, wire, battles=3)
    few = models_cli("monitor", "m-twin", "--config", str(config), "--db", db)
    assert few.returncode == 2 and "3 battle answer(s)" in few.stderr
    no_reference = models_cli("monitor", "m-ref", "--config", str(config), "--db", db)
    assert no_reference.returncode == 2 and "audit_reference set for m-ref" in no_reference.stderr
    no_name = models_cli("monitor", "--config", str(config), "--db", db)
    assert no_name.returncode == 2 and "needs NAME" in no_name.stderr


# -- the proof with the two packaged models ---------------------------------------------


async def test_battle_answers_from_other_weights_are_flagged(
    config_file: Path, tmp_path: Path
) -> None:
    """Battles where "SmolLM2" answered with Qwen's weights are flagged against a
    SmolLM2 reference; battles with SmolLM2's own answers are not."""
    params = {"temperature": 0.7, "top_p": 0.9, "max_tokens": 24}  # the arena's sampling
    pool = ModelPool(load_config(config_file, env={}))
    await pool.start()
    try:
        assert not pool.failures, pool.failures
        prompts = list(PROMPTS) * 2  # 40 answers, as a check uses by default
        verdicts = {}
        for served_by in (SMOL, QWEN):
            answers = []
            for prompt in prompts:
                text = ""
                async for chunk in pool.backend(served_by).stream([Message.user(prompt)], params):
                    text += chunk if isinstance(chunk, str) else ""
                answers.append(BattleAnswer(prompt, text, params))
            report = await check_answers(
                answers, pool.backend(SMOL), "claims-smollm2", SMOL, samples=8, alpha=0.001
            )
            verdicts[served_by] = (report.verdict, report.tests[0].p_value)
    finally:
        await pool.stop()
    assert verdicts[QWEN][0] == "different", verdicts
    assert verdicts[SMOL][0] == "consistent", verdicts
