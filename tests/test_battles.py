"""The battle service with the real local models: streaming, storage and the rules."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from arena.app import Arena
from arena.battles import Voter
from arena.config import load_config
from arena.errors import BattleStateError, PromptError
from arena.store import BattleRecord

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
    reveal = await arena.battles.vote(battle_id, "model_b", VOTER)

    battle = arena.store.battle(battle_id)
    assert (reveal.model_a["name"], reveal.model_b["name"]) == (battle.model_a, battle.model_b)
    assert reveal.model_a["organization"]
    assert battle.state == "voted" and battle.winner == "model_b"
    assert battle.voted_at is not None and battle.voted_at.tzinfo == UTC
    assert battle.voter_hash and VOTER.session not in battle.voter_hash
    assert battle.ip_hash and VOTER.ip not in battle.ip_hash
    assert battle.voter_hash == arena.battles.hash_identity(VOTER.session)


async def test_one_vote_per_battle_and_a_repeat_counts_once(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "Say hi.")
    await arena.battles.vote(battle_id, "tie", VOTER)
    await arena.battles.vote(battle_id, "tie", VOTER)  # a double click: same answer
    with pytest.raises(BattleStateError, match="already has its vote"):
        await arena.battles.vote(battle_id, "model_a", VOTER)
    assert arena.store.vote_count() == 1
    assert arena.store.battle(battle_id).winner == "tie"


async def test_no_turn_after_the_vote(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "Say hi.")
    await arena.battles.vote(battle_id, "model_a", VOTER)
    with pytest.raises(BattleStateError, match="already has its vote"):
        await play_turn(arena, battle_id, "One more?")
    assert arena.store.battle(battle_id).turns == 1


async def test_no_vote_before_an_answer(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    with pytest.raises(BattleStateError, match="send a prompt first"):
        await arena.battles.vote(battle_id, "model_a", VOTER)


async def test_another_session_cannot_vote_or_continue(arena: Arena) -> None:
    battle_id = await arena.battles.start_battle(VOTER)
    await play_turn(arena, battle_id, "Say hi.")
    stranger = Voter(session="someone-else")
    with pytest.raises(BattleStateError, match="another session"):
        await arena.battles.vote(battle_id, "model_a", stranger)
    with pytest.raises(BattleStateError, match="another session"):
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
    config = load_config(path, overrides={"db": f"sqlite:///{tmp_path / 'a.db'}"})
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
            await arena.battles.vote(battle_id, "model_a", VOTER)
    finally:
        await arena.stop()
