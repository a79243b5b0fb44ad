"""设置 → 备份与恢复, driven through the real widget offscreen: back up to a folder, restore on
another PC of the same village (after confirming), refusal of another village's backup."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QMessageBox

from storage import backup as bk
from storage.local import set_identity
from storage.repository import WriteOp

from tests.test_backup import _staff


@pytest.fixture
def make_ctx(qapp):
    from desktop.ui.jobs import runner

    made = []

    def make(db_path, village=None, name="测试村", staff=0):
        from desktop.ui.app import open_context

        ctx = open_context(db_path)
        if village:
            set_identity(ctx.repo, village, name)
            ctx.repo.bulk_write([WriteOp("org_unit", "insert", {"org_code": village, "name": name,
                                                                "level": "村/社区", "urban_rural": "农村社区"})]
                                + [WriteOp("staff", "insert", _staff(village, i)) for i in range(staff)])
            ctx.reload_identity()
        made.append(ctx)
        return ctx

    yield make
    runner().wait_idle()
    for ctx in made:
        ctx.repo.engine.dispose()


def _wait(qtbot, widget):
    qtbot.waitUntil(lambda: widget.handle is not None and widget.handle.is_done(), timeout=30000)


def test_backup_then_restore_on_another_pc_through_the_settings_box(qtbot, make_ctx, tmp_path, monkeypatch):
    from desktop.ui.backup_widget import create_widget

    ctx = make_ctx(tmp_path / "pc1" / "taizhang.sqlite3", "220102001001", staff=25)
    widget = create_widget(ctx)
    qtbot.addWidget(widget)
    assert "还没有备份" in widget.last.text()
    usb = tmp_path / "usb"
    usb.mkdir()
    widget.backup_to(usb)  # the passphrase is asked twice, and must match
    qtbot.waitUntil(lambda: widget.passphrase_box is not None, timeout=10000)
    box = widget.passphrase_box
    assert "无法找回" in box.findChild(QLabel).text()
    box.first.setText("村里的备份口令2024")
    box.second.setText("村里的备份口令2025")
    box.accept()
    assert "不一致" in box.error.text() and widget.passphrase_box is box
    box.second.setText("村里的备份口令2024")
    box.accept()
    _wait(qtbot, widget)
    made = list(usb.glob("台账备份-测试村220102001001-*.tzbak"))
    assert len(made) == 1
    assert widget.status.text().startswith(f"备份完成（已用口令加密）：{made[0]}")
    assert "测试村（220102001001）" in widget.status.text() and widget.backup_button.isEnabled()

    # The second PC of the same village, set up but still empty.
    pc2 = tmp_path / "pc2"
    pc2.mkdir()
    monkeypatch.setenv("TAIZHANG_HOME", str(pc2))
    ctx2 = make_ctx(pc2 / "taizhang.sqlite3", "220102001001")
    widget2 = create_widget(ctx2)
    qtbot.addWidget(widget2)
    changed = []
    ctx2.records_changed.connect(changed.append)
    widget2.restore_from(made[0])  # a wrong passphrase first: refused, nothing changed
    qtbot.waitUntil(lambda: widget2.passphrase_box is not None, timeout=10000)
    widget2.passphrase_box.first.setText("错误的口令123")
    widget2.passphrase_box.accept()
    _wait(qtbot, widget2)
    assert "备份口令不对" in widget2.status.text() and ctx2.repo.count("staff") == 0
    widget2.restore_from(made[0])
    qtbot.waitUntil(lambda: widget2.passphrase_box is not None, timeout=10000)
    widget2.passphrase_box.first.setText("村里的备份口令2024")
    widget2.passphrase_box.accept()
    qtbot.waitUntil(lambda: widget2.handle is not None and widget2.confirm_box is not None, timeout=10000)
    box = widget2.confirm_box
    assert "备份内容：测试村（220102001001）" in box.text() and "安全副本" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: widget2.status.text().startswith("恢复完成"), timeout=30000)
    assert ctx2.repo.count("staff") == 25
    assert "staff" in changed  # lists refresh themselves
    assert "恢复前的数据已另存为" in widget2.status.text()
    assert list((pc2 / "backups").glob("恢复前安全副本-*.sqlite3"))


def test_another_villages_backup_is_refused_in_chinese(qtbot, make_ctx, tmp_path, monkeypatch):
    from desktop.ui.backup_widget import create_widget

    ctx = make_ctx(tmp_path / "a" / "taizhang.sqlite3", "220102001001", staff=3)
    made = bk.make_backup(tmp_path / "usb", db_path=ctx.db_path).path
    other = tmp_path / "b"
    other.mkdir()
    monkeypatch.setenv("TAIZHANG_HOME", str(other))
    ctx2 = make_ctx(other / "taizhang.sqlite3", "220102001002", name="隔壁村", staff=2)
    widget = create_widget(ctx2)
    qtbot.addWidget(widget)
    widget.restore_from(made)
    _wait(qtbot, widget)
    assert widget.confirm_box is None
    assert "只能恢复同一个村" in widget.status.text() and widget.status.property("error") is True
    assert ctx2.repo.count("staff") == 2 and widget.restore_button.isEnabled()


def test_declining_the_confirmation_changes_nothing(qtbot, make_ctx, tmp_path):
    from desktop.ui.backup_widget import create_widget

    ctx = make_ctx(tmp_path / "pc" / "taizhang.sqlite3", "220102001001", staff=4)
    made = bk.make_backup(tmp_path / "usb", db_path=ctx.db_path).path
    ctx.repo.create("staff", _staff("220102001001", 500))
    widget = create_widget(ctx)
    qtbot.addWidget(widget)
    widget.restore_from(made)
    _wait(qtbot, widget)
    qtbot.waitUntil(lambda: widget.confirm_box is not None, timeout=10000)
    assert "1 条修改尚未上传" in widget.confirm_box.text()
    widget.confirm_box.button(QMessageBox.StandardButton.No).click()
    assert widget.status.text() == "没有恢复，本机数据没有改动。"
    assert ctx.repo.count("staff") == 5
