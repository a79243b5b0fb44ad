"""The completeness board (报送情况): who has reported which month, on time or late.

Per village and period one cell — 按时提交 / 逾期提交 / 未提交 / 已退回 — from the
``period`` records (storage.periods) and the due date (the 5th of the next
month, Beijing time, unless the setting ``period_deadline_day`` says another
day).  Per township and for the county: the reporting rate (villages whose
month is submitted, approved or accepted ÷ villages) and the on-time rate
(of all villages, those that submitted by the due date).  A pure function over
a repository: the desktop (township/county mode) and the server call the same
code; ``export_xlsx`` writes the board as an Excel workbook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from storage import periods as P
from storage.orgcode import OrgCode

ON_TIME = "按时提交"
LATE = "逾期提交"
NOT_YET = "未提交"
RETURNED = "已退回"
OVERDUE = "逾期未提交"  # not yet, and the due date has passed
CELL_KINDS = (ON_TIME, LATE, NOT_YET, OVERDUE, RETURNED)
REPORTED = (P.SUBMITTED, P.APPROVED, P.ACCEPTED)


@dataclass
class Cell:
    kind: str  # one of CELL_KINDS
    status: str  # the period's state (未提交/已提交/乡镇已审核/县已接收/已退回)
    submitted_at: str | None = None
    reason: str | None = None

    @property
    def reported(self) -> bool:
        return self.status in REPORTED

    @property
    def on_time(self) -> bool:
        return self.kind == ON_TIME and self.reported

    @property
    def text(self) -> str:
        if self.status in (P.APPROVED, P.ACCEPTED):
            return f"{self.kind}·{self.status}"
        return self.kind


@dataclass
class Rate:
    villages: int = 0
    reported: int = 0
    on_time: int = 0
    returned: int = 0

    @property
    def reporting_rate(self) -> float:
        return self.reported / self.villages if self.villages else 0.0

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.villages if self.villages else 0.0


@dataclass
class VillageRow:
    org_code: str
    name: str
    township_code: str
    township_name: str
    cells: dict[str, Cell] = field(default_factory=dict)  # period -> cell


@dataclass
class Board:
    scope_code: str
    scope_name: str
    periods: list[str]
    rows: list[VillageRow]
    townships: dict[str, tuple[str, dict[str, Rate]]]  # township code -> (name, period -> rate)
    total: dict[str, Rate]  # period -> rate over the whole scope
    as_of: dt.datetime
    deadline_day: int = P.DEFAULT_DEADLINE_DAY  # a month is due by this day of the next month

    def cell(self, org_code: str, period: str) -> Cell:
        for row in self.rows:
            if row.org_code == org_code:
                return row.cells[period]
        raise KeyError(org_code)


def classify(state: P.PeriodState, period: str, now: dt.datetime, deadline_day: int) -> Cell:
    due = P.deadline(period, deadline_day)
    if state.status == P.RETURNED:
        return Cell(RETURNED, state.status, state.submitted_at, state.reason)
    if state.status in REPORTED and state.submitted_at:
        at = dt.datetime.fromisoformat(state.submitted_at)
        at = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
        return Cell(ON_TIME if at <= due else LATE, state.status, state.submitted_at)
    return Cell(OVERDUE if now > due else NOT_YET, state.status)


def build_board(repo, scope_code: str, periods: list[str], *, now: dt.datetime | None = None,
                deadline_day: int | None = None) -> Board:
    """The board for a township or county (or a single village) code over the given months."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if deadline_day is None:
        deadline_day = int(repo.get_setting("period_deadline_day", str(P.DEFAULT_DEADLINE_DAY)))
    scope = OrgCode(scope_code).scope
    units = [u for u in repo.list("org_unit") if scope.contains(u["org_code"])]
    names = {u["org_code"]: u["name"] for u in units}
    villages = sorted((u for u in units if OrgCode(u["org_code"]).level == "village"), key=lambda u: u["org_code"])
    states = P.list_states(repo, [v["org_code"] for v in villages], periods)
    rows: list[VillageRow] = []
    townships: dict[str, tuple[str, dict[str, Rate]]] = {}
    total = {p: Rate() for p in periods}
    for v in villages:
        code = v["org_code"]
        tcode = OrgCode(code).township.code
        row = VillageRow(code, v["name"], tcode, names.get(tcode, tcode))
        tname, trates = townships.setdefault(tcode, (names.get(tcode, tcode), {p: Rate() for p in periods}))
        for p in periods:
            cell = classify(states.get((code, p)) or P.PeriodState(code, p), p, now, deadline_day)
            row.cells[p] = cell
            for rate in (trates[p], total[p]):
                rate.villages += 1
                rate.reported += cell.reported
                rate.on_time += cell.on_time
                rate.returned += cell.kind == RETURNED
        rows.append(row)
    return Board(scope_code, names.get(scope_code, scope_code), list(periods), rows, townships, total, now,
                 deadline_day)


def percent(x: float) -> str:
    return f"{x * 100:.1f}%"


def export_xlsx(board: Board, path: str | Path) -> Path:
    """Write the board as a workbook: 明细 (village × month) and 汇总 (rates per township and county)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    fills = {ON_TIME: "C6EFCE", LATE: "FFEB9C", NOT_YET: "FFFFFF", OVERDUE: "FFC7CE", RETURNED: "F4B183"}
    wb = Workbook()
    ws = wb.active
    ws.title = "明细"
    ws.append([f"{board.scope_name}月报报送情况（截至{board.as_of.astimezone(P.BEIJING):%Y-%m-%d %H:%M}）"])
    ws["A1"].font = Font(bold=True, size=14)
    header = ["乡镇/街道", "村(社区)", "区划代码"] + [P.period_label(p) for p in board.periods]
    ws.append(header)
    for c in ws[2]:
        c.font = Font(bold=True)
    for row in board.rows:
        ws.append([row.township_name, row.name, row.org_code] + [row.cells[p].text for p in board.periods])
        for i, p in enumerate(board.periods):
            cell = ws.cell(row=ws.max_row, column=4 + i)
            cell.fill = PatternFill("solid", fgColor=fills[row.cells[p].kind])
            if row.cells[p].reason:
                from openpyxl.comments import Comment

                cell.comment = Comment(P.display_reason(row.cells[p].reason), "退回原因")
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 22
    ws.column_dimensions["C"].width = 15
    for i in range(len(board.periods)):
        ws.column_dimensions[chr(ord("D") + i) if i < 23 else "Z"].width = 16
    ws.freeze_panes = "D3"

    ws2 = wb.create_sheet("汇总")
    ws2.append(["单位", "月份", "村(社区)数", "已报送", "按时报送", "已退回", "报送率", "按时报送率"])
    for c in ws2[1]:
        c.font = Font(bold=True)
    for tcode, (tname, rates) in sorted(board.townships.items()):
        for p in board.periods:
            r = rates[p]
            ws2.append([tname, P.period_label(p), r.villages, r.reported, r.on_time, r.returned,
                        r.reporting_rate, r.on_time_rate])
    for p in board.periods:
        r = board.total[p]
        ws2.append([f"{board.scope_name}（合计）", P.period_label(p), r.villages, r.reported, r.on_time, r.returned,
                    r.reporting_rate, r.on_time_rate])
        for c in ws2[ws2.max_row]:
            c.font = Font(bold=True)
    for row in ws2.iter_rows(min_row=2, min_col=7, max_col=8):
        for c in row:
            c.number_format = "0.0%"
            c.alignment = Alignment(horizontal="right")
    ws2.column_dimensions["A"].width = 24
    path = Path(path)
    wb.save(path)
    return path
