"""The volunteer register of 民政部令第67号: totals, 补录 after 10 working days, the national export."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from reports.cli import run_volunteers
from reports.volunteers import NOT_A_CERTIFICATE, hour_rows, load_columns, national_rows, totals
from reports.workdays import WorkdayCalendar
from storage.models import table_for
from storage.repository import Repository, WriteOp, org_unit_id
from tests.fixtures.county import id_no

VILLAGE = "220112001001"
TEAM, A, B, C = (f"00000000-0000-4000-8000-00000000010{i}" for i in range(4))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    from storage.db import open_database

    engine = open_database(tmp_path_factory.mktemp("vol") / "v.sqlite3")
    repo = Repository(engine, actor="测试员")
    ops = [WriteOp("org_unit", "insert", {"org_code": VILLAGE, "name": "幸福社区", "level": "村/社区",
                                          "urban_rural": "城市社区"}, org_unit_id(VILLAGE)),
           WriteOp("volunteer_team", "insert", {"org_code": VILLAGE, "name": "红马甲服务队", "leader": "李队长"}, TEAM)]
    for key, name, team in ((A, "张三", TEAM), (B, "李四", TEAM), (C, "王五", None)):
        ops.append(WriteOp("volunteer", "insert", {
            "org_code": VILLAGE, "name": name, "gender": "男", "id_number": id_no(dt.date(1980, 1, 1)),
            "phone": "13812345678", "registered": False, "team_id": team, "residence": "幸福社区3栋",
            "service_types": ["助老助残"], "consent_on": dt.date(2025, 1, 5), "consent_method": "书面签字"}, key))
    hours = [  # (volunteer, activity day, hours, entered on)
        (A, dt.date(2025, 9, 26), 3, dt.date(2025, 10, 16)),  # 10th working day after (国庆 + 调休): on time
        (A, dt.date(2025, 9, 26), 2, dt.date(2025, 10, 17)),  # 11th: 补录
        (B, dt.date(2025, 5, 6), 1.5, dt.date(2025, 5, 6)),
        (C, dt.date(2025, 12, 1), 4, dt.date(2025, 12, 2)),
        (A, dt.date(2024, 12, 30), 8, dt.date(2024, 12, 30)),  # another year
    ]
    ids = []
    for i, (who, day, n, _entered) in enumerate(hours):
        ids.append(f"00000000-0000-4000-8000-0000000002{i:02d}")
        ops.append(WriteOp("volunteer_hours", "insert", {
            "org_code": VILLAGE, "volunteer_id": who, "date": day, "activity": f"助老活动{i}", "hours": n,
            "place": "社区活动室", "content": "陪伴聊天", "organizer": "幸福社区居委会", "person_in_charge": "李队长"},
            ids[-1]))
    repo.bulk_write(ops)
    h = table_for("volunteer_hours")
    with repo.engine.begin() as conn:  # the day each record was made (the repository stamps now)
        for rid, (*_rest, entered) in zip(ids, hours):
            conn.execute(update(h).where(h.c.id == rid).values(
                created_at=dt.datetime.combine(entered, dt.time(4, 0), dt.timezone.utc)))
    yield repo
    repo.engine.dispose()


def rows(repo, year=2025):
    with repo.engine.connect() as conn:
        return hour_rows(conn, VILLAGE, year, WorkdayCalendar())


def test_late_entry_counts_working_days_across_national_day(repo):
    got = {(r.volunteer["name"], r.hours["hours"]): r for r in rows(repo)}
    assert got[("张三", 3.0)].late_workdays == 10 and not got[("张三", 3.0)].late
    assert got[("张三", 2.0)].late_workdays == 11 and got[("张三", 2.0)].late
    assert got[("张三", 2.0)].late_text == "补录：活动后第 11 个工作日才登记（应在 10 个工作日内）"


def test_totals_per_volunteer_team_and_year(repo):
    per_volunteer, per_team, total = totals(rows(repo))
    assert [(t.name, t.hours, t.records, t.late) for t in per_volunteer] == [
        ("张三", 5.0, 2, 1), ("王五", 4.0, 1, 0), ("李四", 1.5, 1, 0)]
    assert [(t.name, len(t.volunteers), t.hours) for t in per_team] == [
        ("红马甲服务队", 2, 6.5), ("（未加入志愿服务队）", 1, 4.0)]
    assert (total.hours, total.records, total.late) == (10.5, 4, 1)  # 2024's 8 hours are not in 2025


def test_national_export_one_row_per_record_with_article_7_fields(repo, tmp_path):
    columns = load_columns()
    table = national_rows(rows(repo), columns)
    headers = [c["header"] for c in columns]
    first = dict(zip(headers, table[0]))
    assert first["活动名称"] == "助老活动2" and first["服务日期"] == "2025-05-06" and first["服务地点"] == "社区活动室"
    assert first["服务内容"] == "陪伴聊天" and first["组织单位"] == "幸福社区居委会" and first["负责人"] == "李队长"
    assert first["服务时长（小时）"] == "1.5" and first["证件类型"] == "居民身份证"
    assert "*" in first["证件号码"] and first["联系电话"] == "138****5678"  # masked unless --full
    assert dict(zip(headers, national_rows(rows(repo), columns, full=True)[0]))["联系电话"] == "13812345678"
    args = argparse.Namespace(org=VILLAGE, year=2025, output=str(tmp_path / "n.xlsx"), volunteers_command="export-national",
                              columns=None, full=False, purpose=None)
    assert run_volunteers(repo.engine, repo, args, None) == 0
    ws = load_workbook(args.output).active
    assert [c.value for c in ws[1]] == headers and ws.max_row >= 1 + 4


def test_a_county_column_file_is_checked(tmp_path):
    bad = tmp_path / "cols.json"
    bad.write_text('{"columns": [{"header": "姓名", "source": "volunteer.nickname"}]}', encoding="utf-8")
    with pytest.raises(ValueError, match="第 1 列“姓名”的来源“volunteer.nickname”不存在"):
        load_columns(bad)


def test_hours_workbook_says_it_is_not_a_certificate(repo, tmp_path, capsys):
    args = argparse.Namespace(org=VILLAGE, year=2025, output=str(tmp_path / "h.xlsx"), volunteers_command="hours")
    assert run_volunteers(repo.engine, repo, args, None) == 0
    assert NOT_A_CERTIFICATE in capsys.readouterr().out
    wb = load_workbook(args.output)
    assert wb.sheetnames == ["志愿者时长合计", "志愿服务队合计", "服务记录明细"]
    cells = [c.value for row in wb["志愿者时长合计"].iter_rows() for c in row if c.value]
    assert NOT_A_CERTIFICATE in cells and "张三" in cells


def test_national_export_opens_in_libreoffice(repo, tmp_path):
    """LibreOffice reads the export back: a header row with the 第七条 fields and one row per service record."""
    import csv

    from tests.test_exchange_util import soffice_convert

    args = argparse.Namespace(org=VILLAGE, year=2025, output=str(tmp_path / "national.xlsx"),
                              volunteers_command="export-national", columns=None, full=False, purpose=None)
    assert run_volunteers(repo.engine, repo, args, None) == 0
    out = soffice_convert(tmp_path / "national.xlsx", tmp_path / "lo", tmp_path, fmt="csv:Text - txt - csv (StarCalc):44,34,76")
    lines = [r for r in csv.reader(out.read_text(encoding="utf-8").splitlines()) if any(r)]
    header, records = lines[0], [r for r in lines[1:] if r[0] in ("张三", "李四", "王五")]
    for article7 in ("活动名称", "服务日期", "服务地点", "服务内容", "服务时长（小时）", "组织单位", "负责人"):
        assert article7 in header
    assert len(records) == 4  # the four 2025 service records, one row each
    assert sorted(r[header.index("服务时长（小时）")] for r in records) == ["1.5", "2", "3", "4"]


def test_full_national_export_is_a_disclosure(repo, tmp_path):
    """--full: refused for a role the county did not allow (no file), otherwise written and recorded."""
    from storage import disclosure

    args = argparse.Namespace(org=VILLAGE, year=2025, output=str(tmp_path / "full.xlsx"),
                              volunteers_command="export-national", columns=None, full=True,
                              purpose="录入全国志愿服务信息系统")
    disclosure.remember_sign_in(repo, "village", ["county"])
    try:
        with pytest.raises(disclosure.DisclosureRefused, match="县民政局"):
            run_volunteers(repo.engine, repo, args, None)
        assert not (tmp_path / "full.xlsx").exists()
    finally:
        disclosure.remember_sign_in(repo, "village", list(disclosure.ROLES))
    assert run_volunteers(repo.engine, repo, args, None) == 0
    phones = [c.value for row in load_workbook(args.output).active.iter_rows() for c in row]
    assert "13812345678" in phones
    (row,) = [r for r in disclosure.list_disclosures(repo) if r["file_name"] == "full.xlsx"]
    assert (row["action"], row["purpose"], row["row_count"], row["org_code"]) == (
        disclosure.EXPORT_XLSX, "录入全国志愿服务信息系统", 4, VILLAGE)
    assert "志愿者" in row["record_types"]
