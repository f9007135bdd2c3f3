"""The language of each battle's first prompt (ISO 639-1), detected when the battle is
created; older battles get it from ``run_arena.py battles languages``.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("battles", sa.Column("language", sa.String(), nullable=True))
    op.create_index("ix_battles_language", "battles", ["language"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_battles_language", table_name="battles")
    op.drop_column("battles", "language")
