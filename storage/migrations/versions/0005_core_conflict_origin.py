"""Conflicts say where the other version came from: sync (NULL) or an Excel import ("import").

An older exported workbook imported after the record changed is kept as a conflict
instead of overwriting the newer value; the conflict lists and ``taizhang conflicts``
name the two versions by their origin (表格中的版本 / 当前保存的版本).

Revision ID: 0005_core
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_core"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (("conflict", "origin"),)  # tests/fixtures/make_release_fixture.py drops these to rebuild older schemas


def upgrade() -> None:
    with op.batch_alter_table("conflict") as batch:
        batch.add_column(sa.Column("origin", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conflict") as batch:
        batch.drop_column("origin")
