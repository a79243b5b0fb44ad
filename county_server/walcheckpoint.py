"""SQLite county server: WAL checkpoints in a background thread, not inside a push's commit.

In WAL mode every commit appends its pages to the ``-wal`` file (fsync'd: ``synchronous=FULL``,
so a committed batch is durable there) and SQLite's auto-checkpoint then copies the WAL back
into the database file — inside the committing call, i.e. before the server can answer the
PC.  A push of 5,000 changes writes more than the 1,000-page threshold, so every push paid
for a checkpoint (~20 ms, issue 4's benchmark).  Here the server's connections checkpoint
only as a fallback (``wal_autocheckpoint`` = 20,000 pages, ~80 MB, if this thread fell far
behind) and a thread with its own connection runs a PASSIVE checkpoint after each push
(``kick``) and once a second.  Durability is unchanged: it comes from the fsync'd WAL; a
checkpoint only moves committed pages, and a killed server's WAL is replayed on the next open.
PostgreSQL does its own checkpointing: nothing to do there.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger("taizhang-server.checkpoint")

FALLBACK_PAGES = 20_000


class WalCheckpointer:
    def __init__(self, engine: Engine):
        self.path = engine.url.database
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="taizhang-wal-checkpoint", daemon=True)

        @event.listens_for(engine, "connect")
        def _fallback_only(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
            cur.close()

        engine.dispose()  # connections opened before this listener get it too (they are reopened)

    @classmethod
    def for_engine(cls, engine: Engine) -> "WalCheckpointer | None":
        """A started checkpointer for a file SQLite engine; None for PostgreSQL or in-memory SQLite."""
        if engine.url.get_backend_name() != "sqlite" or not engine.url.database or \
                engine.url.database == ":memory:":
            return None
        checkpointer = cls(engine)
        checkpointer._thread.start()
        return checkpointer

    def kick(self) -> None:
        """A push committed: checkpoint now, while the PC reads the answer."""
        self._kick.set()

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        try:
            while True:
                self._kick.wait(timeout=1.0)
                self._kick.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # busy or locked: the next round (or the fallback) catches up
                    log.warning("WAL checkpoint skipped", exc_info=True)
                if self._stop.is_set():
                    return
        finally:
            conn.close()
