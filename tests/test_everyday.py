"""Everyday polish: names in pinyin order, no service/hour/training dated in the future, F1 help per
screen, 合计 of the filtered range, hints for greyed and empty lists, the backup reminder."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import QLabel

from desktop.ui.jobs import runner
from storage.collation import pinyin_key
from tests.test_forms import answer_box

SURNAMES = "丁曹曾李万严朱"


def test_pinyin_key_orders_surnames_as_a_clerk_looks_them_up():
    # cao ceng ding li wan yan zhu (曾 by its common reading, as ICU's Chinese collation has it)
    assert sorted(SURNAMES, key=pinyin_key) == list("曹曾丁李万严朱")
    assert sorted(SURNAMES) != sorted(SURNAMES, key=pinyin_key)  # character-code order is different
    assert sorted(["李四", "李明", "Li", ""], key=pinyin_key) == ["", "Li", "李明", "李四"]


def test_list_sorts_names_by_pinyin_in_sql(qtbot, repo, village):
    from desktop.ui.context import AppContext
    from desktop.ui.record_list import RecordListPage

    for surname in SURNAMES:
        repo.create("volunteer", {"org_code": village, "name": surname + "小明"})
    page = RecordListPage(AppContext(repo), "volunteer")
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.loaded, timeout=30_000)
    col = page.model.column_index("name")

    def names():
        return [page.model.display_row(r)[col][0] for r in range(page.model.rowCount())]

    assert "".join(names()) == "曹曾丁李万严朱"  # the default order of a register
    page.model.sort(col)
    assert "".join(names()) == "曹曾丁李万严朱"
    assert runner().wait_idle(30)


def test_future_date_is_refused_in_the_form(qtbot, repo, village):
    from desktop.forms.record_form import RecordForm

    tomorrow = dt.date.today() + dt.timedelta(days=2)
    form = RecordForm(repo, "service", village, initial={
        "date": tomorrow.isoformat(), "category": "养老", "mode": "上门", "target": "老年人", "persons": "2"})
    qtbot.addWidget(form)
    seen = []
    answer_box("知道了", seen)
    assert form.save() is None
    assert seen and "晚于今天" in seen[0] and "请改正" in seen[0]
    assert repo.count("service", org_code=village) == 0
    form.field_widget("date").set_raw(dt.date.today().isoformat())
    assert form.save() is not None and repo.count("service", org_code=village) == 1


def test_f1_opens_the_help_of_the_current_screen(qtbot, taizhang_home, repo):
    from PySide6.QtCore import QCoreApplication, QEvent, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QDialog, QTextBrowser

    from desktop.ui.help_page import HELP
    from tests.test_desktop_fit import make_db, opened_window, settle

    with opened_window(qtbot, make_db(taizhang_home, repo, "village", False)) as controller:
        window = controller.window
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        for spec in window.specs:
            window.show_page(spec.key)
            settle()  # a page's first job may show a progress dialog meanwhile
            window.activateWindow()  # offscreen, closing a dialog does not hand activation back
            qtbot.waitUntil(window.isActiveWindow)
            QTest.keyClick(window, Qt.Key.Key_F1)
            dialog = next((d for d in window.findChildren(QDialog, "help") if d.isVisible()), None)
            assert dialog is not None, spec.key
            text = dialog.findChild(QTextBrowser).toPlainText()
            assert dialog.windowTitle() == f"说明 — {spec.title}"
            for heading in ("这一页做什么", "怎么填", "依据"):
                assert heading in text, (spec.key, heading)
            assert spec.key in HELP and HELP[spec.key].purpose in text
            dialog.reject()  # closes and deletes it (WA_DeleteOnClose): nothing stays active behind
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            settle()
    assert "正宁县" in HELP["facility"].basis and "30 平方米" in HELP["facility"].basis


def test_totals_of_the_filtered_range_and_hints(qtbot, repo, village):
    from desktop.ui.context import AppContext
    from desktop.ui.record_list import RecordListPage
    from tests.test_periods import fill_month

    ctx = AppContext(repo)
    page = RecordListPage(ctx, "service")
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.loaded, timeout=30_000)
    # an empty list says how to add the first record
    assert page.hint.isVisible() and "点“新建”（或按 Ctrl+N）添加第一条" in page.hint.text()
    fill_month(repo, org=village, month="2024-03", services=3)  # 2 + 3 + 4 人次 on 3月1–3日
    fill_month(repo, org=village, month="2024-05", services=1)  # 2 人次
    page.refresh_in_background()
    qtbot.waitUntil(lambda: "合计" in page.count_label.text(), timeout=10_000)
    assert page.count_label.text() == "共 4 条，合计 11 人次" and not page.hint.isVisible()
    page.date_check.setChecked(True)
    page.date_from.setDate(dt.date(2024, 3, 1))
    page.date_to.setDate(dt.date(2024, 3, 31))
    assert runner().wait_idle(30)
    qtbot.waitUntil(lambda: page.count_label.text().startswith("找到 3 条"), timeout=10_000)
    assert page.count_label.text() == "找到 3 条，合计 9 人次"
    # a greyed 新建 says why, on the screen (not only in a tooltip)
    hours = RecordListPage(ctx, "volunteer_hours")
    qtbot.addWidget(hours)
    hours.show()
    assert not hours.new_button.isEnabled()
    assert hours.hint.isVisible() and "“新建”不可用" in hours.hint.text() and "志愿者" in hours.hint.text()
    assert "补录" in hours.hint.text()  # how to enter hours of an earlier month
    assert runner().wait_idle(30)


def test_backup_reminder_after_seven_days(tmp_path):
    from storage import backup as bk

    db = tmp_path / "taizhang.sqlite3"
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    assert bk.backup_reminder(db, start) is None  # the count starts now: no scolding on the first day
    assert bk.backup_reminder(db, start + dt.timedelta(days=6)) is None
    text = bk.backup_reminder(db, start + dt.timedelta(days=9))
    assert text.startswith("已经 9 天没有备份台账了") and "U盘" in text
    bk.mark_backup(db, start + dt.timedelta(days=9))
    assert bk.backup_reminder(db, start + dt.timedelta(days=10)) is None


def test_backup_reminder_shows_on_top_of_the_window(qtbot, taizhang_home, repo):
    import os

    from storage import backup as bk
    from tests.test_desktop_fit import make_db, opened_window

    db = make_db(taizhang_home, repo, "township", False)
    bk.mark_backup(db, dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10))
    with opened_window(qtbot, db) as controller:
        window = controller.window
        assert window.backup_banner.isVisibleTo(window)
        assert "已经 10 天没有备份台账了" in window.backup_banner.findChild(QLabel).text()
        assert window.isWindow() and not window.backup_banner.isWindow()
    assert os.path.exists(db.parent / bk.BACKUP_MARK)
