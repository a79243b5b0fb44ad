"""A sync over a slow link never holds the desktop's database writer: a form save during the
sync's network wait finishes at once (desktop/ui/jobs.py network_op + run_on_writer).

Real parts: a county server process, a proxy in front of it that holds /push and /pull answers
back for seconds, the real 同步 panel and record form offscreen."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.serverproc import PASSWORD, VILLAGE, ResponseDroppingProxy, ServerProcess, setup_county

SLOW_S = 4.0  # how long the proxy holds each push and pull answer


@pytest.fixture
def slow_server(tmp_path):
    srv = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    srv.start()
    setup_county(srv)
    proxy = ResponseDroppingProxy(srv.port, drop=lambda method, path: False,
                                  delay=lambda method, path: SLOW_S if "/push" in path or "/pull" in path else 0)
    yield proxy
    proxy.close()
    srv.stop()


def _service(persons: int) -> dict:
    return {"org_code": VILLAGE, "date": dt.date(2026, 10, 3), "category": "养老", "mode": "上门",
            "target": "老年人", "persons": persons}


def test_form_save_does_not_wait_for_the_sync_network(qtbot, repo, slow_server, insecure_keyring):
    from PySide6.QtWidgets import QDialog

    from desktop.forms import RecordForm
    from desktop.ui.context import AppContext
    from desktop.ui.jobs import runner
    from desktop.ui.sync_widgets import create_widget
    from storage import local

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

    form = RecordForm(repo, "service", VILLAGE, None, autosave_ms=60_000)
    form.show()
    qtbot.waitExposed(form)
    for name, value in _service(9).items():
        if name != "org_code":
            form.field_widget(name).set_raw(value)
    started = time.monotonic()
    record = form.save()
    waited = time.monotonic() - started
    assert record is not None and form.result() == QDialog.DialogCode.Accepted
    assert waited < SLOW_S / 2, f"the save waited {waited:.1f} s behind the sync"
    assert not panel.handle.is_done()  # the sync was still waiting for the server meanwhile
    assert not any("/push" in p for p in slow_server.answered)
    assert repo.get("service", record["id"])["persons"] == 9

    qtbot.waitUntil(lambda: panel.handle.is_done(), timeout=120_000)
    runner().wait_idle()
    assert panel.last_error is None, panel.last_error
    assert "同步完成" in panel.message.text()
    form.deleteLater()
