"""Text no database can store (a lone surrogate, NUL) and answers whose write fails,
through the real battle service, models on a real HTTP server (tests/wire.py) and the
real database (SQLite, or PostgreSQL with ARENA_TEST_DB)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from arena.app import Arena
from arena.config import load_config
from arena.errors import BattleStateError
from arena.gate import Voter
from arena.live import LiveTurn
from arena.store import BattleRecord, Store, TurnRecord
from tests.conftest import db_url, query
from tests.test_faults import NO_LIMITS
from tests.wire import WireServer, _answer, write_config

VOTER = Voter(session="session-1", ip="192.0.2.7")


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


@pytest_asyncio.fixture
async def arena(tmp_path: Path, wire: WireServer) -> AsyncIterator[Arena]:
    """An arena of two openai-kind models (``m-a``, ``m-b``) on the stand-in server."""
    path = tmp_path / "arena.toml"
    write_config(path, wire, ["m-a", "m-b"], **NO_LIMITS, detect_languages="false")
    app = Arena.create(load_config(path, overrides={"db": db_url(tmp_path)}))
    await app.start()
    wire.misbehave.clear()
    yield app
    wire.misbehave.clear()
    await app.stop()


async def play(arena: Arena, battle_id: str, prompt: str) -> LiveTurn:
    """One turn to its end; returns the finished live turn (its task holds the outcome)."""
    async for _ in arena.battles.stream_turn(battle_id, prompt, VOTER):
        pass
    live = arena.battles.live.by_battle[battle_id]
    assert live.closed and live.task is not None and live.task.done()
    return live


def split_pair(before: str) -> str:
    """An emoji (U+1F600, a surrogate pair in JSON) and filler after ``before``, so that
    the stand-in server sends its high surrogate at the end of one stream event and
    the low one at the start of the next: each event's JSON holds a lone surrogate."""
    for n in range(100):
        extra = "\ud83d\ude00" + "x" * n
        chunks = _answer(before + extra)
        if any(c.endswith("\ud83d") for c in chunks[:-1]):
            return extra
    raise AssertionError("no filler splits the pair")


async def test_an_answer_with_lone_surrogates_and_nul_is_cleaned_and_stored(
    arena: Arena, wire: WireServer
) -> None:
    """The stand-in model answers ``\\ud800`` and ``\\u0000`` in its JSON events, and an
    emoji whose surrogate pair is split across two events: the answer is stored, a
    lone surrogate as U+FFFD, NUL removed, the split pair joined again."""
    before = "You said: Hello\ud800 and\x00"
    wire.misbehave["m-a"] = misbehave = "\ud800 and\x00" + split_pair(before)
    battle_id = await arena.battles.start_battle(VOTER)
    live = await play(arena, battle_id, "Hello")

    assert live.task is not None and live.task.exception() is None  # nothing left unheard
    battle = arena.store.battle(battle_id)
    assert (battle.state, battle.turns, battle.error) == ("open", 1, None)
    answers = {t.side: t for t in arena.store.turns(battle_id)}
    a, b = ("a", "b") if battle.model_a == "m-a" else ("b", "a")
    expected = "You said: Hello" + misbehave.replace("\ud83d\ude00", "😀")
    assert answers[a].answer == expected.replace("\ud800", "\ufffd").replace("\x00", "")
    assert answers[b].answer == "You said: Hello"
    assert {t.finish_reason for t in answers.values()} == {"stop"}  # neither side was cut
    await arena.votes.vote(battle_id, "model_a", VOTER)
    assert arena.store.battle(battle_id).winner == "model_a"


def test_every_writer_is_cleaned_json_columns_too(tmp_path: Path) -> None:
    """Whatever writes (here the store's own callers, past the prompt gate), text
    columns and strings inside JSON come back cleaned."""
    url = db_url(tmp_path)
    store = Store(url)
    store.add_battle(
        BattleRecord(
            id="b1",
            model_a="m\ud800",
            model_b="m\x00b",
            params={"a": {"stop": "end\ud800\x00"}},
            tags=["code\udfff"],
            voter_hash="v1",
        )
    )
    battle = store.battle("b1")
    assert (battle.model_a, battle.model_b) == ("m\ufffd", "mb")
    assert battle.params == {"a": {"stop": "end\ufffd"}} and battle.tags == ["code\ufffd"]
    store.add_turn(TurnRecord(battle_id="b1", turn=1, side="a", prompt="p\udc00\x00", answer=""))
    assert [t.prompt for t in store.turns("b1")] == ["p\ufffd"]
    if url.startswith("postgresql"):  # PostgreSQL reads inside the JSON (\ud800 it cannot)
        assert query(url, "select params->'a'->>'stop' from battles") == [("end\ufffd",)]


async def test_an_answer_whose_write_fails_fails_the_battle(arena: Arena) -> None:
    """Any failed write (here: the database refuses a duplicate of the turn's row)
    fails the battle with the reason; the other side finishes and is kept."""
    battle_id = await arena.battles.start_battle(VOTER)
    query(
        arena.store.url,
        "insert into turns (battle_id, turn, side, prompt, answer, created_at) "
        f"values ('{battle_id}', 1, 'a', 'written elsewhere', '', CURRENT_TIMESTAMP)",
    )
    live = await play(arena, battle_id, "Hello")

    assert live.task is not None and live.task.exception() is None
    assert live.update.a.error and "could not be stored (IntegrityError" in live.update.a.error
    battle = arena.store.battle(battle_id)
    assert battle.state == "failed" and not battle.streaming
    assert battle.error is not None
    assert battle.error.startswith("model A: its answer could not be stored (IntegrityError")
    rival = [t for t in arena.store.turns(battle_id) if t.side == "b"]
    assert [(t.answer, t.finish_reason) for t in rival] == [("You said: Hello", "stop")]
    with pytest.raises(BattleStateError, match="battle failed .*could not be stored"):
        await arena.votes.vote(battle_id, "model_b", VOTER)
    assert arena.store.battle(battle_id).state == "failed"
