"""The database: the single source of truth for battles, turns and votes.

SQLite (WAL mode, created on first use) by default; a PostgreSQL URL
(``postgresql+psycopg://...``) goes through the same code. State changes that
must happen once (starting a turn, casting the vote) are single conditional
``UPDATE`` statements, so two clicks, two tabs or two processes cannot both win.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, func, insert, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, select

from arena.duplicates import DuplicateIndex
from arena.errors import BattleStateError, ConfigError, StoreError, excerpt
from arena.store.engine import make_engine
from arena.store.migrate import upgrade
from arena.store.tables import (
    BattleRecord,
    ConsentRecord,
    FeedbackRecord,
    PromptRecord,
    TurnRecord,
    utcnow,
)
from arena.words import BattleState, Vote

__all__ = ["Store", "make_engine"]  # make_engine: arena/store/engine.py

VOTE_LABELS = tuple(Vote)  # the ratings read them as ratings.WINNER_LABELS
T = TypeVar("T")


class Store:
    """Battles, turns and votes in one database."""

    def __init__(self, url: str, retry_s: float = 5.0) -> None:
        self.url = url
        self.retry_s = retry_s
        # SQLite waits for a lock itself; a little of the retry bound is left for the
        # retries below, which also cover errors the driver does not wait out.
        self.engine = make_engine(url, busy_timeout_s=max(retry_s * 0.8, 0.05))
        # The async services call the store through :meth:`run`. On SQLite one thread
        # does it all: threads of one process racing for SQLite's single write lock
        # meet its busy handler, which sleeps up to 100 ms per try, and a crowd's votes
        # then take seconds; one thread in turn takes well under a millisecond each.
        self._executor = ThreadPoolExecutor(
            max_workers=1 if url.startswith("sqlite") else 8, thread_name_prefix="arena-store"
        )
        try:
            upgrade(self.engine)  # create or migrate the tables (arena/store/migrations)
        except OperationalError as exc:
            shown = make_url(url).render_as_string(hide_password=True)
            raise ConfigError(f"cannot open the database {shown}: {exc.orig}") from None

    @functools.cached_property
    def prompt_clusters(self) -> DuplicateIndex:
        """The near-duplicate clusters of the prompts the board has read so far
        (arena/store/battle_table.py), kept with the database they index; made on
        first use (its MinHash library is not what every command needs)."""
        return DuplicateIndex()

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """``fn(*args)`` (a store call, or work made of them) on the store's thread,
        never on the event loop."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(fn, *args)
        )

    def retrying(self, what: str, action: Callable[[], T]) -> T:
        """Run ``action`` (one transaction), retrying while the database is locked or
        unreachable for up to ``retry_s`` seconds; then :class:`StoreError`.

        Only for actions that are safe to repeat (the vote is: a repeat of the same
        vote is answered as already counted)."""
        deadline = time.monotonic() + self.retry_s
        pause = 0.05
        while True:
            try:
                return action()
            except DBAPIError as exc:  # OperationalError: locked, gone, refused
                if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
                    raise
                if time.monotonic() + pause > deadline:
                    reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
                    raise StoreError(
                        f"{what} was NOT stored: the database stayed unavailable for "
                        f"{self.retry_s:g} s ({reason}). Please try again"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One transaction of plain statements, for the writes every battle makes (the
        new battle, each answer, the turn's end, the prompt log; the claims run their
        UPDATE on their session's connection the same way): an ORM session's unit of
        work, and its synchronising of each UPDATE, doubled their CPU on the store's one
        thread (bench/store.py)."""
        with self.engine.begin() as connection:
            yield connection

    def close(self) -> None:
        self._executor.shutdown(wait=False)
        self.engine.dispose()

    # -- battles ---------------------------------------------------------------------

    def add_battle(self, battle: BattleRecord) -> None:
        """Store a new battle; while the database is locked or away, retried for up to
        ``retry_s`` seconds, then :class:`StoreError` (a locked write stored nothing)."""

        row = battle.model_dump()

        def add() -> None:
            with self.writing() as c:
                c.execute(insert(BattleRecord), row)

        self.retrying("the new battle", add)

    def battle(self, battle_id: str) -> BattleRecord:
        with self.session() as s:
            found = s.get(BattleRecord, battle_id)
        if found is None:
            raise BattleStateError(f"no battle {excerpt(battle_id)}; start a new round")
        return found

    def turns(self, battle_id: str) -> list[TurnRecord]:
        with self.session() as s:
            rows = s.exec(
                select(TurnRecord)
                .where(TurnRecord.battle_id == battle_id)
                .order_by(TurnRecord.turn, TurnRecord.side)  # type: ignore[arg-type]
            ).all()
        return list(rows)

    def _claim(
        self,
        battle_id: str,
        voter_hash: str,
        values: dict[str, Any],
        *conditions: Any,
        then: Callable[[Session], Any] | None = None,
    ) -> tuple[bool, Any]:
        """One conditional UPDATE of an open, idle battle of this voter, plus ``then``
        in the same transaction; returns whether it applied and what ``then`` gave.

        Every state change that must happen once (a turn, a regenerate, the vote) goes
        through here, so two clicks, two tabs or two processes cannot both win."""
        with self.session() as s:
            done = s.connection().execute(
                update(BattleRecord)
                .where(
                    BattleRecord.id == battle_id,  # type: ignore[arg-type]
                    BattleRecord.state == BattleState.OPEN,  # type: ignore[arg-type]
                    BattleRecord.streaming == False,  # type: ignore[arg-type]  # noqa: E712
                    BattleRecord.voter_hash == voter_hash,  # type: ignore[arg-type]
                    *conditions,
                )
                .values(**values, updated_at=utcnow())
            )
            applied = done.rowcount == 1
            result = then(s) if applied and then is not None else None
            s.commit()
        return applied, result

    def begin_turn(
        self,
        battle_id: str,
        voter_hash: str,
        max_turns: int,
        *,
        language: str | None = None,
        tags: Sequence[str] = (),
    ) -> BattleRecord:
        """Mark a turn as streaming; returns the battle (the new turn is ``turns + 1``).
        ``language`` and ``tags`` (of the prompt) are kept when it is the first turn.

        Raises:
            BattleStateError: the battle is voted, failed, already streaming, at its
                turn limit, or belongs to another browser.
        """

        def first_turn(s: Session) -> None:
            s.connection().execute(
                update(BattleRecord)
                .where(BattleRecord.id == battle_id, BattleRecord.turns == 0)  # type: ignore[arg-type]
                .values(language=language, tags=list(tags))
            )

        applied, _ = self._claim(
            battle_id,
            voter_hash,
            {"streaming": True},
            BattleRecord.turns < max_turns,
            then=first_turn if language is not None or tags else None,
        )
        battle = self.battle(battle_id)
        if applied:
            return battle
        self._refuse(battle, voter_hash, action="take another turn")
        if battle.turns >= max_turns:
            raise BattleStateError(
                f"this battle reached its limit of {max_turns} turns; vote, or start a new round"
            )
        raise BattleStateError("the answers are still streaming; wait for them to finish")

    def drop_last_turn(self, battle_id: str, voter_hash: str) -> str:
        """Remove the last completed turn (both sides) to play it again; returns its prompt.

        Raises:
            BattleStateError: voted, failed, streaming, another browser's, or no turn yet.
        """

        def delete_last(s: Session) -> str:
            turns = s.exec(select(TurnRecord).where(TurnRecord.battle_id == battle_id)).all()
            last = max(turns, key=lambda t: t.turn)
            for record in turns:
                if record.turn == last.turn:
                    s.delete(record)
            return last.prompt

        applied, prompt = self._claim(
            battle_id,
            voter_hash,
            {"turns": BattleRecord.turns - 1},
            BattleRecord.turns >= 1,
            then=delete_last,
        )
        if applied:
            return str(prompt)
        battle = self.battle(battle_id)
        self._refuse(battle, voter_hash, action="regenerate")
        if battle.streaming:
            raise BattleStateError("the answers are still streaming; stop them first")
        raise BattleStateError("there is no answer to regenerate yet")

    def add_feedback(self, feedback: FeedbackRecord) -> None:
        with self.session() as s:
            s.add(feedback)
            s.commit()

    def feedback(self, battle_id: str) -> list[FeedbackRecord]:
        with self.session() as s:
            return list(
                s.exec(select(FeedbackRecord).where(FeedbackRecord.battle_id == battle_id)).all()
            )  # type: ignore[arg-type]

    def record_consent(self, voter_hash: str, *, remembered: bool = False) -> None:
        with self.session() as s:
            if s.get(ConsentRecord, voter_hash) is None:
                s.add(ConsentRecord(voter_hash=voter_hash, remembered=remembered))
                try:
                    s.commit()
                except Exception:  # the same session accepted twice at once
                    s.rollback()

    def has_consent(self, voter_hash: str) -> bool:
        with self.session() as s:
            return s.get(ConsentRecord, voter_hash) is not None

    def add_turn(self, turn: TurnRecord) -> None:
        with self.writing() as c:
            c.execute(insert(TurnRecord), turn.model_dump(exclude={"id"}))

    def end_turn(self, battle_id: str, error: str | None) -> datetime:
        """Close the streaming turn: counted if both sides answered, else the battle fails.
        Returns the battle's new ``updated_at``: a later read that finds the same stamp
        finds the battle as this call left it."""
        ended = utcnow()
        values: dict[str, Any] = {"streaming": False, "updated_at": ended}
        if error is None:
            values["turns"] = BattleRecord.turns + 1
        else:
            values.update(state=BattleState.FAILED, error=error)
        with self.writing() as c:
            c.execute(update(BattleRecord).where(BattleRecord.id == battle_id).values(**values))  # type: ignore[arg-type]
        return ended

    def release_turn(self, battle_id: str) -> None:
        """Give back a turn claimed by :meth:`begin_turn` that will not stream after all
        (the battle stays as it was)."""
        with self.writing() as c:
            c.execute(
                update(BattleRecord)
                .where(BattleRecord.id == battle_id)  # type: ignore[arg-type]
                .values(streaming=False, updated_at=utcnow())
            )

    def record_vote(
        self, battle_id: str, winner: str, voter_hash: str, invalid_reason: str | None = None
    ) -> BattleRecord:
        """Cast the one vote of a battle; a repeat of the same vote is answered the same.

        ``invalid_reason`` flags the vote (kept, but left out of the default board).
        While the database is locked or unreachable the vote is retried for
        ``retry_s`` seconds; then :class:`StoreError` says it was not stored.

        Raises:
            BattleStateError: unknown label, battle failed, still streaming, no answer
                yet, another browser's battle, or a different vote already cast.
        """
        if winner not in VOTE_LABELS:
            raise BattleStateError(
                f"unknown vote {excerpt(winner)}; expected model_a, model_b, tie or tie (bothbad)"
            )
        values: dict[str, Any] = {
            "state": BattleState.VOTED,
            "winner": winner,
            "voted_at": utcnow(),
        }
        if invalid_reason:
            values.update(valid=False, invalid_reason=invalid_reason)
        applied, _ = self.retrying(
            "your vote",
            lambda: self._claim(battle_id, voter_hash, values, BattleRecord.turns >= 1),
        )
        battle = self.retrying("your vote", lambda: self.battle(battle_id))
        if applied:
            return battle
        if (
            battle.state == BattleState.VOTED
            and battle.winner == winner
            and battle.voter_hash == voter_hash
        ):
            return battle  # a double click or a replay: already counted once
        self._refuse(battle, voter_hash, action="vote")
        if battle.streaming:
            raise BattleStateError("wait until both answers have finished, then vote")
        raise BattleStateError("send a prompt first; there is nothing to vote on yet")

    @staticmethod
    def _refuse(battle: BattleRecord, voter_hash: str, *, action: str) -> None:
        if battle.voter_hash != voter_hash:
            raise BattleStateError(f"this battle belongs to another browser; you cannot {action}")
        if battle.state == BattleState.VOTED:
            raise BattleStateError(
                f"this battle already has its vote; you cannot {action} — start a new round"
            )
        if battle.state == BattleState.FAILED:
            raise BattleStateError(
                f"this battle failed ({battle.error}); you cannot {action} — start a new round"
            )

    def recent_prompts(self, keys: Sequence[str], since: datetime) -> dict[str, list[datetime]]:
        """The times of the prompts logged under each key since ``since``, oldest first."""
        found: dict[str, list[datetime]] = {k: [] for k in keys}
        with self.session() as s:
            rows = s.exec(
                select(PromptRecord.key, PromptRecord.at)
                .where(PromptRecord.key.in_(keys), PromptRecord.at > since)  # type: ignore[attr-defined]
                .order_by(PromptRecord.at)  # type: ignore[arg-type]
            ).all()
        for key, at in rows:
            found[key].append(at)
        return found

    def log_prompt(self, keys: Sequence[str], at: datetime, forget_before: datetime) -> None:
        """Log a prompt under each key, forgetting those keys' entries older than
        ``forget_before`` (a window never holds more than its limit)."""
        with self.writing() as c:
            c.execute(
                delete(PromptRecord).where(
                    PromptRecord.key.in_(keys),  # type: ignore[attr-defined]
                    PromptRecord.at <= forget_before,  # type: ignore[arg-type, operator]
                )
            )
            c.execute(insert(PromptRecord), [{"key": k, "at": at} for k in keys])

    def votes_since(self, column: str, value: str, since: datetime) -> int:
        """Votes cast since ``since`` by one ``voter_hash`` or ``ip_hash``."""
        field = {"voter_hash": BattleRecord.voter_hash, "ip_hash": BattleRecord.ip_hash}[column]
        with self.session() as s:
            return int(
                s.exec(
                    select(func.count()).where(  # type: ignore[arg-type]
                        field == value,
                        BattleRecord.state == BattleState.VOTED,  # type: ignore[arg-type]
                        BattleRecord.voted_at >= since,  # type: ignore[arg-type, operator]
                    )
                ).one()
            )

    def vote_count(self) -> int:
        with self.session() as s:
            return int(
                s.exec(select(func.count()).where(BattleRecord.state == BattleState.VOTED)).one()  # type: ignore[arg-type]
            )
