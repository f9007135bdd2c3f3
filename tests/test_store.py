"""The database: SQLite in WAL mode, timezone-aware timestamps, state changes that win once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from arena.errors import BattleStateError
from arena.store import BattleRecord, Store, TurnRecord


def open_battle(store: Store, voter: str = "v1") -> str:
    battle = BattleRecord(id=f"b-{voter}", model_a="A", model_b="B", voter_hash=voter)
    store.add_battle(battle)
    turn = store.begin_turn(battle.id, voter, max_turns=5).turns + 1
    for side in "ab":
        store.add_turn(
            TurnRecord(
                battle_id=battle.id, turn=turn, side=side, prompt="p", answer=f"answer {side}"
            )
        )
    store.end_turn(battle.id, None)
    return battle.id


def test_a_new_sqlite_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "arena.db"
    Store(f"sqlite:///{path}").close()
    assert path.is_file()
    with sqlite3.connect(path) as db:
        assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert {"battles", "turns", "meta"} <= tables


def test_timestamps_come_back_timezone_aware(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    battle_id = open_battle(store)
    store.record_vote(battle_id, "model_a", "v1")
    battle = store.battle(battle_id)
    assert battle.created_at.utcoffset().total_seconds() == 0
    assert battle.voted_at is not None and battle.voted_at >= battle.created_at


def test_the_voter_salt_is_generated_once_and_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first = Store(url).voter_salt()
    assert len(first) == 32 and Store(url).voter_salt() == first


def test_concurrent_votes_on_one_battle_count_once(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    battle_id = open_battle(store)
    outcomes: list[str] = []

    def vote(label: str) -> None:
        try:
            store.record_vote(battle_id, label, "v1")
            outcomes.append(label)
        except BattleStateError:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=vote, args=(label,))
        for label in ["model_a", "model_b", "tie", "tie (bothbad)"] * 3
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winner = store.battle(battle_id).winner
    assert outcomes.count("refused") == 12 - outcomes.count(winner)
    assert set(outcomes) == {winner, "refused"}
    assert store.vote_count() == 1


def test_an_unknown_vote_label_is_refused_by_name(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    battle_id = open_battle(store)
    with pytest.raises(BattleStateError, match="unknown vote 'model_c'"):
        store.record_vote(battle_id, "model_c", "v1")


def test_a_turn_cannot_start_while_one_is_streaming(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    store.add_battle(BattleRecord(id="b", model_a="A", model_b="B", voter_hash="v"))
    store.begin_turn("b", "v", max_turns=5)
    with pytest.raises(BattleStateError, match="still streaming"):
        store.begin_turn("b", "v", max_turns=5)
    with pytest.raises(BattleStateError, match="wait until both answers"):
        store.record_vote("b", "tie", "v")


def test_the_ratings_table_holds_voted_battles_and_flags_invalid_ones(tmp_path: Path) -> None:
    from sqlalchemy import update

    from ratings import build_leaderboard

    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    voted = open_battle(store, "v1")
    open_battle(store, "v2")  # never voted
    flagged = open_battle(store, "v3")
    store.record_vote(voted, "model_b", "v1")
    store.record_vote(flagged, "model_a", "v3")
    with store.session() as s:
        s.exec(update(BattleRecord).where(BattleRecord.id == flagged).values(valid=False))
        s.commit()
    table = store.battle_table()
    assert len(table) == 2 and table.models == ("A", "B") and table.outcome.tolist() == [1, 0]
    assert table.column("valid").tolist() == [True, False]
    assert build_leaderboard(table).manifest["battles"] == 1  # the invalid one is left out
    plain = store.battle_table(details=False)  # no turn read: no prompt or style columns
    assert plain.column("prompt") is None and plain.column("len_a") is None
    assert table.column("prompt") is not None
