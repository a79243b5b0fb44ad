"""The one batch executor: prefetch, decide, write, log, flush.

``execute`` takes a batch of proposals (one form save, 5,000 Excel rows, a sync page) inside
the caller's transaction.  It reads the stored rows and the already-logged change ids the
batch touches in a few set-wise queries, asks ``storage.decision.decide`` about each
proposal in turn (a record changed earlier in the batch is seen as it now is), and writes
what is applied: the record row and its change-log row (the record's whole payload after
the write, from which ``storage.history`` derives 修改记录), sent with ``executemany`` when
the batch is flushed.  There is no other write path.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import Connection, Date, DateTime, select

from storage.changes import WriteResult, payload_json, to_json_value
from storage.decision import APPLIED, CONFLICT, REJECTED, Context, Decision, Proposal, decide
from storage.gc_pause import collection_paused
from storage.models import ChangeLog, UTCDateTime, new_id, table_for, utcnow
from storage.schema import RECORD_TYPES, RecordType

# settle(proposal, decision, stored row): a caller's answer to a conflict or rejection, after
# it kept what it needs (the pull keeps the local version as a conflict); True: adopt the change.
Settle = Callable[[Proposal, Decision, "dict | None"], bool]


@dataclass
class Done:
    """What became of one proposal: its decision, and what was written if it was applied."""

    decision: Decision
    result: WriteResult | None = None


def execute(conn: Connection, proposals: Sequence[Proposal], ctx: Context, *, actor: str,
            device_id: str | None, sync_state: str, settle: Settle | None = None) -> list[Done]:
    """Decide and write ``proposals`` in order inside the caller's transaction (flushed at the end)."""
    with collection_paused():
        return _execute(conn, proposals, ctx, actor=actor, device_id=device_id, sync_state=sync_state,
                        settle=settle)


def _execute(conn: Connection, proposals: Sequence[Proposal], ctx: Context, *, actor: str,
             device_id: str | None, sync_state: str, settle: Settle | None) -> list[Done]:
    stored = _stored_rows(conn, proposals)
    known = _known_changes(conn, [p.change_id for p in proposals if p.change_id])
    writer = _Writer(conn, actor, device_id, sync_state)
    done: list[Done] = []
    for p in proposals:
        if p.record_type == "period":
            writer.flush()  # the month workflow's rules read the periods as they are now
        key = (p.record_type, p.record_id)
        old = stored.get(key) if p.record_id else None
        held = known.get(p.change_id) if p.change_id else None
        decision = decide(p, old, held, ctx)
        if decision.kind in (CONFLICT, REJECTED) and settle is not None:
            writer.flush()  # the caller's settling reads and writes see the batch so far
            if settle(p, decision, old):
                p.adopt = True
                decision = decide(p, old, held, ctx)
        if decision.kind != APPLIED:
            done.append(Done(decision))
            continue
        result, row = writer.add(RECORD_TYPES[p.record_type], p, decision, old)
        p.record_id = result.record_id
        stored[(p.record_type, result.record_id)] = row
        if p.change_id:
            known[p.change_id] = (p.record_id, result.version, json.loads(json.dumps(
                p.values, ensure_ascii=False, default=to_json_value)))
        done.append(Done(decision, result))
        if p.record_type == "period":
            writer.flush()
    writer.flush()
    return done


class _Writer:
    """Rows of one batch, sent with ``executemany`` per table on ``flush``."""

    def __init__(self, conn: Connection, actor: str, device_id: str | None, sync_state: str):
        self.conn = conn
        self.tables = _tables(conn.dialect)
        self.actor, self.device_id, self.sync_state = actor, device_id, sync_state
        self.now = utcnow()
        self.inserts: dict[str, list[tuple]] = {}
        self.updates: dict[str, list[tuple]] = {}
        self.changes: list[tuple] = []

    def add(self, rt: RecordType, p: Proposal, decision: Decision, old: dict | None) -> tuple[WriteResult, dict]:
        """Stage the record's row and its change; returns the result and the row as written."""
        new, op = decision.values, decision.op
        at = dt.datetime.fromisoformat(p.at) if p.at else self.now
        actor = p.actor or self.actor
        device_id = p.device_id or self.device_id
        base_version = old["version"] if old else 0
        version = p.version if p.version is not None else base_version + 1
        record_id = p.record_id or new_id()
        change_id = p.change_id or new_id()
        row = dict(new, id=record_id, version=version, created_at=old["created_at"] if old else at,
                   updated_at=at, updated_by=actor)
        table = self.tables.records[rt.name]
        if old is None:
            self.inserts.setdefault(rt.name, []).append(table.insert_row(row))
        else:
            self.updates.setdefault(rt.name, []).append(table.update_row(row))
        self.changes.append(self.tables.change.insert_row({
            "change_id": change_id, "record_type": rt.name, "record_id": record_id, "org_code": new["org_code"],
            "op": op, "base_version": base_version, "version": version,
            "payload": payload_json(new), "actor": actor, "device_id": device_id, "at": at,
            "sync_state": self.sync_state, "batch_id": None}))
        return WriteResult(record_id, change_id, version), row

    def flush(self) -> None:
        cur = self.conn.connection.cursor()  # the pooled DB-API connection, inside the caller's transaction
        try:
            for name, rows in self.inserts.items():
                cur.executemany(self.tables.records[name].insert_sql, rows)
            for name, rows in self.updates.items():
                cur.executemany(self.tables.records[name].update_sql, rows)
            if self.changes:
                cur.executemany(self.tables.change.insert_sql, self.changes)
        finally:
            cur.close()
        self.inserts, self.updates, self.changes = {}, {}, []


# --------------------------------------------------------------------------- statements


class _Table:
    """One table's INSERT and UPDATE statements for the DB-API, and its rows as parameter lists.

    A row is given as a dict holding every column of the statement; the values are converted by
    SQLAlchemy's own bind processors of the columns that have one (dates, timestamps, JSON lists,
    booleans), the rest go to the DB-API as they are.
    """

    def __init__(self, table, dialect, skip: str | None = None):
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        columns = [c for c in table.columns if c.name != skip]
        self.insert_sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
                           f"VALUES ({', '.join([mark] * len(columns))})")
        keys = [c for c in columns if c.primary_key]
        rest = [c for c in columns if not c.primary_key]
        self.update_sql = (f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(c.name)} = {mark}' for c in rest)} "
                           f"WHERE {' AND '.join(f'{quote(c.name)} = {mark}' for c in keys)}")
        self.insert_row = _RowBuilder(columns, dialect)
        self.update_row = _RowBuilder(rest + keys, dialect)


class _RowBuilder:
    """``values -> [value of each column, converted]`` for one statement's column order."""

    def __init__(self, columns: list, dialect):
        self.names = [c.name for c in columns]
        self.pick = itemgetter(*self.names)
        self.convert = [(i, _converter(c.type, dialect)) for i, c in enumerate(columns)
                        if c.type._cached_bind_processor(dialect) is not None]

    def __call__(self, values: dict) -> list:
        row = list(self.pick(values))
        for i, convert in self.convert:
            value = row[i]
            if value is not None:
                row[i] = convert(value)
        return row


def _converter(col_type, dialect) -> Callable[[Any], Any]:
    """The column's bind processor; for dates and timestamps remembered per value, since a batch
    writes one ``now`` (or a PC's one edit time) thousands of times, and a month's records share
    a few dozen dates."""
    process = col_type._cached_bind_processor(dialect)
    if not isinstance(col_type, (Date, DateTime, UTCDateTime)):
        return process
    return lru_cache(maxsize=4096)(process)


class _Tables:
    def __init__(self, dialect):
        self.records = {name: _Table(table_for(name), dialect) for name in RECORD_TYPES}
        self.change = _Table(ChangeLog.__table__, dialect, skip="seq")


_held: dict[str, _Tables] = {}


def _tables(dialect) -> _Tables:
    held = _held.get(dialect.name)
    if held is None or held.records.keys() != RECORD_TYPES.keys():  # a record type declared since (a test's)
        held = _held[dialect.name] = _Tables(dialect)
    return held


# --------------------------------------------------------------------------- prefetch


def _in_chunks(conn: Connection, sql: str, ids: list, size: int = 500) -> Iterator[tuple]:
    """Rows of ``sql`` (one ``IN ({marks})``) for ``ids`` in chunks, on the raw DB-API cursor
    (plain columns only: no type processing)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    cur = conn.connection.cursor()
    try:
        for i in range(0, len(ids), size):
            part = ids[i:i + size]
            cur.execute(sql.format(marks=", ".join([mark] * len(part))), part)
            yield from cur.fetchall()
    finally:
        cur.close()


def _known_changes(conn: Connection, change_ids: list[str]) -> dict[str, tuple]:
    """change id -> (record id, version, payload) of those already in the change log."""
    if not change_ids:
        return {}
    sql = "SELECT change_id, record_id, version, payload FROM change_log WHERE change_id IN ({marks})"
    return {row[0]: (row[1], row[2], json.loads(row[3]))
            for row in _in_chunks(conn, sql, list(dict.fromkeys(change_ids)))}


def _stored_rows(conn: Connection, proposals: Sequence[Proposal]) -> dict[tuple[str, str], dict]:
    """(type, record id) -> the stored row of every record the batch names that exists here.

    Which ids exist is asked on the raw cursor; only those rows are read through SQLAlchemy
    (dates, booleans and timestamps as Python values): a batch of new records reads no row.
    """
    wanted: dict[str, list[str]] = {}
    for p in proposals:
        if p.record_id and p.record_type in RECORD_TYPES:
            wanted.setdefault(p.record_type, []).append(p.record_id)
    stored: dict[tuple[str, str], dict] = {}
    quote = conn.dialect.identifier_preparer.quote
    for type_name, ids in wanted.items():
        table = table_for(type_name)
        sql = f"SELECT id FROM {quote(table.name)} WHERE id IN ({{marks}})"
        found = [row[0] for row in _in_chunks(conn, sql, list(dict.fromkeys(ids)))]
        for i in range(0, len(found), 500):
            for row in conn.execute(select(table).where(table.c.id.in_(found[i:i + 500]))).mappings():
                stored[(type_name, row["id"])] = dict(row)
    return stored
