"""Faults while voters vote, through the real web server (``run_arena.py serve``) and
gradio_client: the arena killed with SIGKILL, two arena processes on one database,
and backends that fail, hang or drop mid-stream. The models are openai-kind on a real
local HTTP server (tests/wire.py), so many battles fit in a few seconds."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client

from arena.identity import COOKIE, Identity, secret_path
from tests.conftest import db_url, play_turn, query, serve
from tests.wire import WireServer, write_config

NO_LIMITS = {
    "prompts_per_minute": 0,
    "ip_prompts_per_minute": 0,
    "votes_per_day": 0,
    "ip_votes_per_day": 0,
}


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


class Voters:
    """Voters in threads, each its own browser session, voting as fast as the server
    lets them; ``acked`` counts per session the votes whose reveal reached the voter."""

    def __init__(self, urls: list[str], count: int) -> None:
        self.urls = urls
        self.count = count
        self.acked: Counter[str] = Counter()
        self.errors: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._vote, args=(i,)) for i in range(count)]

    def __enter__(self) -> Voters:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(60)

    def total(self) -> int:
        with self._lock:
            return sum(self.acked.values())

    def _vote(self, i: int) -> None:
        try:
            client = Client(self.urls[i % len(self.urls)], verbose=False)
        except Exception as exc:  # the server may already be gone
            self.errors.append(f"connect: {exc}")
            return
        n = 0
        while not self.stop.is_set():
            try:
                play_turn(client, f"voter {i} battle {n}")
                reveal = client.predict(api_name="/model_a")
                assert "Thanks for voting" in reveal, reveal
                with self._lock:
                    self.acked[browser_of(client)] += 1
                client.predict(api_name="/new_round")
                n += 1
            except Exception as exc:  # after a kill every call fails: stop quietly
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return


def stored_votes(url: str) -> tuple[Counter[str], str]:
    """Votes per voter hash, and the database's integrity check: SQLite's
    ``PRAGMA integrity_check``, or on PostgreSQL amcheck over every index."""
    rows = query(url, "select voter_hash from battles where state = 'voted'")
    if url.startswith("sqlite"):
        check = query(url, "PRAGMA integrity_check")[0][0]
    else:
        query(url, "CREATE EXTENSION IF NOT EXISTS amcheck")
        query(
            url,
            "SELECT bt_index_check(i.indexrelid, true) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname = 'public'",
        )  # raises if an index is corrupt
        check = "ok"
    return Counter(r[0] for r in rows), check


def identity_of(db: str, folder: Path) -> Identity:
    """The keyed hashes of the arena served with ``db`` from ``folder``, by the secret
    it made on first start (beside a SQLite file, else in its working directory)."""
    path = secret_path("", db)
    return Identity((path if path.is_absolute() else folder / path).read_text().strip().encode())


def browser_of(client: Client) -> str:
    """The browser id the arena gave this client, in its signed cookie."""
    return client.cookies[COOKIE].rpartition(".")[0]


def test_sigkill_loses_no_acknowledged_vote(tmp_path: Path, wire: WireServer) -> None:
    config = tmp_path / "arena.toml"
    write_config(config, wire, ["m-a", "m-b", "m-c"], **NO_LIMITS)
    db = db_url(tmp_path)
    with serve(config, db, tmp_path) as (process, url):
        with Voters([url], count=8) as voters:
            deadline = time.monotonic() + 60
            while voters.total() < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)  # mid-vote: others are in flight now
            process.wait(10)
            acked = Counter(voters.acked)
    assert sum(acked.values()) >= 40, voters.errors[:3]

    stored, check = stored_votes(db)
    assert check == "ok"
    identity = identity_of(db, tmp_path)
    for browser, count in acked.items():
        assert stored[identity.hash(browser)] >= count  # every acknowledged vote is there
    # After a restart the database opens, and still holds them.
    with serve(config, db, tmp_path, log_name="restart.log"):
        again, check = stored_votes(db)
    assert check == "ok" and again == stored
    lost = sum(max(0, n - stored[identity.hash(b)]) for b, n in acked.items())
    print(f"\nSIGKILL: {sum(acked.values())} votes acknowledged, {lost} lost")


def test_two_processes_on_one_database_lose_and_duplicate_nothing(
    tmp_path: Path, wire: WireServer
) -> None:
    config = tmp_path / "arena.toml"
    write_config(config, wire, ["m-a", "m-b", "m-c"], **NO_LIMITS)
    db = db_url(tmp_path)
    with (
        serve(config, db, tmp_path, log_name="one.log") as (_, first),
        serve(config, db, tmp_path, log_name="two.log") as (_, second),
        Voters([first, second], count=8) as voters,
    ):
        deadline = time.monotonic() + 90
        while voters.total() < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        voters.stop.set()
    assert not voters.errors, voters.errors[:3]
    stored, check = stored_votes(db)
    identity = identity_of(db, tmp_path)
    assert check == "ok"
    assert sum(voters.acked.values()) >= 60
    # Exactly what was acknowledged: none lost, none counted twice.
    assert {identity.hash(b): n for b, n in voters.acked.items()} == dict(stored)


@pytest.mark.parametrize(
    ("fault", "shown"),
    [("FAIL500", "HTTP 500"), ("HANG", "first token took over 1"), ("DROP", "")],
)
def test_a_failing_backend_fails_its_side_and_the_server_serves_on(
    tmp_path: Path, wire: WireServer, fault: str, shown: str
) -> None:
    """Model m-a answers HTTP 500, never answers, or drops the connection after two
    chunks; m-b answers. That side shows an error within its timeout, the other side
    completes, the battle is stored as failed, and other voters are served."""
    config = tmp_path / "arena.toml"
    write_config(config, wire, ["m-a", "m-b"], **NO_LIMITS)
    config.write_text(
        config.read_text().replace("first_token_timeout = 2.0", "first_token_timeout = 1.0")
    )
    db = db_url(tmp_path)
    wire.misbehave["m-a"] = fault
    try:
        with serve(config, db, tmp_path) as (_, url):
            client = Client(url, verbose=False)
            turn = play_turn(client, "hello")  # a hang ends at the first-token timeout,
            chat_a, chat_b = turn.chat_a, turn.chat_b  # as its error says (below)
            with pytest.raises(Exception, match="failed"):  # no vote on a failed battle
                client.predict(api_name="/model_a")
            state, error, model_a = query(db, "select state, error, model_a from battles")[0]
            turns = dict(query(db, "select side, coalesce(error, '') || answer from turns"))
            bad, good = ("a", "b") if model_a == "m-a" else ("b", "a")
            assert state == "failed" and shown in error
            assert turns[good] == "You said: hello"  # the other side completed
            shown_text = str({"a": chat_a, "b": chat_b}[bad])
            assert "this answer failed" in shown_text.lower() and shown in shown_text
            # Another voter is served meanwhile and afterwards.
            wire.misbehave.clear()
            other = Client(url, verbose=False)
            play_turn(other, "hello there")
            assert "Thanks for voting" in other.predict(api_name="/model_b")
    finally:
        wire.misbehave.clear()
