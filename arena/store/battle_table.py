"""What the ratings read from the database: the voted battles as a
:class:`ratings.BattleTable` (with what categories and style control need), and the
votes each model has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from arena.duplicates import DuplicateIndex
from arena.store.db import Store
from arena.store.tables import BattleRecord, TurnRecord
from arena.words import BattleState, Side
from ratings import BattleTable
from ratings.categories import is_coding
from ratings.features import answer_style

__all__ = ["battle_table", "votes_per_model"]

_BATTLE_COLUMNS = (
    "id",
    "model_a",
    "model_b",
    "winner",
    "anony",
    "voted_at",
    "valid",
    "voter_hash",
    "ip_hash",
    "turns",
    "tags",
    "language",
)
_TURN_COLUMNS = ("battle_id", "turn", "side", "prompt", "answer")


def battle_table(
    store: Store, *, details: bool = True, voter_hash: str | None = None
) -> BattleTable:
    """All voted battles as a :class:`ratings.BattleTable`, in vote order.

    Battles the arena flagged invalid are included with ``valid`` false: the
    ratings filters leave them out unless asked. With ``details`` the table also
    carries what categories and style control need: ``prompt`` (the first one),
    ``turn`` (turns played), ``tags``, and per-side style features of the answers
    (:func:`ratings.features.answer_style`, fenced code removed). Without it no
    turn is read, which is all a plain fit needs. With ``voter_hash`` only that
    voter's battles are read (a voter's own board costs their votes, not everyone's).
    """
    # The columns the table needs, as plain rows, not a model object per row (and no
    # parameters' JSON): 20,000 battles read in 1.5 s of CPU instead of 2.5.
    voted = [BattleRecord.state == BattleState.VOTED]
    if voter_hash is not None:
        voted.append(BattleRecord.voter_hash == voter_hash)
    query = select(*(getattr(BattleRecord, c) for c in _BATTLE_COLUMNS)).where(*voted)
    with store.session() as s:
        battles = s.exec(query.order_by(BattleRecord.voted_at)).all()  # type: ignore[arg-type]
        turns = (
            s.exec(
                select(*(getattr(TurnRecord, c) for c in _TURN_COLUMNS))
                .join(BattleRecord, TurnRecord.battle_id == BattleRecord.id)  # type: ignore[arg-type]
                .where(*voted)
            ).all()
            if details
            else []
        )
    extra: dict[str, Any] = {
        "tstamp": [b.voted_at.timestamp() if b.voted_at else float("nan") for b in battles],
        "valid": [b.valid for b in battles],
        "voter": [b.voter_hash for b in battles],
        "address": [b.ip_hash for b in battles],  # the campaign screen groups by it
    }
    if details:
        extra.update(_details(battles, turns, store.prompt_clusters))
    return BattleTable.from_records(
        [b.model_a for b in battles],
        [b.model_b for b in battles],
        [b.winner or "" for b in battles],
        [b.anony for b in battles],
        extra=extra,
    )


def votes_per_model(store: Store) -> dict[str, int]:
    """Valid anonymous votes each model took part in (what the board counts)."""
    counts: dict[str, int] = {}
    with store.session() as s:
        for column in (BattleRecord.model_a, BattleRecord.model_b):
            rows = s.exec(
                select(column, func.count())  # type: ignore[call-overload]
                .where(
                    BattleRecord.state == BattleState.VOTED,
                    BattleRecord.anony == True,  # noqa: E712 - SQL, not Python
                    BattleRecord.valid == True,  # noqa: E712
                )
                .group_by(column)
            ).all()
            for name, n in rows:
                counts[name] = counts.get(name, 0) + int(n)
    return counts


def _details(battles: Sequence[Any], turns: Sequence[Any], index: DuplicateIndex) -> dict[str, Any]:
    """Prompt, turn count, tags, language and per-side answer style of each battle."""
    answers: dict[tuple[str, str], list[str]] = {}
    prompts: dict[str, list[str]] = {}
    for t in sorted(turns, key=lambda t: t.turn):
        answers.setdefault((t.battle_id, t.side), []).append(t.answer)
        if t.side == Side.A:
            prompts.setdefault(t.battle_id, []).append(t.prompt)
    first = [prompts.get(b.id, [""])[0] for b in battles]
    extra: dict[str, Any] = {
        "prompt": first,
        # Near-duplicate clusters of the first prompts: the board caps each cluster's
        # battles (ratings.voters.repeated_prompt_mask) as it would one repeated prompt.
        "cluster": [float(c) for c in index.clusters(first)],
        "coding": [
            is_coding(
                prompts.get(b.id, []),
                answers.get((b.id, Side.A), []) + answers.get((b.id, Side.B), []),
            )
            for b in battles
        ],
        "turn": [b.turns for b in battles],
        "tags": [tuple(b.tags or ()) for b in battles],
        "language": [b.language or "" for b in battles],
    }
    for side in "ab":
        styles = [answer_style("\n\n".join(answers.get((b.id, side), []))) for b in battles]
        for feature in ("len", "headers", "lists", "bold"):
            extra[f"{feature}_{side}"] = [st[feature] for st in styles]
    return extra
