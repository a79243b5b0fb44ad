"""Bad input: every case ends with a precise Chinese message and NOTHING imported."""

from __future__ import annotations

import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from exchange.export import export_workbook, write_template
from exchange.importer import import_files, import_workbook
from exchange.report import ERROR_SHEET
from tests.test_exchange_util import (COUNTY, FACILITY_HEADER, OTHER_COUNTY_VILLAGE, STAFF_HEADER, VILLAGE,
                                      change_count, fill_template, make_workbook, patch_sheet_xml, record_counts,
                                      staff_row, valid_id)

GOOD_FACILITY = ["卫生室", "卫生室/社区卫生服务站", "在用", 90, 50]


def rejected(repo, path, expected: str | list[str], scope=COUNTY, **kw):
    """Import must be refused with each expected fragment in some error, and nothing written."""
    before_changes, before = change_count(repo), record_counts(repo)
    result = import_workbook(repo, path, scope=scope, **kw)
    assert result.status == "rejected", result.text()
    messages = "\n".join(f"{e.where}：{e.message}" for e in result.errors)
    for fragment in [expected] if isinstance(expected, str) else expected:
        assert fragment in messages, messages
    assert change_count(repo) == before_changes and record_counts(repo) == before
    return result


def with_good_sheet(sheets: dict) -> dict:
    """Bad sheets ride along with a good one: the good rows must not be imported either."""
    return {"服务设施": [FACILITY_HEADER, GOOD_FACILITY], **sheets}


def test_id_number_stored_as_number(repo, village, tmp_path):
    rows = [STAFF_HEADER, staff_row(1, **{"公民身份号码*": float(valid_id(1)[:17] + "0")})]
    path = make_workbook(tmp_path / "n.xlsx", with_good_sheet({"社区工作者": rows}))
    result = rejected(repo, path, ["第4行C列（公民身份号码）", "数字格式", "设置单元格格式", "文本", "重新输入"])
    assert result.errors[0].value == "2.20102E+17"  # as Excel shows it; the rest is lost anyway


def test_phone_stored_as_number(repo, village, tmp_path):
    rows = [STAFF_HEADER, staff_row(1, **{"手机号": 13800138000})]
    rejected(repo, make_workbook(tmp_path / "p.xlsx", {"社区工作者": rows}), ["手机号", "数字格式"])


def test_invalid_values_grouped_error_column_rows(repo, village, tmp_path):
    bad_id = valid_id(1)[:17] + ("0" if valid_id(1)[17] != "0" else "1")
    rows = [STAFF_HEADER, staff_row(1, **{"公民身份号码*": bad_id}), staff_row(2, **{"在岗状态*": "退休"}),
            staff_row(3, **{"在岗状态*": "退休"}), staff_row(4, **{"到岗日期": "去年三月"}),
            staff_row(5, **{"姓名*": ""})]
    result = rejected(repo, make_workbook(tmp_path / "v.xlsx", {"社区工作者": rows}),
                      ["校验位不正确", "“退休”不是可选项", "不是有效日期", "姓名：必填"])
    groups = result.grouped_errors()
    status = next(v for k, v in groups.items() if "不是可选项" in k)
    assert status == {"社区工作者·在岗状态": [5, 6]}
    assert "第5-6行" in result.text()
    assert result.counts["staff"].rejected == 5
    wrong = next(e for e in result.errors if "校验位" in e.message)
    assert wrong.value == bad_id[:6] + "********" + bad_id[-4:]  # ID numbers masked in summaries and reports


def test_empty_workbook(repo, village, tmp_path):
    Workbook().save(tmp_path / "empty.xlsx")
    rejected(repo, tmp_path / "empty.xlsx", "工作簿中没有可导入的工作表")


def test_template_without_rows(repo, village, tmp_path):
    path = write_template(repo, tmp_path / "模板.xlsx", org_code=VILLAGE)
    rejected(repo, path, "没有数据行")


def test_missing_sheet_of_a_template(repo, village, tmp_path):
    path = write_template(repo, tmp_path / "模板.xlsx", org_code=VILLAGE)
    filled = fill_template(path, tmp_path / "f.xlsx", {"服务设施": [
        {"名称": "卫生室", "类别": "卫生室/社区卫生服务站", "状态": "在用"}]})
    wb = load_workbook(filled)
    del wb["社区工作者"]
    wb.save(filled)
    rejected(repo, filled, "缺少工作表“社区工作者”")


def test_missing_required_column(repo, village, tmp_path):
    header = [h for h in STAFF_HEADER if h != "公民身份号码*"]
    rows = [header, [v for h, v in zip(STAFF_HEADER, staff_row(1)) if h != "公民身份号码*"]]
    rejected(repo, make_workbook(tmp_path / "m.xlsx", with_good_sheet({"社区工作者": rows})),
             "缺少必填列“公民身份号码”")


def test_formulas(repo, village, tmp_path):
    rows = [FACILITY_HEADER, GOOD_FACILITY, ["文化站", "综合性文化服务中心", "在用", "=D4*2", 100]]
    result = rejected(repo, make_workbook(tmp_path / "f.xlsx", {"服务设施": rows}),
                      ["第5行D列（建筑面积）", "含有公式（=D4*2）", "粘贴为数值"])
    assert result.errors[0].cell == "D5"


def test_error_values(repo, village, tmp_path):
    rows = [FACILITY_HEADER, ["文化站", "综合性文化服务中心", "在用", "#REF!", "#DIV/0!"]]
    wb_path = make_workbook(tmp_path / "e.xlsx", {"服务设施": rows})
    assert load_workbook(wb_path)["服务设施"]["D4"].data_type == "e"
    rejected(repo, wb_path, ["D列（建筑面积）", "错误值 #REF!", "E列（居民活动区域面积）", "错误值 #DIV/0!"])


def test_merged_data_cells(repo, village, tmp_path):
    rows = [FACILITY_HEADER, GOOD_FACILITY, ["文化站", "综合性文化服务中心", "在用", 100, 50],
            [None, "综合性文化服务中心", "在用", 80, 40]]
    path = make_workbook(tmp_path / "mg.xlsx", {"服务设施": rows})
    wb = load_workbook(path)
    wb["服务设施"].merge_cells("A5:A6")
    wb.save(path)
    rejected(repo, path, ["数据区有合并单元格（A5:A6）", "取消合并"])


def test_one_megabyte_string(repo, village, tmp_path):
    rows = [FACILITY_HEADER, ["卫" * 1_000_000, "卫生室/社区卫生服务站", "在用", 90, 50]]
    rejected(repo, make_workbook(tmp_path / "big.xlsx", {"服务设施": rows}),
             ["第4行A列（名称）", "超过 Excel 单元格上限32767个字符"])


def test_non_xlsx_file_renamed(repo, village, tmp_path):
    path = tmp_path / "报表.xlsx"
    path.write_text("姓名,公民身份号码\n张三,110101199003071234\n", encoding="utf-8")
    rejected(repo, path, "不是 Excel 工作簿（.xlsx）文件")
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    rejected(repo, path, "旧版 .xls 格式")


def test_truncated_zip(repo, village, tmp_path):
    good = make_workbook(tmp_path / "good.xlsx", {"服务设施": [FACILITY_HEADER, GOOD_FACILITY]})
    data = good.read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(data[: len(data) // 2])
    rejected(repo, tmp_path / "cut.xlsx", ["文件已损坏", "重新发送"])


def test_sheet_extending_to_xfd1048576(repo, village, tmp_path):
    src = make_workbook(tmp_path / "src.xlsx", {"服务设施": [FACILITY_HEADER, GOOD_FACILITY]})

    def stray_cell(data: bytes) -> bytes:
        data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
        return data.replace(b"</sheetData>",
                            b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
                            b"</sheetData>")

    path = patch_sheet_xml(src, tmp_path / "far.xlsx", 1, stray_cell)
    rejected(repo, path, ["第1048576行、第XFD列", "删除多余的行和列"])


def test_workbook_for_another_countys_village(repo, village, tmp_path):
    path = make_workbook(tmp_path / "other.xlsx", {"服务设施": [FACILITY_HEADER, GOOD_FACILITY]},
                         unit_line=f"填报单位：别县某村  区划代码：{OTHER_COUNTY_VILLAGE}")
    rejected(repo, path, [f"区划代码{OTHER_COUNTY_VILLAGE}", "不在本单位（区划代码220102000000）的管辖范围内"])


def test_row_for_another_countys_village_inside_a_workbook(repo, village, tmp_path):
    rows = [["区划代码", *FACILITY_HEADER], [VILLAGE, *GOOD_FACILITY],
            [OTHER_COUNTY_VILLAGE, "文化站", "综合性文化服务中心", "在用", 10, 5]]
    rejected(repo, make_workbook(tmp_path / "o.xlsx", {"服务设施": rows}, unit_line=None),
             f"区划代码{OTHER_COUNTY_VILLAGE}不在本单位")


def test_village_missing_from_the_county_registry(repo, village, tmp_path):
    path = make_workbook(tmp_path / "u.xlsx", {"服务设施": [FACILITY_HEADER, GOOD_FACILITY]},
                         unit_line="区划代码：220102001099")
    rejected(repo, path, "不在本县的组织机构名录中")


def test_no_org_code_anywhere(repo, village, tmp_path):
    path = make_workbook(tmp_path / "n.xlsx", {"服务设施": [FACILITY_HEADER, GOOD_FACILITY]}, unit_line=None)
    rejected(repo, path, "无法确定本表属于哪个村(社区)")


def test_duplicate_rows_and_unknown_parent(repo, village, tmp_path):
    training = [["社区工作者姓名*", "社区工作者公民身份号码", "日期*", "课程*", "天数(天)*"],
                ["王五", None, "2024-03-01", "培训", 1],
                ["张一", valid_id(9), "2024-03-01", "培训", 1]]
    staff = [STAFF_HEADER, staff_row(1), staff_row(1, **{"姓名*": "张二"})]
    result = rejected(repo, make_workbook(tmp_path / "d.xlsx", {"社区工作者": staff, "培训记录": training}),
                      ["与第4行重复", "找不到名为“王五”的社区工作者", "找不到公民身份号码为"])
    assert valid_id(9) not in result.text()  # masked


def test_error_report_highlights_cells_and_lists_errors(repo, village, tmp_path):
    rows = [STAFF_HEADER, staff_row(1, **{"在岗状态*": "退休"}), staff_row(2, **{"公民身份号码*": 1.2e17})]
    path = make_workbook(tmp_path / "村报.xlsx", with_good_sheet({"社区工作者": rows}))
    results = import_files(repo, [path], scope=COUNTY, report_dir=tmp_path / "报告")
    report = results[0].report
    assert report == tmp_path / "报告" / "村报-错误报告.xlsx"
    wb = load_workbook(report)
    assert wb.sheetnames[0] == ERROR_SHEET and "服务设施" in wb.sheetnames
    ws = wb["社区工作者"]
    assert ws["F4"].fill.fgColor.rgb.endswith("FFC7CE") and "不是可选项" in ws["F4"].comment.text
    assert "数字格式" in ws["C5"].comment.text
    listed = [r for r in wb[ERROR_SHEET].iter_rows(min_row=4, values_only=True)]
    assert ("社区工作者", 4, "F", "在岗状态") == listed[0][:4] and "不是可选项" in listed[0][5]
    assert listed[1][4] == "1.20000E+17"
    assert repo.count("facility") == 0


def test_report_for_unreadable_file_is_the_error_list(repo, village, tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"PK\x03\x04garbage")
    results = import_files(repo, [tmp_path / "x.xlsx"], scope=COUNTY, report_dir=tmp_path / "r")
    wb = load_workbook(results[0].report)
    assert wb.sheetnames == [ERROR_SHEET] and "文件已损坏" in wb[ERROR_SHEET]["F4"].value


def test_record_number_edited_or_from_another_village(repo, village, tmp_path):
    from storage.demo import fill_demo

    fill_demo(repo, records=10)
    path, _ = export_workbook(repo, tmp_path / "x.xlsx", org_code=VILLAGE)
    wb = load_workbook(path)
    ws = wb["服务设施"]
    id_col = [c.value for c in ws[3]].index("记录编号") + 1
    ws.cell(row=4, column=id_col).value = "不是编号"
    wb.save(tmp_path / "y.xlsx")
    rejected(repo, tmp_path / "y.xlsx", "隐藏的系统编号被改动")


@pytest.mark.parametrize("broken_part", ["xl/workbook.xml"])
def test_zip_without_workbook_part(repo, village, tmp_path, broken_part):
    good = make_workbook(tmp_path / "g.xlsx", {"服务设施": [FACILITY_HEADER, GOOD_FACILITY]})
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp_path / "b.xlsx", "w") as zout:
        for item in zin.infolist():
            if item.filename != broken_part:
                zout.writestr(item, zin.read(item.filename))
    rejected(repo, tmp_path / "b.xlsx", "不是 Excel 工作簿")


def test_corrupted_sheet_data_inside_a_valid_zip(repo, village, tmp_path):
    good = make_workbook(tmp_path / "g.xlsx", {"服务设施": [FACILITY_HEADER, GOOD_FACILITY]})
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(tmp_path / "c.xlsx", "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # sheet XML cut off in the middle
            zout.writestr(item, data)
    result = rejected(repo, tmp_path / "c.xlsx", "工作")
    assert any("损坏" in e.message or "无法读取" in e.message for e in result.errors), result.text()
