"""Opening a database by URL: SQLite files in WAL mode with full sync (an acknowledged
vote survives a crash), PostgreSQL with connections checked before use; on both, every
string a statement sends is made storable first (arena/store/clean.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from arena.errors import ConfigError
from arena.store.clean import clean_parameters, json_serializer

__all__ = ["make_engine"]


def make_engine(url: str, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode, a busy timeout and full sync.
    Lone surrogates and NUL in any text it writes are cleaned (:mod:`arena.store.clean`)."""
    engine = _open(url, busy_timeout_s)
    event.listen(engine, "before_cursor_execute", clean_parameters, retval=True)
    return engine


def _open(url: str, busy_timeout_s: float) -> Engine:
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(f"invalid database URL {url!r}; e.g. sqlite:///arena.db") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
            json_serializer=json_serializer,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged vote survives a crash
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=json_serializer)
