"""One history: the audit table is dropped; 修改记录 is derived from the change log.

The change log has held every write of every record, with the record's whole payload after
it, in the same transaction as the write, since release 0.1.0 (the one write path wrote the
two together).  ``storage.history`` reads a record's 修改记录 as the differences between its
consecutive change-log payloads, so an old database's history stays readable from the
change log alone: its audit rows said the same thing a second time.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def audit_log_table(metadata: sa.MetaData) -> sa.Table:
    """The dropped table as releases up to 0008 had it (the downgrade and the release fixtures build it)."""
    return sa.Table(
        "audit_log", metadata,
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("change_id", sa.String(36), nullable=False, index=True),
        sa.Column("record_type", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False, index=True),
        sa.Column("field", sa.String(60), nullable=False),
        sa.Column("old_value", sa.Text),
        sa.Column("new_value", sa.Text),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )


# tests/fixtures/make_release_fixture.py builds these back for schemas older than this revision
DROPPED_TABLES = (audit_log_table,)


def upgrade() -> None:
    op.drop_index("ix_audit_log_change_id", table_name="audit_log")
    op.drop_index("ix_audit_log_record_id", table_name="audit_log")
    op.drop_table("audit_log")


def downgrade() -> None:
    audit_log_table(sa.MetaData()).create(op.get_bind())
