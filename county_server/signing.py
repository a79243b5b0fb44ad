"""The county server's receipt signing key: a file, never the database.

Receipts (the server's answer to an offline package, carried back to the village on a USB
stick) are signed with an Ed25519 key that lives in ONE file, readable by the server's OS user
only (0600): ``--receipt-key FILE`` or ``TAIZHANG_RECEIPT_KEY``, by default
``receipt-signing-key.pem`` in the server's data directory.  It is created on first use.  Its
public key is handed to every PC at sign-in; a PC accepts only receipts signed with it.  So a
copy of the server database (a backup, a DBA's access) is not enough to forge a receipt —
whoever runs several server processes on one database gives them the same file, and whoever
restores a server restores this file with it (otherwise every PC must sign in again before it
accepts a receipt).  The key never goes to the database, the config or the logs (only its
public fingerprint does).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

log = logging.getLogger("taizhang-server.signing")

ENV = "TAIZHANG_RECEIPT_KEY"
FILENAME = "receipt-signing-key.pem"

_lock = threading.Lock()


class SigningKeyError(RuntimeError):
    """The key file cannot be read or made; the message is Chinese and says what to do."""


def key_path(explicit: str | os.PathLike | None = None) -> Path:
    """The receipt key file: ``--receipt-key``, else ``TAIZHANG_RECEIPT_KEY``, else the data directory."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    from storage.db import data_dir

    return data_dir() / FILENAME


def load_or_create(path: Path, key_class=Ed25519PrivateKey, label: str = "回执签名密钥"):
    """The key in ``path``; a new one written there (mode 0600, atomically) if there is none yet."""
    path = Path(path)
    with _lock:
        if not path.exists():
            _create(path, key_class, label)
        return _load(path, key_class, label)


def _create(path: Path, key_class=Ed25519PrivateKey, label: str = "回执签名密钥") -> None:
    key = key_class.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # never overwrites: another process may have made the key meanwhile
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise SigningKeyError(f"无法创建{label}文件“{path}”：{exc.strerror or exc}。"
                              f"请检查该目录的权限，或用 --receipt-key 指定其他位置") from None
    log.info("已生成%s文件 %s", label, path)


def _load(path: Path, key_class=Ed25519PrivateKey, label: str = "回执签名密钥"):
    try:
        mode = path.stat().st_mode
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.chmod(path, 0o600)  # readable by others: tighten, and say so
            log.warning("%s文件 %s 其他用户也能读取，已改为只有服务器的系统用户可读（0600）", label, path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise SigningKeyError(f"无法读取{label}文件“{path}”：{exc.strerror or exc}。"
                              "请确认服务器以有权读取该文件的系统用户运行") from None
    except ValueError:
        raise SigningKeyError(f"{label}文件“{path}”已损坏（不是有效的密钥）。请从备份恢复该文件；"
                              "如无备份，删除它后服务器会生成新密钥，各村(社区)电脑须重新登录一次") from None
    if not isinstance(key, key_class):
        raise SigningKeyError(f"{label}文件“{path}”中不是 {key_class.__name__[:-10]} 密钥，请检查指定的文件")
    return key


def server_key(state) -> Ed25519PrivateKey:
    """The receipt key of a server ``state`` (the app's state or ``cmd_packages.server_state``), loaded once."""
    key = getattr(state, "receipt_key", None)
    if key is None:
        key = load_or_create(getattr(state, "receipt_key_path", None) or key_path())
        state.receipt_key = key
    return key


# The key offline packages are encrypted to (X25519): the same rules as the receipt key — one file,
# 0600, never in the database — kept beside it (``package-encryption-key.pem``) unless
# ``TAIZHANG_PACKAGE_KEY`` names another file.  Losing it makes packages already on USB sticks
# unreadable (villages export them again after signing in); back it up with the receipt key.
ENCRYPTION_ENV = "TAIZHANG_PACKAGE_KEY"
ENCRYPTION_FILENAME = "package-encryption-key.pem"
ENCRYPTION_LABEL = "数据包解密密钥"


def encryption_key_path(receipt_key_path: str | os.PathLike | None = None) -> Path:
    if os.environ.get(ENCRYPTION_ENV):
        return Path(os.environ[ENCRYPTION_ENV])
    return key_path(receipt_key_path).with_name(ENCRYPTION_FILENAME)


def encryption_key(state) -> X25519PrivateKey:
    """The package decryption key of a server ``state``, loaded (or made) once."""
    key = getattr(state, "package_encryption_key", None)
    if key is None:
        path = encryption_key_path(getattr(state, "receipt_key_path", None))
        key = load_or_create(path, X25519PrivateKey, ENCRYPTION_LABEL)
        state.package_encryption_key = key
    return key
