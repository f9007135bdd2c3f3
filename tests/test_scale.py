"""A crowd-sized deployment: two arena processes behind a real nginx (Debian's package,
with the configuration ``run_arena.py deploy nginx`` writes) on one database (the
suite's PostgreSQL when ARENA_TEST_DB names one), and the line a full arena keeps."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from arena.backends.supervisor import free_port
from arena.deploy import ROUTE_COOKIE, nginx_site, run_nginx
from arena.errors import BusyError
from arena.live import LiveTurns
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
                deadline = time.monotonic() + 90
                while sum(crowd.acked.values()) < 40 and time.monotonic() < deadline:
                    time.sleep(0.05)
                served = [answers(url) for url in (url_one, url_two)]
                assert not crowd.errors, crowd.errors[:3]  # sticky: no call lost its session
                assert all(served), served  # and both processes serve voters
                assert len(crowd.routes - {""}) == VOTERS  # one route cookie per browser

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


async def test_past_its_capacity_a_turn_waits_in_line_and_is_told_its_place() -> None:
    turns = LiveTurns(capacity=lambda: 2, max_wait=lambda: 5.0)
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
    await asyncio.wait_for(third, 2)
    await asyncio.sleep(0.05)
    assert places["fourth"] == [2, 1]  # told once more, as its place moved
    assert not fourth.done() and turns.running == 2
    turns.leave()
    await asyncio.wait_for(fourth, 2)
    assert turns.running == 2 and turns.waiting == 0


async def test_a_full_arena_refuses_politely_after_the_longest_wait() -> None:
    turns = LiveTurns(capacity=lambda: 1, max_wait=lambda: 0.3)
    assert [p async for p in turns.enter()] == []
    started = time.monotonic()
    with pytest.raises(BusyError, match="the arena is full"):
        async for _ in turns.enter():
            pass
    assert 0.25 < time.monotonic() - started < 2
    assert turns.waiting == 0 and turns.running == 1  # the refused one took nothing
    turns.leave()
    assert [p async for p in turns.enter()] == []  # and the place is free again


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
