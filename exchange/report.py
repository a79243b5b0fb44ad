"""Error report: the file a county clerk sends back to the village.

An annotated copy of the submitted workbook — each bad cell filled red with
its Chinese message as a cell comment — plus a first sheet "错误清单" listing
sheet / row / column / value / message.  When the workbook cannot be opened at
all (not an xlsx, truncated) or is too large to annotate in memory, the report
holds the error list only.  ID numbers and phones are masked in the list.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from exchange.importer import ImportResult
from exchange.layout import column_letter

BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
WARN_FILL = PatternFill("solid", fgColor="FFEB9C")
ERROR_SHEET = "错误清单"
MAX_ANNOTATE_BYTES = 1_500_000  # ~30k rows; openpyxl full mode needs ~9 KB per row, larger files get the list only


def report_path(result: ImportResult, report_dir: str | Path) -> Path:
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    return report_dir / f"{result.path.stem}-错误报告.xlsx"


def write_error_report(result: ImportResult, report_dir: str | Path) -> Path:
    out = report_path(result, report_dir)
    wb = None
    annotated = False
    try:
        if result.path.stat().st_size <= MAX_ANNOTATE_BYTES and result.path.suffix.lower() in (".xlsx", ".xlsm"):
            wb = load_workbook(result.path)
            annotated = True
    except Exception:  # noqa: BLE001 - unreadable input: the report is the list alone
        wb = None
    if wb is None:
        wb = Workbook()
        wb.remove(wb.active)
    if annotated:
        _annotate(wb, result)
    _error_sheet(wb, result, annotated)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)
    return out


def _annotate(wb, result: ImportResult) -> None:
    by_cell: dict[tuple[str, str], list] = {}
    for issue in result.issues:
        if issue.sheet in wb.sheetnames and issue.cell:
            by_cell.setdefault((issue.sheet, issue.cell), []).append(issue)
    for (sheet, ref), issues in by_cell.items():
        ws = wb[sheet]
        cell = ws[ref]
        if type(cell).__name__ == "MergedCell":
            continue
        is_error = any(i.severity == "error" for i in issues)
        cell.fill = BAD_FILL if is_error else WARN_FILL
        text = "\n".join(("" if i.severity == "error" else "提示：") + i.message for i in issues)
        cell.comment = Comment(text, "社区服务台账", width=320, height=min(60 + 40 * len(issues), 300))
    # rows whose problem is the whole row (duplicates, record number): mark the first cell
    for issue in result.errors:
        if issue.sheet in wb.sheetnames and issue.row is not None and issue.col is None:
            cell = wb[issue.sheet].cell(row=issue.row, column=1)
            if type(cell).__name__ != "MergedCell":
                cell.fill = BAD_FILL
                old = cell.comment.text + "\n" if cell.comment else ""
                cell.comment = Comment(old + issue.message, "社区服务台账", width=320, height=120)


def _error_sheet(wb, result: ImportResult, annotated: bool) -> None:
    ws = wb.create_sheet(ERROR_SHEET, 0)
    wb.active = 0
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    ws.append([f"导入错误报告：{result.path.name}"])
    ws["A1"].font = Font(size=14, bold=True)
    note = ("红色单元格有错误，鼠标指向可看到批注；请改正后重新报送整个工作簿。" if annotated else
            "原文件无法打开或过大，未能逐格标注；请按下表改正后重新报送。")
    ws.append([f"共 {len(result.errors)} 处错误，整个工作簿未导入。{note}"])
    ws.append(["工作表", "行", "列", "列名", "单元格内容", "问题及改正方法", "类别"])
    for c in ws[3]:
        c.font = Font(bold=True)
    for issue in sorted(result.issues, key=lambda i: (i.severity != "error", i.sheet, i.row or 0, i.col or 0)):
        ws.append([issue.sheet or "（整个工作簿）", issue.row,
                   None if issue.col is None else column_letter(issue.col),
                   issue.column, issue.value, issue.message, "错误" if issue.severity == "error" else "提示"])
    for letter, width in zip("ABCDEFG", (16, 7, 6, 18, 24, 80, 7)):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=4, min_col=6, max_col=6):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
