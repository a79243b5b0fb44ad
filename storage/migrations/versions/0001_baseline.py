"""Baseline schema of release 0.1.0.

A new database is created with ``metadata.create_all`` and stamped at head
(Alembic cookbook), so this revision never runs on a real database: there is
no release before 0.1.0.  Later revisions alter tables step by step, and the
release fixtures in tests/fixtures/ prove that each old database upgrades.

Revision ID: 0001
Revises:
"""

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError("0001 is the baseline: new databases are created at head, never upgraded from empty")


def downgrade() -> None:
    raise RuntimeError("cannot downgrade below the baseline")
