"""Server-only tables: accounts, devices, received batches, rejections, server identity.

They live on their own metadata (not the ledger's): a village PC's database
never carries them, and the ledger's migrations stay the ledger's.  They are
created with ``create_server_tables`` when the server database is opened.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, Index, Integer, MetaData, String, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.models import UTCDateTime, utcnow


class ServerBase(DeclarativeBase):
    metadata = MetaData()


class Account(ServerBase):
    """A person who signs in: a village, township, county or admin account bound to one org unit."""

    __tablename__ = "server_account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(300), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)  # village/township/county/admin
    org_code: Mapped[str] = mapped_column(String(12), nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    # set by ``admin reset-password``: the one-time password works only to choose a new one
    must_change_password: Mapped[bool | None] = mapped_column(Boolean, default=False)
    last_login: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Device(ServerBase):
    """A signed-in PC: the token's hash (never the token), its package public key (never a private key),
    its account, and whether it is revoked."""

    __tablename__ = "server_device"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    client_device_id: Mapped[str] = mapped_column(String(36), nullable=False)
    device_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # Ed25519 public key (base64) the PC made at its latest sign-in; it verifies the PC's offline
    # packages.  NULL: signed in with a program older than package format 2 (its packages are refused).
    package_public_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SyncBatch(ServerBase):
    """A push batch the server committed, with its answers: a re-sent batch gets the same answers."""

    __tablename__ = "server_sync_batch"
    batch_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36), nullable=False)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    change_count: Mapped[int] = mapped_column(Integer, nullable=False)
    results: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of ChangeResult dicts
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)


class Rejection(ServerBase):
    """A pushed change the server refused (scope, validation, period rules): kept for the county to see."""

    __tablename__ = "server_rejection"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(36), nullable=False)
    change_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False)
    device_id: Mapped[str] = mapped_column(String(36), nullable=False)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[str] = mapped_column(String(36), nullable=False)
    org_code: Mapped[str] = mapped_column(String(12), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    __table_args__ = (Index("ix_server_rejection_org", "org_code"),)


class LoginThrottle(ServerBase):
    """Failed sign-ins per account name (as typed: existing or not) and per client address, and the lock."""

    __tablename__ = "server_login_throttle"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # "account:NAME" or "address:IP"
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LoginEvent(ServerBase):
    """The county's record of failed sign-ins, locks and unlocks (GB/T 22239-2019 8.1.4.1 b)."""

    __tablename__ = "server_login_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # failure / lock / unlock
    account: Mapped[str] = mapped_column(String(100), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")


class AdminAction(ServerBase):
    """Every account and key action at the county (who ran it, on which account, what): kept for audit."""

    __tablename__ = "server_admin_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    target: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")


class ServerInfo(ServerBase):
    """Key/value facts about this server database (its id: a new database means new pull cursors)."""

    __tablename__ = "server_info"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


server_metadata = ServerBase.metadata


def create_server_tables(engine: Engine) -> None:
    server_metadata.create_all(engine)
    _add_missing_columns(engine)
    server_id(engine)


def _add_missing_columns(engine: Engine) -> None:
    """Server tables from an earlier release get the nullable columns added since (create_all adds none)."""
    from sqlalchemy import inspect, text

    # IF NOT EXISTS (PostgreSQL): two server processes starting at once both get here
    maybe = " IF NOT EXISTS" if engine.dialect.name == "postgresql" else ""
    added = {"server_device": (("package_public_key", "VARCHAR(64)"),),
             "server_account": (("must_change_password", "BOOLEAN"), ("last_login", "TIMESTAMP"))}
    for table, columns in added.items():
        have = {c["name"] for c in inspect(engine).get_columns(table)}
        for name, sql_type in columns:
            if name not in have:
                with engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN{maybe} {name} {sql_type}"))


def server_id(engine: Engine) -> str:
    """This database's random identity, made once."""
    table = ServerInfo.__table__
    with engine.begin() as conn:
        value = conn.execute(select(table.c.value).where(table.c.key == "server_id")).scalar()
        if value is None:
            value = str(uuid.uuid4())
            conn.execute(table.insert().values(key="server_id", value=value))
    return value


__all__ = ["Account", "Device", "SyncBatch", "Rejection", "ServerInfo", "LoginThrottle", "LoginEvent", "AdminAction", "server_metadata",
           "create_server_tables", "server_id", "utcnow"]
