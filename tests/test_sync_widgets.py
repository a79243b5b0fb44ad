"""The 同步 panel, sign-in dialog and conflicts dialog, offscreen, against a real server process."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.serverproc import PASSWORD, VILLAGE, ServerProcess, live_records, scope_of, setup_county


@pytest.fixture
def server(tmp_path):
    srv = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    srv.start()
    setup_county(srv)
    yield srv
    srv.stop()


SLOW_S = 4.0  # how long the slow-link proxy holds each push and pull answer


def _service(persons: int) -> dict:
    return {"org_code": VILLAGE, "date": dt.date(2026, 10, 3), "category": "养老", "mode": "上门",
            "target": "老年人", "persons": persons}


def _save_a_form(qtbot, repo, persons: int):
    """A 服务记录 typed into a real form and saved: (the form, the record, seconds the save took)."""
    import time

    from PySide6.QtWidgets import QDialog

    from desktop.forms import RecordForm

    form = RecordForm(repo, "service", VILLAGE, None, autosave_ms=60_000)
    form.show()
    qtbot.waitExposed(form)
    for name, value in _service(persons).items():
        if name != "org_code":
            form.field_widget(name).set_raw(value)
    started = time.monotonic()
    record = form.save()
    waited = time.monotonic() - started
    assert record is not None and form.result() == QDialog.DialogCode.Accepted
    return form, record, waited


def test_sign_in_and_sync_from_the_panel(qtbot, repo, server, insecure_keyring):
    from PySide6.QtWidgets import QDialog

    from desktop.ui.context import AppContext
    from desktop.ui.jobs import runner
    from desktop.ui.sync_widgets import create_widget
    from storage import local
    from storage.db import make_engine

    repo.device_id = local.device_id(repo)
    rec = repo.create("service", _service(4))
    ctx = AppContext(repo)
    panel = create_widget(ctx)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.insecure.isVisible()  # says the keyring cannot keep the token
    assert "尚未登录" in panel.server_label.text()

    panel.start_sync()  # no server yet: the sign-in dialog opens
    dialog = panel._dialog
    assert dialog.isVisible()
    dialog.server.setText(server.url)
    dialog.user.setText("cun")
    dialog.password.setText("wrong-password")
    dialog.sign_in()
    qtbot.waitUntil(lambda: dialog.buttons.isEnabled(), timeout=30_000)
    assert "用户名或密码不正确" in dialog.message.text()
    dialog.password.setText(PASSWORD)
    dialog.sign_in()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=30_000)
    assert repo.get_setting("server_url") == server.url and ctx.identity.org_code == VILLAGE
    assert panel.password.isVisible()  # insecure keyring: a password for each sync

    panel.start_sync()
    assert "密码" in panel.message.text() and panel.handle is None  # nothing sent without it

    panel.password.setText(PASSWORD)
    panel.start_sync()
    qtbot.waitUntil(lambda: panel.handle.is_done(), timeout=60_000)
    runner().wait_idle()
    assert panel.last_error is None, panel.last_error
    assert "同步完成" in panel.message.text()
    assert repo.unsent_count() == 0
    qtbot.waitUntil(lambda: "0 条" in panel.unsent_label.text(), timeout=10_000)
    engine = make_engine(server.db_url)
    try:
        assert ("service", rec["id"]) in live_records(engine, *scope_of("cun"))
    finally:
        engine.dispose()

    dialog = panel.open_conflicts()
    assert dialog.list.count() == 0
    dialog.close()


def test_demo_database_panel_refuses(qtbot, repo):
    from desktop.ui.context import AppContext
    from desktop.ui.sync_widgets import create_widget
    from storage import local

    local.set_identity(repo, VILLAGE, "幸福村（演示数据）", demo=True)
    panel = create_widget(AppContext(repo))
    qtbot.addWidget(panel)
    assert not panel.sync_button.isEnabled()
    assert "演示数据" in panel.message.text()


def test_conflicts_dialog_masks_id_numbers_and_phones(qtbot, repo):
    """Both versions of a person's record are listed, but ID numbers and phones stay masked."""
    import json

    from desktop.ui.context import AppContext
    from desktop.ui.sync_widgets import ConflictsDialog
    from storage.models import Conflict, new_id, utcnow

    mine = {"org_code": VILLAGE, "name": "王芳", "id_number": "110105194912310029", "phone": "13800138000",
            "roles": ["网格员"], "status": "在岗", "deleted": False}
    theirs = dict(mine, id_number="110105194912310037", phone="13900139000", name="王芳芳")
    with repo.engine.begin() as conn:  # sync bookkeeping row, as the client stores a conflict
        conn.execute(Conflict.__table__.insert().values(
            id=new_id(), record_type="staff", record_id=new_id(), org_code=VILLAGE, change_id=new_id(),
            local_payload=json.dumps(mine, ensure_ascii=False), server_payload=json.dumps(theirs, ensure_ascii=False),
            server_version=2, created_at=utcnow()))
    dialog = ConflictsDialog(AppContext(repo))
    qtbot.addWidget(dialog)
    text = dialog.list.item(0).text()
    assert "姓名：本机“王芳”，服务器“王芳芳”" in text
    assert "公民身份号码：本机“110105********0029”，服务器“110105********0037”" in text
    assert "手机号：本机“138****8000”，服务器“139****9000”" in text
    assert "194912310029" not in text and "13800138000" not in text


def test_refused_changes_show_their_content_masked_and_can_be_dismissed(qtbot, repo):
    """Every refused change is listed with what it held (masked), its full content opens, and 已处理 removes it."""
    import json

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop.ui.context import AppContext
    from desktop.ui.sync_widgets import ConflictsDialog
    from storage.models import SyncRejection, new_id, utcnow
    from sync.client import rejections

    person = {"org_code": "220102001002", "name": "李桂兰", "gender": "女", "id_number": "110105194912310029",
              "phone": "13800138000", "roles": ["网格员"], "status": "在岗", "deleted": False}
    with repo.engine.begin() as conn:  # as the client keeps a refusal (sync.client._keep_rejection)
        for i in range(600):  # more than the old list kept: none may fall off
            conn.execute(SyncRejection.__table__.insert().values(
                id=new_id(), change_id=new_id(), record_type="staff", record_id=new_id(),
                org_code="220102001002", op="insert", reason=f"区划代码220102001002不在本账号的范围内（第{i}条）",
                payload=json.dumps(dict(person, name=f"李桂兰{i}"), ensure_ascii=False), at=utcnow()))
    dialog = ConflictsDialog(AppContext(repo))
    qtbot.addWidget(dialog)
    assert dialog.rejected.count() == 600
    assert "600 条" in dialog.rejected_title.text()
    text = "\n".join(dialog.rejected.item(i).text() for i in range(dialog.rejected.count()))
    assert "姓名：李桂兰599" in text and "拒绝原因：区划代码220102001002不在本账号的范围内（第599条）" in text
    assert "194912310029" not in text and "13800138000" not in text

    dialog.rejected.setCurrentRow(0)
    shown: list[str] = []

    def read_and_close():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox) and box.objectName() == "rejectedContent"
        shown.append(box.text())
        box.done(0)
    QTimer.singleShot(0, read_and_close)
    dialog.show_rejected.click()
    assert shown and "公民身份号码：110105********0029" in shown[0] and "手机号：138****8000" in shown[0]
    assert "性别：女" in shown[0] and "194912310029" not in shown[0]

    first = dialog.rejected.item(0).data(0x0100)["id"]
    dialog.dismiss_rejected.click()
    qtbot.waitUntil(lambda: dialog.rejected.count() == 599, timeout=5000)
    assert "599 条" in dialog.rejected_title.text()
    assert first not in {r["id"] for r in rejections(repo)}
    assert first in {r["id"] for r in rejections(repo, include_dismissed=True)}


def test_form_save_does_not_wait_for_the_sync_network(qtbot, repo, server, insecure_keyring):
    """A sync over a slow link never holds the writer thread (desktop/ui/jobs.py network_op +
    run_on_writer): behind a proxy that holds each push and pull answer back for SLOW_S, a form
    save made while the sync waits for the server returns at once."""
    from desktop.ui.context import AppContext
    from desktop.ui.jobs import runner
    from desktop.ui.sync_widgets import create_widget
    from storage import local
    from tests.serverproc import ResponseDroppingProxy

    slow_server = ResponseDroppingProxy(
        server.port, drop=lambda method, path: False,
        delay=lambda method, path: SLOW_S if "/push" in path or "/pull" in path else 0)
    repo.device_id = local.device_id(repo)
    local.set_identity(repo, VILLAGE, "幸福村")
    repo.set_setting("server_url", slow_server.url)
    repo.set_setting("user", "cun")
    for n in range(3):
        repo.create("service", _service(n + 1))
    ctx = AppContext(repo)
    panel = create_widget(ctx)
    qtbot.addWidget(panel)
    panel.password.setText(PASSWORD)
    panel.start_sync()
    # the sync has sent its batch and waits for the (slow) answer
    qtbot.waitUntil(lambda: any("/push" in p for p in slow_server.received), timeout=30_000)
    assert not panel.handle.is_done()

    form, record, waited = _save_a_form(qtbot, repo, 9)
    assert waited < SLOW_S / 2, f"the save waited {waited:.1f} s behind the sync"
    assert not panel.handle.is_done()  # the sync was still waiting for the server meanwhile
    assert not any("/push" in p for p in slow_server.answered)
    assert repo.get("service", record["id"])["persons"] == 9

    qtbot.waitUntil(lambda: panel.handle.is_done(), timeout=120_000)
    runner().wait_idle()
    assert panel.last_error is None, panel.last_error
    assert "同步完成" in panel.message.text()
    form.deleteLater()
    slow_server.close()


def test_sign_in_talks_to_the_server_off_the_writer(qtbot, repo, server, insecure_keyring):
    """The sign-in dialog's login runs on the network thread and hands its settings to the writer
    (SyncClient(writer=run_on_writer)): a form save made while the server is slow to answer /login
    returns at once, and the sign-in's settings are saved when the answer comes."""
    from PySide6.QtWidgets import QDialog

    from desktop.ui.context import AppContext
    from desktop.ui.jobs import runner
    from desktop.ui.sync_widgets import LoginDialog
    from storage import local
    from tests.serverproc import ResponseDroppingProxy

    slow_server = ResponseDroppingProxy(server.port, drop=lambda method, path: False,
                                        delay=lambda method, path: SLOW_S if "/login" in path else 0)
    local.set_identity(repo, VILLAGE, "幸福村")
    dialog = LoginDialog(AppContext(repo))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.server.setText(slow_server.url)
    dialog.user.setText("cun")
    dialog.password.setText(PASSWORD)
    dialog.sign_in()
    qtbot.waitUntil(lambda: any("/login" in p for p in slow_server.received), timeout=30_000)

    form, record, waited = _save_a_form(qtbot, repo, 7)
    assert waited < SLOW_S / 2, f"the save waited {waited:.1f} s behind the sign-in"
    assert not dialog.handle.is_done()  # the sign-in was still waiting for the server meanwhile

    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=60_000)
    runner().wait_idle()
    assert repo.get_setting("server_url") == slow_server.url and repo.get_setting("user") == "cun"
    assert (dialog.ctx.stored.server_url, dialog.ctx.stored.user) == (slow_server.url, "cun")  # as read in the job
    form.deleteLater()
    slow_server.close()


def test_sign_in_settings_are_not_read_on_the_ui_thread(qtbot, repo, monkeypatch, insecure_keyring):
    """Server, user, CA file, role and who may see full numbers are read once when the context is made
    (at start); the sync panel, the sign-in dialog, the review page's role, the printed ledger's 完整
    choice and 设置's server come from that snapshot, and a write through the app (设置 → 服务器地址)
    replaces it: no settings query on the UI thread."""
    import threading

    from desktop.ui.context import AppContext
    from desktop.ui.review_page import role_of
    from desktop.ui.settings_page import SettingsPage
    from desktop.ui.sync_widgets import create_widget
    from storage import disclosure, local

    local.set_identity(repo, VILLAGE, "幸福村")
    for key, value in (("server_url", "https://tz.example.gov.cn"), ("user", "cun"),
                       ("sync.ca_file", "/media/u/county.pem"), ("role", "township"),
                       (disclosure.S_FULL_EXPORT_ROLES, "township,county")):
        repo.set_setting(key, value)
    ctx = AppContext(repo)
    asked = []
    real = repo.get_setting

    def spy(key, *args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            asked.append(key)
        return real(key, *args, **kwargs)

    monkeypatch.setattr(repo, "get_setting", spy)
    panel = create_widget(ctx)
    qtbot.addWidget(panel)
    panel.show()
    assert "https://tz.example.gov.cn" in panel.server_label.text() and "cun" in panel.server_label.text()
    assert panel.password.isVisible()  # insecure keyring and a server: a password for each sync
    dialog = panel.open_login()
    assert (dialog.server.text(), dialog.user.text(), dialog.ca_file.text()) == (
        "https://tz.example.gov.cn", "cun", "/media/u/county.pem")
    dialog.reject()
    assert role_of(ctx) == "township" and ctx.server_url() == "https://tz.example.gov.cn"
    assert ctx.stored.full_export_roles == ("township", "county") and ctx.stored.full_allowed
    settings = SettingsPage(ctx)
    qtbot.addWidget(settings)
    assert settings.server.text() == "https://tz.example.gov.cn"
    settings.server.setText("")
    assert settings.save_server()  # 设置: clear the server address (this PC works offline only)
    assert real("server_url") in ("", None)
    panel.refresh()
    assert "尚未登录" in panel.server_label.text() and not panel.password.isVisible()
    assert asked == []
