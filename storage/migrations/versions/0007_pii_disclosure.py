"""The disclosure table: every full export of personal information and every ID number shown in
full on screen (storage.disclosure), a synced record type like the others.

Frozen here, not derived from the models: a migration keeps meaning what it meant.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("disclosure",)


def upgrade() -> None:
    op.create_table(
        "disclosure",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("org_code", sa.String(12), nullable=True, comment="区划代码"),
        sa.Column("at", sa.Text(), nullable=True, comment="时间"),
        sa.Column("actor", sa.Text(), nullable=True, comment="操作人"),
        sa.Column("action", sa.Text(), nullable=True, comment="方式"),
        sa.Column("record_types", sa.Text(), nullable=True, comment="记录类型"),
        sa.Column("row_count", sa.Integer(), nullable=True, comment="条数"),
        sa.Column("purpose", sa.Text(), nullable=True, comment="用途"),
        sa.Column("file_name", sa.Text(), nullable=True, comment="文件"),
        sa.PrimaryKeyConstraint("id", name="pk_disclosure"),
    )
    op.create_index("ix_disclosure_org_deleted", "disclosure", ["org_code", "deleted"])


def downgrade() -> None:
    op.drop_index("ix_disclosure_org_deleted", table_name="disclosure")
    op.drop_table("disclosure")
