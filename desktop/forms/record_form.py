"""The record form: a dialog generated from a RecordType of the field schema.

Layout: one row per form field — the label (with a red * when required), the
input widget (unit as suffix) and, right under it, the Chinese message for
that field.  Validation runs on every keystroke with the same code the
repository, Excel import and sync use (``coerce_record`` = per-field
``coerce`` plus ``check_record`` cross-field rules); errors block saving,
warnings are shown but do not.  Messages of a required field that is still
empty appear once the user has been in that field or tried to save, so a blank
form does not open covered in red — the summary line under the form always
says what is missing.

Keyboard: Tab follows the form top to bottom; Enter saves (on a focused button
it presses the button); Esc cancels and asks before throwing away changes.

Child records (培训记录 in 社区工作者, 服务时长 in 志愿者) are edited in a
small table inside the parent's form.  For a parent that already exists, each
child is written through the repository as soon as its own small form is
saved.  For a new parent the children are kept in the form and written together
with the parent in one transaction (``Repository.bulk_write``), so a cancelled
new parent leaves nothing behind.

Drafts: while the form has unsaved changes it is written to the local draft
table every few seconds (``storage.drafts``), and the draft is discarded on
save or on an explicit cancel.  See ``desktop.forms.drafts_dialog`` for
recovery after a crash.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QDialog, QDialogButtonBox, QGridLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton,
                               QRadioButton, QScrollArea, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)
from sqlalchemy.exc import OperationalError

from storage.drafts import DraftData, DraftStore
from storage.models import new_id
from storage.repository import Repository, WriteOp, WriteRefused
from storage.schema import RecordType, children_of, record_type
from storage.validation import (Issue, ValidationError, coerce, coerce_record, county_of, display_text, id_birth_date,
                                is_blank, mask, org_level, township_of)

from desktop.forms.widgets import FieldWidget, MaskedWidget, widget_for
from desktop.ui.theme import mark_destructive

log = logging.getLogger("taizhang.desktop.forms")

AUTOSAVE_MS = 3000
ERROR_COLOR = "#b00020"
WARNING_COLOR = "#8a5300"
REQUIRED_MARK = f"<span style='color:{ERROR_COLOR}'> *</span>"


class RecordNotFound(WriteRefused):
    """The record to edit does not exist (deleted, or never synced here)."""


def warn(parent: QWidget | None, title: str, text: str, name: str = "form_warning") -> None:
    """A warning box with a Chinese button (a bare QMessageBox would say “OK”)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    box.setObjectName(name)
    box.addButton("知道了", QMessageBox.ButtonRole.AcceptRole)
    box.exec()


def run_write(parent: QWidget, fn, form: "RecordForm | None" = None):
    """Run ``fn()`` (a repository write) on the app's single DB writer thread and return its result.

    The desktop rule (desktop/ui/jobs.py): every record write runs as a
    ``write_op`` on the one writer thread, so SQLite never sees two writers
    from this process.  The form waits in a local event loop — the window keeps
    painting, and the form is disabled meanwhile so nothing can be typed or
    pressed twice.  No progress dialog with 取消 is offered: one record saves in
    milliseconds (it only waits if an import is running), and a cancelled save
    whose transaction already committed would leave the user unsure.  Errors
    raised by ``fn`` are re-raised here, on the UI thread.
    """
    try:
        from desktop.ui.jobs import write_op
    except ImportError:  # the forms used on their own (no app job helper): write directly
        return fn()
    outcome: dict = {}
    loop = QEventLoop()

    def succeeded(result):
        outcome["result"] = result
        loop.quit()

    def failed(exc):
        outcome["error"] = exc
        loop.quit()

    def cancelled():
        outcome["error"] = WriteRefused("保存被取消，记录没有保存，表单内容仍保留。")
        loop.quit()

    target = form or parent
    target.setEnabled(False)
    if form is not None:
        form._saving = True
    try:
        (write_op(lambda _job: fn()).success(succeeded).failure(failed).on_cancelled(cancelled)
         .run_in_background(parent))
        if not outcome:
            loop.exec()
    finally:
        target.setEnabled(True)
        if form is not None:
            form._saving = False
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


class ChildTable(QGroupBox):
    """The children of one type inside the parent's form: a table with 添加 / 修改 / 删除."""

    changed = Signal()

    def __init__(self, form: "RecordForm", child_rt: RecordType):
        super().__init__(form)
        self.form = form
        self.rt = child_rt
        self.setObjectName(f"children_{child_rt.name}")
        self.pending: list[dict] = []  # raw values of children of a parent that is not saved yet
        self.open_child: tuple | None = None  # (form, pending index or None) while a child form is open
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(child_rt.list_columns), self)
        self.table.setObjectName(f"table_{child_rt.name}")
        self.table.setHorizontalHeaderLabels([child_rt.field(c).label for c in child_rt.list_columns])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(140)
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        self.table.installEventFilter(self)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(f"添加{child_rt.label}", self)
        self.edit_button = QPushButton("修改", self)
        self.delete_button = QPushButton("删除", self)
        for b, name in ((self.add_button, "add"), (self.edit_button, "edit"), (self.delete_button, "delete")):
            b.setObjectName(f"{name}_{child_rt.name}")
            b.setAutoDefault(False)
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(lambda: self.add())
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.reload()

    # ----------------------------------------------------------------- data

    @property
    def deferred(self) -> bool:
        """True while the parent is new: children are written together with it."""
        return self.form.record_id is None

    def rows(self) -> list[dict]:
        if self.deferred:
            return [dict(raw, _pending_index=i) for i, raw in enumerate(self.pending)]
        where = {self.rt.parent_field: self.form.record_id}
        records = self.form.repo.list(self.rt.name, where=where)
        key = self.rt.date_field
        if key:
            records.sort(key=lambda r: (r.get(key) is None, r.get(key)), reverse=True)
        return records

    def reload(self) -> None:
        rows = self.rows()
        self._rows = rows
        kind = "随本表单一起保存" if self.deferred else "每条单独保存，立即生效"
        self.setTitle(f"{self.rt.label}（{len(rows)}条，{kind}）")
        self.table.setRowCount(len(rows))
        choices = self.form.choices
        for r, row in enumerate(rows):
            for c, name in enumerate(self.rt.list_columns):
                f = self.rt.field(name)
                value = row.get(name)
                if self.deferred and value not in (None, ""):
                    coerced, issue = coerce(f, value, choices)
                    value = coerced if issue is None or not issue.is_error else value
                self.table.setItem(r, c, QTableWidgetItem(display_text(f, value)))
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = self.table.currentRow() >= 0 and self.table.rowCount() > 0
        self.edit_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.table and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.table.currentRow() >= 0:
                self.edit_selected()
                return True
            if event.key() == Qt.Key.Key_Delete and self.table.currentRow() >= 0:
                self.delete_selected()
                return True
            if event.key() == Qt.Key.Key_Insert:
                self.add()
                return True
        return super().eventFilter(obj, event)

    # ----------------------------------------------------------------- actions

    def _child_form(self, record_id: str | None = None, initial: dict | None = None) -> "RecordForm":
        return RecordForm(self.form.repo, self.rt.name, self.form.org_code, record_id, self.form,
                          parent_id=self.form.record_id, collect_only=self.deferred, initial=initial,
                          autosave_ms=self.form.autosave_ms)

    def _run_pending_child(self, index: int | None, initial: dict | None, restored: bool = False) -> bool:
        """A child of an unsaved parent: while its form is open, the parent's draft carries what is typed."""
        dialog = self._child_form(initial=initial)
        if restored:
            dialog._initial_raw = {name: object() for name in dialog.widgets}  # unsaved by definition
            dialog.setWindowTitle(dialog.windowTitle() + "（从草稿恢复）")
        self.open_child = (dialog, index)
        for w in dialog.widgets.values():
            w.changed.connect(self.form._mark_for_autosave)
        try:
            accepted = dialog.exec() == QDialog.DialogCode.Accepted
        finally:
            self.open_child = None
            self.form._mark_for_autosave()
        if accepted:
            if index is None:
                self.pending.append(dialog.result_raw)
            else:
                self.pending[index] = dialog.result_raw
        return accepted

    def open_child_state(self) -> dict | None:
        if self.open_child is None:
            return None
        dialog, index = self.open_child
        return {"type": self.rt.name, "index": index, "values": dialog.raw_values()}

    def add(self, initial: dict | None = None, restored: bool = False) -> None:
        if self.deferred:
            if not self._run_pending_child(None, initial, restored):
                return
        else:
            dialog = self._child_form()
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
        self.reload()
        self.table.selectRow(self.table.rowCount() - 1 if self.deferred else 0)
        self.changed.emit()

    def edit_selected(self) -> None:
        row = self.table.currentRow()
        if row < 0 or row >= len(self._rows):
            return
        data = self._rows[row]
        if self.deferred:
            index = data["_pending_index"]
            self._run_pending_child(index, self.pending[index])
        else:
            dialog = self._child_form(record_id=data["id"])
            dialog.exec()
        self.reload()
        self.table.selectRow(min(row, self.table.rowCount() - 1))
        self.changed.emit()

    def edit_pending(self, index: int, initial: dict, restored: bool = False) -> None:
        if self._run_pending_child(index, initial, restored):
            self.reload()
            self.changed.emit()

    def delete_selected(self) -> None:
        row = self.table.currentRow()
        if row < 0 or row >= len(self._rows):
            return
        data = self._rows[row]
        what = "、".join(display_text(self.rt.field(c), data.get(c)) for c in self.rt.list_columns[:2])
        box = QMessageBox(QMessageBox.Icon.Question, "确认删除",
                          f"确定删除这条{self.rt.label}（{what}）吗？"
                          + ("" if self.deferred else "\n删除后可在“最近删除”中恢复。"), parent=self)
        box.setObjectName("confirm_delete_child")
        yes = box.addButton("删除", QMessageBox.ButtonRole.DestructiveRole)
        no = box.addButton("不删除", QMessageBox.ButtonRole.RejectRole)
        mark_destructive(yes, no)
        box.setDefaultButton(no)
        box.exec()
        if box.clickedButton() is not yes:
            return
        if self.deferred:
            del self.pending[data["_pending_index"]]
        else:
            try:
                run_write(self, lambda: self.form.repo.delete(self.rt.name, data["id"]), self.form)
            except (WriteRefused, ValidationError) as exc:
                warn(self, "无法删除", str(exc), "delete_failed")
                return
        self.reload()
        self.changed.emit()

    def focus_widgets(self) -> list[QWidget]:
        return [self.table, self.add_button, self.edit_button, self.delete_button]


class RecordForm(QDialog):
    """A modal form for one record type; see the module docstring."""

    saved = Signal(dict)

    def __init__(self, repo: Repository, type_name: str, org_code: str, record_id: str | None = None,
                 parent: QWidget | None = None, *, parent_id: str | None = None, draft: DraftData | None = None,
                 collect_only: bool = False, initial: dict | None = None, autosave_ms: int = AUTOSAVE_MS):
        super().__init__(parent)
        self.repo = repo
        self.rt = record_type(type_name)
        self.org_code = org_code
        self.record_id = record_id
        self.parent_id = parent_id
        self.collect_only = collect_only  # child of an unsaved parent: return values, write nothing
        self.autosave_ms = autosave_ms
        self.drafts = DraftStore(repo.engine)
        self.draft_id: str | None = draft.id if draft else None
        self.result_record: dict | None = None
        self.result_raw: dict | None = None
        self.choices = repo.choices()
        self._base_version: int | None = None
        self._touched: set[str] = set()
        self._show_all = False
        self._issues: list[Issue] = []
        self._values: dict = {}
        self._loading = True
        self._autosave_pending = False
        self._saving = False
        self.setObjectName(f"form_{type_name}")
        self.setModal(True)

        record = None
        self._base_date = None  # the stored record's date: moving it out of a submitted month changes that month
        if record_id is not None:
            record = repo.get(type_name, record_id)
            if record is None:
                raise RecordNotFound(f"找不到要修改的{self.rt.label}记录，可能已被删除或尚未同步")
            self._base_version = record["version"]
            self._base_date = record.get(self.rt.date_field) if self.rt.date_field else None
            if self.rt.parent_field and not parent_id:
                self.parent_id = record.get(self.rt.parent_field)

        self._build()
        if record is not None:
            for name, w in self.widgets.items():
                w.set_raw(record.get(name))
        if initial:
            self._apply_raw(initial)
        self._initial_raw = self.raw_values()
        self._leftover_draft: DraftData | None = None
        self._reopen_child: dict | None = None
        if draft is not None:
            self._restore_draft(draft)
        elif record_id is not None and not collect_only:
            self._leftover_draft = self.drafts.for_record(type_name, record_id)
        for name, w in self.widgets.items():
            if not is_blank(w.raw()):
                self._touched.add(name)
        self._loading = False
        self._revalidate()

        what = self.rt.label
        if record_id is None:
            self.setWindowTitle(f"新建{what}")
        else:
            name = record.get("name") if record else None
            self.setWindowTitle(f"修改{what}" + (f"：{name}" if name else ""))
        if draft is not None:
            self.setWindowTitle(self.windowTitle() + "（从草稿恢复）")

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave)
        if not collect_only:
            self.autosave_timer.start()
        QTimer.singleShot(0, self, self._focus_first)

    def _focus_first(self) -> None:
        first = next(iter(self.widgets.values()), None)
        if first is not None:
            first.setFocus()

    # ----------------------------------------------------------------- building

    def _ref_options(self, field) -> list[tuple[str, str]]:
        rows = self.repo.list(field.ref, org_code=self.org_code) if field.ref else []
        label_field = "name" if rows and "name" in rows[0] else None
        options = [(r["id"], str(r.get(label_field) or r["id"])) for r in rows]
        return sorted(options, key=lambda o: o[1])

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self.form_message = QLabel(self)
        self.form_message.setObjectName("form_message")
        self.form_message.setWordWrap(True)
        self.form_message.setStyleSheet(f"color:{ERROR_COLOR}")
        self.form_message.hide()
        outer.addWidget(self.form_message)
        self.notice = QLabel(self)
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color:{WARNING_COLOR}")
        self.notice.hide()
        outer.addWidget(self.notice)

        body = QWidget(self)
        grid = QGridLayout(body)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(4)
        self.widgets: dict[str, FieldWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.messages: dict[str, QLabel] = {}
        row = 0
        for f in self.rt.form_fields:
            label = QLabel(f.label + (REQUIRED_MARK if f.required else ""), body)
            label.setObjectName(f"label_{f.name}")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            if f.help:
                label.setToolTip(f.help)
            options = self._ref_options(f) if f.type == "ref" else None
            w = widget_for(f, self.choices, options, body)
            if f.help:
                w.setToolTip(f.help)
            label.setBuddy(w.focus_widgets()[0])
            for target in w.focus_widgets():
                if not target.accessibleName():
                    target.setAccessibleName(f.label if target is w.focus_widgets()[0]
                                             else f"{f.label}：{getattr(target, 'text', lambda: '')()}")
                if f.help and not target.accessibleDescription():
                    target.setAccessibleDescription(f.help)
            message = QLabel(body)
            message.setObjectName(f"message_{f.name}")
            message.setWordWrap(True)
            message.hide()
            cell = QVBoxLayout()
            cell.setSpacing(2)
            cell.addWidget(w)
            cell.addWidget(message)
            grid.addWidget(label, row, 0)
            grid.addLayout(cell, row, 1)
            label.setContentsMargins(0, 6, 0, 0)
            self.widgets[f.name] = w
            self.labels[f.name] = label
            self.messages[f.name] = message
            w.changed.connect(lambda name=f.name: self._field_changed(name))
            if isinstance(w, MaskedWidget):
                w.revealed_changed.connect(lambda _on: self._revalidate())
                w.revealed_changed.connect(lambda on, name=f.name: on and self._record_reveal(name))
            row += 1

        self.child_tables: list[ChildTable] = []
        if not self.collect_only:
            for child in children_of(self.rt.name):
                table = ChildTable(self, child)
                table.changed.connect(self._children_edited)
                grid.addWidget(table, row, 0, 1, 2)
                self.child_tables.append(table)
                row += 1

        grid.setRowStretch(row, 1)  # spare height goes below the form, not into the rows

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        self.summary = QLabel(self)
        self.summary.setObjectName("summary")
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)

        self.buttons = QDialogButtonBox(self)
        self.save_button = QPushButton("保存（Enter）", self)
        self.save_button.setObjectName("save")
        self.cancel_button = QPushButton("取消（Esc）", self)
        self.cancel_button.setObjectName("cancel")
        for b in (self.save_button, self.cancel_button):
            b.setAutoDefault(False)
            b.setDefault(False)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.reject)
        outer.addWidget(self.buttons)

        chain: list[QWidget] = []
        for w in self.widgets.values():
            chain.extend(w.focus_widgets())
        for t in self.child_tables:
            chain.extend(t.focus_widgets())
        chain.extend([self.save_button, self.cancel_button])
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)
        self.tab_chain = chain

        body.adjustSize()
        hint = body.sizeHint()
        line = self.fontMetrics().height()  # scales with the large-font mode
        screen = self.screen().availableGeometry() if self.screen() else None
        max_h = screen.height() - 2 * line if screen else 760  # use the height there is (1024×768 screens)
        max_w = int(screen.width() * 0.9) if screen else 1200
        owner = self.parentWidget().window() if self.parentWidget() is not None else None
        if owner is not None and owner.isVisible():  # never larger than the (maximised) main window
            max_h, max_w = min(max_h, owner.height()), min(max_w, owner.width())
        self.resize(min(max_w, max(620, 34 * line, hint.width() + 60)), min(max_h, max(400, hint.height() + 8 * line)))

    # ----------------------------------------------------------------- values

    def field_widget(self, name: str) -> FieldWidget:
        return self.widgets[name]

    def raw_values(self) -> dict[str, Any]:
        """What the user entered, by field name (JSON-safe; what a draft stores)."""
        return {name: w.raw() for name, w in self.widgets.items()}

    def _apply_raw(self, raw: dict) -> None:
        for name, value in raw.items():
            if name in self.widgets:
                self.widgets[name].set_raw(value)

    def _context_values(self) -> dict[str, Any]:
        """Fields the form sets from its context (owner org, parent link), never shown for editing."""
        ctx: dict[str, Any] = {}
        names = self.rt.field_names
        if "org_code" in names and "org_code" not in self.widgets:
            ctx["org_code"] = self.org_code
        if self.rt.parent_field and self.rt.parent_field not in self.widgets:
            ctx[self.rt.parent_field] = self.parent_id
        if self.rt.name == "org_unit":
            # 层级 and 上级区划代码 follow from the 12-digit code itself.
            code = str(self.widgets["org_code"].raw() or "").strip()
            if len(code) == 12 and code.isdigit():
                level = org_level(code)
                ctx["level"] = {"county": "县", "township": "乡镇/街道", "village": "村/社区"}[level]
                ctx["parent_code"] = (None if level == "county" else
                                      township_of(code) if level == "village" else county_of(code))
        return ctx

    def pending_children(self) -> dict[str, list[dict]]:
        return {t.rt.name: list(t.pending) for t in self.child_tables if t.pending}

    def is_dirty(self) -> bool:
        if self.raw_values() != self._initial_raw:
            return True
        return any(t.pending for t in self.child_tables) and self.record_id is None

    # ----------------------------------------------------------------- validation

    def _field_changed(self, name: str) -> None:
        if self._loading:
            return
        self._touched.add(name)
        self._autosave_pending = True
        if name == "id_number":
            self._fill_from_id_number()
        self._revalidate()

    def _children_edited(self) -> None:
        self._autosave_pending = True
        self._revalidate()

    def _fill_from_id_number(self) -> None:
        """出生日期 and 性别 follow from a valid ID number when they are still empty."""
        f = self.rt.field("id_number")
        value, issue = coerce(f, self.widgets["id_number"].raw(), self.choices)
        if not value or (issue and issue.is_error):
            return
        birth = self.widgets.get("birth_date")
        if birth is not None and is_blank(birth.raw()):
            born = id_birth_date(value)
            if born:
                birth.set_raw(born)
        gender = self.widgets.get("gender")
        if gender is not None and is_blank(gender.raw()):
            gender.set_raw("男" if int(value[16]) % 2 else "女")

    def _record_reveal(self, field_name: str) -> None:
        """A stored ID number or phone shown in full (显示) is a disclosure: recorded once per form and field."""
        shown = getattr(self, "_revealed", set())
        self._revealed = shown
        if self.record_id is None or field_name in shown:
            return  # a value the user is typing into a new record is not a disclosure
        shown.add(field_name)
        from storage import disclosure

        label = self.rt.field(field_name).label
        try:
            from desktop.ui.jobs import write_op
        except ImportError:  # the forms used on their own: write directly
            write_op = None

        def work(_job=None):
            return disclosure.record_disclosure(self.repo, action=disclosure.SCREEN, record_types=[self.rt.name],
                                                rows=1, purpose=f"查看{label}", org_code=self.org_code)

        if write_op is None:
            work()
        else:
            write_op(work).affects("disclosure").run_in_background(self)

    def _revalidate(self) -> None:
        if self._loading:
            return
        raw = self.raw_values()
        raw.update(self._context_values())
        values, issues = coerce_record(self.rt, raw, self.choices)
        if self.collect_only and self.rt.parent_field:
            issues = [i for i in issues if i.field != self.rt.parent_field]
        if self.rt.name == "org_unit":
            # 层级/上级区划代码 follow from the code: the code's own message is the useful one
            issues = [i for i in issues if i.field not in ("level", "parent_code")]
        self._values = values
        self._issues = issues
        by_field: dict[str, list[Issue]] = {}
        general: list[Issue] = []
        for issue in issues:
            if issue.field in self.widgets:
                by_field.setdefault(issue.field, []).append(issue)
            else:
                general.append(issue)
        for name, label in self.messages.items():
            shown = [i for i in by_field.get(name, []) if self._should_show(name, i)]
            if shown:
                error = any(i.is_error for i in shown)
                text = "\n".join(i.message for i in shown)
                if name in self.rt.pii_fields and isinstance(self.widgets[name], MaskedWidget) \
                        and self.widgets[name].masked:
                    text = text.replace(self.widgets[name].raw(), mask(self.rt.field(name).type,
                                                                        self.widgets[name].raw()))
                label.setText(("" if error else "提示：") + text)
                label.setStyleSheet(f"color:{ERROR_COLOR if error else WARNING_COLOR}")
                label.setVisible(True)
            else:
                label.clear()
                label.setVisible(False)
        if general:
            self.form_message.setText("\n".join(i.message for i in general))
            self.form_message.show()
        else:
            self.form_message.hide()
        errors = [i for i in issues if i.is_error]
        self.save_button.setEnabled(not errors)
        if errors:
            names = []
            for i in errors:
                label = self.rt.field(i.field).label if i.field in self.rt.field_names else "整条记录"
                if label not in names:
                    names.append(label)
            self.summary.setText(f"还不能保存：请填写或改正 {'、'.join(names)}。")
            self.summary.setStyleSheet(f"color:{ERROR_COLOR}")
        else:
            warnings = [i for i in issues if not i.is_error]
            self.summary.setText("可以保存。" + ("（有提示，请留意，但不影响保存）" if warnings else ""))
            self.summary.setStyleSheet("")

    def _should_show(self, name: str, issue: Issue) -> bool:
        if self._show_all or name in self._touched:
            return True
        return not (issue.is_error and issue.message.endswith("必填，请填写"))

    def has_errors(self) -> bool:
        return any(i.is_error for i in self._issues)

    def issues(self) -> list[Issue]:
        return list(self._issues)

    def message_for(self, name: str) -> str:
        """The message currently shown beside a field ('' if none)."""
        label = self.messages[name]
        return label.text() if not label.isHidden() else ""

    # ----------------------------------------------------------------- keyboard

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = self.focusWidget()
            if isinstance(focused, QAbstractButton) and not isinstance(focused, QRadioButton) \
                    and focused is not self.save_button:
                focused.click()
            else:
                self.save()
            event.accept()
            return
        super().keyPressEvent(event)  # Esc → reject()

    # ----------------------------------------------------------------- save / cancel

    def save(self) -> dict | None:
        """Validate and write.  Returns the saved record (or the collected values for a pending child)."""
        self._show_all = True
        self._revalidate()
        if self.has_errors():
            first = next((i.field for i in self._issues if i.is_error and i.field in self.widgets), None)
            if first:
                self.widgets[first].setFocus()
            return None
        if self.collect_only:
            self.result_raw = self.raw_values()
            self._finish()
            super().accept()
            return self.result_raw
        values = {name: self._values.get(name) for name in self.widgets}
        values.update(self._context_values())
        if self._refuse_future_date(values) or not self._confirm_period_edit(values):
            return None
        children = self.pending_children()
        try:
            record = run_write(self, lambda: self.write_to_repository(values, children), self)
        except (ValidationError, WriteRefused) as exc:
            warn(self, "没有保存", f"{exc}\n\n表单内容仍保留，请修改后再保存。", "save_failed")
            return None
        except Exception as exc:  # noqa: BLE001 - e.g. the disk is full or the database file is locked
            # Only the kind of error is logged: database errors carry the row's values (personal information).
            log.error("saving a %s record failed: %s", self.rt.name, type(exc).__name__)
            warn(self, "没有保存", "记录没有保存：数据库暂时无法写入（可能是磁盘已满或数据文件被其他程序占用）。\n"
                 "表单内容仍保留（草稿会继续自动保存），请稍后再按“保存”。如果一直失败，请联系县民政局信息管理员。",
                 "save_failed")
            return None
        self.result_record = record
        self.record_id = record["id"]
        self._finish()
        self.saved.emit(record)
        super().accept()
        return record

    def _refuse_future_date(self, values: dict) -> bool:
        """A service, hour or training dated after today is a typo (日期 in the future): say so, keep the form."""
        import datetime as dt

        from storage.periods import BEIJING

        day = values.get(self.rt.date_field) if self.rt.date_field else None
        if isinstance(day, str):
            day = dt.date.fromisoformat(day[:10])
        today = dt.datetime.now(BEIJING).date()
        if not isinstance(day, dt.date) or day <= today:
            return False
        label = self.rt.field(self.rt.date_field).label
        warn(self, "日期晚于今天", f"{label}是 {day:%Y年%m月%d日}，晚于今天（{today:%Y年%m月%d日}）。\n"
             f"{self.rt.label}只记已经发生的事，请改正{label}后再保存。表单内容仍保留。", "future_date")
        self.widgets[self.rt.date_field].setFocus()
        return True

    def _confirm_period_edit(self, values: dict) -> bool:
        """A record of a submitted, approved or accepted month: say so before saving (periods.edit_notice)."""
        if not self.rt.date_field or self.repo.get_setting("org_code") != self.org_code:
            return True  # the month end is the village's own; a township's review edits are not asked
        from storage import periods as P

        months = {P.period_of(values.get(self.rt.date_field)), P.period_of(self._base_date)} - {None}
        for period in sorted(months):
            notice = P.edit_notice(P.get_state(self.repo, self.org_code, period))
            if notice is None:
                continue
            text, refused = notice
            if refused:
                warn(self, "不能保存", text + "\n\n表单内容仍保留。", "period_locked")
                return False
            box = QMessageBox(QMessageBox.Icon.Question, "本月月报已提交", text, parent=self)
            box.setObjectName("confirm_period_edit")
            save = box.addButton("仍然保存", QMessageBox.ButtonRole.AcceptRole)
            keep = box.addButton("先不保存", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(keep)
            box.setEscapeButton(keep)
            box.exec()
            if box.clickedButton() is not save:
                return False
        return True

    def write_to_repository(self, values: dict, pending_children: dict[str, list[dict]]) -> dict:
        """The ONE place a form writes records (the repository validates again and logs the change).

        New record: inserted together with the children entered meanwhile, in one
        transaction.  Existing record: updated with ``expected_version`` so an edit
        made elsewhere in the meantime is refused rather than overwritten.
        """
        if self.record_id is not None:
            return self.repo.update(self.rt.name, self.record_id, values, expected_version=self._base_version)
        if not pending_children:
            return self.repo.create(self.rt.name, values)
        record_id = new_id()
        ops = [WriteOp(self.rt.name, "insert", values, record_id)]
        for child_type, rows in pending_children.items():
            child_rt = record_type(child_type)
            for raw in rows:
                child = {k: v for k, v in raw.items() if k in child_rt.field_names}
                child["org_code"] = self.org_code
                child[child_rt.parent_field] = record_id
                ops.append(WriteOp(child_type, "insert", child))
        self.repo.bulk_write(ops)
        return self.repo.get(self.rt.name, record_id)

    def _finish(self) -> None:
        self.autosave_timer.stop()
        if self.draft_id:
            self._discard_draft()

    def _discard_draft(self) -> None:
        try:
            self.drafts.discard(self.draft_id)
        except OperationalError:
            log.warning("could not discard draft of %s (database busy); it will be offered again", self.rt.name)
        self.draft_id = None

    def reject(self) -> None:
        if self.is_dirty() and not self._confirm_discard():
            return
        self.autosave_timer.stop()
        if self.draft_id:
            self._discard_draft()
        super().reject()

    def _confirm_discard(self) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "放弃修改？",
                          f"这份{self.rt.label}表单有尚未保存的内容。\n放弃后这些内容将不再保留。", parent=self)
        box.setObjectName("confirm_discard")
        discard = box.addButton("放弃修改", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("继续填写", QMessageBox.ButtonRole.RejectRole)
        mark_destructive(discard, keep)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is discard

    # ----------------------------------------------------------------- drafts

    def draft_context(self) -> dict[str, Any]:
        ctx = {"org_code": self.org_code, "parent_id": self.parent_id, "base_version": self._base_version,
               "children": self.pending_children()}
        open_child = next((t.open_child_state() for t in self.child_tables if t.open_child is not None), None)
        if open_child:
            ctx["open_child"] = open_child
        return ctx

    def _mark_for_autosave(self) -> None:
        self._autosave_pending = True

    def autosave(self) -> bool:
        """Write the draft if anything changed since the last autosave; True if written."""
        if not self._autosave_pending or self.collect_only or self._saving:
            return False
        if not self.is_dirty():
            # Back to what is saved: nothing to keep.
            if self.draft_id:
                self._discard_draft()
            self._autosave_pending = False
            return False
        try:
            self.draft_id = self.drafts.save(self.rt.name, self.raw_values(), draft_id=self.draft_id,
                                             record_id=self.record_id, context=self.draft_context(),
                                             busy_timeout_ms=250)
        except OperationalError:
            # The database is busy (a long import holds the write lock): try again at the next tick.
            log.info("draft autosave of %s postponed: database busy", self.rt.name)
            return False
        self._autosave_pending = False
        return True

    def _restore_draft(self, draft: DraftData) -> None:
        was_loading = self._loading
        self._loading = True
        self.draft_id = draft.id
        self._apply_raw(draft.values)
        ctx = draft.context or {}
        drafted_on = ctx.get("base_version")
        if self.record_id is not None and drafted_on is not None and drafted_on != self._base_version:
            # The record changed after the draft was written (e.g. a sync): the draft's values are put
            # over the CURRENT record and saved against the current version — the user checks first.
            self.notice.setText(f"注意：这份草稿保存之后，这条{self.rt.label}记录又被修改过"
                                f"（草稿基于第{drafted_on}版，现在是第{self._base_version}版）。"
                                "表单中是草稿的内容，请逐项核对后再保存。")
            self.notice.show()
        if ctx.get("parent_id") and not self.parent_id:
            self.parent_id = ctx["parent_id"]
        for table in self.child_tables:
            rows = (ctx.get("children") or {}).get(table.rt.name)
            if rows and table.deferred:
                table.pending = [dict(r) for r in rows]
                table.reload()
        self._reopen_child = ctx.get("open_child") if self.record_id is None else None
        self._autosave_pending = True
        self._initial_raw = {}  # restored content is unsaved by definition
        for name in self.widgets:
            self._initial_raw[name] = object()
        for name, w in self.widgets.items():
            if not is_blank(w.raw()):
                self._touched.add(name)
        self._loading = was_loading
        self._revalidate()

    def _offer_leftover_draft(self) -> None:
        """Opening a record that still has a draft (the user chose 以后再说 at startup): offer it."""
        draft, self._leftover_draft = self._leftover_draft, None
        if draft is None or not self.isVisible():
            return
        box = QMessageBox(QMessageBox.Icon.Question, "有未保存的草稿",
                          f"这条{self.rt.label}记录有一份未保存的草稿（{draft.summary()}）。\n要用草稿的内容继续修改吗？",
                          parent=self)
        box.setObjectName("offer_leftover_draft")
        use = box.addButton("恢复草稿", QMessageBox.ButtonRole.AcceptRole)
        drop = box.addButton("丢弃草稿", QMessageBox.ButtonRole.DestructiveRole)
        mark_destructive(drop, use)
        box.setDefaultButton(use)
        box.setEscapeButton(drop)
        box.exec()
        if box.clickedButton() is use:
            self._restore_draft(draft)
            self.setWindowTitle(self.windowTitle() + "（从草稿恢复）")
        else:
            self.drafts.discard(draft.id)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._leftover_draft is not None:
            QTimer.singleShot(0, self, self._offer_leftover_draft)
        if self._reopen_child:
            QTimer.singleShot(0, self, self._reopen_open_child)

    def _reopen_open_child(self) -> None:
        """The draft was written while a child's form was open: open it again where the user was."""
        state, self._reopen_child = self._reopen_child, None
        table = next((t for t in self.child_tables if t.rt.name == state.get("type")), None)
        if table is None or not self.isVisible():
            return
        index = state.get("index")
        if isinstance(index, int) and 0 <= index < len(table.pending):
            table.edit_pending(index, state.get("values") or {}, restored=True)
        else:
            table.add(state.get("values") or {}, restored=True)

    def done(self, result: int) -> None:  # noqa: D401 - Qt override
        self.autosave_timer.stop()
        super().done(result)


def open_record_form(parent: QWidget | None, repo: Repository, type_name: str, org_code: str,
                     record_id: str | None = None, *, parent_id: str | None = None,
                     draft: DraftData | None = None) -> dict | None:
    """Open the form modally; returns the saved record dict, or None if cancelled."""
    try:
        form = RecordForm(repo, type_name, org_code, record_id, parent, parent_id=parent_id, draft=draft)
    except RecordNotFound as exc:
        warn(parent, "无法打开", str(exc), "open_failed")
        return None
    form.exec()
    return form.result_record


__all__ = ["RecordForm", "RecordNotFound", "ChildTable", "open_record_form", "AUTOSAVE_MS"]
