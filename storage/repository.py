"""The one write path.

Every insert, update, delete and restore of a record goes through
``Repository``: it validates against the field schema, writes the record,
appends a change-log (outbox) row and audit rows in the same transaction.
There is no second write path: Excel import, the desktop forms, the demo
generator and the county server applying sync batches all call this module.

Two speeds share one implementation (``_WriteBatch``):
- ``create``/``update``/``delete``/``restore``: one record, one transaction.
- ``bulk_write``: many records in one transaction via the DB-API's
  ``executemany`` on prepared tuples — the ORM is right for one interactive
  save and wrong for 100,000 rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import Boolean, Connection, Date, DateTime, TypeDecorator, select, text
from sqlalchemy.engine import Engine

from storage.choices import DEFAULT_CHOICES
from storage.models import (BASE_COLUMNS, ORG_NAMESPACE, AuditLog, ChangeLog, ChoiceList, Setting, new_id,
                            table_for, utcnow)
from storage.schema import RECORD_TYPES, RecordType, record_type
from storage.validation import Issue, ValidationError, check_record, coerce_record

OPS = ("insert", "update", "delete", "restore")


class WriteRefused(RuntimeError):
    """A write the rules forbid (locked period, unknown record, stale version); Chinese message."""


# --------------------------------------------------------------------------- payloads


def to_json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def payload_of(rt: RecordType, values: dict) -> dict:
    """JSON-safe field values of a record (what the change log and sync carry)."""
    return {f.name: to_json_value(values.get(f.name)) for f in rt.fields}


def values_from_payload(rt: RecordType, payload: dict) -> dict:
    """A change's payload as field values: ISO date strings become dates.

    Any other date text is left as it is: validation parses the other spellings (2024/3/5) or
    says what is wrong, and an unvalidated write refuses it (``unreadable_date``).  Raising here
    would stop a whole sync page on one odd value, every time it is retried.
    """
    values = {}
    for f in rt.fields:
        v = payload.get(f.name)
        if v is not None and f.type == "date" and isinstance(v, str):
            try:
                v = dt.date.fromisoformat(v)
            except ValueError:
                pass
        values[f.name] = v
    return values


def unreadable_date(rt: RecordType, values: dict) -> str | None:
    """The Chinese refusal for a date field still holding text, or None (for writes that skip validation)."""
    for f in rt.fields:
        v = values.get(f.name)
        if f.type == "date" and isinstance(v, str):
            return f"{rt.label}：{f.label}“{v}”不是有效日期（应为 2024-03-05 这样的格式），这条变更没有写入"
    return None


def org_unit_id(code: str) -> str:
    """Org units have a deterministic id so that every PC and the server agree."""
    return str(uuid.uuid5(ORG_NAMESPACE, f"org:{code}"))


@dataclass
class Change:
    """A change as stored in the change log and carried by sync and packages."""

    change_id: str
    record_type: str
    record_id: str
    org_code: str
    op: str
    base_version: int
    version: int
    payload: dict
    actor: str
    device_id: str | None
    at: str  # ISO-8601 UTC

    def to_dict(self) -> dict:
        return self.__dict__.copy()

    @classmethod
    def from_dict(cls, d: dict) -> "Change":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


@dataclass
class WriteOp:
    """One write for ``bulk_write``: op is insert/update/delete/restore."""

    record_type: str
    op: str
    values: dict = field(default_factory=dict)
    record_id: str | None = None


@dataclass
class WriteResult:
    record_id: str
    change_id: str
    version: int


# --------------------------------------------------------------------------- low-level table writer


class _TableWriter:
    """Prepared INSERT/UPDATE statements and value converters for one table (DB-API level)."""

    def __init__(self, table, dialect):
        self.table = table
        self.columns = [c.name for c in table.columns]
        self.processors = []
        for c in table.columns:
            proc = c.type._cached_bind_processor(dialect)
            self.processors.append(proc)
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quoted = [dialect.identifier_preparer.quote(c) for c in self.columns]
        tname = dialect.identifier_preparer.quote(table.name)
        self.insert_sql = f"INSERT INTO {tname} ({', '.join(quoted)}) VALUES ({', '.join([mark] * len(quoted))})"
        non_pk = [q for q, c in zip(quoted, table.columns) if not c.primary_key]
        pk = [q for q, c in zip(quoted, table.columns) if c.primary_key]
        self.update_cols = [c.name for c in table.columns if not c.primary_key] + \
                           [c.name for c in table.columns if c.primary_key]
        self.update_sql = (f"UPDATE {tname} SET {', '.join(f'{q} = {mark}' for q in non_pk)} "
                           f"WHERE {' AND '.join(f'{q} = {mark}' for q in pk)}")
        self._index = {name: i for i, name in enumerate(self.columns)}
        self._converters = {c.name: _converter(c.type, proc, dialect.name)
                            for c, proc in zip(table.columns, self.processors)}
        self._rows: dict[tuple, Callable[[dict], tuple]] = {}
        if all(name in self.columns for name in BASE_COLUMNS):  # a record table
            self.record_insert = self.compile_record_row(self.columns)
            self.record_update = self.compile_record_row(self.update_cols)
            self.payload = _compile_payload(RECORD_TYPES[table.name])
            self.payload_json = _compile_payload_json(RECORD_TYPES[table.name])

    def row(self, values: dict, order: Sequence[str] | None = None) -> tuple:
        """The DB-API parameter tuple for ``values`` (missing keys are NULL) in ``order``."""
        key = tuple(order) if order else tuple(self.columns)
        build = self._rows.get(key)
        if build is None:
            build = self._rows[key] = self.compile_row(key)
        return build(values)

    def compile_record_row(self, order: Sequence[str]) -> Callable[[dict, tuple], tuple]:
        """``(field values, (id, version, created_at, updated_at, updated_by, deleted)) -> tuple``.

        The record's own columns come from the base tuple, so the bulk path
        never copies the values dict to add them.
        """
        namespace: dict[str, Any] = {}
        parts = []
        for i, name in enumerate(order):
            conv = self._converters[name]
            source = f"base[{BASE_COLUMNS.index(name)}]" if name in BASE_COLUMNS else f"g({name!r})"
            if conv is None:
                parts.append(source)
            else:
                namespace[f"c{i}"] = conv
                parts.append(f"c{i}({source})")
        code = f"def build(values, base):\n    g = values.get\n    return ({', '.join(parts)},)\n"
        exec(compile(code, f"<record row {self.table.name}>", "exec"), namespace)  # noqa: S102
        return namespace["build"]

    def compile_row(self, order: Sequence[str]) -> Callable[[dict], tuple]:
        """A function ``values -> tuple`` for these columns: one expression, no per-column loop.

        Bulk writes build hundreds of thousands of these tuples; a generated
        function is ~3x faster than looping over columns and processors.
        """
        namespace: dict[str, Any] = {}
        parts = []
        for i, name in enumerate(order):
            conv = self._converters[name]
            if conv is None:
                parts.append(f"g({name!r})")
            else:
                namespace[f"c{i}"] = conv
                parts.append(f"c{i}(g({name!r}))")
        source = f"def build(values):\n    g = values.get\n    return ({', '.join(parts)},)\n"
        exec(compile(source, f"<row {self.table.name}>", "exec"), namespace)  # noqa: S102 - generated above
        return namespace["build"]


def _iso(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _compile_payload(rt: RecordType) -> Callable[[dict], dict]:
    """``values -> payload dict`` (``payload_of``'s result) as one generated dict display."""
    parts = []
    for f in rt.fields:
        parts.append(f"{f.name!r}: iso(g({f.name!r}))" if f.type == "date" else f"{f.name!r}: g({f.name!r})")
    namespace: dict[str, Any] = {"iso": _iso}
    code = f"def payload(values):\n    g = values.get\n    return {{{', '.join(parts)}}}\n"
    exec(compile(code, f"<payload {rt.name}>", "exec"), namespace)  # noqa: S102
    return namespace["payload"]


def _json_value(value: Any) -> str:
    """One value as ``_encode_payload`` writes it inside the payload object (same text, faster)."""
    t = type(value)
    if t is str:
        return _encode_str(value)
    if value is None:
        return "null"
    if t is int:
        return int.__repr__(value)
    if t is bool:
        return "true" if value else "false"
    if t is float and math.isfinite(value):
        return float.__repr__(value)
    if t is dt.date:
        return '"' + value.isoformat() + '"'
    return _encode_payload(value)  # lists, datetimes, NaN, subclasses: the encoder itself


def _payload_json_term(f) -> str:
    """The expression encoding field ``f``'s value: the usual type of the field inline, anything else
    (None, a value of another type, NaN) through ``_json_value``, which gives the same text."""
    get = f"(v := g({f.name!r}))"
    if f.type == "date":
        return f"('\"' + v.isoformat() + '\"' if {get}.__class__ is date else enc(v))"
    if f.type in ("int", "year"):
        return f"(irepr(v) if {get}.__class__ is int else enc(v))"
    if f.type == "decimal":
        return f"(frepr(v) if {get}.__class__ is float and isfinite(v) else irepr(v) if v.__class__ is int else enc(v))"
    if f.type == "bool":
        return f"('true' if {get} is True else 'false' if v is False else enc(v))"
    return f"(es(v) if {get}.__class__ is str else 'null' if v is None else enc(v))"


def _compile_payload_json(rt: RecordType) -> Callable[[dict, bool], str]:
    """``(values, deleted) -> str``: exactly ``_encode_payload`` of ``payload`` + ``deleted``.

    The change log stores every record's payload as compact JSON; building the dict and
    running the generic encoder costs ~7 µs a record, one %-format of per-field encodings
    (strings straight to the C string encoder) about half of that
    (tests/test_sync_pipeline.py compares the two on tricky values).
    """
    namespace: dict[str, Any] = {"enc": _json_value, "es": _encode_str, "date": dt.date, "irepr": int.__repr__,
                                 "frepr": float.__repr__, "isfinite": math.isfinite}
    template = "{" + ",".join(_encode_payload(f.name).replace("%", "%%") + ":%s" for f in rt.fields) + \
        ',"deleted":%s}'
    terms = [_payload_json_term(f) for f in rt.fields]
    namespace["template"] = template
    code = ("def payload_json(values, deleted):\n    g = values.get\n"
            f"    return template % ({', '.join(terms)}, 'true' if deleted else 'false')\n")
    exec(compile(code, f"<payload json {rt.name}>", "exec"), namespace)  # noqa: S102 - generated above
    return namespace["payload_json"]


def _converter(col_type, proc, dialect_name: str) -> Callable[[Any], Any] | None:
    """None when the DB-API takes the value as is; otherwise a converter that passes NULL through.

    Dates and timestamps repeat a lot in a batch (one ``now`` per batch), so
    their conversions are memoised.
    """
    if proc is None:
        return None
    if isinstance(col_type, Boolean) and dialect_name == "sqlite":
        return None  # sqlite3 stores True/False as 1/0 itself, exactly what the processor returns
    if isinstance(col_type, (Date, DateTime, TypeDecorator)):
        memo: dict = {}

        def convert(value, proc=proc, memo=memo):
            if value is None:
                return None
            try:
                return memo[value]
            except KeyError:
                if len(memo) > 20_000:
                    memo.clear()
                result = memo[value] = proc(value)
                return result
            except TypeError:  # unhashable: convert directly
                return proc(value)
        return convert

    def convert_plain(value, proc=proc):
        return None if value is None else proc(value)
    return convert_plain


class _Writers:
    def __init__(self, dialect):
        self.dialect = dialect
        self.records = {name: _TableWriter(table_for(name), dialect) for name in RECORD_TYPES}
        self.change = _TableWriter(ChangeLog.__table__, dialect)
        self.audit = _TableWriter(AuditLog.__table__, dialect)
        self.change_cols = [c for c in self.change.columns if c != "seq"]
        self.audit_cols = [c for c in self.audit.columns if c != "id"]
        # _WriteBatch builds these rows as tuples in exactly this order
        assert self.change_cols == list(CHANGE_COLUMNS), self.change_cols
        assert self.audit_cols == list(AUDIT_COLUMNS), self.audit_cols
        self.change_at = self.change._converters["at"] or (lambda v: v)
        self.audit_at = self.audit._converters["at"] or (lambda v: v)
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.change_sql = (f"INSERT INTO change_log ({', '.join(self.change_cols)}) "
                           f"VALUES ({', '.join([mark] * len(self.change_cols))})")
        self.audit_sql = (f"INSERT INTO audit_log ({', '.join(self.audit_cols)}) "
                          f"VALUES ({', '.join([mark] * len(self.audit_cols))})")


CHANGE_COLUMNS = ("change_id", "record_type", "record_id", "org_code", "op", "base_version", "version", "payload",
                  "actor", "device_id", "at", "sync_state", "batch_id")
AUDIT_COLUMNS = ("change_id", "record_type", "record_id", "field", "old_value", "new_value", "actor", "at")

_writers_cache: dict[str, _Writers] = {}


def _writers(dialect) -> _Writers:
    key = dialect.name
    held = _writers_cache.get(key)
    if held is None or held.records.keys() != RECORD_TYPES.keys():  # a record type declared since (a test's)
        held = _writers_cache[key] = _Writers(dialect)
    return held


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every change-log payload (json.dumps builds a new one per call).
_encode_payload = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default).encode
_encode_str = json.encoder.encode_basestring  # what that encoder writes for a str (C version)

def _audit_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(to_json_value(value))


class _WriteBatch:
    """Collects record rows, change-log rows and audit rows; flushes them with executemany."""

    def __init__(self, conn: Connection, actor: str, device_id: str | None, sync_state: str):
        self.conn = conn
        self.w = _writers(conn.dialect)
        self.actor = actor
        self.device_id = device_id
        self.sync_state = sync_state
        self.inserts: dict[str, list[tuple]] = {}
        self.updates: dict[str, list[tuple]] = {}
        self.changes: list[tuple] = []
        self.audits: list[tuple] = []
        self.now = utcnow()
        self.now_iso = self.now.isoformat()

    def add(self, rt: RecordType, op: str, record_id: str, new: dict, old: dict | None,
            change_id: str | None = None, at: dt.datetime | None = None, actor: str | None = None,
            version: int | None = None, device_id: str | None = None) -> WriteResult:
        actor = actor or self.actor
        at = at or self.now
        base_version = old["version"] if old else 0
        version = version if version is not None else base_version + 1
        deleted = bool(new.get("deleted", False))
        writer = self.w.records[rt.name]
        base = (record_id, version, old["created_at"] if old else at, at, actor, deleted)
        if old is None:
            self.inserts.setdefault(rt.name, []).append(writer.record_insert(new, base))
        else:
            self.updates.setdefault(rt.name, []).append(writer.record_update(new, base))
        change_id = change_id or new_id()
        w = self.w
        self.changes.append((change_id, rt.name, record_id, new["org_code"], op, base_version, version,
                             writer.payload_json(new, deleted), actor, device_id or self.device_id, w.change_at(at),
                             self.sync_state, None))
        at_value = w.audit_at(at)
        if op == "insert":
            self.audits.append((change_id, rt.name, record_id, "*", None, "新建", actor, at_value))
        else:
            self._audit(rt, op, record_id, change_id, new, old, actor, at_value)
        return WriteResult(record_id, change_id, version)

    def _audit(self, rt, op, record_id, change_id, new, old, actor, at_value):
        if op in ("delete", "restore"):
            rows = [("deleted", _audit_text(op == "restore"), _audit_text(op == "delete"))]
        else:
            rows = [(f.name, _audit_text(old.get(f.name)), _audit_text(new.get(f.name)))
                    for f in rt.fields if old.get(f.name) != new.get(f.name)]
            if old.get("deleted") != new.get("deleted"):
                rows.append(("deleted", _audit_text(old.get("deleted")), _audit_text(new.get("deleted"))))
        for fname, before, after in rows:
            self.audits.append((change_id, rt.name, record_id, fname, before, after, actor, at_value))

    def flush(self) -> None:
        dbapi = self.conn.connection  # pooled DB-API connection inside this transaction
        cur = dbapi.cursor()
        try:
            for name, rows in self.inserts.items():
                cur.executemany(self.w.records[name].insert_sql, rows)
            for name, rows in self.updates.items():
                cur.executemany(self.w.records[name].update_sql, rows)
            if self.changes:
                cur.executemany(self.w.change_sql, self.changes)
            if self.audits:
                cur.executemany(self.w.audit_sql, self.audits)
        finally:
            cur.close()
        self.inserts.clear(), self.updates.clear(), self.changes.clear(), self.audits.clear()


# --------------------------------------------------------------------------- repository

WriteGuard = Callable[[Connection, RecordType, str, dict, "dict | None"], "str | None"]

_EXISTS: dict = {"exists": True}  # stands for "a record with this id exists" where only that matters


class Repository:
    """Reads and the only write path for records, over one engine."""

    def __init__(self, engine: Engine, actor: str = "本机用户", device_id: str | None = None):
        self.engine = engine
        self.actor = actor
        self.device_id = device_id
        self._choices: dict[str, list[str]] | None = None
        # Extra rules a write must pass (e.g. period locks); each returns a Chinese refusal or None.
        self.guards: list[WriteGuard] = []
        from storage.periods import lock_guard

        self.guards.append(lock_guard)  # accepted months are read-only everywhere (storage/periods.py)

    # ------------------------------------------------------------------ choices

    def choices(self) -> dict[str, list[str]]:
        if self._choices is None:
            merged = {k: list(v) for k, v in DEFAULT_CHOICES.items()}
            with self.engine.connect() as conn:
                for row in conn.execute(select(ChoiceList.name, ChoiceList.items)):
                    merged[row.name] = list(row.items)
            self._choices = merged
        return self._choices

    def choice_versions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            stored = dict(conn.execute(select(ChoiceList.name, ChoiceList.version)).all())
        return {name: stored.get(name, 1) for name in DEFAULT_CHOICES}

    def save_choice_list(self, name: str, items: list[str], version: int | None = None) -> int:
        """Store a county's extension of a choice list (old items must stay: records use them)."""
        current = self.choices().get(name)
        if current is None:
            raise WriteRefused(f"没有名为“{name}”的选项列表")
        missing = [i for i in current if i not in items]
        if missing and version is None:
            raise WriteRefused(f"选项列表只能增加选项，不能删除已有选项：{'、'.join(missing)}")
        with self.engine.begin() as conn:
            old = conn.execute(select(ChoiceList.version).where(ChoiceList.name == name)).scalar()
            new_version = version if version is not None else (old or 1) + 1
            if old is not None and new_version <= old:
                return old
            table = ChoiceList.__table__
            conn.execute(table.delete().where(table.c.name == name))
            conn.execute(table.insert().values(name=name, version=new_version, items=items, updated_at=utcnow()))
        self._choices = None
        return new_version

    # ------------------------------------------------------------------ settings (local state, never secrets)

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(Setting.value).where(Setting.key == key)).scalar()
        return default if value is None else value

    def set_setting(self, key: str, value: str) -> None:
        table = Setting.__table__
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.key == key))
            conn.execute(table.insert().values(key=key, value=value))

    # ------------------------------------------------------------------ reads

    def get(self, type_name: str, record_id: str, *, include_deleted: bool = False,
            conn: Connection | None = None) -> dict | None:
        table = table_for(type_name)
        stmt = select(table).where(table.c.id == record_id)
        if not include_deleted:
            stmt = stmt.where(table.c.deleted.is_(False))
        if conn is not None:
            row = conn.execute(stmt).mappings().first()
        else:
            with self.engine.connect() as c:
                row = c.execute(stmt).mappings().first()
        return dict(row) if row else None

    def list(self, type_name: str, *, org_code: str | None = None, deleted: bool = False,
             where: dict | None = None) -> list[dict]:
        table = table_for(type_name)
        stmt = select(table).where(table.c.deleted.is_(deleted))
        if org_code:
            stmt = stmt.where(table.c.org_code == org_code)
        for key, value in (where or {}).items():
            stmt = stmt.where(table.c[key] == value)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def count(self, type_name: str, *, org_code: str | None = None, deleted: bool = False) -> int:
        table = table_for(type_name)
        stmt = select(text("count(*)")).select_from(table).where(table.c.deleted.is_(deleted))
        if org_code:
            stmt = stmt.where(table.c.org_code == org_code)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()

    # ------------------------------------------------------------------ interactive writes

    def create(self, type_name: str, values: dict, *, record_id: str | None = None) -> dict:
        return self._single(WriteOp(type_name, "insert", values, record_id))

    def update(self, type_name: str, record_id: str, values: dict, *,
               expected_version: int | None = None) -> dict:
        return self._single(WriteOp(type_name, "update", values, record_id), expected_version)

    def delete(self, type_name: str, record_id: str) -> dict:
        """Leaves a tombstone (deleted=True); children stay and are hidden with their parent."""
        return self._single(WriteOp(type_name, "delete", {}, record_id))

    def restore(self, type_name: str, record_id: str) -> dict:
        return self._single(WriteOp(type_name, "restore", {}, record_id))

    def _single(self, op: WriteOp, expected_version: int | None = None) -> dict:
        with self.engine.begin() as conn:
            batch = _WriteBatch(conn, self.actor, self.device_id, "pending")
            result = self._stage(conn, batch, op, self._old_one(conn, op), expected_version)
            batch.flush()
            return self.get(op.record_type, result.record_id, include_deleted=True, conn=conn)

    def _old_one(self, conn: Connection, op: WriteOp) -> dict | None:
        if op.op == "insert":
            if op.record_type == "org_unit" and op.record_id is None:
                op.record_id = org_unit_id(str(op.values.get("org_code", "")))
            if op.record_id is None:
                return None
        return self.get(op.record_type, op.record_id, include_deleted=True, conn=conn) if op.record_id else None

    def _stage(self, conn: Connection, batch: _WriteBatch, op: WriteOp, old: dict | None,
               expected_version: int | None = None, validate: bool = True) -> WriteResult:
        rt = record_type(op.record_type)
        if op.op not in OPS:
            raise WriteRefused(f"未知的操作：{op.op}")
        if op.op == "insert":
            if old is not None:
                raise WriteRefused(f"{rt.label}记录{op.record_id}已存在，不能重复新建")
            record_id = op.record_id or new_id()
            # validation builds a fresh dict from op.values; without it keep only schema fields
            new = op.values if validate else {f.name: op.values.get(f.name) for f in rt.fields}
        else:
            if old is None:
                raise WriteRefused(f"找不到要修改的{rt.label}记录（{op.record_id}），可能已被删除或尚未同步")
            if expected_version is not None and old["version"] != expected_version:
                raise WriteRefused(f"这条{rt.label}记录已被他人修改（版本{old['version']}），请重新打开后再改")
            record_id = op.record_id
            new = {f.name: old.get(f.name) for f in rt.fields}
            new["deleted"] = old["deleted"]
            if op.op == "update":
                if old["deleted"]:
                    raise WriteRefused(f"这条{rt.label}记录已删除，请先在“最近删除”中恢复再修改")
                names = rt.field_names
                new.update({k: v for k, v in op.values.items() if k in names})
            elif op.op == "delete":
                if old["deleted"]:
                    raise WriteRefused(f"这条{rt.label}记录已经删除")
                new["deleted"] = True
            else:
                if not old["deleted"]:
                    raise WriteRefused(f"这条{rt.label}记录没有被删除，无需恢复")
                new["deleted"] = False
        if validate and op.op in ("insert", "update"):
            coerced, issues = coerce_record(rt, new, self.choices(), derive=True)
            if issues:
                errors = [i for i in issues if i.is_error]
                if errors:
                    raise ValidationError(errors, rt.label)
            coerced["deleted"] = False  # inserts start alive; updates of tombstones were refused above
            new = coerced
            if rt.name == "org_unit" and op.op == "insert" and record_id != org_unit_id(new["org_code"]):
                raise WriteRefused("组织机构记录的编号必须由区划代码生成")
        elif op.op == "insert":
            new["deleted"] = False
        for guard in self.guards:
            refusal = guard(conn, rt, op.op, new, old)
            if refusal:
                raise WriteRefused(refusal)
        return batch.add(rt, op.op, record_id, new, old)

    # ------------------------------------------------------------------ bulk path

    def bulk_write(self, ops: Iterable[WriteOp], *, validate: bool = True,
                   progress: Callable[[int], None] | None = None, chunk: int = 5000) -> list[WriteResult]:
        """Many writes in ONE transaction (all or nothing); same validation, change log and audit.

        A refused op raises ``ValidationError``/``WriteRefused`` with ``op_index`` set to its
        position in ``ops`` (0-based); nothing of the batch is written.
        """
        results: list[WriteResult] = []
        with self.engine.begin() as conn:
            batch = _WriteBatch(conn, self.actor, self.device_id, "pending")
            for part in _chunks(ops, chunk):
                olds = self._olds(conn, part)
                staged: set[tuple[str, str]] = set()  # records written in this chunk, not yet flushed
                for op in part:
                    if op.op == "insert" and op.record_type == "org_unit" and op.record_id is None:
                        op.record_id = org_unit_id(str(op.values.get("org_code", "")))
                    key = (op.record_type, op.record_id)
                    if op.record_id and key in staged:
                        # the same record twice in one chunk (insert then update, or a repeated row):
                        # write what is staged, then look at the record as it now is
                        batch.flush()
                        staged.clear()
                        olds.update(self._olds(conn, [WriteOp(op.record_type, "update", {}, op.record_id)]))
                    old = olds.get(key) if op.record_id else None
                    try:
                        result = self._stage(conn, batch, op, old, validate=validate)
                    except (ValidationError, WriteRefused) as exc:
                        exc.op_index = len(results)  # which op of the batch (0-based), for "第N行" messages
                        raise
                    results.append(result)
                    if op.record_id is None:
                        op.record_id = result.record_id
                    staged.add((op.record_type, result.record_id))
                batch.flush()
                if progress:
                    progress(len(results))
        return results

    def _olds(self, conn: Connection, ops: Sequence[WriteOp]) -> dict[tuple[str, str], dict]:
        wanted: dict[str, list[str]] = {}
        new_ids: dict[str, list[str]] = {}
        for op in ops:
            rid = op.record_id
            if rid is None and op.record_type == "org_unit":
                rid = org_unit_id(str(op.values.get("org_code", "")))
            if rid:
                (new_ids if op.op == "insert" else wanted).setdefault(op.record_type, []).append(rid)
        found: dict[tuple[str, str], dict] = {}
        for type_name, ids in wanted.items():
            table = table_for(type_name)
            for i in range(0, len(ids), 500):
                for row in conn.execute(select(table).where(table.c.id.in_(ids[i:i + 500]))).mappings():
                    found[(type_name, row["id"])] = dict(row)
        for type_name, ids in new_ids.items():
            # inserts with client-generated ids only need to know whether the id is taken
            table = table_for(type_name)
            for i in range(0, len(ids), 500):
                for (rid,) in conn.execute(select(table.c.id).where(table.c.id.in_(ids[i:i + 500]))):
                    found[(type_name, rid)] = _EXISTS
        return found

    # ------------------------------------------------------------------ applying changes from elsewhere (sync)

    def apply_change(self, conn: Connection, change: Change, *, sync_state: str = "remote",
                     validate: bool = True, force: bool = False) -> tuple[str, str | None]:
        """Apply one change made elsewhere, inside the caller's transaction.

        Keeps the change's own id, version, author and time so that every side's
        change log names the same change.  Returns (outcome, message):
        'applied', 'duplicate', 'conflict', or 'rejected' with a Chinese reason.
        Writes nothing unless the outcome is 'applied'.
        """
        rt = RECORD_TYPES.get(change.record_type)
        if rt is None:
            return "rejected", f"未知的记录类型“{change.record_type}”"
        existing = conn.execute(select(ChangeLog.payload, ChangeLog.record_id, ChangeLog.version)
                                .where(ChangeLog.change_id == change.change_id)).first()
        if existing is not None:
            same = (existing.record_id == change.record_id and existing.version == change.version
                    and _same_content(json.loads(existing.payload), change.payload))
            return ("duplicate", None) if same else (
                "rejected", "同一变更编号已用于不同的内容，该变更被拒绝（请联系管理员检查这台电脑的数据）")
        old = self.get(rt.name, change.record_id, include_deleted=True, conn=conn)
        current = old["version"] if old else 0
        if force:
            # Adopt the server's version over a differing local one (sync keeps the local one in
            # a Conflict row first); the server already validated and checked the rules.
            validate = False
        elif old is not None and current != change.base_version:
            # (a record this side never held is taken as new whatever its base version: e.g. one the
            # server refused earlier and the village restored — a conflict there could never settle)
            return "conflict", (f"这条{rt.label}记录在别处已被修改（对方版本{current}，本机基于版本"
                                f"{change.base_version}），两个版本都已保留，请选择保留哪一个")
        new = values_from_payload(rt, change.payload)
        deleted = bool(change.payload.get("deleted", False))
        if validate and not deleted:
            new, issues = coerce_record(rt, new, self.choices())
            errors = [i for i in issues if i.is_error]
            if errors:
                return "rejected", f"{rt.label}：" + "；".join(i.message for i in errors)
        elif (refusal := unreadable_date(rt, new)) is not None:
            return "rejected", refusal
        new["deleted"] = deleted
        op = change.op if old is not None else "insert"
        for guard in ([] if force else self.guards):
            refusal = guard(conn, rt, op, new, old)
            if refusal:
                return "rejected", refusal
        batch = _WriteBatch(conn, change.actor, change.device_id, sync_state)
        batch.add(rt, op, change.record_id, new, old, change_id=change.change_id,
                  at=dt.datetime.fromisoformat(change.at), actor=change.actor, version=change.version,
                  device_id=change.device_id)
        batch.flush()
        return "applied", None

    def _batch_coercers(self) -> dict[str, "_BatchCoercer"]:
        """The batch apply's memoising coercers, kept across batches while the choice lists and the day hold."""
        choices = self.choices()
        held = getattr(self, "_coercers", None)
        if held is None or held[0] is not choices or held[1] != dt.date.today():
            held = self._coercers = (choices, dt.date.today(), {})
        return held[2]

    def apply_changes(self, conn: Connection, changes: Sequence[Change], *, sync_state: str = "remote",
                      validate: bool = True,
                      precheck: Callable[[Change, "dict | None"], "str | None"] | None = None
                      ) -> list[tuple[str, str | None]]:
        """``apply_change`` for a whole sync batch inside the caller's transaction.

        Same outcomes and rules change by change (duplicate, base version, validation,
        guards), but change ids and current records are looked up set-wise and the
        writes are flushed together: a batch of thousands costs a few statements, not
        a few per change.  ``precheck(change, current_row)`` may refuse a change first
        (the server's scope policy).  Period records are flushed on their own so that
        the lock guard and the period rules see every earlier change of the batch.

        Per change this is the server's hot path (issue 4's push benchmark): values are
        validated through a per-field memo of the coercer's results (``_BatchCoercer``:
        the same values and messages as ``coerce_record``), and the row of a record
        applied earlier in the batch is built only if a later change of it asks.
        """
        known = _known_changes(conn, [c.change_id for c in changes])
        current = _current_records(conn, changes)
        coercers = self._batch_coercers()
        guards = self.guards
        batch = _WriteBatch(conn, self.actor, self.device_id, sync_state)
        staged: dict[tuple[str, str], tuple] = {}  # applied in this batch: (new, change, at, old), row built on demand
        times: dict[str, dt.datetime] = {}  # a PC's bulk edits share one timestamp: parse each once
        results: list[tuple[str, str | None]] = []
        append = results.append
        for change in changes:
            rt = RECORD_TYPES.get(change.record_type)
            if rt is None:
                append(("rejected", f"未知的记录类型“{change.record_type}”"))
                continue
            prev = known.get(change.change_id)
            if prev is not None:
                held = prev[2] if type(prev[2]) is dict else json.loads(prev[2])
                same = (prev[0] == change.record_id and prev[1] == change.version
                        and _same_content(held, change.payload))
                append(("duplicate", None) if same else (
                    "rejected", "同一变更编号已用于不同的内容，该变更被拒绝（请联系管理员检查这台电脑的数据）"))
                continue
            if rt.name == "period":
                batch.flush()
            key = (rt.name, change.record_id)
            earlier = staged.pop(key, None) if staged else None
            if earlier is not None:
                old = current[key] = _row_after(*earlier)
            else:
                old = current.get(key)
            if precheck is not None:
                refusal = precheck(change, old)
                if refusal:
                    append(("rejected", refusal))
                    continue
            version_now = old["version"] if old else 0
            if old is not None and version_now != change.base_version:  # never held here: new (see apply_change)
                append(("conflict", f"这条{rt.label}记录在别处已被修改（对方版本{version_now}，本机基于版本"
                                    f"{change.base_version}），两个版本都已保留，请选择保留哪一个"))
                continue
            payload = change.payload
            deleted = bool(payload.get("deleted", False))
            if validate and not deleted:
                coercer = coercers.get(rt.name)
                if coercer is None:
                    coercer = coercers[rt.name] = _BatchCoercer(rt, self.choices())
                new, errors = coercer.coerce(payload)
                if errors:
                    append(("rejected", f"{rt.label}：" + "；".join(i.message for i in errors)))
                    continue
            else:
                new = values_from_payload(rt, payload)
                refusal = unreadable_date(rt, new)
                if refusal is not None:
                    append(("rejected", refusal))
                    continue
            new["deleted"] = deleted
            op = change.op if old is not None else "insert"
            refusal = None
            for guard in guards:
                refusal = guard(conn, rt, op, new, old)
                if refusal:
                    break
            if refusal:
                append(("rejected", refusal))
                continue
            at = times.get(change.at)
            if at is None:
                at = times[change.at] = dt.datetime.fromisoformat(change.at)
            batch.add(rt, op, change.record_id, new, old, change_id=change.change_id, at=at,
                      actor=change.actor, version=change.version, device_id=change.device_id)
            staged[key] = (new, change, at, old)
            known[change.change_id] = (change.record_id, change.version, payload)
            append(("applied", None))
            if rt.name == "period":
                batch.flush()
        batch.flush()
        return results

    # ------------------------------------------------------------------ outbox

    def pending_changes(self, limit: int = 1000, after_seq: int = 0) -> list[tuple[int, Change]]:
        stmt = (select(ChangeLog).where(ChangeLog.sync_state == "pending", ChangeLog.seq > after_seq)
                .order_by(ChangeLog.seq).limit(limit))
        with self.engine.connect() as conn:
            return [(row.seq, change_from_row(row)) for row in conn.execute(stmt)]

    def unsent_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(text("count(*)")).select_from(ChangeLog.__table__)
                                .where(ChangeLog.sync_state == "pending")).scalar_one()

    def mark_acked(self, change_ids: Iterable[str], *, state: str = "acked",
                   conn: Connection | None = None) -> None:
        """Set the sync state of outbox rows (sync: 'acked', or 'conflict'/'rejected' awaiting the user)."""
        ids = list(change_ids)
        table = ChangeLog.__table__
        if conn is None:
            with self.engine.begin() as own:
                return self.mark_acked(ids, state=state, conn=own)
        # on the raw cursor: SQLAlchemy compiles an expanding IN of 500 anew each time, and a sync
        # acknowledges thousands of changes per batch
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        cur = conn.connection.cursor()
        try:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                cur.execute(f"UPDATE {table.name} SET sync_state = {mark} "
                            f"WHERE change_id IN ({', '.join([mark] * len(part))})", [state, *part])
        finally:
            cur.close()


def _in_chunks(conn: Connection, sql: str, ids: list, size: int = 500) -> Iterator[tuple]:
    """Rows of ``sql`` (one ``IN ({marks})``) for ``ids`` in chunks, on the raw DB-API cursor.

    SQLAlchemy compiles an expanding ``IN`` of 500 parameters anew each time (~1 ms); a sync
    batch of 5,000 changes asks ~20 of these.  Only for plain columns (no type processing).
    """
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
    """change id -> (record id, version, payload JSON text) of those already in the change log."""
    sql = "SELECT change_id, record_id, version, payload FROM change_log WHERE change_id IN ({marks})"
    return {row[0]: (row[1], row[2], row[3]) for row in _in_chunks(conn, sql, list(dict.fromkeys(change_ids)))}


def _current_records(conn: Connection, changes: Sequence[Change]) -> dict[tuple[str, str], dict]:
    """(type, record id) -> the current row of every record a batch touches that exists here.

    Which ids exist is asked on the raw cursor; only those rows are read through SQLAlchemy
    (dates, booleans and timestamps as Python values).  A batch of new records reads no row.
    """
    wanted: dict[str, list[str]] = {}
    for c in changes:
        if c.record_type in RECORD_TYPES:
            wanted.setdefault(c.record_type, []).append(c.record_id)
    current: dict[tuple[str, str], dict] = {}
    quote = conn.dialect.identifier_preparer.quote
    for type_name, rids in wanted.items():
        table = table_for(type_name)
        sql = f"SELECT id FROM {quote(table.name)} WHERE id IN ({{marks}})"
        found = [row[0] for row in _in_chunks(conn, sql, list(dict.fromkeys(rids)))]
        for i in range(0, len(found), 500):
            for row in conn.execute(select(table).where(table.c.id.in_(found[i:i + 500]))).mappings():
                current[(type_name, row["id"])] = dict(row)
    return current


def _row_after(new: dict, change: Change, at: dt.datetime, old: dict | None) -> dict:
    """A record's row as ``apply_changes`` wrote it (for a later change of it in the same batch)."""
    row = dict(new)
    row.update(id=change.record_id, version=change.version, updated_at=at, updated_by=change.actor,
               created_at=old["created_at"] if old else at, deleted=new["deleted"])
    return row


_ABSENT = object()


class _BatchCoercer:
    """``coerce_record(rt, _with_iso_dates(rt, payload), choices)`` for sync batches, with a per-field memo.

    ``coerce_record`` coerces each field on its own (compiled fast test, else ``coerce``) and
    then checks required fields and cross-field rules over the result.  Sync batches repeat
    the same values (choice items, org codes, dates, counts) thousands of times, so each
    field's (value, issue) is computed once per distinct value by exactly that per-field
    step and reused; the record-level ``check_record`` still runs for every record.
    Call: payload -> (values with every schema field, errors), the shape ``apply_changes``
    used to build.  The per-field steps are unrolled into one generated function.
    """

    def __init__(self, rt: RecordType, choices: dict[str, list[str]]):
        self.rt, self.choices = rt, choices
        self.day = dt.date.today()  # the coercer's date bound moves with the calendar: a new memo each day
        ns: dict[str, Any] = {"ABSENT": _ABSENT, "slow": self._slow, "check_record": check_record, "rt": rt}
        lines = ["def run(payload):", "    get = payload.get", "    values = {}", "    issues = []"]
        for i, f in enumerate(rt.fields):
            ns[f"F{i}"], ns[f"m{i}"] = f, {}
            keep = "list(h[0]) if h[0].__class__ is list else h[0]" if f.type == "multichoice" else "h[0]"
            lines += [f"    v = get({f.name!r}, ABSENT)",
                      "    if v is ABSENT or v is None:",
                      f"        values[{f.name!r}] = None",
                      "    else:",
                      f"        h = m{i}.get(v) if v.__class__ is str else None",
                      "        if h is None:",
                      f"            h = slow(F{i}, m{i}, v)",
                      "        if h[1] is None:",
                      f"            values[{f.name!r}] = {keep}",
                      "        else:",
                      "            issues.append(h[1])",
                      "            if not h[1].is_error:",
                      f"                values[{f.name!r}] = {keep}"]
        lines += ["    if issues:",
                  "        issues.extend(check_record(rt, values, skip={i.field for i in issues}))",
                  "        return values, [i for i in issues if i.is_error]",
                  "    return values, check_record(rt, values)"]
        exec(compile("\n".join(lines) + "\n", f"<batch coerce {rt.name}>", "exec"), ns)  # noqa: S102
        self.coerce: Callable[[dict], tuple[dict, list[Issue]]] = ns["run"]

    def __call__(self, payload: dict) -> tuple[dict, list[Issue]]:
        return self.coerce(payload)

    def _slow(self, f, memo: dict, value) -> tuple[Any, Issue | None]:
        """A field value not memoised yet (or not memoisable): coerce it as ``coerce_record`` does."""
        t = type(value)
        if t is str:
            key = value
        elif t is int or t is bool or (t is float and value):  # 0.0 and -0.0 hash alike: not memoised
            key = (t, value)
        else:
            key = None  # lists, dicts, zero floats: straight through
        if key is not None:
            hit = memo.get(key)
            if hit is not None:
                return hit
        raw = {f.name: value}
        if f.type == "date":
            raw = _with_iso_dates(self.rt, raw)
        values, issues = coerce_record(self.rt, raw, self.choices, check=False)
        hit = (values.get(f.name), issues[0] if issues else None)
        if key is not None:
            if len(memo) > 20_000:
                memo.clear()
            memo[key] = hit
        return hit


_DATE_FIELDS: dict[str, tuple[str, ...]] = {}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fullmatch


def _with_iso_dates(rt: RecordType, payload: dict) -> dict:
    """``payload`` with its strict ``YYYY-MM-DD`` date strings as ``date`` objects (a copy if any).

    ``coerce`` would parse exactly these strings to the same dates (then range-check them, as the
    coercer's fast path does for date objects); any other text (2024/3/5, an invalid day) stays a
    string and gets ``coerce``'s own parsing and Chinese message.  Saves the slow path per change.
    """
    names = _DATE_FIELDS.get(rt.name)
    if names is None:
        names = _DATE_FIELDS[rt.name] = tuple(f.name for f in rt.fields if f.type == "date")
    raw = None
    for name in names:
        v = payload.get(name)
        if type(v) is str and _ISO_DATE(v):
            try:
                day = dt.date.fromisoformat(v)
            except ValueError:
                continue
            if raw is None:
                raw = dict(payload)
            raw[name] = day
    return payload if raw is None else raw


def _normalised_payload(payload: dict) -> dict:
    return json.loads(json.dumps(payload, ensure_ascii=False))


def _same_content(held: dict, payload: dict) -> bool:
    """The stored payload of a change and a payload sent again with its id say the same.  A field one
    side lacks and the other holds empty is the same: a PC of an earlier release does not know the
    fields added since, and its retry must stay a duplicate."""
    sent = _normalised_payload(payload)
    return all(held.get(k) == sent.get(k) for k in held.keys() | sent.keys())


def change_from_row(row) -> Change:
    return Change(change_id=row.change_id, record_type=row.record_type, record_id=row.record_id,
                  org_code=row.org_code, op=row.op, base_version=row.base_version, version=row.version,
                  payload=json.loads(row.payload), actor=row.actor, device_id=row.device_id,
                  at=row.at.isoformat() if isinstance(row.at, dt.datetime) else str(row.at))


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    part = []
    for item in items:
        part.append(item)
        if len(part) >= size:
            yield part
            part = []
    if part:
        yield part


__all__ = ["Repository", "WriteOp", "WriteResult", "Change", "WriteRefused", "ValidationError", "Issue",
           "payload_of", "values_from_payload", "unreadable_date", "org_unit_id", "change_from_row", "check_record", "BASE_COLUMNS"]
