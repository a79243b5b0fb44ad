"""A record's history (修改记录), derived from its change log, as people read it.

The change log holds every write of a record with the record's whole payload after it (the
same rows sync carries).  A write's history entry is the difference between its payload and
the one before it: a new record, the fields an edit changed, a delete or a restore.  Changes
applied from a sync keep the author and the time of the edit on the other PC.  Entries come in
the order the writes took effect here (the log's sequence, not their clocks: a PC's clock may
be wrong, and a change made earlier elsewhere may arrive after a later local one).  Each field
shows its Chinese label and its values as lists and forms show them (ID numbers and phones
masked, 是/否, 350 not 350.0); a link to another record shows that record's name.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from storage.models import ChangeLog, table_for
from storage.schema import Field, RecordType, record_type
from storage.validation import display_text, stored_value

OP_CREATE, OP_EDIT, OP_DELETE, OP_RESTORE = "新建", "修改", "删除", "恢复"


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
    """Every write of one record in the order it took effect here; [] for a record never written here."""
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            return record_history(conn, type_name, record_id)
    conn = engine_or_conn
    rt = record_type(type_name)
    t = ChangeLog.__table__
    rows = conn.execute(select(t.c.op, t.c.payload, t.c.actor, t.c.at)
                        .where(t.c.record_id == record_id, t.c.record_type == type_name)
                        .order_by(t.c.seq)).all()
    payloads = [json.loads(row.payload) for row in rows]
    names = _ref_names(conn, rt, payloads)
    entries: list[HistoryEntry] = []
    before: dict | None = None
    for row, after in zip(rows, payloads):
        entry = HistoryEntry(row.at, row.actor, OP_EDIT)
        entries.append(entry)
        if before is None:
            if row.op == "insert":
                entry.action = OP_CREATE
            before = after
            continue
        if bool(before.get("deleted")) != bool(after.get("deleted")):
            entry.action = OP_DELETE if after.get("deleted") else OP_RESTORE
        for f in rt.fields:
            was, now = before.get(f.name), after.get(f.name)
            if _blank(was) and _blank(now) or was == now:
                continue  # a field an older release did not know is absent, not changed
            entry.changes.append(FieldChange(f.label, _shown(f, was, names), _shown(f, now, names)))
        before = after
    return entries


def _blank(value) -> bool:
    return value is None or value == "" or value == []


def _shown(f: Field, value, names: dict[str, str]) -> str:
    """A payload value (JSON: dates as ISO text) as lists and forms show it."""
    if f.type == "ref" and value:
        return names.get(value, "（已不存在的记录）")
    if f.type == "date" and isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            pass
    return display_text(f, stored_value(f, value))


def _ref_names(conn: Connection, rt: RecordType, payloads: list[dict]) -> dict[str, str]:
    """id -> name of the records that link fields (a volunteer's team) pointed to."""
    wanted: dict[str, set[str]] = {}
    for f in rt.fields:
        if f.type == "ref" and f.ref:
            wanted.setdefault(f.ref, set()).update(p[f.name] for p in payloads if p.get(f.name))
    names: dict[str, str] = {}
    for type_name, ids in wanted.items():
        if not ids:
            continue
        t = table_for(type_name)
        label_col = next((c for c in ("name", "course", "activity") if c in t.c), None)
        if label_col is None:
            continue
        for rid, label in conn.execute(select(t.c.id, t.c[label_col]).where(t.c.id.in_(sorted(ids)))):
            names[rid] = label or ""
    return names


__all__ = ["FieldChange", "HistoryEntry", "OP_CREATE", "OP_DELETE", "OP_EDIT", "OP_RESTORE", "record_history"]
