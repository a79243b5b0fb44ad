"""一表通: the three example templates filled for a township of 12 villages, every number checked
against a sum worked out here from the generated records (plain Python over the dicts written,
not the engine's SQL); a template re-saved by LibreOffice with rows inserted and columns moved
still fills; templates naming a missing field, value or measure are refused naming the cell."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import subprocess
import uuid

import pytest
from openpyxl import load_workbook

from reports.fill.fill import FillError, cell_records, fill_template, parse_period
from reports.fill.library import BUILTIN_DIR
from reports.fill.template import FILLED_SHEET, MAPPING_SHEET, TemplateError, load_template
from storage.repository import Repository, WriteOp, org_unit_id

COUNTY, TOWN = "330381000000", "330381101000"
VILLAGES = [(f"330381101{i:03d}", f"第{i}村") for i in range(1, 13)]
CATEGORIES = {"综合服务设施": "综合服务设施/党群服务中心", "养老服务设施": "养老服务设施",
              "卫生室": "卫生室/社区卫生服务站", "便民商业网点": "便民商业网点"}
OTHER = ["体育健身场地", "应急避难场所", "其他"]
STATUSES = ["在用", "在用", "在用", "停用", "在建"]
TARGETS = ["老年人", "特殊困难老年人", "未成年人", "一般居民", "残疾人"]
SERVICES = ["养老", "特殊困难老年人探访", "政务代办", "文化"]
PROVIDERS = ["社区工作者", "志愿者", "社会工作者"]


def _id(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@pytest.fixture(scope="module")
def township(tmp_path_factory):
    """The township written to SQLite: (engine, the records as written, minus the tombstoned ones)."""
    from storage.db import open_database

    engine = open_database(tmp_path_factory.mktemp("fill") / "town.sqlite3")
    yield engine, build_township(Repository(engine, actor="测试员"))
    engine.dispose()


def build_township(repo) -> dict:
    rng = random.Random(22)
    ops = [WriteOp("org_unit", "insert", {"org_code": COUNTY, "name": "测试县", "level": "县"}, org_unit_id(COUNTY)),
           WriteOp("org_unit", "insert", {"org_code": TOWN, "name": "测试镇", "level": "乡镇/街道",
                                          "parent_code": COUNTY}, org_unit_id(TOWN))]
    kept = {t: [] for t in ("facility", "volunteer", "volunteer_team", "volunteer_hours", "service")}
    for n, (code, name) in enumerate(VILLAGES):
        ops.append(WriteOp("org_unit", "insert", {"org_code": code, "name": name, "level": "村/社区",
                                                  "parent_code": TOWN,
                                                  "urban_rural": "城市社区" if n < 5 else "农村社区"},
                           org_unit_id(code)))

        def put(rt, values):
            op = WriteOp(rt, "insert", {"org_code": code, **values}, _id(rng))
            ops.append(op)
            kept[rt].append(dict(op.values, id=op.record_id))
            return op

        for _ in range(rng.randint(2, 7)):
            building = rng.choice([None, rng.randint(50, 900)])
            activity = None if building is None or rng.random() < 0.2 else rng.randint(0, building)
            put("facility", {"name": f"{name}设施", "category": rng.choice(list(CATEGORIES.values()) + OTHER),
                             "status": rng.choice(STATUSES), "building_area": building, "activity_area": activity})
        teams = [put("volunteer_team", {"name": f"{name}队{j}", "party_backbone": rng.random() < 0.5})
                 for j in range(rng.randint(0, 3))]
        for j in range(rng.randint(1, 8)):
            registered = rng.random() < 0.7
            vol = put("volunteer", {"name": f"志愿者{j}", "registered": registered, "party_member": rng.random() < 0.4,
                                    "registration_no": f"ZY{rng.randint(10**6, 10**7)}" if registered else None,
                                    "team_id": rng.choice(teams).record_id if teams else None})
            for _ in range(rng.randint(0, 4)):
                put("volunteer_hours", {"volunteer_id": vol.record_id, "activity": "助老",
                                        "date": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 365)),
                                        "hours": rng.choice([0.5, 1, 2, 2.5, 3, 4])})
        for _ in range(rng.randint(5, 25)):
            put("service", {"date": dt.date(2023, 12, 1) + dt.timedelta(days=rng.randint(0, 420)),
                            "category": rng.choice(SERVICES), "mode": "上门", "target": rng.choice(TARGETS),
                            "persons": rng.randint(1, 30), "provider": rng.choice(PROVIDERS)})
    repo.bulk_write(ops)
    # tombstone a few records: they must count nowhere
    for rt in ("facility", "service", "volunteer_hours", "volunteer"):
        for rec in rng.sample(kept[rt], 3):
            repo.delete(rt, rec["id"])
            kept[rt].remove(rec)
    return kept


def template(name):
    return load_template(BUILTIN_DIR / f"{name}.xlsx")


def sheet_values(data: bytes):
    import io

    wb = load_workbook(io.BytesIO(data))
    return wb, wb["表1"]


def row_of(ws, text):
    rows = [c.row for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.replace(" ", "") == text]
    assert len(rows) == 1, (text, rows)
    return rows[0]


def num(x):
    return round(x, 2)


def test_facilities_quarterly_by_hand(township):
    engine, kept = township
    result = fill_template(engine, template("城乡社区服务设施情况统计表"), TOWN, "2024-Q3")
    wb, ws = sheet_values(result.data)
    assert ws["A1"].value == "城乡社区服务设施情况统计表" and ws["A1"].font.bold  # the department's layout stays
    assert ws["A2"].value == "填报单位（盖章）：测试镇"
    first = row_of(ws, "第1村")
    total = row_of(ws, "合计")
    assert total == first + 12  # one row per village, 合计 moved down below them
    assert ws.cell(first + 11, 3).border.left.style == "thin"  # inserted rows formatted like the marker row
    col = 3
    for category in CATEGORIES.values():
        sums = [0, 0.0, 0.0]
        for i, (code, name) in enumerate(VILLAGES):
            mine = [f for f in kept["facility"] if f["org_code"] == code and f["category"] == category
                    and f["status"] == "在用"]
            expected = [len(mine), num(sum(f["building_area"] or 0 for f in mine)),
                        num(sum(f["activity_area"] or 0 for f in mine))]
            assert ws.cell(first + i, 2).value == name
            assert [ws.cell(first + i, col + k).value for k in range(3)] == expected, (category, name)
            sums = [a + b for a, b in zip(sums, expected)]
        assert [ws.cell(total, col + k).value for k in range(3)] == [num(x) for x in sums], category
        col += 3
    assert sum(ws.cell(total, c).value for c in range(3, 15, 3)) > 0  # the data is not empty
    filled = wb[FILLED_SHEET]
    assert filled.sheet_state == "hidden" and MAPPING_SHEET not in wb.sheetnames
    assert filled.max_row - 1 == len(result.cells)


def test_volunteers_monthly_by_hand(township):
    engine, kept = township
    result = fill_template(engine, template("志愿服务情况统计表"), TOWN, "2024-05")
    _, ws = sheet_values(result.data)
    month = (dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    ytd = (dt.date(2024, 1, 1), dt.date(2024, 5, 31))

    def dated(rt, span, keep=lambda r: True):
        return [r for r in kept[rt] if span[0] <= r["date"] <= span[1] and keep(r)]

    registered = [v for v in kept["volunteer"] if v["registered"]]
    expected = {
        "注册志愿者人数": (len(registered),) * 2,
        "其中：党员志愿者": (sum(1 for v in registered if v["party_member"]),) * 2,
        "志愿服务队伍数": (len(kept["volunteer_team"]),) * 2,
        "其中：以党员为骨干的队伍": (sum(1 for t in kept["volunteer_team"] if t["party_backbone"]),) * 2,
        "志愿服务时长": tuple(num(sum(h["hours"] for h in dated("volunteer_hours", s))) for s in (month, ytd)),
        "志愿服务记录": tuple(len(dated("volunteer_hours", s)) for s in (month, ytd)),
        "志愿者提供服务人次": tuple(sum(r["persons"] for r in dated("service", s, lambda r: r["provider"] == "志愿者"))
                           for s in (month, ytd)),
    }
    for label, (this_month, year_to_date) in expected.items():
        r = row_of(ws, label)
        assert (ws.cell(r, 4).value, ws.cell(r, 5).value) == (this_month, year_to_date), label
    assert expected["志愿服务时长"][1] > expected["志愿服务时长"][0] > 0


def test_elderly_yearly_by_hand(township):
    engine, kept = township
    result = fill_template(engine, template("养老服务情况统计表"), TOWN, "2024")
    _, ws = sheet_values(result.data)
    first, total = row_of(ws, "第1村"), row_of(ws, "合计")
    year = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    totals = [0] * 7
    for i, (code, name) in enumerate(VILLAGES):
        fac = [f for f in kept["facility"] if f["org_code"] == code and f["category"] == "养老服务设施"
               and f["status"] == "在用"]
        svc = [s for s in kept["service"] if s["org_code"] == code and year[0] <= s["date"] <= year[1]]
        old = [s for s in svc if s["target"] in ("老年人", "特殊困难老年人")]
        visit = [s for s in svc if s["category"] == "特殊困难老年人探访"]
        hours = [h for h in kept["volunteer_hours"] if h["org_code"] == code and year[0] <= h["date"] <= year[1]]
        expected = [len(fac), num(sum(f["building_area"] or 0 for f in fac)), len(old), sum(s["persons"] for s in old),
                    len(visit), sum(s["persons"] for s in visit), num(sum(h["hours"] for h in hours))]
        assert ws.cell(first + i, 3).value == code
        assert [ws.cell(first + i, 4 + k).value for k in range(7)] == expected, name
        totals = [a + b for a, b in zip(totals, expected)]
    assert [ws.cell(total, 4 + k).value for k in range(7)] == [num(x) for x in totals]
    # I8 城市社区养老服务设施覆盖率: urban villages (the first five) with an elderly facility in use
    urban = [code for code, _ in VILLAGES[:5]]
    have = {f["org_code"] for f in kept["facility"] if f["category"] == "养老服务设施" and f["status"] == "在用"}
    coverage = round(len([c for c in urban if c in have]) / 5 * 100, 1)
    assert ws.cell(row_of(ws, f"城市社区养老服务设施覆盖率（%）：{coverage}"), 1).value


def test_a_village_gets_its_own_row_and_drill_down_lists_the_records(township):
    engine, kept = township
    code, name = VILLAGES[3]
    result = fill_template(engine, template("城乡社区服务设施情况统计表"), code, "2024-Q3")
    _, ws = sheet_values(result.data)
    assert row_of(ws, "合计") == row_of(ws, name) + 1
    cell = next(c for c in result.cells if c.unit.code == code and c.mapping.measure.name == "服务设施·数量"
                and "综合服务设施" in c.mapping.filters_text)
    label, headers, rows = cell_records(engine, cell)
    assert label == "服务设施记录" and len(rows) == cell.value
    assert all(r[headers.index("类别")] == "综合服务设施/党群服务中心" and r[headers.index("状态")] == "在用"
               for r in rows)


def test_period_must_match_and_be_well_formed(township):
    engine, _ = township
    with pytest.raises(FillError, match="季报.*2024-Q3"):
        fill_template(engine, template("城乡社区服务设施情况统计表"), TOWN, "2024-05")
    with pytest.raises(FillError, match="2024-13"):
        parse_period("2024-13")
    assert parse_period("2024-q4").last == dt.date(2024, 12, 31)
    with pytest.raises(FillError, match="没有区划代码为 330381101099"):
        fill_template(engine, template("志愿服务情况统计表"), "330381101099", "2024-05")


def _edit_mapping(tmp_path, name, row_value):
    wb = load_workbook(BUILTIN_DIR / f"{name}.xlsx")
    ws = wb[MAPPING_SHEET]
    line = ws.max_row + 1
    for col, value in enumerate(row_value, start=1):
        ws.cell(line, col, value)
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    return path, line


@pytest.mark.parametrize("row, message", [
    (("表1", "合计", "综合服务设施>个数", "服务设施·数量", "类别=综合服务设施；状态=在用"),
     "E{line}）：字段“类别”没有选项“综合服务设施”"),
    (("表1", "合计", "综合服务设施>个数", "服务设施·数量", "颜色=红"),
     "E{line}）：“服务设施”没有可筛选的字段“颜色”"),
    (("表1", "合计", "综合服务设施>个数", "服务设施·占地面积合计", ""), "D{line}）：统计项“服务设施·占地面积合计”不在统计项目录中"),
    (("表1", "合计", "综合服务设施>床位", "服务设施·数量", ""), "C{line}）：在工作表“表1”中找不到列标题“综合服务设施”下的“床位”"),
    (("表2", "合计", "个数", "服务设施·数量", ""), "A{line}）：工作簿中没有名为“表2”的工作表"),
    (("表1", "合计", "个数", "服务设施·数量", ""), "列标题“个数”在工作表“表1”中出现多处"),
])
def test_a_template_naming_what_does_not_exist_is_refused_naming_the_cell(tmp_path, row, message):
    path, line = _edit_mapping(tmp_path, "城乡社区服务设施情况统计表", row)
    with pytest.raises(TemplateError) as exc:
        load_template(path)
    assert f"映射表第{line}行" in str(exc.value)
    assert message.format(line=line) in str(exc.value)


def _soffice_resave(src, out_dir):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (scripts/system-deps.sh installs it)")
    profile = out_dir / "lo-profile"
    conv = out_dir / "converted"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(conv), str(src)],
                   check=True, capture_output=True, timeout=180)
    return conv / src.name


def _shift_merged(ws, *, rows=0, cols=0, from_row=1, from_col=1):
    for mr in list(ws.merged_cells.ranges):
        if mr.min_row >= from_row and mr.min_col >= from_col:
            ws.merged_cells.remove(mr)
            mr.shift(cols, rows)
            ws.merged_cells.add(mr)


@pytest.mark.slow
def test_template_resaved_by_libreoffice_with_rows_inserted_and_columns_moved_still_fills(township, tmp_path):
    engine, _ = township
    name = "城乡社区服务设施情况统计表"
    wb = load_workbook(BUILTIN_DIR / f"{name}.xlsx")
    ws = wb["表1"]
    # a county adds two note rows under the title and a 备注 column before the data
    ws.insert_rows(2, 2)
    _shift_merged(ws, rows=2, from_row=2)
    ws["A2"] = "（本表数据由社区服务台账自动生成）"
    ws.insert_cols(3)
    _shift_merged(ws, cols=1, from_col=3)
    ws.cell(5, 3, "备注")
    # …and moves the 便民商业网点 block (3 columns, header merged) to the far right
    width = ws.max_column
    block = (width - 2, width)
    ws.move_range(f"{ws.cell(5, block[0]).coordinate}:{ws.cell(9, block[1]).coordinate}", cols=2)
    for mr in list(ws.merged_cells.ranges):
        if mr.min_row == 5 and mr.min_col == block[0]:
            ws.merged_cells.remove(mr)
            mr.shift(2, 0)
            ws.merged_cells.add(mr)
    edited = tmp_path / f"{name}.xlsx"
    wb.save(edited)
    resaved = _soffice_resave(edited, tmp_path)
    assert load_workbook(resaved)["表1"].cell(5, 3).value == "备注"

    moved = fill_template(engine, load_template(resaved), TOWN, "2024-Q3")
    plain = fill_template(engine, template(name), TOWN, "2024-Q3")
    by_measure = lambda r: {(c.mapping.measure.name, c.mapping.filters_text, c.unit.code): c.value  # noqa: E731
                            for c in r.cells if c.mapping.measure.is_number}
    assert by_measure(moved) == by_measure(plain)
    _, ws = sheet_values(moved.data)
    first, total = row_of(ws, "第1村"), row_of(ws, "合计")
    assert total == first + 12
    header = row_of(ws, "便民商业网点")
    shop_col = next(c.column for c in ws[header] if c.value == "便民商业网点")
    expected = next(c.value for c in plain.cells if c.unit.code == TOWN and c.mapping.measure.name == "服务设施·数量"
                    and "便民商业网点" in c.mapping.filters_text)
    assert ws.cell(total, shop_col).value == expected
    assert ws.cell(first, 3).value is None  # the 备注 column is left alone


def test_a_clerk_turns_a_department_workbook_into_a_template(township, tmp_path):
    """docs/reports.md step by step: --prepare, one mapping row per number, --check, fill."""
    from reports.fill.cli import run_fill
    from reports.fill.prepare import prepare
    from storage.cli import UserError

    engine, kept = township
    department = load_workbook(BUILTIN_DIR / "志愿服务情况统计表.xlsx")
    del department[MAPPING_SHEET]  # what the department sent: its layout, no mapping
    sent = tmp_path / "部门报表.xlsx"
    department.save(sent)
    prepared = prepare(sent, tmp_path / "模板.xlsx", Repository(engine).choices())
    wb = load_workbook(prepared)
    ws = wb[MAPPING_SHEET]
    assert [c.value for c in ws[5]] == ["工作表", "行", "列", "统计项", "筛选", "期间"]
    assert any("服务设施·数量" in str(dv.sqref) or dv.formula1.startswith("'_taizhang_catalogue'")
               for dv in ws.data_validations.dataValidation)
    ws["B2"] = "季报"
    for r, row in enumerate([("表1", "志愿服务队伍数", "本月", "志愿服务队·数量", "", "本期"),
                             ("表1", "志愿服务时长", "本年累计", "服务时长·小时合计", "", "本年累计"),
                             ("表1", "填报单位（盖章）：", "", "填报单位", "", "")], start=6):
        for c, value in enumerate(row, start=1):
            ws.cell(r, c, value)
    wb.save(prepared)

    repo = Repository(engine)
    args = lambda **kw: __import__("argparse").Namespace(**{  # noqa: E731
        "catalogue": False, "list": False, "template": str(prepared), "check": False, "prepare": False,
        "period": None, "org": TOWN, "output": None, "filler": "", **kw})
    assert run_fill(engine, repo, args(check=True), None) == 0
    out = tmp_path / "out.xlsx"
    assert run_fill(engine, repo, args(period="2024-Q2", output=str(out)), None) == 0
    ws = load_workbook(out)["表1"]
    hours = num(sum(h["hours"] for h in kept["volunteer_hours"] if dt.date(2024, 1, 1) <= h["date"] <= dt.date(2024, 6, 30)))
    assert ws.cell(row_of(ws, "志愿服务时长"), 5).value == hours
    assert ws.cell(row_of(ws, "志愿服务队伍数"), 4).value == len(kept["volunteer_team"])
    assert [s for s in load_workbook(out).sheetnames if s.startswith("_")] == [FILLED_SHEET]
    with pytest.raises(UserError, match="季报"):
        run_fill(engine, repo, args(period="2024-05", output=str(out)), None)


@pytest.mark.postgres
def test_the_same_numbers_on_postgresql(township, pg_url):
    """The county server on PostgreSQL fills every example with the numbers checked above on SQLite."""
    from storage.db import open_server_database

    engine = open_server_database(pg_url)
    try:
        build_township(Repository(engine, actor="测试员"))
        for name, period in (("城乡社区服务设施情况统计表", "2024-Q3"), ("志愿服务情况统计表", "2024-05"),
                             ("养老服务情况统计表", "2024")):
            values = [[(c.coordinate, c.value) for c in fill_template(e, template(name), TOWN, period).cells]
                      for e in (township[0], engine)]
            assert values[0] == values[1], name
    finally:
        engine.dispose()
