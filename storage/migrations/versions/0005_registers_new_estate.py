"""服务设施 gains 位于新建居住区 (new estate).

The 社区养老服务设施 standard differs by estate: 沈阳 专栏4-5 “新建居住区每百户……不低于35平方米、
已建成居住区每百户……不低于25平方米” (商丘: 30/20).  Until now every facility was judged by the
existing-estate figure.  Empty means not a new estate, as before.

Frozen here, not derived from the models: a migration keeps meaning what it meant.

Revision ID: 0005_registers
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_registers"
down_revision = "0004"
branch_labels = None
depends_on = None


# (table, column); tests/fixtures/make_release_fixture.py reads it to build older schemas
COLUMNS = (("facility", "new_estate"),)


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.Boolean(), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
