"""Training due list (吉林 专栏4-1, 沈阳 专栏8-1): per person, from their own last training, by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from reports.profiles import find_profile
from reports.report import build_report
from reports.training import (DONE, DUE_SOON, JILIN, OVERDUE, SHENYANG, WAITING, add_years, reference_date,
                              training_due)
from storage.repository import Repository, WriteOp, org_unit_id
from tests.fixtures.county import id_no

VILLAGE, TOWNSHIP, COUNTY = "220112001001", "220112001000", "220112000000"
TODAY = dt.date(2026, 3, 1)  # the due list is judged on this day for 2026


def _staff(key: str, name: str, roles: list[str], born: dt.date, joined: dt.date | None) -> WriteOp:
    return WriteOp("staff", "insert", {
        "org_code": VILLAGE, "name": name, "gender": "男", "id_number": id_no(born), "phone": "13800138000",
        "roles": roles, "social_work_cert": "无", "joined_on": joined, "status": "在岗"}, key)


def _training(staff_key: str, day: dt.date, days: float) -> WriteOp:
    return WriteOp("training", "insert", {"org_code": VILLAGE, "staff_id": staff_key, "date": day,
                                          "course": "社区治理", "days": days, "level": "县"})


STAFF = {
    # key: (name, roles, joined)
    "00000000-0000-4000-8000-000000000001": ("书记去年训", ["党组织书记", "村(居)委会主任"], dt.date(2015, 1, 1)),
    "00000000-0000-4000-8000-000000000002": ("书记近期训", ["党组织书记"], dt.date(2015, 1, 1)),
    "00000000-0000-4000-8000-000000000003": ("委员两年前训", ["两委委员"], dt.date(2015, 1, 1)),
    "00000000-0000-4000-8000-000000000004": ("网格员去年训", ["网格员"], dt.date(2015, 1, 1)),
    "00000000-0000-4000-8000-000000000005": ("专职从未训", ["专职社区工作者"], dt.date(2016, 6, 1)),
    "00000000-0000-4000-8000-000000000006": ("专职新到岗", ["专职社区工作者"], dt.date(2025, 10, 1)),
    "00000000-0000-4000-8000-000000000007": ("主任将到期", ["村(居)委会主任"], dt.date(2015, 1, 1)),
}
K = list(STAFF)
TRAININGS = [
    (K[0], dt.date(2025, 2, 10), 2),   # leader, last trained 2025-02-10 → due 2026-02-10 < 2026-03-01: overdue
    (K[1], dt.date(2026, 1, 15), 3),   # leader, due 2027-01-15: done; 3 days in 2026
    (K[2], dt.date(2024, 2, 20), 1),   # other, due 2026-02-20 < 2026-03-01: overdue
    (K[3], dt.date(2025, 5, 5), 1),    # other, due 2027-05-05: done
    (K[6], dt.date(2025, 4, 20), 1),   # leader, due 2026-04-20: 50 days away → due soon
    (K[6], dt.date(2026, 2, 1), 1),    # … then trained again in 2026: due 2027-02-01, done; 1 day in 2026
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from storage.db import open_database

    engine = open_database(tmp_path_factory.mktemp("due") / "v.sqlite3")
    repo = Repository(engine, actor="测试员")
    ops = [WriteOp("org_unit", "insert", {"org_code": COUNTY, "name": "示范县", "level": "县"}, org_unit_id(COUNTY)),
           WriteOp("org_unit", "insert", {"org_code": TOWNSHIP, "name": "城关街道", "level": "乡镇/街道",
                                          "parent_code": COUNTY}, org_unit_id(TOWNSHIP)),
           WriteOp("org_unit", "insert", {"org_code": VILLAGE, "name": "幸福社区", "level": "村/社区",
                                          "parent_code": TOWNSHIP, "urban_rural": "城市社区"}, org_unit_id(VILLAGE))]
    born = dt.date(1970, 1, 1)
    for i, (key, (name, roles, joined)) in enumerate(STAFF.items()):
        ops.append(_staff(key, name, roles, born + dt.timedelta(days=400 * i), joined))
    ops += [_training(*t) for t in TRAININGS]
    repo.bulk_write(ops)
    yield engine
    engine.dispose()


def due(engine, rules, year=2026, today=TODAY):
    with engine.connect() as conn:
        return {r.person.name: r for r in training_due(conn, VILLAGE, year, rules, today)}


def test_jilin_rule_counts_from_each_persons_last_training(engine):
    rows = due(engine, (JILIN,))
    assert rows["书记去年训"].status == OVERDUE and rows["书记去年训"].due_on == dt.date(2026, 2, 10)
    assert "已逾期 19 天" in rows["书记去年训"].detail  # 2026-02-10 → 2026-03-01
    assert rows["书记近期训"].status == DONE and rows["书记近期训"].due_on == dt.date(2027, 1, 15)
    assert rows["委员两年前训"].status == OVERDUE and rows["委员两年前训"].due_on == dt.date(2026, 2, 20)
    assert rows["网格员去年训"].status == DONE and rows["网格员去年训"].due_on == dt.date(2027, 5, 5)
    # never trained: one interval (2 years for others) after taking post
    assert rows["专职从未训"].status == OVERDUE and rows["专职从未训"].due_on == dt.date(2018, 6, 1)
    assert rows["专职新到岗"].status == WAITING and rows["专职新到岗"].due_on == dt.date(2027, 10, 1)
    assert rows["主任将到期"].status == DONE and rows["主任将到期"].due_on == dt.date(2027, 2, 1)
    # most urgent first
    assert list(rows)[:3] == ["专职从未训", "书记去年训", "委员两年前训"]


def test_due_soon_window(engine):
    rows = due(engine, (JILIN,), today=dt.date(2026, 1, 20))  # before 主任将到期's second training
    assert rows["书记去年训"].status == DUE_SOON  # due 2026-02-10, 21 days away


def test_shenyang_rule_counts_days_in_the_calendar_year(engine):
    rows = due(engine, (SHENYANG,))
    assert rows["书记近期训"].status == DONE  # 3 days in 2026
    assert rows["主任将到期"].status == WAITING and "还差 2 天" in rows["主任将到期"].detail
    # 2025 is over: judged on 2025-12-31
    past = due(engine, (SHENYANG,), year=2025)
    assert past["书记去年训"].status == OVERDUE and "还差 1 天" in past["书记去年训"].detail
    assert past["书记去年训"].ref_date == dt.date(2025, 12, 31)
    assert past["专职新到岗"].status == OVERDUE


def test_both_rules_take_the_most_urgent(engine):
    rows = due(engine, (JILIN, SHENYANG))
    assert rows["网格员去年训"].status == WAITING  # 吉林 done, 沈阳 0 of 3 days in 2026
    assert "其他人员每 2 年至少培训一次；每年培训不少于 3 天" == rows["网格员去年训"].rule


def test_the_report_checks_use_the_same_rule(engine):
    report = build_report(engine, VILLAGE, 2025, find_profile("吉林省"))
    by = {c.check: c for c in report.standards}
    # judged on 2025-12-31: 书记去年训 (2025-02-10), 书记近期训 (no training until 2026 → last none, joined 2015),
    # 主任将到期 (2025-04-20) → 2 of 3 leaders on time
    assert by["书记、主任年度培训（吉林）"].figure == "2/3 人"
    # others: 委员两年前训 (2024-02-20 → due 2026-02-20, on time), 网格员去年训 on time, 专职从未训 overdue,
    # 专职新到岗 (joined 2025-10-01, due 2027-10-01) on time → 3 of 4
    assert by["其他人员两年内培训（吉林）"].figure == "3/4 人"
    assert "年度培训天数（沈阳）" not in by  # not a 吉林 check
    i14 = next(r for r in report.indicators if r.indicator_id == "I14")
    # two-committee members (书记、主任、两委委员) trained in 2025: 书记去年训, 主任将到期 → 2 of 4
    assert (i14.numerator, i14.denominator) == (2, 4)


def test_dates_and_reference_day():
    assert add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    assert reference_date(2025, dt.date(2026, 3, 1)) == dt.date(2025, 12, 31)
    assert reference_date(2026, dt.date(2026, 3, 1)) == dt.date(2026, 3, 1)


def test_cli_lists_and_writes_the_due_list(engine, tmp_path, capsys):
    import argparse

    from openpyxl import load_workbook

    from reports.cli import run_training_due

    args = argparse.Namespace(org=VILLAGE, year=2025, profile="吉林省", output=None, strict=True)
    assert run_training_due(engine, None, args, None) == 1  # someone is overdue
    out = capsys.readouterr().out
    assert "已逾期\t幸福社区\t专职从未训" in out and "从未参加培训（到岗 2016-06-01），应在 2018-06-01 前参加培训" in out
    assert "在岗 7 人，已逾期 2 人" in out
    args.output, args.strict = str(tmp_path / "due.xlsx"), False
    assert run_training_due(engine, None, args, None) == 0
    ws = load_workbook(args.output)["培训到期"]
    names = [ws.cell(row=r, column=3).value for r in range(3, 10)]
    assert sorted(names) == sorted(n for n, _r, _j in STAFF.values())
    assert ws.cell(row=3, column=9).value == "已逾期"
