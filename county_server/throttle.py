"""Sign-in throttling (GB/T 22239-2019 8.1.4.1 b, 登录失败处理): per account name and per client address.

After ``MAX_FAILURES`` failed sign-ins in a row (within ``WINDOW``) the name or the address is
locked for ``FIRST_LOCK``, doubling with every further failure up to ``LONGEST_LOCK``.  While
locked, every sign-in is refused with 429 before the password is even checked — the right
password too — and the message is the same whether the account exists or not (the name is
counted as typed).  A success clears the account's count, never the address's (one valid
account must not reset a guesser's count).  Every failure, lock and unlock is recorded
(``server_login_event``) for the county; ``taizhang-server admin unlock NAME`` lifts a lock.
The state lives in the database, so every server worker process sees the same counts.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from county_server.models import LoginEvent, LoginThrottle, utcnow
from county_server.writer import write_transaction
from storage.db import nested_transaction

log = logging.getLogger("taizhang-server.auth")

MAX_FAILURES = 5
FIRST_LOCK = dt.timedelta(minutes=1)
LONGEST_LOCK = dt.timedelta(hours=1)
WINDOW = dt.timedelta(hours=1)  # failures older than this (and no lock) are forgotten
E_LOCKED = "login_locked"


def account_key(name: str) -> str:
    return "account:" + name.strip()[:100]


def address_key(address: str) -> str:
    return "address:" + (address or "unknown")[:64]


def lock_length(failures: int) -> dt.timedelta:
    """The lock after the ``failures``-th failure in a row (none before ``MAX_FAILURES``)."""
    if failures < MAX_FAILURES:
        return dt.timedelta(0)
    return min(FIRST_LOCK * 2 ** min(failures - MAX_FAILURES, 20), LONGEST_LOCK)


def locked_message(until: dt.datetime, now: dt.datetime) -> str:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return (f"登录失败次数过多，已暂时锁定，请{minutes}分钟后再试。"
            "如忘记密码或急需登录，请联系县民政局信息管理员解锁")


def locked_until(engine: Engine, name: str, address: str) -> dt.datetime | None:
    """When the later of the account's and the address's locks ends, or None when neither is locked."""
    t = LoginThrottle.__table__
    now = utcnow()
    with engine.connect() as conn:
        ends = conn.execute(select(t.c.locked_until).where(
            t.c.key.in_([account_key(name), address_key(address)]), t.c.locked_until > now)).scalars().all()
    return max(ends) if ends else None


def record_failure(engine: Engine, name: str, address: str) -> None:
    now = utcnow()
    name = name.strip()[:100]
    with write_transaction(engine) as conn:
        conn.execute(insert(LoginEvent).values(at=now, kind="failure", account=name, address=address[:64]))
        for key in (account_key(name), address_key(address)):
            failures = _count_failure(conn, key, now)
            length = lock_length(failures)
            if length:
                until = now + length
                conn.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(locked_until=until))
                conn.execute(insert(LoginEvent).values(
                    at=now, kind="lock", account=name, address=address[:64],
                    detail=f"{key} 连续失败{failures}次，锁定至 {until.isoformat(timespec='seconds')}"))
                log.warning("登录已暂时锁定：%s 连续失败 %d 次，锁定至 %s", key, failures, until.isoformat(timespec="seconds"))


def _count_failure(conn, key: str, now: dt.datetime) -> int:
    t = LoginThrottle.__table__
    row = conn.execute(select(t.c.failures, t.c.last_failure, t.c.locked_until).where(t.c.key == key)).first()
    if row is None:
        try:
            with nested_transaction(conn):
                conn.execute(insert(t).values(key=key, failures=1, last_failure=now))
            return 1
        except IntegrityError:  # another worker inserted it a moment ago
            row = conn.execute(select(t.c.failures, t.c.last_failure, t.c.locked_until).where(t.c.key == key)).first()
    stale = row.last_failure < now - WINDOW and (row.locked_until is None or row.locked_until < now)
    failures = 1 if stale else row.failures + 1
    conn.execute(update(t).where(t.c.key == key).values(failures=failures, last_failure=now))
    return failures


def record_success(engine: Engine, name: str) -> None:
    t = LoginThrottle.__table__
    key = account_key(name)
    with engine.connect() as conn:
        if conn.execute(select(t.c.key).where(t.c.key == key)).first() is None:
            return  # the usual case: nothing to clear, no write
    with write_transaction(engine) as conn:
        conn.execute(delete(t).where(t.c.key == key))


def unlock(engine: Engine, name: str | None = None, address: str | None = None, by: str = "管理员") -> int:
    """Lift the lock and forget the failures of an account name and/or an address; returns how many were locked."""
    t = LoginThrottle.__table__
    keys = ([account_key(name)] if name else []) + ([address_key(address)] if address else [])
    now = utcnow()
    with write_transaction(engine) as conn:
        locked = conn.execute(select(t.c.key).where(t.c.key.in_(keys), t.c.locked_until > now)).scalars().all()
        conn.execute(delete(t).where(t.c.key.in_(keys)))
        conn.execute(insert(LoginEvent).values(at=now, kind="unlock", account=(name or "")[:100],
                                               address=(address or "")[:64], detail=f"{by}解锁：{'、'.join(keys)}"))
    return len(locked)


def current_locks(engine: Engine) -> list[dict]:
    t = LoginThrottle.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.locked_until > utcnow()).order_by(t.c.key)).mappings().all()
    return [dict(r) for r in rows]
