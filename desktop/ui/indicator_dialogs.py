"""The 指标 page's dialogs: the records behind a number (PII masked) and the indicator-plan editor."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout)


from desktop.ui.read_only_table import read_only_table
from reports.indicators import INDICATORS
from reports.profiles import OP_TEXT, Profile, Target


class RecordsDialog(QDialog):
    """The records behind a number (PII masked)."""

    def __init__(self, title: str, headers: list[str], rows: list[list[str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(900, 520)
        layout = QVBoxLayout(self)
        info = QLabel(f"{title}（共 {len(rows)} 条；身份号码、手机号已隐藏部分数字）")
        info.setWordWrap(True)
        layout.addWidget(info)
        self.table = read_only_table(headers, row_count=len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class ProfileEditor(QDialog):
    """Create a county's own profile from an existing one: name and one target per indicator."""

    def __init__(self, base: Profile, parent=None):
        super().__init__(parent)
        self.setWindowTitle("新建指标方案")
        self.resize(760, 560)
        self.base = base
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"以“{base.name}”为基础。比较方式选“无目标值”表示本方案不考核该指标。"))
        self.table = QTableWidget(len(INDICATORS), 3)
        self.table.setHorizontalHeaderLabels(["指标", "比较方式", "目标值"])
        self.ops: list[QComboBox] = []
        self.values: list[QDoubleSpinBox] = []
        for r, d in enumerate(INDICATORS):
            t = base.target(d.id)
            item = QTableWidgetItem(f"{d.id} {d.name}（{d.unit}）")
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(r, 0, item)
            combo = QComboBox()
            combo.addItems(["无目标值", "≥", ">", "="])
            combo.setCurrentIndex({None: 0, ">=": 1, ">": 2, "=": 3}[t.op])
            spin = QDoubleSpinBox()
            spin.setRange(0, 100000)
            spin.setDecimals(1)
            spin.setValue(t.value or 0)
            self.table.setCellWidget(r, 1, combo)
            self.table.setCellWidget(r, 2, spin)
            self.ops.append(combo)
            self.values.append(spin)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("保存")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def profile(self, name: str) -> Profile:
        targets = {}
        for d, combo, spin in zip(INDICATORS, self.ops, self.values):
            op = {0: None, 1: ">=", 2: ">", 3: "="}[combo.currentIndex()]
            old = self.base.target(d.id)
            if op is None:
                targets[d.id] = Target(None, None, "—", "本方案不考核此指标")
            else:
                value = spin.value()
                unit = "%" if d.unit == "%" else f" {d.unit}"
                same = old.op == op and old.value == value
                targets[d.id] = Target(op, value, old.text if same else f"{OP_TEXT[op]}{value:g}{unit}",
                                       old.quote if same else f"{name}自定（基于{self.base.name}）",
                                       dict(old.params) if same else {})
        return Profile(name=name, source=f"自定义方案（基于{self.base.name}）", targets=targets)


# --------------------------------------------------------------------------- the page
