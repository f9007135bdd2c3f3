"""Opening a database by URL: SQLite files in WAL mode with full sync (an acknowledged
vote survives a crash), PostgreSQL with connections checked before use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from arena.errors import ConfigError

__all__ = ["make_engine"]


def make_engine(url: str, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode, a busy timeout and full sync."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(f"invalid database URL {url!r}; e.g. sqlite:///arena.db") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_s}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged vote survives a crash
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
