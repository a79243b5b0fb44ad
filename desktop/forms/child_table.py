"""A parent's children inside its form (培训记录 in 社区工作者, 服务时长 in 志愿者): a table with 添加 / 修改 / 删除.

For a parent that already exists, each child is written through the repository as soon as its own
small form is saved, and the table is read again in a read job.  For a new parent the children are
kept in the table (``pending``) and the parent's form writes them together with the parent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QGroupBox, QHBoxLayout, QHeaderView, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.forms.form_jobs import ask, run_read, run_write, warn
from storage.form_reading import child_rows, read_form
from storage.repository import WriteRefused
from storage.schema import RecordType
from storage.validation import ValidationError, coerce, display_text

if TYPE_CHECKING:
    from desktop.forms.record_form import RecordForm


class ChildTable(QGroupBox):
    """The children of one type inside the parent's form: a table with 添加 / 修改 / 删除."""

    changed = Signal()

    def __init__(self, form: "RecordForm", child_rt: RecordType, rows: list[dict] | None = None):
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
        self.show_rows(rows or [])

    # ----------------------------------------------------------------- data

    @property
    def deferred(self) -> bool:
        """True while the parent is new: children are written together with it."""
        return self.form.record_id is None

    def rows(self) -> list[dict]:
        """The rows to show: the pending children of a new parent, else the stored ones (a read job)."""
        if self.deferred:
            return [dict(raw, _pending_index=i) for i, raw in enumerate(self.pending)]
        repo, rt, parent_id = self.form.repo, self.rt, self.form.record_id
        return run_read(self, lambda: child_rows(repo, rt, parent_id))

    def reload(self) -> None:
        self.show_rows(self.rows())

    def show_rows(self, rows: list[dict]) -> None:
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
        """A child's own form: the same form class as the parent's, opened after its read job."""
        repo, name, org_code = self.form.repo, self.rt.name, self.form.org_code
        data = run_read(self, lambda: read_form(repo, name, org_code, record_id, with_children=False))
        return type(self.form)(repo, name, org_code, record_id, self.form, parent_id=self.form.record_id,
                               collect_only=self.deferred, initial=initial, autosave_ms=self.form.autosave_ms,
                               data=data)

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
        if not ask(self, "确认删除", f"确定删除这条{self.rt.label}（{what}）吗？"
                   + ("" if self.deferred else "\n删除后可在“最近删除”中恢复。"),
                   "confirm_delete_child", "删除", "不删除", destructive=True):
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


__all__ = ["ChildTable"]
