"""Accounts, passwords and device tokens.

Passwords: scrypt (n=2**15, r=8, p=1; ~0.1 s and 32 MB per check) with a
16-byte random salt, stored as ``scrypt$n$r$p$salt_hex$hash_hex``.
Device tokens: 32 random bytes handed to the PC once; the server keeps only
their SHA-256, so a copy of the server database does not let anyone sync.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from county_server.models import Account, Device, utcnow
from county_server.writer import write_transaction
from storage.orgcode import OrgCode

ROLES = ("village", "township", "county", "admin")
ROLE_LABELS = {"village": "村(社区)", "township": "乡镇/街道", "county": "县民政局", "admin": "管理员"}
LEVEL_LABELS = {"village": "村(社区)级", "township": "乡镇/街道级", "county": "县级"}
TOKEN_DAYS = 180

_SCRYPT = dict(n=2 ** 15, r=8, p=1)
# Each check takes 32 MB for ~0.1 s: at month end 50 PCs signing in at once must not take 1.6 GB.
# Checks beyond these slots wait their turn (per server process).
_SCRYPT_SLOTS = threading.BoundedSemaphore(2)


class AuthError(RuntimeError):
    """Sign-in or token failure; ``code`` is a protocol error code, the message Chinese."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, maxmem=64 * 1024 * 1024, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    with _SCRYPT_SLOTS:
        got = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=64 * 1024 * 1024, dklen=len(digest) // 2)
    return hmac.compare_digest(got.hex(), digest)


_DUMMY_HASH = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account and the device (server-side device row id)."""

    account_id: int
    name: str
    role: str
    org_code: str
    device_id: str


def check_role_and_org(role: str, org_code: str) -> None:
    """Raises ValueError (Chinese) unless ``org_code`` is a valid code of the level ``role`` works at."""
    from storage.validation import check_org_code

    if role not in ROLES:
        raise ValueError(f"角色“{role}”无效，请使用 village、township、county 或 admin 之一")
    issues = check_org_code(org_code, "所属区划代码")
    if issues or not org_code:
        raise ValueError(issues[0].message if issues else "请用 --org 指定账号所属的区划代码")
    level = OrgCode(org_code).level
    if role != "admin" and level != role:
        raise ValueError(f"{ROLE_LABELS[role]}账号必须绑定{LEVEL_LABELS[role]}的区划代码，"
                         f"{org_code}是{LEVEL_LABELS.get(level, level)}的代码")


def add_account(engine: Engine, name: str, password: str, role: str, org_code: str, *,
                must_change_password: bool = False) -> int:
    """A new account; ``must_change_password``: the password is a one-time one (changed at the first sign-in)."""
    name = name.strip()
    if not name:
        raise ValueError("用户名不能为空")
    check_role_and_org(role, org_code)
    if len(password) < 8:
        raise ValueError("密码至少需要8位，请换一个更长的密码")
    table = Account.__table__
    with engine.begin() as conn:
        if conn.execute(select(table.c.id).where(table.c.name == name)).first():
            raise ValueError(f"用户名“{name}”已存在，请换一个用户名")
        result = conn.execute(table.insert().values(name=name, password_hash=hash_password(password), role=role,
                                                    org_code=org_code, disabled=False, created_at=utcnow(),
                                                    must_change_password=must_change_password))
        return int(result.inserted_primary_key[0])


def login(engine: Engine, name: str, password: str, client_device_id: str, device_name: str,
          package_public_key: str | None = None, new_password: str | None = None
          ) -> tuple[str, dt.datetime, Principal]:
    """Check the password and issue a new device token (one device row per PC and account).

    ``new_password``: the account's own password change (``taizhang passwd``), required after
    ``admin reset-password`` — a one-time password signs in only together with a new one.

    ``package_public_key``: the Ed25519 public key (base64) the PC made for this sign-in; it replaces
    the device's previous one (older programs send none: their packages are refused).
    """
    global _DUMMY_HASH
    if package_public_key is not None:
        from sync.package import public_key_from_text

        try:
            public_key_from_text(package_public_key)
        except ValueError as exc:
            raise AuthError("bad_request", f"登录请求中的{exc}，请升级台账程序后重新登录") from None
    accounts = Account.__table__
    with engine.connect() as conn:
        acc = conn.execute(select(accounts).where(accounts.c.name == name.strip())).mappings().first()
    if acc is None:
        # same work as a real check, so that timing does not tell which user names exist
        _DUMMY_HASH = _DUMMY_HASH or hash_password("x" * 12)
        verify_password(password, _DUMMY_HASH)
        raise AuthError("auth_failed", "用户名或密码不正确，请检查后重新输入")
    if not verify_password(password, acc["password_hash"]):
        raise AuthError("auth_failed", "用户名或密码不正确，请检查后重新输入")
    if acc["disabled"]:
        raise AuthError("auth_failed", "该账号已停用，请联系县民政局信息管理员")
    from county_server import accounts as A

    if new_password is not None:
        try:
            A.check_new_password(new_password)
        except ValueError as exc:
            raise AuthError("bad_request", str(exc)) from None
        A.change_password(engine, acc["id"], new_password, actor=f"{acc['name']}（{device_name[:60]}）")
    elif acc.get("must_change_password"):
        raise AuthError("password_change_required",
                        "这是县民政局重置的一次性密码，只能用来设置新密码。请输入新密码（至少8个字符）后重新登录")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + dt.timedelta(days=TOKEN_DAYS)
    devices = Device.__table__
    with write_transaction(engine) as conn:
        conn.execute(update(Account.__table__).where(Account.__table__.c.id == acc["id"]).values(last_login=now))
        existing = conn.execute(select(devices.c.id).where(
            devices.c.account_id == acc["id"], devices.c.client_device_id == client_device_id,
            devices.c.revoked_at.is_(None))).scalar()
        if existing:
            device_id = existing
            conn.execute(update(devices).where(devices.c.id == existing).values(
                token_hash=token_hash(token), expires_at=expires, last_seen=now, device_name=device_name[:200],
                package_public_key=package_public_key))
        else:
            device_id = str(uuid.uuid4())
            conn.execute(devices.insert().values(
                id=device_id, account_id=acc["id"], client_device_id=client_device_id,
                device_name=device_name[:200], token_hash=token_hash(token), created_at=now, expires_at=expires,
                last_seen=now, revoked_at=None, package_public_key=package_public_key))
    return token, expires, Principal(acc["id"], acc["name"], acc["role"], acc["org_code"], device_id)


def authenticate(engine: Engine, token: str | None) -> Principal:
    if not token:
        raise AuthError("token_invalid", "尚未登录县级服务器，请先登录（taizhang login）")
    devices, accounts = Device.__table__, Account.__table__
    with engine.connect() as conn:
        row = conn.execute(
            select(devices.c.id, devices.c.expires_at, devices.c.revoked_at, accounts.c.id.label("account_id"),
                   accounts.c.name, accounts.c.role, accounts.c.org_code, accounts.c.disabled)
            .join(accounts, accounts.c.id == devices.c.account_id)
            .where(devices.c.token_hash == token_hash(token))).mappings().first()
    if row is None:
        raise AuthError("token_invalid", "本机的登录凭据无效，请重新登录县级服务器")
    if row["revoked_at"] is not None:
        raise AuthError("token_invalid", "本机的登录已被县民政局信息管理员撤销，请重新登录县级服务器")
    if row["disabled"]:
        raise AuthError("token_invalid", "该账号已停用，请联系县民政局信息管理员")
    if row["expires_at"] < utcnow():
        raise AuthError("token_expired", "本机的登录已过期，请重新登录县级服务器")
    return Principal(row["account_id"], row["name"], row["role"], row["org_code"], row["id"])


def touch_device(engine: Engine, device_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(Device.__table__).where(Device.__table__.c.id == device_id).values(last_seen=utcnow()))


def list_devices(engine: Engine) -> list[dict]:
    devices, accounts = Device.__table__, Account.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(devices, accounts.c.name.label("account"), accounts.c.org_code)
                            .join(accounts, accounts.c.id == devices.c.account_id)
                            .order_by(devices.c.created_at)).mappings().all()
    return [dict(r) for r in rows]


def revoke_device(engine: Engine, device_id: str) -> dict:
    """Revoke by full id or a unique prefix (at least 4 characters)."""
    devices = Device.__table__
    device_id = device_id.strip()
    if len(device_id) < 4:
        raise ValueError("设备编号至少输入前4位")
    with engine.begin() as conn:
        rows = conn.execute(select(devices).where(devices.c.id.like(device_id + "%"))).mappings().all()
        if not rows:
            raise ValueError(f"没有编号为“{device_id}”的设备，请用 admin devices 查看设备编号")
        if len(rows) > 1:
            raise ValueError(f"有多台设备的编号以“{device_id}”开头，请输入更多位")
        row = dict(rows[0])
        if row["revoked_at"] is None:
            conn.execute(update(devices).where(devices.c.id == row["id"]).values(revoked_at=utcnow()))
    return row
