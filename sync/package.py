"""Offline packages: a village's unsent changes in one file, for a USB stick.

Where a village PC has no network, ``taizhang export-package -o F`` writes its
pending changes (the same ``Change`` objects online sync pushes) and its
identity into one file.  The township collector's app or the county server
imports it; the server answers with a *receipt* (which changes it now holds,
which it refused and why) that goes back to the village on the same stick.
Only a receipt — or the next online sync — makes the village PC stop counting
those changes as unsent.

File format (``.tzpkg``): the magic line ``TZPKG1`` (the container) then gzip'd UTF-8 JSON::

    {"manifest": {format, version (2), package_id, created_at, org_code, org_name, device_id, user,
                  server_id, count, periods, key_id},
     "changes": [Change...],
     "sha256":    hex digest of the canonical JSON of manifest+changes,
     "signature": Ed25519 signature of the same bytes by the device's signing key (base64)}

Integrity: gzip's CRC and the SHA-256 catch a damaged or edited file.
Authentication (format 2): at sign-in the PC makes an Ed25519 key pair; the private
key stays in the OS keyring next to the device token and never leaves the PC, the
public key goes to the county server, which keeps it with the device.  The server
verifies a package with that public key, so neither a hand-edited package nor one
claiming another village's device, nor one made by someone who has read the server's
database (it holds only public keys and token hashes), is accepted.  Receipts go the
other way: the server signs them with its own key (a file in its data directory, never
in the database, ``county_server.signing``), whose public key the PC got at sign-in.

Confidentiality (container ``TZPKG2``): the signed package above is then encrypted to the county
server's X25519 public key, which the PC got at sign-in, so a lost USB stick discloses nothing —
neither the raw bytes nor anything decompressed from them carry a record's values.  The
construction is the standard ECIES-style hybrid from ``cryptography``'s primitives: an ephemeral
X25519 key pair per package, HKDF-SHA256 over the shared secret (info binds both public keys), and
AES-256-GCM with a random 96-bit nonce; the header line (algorithm, recipient key id, ephemeral
public key, nonce) is the AEAD's associated data, so it cannot be altered either.  Only the holder
of the county's private key can open it: the county server (``county_server.signing``), or a
township collector's PC the county gave that key to (``taizhang package-key``, OS keyring only).

Format 1 (HMAC keyed with the SHA-256 of the device token — exactly what the server
stores, so a copy of the server database could forge packages and receipts) is
refused with a message saying to upgrade and sign in again.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import hashlib
import hmac
import json
import os
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reports.fill.library import save_pulled
from storage import periods as P
from storage.repository import Change, Repository
from storage.schema import RECORD_TYPES

MAGIC = b"TZPKG1\n"  # the container's magic line; the format version is in the manifest
SEALED_MAGIC = b"TZPKG2\n"  # a TZPKG1 container encrypted to the county's key
SEALED_ALG = "X25519-HKDF-SHA256-AES256GCM"
RECEIPT_MAGIC = b"TZRCPT1\n"
FORMAT = "taizhang-package"
RECEIPT_FORMAT = "taizhang-receipt"
VERSION = 2  # 2: Ed25519 signatures (1: HMAC with the token hash, refused)
LEGACY_VERSION = 1
SIGNATURE = "ed25519"

S_RECEIPT_KEY = "sync.receipt_key"  # setting: the county server's receipt public key, from sign-in (not a secret)
S_COUNTY_KEY = "sync.package_encryption_key"  # setting: the county's X25519 public key, from sign-in (not a secret)

LEGACY_PACKAGE_MESSAGE = (
    "这个数据包是旧版本台账程序导出的（格式版本1，签名用的是登录凭据，县级服务器数据库的副本就足以伪造），"
    "现已不再接受，未导入任何数据。请该村把台账程序升级到最新版本，联网重新登录一次（taizhang login），再重新导出数据包")
LEGACY_RECEIPT_MESSAGE = (
    "这份回执是旧版本县级服务器开具的（格式版本1，签名不够安全），本机不据此把数据标为已上传。"
    "请在本机重新导出数据包交给乡镇（如提示需要重新登录，请先联网登录一次：taizhang login），"
    "由升级后的县级服务器开具新回执（重复导入不会重复写入）")


class PackageError(RuntimeError):
    """A package or receipt that cannot be used; the message says why, in Chinese."""


# --------------------------------------------------------------------------- keys


def new_signing_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 key pair (a PC's at sign-in, or the county server's receipt key)."""
    return Ed25519PrivateKey.generate()


def private_key_text(key: Ed25519PrivateKey) -> str:
    """The 32-byte private key, base64 — for the OS keyring only."""
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        return Ed25519PrivateKey.from_private_bytes(raw)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise PackageError("本机保存的数据包签名密钥已损坏，请联网重新登录一次（taizhang login）") from None


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The 32-byte public key, base64: what the other side keeps."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Parse a base64 public key; ValueError (Chinese) if it is not one."""
    try:
        raw = base64.b64decode(str(text).encode("ascii"), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise ValueError("签名公钥格式不正确（应为 Ed25519 公钥，32字节，base64）") from None


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey | str) -> str:
    """A short fingerprint of a public key (names the key in a package; not a secret)."""
    text = key if isinstance(key, str) else public_key_text(key)
    return hashlib.sha256(base64.b64decode(text)).hexdigest()[:16]


def _public(key: Ed25519PublicKey | str) -> Ed25519PublicKey:
    return public_key_from_text(key) if isinstance(key, str) else key


def _canonical(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _sign(key: Ed25519PrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body)).decode("ascii")


def _verify(key: Ed25519PublicKey | str, body: bytes, signature: str) -> bool:
    try:
        _public(key).verify(base64.b64decode(str(signature).encode("ascii"), validate=True), body)
        return True
    except (InvalidSignature, ValueError, binascii.Error, UnicodeEncodeError):
        return False


# --------------------------------------------------------------------------- encryption to the county


def new_encryption_key() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def x25519_public_text(key: X25519PrivateKey | X25519PublicKey) -> str:
    if isinstance(key, X25519PrivateKey):
        key = key.public_key()
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)).decode("ascii")


def x25519_public_from_text(text: str) -> X25519PublicKey:
    try:
        return X25519PublicKey.from_public_bytes(base64.b64decode(str(text).encode("ascii"), validate=True))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise PackageError("县级服务器的数据包加密公钥格式不正确，请联网重新登录一次（taizhang login）") from None


def x25519_private_text(key: X25519PrivateKey) -> str:
    """The county's private key as text (the server's key file holds PEM; this is for a township's keyring)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def x25519_private_from_text(text: str) -> X25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, UnicodeEncodeError, TypeError):
        key = None
    if not isinstance(key, X25519PrivateKey):
        raise PackageError("数据包解密密钥无效（不是县级服务器导出的 X25519 密钥文件），请向县民政局重新索取")
    return key


def _sealing_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"taizhang-package-v2|" + ephemeral + recipient).derive(shared)


def seal(inner: bytes, recipient: X25519PublicKey | str) -> bytes:
    """Encrypt package bytes to the county's public key (``TZPKG2`` container)."""
    if isinstance(recipient, str):
        recipient = x25519_public_from_text(recipient)
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    rpk = recipient.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    nonce = os.urandom(12)
    header = _canonical({"alg": SEALED_ALG, "recipient": hashlib.sha256(rpk).hexdigest()[:16],
                         "epk": base64.b64encode(epk).decode("ascii"), "nonce": base64.b64encode(nonce).decode("ascii")})
    key = _sealing_key(ephemeral.exchange(recipient), epk, rpk)
    return SEALED_MAGIC + header + b"\n" + AESGCM(key).encrypt(nonce, inner, SEALED_MAGIC + header)


def unseal(data: bytes, key: X25519PrivateKey | None) -> bytes:
    """The package bytes inside a ``TZPKG2`` container; PackageError (Chinese) if it cannot be opened."""
    if key is None:
        raise PackageError("这个数据包已加密，只有县级服务器（或持有县里所发解密密钥的乡镇电脑）能打开。"
                           "请直接上传县级服务器，或向县民政局索取解密密钥（taizhang package-key）")
    header, sep, sealed = data[len(SEALED_MAGIC):].partition(b"\n")
    try:
        meta = json.loads(header.decode("utf-8"))
        epk, nonce = base64.b64decode(meta["epk"]), base64.b64decode(meta["nonce"])
        if meta.get("alg") != SEALED_ALG or not sep:
            raise ValueError(meta.get("alg"))
        rpk = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        if meta.get("recipient") != hashlib.sha256(rpk).hexdigest()[:16]:
            raise PackageError("这个数据包是加密给另一个县级服务器的（加密密钥不符），本服务器无法打开，已拒绝导入。"
                               "请确认该村登录的是本县的服务器")
        shared = key.exchange(X25519PublicKey.from_public_bytes(epk))
        return AESGCM(_sealing_key(shared, epk, rpk)).decrypt(nonce, sealed, SEALED_MAGIC + header)
    except PackageError:
        raise
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, binascii.Error, InvalidTag):
        raise PackageError("数据包已损坏或被改动（解密校验失败），已拒绝导入。请让该村重新导出数据包") from None


def county_package_key(repo: Repository) -> X25519PublicKey:
    """The county's package encryption key this PC got at sign-in; PackageError (Chinese) if it has none."""
    text = repo.get_setting(S_COUNTY_KEY)
    if not text:
        raise PackageError("本机还没有县级服务器的数据包加密公钥（本机是用旧版本程序登录的，或还没有登录过），"
                           "为防止U盘丢失泄露个人信息，数据包必须加密。请联网重新登录一次（taizhang login）后再导出")
    return x25519_public_from_text(text)


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

    @property
    def key_id(self) -> str:
        return str(self.manifest.get("key_id") or "")

    def verify(self, public_key: Ed25519PublicKey | str) -> bool:
        """Was this package signed by the private key of ``public_key`` (the device's, as the server keeps it)?"""
        return _verify(public_key, self.body, self.signature)

    def describe(self) -> str:
        m = self.manifest
        return (f"{m.get('org_name') or m['org_code']}（{m['org_code']}）于 {m['created_at'][:16].replace('T', ' ')}"
                f" 导出的 {m['count']} 条变更")


def build_package(repo: Repository, key: Ed25519PrivateKey, *, org_code: str, org_name: str = "", user: str = "",
                  server_id: str | None = None, page: int = 5000,
                  recipient: X25519PublicKey | str | None = None) -> tuple[bytes, Package]:
    """All pending changes of this PC as package bytes (nothing is marked sent: only a receipt does that).

    ``recipient``: the county's encryption key (``county_package_key(repo)``); the app always passes
    it.  Without it the bytes are the signed ``TZPKG1`` container alone (tests of the inner format)."""
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
        "signature": SIGNATURE, "key_id": key_id(key),
    }
    wire = [c.to_dict() for c in changes]
    body = _canonical({"manifest": manifest, "changes": wire})
    doc = {"manifest": manifest, "changes": wire, "sha256": hashlib.sha256(body).hexdigest(),
           "signature": _sign(key, body)}
    data = MAGIC + gzip.compress(_canonical(doc), compresslevel=6)
    if recipient is not None:
        data = seal(data, recipient)
    return data, Package(manifest, changes, doc["sha256"], doc["signature"], body)


def _change_period(change: Change) -> str | None:
    rt = RECORD_TYPES.get(change.record_type)
    if rt is None:
        return None
    if rt.month_workflow:
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


def is_sealed(data: bytes) -> bool:
    return data.startswith(SEALED_MAGIC)


def read_package(data: bytes, decrypt_key: X25519PrivateKey | None = None) -> Package:
    """Parse and integrity-check a package (the signature is checked by whoever holds the key).

    A sealed package (``TZPKG2``) needs the county's private key ``decrypt_key``."""
    if is_sealed(data):
        data = unseal(data, decrypt_key)
    doc = _open(data, MAGIC, "数据包")
    try:
        manifest, wire = doc["manifest"], doc["changes"]
        if manifest.get("format") != FORMAT:
            raise PackageError("这不是社区服务台账的数据包")
        if manifest.get("version") == LEGACY_VERSION:
            raise PackageError(LEGACY_PACKAGE_MESSAGE)
        if manifest.get("version") != VERSION or manifest.get("signature") != SIGNATURE:
            raise PackageError(f"数据包格式版本{manifest.get('version')}不受支持（本程序能读格式版本{VERSION}），"
                               "请把本机的台账程序升级到最新版本后再导入")
        body = _canonical({"manifest": manifest, "changes": wire})
        if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), str(doc.get("sha256"))):
            raise PackageError("数据包内容与校验值不符，文件已被改动或损坏，已拒绝导入。请让该村重新导出数据包")
        changes = [Change.from_dict(c) for c in wire]
        if len(changes) != manifest["count"]:
            raise PackageError("数据包中的变更条数与清单不符，已拒绝导入")
        return Package(manifest, changes, doc["sha256"], str(doc.get("signature", "")), body)
    except (KeyError, TypeError) as exc:
        raise PackageError(f"数据包缺少必需的内容（{exc}），已拒绝导入") from None


def read_package_file(path: str | Path, decrypt_key: X25519PrivateKey | None = None) -> Package:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PackageError(f"无法读取数据包文件“{path}”：{exc.strerror or exc}") from None
    return read_package(data, decrypt_key)


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
    # the county's published report templates (一表通), as a sync pull carries them; None: not sent
    # (a receipt of an older server), and then left out of the signed body so its signature still holds
    report_templates: dict | None = None

    def body(self) -> bytes:
        d = self.__dict__.copy()
        d.pop("signature")
        if d["report_templates"] is None:
            d.pop("report_templates")
        return _canonical({"format": RECEIPT_FORMAT, "version": VERSION, **d})

    def sign(self, key: Ed25519PrivateKey) -> "Receipt":
        """Signed by the county server's receipt key (``county_server.signing``)."""
        self.signature = _sign(key, self.body())
        return self

    def verify(self, public_key: Ed25519PublicKey | str) -> bool:
        return _verify(public_key, self.body(), self.signature)

    def to_bytes(self) -> bytes:
        doc = json.loads(self.body())
        doc["signature"] = self.signature
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
    if doc.get("version") == LEGACY_VERSION or "hmac" in doc:
        raise PackageError(LEGACY_RECEIPT_MESSAGE)
    if doc.get("version") != VERSION:
        raise PackageError(f"回执格式版本{doc.get('version')}不受支持（本程序能读格式版本{VERSION}），"
                           "请把本机的台账程序升级到最新版本后再导入回执")
    try:
        doc["signature"] = str(doc["signature"])
        return Receipt.from_dict(doc)
    except KeyError as exc:
        raise PackageError(f"回执缺少必需的内容（{exc}）") from None


def server_receipt_key(repo: Repository) -> Ed25519PublicKey:
    """The county server's receipt public key this PC got at sign-in; PackageError (Chinese) if it has none."""
    text = repo.get_setting(S_RECEIPT_KEY)
    server, user = repo.get_setting("server_url"), repo.get_setting("user")
    again = f"taizhang login --server {server} --user {user}" if server and user else "taizhang login"
    if not text:
        raise PackageError("本机还没有县级服务器的回执验证密钥（本机是用旧版本程序登录的，或还没有登录过），"
                           f"无法确认回执的真伪。请联网重新登录一次（{again}）后再导入回执")
    try:
        return public_key_from_text(text)
    except ValueError:
        raise PackageError(f"本机保存的县级服务器回执验证密钥已损坏，请联网重新登录一次（{again}）后再导入回执") from None


def apply_receipt(repo: Repository, receipt: Receipt, server_key: Ed25519PublicKey | str) -> int:
    """Mark the changes the server holds as sent; returns how many local changes were pending and now are not.

    ``server_key``: the county server's receipt public key (``server_receipt_key(repo)``).
    """
    if receipt.device_id != repo.device_id:
        raise PackageError("这份回执不是给本机的（设备编号不符），请确认是本村导出的数据包的回执")
    if not receipt.verify(server_key):
        raise PackageError("回执的签名不对：它不是本机登录的县级服务器开具的，或已被改动。本机不会据此把数据标为已上传。"
                           "如果县级服务器更换过签名密钥，请联网重新登录一次后再导入回执")
    pending = {c.change_id for _s, c in repo.pending_changes(limit=10_000_000)}
    held = [cid for cid in receipt.held if cid in pending]
    with repo.engine.begin() as conn:
        repo.mark_acked(held, conn=conn)
        for d in receipt.periods:
            change = Change.from_dict(d)
            rt = RECORD_TYPES.get(change.record_type)
            if rt is not None and rt.month_workflow and change.org_code == repo.get_setting("org_code"):
                # already known (duplicate) or changed here since (conflict: the next sync settles it)
                repo.apply_change(conn, change, sync_state="remote")
    if receipt.report_templates is not None:
        save_pulled(repo, receipt.report_templates)
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

    def scope(change: Change, _stored: dict | None) -> str | None:
        rt = RECORD_TYPES.get(change.record_type)
        if rt is not None and rt.county_maintained and role not in ("county", "admin"):
            return f"{rt.label}由县民政局统一维护，村里的修改不导入"
        if not P.in_scope(role, actor_org, change.org_code):
            return f"{change.org_code}的记录不在本机单位的管辖范围内"
        return None

    with repo.engine.begin() as conn:
        outcomes = repo.apply_changes(conn, package.changes, sync_state="remote", precheck=scope)
    for outcome, message in outcomes:
        if outcome == "applied":
            result.applied += 1
        elif outcome == "duplicate":
            result.duplicate += 1
        elif outcome == "conflict":
            result.conflict += 1
        else:
            result.rejected.append(message or "")
    return result
