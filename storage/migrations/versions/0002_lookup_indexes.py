"""Indexes for lookups by identity: names, ID numbers, credit codes.

Excel import and sync match an incoming person to the ledger by 公民身份号码,
an organisation by 统一社会信用代码, and resolve references typed as names
(a volunteer's 所属志愿服务队, a training's 社区工作者).  Release 0.1.0 had no
index on these columns, so each lookup scanned the table.

The list is frozen here (not derived from the current models): a migration
must keep meaning what it meant when it shipped.  tests/fixtures/
make_release_fixture.py imports ``INDEXES`` to build the 0.1.0 schema.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (index name, table, column)
INDEXES = (
    ("ix_org_unit_name", "org_unit", "name"),
    ("ix_facility_name", "facility", "name"),
    ("ix_staff_name", "staff", "name"),
    ("ix_staff_id_number", "staff", "id_number"),
    ("ix_volunteer_team_name", "volunteer_team", "name"),
    ("ix_volunteer_name", "volunteer", "name"),
    ("ix_volunteer_id_number", "volunteer", "id_number"),
    ("ix_social_org_name", "social_org", "name"),
    ("ix_social_org_credit_code", "social_org", "credit_code"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in reversed(INDEXES):
        op.drop_index(name, table_name=table)
