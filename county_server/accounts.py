"""Accounts at the county: list, disable/enable, one-time passwords, own password changes, and the
record of every admin action (``server_admin_log``).

A disabled account's device tokens stop working at their next request (``auth.authenticate`` reads
the account on every request).  ``reset_password`` sets a one-time password: signing in with it only
works together with a new password (``auth.login(..., new_password=…)``; ``taizhang login`` asks).
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from county_server.models import Account, AdminAction, Device, utcnow

MIN_PASSWORD = 8
# no 0/O, 1/l/I: read aloud over the phone to a village
_OTP_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ"


def check_new_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValueError(f"新密码至少需要{MIN_PASSWORD}个字符，请换一个更长的密码")


def admin_actor() -> str:
    """Who ran an admin command: the operating-system user and host (the server CLI has no sign-in)."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        user = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return f"{user}@{socket.gethostname()}"


def record_action(engine: Engine, action: str, target: str = "", detail: str = "", actor: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(AdminAction.__table__.insert().values(at=utcnow(), actor=actor or admin_actor(), action=action,
                                                           target=target, detail=detail))


def admin_log(engine: Engine, limit: int = 200) -> list[dict]:
    t = AdminAction.__table__
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t).order_by(t.c.id.desc()).limit(limit)).mappings()]


def _account(conn, name: str) -> dict:
    accounts = Account.__table__
    row = conn.execute(select(accounts).where(accounts.c.name == name.strip())).mappings().first()
    if row is None:
        raise ValueError(f"没有名为“{name}”的账号，请用 admin users 查看账号")
    return dict(row)


def list_accounts(engine: Engine) -> list[dict]:
    accounts, devices = Account.__table__, Device.__table__
    live = (select(devices.c.account_id, func.count().label("devices")).where(devices.c.revoked_at.is_(None))
            .group_by(devices.c.account_id).subquery())
    with engine.connect() as conn:
        rows = conn.execute(select(accounts, func.coalesce(live.c.devices, 0).label("devices"))
                            .outerjoin(live, live.c.account_id == accounts.c.id)
                            .order_by(accounts.c.org_code, accounts.c.name)).mappings().all()
    return [dict(r) for r in rows]


def set_disabled(engine: Engine, name: str, disabled: bool) -> dict:
    with engine.begin() as conn:
        acc = _account(conn, name)
        conn.execute(update(Account.__table__).where(Account.__table__.c.id == acc["id"]).values(disabled=disabled))
    record_action(engine, "disable" if disabled else "enable", acc["name"])
    return acc


def reset_password(engine: Engine, name: str) -> str:
    """A new one-time password (returned once, stored only as a hash) that must be changed at sign-in."""
    from county_server.auth import hash_password

    one_time = "".join(secrets.choice(_OTP_ALPHABET) for _ in range(12))
    with engine.begin() as conn:
        acc = _account(conn, name)
        conn.execute(update(Account.__table__).where(Account.__table__.c.id == acc["id"]).values(
            password_hash=hash_password(one_time), must_change_password=True))
    record_action(engine, "reset-password", acc["name"], "一次性密码，须在下次登录时修改")
    return one_time


def change_password(engine: Engine, account_id: int, new_password: str, *, actor: str) -> None:
    """The account's own change (at sign-in): a new hash, the one-time flag cleared, recorded."""
    from county_server.auth import hash_password

    check_new_password(new_password)
    with engine.begin() as conn:
        conn.execute(update(Account.__table__).where(Account.__table__.c.id == account_id).values(
            password_hash=hash_password(new_password), must_change_password=False))
        name = conn.execute(select(Account.__table__.c.name).where(Account.__table__.c.id == account_id)).scalar()
    record_action(engine, "change-password", name or "", "本人修改密码", actor=actor)


__all__ = ["list_accounts", "set_disabled", "reset_password", "change_password", "record_action", "admin_log",
           "admin_actor", "check_new_password", "MIN_PASSWORD"]
