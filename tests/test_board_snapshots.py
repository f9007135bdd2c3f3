"""The leaderboard once per deployment (arena/boards.py): one process computes a board
and keeps it in the database, the others read it; it is computed again only when due.
Two :class:`Boards` on one database stand for two arena processes."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlmodel import select

import arena.boards
from arena.boards import Boards
from arena.config import load_config
from arena.leaderboard import HistoryFits, LeaderboardView, leaderboard_view
from arena.store import Store
from arena.store.tables import BoardSnapshotRecord
from ratings import LeaderboardError
from tests.conftest import db_url, sqlite_only
from tests.records import WORDS, add

AT = datetime(2026, 1, 5, tzinfo=UTC)


def vote(store: Store, n: int, seed: int = 0) -> None:
    models = ("m-a", "m-b", "m-c")
    for i in range(n):
        a, b = models[(i + seed) % 3], models[(i + seed + 1) % 3]
        prompt = " ".join(WORDS[(i * 7 + seed + k) % len(WORDS)] for k in range(5))
        add(store, a, b, "model_a" if i % 3 else "model_b", prompt, at=AT, language_code="fr")


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(db_url(tmp_path))
    vote(s, 30)
    yield s
    s.close()


@pytest.fixture
def holder() -> dict[str, Any]:
    return {"config": load_config(None, env={})}


class Clock:
    """The boards' clock, moved on by the test alone: what is due does not depend on
    how busy the machine is."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 6, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def snapshots(store: Store) -> list[str]:
    with store.session() as s:
        return sorted(s.exec(select(BoardSnapshotRecord.key)).all())


def test_a_view_survives_its_trip_through_the_database(store: Store, holder: Any) -> None:
    view = leaderboard_view(store, holder["config"])
    assert view.tables is not None and np.isnan(view.tables.predicted_win_rate).any()
    back = LeaderboardView.from_dict(json.loads(json.dumps(view.to_dict())))
    assert back.board.rows == view.board.rows and back.board.manifest == json.loads(
        json.dumps(view.board.manifest)
    )
    assert back.categories == view.categories and back.counts == view.counts
    assert back.history == view.history and back.total_votes == view.total_votes == 30
    assert back.tables is not None
    for name in ("battle_counts", "win_fraction", "predicted_win_rate", "average_win_rate"):
        np.testing.assert_array_equal(getattr(back.tables, name), getattr(view.tables, name))
    assert back.tables.battle_counts.dtype.kind == "i"


def test_past_weeks_are_fitted_once_into_the_callers_fits(store: Store, holder: Any) -> None:
    """No module-level cache (issue 23): the caller (a process's Boards) keeps them."""
    fits: HistoryFits = {}
    view = leaderboard_view(store, holder["config"], fits=fits)
    kept = dict(fits)
    assert kept and view.history  # at least the week the battles are in
    again = leaderboard_view(store, holder["config"], fits=fits)
    assert fits.keys() == kept.keys() and all(fits[k] is kept[k] for k in kept)  # reused
    assert again.history == view.history == leaderboard_view(store, holder["config"]).history


def test_one_process_computes_a_board_and_the_others_read_it(store: Store, holder: Any) -> None:
    first, second = Boards(lambda: holder["config"], store), Boards(lambda: holder["config"], store)
    mine = first.view()
    theirs = second.view()
    assert (first.computed, second.computed) == (1, 0)
    assert theirs.computed_at == mine.computed_at and theirs.view.board.rows == mine.view.board.rows
    assert snapshots(store) == ["Overall|plain"]
    # Asked again at once: nothing is computed, by either.
    assert first.view().computed_at == second.view().computed_at == mine.computed_at
    assert (first.computed, second.computed) == (1, 0)


def test_a_board_is_computed_again_once_due_and_only_if_something_changed(
    store: Store, holder: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arena.boards, "COST_FACTOR", 0)
    monkeypatch.setattr(arena.boards, "MIN_AGE_S", 0.3)
    first = Boards(lambda: holder["config"], store, clock)
    second = Boards(lambda: holder["config"], store, clock)
    before = first.view()
    vote(store, 3, seed=1)
    # Younger than its minimum age: the new votes wait.
    assert second.view().view.total_votes == 30 and second.computed == 0
    clock.advance(0.35)
    after = second.view()  # due, and the votes changed: this process takes it
    assert after.view.total_votes == 33 and second.computed == 1
    assert after.computed_at > before.computed_at
    assert first.view().computed_at == after.computed_at and first.computed == 1  # read
    clock.advance(0.35)
    assert first.view().computed_at == after.computed_at  # nothing changed: kept
    assert (first.computed, second.computed) == (1, 1)
    # The models' details are part of what a board is computed from.
    config = holder["config"]
    holder["config"] = replace(
        config, models=[replace(config.models[0], organization="Elsewhere"), *config.models[1:]]
    )
    clock.advance(0.35)
    assert first.view().computed_at > after.computed_at and first.computed == 2


def test_a_board_is_refreshed_after_the_interval_even_with_nothing_new(
    store: Store, holder: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = holder["config"]
    holder["config"] = replace(config, settings=replace(config.settings, leaderboard_refresh_s=0.3))
    monkeypatch.setattr(arena.boards, "MIN_AGE_S", 60.0)  # the interval wins over it
    boards = Boards(lambda: holder["config"], store, clock)
    first = boards.view()
    assert boards.view().computed_at == first.computed_at and boards.computed == 1
    clock.advance(0.35)
    assert boards.view().computed_at > first.computed_at and boards.computed == 2


def test_many_tabs_in_two_processes_fit_a_due_board_once(
    store: Store, holder: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arena.boards, "COST_FACTOR", 0)
    monkeypatch.setattr(arena.boards, "MIN_AGE_S", 0.3)
    processes = [Boards(lambda: holder["config"], store, clock) for _ in range(2)]
    processes[0].view()
    vote(store, 2, seed=2)
    clock.advance(0.35)  # due once: however long the 8 tabs take, not again
    seen: list[int] = []
    barrier = threading.Barrier(8)

    def tab(boards: Boards) -> None:
        barrier.wait()
        seen.append(boards.view().view.total_votes)

    threads = [threading.Thread(target=tab, args=(processes[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(b.computed for b in processes) == 2  # the first, then one for the 8 tabs
    assert len(seen) == 8 and set(seen) <= {30, 32} and 32 in seen  # the others: the last one
    assert all(b.view().view.total_votes == 32 for b in processes)


def test_a_category_the_battles_lack_is_refused_without_a_fit(store: Store, holder: Any) -> None:
    boards = Boards(lambda: holder["config"], store)
    assert boards.view("language:fr", style=False).view.total_votes == 30
    with pytest.raises(LeaderboardError, match="unknown category 'poetry'.*language:fr"):
        boards.view("poetry")
    with pytest.raises(LeaderboardError, match="unknown category 'tag:nothing'"):
        boards.view("tag:nothing")
    assert boards.computed == 2 and snapshots(store) == ["Overall|plain", "language:fr|plain"]


def test_a_voters_own_board_reads_their_battles_alone(store: Store, holder: Any) -> None:
    from sqlalchemy import update

    from arena.leaderboard import personal_view
    from arena.store import BattleRecord
    from arena.store.battle_table import battle_table

    with store.session() as s:  # 12 of the 30 battles are this voter's
        ids = s.exec(select(BattleRecord.id).order_by(BattleRecord.id).limit(12)).all()
        s.exec(update(BattleRecord).where(BattleRecord.id.in_(ids)).values(voter_hash="me"))  # type: ignore[attr-defined]
        s.commit()
    mine = battle_table(store, voter_hash="me")
    assert len(mine) == 12 and set(mine.column("voter")) == {"me"}
    assert len(mine.column("prompt")) == 12  # with their turns, for the same columns
    view = personal_view(store, holder["config"], "me")
    assert view.personal and view.total_votes == view.board.manifest["battles"] == 12
    assert personal_view(store, holder["config"], "nobody").total_votes == 0


@sqlite_only
def test_a_locked_database_shows_the_board_before_rather_than_an_error(
    tmp_path: Path, holder: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    monkeypatch.setattr(arena.boards, "COST_FACTOR", 0)
    monkeypatch.setattr(arena.boards, "MIN_AGE_S", 0.2)
    store = Store(db_url(tmp_path, "locked"), retry_s=0.2)
    try:
        vote(store, 6)
        boards = Boards(lambda: holder["config"], store, clock)
        before = boards.view()
        vote(store, 3, seed=1)
        clock.advance(0.25)
        other = sqlite3.connect(store.engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            held = boards.view()  # due, but its claim cannot be written
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert held.computed_at == before.computed_at and held.view.total_votes == 6
        after = boards.view()
        assert after.view.total_votes == 9 and boards.computed == 2
    finally:
        store.close()
