"""Limits on every request to the county server — defined once, imported by client and server.

The server enforces them (``county_server.limits_http`` for bodies, ``check_push`` for a push
batch); the client sizes its batches by them.  A request over a limit is answered 413 (too
big) or 400 (malformed) with a Chinese message, and nothing is written.

Why these numbers: a push batch of ``MAX_BATCH`` (5,000) real changes is about 3 MB of JSON and
0.5 MB gzip'd; the caps leave several times that headroom while keeping the worst request a
server process has to hold to a few tens of MB (the parsed JSON of ``MAX_DECODED_BYTES`` is
about 8× its size in Python objects).
"""

from __future__ import annotations

import zlib
from typing import Iterable

# --------------------------------------------------------------------------- sizes
MAX_BATCH = 5000  # changes per push batch
MAX_PUSH_BYTES = 8 * 1024 * 1024  # push body as sent (gzip'd)
MAX_DECODED_BYTES = 24 * 1024 * 1024  # push body after gunzip, decompressed as a stream with this cap
MAX_JSON_BODY_BYTES = 1024 * 1024  # every other JSON request (login, records, latest)
MAX_PACKAGE_BYTES = 200 * 1024 * 1024  # an offline package upload (township)
MAX_RESOLUTIONS = MAX_BATCH  # conflict choices sent with a batch
MAX_LATEST_IDS = 5000  # record ids in one /latest request

# --------------------------------------------------------------------------- shapes
MAX_ID_CHARS = 36  # change_id, record_id, batch_id, device ids: UUIDs
MAX_ORG_CODE_CHARS = 12
MAX_NAME_CHARS = 100  # record types, field names, user names, actors
MAX_STRING_CHARS = 2000  # any string value (the longest schema field allows 1,000)
MAX_PAYLOAD_FIELDS = 200
MAX_LIST_ITEMS = 200  # a multichoice value
MAX_DEPTH = 6  # body → changes → change → payload → list → value
MAX_CURSOR_CHARS = 100
MAX_PASSWORD_CHARS = 200

CHANGE_OPS = ("insert", "update", "delete", "restore")
CHANGE_STRING_FIELDS = {"change_id": MAX_ID_CHARS, "record_id": MAX_ID_CHARS, "record_type": MAX_NAME_CHARS,
                        "org_code": MAX_ORG_CODE_CHARS, "op": 10, "actor": MAX_NAME_CHARS, "at": 40}

TOO_LARGE = 413
BAD_REQUEST = 400


class LimitError(ValueError):
    """A request over a limit: ``status`` (413 or 400) and a Chinese message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:g}MB"


def too_large_message(limit: int) -> str:
    return f"请求数据过大（超过{_mb(limit)}），服务器未处理。请升级台账程序后重新同步，本机数据不会丢失"


def gunzip_capped(chunks: Iterable[bytes], limit: int = MAX_DECODED_BYTES) -> bytes:
    """Decompress gzip data chunk by chunk, refusing (413) as soon as the output would pass ``limit``.

    A gzip bomb (1 MB of gzip that inflates to 1 GB) is refused after ``limit`` bytes: memory
    stays at the cap, never at the bomb's size.
    """
    inflater = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer
    out = bytearray()
    try:
        for chunk in chunks:
            data = chunk
            while data:
                out += inflater.decompress(data, limit + 1 - len(out))
                if len(out) > limit:
                    raise LimitError(TOO_LARGE, f"解压后的数据过大（超过{_mb(limit)}），服务器未处理。"
                                                "请升级台账程序后重新同步，本机数据不会丢失")
                data = inflater.unconsumed_tail
        out += inflater.flush()
    except zlib.error:
        raise LimitError(BAD_REQUEST, "上传的数据不是有效的 gzip 压缩数据，服务器未处理。请升级台账程序后重试") from None
    if not inflater.eof:
        raise LimitError(BAD_REQUEST, "上传的 gzip 数据不完整（传输中断？），服务器未处理，请重新同步")
    if len(out) > limit:
        raise LimitError(TOO_LARGE, too_large_message(limit))
    return bytes(out)


def check_depth(value, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` (iteratively: a deep document cannot exhaust the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                raise LimitError(BAD_REQUEST, f"请求数据的嵌套层数超过{limit}层，服务器未处理")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _bad(where: str, what: str) -> LimitError:
    return LimitError(BAD_REQUEST, f"{where}：{what}，服务器未处理这批数据。请升级台账程序后重新同步，本机数据不会丢失")


def _string(value, limit: int, where: str, name: str, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str):
        raise _bad(where, f"{name}应为文字")
    if len(value) > limit:
        raise _bad(where, f"{name}长度{len(value)}超过上限{limit}")
    if required and not value:
        raise _bad(where, f"{name}为空")


def _int(value, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(where, f"{name}应为整数")
    return value


def check_change(d, n: int) -> None:
    """One pushed change (a dict): fields present, ids and strings within length, versions sane."""
    where = f"第{n}条变更"
    if not isinstance(d, dict):
        raise _bad(where, "格式不正确")
    for name, limit in CHANGE_STRING_FIELDS.items():
        _string(d.get(name), limit, where, name)
    _string(d.get("device_id"), MAX_ID_CHARS, where, "device_id", required=False)
    if d["op"] not in CHANGE_OPS:
        raise _bad(where, f"未知的操作“{d['op']}”")
    base, version = _int(d.get("base_version"), where, "base_version"), _int(d.get("version"), where, "version")
    if base < 0 or version < 1:
        raise _bad(where, f"版本号必须为正数（base_version={base}，version={version}）")
    if version <= base:
        raise _bad(where, f"新版本号{version}不大于原版本号{base}")
    if d["op"] == "insert" and base != 0:
        raise _bad(where, f"新增记录的原版本号应为0，实际为{base}")
    payload = d.get("payload")
    if not isinstance(payload, dict):
        raise _bad(where, "payload 应为对象")
    if len(payload) > MAX_PAYLOAD_FIELDS:
        raise _bad(where, f"字段数{len(payload)}超过上限{MAX_PAYLOAD_FIELDS}")
    for key, value in payload.items():
        if len(key) > MAX_NAME_CHARS:
            raise _bad(where, f"字段名长度超过上限{MAX_NAME_CHARS}")
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_LIST_ITEMS:
            raise _bad(where, f"字段“{key[:20]}”的取值个数超过上限{MAX_LIST_ITEMS}")
        for item in items:
            if isinstance(item, str) and len(item) > MAX_STRING_CHARS:
                raise _bad(where, f"字段“{key[:20]}”长度{len(item)}超过上限{MAX_STRING_CHARS}")
            if isinstance(item, (dict, list)):
                raise _bad(where, f"字段“{key[:20]}”的取值格式不正确")


def check_push(body) -> None:
    """A decoded push body: its shape and every limit.  Raises ``LimitError``; returns nothing."""
    check_depth(body)
    where = "上传的批次"
    if not isinstance(body, dict):
        raise _bad(where, "格式不正确")
    _string(body.get("batch_id"), MAX_ID_CHARS, where, "batch_id")
    changes = body.get("changes", [])
    if not isinstance(changes, list):
        raise _bad(where, "changes 应为列表")
    if len(changes) > MAX_BATCH:
        raise LimitError(TOO_LARGE, f"一批上传了{len(changes)}条变更，超过上限{MAX_BATCH}条，服务器未处理。"
                                    "请升级台账程序后重新同步，本机数据不会丢失")
    for n, d in enumerate(changes, start=1):
        check_change(d, n)
    resolutions = body.get("resolutions") or []
    if not isinstance(resolutions, list) or len(resolutions) > MAX_RESOLUTIONS:
        raise _bad(where, f"冲突处理选择应为不超过{MAX_RESOLUTIONS}项的列表")
    for r in resolutions:
        if not isinstance(r, dict):
            raise _bad(where, "冲突处理选择格式不正确")
        _string(r.get("change_id"), MAX_ID_CHARS, where, "冲突处理的 change_id")
        _string(r.get("resolution"), 10, where, "冲突处理的 resolution")
