"""账号管理 — on a county or township PC: the accounts this sign-in may manage, straight from the county
server (``sync.account_admin``): role, unit, state, last sign-in, sign-in lock and the PCs signed in.

新建账号 (a one-time password), 重置密码, 停用 / 启用, 解锁, 更改角色和单位, 撤销电脑登录 each go to the
server, which checks this account's role and records the action; the ones that cannot be undone ask
first (``jobs.ask``).  A one-time password is shown once, in a box whose text can be copied.  All work
runs on the network thread (``network_op``); nothing here writes the local ledger (a sign-in with a
password, when the keyring cannot keep one, goes through the writer like a sync's).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHeaderView, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.ui.context import AppContext, read_stored_settings
from desktop.ui.flow_layout import FlowLayout, labelled
from desktop.ui.jobs import ask, network_op, run_on_writer
from desktop.ui.read_only_table import read_only_table
from desktop.ui.review_page import role_of
from storage.orgcode import OrgCode

ROLE_LABELS = {"village": "村(社区)", "township": "乡镇/街道", "county": "县民政局", "admin": "管理员"}
ROLE_LEVELS = {"village": "village", "township": "township", "county": "county", "admin": "county"}
HEADERS = ["用户名", "角色", "单位", "状态", "最近登录", "已登录电脑", "登录锁定"]


def local_time(text: str | None) -> str:
    """A UTC ISO time from the server as this PC's local time, to the minute; "-" for none."""
    if not text:
        return "-"
    return dt.datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M")


class AccountDialog(QDialog):
    """用户名 (for a new account), 角色 and 单位; the units offered are those of the chosen role's level."""

    def __init__(self, parent: QWidget, title: str, roles: list[str], units: list[dict], *,
                 name: str | None = None, role: str | None = None, org_code: str | None = None):
        super().__init__(parent)
        self.setObjectName("accountDialog")
        self.setWindowTitle(title)
        self.units = units
        form = QFormLayout(self)
        self.name = QLineEdit(name or "")
        self.name.setObjectName("name")
        self.name.setMaxLength(100)
        self.name.setReadOnly(name is not None)
        form.addRow("用户名(&N)：", self.name)
        self.role = QComboBox()
        self.role.setObjectName("role")
        for r in roles:
            self.role.addItem(ROLE_LABELS.get(r, r), r)
        form.addRow("角色(&R)：", self.role)
        self.unit = QComboBox()
        self.unit.setObjectName("unit")
        self.unit.setEditable(True)  # a unit the county added since this PC last synced: type its code
        self.unit.setToolTip("选择单位，或直接输入12位区划代码")
        form.addRow("单位(&U)：", self.unit)
        self.note = QLabel("新账号会得到一个一次性密码，本人第一次登录时必须改成自己的密码。" if name is None else
                           "更改后，该账号已登录的电脑都须重新登录。")
        self.note.setWordWrap(True)
        form.addRow(self.note)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #C00000")
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("确定")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.role.currentIndexChanged.connect(lambda _i: self._fill_units())
        if role is not None and self.role.findData(role) >= 0:
            self.role.setCurrentIndex(self.role.findData(role))
        self._fill_units(org_code)

    def _fill_units(self, select: str | None = None) -> None:
        level = ROLE_LEVELS.get(self.role.currentData() or "", "")
        self.unit.clear()
        for u in self.units:
            if OrgCode(u["org_code"]).level == level:
                self.unit.addItem(f"{u['name']}（{u['org_code']}）", u["org_code"])
        if select:
            i = self.unit.findData(select)
            self.unit.setCurrentIndex(i) if i >= 0 else self.unit.setEditText(select)

    def values(self) -> tuple[str, str, str]:
        """(name, role, org_code) as chosen; a typed code is taken as it is (the server checks it)."""
        text = self.unit.currentText().strip()
        i = self.unit.findText(text)
        code = self.unit.itemData(i) if i >= 0 else text
        return self.name.text().strip(), self.role.currentData(), code

    def _check(self) -> None:
        name, role, code = self.values()
        if not name:
            self.error.setText("请填写用户名")
            self.name.setFocus()
        elif not role:
            self.error.setText("请选择角色")
        elif not (code.isdigit() and len(code) == 12):
            self.error.setText("请选择单位，或输入12位区划代码")
            self.unit.setFocus()
        else:
            self.accept()


class AccountsPage(QWidget):
    def __init__(self, ctx: AppContext, role: str):
        super().__init__()
        self.ctx, self.role = ctx, role
        self.setObjectName("accountsPage")
        self.listing: dict = {"accounts": [], "creatable_roles": []}
        self.units: list[dict] = []
        self.handle = None
        self.dialog: QDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self._token: str | None = None  # this page's sign-in, when the keyring cannot keep it
        layout = QVBoxLayout(self)
        title = QLabel("账号管理")
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        who = ("全县的村(社区)、乡镇和县级账号" if role == "county" else "本乡镇(街道)各村(社区)的账号")
        intro = QLabel(f"这里管理{who}。每项操作都直接发到县级服务器，由服务器检查权限，并记录谁在何时对哪个账号做了什么。")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        self.sign_in = QWidget()
        sign_in_row = FlowLayout(self.sign_in)
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.returnPressed.connect(self.reload)
        sign_in_row.addWidget(labelled("本账号的密码(&P)：", self.password))
        sign_in_button = QPushButton("登录并刷新")
        sign_in_button.clicked.connect(self.reload)
        sign_in_row.addWidget(sign_in_button)
        self.sign_in.setVisible(False)
        layout.addWidget(self.sign_in)

        bar = FlowLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip, slot in (
                ("refresh", "刷新(&S)", "重新从县级服务器读取账号列表", self.reload),
                ("create", "新建账号(&N)…", "创建账号：会给出一个一次性密码，本人第一次登录时改成自己的密码", self.open_create),
                ("reset", "重置密码(&W)…", "忘记密码时：给出一个一次性密码，原密码立即失效", self.reset_password),
                ("disable", "停用(&D)…", "停用账号：它的所有电脑在下一次同步时即被拒绝", self.disable),
                ("enable", "启用(&E)", "重新启用停用的账号", self.enable),
                ("unlock", "解锁(&L)", "解除因多次输错密码而锁定的登录", self.unlock),
                ("set_role", "更改角色和单位(&G)…", "调动岗位时：更改账号的角色和所属单位", self.open_set_role)):
            b = QPushButton(text)
            b.setObjectName(key)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            bar.addWidget(b)
            self.buttons[key] = b
        layout.addLayout(bar)

        self.table = read_only_table(HEADERS, name="accounts", single=True)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_selected)
        layout.addWidget(self.table, 3)

        self.devices_title = QLabel("已登录的电脑")
        layout.addWidget(self.devices_title)
        self.devices = read_only_table(["电脑名称", "首次登录", "最近同步"], name="devices", single=True)
        self.devices.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.devices.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.devices, 1)
        self.revoke_button = QPushButton("撤销这台电脑的登录(&V)…")
        self.revoke_button.setObjectName("revoke")
        self.revoke_button.setToolTip("电脑丢失或更换时：这台电脑下次同步时须重新登录")
        self.revoke_button.clicked.connect(self.revoke_device)
        layout.addWidget(self.revoke_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self._update_buttons()
        self._loaded = False

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's naming
        """The list is read when the page is first shown, not when the app starts (it asks the server)."""
        super().showEvent(event)
        if not self._loaded:
            self._loaded = True
            self.reload()

    # ------------------------------------------------------------------ talking to the server
    def _busy(self) -> bool:
        return self.handle is not None and not self.handle.is_done()

    def _call(self, label: str, fn, then) -> object:
        """Run ``fn(admin)`` on the network thread with this PC's sign-in, then ``then(result)`` here."""
        if self._busy():
            return None
        repo, password, token = self.ctx.repo, self.password.text() or None, self._token

        def work(job):
            from sync.account_admin import AccountAdmin

            job.progress(0, 0, label)
            with AccountAdmin(repo, password=password, token=token, writer=run_on_writer) as admin:
                result = fn(admin), admin.transport.token
            # a sign-in with the password wrote this account's role and the county's rules: read them here
            return result, read_stored_settings(repo) if password else None

        def done(answer) -> None:
            (result, self._token), stored = answer
            if stored is not None:
                self.ctx.remember_stored(stored)
            self.password.clear()
            self.sign_in.setVisible(False)
            then(result)

        self.message.setText(label + "…")
        self.handle = (network_op(work).with_progress(label).success(done).failure(self._failed)
                       .run_in_background(self))
        return self.handle

    def _failed(self, exc: BaseException) -> None:
        from desktop.ui.jobs import describe_error
        from sync.client import LoginRequired, SyncError

        if isinstance(exc, LoginRequired) and self.ctx.server_url():
            self._token = None
            self.sign_in.setVisible(True)
            self.password.setFocus()
        # the server's and the sync client's messages are Chinese already
        self.message.setText(f"未完成：{exc if isinstance(exc, SyncError) else describe_error(exc)}")

    def reload(self):
        from storage import reading

        engine, scope = self.ctx.repo.engine, OrgCode(self.ctx.org_code).scope

        def fetch(admin):
            return admin.accounts(), reading.units_in_scope(engine, scope)

        return self._call("正在读取账号列表", fetch, self._show)

    def _show(self, result) -> None:
        self.listing, self.units = result
        chosen = self.selected_name()
        rows = self.listing["accounts"]
        self.table.setRowCount(len(rows))
        for i, a in enumerate(rows):
            unit = f"{a['org_name']}（{a['org_code']}）" if a["org_name"] else a["org_code"]
            locked = f"锁定至 {local_time(a['locked_until'])}" if a["locked_until"] else ""
            devices = "、".join(d["device_name"] for d in a["devices"])
            cells = [a["name"], a["role_label"], unit, a["state_label"], local_time(a["last_login"]),
                     str(len(a["devices"])), locked]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, a["name"])
                if j == 5 and devices:
                    item.setToolTip(devices)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.message.setText(f"共 {len(rows)} 个账号")
        if chosen:
            self.select(chosen)
        self._show_selected()

    # ------------------------------------------------------------------ selection
    def select(self, name: str) -> None:
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).data(Qt.ItemDataRole.UserRole) == name:
                self.table.selectRow(i)
                return

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole) if rows else None

    def selected(self) -> dict | None:
        name = self.selected_name()
        return next((a for a in self.listing["accounts"] if a["name"] == name), None)

    def selected_device(self) -> dict | None:
        account, rows = self.selected(), self.devices.selectionModel().selectedRows()
        return account["devices"][rows[0].row()] if account and rows else None

    def _show_selected(self) -> None:
        account = self.selected()
        devices = account["devices"] if account else []
        self.devices_title.setText(f"账号 {account['name']} 已登录的电脑（{len(devices)} 台）" if account
                                   else "已登录的电脑（请先在上面选中一个账号）")
        self.devices.setRowCount(len(devices))
        for i, d in enumerate(devices):
            for j, text in enumerate((d["device_name"], local_time(d["created_at"]), local_time(d["last_seen"]))):
                self.devices.setItem(i, j, QTableWidgetItem(text))
        self._update_buttons()

    def _update_buttons(self) -> None:
        a = self.selected()
        ok = bool(a and a["manageable"])
        self.buttons["create"].setEnabled(bool(self.listing["creatable_roles"]))
        self.buttons["reset"].setEnabled(ok)
        self.buttons["disable"].setEnabled(ok and a["state"] != "disabled")
        self.buttons["enable"].setEnabled(ok and a["state"] == "disabled")
        self.buttons["unlock"].setEnabled(ok and bool(a["locked_until"]))
        self.buttons["set_role"].setEnabled(ok)
        self.revoke_button.setEnabled(ok and self.selected_device() is not None)

    # ------------------------------------------------------------------ actions
    def _acted(self, result: dict) -> None:
        """After an action: its one-time password (if any) shown once, and the list read afresh."""
        message, name = result.get("message", ""), (result.get("account") or {}).get("name")
        if result.get("one_time_password"):
            self.show_one_time_password(name or "", result["one_time_password"])
        units = self.units

        def shown(listing) -> None:
            self._show(listing)
            if name:
                self.select(name)
            self.message.setText(message)

        self.handle = None  # the action's job has finished; this is its follow-up
        self._call("正在读取账号列表", lambda admin: (admin.accounts(), units), shown)

    def show_one_time_password(self, name: str, one_time: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, "一次性密码",
                          f"账号 {name} 的一次性密码：\n\n{one_time}\n\n请当面或电话告知本人。它只能用来在下次登录时"
                          "设置新密码（至少8个字符）。关闭本窗口后不会再显示。", QMessageBox.StandardButton.Ok, self)
        box.setObjectName("oneTimePassword")
        box.button(QMessageBox.StandardButton.Ok).setText("我已记下")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.one_time_box = box
        box.open()
        return box

    def _confirm(self, title: str, text: str, yes: str, run, *, destructive: bool = True) -> QMessageBox:
        self.confirm_box = ask(self, title, text, yes, run, name="confirm", destructive=destructive)
        return self.confirm_box

    def _act(self, label: str, fn):
        return self._call(label, fn, self._acted)

    def open_create(self) -> AccountDialog:
        self.dialog = AccountDialog(self, "新建账号", self.listing["creatable_roles"], self.units)
        self.dialog.accepted.connect(lambda: self.create(*self.dialog.values()))
        self.dialog.open()
        return self.dialog

    def create(self, name: str, role: str, org_code: str):
        return self._act("正在创建账号", lambda admin: admin.create(name, role, org_code))

    def reset_password(self) -> QMessageBox | None:
        a = self.selected()
        if not a:
            return None
        name = a["name"]
        return self._confirm("重置密码", f"重置账号 {name} 的密码？\n\n原密码立即失效；会给出一个一次性密码，"
                             "本人下次登录时用它设置新密码。", "重置密码",
                             lambda: self._act("正在重置密码", lambda admin: admin.reset_password(name)))

    def disable(self) -> QMessageBox | None:
        a = self.selected()
        if not a:
            return None
        name = a["name"]
        return self._confirm("停用账号", f"停用账号 {name}？\n\n它登录过的 {len(a['devices'])} 台电脑在下一次同步时"
                             "即被拒绝，也不能再登录。以后可以再“启用”。", "停用",
                             lambda: self._act("正在停用账号", lambda admin: admin.disable(name)))

    def enable(self):
        a = self.selected()
        if a:
            name = a["name"]
            return self._act("正在启用账号", lambda admin: admin.enable(name))
        return None

    def unlock(self):
        a = self.selected()
        if a:
            name = a["name"]
            return self._act("正在解锁", lambda admin: admin.unlock(name))
        return None

    def open_set_role(self) -> AccountDialog | None:
        a = self.selected()
        if not a:
            return None
        self.dialog = AccountDialog(self, f"更改账号 {a['name']} 的角色和单位", self.listing["creatable_roles"],
                                    self.units, name=a["name"], role=a["role"], org_code=a["org_code"])
        self.dialog.accepted.connect(lambda: self.set_role(a, *self.dialog.values()[1:]))
        self.dialog.open()
        return self.dialog

    def set_role(self, account: dict, role: str, org_code: str) -> QMessageBox:
        name = account["name"]
        unit = next((f"{u['name']}（{u['org_code']}）" for u in self.units if u["org_code"] == org_code), org_code)
        return self._confirm("更改角色和单位", f"把账号 {name} 改为{ROLE_LABELS.get(role, role)}账号，单位 {unit}？\n\n"
                             f"它登录过的 {len(account['devices'])} 台电脑都须重新登录。", "更改",
                             lambda: self._act("正在更改角色", lambda admin: admin.set_role(name, role, org_code)),
                             destructive=False)

    def revoke_device(self) -> QMessageBox | None:
        a, d = self.selected(), self.selected_device()
        if not a or not d:
            return None
        name, device_id = a["name"], d["id"]
        return self._confirm("撤销电脑登录", f"撤销电脑“{d['device_name']}”上账号 {name} 的登录？\n\n"
                             "这台电脑下次同步时须重新登录（电脑丢失或更换时使用）。", "撤销登录",
                             lambda: self._act("正在撤销登录", lambda admin: admin.revoke_device(name, device_id)))


def create_page(ctx: AppContext) -> QWidget | None:
    """Only on a township or county PC (the same PCs that have 审核)."""
    role = role_of(ctx)
    return AccountsPage(ctx, role) if role in ("township", "county") else None


__all__ = ["AccountsPage", "AccountDialog", "create_page", "local_time"]
