"""Record forms generated from the schema, driven through real widgets offscreen (pytest-qt)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox
from sqlalchemy import select

from storage.drafts import DraftStore
from storage.history import record_history
from storage.models import ChangeLog
from storage.schema import record_type
from storage.validation import check_id_number, coerce, id_check_char

from desktop.forms.record_form import RecordForm, open_record_form
from desktop.forms.widgets import (BoolWidget, ChoiceWidget, DateWidget, MaskedWidget, MultiChoiceWidget,
                                   NumberWidget, widget_for)

from tests.qt_typing import BAD_ID, VALID_ID, type_text


# --------------------------------------------------------------------------- helpers

def answer_box(button_text: str, seen: list | None = None, timeout_ms: int = 5000) -> None:
    """Press a button of the next modal message box / dialog once it is open."""
    timer = QTimer()
    timer.setInterval(20)
    waited = [0]

    def poll():
        waited[0] += 20
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            for b in box.buttons():
                if b.text() == button_text:
                    if seen is not None:
                        seen.append(box.text())
                    timer.stop()
                    b.click()
                    return
        if waited[0] > timeout_ms:
            timer.stop()

    timer.timeout.connect(poll)
    timer.start()
    answer_box.timers.append(timer)  # keep it alive


answer_box.timers = []


@pytest.fixture(autouse=True)
def nothing_left_running(qtbot):
    """Each test ends with its pollers stopped, its jobs done and its closed forms deleted, so none
    of that can fire inside a later test's save (a nested event loop: ``run_write``)."""
    yield
    from PySide6.QtCore import QCoreApplication, QEvent

    from desktop.ui.jobs import runner

    for timer in answer_box.timers:
        timer.stop()
    answer_box.timers.clear()
    assert runner().wait_idle(30)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


def when_modal(action, cls=RecordForm, timeout_ms: int = 5000, record_type: str | None = None) -> None:
    """Run ``action(dialog)`` once a modal dialog of ``cls`` is open (for forms opened with exec()).

    ``record_type``: for RecordForm, wait for a form of that type (the parent form is modal too).
    """
    timer = QTimer()
    timer.setInterval(20)
    waited = [0]

    def poll():
        waited[0] += 20
        w = QApplication.activeModalWidget()
        if isinstance(w, cls) and w.isVisible() and (record_type is None or w.rt.name == record_type):
            timer.stop()
            action(w)
        elif waited[0] > timeout_ms:
            timer.stop()

    timer.timeout.connect(poll)
    timer.start()
    answer_box.timers.append(timer)


@pytest.fixture
def make_form(qtbot, repo, village):
    forms = []

    def make(type_name, record_id=None, **kw):
        kw.setdefault("autosave_ms", 60_000)
        form = RecordForm(repo, type_name, village, record_id, **kw)
        # not qtbot.addWidget: its teardown close() would ask "放弃修改？" and wait forever
        form.show()
        qtbot.waitExposed(form)
        forms.append(form)
        return form

    yield make
    for f in forms:
        f.autosave_timer.stop()
        if f.isVisible():
            f.done(QDialog.DialogCode.Rejected)  # close without the "放弃修改？" question
        f.deleteLater()


def fill_facility(form, name="党群服务中心", building="420", activity="300"):
    type_text(form.field_widget("name").edit, name)
    form.field_widget("category").set_raw("综合服务设施/党群服务中心")
    form.field_widget("status").set_raw("在用")
    if building is not None:
        type_text(form.field_widget("building_area").edit, building)
    if activity is not None:
        type_text(form.field_widget("activity_area").edit, activity)


def fill_staff(form, id_number=VALID_ID):
    type_text(form.field_widget("name").edit, "王建国")
    type_text(form.field_widget("id_number").edit, id_number)
    form.field_widget("roles").set_raw(["党组织书记"])
    form.field_widget("status").set_raw("在岗")


# --------------------------------------------------------------------------- widgets

@pytest.mark.parametrize("typed", ["2024-03-05", "2024.3.5", "2024/3/5", "2024年3月5日", "２０２４年３月５日",
                                   "20240305"])
def test_date_widget_accepts_what_people_type(qtbot, typed):
    f = record_type("service").field("date")
    w = widget_for(f, {})
    qtbot.addWidget(w)
    assert isinstance(w, DateWidget)
    type_text(w.edit, typed)
    assert w.raw() == typed
    assert coerce(f, w.raw())[0] == dt.date(2024, 3, 5)
    assert w.date() == dt.date(2024, 3, 5)


def test_date_widget_calendar_popup_by_keyboard(qtbot):
    f = record_type("service").field("date")
    w = widget_for(f, {})
    qtbot.addWidget(w)
    w.show()
    type_text(w.edit, "2024.3.5")
    qtbot.keyClick(w.edit, Qt.Key.Key_F4)
    assert w.popup is not None and w.popup.isVisible()
    assert w.popup.calendar.selectedDate().toPython() == dt.date(2024, 3, 5)
    from PySide6.QtWidgets import QTableView

    view = w.popup.calendar.findChild(QTableView)  # the calendar's day grid takes the keys
    qtbot.keyClick(view, Qt.Key.Key_Right)  # one day on
    qtbot.keyClick(view, Qt.Key.Key_Return)  # pick it
    assert w.raw() == "2024-03-06"
    assert not w.popup.isVisible()


def test_number_widget_shows_unit_and_accepts_units_and_full_width(qtbot):
    f = record_type("facility").field("building_area")
    w = widget_for(f, {})
    qtbot.addWidget(w)
    assert isinstance(w, NumberWidget)
    assert w.unit_label.text() == "m²"
    type_text(w.edit, "350平方米")
    assert coerce(f, w.raw()) == (350.0, None)
    w.set_raw("")
    type_text(w.edit, "３５０")
    assert coerce(f, w.raw()) == (350.0, None)
    w.set_raw(1234.5)
    assert w.raw() == "1234.5"


def test_choice_combo_lists_county_extended_items(qtbot, repo):
    items = repo.choices()["facility_category"] + ["老年食堂"]
    repo.save_choice_list("facility_category", items)
    f = record_type("facility").field("category")
    w = widget_for(f, repo.choices())
    qtbot.addWidget(w)
    assert isinstance(w, ChoiceWidget)
    texts = [w.combo.itemText(i) for i in range(w.combo.count())]
    assert texts[0] == ChoiceWidget.NONE_TEXT and texts[1:] == items
    w.combo.setCurrentIndex(texts.index("老年食堂"))
    assert w.raw() == "老年食堂"
    assert coerce(f, w.raw(), repo.choices()) == ("老年食堂", None)


def test_multichoice_by_keyboard(qtbot, repo):
    f = record_type("staff").field("roles")
    w = widget_for(f, repo.choices())
    qtbot.addWidget(w)
    w.show()
    assert isinstance(w, MultiChoiceWidget)
    changes = []
    w.changed.connect(lambda: changes.append(1))
    w.list.setFocus()
    w.list.setCurrentRow(0)
    qtbot.keyClick(w.list, Qt.Key.Key_Space)  # 党组织书记
    qtbot.keyClick(w.list, Qt.Key.Key_Right)
    qtbot.keyClick(w.list, Qt.Key.Key_Space)  # 村(居)委会主任
    assert w.raw() == ["党组织书记", "村(居)委会主任"]
    qtbot.keyClick(w.list, Qt.Key.Key_Space)  # untick again
    assert w.raw() == ["党组织书记"]
    assert len(changes) == 3
    assert coerce(f, w.raw(), repo.choices()) == (["党组织书记"], None)


def test_text_widgets_period_and_codes(qtbot):
    period = record_type("period").field("period")
    w = widget_for(period, {})
    qtbot.addWidget(w)
    type_text(w.edit, "2024年3月")
    assert coerce(period, w.raw()) == ("2024-03", None)
    code = record_type("social_org").field("credit_code")
    c = widget_for(code, {})
    qtbot.addWidget(c)
    type_text(c.edit, "91110108ma01abcd2x")
    value, issue = coerce(code, c.raw())
    assert value is None and issue.message.startswith("统一社会信用代码：校验位不正确")
    c.set_raw("")
    type_text(c.edit, "91220102ma0y3k8n2n")  # lower case is accepted
    assert coerce(code, c.raw()) == ("91220102MA0Y3K8N2N", None)
    # the example shown in the empty box is itself a valid code
    assert coerce(code, c.edit.placeholderText().split("如 ")[1]) == ("91220102MA0Y3K8N2N", None)
    name = record_type("facility").field("name")
    t = widget_for(name, {})
    qtbot.addWidget(t)
    type_text(t.edit, "幸福村　党群服务中心 ")  # full-width space, trailing space
    assert coerce(name, t.raw()) == ("幸福村 党群服务中心", None)


def test_bool_widget(qtbot):
    f = record_type("facility").field("barrier_free")
    w = widget_for(f, {})
    qtbot.addWidget(w)
    w.show()
    assert isinstance(w, BoolWidget)
    assert w.raw() is None
    qtbot.mouseClick(w.yes, Qt.MouseButton.LeftButton)
    assert w.raw() is True
    w.set_raw("否")
    assert w.raw() is False
    w.set_raw(None)
    assert w.raw() is None


def test_masked_widget_reveal(qtbot):
    f = record_type("staff").field("id_number")
    w = widget_for(f, {})
    qtbot.addWidget(w)
    w.show()
    assert isinstance(w, MaskedWidget)
    w.set_raw(VALID_ID)
    assert w.edit.text() == VALID_ID[:6] + "********" + VALID_ID[-4:]
    assert w.edit.isReadOnly() and w.masked and w.raw() == VALID_ID
    assert w.button.text() == "显示"
    qtbot.mouseClick(w.button, Qt.MouseButton.LeftButton)
    assert w.edit.text() == VALID_ID and not w.edit.isReadOnly()
    qtbot.mouseClick(w.button, Qt.MouseButton.LeftButton)
    assert VALID_ID not in w.edit.text()


def test_phone_masked_in_edit_form_until_reveal(make_form, repo, village):
    rec = repo.create("volunteer", {"org_code": village, "name": "李芳", "phone": "13800138000"})
    form = make_form("volunteer", rec["id"])
    phone = form.field_widget("phone")
    assert phone.edit.text() == "138****8000"
    phone.button.click()
    assert phone.edit.text() == "13800138000"


# --------------------------------------------------------------------------- validation

def test_bad_id_number_shows_its_message_and_blocks_save(qtbot, make_form, repo):
    form = make_form("staff")
    fill_staff(form, BAD_ID)
    expected = check_id_number(BAD_ID)[0].message
    assert form.message_for("id_number") == expected
    assert "校验位不正确" in expected
    assert not form.save_button.isEnabled()
    assert "公民身份号码" in form.summary.text()
    qtbot.keyClick(form.field_widget("name").edit, Qt.Key.Key_Return)  # Enter must not save
    assert repo.count("staff") == 0 and form.isVisible()
    # fixing the last character clears the message and enables saving
    edit = form.field_widget("id_number").edit
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    type_text(edit, VALID_ID[-1])
    assert form.message_for("id_number") == ""
    assert form.save_button.isEnabled()


def test_cross_field_rule_blocks_save(make_form, repo):
    form = make_form("facility")
    fill_facility(form, building="100", activity="200")
    msg = form.message_for("activity_area")
    assert msg == "居民活动区域面积（200 m²）大于建筑面积（100 m²），请核对两项面积后重新填写"
    assert not form.save_button.isEnabled()
    assert form.save() is None and repo.count("facility") == 0


def test_required_messages_appear_after_touch_or_save(make_form):
    form = make_form("facility")
    assert form.message_for("name") == ""  # a blank form is not covered in red
    assert not form.save_button.isEnabled()
    assert "名称" in form.summary.text()
    form.save()
    assert form.message_for("name") == "名称：必填，请填写"
    assert form.focusWidget() is form.field_widget("name").edit


def test_number_message_inline(make_form):
    form = make_form("facility")
    type_text(form.field_widget("building_area").edit, "-5")
    assert form.message_for("building_area") == "建筑面积：不能为负数，请核对后重新填写"
    form.field_widget("building_area").set_raw("")
    type_text(form.field_widget("building_area").edit, "三百")
    assert "不是数字" in form.message_for("building_area")


def test_warning_does_not_block(make_form):
    # area code 00 is no province and not a permit prefix: a warning only
    first17 = "000102198001011234"[:17]
    number = first17 + id_check_char(first17)
    form = make_form("staff")
    fill_staff(form, number)
    assert form.message_for("id_number").startswith("提示：")
    assert form.save_button.isEnabled()


# --------------------------------------------------------------------------- saving

def test_valid_form_saves_with_change_log_and_history(qtbot, make_form, repo, village):
    import threading

    on_main_thread = []
    repo.guards.append(lambda conn, rt, op, new, old: on_main_thread.append(
        threading.current_thread() is threading.main_thread()))
    form = make_form("facility")
    fill_facility(form)
    form.field_widget("barrier_free").yes.click()
    with qtbot.waitSignal(form.saved) as blocker:
        qtbot.keyClick(form.field_widget("activity_area").edit, Qt.Key.Key_Return)
    record = blocker.args[0]
    assert form.result() == QDialog.DialogCode.Accepted
    stored = repo.get("facility", record["id"])
    assert stored["name"] == "党群服务中心" and stored["building_area"] == 420.0
    assert stored["org_code"] == village and stored["barrier_free"] is True and stored["version"] == 1
    with repo.engine.connect() as conn:
        changes = conn.execute(select(ChangeLog).where(ChangeLog.record_id == record["id"])).all()
    assert [c.op for c in changes] == ["insert"] and changes[0].sync_state == "pending"
    assert json.loads(changes[0].payload)["name"] == "党群服务中心"
    assert [e.action for e in record_history(repo.engine, "facility", record["id"])] == ["新建"]
    assert on_main_thread == [False]  # written on the app's single DB writer thread (desktop.ui.jobs)


def test_edit_keeps_version_semantics(qtbot, make_form, repo, village):
    rec = repo.create("facility", {"org_code": village, "name": "卫生室", "category": "卫生室/社区卫生服务站",
                                   "status": "在用", "building_area": 90})
    form = make_form("facility", rec["id"])
    assert form.field_widget("building_area").raw() == "90"
    edit = form.field_widget("name").edit
    edit.selectAll()
    type_text(edit, "幸福村卫生室")
    saved = form.save()
    assert saved["version"] == 2 and saved["name"] == "幸福村卫生室"

    # a second form opened on version 2; meanwhile someone else saves version 3
    form2 = make_form("facility", rec["id"])
    repo.update("facility", rec["id"], {"daily_open_hours": 8})
    type_text(form2.field_widget("address").edit, "一组")
    seen = []
    answer_box("知道了", seen)
    assert form2.save() is None
    assert seen and "已被他人修改" in seen[0]
    assert form2.isVisible()
    assert repo.get("facility", rec["id"])["version"] == 3
    assert repo.get("facility", rec["id"])["address"] is None


def test_esc_asks_before_discarding(qtbot, make_form, repo):
    form = make_form("facility")
    type_text(form.field_widget("name").edit, "文化广场")
    answer_box("继续填写")
    qtbot.keyClick(form.field_widget("name").edit, Qt.Key.Key_Escape)
    assert form.isVisible()
    answer_box("放弃修改")
    qtbot.keyClick(form.field_widget("name").edit, Qt.Key.Key_Escape)
    assert not form.isVisible() and form.result() == QDialog.DialogCode.Rejected
    assert repo.count("facility") == 0


def test_esc_on_untouched_form_closes_without_asking(qtbot, make_form):
    form = make_form("service")
    qtbot.keyClick(form.field_widget("date").edit, Qt.Key.Key_Escape)
    assert not form.isVisible()


def test_tab_order_follows_the_form(qtbot, make_form):
    form = make_form("facility")
    form.activateWindow()
    first = form.field_widget("name").edit
    first.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is first)
    visited = [first]
    for _ in range(len(form.tab_chain) - 1):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        visited.append(QApplication.focusWidget())
    # radio buttons of one group are one Tab stop (arrows move inside), so compare to the chain without 否
    # disabled buttons (保存 while errors stand, 显示 with nothing to show) are skipped by Qt
    expected = [w for w in form.tab_chain if not w.objectName().startswith("no_") and w.isEnabled()]
    assert visited[:len(expected)] == expected


def test_open_record_form_returns_saved_record(qtbot, repo, village):
    def fill(form):
        type_text(form.field_widget("name").edit, "夕阳红协会")
        form.field_widget("org_type").set_raw("文体")
        type_text(form.field_widget("members").edit, "25人")
        form.save()

    when_modal(fill)
    record = open_record_form(None, repo, "social_org", village)
    assert record is not None and record["members"] == 25
    assert repo.get("social_org", record["id"])["name"] == "夕阳红协会"


# --------------------------------------------------------------------------- children and references

def test_training_added_inside_new_staff_form_is_saved_with_parent_id(qtbot, make_form, repo):
    form = make_form("staff")
    fill_staff(form)
    table = form.child_tables[0]
    assert table.rt.name == "training"

    def fill_training(child):
        type_text(child.field_widget("date").edit, "2024年5月10日")
        type_text(child.field_widget("course").edit, "社会工作实务")
        type_text(child.field_widget("days").edit, "2天")
        child.field_widget("level").set_raw("县")
        child.save()

    when_modal(fill_training, record_type="training")
    table.add_button.click()
    assert table.table.rowCount() == 1 and repo.count("training") == 0  # kept until the parent is saved
    assert table.table.item(0, 1).text() == "社会工作实务"
    staff = form.save()
    trainings = repo.list("training", where={"staff_id": staff["id"]})
    assert len(trainings) == 1
    assert trainings[0]["date"] == dt.date(2024, 5, 10) and trainings[0]["days"] == 2.0
    assert trainings[0]["org_code"] == staff["org_code"]


def test_training_for_existing_staff_written_immediately_and_deleted_as_tombstone(qtbot, make_form, repo, village):
    staff = repo.create("staff", {"org_code": village, "name": "刘敏", "id_number": VALID_ID,
                                  "roles": ["网格员"], "status": "在岗"})
    form = make_form("staff", staff["id"])
    table = form.child_tables[0]

    def fill_training(child):
        type_text(child.field_widget("date").edit, "2024-06-01")
        type_text(child.field_widget("course").edit, "网格化服务管理")
        type_text(child.field_widget("days").edit, "1")
        child.save()

    when_modal(fill_training, record_type="training")
    table.add_button.click()
    rows = repo.list("training", where={"staff_id": staff["id"]})
    assert len(rows) == 1 and table.table.rowCount() == 1
    table.table.selectRow(0)
    answer_box("删除")
    table.delete_button.click()
    assert repo.list("training", where={"staff_id": staff["id"]}) == []
    assert len(repo.list("training", deleted=True)) == 1
    assert table.table.rowCount() == 0


def test_volunteer_team_combo_and_hours(qtbot, make_form, repo, village):
    team = repo.create("volunteer_team", {"org_code": village, "name": "党员志愿服务队", "party_backbone": True})
    repo.create("volunteer_team", {"org_code": "220102001002", "name": "别村的队"})
    form = make_form("volunteer")
    combo = form.field_widget("team_id").combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["（未选择）", "党员志愿服务队"]
    combo.setCurrentIndex(1)
    type_text(form.field_widget("name").edit, "赵丽")
    form.field_widget("skills").set_raw(["医疗", "应急"])

    def fill_hours(child):
        type_text(child.field_widget("date").edit, "2024/7/1")
        type_text(child.field_widget("activity").edit, "义诊")
        type_text(child.field_widget("hours").edit, "3小时")
        child.save()

    when_modal(fill_hours, record_type="volunteer_hours")
    form.child_tables[0].add_button.click()
    volunteer = form.save()
    assert volunteer["team_id"] == team["id"] and volunteer["skills"] == ["医疗", "应急"]
    hours = repo.list("volunteer_hours", where={"volunteer_id": volunteer["id"]})
    assert [(h["activity"], h["hours"]) for h in hours] == [("义诊", 3.0)]


def test_id_number_fills_birth_date_and_gender(make_form):
    form = make_form("staff")
    type_text(form.field_widget("id_number").edit, VALID_ID)
    assert form.field_widget("birth_date").raw() == "1980-01-01"
    assert form.field_widget("gender").raw() == ("男" if int(VALID_ID[16]) % 2 else "女")


def test_reveal_of_masked_id_in_edit_form(qtbot, make_form, repo, village):
    staff = repo.create("staff", {"org_code": village, "name": "陈静", "id_number": VALID_ID,
                                  "roles": ["网格员"], "status": "在岗"})
    form = make_form("staff", staff["id"])
    w = form.field_widget("id_number")
    assert VALID_ID not in w.edit.text() and w.edit.isReadOnly()
    assert all(VALID_ID not in lbl.text() for lbl in form.findChildren(type(form.summary)))
    assert repo.list("disclosure") == []
    qtbot.mouseClick(w.button, Qt.MouseButton.LeftButton)
    assert w.edit.text() == VALID_ID and not w.edit.isReadOnly()
    # showing a stored number in full is a disclosure: recorded once (hiding and showing again adds none)
    from desktop.ui.jobs import runner

    qtbot.mouseClick(w.button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.button, Qt.MouseButton.LeftButton)
    runner().wait_idle()
    shown = repo.list("disclosure")
    assert [(d["action"], d["record_types"], d["row_count"], d["actor"]) for d in shown] == \
        [("屏幕显示完整号码", "社区工作者", 1, repo.actor)]
    # saving without changing anything else keeps the number
    saved = form.save()
    assert saved["id_number"] == VALID_ID


# --------------------------------------------------------------------------- drafts

def test_draft_autosave_and_discard_on_save(qtbot, make_form, repo):
    store = DraftStore(repo.engine)
    form = make_form("facility", autosave_ms=100)
    form.autosave_timer.start()
    assert store.list() == []
    type_text(form.field_widget("name").edit, "日间照料中心")
    qtbot.waitUntil(lambda: len(store.list()) == 1, timeout=3000)
    draft = store.list()[0]
    assert draft.record_type == "facility" and draft.values["name"] == "日间照料中心"
    assert draft.context["org_code"] == form.org_code
    assert "日间照料中心" in draft.summary()
    form.field_widget("category").set_raw("养老服务设施")
    form.field_widget("status").set_raw("在用")
    qtbot.waitUntil(lambda: store.list()[0].values["status"] == "在用", timeout=3000)
    form.save()
    assert store.list() == []
    # drafts are UI state: only the saved record reached the change log
    with repo.engine.connect() as conn:
        assert [r.record_type for r in conn.execute(select(ChangeLog))] .count("facility") == 1


def test_draft_discarded_on_explicit_cancel(qtbot, make_form, repo):
    store = DraftStore(repo.engine)
    form = make_form("service", autosave_ms=100)
    form.autosave_timer.start()
    type_text(form.field_widget("note").edit, "送药上门")
    qtbot.waitUntil(lambda: len(store.list()) == 1, timeout=3000)
    answer_box("放弃修改")
    form.reject()
    assert store.list() == []


def test_restoring_a_draft_with_pending_children(qtbot, make_form, repo):
    store = DraftStore(repo.engine)
    draft_id = store.save("staff", {"name": "孙强", "id_number": VALID_ID, "roles": ["网格员"], "status": "在岗"},
                          context={"org_code": "220102001001",
                                   "children": {"training": [{"date": "2024-03-05", "course": "应急管理",
                                                              "days": "1", "level": ""}]}})
    form = make_form("staff", draft=store.load(draft_id))
    assert "草稿" in form.windowTitle()
    assert form.field_widget("name").raw() == "孙强"
    assert form.field_widget("id_number").masked  # restored PII is masked until revealed
    assert form.child_tables[0].table.rowCount() == 1
    staff = form.save()
    assert [t["course"] for t in repo.list("training", where={"staff_id": staff["id"]})] == ["应急管理"]
    assert store.list() == []


def test_draft_of_a_record_changed_meanwhile_is_put_over_the_current_version(qtbot, make_form, repo, village):
    rec = repo.create("facility", {"org_code": village, "name": "卫生室", "category": "卫生室/社区卫生服务站",
                                   "status": "在用"})
    store = DraftStore(repo.engine)
    draft_id = store.save("facility", {"name": "幸福村卫生室", "category": "卫生室/社区卫生服务站", "status": "在用",
                                       "address": "三组"}, record_id=rec["id"],
                          context={"org_code": village, "base_version": 1})
    repo.update("facility", rec["id"], {"daily_open_hours": 8})  # e.g. arrived by sync: version 2
    form = make_form("facility", rec["id"], draft=store.load(draft_id))
    assert "第1版" in form.notice.text() and "第2版" in form.notice.text()
    saved = form.save()
    assert saved["version"] == 3 and saved["name"] == "幸福村卫生室" and saved["daily_open_hours"] == 8
    assert store.list() == []


def test_opening_a_record_with_a_leftover_draft_offers_it(qtbot, make_form, repo, village):
    rec = repo.create("social_org", {"org_code": village, "name": "读书协会", "org_type": "文体"})
    store = DraftStore(repo.engine)
    store.save("social_org", {"name": "幸福村读书协会", "org_type": "文体", "members": "12"}, record_id=rec["id"],
               context={"org_code": village, "base_version": 1})
    answer_box("恢复草稿")
    form = make_form("social_org", rec["id"])
    qtbot.waitUntil(lambda: form.field_widget("name").raw() == "幸福村读书协会", timeout=5000)
    assert form.field_widget("members").raw() == "12"
    assert form.save()["members"] == 12
    assert store.list() == []


def test_org_unit_form_derives_level_and_parent_from_the_code(make_form, repo):
    form = make_form("org_unit")
    assert "层级" not in form.summary.text()
    type_text(form.field_widget("org_code").edit, "220102001002")
    type_text(form.field_widget("name").edit, "和平村")
    form.field_widget("urban_rural").set_raw("农村社区")
    unit = form.save()
    assert unit["level"] == "村/社区" and unit["parent_code"] == "220102001000"


def test_draft_of_a_deleted_record_cannot_be_restored_and_is_dropped(qtbot, repo, village):
    from desktop.forms.drafts_dialog import DraftsDialog

    rec = repo.create("volunteer_team", {"org_code": village, "name": "青年志愿服务队"})
    store = DraftStore(repo.engine)
    store.save("volunteer_team", {"name": "青年突击队"}, record_id=rec["id"],
               context={"org_code": village, "base_version": 1})
    repo.delete("volunteer_team", rec["id"])
    dialog = DraftsDialog(repo)
    seen = []
    answer_box("知道了", seen)
    assert dialog.restore_selected() is None
    assert seen and "已被删除" in seen[0]
    assert store.list() == [] and dialog.list.count() == 0
    dialog.deleteLater()


def test_database_failure_on_save_keeps_the_form(qtbot, make_form, repo, village):
    def broken(conn, rt, op, new, old):
        raise OSError("disk full")

    repo.guards.append(broken)
    form = make_form("volunteer_team")
    type_text(form.field_widget("name").edit, "巾帼志愿服务队")
    seen = []
    answer_box("知道了", seen)
    assert form.save() is None
    assert seen and "没有保存" in seen[0] and form.isVisible()
    assert form.field_widget("name").raw() == "巾帼志愿服务队"
    repo.guards.remove(broken)
    assert form.save()["name"] == "巾帼志愿服务队"


def test_open_child_form_is_part_of_the_parents_draft(qtbot, make_form, repo):
    store = DraftStore(repo.engine)
    form = make_form("staff")
    fill_staff(form)
    seen = {}

    def type_training_then_crash(child):
        type_text(child.field_widget("course").edit, "老年人关爱服务")
        type_text(child.field_widget("days").edit, "3")
        assert form.autosave()  # the parent's timer fires while the child form is open
        seen["draft"] = store.list()[0]
        child.done(QDialog.DialogCode.Rejected)  # "power cut": the child form just vanishes

    when_modal(type_training_then_crash, record_type="training")
    form.child_tables[0].add_button.click()
    open_child = seen["draft"].context["open_child"]
    assert open_child["type"] == "training" and open_child["index"] is None
    assert open_child["values"]["course"] == "老年人关爱服务" and open_child["values"]["days"] == "3"
    form.done(QDialog.DialogCode.Rejected)

    def finish_training(child):
        seen["reopened"] = child.windowTitle()
        seen["course"] = child.field_widget("course").raw()
        type_text(child.field_widget("date").edit, "2024-09-09")
        child.save()

    when_modal(finish_training, record_type="training")
    restored = make_form("staff", draft=seen["draft"])
    qtbot.waitUntil(lambda: "course" in seen, timeout=5000)
    assert "从草稿恢复" in seen["reopened"] and seen["course"] == "老年人关爱服务"
    qtbot.waitUntil(lambda: restored.child_tables[0].table.rowCount() == 1, timeout=5000)
    staff = restored.save()
    trainings = repo.list("training", where={"staff_id": staff["id"]})
    assert [(t["course"], t["days"]) for t in trainings] == [("老年人关爱服务", 3.0)]
