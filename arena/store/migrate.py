"""Schema migrations (Alembic), applied by the arena itself when it opens a database.

``arena/store/migrations/versions`` holds one file per change of the tables; a new
database is built by running them all, an older one is brought up to date. A database
created before migrations existed (by ``create_all``, revision 0001's schema) is
recognised and stamped first. On PostgreSQL an advisory lock keeps two arena processes
starting together from migrating at once; on SQLite the write lock does.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

__all__ = ["current_revision", "head_revision", "upgrade"]

SCRIPTS = Path(__file__).with_name("migrations")
_LOCK = 7_240_601  # any constant: the key of the PostgreSQL advisory lock


def _config(connection: Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(SCRIPTS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's tables to ``revision`` (the newest by default)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock first
        tables = inspect(connection).get_table_names()
        config = _config(connection)
        if "battles" in tables and "alembic_version" not in tables:
            command.stamp(config, "0001")  # created by create_all before migrations
        command.upgrade(config, revision)
