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
from reports.training import OVERDUE, RULE_QUOTES, DueRow
from storage.orgcode import LEVEL_LABELS

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
    _header(ws, 2, ["编号", "指标", "分子", "分母", "数值", "单位", "目标值", "状态", "距目标", "说明", "方案原文"],
            [6, 34, 12, 12, 10, 8, 16, 12, 30, 40, 50])
    for i, r in enumerate(report.indicators, 3):
        d = r.definition
        _row(ws, i, [d.id, d.name, r.numerator, r.denominator,
                     round(r.value, d.decimals) if r.value is not None else "—", d.unit, r.target.describe(),
                     r.mark, r.gap_text, r.reason or r.note or f"{d.numerator_label} ÷ {d.denominator_label}",
                     r.target.quote],
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
            values = [unit.org_code, unit.name, LEVEL_LABELS[unit.level],
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

    _training_sheet(wb.create_sheet("培训到期"), report.training, f"{s.name} {s.year}年 社区工作者培训到期名单",
                    report.profile.training_rules)

    _visits_sheet(wb.create_sheet("探访名单"), report)

    ws = wb.create_sheet("数据质量")
    _title(ws, f"{s.name} {s.year}年 数据质量检查（计算指标前运行）", 5)
    _header(ws, 2, ["级别", "村(社区)", "区划代码", "问题", "说明"], [8, 16, 14, 24, 90])
    if not report.quality:
        _row(ws, 3, ["", "", "", "未发现问题", "各项基础数据齐全，未发现明显错误"])
    for i, f in enumerate(report.quality, 3):
        _row(ws, i, [f.severity, f.org_name, f.org_code, f.check, f.message])
        if f.severity == "错误":
            _styled(ws.cell(row=i, column=1), False, NOT_MET)

    return _save(wb, path)


def _visits_sheet(ws, report: Report) -> None:
    """特殊困难老年人月探访 per village and month, with who was not visited (吉林 专栏2-2, 商丘 专栏2-2)."""
    _title(ws, f"{report.scope.name} {report.scope.year}年 特殊困难老年人月探访", 7)
    _header(ws, 2, ["村(社区)", "区划代码", "月份", "应探访（人）", "已探访（人）", "探访率", "尚未探访"],
            [16, 14, 8, 12, 12, 10, 60])
    row = 3
    for v in report.scope.villages:
        for month, visits in sorted(v.visit_register.items()):
            if not visits.denominator:
                continue
            missing = "、".join(p.label for p in visits.not_visited)
            _row(ws, row, [v.name, v.code, f"{month}月", visits.denominator, visits.numerator,
                           f"{visits.rate:.0f}%", missing])
            if missing:
                _styled(ws.cell(row=row, column=6), False, NOT_MET)
            row += 1
    if row == 3:
        _row(ws, 3, ["", "", "", "", "", "", "各村(社区)尚未登记特殊困难老年人名册（在“困难老人”页登记）"])


def _training_sheet(ws, rows: list[DueRow], title: str, rules: tuple[str, ...]) -> None:
    _title(ws, title, 9)
    _header(ws, 2, ["村(社区)", "区划代码", "姓名", "职务", "上次培训", "本年培训天数", "适用规定", "应培训日期",
                    "状态", "说明"], [16, 14, 10, 22, 12, 10, 30, 12, 10, 56])
    if not rules:
        _row(ws, 3, ["", "", "", "", "", "", "所选指标方案没有规定培训周期（吉林省：书记、主任每年，其他成员每两年；"
                                           "沈阳市：每年不少于3天）", "", "", ""])
        return
    for i, r in enumerate(rows, 3):
        p = r.person
        _row(ws, i, [r.org_name, p.org_code, p.name, "、".join(p.roles),
                     p.last_training.isoformat() if p.last_training else "从未培训", p.days_in_year, r.rule,
                     r.due_on.isoformat() if r.due_on else "—", r.status, r.detail])
        if r.status == OVERDUE:
            _styled(ws.cell(row=i, column=9), False, NOT_MET)
    foot = 3 + len(rows) + 1
    ws.cell(row=foot, column=1, value="依据：" + "；".join(RULE_QUOTES[x] for x in rules)).font = BODY_FONT
    if rows:
        ws.auto_filter.ref = f"A2:J{2 + len(rows)}"


def write_training_due(rows: list[DueRow], path: str | Path, title: str, rules: tuple[str, ...]) -> Path:
    """The training due list on its own (``taizhang training due -o``)."""
    wb = Workbook()
    wb.active.title = "培训到期"
    _training_sheet(wb.active, rows, title, rules)
    return _save(wb, Path(path))


def _save(wb: Workbook, path: Path) -> Path:
    """Write atomically (temp file + rename): a crash never leaves half a file."""
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




def write_volunteer_hours(title: str, per_volunteer, per_team, total, rows, path: str | Path) -> Path:
    """``taizhang volunteers hours -o``: totals per volunteer and team, and every record (补录 marked)."""
    from reports.volunteers import NOT_A_CERTIFICATE

    wb = Workbook()
    ws = wb.active
    ws.title = "志愿者时长合计"
    _title(ws, f"{title}（台账合计，不是志愿服务记录证明）", 5)
    _header(ws, 2, ["志愿者", "服务时长（小时）", "服务记录（条）", "其中补录（条）"], [16, 16, 14, 14])
    for i, t in enumerate(per_volunteer + [total], 3):
        _row(ws, i, [t.name, round(t.hours, 2), t.records, t.late])
    ws.cell(row=4 + len(per_volunteer) + 1, column=1, value=NOT_A_CERTIFICATE).font = BODY_FONT
    ws = wb.create_sheet("志愿服务队合计")
    _title(ws, f"{title} 各志愿服务队（台账合计）", 5)
    _header(ws, 2, ["志愿服务队", "志愿者（人）", "服务时长（小时）", "服务记录（条）", "其中补录（条）"], [24, 12, 16, 14, 14])
    for i, t in enumerate(per_team + [total], 3):
        _row(ws, i, [t.name, len(t.volunteers), round(t.hours, 2), t.records, t.late])
    ws.cell(row=4 + len(per_team) + 1, column=1, value=NOT_A_CERTIFICATE).font = BODY_FONT
    ws = wb.create_sheet("服务记录明细")
    _title(ws, f"{title} 服务记录明细", 8)
    _header(ws, 2, ["日期", "志愿者", "志愿服务队", "活动", "小时", "登记日期", "补录说明"], [12, 12, 20, 24, 8, 12, 50])
    for i, r in enumerate(rows, 3):
        _row(ws, i, [r.hours["date"].isoformat(), r.volunteer["name"], r.team["name"] or "", r.hours["activity"],
                     r.hours["hours"], r.entered_on.isoformat(), r.late_text])
        if r.late:
            _styled(ws.cell(row=i, column=7), True, CANNOT)
    return _save(wb, Path(path))


def write_table(sheet: str, headers: list[str], rows: list[list], path: str | Path, widths: list[int] | None = None,
                note: str = "") -> Path:
    """A plain one-sheet table with the report's header style (the national-system export)."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    _header(ws, 1, headers, widths or [16] * len(headers))
    for i, values in enumerate(rows, 2):
        _row(ws, i, values)
    if note:
        ws.cell(row=len(rows) + 3, column=1, value=note).font = BODY_FONT
    ws.freeze_panes = "A2"
    return _save(wb, Path(path))


__all__ = ["write_report", "write_training_due", "write_volunteer_hours", "write_table"]
