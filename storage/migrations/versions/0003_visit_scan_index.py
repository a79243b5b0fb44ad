"""Covering index for the monthly-visit check of the 达标 report.

The 特殊困难老年人月探访 check (吉林 专栏2-2, 商丘 专栏2-2) groups a county's service
records of one category by village and month.  Without an index SQLite either walks
the date index and fetches a million rows at random or scans the whole table
(~1.5 s of the county report); with (category, deleted, date, org_code) it reads
only the index (~0.2 s).

Frozen here, not derived from the models: a migration keeps meaning what it meant.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# (index name, table, columns); tests/fixtures/make_release_fixture.py reads it to build older schemas
INDEXES = (("ix_service_visit_scan", "service", ("category", "deleted", "date", "org_code")),)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns))


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
