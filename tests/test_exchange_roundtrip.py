"""Templates, exports and imports of the app's own workbooks; round trips change nothing."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from exchange.export import export_csv, export_workbook, write_template
from exchange.importer import import_files, import_workbook
from exchange.layout import META_SHEET, columns_for, sheet_types
from storage.db import head_revision, open_database
from storage.demo import fill_demo
from storage.repository import Repository
from tests.test_exchange_util import (COUNTY, VILLAGE, change_count, fill_template, record_counts, valid_id)

# These tests re-import what they export, so they export in full (allowed by default, recorded).
FULL = {"full": True, "purpose": "测试：导出后再导入"}


@pytest.fixture
def county_repo(tmp_path):
    engine = open_database(tmp_path / "county.sqlite3")
    repo = Repository(engine, actor="县级导入", device_id=None)
    yield repo
    engine.dispose()


@pytest.fixture
def demo_repo(repo):
    fill_demo(repo, records=120)
    return repo


def test_template_is_derived_from_the_schema(repo, village, tmp_path):
    path = write_template(repo, tmp_path / "模板.xlsx", org_code=VILLAGE, period="2024-03")
    wb = load_workbook(path)
    for rt in sheet_types():
        ws = wb[rt.label]
        cols = columns_for(rt)
        assert [c.value for c in ws[3]] == ["序号"] + [c.header for c in cols]
        assert "测试村" in ws["A1"].value and "A1" in str(ws.merged_cells)
        assert VILLAGE in ws["A2"].value and "2024-03" in ws["A2"].value
        for i, col in enumerate(cols, start=2):
            letter = ws.cell(row=3, column=i).column_letter
            if col.hidden:
                assert ws.column_dimensions[letter].hidden
            if col.field.type in ("id_number", "phone"):
                assert ws.column_dimensions[letter].number_format == "@", col.label
    staff = wb["社区工作者"]
    dropdowns = {str(dv.sqref).split(":")[0][:1]: dv.formula1 for dv in staff.data_validations.dataValidation}
    status_col = [c.key for c in columns_for(sheet_types()[2])].index("status")
    assert "_选项" in dropdowns[staff.cell(row=3, column=status_col + 2).column_letter]
    meta = {r[0].value: r[1].value for r in wb[META_SHEET].iter_rows()}
    assert wb[META_SHEET].sheet_state == "hidden"
    assert meta["schema_version"] == head_revision() and meta["org_code"] == VILLAGE
    assert meta["period"] == "2024-03" and meta["template_version"] == "1"
    assert "填写说明" in wb.sheetnames


def test_export_import_round_trip_changes_nothing(demo_repo, county_repo, tmp_path):
    path, n = export_workbook(demo_repo, tmp_path / "导出.xlsx", org_code=VILLAGE, **FULL)
    assert n == sum(record_counts(demo_repo).values())
    # into the county: everything created, with the village's own UUIDs
    first = import_workbook(county_repo, path, scope=COUNTY)
    assert first.status == "imported", first.text()
    assert first.total("create") == n and not first.errors
    assert record_counts(county_repo) == record_counts(demo_repo)
    some = demo_repo.list("training")[0]
    assert county_repo.get("training", some["id"])["staff_id"] == some["staff_id"]
    changes = change_count(county_repo)
    # the same workbook again: nothing changes, nothing enters the change log
    second = import_workbook(county_repo, path, scope=COUNTY)
    assert second.status == "imported" and second.total("unchanged") == n
    assert second.total("create") == second.total("update") == 0
    assert change_count(county_repo) == changes
    # and back into the village it came from: nothing changes either
    before = change_count(demo_repo)
    back = import_workbook(demo_repo, path)
    assert back.total("unchanged") == n and change_count(demo_repo) == before


def test_edited_export_updates_instead_of_duplicating(demo_repo, county_repo, tmp_path):
    path, _ = export_workbook(demo_repo, tmp_path / "导出.xlsx", org_code=VILLAGE, **FULL)
    import_workbook(county_repo, path)
    wb = load_workbook(path)
    ws = wb["服务设施"]
    name_col = [c.value for c in ws[3]].index("名称*") + 1
    old_name = ws.cell(row=4, column=name_col).value
    ws.cell(row=4, column=name_col).value = "新名称服务中心"
    wb.save(tmp_path / "改.xlsx")
    result = import_workbook(county_repo, tmp_path / "改.xlsx")
    assert result.status == "imported", result.text()
    assert result.counts["facility"].update == 1 and result.total("create") == 0
    names = {r["name"] for r in county_repo.list("facility")}
    assert "新名称服务中心" in names and old_name not in names
    pending = [c for _, c in county_repo.pending_changes(limit=10_000) if c.op == "update"]
    assert len(pending) == 1 and pending[0].payload["name"] == "新名称服务中心"


def test_filled_template_imports_with_parents_by_name_and_id(repo, village, county_repo, tmp_path):
    template = write_template(repo, tmp_path / "模板.xlsx", org_code=VILLAGE)
    filled = fill_template(template, tmp_path / "填好.xlsx", {
        "社区工作者": [
            {"姓名": "李明", "性别": "男", "公民身份号码": valid_id(1), "手机号": "13800138000",
             "职务": "网格员、两委委员", "在岗状态": "在岗", "到岗日期": dt.date(2021, 5, 1)},
            {"姓名": "王芳", "公民身份号码": valid_id(2, "19850505"), "职务": "专职社区工作者", "在岗状态": "在岗"},
        ],
        "培训记录": [
            {"社区工作者姓名": "李明", "日期": "2024年3月5日", "课程": "网格化服务管理", "天数": "2天"},
            {"社区工作者姓名": "王芳", "社区工作者公民身份号码": valid_id(2, "19850505"), "日期": "2024/3/6",
             "课程": "社会工作实务", "天数": 1.5, "举办层级": "县"},
        ],
        "志愿服务队": [{"队伍名称": "党员志愿服务队", "以党员为骨干": "是"}],
        "志愿者": [{"姓名": "赵强", "所属志愿服务队": "党员志愿服务队", "专长": "医疗、法律", "党员": "是"}],
        "服务时长": [{"志愿者姓名": "赵强", "日期": "2024.3.9", "活动": "义诊", "小时": "3小时"}],
        "服务记录": [
            {"日期": dt.date(2024, 3, 1), "服务类别": "养老", "服务方式": "上门", "服务对象": "老年人", "人次": 3},
            {"日期": dt.date(2024, 3, 1), "服务类别": "养老", "服务方式": "上门", "服务对象": "老年人", "人次": 3},
        ],
    })
    first = import_workbook(county_repo, filled, scope=COUNTY)
    assert first.status == "imported", first.text()
    assert first.total("create") == 9
    staff = {r["name"]: r for r in county_repo.list("staff")}
    trainings = county_repo.list("training")
    assert {t["staff_id"] for t in trainings} == {staff["李明"]["id"], staff["王芳"]["id"]}
    assert staff["李明"]["roles"] == ["网格员", "两委委员"]
    team = county_repo.list("volunteer_team")[0]
    volunteer = county_repo.list("volunteer")[0]
    assert volunteer["team_id"] == team["id"] and volunteer["skills"] == ["医疗", "法律"]
    assert county_repo.list("volunteer_hours")[0]["hours"] == 3
    assert county_repo.count("service") == 2  # two identical service rows are two services
    changes = change_count(county_repo)
    # rows without record numbers are matched by natural key / content: a second import changes nothing
    second = import_workbook(county_repo, filled, scope=COUNTY)
    assert second.status == "imported" and second.total("unchanged") == 9 and second.total("create") == 0
    assert change_count(county_repo) == changes


def test_period_export_contains_only_that_months_dated_records(demo_repo, tmp_path):
    services = demo_repo.list("service")
    month = services[0]["date"].strftime("%Y-%m")
    expected = sum(1 for s in services if s["date"].strftime("%Y-%m") == month)
    path, _ = export_workbook(demo_repo, tmp_path / "月.xlsx", org_code=VILLAGE, period=month, **FULL)
    ws = load_workbook(path, read_only=True)["服务记录"]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if any(v is not None for v in r)]
    assert len(rows) == expected
    assert load_workbook(path)["服务设施"].max_row == 3 + demo_repo.count("facility")  # undated: all


def test_csv_export_has_bom_and_text_ids(demo_repo, tmp_path):
    paths = export_csv(demo_repo, tmp_path / "csv", org_code=VILLAGE, **FULL)
    staff = next(p for p in paths if p.name == "社区工作者.csv")
    raw = staff.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][0] == "姓名*"
    ids = {r["id_number"] for r in demo_repo.list("staff")}
    id_col = rows[0].index("公民身份号码*")
    assert {r[id_col] for r in rows[1:]} == ids


def test_batch_import_of_a_folder_with_progress_and_cancel(demo_repo, county_repo, tmp_path):
    folder = tmp_path / "收件"
    folder.mkdir()
    export_workbook(demo_repo, folder / "a-好.xlsx", org_code=VILLAGE, **FULL)
    (folder / "b-坏.xlsx").write_bytes(b"not a workbook at all")
    (folder / "~$a-好.xlsx").write_bytes(b"lock file")
    seen = []
    results = import_files(county_repo, [folder], scope=COUNTY, report_dir=tmp_path / "报告",
                           progress=lambda p: seen.append((p.file_index, p.stage)))
    assert [r.status for r in results] == ["imported", "rejected"]
    assert "不是 Excel 工作簿" in results[1].errors[0].message
    assert results[1].report.exists() and results[0].report is None
    assert (0, "写入") in seen and (1, "完成") in seen
    # cancel: set before the first write; nothing of the batch is written
    fresh = Repository(open_database(tmp_path / "fresh.sqlite3"), actor="县")
    reported = []  # the desktop's summary is built from what on_result reports, not the return value
    cancelled = import_files(fresh, [folder / "a-好.xlsx"], cancel=lambda: True, on_result=reported.append)
    assert cancelled[0].status == "cancelled" and sum(record_counts(fresh).values()) == 0
    assert [r.status for r in reported] == ["cancelled"]


def test_cancel_during_write_rolls_back(demo_repo, county_repo, tmp_path):
    path, _ = export_workbook(demo_repo, tmp_path / "导出.xlsx", org_code=VILLAGE, **FULL)
    state = {"writing": False}

    def progress(p):
        if p.stage == "写入":
            state["writing"] = True

    result = import_workbook(county_repo, path, progress=progress, cancel=lambda: state["writing"])
    assert result.status == "cancelled"
    assert sum(record_counts(county_repo).values()) == 0 and change_count(county_repo) == 0


def _server(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "county_server.cli", "--db",
                           f"sqlite:///{tmp_path / 'srv.sqlite3'}", "import", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_server_import_cli_exit_status_dry_run_and_reports(demo_repo, tmp_path):
    good, _ = export_workbook(demo_repo, tmp_path / "好.xlsx", org_code=VILLAGE, **FULL)
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(good.read_bytes()[:2000])  # truncated zip
    dry = _server(tmp_path, good, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "[可导入] 好.xlsx" in dry.stdout and "试运行" in dry.stdout
    engine = open_database(tmp_path / "srv.sqlite3")
    assert Repository(engine).count("service") == 0
    engine.dispose()
    mixed = _server(tmp_path, good, bad, "--report-dir", tmp_path / "rep")
    assert mixed.returncode == 1
    assert "[已导入] 好.xlsx" in mixed.stdout and "[已拒绝] 坏.xlsx" in mixed.stdout
    assert "文件已损坏" in mixed.stdout
    assert (tmp_path / "rep" / "坏-错误报告.xlsx").exists()
    again = _server(tmp_path, good)
    assert again.returncode == 0 and "新建 0，更新 0" in again.stdout


def test_taizhang_template_and_export_commands(demo_repo, tmp_path, taizhang_home):
    from desktop.cli import main

    assert main(["template", "-o", str(tmp_path / "模板.xlsx")]) == 0
    assert "社区工作者" in load_workbook(tmp_path / "模板.xlsx").sheetnames
    assert main(["export", "-o", str(tmp_path / "导出.xlsx"), "--period", "2024-3"]) == 0
    assert main(["export", "-o", str(tmp_path / "导出.xlsx"), "--period", "2024-13"]) == 1
    assert main(["export", "--csv", "-o", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "csv" / "服务记录.csv").exists()


def test_taizhang_import_into_this_pcs_ledger(repo, village, tmp_path, taizhang_home):
    from desktop.cli import main
    from storage.local import set_identity
    from tests.test_exchange_util import FACILITY_HEADER, OTHER_COUNTY_VILLAGE, make_workbook

    set_identity(repo, VILLAGE, "测试村")
    ours = make_workbook(tmp_path / "本村.xlsx", {"服务设施": [FACILITY_HEADER, ["卫生室", "卫生室/社区卫生服务站", "在用", 90, 50]]})
    theirs = make_workbook(tmp_path / "别村.xlsx", {"服务设施": [FACILITY_HEADER, ["卫生室", "其他", "在用", 9, 5]]},
                           unit_line=f"区划代码：{OTHER_COUNTY_VILLAGE}")
    assert main(["import", str(ours), "--dry-run"]) == 0 and repo.count("facility") == 0
    assert main(["import", str(ours)]) == 0 and repo.count("facility") == 1
    assert main(["import", str(theirs)]) == 1 and repo.count("facility") == 1


def test_workbook_from_a_newer_template_version_is_refused(repo, village, tmp_path):
    path = write_template(repo, tmp_path / "t.xlsx", org_code=VILLAGE)
    wb = load_workbook(path)
    meta = wb[META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "template_version":
            row[1].value = "99"
    wb.save(path)
    result = import_workbook(repo, path)
    assert result.status == "rejected" and "请升级社区服务台账" in result.errors[0].message


def test_rows_outside_the_templates_period_are_imported_with_a_warning(repo, village, tmp_path):
    template = write_template(repo, tmp_path / "模板.xlsx", org_code=VILLAGE, period="2024-03")
    filled = fill_template(template, tmp_path / "f.xlsx", {"服务记录": [
        {"日期": "2024-03-31", "服务类别": "养老", "服务方式": "上门", "服务对象": "老年人", "人次": 1},
        {"日期": "2024-04-01", "服务类别": "养老", "服务方式": "上门", "服务对象": "老年人", "人次": 2}]})
    result = import_workbook(repo, filled)
    assert result.status == "imported" and repo.count("service") == 2
    assert [(w.row, w.message) for w in result.warnings] == [
        (5, "日期2024-04-01不在本表的填报期2024-03内，仍将导入，请核对")]


def test_children_of_a_deleted_parent_are_not_exported(demo_repo, county_repo, tmp_path):
    training = demo_repo.list("training")[0]
    demo_repo.delete("staff", training["staff_id"])
    path, n = export_workbook(demo_repo, tmp_path / "x.xlsx", org_code=VILLAGE, **FULL)
    result = import_workbook(county_repo, path)
    assert result.status == "imported", result.text()
    assert training["id"] not in {t["id"] for t in county_repo.list("training")}


def test_server_import_on_postgresql(demo_repo, pg_engine, pg_url, tmp_path):
    """The county server in production runs PostgreSQL: the same CLI, all or nothing, idempotent."""
    good, n = export_workbook(demo_repo, tmp_path / "好.xlsx", org_code=VILLAGE, **FULL)
    pg = Repository(pg_engine, actor="县")
    from storage.repository import WriteOp

    pg.bulk_write([WriteOp("org_unit", "insert", {"org_code": COUNTY, "name": "测试县", "level": "县"})])

    def server(*args):
        return subprocess.run([sys.executable, "-m", "county_server.cli", "--db", pg_url, "import", *map(str, args)],
                              capture_output=True, text=True, timeout=180)

    unknown = server(good)  # the village is not in the county's registry yet
    assert unknown.returncode == 1 and unknown.stdout.count("不在本县的组织机构名录中") == 1
    assert change_count(pg) == 1
    pg.bulk_write([WriteOp("org_unit", "insert", {"org_code": VILLAGE, "name": "幸福村", "level": "村/社区",
                                                  "parent_code": "220102001000", "urban_rural": "农村社区"})])

    first = server(good)
    assert first.returncode == 0, first.stdout + first.stderr
    assert pg.count("service") == demo_repo.count("service") and f"新建 {n}" in first.stdout
    changes = change_count(pg)
    again = server(good)
    assert again.returncode == 0 and f"未变 {n}" in again.stdout and change_count(pg) == changes
    wb = load_workbook(good)
    ws = wb["服务记录"]
    ws.cell(row=4, column=[c.value for c in ws[3]].index("人次(人次)*") + 1).value = -5
    wb.save(tmp_path / "坏.xlsx")
    bad = server(tmp_path / "坏.xlsx")
    assert bad.returncode == 1 and "人次：不能为负数" in bad.stdout and change_count(pg) == changes


def test_hidden_ids_of_another_villages_records_are_refused_live_or_deleted(demo_repo, county_repo, tmp_path):
    """A village's export copied and relabelled as another village: its hidden ids belong to the first
    village's records at the county (one of them deleted there) — every such row is refused, nothing written."""
    from storage.repository import org_unit_id

    path, n = export_workbook(demo_repo, tmp_path / "导出.xlsx", org_code=VILLAGE, **FULL)
    assert import_workbook(county_repo, path, scope=COUNTY).status == "imported"
    other = "220102001002"
    county_repo.create("org_unit", {"org_code": other, "name": "邻村", "level": "村/社区", "urban_rural": "农村社区",
                                    "relocation": False, "parent_code": "220102001000"},
                       record_id=org_unit_id(other))
    gone = county_repo.list("facility")[0]
    county_repo.delete("facility", gone["id"])
    wb = load_workbook(path)
    meta = wb[META_SHEET]
    for row in meta.iter_rows():
        if row[0].value == "org_code":
            row[1].value = other
    copied = tmp_path / "邻村.xlsx"
    wb.save(copied)
    changes = change_count(county_repo)
    result = import_workbook(county_repo, copied, scope=COUNTY)
    assert result.status == "rejected"
    refused = [e for e in result.errors if "属于另一个单位的记录" in e.message]
    assert len(refused) >= len(demo_repo.list("facility"))  # the deleted one included
    facility_rows = {e.row for e in refused if e.sheet == "服务设施"}
    assert len(facility_rows) == len(demo_repo.list("facility"))
    assert change_count(county_repo) == changes
