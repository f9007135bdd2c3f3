"""Alembic's entry point, run by :func:`arena.store.migrate.upgrade` on the arena's own
connection (there is no alembic.ini: the arena migrates its database itself)."""

from alembic import context
from sqlmodel import SQLModel

import arena.store.tables  # noqa: F401  (registers the tables on the metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
