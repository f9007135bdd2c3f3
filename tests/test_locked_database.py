"""A vote meets a database that is locked or cut off: it waits and is stored, or it is
reported not stored, never silently lost. Models on tests/wire.py, as in
tests/test_integrity.py."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from arena.errors import StoreError
from arena.store import Store
from tests.conftest import ON_POSTGRES, sqlite_only
from tests.test_integrity import VOTER, arena_of, battle
from tests.wire import WireServer


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


@contextmanager
def locked(db_file: Path) -> Iterator[threading.Event]:
    """Hold SQLite's write lock from another connection, as a second process might,
    until the block sets the event it is given (or ends): held for as long as the
    test needs, however slowly a busy machine runs it."""
    ready, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db_file, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        ready.set()
        release.wait()
        conn.execute("COMMIT")
        conn.close()

    locker = threading.Thread(target=hold)
    locker.start()
    ready.wait()
    try:
        yield release
    finally:
        release.set()
        locker.join()


def on_write(store: Store, table: str) -> threading.Event:
    """An event set when ``store`` is about to send an UPDATE of ``table``."""
    about = threading.Event()

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith(f"UPDATE {table.upper()} "):
            about.set()

    event.listen(store.engine, "before_cursor_execute", seen)
    return about


@sqlite_only
async def test_a_briefly_locked_database_stores_the_vote_after_retrying(
    tmp_path: Path, wire: WireServer
) -> None:
    async with arena_of(tmp_path, wire, db_retry_s=60.0) as arena:
        battle_id = await battle(arena, "hello")
        writing = on_write(arena.store, "battles")
        with locked(tmp_path / "a.db") as release:
            voting = asyncio.create_task(arena.votes.vote(battle_id, "model_b", VOTER))
            assert await asyncio.to_thread(writing.wait, 60), "the vote never wrote"
            await asyncio.sleep(0.2)
            assert not voting.done()  # the vote meets the lock and waits...
            release.set()  # ...until the other process lets go
            await asyncio.wait_for(voting, 60)
        assert arena.store.battle(battle_id).winner == "model_b"


@sqlite_only
async def test_a_database_locked_too_long_reports_the_vote_not_stored(
    tmp_path: Path, wire: WireServer
) -> None:
    async with arena_of(tmp_path, wire, db_retry_s=0.5) as arena:
        battle_id = await battle(arena, "hello")
        with (
            locked(tmp_path / "a.db"),  # held until the vote has given up
            pytest.raises(
                StoreError,
                match=r"NOT stored: the database stayed unavailable for 0.5 s \(database is locked",
            ),
        ):
            await arena.votes.vote(battle_id, "model_b", VOTER)
        assert arena.store.battle(battle_id).state == "open"  # not stored, as reported
        await arena.votes.vote(battle_id, "model_b", VOTER)  # voting again works
        assert arena.store.battle(battle_id).state == "voted"


@pytest.mark.skipif(not ON_POSTGRES, reason="needs ARENA_TEST_DB on a PostgreSQL server")
async def test_dropped_database_connections_are_reopened_and_the_vote_stored(
    tmp_path: Path, wire: WireServer
) -> None:
    """PostgreSQL ends every connection of the arena (a restart, a failover): the next
    vote reconnects and is stored."""
    from sqlalchemy.engine import make_url

    from tests.conftest import query

    async with arena_of(tmp_path, wire) as arena:
        battle_id = await battle(arena, "hello")
        url = arena.config.settings.db
        database = make_url(url).database
        ended = query(
            url,
            "select pg_terminate_backend(pid) from pg_stat_activity "
            f"where datname = '{database}' and pid <> pg_backend_pid()",
        )
        assert ended  # the arena's pooled connections were cut
        await arena.votes.vote(battle_id, "model_a", VOTER)
        assert arena.store.battle(battle_id).state == "voted"
