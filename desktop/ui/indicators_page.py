"""指标 — the plans' main indicators (专栏1), 达标 checks and data-quality findings.

The numbers come from ``reports.report.build_report`` (Qt-free, the same code the CLIs and the
county server use), computed in a read job off the UI thread.  Status is always shown as colour
AND a text mark (✓ 达标 / ✗ 未达标 / 无法计算 / 无目标值 / 不适用), never colour alone.  Clicking
a number opens the records behind it (PII masked).  The tables' models and cells are in
indicator_tables.py, the bar chart in indicator_chart.py, the dialogs in indicator_dialogs.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QFileDialog,
                               QInputDialog, QLabel, QMessageBox, QPushButton, QScrollArea, QSpinBox, QSplitter,
                               QTableView, QTableWidget, QTabWidget, QVBoxLayout, QWidget)

from desktop.ui.context import AppContext
from desktop.ui.flow_layout import FlowLayout, compact_combo, fit_combo_popup, labelled
from desktop.ui.indicator_chart import BarChart
from desktop.ui.indicator_dialogs import ProfileEditor, RecordsDialog
from desktop.ui.indicator_tables import (COLORS, DRILL_COLUMNS, MATRIX_MARK, SUMMARY_COLUMNS, Cell, RowsModel, RowsProxy,
                                         SortItem, number_text, status_item)
from desktop.ui.jobs import describe_error, op
from desktop.ui.printing import PaperJob, paper_menu_button
from desktop.ui.table_fit import keep_fitted
from reports.indicators import CANNOT, INDICATORS, MET, NOT_APPLICABLE, NOT_MET, IndicatorResult
from reports.profiles import Profile, ProfileError, all_profiles, export_profile, import_profile, save_custom_profile
from storage import reading
from storage.orgcode import LEVEL_LABELS
from storage.validation import display_text

log = logging.getLogger("taizhang.desktop.indicators")


def village_summary(report) -> str:
    """One village's own page in plain words: its standards checks first (the counts agree with the
    达标检查 tab), what it lacks, then which indicators only a township or county can have."""
    s = report.scope
    checks = report.standards
    met = sum(c.status == MET for c in checks)
    failing = [c for c in checks if c.status == NOT_MET]
    cannot = sum(c.status == CANNOT for c in checks)
    text = f"{s.name} {s.year}年本村达标检查：✓ 达标 {met} 项，✗ 未达标 {len(failing)} 项"
    text += f"，无法判断 {cannot} 项（缺少数据）。" if cannot else "。"
    if failing:
        lacks = "；".join(f"{c.check}（{c.gap}）" if c.gap else c.check for c in failing[:3])
        more = f"等 {len(failing)} 项" if len(failing) > 3 else ""
        text += f"还缺：{lacks}{more}。"
    skipped = [r.definition.id for r in report.indicators if r.status == NOT_APPLICABLE]
    if skipped:
        text += (f"“指标”页略去了 {len(skipped)} 项（{'、'.join(skipped)}）：它们只对城市社区或乡镇、县统计，"
                 "本村不适用。")
    if report.quality:
        text += f"数据质量问题 {len(report.quality)} 条。"
    return text


class IndicatorsPage(QWidget):
    def __init__(self, ctx: AppContext):
        super().__init__()
        self.ctx = ctx
        self.report = None
        self.handle = None
        self.setObjectName("indicatorsPage")
        layout = QVBoxLayout(self)
        title = QLabel("指标与达标检查")
        title.setObjectName("pageTitle")
        layout.addWidget(title)

        # One toolbar that wraps onto a second row when the window is narrow (large-font mode on a
        # 1366×768 screen); each label stays with its input.
        bar = FlowLayout()
        self.org_combo = QComboBox()
        self.org_combo.setObjectName("org")
        compact_combo(self.org_combo, 8)  # a long village name must not widen the page
        bar.addWidget(labelled("单位(&U)：", self.org_combo))
        self.year_spin = QSpinBox()
        self.year_spin.setObjectName("year")
        self.year_spin.setRange(2000, 2100)
        self.year_spin.setValue(dt.date.today().year)
        bar.addWidget(labelled("年度(&Y)：", self.year_spin))
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("profile")
        compact_combo(self.profile_combo, 4)
        bar.addWidget(labelled("指标方案(&P)：", self.profile_combo))
        self.compute_button = QPushButton("计算(&C)")
        self.compute_button.setToolTip("按所选单位、年度和方案计算指标（Alt+C）")
        self.export_button = QPushButton("导出Excel(&E)…")
        self.export_button.setToolTip("把计算结果导出为 Excel 达标报告（Alt+E）")
        self.profile_button = QPushButton("方案管理(&M)…")
        self.profile_button.setToolTip("新建、导入或导出指标方案（Alt+M）")
        for b in (self.compute_button, self.export_button, self.profile_button):
            bar.addWidget(b)
        bar.addWidget(paper_menu_button(self, self.paper_job))  # the 达标 report on paper / as PDF
        layout.addLayout(bar)
        self.status = QLabel("选择单位、年度和指标方案后点“计算”。")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)
        # 指标: summary table + chart of the selected indicator
        split = QSplitter(Qt.Orientation.Vertical)
        self.summary = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.summary.setHorizontalHeaderLabels(SUMMARY_COLUMNS)
        self._table_setup(self.summary)
        self.summary_fit = keep_fitted(self.summary, stretch=1)
        split.addWidget(self.summary)
        self.chart = BarChart()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.chart)
        split.addWidget(scroll)
        self.chart_area = scroll
        split.setSizes([330, 300])
        self.tabs.addTab(split, "指标")
        self.units_model = RowsModel([])
        self.units = self._view(self.units_model)
        # 14 indicators beside the names do not fit a small screen: the last ones are hidden, and said so
        self.units_note = QLabel("")
        self.units_note.setObjectName("unitsNote")
        self.units_note.setWordWrap(True)
        self.units_note.setVisible(False)
        units_box = QWidget()
        units_layout = QVBoxLayout(units_box)
        units_layout.setContentsMargins(0, 0, 0, 0)
        units_layout.addWidget(self.units, 1)
        units_layout.addWidget(self.units_note)
        keep_fitted(self.units, stretch=0, optional=len(INDICATORS), elide=False, on_hidden=self._units_hidden)
        self.tabs.addTab(units_box, "各村(社区)")
        self.standards_model = RowsModel(["村(社区)", "检查项", "标准", "本单位数值", "状态", "差距"])
        self.standards = self._view(self.standards_model)
        keep_fitted(self.standards, stretch=2)  # 标准 (the rule's text) takes what is left
        standards_box = QWidget()
        box_layout = QVBoxLayout(standards_box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        self.only_failing = QCheckBox("只显示未达标和无法计算的检查项")
        self.only_failing.toggled.connect(self._filter_standards)
        box_layout.addWidget(self.only_failing)
        box_layout.addWidget(self.standards)
        self.tabs.addTab(standards_box, "达标检查")
        self.quality = QTableWidget(0, 4)
        self.quality.setHorizontalHeaderLabels(["级别", "村(社区)", "问题", "说明"])
        self._table_setup(self.quality)
        self.quality_fit = keep_fitted(self.quality, stretch=3)
        self.tabs.addTab(self.quality, "数据质量")

        self.compute_button.clicked.connect(self.compute)
        self.export_button.clicked.connect(self.export)
        self.profile_button.clicked.connect(self.manage_profiles)
        self.summary.cellClicked.connect(self._summary_clicked)
        self.summary.currentCellChanged.connect(lambda row, *_: self._show_chart(row))
        self.units.clicked.connect(lambda index: self._unit_clicked(index.row(), index.column()))
        self.quality.cellDoubleClicked.connect(self._finding_clicked)
        # the same drill-downs from the keyboard: Enter on the current cell
        self._enter_opens = {
            self.summary: lambda: self._summary_clicked(self.summary.currentRow(), self.summary.currentColumn()),
            self.units: lambda: self._unit_clicked(self.units.currentIndex().row(), self.units.currentIndex().column()),
            self.quality: lambda: self._finding_clicked(self.quality.currentRow(), self.quality.currentColumn()),
        }
        for table in self._enter_opens:
            table.installEventFilter(self)
        self.chart.bar_clicked.connect(self._bar_clicked)
        self.ctx.records_changed.connect(lambda _t: self._mark_stale())
        self.ctx.identity_changed.connect(self.reload_choices)
        self.export_button.setEnabled(False)
        self.reload_choices()

    # ---------------------------------------------------------------- setup

    def _view(self, model: RowsModel) -> QTableView:
        proxy = RowsProxy(self)
        proxy.setSourceModel(model)
        view = QTableView()
        view.setModel(proxy)
        view.setSortingEnabled(True)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setTabKeyNavigation(False)  # Tab leaves the table (arrows move inside it)
        view.verticalHeader().setVisible(False)
        view.setWordWrap(False)
        view.horizontalHeader().setDefaultSectionSize(110)
        return view

    @staticmethod
    def _load(view: QTableView, rows, payload, headers=None, header_tips=None) -> None:
        """Show rows already in division-code order without a sort pass (5,600 rows: a proxy sort
        calls the Python model ~140,000 times); clicking a header still sorts."""
        proxy = view.model()
        proxy.sort(-1)
        proxy.sourceModel().set_rows(rows, payload, headers, header_tips)
        header = view.horizontalHeader()
        header.blockSignals(True)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.blockSignals(False)

    @staticmethod
    def _table_setup(table: QTableWidget) -> None:
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        table.setTabKeyNavigation(False)  # Tab leaves the table (arrows move inside it)
        table.verticalHeader().setVisible(False)
        table.setWordWrap(True)

    def reload_choices(self, select_profile: str | None = None):
        """Units of this PC's scope (its own unit first), profiles, and the latest year with base data,
        read in a read job; 计算 waits for them."""
        from storage.orgcode import OrgCode, Scope

        repo, own = self.ctx.repo, self.ctx.org_code
        scope = OrgCode(own).scope if own else Scope.everything()

        def read(job):
            return (reading.units_in_scope(repo.engine, scope),
                    reading.latest_base_year(repo.engine, dt.date.today().year), all_profiles(repo))

        self.compute_button.setEnabled(False)
        self.choices_handle = op(read).success(lambda got: self._show_choices(own, *got, select_profile)) \
            .run_in_background(self)
        return self.choices_handle

    def _show_choices(self, own: str | None, units: list[dict], latest: int | None, profiles,
                      select_profile: str | None) -> None:
        level_rank = {label: i for i, label in enumerate(LEVEL_LABELS.values())}
        units = sorted(units, key=lambda u: (u["org_code"] != own, level_rank.get(u["level"], 3), u["org_code"]))
        self.org_combo.clear()
        for u in units:
            self.org_combo.addItem(f"{u['name']}（{u['level']}）", u["org_code"])
        if latest:
            self.year_spin.setValue(int(latest))
        current = select_profile or self.profile_combo.currentText()
        self.profile_combo.clear()
        self.profiles = {p.name: p for p in profiles}
        for p in self.profiles.values():
            self.profile_combo.addItem(p.name if p.builtin else f"{p.name}", p.name)
            self.profile_combo.setItemData(self.profile_combo.count() - 1, p.source, Qt.ItemDataRole.ToolTipRole)
        if current in self.profiles:
            self.profile_combo.setCurrentText(current)
        fit_combo_popup(self.org_combo)
        fit_combo_popup(self.profile_combo)
        if not units:
            self.status.setText("还没有组织机构数据。请先完成首次设置或导入数据后再计算指标。")
            self.compute_button.setEnabled(False)
        else:
            self.compute_button.setEnabled(True)
            if self.isVisible() and self.report is None and self.handle is None:
                self.compute()  # the page was opened before its choices arrived (see showEvent)

    def showEvent(self, event) -> None:
        """The first time the page is opened, compute with the defaults (users expect figures, not a form)."""
        super().showEvent(event)
        if self.report is None and self.handle is None and self.compute_button.isEnabled():
            self.compute()

    def _mark_stale(self) -> None:
        if self.report is not None:
            self.status.setText(self.status.text().split("（数据已变化")[0] + "（数据已变化，请重新计算）")

    # ---------------------------------------------------------------- compute

    def selected_profile(self) -> Profile:
        return self.profiles[self.profile_combo.currentData()]

    def compute(self):
        from reports.report import build_report

        code = self.org_combo.currentData()
        if not code:
            return None
        year, profile, engine = self.year_spin.value(), self.selected_profile(), self.ctx.repo.engine
        self.status.setText("正在计算…")
        self.compute_button.setEnabled(False)

        def work(job):
            job.progress(0, 0, "正在汇总各村(社区)数据")
            return build_report(engine, code, year, profile)

        def failed(exc):
            from reports.facts import ScopeError

            self.compute_button.setEnabled(True)
            message = str(exc) if isinstance(exc, (ScopeError, ProfileError)) else describe_error(exc)
            self.status.setText("计算失败：" + message)

        self.handle = op(work).with_progress("正在计算指标").success(self.show_report).failure(failed) \
            .run_in_background(self)
        return self.handle

    def show_report(self, report) -> None:
        self.report = report
        self.compute_button.setEnabled(True)
        self.export_button.setEnabled(True)
        s = report.scope
        met = sum(r.status == MET for r in report.indicators)
        not_met = sum(r.status == NOT_MET for r in report.indicators)
        cannot = sum(r.status == CANNOT for r in report.indicators)
        one_village = s.level == "village"
        if one_village:
            self.status.setText(village_summary(report))
        else:
            self.status.setText(
                f"{s.name} {s.year}年，方案“{report.profile.name}”：✓ 达标 {met} 项，✗ 未达标 {not_met} 项，"
                f"无法计算 {cannot} 项；数据质量问题 {len(report.quality)} 条。点击分子或数值可查看计入的记录。")
        self._fill_summary(report)
        self._fill_units(report)
        self._fill_standards(report)
        self._fill_quality(report)
        # one village: its own standards checks first; no 各村 tab (one row) and no one-bar chart;
        # indicators only a township or county can have are left out of the table (named in the summary)
        self.tabs.setTabVisible(1, not one_village)
        self.chart_area.setVisible(not one_village)
        for r, res in enumerate(report.indicators):
            self.summary.setRowHidden(r, one_village and res.status == NOT_APPLICABLE)
        if one_village and self.tabs.currentIndex() in (0, 1):
            self.tabs.setCurrentIndex(2)
        first = next((r for r in range(self.summary.rowCount()) if not self.summary.isRowHidden(r)), 0)
        self.summary.setCurrentCell(first, 4)
        self._show_chart(first)

    def _fill_summary(self, report) -> None:
        t = self.summary
        t.setRowCount(len(report.indicators))
        for r, res in enumerate(report.indicators):
            d = res.definition
            t.setItem(r, 0, SortItem(d.id))
            name = SortItem(d.name)
            name.setToolTip(f"{d.numerator_label} ÷ {d.denominator_label}\n方案原文：{res.target.quote}")
            t.setItem(r, 1, name)
            num = SortItem(number_text(res.numerator), res.numerator)
            num.setToolTip(f"{d.numerator_label}（点击查看计入的记录）")
            t.setItem(r, 2, num)
            den = SortItem(number_text(res.denominator), res.denominator)
            den.setToolTip(d.denominator_label)
            t.setItem(r, 3, den)
            value = SortItem(res.value_text, res.value)
            t.setItem(r, 4, value)
            t.setItem(r, 5, SortItem(res.target.describe()))
            t.setItem(r, 6, status_item(res.mark, res.status))
            t.setItem(r, 7, SortItem(res.explain()))
            if res.drill is not None:
                for c in DRILL_COLUMNS:
                    t.item(r, c).setForeground(QBrush(QColor("#0B57D0")))
        self.summary_fit.fit()

    def _fill_units(self, report) -> None:
        units = report.townships + report.villages
        headers = ["名称", "层级", "城乡分类"] + [d.id for d in INDICATORS]
        tips = ["", "", ""] + [f"{d.id} {d.name}" for d in INDICATORS]
        rows = []
        for unit in units:
            row = [Cell(unit.name, unit.org_code), Cell(LEVEL_LABELS[unit.level]),
                   Cell(unit.urban_rural or "")]
            for d in INDICATORS:
                res = unit.results[d.id]
                text = f"{res.value_text if res.value is not None else ''} {MATRIX_MARK[res.status]}".strip() or "—"
                # no value sorts below every number (float keys only in this column: Qt compares them natively)
                row.append(Cell(text, res.value if res.value is not None else float("-inf"), res.status,
                                f"{res.mark}：{res.explain()}"))
            rows.append(row)
        order = sorted(range(len(units)), key=lambda i: units[i].org_code)
        self._load(self.units, [rows[i] for i in order], [units[i] for i in order], headers, tips)
        self.tabs.setTabText(1, f"各村(社区)（{len(report.villages)}）" if report.villages else "各村(社区)")

    def _fill_standards(self, report) -> None:
        rows = [[Cell(c.org_name, c.org_code), Cell(c.check), Cell(c.rule, tip=c.source), Cell(c.figure),
                 Cell(c.mark, status=c.status), Cell(c.gap, tip=c.gap)] for c in report.standards]
        self._load(self.standards, rows, report.standards)  # already in division-code order
        self._filter_standards()
        failing = sum(c.status == NOT_MET for c in report.standards)
        self.tabs.setTabText(2, f"达标检查（未达标 {failing}）")

    def _units_hidden(self, headers: list[str]) -> None:
        self.units_note.setText(f"屏幕较窄，{'、'.join(headers)} 没有显示：在“指标”页或导出的 Excel 中可以看到。"
                                if headers else "")
        self.units_note.setVisible(bool(headers))

    def _filter_standards(self) -> None:
        only = (NOT_MET, CANNOT) if self.only_failing.isChecked() else ()
        self.standards.model().set_only(only, 4)

    def _fill_quality(self, report) -> None:
        t = self.quality
        t.setRowCount(max(1, len(report.quality)))
        if not report.quality:
            for c, v in enumerate(["", "", "未发现问题", "各项基础数据齐全，未发现明显错误"]):
                t.setItem(0, c, SortItem(v))
        for r, f in enumerate(report.quality):
            sev = SortItem(f.severity)
            sev.setBackground(QBrush(QColor(COLORS[NOT_MET] if f.severity == "错误" else COLORS[CANNOT])))
            t.setItem(r, 0, sev)
            t.setItem(r, 1, SortItem(f.org_name))
            t.setItem(r, 2, SortItem(f.check))
            msg = SortItem(f.message)
            msg.setToolTip("双击查看相关记录")
            t.setItem(r, 3, msg)
        self.quality_fit.fit()
        self.tabs.setTabText(3, f"数据质量（{len(report.quality)}）")

    # ---------------------------------------------------------------- chart

    def _chart_rows(self, iid: str) -> list[tuple[str, IndicatorResult]]:
        if self.report.villages:
            return [(u.name, u.results[iid]) for u in self.report.villages]
        return [(self.report.scope.name, r) for r in self.report.indicators if r.indicator_id == iid]

    def _show_chart(self, row: int) -> None:
        if self.report is None or not 0 <= row < len(self.report.indicators):
            return
        res = self.report.indicators[row]
        d = res.definition
        self._chart_iid = d.id
        self._chart_results = self._chart_rows(d.id)
        bars = [(name, r.value, r.status, r.value_text) for name, r in self._chart_results]
        who = "各村(社区)" if self.report.villages else self.report.scope.name
        self.chart.set_data(f"{d.id} {d.name}（{who}；虚线为目标值 {res.target.describe()}）", d.unit,
                            res.target, bars)

    def _bar_clicked(self, index: int) -> None:
        if self.report is not None and 0 <= index < len(self._chart_results):
            name, res = self._chart_results[index]
            self.open_drill(res, name)

    # ---------------------------------------------------------------- drill-down

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's naming
        if (event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and watched in getattr(self, "_enter_opens", {})):
            self._enter_opens[watched]()
            return True
        return super().eventFilter(watched, event)

    def _summary_clicked(self, row: int, column: int) -> None:
        self._show_chart(row)
        if column in DRILL_COLUMNS and self.report is not None:
            self.open_drill(self.report.indicators[row], self.report.scope.name)

    def _unit_clicked(self, row: int, column: int) -> None:
        if column < 3 or self.report is None:
            return
        unit = self.units.model().source_payload(row)
        self.open_drill(unit.results[INDICATORS[column - 3].id], unit.name)

    def open_drill(self, res: IndicatorResult, where: str):
        """Fetch the records behind a result in a read job and show them in a dialog."""
        from reports.drilldown import drill_rows

        if res.drill is None:
            QMessageBox.information(self, "查看记录", f"{res.name}（{where}）：{res.explain() or '没有计入的记录'}")
            return None
        engine, names = self.ctx.repo.engine, self.report.names

        def work(job):
            return drill_rows(engine, res, names)

        def show(result):
            noun, headers, rows = result
            self.drill_dialog = RecordsDialog(f"{res.indicator_id} {res.name} — {where}：计入的{noun}",
                                              headers, rows, self)
            self.drill_dialog.show()

        return op(work).success(show).run_in_background(self)

    def _finding_clicked(self, row: int, _column: int) -> None:
        if self.report is None or row >= len(self.report.quality):
            return
        finding = self.report.quality[row]
        engine = self.ctx.repo.engine

        def work(job):
            from storage.schema import record_type

            headers, rows = ["类型", "内容"], []
            for type_name, rec in reading.records_by_id(engine, finding.records):
                rt = record_type(type_name)
                rows.append([rt.label, "；".join(f"{rt.field(c).label}：{display_text(rt.field(c), rec[c])}"
                                                 for c in rt.list_columns if rec[c] is not None)])
            return headers, rows

        def show(result):
            headers, rows = result
            self.drill_dialog = RecordsDialog(f"{finding.org_name}：{finding.check}", headers, rows, self)
            self.drill_dialog.show()

        op(work).success(show).run_in_background(self)

    # ---------------------------------------------------------------- export and profiles

    def export(self, path: str | None = None):
        from reports.excel import write_report

        if self.report is None:
            return None
        s = self.report.scope
        if path is None:
            suggested = str(Path.home() / f"{s.name}{s.year}年达标报告（{self.report.profile.name}）.xlsx")
            path, _ = QFileDialog.getSaveFileName(self, "导出达标报告", suggested, "Excel 工作簿 (*.xlsx)")
            if not path:
                return None
        if not path.lower().endswith(".xlsx"):
            path += ".xlsx"
        report = self.report

        def work(job):
            job.progress(0, 0, "正在写入 Excel")
            return write_report(report, path)

        def done(written):
            self.status.setText(f"已导出：{written}")

        return op(work).with_progress("正在导出达标报告").success(done).run_in_background(self)

    def paper_job(self) -> PaperJob | None:
        """The computed 达标 report as PDF (``reports.paper``): cover, indicators, charts, checks."""
        from reports.paper import write_report_pdf

        report = self.report
        if report is None:
            self.status.setText("请先点“计算”，再打印或导出PDF。")
            return None
        s = report.scope
        return PaperJob("达标报告", f"{s.name}{s.year}年达标报告（{report.profile.name}）.pdf",
                        lambda path, _progress: write_report_pdf(report, path))

    def manage_profiles(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("方案管理")
        box.setText("指标方案是一组目标值。可以在当前方案基础上新建本县方案，或导入、导出方案文件（.json）。")
        new = box.addButton("新建方案…", QMessageBox.ButtonRole.ActionRole)
        imp = box.addButton("导入方案文件…", QMessageBox.ButtonRole.ActionRole)
        exp = box.addButton("导出当前方案…", QMessageBox.ButtonRole.ActionRole)
        box.addButton("关闭", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        clicked = box.clickedButton()
        try:
            if clicked is new:
                self.new_profile()
            elif clicked is imp:
                path, _ = QFileDialog.getOpenFileName(self, "导入指标方案", str(Path.home()), "指标方案 (*.json)")
                if path:
                    self.save_profile(import_profile(path))
            elif clicked is exp:
                p = self.selected_profile()
                path, _ = QFileDialog.getSaveFileName(self, "导出指标方案", str(Path.home() / f"{p.name}.json"),
                                                      "指标方案 (*.json)")
                if path:
                    export_profile(p, path)
                    self.status.setText(f"方案“{p.name}”已导出：{path}")
        except (ProfileError, OSError) as exc:
            QMessageBox.warning(self, "方案管理", str(exc))

    def new_profile(self) -> None:
        editor = ProfileEditor(self.selected_profile(), self)
        if editor.exec() != QDialog.DialogCode.Accepted:
            return
        name, ok = QInputDialog.getText(self, "新建指标方案", "方案名称（例如：本县2025年方案）：")
        if ok and name.strip():
            self.save_profile(editor.profile(name.strip()))

    def save_profile(self, profile: Profile) -> None:
        save_custom_profile(self.ctx.repo, profile)  # one small settings row (documented UI-thread exception)
        self.reload_choices(select_profile=profile.name)
        self.status.setText(f"方案“{profile.name}”已保存，可在“指标方案”中选择。")


def create_page(ctx: AppContext) -> QWidget:
    return IndicatorsPage(ctx)
