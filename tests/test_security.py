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
    assert len(records) == 1 and records[0]["conversation_a"][0]["content"] == "hello"
    assert len(records[0]["judge"]) == 64 and len(records[0]["ip_hash"]) == 64
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
