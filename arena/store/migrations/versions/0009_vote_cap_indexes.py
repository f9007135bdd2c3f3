"""Index battles by (voter_hash, voted_at) and (ip_hash, voted_at): the daily vote caps
count the last 24 hours' votes of one browser or address, and by ip_hash alone that
count read every battle the address ever had (25 ms per vote at 100,000 battles behind
one address on SQLite, on the store's one thread).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_battles_voter_hash_voted_at", "battles", ["voter_hash", "voted_at"], unique=False
    )
    op.create_index("ix_battles_ip_hash_voted_at", "battles", ["ip_hash", "voted_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_battles_ip_hash_voted_at", table_name="battles")
    op.drop_index("ix_battles_voter_hash_voted_at", table_name="battles")
