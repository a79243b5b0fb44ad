"""The sync protocol between a Taizhang PC and the county server — defined once.

Both ``sync.client`` and ``county_server`` import this module; nothing else
defines a path, a header, a message shape or an outcome.

Wire format: JSON over HTTP(S) under ``/api/v1``.  Every request carries the
client's protocol version in the ``X-Taizhang-Protocol`` header; the server
refuses versions it does not speak with HTTP 426 and a Chinese message telling
the user what to upgrade.  Push bodies are gzip'd JSON (``Content-Encoding:
gzip``).  Errors are ``{"error": CODE, "message": 中文}``.

Messages (all JSON objects)::

  POST /login    {user, password, device_id, device_name}
                 -> {token, expires_at, user, role, org_code, org_name, server_id}
  POST /push     {batch_id, changes: [Change...], resolutions: [{change_id, resolution}]}
                 -> {batch_id, replayed, results: [{change_id, outcome, message?, server_change?}]}
  GET  /pull?cursor=C&limit=N
                 -> {cursor, more, reset, changes: [Change...], choice_lists: {name: {version, items}},
                     report_templates?: {name: {sha256, published_at, data}}}   (last page only: 一表通)
  GET  /summary  -> {scope: [org prefixes], groups: [{record_type, org_code, count, checksum}]}
  POST /records  {record_type, org_code} -> {records: [[id, version, deleted], ...]}
  POST /latest   {record_ids: [...]} -> {changes: [Change...]}   (latest server change per record)
  POST /noop     gzip'd push body -> {received}   (benchmark baseline; parses and discards)
  GET  /status   -> {protocol_versions, server_id, time}   (no auth; readiness)
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import Iterable

from storage import PROTOCOL_VERSION
from storage.jsontext import encode, stored
from storage.repository import Change
from sync import limits

API_PREFIX = "/api/v1"
PROTOCOL_HEADER = "X-Taizhang-Protocol"
# Every answer names the server's incarnation (county_server.incarnation): a new one after a
# restore.  Pull cursors carry it; a PC holding a cursor of another incarnation pulls everything.
INCARNATION_HEADER = "X-Taizhang-Incarnation"
SUPPORTED_VERSIONS = frozenset({1})

# Per-change outcomes of a push (the repository's apply_change outcomes).
APPLIED = "applied"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
REJECTED = "rejected"
OUTCOMES = (APPLIED, DUPLICATE, CONFLICT, REJECTED)
CONFIRMED = frozenset({APPLIED, DUPLICATE})  # the server holds the change: the PC may count it as sent

OUTCOME_LABELS = {APPLIED: "已上传", DUPLICATE: "服务器已有（不重复写入）", CONFLICT: "冲突", REJECTED: "被拒绝"}

# Error codes (``error`` field) and the HTTP status that carries them.
E_PROTOCOL = "protocol_unsupported"  # 426
E_AUTH = "auth_failed"  # 401: wrong user name or password
E_TOKEN = "token_invalid"  # 401: unknown or revoked device token
E_TOKEN_EXPIRED = "token_expired"  # 401
E_FORBIDDEN = "forbidden"  # 403
E_BATCH_MISMATCH = "batch_mismatch"  # 409: a batch id reused for other changes
E_BAD_REQUEST = "bad_request"  # 400
E_PASSWORD_CHANGE = "password_change_required"  # 403: a one-time password; sign in again with a new one

# Batch sizing: the client adapts between these bounds, aiming at TARGET_SECONDS per request.
MIN_BATCH = 50
START_BATCH = 500
MAX_BATCH = limits.MAX_BATCH  # the server refuses more (sync.limits)
TARGET_SECONDS = 1.0
PULL_PAGE = 2000


def unsupported_version_message(client_version: str | int | None) -> str:
    """What the user reads when the server does not speak the client's protocol version."""
    try:
        v = int(client_version)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ("服务器无法识别本程序的同步协议版本。请把社区服务台账升级到最新版本后再同步，"
                "未上传的数据都保留在本机，不会丢失。")
    if v > max(SUPPORTED_VERSIONS):
        return (f"本程序的同步协议（版本{v}）比县级服务器新（服务器支持版本"
                f"{'、'.join(map(str, sorted(SUPPORTED_VERSIONS)))}）。请联系县民政局信息管理员升级服务器；"
                "未上传的数据都保留在本机，不会丢失。")
    return (f"本程序的同步协议版本（{v}）已不再受县级服务器支持。请把社区服务台账升级到最新版本后再同步；"
            "未上传的数据都保留在本机，不会丢失。")


def is_supported(client_version: str | int | None) -> bool:
    try:
        return int(client_version) in SUPPORTED_VERSIONS  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def request_headers(token: str | None = None) -> dict[str, str]:
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


# --------------------------------------------------------------------------- messages


@dataclass
class ChangeResult:
    """The server's answer for one pushed change."""

    change_id: str
    outcome: str
    message: str | None = None
    server_change: dict | None = None  # the server's latest change of the record (conflict/rejected)

    def to_dict(self) -> dict:
        d: dict = {"change_id": self.change_id, "outcome": self.outcome}
        if self.message:
            d["message"] = self.message
        if self.server_change is not None:
            d["server_change"] = self.server_change
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ChangeResult":
        if d.get("outcome") not in OUTCOMES:
            raise ValueError(f"unknown outcome {d.get('outcome')!r}")
        return cls(d["change_id"], d["outcome"], d.get("message"), d.get("server_change"))


def encode_push(batch_id: str, changes: Iterable[Change], resolutions: list[dict] | None = None) -> bytes:
    """The gzip'd JSON body of a push (compresslevel 1: the network is rarely the bottleneck)."""
    body = {"batch_id": batch_id, "changes": [c.to_dict() for c in changes], "resolutions": resolutions or []}
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return gzip.compress(raw, compresslevel=1)


class OutgoingChange:
    """A change-log row on its way up, its payload still the stored JSON text.

    Pushing 100,000 changes should not decode and re-encode 100,000 payloads: the stored text
    goes into the body as it is (``storage.jsontext.stored``; the same JSON a ``Change`` gives).
    """

    __slots__ = ("change_id", "record_type", "record_id", "org_code", "op", "base_version", "version",
                 "payload_json", "actor", "device_id", "at")

    def __init__(self, change_id, record_type, record_id, org_code, op, base_version, version, payload_json,
                 actor, device_id, at):
        self.change_id, self.record_type, self.record_id, self.org_code = change_id, record_type, record_id, org_code
        self.op, self.base_version, self.version, self.payload_json = op, base_version, version, payload_json
        self.actor, self.device_id, self.at = actor, device_id, at

    def to_change(self) -> Change:
        return Change(self.change_id, self.record_type, self.record_id, self.org_code, self.op, self.base_version,
                      self.version, json.loads(self.payload_json), self.actor, self.device_id, self.at)

    def to_wire(self) -> dict:
        """The change as ``Change.to_dict`` gives it, the payload as its stored text."""
        return {"change_id": self.change_id, "record_type": self.record_type, "record_id": self.record_id,
                "org_code": self.org_code, "op": self.op, "base_version": self.base_version,
                "version": self.version, "payload": stored(self.payload_json), "actor": self.actor,
                "device_id": self.device_id, "at": self.at}


def encode_push_rows(batch_id: str, rows: list[OutgoingChange], resolutions: list[dict] | None = None) -> bytes:
    """Same body as ``encode_push`` for stored change-log rows, without decoding their payloads."""
    body = {"batch_id": batch_id, "changes": [r.to_wire() for r in rows], "resolutions": resolutions or []}
    return gzip.compress(encode(body).encode("utf-8"), compresslevel=1)


def decode_body(data: bytes, content_encoding: str | None) -> dict:
    """A push body: gunzip'd as a stream under ``limits.MAX_DECODED_BYTES``, parsed, every limit checked.

    Raises ``limits.LimitError`` (413/400, Chinese message) for anything over a limit or malformed.
    """
    if content_encoding and "gzip" in content_encoding.lower():
        data = limits.gunzip_capped([data])
    elif len(data) > limits.MAX_DECODED_BYTES:
        raise limits.LimitError(limits.TOO_LARGE, limits.too_large_message(limits.MAX_DECODED_BYTES))
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise limits.LimitError(limits.BAD_REQUEST, "上传的数据不是有效的 JSON，服务器未处理。请升级台账程序后重试") from None
    limits.check_push(body)
    return body


def batch_digest(change_ids: Iterable[str]) -> str:
    """Identifies a batch's content: a batch id re-sent must carry the same changes."""
    h = hashlib.sha256()
    for cid in change_ids:
        h.update(cid.encode("ascii", "replace"))
        h.update(b"\n")
    return h.hexdigest()


# --------------------------------------------------------------------------- sanity check


def group_checksum(pairs: Iterable[tuple[str, int]]) -> str:
    """Checksum of one (record type, org unit) group: its live records' ids and versions."""
    h = hashlib.sha256()
    for rid, version in sorted(pairs):
        h.update(f"{rid}:{version}\n".encode("ascii", "replace"))
    return h.hexdigest()[:32]


def in_prefixes(org_code: str, prefixes: Iterable[str]) -> bool:
    return any(org_code.startswith(p) for p in prefixes)


# --------------------------------------------------------------------------- pull cursor


def make_cursor(incarnation: str, seq: int) -> str:
    """An opaque cursor: the server's incarnation and its change_log.seq.

    The incarnation changes when a server database is replaced (restored, copied back, rebuilt):
    a cursor from another incarnation is "unknown" and triggers a full re-pull.
    """
    return f"{incarnation}:{seq}"


def cursor_incarnation(cursor: str | None) -> str | None:
    return parse_cursor(cursor)[0]


def parse_cursor(cursor: str | None) -> tuple[str | None, int]:
    if not cursor or ":" not in cursor:
        return None, 0
    sid, _, seq = cursor.rpartition(":")
    try:
        return sid, int(seq)
    except ValueError:
        return None, 0
