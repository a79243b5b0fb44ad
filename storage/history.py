"""A record's history (修改记录), read from the audit log, as people read it.

The repository writes an audit row for every write (issue 2: "who changed which field from
what to what"): one row with field ``*`` for a new record, one per changed field for an edit,
one ``deleted`` row for a delete or a restore.  Changes applied from a sync keep the author and
the time of the edit on the other PC.  Here they are grouped by change in the order they took
effect here (not by their clocks: a PC's clock may be wrong, and a change made earlier elsewhere
may arrive after a later local one).  Each field shows its Chinese label and its values as
lists and forms show them (ID numbers and phones masked, 是/否, 350 not 350.0); a link to
another record shows that record's name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from storage.models import AuditLog, table_for
from storage.schema import Field, RecordType, record_type
from storage.validation import display_text, stored_value

OP_CREATE, OP_EDIT, OP_DELETE, OP_RESTORE = "新建", "修改", "删除", "恢复"
_DELETED = Field("deleted", "已删除", "bool")  # the tombstone flag's audit rows


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    """One write of the record: when (UTC), who, what kind, and the fields it changed."""

    at: dt.datetime
    actor: str
    action: str
    changes: list[FieldChange] = field(default_factory=list)

    def local_time(self) -> str:
        """The time on this PC's clock, to the minute (stored in UTC)."""
        return self.at.astimezone().strftime("%Y-%m-%d %H:%M")


def record_history(engine_or_conn: Engine | Connection, type_name: str, record_id: str) -> list[HistoryEntry]:
    """Every write of one record in the order it took effect here; [] for a record with no audit rows."""
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            return record_history(conn, type_name, record_id)
    conn = engine_or_conn
    rt = record_type(type_name)
    t = AuditLog.__table__
    rows = conn.execute(select(t.c.change_id, t.c.field, t.c.old_value, t.c.new_value, t.c.actor, t.c.at)
                        .where(t.c.record_id == record_id, t.c.record_type == type_name)
                        .order_by(t.c.id)).all()
    names = _ref_names(conn, rt, rows)
    entries: list[HistoryEntry] = []
    by_change: dict[str, HistoryEntry] = {}
    for row in rows:
        entry = by_change.get(row.change_id)
        if entry is None:
            entry = by_change[row.change_id] = HistoryEntry(row.at, row.actor, OP_EDIT)
            entries.append(entry)
        if row.field == "*":
            entry.action = OP_CREATE
        elif row.field == "deleted":
            # an edit that also deletes or restores (a sync) keeps its field rows beside this
            entry.action = OP_DELETE if stored_value(_DELETED, row.new_value) else OP_RESTORE
        else:
            f = _field_or_none(rt, row.field)
            label = f.label if f is not None else row.field
            entry.changes.append(FieldChange(label, _shown(f, row.old_value, names), _shown(f, row.new_value, names)))
    return entries


def _field_or_none(rt: RecordType, name: str) -> Field | None:
    try:
        return rt.field(name)
    except KeyError:  # a field of an older schema: its name is shown as stored
        return None


def _shown(f: Field | None, text: str | None, names: dict[str, str]) -> str:
    if f is not None and f.type == "ref" and text:
        return names.get(text, "（已不存在的记录）")
    return display_text(f, stored_value(f, text))


def _ref_names(conn: Connection, rt: RecordType, rows) -> dict[str, str]:
    """id -> name of the records that link fields (a volunteer's team) pointed to."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        f = _field_or_none(rt, row.field) if row.field not in ("*", "deleted") else None
        if f is not None and f.type == "ref" and f.ref:
            wanted.setdefault(f.ref, set()).update(v for v in (row.old_value, row.new_value) if v)
    names: dict[str, str] = {}
    for type_name, ids in wanted.items():
        t = table_for(type_name)
        label_col = next((c for c in ("name", "course", "activity") if c in t.c), None)
        if label_col is None:
            continue
        for rid, label in conn.execute(select(t.c.id, t.c[label_col]).where(t.c.id.in_(sorted(ids)))):
            names[rid] = label or ""
    return names


__all__ = ["FieldChange", "HistoryEntry", "OP_CREATE", "OP_DELETE", "OP_EDIT", "OP_RESTORE", "record_history"]
