"""The registers the rules require (volunteers per 民政部令第67号, 特殊困难老年人, new estates).

- 服务设施 gains 位于新建居住区: 沈阳 专栏4-5 “新建居住区每百户……不低于35平方米、已建成居住区每百户……
  不低于25平方米” (商丘: 30/20); empty means an existing estate, as every facility was judged before.
- 志愿者 gains the fields of 第五条 it lacked (出生日期, 居住区域, 服务类别) and the volunteer's consent to
  recording and reporting (date, how); 服务时长 gains those of 第七条 (地点, 服务内容, 组织单位, 负责人)
  and 第十条's 评价.  Existing volunteers and hours keep every value; the new fields start empty.
- 志愿者培训表彰 (第八条 training, 第九条 awards, 第十条 evaluation): a new child table of 志愿者.
- 特殊困难老年人 (吉林 专栏2-2, 商丘 专栏2-2 月探访率): a new register; 服务记录 gains 探访对象.

Frozen here, not derived from the models: a migration keeps meaning what it meant.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (table, column, type); tests/fixtures/make_release_fixture.py reads COLUMNS and TABLES to build older schemas
COLUMNS = (
    ("facility", "new_estate", sa.Boolean()),
    ("volunteer", "birth_date", sa.Date()),
    ("volunteer", "residence", sa.Text()),
    ("volunteer", "service_types", sa.JSON()),
    ("volunteer", "consent_on", sa.Date()),
    ("volunteer", "consent_method", sa.String(50)),
    ("volunteer_hours", "place", sa.Text()),
    ("volunteer_hours", "content", sa.Text()),
    ("volunteer_hours", "organizer", sa.Text()),
    ("volunteer_hours", "person_in_charge", sa.Text()),
    ("volunteer_hours", "evaluation", sa.String(50)),
    ("service", "visited_id", sa.String(36)),
)
TABLES = ("volunteer_event", "elderly_person")


def _record_columns() -> list:
    """The columns every record table carries (storage.models.RecordBase) and its org code."""
    return [sa.Column("org_code", sa.String(12), nullable=True),
            sa.Column("id", sa.String(36), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.Column("updated_by", sa.String(100), nullable=False),
            sa.Column("deleted", sa.Boolean(), nullable=False)]


def upgrade() -> None:
    for table, column, type_ in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, type_, nullable=True))
    op.create_table(
        "volunteer_event", *_record_columns(),
        sa.Column("volunteer_id", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(50), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("issuer", sa.Text(), nullable=True),
        sa.Column("evaluation", sa.String(50), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_volunteer_event"),
    )
    op.create_index("ix_volunteer_event_org_deleted", "volunteer_event", ["org_code", "deleted"])
    op.create_index("ix_volunteer_event_date", "volunteer_event", ["date"])
    op.create_index("ix_volunteer_event_volunteer_id", "volunteer_event", ["volunteer_id"])
    op.create_table(
        "elderly_person", *_record_columns(),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("gender", sa.String(50), nullable=True),
        sa.Column("id_number", sa.String(18), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("difficulties", sa.JSON(), nullable=True),
        sa.Column("guardian", sa.Text(), nullable=True),
        sa.Column("added_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(50), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("left_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_elderly_person"),
    )
    op.create_index("ix_elderly_person_org_deleted", "elderly_person", ["org_code", "deleted"])
    op.create_index("ix_elderly_person_name", "elderly_person", ["name"])
    op.create_index("ix_elderly_person_id_number", "elderly_person", ["id_number"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    for table, column, _type in reversed(COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
