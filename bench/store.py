"""Benchmark: the store's work, which one thread does for a whole SQLite arena process.

    python bench/store.py [--battles 1000,20000,100000] [--db URL] [--lives 500]

**A battle's store work** (``--lives`` battles): the calls one battle makes with the
arena's default limits (the prompt's per-minute check and log, the new battle, both
answers, the turn's end, the finished turn read back, the vote's cap checks, identity
check (the battle only: the turn's end noted its verdict) and vote), through
:class:`arena.store.Store`, against the same SQL statements through Python's sqlite3
module on the same kind of file (WAL, synchronous=FULL: the
peer, SQLite itself with nothing above it). Printed: CPU milliseconds per battle for
each and their ratio.

**A vote's daily-cap check** as one network address's history grows, counted through
the (address, voted_at) index against the address index alone (the peer: the same
database with the new index dropped, in the same run).

Many voters can share one address (a campus or office network, a proxy that does not
pass the client's address on), and an arena keeps every battle. The database is filled
with ``--battles`` voted battles over 180 days from one address (500 browsers); each
vote then counts that address's and that browser's votes of the last 24 hours, on the
store's one thread (SQLite), as arena/integrity/limits.py does. Printed per size: the
milliseconds per check by the address index and by the day index, and their ratio.

**The admin view's proof-of-work share** on the same databases: the last hour's votes
and those flagged "no proof of work", and the hour before's
(arena/integrity/proof_watch.py, every refresh of /admin and every 5 minutes), read by
the ``voted_at`` index against the same database with that index dropped.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import sqlite3  # noqa: E402

from sqlalchemy import text  # noqa: E402

from arena.store import BattleRecord, Store, TurnRecord  # noqa: E402
from arena.store.tables import utcnow  # noqa: E402

DAY_INDEXES = {
    "ix_battles_ip_hash_voted_at": "battles (ip_hash, voted_at)",
    "ix_battles_voter_hash_voted_at": "battles (voter_hash, voted_at)",
}
TIME_INDEX = ("ix_battles_voted_at", "battles (voted_at)")


def fill(store: Store, battles: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    now = utcnow()
    rows = []
    for i in range(battles):
        at = now - timedelta(days=rng.uniform(0, 180))
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "created_at": at,
                "updated_at": at,
                "anony": True,
                "mode": "anony",
                "model_a": "model-a",
                "model_b": "model-b",
                "params": {},
                "state": "voted",
                "streaming": False,
                "turns": 1,
                "winner": "tie",
                "voted_at": at,
                "voter_hash": f"browser-{i % 500}",
                "ip_hash": "one-address",
                "valid": True,
                "tags": [],
            }
        )
    with store.engine.begin() as connection:
        connection.execute(BattleRecord.__table__.insert(), rows)  # type: ignore[attr-defined]


def check_ms(store: Store, repeats: int) -> float:
    """Milliseconds per cap check: the address's and a browser's last-day votes."""
    since = utcnow() - timedelta(days=1)
    store.votes_since("ip_hash", "one-address", since)
    started = time.perf_counter()
    for i in range(repeats):
        store.votes_since("ip_hash", "one-address", since)
        store.votes_since("voter_hash", f"browser-{i % 500}", since)
    return 1000 * (time.perf_counter() - started) / repeats


def share_ms(store: Store, repeats: int) -> float:
    """Milliseconds per look at the proof of work's health: the last hour's and the
    hour before's counts, as ProofWatch.health makes them."""
    from arena.integrity.proof_watch import WINDOW, proof_share

    now = utcnow()
    started = time.perf_counter()
    for _ in range(repeats):
        proof_share(store, now - WINDOW, now)
        proof_share(store, now - 2 * WINDOW, now - WINDOW)
    return 1000 * (time.perf_counter() - started) / repeats


def set_time_index(store: Store, present: bool) -> None:
    name, on = TIME_INDEX
    with store.engine.begin() as connection:
        create, drop = f"CREATE INDEX IF NOT EXISTS {name} ON {on}", f"DROP INDEX IF EXISTS {name}"
        connection.execute(text(create if present else drop))
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE battles")


def set_day_indexes(store: Store, present: bool) -> None:
    with store.engine.begin() as connection:
        for name, on in DAY_INDEXES.items():
            if present:
                connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {on}"))
            else:
                connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
        if connection.dialect.name == "postgresql":  # as its autovacuum would (SQLite: never)
            connection.exec_driver_sql("ANALYZE battles")


def life_through_store(store: Store, i: int) -> None:
    """One battle's store calls, as arena/battles.py and arena/integrity make them."""
    now = utcnow()
    voter, address = f"browser-{i}", f"address-{i}"
    keys = ["s:" + voter, "i:" + address]
    store.recent_prompts(keys, now - timedelta(minutes=1))
    store.log_prompt(keys, now, now - timedelta(minutes=1))
    battle = str(uuid.uuid4())
    store.add_battle(
        BattleRecord(
            id=battle, model_a="model-a", model_b="model-b", voter_hash=voter,
            ip_hash=address, params={"a": {"max_tokens": 512}, "b": {"max_tokens": 512}},
            streaming=True,
        )
    )  # fmt: skip
    for side in "ab":
        store.add_turn(
            TurnRecord(
                battle_id=battle, turn=1, side=side, prompt=PROMPT, answer=ANSWER, ttft_s=0.5,
                total_s=5.5, prompt_tokens=20, completion_tokens=150, finish_reason="stop",
            )
        )  # fmt: skip
    store.end_turn(battle, None)
    store.battle(battle), store.turns(battle)  # the finished turn, sent to the page
    day = now - timedelta(days=1)
    store.votes_since("voter_hash", voter, day), store.votes_since("ip_hash", address, day)
    store.battle(battle)  # the identity-leak check: its verdict was noted as the turn ended
    store.record_vote(battle, "model_a", voter)


PROMPT = "Load test prompt: tell me something about the sea."
ANSWER = "word " * 150


def life_through_sqlite(db: sqlite3.Connection, i: int) -> None:
    """The same statements through sqlite3: each write its own transaction."""
    now = utcnow()
    minute, day = now - timedelta(minutes=1), now - timedelta(days=1)
    voter, address = f"browser-{i}", f"address-{i}"
    keys = ("s:" + voter, "i:" + address)
    stamp = lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")  # noqa: E731
    db.execute(
        "SELECT key, at FROM prompts WHERE key IN (?, ?) AND at > ? ORDER BY at",
        (*keys, stamp(minute)),
    ).fetchall()
    with db:
        db.execute("DELETE FROM prompts WHERE key IN (?, ?) AND at <= ?", (*keys, stamp(minute)))
        db.executemany(
            "INSERT INTO prompts (key, at) VALUES (?, ?)", [(k, stamp(now)) for k in keys]
        )
    battle = str(uuid.uuid4())
    with db:
        db.execute(
            "INSERT INTO battles (id, created_at, updated_at, anony, mode, model_a, model_b, "
            "params, state, streaming, turns, error, winner, voted_at, voter_hash, ip_hash, "
            "valid, invalid_reason, tags, language) VALUES (?, ?, ?, 1, 'anony', 'model-a', "
            "'model-b', ?, 'open', 1, 0, NULL, NULL, NULL, ?, ?, 1, NULL, '[]', NULL)",
            (battle, stamp(now), stamp(now), '{"a": {"max_tokens": 512}, "b": {"max_tokens": '
             '512}}', voter, address),
        )  # fmt: skip
    for side in "ab":
        with db:
            db.execute(
                "INSERT INTO turns (battle_id, turn, side, prompt, answer, error, ttft_s, "
                "total_s, prompt_tokens, completion_tokens, finish_reason, created_at) "
                "VALUES (?, 1, ?, ?, ?, NULL, 0.5, 5.5, 20, 150, 'stop', ?)",
                (battle, side, PROMPT, ANSWER, stamp(now)),
            )
    with db:
        db.execute(
            "UPDATE battles SET streaming = 0, updated_at = ?, turns = turns + 1 WHERE id = ?",
            (stamp(now), battle),
        )
    db.execute("SELECT * FROM battles WHERE id = ?", (battle,)).fetchone()  # the finished turn
    db.execute("SELECT * FROM turns WHERE battle_id = ? ORDER BY turn, side", (battle,)).fetchall()
    db.execute("SELECT * FROM battles WHERE id = ?", (battle,)).fetchone()  # the leak check
    for column, value in (("voter_hash", voter), ("ip_hash", address)):
        db.execute(
            f"SELECT count(*) FROM battles WHERE {column} = ? AND state = 'voted' "
            "AND voted_at >= ?",
            (value, stamp(day)),
        ).fetchone()
    with db:
        db.execute(
            "UPDATE battles SET state = 'voted', winner = 'model_a', voted_at = ?, "
            "updated_at = ? WHERE id = ? AND state = 'open' AND streaming = 0 AND "
            "voter_hash = ? AND turns >= 1",
            (stamp(now), stamp(now), battle, voter),
        )
    db.execute("SELECT * FROM battles WHERE id = ?", (battle,)).fetchone()


def lives(count: int) -> tuple[float, float]:
    """CPU ms per battle through the Store and through sqlite3, each on a new file."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'store.db'}")
        Store(f"sqlite:///{Path(folder) / 'raw.db'}").close()  # the same tables
        db = sqlite3.connect(Path(folder) / "raw.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.isolation_level = "DEFERRED"
        for i in range(20):  # warm up both
            life_through_store(store, -1 - i)
            life_through_sqlite(db, -1 - i)
        through_store = through_sqlite = 0.0
        for i in range(count):  # interleaved: both see the same machine
            started = time.process_time()
            life_through_store(store, i)
            through_store += time.process_time() - started
            started = time.process_time()
            life_through_sqlite(db, i)
            through_sqlite += time.process_time() - started
        db.close()
        store.close()
    return 1000 * through_store / count, 1000 * through_sqlite / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--battles", default="1000,20000,100000")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--db", help="an empty database URL (default: a new SQLite file)")
    parser.add_argument("--lives", type=int, default=500, help="battles for the first part")
    args = parser.parse_args()
    if args.lives:
        store_ms, sqlite_ms = lives(args.lives)
        print(
            f"a battle's store work: {store_ms:.2f} CPU ms through the Store, {sqlite_ms:.2f} "
            f"through sqlite3 ({store_ms / sqlite_ms:.1f}×)\n",
            flush=True,
        )
    print(
        "battles  address index ms  day index ms  ratio  | proof share: no time index ms  "
        "time index ms  ratio"
    )
    for battles in (int(n) for n in args.battles.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            url = args.db or f"sqlite:///{Path(folder) / 'arena.db'}"
            store = Store(url)
            try:
                fill(store, battles)
                set_day_indexes(store, present=False)
                before = check_ms(store, args.repeats)
                set_day_indexes(store, present=True)
                after = check_ms(store, args.repeats)
                set_time_index(store, present=False)
                scan = share_ms(store, args.repeats)
                set_time_index(store, present=True)
                ranged = share_ms(store, args.repeats)
            finally:
                with store.engine.begin() as connection:
                    connection.execute(text("DELETE FROM battles"))
                store.close()
        print(
            f"{battles:>7,}  {before:>16.2f}  {after:>12.2f}  {before / after:>5.1f}×  | "
            f"{scan:>29.2f}  {ranged:>13.2f}  {scan / ranged:>5.1f}×",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
