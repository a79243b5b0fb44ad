"""Conflicts say where the other version came from: sync (NULL) or an Excel import ("import").

An older exported workbook imported after the record changed is kept as a conflict
instead of overwriting the newer value; the conflict lists and ``taizhang conflicts``
name the two versions by their origin (表格中的版本 / 当前保存的版本).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# (table, column, type); tests/fixtures/make_release_fixture.py reads COLUMNS to build older schemas
COLUMNS = (("conflict", "origin", sa.String(20)),)


def upgrade() -> None:
    for table, column, type_ in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, type_, nullable=True))


def downgrade() -> None:
    for table, column, _type in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
