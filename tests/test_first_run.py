"""First run: place names beside codes, a field judged when it is left, never squashed by messages."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from storage.places import county_name
from tests.qt_typing import type_text


def test_county_names_from_the_shipped_gbt2260_table():
    assert county_name("220102001001") == "吉林省长春市南关区"
    assert county_name("110105000000") == "北京市朝阳区"  # a municipality has no prefecture level
    assert county_name("990102001001") is None and county_name("2201") is None


def test_first_run_judges_a_field_when_left_and_grows_instead_of_squashing(qtbot):
    from desktop.ui.first_run import FirstRunDialog

    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    heights = {e.objectName(): e.height() for e in dialog.findChildren(QLineEdit)}
    type_text(dialog.code, "2201020")
    assert dialog.message.text() == ""  # half a code and an empty name: nothing red while typing
    type_text(dialog.code, "01001")
    assert dialog.message.text() == ""
    assert "吉林省长春市南关区（220102000000）" in dialog.derived.text()
    assert "220102001000" in dialog.derived.text()
    QTest.keyClick(dialog.code, Qt.Key.Key_Tab)  # into 名称
    assert QApplication.focusWidget() is dialog.name and dialog.message.text() == ""
    QTest.keyClick(dialog.name, Qt.Key.Key_Tab)  # left empty: now it is said
    assert "村(社区)名称：请填写" in dialog.message.text()
    type_text(dialog.server, "ftp:/")  # can never become http://: said at once
    assert "http://" in dialog.message.text()
    dialog.code.selectAll()
    type_text(dialog.code, "990102001001")  # two, then three problems showing
    QApplication.processEvents()
    assert len(dialog.message.text().splitlines()) == 3
    for edit in dialog.findChildren(QLineEdit):
        assert edit.height() >= heights[edit.objectName()], edit.objectName()  # never squashed
        assert edit.height() >= edit.fontMetrics().height() + 4
    assert dialog.derived.wordWrap()
