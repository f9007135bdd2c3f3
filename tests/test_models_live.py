"""Models while the arena runs: failing models leave the draw and come back,
concurrency limits, arena.toml reloads with a boost for new models, anonymous-only
models, and the organizer's admin view. The backends are openai-kind models on a
real local HTTP server (tests/wire.py), so each test takes a second, not a minute."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from arena.app import Arena
from arena.backends import Usage
from arena.backends.packaged import resolve_packaged
from arena.backends.supervisor import free_port
from arena.config import load_config
from arena.content import Message
from arena.errors import BackendTimeout, NoModelsError
from arena.gate import Voter
from arena.store.battle_table import votes_per_model
from tests.conftest import ROOT, db_url, serve
from tests.wire import WireServer, model_toml, write_config

VOTER = Voter("session-1", "10.0.0.1")
# Quick health checks and reloads, and a model counts as new until its first vote.
QUICK = {
    "unhealthy_after": 2,
    "health_check_s": 0.2,
    "reload_s": 0.1,
    "new_model_votes": 1,
    "new_model_boost": 3.0,
}


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer(token_delay=0.05) as server:
        yield server


@pytest_asyncio.fixture
async def running(tmp_path: Path, wire: WireServer) -> AsyncIterator[Arena]:
    path = tmp_path / "arena.toml"
    write_config(path, wire, ["m-a", "m-b", "m-c"], **QUICK)
    arena = Arena.create(load_config(path, overrides={"db": db_url(tmp_path)}))
    arena.battles.rng = random.Random(7)
    await arena.start()
    yield arena
    await arena.stop()


async def ask(arena: Arena, model: str, prompt: str = "hi") -> str:
    text = ""
    async for chunk in arena.pool.backend(model).stream([Message.user(prompt)]):
        if not isinstance(chunk, Usage):
            text += chunk
    return text


async def play(arena: Arena, winner: str = "model_a") -> tuple[str, str]:
    battle_id = await arena.battles.start_battle(VOTER)
    async for _ in arena.battles.stream_turn(battle_id, "Compare yourselves.", VOTER):
        pass
    battle = arena.store.battle(battle_id)
    if battle.state == "open":
        await arena.votes.vote(battle_id, winner, VOTER)
    return battle.model_a, battle.model_b


async def test_a_failing_model_leaves_the_draw_and_comes_back(
    running: Arena, wire: WireServer
) -> None:
    wire.failing.add("m-c")
    try:
        for _ in range(2):
            with pytest.raises(Exception, match="HTTP 500"):
                await ask(running, "m-c")
        assert running.pool.ready() == ["m-a", "m-b"]
        states = {s.name: s for s in running.pool.status()}
        assert states["m-c"].state == "out" and not states["m-c"].in_draw
        assert states["m-c"].last_error == "the model's server answered HTTP 500"
        for _ in range(20):  # no battle draws it while it is out
            assert "m-c" not in await play(running)
    finally:
        wire.failing.discard("m-c")
    deadline = time.monotonic() + 30
    while "m-c" not in running.pool.ready():  # the next probe finds it answering again
        assert time.monotonic() < deadline, running.pool.status()
        await asyncio.sleep(0.05)
    assert {s.name: s.state for s in running.pool.status()}["m-c"] == "ok"


async def test_a_battle_whose_model_fails_counts_against_it(
    running: Arena, wire: WireServer
) -> None:
    wire.failing.add("m-a")
    try:
        states = []
        while "m-a" in running.pool.ready():
            battle_id = await running.battles.start_battle(VOTER)
            async for _ in running.battles.stream_turn(battle_id, "Hello", VOTER):
                pass
            battle = running.store.battle(battle_id)
            if "m-a" in (battle.model_a, battle.model_b):
                states.append(battle.state)
            assert len(states) <= 2
        assert states == ["failed", "failed"]  # two failed battles took it out
    finally:
        wire.failing.discard("m-a")


async def test_concurrency_limit_queues_requests_and_the_draw_prefers_free_models(
    tmp_path: Path, wire: WireServer
) -> None:
    path = tmp_path / "arena.toml"
    path.write_text(
        '[arena]\nterms = ""\n\n'
        # A slot is waited for as long as a first token: long enough for two short
        # answers on a busy machine.
        + model_toml(wire, "m-limited", max_concurrent=2, first_token_timeout=3.0)
        + model_toml(wire, "m-free-1")
        + model_toml(wire, "m-free-2")
    )
    arena = Arena.create(load_config(path, overrides={"db": db_url(tmp_path)}))
    await arena.start()
    try:
        backend = arena.pool.backend("m-limited")
        wire.max_active = 0
        first = [asyncio.create_task(ask(arena, "m-limited", f"q{i}")) for i in range(4)]
        await asyncio.sleep(0)  # each has started; none can have its answer yet
        assert backend.in_flight == 4 and backend.saturated
        assert "m-limited" not in arena.pool.available()  # the draw leaves it alone
        answers = await asyncio.gather(*first)
        assert answers == [f"You said: q{i}" for i in range(4)]
        assert wire.max_active == 2  # never more than its limit at the server
        assert arena.pool.available() == ["m-limited", "m-free-1", "m-free-2"]

        hanging = [asyncio.create_task(ask(arena, "m-limited", "SLOW")) for _ in range(2)]
        deadline = time.monotonic() + 30
        while wire.active < 2:  # both slots taken, at the server
            assert time.monotonic() < deadline, wire.active
            await asyncio.sleep(0.01)
        more = arena.config.settings.unhealthy_after + 1
        refused = await asyncio.gather(
            *(ask(arena, "m-limited", "third") for _ in range(more)), return_exceptions=True
        )
        for error in refused:
            assert isinstance(error, BackendTimeout), error
            assert "busy: no free slot within 3 s" in str(error)
        # Busy is not broken: a saturated model stays healthy and in the draw.
        assert backend.health.failures_in_row == 0
        assert "m-limited" in arena.pool.ready()
        for task in hanging:
            task.cancel()
        await asyncio.gather(*hanging, return_exceptions=True)
        assert backend.in_flight == 0
    finally:
        await arena.stop()


async def test_arena_toml_changes_apply_without_a_restart(
    running: Arena, wire: WireServer, tmp_path: Path
) -> None:
    for _ in range(6):  # every pair has a vote: no model is new any more
        await play(running)
    assert min(votes_per_model(running.store).values()) >= 1
    running.battles.draw._votes_cache = None

    path = Path(running.config.source)
    time.sleep(0.01)  # a new modification time
    write_config(path, wire, ["m-a", "m-b", "m-new"], **QUICK)
    deadline = time.monotonic() + 30
    while "m-new" not in running.pool.ready():
        assert time.monotonic() < deadline, running.reload
        await asyncio.sleep(0.05)
    assert running.reload.changes == {"added": ["m-new"], "removed": ["m-c"], "changed": []}
    assert running.config.names == ["m-a", "m-b", "m-new"]
    assert "m-c" not in running.pool.backends

    # Pairs with the new model weigh 3: P(m-new in a battle) = 6/7, against 2/3 uniform.
    draws = [await running.battles.draw.pair() for _ in range(3000)]
    share = sum("m-new" in pair for pair in draws) / len(draws)
    assert 0.83 < share < 0.88, share

    time.sleep(0.01)
    path.write_text(path.read_text() + "\n[[models]]\nname = 1\n")  # a broken edit
    deadline = time.monotonic() + 30
    while running.reload.error is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert "line" in running.reload.error and "name" in running.reload.error
    assert running.config.names == ["m-a", "m-b", "m-new"]  # still running the last good one


async def test_anonymous_only_models_battle_but_are_never_offered_by_name(
    tmp_path: Path, wire: WireServer
) -> None:
    path = tmp_path / "arena.toml"
    write_config(path, wire, ["m-a", "m-b", "m-secret"])
    arena = Arena.create(load_config(path, overrides={"db": db_url(tmp_path)}))
    arena.battles.rng = random.Random(3)
    await arena.start()
    try:
        assert arena.config.public_names == ["m-a", "m-b"]
        # Refused as a name that does not exist is: nothing confirms it exists.
        unknown = "unknown model 'm-secret'; Side-by-side offers: m-a, m-b$"
        with pytest.raises(NoModelsError, match=unknown):
            await arena.battles.start_battle(VOTER, models=("m-a", "m-secret"))
        with pytest.raises(NoModelsError, match=unknown.replace("Side-by-side", "Direct chat")):
            await arena.chats.start(VOTER, "m-secret")
        pairs = Counter()
        for _ in range(12):
            a, b = await play(arena, "model_b")
            pairs.update((a, b))
        assert pairs["m-secret"] > 0  # it does battle anonymously
        board = arena.leaderboard()
        assert "m-secret" not in [r.model for r in board.rows]
        assert board.manifest["hidden_models"] == 1
        assert {r.model for r in board.rows} == {"m-a", "m-b"}
    finally:
        await arena.stop()


async def test_admin_view_needs_the_token(running: Arena) -> None:
    from fastapi import FastAPI

    from arena.web.api import admin_router, api_router
    from arena.web.voters import answer_errors

    app = FastAPI()
    app.include_router(api_router(running))
    app.include_router(admin_router(running, token="s3cret-token"))
    off = FastAPI()
    for each in (app, off):
        answer_errors(each)  # the arena's errors with their statuses, as arena/server.py does
    off.include_router(admin_router(running, token=""))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        assert (await c.get("/api/admin/models")).status_code == 401
        wrong = await c.get("/api/admin/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        good = await c.get("/api/admin/models", headers={"Authorization": "Bearer s3cret-token"})
        assert good.status_code == 200
        rows = good.json()["models"]
        assert [r["name"] for r in rows] == ["m-a", "m-b", "m-c"]
        assert all(r["state"] == "ok" and r["in_draw"] for r in rows)
        log = await c.get("/api/admin/logs/m-a", headers={"Authorization": "Bearer s3cret-token"})
        assert log.status_code == 404 and "runs no server of its own" in log.json()["detail"]
        page = await c.get("/admin")
        assert page.status_code == 200 and "Admin token" in page.text
        assert "s3cret-token" not in page.text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(off), base_url="http://t") as c:
        answer = await c.get("/api/admin/models", headers={"Authorization": "Bearer x"})
        assert answer.status_code == 403
        assert "ARENA_ADMIN_TOKEN" in answer.json()["detail"]


async def test_a_model_removed_while_its_battle_streams_lets_the_battle_end_unnamed(
    tmp_path: Path, wire: WireServer
) -> None:
    path = tmp_path / "arena.toml"
    write_config(path, wire, ["m-a", "m-b"], reload_s=0)
    arena = Arena.create(load_config(path, overrides={"db": db_url(tmp_path)}))
    await arena.start()
    try:
        battle_id = await arena.battles.start_battle(VOTER)
        first = [u async for u in arena.battles.stream_turn(battle_id, "One. Two.", VOTER)]
        assert not first[-1].failed
        removed = arena.store.battle(battle_id).model_b
        kept = "m-a" if removed == "m-b" else "m-b"
        leaving = arena.pool.backend(removed)
        prompt = "Count " + " ".join(str(i) for i in range(20))  # a second of tokens
        updates = arena.battles.stream_turn(battle_id, prompt, VOTER)
        await anext(updates)  # the second turn streams...
        time.sleep(0.01)
        write_config(path, wire, [kept, "m-c", "m-d"], reload_s=0)
        assert await arena.reload_if_changed()  # ...when its model leaves arena.toml
        assert removed not in arena.pool.backends  # out of the draw at once
        assert leaving.in_flight == 1
        last = [u async for u in updates][-1]
        # The running turn finishes on the leaving model's backend, then it stops.
        assert last.done and not last.failed, (last.a, last.b)
        assert last.b.text == f"You said: {prompt}"
        await arena.pool.settled()
        assert leaving.in_flight == 0 and leaving._session is None  # type: ignore[attr-defined]
        assert arena.store.battle(battle_id).state == "open"

        # A battle whose model left before its next turn refuses it, naming no model,
        # and keeps what it has: it can still be voted on.
        with pytest.raises(NoModelsError) as caught:
            async for _ in arena.battles.stream_turn(battle_id, "And again?", VOTER):
                pass
        assert "left the arena" in str(caught.value)
        assert not {"m-a", "m-b"} & set(str(caught.value).split())
        with pytest.raises(NoModelsError, match="left the arena"):  # regenerate alike
            async for _ in arena.battles.regenerate(battle_id, VOTER):
                pass
        battle = arena.store.battle(battle_id)
        assert not battle.streaming and battle.turns == 2 and battle.state == "open"
        assert len(arena.store.turns(battle_id)) == 4
        await arena.votes.vote(battle_id, "model_a", VOTER)
    finally:
        await arena.stop()


def test_an_arena_that_cannot_battle_says_why_at_start_and_in_its_health(
    tmp_path: Path, wire: WireServer
) -> None:
    config = tmp_path / "arena.toml"
    write_config(config, wire, ["m-a"])  # one model: a battle needs two
    with serve(config, db_url(tmp_path), tmp_path, until="misconfigured") as (_, url):
        health = httpx.get(url + "api/health").json()
        assert health["models_configured"] == 1 and health["models_ready"] == 1
        assert "configures 1 model;" in health["problem"] and "add another" in health["problem"]
        assert httpx.get(url).status_code == 200  # Direct chat still works
    assert (
        "no battles can start: arena.toml configures 1 model"
        in (tmp_path / "serve.log").read_text()
    )

    # Every model anonymous-only: battles work, the page builds, the named tabs say so.
    write_config(config, wire, ["m-secret", "m-hidden"], {"m-hidden": {"anonymous_only": True}})
    with serve(config, db_url(tmp_path, "hidden"), tmp_path) as (_, url):
        assert httpx.get(url + "api/health").json()["problem"] is None
        assert httpx.get(url + "api/models").json() == []
        assert httpx.get(url).status_code == 200


async def test_a_battle_in_an_arena_of_one_model_says_what_is_missing(
    tmp_path: Path, wire: WireServer
) -> None:
    path = tmp_path / "arena.toml"
    write_config(path, wire, ["m-a"])
    arena = Arena.create(load_config(path, overrides={"db": db_url(tmp_path)}))
    await arena.start()
    try:
        assert arena.pool.health()[0] == "misconfigured"
        with pytest.raises(NoModelsError, match="fewer than two models.*add another"):
            await arena.battles.start_battle(VOTER)
        chat = await arena.chats.start(VOTER, "m-a")  # one model can still chat
        assert arena.store.battle(chat).mode == "direct"
    finally:
        await arena.stop()

    write_config(path, wire, ["m-secret", "m-hidden"], {"m-hidden": {"anonymous_only": True}})
    arena = Arena.create(load_config(path, overrides={"db": db_url(tmp_path, "hidden")}))
    await arena.start()
    try:
        assert arena.pool.health() == ("ok", None)
        await arena.battles.start_battle(VOTER)
        with pytest.raises(NoModelsError, match="offers no model by name"):
            await arena.chats.start(VOTER, None)  # type: ignore[arg-type]
        with pytest.raises(NoModelsError, match="offers no model by name"):
            await arena.battles.start_battle(VOTER, models=(None, None))  # type: ignore[arg-type]
    finally:
        await arena.stop()


async def test_side_by_side_parameters_a_provider_refuses_are_refused_before_sending(
    running: Arena,
) -> None:
    from arena.errors import PromptError

    with pytest.raises(PromptError, match=r"m-a: temperature takes 0 to 2 .*got 2\.5"):
        await running.battles.start_battle(
            VOTER, models=("m-a", "m-b"), params={"temperature": 2.5}
        )
    battle_id = await running.battles.start_battle(
        VOTER, models=("m-a", "m-b"), params={"temperature": 1.2, "top_p": 0.5}
    )
    assert running.store.battle(battle_id).params["a"]["temperature"] == 1.2


def test_a_local_models_worker_stops_when_its_arena_is_killed(tmp_path: Path) -> None:
    """An arena killed outright (SIGKILL: a test's or systemd's last resort) cannot stop
    its model workers; they notice their parent is gone and stop themselves."""
    model = resolve_packaged("smollm2-135m-instruct", tmp_path / "models")
    port = free_port()
    arena = (  # stands in for the arena: starts the worker as the supervisor does, waits
        "import subprocess, sys, time\n"
        "worker = subprocess.Popen([sys.executable, '-m', 'arena.backends.llama_worker',"
        f" '--model', {str(model)!r}, '--port', '{port}'], start_new_session=True)\n"
        "print(worker.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", arena], stdout=subprocess.PIPE, text=True, cwd=ROOT
    ) as parent:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # serving
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        else:
            pytest.fail("the worker never became healthy")
        parent.kill()
    assert_stops(worker, within_s=15)


def test_a_local_models_worker_stops_when_its_arena_dies_while_it_loads(tmp_path: Path) -> None:
    """The arena names itself (``--parent``): one that dies while its worker is still
    loading the model (seconds, when the worker could not yet watch) is not mistaken
    for the parent by then, init. The worker then stops at once after loading, which
    on a busy machine came before llama.cpp's main loop had begun and hung the worker
    in the server's teardown: on one CPU, as here, it did so about one run in three."""
    model = resolve_packaged("smollm2-135m-instruct", tmp_path / "models")
    log = tmp_path / "worker.log"
    arena = (  # starts the worker (on one CPU) as the supervisor does, and dies at once
        "import os, subprocess, sys\n"
        "os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})\n"
        "worker = subprocess.Popen([sys.executable, '-m', 'arena.backends.llama_worker',"
        f" '--model', {str(model)!r}, '--port', '{free_port()}', '--parent', str(os.getpid())],"
        f" start_new_session=True, stdout=open({str(log)!r}, 'w'), stderr=subprocess.STDOUT)\n"
        "print(worker.pid, flush=True)\n"
    )
    started = subprocess.run(
        [sys.executable, "-c", arena], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert_stops(int(started.stdout), within_s=120)
    assert "listening on" in log.read_text()  # it did load and serve, then stopped


def assert_stops(worker: int, within_s: float) -> None:
    """The orphaned worker stops by itself (killed here if it does not)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and process_runs(worker):
        time.sleep(0.2)
    alive = process_runs(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the orphaned worker kept running"


def process_runs(pid: int) -> bool:
    """Whether ``pid`` runs (an exited process not yet reaped, a zombie, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
