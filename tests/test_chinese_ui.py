"""Everything a clerk sees is Chinese: every page, every record form, the 关于 box, the confirmation
boxes and Qt's own dialogs (file dialogs for export, template, backup and packages; the calendar).

The walk collects every visible text of each window — labels, buttons, group titles, tabs, column
headers, placeholders, window titles — and fails on Latin letters, except version numbers, codes,
paths, file patterns and the few names a clerk knows as such (Excel, CSV, PDF, Ctrl+…, F1 …).
"""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QAbstractButton, QApplication, QDateEdit, QFileDialog, QGroupBox, QHeaderView,
                               QLabel, QLineEdit, QTabBar, QWidget)

from desktop.ui.jobs import runner
from tests.test_desktop_fit import make_db, opened_window, settle

ALLOWED = re.compile(
    r"\(&?[A-Za-z]\)"  # menu mnemonics: 文件(&F)
    r"|(?:[A-Za-z]:)?[\w.~-]*[/\\][^\s，。；）)]*"  # paths
    r"|\*\.\w+|\.\w{2,6}\b"  # file patterns and extensions
    r"|(?:Ctrl|Shift|Alt)(?:\+\w+)+"  # key combinations: Ctrl+Shift+L
    r"|m²|U盘|是X|为X|\bX\b"  # units, the ID number's check character X
    r"|(?<![A-Za-z])I\d{1,2}(?!\d)"  # indicator codes I1 … I14 (the plans' 专栏1 numbering)
    r"|(?<![A-Za-z])(?:Excel|CSV|PDF|WPS|USB|ID|Ctrl|Shift|Alt|Enter|Esc|Tab|Delete|Del|Space|F\d{1,2}|PgUp|PgDn"
    r"|Home|End|GB/T|Windows|UOS|Kylin|Linux|SQLite|PostgreSQL|UTF-8|BOM|PC|IT|URL|https?|www|v?\d[\w.+-]*)"
    r"(?![A-Za-z])")
LATIN = re.compile(r"[A-Za-z]")
TAGS = re.compile(r"<[^>]+>|&\w+;")


def texts_of(root: QWidget) -> list[str]:
    out = [root.windowTitle()]
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisibleTo(root) and w is not root:
            continue
        if isinstance(w, QLabel):
            out.append(TAGS.sub("", w.text()))
        elif isinstance(w, QAbstractButton):
            out.append(w.text())
        elif isinstance(w, QGroupBox):
            out.append(w.title())
        elif isinstance(w, QTabBar):
            out += [w.tabText(i) for i in range(w.count())]
        elif isinstance(w, QHeaderView) and w.model() is not None and w.orientation().name == "Horizontal":
            out += [str(w.model().headerData(i, w.orientation()) or "") for i in range(w.count())]
        elif isinstance(w, QLineEdit):
            out.append(w.placeholderText())
    return [t for t in out if t]


def latin_in(root: QWidget) -> list[str]:
    return [t for t in texts_of(root) if LATIN.search(ALLOWED.sub("", t))]


def test_qt_chinese_translation_is_installed(qtbot):
    from PySide6.QtWidgets import QMessageBox

    from desktop.ui.app import ensure_qapplication

    ensure_qapplication()
    box = QMessageBox(QMessageBox.Icon.Information, "标题", "内容", QMessageBox.StandardButton.Ok)
    qtbot.addWidget(box)
    assert box.button(QMessageBox.StandardButton.Ok).text() == "确定"  # a bare box said “OK” before
    dialog = QFileDialog(None, "导出", "/tmp", "Excel 工作簿 (*.xlsx)")
    qtbot.addWidget(dialog)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    assert dialog.testOption(QFileDialog.Option.DontUseNativeDialog) or \
        QApplication.testAttribute(__import__("PySide6.QtCore").QtCore.Qt.ApplicationAttribute.AA_DontUseNativeDialogs)
    dialog.show()
    assert latin_in(dialog) == [], latin_in(dialog)
    assert any(b.text().startswith("保存") for b in dialog.findChildren(QAbstractButton))
    dialog.close()


@pytest.mark.parametrize("role", ["village", "township"])
def test_every_window_and_dialog_is_chinese(qtbot, taizhang_home, repo, role):
    found: dict[str, list[str]] = {}
    with opened_window(qtbot, make_db(taizhang_home, repo, role, False)) as controller:
        window = controller.window
        window.resize(1366, 728)
        for spec in window.specs:
            page = window.show_page(spec.key)
            runner().wait_idle(60)
            settle()
            found[f"页面 {spec.title}"] = latin_in(window)
            lst = window.current_list()
            if lst is not None and role == "village":
                tabs = getattr(page, "tabs", None)
                for i in range(tabs.count() if tabs is not None else 1):
                    if tabs is not None:
                        tabs.setCurrentIndex(i)
                        runner().wait_idle(30)
                    lst = window.current_list()
                    found[f"页面 {spec.title} 第{i + 1}页"] = latin_in(window)
                    if lst is None or not window.action_new.isEnabled():  # e.g. 培训到期: a list of no records
                        continue
                    window.action_new.trigger()
                    settle()
                    if lst.open_forms:
                        form = lst.open_forms[-1]
                        found[f"表单 {form.windowTitle()}"] = latin_in(form)
                        for date in form.findChildren(QDateEdit):
                            assert date.calendarWidget().locale().language().name == "Chinese"
                        form.done(0)
                if tabs is not None:
                    tabs.setCurrentIndex(0)
        box = window.show_about()
        settle()
        found["关于"] = latin_in(box)
        box.done(0)

        # Qt's file dialogs as the pages open them (static calls): read the dialog, then cancel it
        def read_dialog(key: str) -> None:
            dialog = QApplication.activeModalWidget()
            if not isinstance(dialog, QFileDialog):
                QTimer.singleShot(30, lambda: read_dialog(key))
                return
            settle()
            found[f"文件对话框 {key}"] = latin_in(dialog)
            dialog.reject()

        openers = []
        if role == "village":
            exchange = window.show_page("exchange")
            periods = window.show_page("periods")
            openers += [("导出", exchange.choose_export_file), ("模板", exchange.choose_template_file),
                        ("导入", exchange.choose_import_files), ("数据包", periods.choose_export)]
        settings = window.show_page("settings")
        from desktop.ui.backup_widget import BackupWidget

        backup = settings.findChild(BackupWidget)
        if backup is not None:
            openers += [("备份位置", backup.choose_backup_folder), ("恢复", backup.choose_backup_file)]
        for key, opener in openers:
            QTimer.singleShot(30, lambda k=key: read_dialog(k))
            opener()
            assert f"文件对话框 {key}" in found
    bad = {k: v for k, v in found.items() if v}
    assert not bad, bad
