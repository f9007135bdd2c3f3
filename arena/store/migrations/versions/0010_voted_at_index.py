"""Index battles by voted_at: the admin view's share of votes flagged "no proof of work"
counts the last two hours' votes (every refresh of /admin, and every 5 minutes), and
without this index that count read the whole table (120-155 ms at 100,000 battles on
SQLite against 5-6 ms by the index; python bench/store.py).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_battles_voted_at", "battles", ["voted_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_battles_voted_at", table_name="battles")
