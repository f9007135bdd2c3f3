"""What the leaderboard snapshots read and write: the snapshot rows, and the stamp of
what a board is computed from (the votes and audits so far)."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from arena.store.db import Store
from arena.store.tables import AuditRecord, BattleRecord, BoardSnapshotRecord
from arena.words import BattleState

__all__ = ["board_stamp", "load_snapshot", "save_snapshot", "snapshot_head"]


def board_stamp(store: Store) -> str:
    """What a board depends on in the database, as a string that changes with it: the
    voted battles and the audits so far (two counts over indexed columns)."""
    with store.session() as s:
        voted = s.exec(
            select(func.count())
            .select_from(BattleRecord)
            .where(BattleRecord.state == BattleState.VOTED)
        ).one()
        audits = s.exec(select(func.count()).select_from(AuditRecord)).one()
    return f"votes={voted} audits={audits}"


def snapshot_head(store: Store, key: str) -> BoardSnapshotRecord | None:
    """The snapshot ``key`` without its data (``data`` empty): is it newer, is it due?"""
    with store.session() as s:
        row = s.exec(
            select(
                BoardSnapshotRecord.computed_at,
                BoardSnapshotRecord.compute_s,
                BoardSnapshotRecord.stamp,
            ).where(BoardSnapshotRecord.key == key)
        ).first()
    if row is None:
        return None
    return BoardSnapshotRecord(key=key, computed_at=row[0], compute_s=row[1], stamp=row[2], data="")


def load_snapshot(store: Store, key: str) -> BoardSnapshotRecord | None:
    with store.session() as s:
        return s.get(BoardSnapshotRecord, key)


def save_snapshot(store: Store, record: BoardSnapshotRecord) -> None:
    """Keep ``record`` in place of the snapshot of its key (if any)."""

    def save() -> None:
        with store.session() as s:
            s.merge(record)
            try:
                s.commit()
            except IntegrityError:  # another process inserted the key between our two steps
                s.rollback()
                s.merge(record)
                s.commit()

    store.retrying("the leaderboard snapshot", save)
