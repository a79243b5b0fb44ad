"""First run: choose this PC's village/community (or open the demo village).

The 12-digit statistical division code is checked with ``storage.validation.check_org_code``; the
county follows from the code and is shown by name (``storage.places``, GB/T 2260) as the user types;
the township's and village's names come with the org tree at the first sync.  A field is checked
when it is left (or when no more typing could make it right), never while it is still being typed;
the dialog grows with its messages instead of squashing the inputs.  The county server address
is optional (it can be set later in 设置).  The demo village is filled by ``storage.demo.fill_demo``
in a ``write_op`` job by the caller (``desktop.ui.app``) and is never synced.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout)

from storage import __version__
from storage.orgcode import OrgCode, is_org_code
from storage.places import county_name
from storage.validation import check_org_code, normalize_text

VILLAGE, DEMO = "village", "demo"


def check_server_url(url: str) -> str | None:
    url = url.strip()
    if not url:
        return None
    if not re.match(r"^https?://[^\s/]+", url):
        return "县服务器地址：应以 http:// 或 https:// 开头，如 http://192.168.1.10:8750，请向县民政局索取"
    return None


class FirstRunDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("first_run")
        self.setWindowTitle(f"社区服务台账 {__version__} — 首次使用设置")
        self.choice: str | None = None
        layout = QVBoxLayout(self)
        self._left: set[str] = set()  # fields the user has left: only these show their problems
        intro = QLabel("欢迎使用社区服务台账。请先设置这台电脑为哪个村(社区)记台账。\n"
                       "区划代码是12位统计用区划代码，可在县民政局下发的通知或国家统计局网站查到。")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.code = QLineEdit()
        self.code.setObjectName("org_code")
        self.code.setPlaceholderText("如 220102001001")
        self.code.setMaxLength(12)
        self.code.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,12}"), self))
        self.code.setAccessibleName("区划代码")
        self.name = QLineEdit()
        self.name.setObjectName("org_name")
        self.name.setPlaceholderText("如 幸福村 或 和平社区")
        self.name.setMaxLength(100)
        self.name.setAccessibleName("村(社区)名称")
        self.derived = QLabel()
        self.derived.setObjectName("derived")
        self.derived.setWordWrap(True)
        self.server = QLineEdit()
        self.server.setObjectName("server_url")
        self.server.setPlaceholderText("可不填，以后在“设置”中填写，如 http://192.168.1.10:8750")
        self.server.setAccessibleName("县服务器地址")
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for edit in (self.code, self.name, self.server):
            edit.setMinimumHeight(edit.sizeHint().height())
            edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance("0") * 16)
        form.addRow("区划代码 *", self.code)
        form.addRow("村(社区)名称 *", self.name)
        form.addRow("", self.derived)
        form.addRow("县服务器地址", self.server)
        layout.addLayout(form)
        self.message = QLabel()
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.start_button = QPushButton("开始使用")
        self.start_button.setObjectName("start")
        self.start_button.setDefault(True)
        self.demo_button = QPushButton("打开演示村（练习用）")
        self.demo_button.setObjectName("demo")
        self.demo_button.setToolTip("打开“幸福村（演示数据）”练习使用；演示数据不会上传")
        quit_button = QPushButton("退出")
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.demo_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(quit_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout.addWidget(buttons)
        self.start_button.clicked.connect(self.try_accept)
        self.demo_button.clicked.connect(self.choose_demo)
        quit_button.clicked.connect(self.reject)
        self._keys = {self.code: "code", self.name: "name", self.server: "server"}
        for edit in self._keys:
            edit.textChanged.connect(self._update)
            edit.installEventFilter(self)  # focus-out = the field was left (editingFinished needs an edit)
        self._update()
        self.setMinimumWidth(max(560, self.fontMetrics().horizontalAdvance("中") * 34))  # scales with the font

    # ------------------------------------------------------------------ validation
    def problems(self) -> list[str]:
        code = self.org_code
        out = []
        if not code:
            out.append("区划代码：请填写本村(社区)的12位统计用区划代码")
        else:
            issues = check_org_code(code)
            if issues:
                out.append(issues[0].message)
            elif is_org_code(code) and OrgCode(code).level == "county":
                out.append("区划代码：这是县(市、区)一级的代码，请填写到村(社区)一级的12位代码（最后三位不全为0）")
        if not self.org_name:
            out.append("村(社区)名称：请填写，如“幸福村”")
        server_problem = check_server_url(self.server.text())
        if server_problem:
            out.append(server_problem)
        return out

    @property
    def org_code(self) -> str:
        return self.code.text().strip()

    @property
    def org_name(self) -> str:
        return normalize_text(self.name.text())

    @property
    def server_url(self) -> str:
        return self.server.text().strip().rstrip("/")

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's naming
        if event.type() == QEvent.Type.FocusOut and watched in self._keys:
            self._left.add(self._keys[watched])
            self._update()
        return super().eventFilter(watched, event)

    def _ready_to_judge(self, problem: str) -> bool:
        """Show a field's problem once the user left the field, or when more typing cannot fix it."""
        if problem.startswith("区划代码"):
            return "code" in self._left or len(self.org_code) == 12
        if problem.startswith("村(社区)名称"):
            return "name" in self._left
        text = self.server.text().strip()
        could_still_become_valid = any(p.startswith(text) or text.startswith(p) for p in ("http://", "https://"))
        return "server" in self._left or not could_still_become_valid

    def _update(self) -> None:
        code = self.org_code
        org = OrgCode(code) if is_org_code(code) and not check_org_code(code) else None
        if org is not None and org.level != "county":
            county = county_name(code) or "（县名不在本程序自带的区划表中，以县民政局下发的为准）"
            text = f"所属县(市、区)：{county}（{org.county}）"
            if org.level == "village":
                text += f"\n所属乡镇(街道)代码：{org.township}（名称在第一次同步后显示）"
            else:
                text += "\n这是乡镇(街道)一级的代码"
            self.derived.setText(text)
        else:
            self.derived.setText("输入12位代码后，这里显示所属县(市、区)的名称和乡镇(街道)代码")
        problems = self.problems()
        self.message.setText("\n".join(p for p in problems if self._ready_to_judge(p)))
        self.start_button.setEnabled(not problems)
        self._grow()

    def _grow(self) -> None:
        """Taller when messages or the place name need the room (wrapped labels): never squash the inputs."""
        layout = self.layout()
        layout.activate()
        width = max(self.width(), self.minimumWidth())
        needed = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.sizeHint().height()
        needed = max(needed, layout.totalMinimumSize().height())
        if needed > self.height():
            self.resize(width, needed)

    def try_accept(self) -> bool:
        self._left.update(("code", "name", "server"))
        problems = self.problems()
        if problems:
            self.message.setText("\n".join(problems))
            return False
        self.choice = VILLAGE
        self.accept()
        return True

    def choose_demo(self) -> None:
        self.choice = DEMO
        self.accept()

    def keyPressEvent(self, event) -> None:  # Enter = 开始使用 only when valid
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.try_accept()
            return
        super().keyPressEvent(event)


__all__ = ["FirstRunDialog", "check_server_url", "VILLAGE", "DEMO"]
