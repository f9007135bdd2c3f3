"""What the endpoint audit reads from and writes to the database: the verdicts
(``audits``), the answers battles collected from a model (what the monitor tests), and
a claim that lets one arena process of several run each scheduled check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import and_, select

from arena.store.db import Store
from arena.store.tables import AuditRecord, BattleRecord, MetaRecord, TurnRecord, utcnow
from arena.words import Side

__all__ = [
    "BattleAnswer",
    "audit_mark",
    "battle_answers",
    "claim",
    "last_audits",
    "save_audit",
    "set_meta",
]


@dataclass(frozen=True)
class BattleAnswer:
    """A model's answer to the first prompt of a battle, with the parameters it was
    sampled with."""

    prompt: str
    answer: str
    params: dict[str, Any]


def save_audit(store: Store, kind: str, report: dict[str, Any]) -> AuditRecord:
    """Keep a verdict: ``report`` as :meth:`arena.audit.run.AuditReport.to_dict` gives it."""
    record = AuditRecord(
        model=report["model"],
        reference=report["reference"],
        kind=kind,
        verdict=report["verdict"],
        queries=report["queries"],
        alpha=report["alpha"],
        report=report,
    )
    with store.session() as s:
        s.add(record)
        s.commit()
        s.refresh(record)
    return record


def last_audits(store: Store) -> dict[str, AuditRecord]:
    """Each model's latest verdict, of either kind."""
    with store.session() as s:
        rows = s.exec(select(AuditRecord).order_by(AuditRecord.created_at, AuditRecord.id)).all()  # type: ignore[arg-type]
    return {row.model: row for row in rows}


def audit_mark(record: AuditRecord | None) -> dict[str, Any] | None:
    """What the board and the API show of a verdict."""
    if record is None:
        return None
    return {
        "date": record.created_at.strftime("%Y-%m-%d"),
        "verdict": record.verdict,
        "kind": record.kind,
        "reference": record.reference,
        "at": record.created_at.isoformat(timespec="seconds"),
    }


def battle_answers(store: Store, model: str, limit: int) -> list[BattleAnswer]:
    """The latest ``limit`` answers ``model`` gave to a battle's first prompt (failed
    answers left out), newest first."""
    query = (
        select(TurnRecord, BattleRecord)
        .join(BattleRecord, TurnRecord.battle_id == BattleRecord.id)  # type: ignore[arg-type]
        .where(
            TurnRecord.turn == 1,
            TurnRecord.error == None,  # type: ignore[arg-type]  # noqa: E711
            or_(
                and_(BattleRecord.model_a == model, TurnRecord.side == Side.A),
                and_(BattleRecord.model_b == model, TurnRecord.side == Side.B),
            ),
        )
        .order_by(TurnRecord.created_at.desc(), TurnRecord.id.desc())  # type: ignore[attr-defined, union-attr]
        .limit(limit)
    )
    with store.session() as s:
        rows = s.exec(query).all()
    return [
        BattleAnswer(turn.prompt, turn.answer, dict(battle.params.get(turn.side) or {}))
        for turn, battle in rows
    ]


def claim(store: Store, key: str, every: timedelta, now: datetime | None = None) -> bool:
    """Whether this process takes the job ``key`` now: true at most once per ``every``
    across every process on the database (a conditional update of a ``meta`` row).
    ``now`` is the caller's clock (the wall clock by default)."""
    now = now or utcnow()
    stamp, due = now.isoformat(), (now - every).isoformat()
    return set_meta(store, key, stamp, MetaRecord.value <= due) is not False  # type: ignore[arg-type]


def set_meta(store: Store, key: str, value: str, when: Any) -> bool | None:
    """Set the ``meta`` row ``key`` to ``value`` where ``when`` (a condition on the row)
    holds: one conditional UPDATE, so of several processes doing it at once one wins.

    Returns:
        True if this call changed the row, None if it created it (there was none),
        False if it stands as it was (``when`` did not hold, or another process won).
    """
    with store.session() as s:
        changed = s.exec(
            update(MetaRecord).where(MetaRecord.key == key, when).values(value=value)  # type: ignore[arg-type]
        ).rowcount
        s.commit()
    if changed == 1:
        return True
    try:
        with store.session() as s:
            if s.get(MetaRecord, key) is not None:
                return False
            s.add(MetaRecord(key=key, value=value))
            s.commit()
        return None
    except IntegrityError:  # another process inserted it first
        return False
