"""The organizer's export: the whole record, one JSON-ready dict per row, each saying
its kind in ``record`` (served as JSON lines by ``/api/admin/battles``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlmodel import select

from arena.store.db import Store
from arena.store.tables import BattleRecord, FeedbackRecord, TurnRecord
from arena.words import BattleState, Mode, Side

__all__ = ["RECORDS", "export_records"]

# The kinds of row, in the order a battle's rows come.
RECORDS = ("vote", "failed", "unvoted", "chat", "feedback")


def export_records(store: Store, records: Sequence[str] = RECORDS) -> Iterator[dict[str, Any]]:
    """The whole record, one dict per row, each with ``record`` saying its kind:

    - ``vote``: a voted battle in the clean_battle shape: models, winner, ``judge``
      (the voter hash), ``ip_hash``, ``anony``, ``mode``, ``tstamp``, ``is_valid`` and
      its reason, and both conversations (``leaderboard --battles`` reads these);
    - ``failed``: a battle a model failed (its ``error``), never voted;
    - ``unvoted``: a battle with answers that was left without a vote;
    - ``chat``: a direct chat, its model and conversation (``conversation_a``);
    - ``feedback``: an upvote, downvote or flag on a chat answer (``chat_id``,
      ``turn``, ``feedback``).

    Only the kinds in ``records``; battles in the order they began, then feedback.
    Read in pages, so a large database streams."""
    unknown = set(records) - set(RECORDS)
    if unknown:
        raise ValueError(
            f"unknown record kind {sorted(unknown)[0]!r}; expected {', '.join(RECORDS)}"
        )
    offset, page = 0, 500
    while True:
        with store.session() as s:
            battles = s.exec(
                select(BattleRecord)
                .order_by(BattleRecord.created_at, BattleRecord.id)  # type: ignore[arg-type]
                .offset(offset)
                .limit(page)
            ).all()
            chosen = [b for b in battles if _record_of(b) in records]
            ids = [b.id for b in chosen]
            turns = s.exec(
                select(TurnRecord)
                .where(TurnRecord.battle_id.in_(ids))  # type: ignore[attr-defined]
                .order_by(TurnRecord.turn)  # type: ignore[arg-type]
            ).all()
        if not battles:
            break
        talk = _conversations(turns)
        for b in chosen:
            yield _battle_row(b, talk)
        offset += page
    if "feedback" in records:
        yield from _feedback_rows(store)


def _conversations(turns: Sequence[TurnRecord]) -> dict[tuple[str, str], list[dict[str, str]]]:
    """Each side's conversation of each battle, by (battle id, side), in turn order."""
    talk: dict[tuple[str, str], list[dict[str, str]]] = {}
    for t in turns:
        talk.setdefault((t.battle_id, t.side), []).extend(
            [
                {"role": "user", "content": t.prompt},
                {"role": "assistant", "content": t.answer},
            ]
        )
    return talk


def _battle_row(
    b: BattleRecord, talk: dict[tuple[str, str], list[dict[str, str]]]
) -> dict[str, Any]:
    """One battle's row: the clean_battle shape, trimmed for a direct chat."""
    kind = _record_of(b)
    row: dict[str, Any] = {
        "record": kind,
        "question_id": b.id,
        "model_a": b.model_a,
        "model_b": b.model_b,
        "winner": b.winner,
        "judge": b.voter_hash,
        "ip_hash": b.ip_hash,
        "anony": b.anony,
        "mode": b.mode,
        "tstamp": (b.voted_at or b.created_at).timestamp(),
        "turn": b.turns,
        "is_valid": b.valid,
        "invalid_reason": b.invalid_reason,
        "conversation_a": talk.get((b.id, Side.A), []),
        "conversation_b": talk.get((b.id, Side.B), []),
        "language": b.language,
        "tags": list(b.tags or ()),
    }
    if kind == "failed":
        row["error"] = b.error
    if kind == "chat":
        for key in ("model_b", "winner", "conversation_b", "is_valid", "ip_hash"):
            del row[key]
        row["invalid_reason"] = None
    return row


def _feedback_rows(store: Store) -> Iterator[dict[str, Any]]:
    with store.session() as s:
        feedback = s.exec(
            select(FeedbackRecord).order_by(FeedbackRecord.created_at)  # type: ignore[arg-type]
        ).all()
    for f in feedback:
        yield {
            "record": "feedback",
            "chat_id": f.battle_id,
            "turn": f.turn,
            "feedback": f.kind,
            "judge": f.voter_hash,
            "tstamp": f.created_at.timestamp(),
        }


def _record_of(battle: BattleRecord) -> str:
    """The kind of export row a battle is (see :func:`export_records`)."""
    if battle.mode == Mode.DIRECT:
        return "chat"
    if battle.state == BattleState.VOTED:
        return "vote"
    return "failed" if battle.state == BattleState.FAILED else "unvoted"
