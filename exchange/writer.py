"""Templates and village exports: one layout, written with openpyxl's streaming writer.

The same function writes an empty template and a filled export, so that what
the app exports is exactly what the county's import reads.  Write-only mode
keeps memory flat for large exports.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable, Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation

from exchange.layout import (CHOICES_SHEET, HEADER_ROW, INSTRUCTIONS_SHEET, META_SHEET, ORG_LABEL, SEQ_HEADER,
                             TEMPLATE_VERSION, Column, column_letter, columns_for, sheet_types, year_sheet_name)
from storage.schema import RecordType

TITLE_FONT = Font(name="宋体", size=16, bold=True)
HEADER_FONT = Font(name="宋体", size=11, bold=True)
REQUIRED_FONT = Font(name="宋体", size=11, bold=True, color="C00000")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
DATA_ROWS_VALIDATED = 5000  # dropdowns and formats reach this far below the header in a template
SEQ_WIDTH = 7
# the printed page's footer: signatures left and right, page numbers in the middle (&P, &N: Excel's codes)
FOOTER_LEFT = "制表人：　　　　　审核人："
FOOTER_CENTER = "第 &P 页 共 &N 页"
FOOTER_RIGHT = "填报日期：　　年　月　日　单位（盖章）："


def _schema_version() -> str:
    from storage.db import head_revision

    return head_revision()


def cell_value(col: Column, value):
    """A stored value as the cell shows it: 是/否, 、-joined multichoice, text IDs."""
    if value is None:
        return None
    t = col.field.type
    if t == "bool":
        return "是" if value else "否"
    if t == "multichoice":
        return "、".join(value) if isinstance(value, (list, tuple)) else str(value)
    if col.is_text:
        return str(value)
    if t == "decimal" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _help(col: Column, choices: dict[str, list[str]]) -> str:
    f = col.field
    parts = []
    if col.kind == "ref_key":
        parts.append(f"填写{col.ref_field.label}的{f.label}，须与“{col.ref_field.label}”表或已有记录一致")
    elif col.kind in ("ref_id", "record_id", "record_version"):
        return "系统使用，请勿修改或删除"
    if col.required:
        parts.append("必填")
    if f.type == "multichoice":
        parts.append("可多选，用顿号“、”分隔：" + "、".join(choices.get(f.choices or "", [])))
    if f.type in ("id_number", "phone", "credit_code"):
        parts.append("本列为文本格式，请直接输入号码，不要改为数字格式")
    if f.type == "date":
        parts.append("日期，如 2024-03-05")
    if f.unit:
        parts.append(f"单位：{f.unit}，只填数字")
    if f.help:
        parts.append(f.help)
    return "；".join(parts)


def write_workbook(path: str | Path, *, org_code: str | None, org_name: str | None,
                   period: str | None, choices: dict[str, list[str]],
                   rows: dict[str, Iterable[dict]] | None = None, kind: str = "template",
                   progress: Callable[[int], None] | None = None) -> Path:
    """Write a template (``rows`` None) or an export (``rows``: record type → stored records)."""
    path = Path(path)
    wb = Workbook(write_only=True)
    types = sheet_types()
    title_suffix = "（导出）" if kind == "export" else "（填报模板）"
    unit_line = "填报单位：" + (f"{org_name or ''}  {ORG_LABEL}：{org_code}" if org_code else "__________")
    if period:
        unit_line += f"    填报期：{period}"
    unit_line += f"    生成日期：{dt.date.today().isoformat()}"

    _instructions(wb, types, org_code, org_name, period)
    choice_ranges = _choices_sheet(wb, choices)
    written = 0
    for rt, sheet_name, records in _sheets(types, rows or {}):
        cols = columns_for(rt)
        ws = wb.create_sheet(sheet_name)
        _print_setup(ws, len(cols) + 1)
        ws.freeze_panes = f"B{HEADER_ROW + 1}"
        ws.column_dimensions["A"].width = SEQ_WIDTH  # 序号
        for i, col in enumerate(cols, 1):
            dim = ws.column_dimensions[column_letter(i)]
            dim.width = col.width
            if col.hidden:
                dim.hidden = True
            if col.is_text:
                dim.number_format = "@"
            elif col.field.type == "date":
                dim.number_format = "yyyy-mm-dd"
        last = column_letter(len(cols))
        ws.merged_cells.add(f"A1:{last}1")
        ws.merged_cells.add(f"A2:{last}2")
        title = WriteOnlyCell(ws, f"{org_name or ''}{sheet_name}台账{title_suffix}")
        title.font, title.alignment = TITLE_FONT, Alignment(horizontal="center")
        ws.append([title])
        ws.append([unit_line])
        header = [_header_cell(ws, SEQ_HEADER, HEADER_FONT)]
        for col in cols:
            c = _header_cell(ws, col.header, REQUIRED_FONT if col.required else HEADER_FONT)
            text = _help(col, choices)
            if text:
                c.comment = Comment(text, "社区服务台账", width=260, height=110)
            header.append(c)
        ws.append(header)
        n_rows = 0
        for record in records:
            n_rows += 1
            ws.append([n_rows] + [_export_value(col, record) for col in cols])
            written += 1
            if progress and written % 1000 == 0:
                progress(written)
        _validations(ws, cols, choice_ranges, max(n_rows, DATA_ROWS_VALIDATED))
    _meta_sheet(wb, org_code, org_name, period, kind, types)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    wb.save(tmp)
    tmp.replace(path)  # never leave a half-written workbook under the real name
    if progress:
        progress(written)
    return path


def _header_cell(ws, text: str, font: Font) -> WriteOnlyCell:
    c = WriteOnlyCell(ws, text)
    c.font, c.fill, c.border = font, HEADER_FILL, BORDER
    c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return c


def _sheets(types: list[RecordType], rows: dict[str, Iterable[dict]]):
    """(type, sheet name, records) for each sheet.  Dated records that span several years get one
    sheet per year, 服务记录（2024年）, as a paper ledger is kept per year; otherwise a sheet per type."""
    for rt in types:
        records = rows.get(rt.name, ())
        by_year: dict[int, list[dict]] = {}
        if rt.date_field and isinstance(records, list):
            for r in records:
                d = r.get(rt.date_field)
                by_year.setdefault(d.year if isinstance(d, dt.date) else 0, []).append(r)
        if len(by_year) < 2 or 0 in by_year:
            yield rt, rt.label, records
            continue
        for year in sorted(by_year):
            yield rt, year_sheet_name(rt, year), by_year[year]


def _print_setup(ws, n_cols: int) -> None:
    """A4, landscape when the columns are many, fitted to the page width, the header row on every
    page, the signature line and page numbers in the footer."""
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.orientation = "landscape" if n_cols > 6 else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_options.horizontalCentered = True
    ws.oddFooter.left.text = FOOTER_LEFT
    ws.oddFooter.center.text = FOOTER_CENTER
    ws.oddFooter.right.text = FOOTER_RIGHT
    for part in (ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right):
        part.size = 10


def _export_value(col: Column, record: dict):
    if col.kind == "field":
        return cell_value(col, record.get(col.key))
    if col.kind == "record_id":
        return record.get("id")
    if col.kind == "record_version":
        return record.get("version")
    if col.kind in ("ref_key", "ref_id"):
        return record.get(f"_{col.key}")  # filled in by the exporter
    return None


def _validations(ws, cols: list[Column], choice_ranges: dict[str, str], rows: int) -> None:
    first, last = HEADER_ROW + 1, HEADER_ROW + rows
    for i, col in enumerate(cols, 1):  # column A is 序号
        letter = column_letter(i)
        t = col.field.type
        rng = f"{letter}{first}:{letter}{last}"
        dv = None
        if t == "choice" and col.kind == "field" and col.field.choices in choice_ranges:
            dv = DataValidation(type="list", formula1=choice_ranges[col.field.choices], allow_blank=True)
            dv.error = f"请从下拉列表中选择{col.label}"
        elif t == "bool":
            dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
            dv.error = f"{col.label}：请选择“是”或“否”"
        elif t == "date" and col.kind == "field":
            dv = DataValidation(type="date", operator="between", formula1="DATE(1900,1,1)",
                                formula2="DATE(2100,12,31)", allow_blank=True)
            dv.error = f"{col.label}：请输入日期，如 2024-03-05"
        elif t in ("id_number", "credit_code"):
            dv = DataValidation(type="textLength", operator="equal", formula1="18", allow_blank=True)
            dv.error = f"{col.label}：应为18位，请以文本格式输入"
        elif t == "phone":
            dv = DataValidation(type="textLength", operator="equal", formula1="11", allow_blank=True)
            dv.error = f"{col.label}：应为11位手机号码"
        if dv is None:
            continue
        dv.errorTitle = "输入有误"
        dv.showErrorMessage = True
        dv.add(rng)
        ws.data_validations.append(dv)


def _choices_sheet(wb: Workbook, choices: dict[str, list[str]]) -> dict[str, str]:
    """A hidden sheet with one column per choice list; dropdowns refer to it (no 255-char limit)."""
    ws = wb.create_sheet(CHOICES_SHEET)
    ws.sheet_state = "hidden"
    names = sorted(choices)
    longest = max((len(v) for v in choices.values()), default=0)
    ws.append(names)
    for r in range(longest):
        ws.append([choices[n][r] if r < len(choices[n]) else None for n in names])
    return {n: f"'{CHOICES_SHEET}'!${column_letter(i)}$2:${column_letter(i)}${len(choices[n]) + 1}"
            for i, n in enumerate(names) if choices[n]}


def _instructions(wb: Workbook, types: list[RecordType], org_code, org_name, period) -> None:
    ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    ws.column_dimensions["A"].width = 100
    title = WriteOnlyCell(ws, "社区服务台账 Excel 填写说明")
    title.font = TITLE_FONT
    lines = [
        title,
        f"填报单位：{org_name or '（未指定）'}  {ORG_LABEL}：{org_code or '（未指定，请在各表中增加“区划代码”列）'}"
        + (f"  填报期：{period}" if period else ""),
        "1. 每类记录一张工作表，请勿修改工作表名称、表头文字，也不要删除隐藏列（记录编号）。",
        "2. 表头带“*”的列必填；带单位的列只填数字，如“建筑面积(m²)”填 350。",
        "3. 公民身份号码、手机号等列已设为“文本”格式，请直接输入；如果列被改成了数字格式，"
        "18位号码会丢失末尾数位，导入时将被拒绝。",
        "4. 日期请填写为 2024-03-05 或 2024年3月5日。",
        "5. 下拉列表中的选项请直接选择；“可多选”的列请用顿号“、”分隔多个选项。",
        "6. 培训记录通过“社区工作者姓名”和“社区工作者公民身份号码”对应到社区工作者；"
        "服务时长通过“志愿者姓名”（同名时再填公民身份号码）对应到志愿者；"
        "志愿者通过“所属志愿服务队”填写队伍名称。对应的人员须在同一工作簿或已有台账中。",
        "7. 请不要使用公式、合并数据单元格；整张工作簿要么全部导入，要么全部不导入，出错时会退回带批注的错误报告。",
        "",
        "各工作表：",
    ]
    for line in lines:
        ws.append([line])
    for rt in types:
        required = "、".join(c.label for c in columns_for(rt) if c.required)
        ws.append([f"  {rt.label}：必填列 {required}"])


def _meta_sheet(wb: Workbook, org_code, org_name, period, kind, types) -> None:
    ws = wb.create_sheet(META_SHEET)
    ws.sheet_state = "hidden"
    for key, value in (("template_version", TEMPLATE_VERSION), ("schema_version", _schema_version()),
                       ("kind", kind), ("org_code", org_code or ""), ("org_name", org_name or ""),
                       ("period", period or ""), ("sheets", ",".join(rt.name for rt in types)),
                       ("generated_at", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))):
        ws.append([key, value])
