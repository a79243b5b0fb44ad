"""Sign-in throttling on a real server: per account name and per client address, the same Chinese
message whether the account exists or not, failures and locks recorded, ``admin unlock``."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from sqlalchemy import select

from county_server import throttle
from county_server.models import LoginEvent
from storage.db import open_server_database
from sync.protocol import API_PREFIX, request_headers
from tests.serverproc import PASSWORD, ServerProcess, setup_county


@pytest.fixture
def server(tmp_path):
    with ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path) as srv:
        setup_county(srv)
        yield srv


def sign_in(server, user: str, password: str, address: str) -> requests.Response:
    # the server trusts X-Forwarded-For from 127.0.0.1 (nginx in production): a PC's own address
    headers = {**request_headers(), "X-Forwarded-For": address}
    return requests.post(server.url + API_PREFIX + "/login", headers=headers, timeout=30, json={
        "user": user, "password": password, "device_id": str(uuid.uuid4()), "device_name": "测试"})


def events(server) -> list[tuple[str, str, str]]:
    engine = open_server_database(server.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(LoginEvent.kind, LoginEvent.account, LoginEvent.address).order_by(LoginEvent.id))]
    finally:
        engine.dispose()


def test_account_locked_after_five_failures_whether_it_exists_or_not(server):
    for name in ("cun", "meiyouzhegeren"):
        for i in range(throttle.MAX_FAILURES):  # each from another address: only the account counts
            answer = sign_in(server, name, "cuo-de-mima", f"10.0.{len(name)}.{i}")
            assert answer.status_code == 401 and answer.json()["error"] == "auth_failed"
    locked = {name: sign_in(server, name, PASSWORD, "10.9.9.9") for name in ("cun", "meiyouzhegeren")}
    for answer in locked.values():
        assert answer.status_code == 429, answer.text
        assert answer.json()["error"] == throttle.E_LOCKED
        assert int(answer.headers["Retry-After"]) > 0
    messages = {answer.json()["message"] for answer in locked.values()}
    assert len(messages) == 1, messages  # nothing tells which account exists
    assert "登录失败次数过多" in messages.pop()
    assert sign_in(server, "cun2", PASSWORD, "10.9.9.9").status_code == 200  # other accounts sign in

    recorded = events(server)
    assert recorded.count(("lock", "cun", "10.0.3.4")) == 1
    assert sum(1 for kind, name, _ in recorded if kind == "failure" and name == "cun") == throttle.MAX_FAILURES

    out = server.admin("unlock", "cun")
    assert "已解锁" in out.stdout
    assert sign_in(server, "cun", PASSWORD, "10.9.9.9").status_code == 200
    assert sign_in(server, "meiyouzhegeren", PASSWORD, "10.9.9.9").status_code == 429  # still locked
    assert events(server)[-1][0] == "unlock"


def test_address_locked_after_five_failures(server):
    for i in range(throttle.MAX_FAILURES):  # five different names from one address
        assert sign_in(server, f"caice{i}", "x" * 8, "10.1.1.1").status_code == 401
    assert sign_in(server, "cun", PASSWORD, "10.1.1.1").status_code == 429
    assert sign_in(server, "cun", PASSWORD, "10.1.1.2").status_code == 200
    listing = server.admin("unlock").stdout
    assert "地址 10.1.1.1" in listing
    server.admin("unlock", "--address", "10.1.1.1")
    assert sign_in(server, "cun", PASSWORD, "10.1.1.1").status_code == 200


def test_a_success_clears_the_account_count(server):
    for i in range(throttle.MAX_FAILURES - 1):
        assert sign_in(server, "cun", "cuo-de-mima", f"10.2.0.{i}").status_code == 401
    assert sign_in(server, "cun", PASSWORD, "10.2.1.1").status_code == 200
    assert sign_in(server, "cun", "cuo-de-mima", "10.2.1.2").status_code == 401
    assert sign_in(server, "cun", PASSWORD, "10.2.1.3").status_code == 200


def test_locks_grow_with_every_further_failure():
    lengths = [throttle.lock_length(n) for n in range(1, 20)]
    assert lengths[:throttle.MAX_FAILURES - 1] == [dt.timedelta(0)] * (throttle.MAX_FAILURES - 1)
    assert lengths[throttle.MAX_FAILURES - 1] == throttle.FIRST_LOCK
    assert lengths[throttle.MAX_FAILURES] == 2 * throttle.FIRST_LOCK
    assert max(lengths) == throttle.LONGEST_LOCK and lengths == sorted(lengths)
