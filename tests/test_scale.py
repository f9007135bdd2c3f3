"""A crowd-sized deployment: two arena processes behind a real nginx (Debian's package,
with the configuration ``run_arena.py deploy nginx`` writes) on one database (the
suite's PostgreSQL when ARENA_TEST_DB names one), and the line a full arena keeps."""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from gradio_client import Client

from arena.backends.supervisor import free_port
from arena.battles import TurnUpdate
from arena.deploy import ROUTE_COOKIE, nginx_site, run_nginx
from arena.errors import BusyError
from arena.identity import COOKIE
from arena.live import LiveTurn, LiveTurns, follow
from arena.server import freeze_heap
from arena.ui.page_cache import PageCache, PageStore
from tests.conftest import ROOT, db_url, play_turn, query, serve
from tests.test_faults import NO_LIMITS, Voters, browser_of, identity_of, stored_votes
from tests.wire import WireServer, write_config

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ADMIN = {"ARENA_ADMIN_TOKEN": "scale-admin"}
VOTERS = 12


def answers(url: str) -> int:
    """How many answers this arena process has streamed (its admin view)."""
    models = httpx.get(
        url + "api/admin/models", headers={"Authorization": "Bearer scale-admin"}
    ).json()["models"]
    return sum(m["answers"] for m in models)


class Crowd(Voters):
    """Voters in threads, each its own browser (session and route cookie), voting as
    fast as the arena lets them; unlike :class:`Voters`, an error is counted and the
    voter plays on."""

    def __init__(self, url: str, count: int) -> None:
        super().__init__([url], count)
        self.after: Counter[str] = Counter()  # votes acknowledged after ``mark``
        self.mark = float("inf")
        self.routes: set[str] = set()

    def _vote(self, i: int) -> None:
        client = Client(self.urls[0], verbose=False)
        with self._lock:
            self.routes.add(client.cookies.get(ROUTE_COOKIE, ""))
        n = 0
        while not self.stop.is_set():
            try:
                play_turn(client, f"voter {i} battle {n}")
                assert "Thanks for voting" in client.predict(api_name="/model_a")
                with self._lock:
                    self.acked[browser_of(client)] += 1
                    if time.monotonic() > self.mark:
                        self.after[browser_of(client)] += 1
            except Exception as exc:  # a killed process: this battle is lost, play on
                with self._lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.2)
            n += 1
            try:
                client.predict(api_name="/new_round")
            except Exception as exc:
                with self._lock:
                    self.errors.append(f"new round: {exc}")


def test_the_shipped_nginx_configuration_is_the_generated_one() -> None:
    shipped = (ROOT / "deploy" / "nginx.conf").read_text()
    assert shipped == nginx_site(["127.0.0.1:7861", "127.0.0.1:7862"], "80")
    assert "hash $arena_route consistent" in shipped and "proxy_buffering off" in shipped
    assert "$remote_addr" not in shipped and "ip_hash" not in shipped  # never by address


@pytest.mark.skipif(not Path(NGINX).exists(), reason="needs nginx (apt-get install nginx)")
def test_two_processes_behind_nginx_stick_survive_a_kill_and_lose_no_vote(
    tmp_path: Path,
) -> None:
    with WireServer(token_delay=0.02) as wire:
        config = tmp_path / "arena.toml"
        write_config(config, wire, ["m-a", "m-b", "m-c"], **NO_LIMITS)
        db = db_url(tmp_path)
        port = free_port()
        with (
            serve(config, db, tmp_path, ADMIN, log_name="one.log") as (first, url_one),
            serve(config, db, tmp_path, ADMIN, log_name="two.log") as (_, url_two),
        ):
            replicas = [u.removeprefix("http://").rstrip("/") for u in (url_one, url_two)]
            with (
                run_nginx(tmp_path / "nginx", port, replicas),
                # 12 browsers: each lands on either process by its random cookie, so
                # all on one happens about once in 2,000 runs (with 8: once in 128).
                Crowd(f"http://127.0.0.1:{port}/", count=VOTERS) as crowd,
            ):
                # Until 40 votes are in and both processes have answered someone: on a
                # busy machine nginx may skip a slow process for its fail_timeout (5 s)
                # and its voters are served by the other meanwhile.
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    served = [answers(url) for url in (url_one, url_two)]
                    if sum(crowd.acked.values()) >= 40 and all(served):
                        break
                    time.sleep(0.5)
                assert not crowd.errors, crowd.errors[:3]  # sticky: no call lost its session
                nginx_log = (tmp_path / "nginx" / "error.log").read_text()[-2000:]
                assert all(served), (served, nginx_log)  # and both processes serve voters
                assert len(crowd.routes - {""}) == VOTERS  # one route cookie per browser
                # The board is fitted once for the deployment: the other process serves
                # the same fit (its manifest's time to the second, its battles' digest).
                # The voters vote on: a board may fall due, or one process read the newer
                # snapshot, between the two reads (within a second). Read until they agree.
                deadline = time.monotonic() + 30
                while True:
                    # A first fit (imports included) can take seconds on a busy machine.
                    boards = [
                        httpx.get(u + "api/leaderboard", timeout=60).json()
                        for u in (url_one, url_two)
                    ]
                    if boards[0] == boards[1] or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                assert boards[0]["rows"] and boards[0] == boards[1]
                assert query(db, "select key from board_snapshots") == [("Overall|plain",)]

                first.send_signal(signal.SIGKILL)  # mid-battle: voters are in flight
                first.wait(10)
                crowd.mark = time.monotonic() + 1
                deadline = time.monotonic() + 60
                while len(crowd.after) < VOTERS and time.monotonic() < deadline:
                    time.sleep(0.05)
                crowd.stop.set()
            # Every voter plays on, on the other process; those on the killed one saw an
            # error for the battle they were in.
            assert len(crowd.after) == VOTERS, (crowd.after, crowd.errors[-3:])
            assert crowd.errors, "the kill went unnoticed"
    stored, check = stored_votes(db)
    assert check == "ok"
    identity = identity_of(db, tmp_path)
    lost = {b: n - stored[identity.hash(b)] for b, n in crowd.acked.items()}
    assert all(v <= 0 for v in lost.values()), lost  # every acknowledged vote is stored
    assert query(db, "select count(*) from battles where state = 'voted'")[0][0] >= 48


async def until(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    """Wait for ``condition`` (the deadline is generous: it ends a failing test, it does
    not measure a passing one)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_past_its_capacity_a_turn_waits_in_line_and_is_told_its_place() -> None:
    turns = LiveTurns(capacity=lambda: 2, max_wait=lambda: 600.0)  # nobody is refused here
    for _ in range(2):
        assert [place async for place in turns.enter()] == []  # room: no wait
    places: dict[str, list[int]] = {"third": [], "fourth": []}

    async def wait(name: str) -> None:
        async for place in turns.enter(every=0.01):
            places[name].append(place)

    third = asyncio.create_task(wait("third"))
    await asyncio.sleep(0.05)
    fourth = asyncio.create_task(wait("fourth"))
    await asyncio.sleep(0.05)
    assert places == {"third": [1], "fourth": [2]} and turns.waiting == 2
    turns.leave()  # a turn ends: the first in line gets its place
    await asyncio.wait_for(third, 30)
    await asyncio.sleep(0.05)
    assert places["fourth"] == [2, 1]  # told once more, as its place moved
    assert not fourth.done() and turns.running == 2
    turns.leave()
    await asyncio.wait_for(fourth, 30)
    assert turns.running == 2 and turns.waiting == 0


async def test_a_full_arena_refuses_politely_after_the_longest_wait() -> None:
    turns = LiveTurns(capacity=lambda: 1, max_wait=lambda: 0.3)
    assert [p async for p in turns.enter()] == []

    async def wait_in_line() -> None:
        async for _ in turns.enter():
            pass

    started = time.monotonic()
    with pytest.raises(BusyError, match="the arena is full"):
        await asyncio.wait_for(wait_in_line(), 30)  # refused, not kept waiting
    # Not before the longest wait: a bound no busy machine can break (it is measured on
    # the clock the line's deadline is set by, from before it was set).
    assert time.monotonic() - started > 0.29
    assert turns.waiting == 0 and turns.running == 1  # the refused one took nothing
    turns.leave()
    assert [p async for p in turns.enter()] == []  # and the place is free again


async def test_each_sides_first_text_goes_out_at_once_later_text_in_batches() -> None:
    """The two sides start milliseconds apart: the second's first text must not wait
    out the interval the first one's update opened; later text still travels in
    batches, and the close goes out at once. The interval is a minute, so what waits
    for it and what does not differ by far more than a busy machine's delays."""
    live = LiveTurn("b1", TurnUpdate("b1", 1))
    seen: list[tuple[str, str]] = []

    async def reader() -> None:
        async for turn in follow(live, interval=60.0):
            seen.append((turn.update.a.text, turn.update.b.text))

    task = asyncio.create_task(reader())
    live.update.a.text = "A"
    live.touch("first")
    await until(lambda: len(seen) == 1)
    live.update.b.text = "B"
    live.touch("first")  # the second side's first text
    await until(lambda: len(seen) == 2)  # not a whole interval behind the first
    live.update.a.text += "a"
    live.touch("chunk")  # a later chunk: waits for the batch
    await asyncio.sleep(0.05)
    live.update.b.text += "b"
    live.touch("chunk")
    await asyncio.sleep(0.05)
    assert seen == [("A", ""), ("A", "B")]  # both chunks are gathered into the next update
    live.closed = True
    live.touch()  # the close cuts the wait short
    await asyncio.wait_for(task, 30)
    assert seen[-1] == ("Aa", "Bb")


async def test_the_page_is_built_once_per_address_encoding_and_configuration() -> None:
    built: list[dict[str, Any]] = []

    async def gradio(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Stands in for Gradio's page route: the page names the address it was asked at."""
        built.append(scope)
        host = dict(scope["headers"]).get(b"host", b"").decode()
        cookie = [(b"set-cookie", b"x=1")] if scope["query_string"] == b"cookie" else []
        await send({"type": "http.response.start", "status": 200, "headers": cookie})
        await send({"type": "http.response.body", "body": f"page for {host}".encode()})

    store, version = PageStore(), [object()]
    app = PageCache(gradio, store, lambda: version[0])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://arena.test") as http:
        pages = [(await http.get("/")).text for _ in range(3)]
        assert pages == ["page for arena.test"] * 3 and len(built) == 1 and store.hits == 2
        other = await http.get("/", headers={"host": "other.test"})  # another address
        assert other.text == "page for other.test" and len(built) == 2
        await http.get("/", headers={"accept-encoding": "br"})  # another encoding
        assert len(built) == 3
        for _ in range(2):  # a query (deep links, ?view=api) or a cookie: never kept
            await http.get("/?view=api")
            await http.get("/?cookie")
        assert len(built) == 7
        version[0] = object()  # arena.toml reloaded
        await http.get("/")
        assert len(built) == 8
        store.ttl_s = 0.0  # and a page is kept a while only
        await http.get("/")
        assert len(built) == 9


def test_the_served_page_is_the_same_for_all_but_each_browser_has_its_own_cookie(
    live_server: dict[str, str],
) -> None:
    url = live_server["url"]
    first, second = httpx.get(url, timeout=30), httpx.get(url, timeout=30)
    assert first.status_code == second.status_code == 200 and first.text == second.text
    assert "arena-panes" in first.text  # the arena's page, not an error page
    cookies = [r.cookies.get("arena_voter") for r in (first, second)]
    assert all(cookies) and cookies[0] != cookies[1]
    port = url.rstrip("/").rsplit(":", 1)[1]
    local = httpx.get(url, headers={"host": f"localhost:{port}"}, timeout=30)
    assert f"http://localhost:{port}" in local.text and local.text != first.text
    # The arena keeps no deep-link state, and Gradio's route for it is closed.
    assert httpx.get(url + "gradio_api/deep_link?session_hash=abc").status_code == 404


def test_a_browsers_connection_stays_open_while_the_voter_reads(
    live_server: dict[str, str],
) -> None:
    """Past uvicorn's default of 5 s idle, as a voter reading an answer is."""
    host, port = live_server["url"].rstrip("/").rsplit("/", 1)[1].split(":")
    request = f"GET /api/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()

    def answer(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            assert chunk, "the arena closed the connection"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        sizes = [h for h in head.lower().split(b"\r\n") if h.startswith(b"content-length:")]
        while len(body) < int(sizes[0].split(b":")[1]):
            body += conn.recv(65536)
        return head

    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        assert answer(conn).startswith(b"HTTP/1.1 200")
        time.sleep(6.5)
        conn.sendall(request)  # the same connection, still open
        assert answer(conn).startswith(b"HTTP/1.1 200")


async def test_a_session_keeps_only_what_the_events_need(tmp_path: Path, config_file: Path) -> None:
    from gradio.state_holder import SessionState

    from arena.app import Arena
    from arena.config import load_config
    from arena.server import create_server
    from arena.ui.sessions import LeanSession

    arena = Arena.create(load_config(config_file, overrides={"db": db_url(tmp_path)}))
    try:
        blocks = create_server(arena).state.blocks
        session = blocks.state_holder["a-browser"]
        assert isinstance(session, LeanSession) and session.config_values == {}
        # Everything Gradio's own session has, so its code finds what it looks for.
        assert vars(session).keys() == vars(SessionState(blocks)).keys()
        state = next(b for b in blocks.blocks.values() if isinstance(b, gr.State))
        session[state._id] = "battle-1"
        assert session[state._id] == "battle-1" and session.config_values == {}
    finally:
        arena.store.close()


def test_freezing_the_heap_keeps_start_up_objects_from_the_collector() -> None:
    gc.unfreeze()
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 10_000  # the test process's modules and more
    finally:
        gc.unfreeze()


def test_deploy_prints_the_nginx_configuration() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "run_arena.py"),
            "deploy",
            "nginx",
            "--replica",
            "10.0.0.5:7860",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "server 10.0.0.5:7860 max_fails=3" in out and f"$cookie_{ROUTE_COOKIE}" in out


def test_past_capacity_the_page_tells_a_new_battle_its_place_in_line(tmp_path: Path) -> None:
    with WireServer(token_delay=0.4) as wire:  # each answer takes about a second
        config = tmp_path / "arena.toml"
        write_config(config, wire, ["m-a", "m-b"], max_live_turns=1, **NO_LIMITS)
        with serve(config, db_url(tmp_path), tmp_path) as (_, url):
            first, second = Client(url, verbose=False), Client(url, verbose=False)
            first.submit("first", api_name="/send").result()  # streaming: the only place
            job = second.submit("second", api_name="/send")
            started = job.result()  # once the first turn ended and made room
            told = json.dumps(job.outputs(), default=str)
            assert "you are number 1 in line" in told
            assert any(str(o).startswith("/api/stream/") for o in started)
            # The page's own endpoint says the same, then starts the turn.
            with httpx.Client(base_url=url, timeout=30) as one, httpx.Client(base_url=url) as two:
                one.get("/"), two.get("/")  # each browser's cookie
                with one.stream("POST", "/api/turn", json={"prompt": "third"}) as running:
                    started_events = running.iter_lines()  # "second" may still hold the place
                    while first_event(started_events) != "start":
                        pass
                    with two.stream("POST", "/api/turn", json={"prompt": "fourth"}) as waiting:
                        lines = waiting.iter_lines()
                        assert first_event(lines) == "line"
                        assert "you are number 1 in line" in next(lines)
                        assert first_event(lines) == "start"  # once the third has ended


def first_event(lines: Iterator[str]) -> str:
    """The name of the next named event in a stream of server-sent-event lines."""
    return next(line[6:].strip() for line in lines if line.startswith("event:"))


def test_a_direct_chat_waits_in_line_like_a_battle_and_stops_on_api_stop(tmp_path: Path) -> None:
    """A chat's turn is one of the arena's live turns (issue 23): past max_live_turns it
    waits in line and is told its place, and /api/stop (the tab's Stop does the same)
    cuts it short, keeping what the model wrote; another browser's stop does nothing."""

    def shown(job: Any) -> str:
        return json.dumps(job.outputs(), default=str)

    def wait_for(condition: Callable[[], bool], job: Any) -> None:
        deadline = time.monotonic() + 60  # ends a failing test; measures nothing
        while not condition():
            assert time.monotonic() < deadline and not job.done(), shown(job)
            time.sleep(0.05)

    with WireServer() as wire:
        config = tmp_path / "arena.toml"
        write_config(config, wire, ["m-a", "m-b"], max_live_turns=1, **NO_LIMITS)
        db = db_url(tmp_path)
        with serve(config, db, tmp_path) as (_, url):
            chatter = Client(url, verbose=False)
            with httpx.Client(base_url=url, timeout=30) as voter:
                voter.get("/")  # its cookie
                # A battle that writes one chunk and stalls holds the only place.
                with voter.stream("POST", "/api/turn", json={"prompt": "SLOW please"}) as held:
                    lines = held.iter_lines()
                    while first_event(lines) != "start":
                        pass
                    battle = json.loads(next(lines)[5:])["battle"]
                    job = chatter.submit("hello SLOW", "m-a", api_name="/chat_send")
                    wait_for(lambda: "you are number 1 in line" in shown(job), job)
                    voter.post("/api/stop", json={"battle": battle}).raise_for_status()
                # The place went to the chat, whose answer now stalls after one chunk.
                wait_for(lambda: "You sa" in shown(job), job)
                ((chat,),) = query(db, "select id from battles where mode = 'direct'")
                voter.post("/api/stop", json={"battle": chat}).raise_for_status()
                turns = f"select answer, finish_reason from turns where battle_id = '{chat}'"
                assert query(db, turns) == []  # another browser's stop: still streaming
                cookie = {"Cookie": f"{COOKIE}={chatter.cookies[COOKIE]}"}
                httpx.post(
                    url + "api/stop", json={"battle": chat}, headers=cookie
                ).raise_for_status()
                assert query(db, turns) == [("You sa", "stopped")]  # stored before it answered
            job.result(timeout=60)
            deadline = time.monotonic() + 60
            while wire.active:  # every request to the model closed: nothing left running
                assert time.monotonic() < deadline, wire.active
                time.sleep(0.05)
