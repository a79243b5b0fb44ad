"""An older export imported again never reverts a newer value: 冲突, both versions kept, exit status 1.

Exports carry each record's version beside its hidden id (记录版本).  At the village (``taizhang
import``) and at the county (``taizhang-server import``): export, change the record (or resolve a sync
conflict on it), import the old export → the row is reported as 冲突 with both values, the newer value
stays, the row waits in the conflict list; importing the current export changes nothing.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from exchange.export import export_workbook
from exchange.importer import import_workbook, plan_workbook
from storage.db import open_database
from storage.local import set_identity
from storage.models import Conflict
from storage.repository import Repository
from storage.validation import Valid
from sync.client import open_conflicts, resolve_conflict
from tests.test_exchange_util import COUNTY, VILLAGE, change_count, valid_id

FACILITY = {"org_code": VILLAGE, "name": "日间照料中心", "category": "养老服务设施", "status": "在用",
            "building_area": 300.0}


def _taizhang(*args) -> tuple[int, str]:
    from desktop.cli import main

    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in args])
    return code, out.getvalue()


def test_village_reimport_of_an_older_export_is_a_conflict(repo, village, tmp_path):
    set_identity(repo, VILLAGE, "测试村")
    rec = repo.create("facility", FACILITY)
    staff = repo.create("staff", {"org_code": VILLAGE, "name": "王芳", "id_number": valid_id(3), "roles": ["网格员"],
                                  "status": "在岗", "phone": "13800138000"})
    assert _taizhang("export", "--full", "--purpose", "改后重新导入", "-o", tmp_path / "旧.xlsx")[0] == 0
    repo.update("facility", rec["id"], {"building_area": 420.0})
    repo.update("staff", staff["id"], {"phone": "13900139000"})
    changes = change_count(repo)

    code, out = _taizhang("import", tmp_path / "旧.xlsx", "--dry-run")
    assert code == 1, out
    assert "冲突 2" in out and "420" in out and "300" in out  # both values, in the dry run too
    assert "139****9000" in out and "138****8000" in out and "13900139000" not in out  # phones masked
    assert open_conflicts(repo) == [] and change_count(repo) == changes

    code, out = _taizhang("import", tmp_path / "旧.xlsx")
    assert code == 1, out
    assert "冲突" in out and "第1版" in out and "第2版" in out
    assert repo.get("facility", rec["id"])["building_area"] == 420.0  # the newer value kept
    assert repo.get("staff", staff["id"])["phone"] == "13900139000"
    assert change_count(repo) == changes  # nothing overwritten, nothing entered the change log
    conflicts = {c["record_id"]: c for c in open_conflicts(repo)}
    assert set(conflicts) == {rec["id"], staff["id"]}
    facility = conflicts[rec["id"]]
    assert facility["origin"] == "import" and facility["server_version"] == 2
    assert facility["local"]["building_area"] == 300.0 and facility["server"]["building_area"] == 420.0

    # the same old workbook again: still one conflict per record, not two
    assert _taizhang("import", tmp_path / "旧.xlsx")[0] == 1
    assert len(open_conflicts(repo)) == 2
    code, out = _taizhang("conflicts")
    assert "导入表格" in out and "building_area" in out

    # importing the current export changes nothing
    assert _taizhang("export", "--full", "--purpose", "改后重新导入", "-o", tmp_path / "新.xlsx")[0] == 0
    changes = change_count(repo)  # the full export itself is recorded (a disclosure)
    code, out = _taizhang("import", tmp_path / "新.xlsx")
    assert code == 0, out
    assert "冲突" not in out and change_count(repo) == changes

    # the clerk chooses the workbook's version for the facility: it becomes a normal new version
    resolve_conflict(repo, facility["id"], "local")
    assert repo.get("facility", rec["id"])["building_area"] == 300.0
    assert repo.get("facility", rec["id"])["version"] == 3
    assert [c["record_id"] for c in open_conflicts(repo)] == [staff["id"]]


def _server_cli(db, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "county_server.cli", "--db", f"sqlite:///{db}", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def _server_import(db, *files) -> subprocess.CompletedProcess:
    return _server_cli(db, "import", "--county", COUNTY, *files)


def test_county_reimport_of_an_older_export_is_a_conflict(repo, village, tmp_path):
    rec = repo.create("facility", FACILITY)
    old, _ = export_workbook(repo, tmp_path / "三月.xlsx", org_code=VILLAGE)
    db = tmp_path / "county.sqlite3"
    first = _server_import(db, old)
    assert first.returncode == 0, first.stdout + first.stderr
    repo.update("facility", rec["id"], {"building_area": 420.0, "status": "停用"})
    new, _ = export_workbook(repo, tmp_path / "四月.xlsx", org_code=VILLAGE)
    assert _server_import(db, new).returncode == 0

    stale = _server_import(db, old)
    assert stale.returncode == 1, stale.stdout
    assert "冲突 1" in stale.stdout and "420" in stale.stdout and "300" in stale.stdout
    engine = open_database(db)
    try:
        county = Repository(engine)
        assert county.get("facility", rec["id"])["building_area"] == 420.0
        assert county.get("facility", rec["id"])["status"] == "停用"
        with engine.connect() as conn:
            kept = conn.execute(Conflict.__table__.select()).mappings().all()
        assert len(kept) == 1 and kept[0]["origin"] == "import" and kept[0]["record_id"] == rec["id"]
        changes = change_count(county)
    finally:
        engine.dispose()
    again = _server_import(db, new)
    assert again.returncode == 0 and "冲突" not in again.stdout and "更新 0" in again.stdout

    # the county settles it: the workbook's version becomes the record's next version
    listed = _server_cli(db, "import-conflicts")
    assert "未处理的导入冲突：1 条" in listed.stdout and "building_area" in listed.stdout
    chosen = _server_cli(db, "import-conflicts", kept[0]["id"][:8], "--keep", "table")
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    engine = open_database(db)
    try:
        county = Repository(engine)
        assert change_count(county) == changes + 1
        assert county.get("facility", rec["id"])["building_area"] == 300.0
    finally:
        engine.dispose()
    assert "未处理的导入冲突：0 条" in _server_cli(db, "import-conflicts").stdout


@pytest.mark.usefixtures("insecure_keyring")
@pytest.mark.parametrize("keep", ["server", "local"])
def test_reimport_after_a_resolved_sync_conflict_is_a_conflict(tmp_path, keep):
    from tests.serverproc import ServerProcess, SyncTestClient, setup_county
    from tests.serverproc import VILLAGE as SYNC_VILLAGE

    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    server.start()
    a = b = None
    try:
        setup_county(server)
        a = SyncTestClient(tmp_path / "clients", "a", server.url, "cun")
        b = SyncTestClient(tmp_path / "clients", "b", server.url, "cun")
        rec = a.repo.create("facility", dict(FACILITY, org_code=SYNC_VILLAGE))
        a.sync()
        b.sync()
        old, _ = export_workbook(b.repo, tmp_path / "旧.xlsx", org_code=SYNC_VILLAGE)
        a.repo.update("facility", rec["id"], {"building_area": 350.0})
        b.repo.update("facility", rec["id"], {"building_area": 400.0})
        a.sync()
        assert b.sync().conflicts == 1
        resolve_conflict(b.repo, open_conflicts(b.repo)[0]["id"], keep)
        newer = b.repo.get("facility", rec["id"])
        assert newer["building_area"] == (350.0 if keep == "server" else 400.0)

        result = import_workbook(b.repo, old)
        assert not result.ok and len(result.conflicts) == 1, result.text()
        assert "冲突" in result.text() and "300" in result.text()
        assert b.repo.get("facility", rec["id"])["building_area"] == newer["building_area"]
        (conflict,) = open_conflicts(b.repo)
        assert conflict["origin"] == "import" and conflict["local"]["building_area"] == 300.0
        current, _ = export_workbook(b.repo, tmp_path / "新.xlsx", org_code=SYNC_VILLAGE)
        again = import_workbook(b.repo, current)
        assert again.ok and again.total("update") == again.total("create") == 0
    finally:
        for c in (a, b):
            if c is not None:
                c.close()
        server.stop()


def test_excel_imported_staff_gets_gender_and_birth_date_from_the_id_number(repo, village, tmp_path):
    from tests.test_exchange_util import STAFF_HEADER, make_workbook, staff_row

    header = [h for h in STAFF_HEADER if h != "性别"]  # no 性别 column; no 出生日期 column either
    row = staff_row(2)
    del row[STAFF_HEADER.index("性别")]
    path = make_workbook(tmp_path / "人员.xlsx", {"社区工作者": [header, row]})
    [op] = plan_workbook(repo, path, scope=VILLAGE).ops
    assert isinstance(op.values, Valid) and op.values["gender"] is not None  # written without validating again
    result = import_workbook(repo, path, scope=VILLAGE)
    assert result.status == "imported", result.text()
    (imported,) = repo.list("staff")
    formed = repo.create("staff", {"org_code": VILLAGE, "name": "李四", "id_number": valid_id(5, born="19920615"),
                                   "roles": ["网格员"], "status": "在岗"})
    assert (imported["gender"], imported["birth_date"]) == ("男" if int(valid_id(2)[16]) % 2 else "女",
                                                           dt.date(1980, 1, 1))
    assert formed["birth_date"] == dt.date(1992, 6, 15) and formed["gender"] in ("男", "女")
