"""First run: choose this PC's village/community (or open the demo village).

The 12-digit statistical division code is checked with ``storage.validation.check_org_code``; the
township and county follow from the code and are shown as the user types.  The county server address
is optional (it can be set later in 设置).  The demo village is filled by ``storage.demo.fill_demo``
in a ``write_op`` job by the caller (``desktop.ui.app``) and is never synced.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout)

from storage import __version__
from storage.validation import check_org_code, county_of, normalize_text, org_level, township_of

VILLAGE, DEMO = "village", "demo"


def check_server_url(url: str) -> str | None:
    url = url.strip()
    if not url:
        return None
    if not re.match(r"^https?://[^\s/]+", url):
        return "县服务器地址：应以 http:// 或 https:// 开头，如 http://192.168.1.10:8000，请向县民政局索取"
    return None


class FirstRunDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("first_run")
        self.setWindowTitle(f"社区服务台账 {__version__} — 首次使用设置")
        self.choice: str | None = None
        layout = QVBoxLayout(self)
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
        self.server = QLineEdit()
        self.server.setObjectName("server_url")
        self.server.setPlaceholderText("可不填，以后在“设置”中填写，如 http://192.168.1.10:8000")
        self.server.setAccessibleName("县服务器地址")
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
        self.code.textChanged.connect(self._update)
        self.name.textChanged.connect(self._update)
        self.server.textChanged.connect(self._update)
        self._update()
        self.setMinimumWidth(560)

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
            elif len(code) == 12 and org_level(code) == "county":
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

    def _update(self) -> None:
        code = self.org_code
        if len(code) == 12 and not check_org_code(code) and org_level(code) != "county":
            level = "村/社区" if org_level(code) == "village" else "乡镇/街道"
            text = f"层级：{level}；所属县(市、区)代码：{county_of(code)}"
            if org_level(code) == "village":
                text += f"；所属乡镇(街道)代码：{township_of(code)}"
            self.derived.setText(text)
        else:
            self.derived.setText("输入12位代码后，这里显示所属乡镇(街道)和县(市、区)")
        # Show a problem only once the user has typed something, so the form does not open in red.
        typed = bool(code or self.org_name or self.server.text())
        problems = self.problems()
        shown = [p for p in problems if typed and not (p.startswith("区划代码") and len(code) < 12 and code)]
        self.message.setText("\n".join(shown))
        self.start_button.setEnabled(not problems)

    def try_accept(self) -> bool:
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
