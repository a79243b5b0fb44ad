"""Refused sync changes move from one settings value to their own table.

Release 0.1.0 kept the changes the county server refused as a JSON list in the
``setting`` row ``sync.rejections``, capped at the last 500 and rewritten whole
for every refusal: a batch of 4,000 refused changes rewrote ~250 KB 4,000 times,
and the oldest refusals fell off the list.  Each refusal is now a row, kept
until the user dismisses it.  The old list is moved over, then removed.

Frozen here, not derived from the models: a migration keeps meaning what it meant.

Revision ID: 0004
Revises: 0003
"""

import datetime as dt
import json
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_SETTING = "sync.rejections"
TABLES = ("sync_rejection",)  # tests/fixtures/make_release_fixture.py drops these to rebuild older schemas


def _utc_naive(text: str | None) -> dt.datetime:
    """The stored form of the app's UTC timestamps (naive UTC), from an ISO string."""
    try:
        value = dt.datetime.fromisoformat(text or "")
    except ValueError:
        value = dt.datetime.now(dt.timezone.utc)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def upgrade() -> None:
    table = op.create_table(
        "sync_rejection",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("record_type", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("org_code", sa.String(12), nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sync_rejection"),
    )
    op.create_index("ix_sync_rejection_record_id", "sync_rejection", ["record_id"])
    conn = op.get_bind()
    setting = sa.table("setting", sa.column("key", sa.String), sa.column("value", sa.Text))
    old = conn.execute(sa.select(setting.c.value).where(setting.c.key == OLD_SETTING)).scalar()
    if old:
        try:
            entries = json.loads(old)
        except ValueError:
            entries = []
        rows = [{"id": str(uuid.uuid4()), "change_id": str(e.get("change_id") or ""),
                 "record_type": str(e.get("record_type") or ""), "record_id": str(e.get("record_id") or ""),
                 "org_code": str(e.get("org_code") or ""), "op": str(e.get("op") or ""),
                 "reason": str(e.get("reason") or ""),
                 "payload": json.dumps(e.get("payload") or {}, ensure_ascii=False),
                 "at": _utc_naive(e.get("at")), "dismissed_at": None}
                for e in entries if isinstance(e, dict)]
        if rows:
            op.bulk_insert(table, rows)
        conn.execute(setting.delete().where(setting.c.key == OLD_SETTING))


def downgrade() -> None:
    op.drop_index("ix_sync_rejection_record_id", table_name="sync_rejection")
    op.drop_table("sync_rejection")
