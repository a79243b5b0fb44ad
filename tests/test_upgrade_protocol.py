"""Upgrades across the wire: a real county server refuses a client whose sync protocol version it
does not speak (HTTP 426) and tells the user, in Chinese, what to upgrade; the client shows that
message and keeps every unsent change."""

from __future__ import annotations

import pytest
import requests

from storage import PROTOCOL_VERSION
from sync.protocol import API_PREFIX, E_PROTOCOL, PROTOCOL_HEADER, SUPPORTED_VERSIONS
from tests.serverproc import PASSWORD, VILLAGE, ServerProcess, setup_county


@pytest.fixture
def county(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    server.start()
    try:
        setup_county(server)
        yield server
    finally:
        server.stop()


def _login(server, version: str | None):
    headers = {"Accept": "application/json"}
    if version is not None:
        headers[PROTOCOL_HEADER] = version
    return requests.post(server.url + API_PREFIX + "/login", headers=headers, timeout=10,
                         json={"user": "cun", "password": PASSWORD, "device_id": "00000000-0000-4000-8000-0000000000aa",
                               "device_name": "测试电脑"})


def test_server_refuses_unsupported_protocol_versions_with_an_upgrade_message(county):
    assert PROTOCOL_VERSION in SUPPORTED_VERSIONS  # this release's client and server agree
    status = requests.get(county.url + API_PREFIX + "/status", timeout=10).json()
    assert status["protocol_versions"] == sorted(SUPPORTED_VERSIONS)

    older = _login(county, str(min(SUPPORTED_VERSIONS) - 1))
    assert older.status_code == 426
    body = older.json()
    assert body["error"] == E_PROTOCOL
    assert "请把社区服务台账升级到最新版本" in body["message"] and "不会丢失" in body["message"]

    newer = _login(county, str(max(SUPPORTED_VERSIONS) + 1))
    assert newer.status_code == 426 and "升级服务器" in newer.json()["message"]

    missing = _login(county, None)
    assert missing.status_code == 426 and "升级到最新版本" in missing.json()["message"]

    current = _login(county, str(PROTOCOL_VERSION))
    assert current.status_code == 200, current.text
    assert current.json()["org_code"] == VILLAGE


def test_an_outdated_client_is_told_to_upgrade_and_keeps_its_unsent_changes(county, repo, village, monkeypatch):
    from storage.local import set_identity
    from sync.client import SyncClient, SyncError

    set_identity(repo, village, "幸福村")
    unsent = repo.unsent_count()
    assert unsent > 0
    # The same client code as an older release would send it: an older protocol version.
    monkeypatch.setattr("sync.protocol.PROTOCOL_VERSION", min(SUPPORTED_VERSIONS) - 1)
    client = SyncClient(repo, county.url, "cun")
    with pytest.raises(SyncError) as err:
        client.login(PASSWORD)
    assert "请把社区服务台账升级到最新版本" in str(err.value)
    assert repo.unsent_count() == unsent
