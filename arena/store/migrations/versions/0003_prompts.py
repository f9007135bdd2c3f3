"""The prompts table: per-minute prompt limits counted in the database, so they hold
across several arena processes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_prompts_key", "prompts", ["key"], unique=False)
    op.create_index("ix_prompts_at", "prompts", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_prompts_at", table_name="prompts")
    op.drop_index("ix_prompts_key", table_name="prompts")
    op.drop_table("prompts")
