"""The database: SQLite in WAL mode, timezone-aware timestamps, state changes that win once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from arena.errors import BattleStateError
from arena.store import BattleRecord, Store, TurnRecord
from arena.store.battle_table import battle_table
from arena.store.export import export_records
from tests.conftest import db_url, sqlite_only


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


@sqlite_only
def test_a_new_sqlite_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "arena.db"
    Store(f"sqlite:///{path}").close()
    assert path.is_file()
    with sqlite3.connect(path) as db:
        assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert {"battles", "turns", "meta"} <= tables


def test_timestamps_come_back_timezone_aware(tmp_path: Path) -> None:
    store = Store(db_url(tmp_path))
    battle_id = open_battle(store)
    store.record_vote(battle_id, "model_a", "v1")
    battle = store.battle(battle_id)
    assert battle.created_at.utcoffset().total_seconds() == 0
    assert battle.voted_at is not None and battle.voted_at >= battle.created_at


def test_concurrent_votes_on_one_battle_count_once(tmp_path: Path) -> None:
    store = Store(db_url(tmp_path))
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
    store = Store(db_url(tmp_path))
    battle_id = open_battle(store)
    with pytest.raises(BattleStateError, match="unknown vote 'model_c'"):
        store.record_vote(battle_id, "model_c", "v1")


def test_a_turn_cannot_start_while_one_is_streaming(tmp_path: Path) -> None:
    store = Store(db_url(tmp_path))
    store.add_battle(BattleRecord(id="b", model_a="A", model_b="B", voter_hash="v"))
    store.begin_turn("b", "v", max_turns=5)
    with pytest.raises(BattleStateError, match="still streaming"):
        store.begin_turn("b", "v", max_turns=5)
    with pytest.raises(BattleStateError, match="wait until both answers"):
        store.record_vote("b", "tie", "v")


def test_the_ratings_table_holds_voted_battles_and_flags_invalid_ones(tmp_path: Path) -> None:
    from sqlalchemy import update

    from ratings import build_leaderboard

    store = Store(db_url(tmp_path))
    voted = open_battle(store, "v1")
    open_battle(store, "v2")  # never voted
    flagged = open_battle(store, "v3")
    store.record_vote(voted, "model_b", "v1")
    store.record_vote(flagged, "model_a", "v3")
    with store.session() as s:
        s.exec(update(BattleRecord).where(BattleRecord.id == flagged).values(valid=False))
        s.commit()
    table = battle_table(
        store,
    )
    assert len(table) == 2 and table.models == ("A", "B") and table.outcome.tolist() == [1, 0]
    assert table.column("valid").tolist() == [True, False]
    assert build_leaderboard(table).manifest["battles"] == 1  # the invalid one is left out
    plain = battle_table(store, details=False)  # no turn read: no prompt or style columns
    assert plain.column("prompt") is None and plain.column("len_a") is None
    assert table.column("prompt") is not None


def test_migrations_build_exactly_the_tables_the_code_uses(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from arena.store.migrate import current_revision, head_revision

    store = Store(db_url(tmp_path))
    assert current_revision(store.engine) == head_revision() == "0010"
    with store.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_an_older_database_is_upgraded_and_keeps_its_votes(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, inspect, text

    from arena.store.migrate import current_revision, upgrade

    url = db_url(tmp_path)
    engine = create_engine(url)
    upgrade(engine, "0001")  # the schema of the first release
    with engine.begin() as connection:
        connection.execute(
            text(
                "insert into battles (id, created_at, updated_at, anony, mode, model_a, "
                "model_b, params, state, streaming, turns, winner, voted_at, voter_hash, "
                "ip_hash, valid, tags) values ('old', :t, :t, true, 'anony', 'A', 'B', '{}', "
                "'voted', false, 1, 'model_b', :t, 'v', 'i', true, '[]')"
            ),
            {"t": "2025-01-01 00:00:00+00:00"},
        )
        connection.execute(text("insert into meta (key, value) values ('voter_salt', 'abc')"))
    engine.dispose()
    store = Store(url)
    assert current_revision(store.engine) == "0010"
    assert store.battle("old").winner == "model_b" and store.vote_count() == 1
    with store.engine.connect() as connection:  # the old salt is gone from the database
        assert connection.execute(text("select count(*) from meta")).scalar() == 0
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("battles")}
    assert {"ix_battles_ip_hash", "ix_battles_ip_hash_voted_at"} <= indexes


def test_a_database_made_before_migrations_is_recognised(tmp_path: Path) -> None:
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    from arena.store.migrate import current_revision

    url = db_url(tmp_path)
    engine = create_engine(url)
    # What create_all made before migrations: the first tables, without the newer index.
    for table in SQLModel.metadata.sorted_tables:
        if table.name in ("prompts", "audits", "prompt_labels", "board_snapshots"):  # 0003-0008
            continue
        table.create(engine)
        for index in list(table.indexes):
            if index.name in (
                "ix_battles_ip_hash",  # 0002
                "ix_battles_language",  # 0006
                "ix_battles_voter_hash_voted_at",  # 0009
                "ix_battles_ip_hash_voted_at",  # 0009
                "ix_battles_voted_at",  # 0010
            ):
                index.drop(engine)
    with engine.begin() as connection:  # battles.language: added by migration 0006
        connection.exec_driver_sql("ALTER TABLE battles DROP COLUMN language")
    engine.dispose()
    store = Store(url)
    assert current_revision(store.engine) == "0010"
    store.add_battle(BattleRecord(id="new", model_a="A", model_b="B", voter_hash="v"))
    assert store.battle("new").state == "open"


def test_the_export_is_the_whole_record_and_the_board_reads_only_its_votes(
    tmp_path: Path,
) -> None:
    import json

    from arena.store import FeedbackRecord
    from ratings import read_battles

    store = Store(db_url(tmp_path))
    store.record_vote(open_battle(store, "v1"), "model_b", "v1")
    failed = BattleRecord(id="b-failed", model_a="A", model_b="B", voter_hash="v2")
    store.add_battle(failed)
    store.begin_turn(failed.id, "v2", max_turns=5)
    store.end_turn(failed.id, "model B: HTTP 500")
    open_battle(store, "v3")  # answered, never voted
    chat = BattleRecord(
        id="c-1", mode="direct", anony=False, model_a="A", model_b="", voter_hash="v4"
    )
    store.add_battle(chat)
    store.add_feedback(FeedbackRecord(battle_id="c-1", turn=1, kind="flag", voter_hash="v4"))

    rows = list(export_records(store))
    assert [r["record"] for r in rows] == ["vote", "failed", "unvoted", "chat", "feedback"]
    assert rows[1]["error"] == "model B: HTTP 500" and rows[2]["winner"] is None
    assert rows[4] == {**rows[4], "chat_id": "c-1", "feedback": "flag", "judge": "v4"}
    assert [r["record"] for r in export_records(store, ("chat", "vote"))] == ["vote", "chat"]
    with pytest.raises(ValueError, match="unknown record kind 'votes'"):
        list(export_records(store, ("votes",)))

    path = tmp_path / "battles.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = read_battles(path)
    assert len(table) == 1 and list(table.models) == ["A", "B"]


@sqlite_only
def test_the_daily_vote_caps_count_by_the_address_and_day_index(tmp_path: Path) -> None:
    """A vote's cap check reads that day's votes of one address, not every battle the
    address ever had (a busy network address gathers hundreds of thousands)."""
    from datetime import timedelta

    from sqlalchemy import event

    from arena.store.tables import utcnow

    store = Store(db_url(tmp_path))
    sent: list[tuple[str, object]] = []
    event.listen(
        store.engine, "before_cursor_execute", lambda *a: sent.append((a[2], a[3])), retval=False
    )
    since = utcnow() - timedelta(days=1)
    assert store.votes_since("ip_hash", "nat", since) == 0
    assert store.votes_since("voter_hash", "v1", since) == 0
    counts = [(sql, args) for sql, args in sent if "count(" in sql]
    with store.engine.connect() as connection:
        plans = [
            " ".join(
                row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", args)
            )
            for sql, args in counts
        ]
    assert len(plans) == 2, sent
    assert "ix_battles_ip_hash_voted_at (ip_hash=? AND voted_at>?)" in plans[0], plans[0]
    assert "ix_battles_voter_hash_voted_at (voter_hash=? AND voted_at>?)" in plans[1], plans[1]
