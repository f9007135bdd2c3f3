"""Forget the voter salt: stored hashes are keyed with a secret kept outside the
database (arena/identity.py). Deleting the old salt also leaves the hashes made with
it impossible to test against guessed IP addresses.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM meta WHERE key = 'voter_salt'")


def downgrade() -> None:
    pass  # the salt is gone for good (a downgraded arena makes a new one)
