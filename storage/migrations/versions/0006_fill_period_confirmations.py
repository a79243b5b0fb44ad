"""The month's confirmations: which standing registers the clerk confirmed as unchanged.

一表通 carries standing data (facilities, workers, volunteers and teams, social
organisations, the year's base figures) from month to month; each month the clerk
confirms each register ("本月无变化") or edits it.  The confirmations travel with the
month's ``period`` record (synced to the township and county) as a JSON list of
register names, the values of the choice list ``standing_type``.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# (table, column, type); tests/fixtures/make_release_fixture.py reads COLUMNS to build older schemas
COLUMNS = (("period", "confirmed", sa.JSON()),)


def upgrade() -> None:
    for table, column, type_ in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, type_, nullable=True))


def downgrade() -> None:
    for table, column, _type in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
