"""Account management from a county or township PC (``sync.account_admin`` → ``/accounts``), end to end
against a real server process: list, create, reset-password, disable/enable, unlock, set-role,
revoke-device; who may manage whom; bounded requests; every action in ``admin audit``."""

from __future__ import annotations

import uuid

import pytest
import requests

from county_server.accounts_api import refusal
from county_server.auth import Principal
from sync.account_admin import AccountAdmin
from sync.client import SyncError
from sync.protocol import API_PREFIX, request_headers
from tests.serverproc import (COUNTY, FAR_VILLAGE, PASSWORD, TOWNSHIP, VILLAGE, VILLAGE2, ServerProcess,
                              SyncTestClient, device_token, setup_county)

pytestmark = pytest.mark.usefixtures("insecure_keyring")


def _login(server, user, password=PASSWORD, **extra) -> requests.Response:
    return requests.post(server.url + API_PREFIX + "/login", headers=request_headers(), timeout=60, json={
        "user": user, "password": password, "device_id": str(uuid.uuid4()), "device_name": "测试", **extra})


def _token_works(server, token: str) -> bool:
    answer = requests.get(server.url + API_PREFIX + "/accounts", headers=request_headers(token), timeout=60)
    return answer.status_code != 401


def _row(listing: dict, name: str) -> dict:
    return next(a for a in listing["accounts"] if a["name"] == name)


def test_who_may_manage_whom():
    county = Principal(1, "xian", "county", COUNTY, "d")
    township = Principal(2, "zhen", "township", TOWNSHIP, "d")
    village = Principal(3, "cun", "village", VILLAGE, "d")
    admin = Principal(4, "root", "admin", COUNTY, "d")
    assert refusal(county, "village", FAR_VILLAGE) is None and refusal(county, "township", TOWNSHIP) is None
    assert "管理员" in refusal(county, "admin", COUNTY)
    assert refusal(admin, "admin", COUNTY) is None
    assert refusal(township, "village", VILLAGE2) is None
    assert "管辖范围" in refusal(township, "village", FAR_VILLAGE)
    assert "只能管理村(社区)账号" in refusal(township, "township", TOWNSHIP)
    assert "不能管理账号" in refusal(village, "village", VILLAGE)


def test_every_account_action_from_a_county_pc_end_to_end(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    with server:
        setup_county(server)
        pc = SyncTestClient(tmp_path / "clients", "xianpc", server.url, "xian")
        try:
            pc.sync()  # the county PC signs in (the null keyring keeps no token: the password signs in again)
            with pytest.raises(SyncError, match="登录凭据"):
                AccountAdmin(pc.repo)
            admin = AccountAdmin(pc.repo, password=PASSWORD)

            listing = admin.accounts()
            assert sorted(a["name"] for a in listing["accounts"]) == ["cun", "cun2", "xian", "zhen"]
            assert listing["creatable_roles"] == ["village", "township", "county"]
            cun = _row(listing, "cun")
            assert (cun["role_label"], cun["org_code"], cun["org_name"], cun["state_label"]) == (
                "村(社区)", VILLAGE, "幸福村", "正常")
            assert cun["manageable"] and not _row(listing, "xian")["manageable"]  # oneself: not here
            assert _row(listing, "xian")["devices"] and _row(listing, "xian")["last_login"]

            # create: a one-time password that signs in only together with a new one
            made = admin.create("cun3", "village", VILLAGE2)
            one_time = made["one_time_password"]
            assert made["account"]["state_label"] == "待改密码" and len(one_time) == 12
            assert _login(server, "cun3", one_time).json()["error"] == "password_change_required"
            assert _login(server, "cun3", one_time, new_password="cun3-mima-2025").status_code == 200
            assert _row(admin.accounts(), "cun3")["state_label"] == "正常"
            assert len(_row(admin.accounts(), "cun3")["devices"]) == 1
            with pytest.raises(SyncError, match="已存在"):
                admin.create("cun3", "village", VILLAGE2)
            with pytest.raises(SyncError, match="不在服务器的组织机构中"):
                admin.create("cun4", "village", "220102001009")
            with pytest.raises(SyncError, match="村\\(社区\\)账号必须绑定"):
                admin.create("cun4", "village", TOWNSHIP)

            # disable: the account's signed-in PC is refused at its next request; enable lets it back
            token = device_token(server, "cun")
            assert "已停用" in admin.disable("cun")["message"]
            assert not _token_works(server, token)
            assert _row(admin.accounts(), "cun")["state"] == "disabled"
            admin.enable("cun")
            assert _token_works(server, token)

            # reset-password: the old password stops, the one-time one only sets a new one
            one_time = admin.reset_password("cun")["one_time_password"]
            assert _login(server, "cun").status_code == 401
            assert _login(server, "cun", one_time).json()["error"] == "password_change_required"
            assert _login(server, "cun", one_time, new_password=PASSWORD).status_code == 200

            # unlock: five wrong passwords lock the name; the list shows it, unlock lifts it.  (They lock
            # this test's address too: that lock is lifted on the server, `admin unlock --address`.)
            server.admin("unlock", "--address", "127.0.0.1")
            for _ in range(5):
                _login(server, "cun2", "wrong-password")
            server.admin("unlock", "--address", "127.0.0.1")
            assert _login(server, "cun2").status_code == 429
            assert _row(admin.accounts(), "cun2")["locked_until"]
            assert "已解锁" in admin.unlock("cun2")["message"]
            assert _row(admin.accounts(), "cun2")["locked_until"] is None
            assert _login(server, "cun2").status_code == 200

            # set-role: another unit; the account's PCs must sign in again
            token2 = device_token(server, "cun2")
            answer = admin.set_role("cun2", "village", VILLAGE)
            assert answer["account"]["org_code"] == VILLAGE and "重新登录" in answer["message"]
            assert not _token_works(server, token2)
            with pytest.raises(SyncError, match="管理员"):
                admin.set_role("cun2", "admin", COUNTY)
            # the same on the server's command line (recorded with the server's operating-system user)
            assert "乡镇/街道账号" in server.admin("set-role", "cun2", "--role", "township", "--org", TOWNSHIP).stdout
            wrong = server.admin("set-role", "cun2", "--role", "village", "--org", TOWNSHIP, check=False)
            assert wrong.returncode == 1 and "村(社区)账号必须绑定" in wrong.stderr
            server.admin("set-role", "cun2", "--role", "village", "--org", VILLAGE)
            assert _row(admin.accounts(), "cun2")["role"] == "village"

            # revoke-device: one PC of the account, by the id the list shows
            token3 = device_token(server, "cun")
            devices = _row(admin.accounts(), "cun")["devices"]
            assert len(devices) == 3  # the reset's sign-in, the token above and this one
            for d in devices:
                admin.revoke_device("cun", d["id"])
            assert not _token_works(server, token3) and not _row(admin.accounts(), "cun")["devices"]
            with pytest.raises(SyncError, match="没有编号"):
                admin.revoke_device("cun", "not-a-device")
            with pytest.raises(SyncError, match="自己的账号"):
                admin.disable("xian")
            with pytest.raises(SyncError, match="没有名为"):
                admin.disable("nobody")
            admin.close()

            audit = server.admin("audit").stdout.splitlines()
            by_county = [line.split() for line in audit if "xian（县民政局，" in line]
            assert [(f[3], f[4]) for f in reversed(by_county)] == [
                ("add-user", "cun3"), ("disable", "cun"), ("enable", "cun"), ("reset-password", "cun"),
                ("unlock", "cun2"), ("set-role", "cun2"),
                ("revoke-device", "cun"), ("revoke-device", "cun"), ("revoke-device", "cun")], audit
        finally:
            pc.close()


def test_a_township_manages_its_villages_only_and_a_village_nothing(tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    with server:
        setup_county(server)
        url = server.url + API_PREFIX
        zhen = request_headers(device_token(server, "zhen"))
        listing = requests.get(url + "/accounts", headers=zhen, timeout=60).json()
        assert sorted(a["name"] for a in listing["accounts"]) == ["cun", "cun2", "zhen"]  # not the county's
        assert listing["creatable_roles"] == ["village"]

        def act(headers, **body):
            return requests.post(url + "/accounts/action", headers=headers, json=body, timeout=60)

        answer = act(zhen, action="create", name="cun5", role="village", org_code=VILLAGE2)
        assert answer.status_code == 200 and answer.json()["one_time_password"]
        for body, status, words in (
                (dict(action="create", name="cun6", role="village", org_code=FAR_VILLAGE), 403, "管辖范围"),
                (dict(action="create", name="zhen2", role="township", org_code=TOWNSHIP), 403, "只能管理"),
                (dict(action="disable", name="xian"), 403, "只能管理"),
                (dict(action="set-role", name="cun5", role="village", org_code=FAR_VILLAGE), 403, "管辖范围"),
                (dict(action="delete", name="cun5"), 400, "请求格式不正确"),
                (dict(action="disable", name="x" * 101), 400, "过长"),
                (dict(action="revoke-device", name="cun5"), 400, "请选择")):
            answer = act(zhen, **body)
            assert answer.status_code == status and set(answer.json()) == {"error", "message"}, answer.text
            assert words in answer.json()["message"], answer.text
        assert act(zhen, action="disable", name="cun5").status_code == 200

        cun = request_headers(device_token(server, "cun"))
        for answer in (requests.get(url + "/accounts", headers=cun, timeout=60),
                       act(cun, action="enable", name="cun5")):
            assert answer.status_code == 403 and "不能管理账号" in answer.json()["message"]
        assert requests.get(url + "/accounts", headers=request_headers(), timeout=60).status_code == 401
        audit = server.admin("audit").stdout
        assert "zhen（乡镇/街道，220102001000）" in audit and "cun5" in audit
