"""Index battles.ip_hash: the daily vote cap per IP address counts by it.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_battles_ip_hash", "battles", ["ip_hash"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_battles_ip_hash", table_name="battles")
