"""Honest votes: identity leaks, rate limits and caps, moderation, bad prompts and
proofs of work (a database that stays locked: tests/test_locked_database.py). Models
are openai-kind on a real local HTTP server (tests/wire.py) that echoes the prompt, so
what an answer says is set by the test."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import event

from arena.app import Arena
from arena.config import ArenaSettings, ModelSpec, load_config
from arena.errors import LimitError, PromptError
from arena.gate import Voter
from arena.integrity import Limits, find_leaks, make_moderator
from arena.store import BattleRecord, Store
from arena.store.battle_table import battle_table
from arena.store.tables import utcnow
from ratings import Settings
from ratings.leaderboard import select_battles
from tests.conftest import db_url
from tests.wire import WireServer, write_config

VOTER = Voter("session-1", "203.0.113.9")
DEFAULTS = ArenaSettings()

QWEN = ModelSpec(
    name="Qwen2.5-7B-Instruct",
    kind="openai",
    model="Qwen/Qwen2.5-7B-Instruct",
    organization="Alibaba Qwen",
)
LLAMA = ModelSpec(name="Llama-3.1-8B-Instruct", kind="openai", organization="Meta")
ACME = ModelSpec(name="Acme-1", kind="openai", organization="Acme Labs", aliases=["Roadrunner"])
EVERY = [QWEN, LLAMA, ACME]


def leaks(answer_a: str, answer_b: str = "Fine.", prompt: str = "Hello") -> list[str]:
    found = find_leaks({"a": [answer_a], "b": [answer_b]}, [prompt], {"a": QWEN, "b": LLAMA}, EVERY)
    return [leak.reason() for leak in found]


@pytest.mark.parametrize(
    "answer",
    [
        "I am Claude, an AI assistant made by Anthropic.",
        "Hello! I'm a large language model trained by Google.",
        "As ChatGPT, I cannot browse the web.",
        "My name is Qwen and I was created by Alibaba Cloud.",
        "Sure. I was developed by the team at Meta AI to help with tasks like this.",
        "I'm Roadrunner, happy to help.",  # a configured alias of another model
        "You can call me Llama.",
    ],
)
def test_self_identification_is_a_leak(answer: str) -> None:
    found = leaks(answer)
    assert len(found) == 1 and found[0].startswith("identity leak: answer A names"), found


def test_an_answer_naming_its_own_maker_unprompted_is_a_leak() -> None:
    found = leaks("Here is the function, as Alibaba recommends for clean code.")
    assert found == [
        "identity leak: answer A names 'Alibaba': “Here is the function, as Alibaba "
        "recommends for clean code.”"
    ]


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("Compare GPT-4 and Llama 3 for coding.", "GPT-4 is stronger at code; Llama 3 is open."),
        ("Who makes Qwen?", "Qwen is made by Alibaba Cloud."),  # asked: not a leak
        ("Write a haiku.", "Unlike ChatGPT, this haiku rhymes."),  # another model, not self
        ("Write the word Claude three times.", "Claude Claude Claude"),
        ("What is 2+2?", "I am sure the answer is 4, as anyone at Meta would agree."),
    ],
)
def test_a_prompt_that_mentions_models_flags_nothing_by_itself(prompt: str, answer: str) -> None:
    assert leaks(answer, "Another answer, naming Gemini.", prompt=prompt) == []


def test_being_asked_who_you_are_does_not_excuse_the_answer() -> None:
    found = leaks("Yes, I am Qwen, created by Alibaba Cloud.", prompt="Are you Qwen?")
    assert len(found) == 1 and "'Qwen'" in found[0]


# -- through the battle service ------------------------------------------------------


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


@asynccontextmanager
async def arena_of(
    tmp_path: Path, wire: WireServer, db: str | None = None, **settings: object
) -> AsyncIterator[Arena]:
    """A started arena of two models on ``wire`` with these ``[arena]`` settings, on
    ``db`` (a new database when None)."""
    path = tmp_path / "arena.toml"
    write_config(path, wire, ["m-a", "m-b"], **settings)
    arena = Arena.create(load_config(path, overrides={"db": db or db_url(tmp_path)}))
    arena.battles.rng = random.Random(3)
    await arena.start()
    try:
        yield arena
    finally:
        await arena.stop()


@pytest_asyncio.fixture
async def running(tmp_path: Path, wire: WireServer) -> AsyncIterator[Arena]:
    async with arena_of(tmp_path, wire) as arena:
        yield arena


async def battle(arena: Arena, prompt: str, voter: Voter = VOTER) -> str:
    battle_id = await arena.battles.start_battle(voter)
    async for _ in arena.battles.stream_turn(battle_id, prompt, voter):
        pass
    return battle_id


async def test_a_leaking_battle_keeps_its_vote_flagged_and_off_the_default_board(
    running: Arena,
) -> None:
    leaking = await battle(running, "Start with: I am Claude, made by Anthropic.")
    honest = await battle(running, "Compare Claude and GPT-4 in one line.")
    for battle_id in (leaking, honest):
        await running.votes.vote(battle_id, "model_a", VOTER)

    flagged, kept = running.store.battle(leaking), running.store.battle(honest)
    assert flagged.state == "voted" and flagged.winner == "model_a"  # the vote is kept
    assert not flagged.valid and "identity leak" in (flagged.invalid_reason or "")
    assert "Claude" in (flagged.invalid_reason or "")
    assert kept.valid and kept.invalid_reason is None
    table = battle_table(running.store, details=False)
    assert len(table) == 2 and len(select_battles(table, Settings())) == 1


async def test_the_vote_takes_the_leak_verdict_noted_as_its_turn_ended(running: Arena) -> None:
    """The turn's end notes its verdict from the answers in memory; the vote then reads
    no turn back (issue 26), and the note says what the stored turns say."""
    battle_id = await battle(running, "Say hello.")
    async for _ in running.battles.stream_turn(
        battle_id, "Start with: I am Claude, made by Anthropic.", VOTER
    ):
        pass  # the leak is in the second turn only
    ended, noted = running.battles.leaks.noted[battle_id]
    stored = running.store.battle(battle_id)
    assert stored.turns == 2 and ended == stored.updated_at and "Claude" in (noted or "")
    read: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        read.append(statement)

    event.listen(running.store.engine, "before_cursor_execute", seen)
    try:
        await running.votes.vote(battle_id, "model_b", VOTER)
    finally:
        event.remove(running.store.engine, "before_cursor_execute", seen)
    assert read and not [sql for sql in read if "FROM turns" in sql], read
    assert running.store.battle(battle_id).invalid_reason == noted
    # A process without the note (a restart, another process) reads the stored turns
    # and comes to the same verdict; a note on a battle changed since (here by the
    # vote) is not believed.
    running.battles.leaks.noted[battle_id] = (ended, None)
    assert running.battles.leaks.of(running.store, battle_id) == noted
    running.battles.leaks.noted.clear()
    assert running.battles.leaks.of(running.store, battle_id) == noted


async def test_a_turn_regenerated_by_another_process_is_judged_by_what_it_stored(
    tmp_path: Path, wire: WireServer
) -> None:
    """Behind a balancer a voter can reach either process: A streams a clean turn, B
    regenerates it into a leaking one, and the vote comes back to A. A's note is of
    the battle before B changed it, so A judges the stored turns (found by a probe)."""
    db = db_url(tmp_path)
    async with arena_of(tmp_path, wire, db) as first, arena_of(tmp_path, wire, db) as second:
        battle_id = await battle(first, "Say hello.")
        assert first.battles.leaks.noted[battle_id][1] is None  # clean, as A saw it
        wire.misbehave.update({"m-a": " I am Claude, made by Anthropic.", "m-b": ""})
        try:
            async for _ in second.battles.regenerate(battle_id, VOTER):
                pass
        finally:
            wire.misbehave.clear()
        await first.votes.vote(battle_id, "model_a", VOTER)
        voted = first.store.battle(battle_id)
        assert not voted.valid and "Claude" in (voted.invalid_reason or "")


# -- limits --------------------------------------------------------------------------


def test_prompts_per_minute_per_session_and_per_ip(tmp_path: Path) -> None:
    settings = replace(DEFAULTS, prompts_per_minute=3, ip_prompts_per_minute=5)
    now = [utcnow()]
    limits = Limits(Store(db_url(tmp_path)), clock=lambda: now[0])
    for _ in range(3):
        limits.prompt(settings, "s1", "ip1")
    with pytest.raises(
        LimitError,
        match=r"this browser sent 3 prompts in the last minute \(the limit is 3\); try again in 60",
    ):
        limits.prompt(settings, "s1", "ip1")
    limits.prompt(settings, "s2", "ip1")
    limits.prompt(settings, "s2", "ip1")  # five from this address now
    with pytest.raises(LimitError, match="your network address sent 5 prompts"):
        limits.prompt(settings, "s3", "ip1")
    limits.prompt(settings, "s3", "ip2")  # another address is not held up
    now[0] += timedelta(seconds=61)
    limits.prompt(settings, "s1", "ip1")  # a minute later the window has moved on
    # Counted in the database: another process (here a new Limits) sees the same window.
    other = Limits(limits.store, clock=lambda: now[0])
    for _ in range(2):
        other.prompt(settings, "s1", "ip9")
    with pytest.raises(LimitError, match="this browser sent 3 prompts"):
        other.prompt(settings, "s1", "ip9")


def test_daily_vote_caps_count_votes_in_the_database(tmp_path: Path) -> None:
    settings = replace(DEFAULTS, votes_per_day=2, ip_votes_per_day=3)
    store = Store(db_url(tmp_path))
    now = [datetime(2025, 3, 1, 12, tzinfo=UTC)]  # the day counts by the clock it is given
    limits = Limits(store, clock=lambda: now[0])

    def voted(voter: str, ip: str, hours_ago: float = 0) -> None:
        store.add_battle(
            BattleRecord(
                id=f"b{time.monotonic_ns()}",
                model_a="x",
                model_b="y",
                state="voted",
                winner="tie",
                voter_hash=voter,
                ip_hash=ip,
                voted_at=now[0] - timedelta(hours=hours_ago),
            )
        )

    voted("s1", "ip1", hours_ago=30)  # yesterday's vote does not count
    voted("s1", "ip1")
    limits.vote(settings, "s1", "ip1")
    voted("s1", "ip1")
    with pytest.raises(LimitError, match="this browser cast 2 votes in the last 24 hours"):
        limits.vote(settings, "s1", "ip1")
    voted("s2", "ip1")
    with pytest.raises(LimitError, match="your network address cast 3 votes"):
        limits.vote(settings, "s3", "ip1")
    limits.vote(settings, "s3", "ip2")
    now[0] += timedelta(hours=24, seconds=1)  # a day after those votes: the caps are lifted
    limits.vote(settings, "s1", "ip1")


async def test_a_voter_over_the_limit_is_told_and_nothing_is_sent(
    tmp_path: Path, wire: WireServer
) -> None:
    async with arena_of(tmp_path, wire, prompts_per_minute=2) as arena:
        battle_id = await battle(arena, "one")
        sent = len(wire.requests)
        async for _ in arena.battles.stream_turn(battle_id, "two", VOTER):
            pass
        with pytest.raises(LimitError, match="the limit is 2"):
            async for _ in arena.battles.stream_turn(battle_id, "three", VOTER):
                pass
        assert len(wire.requests) == sent + 2  # the refused prompt reached no model
        assert arena.store.battle(battle_id).turns == 2
        await battle(arena, "another browser is not held up", Voter("session-2", "198.51.100.1"))


# -- moderation ----------------------------------------------------------------------


async def test_a_word_list_refuses_prompts_with_a_listed_word(
    tmp_path: Path, wire: WireServer
) -> None:
    words = tmp_path / "blocked.txt"
    words.write_text("# one per line\nbadword\nvery bad phrase\n")
    async with arena_of(tmp_path, wire, moderation=f'"{words}"') as arena:
        battle_id = await arena.battles.start_battle(VOTER)
        with pytest.raises(
            PromptError, match="moderation refused the prompt: it contains “Very Bad Phrase”"
        ):
            async for _ in arena.battles.stream_turn(battle_id, "say a Very Bad Phrase", VOTER):
                pass
        assert arena.store.battle(battle_id).turns == 0
        await battle(arena, "a badwordless sentence is fine")


async def test_a_moderation_endpoint_refuses_flagged_prompts(
    tmp_path: Path, wire: WireServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOD_KEY", "mod-key-1")
    async with arena_of(
        tmp_path, wire, moderation=f'"{wire.url}/v1/moderations"', moderation_key_env='"MOD_KEY"'
    ) as arena:
        with pytest.raises(PromptError, match=r"moderation refused the prompt \(violence\)"):
            await battle(arena, "something FORBIDDEN")
        await battle(arena, "something fine")
        assert any(h.get("authorization") == "Bearer mod-key-1" for h in wire.headers)
        unreachable = replace(arena.config.settings, moderation="http://127.0.0.1:9/v1/moderations")
        moderator = make_moderator(unreachable)
        assert moderator is not None
        with pytest.raises(PromptError, match="moderation service did not answer"):
            await moderator.check("nobody checks this")


# -- bad prompts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "the prompt is empty"),
        (" \n\t ", "the prompt is empty"),
        ("x" * 1_000_000, "the prompt has 1,000,000 characters; the limit is 12,000"),
        ("nul \x00 here", r"a control character, U\+0000, at character 5"),
        ("bell \x07", r"a control character, U\+0007, at character 6"),
        ("half \ud83d of an emoji", r"an invalid character \(an unpaired surrogate.*U\+D83D"),
    ],
)
async def test_bad_prompts_are_refused_with_a_clear_message_and_nothing_stored(
    running: Arena, wire: WireServer, prompt: str, message: str
) -> None:
    battle_id = await running.battles.start_battle(VOTER)
    sent = len(wire.requests)
    with pytest.raises(PromptError, match=message):
        async for _ in running.battles.stream_turn(battle_id, prompt, VOTER):
            pass
    assert len(wire.requests) == sent and running.store.turns(battle_id) == []


async def test_tabs_newlines_markup_and_emoji_are_sent_and_stored_as_written(
    running: Arena,
) -> None:
    prompt = "<script>alert(1)</script>\n\tcolumns\tand 🌊 emoji"
    battle_id = await battle(running, prompt)
    turns = running.store.turns(battle_id)
    assert [t.prompt for t in turns] == [prompt, prompt]
    assert all(t.answer == f"You said: {prompt}" for t in turns)


# -- proof of work -------------------------------------------------------------------


def solved(challenge: dict) -> str:  # type: ignore[type-arg]
    """What a client that does the work sends back (altcha's own solver)."""
    import altcha

    made = altcha.Challenge.from_dict(challenge)
    return altcha.Payload(made, altcha.solve_challenge(made)).to_base64()


def test_a_solved_challenge_proves_work_for_its_browser_only() -> None:
    import altcha

    from arena.integrity.proof import ProofError, ProofOfWork

    proofs = ProofOfWork(b"a secret")
    challenge = proofs.challenge("browser-1", votes=7, work=2000)
    assert "browser-1" not in str(challenge)  # the page sees a keyed tag, not its id
    payload = solved(challenge)
    assert proofs.verify(payload, "browser-1") == 7
    with pytest.raises(ProofError, match="another browser"):
        proofs.verify(payload, "browser-2")
    with pytest.raises(ProofError, match="not a solution"):
        ProofOfWork(b"another arena").verify(payload, "browser-1")
    wrong = altcha.Payload.from_base64(payload)
    wrong.solution.counter += 1
    wrong.solution.derived_key = "00" * 32
    with pytest.raises(ProofError, match="not a solution"):
        proofs.verify(wrong.to_base64(), "browser-1")
    with pytest.raises(ProofError, match="not a solution"):  # data changed: signature breaks
        tampered = altcha.Payload.from_base64(payload)
        tampered.challenge.parameters.data = {"browser": "x", "votes": 0}
        proofs.verify(tampered.to_base64(), "browser-1")

    cookie = proofs.cookie("browser-1", 7)
    assert proofs.read(cookie, "browser-1") == 7
    assert proofs.read(cookie, "browser-2") is None  # not transferable
    assert proofs.read("8." + cookie.partition(".")[2], "browser-1") is None  # nor editable
    # A proof made at vote 7 covers votes 8 to 7 + every.
    assert ProofOfWork.missing(7, 7, every=2) is None
    assert ProofOfWork.missing(7, 8, every=2) is None
    assert "covered 2 votes" in (ProofOfWork.missing(7, 9, every=2) or "")
    assert "never solved one" in (ProofOfWork.missing(None, 0, every=2) or "")


def test_proof_of_work_is_on_by_default_only_beyond_this_machine(tmp_path: Path) -> None:
    from arena.errors import ConfigError
    from arena.integrity.proof import proof_enabled

    assert not proof_enabled(ArenaSettings())  # 127.0.0.1
    assert proof_enabled(ArenaSettings(host="0.0.0.0"))
    assert not proof_enabled(ArenaSettings(host="0.0.0.0", proof_of_work="off"))
    assert proof_enabled(ArenaSettings(proof_of_work="on"))
    path = tmp_path / "arena.toml"
    path.write_text('[arena]\nproof_of_work = "yes"\n[[models]]\nname = "a"\nkind = "local"\n')
    with pytest.raises(ConfigError, match=r"line 2: proof_of_work = 'yes' .* should be auto"):
        load_config(path, env={})


async def test_votes_without_a_proof_of_work_are_kept_flagged_and_off_the_board(
    tmp_path: Path, wire: WireServer
) -> None:
    async with arena_of(tmp_path, wire, proof_of_work='"on"', proof_every=2) as arena:
        proofs = arena.gate.identity.proofs
        script = Voter("browser-script", "203.0.113.9")  # never solved a challenge
        browser = Voter("browser-page", "203.0.113.10")
        payload = solved(proofs.challenge("browser-page", votes=0, work=1000))
        browser = replace(browser, proof=proofs.verify(payload, "browser-page"))
        cast = []
        for voter in (script, browser, browser, browser):
            battle_id = await battle(arena, "Hello", voter)
            await arena.votes.vote(battle_id, "model_a", voter)
            cast.append(arena.store.battle(battle_id))
        assert all(b.state == "voted" for b in cast)  # nothing refused
        assert [b.valid for b in cast] == [False, True, True, False]  # one proof: two votes
        assert "never solved one" in (cast[0].invalid_reason or "")
        assert "covered 2 votes" in (cast[3].invalid_reason or "")
        table = battle_table(arena.store, details=False)
        assert len(select_battles(table, Settings())) == 2
