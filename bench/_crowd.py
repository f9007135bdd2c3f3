"""The honest crowd of bench/rigging.py in a real store: ``../shared/bench/make_battles.py``'s
battles (known true ratings), each voter given a browser and an address (85% their own,
the rest behind shared office addresses of about ten voters), bulk-inserted as voted
anonymous battles."""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from arena.store import BattleRecord, Store

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "bench"
START = datetime(2026, 1, 1, tzinfo=UTC)
HONEST_DAYS = 347  # make_battles spreads its battles over 3e7 s
# The battles table's columns, in the order the inserts give them.
COLUMNS = tuple(BattleRecord.__table__.columns.keys())  # type: ignore[attr-defined]


def make_honest(models: int, honest: int, seed: int) -> dict[str, Any]:
    """Honest battles from the shared generator, with an address per voter."""
    if not (SHARED / "make_battles.py").exists():
        raise SystemExit(f"needs {SHARED / 'make_battles.py'} (the shared bench generator)")
    sys.path.insert(0, str(SHARED))
    from make_battles import generate  # type: ignore[import-not-found]

    columns, truth = generate(honest, models, seed)
    rng = np.random.default_rng(seed + 1)
    judges, voter = np.unique(columns["judge"], return_inverse=True)
    office = rng.random(judges.size) < 0.15  # offices: ~10 voters behind one address
    address = np.where(office, rng.integers(0, max(1, judges.size // 100), judges.size), 0)
    address = np.where(office, address, np.arange(judges.size) + judges.size)
    columns["voter"] = np.array([hashed("honest-browser", j) for j in range(judges.size)])[voter]
    columns["address"] = np.array([hashed("honest-address", a) for a in address])[voter]
    return {"columns": columns, "truth": truth}


def hashed(kind: str, value: Any) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]


def bulk_insert(store: Store, rows: list[dict[str, Any]]) -> None:
    """Voted battles in one transaction of plain DB-API inserts, stored as the ORM stores
    them (UTC datetimes as SQLite text, JSON as text): 100,000 rows in seconds, where the
    ORM's insert takes half a minute."""

    def value(row: dict[str, Any], column: str) -> Any:
        v = row[column]
        if isinstance(v, datetime):
            return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return json.dumps(v) if isinstance(v, dict | list) else v

    sql = f"INSERT INTO battles ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    with store.engine.begin() as c:
        c.exec_driver_sql(sql, [tuple(value(r, k) for k in COLUMNS) for r in rows])


def honest_rows(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """The honest battles as voted anonymous battles, in the order of their stamps."""
    t0 = float(np.min(columns["tstamp"]))
    rows = []
    for i in range(len(columns["winner"])):
        at = START + timedelta(seconds=float(columns["tstamp"][i]) - t0)
        row = battle_row(str(columns["model_a"][i]), str(columns["model_b"][i]), at)
        row.update(
            state="voted",
            winner=str(columns["winner"][i]),
            voted_at=at,
            voter_hash=str(columns["voter"][i]),
            ip_hash=str(columns["address"][i]),
        )
        rows.append(row)
    return rows


def battle_row(model_a: str, model_b: str, at: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "created_at": at,
        "updated_at": at,
        "anony": True,
        "mode": "anony",
        "model_a": model_a,
        "model_b": model_b,
        "params": {},
        "state": "open",
        "streaming": False,
        "turns": 1,
        "error": None,
        "winner": None,
        "voted_at": None,
        "voter_hash": "",
        "ip_hash": "",
        "valid": True,
        "invalid_reason": None,
        "tags": [],
        "language": None,
    }
