"""The proof of work's health: the share of the last hour's votes flagged "no proof of
work", counted for the admin view and watched for a jump. Votes go through the real
vote path into a real database; the models are openai-kind on tests/wire.py, which
echoes the prompt. The page's side (the admin view in Chromium) is in
tests/test_browser.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from arena.app import Arena
from arena.config import load_config
from arena.gate import Voter
from arena.integrity.proof_watch import CHECK_EVERY, ProofWatch, proof_share
from arena.store import Store
from arena.store.tables import utcnow
from tests.conftest import db_url, sqlite_only
from tests.test_integrity import arena_of, battle, solved
from tests.wire import WireServer

SCRIPT = Voter("browser-script", "203.0.113.9")  # never solves a challenge
LEAK = "Start with: I am Claude, made by Anthropic."  # flagged as an identity leak
PROOF_ON = {"proof_of_work": '"on"', "proof_every": 20}


@pytest.fixture
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


def page_voter(arena: Arena, name: str = "browser-page") -> Voter:
    """A browser whose page solved its challenge: its next 20 votes are covered."""
    proofs = arena.gate.identity.proofs
    payload = solved(proofs.challenge(name, votes=0, work=1000))
    return replace(Voter(name, "203.0.113.10"), proof=proofs.verify(payload, name))


async def cast(arena: Arena, voter: Voter, votes: int, prompt: str = "Hello") -> list[str]:
    """``votes`` battles of ``voter`` through the real vote path; their ids."""
    ids = []
    for _ in range(votes):
        ids.append(await battle(arena, prompt, voter))
        await arena.votes.vote(ids[-1], "model_a", voter)
    return ids


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "arena.integrity.proof_watch" and r.levelno == level
    ]


async def test_the_share_counts_votes_flagged_no_proof_of_work_in_the_last_hour(
    tmp_path: Path, wire: WireServer
) -> None:
    async with arena_of(tmp_path, wire, **PROOF_ON) as arena:
        page = page_voter(arena)
        await cast(arena, page, 2)  # proven
        await cast(arena, page, 1, LEAK)  # flagged, but not for the proof
        await cast(arena, SCRIPT, 2)  # no proof
        (both,) = await cast(arena, SCRIPT, 1, LEAK)
        reason = arena.store.battle(both).invalid_reason or ""
        assert reason.startswith("identity leak") and "; no proof of work: " in reason

        now = utcnow() + timedelta(seconds=1)
        arena.proof_watch.clock = lambda: now
        health = arena.proof_watch.health().to_dict()
        assert health["enabled"] and not health["alert"]  # 6 votes: under proof_alert_votes
        assert (health["votes"], health["flagged"], health["share"]) == (6, 3, 0.5)
        assert health["previous_hour"] == {"votes": 0, "flagged": 0, "share": None}

        arena.proof_watch.clock = lambda: now + timedelta(minutes=90)
        later = arena.proof_watch.health()
        assert (later.last_hour.votes, later.previous_hour.votes) == (0, 6)
        assert later.previous_hour.flagged == 3


async def test_a_jump_is_logged_once_and_its_end_once_across_processes(
    tmp_path: Path, wire: WireServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="arena.integrity.proof_watch")
    async with arena_of(tmp_path, wire, **PROOF_ON, proof_alert_votes=4) as arena:
        watch = arena.proof_watch
        # A second arena process on the same database.
        other = ProofWatch(lambda: arena.config, arena.store)
        await cast(arena, page_voter(arena), 2)
        now = utcnow() + timedelta(seconds=1)
        watch.clock = other.clock = lambda: now
        assert not watch.check().alert  # 2 proven votes: all is well, nothing said

        await cast(arena, SCRIPT, 3)  # the page's challenge "breaks": 3 of 5 flagged
        now = utcnow() + timedelta(seconds=1)
        assert watch.check().alert
        (warning,) = records(caplog, logging.WARNING)
        assert "3 of 5 votes (60%) in the last hour were flagged 'no proof of work'" in warning
        assert "the hour before: 0 of 0 votes" in warning and "/api/proof" in warning
        assert watch.check().alert and other.check().alert  # still high: nothing new said
        assert len(records(caplog, logging.WARNING)) == 1

        now += timedelta(minutes=90)  # an hour and a half later, no votes since
        assert not other.check().alert
        assert not watch.check().alert
        assert len(records(caplog, logging.WARNING)) == 1
        (back,) = records(caplog, logging.INFO)
        assert back.startswith("proof of work: back below proof_alert_share: 0 of 0 votes")


async def test_few_votes_or_a_low_share_log_nothing(
    tmp_path: Path, wire: WireServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="arena.integrity.proof_watch")
    async with arena_of(tmp_path, wire, **PROOF_ON, proof_alert_votes=4) as arena:
        watch = arena.proof_watch
        watch.clock = lambda: utcnow() + timedelta(seconds=1)
        await cast(arena, SCRIPT, 3)  # all flagged, but 3 votes say little
        assert not watch.check().alert
        await cast(arena, page_voter(arena), 4)  # 3 of 7: under proof_alert_share
        health = watch.check()
        assert not health.alert and health.last_hour.flagged == 3
        assert records(caplog, logging.WARNING) == records(caplog, logging.INFO) == []


async def test_with_the_proof_of_work_off_nothing_is_flagged_or_logged(
    tmp_path: Path, wire: WireServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="arena.integrity.proof_watch")
    async with arena_of(tmp_path, wire, proof_alert_votes=1) as arena:  # 127.0.0.1: off
        await cast(arena, SCRIPT, 2)
        arena.proof_watch.clock = lambda: utcnow() + timedelta(seconds=1)
        health = arena.proof_watch.check()
        assert not health.enabled and not health.alert
        assert (health.last_hour.votes, health.last_hour.flagged) == (2, 0)
        assert caplog.records == []


@sqlite_only
async def test_the_share_reads_the_last_hours_by_the_voted_at_index(
    tmp_path: Path, wire: WireServer
) -> None:
    from sqlalchemy import event

    async with arena_of(tmp_path, wire) as arena:
        seen: list[tuple[str, object]] = []

        def keep(*args: object) -> None:
            seen.append((str(args[2]), args[3]))

        event.listen(arena.store.engine, "before_cursor_execute", keep)
        now = utcnow()
        proof_share(arena.store, now - timedelta(hours=1), now)
        event.remove(arena.store.engine, "before_cursor_execute", keep)
        statement, parameters = seen[-1]
        with arena.store.engine.connect() as connection:
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement,
                parameters,  # type: ignore[arg-type]
            ).all()
        assert "ix_battles_voted_at" in str(plan), plan


async def test_the_periodic_check_falls_due_by_the_watchs_own_clock(tmp_path: Path) -> None:
    store = Store(db_url(tmp_path))
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    watch = ProofWatch(lambda: load_config(None, env={}), store, clock=lambda: now)
    try:
        assert await watch.run_due() is not None  # the first check
        assert await watch.run_due() is None  # not due again at once
        now += CHECK_EVERY
        assert await watch.run_due() is not None  # due again once its clock says so
    finally:
        store.close()
