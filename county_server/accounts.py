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


def get_account(engine: Engine, name: str) -> dict:
    """The account row; raises ValueError (Chinese) when there is none of that name."""
    with engine.connect() as conn:
        return _account(conn, name)


def account_devices(engine: Engine, account_ids: list[int] | None = None) -> dict[int, list[dict]]:
    """Live (not revoked) devices per account id, most recently seen first."""
    devices = Device.__table__
    query = select(devices.c.id, devices.c.account_id, devices.c.device_name, devices.c.created_at,
                   devices.c.last_seen).where(devices.c.revoked_at.is_(None))
    if account_ids is not None:
        query = query.where(devices.c.account_id.in_(account_ids))
    out: dict[int, list[dict]] = {}
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(devices.c.last_seen.desc())).mappings():
            out.setdefault(row["account_id"], []).append(dict(row))
    return out


def _one_time_password() -> str:
    return "".join(secrets.choice(_OTP_ALPHABET) for _ in range(12))


def create_account(engine: Engine, name: str, role: str, org_code: str, *, actor: str | None = None) -> str:
    """A new account with a one-time password (returned once) that must be changed at the first sign-in:
    whoever creates the account never chooses, and so never knows, its working password."""
    from county_server.auth import add_account

    one_time = _one_time_password()
    add_account(engine, name, one_time, role, org_code, must_change_password=True)
    record_action(engine, "add-user", name.strip(), f"{role} {org_code}，一次性密码", actor=actor)
    return one_time


def set_disabled(engine: Engine, name: str, disabled: bool, *, actor: str | None = None) -> dict:
    with engine.begin() as conn:
        acc = _account(conn, name)
        conn.execute(update(Account.__table__).where(Account.__table__.c.id == acc["id"]).values(disabled=disabled))
    record_action(engine, "disable" if disabled else "enable", acc["name"], actor=actor)
    return acc


def reset_password(engine: Engine, name: str, *, actor: str | None = None) -> str:
    """A new one-time password (returned once, stored only as a hash) that must be changed at sign-in."""
    from county_server.auth import hash_password

    one_time = _one_time_password()
    with engine.begin() as conn:
        acc = _account(conn, name)
        conn.execute(update(Account.__table__).where(Account.__table__.c.id == acc["id"]).values(
            password_hash=hash_password(one_time), must_change_password=True))
    record_action(engine, "reset-password", acc["name"], "一次性密码，须在下次登录时修改", actor=actor)
    return one_time


def set_role(engine: Engine, name: str, role: str, org_code: str, *, actor: str | None = None) -> int:
    """Give the account another role and org unit; returns how many of its devices were signed out.

    Its PCs are signed out (devices revoked): a PC holds the ledger of the unit it signed in for,
    and must not go on syncing it under the account's new scope."""
    from county_server.auth import check_role_and_org

    check_role_and_org(role, org_code)
    accounts, devices = Account.__table__, Device.__table__
    with engine.begin() as conn:
        acc = _account(conn, name)
        conn.execute(update(accounts).where(accounts.c.id == acc["id"]).values(role=role, org_code=org_code))
        signed_out = conn.execute(update(devices).where(devices.c.account_id == acc["id"],
                                                        devices.c.revoked_at.is_(None))
                                  .values(revoked_at=utcnow())).rowcount
    record_action(engine, "set-role", acc["name"],
                  f"{acc['role']} {acc['org_code']} → {role} {org_code}，{signed_out}台电脑须重新登录", actor=actor)
    return signed_out


def revoke_account_device(engine: Engine, name: str, device_id: str, *, actor: str | None = None) -> dict:
    """Sign one of the account's PCs out (a lost or replaced PC)."""
    devices = Device.__table__
    with engine.begin() as conn:
        acc = _account(conn, name)
        row = conn.execute(select(devices).where(devices.c.id == device_id.strip(),
                                                 devices.c.account_id == acc["id"])).mappings().first()
        if row is None:
            raise ValueError(f"账号“{acc['name']}”没有编号为“{device_id}”的电脑，请刷新列表后再试")
        if row["revoked_at"] is None:
            conn.execute(update(devices).where(devices.c.id == row["id"]).values(revoked_at=utcnow()))
    record_action(engine, "revoke-device", acc["name"], f"{row['id']} {row['device_name']}", actor=actor)
    return dict(row)


def unlock_account(engine: Engine, name: str, *, actor: str | None = None) -> bool:
    """Lift a sign-in lock (too many wrong passwords); True if the account was locked."""
    from county_server import throttle

    acc = get_account(engine, name)
    was = throttle.unlock(engine, acc["name"], by=actor or admin_actor())
    record_action(engine, "unlock", acc["name"], "解除登录锁定" if was else "未锁定，失败次数已清零", actor=actor)
    return bool(was)


def change_password(engine: Engine, account_id: int, new_password: str, *, actor: str) -> None:
    """The account's own change (at sign-in): a new hash, the one-time flag cleared, recorded."""
    from county_server.auth import hash_password

    check_new_password(new_password)
    with engine.begin() as conn:
        conn.execute(update(Account.__table__).where(Account.__table__.c.id == account_id).values(
            password_hash=hash_password(new_password), must_change_password=False))
        name = conn.execute(select(Account.__table__.c.name).where(Account.__table__.c.id == account_id)).scalar()
    record_action(engine, "change-password", name or "", "本人修改密码", actor=actor)


__all__ = ["list_accounts", "get_account", "account_devices", "create_account", "set_disabled", "reset_password",
           "set_role", "revoke_account_device", "unlock_account", "change_password", "record_action", "admin_log",
           "admin_actor", "check_new_password", "MIN_PASSWORD"]
