"""Drafts: unsaved forms kept in the local database so a crash or power cut loses nothing.

A draft is local UI state, not a record: it is written straight to the
``draft`` table and deliberately does NOT go through ``Repository`` — it has
no change-log row, no audit row, is never synced and never appears in reports.
Only when the user saves the form does the data become a record (through the
repository, with change log and audit as usual); the draft is then discarded.

Each save is its own short transaction; the database runs WAL with
``synchronous=FULL`` (storage.db), so a draft that was saved survives SIGKILL
and power loss.  The stored JSON holds the raw form inputs (exactly what the
user typed, before coercion) plus the form's context (owner org, parent id,
the version the edit started from, pending child rows).  Drafts may contain
personal information (ID numbers, phones) just like the records table does;
nothing here logs values.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storage.models import Draft, new_id, utcnow
from storage.schema import RECORD_TYPES


@dataclass
class DraftData:
    """One unsaved form."""

    id: str
    record_type: str
    record_id: str | None  # None: a new record; else the record being edited
    values: dict[str, Any]  # raw form inputs by field name (JSON-safe)
    context: dict[str, Any] = field(default_factory=dict)  # org_code, parent_id, base_version, children
    saved_at: dt.datetime | None = None

    @property
    def type_label(self) -> str:
        rt = RECORD_TYPES.get(self.record_type)
        return rt.label if rt else self.record_type

    @property
    def type_noun(self) -> str:
        """For "这份草稿修改的…已被删除": 服务设施记录, 服务记录."""
        rt = RECORD_TYPES.get(self.record_type)
        return rt.record_noun if rt else self.record_type

    def summary(self) -> str:
        """A short Chinese description for the recovery list (no personal information)."""
        rt = RECORD_TYPES.get(self.record_type)
        what = "修改" if self.record_id else "新建"
        parts = [f"{self.type_label}（{what}）"]
        if rt is not None:
            for f in rt.fields:
                if f.type in ("text", "date", "choice") and not f.pii and f.in_form:
                    value = self.values.get(f.name)
                    if value not in (None, "", []):
                        parts.append(f"{f.label}：{str(value)[:30]}")
                        break
        filled = sum(1 for v in self.values.values() if v not in (None, "", []))
        parts.append(f"已填{filled}项")
        if self.saved_at is not None:
            local = self.saved_at.astimezone()
            parts.append(f"自动保存于 {local:%Y-%m-%d %H:%M}")
        return " · ".join(parts)


class DraftStore:
    """Save / load / list / discard drafts in the local ``draft`` table."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def save(self, record_type: str, values: dict[str, Any], *, draft_id: str | None = None,
             record_id: str | None = None, context: dict[str, Any] | None = None,
             busy_timeout_ms: int | None = None) -> str:
        """Insert or replace a draft; returns its id.  ``values`` must be JSON-serialisable.

        ``busy_timeout_ms``: wait at most this long for SQLite's write lock (the
        UI thread autosaves and must not freeze while an import holds the lock;
        ``sqlalchemy.exc.OperationalError`` is raised and the caller retries later).
        """
        draft_id = draft_id or new_id()
        payload = json.dumps({"values": values, "context": context or {}}, ensure_ascii=False,
                             default=_json_default)
        table = Draft.__table__
        with self.engine.connect() as conn:
            short = busy_timeout_ms is not None and conn.dialect.name == "sqlite"
            if short:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
                conn.commit()  # end the transaction SQLAlchemy 2 auto-began, so begin() below works
            try:
                with conn.begin():
                    conn.execute(table.delete().where(table.c.id == draft_id))
                    conn.execute(table.insert().values(id=draft_id, record_type=record_type, record_id=record_id,
                                                       values=payload, saved_at=utcnow()))
            finally:
                if short:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={_DEFAULT_BUSY_MS}")
        return draft_id

    def load(self, draft_id: str) -> DraftData | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(Draft.__table__).where(Draft.__table__.c.id == draft_id)).mappings().first()
        return _from_row(row) if row else None

    def list(self, record_type: str | None = None) -> list[DraftData]:
        """Drafts, newest first."""
        table = Draft.__table__
        stmt = select(table).order_by(table.c.saved_at.desc())
        if record_type:
            stmt = stmt.where(table.c.record_type == record_type)
        with self.engine.connect() as conn:
            return [_from_row(r) for r in conn.execute(stmt).mappings()]

    def for_record(self, record_type: str, record_id: str) -> DraftData | None:
        """The newest draft of an edit of this record, if any."""
        table = Draft.__table__
        stmt = (select(table).where(table.c.record_type == record_type, table.c.record_id == record_id)
                .order_by(table.c.saved_at.desc()))
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        return _from_row(row) if row else None

    def discard(self, draft_id: str) -> bool:
        table = Draft.__table__
        with self.engine.begin() as conn:
            return conn.execute(table.delete().where(table.c.id == draft_id)).rowcount > 0

    def count(self) -> int:
        return len(self.list())


_DEFAULT_BUSY_MS = 10000  # storage.db sets this on every connection


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _from_row(row) -> DraftData:
    try:
        data = json.loads(row["values"])
    except (TypeError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    if "values" in data and isinstance(data.get("values"), dict):
        values, context = data["values"], data.get("context") or {}
    else:  # a plain dict of inputs
        values, context = data, {}
    return DraftData(id=row["id"], record_type=row["record_type"], record_id=row["record_id"],
                     values=values, context=context, saved_at=row["saved_at"])


__all__ = ["DraftStore", "DraftData"]
