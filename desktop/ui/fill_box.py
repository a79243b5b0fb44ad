"""导入导出 → 报表（一表通）: the department reports this unit owes, filled from its ledger.

Lists the templates (shipped examples and the county's published ones, which arrive by sync),
says which are due this month, fills one for a period into the department's own layout
(reports.fill, in a read job), and lists every filled cell: double-click one (or Enter) to see
the records behind it (reports.drilldown's lists, PII masked).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QTableWidgetItem, QVBoxLayout)

from desktop.ui.flow_layout import labelled
from desktop.ui.jobs import describe_error, op
from desktop.ui.read_only_table import read_only_table

HEADERS = ["单元格", "统计项", "筛选", "单位", "数值"]


class FillBox(QGroupBox):
    def __init__(self, ctx, parent=None):
        super().__init__("报表（一表通：部门报表从台账自动生成）", parent)
        self.ctx = ctx
        self.entries = []
        self.result = None
        self._loading = False
        self.setObjectName("fill_box")
        layout = QVBoxLayout(self)
        self.due = QLabel("正在读取报表模板…")
        self.due.setObjectName("fill_due")
        self.due.setWordWrap(True)
        layout.addWidget(self.due)
        row = QHBoxLayout()
        self.templates = QComboBox()
        self.templates.setObjectName("fill_template")
        self.templates.currentIndexChanged.connect(self._template_changed)
        row.addWidget(labelled("报表(&B)：", self.templates), 2)
        self.period = QLineEdit()
        self.period.setObjectName("fill_period")
        self.period.setPlaceholderText("2024-05、2024-Q3 或 2024")
        row.addWidget(labelled("统计期间(&P)：", self.period), 1)
        self.fill_button = QPushButton("生成报表(&G)…")
        self.fill_button.setObjectName("fill_button")
        self.fill_button.setToolTip("按部门原有格式生成报表：数字全部取自本单位台账（Alt+G）")
        self.fill_button.clicked.connect(self.choose_output)
        row.addWidget(self.fill_button)
        layout.addLayout(row)
        self.cells = read_only_table(HEADERS, name="fill_cells")
        self.cells.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.cells.setToolTip("双击（或回车）查看某个数字背后的记录")
        self.cells.cellDoubleClicked.connect(lambda r, _c: self.drill(r))
        self.cells.setMinimumHeight(self.cells.fontMetrics().lineSpacing() * 8)
        layout.addWidget(self.cells)
        self.status = QLabel("")
        self.status.setObjectName("fill_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.fill_button.setEnabled(False)

    @property
    def org_code(self) -> str | None:
        ident = self.ctx.identity
        return ident.org_code if ident else None

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        super().showEvent(event)
        if not self._loading:  # templates published by the county arrive with any sync: read them again
            self.load()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.cells.hasFocus():
            self.drill(self.cells.currentRow())
            return
        super().keyPressEvent(event)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b03a2e;" if error else "")
        self.status.setText(text)

    # ------------------------------------------------------------------ templates and what is due

    def load(self, today: dt.date | None = None):
        engine = self.ctx.repo.engine
        today = today or dt.date.today()

        def work(_job):
            from reports.fill.library import all_templates

            return all_templates(engine)

        def done(entries):
            from reports.fill.fill import period_for_month

            self._loading = False
            current = self.templates.currentText()
            self.entries = entries
            self.templates.blockSignals(True)
            self.templates.clear()
            due = []
            for e in entries:
                self.templates.addItem(f"{e.name}（{e.template.period_label}，{e.origin}）")
                period = period_for_month(e.template.period_kind, today.year, today.month)
                if period:
                    due.append(f"《{e.name}》{period.text}")
            self.due.setText(("本月应报：" + "；".join(due) + "。数字已可从本单位台账生成，只需先在“月报与同步”中确认台账。")
                             if due else "本月没有应报的报表。")
            self.templates.blockSignals(False)
            keep = self.templates.findText(current)
            self.templates.setCurrentIndex(max(keep, 0))
            if keep < 0:
                self._template_changed(self.templates.currentIndex())
            self.fill_button.setEnabled(bool(entries) and self.org_code is not None)

        def failed(exc):
            self._loading = False
            self._say(describe_error(exc), True)

        self._loading = True
        return op(work).success(done).failure(failed).run_in_background(self)

    def _template_changed(self, index: int) -> None:
        if not 0 <= index < len(self.entries):
            return
        from reports.fill.fill import latest_period

        self.period.setText(latest_period(self.entries[index].template.period_kind, dt.date.today()).code)

    # ------------------------------------------------------------------ filling

    def choose_output(self) -> None:
        entry = self.entries[self.templates.currentIndex()]
        name = f"{entry.name}_{self.period.text().strip()}.xlsx"
        path, _ = QFileDialog.getSaveFileName(self, "保存报表", str(Path.home() / name), "Excel 工作簿 (*.xlsx)")
        if path:
            self.fill_to(Path(path))

    def fill_to(self, path: Path):
        entry = self.entries[self.templates.currentIndex()]
        engine, org, period = self.ctx.repo.engine, self.org_code, self.period.text().strip()
        if not str(path).lower().endswith(".xlsx"):
            path = path.with_suffix(".xlsx")

        def work(job):
            from reports.fill.fill import fill_template

            job.progress(0, 0, "正在从台账统计…")
            result = fill_template(engine, entry.template, org, period)
            result.save(path)
            return result

        def done(result):
            self.fill_button.setEnabled(True)
            self.result = result
            numbers = [c for c in result.cells if c.mapping.measure.is_number]
            self.cells.setRowCount(len(numbers))
            for r, cell in enumerate(numbers):
                value = "—" if cell.value is None else str(cell.value)
                for c, text in enumerate((f"{cell.sheet}!{cell.coordinate}", cell.mapping.measure.name,
                                          cell.mapping.filters_text, cell.unit.name, value)):
                    self.cells.setItem(r, c, QTableWidgetItem(text))
            self._say(f"已生成《{entry.name}》{result.period.text}：{len(numbers)} 个数字，保存在 {path}。"
                      "双击下表中的一行可查看该数字背后的记录")

        def failed(exc):
            self.fill_button.setEnabled(True)
            self._say(describe_error(exc), error=True)

        self.fill_button.setEnabled(False)
        self._say("正在生成报表…")
        return op(work).with_progress("正在生成报表").success(done).failure(failed).run_in_background(self)

    def drill(self, row: int):
        if self.result is None or row < 0:
            return None
        numbers = [c for c in self.result.cells if c.mapping.measure.is_number]
        cell = numbers[row]
        engine = self.ctx.repo.engine

        def work(_job):
            from reports.fill.fill import cell_records

            return cell_records(engine, cell)

        def done(answer):
            from desktop.ui.indicator_dialogs import RecordsDialog

            label, headers, rows = answer
            if not headers:
                self._say(f"{cell.coordinate}：{cell.mapping.measure.name}不是从记录统计的数字")
                return
            self.dialog = RecordsDialog(f"{cell.coordinate} {cell.mapping.measure.name}（{cell.unit.name}）"
                                        f"{'：' + cell.mapping.filters_text if cell.mapping.filters_text else ''}",
                                        headers, rows, self)
            self.dialog.show()

        return op(work).success(done).failure(lambda exc: self._say(describe_error(exc), True)).run_in_background(self)
