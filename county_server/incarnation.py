"""This server's incarnation: a new one whenever its database may have gone back in time.

A pull cursor is ``incarnation:seq``.  A server restored from a backup holds fewer changes
than its PCs have seen, and its ``change_log.seq`` then climbs again over numbers the PCs
already passed: a PC whose cursor lies below the new end would silently skip what was pushed
since the restore.  So a restored server takes a new incarnation, and a cursor of another
incarnation makes the PC pull everything again (``sync.client``: unsent changes stay unsent).

The server's ``server_id`` cannot tell: it is *in* the database and comes back with the backup.
The incarnation is kept twice — a marker in the database (``server_info``) and a file beside it
in the data directory, outside the database, with the highest ``seq`` seen — and compared at
every start (``settle``).  A new incarnation when:
  * the marker is missing: a new database, or ``restore-county-db.sh`` deleted it after restoring;
  * the file is missing or names another incarnation: the database was copied back from a
    backup taken in an earlier run (or the data directory is new);
  * the database's highest ``seq`` is below the file's: copied back from the same run
    (the file's high-water is written at start and at a clean stop).
Every answer carries the incarnation in the ``X-Taizhang-Incarnation`` header.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from county_server.models import ServerInfo
from storage.models import ChangeLog
from sync.protocol import INCARNATION_HEADER

log = logging.getLogger("taizhang-server")

MARKER_KEY = "incarnation"


def file_for(engine: Engine) -> Path:
    """The incarnation file of this database (one per database URL, in the data directory)."""
    explicit = os.environ.get("TAIZHANG_INCARNATION_FILE")
    if explicit:
        return Path(explicit)
    from storage.db import data_dir

    url = engine.url.render_as_string(hide_password=True)
    return data_dir() / f"server-incarnation-{hashlib.sha256(url.encode()).hexdigest()[:12]}.json"


def marker(engine: Engine) -> str | None:
    t = ServerInfo.__table__
    with engine.connect() as conn:
        return conn.execute(select(t.c.value).where(t.c.key == MARKER_KEY)).scalar()


def _high_water(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.max(ChangeLog.seq))).scalar() or 0


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data.get("incarnation"), str) and isinstance(data.get("high_water"), int) else None
    except (OSError, ValueError, AttributeError):
        return None


def _write(path: Path, incarnation: str, high_water: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"incarnation": incarnation, "high_water": high_water}), encoding="utf-8")
    os.replace(tmp, path)


def settle(engine: Engine, path: Path | None = None) -> str:
    """At start, before any worker answers: this database's incarnation, a new one if it went back in time."""
    path = path or file_for(engine)
    current, seen, high = marker(engine), _read(path), _high_water(engine)
    reason = None
    if current is None:
        reason = "数据库中没有实例标记（新数据库或刚恢复）"
    elif seen is None:
        reason = f"找不到实例文件 {path}"
    elif seen["incarnation"] != current:
        reason = "数据库与实例文件不一致（数据库是从备份拷回的）"
    elif high < seen["high_water"]:
        reason = f"数据库的变更序号（{high}）低于上次运行时（{seen['high_water']}），数据库是从备份拷回的"
    if reason is not None:
        current = str(uuid.uuid4())
        t = ServerInfo.__table__
        with engine.begin() as conn:
            if conn.execute(select(t.c.key).where(t.c.key == MARKER_KEY)).first():
                conn.execute(update(t).where(t.c.key == MARKER_KEY).values(value=current))
            else:
                conn.execute(insert(t).values(key=MARKER_KEY, value=current))
        log.warning("新的服务器实例 %s：%s；各电脑下次同步时将重新下载全部数据", current, reason)
    _write(path, current, high)
    return current


def record_clean_stop(engine: Engine, incarnation: str, path: Path | None = None) -> None:
    """At a clean stop: the high-water the next start compares with."""
    path = path or file_for(engine)
    if marker(engine) == incarnation:
        _write(path, incarnation, _high_water(engine))


class IncarnationHeaderMiddleware:
    """Adds ``X-Taizhang-Incarnation`` to every answer (errors included)."""

    def __init__(self, app, incarnation: str):
        self.app, self.value = app, incarnation.encode("ascii")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_header(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (INCARNATION_HEADER.lower().encode(), self.value)]
            await send(message)

        await self.app(scope, receive, send_with_header)
