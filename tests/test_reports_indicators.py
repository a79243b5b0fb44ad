"""Indicators I1–I14 over the fixture county, every expected figure worked out by hand.

The fixture (tests/fixtures/county.py) describes each village; the arithmetic
below is written from that description, not from the engine's output.
Urban communities U1–U12, rural villages R1–R10 (see the fixture's docstring).
"""

from __future__ import annotations

import pytest

from reports.facts import ScopeError
from reports.indicators import CANNOT, MET, NO_TARGET, NOT_APPLICABLE, NOT_MET
from reports.profiles import find_profile
from reports.report import build_report
from storage.models import table_for
from storage.repository import Repository
from tests.fixtures.county import COUNTY, CODES, T1, T2, T3, YEAR, build_county, rid


@pytest.fixture(scope="module")
def county_engine(tmp_path_factory):
    from storage.db import open_database

    engine = open_database(tmp_path_factory.mktemp("county") / "county.sqlite3")
    build_county(Repository(engine, actor="测试员"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def shenyang(county_engine):
    return build_report(county_engine, COUNTY, YEAR, find_profile("沈阳市"))


def by_id(results):
    return {r.indicator_id: r for r in results}


def test_county_indicators_by_hand(shenyang):
    r = by_id(shenyang.indicators)

    # I1 rural coverage: R1..R10 are rural; R3 has no 综合服务设施 → 9 of 10.
    assert (r["I1"].numerator, r["I1"].denominator) == (9, 10)
    assert r["I1"].value == pytest.approx(90.0) and r["I1"].status == NOT_MET  # 沈阳 100%

    # I2 urban coverage: U2's only 综合 is 停用 (its second is 在建) → 11 of 12.
    assert (r["I2"].numerator, r["I2"].denominator) == (11, 12)
    assert r["I2"].value == pytest.approx(11 / 12 * 100) and r["I2"].status == NOT_MET

    # I3: U7 has no 社区总建筑面积 → left out. Numerator = 综合 + 便民商业网点 in use:
    #   urban without U7: 综合 U1 700 + U2 0 + (U3 U4 U5 U6 U8 U9 U10 U11 U12) 9×600 = 6100
    #   (U5's 1000 m² is tombstoned, U10's 500 m² was built in 2025); 便民 11×200 = 2200
    #   rural: 综合 8×350 (all but R3, R7) + R7 280 = 3080
    num = 700 + 0 + 9 * 600 + 11 * 200 + 8 * 350 + 280
    den = 11 * 20000 + 10 * 8000
    assert (num, den) == (11380, 300000)
    assert (r["I3"].numerator, r["I3"].denominator) == (num, den)
    assert r["I3"].value == pytest.approx(11380 / 300000 * 100) and r["I3"].status == NOT_MET
    assert "U7社区" in r["I3"].note

    # I4: U4 lacks 户数 and R4 has 户数 0 → both left out.
    #   综合 area: urban U1 700 + U2 0 + (U3 U5 U6 U7 U8 U9 U10 U11 U12) 9×600; rural R1 R2 R5 R6 R8 R9 R10 7×350 + R7 280
    #   households: urban 11×1000; rural R2 3200 + R6 400 + (R1 R3 R5 R7 R8 R9 R10) 7×500
    num = 700 + 9 * 600 + 7 * 350 + 280
    households = 11 * 1000 + 3200 + 400 + 7 * 500
    assert (num, households) == (8830, 18100)
    assert r["I4"].numerator == 8830 and r["I4"].denominator == pytest.approx(181.0)
    assert r["I4"].value == pytest.approx(8830 / 181) and r["I4"].status == MET  # 48.8 ≥ 40
    assert "U4社区" in r["I4"].note and "R4村" in r["I4"].note and "为0" in r["I4"].note

    # I5: urban communities with 城镇常住人口 (all but U7): staff in post 10×6 + U3 7
    #   (U3: S6 left in 2024, S7 leaves in 2025 → counts, S8 joined 2025 → not yet; U5's S9 tombstoned).
    assert r["I5"].numerator == 10 * 6 + 7 == 67
    assert r["I5"].denominator == pytest.approx(11 * 3000 / 10000)
    assert r["I5"].value == pytest.approx(67 / 3.3) and r["I5"].status == NOT_MET  # 20.3 < 22

    # I6: 综合 in use with both areas: U1 560/700; U3..U12 10×400/10×600; rural 8×210 + 168 / 8×350 + 280
    num = 560 + 10 * 400 + 8 * 210 + 168
    den = 700 + 10 * 600 + 8 * 350 + 280
    assert (num, den) == (6408, 9780)
    assert (r["I6"].numerator, r["I6"].denominator) == (num, den)
    assert r["I6"].value == pytest.approx(6408 / 9780 * 100) and r["I6"].status == NOT_MET  # 65.5 < 80

    # I7 一体机: U2 (its kiosk is in a 停用 facility) and U6 (none) lack one → 10 of 12.
    assert (r["I7"].numerator, r["I7"].denominator) == (10, 12) and r["I7"].status == NOT_MET
    # I8 养老 coverage: U2 (停用) and U6 (none) → 10 of 12; 沈阳 sets no target → 无目标值.
    assert (r["I8"].numerator, r["I8"].denominator) == (10, 12) and r["I8"].status == NO_TARGET
    assert r["I8"].mark == "无目标值" and r["I8"].target.describe() == "无目标值"
    # I9: 11×12 + U1 15 (U5's 13th is tombstoned) over 12 communities.
    assert (r["I9"].numerator, r["I9"].denominator) == (11 * 12 + 15, 12) == (147, 12)
    assert r["I9"].value == pytest.approx(12.25) and r["I9"].status == MET
    # I10 (沈阳: rural villages of 500+ households): R4 (0 户) and R6 (400 户) drop out → 8 villages × 5.
    assert (r["I10"].numerator, r["I10"].denominator) == (8 * 5, 8) and r["I10"].status == MET
    # I11: only 城关街道's station is in use (河东镇's is 停用, 山前乡 has none) → 1 of 3.
    assert (r["I11"].numerator, r["I11"].denominator) == (1, 3) and r["I11"].status == NOT_MET
    # I12: certified urban staff 11×2 + U3 3 (S0, S1, S7) over urban staff 11×6 + 7.
    assert (r["I12"].numerator, r["I12"].denominator) == (11 * 2 + 3, 11 * 6 + 7) == (25, 73)
    assert r["I12"].value == pytest.approx(25 / 73 * 100) and r["I12"].status == NOT_MET
    # I13: 25 certified over 12 urban communities; 沈阳 sets no target.
    assert (r["I13"].numerator, r["I13"].denominator) == (25, 12) and r["I13"].status == NO_TARGET
    # I14: committee members: urban S0, S1 (12×2, all trained in 2024); rural R0, R1, R2 (10×3; R0, R1 trained;
    #   R5's R2 training is tombstoned; U3's S6 left; U5's S9 is tombstoned).
    assert (r["I14"].numerator, r["I14"].denominator) == (12 * 2 + 10 * 2, 12 * 2 + 10 * 3) == (44, 54)
    assert r["I14"].status == NOT_MET


def test_other_profiles_targets_and_operators(county_engine):
    zn = by_id(build_report(county_engine, COUNTY, YEAR, find_profile("正宁县")).indicators)
    assert zn["I1"].status == MET  # 90% ≥ 80%
    assert zn["I8"].status == NOT_MET and zn["I8"].target.value == 100  # 正宁 sets 100% for 养老
    assert zn["I9"].status == NO_TARGET
    sq = by_id(build_report(county_engine, COUNTY, YEAR, find_profile("商丘市")).indicators)
    # 商丘 I10 is every rural village (no 500-household filter): 9×5 + R6 3 over 10.
    assert (sq["I10"].numerator, sq["I10"].denominator) == (9 * 5 + 3, 10) and sq["I10"].status == NOT_MET
    assert sq["I4"].target.op == ">" and sq["I4"].status == MET  # 48.8 > 30
    jl = by_id(build_report(county_engine, COUNTY, YEAR, find_profile("吉林省")).indicators)
    assert jl["I5"].status == MET  # 20.3 ≥ 18
    assert jl["I6"].status == MET  # 65.5% ≥ 60%
    assert jl["I13"].status == NOT_MET  # 25/12 = 2.08 < 3
    nat = build_report(county_engine, COUNTY, YEAR, find_profile("国家"))
    assert [r.status for r in nat.indicators if r.indicator_id != "I2" and r.status != NOT_APPLICABLE] == \
        [NO_TARGET] * 13


def test_townships_by_hand(shenyang):
    t = {u.org_code: by_id(u.results.values()) for u in shenyang.townships}
    # 城关街道: U1–U8, all urban. I2: U2 uncovered → 7/8. I4: U4 lacks 户数 → 700 + 0 + 5×600 over 7×1000/100.
    assert (t[T1]["I2"].numerator, t[T1]["I2"].denominator) == (7, 8)
    assert t[T1]["I4"].numerator == 700 + 0 + 5 * 600 and t[T1]["I4"].denominator == pytest.approx(70)
    assert t[T1]["I1"].status == NOT_APPLICABLE and t[T1]["I1"].reason == "本辖区没有农村社区"
    assert (t[T1]["I11"].numerator, t[T1]["I11"].denominator) == (1, 1) and t[T1]["I11"].status == MET
    # 山前乡: no urban community → urban indicators do not apply; I1 6/6.
    for iid in ("I2", "I5", "I7", "I8", "I9", "I12", "I13"):
        assert t[T3][iid].status == NOT_APPLICABLE and t[T3][iid].reason == "本辖区没有城市社区"
    assert (t[T3]["I1"].numerator, t[T3]["I1"].denominator) == (6, 6) and t[T3]["I1"].status == MET
    # 山前乡 I4: 综合 R5 R6 R8 R9 R10 350 each + R7 280;
    #   households R5 500 + R6 400 + R7 500 + R8 500 + R9 500 + R10 500 = 2900
    assert t[T3]["I4"].numerator == 5 * 350 + 280 and t[T3]["I4"].denominator == pytest.approx(2900 / 100)
    # 河东镇: station 停用 → 0/1; I1 rural R1–R4: R3 uncovered → 3/4.
    assert (t[T2]["I11"].numerator, t[T2]["I11"].status) == (0, NOT_MET)
    assert (t[T2]["I1"].numerator, t[T2]["I1"].denominator) == (3, 4)


def test_village_rows_edge_cases(shenyang):
    v = {u.org_code: by_id(u.results.values()) for u in shenyang.villages}
    assert len(v) == 22
    u2, u4, r4, r1 = v[CODES["U2"]], v[CODES["U4"]], v[CODES["R4"]], v[CODES["R1"]]
    assert (u2["I2"].numerator, u2["I2"].denominator, u2["I2"].status) == (0, 1, NOT_MET)
    assert u4["I4"].status == CANNOT and u4["I4"].reason == "缺少户数"
    assert r4["I4"].status == CANNOT and r4["I4"].reason == "户数为0"  # zero denominator
    assert r1["I2"].status == NOT_APPLICABLE and r1["I2"].reason.startswith("本单位是农村社区")
    assert r1["I11"].status == NOT_APPLICABLE
    u1 = v[CODES["U1"]]
    assert u1["I4"].value == pytest.approx(700 / 10) and u1["I6"].value == pytest.approx(560 / 700 * 100)
    assert u1["I6"].status == MET  # exactly 80% ≥ 80%


def test_drill_down_lists_exactly_the_counted_records(shenyang):
    r = by_id(shenyang.indicators)
    # I2: the 综合 facilities in use in urban communities: U1, U3..U12 (U2's are 停用/在建; U5's second is
    # tombstoned; U10's second was built in 2025).
    expected = {rid(f"U{i}.zh") for i in range(1, 13) if i != 2}
    assert set(r["I2"].record_ids) == expected
    assert rid("U5.zh2") not in r["I2"].record_ids and rid("U10.zh2") not in r["I2"].record_ids
    # I5: staff in post in U1..U12 except U7; U3's S7 counts, S6 (left) and S8 (joined 2025) do not.
    ids = set(r["I5"].record_ids)
    assert len(ids) == 67 and rid("U3.S7") in ids
    assert not {rid("U3.S6"), rid("U3.S8"), rid("U5.S9"), rid("U7.S0")} & ids
    # I11: the one station in use.
    assert r["I11"].record_ids == [rid("T1.station")]
    # I9: 147 social orgs, not the tombstoned one.
    assert len(r["I9"].record_ids) == 147 and rid("U5.org12") not in r["I9"].record_ids
    # I14: trained committee members; R5's R2 (tombstoned training) is not among them.
    assert len(r["I14"].record_ids) == 44 and rid("R5.R2") not in r["I14"].record_ids


def test_drill_rows_mask_pii(county_engine, shenyang):
    from reports.drilldown import drill_rows

    result = by_id(shenyang.indicators)["I5"]
    label, headers, rows = drill_rows(county_engine, result, shenyang.names)
    assert label == "社区工作者记录" and "公民身份号码" in headers
    col = headers.index("公民身份号码")
    assert len(rows) == 67 and all("*" in row[col] for row in rows)
    assert all(len(row[col]) == 18 and row[col][6:14] == "********" for row in rows)


def test_village_scope_and_bad_scope(county_engine):
    rep = build_report(county_engine, CODES["R2"], YEAR, find_profile("吉林省"))
    r = by_id(rep.indicators)
    assert rep.scope.level == "village" and rep.villages == [] and rep.townships == []
    # R2: 350 m² over 3200/100 = 10.9 m² per 100 households < 30
    assert r["I4"].value == pytest.approx(350 / 32) and r["I4"].status == NOT_MET
    assert r["I1"].numerator == 1 and r["I1"].status == MET
    with pytest.raises(ScopeError, match="没有区划代码为 220112009000"):
        build_report(county_engine, "220112009000", YEAR, find_profile("国家"))
    with pytest.raises(ScopeError, match="12位数字"):
        build_report(county_engine, "22011", YEAR, find_profile("国家"))


def test_year_without_data(county_engine):
    rep = build_report(county_engine, COUNTY, YEAR + 1, find_profile("沈阳市"))
    r = by_id(rep.indicators)
    assert r["I4"].status == CANNOT and "缺少户数" in r["I4"].reason
    assert sum(1 for f in rep.quality if f.check == "缺少年度基础数据") == 22


def test_tombstoned_village_data_not_counted(tmp_path):
    from storage.db import open_database

    engine = open_database(tmp_path / "t.sqlite3")
    repo = Repository(engine, actor="测试员")
    build_county(repo)
    before = by_id(build_report(engine, COUNTY, YEAR, find_profile("沈阳市")).indicators)["I4"].numerator
    repo.delete("facility", rid("U1.zh"))
    after = build_report(engine, COUNTY, YEAR, find_profile("沈阳市"))
    r = by_id(after.indicators)
    assert r["I4"].numerator == before - 700
    assert (r["I2"].numerator, r["I2"].denominator) == (10, 12)
    table = table_for("facility")
    with engine.connect() as conn:
        assert conn.execute(table.select().where(table.c.id == rid("U1.zh"))).first().deleted is True
    # a tombstoned village drops out of every sum: R3 (the rural village without 综合) → I1 9 of 9
    from storage.repository import org_unit_id

    repo.delete("org_unit", org_unit_id(CODES["R3"]))
    again = build_report(engine, COUNTY, YEAR, find_profile("沈阳市"))
    r = by_id(again.indicators)
    assert (r["I1"].numerator, r["I1"].denominator, r["I1"].status) == (9, 9, MET)
    assert len(again.villages) == 21 and CODES["R3"] not in {c.org_code for c in again.standards}
    engine.dispose()


@pytest.mark.postgres
def test_same_report_on_postgresql(pg_engine, pg_url, shenyang, tmp_path):
    """The county server on PostgreSQL computes the same figures as SQLite (hand-checked above)."""
    build_county(Repository(pg_engine, actor="测试员"))
    pg = build_report(pg_engine, COUNTY, YEAR, find_profile("沈阳市"))
    assert [(r.indicator_id, r.numerator, r.denominator, r.status, r.reason) for r in pg.indicators] == \
        [(r.indicator_id, r.numerator, r.denominator, r.status, r.reason) for r in shenyang.indicators]
    assert [(c.org_code, c.check, c.status, c.gap) for c in pg.standards] == \
        [(c.org_code, c.check, c.status, c.gap) for c in shenyang.standards]
    assert sorted((f.org_code, f.check, f.message) for f in pg.quality) == \
        sorted((f.org_code, f.check, f.message) for f in shenyang.quality)
    r = by_id(pg.indicators)
    assert set(r["I2"].record_ids) == {rid(f"U{i}.zh") for i in range(1, 13) if i != 2}
    assert len(r["I14"].record_ids) == 44

    from county_server.cli import main

    out = tmp_path / "pg.xlsx"
    assert main(["--db", pg_url, "report", "--year", str(YEAR), "--profile", "沈阳市", "--org", COUNTY,
                 "-o", str(out)]) == 0
    assert out.stat().st_size > 0


def test_gap_to_target_in_whole_units_and_square_metres():
    """How many more villages, people, m² would meet the target — worked by hand."""
    from reports.indicators import BY_ID, NOT_MET, IndicatorResult
    from reports.profiles import Target

    def result(iid, num, den, op, value):
        d = BY_ID[iid]
        return IndicatorResult(iid, d.name, "x", "x", num, den, num / den * d.scale, d.unit, Target(op, value),
                               NOT_MET)

    # I1: 7 of 10 rural villages, target 93% → 9.3 → 10 villages needed → 3 more
    r = result("I1", 7, 10, ">=", 93)
    assert r.gap == 3 and r.gap_text == "还差 3个农村社区（有在用综合服务设施的农村社区数需达到 10）"
    # I4: 2,400 m² for 100 households/100 = 10 → 30 m² per 100 households needs 300 m²?  den is households ÷ 100
    r = result("I4", 2400, 100, ">=", 30)  # 3,000 m² needed
    assert r.gap == 600 and r.gap_text == "还差 600 m²（综合服务设施建筑面积需达到 3000 m²）"
    # I5: 20 workers for 1.5 (15,000 urban residents ÷ 10,000), target 18 per 10,000 → 27 → 7 more people
    assert result("I5", 20, 1.5, ">=", 18).gap == 7
    # I4 with 商丘's ">30": 3,000 m² is not enough, 3,000.1 is
    assert result("I4", 2900, 100, ">", 30).gap_text.startswith("还差 100.1 m²")
    # I10: 沈阳 ≥ 5 per village: 13 organisations in 3 villages → 15 needed → 2 more
    assert result("I10", 13, 3, ">=", 5).gap_text.startswith("还差 2个社区社会组织")
    met = result("I1", 10, 10, ">=", 93)
    met.status = "met"
    assert met.gap is None and met.gap_text == ""
