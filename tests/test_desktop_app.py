"""The desktop app driven through real widgets offscreen (pytest-qt): first run, lists, forms,
delete/restore, search and filter over 100,000 demo records, large-font mode, status bar."""

from __future__ import annotations

import shutil
import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.qt_typing import BAD_ID, VALID_ID, type_text


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def start_app(qtbot, app_look):
    """Start the app on a database file like run_app() does (without exec); returns the controller."""
    from desktop.ui.jobs import runner

    started = []

    def start(db_path):
        from desktop.ui.app import AppController, open_context

        ctx = open_context(db_path)
        controller = AppController(ctx)
        controller.start()
        started.append(controller)
        return controller

    yield start
    runner().wait_idle(30)
    for controller in started:
        if controller.window is not None:
            controller.window.close()
            controller.window.deleteLater()
        if controller.first_run is not None:
            controller.first_run.deleteLater()
        controller.ctx.repo.engine.dispose()


@pytest.fixture
def village_db(taizhang_home, repo, village):
    from storage import local

    local.set_identity(repo, village, "测试村")
    repo.engine.dispose()
    return taizhang_home / "taizhang.sqlite3"


@pytest.fixture(scope="session")
def big_demo_db(tmp_path_factory):
    """The demo village with 100,000 service records (plus staff, volunteers …), generated once."""
    from storage.db import open_database
    from storage.demo import fill_demo
    from storage.repository import Repository

    path = tmp_path_factory.mktemp("bigdemo") / "taizhang.sqlite3"
    engine = open_database(path)
    repo = Repository(engine, actor="测试员", device_id="00000000-0000-4000-8000-000000000002")
    fill_demo(repo, records=100_000)
    engine.dispose()
    return path


@pytest.fixture
def big_db(big_demo_db, taizhang_home):
    dest = taizhang_home / "taizhang.sqlite3"
    shutil.copyfile(big_demo_db, dest)
    return dest


def window_of(qtbot, controller):
    qtbot.waitUntil(lambda: controller.window is not None, timeout=60_000)
    return controller.window


def loaded(qtbot, lst):
    """Lists load in a background read job: wait until the rows are there."""
    qtbot.waitUntil(lambda: lst.loaded, timeout=30_000)
    return lst


# --------------------------------------------------------------------------- first run


def test_first_run_rejects_bad_code_then_sets_up_village(qtbot, start_app, taizhang_home):
    from desktop.ui.first_run import FirstRunDialog

    controller = start_app(taizhang_home / "taizhang.sqlite3")
    dialog = controller.first_run
    assert isinstance(dialog, FirstRunDialog) and dialog.isVisible()
    assert not dialog.start_button.isEnabled()

    type_text(dialog.code, "990102001001")
    type_text(dialog.name, "和平村")
    assert "省级代码“99”不存在" in dialog.message.text()
    assert not dialog.start_button.isEnabled()

    dialog.code.selectAll()
    type_text(dialog.code, "220102000000")
    assert "县(市、区)一级" in dialog.message.text()

    dialog.code.selectAll()
    type_text(dialog.code, "220102001007")
    assert dialog.message.text() == ""
    assert "220102001000" in dialog.derived.text() and "220102000000" in dialog.derived.text()
    type_text(dialog.server, "ftp:/x")
    assert "http://" in dialog.message.text() and not dialog.start_button.isEnabled()
    dialog.server.selectAll()
    type_text(dialog.server, "http://127.0.0.1:9/")
    assert dialog.start_button.isEnabled()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)

    window = window_of(qtbot, controller)
    assert "和平村（220102001007）" in window.windowTitle() and "演示" not in window.windowTitle()
    assert not window.demo_banner.isVisible()
    ident = controller.ctx.identity
    assert (ident.org_code, ident.org_name, ident.demo) == ("220102001007", "和平村", False)
    assert controller.ctx.repo.get_setting("server_url") == "http://127.0.0.1:9"
    assert window.status_online.text() == "离线（尚未连接）"
    assert window.status_unsent.text() == "未上传变更：0 条"
    assert window.status_last_sync.text() == "上次同步：从未"


def test_first_run_demo_village_is_marked(qtbot, start_app, taizhang_home):
    controller = start_app(taizhang_home / "taizhang.sqlite3")
    qtbot.mouseClick(controller.first_run.demo_button, Qt.MouseButton.LeftButton)
    window = window_of(qtbot, controller)
    assert "演示数据" in window.windowTitle()
    assert window.demo_banner.isVisible() and "不会上传" in window.demo_banner.text()
    assert window.status_online.text() == "演示数据（不同步）"
    facility = loaded(qtbot, window.current_list())
    assert facility.rt.name == "facility" and facility.model.rowCount() == 6
    assert facility.count_label.text() == "共 6 条"


# --------------------------------------------------------------------------- create / edit / validate


def test_create_validate_and_edit_staff(qtbot, start_app, village_db):
    controller = start_app(village_db)
    window = window_of(qtbot, controller)
    window.show_page("staff")
    staff = loaded(qtbot, window.current_list())
    assert staff.rt.name == "staff" and staff.model.rowCount() == 0
    unsent = controller.ctx.repo.unsent_count()
    assert window.status_unsent.text() == f"未上传变更：{unsent} 条"

    window.action_new.trigger()
    form = staff.open_forms[-1]
    qtbot.waitUntil(form.isVisible)
    type_text(form.field_widget("name").edit, "张伟")
    type_text(form.field_widget("id_number").edit, BAD_ID)
    form.field_widget("roles").set_raw(["网格员"])
    form.field_widget("status").set_raw("在岗")
    assert form.save() is None  # blocked: the bad check digit
    assert "校验" in form.message_for("id_number") or "公民身份号码" in form.message_for("id_number")
    assert controller.ctx.repo.count("staff") == 0 and form.isVisible()

    edit = form.field_widget("id_number").edit
    edit.selectAll()
    type_text(edit, VALID_ID)
    assert form.message_for("id_number") == ""
    record = form.save()
    assert record is not None and record["id_number"] == VALID_ID
    qtbot.waitUntil(lambda: staff.model.rowCount() == 1)
    row = staff.model.display_row(0)
    assert "张伟" in row
    masked = VALID_ID[:6] + "********" + VALID_ID[-4:]
    assert masked in row and VALID_ID not in row
    tip = staff.model.data(staff.model.index(0, staff.model.column_index("id_number")), Qt.ItemDataRole.ToolTipRole)
    assert tip == masked
    assert staff.selected_id() == record["id"]
    qtbot.waitUntil(lambda: window.status_unsent.text() == f"未上传变更：{unsent + 1} 条")

    window.action_edit.trigger()
    form = staff.open_forms[-1]
    qtbot.waitUntil(form.isVisible)
    name = form.field_widget("name").edit
    name.selectAll()
    type_text(name, "张伟强")
    assert form.save() is not None
    qtbot.waitUntil(lambda: "张伟强" in staff.model.display_row(0))
    assert controller.ctx.repo.get("staff", record["id"])["version"] == 2
    qtbot.waitUntil(lambda: window.status_unsent.text() == f"未上传变更：{unsent + 2} 条")


# --------------------------------------------------------------------------- delete / restore


def test_delete_asks_then_tombstones_and_restore_brings_back(qtbot, start_app, village_db):
    from storage.db import open_database
    from storage.repository import Repository

    repo = Repository(open_database(village_db))
    for name in ("甲活动室", "乙活动室", "丙活动室"):
        repo.create("facility", {"org_code": "220102001001", "name": name, "category": "其他", "status": "在用"})
    repo.engine.dispose()
    controller = start_app(village_db)
    window = window_of(qtbot, controller)
    facility = loaded(qtbot, window.current_list())
    assert facility.model.rowCount() == 3
    facility.select_row(0)
    target = facility.selected_id()
    target_name = controller.ctx.repo.get("facility", target)["name"]

    box = facility.delete_record()  # the Delete shortcut calls this
    assert isinstance(box, QMessageBox) and target_name in box.text() and "最近删除" in box.text()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert controller.ctx.repo.count("facility") == 3

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    facility.table.setFocus()
    QTest.keyClick(facility.table, Qt.Key.Key_Delete)  # the keyboard way: Delete on the list
    box = facility._confirm_box
    qtbot.waitUntil(box.isVisible)
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)  # Enter does not delete
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: facility.model.rowCount() == 2)
    assert facility.selected_id() not in (None, target)  # the neighbour is selected, keyboard work goes on
    row = controller.ctx.repo.get("facility", target, include_deleted=True)
    assert row["deleted"] is True  # a tombstone, not a removed row
    assert "已删除" in window.statusBar().currentMessage()

    window.action_deleted.trigger()  # Ctrl+D: 最近删除 (the list reads them in a read job)
    qtbot.waitUntil(lambda: facility.model.rowCount() == 1)
    assert facility.restore_button.isVisible()
    assert "已删除" in facility.count_label.text()
    facility.select_row(0)
    facility.restore_record()
    qtbot.waitUntil(lambda: facility.model.rowCount() == 0)
    window.action_deleted.trigger()
    qtbot.waitUntil(lambda: facility.model.rowCount() == 3)
    assert controller.ctx.repo.get("facility", target)["deleted"] is False


def test_history_dialog_shows_who_changed_what_masked_from_the_keyboard(qtbot, start_app, village_db):
    from storage.db import open_database
    from storage.repository import Repository

    repo = Repository(open_database(village_db), actor="张会计")
    vol = repo.create("volunteer", {"org_code": "220102001001", "name": "王芳", "phone": "13800138000"})
    Repository(repo.engine, actor="李主任").update("volunteer", vol["id"], {"phone": "13912345678",
                                                                          "party_member": True})
    repo.engine.dispose()
    controller = start_app(village_db)
    window = window_of(qtbot, controller)
    window.focus_page([s.key for s in window.specs].index("volunteer"))
    volunteers = loaded(qtbot, window.current_list())
    assert not volunteers.history_button.isEnabled()  # nothing selected yet
    volunteers.select_row(0)
    assert volunteers.history_button.isEnabled()

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)  # Ctrl+H: 修改记录
    dialog = volunteers.history_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.table.rowCount() > 0)
    assert "王芳" in dialog.windowTitle()
    rows = [[dialog.table.item(r, c).text() for c in range(dialog.table.columnCount())]
            for r in range(dialog.table.rowCount())]
    assert [r[1:] for r in rows] == [
        ["张会计", "新建", "新建了这条记录", "", ""],
        ["李主任", "修改", "手机号", "138****8000", "139****5678"],
        ["李主任", "修改", "党员", "（空）", "是"],
    ]
    assert not any("13800138000" in cell or "13912345678" in cell for r in rows for cell in r)
    assert "共 2 次操作" in dialog.info.text()
    assert dialog.table.currentRow() == len(rows) - 1  # the newest change has the focus
    QTest.keyClick(dialog.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())

    volunteers.delete_record(confirm=False)
    qtbot.waitUntil(lambda: volunteers.model.rowCount() == 0)
    window.action_deleted.trigger()  # 最近删除: who deleted it is one Ctrl+H away
    qtbot.waitUntil(lambda: volunteers.model.rowCount() == 1)
    volunteers.select_row(0)
    dialog = volunteers.show_history()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 4)
    assert [dialog.table.item(3, c).text() for c in (1, 2)] == [controller.ctx.repo.actor, "删除"]
    dialog.done(0)


def test_history_dialog_closed_before_its_rows_arrive_raises_nothing(qtbot, repo, village):
    from desktop.ui.history_dialog import RecordHistoryDialog
    from desktop.ui.jobs import runner

    vol = repo.create("volunteer", {"org_code": village, "name": "王芳"})
    dialog = RecordHistoryDialog(repo.engine, "volunteer", vol["id"], "志愿者“王芳”")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.open()
    dialog.reject()  # Esc at once; the dialog is deleted while its read job may still run
    QApplication.sendPostedEvents(None, 0)  # the deferred delete
    assert runner().wait_idle(30)
    qtbot.wait(100)  # the job's queued success arrives: it must not touch the deleted table
    assert dialog._closed


# --------------------------------------------------------------------------- 100,000 records


@pytest.mark.slow
def test_search_filter_sort_on_100k_demo_records(qtbot, start_app, big_db):
    controller = start_app(big_db)
    window = window_of(qtbot, controller)
    window.show_page("service")
    service = loaded(qtbot, window.current_list())
    assert service.model.rowCount() == 100_000
    assert service.count_label.text().startswith("共 100,000 条，合计 ")  # 人次 and 小时 of the filtered range

    # scroll to the end: only a few pages of rows are ever fetched
    service.table.scrollToBottom()
    QApplication.processEvents()
    service.select_row(99_999)
    assert service.selected_id() is not None
    assert service.model.cached_pages() <= 10

    # search box (typed Chinese), debounced
    type_text(service.search, "送药上门")
    qtbot.waitUntil(lambda: service.count_label.text().startswith("找到"), timeout=5000)
    found = service.model.rowCount()
    assert 0 < found < 100_000
    note_col = None  # note is not a list column: verify through the repository
    del note_col
    first = service.model.record_id(0)
    assert controller.ctx.repo.get("service", first)["note"] == "送药上门"
    service.search.clear()
    qtbot.waitUntil(lambda: service.model.rowCount() == 100_000, timeout=5000)

    # filters: category and target, then a date range (each runs as a read job, like the search)
    combo = service.filter_combos["category"]
    with qtbot.waitSignal(service.model.reloaded, timeout=30_000):
        combo.setCurrentIndex(combo.findData("养老"))
        assert service.count_label.text() == "正在查找…"  # the window is not blocked meanwhile
    n_category = service.model.rowCount()
    assert 0 < n_category < 100_000
    target = service.filter_combos["target"]
    with qtbot.waitSignal(service.model.reloaded, timeout=30_000):
        target.setCurrentIndex(target.findData("老年人"))
    n_both = service.model.rowCount()
    assert 0 < n_both < n_category
    cat, tgt = service.model.column_index("category"), service.model.column_index("target")
    for r in range(0, n_both, max(1, n_both // 50)):
        row = service.model.display_row(r)
        assert (row[cat], row[tgt]) == ("养老", "老年人")

    import datetime as dt

    from PySide6.QtCore import QDate

    year = dt.date.today().year
    with qtbot.waitSignal(service.model.reloaded, timeout=30_000):
        service.date_check.setChecked(True)
    service.date_from.setDate(QDate(year, 1, 1))  # (the default start: then no new query)
    service.date_to.setDate(QDate(year, 1, 31))
    qtbot.waitUntil(lambda: not service.model.pending, timeout=30_000)
    n_january = service.model.rowCount()
    assert 0 < n_january < n_both
    date_col = service.model.column_index("date")
    assert all(service.model.display_row(r)[date_col].startswith(f"{year}-01-") for r in range(n_january))

    # sort by 人次 (header click = SQL ORDER BY, run as a read job off the UI thread)
    persons = service.model.column_index("persons")
    header = service.table.horizontalHeader()
    with qtbot.waitSignal(service.model.reloaded, timeout=30_000):
        header.setSortIndicator(persons, Qt.SortOrder.AscendingOrder)
    values = [int(service.model.display_row(r)[persons]) for r in range(n_january)]
    assert values == sorted(values)
    with qtbot.waitSignal(service.model.reloaded, timeout=30_000):
        header.setSortIndicator(persons, Qt.SortOrder.DescendingOrder)
    values = [int(service.model.display_row(r)[persons]) for r in range(n_january)]
    assert values == sorted(values, reverse=True)

    # staff: search by the last digits of a phone number; the list shows it masked
    staff_row = controller.ctx.repo.list("staff")[0]
    window.show_page("staff")
    staff = loaded(qtbot, window.current_list())
    type_text(staff.search, staff_row["phone"][-4:])
    qtbot.waitUntil(lambda: staff.count_label.text().startswith("找到"), timeout=5000)
    rows = [staff.model.display_row(r) for r in range(staff.model.rowCount())]
    assert any(staff_row["name"] in r for r in rows)
    phone_col = staff.model.column_index("phone")
    assert all("****" in r[phone_col] for r in rows)
    assert not any(staff_row["phone"] in r for r in rows)


# --------------------------------------------------------------------------- large font, keyboard


def test_large_font_toggle_scales_and_persists(qtbot, start_app, village_db, app_look):
    from desktop.ui.context import AppContext
    from desktop.ui.theme import LARGE_PX, NORMAL_PX

    controller = start_app(village_db)
    window = window_of(qtbot, controller)
    lst = loaded(qtbot, window.current_list())
    assert QApplication.font().pixelSize() == NORMAL_PX
    normal_row = lst.table.verticalHeader().defaultSectionSize()
    window.action_large.trigger()  # Ctrl+Shift+L
    assert controller.ctx.settings.large_font is True
    assert QApplication.font().pixelSize() == LARGE_PX >= 18
    assert lst.table.font().pixelSize() == LARGE_PX  # widgets follow the application font
    assert lst.table.verticalHeader().defaultSectionSize() > normal_row
    assert AppContext(controller.ctx.repo).settings.large_font is True  # persisted

    window.show_page("settings")
    checkbox = window.current_page().large_font
    assert checkbox.isChecked()
    checkbox.setChecked(False)
    assert QApplication.font().pixelSize() == NORMAL_PX
    assert not window.action_large.isChecked()
    assert controller.ctx.repo.get_setting("ui.large_font") == "0"


def test_keyboard_navigation_and_shortcuts(qtbot, start_app, village_db):
    controller = start_app(village_db)
    window = window_of(qtbot, controller)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.current_list().rt.name == "service"
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    search = window.current_list().search
    assert QApplication.focusWidget() is search
    QTest.keyClicks(search, "abc")
    search.setCursorPosition(0)
    QTest.keyClick(search, Qt.Key.Key_Delete)  # Delete edits the search text, it does not delete a record
    assert search.text() == "bc"
    assert getattr(window.current_list(), "_confirm_box", None) is None
    search.clear()
    QTest.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.current_list().rt.name == "volunteer"
    assert QApplication.focusWidget() is window.current_list().table
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    form = window.current_list().open_forms[-1]
    qtbot.waitUntil(form.isVisible)
    assert form.windowTitle() == "新建志愿者"
    form.done(0)
    keys = [window.specs[i].title for i in range(len(window.specs))]
    assert keys[:5] == ["设施", "人员", "志愿者", "服务记录", "社会组织"]
    assert keys[-1] == "设置"


def test_every_page_opens_and_about(qtbot, start_app, village_db):
    from PySide6.QtWidgets import QLabel

    controller = start_app(village_db)
    window = window_of(qtbot, controller)
    for spec in window.specs:
        page = window.show_page(spec.key)
        assert page is not None
        texts = " ".join(label.text() for label in page.findChildren(QLabel))
        assert "无法打开" not in texts, spec.key
    box = window.show_about()
    from storage import __version__

    assert __version__ in box.text() and "日志文件" in box.text()
    box.done(0)
    assert __version__ in window.windowTitle() and window.status_version.text() == f"版本 {__version__}"


# --------------------------------------------------------------------------- status bar adapter


def test_status_bar_follows_core_callbacks_from_a_worker_thread(qtbot, start_app, village_db):
    import datetime as dt

    controller = start_app(village_db)
    window = window_of(qtbot, controller)
    callbacks = controller.ctx.core_callbacks()
    when = dt.datetime(2024, 3, 5, 1, 2, tzinfo=dt.timezone.utc)
    worker = threading.Thread(target=lambda: callbacks.sync_state(online=True, last_success_at=when))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: window.status_online.text() == "在线")
    assert window.status_last_sync.text() == "上次同步：" + when.astimezone().strftime("%Y-%m-%d %H:%M")
    from storage.periods import period_label, previous_period

    # the month's state is read in a job: it shows when the read comes back
    qtbot.waitUntil(lambda: window.status_period.text() == f"当前月报：{period_label(previous_period())}（未提交）")


# --------------------------------------------------------------------------- crash mid-edit


CHILD_EDITING = r"""
import sys, time
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from desktop.ui.app import AppController, ensure_qapplication, open_context
from storage.drafts import DraftStore
app = ensure_qapplication()
ctx = open_context(sys.argv[1])
window = AppController(ctx).start()
window.show_page("staff")
form = window.current_list().new_record()
app.processEvents()
name = form.field_widget("name").edit
name.setFocus()
ev = QInputMethodEvent(); ev.setCommitString("李秀英"); QApplication.sendEvent(name, ev)
QTest.keyClicks(form.field_widget("phone").edit, "13912345678")
store = DraftStore(ctx.repo.engine)
deadline = time.time() + 30
while not store.list() and time.time() < deadline:  # the real autosave timer, not a call
    app.processEvents(); time.sleep(0.05)
print("DRAFTED" if store.list() else "NO DRAFT", flush=True)
while True:  # still editing when the power goes
    app.processEvents(); time.sleep(0.05)
"""


def test_draft_offered_after_the_app_is_killed_mid_edit(qtbot, start_app, village_db):
    import os
    import signal
    import subprocess
    import sys

    from PySide6.QtCore import QTimer

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    child = subprocess.Popen([sys.executable, "-c", CHILD_EDITING, str(village_db)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = child.stdout.readline().strip()
        assert line == "DRAFTED"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL

    seen: dict = {}

    def poll(step):
        def tick():
            widget = QApplication.activeModalWidget()
            if widget is None or not widget.isVisible():
                QTimer.singleShot(50, tick)
                return
            step(widget)
        QTimer.singleShot(50, tick)

    def in_form(form):
        from desktop.forms import RecordForm

        if not isinstance(form, RecordForm):
            poll(in_form)
            return
        seen["name"] = form.field_widget("name").raw()
        seen["phone"] = form.field_widget("phone").raw()
        form.field_widget("roles").set_raw(["网格员"])
        form.field_widget("status").set_raw("在岗")
        form.field_widget("id_number").set_raw(VALID_ID)
        seen["saved"] = form.save()

    def in_drafts(dialog):
        if dialog.objectName() != "drafts_dialog":
            poll(in_drafts)
            return
        seen["listed"] = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        dialog.list.setCurrentRow(0)
        poll(in_form)  # the form opens modally from the button: answer it from a new timer
        dialog.restore_button.click()

    poll(in_drafts)
    controller = start_app(village_db)
    qtbot.waitUntil(lambda: "saved" in seen, timeout=20_000)
    assert len(seen["listed"]) == 1 and "社区工作者" in seen["listed"][0]
    assert "13912345678" not in seen["listed"][0]  # the draft list shows no personal information
    assert (seen["name"], seen["phone"]) == ("李秀英", "13912345678")
    assert seen["saved"] is not None
    staff = loaded(qtbot, controller.window.show_page("staff").current_list())
    qtbot.waitUntil(lambda: staff.model.rowCount() == 1)
    assert "李秀英" in staff.model.display_row(0)


def test_taizhang_command_opens_the_app(village_db, taizhang_home, tmp_path):
    """`taizhang` (no subcommand) → run_app(): first-run dialog on a new PC, the main window after."""
    import os
    import subprocess
    import sys

    def run(home):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TAIZHANG_HOME=str(home), TAIZHANG_SELF_TEST="1")
        out = subprocess.run([sys.executable, "-m", "desktop.cli"], env=env, capture_output=True, text=True,
                             timeout=120)
        return out.returncode, [line for line in out.stdout.splitlines() if line.startswith("TAIZHANG_SELF_TEST")]

    code, lines = run(taizhang_home)
    assert code == 0, lines
    from storage import __version__

    assert lines == [f"TAIZHANG_SELF_TEST window: 社区服务台账 {__version__} — 测试村（220102001001）"]
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    code, lines = run(fresh)
    assert lines and lines[0].startswith("TAIZHANG_SELF_TEST dialog: ") and "首次使用设置" in lines[0]
    log_text = (fresh / "logs" / "taizhang.log").read_text(encoding="utf-8")
    assert "log file" in log_text


def test_uncaught_exception_in_a_thread_shows_a_chinese_message(qtbot, taizhang_home, monkeypatch):
    import sys
    import threading

    from desktop.logging_setup import install_excepthook, log_file_path, setup_logging, teardown_logging
    from desktop.ui.app import _CrashReporter

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    setup_logging()
    reporter = _CrashReporter()
    install_excepthook(reporter.message.emit)
    try:
        worker = threading.Thread(target=lambda: 1 / 0)
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: len(reporter.boxes) == 1)
        box = reporter.boxes[0]
        assert box.windowTitle() == "程序出错" and str(log_file_path()) in box.text()
        assert "不会丢失" in box.text()
        box.done(0)
    finally:
        teardown_logging()


def test_settings_server_address_checked_and_saved(qtbot, start_app, village_db):
    controller = start_app(village_db)
    window = window_of(qtbot, controller)
    assert window.status_online.text() == "离线（未设置县服务器）"
    settings = window.show_page("settings")
    assert "测试村（220102001001）" in settings.place_label.text()
    settings.server.setText("192.168.1.10:8000")
    assert settings.save_server() is False
    assert "http://" in settings.server_message.text()
    assert controller.ctx.server_url() == ""
    settings.server.setText("http://192.168.1.10:8000/")
    assert settings.save_server() is True
    assert controller.ctx.server_url() == "http://192.168.1.10:8000"
    qtbot.waitUntil(lambda: window.status_online.text() == "离线（尚未连接）")


def test_leaving_the_demo_keeps_its_data_and_returns_to_setup(qtbot, start_app, taizhang_home):
    from desktop.ui.first_run import FirstRunDialog

    controller = start_app(taizhang_home / "taizhang.sqlite3")
    qtbot.mouseClick(controller.first_run.demo_button, Qt.MouseButton.LeftButton)
    window = window_of(qtbot, controller)
    settings = window.show_page("settings")
    box = settings.leave_demo()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.window is None and isinstance(controller.first_run, FirstRunDialog)
                    and controller.first_run.isVisible())
    assert controller.ctx.identity is None and controller.ctx.repo.count("service") == 0
    kept = list((taizhang_home / "backups").glob("演示数据-*.sqlite3"))
    assert len(kept) == 1
    from storage.db import make_engine
    from storage.repository import Repository

    old = Repository(make_engine(kept[0]))
    assert old.count("service") == 2000 and old.get_setting("demo") == "1"
    old.engine.dispose()

    dialog = controller.first_run
    type_text(dialog.code, "220102001001")
    type_text(dialog.name, "幸福村")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    window = window_of(qtbot, controller)
    assert "演示" not in window.windowTitle() and "幸福村（220102001001）" in window.windowTitle()
