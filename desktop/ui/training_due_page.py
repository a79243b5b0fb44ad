"""培训到期 — who is due or overdue for training (reports.training), a tab of the 人员 page.

吉林 专栏4-1 (书记、主任 every year, others every 2 years, from each person's last training) and
沈阳 专栏8-1 (≥ 3 days a year): the profile chosen here decides which rules apply; the list is read
in a job and can be exported to Excel.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHeaderView, QLabel, QPushButton, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from desktop.ui.context import AppContext
from desktop.ui.flow_layout import FlowLayout, labelled
from desktop.ui.jobs import op
from desktop.ui.read_only_table import read_only_table
from reports.profiles import all_profiles
from reports.training import DUE_SOON, OVERDUE, RULE_QUOTES, training_due_list

STATUS_COLORS = {OVERDUE: "#FFC7CE", DUE_SOON: "#FFEB9C"}
COLUMNS = ["状态", "姓名", "职务", "上次培训", "本年培训天数", "应培训日期", "说明"]


class TrainingDuePage(QWidget):
    def __init__(self, ctx: AppContext):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("trainingDuePage")
        self.rows: list = []
        self._generation = 0  # a later reload's answer wins over an earlier one still on its way
        layout = QVBoxLayout(self)
        bar = FlowLayout()
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("profile")
        self.profiles = all_profiles(ctx.repo)  # read once: custom profiles change in the 指标 page only
        for p in self.profiles:
            if p.training_rules:
                self.profile_combo.addItem(p.name)
        self.profile_combo.currentIndexChanged.connect(lambda _i: self.reload())
        bar.addWidget(labelled("培训规定(&G)：", self.profile_combo))
        self.export_btn = QPushButton("导出Excel(&X)…")
        self.export_btn.setToolTip("把培训到期名单导出为 Excel（Alt+X）")
        self.export_btn.clicked.connect(self.choose_export_path)
        bar.addWidget(self.export_btn)
        layout.addLayout(bar)
        self.rule = QLabel("")
        self.rule.setWordWrap(True)
        layout.addWidget(self.rule)
        self.table = read_only_table(COLUMNS, name="trainingDue")
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.summary = QLabel("")
        self.summary.setObjectName("message")
        layout.addWidget(self.summary)
        ctx.records_changed.connect(lambda name: self.reload() if name in ("staff", "training") else None)
        self.reload()

    def profile(self):
        name = self.profile_combo.currentText()
        return next((p for p in self.profiles if p.name == name), None)

    def reload(self) -> None:
        profile = self.profile()
        org = self.ctx.org_code
        if profile is None or not org:
            return
        engine, rules = self.ctx.repo.engine, profile.training_rules
        self.rule.setText("依据：" + "；".join(RULE_QUOTES[r] for r in rules))

        def read(_job):
            return training_due_list(engine, org, dt.date.today().year, rules)

        self._generation += 1
        generation = self._generation
        op(read).success(lambda rows: self.show_rows(rows) if generation == self._generation else None
                         ).run_in_background(self)

    def show_rows(self, rows: list) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            p = r.person
            values = [r.status, p.name, "、".join(p.roles), p.last_training.isoformat() if p.last_training else "从未培训",
                      f"{p.days_in_year:g}", r.due_on.isoformat() if r.due_on else "—", r.detail]
            for j, text in enumerate(values):
                item = QTableWidgetItem(text)
                if j == 0 and r.status in STATUS_COLORS:
                    item.setBackground(QBrush(QColor(STATUS_COLORS[r.status])))
                    item.setForeground(QBrush(QColor("#000000")))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        overdue = sum(1 for r in rows if r.status == OVERDUE)
        soon = sum(1 for r in rows if r.status == DUE_SOON)
        self.summary.setText(f"在岗 {len(rows)} 人：已逾期 {overdue} 人，即将到期（60天内）{soon} 人" if rows
                             else "没有在岗的社区工作者。在“社区工作者”页新建人员后，这里会列出每人的培训期限。")

    def choose_export_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "导出培训到期名单", str(Path.home() / "培训到期名单.xlsx"),
                                              "Excel 工作簿 (*.xlsx)")
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path):
        from reports.excel import write_training_due

        rows, profile = self.rows, self.profile()
        title = f"{dt.date.today().year}年 社区工作者培训到期名单（方案：{profile.name}）"
        return (op(lambda _job: write_training_due(rows, path, title, profile.training_rules))
                .with_progress("正在导出培训到期名单")
                .success(lambda out: self.summary.setText(f"已导出：{out}")).run_in_background(self))
