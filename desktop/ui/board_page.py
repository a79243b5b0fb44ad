"""汇总看板 — the completeness board for a township or county PC (reports.completeness).

Villages × months, each cell 按时提交 / 逾期提交 / 未提交 / 逾期未提交 / 已退回 in colour (the
returned reason as tooltip); below, the reporting rate and on-time rate per township and for the
county for the chosen month; 导出Excel writes the same board as a workbook.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QLabel, QPushButton, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from desktop.ui.context import AppContext
from desktop.ui.flow_layout import FlowLayout, labelled
from desktop.ui.jobs import op
from desktop.ui.read_only_table import read_only_table
from desktop.ui.table_fit import keep_fitted
from desktop.ui.review_page import role_of
from reports import completeness as C
from storage import periods as P

CELL_COLORS = {C.ON_TIME: "#C6EFCE", C.LATE: "#FFEB9C", C.NOT_YET: "#FFFFFF", C.OVERDUE: "#FFC7CE",
               C.RETURNED: "#F4B183"}


class BoardPage(QWidget):
    def __init__(self, ctx: AppContext, scope_code: str):
        super().__init__()
        self.ctx, self.scope_code = ctx, scope_code
        self.setObjectName("boardPage")
        self.board: C.Board | None = None
        layout = QVBoxLayout(self)
        title = QLabel("汇总看板：月报报送情况")
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        bar = FlowLayout()  # wraps onto a second row on a small screen in large-font mode
        self.months_box = QComboBox()
        self.months_box.setObjectName("months")
        for n in (3, 6, 12):
            self.months_box.addItem(f"{n}个月", n)
        self.months_box.setCurrentIndex(1)
        self.months_box.currentIndexChanged.connect(lambda _i: self.reload())
        bar.addWidget(labelled("显示最近(&M)", self.months_box))
        self.export_btn = QPushButton("导出Excel(&X)…")
        self.export_btn.setObjectName("export")
        self.export_btn.setToolTip("把报送情况导出为 Excel 工作簿（Alt+X）")
        self.export_btn.clicked.connect(self.choose_export_path)
        bar.addWidget(self.export_btn)
        refresh = QPushButton("刷新(&S)")
        refresh.setToolTip("重新读取各村(社区)的报送情况（Alt+S）")
        refresh.clicked.connect(self.reload)
        bar.addWidget(refresh)
        self.legend = QLabel("图例：" + "  ".join(f"<span style='background:{c}'>&nbsp;{k}&nbsp;</span>"
                                               for k, c in CELL_COLORS.items()))
        self.legend.setWordWrap(True)  # its own line, full width: wraps only on a narrow window
        layout.addLayout(bar)
        layout.addWidget(self.legend)
        self.table = read_only_table([], name="board", rows=False)  # a grid: each cell is a month's state
        self.table_fit = keep_fitted(self.table, stretch=1)  # 村(社区) names give way to the months
        layout.addWidget(self.table, 3)
        self.rates_title = QLabel("")
        layout.addWidget(self.rates_title)
        self.rates = read_only_table(["单位", "村(社区)数", "已报送", "按时报送", "报送率", "按时报送率"], name="rates")
        self.rates_fit = keep_fitted(self.rates, stretch=0)
        layout.addWidget(self.rates, 1)
        self.message = QLabel("")
        self.message.setObjectName("message")
        layout.addWidget(self.message)
        ctx.records_changed.connect(lambda name: self.reload() if name in ("period", "org_unit") else None)
        self.reload()

    def periods(self) -> list[str]:
        return list(reversed(P.recent_periods(self.months_box.currentData())))

    def reload(self):
        """Build the board in a read job; it shows when it arrives (the latest choice of months wins)."""
        repo, scope_code, periods = self.ctx.repo, self.scope_code, self.periods()
        self.reload_handle = (op(lambda job: C.build_board(repo, scope_code, periods))
                              .success(lambda board: self.show_board(board) if periods == self.periods() else None)
                              .run_in_background(self))
        return self.reload_handle

    def show_board(self, board: C.Board) -> None:
        self.board = board
        headers = ["乡镇/街道", "村(社区)"] + [P.period_label(p) for p in board.periods]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(board.rows))
        for i, row in enumerate(board.rows):
            self.table.setItem(i, 0, QTableWidgetItem(row.township_name))
            self.table.setItem(i, 1, QTableWidgetItem(row.name))
            for j, p in enumerate(board.periods):
                cell = row.cells[p]
                item = QTableWidgetItem(cell.text)
                item.setBackground(QBrush(QColor(CELL_COLORS[cell.kind])))
                item.setForeground(QBrush(QColor("#000000")))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                tip = f"状态：{cell.status}"
                if cell.submitted_at:
                    tip += f"\n提交时间：{cell.submitted_at[:16].replace('T', ' ')}"
                if cell.reason:
                    tip += "\n退回原因：" + P.display_reason(cell.reason)
                item.setToolTip(tip)
                self.table.setItem(i, 2 + j, item)
        self.table_fit.fit()
        latest = board.periods[-1]
        self.rates_title.setText(f"{P.period_label(latest)}报送率（截止日：次月{board.deadline_day}日）")
        rows = [(name, rates[latest]) for _code, (name, rates) in sorted(board.townships.items())]
        rows.append((f"{board.scope_name}合计", board.total[latest]))
        self.rates.setRowCount(len(rows))
        for i, (name, r) in enumerate(rows):
            for j, text in enumerate((name, str(r.villages), str(r.reported), str(r.on_time),
                                      C.percent(r.reporting_rate), C.percent(r.on_time_rate))):
                self.rates.setItem(i, j, QTableWidgetItem(text))
        self.rates_fit.fit()

    def choose_export_path(self) -> None:
        default = str(Path.home() / f"月报报送情况-{self.board.periods[-1] if self.board else ''}.xlsx")
        path, _ = QFileDialog.getSaveFileName(self, "导出报送情况", default, "Excel 工作簿 (*.xlsx)")
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path):
        board = self.board

        def done(out: Path) -> None:
            self.message.setText(f"已导出：{out}")

        return (op(lambda job: C.export_xlsx(board, path)).with_progress("正在导出报送情况")
                .success(done).run_in_background(self))


def create_page(ctx: AppContext) -> QWidget | None:
    role = role_of(ctx)
    if role is None:
        return None
    return BoardPage(ctx, ctx.identity.org_code)


__all__ = ["create_page", "BoardPage", "CELL_COLORS"]
