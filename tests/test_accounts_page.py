"""pytest-qt: the 账号管理 page of a county PC against a real server process — sign-in with the password
(the null keyring keeps no token), list, 新建账号 with its one-time password, 停用 (asks first) and 启用,
重置密码, 更改角色和单位, 撤销电脑登录; absent on a village PC.  And the sign-in dialog: a one-time
password signs in only together with a new one."""

from __future__ import annotations

import re

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QPushButton

from desktop.ui.jobs import runner
from tests.serverproc import PASSWORD, VILLAGE, VILLAGE2, ServerProcess, SyncTestClient, setup_county

pytestmark = pytest.mark.usefixtures("insecure_keyring")


def _wait():
    assert runner().wait_idle(60)


def _press(box, name: str) -> None:
    box.findChild(QPushButton, name).click()
    _wait()


def _cells(page, name: str) -> list[str]:
    page.select(name)
    row = page.table.currentRow()
    return [page.table.item(row, j).text() for j in range(page.table.columnCount())]


def test_accounts_page_on_a_county_pc(qtbot, tmp_path):
    from desktop.ui import accounts_page
    from desktop.ui.context import AppContext
    from desktop.ui.sync_widgets import LoginDialog

    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    with server:
        setup_county(server)
        village_pc = SyncTestClient(tmp_path / "clients", "cunpc", server.url, "cun")
        pc = SyncTestClient(tmp_path / "clients", "xianpc", server.url, "xian")
        try:
            village_pc.sync()
            assert accounts_page.create_page(AppContext(village_pc.repo)) is None  # a village manages no one
            pc.sync()  # the county PC: identity, role and the org-unit tree come with the sign-in and sync
            page = accounts_page.create_page(AppContext(pc.repo))
            qtbot.addWidget(page)
            page.show()
            _wait()
            # no stored token: the page asks for this account's password, then lists
            assert page.sign_in.isVisible() and "密码" in page.message.text()
            page.ctx.remember_stored(role="")  # as if the role had changed since the app started
            qtbot.keyClicks(page.password, PASSWORD)
            page.reload()
            _wait()
            assert not page.sign_in.isVisible() and page.message.text() == "共 4 个账号"
            assert page.ctx.stored.role == "county"  # the sign-in's settings, read in its job
            assert _cells(page, "cun")[:4] == ["cun", "村(社区)", "幸福村（220102001001）", "正常"]
            assert _cells(page, "cun")[5] == "1" and page.devices.rowCount() == 1
            page.select("xian")
            assert not page.buttons["disable"].isEnabled()  # one's own account is not managed here

            # 新建账号: role and unit chosen in the dialog, the one-time password shown once
            dialog = page.open_create()
            qtbot.keyClicks(dialog.name, "cun3")
            dialog.role.setCurrentIndex(dialog.role.findData("village"))
            dialog.unit.setCurrentIndex(dialog.unit.findData(VILLAGE2))
            assert dialog.unit.currentText() == "和平社区（220102001002）"
            dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
            _wait()
            assert "一次性密码" in page.one_time_box.text() and "已创建" in page.message.text()
            assert _cells(page, "cun3")[3] == "待改密码"
            page.one_time_box.accept()

            # 停用 asks first: 取消 changes nothing, 停用 stops the account's PC at its next request
            page.select("cun")
            box = page.disable()
            assert box.defaultButton().objectName() == "no"
            _press(box, "no")
            assert _cells(page, "cun")[3] == "正常"
            page.select("cun")
            _press(page.disable(), "yes")
            assert _cells(page, "cun")[3] == "已停用" and "已停用" in page.message.text()
            with pytest.raises(Exception, match="停用"):
                village_pc.client().sync(password=PASSWORD)
            page.select("cun")
            assert page.buttons["enable"].isEnabled()
            page.enable()
            _wait()
            assert _cells(page, "cun")[3] == "正常"
            village_pc.sync()

            # 重置密码: confirmed, a new one-time password
            page.select("cun2")
            _press(page.reset_password(), "yes")
            assert "cun2" in page.one_time_box.text() and _cells(page, "cun2")[3] == "待改密码"

            # 更改角色和单位, then 撤销电脑登录 of the village PC
            page.select("cun2")
            dialog = page.open_set_role()
            dialog.unit.setCurrentIndex(dialog.unit.findData(VILLAGE))
            dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
            _press(page.confirm_box, "yes")
            assert _cells(page, "cun2")[2] == "幸福村（220102001001）"
            page.select("cun")
            page.devices.selectRow(0)
            _press(page.revoke_device(), "yes")
            assert _cells(page, "cun")[5] == "0" and "撤销" in page.message.text()

            # the village signs in with the one-time password in the app's sign-in dialog: it asks for a new one
            page.select("cun")
            _press(page.reset_password(), "yes")
            one_time = re.search(r"一次性密码：\s*(\S+)", page.one_time_box.text()).group(1)
            login = LoginDialog(AppContext(village_pc.repo))
            qtbot.addWidget(login)
            login.show()
            assert not login.new_password.isVisible()
            login.password.setText(one_time)
            login.sign_in()
            _wait()
            assert login.change_password.isChecked() and login.new_password.isVisible()
            assert "一次性密码" in login.message.text()
            login.new_password.setText("new-mima-2026")
            login.new_password2.setText("new-mima-2027")
            login.sign_in()
            assert "不一致" in login.message.text()
            login.new_password2.setText("new-mima-2026")
            login.sign_in()
            _wait()
            assert login.result() == LoginDialog.DialogCode.Accepted and login.info["role"] == "village"
            village_pc.client().login("new-mima-2026")

            audit = server.admin("audit").stdout
            for action in ("add-user", "disable", "enable", "reset-password", "set-role", "revoke-device", "change-password"):
                assert action in audit
        finally:
            runner().wait_idle(30)
            pc.close()
            village_pc.close()
