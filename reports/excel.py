"""The 达标 report as a formatted Excel workbook (openpyxl).

Sheets: 封面 (org, year, profile, when), 指标 (the scope's I1–I14), 各单位指标 (one row per
township and village, township/county reports only), 达标检查 (standards per village),
数据质量 (findings).  Met / not met carry both a fill colour and a text mark.
"""

from __future__ import annotations

import os
import tempfile
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from reports.indicators import CANNOT, INDICATORS, MET, NOT_MET
from reports.report import Report

FILLS = {MET: PatternFill("solid", fgColor="C6EFCE"), NOT_MET: PatternFill("solid", fgColor="FFC7CE"),
         CANNOT: PatternFill("solid", fgColor="FFEB9C")}
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="999999")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
FONT = "宋体"
BODY_FONT = Font(name=FONT)
BOLD_FONT = Font(name=FONT, bold=True)
WRAP = Alignment(vertical="center", wrap_text=True)
NOWRAP = Alignment(vertical="center")


def _header(ws, row: int, headers: list[str], widths: list[int] | None = None) -> None:
    for i, h in enumerate(headers, 1):
        c = ws.cell(row=row, column=i, value=h)
        c.font = Font(name=FONT, bold=True)
        c.fill = HEADER_FILL
        c.border = BORDER
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if widths:
            ws.column_dimensions[get_column_letter(i)].width = widths[i - 1]
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def _styled(cell, wrap: bool, fill: str | None = None) -> None:
    """Apply the body style; style arrays are built once per workbook and copied (openpyxl is slow otherwise)."""
    cache = cell.parent.parent.__dict__.setdefault("_taizhang_styles", {})
    key = (wrap, fill)
    if key in cache:
        cell._style = copy(cache[key])
        return
    cell.font = BODY_FONT
    cell.border = BORDER
    cell.alignment = WRAP if wrap else NOWRAP
    if fill:
        cell.fill = FILLS[fill]
    cache[key] = copy(cell._style)


def _row(ws, row: int, values: list, status: str | None = None, status_col: int | None = None) -> None:
    for i, v in enumerate(values, 1):
        c = ws.cell(row=row, column=i, value=v)
        fill = status if (status in FILLS and i == status_col) else None
        _styled(c, isinstance(v, str) and len(v) > 12, fill)


def _title(ws, text: str, span: int) -> None:
    ws.cell(row=1, column=1, value=text).font = Font(name=FONT, bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=span)
    ws.row_dimensions[1].height = 24


def write_report(report: Report, path: str | Path) -> Path:
    """Write the workbook atomically (temp file + rename): a crash never leaves half a file."""
    path = Path(path)
    s, p = report.scope, report.profile
    wb = Workbook()
    ws = wb.active
    ws.title = "封面"
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 70
    ws.cell(row=1, column=1, value=report.title).font = Font(name=FONT, bold=True, size=16)
    ws.merge_cells("A1:B1")
    info = report.cover_facts() + [
        ("说明", "指标按各村(社区)数据汇总：分子、分母分别求和后相除；缺少分母数据的村(社区)不计入并在说明中列出。"
               "状态同时用颜色和文字标示（✓ 达标 / ✗ 未达标 / 无法计算 / 无目标值 / 不适用）。")]
    for i, (k, v) in enumerate(info, 3):
        ws.cell(row=i, column=1, value=k).font = Font(name=FONT, bold=True)
        c = ws.cell(row=i, column=2, value=v)
        c.font = Font(name=FONT)
        c.alignment = Alignment(wrap_text=True, vertical="top")

    ws = wb.create_sheet("指标")
    _title(ws, f"{s.name} {s.year}年 主要指标（方案：{p.name}）", 10)
    _header(ws, 2, ["编号", "指标", "分子", "分母", "数值", "单位", "目标值", "状态", "说明", "方案原文"],
            [6, 34, 12, 12, 10, 8, 16, 12, 40, 50])
    for i, r in enumerate(report.indicators, 3):
        d = r.definition
        _row(ws, i, [d.id, d.name, r.numerator, r.denominator,
                     round(r.value, d.decimals) if r.value is not None else "—", d.unit, r.target.describe(),
                     r.mark, r.reason or r.note or f"{d.numerator_label} ÷ {d.denominator_label}", r.target.quote],
             r.status, 8)

    if report.villages:
        ws = wb.create_sheet("各单位指标")
        ids = [d.id for d in INDICATORS]
        _title(ws, f"{s.name} {s.year}年 各乡镇(街道)、村(社区)指标（方案：{p.name}）", 4 + 2 * len(ids))
        headers = ["区划代码", "名称", "层级", "城乡分类"]
        for d in INDICATORS:
            headers += [f"{d.id} {d.name}（{d.unit}）", f"{d.id} 状态"]
        _header(ws, 2, headers, [14, 16, 10, 10] + [14, 10] * len(ids))
        row = 3
        for unit in report.townships + report.villages:
            values = [unit.org_code, unit.name, "乡镇/街道" if unit.level == "township" else "村/社区",
                      unit.urban_rural or ""]
            for iid in ids:
                r = unit.results[iid]
                values += [round(r.value, r.definition.decimals) if r.value is not None else "—", r.mark]
            _row(ws, row, values)
            for j, iid in enumerate(ids):
                st = unit.results[iid].status
                if st in FILLS:
                    _styled(ws.cell(row=row, column=6 + 2 * j), False, st)
            row += 1
        ws.auto_filter.ref = f"A2:{get_column_letter(len(headers))}{row - 1}"

    ws = wb.create_sheet("达标检查")
    _title(ws, f"{s.name} {s.year}年 村(社区)达标检查", 7)
    _header(ws, 2, ["村(社区)", "区划代码", "检查项", "标准", "本单位数值", "状态", "差距", "依据"],
            [16, 14, 22, 34, 16, 12, 50, 60])
    for i, c in enumerate(report.standards, 3):
        _row(ws, i, [c.org_name, c.org_code, c.check, c.rule, c.figure, c.mark, c.gap, c.source], c.status, 6)
    if report.standards:
        ws.auto_filter.ref = f"A2:H{2 + len(report.standards)}"

    ws = wb.create_sheet("数据质量")
    _title(ws, f"{s.name} {s.year}年 数据质量检查（计算指标前运行）", 5)
    _header(ws, 2, ["级别", "村(社区)", "区划代码", "问题", "说明"], [8, 16, 14, 24, 90])
    if not report.quality:
        _row(ws, 3, ["", "", "", "未发现问题", "各项基础数据齐全，未发现明显错误"])
    for i, f in enumerate(report.quality, 3):
        _row(ws, i, [f.severity, f.org_name, f.org_code, f.check, f.message])
        if f.severity == "错误":
            _styled(ws.cell(row=i, column=1), False, NOT_MET)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = ["write_report"]
