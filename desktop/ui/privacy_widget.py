"""设置 → 个人信息保护: every full export and every ID number shown in full on this PC (and, on a
township or county PC, those its sync brought in), newest first.  Read through storage.disclosure."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import QLabel, QTableWidgetItem, QVBoxLayout, QWidget

from desktop.ui.jobs import op
from desktop.ui.read_only_table import read_only_table
from storage import disclosure

COLUMNS = (("at", "时间（世界标准时间）"), ("org_code", "区划代码"), ("actor", "操作人"), ("action", "方式"),
           ("record_types", "记录类型"), ("row_count", "条数"), ("purpose", "用途"), ("file_name", "文件"))


class PrivacyWidget(QWidget):
    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("privacy_widget")
        self.handle = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        intro = QLabel("身份号码和手机号在列表、导出和报表中默认遮挡。完整导出（导入导出页勾选“导出完整的身份号码和手机号”）"
                       "和在表单中按“显示”查看完整号码，都会在这里留下记录，并随同步报送县里。")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.summary = QLabel()
        self.summary.setObjectName("privacy_summary")
        layout.addWidget(self.summary)
        self.table = read_only_table([label for _key, label in COLUMNS], name="disclosure_table")
        self.table.setMinimumHeight(160)
        layout.addWidget(self.table)
        ctx.records_changed.connect(self._records_changed)  # a bound slot: disconnected when this box goes
        self.reload()

    def _records_changed(self, name: str) -> None:
        if name == "disclosure":
            self.reload()

    def reload(self) -> None:
        repo = self.ctx.repo
        self.handle = op(lambda job: disclosure.list_disclosures(repo, limit=200)).success(self._show) \
            .run_in_background(self)

    def _show(self, rows: list[dict]) -> None:
        if not shiboken6.isValid(self.table):
            return  # the box was closed before its rows arrived
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, (key, _label) in enumerate(COLUMNS):
                value = row.get(key)
                self.table.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))
        self.table.resizeColumnsToContents()
        self.summary.setText(f"共 {len(rows)} 条记录（最近 200 条）" if rows else "还没有完整导出或查看完整号码的记录")


def create_widget(ctx) -> QWidget:
    return PrivacyWidget(ctx)
