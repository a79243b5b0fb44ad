"""Offline packages: a village's unsent changes in one file, for a USB stick.

Where a village PC has no network, ``taizhang export-package -o F`` writes its
pending changes (the same ``Change`` objects online sync pushes) and its
identity into one file.  The township collector's app or the county server
imports it; the server answers with a *receipt* (which changes it now holds,
which it refused and why) that goes back to the village on the same stick.
Only a receipt — or the next online sync — makes the village PC stop counting
those changes as unsent.

File format (``.tzpkg``): the magic line ``TZPKG1`` then gzip'd UTF-8 JSON::

    {"manifest": {format, version, package_id, created_at, org_code, org_name, device_id, user,
                  server_id, count, periods},
     "changes": [Change...],
     "sha256": hex digest of the canonical JSON of manifest+changes,
     "hmac":   HMAC-SHA256 of the same bytes with the device's package key}

Integrity: gzip's CRC and the SHA-256 catch a damaged or edited file.
Authentication: the package key is the SHA-256 of the device token this PC got
at sign-in (kept only in the OS keyring); the county server stores exactly that
hash for each device (``county_server.auth.token_hash``), so it can check the
HMAC without ever holding the token, and a package edited by hand, or claiming
another village's device, is refused.  A revoked device's packages are refused
too.  Receipts are signed with the same key, so a village only trusts a receipt
its own county server made for its own device.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import hmac
import json
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from storage import periods as P
from storage.repository import Change, Repository

MAGIC = b"TZPKG1\n"
RECEIPT_MAGIC = b"TZRCPT1\n"
FORMAT = "taizhang-package"
RECEIPT_FORMAT = "taizhang-receipt"
VERSION = 1


class PackageError(RuntimeError):
    """A package or receipt that cannot be used; the message says why, in Chinese."""


def package_key(token: str) -> bytes:
    """The HMAC key of a device: SHA-256 of its sign-in token (what the server stores)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def key_from_token_hash(token_hash_hex: str) -> bytes:
    """The same key on the server side, from the stored token hash."""
    return bytes.fromhex(token_hash_hex)


def _canonical(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _sign(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- packages


@dataclass
class Package:
    manifest: dict
    changes: list[Change]
    sha256: str
    signature: str
    body: bytes = field(repr=False, default=b"")  # the canonical bytes the signature covers

    @property
    def package_id(self) -> str:
        return self.manifest["package_id"]

    @property
    def org_code(self) -> str:
        return self.manifest["org_code"]

    @property
    def device_id(self) -> str:
        return self.manifest["device_id"]

    def verify(self, key: bytes) -> bool:
        return hmac.compare_digest(_sign(key, self.body), self.signature)

    def describe(self) -> str:
        m = self.manifest
        return (f"{m.get('org_name') or m['org_code']}（{m['org_code']}）于 {m['created_at'][:16].replace('T', ' ')}"
                f" 导出的 {m['count']} 条变更")


def build_package(repo: Repository, key: bytes, *, org_code: str, org_name: str = "", user: str = "",
                  server_id: str | None = None, page: int = 5000) -> tuple[bytes, Package]:
    """All pending changes of this PC as package bytes (nothing is marked sent: only a receipt does that)."""
    changes: list[Change] = []
    after = 0
    while True:
        rows = repo.pending_changes(limit=page, after_seq=after)
        if not rows:
            break
        changes.extend(c for _seq, c in rows)
        after = rows[-1][0]
    # Everything online sync would push goes in; the server applies the same scope checks per change.
    periods = sorted({p for c in changes if (p := _change_period(c))})
    manifest = {
        "format": FORMAT, "version": VERSION, "package_id": str(uuid.uuid4()),
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "org_code": org_code, "org_name": org_name, "device_id": repo.device_id, "user": user,
        "server_id": server_id, "count": len(changes), "periods": periods,
    }
    wire = [c.to_dict() for c in changes]
    body = _canonical({"manifest": manifest, "changes": wire})
    doc = {"manifest": manifest, "changes": wire, "sha256": hashlib.sha256(body).hexdigest(),
           "hmac": _sign(key, body)}
    data = MAGIC + gzip.compress(_canonical(doc), compresslevel=6)
    return data, Package(manifest, changes, doc["sha256"], doc["hmac"], body)


def _change_period(change: Change) -> str | None:
    from storage.schema import RECORD_TYPES

    rt = RECORD_TYPES.get(change.record_type)
    if rt is None:
        return None
    if rt.name == "period":
        return change.payload.get("period")
    if rt.date_field and change.payload.get(rt.date_field):
        try:
            return P.period_of(change.payload[rt.date_field])
        except ValueError:
            return None
    return None


def _open(data: bytes, magic: bytes, what: str) -> dict:
    if not data.startswith(magic):
        raise PackageError(f"这不是社区服务台账的{what}文件（文件开头不对），请确认选择了正确的文件")
    try:
        raw = gzip.decompress(data[len(magic):])
        return json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError):
        raise PackageError(f"{what}文件已损坏（校验失败），可能在拷贝时出错或被改动过。"
                           f"请让对方重新导出{what}后再导入") from None


def read_package(data: bytes) -> Package:
    """Parse and integrity-check a package (the signature is checked by whoever holds the key)."""
    doc = _open(data, MAGIC, "数据包")
    try:
        manifest, wire = doc["manifest"], doc["changes"]
        if manifest.get("format") != FORMAT:
            raise PackageError("这不是社区服务台账的数据包")
        if manifest.get("version") != VERSION:
            raise PackageError(f"数据包格式版本{manifest.get('version')}不受支持，请把程序升级到最新版本")
        body = _canonical({"manifest": manifest, "changes": wire})
        if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), str(doc.get("sha256"))):
            raise PackageError("数据包内容与校验值不符，文件已被改动或损坏，已拒绝导入。请让该村重新导出数据包")
        changes = [Change.from_dict(c) for c in wire]
        if len(changes) != manifest["count"]:
            raise PackageError("数据包中的变更条数与清单不符，已拒绝导入")
        return Package(manifest, changes, doc["sha256"], str(doc.get("hmac", "")), body)
    except (KeyError, TypeError) as exc:
        raise PackageError(f"数据包缺少必需的内容（{exc}），已拒绝导入") from None


def read_package_file(path: str | Path) -> Package:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PackageError(f"无法读取数据包文件“{path}”：{exc.strerror or exc}") from None
    return read_package(data)


# --------------------------------------------------------------------------- receipts


@dataclass
class Receipt:
    package_id: str
    org_code: str
    device_id: str
    held: list[str]  # change ids the server now holds (applied now, or already before)
    rejected: list[dict]  # [{change_id, message}]
    conflicts: list[dict]  # [{change_id, message}]
    at: str
    by: str
    signature: str = ""
    # the server's changes of this village's month-end states (returns, approvals, locks, reopenings), in
    # order: a village without network learns from the receipt what the township and county decided
    periods: list[dict] = field(default_factory=list)

    def body(self) -> bytes:
        d = self.__dict__.copy()
        d.pop("signature")
        return _canonical({"format": RECEIPT_FORMAT, "version": VERSION, **d})

    def sign(self, key: bytes) -> "Receipt":
        self.signature = _sign(key, self.body())
        return self

    def verify(self, key: bytes) -> bool:
        return hmac.compare_digest(_sign(key, self.body()), self.signature)

    def to_bytes(self) -> bytes:
        doc = json.loads(self.body())
        doc["hmac"] = self.signature
        return RECEIPT_MAGIC + gzip.compress(_canonical(doc))

    def to_dict(self) -> dict:
        return self.__dict__.copy()

    @classmethod
    def from_dict(cls, d: dict) -> "Receipt":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def summary(self) -> str:
        parts = [f"县级服务器已收到 {len(self.held)} 条"]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} 条与别处的修改冲突，将在下次联网同步时请您选择保留哪一版")
        if self.rejected:
            parts.append(f"{len(self.rejected)} 条被拒绝：" + "；".join(
                sorted({r["message"] for r in self.rejected})[:5]))
        return "，".join(parts)


def read_receipt(data: bytes) -> Receipt:
    doc = _open(data, RECEIPT_MAGIC, "回执")
    if doc.get("format") != RECEIPT_FORMAT:
        raise PackageError("这不是社区服务台账的回执文件")
    try:
        doc["signature"] = doc.pop("hmac")
        return Receipt.from_dict(doc)
    except KeyError as exc:
        raise PackageError(f"回执缺少必需的内容（{exc}）") from None


def apply_receipt(repo: Repository, receipt: Receipt, key: bytes) -> int:
    """Mark the changes the server holds as sent; returns how many local changes were pending and now are not."""
    if receipt.device_id != repo.device_id:
        raise PackageError("这份回执不是给本机的（设备编号不符），请确认是本村导出的数据包的回执")
    if not receipt.verify(key):
        raise PackageError("回执的签名不对：它不是县级服务器为本机开具的，或已被改动。本机不会据此把数据标为已上传")
    pending = {c.change_id for _s, c in repo.pending_changes(limit=10_000_000)}
    held = [cid for cid in receipt.held if cid in pending]
    with repo.engine.begin() as conn:
        repo.mark_acked(held, conn=conn)
        for d in receipt.periods:
            change = Change.from_dict(d)
            if change.record_type == "period" and change.org_code == repo.get_setting("org_code"):
                # already known (duplicate) or changed here since (conflict: the next sync settles it)
                repo.apply_change(conn, change, sync_state="remote")
    return len(held)


# --------------------------------------------------------------------------- a township collector's PC


@dataclass
class LocalImport:
    package: Package
    applied: int = 0
    duplicate: int = 0
    conflict: int = 0
    rejected: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"{self.package.describe()}：本机新写入 {self.applied} 条，已有 {self.duplicate} 条"
                + (f"，{self.conflict} 条与本机数据冲突（以县级服务器为准）" if self.conflict else ""))
        if self.rejected:
            text += f"，{len(self.rejected)} 条被拒绝：" + "；".join(sorted(set(self.rejected))[:5])
        return text


def import_locally(repo: Repository, package: Package, *, role: str, actor_org: str) -> LocalImport:
    """Apply a village's package on a township (or county) PC for review, in one transaction.

    Scope as for online sync: a township PC takes only its own villages' packages.
    The changes are stored as 'remote' (this PC does not push them again: the
    package itself goes to the server, which checks its signature).
    """
    if not P.in_scope(role, actor_org, package.org_code) or role == "village":
        raise PackageError(f"数据包属于{package.manifest.get('org_name') or ''}（{package.org_code}），"
                           f"不在本机单位（{actor_org}）的管辖范围内，已拒绝导入")
    result = LocalImport(package)
    with repo.engine.begin() as conn:
        for change in package.changes:
            if change.record_type == "org_unit" and role not in ("county", "admin"):
                result.rejected.append("组织机构由县民政局统一维护，村里的修改不导入")
                continue
            if not P.in_scope(role, actor_org, change.org_code):
                result.rejected.append(f"{change.org_code}的记录不在本机单位的管辖范围内")
                continue
            outcome, message = repo.apply_change(conn, change, sync_state="remote")
            if outcome == "applied":
                result.applied += 1
            elif outcome == "duplicate":
                result.duplicate += 1
            elif outcome == "conflict":
                result.conflict += 1
            else:
                result.rejected.append(message or "")
    return result
