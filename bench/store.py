"""Benchmark: what a vote's daily-cap check costs as one network address's history
grows, counted through the (address, voted_at) index against the address index alone
(the peer: the same database with the new index dropped, in the same run).

    python bench/store.py [--battles 1000,20000,100000] [--db URL]

Many voters can share one address (a campus or office network, a proxy that does not
pass the client's address on), and an arena keeps every battle. The database is filled
with ``--battles`` voted battles over 180 days from one address (500 browsers); each
vote then counts that address's and that browser's votes of the last 24 hours, on the
store's one thread (SQLite), as arena/integrity/limits.py does. Printed per size: the
milliseconds per check by the address index and by the day index, and their ratio.
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

from sqlalchemy import text  # noqa: E402

from arena.store import BattleRecord, Store  # noqa: E402
from arena.store.tables import utcnow  # noqa: E402

DAY_INDEXES = {
    "ix_battles_ip_hash_voted_at": "battles (ip_hash, voted_at)",
    "ix_battles_voter_hash_voted_at": "battles (voter_hash, voted_at)",
}


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


def set_day_indexes(store: Store, present: bool) -> None:
    with store.engine.begin() as connection:
        for name, on in DAY_INDEXES.items():
            if present:
                connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {on}"))
            else:
                connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
        if connection.dialect.name == "postgresql":  # as its autovacuum would (SQLite: never)
            connection.exec_driver_sql("ANALYZE battles")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--battles", default="1000,20000,100000")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--db", help="an empty database URL (default: a new SQLite file)")
    args = parser.parse_args()
    print("battles  address index ms  day index ms  ratio")
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
            finally:
                with store.engine.begin() as connection:
                    connection.execute(text("DELETE FROM battles"))
                store.close()
        ratio = before / after
        print(f"{battles:>7,}  {before:>16.2f}  {after:>12.2f}  {ratio:>5.1f}×", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
