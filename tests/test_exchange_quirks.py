"""Workbooks as people really make them — openpyxl with each quirk built in, and real LibreOffice."""

from __future__ import annotations

import datetime as dt

from openpyxl import Workbook, load_workbook

from exchange.importer import import_workbook
from tests.test_exchange_util import (COUNTY, FACILITY_HEADER, STAFF_HEADER, VILLAGE, make_workbook,
                                      patch_sheet_xml, soffice_convert, staff_row, valid_id)


def _ok(result):
    assert result.status == "imported", result.text()
    return result


def test_title_rows_shuffled_columns_and_unknown_column(repo, village, tmp_path):
    header = ["序号", "在岗状态*", "职务*", "公民身份号码*", "姓名*", "备用列"]
    rows = [header, [1, "在岗", "网格员", valid_id(1), "张三", "x"], [2, "在岗", "儿童主任", valid_id(2), "李四", ""]]
    path = make_workbook(tmp_path / "a.xlsx", {"社区工作者": rows})
    result = _ok(import_workbook(repo, path, scope=COUNTY))
    assert result.counts["staff"].create == 2
    warned = {w.column for w in result.warnings}
    assert "备用列" in warned and "序号" not in warned  # a running number column is expected, not warned about
    assert {r["name"] for r in repo.list("staff", org_code=VILLAGE)} == {"张三", "李四"}


def test_two_row_header_with_merged_group_cells(repo, village, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "服务设施台账"
    ws.append(["2024年服务设施台账"])
    ws.merge_cells("A1:F1")
    ws.append([f"填报单位：测试村（区划代码：{VILLAGE}）"])
    ws.append(["名称", "类别", "状态", "面积（平方米）", None, None])
    ws.append([None, None, None, "建筑面积", "居民活动区域面积", "办公面积"])
    for col in "ABC":
        ws.merge_cells(f"{col}3:{col}4")
    ws.merge_cells("D3:F3")
    ws.append(["党群服务中心", "综合服务设施/党群服务中心", "在用", 420, 300, 60])
    ws.append(["日间照料中心", "养老服务设施", "在用", "180平方米", "150 ㎡", "２０"])
    wb.save(tmp_path / "two.xlsx")
    result = _ok(import_workbook(repo, tmp_path / "two.xlsx", scope=COUNTY))
    rows = {r["name"]: r for r in repo.list("facility", org_code=VILLAGE)}
    assert rows["党群服务中心"]["office_area"] == 60
    assert (rows["日间照料中心"]["building_area"], rows["日间照料中心"]["activity_area"],
            rows["日间照料中心"]["office_area"]) == (180, 150, 20)
    assert result.counts["facility"].create == 2


def test_every_date_spelling_full_width_and_units(repo, village, tmp_path):
    header = ["日期*", "服务类别*", "服务方式*", "服务对象*", "人次*", "时长(小时)"]
    spellings = [dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 0, 0), "2024-03-05", "2024/3/5", "2024.3.5",
                 "2024年3月5日", "２０２４年３月５日", "２０２４－０３－０５", 45356]
    rows = [header] + [[d, "养老", "上门", "老年人", f"{i + 1}人次" if i % 2 else "３", "1.5小时"]
                       for i, d in enumerate(spellings)]
    path = make_workbook(tmp_path / "d.xlsx", {"服务记录": rows})
    _ok(import_workbook(repo, path, scope=COUNTY))
    stored = repo.list("service", org_code=VILLAGE)
    assert len(stored) == len(spellings)
    assert {r["date"] for r in stored} == {dt.date(2024, 3, 5)}
    assert {r["duration_hours"] for r in stored} == {1.5}


def test_full_width_text_and_spaces_are_normalised(repo, village, tmp_path):
    rows = [STAFF_HEADER, staff_row(1, **{"姓名*": "　张　三 ", "手机号": "１３８００１３８０００",
                                          "公民身份号码*": "".join(chr(ord(c) + 0xFEE0) for c in valid_id(1))})]
    _ok(import_workbook(repo, make_workbook(tmp_path / "w.xlsx", {"社区工作者": rows}), scope=COUNTY))
    staff = repo.list("staff")[0]
    assert staff["name"] == "张 三" and staff["phone"] == "13800138000" and staff["id_number"] == valid_id(1)


def test_wps_wrong_dimension_a1_a1(repo, village, tmp_path):
    src = make_workbook(tmp_path / "src.xlsx", {"社区工作者": [STAFF_HEADER, staff_row(1), staff_row(2)]})

    def wps(data: bytes) -> bytes:
        import re

        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:A1"', data)

    path = patch_sheet_xml(src, tmp_path / "wps.xlsx", 1, wps)
    assert b'ref="A1:A1"' in __import__("zipfile").ZipFile(path).read("xl/worksheets/sheet1.xml")
    result = _ok(import_workbook(repo, path, scope=COUNTY))
    assert result.counts["staff"].create == 2


def test_declared_dimension_of_a_whole_sheet_is_not_trusted(repo, village, tmp_path):
    src = make_workbook(tmp_path / "src.xlsx", {"社区工作者": [STAFF_HEADER, staff_row(1)]})

    def huge(data: bytes) -> bytes:
        import re

        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)

    path = patch_sheet_xml(src, tmp_path / "huge.xlsx", 1, huge)
    result = _ok(import_workbook(repo, path, scope=COUNTY))
    assert result.counts["staff"].create == 1


def test_libreoffice_saved_workbook_imports(repo, village, tmp_path):
    """A workbook re-saved by real LibreOffice (its own XML writer, merges, styles) imports the same."""
    rows = [FACILITY_HEADER, ["党群服务中心", "综合服务设施/党群服务中心", "在用", "420平方米", 300],
            ["卫生室", "卫生室/社区卫生服务站", "在用", 90, 50]]
    (tmp_path / "src").mkdir()
    src = make_workbook(tmp_path / "src" / "设施.xlsx", {"服务设施": rows})
    lo = soffice_convert(src, tmp_path / "lo", tmp_path)
    data = __import__("zipfile").ZipFile(lo).read("docProps/app.xml")
    assert b"LibreOffice" in data  # really written by LibreOffice
    result = _ok(import_workbook(repo, lo, scope=COUNTY))
    assert result.counts["facility"].create == 2
    assert {r["building_area"] for r in repo.list("facility")} == {420, 90}


def test_libreoffice_csv_conversion_turns_ids_into_numbers_and_is_refused(repo, village, tmp_path):
    """The classic accident: a CSV opened in a spreadsheet program makes the ID a number."""
    csv_path = tmp_path / "人员.csv"
    lines = [",".join(h.rstrip("*") for h in STAFF_HEADER),
             ",".join(str(v) for v in staff_row(1, **{"到岗日期": "2020-03-01"}))]
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    # CSV filter: comma separated, double quotes, UTF-8 (76), start at line 1
    lo = soffice_convert(csv_path, tmp_path / "lo", tmp_path, fmt="xlsx", infilter="CSV:44,34,76,1")
    wb = load_workbook(lo)
    ws = wb.active
    assert isinstance(ws["C2"].value, (int, float))  # LibreOffice stored the ID as a number
    ws.title = "社区工作者"
    ws.insert_rows(1)
    ws["A1"] = f"填报单位：测试村 区划代码：{VILLAGE}"
    wb.save(tmp_path / "人员.xlsx")
    result = import_workbook(repo, tmp_path / "人员.xlsx", scope=COUNTY)
    assert result.status == "rejected"
    messages = [e.message for e in result.errors]
    assert any("数字格式" in m and "文本" in m and "重新输入" in m for m in messages), messages
    assert repo.count("staff") == 0


def test_hand_made_workbook_with_org_code_column(repo, village, tmp_path):
    rows = [["区划代码", *FACILITY_HEADER], [VILLAGE, "文化广场", "体育健身场地", "在用", None, None]]
    path = make_workbook(tmp_path / "org.xlsx", {"服务设施": rows}, unit_line=None)
    _ok(import_workbook(repo, path, scope=COUNTY))
    assert repo.list("facility")[0]["org_code"] == VILLAGE


def test_footer_rows_are_skipped_with_a_warning(repo, village, tmp_path):
    rows = [FACILITY_HEADER, ["卫生室", "卫生室/社区卫生服务站", "在用", 90, 50], ["合计", None, None, 90, 50],
            ["填表人：王五", None, None, None, None]]
    result = _ok(import_workbook(repo, make_workbook(tmp_path / "f.xlsx", {"服务设施": rows}), scope=COUNTY))
    assert result.counts["facility"].create == 1
    assert sum("不是数据行" in w.message for w in result.warnings) == 2


def test_export_resaved_by_libreoffice_round_trips(repo, village, tmp_path):
    """Our own export, opened and saved by LibreOffice (hidden columns, metadata, dropdowns), changes nothing."""
    from exchange.export import export_workbook
    from storage.demo import fill_demo
    from tests.test_exchange_util import change_count

    fill_demo(repo, records=40)
    (tmp_path / "src").mkdir()
    path, n = export_workbook(repo, tmp_path / "src" / "导出.xlsx", org_code=VILLAGE, full=True, purpose="往返测试")
    lo = soffice_convert(path, tmp_path / "lo", tmp_path)
    assert b"LibreOffice" in __import__("zipfile").ZipFile(lo).read("docProps/app.xml")
    before = change_count(repo)
    result = _ok(import_workbook(repo, lo, scope=COUNTY))
    assert result.total("unchanged") == n and result.total("create") == 0 and result.total("update") == 0
    assert change_count(repo) == before
