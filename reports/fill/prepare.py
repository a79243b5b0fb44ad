"""``taizhang fill --prepare``: a department's workbook gets an empty mapping sheet to fill in.

The county clerk opens the result in Excel/WPS, fills one row per number (the 统计项 column
offers the catalogue as a drop-down list, read from the sheet ``_taizhang_catalogue``), and
checks it with ``taizhang fill --check``.  Nothing in the department's own sheets is changed.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from reports.fill.catalogue import CATALOGUE, filter_fields, allowed_values_text, measured_types
from reports.fill.template import CATALOGUE_SHEET, HEADERS, MAPPING_SHEET, THIS_PERIOD, YEAR_TO_DATE, TemplateError

MAPPING_ROWS = 500  # rows offered with drop-down lists


def prepare(source: str | Path, output: str | Path, choices: dict[str, list[str]]) -> Path:
    source, output = Path(source), Path(output)
    try:
        wb = load_workbook(source)
    except FileNotFoundError:
        raise TemplateError(f"找不到文件“{source}”") from None
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise TemplateError(f"“{source.name}”不是可读取的 Excel 工作簿（.xlsx），请用 Excel 或 WPS 另存为 .xlsx 后重试") from None
    if MAPPING_SHEET in wb.sheetnames:
        raise TemplateError(f"“{source.name}”已经有映射表，请直接编辑它，再用 taizhang fill --check 检查")
    first_sheet = wb.sheetnames[0]

    cat = wb.create_sheet(CATALOGUE_SHEET)
    cat.append(["统计项（在映射表“统计项”列选择）", "单位", "说明"])
    names = sorted({m.name for m in CATALOGUE.values()}, key=list(CATALOGUE).index)
    for name in names:
        m = CATALOGUE[name]
        cat.append([name, m.unit, m.help])
    cat.append([])
    cat.append(["可筛选字段（在“筛选”列写 字段=值）", "记录类型", "可用的值"])
    for rt in measured_types():
        for f in filter_fields(rt):
            cat.append([f.label, rt.label, allowed_values_text(f, choices)])
    for col, width in zip("ABC", (44, 16, 90)):
        cat.column_dimensions[col].width = width

    ws = wb.create_sheet(MAPPING_SHEET, 0)
    for key, value in (("报表名称", source.stem), ("报送周期", "月报"), ("说明", "")):
        ws.append([key, value])
    ws.append([])
    ws.append(list(HEADERS))
    header_row = ws.max_row
    for c in range(1, len(HEADERS) + 1):
        ws.cell(header_row, c).font = Font(bold=True)
    ws.append([first_sheet, "合计", "（列标题）", "", "", THIS_PERIOD])
    measure_list = DataValidation(type="list", formula1=f"'{CATALOGUE_SHEET}'!$A$2:$A${len(names) + 1}",
                                  allow_blank=True)
    span_list = DataValidation(type="list", formula1=f'"{THIS_PERIOD},{YEAR_TO_DATE}"', allow_blank=True)
    kind_list = DataValidation(type="list", formula1='"月报,季报,年报"', allow_blank=False)
    for dv in (measure_list, span_list, kind_list):
        ws.add_data_validation(dv)
    measure_list.add(f"D{header_row + 1}:D{header_row + MAPPING_ROWS}")
    span_list.add(f"F{header_row + 1}:F{header_row + MAPPING_ROWS}")
    kind_list.add("B2")
    for i, width in enumerate((10, 18, 26, 34, 46, 10), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    wb.active = 0
    try:
        wb.save(output)
    except PermissionError:
        raise TemplateError(f"无法写入“{output}”：文件可能正在 Excel/WPS 中打开，请关闭后重试") from None
    return output
