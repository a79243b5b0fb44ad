"""Passphrase-encrypted files (backups): scrypt + AES-256-GCM in the STREAM construction.

A backup on a USB stick holds every ID number and phone of the village, so it is encrypted with a
passphrase chosen when it is made.  Nothing is home-made: the key comes from scrypt (the standard
memory-hard KDF, ``cryptography``'s implementation; n=2^15, r=8, p=1 — about 32 MB and a fraction
of a second on an old PC), and the file is cut into 1 MB chunks, each sealed with AES-256-GCM under
a nonce made of a random 7-byte prefix, the chunk's 4-byte counter and a last-chunk flag — the
STREAM online-AE construction that age and Tink's streaming AEAD use — so a 100 MB ledger is never
held in memory whole and chunks cannot be reordered, dropped or cut off unnoticed.  The header
(format, KDF parameters, salt, nonce prefix) is every chunk's associated data.

A forgotten passphrase cannot be recovered: nobody, not the county either, can open the file.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from pathlib import Path
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"TZBAK1\n"
CHUNK = 1 << 20
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
MIN_PASSPHRASE = 8
FORGOTTEN = "请牢记备份口令：忘记口令后，任何人（包括县民政局）都无法打开这个备份，数据无法找回。"


class WrongPassphrase(ValueError):
    """The passphrase does not open the file (or the file was altered)."""


def check_new_passphrase(passphrase: str, confirmation: str | None = None) -> None:
    """ValueError (Chinese) if a new backup passphrase is too short or not confirmed."""
    if len(passphrase or "") < MIN_PASSPHRASE:
        raise ValueError(f"备份口令至少需要{MIN_PASSPHRASE}个字符，请换一个更长的口令")
    if confirmation is not None and confirmation != passphrase:
        raise ValueError("两次输入的备份口令不一致，请重新输入")


def is_sealed(path: Path | str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


def seal_file(src: Path, dest: Path, passphrase: str, progress: Callable[[int, int], None] | None = None) -> None:
    """Encrypt ``src`` into ``dest`` (overwritten)."""
    salt, prefix = os.urandom(16), os.urandom(7)
    header = json.dumps({"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                         "salt": base64.b64encode(salt).decode(), "aead": "AES-256-GCM-STREAM", "chunk": CHUNK,
                         "nonce_prefix": base64.b64encode(prefix).decode()}, sort_keys=True).encode() + b"\n"
    aead = AESGCM(_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))
    total = max(src.stat().st_size, 1)
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        fout.write(MAGIC + header)
        counter, chunk = 0, fin.read(CHUNK)
        while True:
            following = fin.read(CHUNK)
            last = not following
            fout.write(aead.encrypt(_nonce(prefix, counter, last), chunk, MAGIC + header))
            if progress is not None:
                progress(min(total, (counter + 1) * CHUNK), total)
            if last:
                break
            counter, chunk = counter + 1, following
        fout.flush()
        os.fsync(fout.fileno())


def open_file(src: Path, dest: Path, passphrase: str) -> None:
    """Decrypt ``src`` into ``dest``; WrongPassphrase if it does not open (nothing useful is left in dest)."""
    with open(src, "rb") as fin:
        if fin.read(len(MAGIC)) != MAGIC:
            raise WrongPassphrase("不是加密的台账备份")
        header = fin.readline()
        try:
            meta = json.loads(header)
            salt, prefix = base64.b64decode(meta["salt"]), base64.b64decode(meta["nonce_prefix"])
            n, r, p, size = int(meta["n"]), int(meta["r"]), int(meta["p"]), int(meta["chunk"])
            if meta.get("kdf") != "scrypt" or not (1 << 10 <= n <= 1 << 20) or size > 1 << 26:
                raise ValueError(meta)
        except (ValueError, KeyError, TypeError):
            raise WrongPassphrase("备份文件头已损坏") from None
        aead = AESGCM(_key(passphrase, salt, n, r, p))
        counter = 0
        try:
            with open(dest, "wb") as fout:
                block = fin.read(size + 16)
                while True:
                    following = fin.read(size + 16)
                    last = not following
                    fout.write(aead.decrypt(_nonce(prefix, counter, last), block, MAGIC + header))
                    if last:
                        break
                    counter, block = counter + 1, following
        except InvalidTag:
            Path(dest).unlink(missing_ok=True)
            raise WrongPassphrase("口令不对，或备份文件已损坏、被改动") from None


__all__ = ["seal_file", "open_file", "is_sealed", "check_new_passphrase", "WrongPassphrase", "FORGOTTEN",
           "MIN_PASSPHRASE"]
