"""Builds the three example report templates shipped in reports/templates/.

Run ``python -m reports.templates.build_examples`` to regenerate them.  Each is
laid out as a department sends it (title, 填报单位/统计期间 line, merged two-row
headers, a units row, 合计, 填报人/日期 line) and carries its mapping in the
hidden sheet ``_taizhang_mapping`` — the same sheet a county clerk fills in by hand
(docs/reports.md).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from reports.fill.template import HEADERS, MAPPING_SHEET, landscape_fit_width

HERE = Path(__file__).resolve().parent
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
IN_USE = "状态=在用"


def _sheet(title: str, width: int, subtitle: str = "") -> tuple[Workbook, object]:
    wb = Workbook()
    ws = wb.active
    ws.title = "表1"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"] = title
    ws["A1"].font = Font(name="宋体", size=16, bold=True)
    ws["A1"].alignment = CENTER
    ws.row_dimensions[1].height = 30
    half = width // 2
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=half)
    ws["A2"] = "填报单位（盖章）："
    ws.cell(2, half + 1, "统计期间：")
    ws.merge_cells(start_row=2, start_column=half + 1, end_row=2, end_column=width)
    if subtitle:
        ws.cell(2, width + 1, subtitle)
    landscape_fit_width(ws)
    return wb, ws


def _box(ws, first_row: int, last_row: int, width: int, bold_rows=()) -> None:
    for r in range(first_row, last_row + 1):
        for c in range(1, width + 1):
            cell = ws.cell(r, c)
            cell.border = BOX
            cell.alignment = CENTER
            cell.font = Font(name="宋体", size=10, bold=r in bold_rows)


def _footer(ws, row: int, width: int, note: str) -> None:
    third = max(width // 3, 1)
    ws.cell(row, 1, "填报人：")
    ws.cell(row, third + 1, "审核人：")
    ws.cell(row, 2 * third + 1, "填报日期：")
    ws.cell(row + 1, 1, note)
    ws.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=width)
    ws.cell(row + 1, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[row + 1].height = 42


def _mapping(wb: Workbook, name: str, kind: str, note: str, rows: list[tuple]) -> None:
    ws = wb.create_sheet(MAPPING_SHEET)
    for key, value in (("报表名称", name), ("报送周期", kind), ("说明", note)):
        ws.append([key, value])
    ws.append([])
    ws.append(list(HEADERS))
    for row in rows:
        ws.append(["表1", *row])
    for i, w in enumerate((10, 16, 24, 30, 44, 10), start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.sheet_state = "hidden"


def _head_lines() -> list[tuple]:
    return [("填报单位（盖章）：", "", "填报单位", "", ""), ("统计期间：", "", "统计期间", "", ""),
            ("填报人：", "", "填报人", "", ""), ("填报日期：", "", "填报日期", "", "")]


FACILITY_GROUPS = (("综合服务设施", "综合服务设施/党群服务中心"), ("养老服务设施", "养老服务设施"),
                   ("卫生室", "卫生室/社区卫生服务站"), ("便民商业网点", "便民商业网点"))
FACILITY_MEASURES = (("个数", "服务设施·数量", "个"), ("建筑面积", "服务设施·建筑面积合计", "平方米"),
                     ("活动面积", "服务设施·居民活动区域面积合计", "平方米"))


def facilities_template() -> Workbook:
    width = 2 + 3 * len(FACILITY_GROUPS)
    wb, ws = _sheet("城乡社区服务设施情况统计表", width)
    ws.merge_cells("A3:A4")
    ws["A3"] = "序号"
    ws.merge_cells("B3:B4")
    ws["B3"] = "村（社区）名称"
    col = 3
    for header, _ in FACILITY_GROUPS:
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + 2)
        ws.cell(3, col, header)
        for i, (sub, _, unit) in enumerate(FACILITY_MEASURES):
            ws.cell(4, col + i, sub)
            ws.cell(5, col + i, unit)
        col += 3
    ws["A5"], ws["B5"] = "甲", "乙"
    ws["B6"] = "每村一行"
    ws.merge_cells("A7:B7")
    ws["A7"] = "合  计"
    _box(ws, 3, 7, width, bold_rows=(3, 4, 7))
    ws.column_dimensions["B"].width = 18
    for c in range(3, width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 10
    _footer(ws, 9, width, "说明：1. 只统计状态为“在用”的设施，停用、在建、规划的不计；2. 面积单位为平方米，保留两位小数；"
                          "3. 本表由乡镇(街道)汇总辖区各村(社区)后报县民政局，每季度末月报送。")
    rows = [("每村一行", "序号", "序号", "", ""), ("每村一行", "村(社区)名称", "名称", "", "")]
    for header, category in FACILITY_GROUPS:
        for sub, measure, _ in FACILITY_MEASURES:
            flt = f"类别={category}；{IN_USE}"
            rows.append(("每村一行", f"{header}>{sub}", measure, flt, ""))
            rows.append(("合计", f"{header}>{sub}", measure, flt, ""))
    _mapping(wb, "城乡社区服务设施情况统计表", "季报", "乡镇(街道)按季度报送，每村(社区)一行", rows + _head_lines())
    return wb


VOLUNTEER_ITEMS = (
    ("注册志愿者人数", "人", "志愿者·数量", "已在全国志愿服务信息系统注册=是"),
    ("其中：党员志愿者", "人", "志愿者·数量", "已在全国志愿服务信息系统注册=是；党员=是"),
    ("志愿服务队伍数", "支", "志愿服务队·数量", ""),
    ("其中：以党员为骨干的队伍", "支", "志愿服务队·数量", "以党员为骨干=是"),
    ("志愿服务时长", "小时", "服务时长·小时合计", ""),
    ("志愿服务记录", "条", "服务时长·数量", ""),
    ("志愿者提供服务人次", "人次", "服务记录·人次合计", "提供方=志愿者"),
)


def volunteers_template() -> Workbook:
    width = 5
    wb, ws = _sheet("志愿服务情况统计表", width)
    for c, text in enumerate(("序号", "指标名称", "计量单位", "本月", "本年累计"), start=1):
        ws.cell(3, c, text)
    for i, (label, unit, _, _) in enumerate(VOLUNTEER_ITEMS, start=1):
        ws.cell(3 + i, 1, i)
        ws.cell(3 + i, 2, label)
        ws.cell(3 + i, 3, unit)
    last = 3 + len(VOLUNTEER_ITEMS)
    _box(ws, 3, last, width, bold_rows=(3,))
    for r in range(4, last + 1):
        ws.cell(r, 2).alignment = Alignment(horizontal="left", vertical="center")
    for c, w in zip("ABCDE", (6, 28, 10, 12, 12)):
        ws.column_dimensions[c].width = w
    _footer(ws, last + 2, width, "说明：志愿者、队伍为月末在册数；时长、记录、人次按服务日期统计，本年累计自1月1日起。"
                                 "次月5日前报县民政局（志愿服务工作领导小组办公室）。")
    rows = []
    for label, _, measure, flt in VOLUNTEER_ITEMS:
        rows.append((label, "本月", measure, flt, "本期"))
        rows.append((label, "本年累计", measure, flt, "本年累计"))
    _mapping(wb, "志愿服务情况统计表", "月报", "村(社区)、乡镇(街道)每月报送", rows + _head_lines())
    return wb


ELDERLY_COLUMNS = (
    ("养老服务设施", "个数", "个", "服务设施·数量", "类别=养老服务设施；状态=在用"),
    ("养老服务设施", "建筑面积", "平方米", "服务设施·建筑面积合计", "类别=养老服务设施；状态=在用"),
    ("为老服务", "服务次数", "次", "服务记录·数量", "服务对象=老年人、特殊困难老年人"),
    ("为老服务", "服务人次", "人次", "服务记录·人次合计", "服务对象=老年人、特殊困难老年人"),
    ("特殊困难老年人探访", "探访次数", "次", "服务记录·数量", "服务类别=特殊困难老年人探访"),
    ("特殊困难老年人探访", "探访人次", "人次", "服务记录·人次合计", "服务类别=特殊困难老年人探访"),
    ("助老志愿服务", "服务时长", "小时", "服务时长·小时合计", ""),
)


def elderly_template() -> Workbook:
    width = 3 + len(ELDERLY_COLUMNS)
    wb, ws = _sheet("养老服务情况统计表", width)
    for c, text in ((1, "序号"), (2, "村（社区）名称"), (3, "区划代码")):
        ws.merge_cells(start_row=3, start_column=c, end_row=4, end_column=c)
        ws.cell(3, c, text)
    col = 4
    groups: dict[str, list] = {}
    for item in ELDERLY_COLUMNS:
        groups.setdefault(item[0], []).append(item)
    for header, items in groups.items():
        ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + len(items) - 1)
        ws.cell(3, col, header)
        for i, (_, sub, unit, _, _) in enumerate(items):
            ws.cell(4, col + i, sub)
            ws.cell(5, col + i, unit)
        col += len(items)
    ws["A5"], ws["B5"], ws["C5"] = "甲", "乙", "丙"
    ws["B6"] = "每村一行"
    ws.merge_cells("A7:C7")
    ws["A7"] = "合计"
    _box(ws, 3, 7, width, bold_rows=(3, 4, 7))
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions["C"].width = 15
    ws.cell(8, 1, "城市社区养老服务设施覆盖率（%）：")
    ws.merge_cells(start_row=8, start_column=1, end_row=8, end_column=width)
    _footer(ws, 10, width, "说明：设施为年末在用数；服务次数、人次按服务日期统计全年；覆盖率按国家“十四五”规划专栏1口径。"
                           "次年1月15日前报县民政局养老服务股。")
    rows = [("每村一行", "序号", "序号", "", ""), ("每村一行", "村(社区)名称", "名称", "", ""),
            ("每村一行", "区划代码", "区划代码", "", "")]
    for header, sub, _, measure, flt in ELDERLY_COLUMNS:
        rows.append(("每村一行", f"{header}>{sub}", measure, flt, ""))
        rows.append(("合计", f"{header}>{sub}", measure, flt, ""))
    rows.append(("城市社区养老服务设施覆盖率(%)：", "", "指标·I8", "", ""))
    _mapping(wb, "养老服务情况统计表", "年报", "乡镇(街道)每年报送，每村(社区)一行", rows + _head_lines())
    return wb


EXAMPLES = {"城乡社区服务设施情况统计表.xlsx": facilities_template, "志愿服务情况统计表.xlsx": volunteers_template,
            "养老服务情况统计表.xlsx": elderly_template}


def build(out_dir: Path = HERE) -> list[Path]:
    paths = []
    for name, make in EXAMPLES.items():
        path = out_dir / name
        wb = make()
        wb.properties.creator = "社区服务台账"
        wb.save(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build():
        print(p)
