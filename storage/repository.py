"""The repository: reads, choice lists, settings, the outbox, and the doors to the one write path.

Every insert, update, delete and restore of a record, whatever its source (a form save, a bulk
write or Excel import, a sync batch on the server, a pulled page on a PC, an offline package),
is a ``Proposal`` decided by ``storage.decision.decide`` and written by
``storage.executor.execute``: the record and its change-log row in the caller's transaction.  This module turns each source's request into proposals and the
decisions back into that source's answer (an exception for a form, outcomes for sync).
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable, Iterator, Sequence

from sqlalchemy import Connection, select, text
from sqlalchemy.engine import Engine

from storage.changes import (Change, WriteOp, WriteResult, change_from_row, org_unit_id, payload_of,
                             to_json_value, unreadable_date, values_from_payload)
from storage.choices import DEFAULT_CHOICES
from storage.decision import APPLIED, Context, Decision, Proposal
from storage.executor import Done, Settle, execute
from storage.gc_pause import collection_paused
from storage.models import BASE_COLUMNS, ChangeLog, ChoiceList, Setting, table_for, utcnow
from storage.schema import RecordType, record_type
from storage.validation import Issue, ValidationError, check_record


class WriteRefused(RuntimeError):
    """A write the rules forbid (locked period, unknown record, stale version); Chinese message."""


WriteGuard = Callable[[Connection, RecordType, str, dict, "dict | None"], "str | None"]


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

    # ------------------------------------------------------------------ writes made here

    def create(self, type_name: str, values: dict, *, record_id: str | None = None) -> dict:
        return self._single(WriteOp(type_name, "insert", values, record_id))

    def update(self, type_name: str, record_id: str, values: dict, *,
               expected_version: int | None = None) -> dict:
        return self._single(WriteOp(type_name, "update", values, record_id, expected_version))

    def delete(self, type_name: str, record_id: str) -> dict:
        """Leaves a tombstone (deleted=True); children stay and are hidden with their parent."""
        return self._single(WriteOp(type_name, "delete", {}, record_id))

    def restore(self, type_name: str, record_id: str) -> dict:
        return self._single(WriteOp(type_name, "restore", {}, record_id))

    def _single(self, op: WriteOp) -> dict:
        """One write in its own transaction; the record as written, or the refusal raised."""
        with self.engine.begin() as conn:
            [result] = self._write(conn, [op], first=0)
            return self.get(op.record_type, result.record_id, include_deleted=True, conn=conn)

    def bulk_write(self, ops: Iterable[WriteOp], *, progress: Callable[[int], None] | None = None,
                   chunk: int = 5000) -> list[WriteResult]:
        """Many writes in ONE transaction (all or nothing), decided and logged like a single save.

        A refused op raises ``ValidationError``/``WriteRefused`` with ``op_index`` set to its
        position in ``ops`` (0-based); nothing of the batch is written.  An op's values are
        validated, unless they are ``storage.validation.Valid`` (made by ``validate_record``,
        as the Excel import does for every row while planning).
        """
        results: list[WriteResult] = []
        with collection_paused(), self.engine.begin() as conn:  # collection_paused: see storage/gc_pause.py
            for part in _chunks(ops, chunk):
                results.extend(self._write(conn, part, first=len(results)))
                if progress:
                    progress(len(results))
        return results

    def _write(self, conn: Connection, ops: Sequence[WriteOp], *, first: int) -> list[WriteResult]:
        proposals = [_proposal_of_op(op) for op in ops]
        done = execute(conn, proposals, self._context(conn), actor=self.actor,
                       device_id=self.device_id, sync_state="pending")
        results = []
        for i, (op, d) in enumerate(zip(ops, done)):
            if d.decision.kind != APPLIED:
                exc = _refusal(op.record_type, d.decision)
                exc.op_index = first + i  # which op of the batch (0-based), for "第N行" messages
                raise exc
            op.record_id = d.result.record_id
            results.append(d.result)
        return results

    def _context(self, conn: Connection, *, scope=None) -> Context:
        return Context(choices=self.choices(),
                       rules=[partial(guard, conn) for guard in self.guards], scope=scope)

    # ------------------------------------------------------------------ changes made elsewhere (sync, packages)

    def apply_change(self, conn: Connection, change: Change, *, sync_state: str = "remote",
                     force: bool = False) -> tuple[str, str | None]:
        """Apply one change made elsewhere inside the caller's transaction: ``apply_changes`` of one.

        ``force``: adopt it whatever the stored version (the caller kept the local version first).
        """
        return self.apply_changes(conn, [change], sync_state=sync_state, adopt=force)[0]

    def apply_changes(self, conn: Connection, changes: Sequence[Change], *, sync_state: str = "remote",
                      adopt: bool = False,
                      precheck: Callable[[Change, "dict | None"], "str | None"] | None = None,
                      settle: Callable[[Change, Decision, "dict | None"], bool] | None = None
                      ) -> list[tuple[str, str | None]]:
        """Changes made elsewhere, in order, inside the caller's transaction.

        Each keeps its own id, version, author and time, so that every side's change log names
        the same change.  Returns (outcome, message) per change in the sync protocol's terms:
        'applied', 'duplicate', 'conflict', or 'rejected' with a Chinese reason; nothing is
        written for a change that is not applied.  ``precheck(change, stored row)``: the
        sender's scope (the server's policy).  ``settle(change, decision, stored row)``: see
        ``storage.executor.Settle``.
        """
        proposals = [_proposal_of_change(c, adopt) for c in changes]
        scope = (lambda p, stored: precheck(p.change, stored)) if precheck is not None else None
        settle_p: Settle | None = (lambda p, d, stored: settle(p.change, d, stored)) if settle is not None else None
        done = execute(conn, proposals, self._context(conn, scope=scope), actor=self.actor,
                       device_id=self.device_id, sync_state=sync_state, settle=settle_p)
        return [(d.decision.outcome, d.decision.message) for d in done]

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



def _proposal_of_op(op: WriteOp) -> Proposal:
    record_type(op.record_type)  # an unknown type written here is a programming error: KeyError
    record_id = op.record_id
    if op.op == "insert" and record_id is None and op.record_type == "org_unit":
        record_id = org_unit_id(str(op.values.get("org_code", "")))
    return Proposal(op.record_type, record_id, op.op, op.values, base_version=op.expected_version)


def _proposal_of_change(change: Change, adopt: bool = False) -> Proposal:
    return Proposal(change.record_type, change.record_id, change.op, change.payload,
                    base_version=change.base_version, local=False, change_id=change.change_id,
                    version=change.version, org_code=change.org_code, actor=change.actor,
                    device_id=change.device_id, at=change.at, adopt=adopt, change=change)


def _refusal(type_name: str, decision: Decision) -> Exception:
    """A form's or a bulk write's exception for a decision other than applied."""
    if decision.issues:
        return ValidationError(decision.issues, record_type(type_name).label)
    return WriteRefused(decision.message)


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
           "payload_of", "values_from_payload", "unreadable_date", "org_unit_id", "change_from_row", "check_record",
           "BASE_COLUMNS", "Done", "to_json_value"]
