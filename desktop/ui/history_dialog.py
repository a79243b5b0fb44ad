"""修改记录: who changed a record, when, and from what to what (storage.history).

Opened from a record list (button, or Ctrl+H in the 记录 menu) for the selected record, also
in 最近删除 (who deleted it).  The audit rows are read by a read job; the dialog says
正在读取… until they arrive.  One table row per changed field; a new, deleted or restored
record gets one row.  ID numbers and phones stay masked.  Esc or 关闭 closes it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from desktop.ui.jobs import JobHandle, op, show_error
from desktop.ui.read_only_table import read_only_table
from storage.history import HistoryEntry, OP_CREATE, OP_DELETE, OP_RESTORE, record_history

HEADERS = ("时间", "操作人", "操作", "项目", "原来", "改为")
WHOLE_RECORD = {OP_CREATE: "新建了这条记录", OP_DELETE: "删除了这条记录（可在“最近删除”中恢复）",
                OP_RESTORE: "恢复了这条记录"}


def history_rows(entries: list[HistoryEntry]) -> list[tuple[str, ...]]:
    """The dialog's table rows: one per changed field; a whole-record action gets one row."""
    rows = []
    for e in entries:
        when = e.local_time()
        if not e.changes:
            rows.append((when, e.actor, e.action, WHOLE_RECORD.get(e.action, "（无字段变化）"), "", ""))
        for c in e.changes:
            rows.append((when, e.actor, e.action, c.label, c.before or "（空）", c.after or "（空）"))
    return rows


class RecordHistoryDialog(QDialog):
    def __init__(self, engine, type_name: str, record_id: str, what: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("record_history")
        self.setWindowTitle(f"修改记录：{what}")
        self.resize(900, 480)
        layout = QVBoxLayout(self)
        self.info = QLabel("正在读取…")
        self.info.setObjectName("history_info")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.table = read_only_table(HEADERS, name="history_table")  # Tab leaves it for 关闭
        self.table.setAccessibleName(f"{what}的修改记录")
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._closed = False  # closed (and deleted) before the rows arrived: nothing to show them in
        self.finished.connect(self._mark_closed)
        self.handle: JobHandle = (op(lambda job: record_history(engine, type_name, record_id))
                                  .success(self._show)
                                  .failure(self._failed)
                                  .run_in_background(self))

    def _mark_closed(self, _result: int) -> None:
        self._closed = True

    def _show(self, entries: list[HistoryEntry]) -> None:
        if self._closed:
            return
        rows = history_rows(entries)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(value))
        if entries:
            self.info.setText(f"共 {len(entries)} 次操作，按生效的先后排列；时间为本机时间，"
                              "身份号码、手机号已隐藏部分数字。")
            self.table.setCurrentCell(len(rows) - 1, 0)  # the newest change, where people look first
            self.table.scrollToBottom()
        else:
            self.info.setText("没有找到这条记录的修改记录。")
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        self.info.setText("未能读取修改记录。")
        show_error(self, exc, "无法读取修改记录")


def open_record_history(parent: QWidget, engine, type_name: str, record_id: str, what: str) -> RecordHistoryDialog:
    """Open the history window of one record, non-modally; it is deleted when closed."""
    dialog = RecordHistoryDialog(engine, type_name, record_id, what, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.open()
    return dialog


__all__ = ["HEADERS", "RecordHistoryDialog", "history_rows", "open_record_history"]
