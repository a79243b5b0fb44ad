"""特殊困难老年人月探访率 (吉林 专栏2-2, 商丘 专栏2-2): named visits, worked out by hand."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from reports.cli import run_visits
from reports.profiles import find_profile
from reports.report import build_report
from storage.periods import completeness
from storage.repository import Repository, WriteOp, org_unit_id
from storage.visits import month_visits, village_month

COUNTY, TOWN = "220112000000", "220112001000"
V1, V2 = "220112001001", "220112001002"
D = dt.date


def person(key, org, name, added, left=None):
    return WriteOp("elderly_person", "insert", {
        "org_code": org, "name": name, "gender": "女", "difficulties": ["独居"], "added_on": added,
        "status": "已退出" if left else "在册", "left_on": left}, key)


def visit(org, who, day):
    return WriteOp("service", "insert", {"org_code": org, "date": day, "category": "特殊困难老年人探访", "mode": "上门",
                                         "target": "特殊困难老年人", "persons": 1, "visited_id": who})


P = {k: f"00000000-0000-4000-8000-0000000003{i:02d}" for i, k in enumerate(
    ["twice", "never", "new_seen", "new_unseen", "left_seen", "gone", "v2a", "v2b", "future"])}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    from storage.db import open_database

    repo = Repository(open_database(tmp_path_factory.mktemp("visits") / "v.sqlite3"), actor="测试员")
    ops = [WriteOp("org_unit", "insert", {"org_code": c, "name": n, "level": lv, "parent_code": p,
                                          "urban_rural": ur}, org_unit_id(c))
           for c, n, lv, p, ur in ((COUNTY, "示范县", "县", None, None), (TOWN, "城关街道", "乡镇/街道", COUNTY, None),
                                   (V1, "一村", "村/社区", TOWN, "农村社区"), (V2, "二村", "村/社区", TOWN, "农村社区"))]
    ops += [
        person(P["twice"], V1, "甲", D(2024, 1, 1)),        # visited twice in March: counts once
        person(P["never"], V1, "乙", D(2024, 1, 1)),        # not visited: on the list
        person(P["new_seen"], V1, "丙", D(2025, 3, 10)),    # added mid-March and visited: counts
        person(P["new_unseen"], V1, "丁", D(2025, 3, 20)),  # added mid-March, not visited: not yet due
        person(P["left_seen"], V1, "戊", D(2024, 1, 1), left=D(2025, 3, 15)),  # left mid-March, was visited
        person(P["gone"], V1, "己", D(2024, 1, 1), left=D(2025, 2, 1)),        # left before March
        person(P["future"], V1, "庚", D(2025, 4, 2)),       # added in April
        person(P["v2a"], V2, "子", D(2024, 6, 1)),
        person(P["v2b"], V2, "丑", D(2024, 6, 1)),
        visit(V1, P["twice"], D(2025, 3, 3)), visit(V1, P["twice"], D(2025, 3, 25)),
        visit(V1, P["new_seen"], D(2025, 3, 12)), visit(V1, P["left_seen"], D(2025, 3, 5)),
        visit(V1, P["never"], D(2025, 2, 27)),  # February does not count for March
        visit(V2, P["v2a"], D(2025, 3, 8)), visit(V2, P["v2b"], D(2025, 3, 9)),
    ]
    repo.bulk_write(ops)
    yield repo
    repo.engine.dispose()


def test_one_village_month(repo):
    with repo.engine.connect() as conn:
        march = village_month(conn, V1, "2025-03")
    # due the whole month: 甲, 乙 → visited 甲; extra (joined/left in March and visited): 丙, 戊
    assert [p.name for p in march.due] == ["乙", "甲"]  # by name
    assert (march.numerator, march.denominator) == (3, 4) and march.rate == 75
    assert [p.name for p in march.not_visited] == ["乙"]
    assert march.describe() == "应探访 4 人，已探访 3 人，探访率 75%；尚未探访：乙"


def test_township_and_county_add_up_villages(repo, capsys):
    with repo.engine.connect() as conn:
        by = month_visits(conn, lambda col: col.like("220112001%"), "2025-03")
    assert {c: (m.numerator, m.denominator) for c, m in by.items()} == {V1: (3, 4), V2: (2, 2)}
    assert run_visits(repo.engine, repo, argparse.Namespace(org=TOWN, period="2025-03"), None) == 0
    out = capsys.readouterr().out
    assert "一村：应探访 4 人，已探访 3 人，探访率 75%；尚未探访：乙" in out
    assert "应探访 6 人，已探访 5 人，探访率 83.3%" in out  # (3 + 2) / (4 + 2)


def test_month_checklist_shows_the_rate_before_submission(repo):
    items = {i.key: i for i in completeness(repo, V1, "2025-03").items}
    assert not items["visits"].ok and not items["visits"].blocking
    assert "尚未探访：乙" in items["visits"].detail
    assert {i.key: i for i in completeness(repo, V2, "2025-03").items}["visits"].ok


def test_the_standards_check_uses_the_register(repo):
    report = build_report(repo.engine, V2, 2025, find_profile("吉林省"), today=D(2025, 3, 31))
    check = next(c for c in report.standards if c.check == "特殊困难老年人月探访")
    # 二村: January and February nobody was visited (2 due each), March 2 of 2
    assert check.figure == "1/3 个月达 100%"
    assert check.gap.startswith("1月 0/2 人（0%）；2月 0/2 人（0%） 未达 100%")


def test_the_report_lists_who_was_not_visited(repo, tmp_path):
    from openpyxl import load_workbook

    from reports.excel import write_report

    report = build_report(repo.engine, TOWN, 2025, find_profile("商丘市"), today=D(2025, 3, 31))
    ws = load_workbook(write_report(report, tmp_path / "r.xlsx"))["探访名单"]
    rows = [r for r in ws.iter_rows(min_row=3, values_only=True)]
    assert ("一村", V1, "3月", 4, 3, "75%", "乙") in rows
    assert ("二村", V2, "3月", 2, 2, "100%", None) in rows
