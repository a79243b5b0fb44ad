"""本机操作人: who is at the PC, chosen from the village's staff list when the app opens
(``storage.operators``).  A PIN is optional: typed the first time, it becomes that person's PIN."""

from __future__ import annotations

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QListWidget, QVBoxLayout,
                               QWidget)

from storage import operators


class OperatorDialog(QDialog):
    def __init__(self, repo, parent: QWidget | None = None):
        super().__init__(parent)
        self.repo = repo
        self.chosen: str | None = None
        self.setObjectName("operator_dialog")
        self.setWindowTitle("请选择您的姓名")
        layout = QVBoxLayout(self)
        intro = QLabel("这台电脑由几位同事共用。请选择您的姓名：您录入、修改、提交的内容都会记下是谁做的"
                       "（修改记录、月报页和县里的审核中都能看到）。")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.names = QListWidget()
        self.names.setObjectName("operator_names")
        names = operators.staff_names(repo)
        self.names.addItems(names)
        last = operators.last_operator(repo)
        self.names.setCurrentRow(names.index(last) if last in names else 0)
        self.names.currentTextChanged.connect(self._name_changed)
        self.names.itemDoubleClicked.connect(lambda _item: self.accept())
        layout.addWidget(self.names)
        form = QFormLayout()
        self.pin = QLineEdit()
        self.pin.setObjectName("operator_pin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(12)
        form.addRow("PIN(&P)：", self.pin)
        layout.addLayout(form)
        self.pin_hint = QLabel()
        self.pin_hint.setWordWrap(True)
        layout.addWidget(self.pin_hint)
        self.error = QLabel()
        self.error.setObjectName("operator_error")
        self.error.setStyleSheet("color: #b03a2e;")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("开始工作")
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self._name_changed(self.names.currentItem().text() if self.names.currentItem() else "")

    def _name_changed(self, name: str) -> None:
        self.error.clear()
        self.pin.clear()
        if operators.has_pin(self.repo, name):
            self.pin_hint.setText("请输入您的 PIN。")
        else:
            self.pin_hint.setText("PIN 可不填；填写4到12位数字，就成为您的 PIN，以后选您的姓名时需要输入。")

    def accept(self) -> None:
        item = self.names.currentItem()
        if item is None:
            self.error.setText("请先选择您的姓名")
            return
        try:
            self.chosen = operators.choose(self.repo, item.text(), self.pin.text() or None)
        except operators.OperatorError as exc:
            self.error.setText(str(exc))
            self.pin.selectAll()
            self.pin.setFocus()
            return
        super().accept()
