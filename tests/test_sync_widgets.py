"""The 同步 panel, sign-in dialog and conflicts dialog, offscreen, against a real server process."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.serverproc import PASSWORD, VILLAGE, ServerProcess, live_records, scope_of, setup_county


@pytest.fixture
def insecure_keyring(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    import keyring.core

    keyring.core._keyring_backend = None
    yield
    keyring.core._keyring_backend = None  # later tests choose their backend afresh


@pytest.fixture
def server(tmp_path):
    srv = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    srv.start()
    setup_county(srv)
    yield srv
    srv.stop()


def _service(persons: int) -> dict:
    return {"org_code": VILLAGE, "date": dt.date(2026, 10, 3), "category": "养老", "mode": "上门",
            "target": "老年人", "persons": persons}


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
