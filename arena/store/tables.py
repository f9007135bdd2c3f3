"""The database tables. Every leaderboard can be recomputed from them.

``battles``  one row per battle: the pair, mode, state, vote, voter hashes, parameters
``turns``    one row per side per turn, stored as each answer completes
``feedback`` upvotes, downvotes and flags on direct-chat answers
``consents`` which browser sessions accepted the terms of use
``prompts``  recent prompts per browser and address, for the per-minute rate limits
``audits``   each endpoint audit's and battle monitor's verdict on a model
``prompt_labels`` a judge model's "hard prompt" criteria for a battle's first prompt
``meta``     key/value facts about the database itself
``board_snapshots`` the leaderboard as last computed, per category and style control,
             read by every arena process (computed once per interval per deployment)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

from arena.words import BattleState, Mode

__all__ = [
    "AuditRecord",
    "BoardSnapshotRecord",
    "PromptLabelRecord",
    "BattleRecord",
    "ConsentRecord",
    "FeedbackRecord",
    "MetaRecord",
    "PromptRecord",
    "TurnRecord",
    "UTCDateTime",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; the arena stores timezone-aware UTC timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class BattleRecord(SQLModel, table=True):
    __tablename__ = "battles"
    # The daily vote caps count one browser's or address's votes of the last 24 hours:
    # by these, a count reads that day's votes, not every battle the address ever had.
    # The admin view's proof-of-work share reads the last two hours' votes by voted_at.
    __table_args__ = (
        Index("ix_battles_voter_hash_voted_at", "voter_hash", "voted_at"),
        Index("ix_battles_ip_hash_voted_at", "ip_hash", "voted_at"),
        Index("ix_battles_voted_at", "voted_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    anony: bool = Field(default=True, index=True)
    mode: str = Field(default=Mode.ANONY.value, index=True)  # arena.words.Mode
    model_a: str = Field(index=True)
    model_b: str = Field(index=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    state: str = Field(default=BattleState.OPEN.value, index=True)  # arena.words.BattleState
    streaming: bool = False
    turns: int = 0  # turns completed on both sides
    error: str | None = Field(default=None, sa_type=Text)
    winner: str | None = None  # arena.words.Vote
    voted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voter_hash: str = Field(index=True)
    ip_hash: str = Field(default="", index=True)
    valid: bool = True
    invalid_reason: str | None = None
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    language: str | None = Field(default=None, index=True)  # ISO 639-1 of the first prompt


class TurnRecord(SQLModel, table=True):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("battle_id", "turn", "side"),)

    id: int | None = Field(default=None, primary_key=True)
    battle_id: str = Field(foreign_key="battles.id", index=True, max_length=36)
    turn: int  # 1, 2, ...
    side: str  # arena.words.Side
    prompt: str = Field(sa_type=Text)
    answer: str = Field(default="", sa_type=Text)
    error: str | None = Field(default=None, sa_type=Text)
    ttft_s: float | None = None
    total_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FeedbackRecord(SQLModel, table=True):
    """Upvotes, downvotes and flags on direct-chat answers."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    battle_id: str = Field(foreign_key="battles.id", index=True, max_length=36)
    turn: int
    kind: str  # upvote | downvote | flag
    voter_hash: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConsentRecord(SQLModel, table=True):
    """A browser session's acceptance of the terms of use."""

    __tablename__ = "consents"

    voter_hash: str = Field(primary_key=True)
    remembered: bool = False  # accepted earlier in this browser, carried over
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PromptRecord(SQLModel, table=True):
    """One prompt sent, by one rate-limit key (a browser's or an address's hash):
    counted for the per-minute limits in every arena process; kept for a minute."""

    __tablename__ = "prompts"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(index=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)


class AuditRecord(SQLModel, table=True):
    """One verdict on a model: an endpoint audit (``run_arena.py models audit``) or a
    check of its battle answers against its reference (``monitor``)."""

    __tablename__ = "audits"

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(index=True)
    reference: str
    kind: str  # audit | monitor
    verdict: str  # consistent | different
    queries: int  # requests sent to the audited model (0 for a monitor)
    alpha: float
    report: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the full report
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class PromptLabelRecord(SQLModel, table=True):
    """Which of the hard-prompt criteria a judge found in a battle's first prompt
    (``criteria`` None: the judge's answer could not be read)."""

    __tablename__ = "prompt_labels"
    __table_args__ = (UniqueConstraint("battle_id", "judge"),)

    id: int | None = Field(default=None, primary_key=True)
    battle_id: str = Field(foreign_key="battles.id", index=True, max_length=36)
    judge: str
    criteria: list[int] | None = Field(default=None, sa_type=JSON)
    answer: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MetaRecord(SQLModel, table=True):
    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


class BoardSnapshotRecord(SQLModel, table=True):
    """The leaderboard view for one category and style control as one process last
    computed it (``data``: JSON, :meth:`arena.leaderboard.LeaderboardView.to_dict`),
    for every process's open Leaderboard tabs to read instead of refitting."""

    __tablename__ = "board_snapshots"

    key: str = Field(primary_key=True)  # "<category>|plain" or "<category>|style"
    computed_at: datetime = Field(sa_type=UTCDateTime)
    compute_s: float  # how long computing it took (how often it may be recomputed)
    stamp: str  # what it was computed from (votes, audits, models' details)
    data: str = Field(sa_type=Text)
