"""Every request limit (sync.limits) enforced by a real server process: at the limit accepted,
just over it refused with 413/400 and a Chinese message, nothing written; a gzip bomb refused
while the server's memory stays under 300 MB."""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
import zlib

import psutil
import pytest
import requests
from sqlalchemy import func, select

from storage.db import open_server_database
from storage.models import ChangeLog
from sync import limits
from sync.protocol import API_PREFIX, request_headers
from tests.serverproc import VILLAGE, ServerProcess, device_token, setup_county


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("limits")
    with ServerProcess(f"sqlite:///{home / 'county.sqlite3'}", home=home) as srv:
        setup_county(srv)
        srv.token = device_token(srv)
        yield srv


def change(**overrides) -> dict:
    record_id = str(uuid.uuid4())
    d = {"change_id": str(uuid.uuid4()), "record_type": "volunteer", "record_id": record_id, "org_code": VILLAGE,
         "op": "insert", "base_version": 0, "version": 1, "actor": "测试", "device_id": None,
         "at": "2026-11-01T00:00:00+00:00",
         "payload": {"id": record_id, "org_code": VILLAGE, "name": "张伟", "deleted": False}}
    d.update(overrides)
    return d


def body(changes: list[dict], **extra) -> dict:
    return {"batch_id": str(uuid.uuid4()), "changes": changes, "resolutions": [], **extra}


def post(server, path: str, data: bytes, *, gz: bool = True) -> requests.Response:
    headers = {**request_headers(server.token), "Content-Type": "application/json"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    return requests.post(server.url + API_PREFIX + path, data=data, headers=headers, timeout=120)


def send(server, path: str, message: dict) -> requests.Response:
    return post(server, path, gzip.compress(json.dumps(message, ensure_ascii=False).encode()))


def held(server) -> int:
    engine = open_server_database(server.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(ChangeLog)).scalar()
    finally:
        engine.dispose()


def refused(answer: requests.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    data = answer.json()
    assert set(data) == {"error", "message"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in data["message"]), data
    return data["message"]


# (name, at the limit, just over it, expected status over it)
def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 2):  # the body itself is depth 1, "extra" holds the rest
        value = {"a": value}
    return value


SHAPES = {
    "batch_id": (lambda: body([change()], batch_id="b" * 36), lambda: body([change()], batch_id="b" * 37), 400),
    "change_id": (lambda: body([change(change_id="c" * 36)]), lambda: body([change(change_id="c" * 37)]), 400),
    "record_id": (lambda: body([change(record_id="r" * 36)]), lambda: body([change(record_id="r" * 37)]), 400),
    "org_code": (lambda: body([change(org_code="2" * 12)]), lambda: body([change(org_code="2" * 13)]), 400),
    "string": (lambda: body([change(payload={"name": "字" * limits.MAX_STRING_CHARS})]),
               lambda: body([change(payload={"name": "字" * (limits.MAX_STRING_CHARS + 1)})]), 400),
    "depth": (lambda: body([change()], extra=_nested(limits.MAX_DEPTH)),
              lambda: body([change()], extra=_nested(limits.MAX_DEPTH + 1)), 400),
    "batch": (lambda: body([change() for _ in range(limits.MAX_BATCH)]),
              lambda: body([change() for _ in range(limits.MAX_BATCH + 1)]), 413),
    "version": (lambda: body([change(op="update", base_version=1, version=2)]),
                lambda: body([change(version=-5)]), 400),
    "version_after_base": (lambda: body([change(op="delete", base_version=3, version=4)]),
                           lambda: body([change(op="update", base_version=3, version=3)]), 400),
    "insert_base": (lambda: body([change(base_version=0, version=1)]),
                    lambda: body([change(base_version=1, version=2)]), 400),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_limit_at_and_over(server, name):
    at, over, status = SHAPES[name]
    answer = send(server, "/noop", at())  # same parsing and checks as /push, writes nothing
    assert answer.status_code == 200, answer.text
    before = held(server)
    message = refused(send(server, "/push", over()), status)
    assert "服务器未处理" in message
    assert held(server) == before


def _stored_gzip_of_size(size: int) -> bytes:
    """A valid push body whose gzip (stored, incompressible) is exactly ``size`` bytes."""
    pad = size
    while True:
        data = gzip.compress(json.dumps(body([change()], pad="x" * pad)).encode(), compresslevel=0)
        if len(data) == size:
            return data
        pad += size - len(data)


def test_compressed_body_at_and_over(server):
    at = _stored_gzip_of_size(limits.MAX_PUSH_BYTES)
    assert post(server, "/noop", at).status_code == 200
    before = held(server)
    refused(post(server, "/push", at + b"\0"), 413)
    assert held(server) == before


def _json_of_size(size: int) -> bytes:
    raw = json.dumps(body([change()], pad="")).encode()
    return raw[:-2] + b"0" * (size - len(raw)) + b'"}'


def test_decompressed_size_at_and_over(server):
    at = _json_of_size(limits.MAX_DECODED_BYTES)
    assert len(at) == limits.MAX_DECODED_BYTES and json.loads(at)
    assert post(server, "/noop", gzip.compress(at)).status_code == 200
    before = held(server)
    over = _json_of_size(limits.MAX_DECODED_BYTES + 1)
    message = refused(post(server, "/push", gzip.compress(over)), 413)
    assert "解压后的数据过大" in message
    assert held(server) == before


def test_json_body_of_other_endpoints_is_capped(server):
    def login_body(size: int) -> bytes:
        raw = json.dumps({"user": "cun", "password": "", "device_id": "d"}).encode()
        return raw[:-1] + b',"device_name":"' + b"x" * (size - len(raw) - 17) + b'"}'

    at = login_body(limits.MAX_JSON_BODY_BYTES)
    assert len(at) == limits.MAX_JSON_BODY_BYTES
    refused(post(server, "/login", at, gz=False), 400)  # read and parsed: the device name is too long
    refused(post(server, "/login", at + b" ", gz=False), 413)


def test_cursor_and_page_limits(server):
    url = server.url + API_PREFIX + "/pull"
    headers = request_headers(server.token)
    ok = requests.get(url, params={"cursor": "x" * limits.MAX_CURSOR_CHARS, "limit": 10_000}, headers=headers)
    assert ok.status_code == 200, ok.text
    refused(requests.get(url, params={"cursor": "x" * (limits.MAX_CURSOR_CHARS + 1)}, headers=headers), 400)
    refused(requests.get(url, params={"limit": 10_001}, headers=headers), 400)


def _bomb(decoded: int) -> bytes:
    """``decoded`` bytes of zeros, gzip'd in pieces (the test never holds the inflated data)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    parts = [deflater.compress(chunk) for _ in range(decoded // len(chunk))]
    return b"".join(parts) + deflater.flush()


def test_gzip_bomb_is_refused_in_little_memory(server):
    bomb = _bomb(1 << 30)  # 1 GB of zeros, about 1 MB gzip'd
    assert len(bomb) < limits.MAX_PUSH_BYTES
    process = psutil.Process(server.proc.pid)
    peak, done = [process.memory_info().rss], threading.Event()

    def sample():
        while not done.is_set():
            peak.append(process.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    before = held(server)
    try:
        answer = post(server, "/push", bomb)
    finally:
        done.set()
        sampler.join()
    refused(answer, 413)
    assert held(server) == before
    assert max(peak) < 300 * 1024 * 1024, f"server RSS peaked at {max(peak) / 1e6:.0f} MB"
