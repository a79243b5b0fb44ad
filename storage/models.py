"""SQLAlchemy 2 models.

Record tables are derived from the field schema (``storage.schema``) so a
field is defined once; every record table shares the typed ``RecordBase``
columns (UUID, owner org, version, UTC timestamps, author, tombstone).
Infrastructure tables (change log, audit, settings, drafts, conflicts, choice
lists) are ordinary typed ``Mapped[]`` classes.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, Index, Integer, MetaData, String, Text,
                        TypeDecorator)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.schema import RECORD_TYPES, Field, RecordType

ORG_NAMESPACE = uuid.UUID("6f1f6e0a-3c52-4c4f-9a53-7a1a2b8d1c11")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class _RandomIds:
    """Random (version 4) UUID strings, like ``str(uuid.uuid4())``, made 512 at a time.

    The bulk paths need two per record (record id, change id).  Formatting each id in Python
    cost ~1.4 µs, a tenth of the bulk path's own time; here one block is built by strided
    slice copies in C (~0.2 µs an id): the OS's random hex goes into a 37-byte-per-id buffer
    around the hyphens, the version digit and the RFC 4122 variant digit.  Every id keeps 122
    random bits.  list.pop() is atomic, so threads never share one.

    Time-ordered UUIDv7 ids were tried again in the fourth session: they make every SQLite
    insert cheaper (appends instead of random index pages), but raw executemany gains more
    than the repository's bulk path, so ``core.bulk_ratio`` fell from 0.56 to 0.48 (paired
    runs, docs/core.md).
    """

    BLOCK = 512
    # (hex digit of the 32 random ones, position in the 36-character id)
    _DIGITS = ([(i, i) for i in range(8)] + [(i, i + 1) for i in range(8, 12)] + [(i, i + 2) for i in range(13, 16)]
               + [(i, i + 3) for i in range(17, 20)] + [(i, i + 4) for i in range(20, 32)])
    _VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")  # variant bits 10xx
    _DASHES, _FOURS, _NEWLINES = b"-" * BLOCK, b"4" * BLOCK, b"\n" * BLOCK

    def __init__(self) -> None:
        self._pool: list[str] = []

    def _reset(self) -> None:
        self._pool.clear()

    def _block(self) -> list[str]:
        raw = os.urandom(16 * self.BLOCK).hex().encode("ascii")  # 32 random hex digits an id
        out = bytearray(37 * self.BLOCK)  # 36 characters and a newline an id
        for digit, position in self._DIGITS:
            out[position::37] = raw[digit::32]
        for position in (8, 13, 18, 23):
            out[position::37] = self._DASHES
        out[14::37] = self._FOURS  # version 4 (replaces random digit 12)
        out[19::37] = raw[16::32].translate(self._VARIANT)
        out[36::37] = self._NEWLINES
        return out.decode("ascii").splitlines()

    def __call__(self) -> str:
        while True:
            try:
                return self._pool.pop()
            except IndexError:
                self._pool.extend(self._block())


new_id = _RandomIds()
if hasattr(os, "register_at_fork"):  # a forked child must never repeat its parent's random bits
    os.register_at_fork(after_in_child=new_id._reset)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, always hands back aware UTC datetimes; refuses naive input."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC)")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.timezone.utc)


naming = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=naming)


class RecordBase:
    """Columns every record table carries, in addition to its schema fields."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(100), nullable=False)
    deleted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


BASE_COLUMNS = ("id", "version", "created_at", "updated_at", "updated_by", "deleted")


def column_type(f: Field):
    return {
        "text": Text, "ref": String(36), "int": Integer, "year": Integer, "decimal": Float,
        "date": Date, "period": String(7), "bool": Boolean, "choice": String(50),
        "multichoice": JSON, "id_number": String(18), "phone": String(20), "credit_code": String(18),
        "org_code": String(12),
    }[f.type]


def _table_args(rt: RecordType) -> tuple:
    indexes = [Index(f"ix_{rt.name}_org_deleted", "org_code", "deleted")]
    if rt.date_field:
        indexes.append(Index(f"ix_{rt.name}_{rt.date_field}", rt.date_field))
    if rt.parent_field:
        indexes.append(Index(f"ix_{rt.name}_{rt.parent_field}", rt.parent_field))
    # Lookups by identity (migration 0002): Excel import and sync match people by ID number,
    # organisations by credit code, and resolve references typed as names (所属志愿服务队 etc.).
    for f in rt.fields:
        if f.type in LOOKUP_TYPES or f.name == "name":
            indexes.append(Index(f"ix_{rt.name}_{f.name}", f.name))
    if rt.name == "service":
        # Covering index for the monthly-visit check over a county's million service records
        # (migration 0003): the scan reads the index only, never the rows.
        indexes.append(Index(*VISIT_SCAN_INDEX))
    return tuple(indexes)


VISIT_SCAN_INDEX = ("ix_service_visit_scan", "category", "deleted", "date", "org_code")


LOOKUP_TYPES = ("id_number", "credit_code")


def _make_model(rt: RecordType) -> type:
    attrs: dict = {"__tablename__": rt.name, "__table_args__": _table_args(rt),
                   "__doc__": f"{rt.label} (generated from the field schema)"}
    for f in rt.fields:
        attrs[f.name] = mapped_column(column_type(f), nullable=True, comment=f.label)
    class_name = "".join(part.title() for part in rt.name.split("_"))
    return type(class_name, (RecordBase, Base), attrs)


RECORD_MODELS: dict[str, type] = {name: _make_model(rt) for name, rt in RECORD_TYPES.items()}


def table_for(type_name: str):
    return RECORD_MODELS[type_name].__table__


class ChangeLog(Base):
    """Outbox and feed: one row per write, in the same transaction as the write.

    Locally, ``sync_state`` says whether the server holds the change yet
    ('pending' until the server confirmed, then 'acked'; 'remote' for changes
    that came from the server).  On the county server ``seq`` is the pull cursor.
    """

    __tablename__ = "change_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    org_code: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    op: Mapped[str] = mapped_column(String(10), nullable=False)  # insert/update/delete/restore
    base_version: Mapped[int] = mapped_column(Integer, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # JSON of the record after the change
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    device_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    sync_state: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    batch_id: Mapped[str | None] = mapped_column(String(36))
    __table_args__ = (Index("ix_change_log_sync_state_seq", "sync_state", "seq"),)


class ChoiceList(Base):
    """A county's extension of a choice list; a higher version wins over the shipped default."""

    __tablename__ = "choice_list"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    items: Mapped[list] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Setting(Base):
    """Local key/value state (village identity, sync cursor, UI preferences). Never secrets."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class Draft(Base):
    """An unsaved form, autosaved so that a crash or power cut loses nothing."""

    __tablename__ = "draft"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[str | None] = mapped_column(String(36))
    values: Mapped[str] = mapped_column(Text, nullable=False)  # JSON of the raw form inputs
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Conflict(Base):
    """Both versions of a record that changed on two sides; the user chooses."""

    __tablename__ = "conflict"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    org_code: Mapped[str] = mapped_column(String(12), nullable=False)
    change_id: Mapped[str] = mapped_column(String(36), nullable=False)
    local_payload: Mapped[str] = mapped_column(Text, nullable=False)
    server_payload: Mapped[str | None] = mapped_column(Text)
    server_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(String(20))
    # where the other version came from: None for sync, "import" for an Excel row older than the record
    # (local_payload then holds the workbook's row, server_payload the record as stored)
    origin: Mapped[str | None] = mapped_column(String(20))


class SyncRejection(Base):
    """A change the county server refused, with the record's content as this PC had it.

    Kept until the user dismisses it: the refused record is withdrawn locally (the server's
    version is adopted), so this row is where its content stays visible.  A table, not a
    settings blob: a batch of thousands of refusals appends rows instead of rewriting a list.
    """

    __tablename__ = "sync_rejection"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    change_id: Mapped[str] = mapped_column(String(36), nullable=False)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    org_code: Mapped[str] = mapped_column(String(12), nullable=False)
    op: Mapped[str] = mapped_column(String(10), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # JSON of the record as kept on this PC
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


metadata = Base.metadata
