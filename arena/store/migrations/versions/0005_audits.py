"""The audits table: each endpoint audit's and battle monitor's verdict on a model,
shown on the leaderboard and in /api/models.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("queries", sa.Integer(), nullable=False),
        sa.Column("alpha", sa.Float(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audits_model", "audits", ["model"], unique=False)
    op.create_index("ix_audits_created_at", "audits", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audits_created_at", table_name="audits")
    op.drop_index("ix_audits_model", table_name="audits")
    op.drop_table("audits")
