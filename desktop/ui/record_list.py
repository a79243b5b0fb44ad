"""A record list page: search, filters, sortable lazy table, row count, new/edit/delete/restore.

Keyboard (window-wide, dispatched by the main window to the visible list):
Ctrl+N 新建 · Enter/F2 修改 · Delete 删除 (恢复 in 最近删除) · Ctrl+F 搜索 · F5 刷新 · Ctrl+D 最近删除;
Ctrl+H (or Alt+L) 修改记录 of the selected record; Alt+O 排序 (the same choice as a header click).
A header click re-sorts in a read job (never on the UI thread); the selected record stays selected.

Writes (delete, restore) run as ``write_op`` jobs (the single DB writer thread).  New/edit open the
schema-generated form from ``desktop.forms`` (helper FORMS) non-modally; when it reports ``saved``,
the list reloads through ``ctx.records_changed``.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QDate, QEvent, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDateEdit, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QMessageBox, QPushButton, QTableView, QVBoxLayout, QWidget)

from desktop.ui.context import AppContext
from desktop.ui.flow_layout import FlowLayout, compact_combo, labelled
from desktop.ui.jobs import show_error, write_op
from desktop.ui.overflow_bar import OverflowBar
from desktop.ui.printing import LedgerChoice, LedgerScopeDialog, PaperJob, disclosed, paper_buttons
from desktop.ui.record_model import RecordFilter, RecordTableModel
from desktop.ui.theme import mark_destructive
from storage.schema import record_type

log = logging.getLogger("taizhang.desktop.list")

SEARCH_DELAY_MS = 250

class RecordListPage(QWidget):
    """One list of one record type for this PC's village/community."""

    selection_changed = Signal()

    def __init__(self, ctx: AppContext, type_name: str, title: str | None = None,
                 filters: tuple[str, ...] | None = None):
        super().__init__()
        self.ctx = ctx
        self.rt = record_type(type_name)
        self.setObjectName(f"list_{type_name}")
        self.model = RecordTableModel(ctx.repo.engine, type_name, ctx.org_code, self)
        self.model.rows_in_background = True  # the table's pages are read by read jobs, never here
        self.open_forms: list[QWidget] = []
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.filter_in_background)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 4)
        # title and row count on one line: the toolbars below may wrap (large-font mode, small screens)
        title_row = QHBoxLayout()
        heading = QLabel(title or self.rt.label)
        heading.setObjectName("pageTitle")
        title_row.addWidget(heading)
        title_row.addStretch(1)
        self.count_label = QLabel()
        self.count_label.setObjectName("row_count")
        title_row.addWidget(self.count_label)
        layout.addLayout(title_row)

        # search and filters
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("search")
        self.search.setPlaceholderText(self.rt.search_hint or "搜索")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("搜索")
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self.filter_in_background)
        self.search.installEventFilter(self)  # Esc clears the search
        bar.addWidget(self.search, 3)
        self.filter_combos: dict[str, QComboBox] = {}
        choices = ctx.repo.choices()
        for name in (filters if filters is not None else self.rt.list_filters):
            f = self.rt.field(name)
            combo = QComboBox()
            combo.setObjectName(f"filter_{name}")
            combo.setAccessibleName(f"按{f.label}筛选")
            combo.addItem(f"全部{f.label}", "")
            for item in choices.get(f.choices or "", []):
                combo.addItem(item, item)
            combo.currentIndexChanged.connect(lambda _i: self.filter_in_background())
            compact_combo(combo, 4)  # a long choice must not widen the page past the screen
            bar.addWidget(combo, 1)
            self.filter_combos[name] = combo
        self.date_check = self.date_from = self.date_to = None
        if self.rt.date_field:
            date_label = self.rt.field(self.rt.date_field).label
            self.date_check = QCheckBox(f"{date_label}从")
            self.date_check.setObjectName("date_check")
            today = QDate.currentDate()
            self.date_from = QDateEdit(QDate(today.year(), 1, 1))
            self.date_to = QDateEdit(today)
            for w, name in ((self.date_from, "date_from"), (self.date_to, "date_to")):
                w.setObjectName(name)
                w.setDisplayFormat("yyyy-MM-dd")
                w.setCalendarPopup(True)
                w.setEnabled(False)
                w.dateChanged.connect(lambda _d: self.filter_in_background())
            self.date_check.toggled.connect(self._date_toggled)
        layout.addLayout(bar)

        # actions (and the date range, which needs the room); wraps onto a second row when narrow
        actions = FlowLayout()
        if self.date_check is not None:
            date_range = QWidget()
            date_range.setObjectName("date_range")
            dl = QHBoxLayout(date_range)
            dl.setContentsMargins(0, 0, 16, 0)
            dl.addWidget(self.date_check)
            dl.addWidget(self.date_from)
            dl.addWidget(QLabel("到"))
            dl.addWidget(self.date_to)
            actions.addWidget(date_range)
        self.new_button = QPushButton("新建(&N)")
        self.edit_button = QPushButton("修改(&E)")
        self.delete_button = QPushButton("删除")
        self.restore_button = QPushButton("恢复(&U)")  # not Alt+R: that opens the 记录(&R) menu
        self.deleted_toggle = QPushButton("最近删除(&D)")
        self.deleted_toggle.setCheckable(True)
        self.history_button = QPushButton("修改记录(&L)")  # not H: Alt+H opens the 帮助(&H) menu
        for b, name in ((self.new_button, "new"), (self.edit_button, "edit"), (self.delete_button, "delete"),
                        (self.restore_button, "restore"), (self.history_button, "history"),
                        (self.deleted_toggle, "show_deleted")):
            b.setObjectName(name)
            if b not in (self.history_button, self.deleted_toggle):  # these go under 更多 when the row is full
                actions.addWidget(b)
        self.new_button.setToolTip("新建一条记录（Ctrl+N）")
        self.edit_button.setToolTip("修改选中的记录（Enter 或 F2）")
        self.delete_button.setToolTip("删除选中的记录（Delete）；删除后可在“最近删除”中恢复")
        self.deleted_toggle.setToolTip("显示已删除的记录，可以恢复（Ctrl+D）")
        self.restore_button.setToolTip("恢复选中的记录（Alt+U，或在列表中按 Enter）")
        self.history_button.setToolTip("查看选中记录的修改记录：谁在什么时候把什么改成了什么（Ctrl+H）")
        self.search.setToolTip("输入后自动搜索；Esc 清空搜索（Ctrl+F 回到这里）")
        # an on-screen line under the toolbar: why 新建 is greyed, or how to add the first record
        self.hint = QLabel("", self)  # parented at once: shown while parentless it would open as a window
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color:#555")
        self.hint.setVisible(False)
        if self.rt.parent:
            parent_label = record_type(self.rt.parent).label
            self.new_button.setEnabled(False)
            self.new_button.setToolTip(f"{self.rt.label}在{parent_label}的表单中填写：打开{parent_label}，在表单下方添加")
            self.hint.setText(f"“新建”不可用：{self.rt.label}在{parent_label}的表单里添加——到“{parent_label}”那一页，"
                              f"选中一位{parent_label}，按“修改”，在表单下方点“添加”。"
                              + ("补录以前的也这样添加，日期填实际的那一天。"
                                 if self.rt.date_field else ""))
            self.hint.setVisible(True)
        self.new_button.clicked.connect(self.new_record)
        self.edit_button.clicked.connect(self.edit_record)
        self.delete_button.clicked.connect(self.delete_record)
        self.restore_button.clicked.connect(self.restore_record)
        self.history_button.clicked.connect(self.show_history)
        self.deleted_toggle.toggled.connect(self.set_show_deleted)
        # sorting from the keyboard (a header click is mouse-only): the same choice as a combo box
        self.sort_combo = QComboBox()
        self.sort_combo.setObjectName("sort")
        self.sort_combo.setAccessibleName("排序")
        self.sort_combo.setToolTip("按哪一列排序；也可以点击列标题（Alt+O）")
        for i, col in enumerate(self.model.columns):
            self.sort_combo.addItem(f"{col.header} 升序", 2 * i)  # data: column × 2 (+1 descending)
            self.sort_combo.addItem(f"{col.header} 降序", 2 * i + 1)
        compact_combo(self.sort_combo, 5)
        self.sort_combo.activated.connect(self._sort_chosen)
        actions.addWidget(labelled("排序(&O)：", self.sort_combo))
        # the less used buttons: in large font at 1024×768 the ones that do not fit go under 更多 ▾
        actions.addWidget(OverflowBar([self.history_button, self.deleted_toggle,
                                       *paper_buttons(self, self.paper_job)]))  # 打印预览 · 打印 · 导出PDF
        layout.addLayout(actions)
        layout.addWidget(self.hint)

        self.table = QTableView()
        self.table.setObjectName("table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(False)  # enable after the first load: setSortingEnabled sorts at once
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.horizontalHeader().setSectionsClickable(True)
        self._show_default_sort()
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._sort_changed)
        self._show_sort_choice()
        self.table.verticalHeader().setVisible(False)
        self.table.activated.connect(lambda _i: self.edit_or_restore())
        self.table.setAccessibleName(f"{self.rt.label}列表")
        layout.addWidget(self.table, 1)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())

        self.model.reloaded.connect(self._after_reload)
        ctx.records_changed.connect(self._records_changed)
        ctx.settings_changed.connect(lambda _k: self._fit_rows())
        # The first load runs as a read job: opening a 100,000-row list never blocks the window.
        self.loaded = False
        self.count_label.setText("正在读取…")
        self._fit_rows()
        self.refresh_in_background()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's naming
        if (watched is self.search and event.type() == QEvent.Type.KeyPress
                and event.key() == Qt.Key.Key_Escape and self.search.text()):
            self.search.clear()
            self.filter_in_background()
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ filter / reload
    def current_filter(self) -> RecordFilter:
        flt = RecordFilter(search=self.search.text(), deleted=self.deleted_toggle.isChecked())
        flt.equals = {name: combo.currentData() for name, combo in self.filter_combos.items()
                      if combo.currentData()}
        if self.date_check is not None and self.date_check.isChecked():
            flt.date_from = self.date_from.date().toPython()
            flt.date_to = self.date_to.date().toPython()
        return flt

    def apply_filter(self) -> int:
        """Filter now, on this thread (callers without an event loop; the page itself filters in
        read jobs)."""
        self._search_timer.stop()
        return self.model.set_filter(self.current_filter())

    def filter_in_background(self):
        """The search box (when typing pauses, or Enter) and the filter widgets: the id query runs as
        a read job, so typing never stalls the window; the count reads 正在查找… until the rows
        arrive, and the selected record stays selected if it is still among them."""
        self._search_timer.stop()
        self.filter_handle = self._read_job("正在查找…",
                                            lambda: self.model.set_filter_in_background(self.current_filter()))
        return self.filter_handle

    def _read_job(self, busy_text: str, start):
        """Start a list query as a read job (``start()`` returns its handle), keeping the selected record
        selected; the count shows ``busy_text`` until the rows arrive (``_after_reload``)."""
        self._pending_select = self.model.locate_id = self.selected_id()
        self._pending_row = -1
        self.count_label.setText(busy_text)
        handle = start()
        handle.finished.connect(lambda outcome: self._after_reload(self.model.rowCount())
                                if outcome != "success" else None)  # failed: show the count again
        return handle

    def reload(self, keep_id: str | None = None):
        """F5: read the database afresh (a read job, like every list query of this page)."""
        return self.refresh_in_background(keep_id)

    def refresh_in_background(self, select_id: str | None = None):
        """Reload after a change (save, delete, sync) without blocking; keeps or moves the selection."""
        self._pending_select = self.model.locate_id = select_id or self.selected_id()
        self._pending_row = self.selected_row()
        self.model.filter = self.current_filter()
        return self.model.reload_in_background()

    def _date_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.filter_in_background()

    def _show_default_sort(self) -> None:
        """The header arrow shows the model's default order (newest first, or by name)."""
        header = self.table.horizontalHeader()
        keys = [c.key for c in self.model.columns]
        if self.rt.date_field in keys:
            header.setSortIndicator(keys.index(self.rt.date_field), Qt.SortOrder.DescendingOrder)
        elif "name" in keys:
            header.setSortIndicator(keys.index("name"), Qt.SortOrder.AscendingOrder)
        else:
            header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)

    def _show_sort_choice(self) -> None:
        header = self.table.horizontalHeader()
        descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        i = self.sort_combo.findData(2 * header.sortIndicatorSection() + int(descending))
        self.sort_combo.setCurrentIndex(i)  # -1 (blank) when no column is the sort key

    def _sort_chosen(self, index: int) -> None:
        code = self.sort_combo.itemData(index)
        order = Qt.SortOrder.DescendingOrder if code % 2 else Qt.SortOrder.AscendingOrder
        self.table.horizontalHeader().setSortIndicator(code // 2, order)  # → _sort_changed

    def _sort_changed(self, column: int, order):
        """Header click: the rows are re-ordered by a read job (100,000 ids take 0.1–0.5 s to order),
        so the window stays responsive; the selected record stays selected and in view."""
        self._scroll_to_top = self.selected_id() is None  # a new order starts at its first row
        self._show_sort_choice()
        self.sort_handle = self._read_job("正在排序…", lambda: self.model.sort_in_background(column, order))
        return self.sort_handle

    def _after_reload(self, count: int) -> None:
        self.loaded = True
        keep, self._pending_select = getattr(self, "_pending_select", None), None
        row, self._pending_row = getattr(self, "_pending_row", -1), -1
        if keep and not self.select_id(keep) and row >= 0 and count:
            self.select_row(min(row, count - 1))  # the selected record left the list: select its neighbour
        if getattr(self, "_scroll_to_top", False):
            self._scroll_to_top = False
            self.table.scrollToTop()
        if not getattr(self, "_columns_fitted", False) and count:
            self._columns_fitted = True
            self._fit_columns()
        flt = self.model.filter
        filtered = bool(flt.search or flt.equals or flt.date_from)
        text = f"找到 {count:,} 条" if filtered else f"共 {count:,} 条"
        if flt.deleted:
            text += "（已删除，选中后按“恢复”）"
        elif count and self.model.totals:
            shown = [(u, v) for u, v in self.model.totals.items() if v] or list(self.model.totals.items())[:1]
            text += "，合计 " + "、".join(f"{_amount(v)} {unit}" for unit, v in shown)
        self.count_label.setText(text)
        self._show_empty_hint(count, filtered or flt.deleted)
        self._update_buttons()

    def _show_empty_hint(self, count: int, filtered: bool) -> None:
        if self.rt.parent:
            return  # the hint already says where these records are added
        if count == 0 and not filtered:
            self.hint.setText(f"还没有{self.rt.record_noun}。点“新建”（或按 Ctrl+N）添加第一条；"
                              "也可以在“导入导出”页从 Excel 模板导入。")
        elif count == 0:
            self.hint.setText("没有符合条件的记录。清空搜索框（Esc）或把筛选改回“全部”再看。")
        self.hint.setVisible(count == 0)

    def _records_changed(self, type_name: str) -> None:
        if type_name in (self.rt.name, self.rt.parent):
            self.refresh_in_background(getattr(self, "_saved_id", None))
            self._saved_id = None

    def _fit_rows(self) -> None:
        height = int(self.table.fontMetrics().height() * 1.7)
        self.table.verticalHeader().setDefaultSectionSize(height)
        self.table.verticalHeader().setMinimumSectionSize(height)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Column widths from the header and the first rows (never measuring all 100,000), and columns
        by priority: when the list is narrower than all of them (1024×768, large font) the last ones are
        hidden rather than scrolled to sideways — every field is in the record's form (修改)."""
        fm = self.table.fontMetrics()
        header_fm = self.table.horizontalHeader().fontMetrics()
        sample = [self.model.display_row(r) for r in range(min(40, self.model.rowCount()))]
        widths = []
        for i, col in enumerate(self.model.columns):
            width = header_fm.horizontalAdvance(col.header) + 36
            if col.field is not None and col.field.type == "id_number":
                width = max(width, fm.horizontalAdvance("220102********1234") + 20)
            elif col.field is not None and col.field.type == "phone":
                width = max(width, fm.horizontalAdvance("138****8000") + 20)
            for row in sample:
                width = max(width, fm.horizontalAdvance(row[i]) + 20)
            widths.append(min(width, fm.horizontalAdvance("中") * 16))
        # the room: the table's width less its frame and a vertical scroll bar (there nearly always is one)
        room = self.table.width() - 2 * self.table.frameWidth() - self.table.style().pixelMetric(
            self.table.style().PixelMetric.PM_ScrollBarExtent) - 2
        shown = len(widths)
        if self.table.isVisible() and room > 0:
            while shown > 1 and sum(widths[:shown]) > room:
                shown -= 1
        for i, width in enumerate(widths):
            self.table.setColumnHidden(i, i >= shown)
            if i < shown - 1:
                self.table.setColumnWidth(i, width)
        self.table.horizontalHeader().setMinimumSectionSize(min(widths[:shown]) if shown else 40)
        hidden = [c.header for c in self.model.columns[shown:]]
        self.table.horizontalHeader().setToolTip(
            "屏幕较窄，这些列没有显示，在记录的表单（修改）中可以看到：" + "、".join(hidden) if hidden else "")
        self.hidden_columns = hidden

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        super().resizeEvent(event)
        if not hasattr(self, "_refit_timer"):
            self._refit_timer = QTimer(self)
            self._refit_timer.setSingleShot(True)
            self._refit_timer.setInterval(50)
            self._refit_timer.timeout.connect(self._fit_columns)
        self._refit_timer.start()

    def set_show_deleted(self, on: bool) -> None:
        self.deleted_toggle.setChecked(on)
        self.filter_in_background()

    def _update_buttons(self) -> None:
        has = self.selected_id() is not None
        deleted = self.deleted_toggle.isChecked()
        self.edit_button.setVisible(not deleted)
        self.delete_button.setVisible(not deleted)
        self.new_button.setVisible(not deleted)
        self.restore_button.setVisible(deleted)
        self.edit_button.setEnabled(has)
        self.delete_button.setEnabled(has)
        self.restore_button.setEnabled(has)
        self.history_button.setEnabled(has)
        self.selection_changed.emit()

    # ------------------------------------------------------------------ paper
    def paper_job(self, choice: LedgerChoice | None = None) -> PaperJob | None:
        """The printed ledger: the list as shown (filter and order), a month or a year; asks which
        unless ``choice`` is given.  The PDF itself comes from ``exchange.pdf`` (the one layout)."""
        from exchange.pdf import LedgerSelection, month_selection, write_ledger_pdf, year_selection

        if choice is None:
            dialog = LedgerScopeDialog(self.rt.label, bool(self.rt.date_field), bool(self.rt.pii_fields),
                                       self.model.rowCount(), self, full_allowed=self.ctx.stored.full_allowed)
            if dialog.exec() != LedgerScopeDialog.DialogCode.Accepted:
                return None
            choice = dialog.choice()
        org, name = self.ctx.org_code, self.ctx.identity.org_name if self.ctx.identity else ""
        if choice.scope == "month":
            sel, when = month_selection(org, choice.period), choice.period
        elif choice.scope == "year":
            sel, when = year_selection(org, choice.year), f"{choice.year}年"
        else:
            where, params, order_by = self.model.list_condition()
            sel = LedgerSelection(org, where=where, params=params, order_by=order_by, period_text=self._filter_text())
            when = "当前列表"
        repo, type_name = self.ctx.repo, self.rt.name

        def make(path, progress):
            return write_ledger_pdf(repo.engine, path, type_name, sel, org_name=name, choices=repo.choices(),
                                    full=choice.full, progress=progress)

        if choice.full:  # a disclosure: checked and recorded each time the PDF is made
            make = disclosed(make, self.ctx.repo, choice.purpose, type_name, org)
        return PaperJob(f"{self.rt.label}台账", f"{name}{self.rt.label}台账（{when}）.pdf", make,
                        affects=("disclosure",) if choice.full else ())

    def _filter_text(self) -> str:
        """The list's filter in words, for the printed title: 2024-01-01 至 2024-03-31，服务类别：养老."""
        flt = self.model.filter
        parts = []
        if flt.date_from or flt.date_to:
            parts.append(f"{flt.date_from or '最早'} 至 {flt.date_to or '最近'}")
        for name, value in flt.equals.items():
            if value:
                parts.append(f"{self.rt.field(name).label}：{value}")
        if flt.search:
            parts.append(f"含“{flt.search}”")
        if flt.deleted:
            parts.append("已删除的记录")
        return "，".join(parts) or "全部"

    # ------------------------------------------------------------------ selection
    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            return rows[0].row()
        idx = self.table.currentIndex()
        return idx.row() if idx.isValid() and self.table.selectionModel().isRowSelected(idx.row()) else -1

    def selected_id(self) -> str | None:
        row = self.selected_row()
        return self.model.record_id(row) if row >= 0 else None

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            index = self.model.index(row, 0)
            self.table.setCurrentIndex(index)
            self.table.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                               | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(index)

    def select_id(self, record_id: str) -> bool:
        row = self.model.row_of(record_id)
        if row >= 0:
            self.select_row(row)
        return row >= 0

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # ------------------------------------------------------------------ new / edit (FORMS helper's dialog)
    def _open_form(self, record_id: str | None) -> QWidget | None:
        # imported when first needed; the form's content is read in a read job before it opens
        from desktop.forms.form_jobs import run_read
        from desktop.forms.record_form import RecordForm
        from storage.form_reading import read_form

        repo, type_name, org_code = self.ctx.repo, self.rt.name, self.ctx.org_code
        try:
            data = run_read(self, lambda: read_form(repo, type_name, org_code, record_id))
            form = RecordForm(repo, type_name, org_code, record_id, self, data=data)
        except Exception as exc:  # noqa: BLE001 - e.g. the record was deleted meanwhile (RecordNotFound)
            show_error(self, exc, "无法打开表单")
            self.reload()
            return None
        form.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        form.saved.connect(self._form_saved)
        form.destroyed.connect(lambda *_: self.open_forms.remove(form) if form in self.open_forms else None)
        self.open_forms.append(form)
        form.open()
        return form

    def _form_saved(self, record: dict) -> None:
        self._saved_id = record.get("id") if record else None  # selected once the list refreshed
        self.ctx.records_changed.emit(self.rt.name)
        for child in self.rt.children:
            self.ctx.records_changed.emit(child.name)
        self.ctx.refresh_unsent_count()

    def new_record(self) -> QWidget | None:
        if self.rt.parent or self.deleted_toggle.isChecked():
            return None
        return self._open_form(None)

    def edit_record(self) -> QWidget | None:
        record_id = self.selected_id()
        if not record_id or self.deleted_toggle.isChecked():
            return None
        return self._open_form(record_id)  # a child's form takes its parent from the stored record

    def edit_or_restore(self) -> None:
        if self.deleted_toggle.isChecked():
            self.restore_record()
        else:
            self.edit_record()

    def show_history(self) -> QWidget | None:
        """修改记录 of the selected record (also of a deleted one: who deleted it, and when)."""
        record_id = self.selected_id()
        if not record_id:
            return None
        from desktop.ui.history_dialog import open_record_history

        self.history_dialog = open_record_history(self, self.ctx.repo.engine, self.rt.name, record_id,
                                                  self.describe(record_id))
        return self.history_dialog

    # ------------------------------------------------------------------ delete / restore (writer thread)
    def describe(self, record_id: str) -> str:
        """The record in words, from the row the list shows (no database read here)."""
        at = self.model.row_of(record_id)
        row = dict(zip((c.key for c in self.model.columns), self.model.display_row(at))) if at >= 0 else {}
        parts = [row[k] for k in ("name", "course", "activity") if row.get(k)]
        if not parts:
            for k in (self.rt.date_field, "category"):
                if k and row.get(k):
                    parts.append(row[k])
        return f"{self.rt.label}“{' '.join(parts)}”" if parts else f"这条{self.rt.record_noun}"

    def delete_record(self, confirm: bool = True):
        record_id = self.selected_id()
        if not record_id or self.deleted_toggle.isChecked():
            return None
        what = self.describe(record_id)
        if confirm:
            box = QMessageBox(QMessageBox.Icon.Question, "确认删除",
                              f"确定要删除{what}吗？\n\n删除后可以在“最近删除”中恢复。",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
            box.button(QMessageBox.StandardButton.Yes).setText("删除")
            box.button(QMessageBox.StandardButton.No).setText("不删除")
            mark_destructive(box.button(QMessageBox.StandardButton.Yes), box.button(QMessageBox.StandardButton.No))
            box.setDefaultButton(QMessageBox.StandardButton.No)
            box.setObjectName("confirm_delete")
            self._confirm_box = box
            box.finished.connect(lambda result: self._confirmed_delete(record_id, what)
                                 if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes) else None)
            box.open()
            return box
        return self._confirmed_delete(record_id, what)

    def _confirmed_delete(self, record_id: str, what: str):
        repo, name = self.ctx.repo, self.rt.name
        next_row = self.selected_row()
        return (write_op(lambda job: repo.delete(name, record_id))
                .success(lambda _r: self._after_write(f"已删除{what}，可在“最近删除”中恢复", next_row))
                .affects(name).run_in_background(self))

    def restore_record(self):
        record_id = self.selected_id()
        if not record_id or not self.deleted_toggle.isChecked():
            return None
        repo, name, what = self.ctx.repo, self.rt.name, self.describe(record_id)
        next_row = self.selected_row()
        return (write_op(lambda job: repo.restore(name, record_id))
                .success(lambda _r: self._after_write(f"已恢复{what}", next_row))
                .affects(name).run_in_background(self))

    def _after_write(self, message: str, row: int) -> None:
        window = self.window()
        if hasattr(window, "statusBar"):
            window.statusBar().showMessage(message, 8000)


def _amount(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


__all__ = ["RecordListPage", "SEARCH_DELAY_MS"]
