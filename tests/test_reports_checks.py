"""Standards checks (domain.md §5) and data-quality checks over the fixture county, by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from reports.indicators import CANNOT, MET, NOT_APPLICABLE, NOT_MET
from reports.profiles import find_profile
from reports.report import build_report
from reports.standards import months_due
from storage.repository import Repository
from tests.fixtures.county import CODES, COUNTY, T2, YEAR, build_county, rid


@pytest.fixture(scope="module")
def county_report(tmp_path_factory):
    from storage.db import open_database

    engine = open_database(tmp_path_factory.mktemp("checks") / "county.sqlite3")
    build_county(Repository(engine, actor="测试员"))
    report = build_report(engine, COUNTY, YEAR, find_profile("国家"))  # the national profile: every check
    yield report
    engine.dispose()


def check(report, key: str, name: str):
    matches = [c for c in report.standards if c.org_code == CODES[key] and c.check == name]
    assert len(matches) == 1, (key, name)
    return matches[0]


def test_every_village_gets_every_check(county_report):
    assert len(county_report.standards) == 22 * 14


def test_facility_area_checks(county_report):
    c = check(county_report, "R7", "综合服务设施建筑面积")
    assert c.status == NOT_MET and c.figure == "280 m²"
    assert c.gap == "综合服务设施建筑面积 280 m²，农村标准 ≥ 350 m²，差 70 m²"  # 350 − 280 = 70
    c = check(county_report, "U1", "综合服务设施建筑面积")
    assert c.status == MET and c.gap == "综合服务设施建筑面积 700 m²，城市标准 ≥ 600 m²，达标"
    c = check(county_report, "R3", "综合服务设施建筑面积")
    assert c.status == NOT_MET and c.gap.startswith("没有在用的综合服务设施")
    # R2: 350 m² / (3200 / 100) = 10.9375 → 10.9; 30 − 10.9375 = 19.0625 → 19.1
    c = check(county_report, "R2", "每百户综合服务设施面积")
    assert c.status == NOT_MET and c.gap == "每百户综合服务设施面积 10.9 m²，农村标准 ≥ 30 m²，差 19.1 m²"
    assert check(county_report, "U4", "每百户综合服务设施面积").status == CANNOT
    assert check(county_report, "U4", "每百户综合服务设施面积").gap == "缺少户数"
    # U1: 560 / 700 = 80% ≥ 60%; R7: 168 / 280 = 60% ≥ 60%
    assert check(county_report, "U1", "居民活动区域面积占比").status == MET
    c = check(county_report, "R7", "居民活动区域面积占比")
    assert c.status == MET and c.figure == "60%"


def test_opening_and_people_checks(county_report):
    c = check(county_report, "U9", "开放时间")
    assert c.status == NOT_MET and c.gap == "每日开放时长（最短的一处） 6 小时，标准 ≥ 8 小时，差 2 小时"
    assert check(county_report, "U10", "开放时间").status == MET
    c = check(county_report, "R1", "节假日开放（吉林）")
    assert c.status == NOT_MET and "有 1 处节假日不开放" in c.gap
    assert check(county_report, "U1", "节假日开放（吉林）").status == MET
    assert all(c.status == MET for c in county_report.standards if c.check in ("灾害信息员", "党员志愿服务队"))
    # elderly: U1 300 / (1000/100) = 30 ≥ 25; U6 has none: 0, short by 25
    assert check(county_report, "U1", "社区养老服务设施面积").status == MET
    c = check(county_report, "U6", "社区养老服务设施面积")
    assert c.status == NOT_MET and c.gap.endswith("差 25 m²")
    # shelter: urban 4500 / 3000 = 1.5 m² per person (met exactly); rural 0
    c = check(county_report, "U1", "应急避难场所")
    assert c.status == MET and c.figure == "1.5 m²"
    c = check(county_report, "R1", "应急避难场所")
    assert c.status == NOT_MET and c.gap == "人均应急避难场所面积 0 m²，标准 ≥ 1.5 m²，差 1.5 m²"


def test_training_visits_radius(county_report):
    assert check(county_report, "U1", "书记、主任年度培训（吉林）").status == MET
    # U3 others in post: S1 (2024), S2–S5 (2023), S7 (none) → 5 of 6
    c = check(county_report, "U3", "其他人员两年内培训（吉林）")
    assert c.status == NOT_MET and c.figure == "5/6 人"
    assert c.gap == "其他在岗人员 6 人中有 1 人距上次培训已超过两年（名单见“培训到期”）"
    assert check(county_report, "U1", "其他人员两年内培训（吉林）").status == MET  # 5 of 5
    # rural others: R1 (trained), R2, R3 (not; R5's R2 training is tombstoned) → 1 of 3
    assert check(county_report, "R5", "其他人员两年内培训（吉林）").figure == "1/3 人"
    # days: urban S0 3, S1 3, S2–S5 0 in 2024 → 2 of 6 reach 3 days
    c = check(county_report, "U1", "年度培训天数（沈阳）")
    assert c.figure == "2/6 人满3天" and c.gap == "在岗社区工作者 6 人中有 4 人本年培训不足 3 天"
    # visits: urban every month; rural January–June only
    assert check(county_report, "U1", "特殊困难老年人月探访").status == MET
    c = check(county_report, "R1", "特殊困难老年人月探访")
    assert c.status == NOT_MET and c.figure == "6/12 个月"
    assert c.gap.startswith("12个月中有6个月有探访记录，缺7月、8月、9月、10月、11月、12月")
    c = check(county_report, "R2", "社区服务辐射")
    assert c.status == NOT_MET and c.gap == "户数 3200 户，标准 ≤ 3000 户，超出 200 户"
    assert check(county_report, "R4", "社区服务辐射").status == CANNOT  # 户数 0


def test_months_due():
    assert months_due(2024, dt.date(2026, 1, 1)) == list(range(1, 13))
    assert months_due(2026, dt.date(2026, 3, 9)) == [1, 2, 3]
    assert months_due(2027, dt.date(2026, 3, 9)) == []


def test_quality_findings(county_report):
    found = {(f.org_code, f.check) for f in county_report.quality}
    assert found == {
        (CODES["U4"], "缺少分母数据"), (CODES["U7"], "缺少分母数据"), (CODES["R4"], "分母为0"),
        (CODES["U8"], "活动区域面积大于建筑面积"), (CODES["R1"], "设施未填面积"),
        (CODES["U8"], "年龄异常"), (CODES["R9"], "年龄异常"), (CODES["U10"], "同一身份号码登记在多个村(社区)"),
    }
    by = {(f.org_code, f.check): f for f in county_report.quality}
    assert "缺少户数" in by[(CODES["U4"], "缺少分母数据")].message
    assert "城镇常住人口、社区总建筑面积" in by[(CODES["U7"], "缺少分母数据")].message
    assert by[(CODES["U8"], "活动区域面积大于建筑面积")].records == [("facility", rid("U8.room"))]
    old = by[(CODES["U8"], "年龄异常")]
    assert "84岁" in old.message and old.records == [("staff", rid("U8.S5"))]  # 2024 − 1940
    assert "14岁" in by[(CODES["R9"], "年龄异常")].message  # 2024 − 2010
    dup = by[(CODES["U10"], "同一身份号码登记在多个村(社区)")]
    assert set(dup.records) == {("staff", rid("U10.S5")), ("volunteer", rid("R1.vol"))}
    assert "U10社区（社区工作者" in dup.message and "R1村（志愿者" in dup.message
    # the ID number is shown masked, never in full
    assert "220112********" in dup.message
    import re

    assert not re.search(r"\d{17}[\dX]", "".join(f.message for f in county_report.quality))


def test_duplicate_people_across_and_within_villages(tmp_path):
    from storage.db import open_database
    from storage.repository import WriteOp

    engine = open_database(tmp_path / "v.sqlite3")
    repo = Repository(engine, actor="测试员")
    build_county(repo)
    village = build_report(engine, CODES["U10"], YEAR, find_profile("国家"))
    assert not [f for f in village.quality if f.check.startswith("同一身份号码")]  # R1 is outside its scope
    # U1: its 专职2 also volunteers there (allowed), and one volunteer is entered twice (flagged)
    u1 = build_report(engine, CODES["U1"], YEAR, find_profile("国家"))
    with engine.connect() as conn:
        from sqlalchemy import select

        from storage.models import table_for

        s, vol = table_for("staff"), table_for("volunteer")
        staff_id = conn.execute(select(s.c.id_number).where(s.c.id == rid("U1.S2"))).scalar()
        vol_id = conn.execute(select(vol.c.id_number).where(vol.c.id == rid("U1.vol0"))).scalar()
    repo.bulk_write([
        WriteOp("volunteer", "insert", {"org_code": CODES["U1"], "name": "U1专职2", "gender": "女", "id_number": staff_id,
                                        "registered": False}, rid("U1.vol-staff")),
        WriteOp("volunteer", "insert", {"org_code": CODES["U1"], "name": "U1志愿者1（重录）", "gender": "男",
                                        "id_number": vol_id, "registered": False}, rid("U1.vol-again"))])
    assert not [f for f in u1.quality if f.check.startswith("同一身份号码")]
    found = [f for f in build_report(engine, CODES["U1"], YEAR, find_profile("国家")).quality
             if f.check.startswith("同一身份号码")]
    assert [f.check for f in found] == ["同一身份号码在本村(社区)登记多次"]
    assert set(found[0].records) == {("volunteer", rid("U1.vol0")), ("volunteer", rid("U1.vol-again"))}
    assert "登记了 2 名志愿者（U1志愿者1、U1志愿者1(重录)）" in found[0].message and vol_id not in found[0].message
    township = build_report(engine, T2, YEAR, find_profile("国家"))  # U10 and R1 are both in 河东镇
    assert [f for f in township.quality if f.check.startswith("同一身份号码")]
    assert all(c.status != NOT_APPLICABLE or c.check != "综合服务设施建筑面积" for c in township.standards)
    engine.dispose()


def test_checks_follow_the_profile_and_the_estate(tmp_path):
    """吉林 sets its own checks (plus the national plan's); 商丘's 养老 figure is 20/30, 沈阳's 25/35; a
    facility marked 位于新建居住区 is held to the new-estate figure."""
    from storage.db import open_database
    from storage.repository import WriteOp

    engine = open_database(tmp_path / "county.sqlite3")
    repo = Repository(engine, actor="测试员")
    build_county(repo)
    jilin = build_report(engine, CODES["U1"], YEAR, find_profile("吉林省"))
    assert [c.check for c in jilin.standards] == [
        "居民活动区域面积占比", "开放时间", "节假日开放（吉林）", "灾害信息员", "党员志愿服务队",
        "书记、主任年度培训（吉林）", "其他人员两年内培训（吉林）", "特殊困难老年人月探访"]
    assert [c.check for c in build_report(engine, CODES["U1"], YEAR, find_profile("正宁县")).standards] == [
        "居民活动区域面积占比", "开放时间", "灾害信息员", "社区服务辐射"]

    def elderly(profile):
        report = build_report(engine, CODES["U1"], YEAR, find_profile(profile))
        return next(c for c in report.standards if c.check == "社区养老服务设施面积")

    # U1: 300 m² of 养老 for 1000 households = 30 m² per 100 households
    assert elderly("沈阳市").status == MET and "已建成居住区标准 ≥ 25 m²" in elderly("沈阳市").gap
    assert elderly("商丘市").status == MET and "≥ 20 m²" in elderly("商丘市").gap
    repo.bulk_write([WriteOp("facility", "update", {"new_estate": True}, rid("U1.old"))])
    c = elderly("沈阳市")
    assert c.status == NOT_MET and c.gap == "每百户养老服务设施面积 30 m²，新建居住区标准 ≥ 35 m²，差 5 m²"
    assert elderly("商丘市").status == MET  # 30 ≥ 商丘's new-estate 30
    engine.dispose()
