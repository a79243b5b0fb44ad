"""Month end across three levels with a real ``taizhang-server serve`` process and real clients.

village submits → township returns with a reason → the village sees it, corrects, resubmits →
township approves → county accepts → the month is locked on the village PC and refused by the
server if edited anyway → county reopens.  Then offline packages: a round trip through a township
collector (over HTTP), duplicate import, a flipped byte, another village's device, a locked month,
and a package whose changes also arrive by online sync (no duplicates either way).
"""

from __future__ import annotations

import base64
import datetime as dt
import subprocess

import pytest
from sqlalchemy import func, select

from storage import periods as P
from storage.db import make_engine
from storage.models import ChangeLog
from storage.repository import WriteRefused
from sync import package as PK
from sync.client import rejections
from sync.package_cli import upload_package
from tests.serverproc import (COUNTY, PASSWORD, SERVER_CMD, TOWNSHIP, VILLAGE, ServerProcess,
                              SyncTestClient, server_env, setup_county)
from tests.test_periods import fill_month

MONTH = P.previous_period()


pytestmark = pytest.mark.usefixtures("insecure_keyring")  # see tests/conftest.py


BOTH_DATABASES = pytest.mark.parametrize(
    "county", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)


@pytest.fixture
def county(request, tmp_path):
    """A county server process on SQLite (or, for tests marked BOTH_DATABASES, also on PostgreSQL)."""
    kind = getattr(request, "param", "sqlite")
    url = f"sqlite:///{tmp_path / 'county.sqlite3'}" if kind == "sqlite" else request.getfixturevalue("pg_url")
    server = ServerProcess(url, home=tmp_path / "server")
    server.start()
    try:
        setup_county(server)
        server.engine = make_engine(url)
        yield server
    finally:
        server.stop()
        if hasattr(server, "engine"):
            server.engine.dispose()


@pytest.fixture
def pcs(tmp_path, county):
    made = []

    def make(name: str, user: str) -> SyncTestClient:
        c = SyncTestClient(tmp_path / "pcs", name, county.url, user)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def sign_in(pc: SyncTestClient) -> str:
    """First sync with the password; the token and package signing key are what a secure keyring would keep."""
    pc.sync()
    pc.token = pc.last_client.transport.token
    pc.signing_key = pc.last_client.package_key
    return pc.token


def sync(pc: SyncTestClient):
    client = pc.client()
    client.transport.token = pc.token  # as with a token kept in the OS keyring: no new sign-in
    try:
        return client.sync()
    finally:
        client.transport.close()


def server_state(county, org: str, month: str = MONTH) -> P.PeriodState:
    with county.engine.connect() as conn:
        return P.state(conn, org, month)


def server_services(county, org: str) -> list[dict]:
    from storage.models import table_for

    t = table_for("service")
    with county.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t).where(t.c.org_code == org, t.c.deleted.is_(False)))
                .mappings()]


@BOTH_DATABASES
def test_submit_return_resubmit_approve_accept_lock_reopen(county, pcs):
    cun, zhen, xian = pcs("cun", "cun"), pcs("zhen", "zhen"), pcs("xian", "xian")
    for pc in (cun, zhen, xian):
        sign_in(pc)
    assert cun.repo.get_setting("org_code") == VILLAGE

    # the village fills the month and submits (checklist first)
    assert not P.completeness(cun.repo, VILLAGE, MONTH).ok
    fill_month(cun.repo, org=VILLAGE, month=MONTH, services=3)
    P.submit(cun.repo, VILLAGE, MONTH)
    sync(cun)
    assert cun.repo.unsent_count() == 0
    assert server_state(county, VILLAGE).status == P.SUBMITTED

    # a village cannot approve its own month, even by writing the record itself: the server refuses
    cun.repo.update("period", P.period_id(VILLAGE, MONTH), {"status": P.APPROVED})
    report = sync(cun)
    assert report.rejected == 1 and any("村(社区)账号不能审核通过填报期" in m for m in report.messages)
    assert server_state(county, VILLAGE).status == P.SUBMITTED
    assert P.get_state(cun.repo, VILLAGE, MONTH).status == P.SUBMITTED  # the server's version was adopted

    # the township sees the village's month and returns it with a reason and a per-record note
    sync(zhen)
    assert P.get_state(zhen.repo, VILLAGE, MONTH).status == P.SUBMITTED
    assert zhen.repo.count("service", org_code=VILLAGE) == 3
    bad = sorted(zhen.repo.list("service", org_code=VILLAGE), key=lambda r: r["date"])[0]
    P.return_period(zhen.repo, VILLAGE, MONTH, "服务人次与签到表不符",
                    notes=[P.RecordNote("service", bad["id"], "人次应为 12", str(bad["date"]))],
                    role="township", actor_org=TOWNSHIP)
    # and a township cannot accept for the county: refused locally, and by the server if forced
    with pytest.raises(P.PeriodError, match="只有县民政局可以接收"):
        P.accept(zhen.repo, VILLAGE, MONTH, role="township", actor_org=TOWNSHIP)
    sync(zhen)
    assert server_state(county, VILLAGE).status == P.RETURNED

    # the village sees the notice after its next sync; it stays until the village resubmits
    sync(cun)
    notices = P.returned_notices(cun.repo, VILLAGE)
    assert [n.period for n in notices] == [MONTH]
    general, notes = P.parse_reason(notices[0].reason)
    assert general == "服务人次与签到表不符" and notes[0].record_id == bad["id"] and notes[0].note == "人次应为 12"
    cun.repo.update("service", bad["id"], {"persons": 12})
    assert P.returned_notices(cun.repo, VILLAGE)  # still there: correcting is not resubmitting
    P.submit(cun.repo, VILLAGE, MONTH)
    assert P.returned_notices(cun.repo, VILLAGE) == []
    sync(cun)

    # township approves, county accepts
    sync(zhen)
    assert P.get_state(zhen.repo, VILLAGE, MONTH).status == P.SUBMITTED
    P.approve(zhen.repo, VILLAGE, MONTH, role="township", actor_org=TOWNSHIP)
    sync(zhen)
    sync(xian)
    P.accept(xian.repo, VILLAGE, MONTH, role="county", actor_org=COUNTY)
    sync(xian)
    st = server_state(county, VILLAGE)
    assert st.status == P.ACCEPTED and st.accepted_by == "xian" and st.reviewed_by == "zhen"
    fixed = next(s for s in server_services(county, VILLAGE) if s["id"] == bad["id"])
    assert fixed["persons"] == 12

    # the village PC learns the lock at its next sync: the month is read-only there
    sync(cun)
    assert P.get_state(cun.repo, VILLAGE, MONTH).locked
    with pytest.raises(WriteRefused, match="已由县民政局接收并锁定"):
        cun.repo.update("service", bad["id"], {"persons": 99})
    with pytest.raises(WriteRefused, match="锁定"):
        cun.repo.create("service", {"org_code": VILLAGE, "date": P.month_bounds(MONTH)[0], "category": "养老",
                                    "mode": "上门", "target": "老年人", "persons": 1})
    # edited anyway (an old program, a database opened by hand): the server refuses with the reason
    cun.repo.guards.clear()
    cun.repo.update("service", bad["id"], {"persons": 99})
    report = sync(cun)
    assert report.rejected == 1
    assert any("锁定" in r["reason"] for r in rejections(cun.repo))
    assert next(s for s in server_services(county, VILLAGE) if s["id"] == bad["id"])["persons"] == 12
    assert cun.repo.get("service", bad["id"])["persons"] == 12  # the PC went back to the server's version
    cun.repo.guards.append(P.lock_guard)

    # only the county reopens, with a reason; then the village can correct again
    sync(zhen)
    with pytest.raises(P.PeriodError, match="不能重新打开"):
        P.reopen(zhen.repo, VILLAGE, MONTH, "想改", role="township", actor_org=TOWNSHIP)
    P.reopen(xian.repo, VILLAGE, MONTH, "全县统一更正人次口径", role="county", actor_org=COUNTY)
    sync(xian)
    sync(cun)
    st = P.get_state(cun.repo, VILLAGE, MONTH)
    assert st.status == P.RETURNED and "全县统一更正人次口径" in P.display_reason(st.reason)
    cun.repo.update("service", bad["id"], {"persons": 13})
    assert sync(cun).rejected == 0
    assert next(s for s in server_services(county, VILLAGE) if s["id"] == bad["id"])["persons"] == 13


def _flip(data: bytes, pos: int) -> bytes:
    b = bytearray(data)
    b[pos] ^= 0x04
    return bytes(b)


def _server_change_count(county) -> int:
    with county.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ChangeLog)).scalar_one()


def test_packages_through_a_township_collector(county, pcs, tmp_path):
    cun, cun2, zhen = pcs("cun", "cun"), pcs("cun2", "cun2"), pcs("zhen", "zhen")
    for pc in (cun, cun2, zhen):
        sign_in(pc)

    # the village has no network this month: it exports a package
    fill_month(cun.repo, org=VILLAGE, month=MONTH, services=5)
    P.submit(cun.repo, VILLAGE, MONTH)
    unsent = cun.repo.unsent_count()
    data, pkg = PK.build_package(cun.repo, cun.signing_key, org_code=VILLAGE, org_name="幸福村")
    path = tmp_path / "幸福村.tzpkg"
    path.write_bytes(data)

    # the collector's PC: imports it for review, uploads it, gets the receipt (HTTP, as the township account)
    local_import = PK.import_locally(zhen.repo, PK.read_package_file(path), role="township", actor_org=TOWNSHIP)
    assert local_import.applied == unsent and zhen.repo.count("service", org_code=VILLAGE) == 5
    assert P.get_state(zhen.repo, VILLAGE, MONTH).status == P.SUBMITTED
    answer = upload_package(county.url, zhen.token, path.read_bytes())
    assert answer["applied"] == unsent and not answer["replayed"]
    assert len(server_services(county, VILLAGE)) == 5
    before = _server_change_count(county)

    # duplicate import: nothing changes, the same answers
    again = upload_package(county.url, zhen.token, path.read_bytes())
    assert again["replayed"] and "以前已导入过" in again["summary"]
    assert _server_change_count(county) == before

    # a flipped byte
    with pytest.raises(Exception, match="已损坏|校验"):
        upload_package(county.url, zhen.token, _flip(data, len(data) // 3))

    # the receipt goes back on the stick: only now are the changes no longer unsent
    assert cun.repo.unsent_count() == unsent
    receipt_path = tmp_path / "幸福村-回执.tzrcpt"
    receipt_path.write_bytes(base64.b64decode(answer["receipt"]))
    marked = PK.apply_receipt(cun.repo, PK.read_receipt(receipt_path.read_bytes()), PK.server_receipt_key(cun.repo))
    assert marked == unsent and cun.repo.unsent_count() == 0
    # ... and the next online sync pushes nothing twice and agrees with the server
    report = sync(cun)
    assert report.pushed == 0 and report.mismatches == []
    assert len(server_services(county, VILLAGE)) == 5

    # a package from another village's device, claiming to be 幸福村: refused
    fill_month(cun2.repo, org=VILLAGE, month=MONTH, services=1)
    forged, _ = PK.build_package(cun2.repo, cun2.signing_key, org_code=VILLAGE, org_name="幸福村")
    with pytest.raises(Exception, match="导出它的电脑登录的是220102001002"):
        upload_package(county.url, zhen.token, forged)
    assert len(server_services(county, VILLAGE)) == 5

    # the server's own command imports packages too (and writes the receipt file)
    P.approve(zhen.repo, VILLAGE, MONTH, role="township", actor_org=TOWNSHIP)
    sync(zhen)
    cun.repo.create("service", {"org_code": VILLAGE, "date": P.month_bounds(MONTH)[0] + dt.timedelta(days=9),
                                "category": "助残", "mode": "上门", "target": "残疾人", "persons": 2})
    data2, _ = PK.build_package(cun.repo, cun.signing_key, org_code=VILLAGE)
    p2 = tmp_path / "幸福村-2.tzpkg"
    p2.write_bytes(data2)
    result = subprocess.run([*SERVER_CMD, "--db", county.db_url, "import-package", str(p2)], text=True,
                            capture_output=True, env=server_env(county.home), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "新写入 1 条" in result.stdout
    assert (tmp_path / "幸福村-2-回执.tzrcpt").exists()
    assert len(server_services(county, VILLAGE)) == 6
    # signed with the same key file as the running server's, which the village got at sign-in
    cli_receipt = PK.read_receipt((tmp_path / "幸福村-2-回执.tzrcpt").read_bytes())
    assert PK.apply_receipt(cun.repo, cli_receipt, PK.server_receipt_key(cun.repo)) >= 1


@BOTH_DATABASES
def test_package_into_locked_month_and_package_plus_online_sync(county, pcs, tmp_path):
    cun, zhen, xian = pcs("cun", "cun"), pcs("zhen", "zhen"), pcs("xian", "xian")
    for pc in (cun, zhen, xian):
        sign_in(pc)
    key = cun.signing_key
    fill_month(cun.repo, org=VILLAGE, month=MONTH, services=2)
    P.submit(cun.repo, VILLAGE, MONTH)

    # package exported, then the same changes also go up online: importing the package adds nothing
    data, pkg = PK.build_package(cun.repo, key, org_code=VILLAGE)
    sync(cun)
    before = _server_change_count(county)
    answer = upload_package(county.url, zhen.token, data)
    assert answer["applied"] == 0 and answer["duplicate"] == len(pkg.changes)
    assert _server_change_count(county) == before and len(server_services(county, VILLAGE)) == 2

    # the other way round: a package imported first, then the village syncs online before the receipt
    extra = cun.repo.create("service", {"org_code": VILLAGE, "date": P.month_bounds(MONTH)[0] + dt.timedelta(days=3),
                                        "category": "养老", "mode": "上门", "target": "老年人", "persons": 4})
    data2, _ = PK.build_package(cun.repo, key, org_code=VILLAGE)
    assert upload_package(county.url, zhen.token, data2)["applied"] == 1
    report = sync(cun)
    assert report.duplicates == 1 and report.applied == 0 and cun.repo.unsent_count() == 0
    assert [s["id"] for s in server_services(county, VILLAGE)].count(extra["id"]) == 1
    assert len(server_services(county, VILLAGE)) == 3

    # the county accepts; a package still carrying an edit of that month is refused with the reason
    sync(zhen)
    P.approve(zhen.repo, VILLAGE, MONTH, role="township", actor_org=TOWNSHIP)
    sync(zhen)
    sync(xian)
    P.accept(xian.repo, VILLAGE, MONTH, role="county", actor_org=COUNTY)
    sync(xian)
    cun.repo.update("service", extra["id"], {"persons": 40})  # the PC has not heard of the lock yet
    data3, _ = PK.build_package(cun.repo, key, org_code=VILLAGE)
    answer = upload_package(county.url, zhen.token, data3)
    assert answer["applied"] == 0 and answer["rejected"] == 1
    receipt = PK.read_receipt(base64.b64decode(answer["receipt"]))
    assert "已由县民政局接收并锁定" in receipt.rejected[0]["message"]
    assert next(s for s in server_services(county, VILLAGE) if s["id"] == extra["id"])["persons"] == 4


def _taizhang(home, *args, password: str | None = PASSWORD):
    import os
    import sys

    env = dict(os.environ)
    env["TAIZHANG_HOME"] = str(home)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return subprocess.run([sys.executable, "-c", "import sys; from desktop.cli import main; sys.exit(main())", *args],
                          input=(password + "\n") if password else None, text=True, capture_output=True, env=env,
                          timeout=180)


def test_township_collector_cli_round_trip(county, pcs, tmp_path):
    """The collector's own program: taizhang login, taizhang import-package (password asked, as without a
    secure keyring), receipt back to the village."""
    cun = pcs("cun", "cun")
    sign_in(cun)
    fill_month(cun.repo, org=VILLAGE, month=MONTH, services=3)
    P.submit(cun.repo, VILLAGE, MONTH)
    data, pkg = PK.build_package(cun.repo, cun.signing_key, org_code=VILLAGE, org_name="幸福村")
    stick = tmp_path / "U盘"
    stick.mkdir()
    path = stick / "幸福村-月报.tzpkg"
    path.write_bytes(data)

    town_home = tmp_path / "township-pc"
    town_home.mkdir()
    login = _taizhang(town_home, "login", "--server", county.url, "--user", "zhen")
    assert login.returncode == 0, login.stderr
    first = _taizhang(town_home, "import-package", str(path))
    assert first.returncode == 0, first.stderr
    assert "本机已导入" in first.stdout and "已上传县级服务器" in first.stdout
    receipt_path = stick / "幸福村-月报-回执.tzrcpt"
    assert receipt_path.exists()
    assert len(server_services(county, VILLAGE)) == 3 and server_state(county, VILLAGE).status == P.SUBMITTED
    again = _taizhang(town_home, "import-package", str(path))
    assert again.returncode == 0 and "以前已导入过" in again.stdout
    assert len(server_services(county, VILLAGE)) == 3
    # a damaged copy is refused before anything is written
    bad = stick / "坏.tzpkg"
    bad.write_bytes(_flip(data, len(data) - 20))
    refused = _taizhang(town_home, "import-package", str(bad))
    assert refused.returncode == 1 and ("已损坏" in refused.stderr or "校验" in refused.stderr)

    assert cun.repo.unsent_count() == len(pkg.changes)
    PK.apply_receipt(cun.repo, PK.read_receipt(receipt_path.read_bytes()), PK.server_receipt_key(cun.repo))
    assert cun.repo.unsent_count() == 0
    assert sync(cun).pushed == 0


def test_offline_village_learns_a_return_from_the_receipt(county, pcs, tmp_path):
    """No network at the village all month: the township's return reaches it on the receipt."""
    cun, zhen = pcs("cun", "cun"), pcs("zhen", "zhen")
    sign_in(cun), sign_in(zhen)
    key = cun.signing_key
    fill_month(cun.repo, org=VILLAGE, month=MONTH, services=2)
    P.submit(cun.repo, VILLAGE, MONTH)
    data, _ = PK.build_package(cun.repo, key, org_code=VILLAGE)
    upload_package(county.url, zhen.token, data)
    sync(zhen)
    P.return_period(zhen.repo, VILLAGE, MONTH, "缺少服务时长", role="township", actor_org=TOWNSHIP)
    sync(zhen)
    # next trip: the village corrects something else and sends a package; the receipt brings the return back
    svc = cun.repo.list("service", org_code=VILLAGE)[0]
    cun.repo.update("service", svc["id"], {"duration_hours": 2})
    data2, _ = PK.build_package(cun.repo, key, org_code=VILLAGE)
    answer = upload_package(county.url, zhen.token, data2)
    receipt = PK.read_receipt(base64.b64decode(answer["receipt"]))
    assert [c["payload"]["status"] for c in receipt.periods] == [P.SUBMITTED, P.RETURNED]
    PK.apply_receipt(cun.repo, receipt, PK.server_receipt_key(cun.repo))
    assert cun.repo.unsent_count() == 0
    notices = P.returned_notices(cun.repo, VILLAGE)
    assert [n.period for n in notices] == [MONTH] and "缺少服务时长" in notices[0].reason
    # and the village's next online sync agrees with the server
    report = sync(cun)
    assert report.pushed == 0 and report.mismatches == []


def test_withdraw_until_the_township_reviews_and_resubmit_after_edits(county, pcs):
    """A village takes its submission back; once the township approved, the server refuses 撤回."""
    import requests

    from sync.protocol import request_headers

    cun, zhen = pcs("cun", "cun"), pcs("zhen", "zhen")
    for pc in (cun, zhen):
        sign_in(pc)
    fill_month(cun.repo, org=VILLAGE, month=MONTH, services=3)
    P.submit(cun.repo, VILLAGE, MONTH)
    sync(cun)
    url = f"{county.url}/api/v1/periods/{VILLAGE}/{MONTH}"
    answer = requests.get(url, headers=request_headers(cun.token), timeout=10).json()
    assert answer["status"] == P.SUBMITTED and answer["may_withdraw"] and answer["next_action"] == "withdraw"
    assert answer["sentence"].startswith("已提交，等待乡镇审核")
    P.withdraw(cun.repo, VILLAGE, MONTH)
    sync(cun)
    assert server_state(county, VILLAGE).status == P.NOT_SUBMITTED

    P.submit(cun.repo, VILLAGE, MONTH)
    sync(cun)
    sync(zhen)
    P.approve(zhen.repo, VILLAGE, MONTH, actor_org=TOWNSHIP)
    sync(zhen)
    # the village withdraws before it learned of the review: the server refuses, in words
    cun.repo.update("period", P.period_id(VILLAGE, MONTH), {"status": P.NOT_SUBMITTED, "submitted_at": None})
    report = sync(cun)
    assert report.rejected == 1 and any("不能再撤回" in m for m in report.messages)
    assert P.get_state(cun.repo, VILLAGE, MONTH).status == P.APPROVED
    # an edit after the review, then 重新提交: the township has it to review again
    svc = cun.repo.list("service", org_code=VILLAGE)[0]
    cun.repo.update("service", svc["id"], {"persons": 12})
    assert P.next_step(P.get_state(cun.repo, VILLAGE, MONTH)).action == "resubmit"
    P.submit_or_resubmit(cun.repo, VILLAGE, MONTH)
    sync(cun)
    st = server_state(county, VILLAGE)
    assert st.status == P.SUBMITTED and not st.needs_rereview
    answer = requests.get(url, headers=request_headers(zhen.token), timeout=10).json()
    assert answer["status"] == P.SUBMITTED
    other = requests.get(f"{county.url}/api/v1/periods/220102002001/{MONTH}",
                         headers=request_headers(cun.token), timeout=10)
    assert other.status_code == 403
