"""Sync end to end: a real ``taizhang-server serve`` process on 127.0.0.1, real clients (each its own
data directory and SQLite database), on SQLite and on a real PostgreSQL server.

After every scenario the server and the clients hold exactly the same live records.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import requests
from sqlalchemy import func, select

from county_server.models import Rejection, SyncBatch
from storage.db import make_engine
from storage.models import ChangeLog, Conflict
from storage.repository import WriteOp, org_unit_id
from sync.client import LoginRequired, SyncError, open_conflicts, rejections, resolve_conflict
from sync.protocol import API_PREFIX, PROTOCOL_HEADER, encode_push, make_cursor
from tests.serverproc import (FAR_VILLAGE, PASSWORD, VILLAGE, VILLAGE2, ResponseDroppingProxy, ServerProcess,
                              SyncTestClient, ledger_ops, live_records, scope_of, setup_county)


pytestmark = pytest.mark.usefixtures("insecure_keyring")  # see tests/conftest.py


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def county(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'county.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    server = ServerProcess(url, home=tmp_path / "server")
    server.start()
    setup_county(server)
    server.engine = make_engine(url)
    yield server
    server.stop()
    server.engine.dispose()


@pytest.fixture
def clients(tmp_path, county):
    made = []

    def make(name: str, user: str = "cun", url: str | None = None) -> SyncTestClient:
        c = SyncTestClient(tmp_path / "clients", name, url or county.url, user)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def server_live(county, user: str) -> dict:
    return live_records(county.engine, *scope_of(user))


def assert_same(county, *clients: SyncTestClient) -> None:
    for c in clients:
        assert c.repo.unsent_count() == 0, f"{c.name} still has unsent changes"
        assert c.live() == server_live(county, c.user), f"{c.name} differs from the server"


def server_count(county, model) -> int:
    with county.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()


def service(org: str = VILLAGE, persons: int = 3, day: int = 1) -> dict:
    return {"org_code": org, "date": dt.date(2026, 10, day), "category": "养老", "mode": "上门",
            "target": "老年人", "persons": persons}


# --------------------------------------------------------------------------- scenarios


def test_first_and_incremental_sync(county, clients):
    a, b = clients("a"), clients("b")
    a.repo.bulk_write(ledger_ops(VILLAGE, 300, seed=1))
    written = a.repo.unsent_count()
    report = a.sync()
    assert report.pushed == written and report.applied == written and report.conflicts == 0
    assert report.mismatches == [] and report.unsent == 0
    assert a.repo.get_setting("org_name") == "幸福村"  # identity from the account on first sign-in
    report_b = b.sync()
    assert report_b.pulled >= written  # the village's records plus the county's org units
    assert_same(county, a, b)

    # incremental: edits and deletes on both PCs
    services = a.repo.list("service")
    a.repo.update("service", services[0]["id"], {"persons": 99})
    a.repo.delete("service", services[1]["id"])
    b.repo.create("service", service(persons=7))
    assert a.sync().pushed == 2
    assert b.sync().pushed == 1
    a.sync()
    assert a.repo.get("service", services[0]["id"])["persons"] == 99
    assert b.repo.get("service", services[0]["id"])["persons"] == 99
    assert b.repo.get("service", services[1]["id"]) is None
    assert_same(county, a, b)


def test_batch_resent_gets_same_answers_and_writes_nothing_twice(county, clients):
    a = clients("a")
    a.sync()
    a.repo.bulk_write(ledger_ops(VILLAGE, 50, seed=2))
    changes = [c for _, c in a.repo.pending_changes(limit=10_000)]
    client = a.client()
    client.login(PASSWORD)
    body = encode_push("11111111-2222-4333-8444-555555555555", changes)
    first = client.transport.request("POST", "/push", data=body, gzip_body=True)
    rows_after_first = server_count(county, ChangeLog)
    second = client.transport.request("POST", "/push", data=body, gzip_body=True)
    assert first["replayed"] is False and second["replayed"] is True
    assert first["results"] == second["results"]
    assert {r["outcome"] for r in first["results"]} == {"applied"}
    assert server_count(county, ChangeLog) == rows_after_first
    # the same changes in a new batch: duplicates, still nothing written
    third = client.transport.request("POST", "/push", data=encode_push("99999999-2222-4333-8444-555555555555",
                                                                       changes), gzip_body=True)
    assert {r["outcome"] for r in third["results"]} == {"duplicate"}
    assert server_count(county, ChangeLog) == rows_after_first
    # a batch id re-used for other changes is refused, not half-applied
    with pytest.raises(SyncError):
        client.transport.request("POST", "/push", data=encode_push("11111111-2222-4333-8444-555555555555",
                                                                   changes[:3]), gzip_body=True)
    a.sync()  # the PC still believes these are unsent: the server answers duplicate and they are confirmed
    assert_same(county, a)


def test_response_lost_after_server_committed(county, clients):
    pushes = []

    def drop(method, path):
        if path.startswith(API_PREFIX + "/push"):
            pushes.append(path)
            return len(pushes) == 1  # the first push's answer is lost on the way back
        return False

    proxy = ResponseDroppingProxy(county.port, drop)
    try:
        a = clients("a", url=proxy.url)
        a.repo.bulk_write(ledger_ops(VILLAGE, 200, seed=3))
        written = a.repo.unsent_count()
        report = a.sync()
        assert proxy.dropped, "the proxy did not drop a response"
        assert report.unsent == 0 and report.pushed == written
        with county.engine.connect() as conn:
            batches = conn.execute(select(SyncBatch.batch_id)).scalars().all()
            changes = conn.execute(select(func.count()).select_from(ChangeLog.__table__)
                                   .where(ChangeLog.org_code == VILLAGE, ChangeLog.record_type != "org_unit")).scalar_one()
        assert len(batches) == len(set(batches))
        assert changes == written  # nothing written twice
        assert_same(county, a)
    finally:
        proxy.close()


def test_client_killed_mid_batch(county, clients):
    a = clients("a")
    a.sync()
    a.repo.bulk_write(ledger_ops(VILLAGE, 3000, seed=4))
    written = a.repo.unsent_count()
    proc = a.sync_subprocess()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server_count(county, SyncBatch) < 2:
        time.sleep(0.01)
    proc.kill()  # SIGKILL, mid-sync
    proc.wait(timeout=10)
    assert server_count(county, SyncBatch) >= 1
    a.sync()
    with county.engine.connect() as conn:
        on_server = conn.execute(select(func.count()).select_from(ChangeLog.__table__)
                                 .where(ChangeLog.org_code == VILLAGE, ChangeLog.record_type != "org_unit")).scalar_one()
    assert on_server == written
    assert_same(county, a)


def test_server_killed_mid_batch(county, clients):
    import threading

    a = clients("a")
    a.sync()
    a.repo.bulk_write(ledger_ops(VILLAGE, 3000, seed=5))
    written = a.repo.unsent_count()
    outcome = {}

    def run():
        try:
            outcome["report"] = a.sync(retries=10, backoff=0.2)
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server_count(county, SyncBatch) < 1:
        time.sleep(0.005)
    county.kill()  # SIGKILL while the client is sending the next batches
    time.sleep(0.3)
    county.start()
    worker.join(timeout=180)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["report"].unsent == 0
    with county.engine.connect() as conn:
        on_server = conn.execute(select(func.count()).select_from(ChangeLog.__table__)
                                 .where(ChangeLog.org_code == VILLAGE, ChangeLog.record_type != "org_unit")).scalar_one()
    assert on_server == written
    assert_same(county, a)


def test_two_clients_edit_the_same_record(county, clients):
    a, b = clients("a"), clients("b")
    rec = a.repo.create("service", service(persons=1))
    a.sync()
    b.sync()
    a.repo.update("service", rec["id"], {"persons": 10, "note": "甲电脑修改"})
    b.repo.update("service", rec["id"], {"persons": 20, "note": "乙电脑修改"})
    assert a.sync().conflicts == 0
    report = b.sync()
    assert report.conflicts == 1
    # nothing silently overwritten: the server keeps A's version and both versions are stored
    with county.engine.connect() as conn:
        server_conflicts = conn.execute(select(Conflict)).all()
    assert len(server_conflicts) == 1 and json.loads(server_conflicts[0].local_payload)["persons"] == 20
    assert live_records(county.engine, *scope_of("cun"))[("service", rec["id"])][1]["persons"] == 10
    conflicts = open_conflicts(b.repo)
    assert len(conflicts) == 1
    assert conflicts[0]["local"]["persons"] == 20 and conflicts[0]["server"]["persons"] == 10
    assert b.repo.get("service", rec["id"])["persons"] == 10  # shows the server's until the user chooses
    assert_same(county, a, b)

    # the user on B keeps their own version: it goes up as a normal change
    resolve_conflict(b.repo, conflicts[0]["id"], "local")
    assert open_conflicts(b.repo) == []
    b.sync()
    a.sync()
    assert a.repo.get("service", rec["id"])["persons"] == 20
    with county.engine.connect() as conn:
        assert conn.execute(select(Conflict.resolution)).scalar_one() == "local"
    assert_same(county, a, b)


def test_out_of_scope_writes_are_rejected_and_recorded(county, clients):
    a = clients("a")
    a.sync()
    mine = a.repo.create("service", service(persons=2))
    other = a.repo.create("service", service(org=VILLAGE2, persons=5))
    a.repo.update("org_unit", org_unit_id(VILLAGE), {"name": "幸福村（改名）"})
    report = a.sync()
    assert report.rejected == 2 and report.applied == 1
    kept = rejections(a.repo)
    reasons = [r["reason"] for r in kept]
    assert any("不在" in r and VILLAGE2 in r for r in reasons)
    # the refused record's content stays on this PC with its reason
    [refused] = [r for r in kept if r["record_id"] == other["id"]]
    assert refused["payload"]["persons"] == 5 and refused["org_code"] == VILLAGE2 and refused["op"] == "insert"
    assert any("县民政局统一维护" in r for r in reasons)
    with county.engine.connect() as conn:
        recorded = conn.execute(select(Rejection.record_id, Rejection.reason)).all()
    assert {r.record_id for r in recorded} == {other["id"], org_unit_id(VILLAGE)}
    # the PC shows the server's truth again; its own versions are kept in the rejection list
    assert a.repo.get("service", other["id"]) is None
    assert a.repo.get("org_unit", org_unit_id(VILLAGE))["name"] == "幸福村"
    assert a.repo.get("service", mine["id"]) is not None
    assert_same(county, a)

    # a township account writes for its villages, not for another township's
    t = clients("t", user="zhen")
    t.sync()
    ok = t.repo.create("service", service(org=VILLAGE2, persons=4))
    far = t.repo.create("service", service(org=FAR_VILLAGE, persons=4))
    report = t.sync()
    assert report.applied == 1 and report.rejected == 1
    assert t.repo.get("service", ok["id"]) is not None and t.repo.get("service", far["id"]) is None
    a.sync()  # the village sees nothing of its neighbour
    assert a.repo.get("service", ok["id"]) is None
    assert_same(county, a, t)


def test_revoked_token(county, clients):
    a = clients("a")
    a.sync()
    client = a.client()
    client.login(PASSWORD)
    client.sync()
    devices = county.admin("devices").stdout
    device_ids = [line.split()[0] for line in devices.splitlines() if "cun" in line and "有效" in line]
    assert len(device_ids) == 1
    out = county.admin("revoke-device", device_ids[0][:8])
    assert "已撤销" in out.stdout
    a.repo.create("service", service())
    with pytest.raises(LoginRequired) as info:
        client.sync()
    assert "撤销" in str(info.value)
    assert a.repo.unsent_count() == 1  # nothing lost
    assert "已撤销" in county.admin("devices").stdout
    a.sync()  # signing in again with the password works
    assert_same(county, a)


def test_full_repull_after_unknown_cursor_keeps_unsent_changes(county, clients):
    a = clients("a")
    a.repo.bulk_write(ledger_ops(VILLAGE, 100, seed=6))
    a.sync()
    a.repo.set_setting("sync.cursor", make_cursor("a-server-that-no-longer-exists", 123456))
    unsent = a.repo.create("service", service(persons=8))
    report = a.sync()
    assert report.full_repull
    assert a.repo.get("service", unsent["id"])["persons"] == 8
    assert_same(county, a)


def test_sanity_check_repairs_mismatches(county, clients):
    a, b = clients("a"), clients("b")
    a.repo.bulk_write(ledger_ops(VILLAGE, 40, seed=7))
    a.sync()
    b.sync()
    # A wrongly believes two changes were sent (as after a server restored from an old backup)
    lost = [a.repo.create("service", service(persons=n)) for n in (11, 12)]
    a.repo.mark_acked([c.change_id for _, c in a.repo.pending_changes()])
    report_a = a.sync()
    assert report_a.mismatches and report_a.repaired >= 2  # found by the check, queued again, pushed
    assert_same(county, a)
    # B's cursor jumped past them (as after a lost pull page): the check fetches them
    incarnation = requests.get(county.url + API_PREFIX + "/status", timeout=10).json()["incarnation"]
    b.repo.set_setting("sync.cursor", make_cursor(incarnation, _max_seq(county)))
    report_b = b.sync()
    assert report_b.mismatches and report_b.repaired >= 2
    for rec in lost:
        assert b.repo.get("service", rec["id"]) is not None
    assert_same(county, a, b)


def _max_seq(county) -> int:
    with county.engine.connect() as conn:
        return conn.execute(select(func.max(ChangeLog.seq))).scalar()


def test_demo_database_is_never_synced(county, clients):
    from storage import local

    a = clients("a")
    local.set_identity(a.repo, "220102001001", "幸福村（演示数据）", demo=True)
    a.repo.create("service", service())
    with pytest.raises(SyncError) as info:
        a.sync()
    assert "演示数据" in str(info.value)
    assert server_count(county, SyncBatch) == 0


def test_protocol_version_is_checked(county):
    for version in ("0", "999", None):
        headers = {} if version is None else {PROTOCOL_HEADER: version}
        resp = requests.post(county.url + API_PREFIX + "/push", data=b"{}", headers=headers, timeout=10)
        assert resp.status_code == 426
        assert resp.json()["error"] == "protocol_unsupported"
        assert "升级" in resp.json()["message"]
    spec = requests.get(county.url + API_PREFIX + "/openapi.json", timeout=10).json()
    assert {"/api/v1/push", "/api/v1/pull", "/api/v1/login", "/api/v1/summary"} <= set(spec["paths"])


def test_pull_brings_county_corrections_and_choice_lists(county, clients):
    a, x = clients("a"), clients("x", user="xian")
    rec = a.repo.create("service", service(persons=2))
    a.sync()
    x.sync()
    x.repo.update("service", rec["id"], {"persons": 3, "note": "县民政局更正"})
    x.repo.save_choice_list("service_mode", x.repo.choices()["service_mode"] + ["流动服务车"])
    assert x.sync().applied == 1
    # choice lists are county data: publish the new list on the server through its repository
    from storage.repository import Repository

    Repository(county.engine).save_choice_list("service_mode", x.repo.choices()["service_mode"])
    a.sync()
    assert a.repo.get("service", rec["id"])["note"] == "县民政局更正"
    assert "流动服务车" in a.repo.choices()["service_mode"]
    assert a.repo.unsent_count() == 0  # pulled changes are never pushed back
    assert_same(county, a, x)


def test_a_new_pc_pulls_big_pages_gzipped(county, clients):
    """Pull pages are big JSON (about 1 MB for 2,000 changes): they travel gzip'd, and a new PC of
    the village, pulling page by page at once, ends with exactly the server's records."""
    a, b = clients("a"), clients("b")
    a.repo.bulk_write([WriteOp("service", "insert", dict(service(persons=1 + i % 30), note=f"第{i}次入户走访"))
                       for i in range(2500)])
    a.sync()
    client = b.client()
    encodings: list[str | None] = []
    client.transport.session.hooks["response"].append(
        lambda resp, *args, **kwargs: encodings.append(resp.headers.get("Content-Encoding")
                                                       if "/pull" in resp.url else "-"))
    report = client.sync(password=PASSWORD)
    client.transport.close()
    assert report.pulled >= 2500 and report.conflicts == 0
    assert "gzip" in encodings  # the full pages; a short last page may go plain
    assert_same(county, a, b)


def test_record_refused_then_restored_reaches_the_server(county, clients):
    """A record the server refused (its month was accepted) is withdrawn on the PC.  Restored after
    the county reopens the month, it must reach the server — not come back as a conflict the server
    can never settle (it never held the record, so there is no base version to match)."""
    from storage import periods as P
    from storage.repository import Repository

    a = clients("a")
    a.sync()
    county_repo = Repository(county.engine, actor="县管理员")
    county_repo.guards = []  # the county sets the month's state directly for this scenario
    month = P.period_id(VILLAGE, "2026-10")
    county_repo.create("period", {"org_code": VILLAGE, "period": "2026-10", "status": P.ACCEPTED},
                       record_id=month)
    record = a.repo.create("service", service())
    a.sync()
    assert a.repo.get("service", record["id"]) is None  # refused by the server, withdrawn here
    assert county_repo.get("service", record["id"], include_deleted=True) is None

    county_repo.update("period", month, {"status": P.RETURNED, "reason": "县里重新打开，请补录"})
    a.sync()  # the PC learns that the month is open again
    a.repo.restore("service", record["id"])
    a.sync()

    held = county_repo.get("service", record["id"])
    assert held is not None and held["persons"] == 3 and held["version"] == a.repo.get("service", record["id"])["version"]
    assert open_conflicts(a.repo) == []
    assert_same(county, a)
