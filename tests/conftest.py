"""Shared fixtures: real SQLite files, real local models on CPU, a real server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from gradio_client import Client

from arena.app import Arena
from arena.backends.supervisor import free_port
from arena.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Language detection loads 550 MB of Lingua models in every arena process (5 s of CPU):
# off for the suite's many arenas; tests/test_release.py turns it on where it is tested.
os.environ.setdefault("ARENA_DETECT_LANGUAGES", "false")

# Short answers keep the real models quick on two cores.
TEST_CONFIG = """\
[arena]
max_prompt_chars = 2000
max_turns = 3
terms = "{terms}"

[[models]]
name = "SmolLM2-135M-Instruct"
kind = "local"
package = "smollm2-135m-instruct"
organization = "Hugging Face"
license = "Apache-2.0"
params = {{ temperature = 0.0, max_tokens = {max_tokens} }}

[[models]]
name = "Qwen2.5-Coder-0.5B-Instruct"
kind = "local"
package = "qwen2.5-coder-0.5b-instruct"
organization = "Alibaba Qwen"
license = "Apache-2.0"
params = {{ temperature = 0.0, max_tokens = {max_tokens} }}
"""


# The database every test uses: SQLite files by default; with ARENA_TEST_DB set to a
# PostgreSQL server URL (as .ci/run does), each test gets a fresh database on it.
TEST_DB = os.environ.get("ARENA_TEST_DB", "")
ON_POSTGRES = TEST_DB.startswith("postgresql")
sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="about SQLite's own file (locks, WAL, PRAGMA); PostgreSQL has none"
)
_created: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, the modules that use no database of the suite's (``no_database``:
    none, or a SQLite file of their own) are skipped: the SQLite run before it has run
    them, and they would only run the same again."""
    if not ON_POSTGRES:
        return
    again = pytest.mark.skip(reason="opens no database: run once, on SQLite (no_database)")
    for item in items:
        if item.get_closest_marker("no_database"):
            item.add_marker(again)


def db_url(tmp_path: Path, name: str = "a") -> str:
    """A new, empty database for one test: a SQLite file in ``tmp_path``, or a fresh
    database on the ARENA_TEST_DB server."""
    if not ON_POSTGRES:
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    database = f"arena_test_{os.urandom(6).hex()}"
    admin = create_engine(TEST_DB, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    _created.append(database)
    return make_url(TEST_DB).set(database=database).render_as_string(hide_password=False)


def query(url: str, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the database at ``url`` (either kind), read from outside the arena."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql))
            return [tuple(r) for r in result.all()] if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _close_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every Store a test opened (the arena closes its own on stop; a test that
    makes one directly often just drops it, and PostgreSQL connections must be closed)."""
    from arena.store import Store

    opened: list[Store] = []
    init = Store.__init__

    def tracked(self: Store, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)  # type: ignore[arg-type]
        opened.append(self)

    monkeypatch.setattr(Store, "__init__", tracked)
    yield
    for store in opened:
        store.close()


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    if ON_POSTGRES and _created:
        from sqlalchemy import create_engine, text

        admin = create_engine(TEST_DB, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for database in _created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def shared_file(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/data ({path} is absent in this checkout)")
    return path


def csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def evalica_case(name: str, algorithm: str) -> tuple[Path, dict[str, float]]:
    """An evalica golden data set (``simple``, ``food``, ``llmfao``) and its scores."""
    data = (
        shared_file("llmfao", "crowd-comparisons.csv")
        if name == "llmfao"
        else shared_file("evalica_golden", f"{name}.csv")
    )
    golden = {
        r["item"]: float(r["score"])
        for r in csv_rows(shared_file("evalica_golden", f"{name}-golden.csv"))
        if r["algorithm"] == algorithm
    }
    return data, golden


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "arena.toml"
    path.write_text(TEST_CONFIG.format(max_tokens=40, terms=""))
    return path


@contextmanager
def serve(
    config: Path,
    db: str,
    folder: Path,
    env: dict[str, str] | None = None,
    log_name: str = "serve.log",
    until: str = "ok",
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``run_arena.py serve`` as a user runs it; yields the process and its URL once
    ``/api/health`` says ``until``, and stops it (SIGTERM) afterwards if it still runs."""
    port = free_port()
    log_path = folder / log_name
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "run_arena.py"),
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--db",
            db,
        ],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(url + "api/health", timeout=2).json()["status"] == until:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail("arena did not become ready:\n" + log_path.read_text())
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``run_arena.py serve`` as a user runs it, with the two real local models."""
    folder = tmp_path_factory.mktemp("server")
    config = folder / "arena.toml"
    config.write_text(TEST_CONFIG.format(max_tokens=48, terms="Be kind. Votes are public."))
    db = db_url(folder, "arena")
    admin_token = "admin-" + os.urandom(8).hex()
    with serve(config, db, folder, {"ARENA_ADMIN_TOKEN": admin_token}) as (_, url):
        yield {
            "url": url,
            "db": db,
            "config": str(config),
            "folder": str(folder),
            "admin_token": admin_token,
        }


@pytest_asyncio.fixture
async def arena(tmp_path: Path, config_file: Path) -> AsyncIterator[Arena]:
    """An :class:`Arena` in this process, with both real local models running."""
    config = load_config(config_file, overrides={"db": db_url(tmp_path, "arena")})
    app = Arena.create(config)
    await app.start()
    assert len(app.pool.ready()) == 2, app.pool.failures
    yield app
    await app.stop()


@dataclass
class PlayedTurn:
    """One turn as the page plays it: what the stream sent, then the stored answers."""

    events: list[dict[str, str]]  # the stream's updates: each side's new text
    chat_a: list[dict[str, Any]]
    chat_b: list[dict[str, Any]]
    status: str
    seen: str  # everything the client received, for anonymity checks


def play_turn(
    client: Client, prompt: str | None, api: str = "send", choices: tuple[Any, ...] = ()
) -> PlayedTurn:
    """Send ``prompt`` through ``/{api}`` (``regenerate`` with ``prompt`` None; the
    side-by-side ``choices`` after it), read the turn's event stream to its end, then ask
    for the finished turn, as the page does."""
    job = client.submit(*(() if prompt is None else (prompt,)), *choices, api_name=f"/{api}")
    outputs = job.result()  # raises if the arena refused
    url = next(o for o in outputs if isinstance(o, str) and o.startswith("/api/stream/"))
    events: list[dict[str, str]] = []
    raw = []
    with httpx.stream("GET", client.src.rstrip("/") + url, cookies=client.cookies) as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            raw.append(line)
            if line.startswith("event: done"):
                break
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    finish = "/sbs_finish" if api.startswith("sbs_") else "/finish"
    chat_a, chat_b, status, *_ = client.predict(url, api_name=finish)
    seen = json.dumps([outputs, raw, chat_a, chat_b, status], default=str)
    return PlayedTurn(events, chat_a, chat_b, status, seen)
