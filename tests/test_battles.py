"""The battle service with the real local models: streaming, storage and the rules."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC
from pathlib import Path

import pytest

from arena.app import Arena
from arena.battles import TurnStart
from arena.config import load_config
from arena.errors import BattleStateError, PromptError, StoreError
from arena.gate import Voter
from arena.store import BattleRecord
from arena.store.battle_table import battle_table
from tests.conftest import db_url, query
from tests.test_faults import NO_LIMITS
from tests.wire import WireServer, write_config

VOTER = Voter(session="session-1", ip="192.0.2.7")


async def play_turn(arena: Arena, battle_id: str, prompt: str, voter: Voter = VOTER) -> list:
    return [u async for u in arena.battles.stream_turn(battle_id, prompt, voter)]


async def test_both_answers_stream_and_every_turn_is_stored(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    updates = await play_turn(arena, battle_id, "Name three colours.")
    await play_turn(arena, battle_id, "And three animals?")

    assert len(updates) > 4  # chunks arrive one by one, not as one final answer
    last = updates[-1]
    assert last.done and not last.failed and last.a.text and last.b.text
    battle = arena.store.battle(battle_id)
    assert battle.turns == 2 and battle.state == "open" and battle.anony
    assert {battle.model_a, battle.model_b} == set(arena.config.names)
    turns = arena.store.turns(battle_id)
    assert [(t.turn, t.side) for t in turns] == [(1, "a"), (1, "b"), (2, "a"), (2, "b")]
    for t in turns:
        assert t.answer and t.error is None
        assert 0 < t.ttft_s <= t.total_s
        assert t.prompt_tokens and t.completion_tokens
        assert t.created_at.tzinfo is not None
    assert battle.params["a"]["max_tokens"] == 40


async def test_second_turn_sees_the_first(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "My name is Zorblax. Say hello to me.")
    await play_turn(arena, battle_id, "What is my name?")
    second = [t for t in arena.store.turns(battle_id) if t.turn == 2]
    assert any("zorblax" in t.answer.lower() for t in second)


async def test_vote_reveals_names_and_is_stored_with_hashed_voter(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "Say hi.")
    reveal = await arena.votes.vote(battle_id, "model_b", VOTER)

    battle = arena.store.battle(battle_id)
    assert (reveal.model_a["name"], reveal.model_b["name"]) == (battle.model_a, battle.model_b)
    assert reveal.model_a["organization"]
    assert battle.state == "voted" and battle.winner == "model_b"
    assert battle.voted_at is not None and battle.voted_at.tzinfo == UTC
    assert battle.voter_hash and VOTER.session not in battle.voter_hash
    assert battle.ip_hash and VOTER.ip not in battle.ip_hash
    assert battle.voter_hash == arena.gate.hash(VOTER.session)


async def test_one_vote_per_battle_and_a_repeat_counts_once(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "Say hi.")
    await arena.votes.vote(battle_id, "tie", VOTER)
    await arena.votes.vote(battle_id, "tie", VOTER)  # a double click: same answer
    with pytest.raises(BattleStateError, match="already has its vote"):
        await arena.votes.vote(battle_id, "model_a", VOTER)
    assert arena.store.vote_count() == 1
    assert arena.store.battle(battle_id).winner == "tie"


async def test_no_turn_after_the_vote(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "Say hi.")
    await arena.votes.vote(battle_id, "model_a", VOTER)
    with pytest.raises(BattleStateError, match="already has its vote"):
        await play_turn(arena, battle_id, "One more?")
    assert arena.store.battle(battle_id).turns == 1


async def test_no_vote_before_an_answer(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    with pytest.raises(BattleStateError, match="send a prompt first"):
        await arena.votes.vote(battle_id, "model_a", VOTER)


async def test_another_session_cannot_vote_or_continue(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "Say hi.")
    stranger = Voter(session="someone-else")
    with pytest.raises(BattleStateError, match="another browser"):
        await arena.votes.vote(battle_id, "model_a", stranger)
    with pytest.raises(BattleStateError, match="another browser"):
        await play_turn(arena, battle_id, "Hello?", stranger)


async def test_turn_limit_is_enforced_with_a_clear_message(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    for _ in range(arena.config.settings.max_turns):
        await play_turn(arena, battle_id, "Say one word.")
    with pytest.raises(BattleStateError, match="limit of 3 turns"):
        await play_turn(arena, battle_id, "Again?")


@pytest.mark.parametrize("prompt", ["", "   \n\t "])
async def test_empty_prompts_are_refused(arena: Arena, prompt: str) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    with pytest.raises(PromptError, match="empty"):
        await play_turn(arena, battle_id, prompt)
    assert arena.store.turns(battle_id) == []


async def test_a_prompt_over_the_limit_is_refused_stating_the_limit(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    with pytest.raises(PromptError, match="the limit is 2,000"):
        await play_turn(arena, battle_id, "x" * 2001)
    assert arena.store.turns(battle_id) == []
    await play_turn(arena, battle_id, "y" * 1900)  # at the limit it goes through whole
    assert all(t.prompt == "y" * 1900 for t in arena.store.turns(battle_id))


FAILING_CONFIG = """\
[arena]
terms = ""

[[models]]
name = "SmolLM2-135M-Instruct"
kind = "local"
package = "smollm2-135m-instruct"
params = {{ max_tokens = 32 }}

[[models]]
name = "Unreachable"
kind = "openai"
base_url = "http://127.0.0.1:{port}/v1"
connect_timeout = 2
"""


async def test_a_failed_side_shows_its_error_while_the_other_finishes(tmp_path: Path) -> None:
    from arena.backends.supervisor import free_port

    path = tmp_path / "arena.toml"
    path.write_text(FAILING_CONFIG.format(port=free_port()))  # nothing listens there
    config = load_config(path, overrides={"db": db_url(tmp_path)})
    arena = Arena.create(config)
    await arena.start()
    try:
        battle_id = await arena.battles.start_battle(VOTER)
        updates = await play_turn(arena, battle_id, "Say hi.")
        battle: BattleRecord = arena.store.battle(battle_id)
        good, bad = ("a", "b") if battle.model_a == "SmolLM2-135M-Instruct" else ("b", "a")
        last = updates[-1]
        assert getattr(last, good).text and getattr(last, good).error is None
        assert "could not reach" in getattr(last, bad).error
        assert battle.state == "failed" and "could not reach" in battle.error
        assert {t.side: t.error is None for t in arena.store.turns(battle_id)} == {
            good: True,
            bad: False,
        }
        with pytest.raises(BattleStateError, match="failed"):
            await arena.votes.vote(battle_id, "model_a", VOTER)
    finally:
        await arena.stop()


async def test_regenerate_plays_the_last_turn_again(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "Name a fruit.")
    await play_turn(arena, battle_id, "Name a colour.")
    before = {(t.turn, t.side): t.created_at for t in arena.store.turns(battle_id)}
    updates = [u async for u in arena.battles.regenerate(battle_id, VOTER)]
    after = {(t.turn, t.side): t for t in arena.store.turns(battle_id)}
    assert updates[-1].done and arena.store.battle(battle_id).turns == 2
    assert set(after) == set(before)
    # (Row ids can come back: SQLite reuses the largest rowid after a delete.)
    assert after[(1, "a")].created_at == before[(1, "a")]  # the first turn is untouched
    assert after[(2, "a")].created_at > before[(2, "a")]  # the last one was played again
    assert after[(2, "b")].prompt == "Name a colour."


async def test_stop_keeps_partial_answers_and_the_battle_goes_on(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    stream = arena.battles.stream_turn(battle_id, "Count slowly from one to fifty.", VOTER)
    async for update in stream:
        if len(update.a.text) + len(update.b.text) > 10:
            break
    await stream.aclose()  # what Gradio does when the voter presses Stop
    battle = arena.store.battle(battle_id)
    turns = arena.store.turns(battle_id)
    assert battle.state == "open" and battle.turns == 1 and not battle.streaming
    assert len(turns) == 2 and all(t.error is None for t in turns)
    assert "stopped" in {t.finish_reason for t in turns}
    await arena.votes.vote(battle_id, "tie", VOTER)  # a stopped turn can still be judged


async def test_side_by_side_battles_are_named_and_use_the_chosen_parameters(arena: Arena) -> None:
    models = ("Qwen2.5-Coder-0.5B-Instruct", "SmolLM2-135M-Instruct")
    battle_id = await arena.battles.start_battle(
        VOTER, models=models, params={"max_tokens": 6, "temperature": 0.3}
    )
    await play_turn(arena, battle_id, "Write a long poem about the sea.")
    await arena.votes.vote(battle_id, "model_a", VOTER)
    battle = arena.store.battle(battle_id)
    assert (battle.model_a, battle.model_b, battle.anony, battle.mode) == (*models, False, "named")
    assert battle.params["a"]["temperature"] == 0.3
    assert all(t.completion_tokens <= 6 for t in arena.store.turns(battle_id))
    assert arena.leaderboard().manifest["battles"] == 0  # named votes stay off the board
    with pytest.raises(BattleStateError, match="pick two different models"):
        await arena.battles.start_battle(VOTER, models=(models[0], models[0]))


async def test_direct_chat_keeps_turns_and_feedback_but_never_reaches_the_board(
    arena: Arena,
) -> None:
    chat_id = await arena.chats.start(VOTER, "SmolLM2-135M-Instruct")
    answers = [
        [s.text async for s in arena.chats.stream(chat_id, p, VOTER)][-1]
        for p in ("Hello!", "How are you?")
    ]
    assert all(answers)
    for kind in ("upvote", "downvote", "flag"):
        await arena.chats.feedback(chat_id, kind, VOTER)
    with pytest.raises(BattleStateError, match="unknown feedback"):
        await arena.chats.feedback(chat_id, "love", VOTER)
    assert [f.kind for f in arena.store.feedback(chat_id)] == ["upvote", "downvote", "flag"]
    assert {f.turn for f in arena.store.feedback(chat_id)} == {2}
    assert len(arena.store.turns(chat_id)) == 2 and arena.store.battle(chat_id).mode == "direct"
    assert len(battle_table(arena.store)) == 0


async def test_terms_must_be_accepted_before_the_first_prompt(tmp_path: Path) -> None:
    from tests.conftest import TEST_CONFIG

    path = tmp_path / "arena.toml"
    path.write_text(TEST_CONFIG.format(max_tokens=8, terms="Be kind."))
    arena = Arena.create(load_config(path, overrides={"db": db_url(tmp_path)}))
    await arena.start()
    try:
        with pytest.raises(BattleStateError, match="accept the terms"):
            await arena.battles.start_battle(VOTER)
        arena.gate.accept_terms(VOTER)
        assert await arena.battles.start_battle(VOTER)
    finally:
        await arena.stop()


async def test_active_sampling_draws_pairs_before_and_after_the_fit_exists(arena: Arena) -> None:
    from dataclasses import replace

    arena.config = replace(arena.config, settings=replace(arena.config.settings, sampling="active"))
    assert arena.battles.draw._evidence() is None  # no votes yet: uniform
    for winner in ("model_a", "model_b", "tie"):
        battle_id = await arena.battles.start_battle(VOTER)
        await play_turn(arena, battle_id, "Say one word.")
        await arena.votes.vote(battle_id, winner, VOTER)
    arena.battles.draw._evidence_cache = None
    evidence = arena.battles.draw._evidence()
    assert evidence is not None and set(evidence.models) == set(arena.config.names)
    assert {m for m in await arena.battles.draw.pair()} == set(arena.config.names)


async def _first_turn(arena: Arena, prompt: str) -> TurnStart:
    """A new battle's first turn, as the page starts it (no battle id yet)."""
    async for step in arena.battles.start_turn(VOTER, prompt):
        if isinstance(step, TurnStart):
            return step
    raise AssertionError("the turn never started")


async def _until(condition: object, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_new_battles_answers_start_while_it_is_being_stored(tmp_path: Path) -> None:
    """The models take far longer to a first token than the database to write: a new
    battle's answers are asked for at once, the battle stored meanwhile. If it cannot
    be stored, the voter is told, the answers are cut and nothing of it is kept."""
    path, db = tmp_path / "arena.toml", tmp_path / "arena.db"
    with WireServer(token_delay=0.05) as wire:
        write_config(
            path, wire, ["m-a", "m-b"], **NO_LIMITS, detect_languages="false", db_retry_s=1.0
        )
        arena = Arena.create(load_config(path, overrides={"db": f"sqlite:///{db}"}))
        await arena.start()
        try:
            # Another process holds the database's write lock for a while.
            other = sqlite3.connect(db, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            starting = asyncio.create_task(_first_turn(arena, "Hello there"))
            await _until(lambda: len(wire.requests) == 2)  # both models asked already
            assert not starting.done()  # while the battle waits for the database
            other.execute("ROLLBACK")
            start = await asyncio.wait_for(starting, 5)
            live = arena.battles.live_turn(start.token)
            assert live.task is not None
            await asyncio.wait_for(live.task, 10)
            assert query(f"sqlite:///{db}", "select state from battles") == [("open",)]
            assert len(arena.store.turns(start.battle_id)) == 2  # stored after the battle

            # Held past the store's patience (db_retry_s): refused, cut, nothing kept.
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="NOT stored"):
                await asyncio.wait_for(_first_turn(arena, "Hello again"), 10)
            other.execute("ROLLBACK")
            other.close()
            assert len(wire.requests) == 4  # it was asked, then cut
            await _until(lambda: wire.active == 0)
            assert query(f"sqlite:///{db}", "select count(*) from battles") == [(1,)]
            assert query(f"sqlite:///{db}", "select count(*) from turns") == [(2,)]
            assert arena.battles.live.running == 0  # its place in line was handed back
        finally:
            await arena.stop()


async def test_an_endless_answer_is_cut_at_the_limit_and_its_stream_closed(
    tmp_path: Path,
) -> None:
    """An endpoint that ignores max_tokens cannot stream without end into the arena's
    memory and database: the answer stops at MAX_ANSWER_CHARS, as a model's own limit
    would stop it, and the request to the model is closed."""
    from arena.answers import MAX_ANSWER_CHARS

    path, db = tmp_path / "arena.toml", f"sqlite:///{tmp_path / 'arena.db'}"
    with WireServer() as wire:
        write_config(path, wire, ["m-a", "m-b"], **NO_LIMITS, detect_languages="false")
        arena = Arena.create(load_config(path, overrides={"db": db}))
        await arena.start()
        try:
            start = await _first_turn(arena, "ENDLESS please")
            live = arena.battles.live_turn(start.token)
            assert live.task is not None
            await asyncio.wait_for(live.task, 60)
            turns = arena.store.turns(start.battle_id)
            assert [len(t.answer) for t in turns] == [MAX_ANSWER_CHARS] * 2
            assert {t.finish_reason for t in turns} == {"length"}
            await _until(lambda: wire.active == 0, 30)  # both requests closed
            assert arena.store.battle(start.battle_id).state == "open"  # votable
        finally:
            await arena.stop()
