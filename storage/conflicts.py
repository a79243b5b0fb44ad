"""Both versions of a record, kept until a person chooses (the ``conflict`` table).

A conflict arises when a change was made against an older version of a record than the
one stored: a sync change whose base version is stale, or an exported Excel row whose
hidden 记录版本 is older than the record now.  Nothing is overwritten; the other version
waits here with the stored one beside it.  ``local_payload`` is the version that was *not*
applied (this PC's edit in sync, the workbook's row for an import), ``server_payload`` the
one the record holds or the server has.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from storage.models import Conflict, new_id, utcnow
from storage.schema import RECORD_TYPES

ORIGIN_IMPORT = "import"


def keep_both(conn: Connection, *, record_type: str, record_id: str, org_code: str, change_id: str,
              other: dict, current: dict | None, current_version: int | None,
              origin: str | None = None) -> str:
    """Record (or refresh) the open conflict of a record; returns its id.

    One open conflict per record: a second stale version of the same record replaces the
    first one's content, so the list never shows the same record twice.
    """
    t = Conflict.__table__
    values = dict(local_payload=json.dumps(other, ensure_ascii=False),
                  server_payload=json.dumps(current, ensure_ascii=False) if current is not None else None,
                  server_version=current_version, origin=origin)
    open_id = conn.execute(select(t.c.id).where(t.c.record_id == record_id, t.c.resolved_at.is_(None))).scalar()
    if open_id:
        conn.execute(t.update().where(t.c.id == open_id).values(**values))
        return open_id
    conflict_id = new_id()
    conn.execute(t.insert().values(id=conflict_id, record_type=record_type, record_id=record_id, org_code=org_code,
                                   change_id=change_id, created_at=utcnow(), **values))
    return conflict_id


def version_labels(origin: str | None) -> tuple[str, str]:
    """How the two versions are named to the user: (the one not applied, the one stored)."""
    if origin == ORIGIN_IMPORT:
        return "导入表格中的版本", "当前保存的版本"
    return "本机的版本", "服务器的版本"


def open_conflicts(repo) -> list[dict]:
    """Unresolved conflicts, oldest first, each with both payloads decoded (``local``, ``server``)."""
    t = Conflict.__table__
    with repo.engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.resolved_at.is_(None)).order_by(t.c.created_at)).mappings().all()
    out = []
    for r in rows:
        d = dict(r)
        d["local"] = json.loads(d["local_payload"])
        d["server"] = json.loads(d["server_payload"]) if d["server_payload"] else None
        d["label"] = RECORD_TYPES[d["record_type"]].label if d["record_type"] in RECORD_TYPES else d["record_type"]
        out.append(d)
    return out


def choose(repo, conflict_id: str, keep: str) -> dict | None:
    """Settle a conflict: 'server' keeps the stored version, 'local' writes the other one as a new version.

    Returns the conflict row, or None when it was resolved already.  The write goes through the
    repository like any edit, so it enters the change log and syncs.
    """
    from storage.repository import values_from_payload

    if keep not in ("server", "local"):
        raise ValueError(keep)
    t = Conflict.__table__
    with repo.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == conflict_id)).mappings().first()
    if row is None or row["resolved_at"] is not None:
        return None
    rt = RECORD_TYPES[row["record_type"]]
    if keep == "local":
        mine = json.loads(row["local_payload"])
        current = repo.get(rt.name, row["record_id"], include_deleted=True)
        if current is None:
            repo.create(rt.name, values_from_payload(rt, mine), record_id=row["record_id"])
        elif mine.get("deleted"):
            if not current["deleted"]:
                repo.delete(rt.name, row["record_id"])
        else:
            if current["deleted"]:
                repo.restore(rt.name, row["record_id"])
                current = repo.get(rt.name, row["record_id"])
            repo.update(rt.name, row["record_id"], values_from_payload(rt, mine), expected_version=current["version"])
    with repo.engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == conflict_id).values(resolved_at=utcnow(), resolution=keep))
    return dict(row)
