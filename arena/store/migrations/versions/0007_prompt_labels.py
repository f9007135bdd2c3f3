"""The prompt_labels table: a judge model's "hard prompt" criteria for a battle's first
prompt (run_arena.py battles hard-prompts), one row per battle and judge.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("battle_id", sa.String(length=36), nullable=False),
        sa.Column("judge", sa.String(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["battle_id"], ["battles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("battle_id", "judge"),
    )
    op.create_index("ix_prompt_labels_battle_id", "prompt_labels", ["battle_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_prompt_labels_battle_id", table_name="prompt_labels")
    op.drop_table("prompt_labels")
