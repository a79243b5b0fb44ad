"""pytest-qt: 月报与同步 on a village PC (checklist, submit, returned notices, package export and receipt)
and on a township PC (importing a village's package for review)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.ui.jobs import runner
from storage import local
from storage import periods as P
from storage.db import open_database
from storage.repository import Repository
from sync import package as PK
from tests.test_forms import answer_box
from tests.test_periods import TOWNSHIP, VILLAGE, fill_month
from tests.test_review_ui import county_tree, shots_dir

KEY = PK.new_signing_key()  # this PC's package signing key, as made at sign-in
SERVER_KEY = PK.new_signing_key()  # the county server's receipt key
COUNTY_KEY = PK.new_encryption_key()  # the county server's package encryption key


def village_page(qtbot, repo):
    from desktop.ui.context import AppContext
    from desktop.ui.periods_page import PeriodsPage, create_page

    local.set_identity(repo, VILLAGE, "幸福村")
    page = create_page(AppContext(repo))
    assert isinstance(page, PeriodsPage) and page.is_village
    page.key_provider = lambda: KEY
    page.receipt_key_provider = lambda: SERVER_KEY.public_key()
    qtbot.addWidget(page)
    page.resize(900, 760)
    page.show()
    assert runner().wait_idle(30)  # the month's state is read in a read job
    return page


def confirm(qtbot, page, button: str):
    """Answer the page's confirmation box (window-modal) with the button of this text, wait for the write."""
    qtbot.waitUntil(lambda: page.confirm_box is not None and page.confirm_box.isVisible(), timeout=3000)
    box = page.confirm_box
    chosen = next(b for b in box.buttons() if b.text() == button)
    qtbot.mouseClick(chosen, Qt.MouseButton.LeftButton)
    assert runner().wait_idle(30)
    QApplication.processEvents()
    return box


def test_checklist_submit_and_returned_notice(qtbot, repo, tmp_path):
    county_tree(repo)
    page = village_page(qtbot, repo)
    month = page.period
    assert month == P.previous_period()
    from desktop.ui.sync_widgets import SyncPanel

    assert page.findChild(SyncPanel) is not None  # the sync box sits on this page
    rows = [page.checklist.item(i).text() for i in range(page.checklist.count())]
    assert any(r.startswith("×") and f"还没有{P.period_label(month)}的服务记录" in r for r in rows)
    assert not page.submit_btn.isEnabled()
    assert not page.notices.isVisible()

    fill_month(repo, org=VILLAGE, month=month, services=2)
    page.reload()
    assert runner().wait_idle(30)
    assert page.submit_btn.isEnabled()
    qtbot.mouseClick(page.submit_btn, Qt.MouseButton.LeftButton)
    confirm(qtbot, page, "确认提交")
    assert P.get_state(repo, VILLAGE, month).status == P.SUBMITTED
    assert page.status.text().endswith("已提交，等待乡镇审核。乡镇审核之前，如发现错误可以撤回")
    assert "月报已提交" in page.message.text()
    assert not page.submit_btn.isEnabled()

    # the township's return arrives (as sync would apply it): the notice shows, with the reason
    svc = repo.list("service", org_code=VILLAGE)[0]
    P.return_period(repo, VILLAGE, month, "请补充服务对象", actor_org=TOWNSHIP,
                    notes=[P.RecordNote("service", svc["id"], "服务对象应为残疾人", str(svc["date"]))])
    page.ctx.records_changed.emit("period")
    qtbot.waitUntil(lambda: page.notices.isVisibleTo(page), timeout=3000)  # coalesced reload
    text = page.notice_labels[0].text()
    assert f"{P.period_label(month)}的月报被退回" in text and "请补充服务对象" in text and "服务对象应为残疾人" in text
    assert "[record:" not in text
    assert page.submit_btn.text() == "重新提交月报…" and page.submit_btn.isEnabled()
    # only what is true of a returned month: the return and what to do, not the earlier 已提交 line
    assert page.status.text().startswith(f"{P.period_label(month)}：已退回，请按退回意见改正后重新提交")
    shown = [w.text() for w in (page.status, page.message, *page.notice_labels) if w.isVisibleTo(page)]
    assert not any("已提交" in t or "撤回提交" in t for t in shown), shown
    assert not page.withdraw_btn.isVisibleTo(page)
    QApplication.processEvents()
    assert page.grab().save(str(shots_dir(tmp_path) / "periods.png"))
    # it stays after a correction, and goes only when the month is resubmitted
    repo.update("service", svc["id"], {"target": "残疾人"})
    page.ctx.records_changed.emit("service")
    assert page.notices.isVisibleTo(page)
    qtbot.mouseClick(page.submit_btn, Qt.MouseButton.LeftButton)
    confirm(qtbot, page, "确认提交")
    assert not page.notices.isVisibleTo(page)


def test_package_export_receipt_and_township_import(qtbot, repo, tmp_path, monkeypatch):
    from desktop.ui.context import AppContext
    from desktop.ui.periods_page import PeriodsPage

    county_tree(repo)
    page = village_page(qtbot, repo)
    fill_month(repo, org=VILLAGE, month=page.period, services=2)
    out = tmp_path / "幸福村.tzpkg"
    # not signed in on this PC: the user is told what to do, nothing is written
    page.key_provider = page._device_key
    handle = page.export_to(out)  # the keys are read in the job, off the UI thread
    qtbot.waitUntil(handle.is_done, timeout=20000)
    assert "还没有登录过县级服务器" in page.message.text() and not out.exists()
    page.key_provider = lambda: KEY
    handle = page.export_to(out)  # signed in, but by an older release: no county key, so no package
    qtbot.waitUntil(handle.is_done, timeout=20000)
    assert "加密公钥" in page.message.text() and not out.exists()
    repo.set_setting(PK.S_COUNTY_KEY, PK.x25519_public_text(COUNTY_KEY))  # what sign-in stores
    handle = page.export_to(out)
    qtbot.waitUntil(handle.is_done, timeout=20000)
    assert out.exists() and "已导出数据包" in page.message.text()
    assert PK.is_sealed(out.read_bytes())
    pkg = PK.read_package(out.read_bytes(), COUNTY_KEY)
    assert pkg.verify(KEY.public_key()) and pkg.org_code == VILLAGE

    # the township PC imports it for review (no server in this test: local import only)
    town_repo = Repository(open_database(tmp_path / "town.sqlite3"), actor="收集员")
    county_tree(town_repo)
    local.set_identity(town_repo, TOWNSHIP, "永吉街道")
    town = PeriodsPage(AppContext(town_repo))
    qtbot.addWidget(town)
    assert not town.is_village
    handle = town.import_package(out, upload=False)  # without the county's key it cannot open the package
    qtbot.waitUntil(handle.is_done, timeout=20000)
    assert "已加密" in town.message.text() and town_repo.count("service", org_code=VILLAGE) == 0
    # given the county's key (kept in the OS keyring: tests/test_sync_keyring.py), it can
    monkeypatch.setattr("sync.package_cli.county_decrypt_key", lambda _repo: COUNTY_KEY)
    handle = town.import_package(out, upload=False)
    qtbot.waitUntil(handle.is_done, timeout=20000)
    assert "本机新写入" in town.message.text()
    assert town_repo.count("service", org_code=VILLAGE) == 2

    # a receipt the server signed for this PC clears the outbox
    receipt = PK.Receipt(pkg.package_id, VILLAGE, repo.device_id, [c.change_id for c in pkg.changes], [], [],
                         "2024-04-02T00:00:00+00:00", "县级服务器").sign(SERVER_KEY)
    rpath = Path(tmp_path / "回执.tzrcpt")
    rpath.write_bytes(receipt.to_bytes())
    handle = page.import_receipt(rpath)
    qtbot.waitUntil(handle.is_done, timeout=20000)
    assert repo.unsent_count() == 0 and "已确认上传" in page.message.text()
    town_repo.engine.dispose()


def test_submit_shows_what_goes_withdraw_edit_warns_and_resubmit(qtbot, repo):
    """The month end end to end: confirmation with counts and checklist, 暂不提交 does nothing, 撤回,
    a save into the submitted month is announced by the form first, 重新提交 with the count of edits."""
    from desktop.forms.record_form import RecordForm

    county_tree(repo)
    page = village_page(qtbot, repo)
    month = page.period
    fill_month(repo, org=VILLAGE, month=month, services=3)
    page.reload()
    assert runner().wait_idle(30)
    assert not page.withdraw_btn.isVisible()
    page.submit_btn.click()
    box = confirm(qtbot, page, "暂不提交")
    text = box.text()
    assert f"将把{P.period_label(month)}的月报提交给乡镇审核" in text
    assert "服务记录：3 条" in text and "培训记录：0 条" in text and "√ 没有未改正的错误" in text
    assert P.get_state(repo, VILLAGE, month).status == P.NOT_SUBMITTED  # no second thought needed to back out
    page.submit_btn.click()
    confirm(qtbot, page, "确认提交")
    assert P.get_state(repo, VILLAGE, month).status == P.SUBMITTED
    # no red × for the state: the checklist lists only real checks, all passed (○: a register still to be
    # confirmed 本月无变化, which does not hold a submission back)
    rows = [page.checklist.item(i).text() for i in range(page.checklist.count())]
    assert rows and all(r[0] in "√○" for r in rows) and not any("填报期状态" in r for r in rows)
    # the result sits right under the state, inside the visible part of the page
    assert page.message.isVisible() and page.message.visibleRegion().boundingRect().height() > 0

    assert page.withdraw_btn.isVisible() and page.withdraw_btn.isEnabled()
    page.withdraw_btn.click()
    confirm(qtbot, page, "撤回")
    assert P.get_state(repo, VILLAGE, month).status == P.NOT_SUBMITTED
    assert "已撤回" in page.message.text() and page.status.text().endswith("可以提交")
    page.submit_btn.click()
    confirm(qtbot, page, "确认提交")

    # an edit into the submitted month: the form says so before saving
    svc = repo.list("service", org_code=VILLAGE)[0]
    form = RecordForm(repo, "service", VILLAGE, svc["id"])
    qtbot.addWidget(form)
    seen = []
    form.field_widget("persons").set_raw("7")
    answer_box("仍然保存", seen)
    assert form.save() is not None
    assert seen and "已经提交" in seen[0] and "重新提交" in seen[0]
    page.reload()
    assert runner().wait_idle(30)
    assert page.status.text().endswith("提交后又修改了 1 条，请重新提交")
    assert page.submit_btn.isEnabled() and page.submit_btn.text() == "重新提交月报…"
    assert not page.withdraw_btn.isEnabled()
    page.submit_btn.click()
    box = confirm(qtbot, page, "确认提交")
    assert box.windowTitle() == "重新提交月报"
    st = P.get_state(repo, VILLAGE, month)
    assert st.status == P.SUBMITTED and not st.needs_rereview


def test_month_end_by_keyboard_alone(qtbot, repo):
    """Submit, withdraw and submit again with key events only (Tab, Space, Enter, Esc)."""
    from PySide6.QtTest import QTest

    county_tree(repo)
    page = village_page(qtbot, repo)
    month = page.period
    fill_month(repo, org=VILLAGE, month=month, services=2)
    page.reload()
    assert runner().wait_idle(30)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=3000)
    page.period_box.setFocus()  # where a clerk's first Tab would land: the month

    def tab_to(target, window) -> None:
        seen = []
        for _ in range(60):
            if QApplication.focusWidget() is target:
                return
            seen.append(QApplication.focusWidget())
            QTest.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Tab)
        raise AssertionError(f"Tab never reaches {target.text()}: {seen[:12]}")

    def press(key) -> None:
        QTest.keyClick(QApplication.focusWidget(), key)

    def box_open():
        qtbot.waitUntil(lambda: page.confirm_box is not None and page.confirm_box.isVisible(), timeout=3000)
        qtbot.waitUntil(lambda: page.confirm_box.isAncestorOf(QApplication.focusWidget()), timeout=3000)
        return page.confirm_box

    tab_to(page.submit_btn, page)
    press(Qt.Key.Key_Space)
    box = box_open()
    no = box.findChild(type(page.submit_btn), "no")
    qtbot.waitUntil(lambda: QApplication.focusWidget() is no, timeout=3000)  # the safe answer has the focus
    press(Qt.Key.Key_Escape)  # Esc = 暂不提交
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=3000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.submit_btn, timeout=3000)  # back where it was
    assert P.get_state(repo, VILLAGE, month).status == P.NOT_SUBMITTED

    def confirm_by_keys(button, key, then: str) -> None:
        """Tab to the page's button, Space; Tab to the box's 确认 button, ``key``; wait for the state."""
        page.confirm_box = None
        tab_to(button, page)
        press(Qt.Key.Key_Space)
        box = box_open()
        tab_to(box.findChild(type(page.submit_btn), "yes"), box)
        press(key)
        assert runner().wait_idle(30)
        qtbot.waitUntil(lambda: P.get_state(repo, VILLAGE, month).status == then, timeout=3000)

    confirm_by_keys(page.submit_btn, Qt.Key.Key_Return, P.SUBMITTED)
    confirm_by_keys(page.withdraw_btn, Qt.Key.Key_Space, P.NOT_SUBMITTED)
    assert "已撤回" in page.message.text()
