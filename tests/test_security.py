"""Security, through the real web server: voter data needs the admin token, API keys
never appear in anything the arena wrote or served, IP addresses are stored only as
salted hashes, and binding to every interface warns."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.conftest import ROOT, db_url, play_turn, query, serve
from tests.wire import KEY, WireServer, write_config

SECRET_ENV = "ARENA_TEST_SECRET_KEY"
ADMIN = "admin-token-for-tests"


@pytest.fixture(scope="module")
def wire() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


def test_voter_data_needs_the_token_and_no_key_or_ip_is_written_anywhere(
    tmp_path: Path, wire: WireServer
) -> None:
    config = tmp_path / "arena.toml"
    write_config(
        config,
        wire,
        ["m-a", "m-b"],
        extra={m: {"api_key_env": f'"{SECRET_ENV}"'} for m in ("m-a", "m-b")},
    )
    db = db_url(tmp_path)
    env = {SECRET_ENV: KEY, "ARENA_ADMIN_TOKEN": ADMIN}
    with serve(config, db, tmp_path, env) as (_, url):
        client = Client(url, verbose=False)
        play_turn(client, "hello")
        client.predict(api_name="/model_a")
        wire.misbehave["m-a"] = "FAIL500"  # an error message, too, must not hold the key
        try:
            client.predict(api_name="/new_round")
            play_turn(client, "again")
        finally:
            wire.misbehave.clear()
        assert any(h.get("authorization") == f"Bearer {KEY}" for h in wire.headers)
        client.predict(api_name="/new_round")
        client.predict("Hi there", "m-b", api_name="/chat_send")  # a direct chat
        assert "upvote recorded" in client.predict(api_name="/chat_upvote")

        served = []
        for path in ("", "config", "api/models", "api/leaderboard", "admin", "api/admin/models"):
            page = httpx.get(url + path, headers={"Authorization": f"Bearer {ADMIN}"})
            assert page.status_code == 200, path
            served.append(page.text)
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            assert httpx.get(url + "api/admin/battles", headers=headers).status_code == 401
        export = httpx.get(url + "api/admin/battles", headers={"Authorization": f"Bearer {ADMIN}"})
        assert export.status_code == 200
    records = [json.loads(line) for line in export.text.splitlines()]
    # The whole record: the vote, the failed battle, the chat and its feedback.
    assert [r["record"] for r in records] == ["vote", "failed", "chat", "feedback"]
    vote, failed, chat, feedback = records
    assert vote["conversation_a"][0]["content"] == "hello"
    assert len(vote["judge"]) == 64 and len(vote["ip_hash"]) == 64
    assert "HTTP 500" in failed["error"] and failed["winner"] is None
    assert chat["model_a"] == "m-b" and chat["conversation_a"][0]["content"] == "Hi there"
    assert feedback["chat_id"] == chat["question_id"] and feedback["feedback"] == "upvote"
    exported = tmp_path / "battles.jsonl"
    exported.write_text(export.text)
    board = subprocess.run(
        [sys.executable, str(ROOT / "run_arena.py"), "leaderboard", "--battles", str(exported)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "m-a" in board and "m-b" in board

    written = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert {"serve.log", "battles.jsonl"} <= set(written)
    written["the database"] = database_text(db)
    for name, data in {
        **written,
        **{f"page {i}": t.encode() for i, t in enumerate(served)},
    }.items():
        assert KEY.encode() not in data, f"the API key is in {name}"
    assert b"127.0.0.1" not in written["the database"]  # the voter's address only hashed
    assert b"HTTP 500" in written["the database"]  # the failure was recorded, without the key


def database_text(url: str) -> bytes:
    """Everything the database holds: the SQLite file and its WAL, or every row of
    every table on PostgreSQL."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    tables = [
        r[0] for r in query(url, "select tablename from pg_tables where schemaname = 'public'")
    ]
    return repr([query(url, f'select * from "{t}"') for t in tables]).encode()


def test_binding_to_every_interface_warns(tmp_path: Path, wire: WireServer) -> None:
    config = tmp_path / "arena.toml"
    write_config(config, wire, ["m-a", "m-b"], host='"0.0.0.0"')
    with serve(config, db_url(tmp_path), tmp_path):
        pass
    log = (tmp_path / "serve.log").read_text()
    assert "binding to all interfaces (0.0.0.0)" in log
    default = tmp_path / "default.toml"
    write_config(default, wire, ["m-a", "m-b"])
    with serve(default, db_url(tmp_path, "b"), tmp_path, log_name="default.log"):
        pass
    assert "binding to all interfaces" not in (tmp_path / "default.log").read_text()


def test_a_browser_is_known_by_its_signed_cookie_and_hashed_with_a_key_outside_the_database(
    tmp_path: Path, wire: WireServer
) -> None:
    from arena.identity import BROWSER_HEADER, COOKIE
    from tests.test_faults import browser_of, identity_of

    config = tmp_path / "arena.toml"
    write_config(config, wire, ["m-a", "m-b"], votes_per_day=1, ip_votes_per_day=0)
    db = db_url(tmp_path)
    with serve(config, db, tmp_path) as (_, url):
        page = httpx.get(url)
        header = page.headers["set-cookie"]
        assert header.startswith(f"{COOKIE}=") and "HttpOnly" in header
        assert "SameSite=Lax" in header and "Max-Age=31536000" in header
        cookie = page.cookies[COOKIE]
        first = Client(url, verbose=False, httpx_kwargs={"cookies": {COOKIE: cookie}})
        play_turn(first, "hello")
        assert "Thanks for voting" in first.predict(api_name="/model_a")

        # A reload is a new page session, but the same browser: its daily vote is spent.
        again = Client(url, verbose=False, httpx_kwargs={"cookies": {COOKIE: cookie}})
        assert again.session_hash != first.session_hash
        play_turn(again, "hello again")
        with pytest.raises(Exception, match="daily limit reached: this browser"):
            again.predict(api_name="/model_a")

        # Another browser cannot pass as this one: not by a forged cookie (the arena
        # replaces it), nor by the header that carries the verified id inside.
        forged = f"{browser_of(first)}x.{cookie.rpartition('.')[2]}"
        answer = httpx.get(url, cookies={COOKIE: forged})
        assert answer.cookies[COOKIE] != forged
        stranger = Client(
            url,
            verbose=False,
            headers={BROWSER_HEADER: browser_of(first)},
            httpx_kwargs={"cookies": {COOKIE: forged}},
        )
        play_turn(stranger, "who am I")
        assert "Thanks for voting" in stranger.predict(api_name="/model_a")  # not limited

    identity = identity_of(db, tmp_path)
    voters = dict(query(db, "select id, voter_hash from battles where state = 'voted'"))
    assert sorted(voters.values()) == sorted(
        [identity.hash(browser_of(first)), identity.hash(f"page:{stranger.session_hash}")]
    )
    secret = tmp_path / "a.secret"  # beside the SQLite file, or in the working directory
    secret = secret if secret.exists() else tmp_path / "arena.secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert secret.read_text().strip().encode() not in database_text(db)


def test_the_voters_address_is_what_a_trusted_proxy_says_and_nothing_else(
    tmp_path: Path, wire: WireServer
) -> None:
    """Behind a proxy every voter connects from the proxy: the per-address limits count
    by the address it forwards, which only a trusted proxy may name."""

    def turn(url: str, address: str) -> str:
        with httpx.Client(base_url=url, headers={"X-Forwarded-For": address}) as browser:
            browser.get("/")  # the page's cookie
            answer = browser.post("/api/turn", json={"prompt": "hello"})
        return answer.text.partition("\n")[0]  # the first event's name

    for trusted, second in (("", "refused"), ("127.0.0.1", "start")):
        config = tmp_path / f"arena-{trusted}.toml"
        write_config(
            config,
            wire,
            ["m-a", "m-b"],
            prompts_per_minute=0,
            ip_prompts_per_minute=1,
            trusted_proxies=f'"{trusted}"',
        )
        db = db_url(tmp_path, f"proxy{len(trusted)}")
        with serve(config, db, tmp_path) as (_, url):
            assert turn(url, "203.0.113.1") == "event: start"
            # Another address (the test's requests all come from 127.0.0.1).
            assert turn(url, "203.0.113.2") == f"event: {second}", trusted
            assert turn(url, "203.0.113.1") == "event: refused"  # one prompt a minute
        addresses = {ip for (ip,) in query(db, "select ip_hash from battles")}
        assert len(addresses) == (2 if trusted else 1)
