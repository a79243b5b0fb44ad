"""The server's write transactions: on SQLite they queue behind the one writer instead of failing.

SQLite allows one writer.  A transaction that reads first and writes later (as a push does)
fails at once with "database is locked" when another writer committed in between, whatever
the busy timeout; ``BEGIN IMMEDIATE`` takes the write lock up front, and the busy timeout then
makes a second writer *wait* for it.  Inside one server process the writers also queue on a
lock, so threads do not spin on SQLite's busy handler.  PostgreSQL needs neither: its writers
serialise on the advisory lock every ledger writer takes (``storage.db.PG_WRITER_LOCK``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

# How long a push may wait for the SQLite write lock held by another server process.
SQLITE_WRITER_WAIT_MS = 300_000

_SQLITE_WRITER = threading.Lock()


@contextmanager
def write_transaction(engine: Engine):
    """``engine.begin()`` that holds the write lock from its first statement (SQLite) — yields the connection."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with _SQLITE_WRITER:
        with engine.begin() as conn:
            _begin_immediate(conn)
            yield conn


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_WRITER_WAIT_MS}")
    conn.exec_driver_sql("BEGIN IMMEDIATE")
