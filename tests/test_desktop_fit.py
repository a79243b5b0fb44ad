"""Every page fits a small screen: large-font mode on 1366×768 and old 1024×768 screens (and a
1024×600 netbook for a village PC), normal mode on 1024×600.

The main window is opened offscreen as the app opens it, every page of the navigation is visited
(a village PC with the demo data, and a township PC with its review and board pages), and then:

* the window's minimum size fits the screen's client area (the work area without the taskbar,
  minus the window's title bar and borders), so the window can be made to fit at all;
* at exactly that size, no visible control of any page lies outside the page (cut off) or gets less
  than its minimum size (squashed), and no page-level scroll area needs sideways scrolling.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QScrollArea, QWidget

from desktop.ui.jobs import runner
from storage import local
from storage import periods as P

# Work area after the taskbar, and what the window frame takes of it (title bar ~31 px and 8 px
# borders on Windows 7/10 and UOS at 96 dpi).
FRAME = QSize(16, 40)
LARGE_SCREEN = QSize(1366, 728)  # 1366×768 minus a 40 px taskbar
SMALL_SCREEN = QSize(1024, 600)  # netbook-class screen (normal font size)
OLD_SCREEN = QSize(1024, 728)  # an old office PC's 1024×768 monitor minus the taskbar
NETBOOK = QSize(1024, 560)  # 1024×600 minus the taskbar


def client_area(screen: QSize) -> QSize:
    return screen - FRAME


def make_db(taizhang_home, repo, role: str, large: bool):
    from storage.demo import fill_demo
    from tests.test_periods import fill_month
    from tests.test_review_ui import COUNTY, TOWN, county_tree

    if role == "village":
        fill_demo(repo, records=300)  # the demo village: every record type, long names included
    else:
        county_tree(repo)
        # long names are what widen combo boxes and table columns
        repo.create("org_unit", {"org_code": "220102001004", "name": "永吉街道幸福里社区居民委员会第二网格（新建小区）",
                                 "level": "村/社区", "parent_code": TOWN, "urban_rural": "城市社区"})
        month = P.previous_period()
        for code in ("220102001001", "220102001002", "220102001004"):
            fill_month(repo, org=code, month=month, services=3)
            P.submit(repo, code, month)
        if role == "county":
            local.set_identity(repo, COUNTY, "南关区")
        else:
            local.set_identity(repo, TOWN, "永吉街道")
    repo.set_setting("ui.large_font", "1" if large else "0")
    repo.engine.dispose()
    return taizhang_home / "taizhang.sqlite3"


def open_window(qtbot, db_path):
    from desktop.ui.app import AppController, open_context

    ctx = open_context(db_path)
    controller = AppController(ctx)
    controller.start()
    qtbot.waitUntil(lambda: controller.window is not None, timeout=60_000)
    return controller


@contextmanager
def opened_window(qtbot, db_path):
    """The app's main window on this database; closed and its database released afterwards."""
    controller = open_window(qtbot, db_path)
    try:
        yield controller
    finally:
        settle()
        controller.window.close()
        controller.window.deleteLater()
        controller.ctx.repo.engine.dispose()


def problems_on_pages(window, keys, *, check_room: bool = False) -> dict[str, list[str]]:
    """Show each page in turn: what is cut off or squashed on it (and, with check_room, assert the
    page's own minimum fits the room the window gives it)."""
    problems = {}
    for key in keys:
        page = window.show_page(key)
        settle()
        if check_room:
            assert page.isVisible()
            need = page.minimumSizeHint().expandedTo(page.minimumSize())
            room = window.stack.size()
            assert need.width() <= room.width() and need.height() <= room.height(), (
                f"page {key} needs {need.width()}×{need.height()}, has {room.width()}×{room.height()}")
        found = problems_of(window.stack.currentWidget())
        if found:
            problems[key] = found
    return problems


def settle() -> None:
    assert runner().wait_idle(30)
    for _ in range(3):
        QApplication.processEvents()


def inside_scroll_area(w: QWidget, page: QWidget) -> bool:
    """True if ``w`` is part of a scroll area below ``page``: its content scrolls rather than being
    cut off, and its headers and scroll bars are sized by the area (checked as a whole)."""
    p = w.parentWidget()
    while p is not None and p is not page:
        if isinstance(p, QAbstractScrollArea):
            return True
        p = p.parentWidget()
    return False


def effective_minimum(w: QWidget) -> QSize:
    """The minimum a layout gives a widget: an explicit minimum width/height wins over the hint."""
    hint, explicit = w.minimumSizeHint(), w.minimumSize()
    return QSize(explicit.width() or hint.width(), explicit.height() or hint.height())


def problems_of(page: QWidget) -> list[str]:
    problems = []
    bounds = page.rect()
    for w in page.findChildren(QWidget):
        if not w.isVisibleTo(page) or w.objectName().startswith("qt_") or inside_scroll_area(w, page):
            continue
        parent = w.parentWidget()
        if parent is not None and parent.objectName().startswith("qt_"):
            continue  # Qt's own parts of a composite widget (scroll bar containers …)
        name = f"{type(w).__name__}“{w.objectName() or getattr(w, 'text', lambda: '')()}”"
        rect = QRect(w.mapTo(page, QPoint(0, 0)), w.size())
        if not bounds.contains(rect):
            problems.append(f"{name} at {rect.getRect()} lies outside the page {bounds.getRect()}")
        hint = effective_minimum(w)
        if hint.isValid() and (w.width() < hint.width() or w.height() < hint.height()):
            problems.append(f"{name} squashed to {w.width()}×{w.height()} (needs {hint.width()}×{hint.height()})")
    for scroll in page.findChildren(QScrollArea):
        body = scroll.widget()
        if scroll.isVisibleTo(page) and scroll.widgetResizable() and body is not None:
            need = body.minimumSizeHint().width()
            if need > scroll.viewport().width():
                problems.append(f"scroll area {scroll.objectName()} needs sideways scrolling: "
                                f"{need} > {scroll.viewport().width()}")
    return problems


CASES = [
    pytest.param("village", True, LARGE_SCREEN, id="village-large-1366x768"),
    pytest.param("township", True, LARGE_SCREEN, id="township-large-1366x768"),
    pytest.param("county", True, LARGE_SCREEN, id="county-large-1366x768"),
    pytest.param("village", False, SMALL_SCREEN, id="village-normal-1024x600"),
    pytest.param("township", False, SMALL_SCREEN, id="township-normal-1024x600"),
    pytest.param("village", True, OLD_SCREEN, id="village-large-1024x768"),
    pytest.param("township", True, OLD_SCREEN, id="township-large-1024x768"),
    pytest.param("county", True, OLD_SCREEN, id="county-large-1024x768"),
    pytest.param("village", True, NETBOOK, id="village-large-1024x600"),
]


@pytest.mark.parametrize("role,large,screen", CASES)
def test_every_page_fits_the_screen(qtbot, taizhang_home, repo, app_look, role, large, screen):
    from desktop.ui.theme import LARGE_PX, NORMAL_PX

    with opened_window(qtbot, make_db(taizhang_home, repo, role, large)) as controller:
        window = controller.window
        assert QApplication.font().pixelSize() == (LARGE_PX if large else NORMAL_PX)
        keys = [spec.key for spec in window.specs]
        if role != "village":
            assert {"review", "board"} <= set(keys)
        for key in keys:  # build every page (the window's minimum covers all pages built so far)
            window.show_page(key)
            settle()
        target = client_area(screen)
        minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
        assert minimum.width() <= target.width() and minimum.height() <= target.height(), (
            f"the window needs at least {minimum.width()}×{minimum.height()}, "
            f"the screen leaves {target.width()}×{target.height()}")

        window.resize(target)
        settle()
        assert window.size() == target
        problems = problems_on_pages(window, keys, check_room=True)
        assert not problems, problems


def test_the_window_opens_inside_the_work_area():
    from desktop.ui.main_window import PREFERRED_SIZE, initial_size

    assert initial_size(LARGE_SCREEN) == client_area(LARGE_SCREEN).boundedTo(PREFERRED_SIZE) == QSize(1200, 688)
    assert initial_size(SMALL_SCREEN) == QSize(1008, 560)
    assert initial_size(QSize(1920, 1040)) == PREFERRED_SIZE


def test_switching_to_large_font_keeps_the_window_on_the_screen(qtbot, taizhang_home, repo, app_look):
    """Ctrl+Shift+L while every page is open (built at the normal size): still fits 1366×768."""
    with opened_window(qtbot, make_db(taizhang_home, repo, "village", False)) as controller:
        window = controller.window
        target = client_area(LARGE_SCREEN)
        window.resize(target)
        for spec in window.specs:
            window.show_page(spec.key)
            settle()
        window.action_large.trigger()
        settle()
        assert controller.ctx.settings.large_font
        minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
        assert minimum.width() <= target.width() and minimum.height() <= target.height(), minimum
        window.resize(target)
        settle()
        assert window.size() == target
        problems = problems_on_pages(window, [spec.key for spec in window.specs])
        assert not problems, problems


# --------------------------------------------------------------------------- keyboard


def tab_stops(page: QWidget, window) -> list[QWidget]:
    from PySide6.QtCore import Qt

    return [w for w in page.findChildren(QWidget)
            if w.isVisibleTo(window) and w.isEnabled() and w.focusProxy() is None
            and (w.focusPolicy() & Qt.FocusPolicy.TabFocus) == Qt.FocusPolicy.TabFocus]


@pytest.mark.parametrize("role", ["village", "county"])
def test_tab_reaches_every_control_and_enter_presses_buttons(qtbot, taizhang_home, repo, app_look, role):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    with opened_window(qtbot, make_db(taizhang_home, repo, role, True)) as controller:
        window = controller.window
        window.resize(client_area(LARGE_SCREEN))
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        missed = {}
        for spec in window.specs:
            window.show_page(spec.key)
            settle()
            window.activateWindow()  # a page's first job may have shown (and closed) a progress dialog
            qtbot.waitUntil(window.isActiveWindow)
            page = window.stack.currentWidget()
            # a job's progress dialog (shown when a page's first read takes > 0.5 s, as under load)
            # leaves the offscreen window inactive when it closes, and then nothing has focus
            window.activateWindow()
            qtbot.waitUntil(window.isActiveWindow)
            window.nav.setFocus()
            reached = []
            for _ in range(60):  # from the navigation, Tab through the page and back round to it
                QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
                focused = QApplication.focusWidget()
                if focused is window.nav:
                    break
                reached.append(focused)
            else:
                missed[spec.key] = "Tab never came back to the navigation (trapped in a control)"
                continue
            lost = [f"{type(w).__name__}“{w.objectName()}”" for w in tab_stops(page, window) if w not in reached]
            if lost:
                missed[spec.key] = lost
        assert not missed, missed

        # Enter presses the focused button of a page (not only Space), as in a dialog
        page = window.show_page("indicators")
        qtbot.waitUntil(lambda: page.handle is not None, timeout=10_000)
        settle()
        first = page.handle
        page.compute_button.setFocus()
        QTest.keyClick(page.compute_button, Qt.Key.Key_Return)
        assert page.handle is not first  # a new computation was started
        settle()

        # Esc in a list's search box clears the search
        window.show_page("facility")
        lst = window.current_list()
        qtbot.waitUntil(lambda: lst.loaded, timeout=30_000)
        total = lst.model.rowCount()
        lst.focus_search()
        QTest.keyClicks(lst.search, "zzzz")
        lst.apply_filter()
        assert lst.model.rowCount() < total or total == 0
        QTest.keyClick(lst.search, Qt.Key.Key_Escape)  # the unfiltered list comes back from a read job
        qtbot.waitUntil(lambda: lst.search.text() == "" and lst.model.rowCount() == total)


def test_combo_boxes_are_re_measured_for_large_font(qtbot, taizhang_home, repo, app_look):
    with opened_window(qtbot, make_db(taizhang_home, repo, "village", False)) as controller:
        window = controller.window
        window.show_page("service")
        lst = window.current_list()
        qtbot.waitUntil(lambda: lst.loaded, timeout=30_000)
        combo = lst.filter_combos["category"]
        view = combo.view()
        normal = view.minimumWidth()
        texts = [combo.itemText(i) for i in range(combo.count())]

        def widest() -> int:
            return max(view.fontMetrics().horizontalAdvance(t) for t in texts)

        narrowest = combo.minimumWidth()
        assert normal > widest() and combo.sizeHint().width() > narrowest > 0  # may shrink below its text
        window.action_large.trigger()
        settle()
        assert view.font().pixelSize() == combo.font().pixelSize() > 15
        assert view.minimumWidth() > normal and view.minimumWidth() > widest()
        assert combo.minimumWidth() > narrowest


# --------------------------------------------------------------------------- lists and forms, 4 screens

FOUR = [pytest.param(large, screen, id=f"{'large' if large else 'normal'}-{screen.width()}x{screen.height() + 40}")
        for screen in (OLD_SCREEN, LARGE_SCREEN) for large in (False, True)]


def shown_pages(window):
    """Every page of the window and each of its tabs, shown in turn: (page title, tab title, page);
    a page's first tab is shown again when its turn is over."""
    for spec in window.specs:
        page = window.show_page(spec.key)
        settle()
        tabs = getattr(page, "tabs", None)
        for i in range(tabs.count() if tabs is not None else 1):
            if tabs is not None:
                tabs.setCurrentIndex(i)
                settle()
            yield spec.title, tabs.tabText(i) if tabs is not None else "", page
        if tabs is not None:
            tabs.setCurrentIndex(0)


def service_list_on_the_old_screen(qtbot, controller):
    """The window at 1024×768 with its 服务记录 list shown and loaded: (window, list page)."""
    window = controller.window
    window.showNormal()
    window.resize(client_area(OLD_SCREEN))
    window.show_page("service")
    lst = window.current_list()
    qtbot.waitUntil(lambda: lst.loaded, timeout=30_000)
    return window, lst


def list_pages(window):
    """Every record list of the window (tabs included), shown in turn: (title, list page)."""
    for title, _tab, _page in shown_pages(window):
        lst = window.current_list()
        if lst is not None:
            yield f"{title}/{lst.rt.label}", lst


@pytest.mark.parametrize("large,screen", FOUR)
def test_lists_and_forms_need_no_sideways_scrolling(qtbot, taizhang_home, repo, app_look, large, screen):
    """At 1024×768 and 1366×768, normal and large font: no list scrolls sideways (columns by priority,
    the rest in the record's form), and every form opens inside the screen, using its height."""
    from desktop.ui.jobs import runner as jobs

    with opened_window(qtbot, make_db(taizhang_home, repo, "village", large)) as controller:
        window = controller.window
        target = client_area(screen)
        window.showNormal()  # it opened maximised on the test's small virtual screen
        window.resize(target)
        settle()
        assert window.size() == target
        problems = {}
        for title, lst in list_pages(window):
            qtbot.waitUntil(lambda: lst.loaded, timeout=30_000)
            settle()
            bar = lst.table.horizontalScrollBar()
            shown = [lst.model.columns[i].header for i in range(len(lst.model.columns))
                     if not lst.table.isColumnHidden(i)]
            if bar.maximum() > 0:
                problems[title] = f"scrolls sideways by {bar.maximum()} px; columns {shown}"
            assert shown and shown[0] == lst.model.columns[0].header  # the most important column stays
            if lst.new_button.isEnabled():
                lst.new_record()
                settle()
                form = lst.open_forms[-1]
                geometry = form.frameGeometry()
                if geometry.width() > screen.width() or geometry.height() > screen.height():  # the work area
                    problems[f"表单 {title}"] = f"{geometry.width()}×{geometry.height()} > {screen.width()}×{screen.height()}"
                for area in form.findChildren(QScrollArea):
                    if area.isVisible() and area.horizontalScrollBar().maximum() > 0:
                        problems[f"表单 {title} 横向"] = area.horizontalScrollBar().maximum()
                    if area.isVisible() and area.verticalScrollBar().maximum() > 0 \
                            and form.height() < target.height() - 80:
                        problems[f"表单 {title} 高度"] = (f"scrolls {area.verticalScrollBar().maximum()} px "
                                                          f"in a {form.height()} px form on a {target.height()} px screen")
                form.done(0)
                settle()
        assert jobs().wait_idle(30)
        assert not problems, problems


@pytest.mark.slow
def test_readme_screenshots_render_into_a_temporary_folder(tmp_path, monkeypatch, app_look):
    """The README's screenshots come from desktop/screenshots.py; rendered here into tmp (never over
    the committed ones), one of them at 1024×768 in large font."""
    from PySide6.QtGui import QImage

    from desktop import screenshots

    monkeypatch.setenv("TAIZHANG_HOME", str(tmp_path / "home"))
    assert screenshots.main(["--out", str(tmp_path / "shots"), "--records", "300"]) == 0
    names = {p.name for p in (tmp_path / "shots").glob("*.png")}
    assert {"desktop-service.png", "desktop-periods.png", "desktop-first-run.png", "desktop-large-font-1024x768.png",
            "desktop-periods-1024x768-large.png", "desktop-indicators-1024x768-large.png"} <= names
    small = QImage(str(tmp_path / "shots" / "desktop-large-font-1024x768.png"))
    assert (small.width(), small.height()) == (1008, 688)


# --------------------------------------------------------------------------- every page, 4 screens


def table_problems(page: QWidget) -> list[str]:
    """Tables and trees on a page: no sideways scrolling, no header cut short of its text's height,
    no visible column narrower than its header's text (the last, stretched one aside)."""
    from PySide6.QtWidgets import QHeaderView, QTableView, QTreeView

    problems = []
    for view in page.findChildren(QTableView) + page.findChildren(QTreeView):
        if not view.isVisibleTo(page) or view.model() is None:
            continue
        name = f"{type(view).__name__}“{view.objectName() or view.accessibleName()}”"
        bar = view.horizontalScrollBar()
        if bar.maximum() > 0:
            problems.append(f"{name} scrolls sideways by {bar.maximum()} px")
        header: QHeaderView = view.header() if isinstance(view, QTreeView) else view.horizontalHeader()
        if header.isHidden() or header.count() == 0:
            continue
        need = header.sizeHint().height()
        if header.height() < need:
            problems.append(f"{name} header is {header.height()} px high, its text needs {need} px")
        shown = [i for i in range(header.count()) if not header.isSectionHidden(i)]
        last = header.logicalIndex(max(header.visualIndex(i) for i in shown)) if shown else -1
        for i in shown:
            text = str(view.model().headerData(i, Qt.Orientation.Horizontal) or "")
            if i == last or not text:
                continue
            width = header.fontMetrics().horizontalAdvance(text)
            if header.sectionSize(i) < width:
                problems.append(f"{name} column “{text}” is {header.sectionSize(i)} px, its header needs {width}")
    return problems


@pytest.mark.parametrize("role", ["village", "township"])
@pytest.mark.parametrize("large,screen", FOUR)
def test_every_page_fits_1024_and_1366_in_normal_and_large_font(qtbot, taizhang_home, repo, app_look,
                                                                 role, large, screen):
    """Every page of a village PC and a township PC (审核, 汇总看板), at 1024×768 and 1366×768 in normal
    and large font: nothing outside the page or squashed, no table scrolls sideways, no header cut."""
    with opened_window(qtbot, make_db(taizhang_home, repo, role, large)) as controller:
        window = controller.window
        window.showNormal()
        window.resize(client_area(screen))
        settle()
        assert window.size() == client_area(screen)
        problems = {}
        for title, tab, page in shown_pages(window):
            qtbot.wait(120)  # the tables re-fit their columns shortly after a resize
            settle()
            found = problems_of(page) + table_problems(page)
            if found:
                problems[f"{title}/{tab}"] = found
        assert not problems, problems


def test_a_full_toolbar_puts_its_extra_buttons_under_more(qtbot, taizhang_home, repo, app_look):
    """Large font at 1024×768: the list's toolbar keeps to two rows; what does not fit is under 更多 ▾,
    whose menu opens from the keyboard and presses the hidden button (最近删除 here)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QMenu

    from desktop.ui.overflow_bar import OverflowBar

    with opened_window(qtbot, make_db(taizhang_home, repo, "village", True)) as controller:
        window, lst = service_list_on_the_old_screen(qtbot, controller)
        qtbot.wait(100)
        settle()
        bar = lst.findChild(OverflowBar)
        assert bar.more.isVisible() and bar.hidden
        shown = [b for b in bar.buttons if b.isVisible()]
        assert all(QRect(b.mapTo(lst, QPoint(0, 0)), b.size()).right() <= lst.width() for b in shown + [bar.more])
        rows = {b.mapTo(lst, QPoint(0, 0)).y() for b in (lst.new_button, bar.more)}
        assert len(rows) <= 2  # 新建 … and 排序 … 更多: two rows, not three

        # make 最近删除 one of the hidden buttons, then reach it by keyboard through 更多
        bar._arrange(bar.more.sizeHint().width())
        assert lst.deleted_toggle in bar.hidden and not lst.deleted_toggle.isVisible()
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        seen = {}

        def in_the_menu():  # the menu runs its own event loop: answer it from a timer
            menu = QApplication.activePopupWidget()
            if not isinstance(menu, QMenu):
                QTimer.singleShot(50, in_the_menu)
                return
            try:
                entries = {a.objectName(): a for a in menu.actions()}
                seen["history"] = entries["history"].isEnabled()
                seen["checkable"] = entries["show_deleted"].isCheckable() and not entries["show_deleted"].isChecked()
                for _ in range(len(entries)):  # ↓ passes over disabled entries (修改记录 with nothing selected)
                    if menu.activeAction() is entries["show_deleted"]:
                        break
                    QTest.keyClick(menu, Qt.Key.Key_Down)
                QTest.keyClick(menu, Qt.Key.Key_Return)
            finally:
                menu.close()  # never leave the test waiting in the menu's loop

        QTimer.singleShot(50, in_the_menu)
        bar.more.setFocus()
        QTest.keyClick(bar.more, Qt.Key.Key_Space)  # opens the menu (returns when it closes)
        qtbot.waitUntil(lambda: lst.deleted_toggle.isChecked(), timeout=5000)
        assert seen == {"history": lst.history_button.isEnabled(), "checkable": True}
        settle()


def test_a_button_under_more_keeps_its_alt_key(qtbot, taizhang_home, repo, app_look):
    """Large font at 1024×768, 修改记录(&L) and 最近删除(&D) under 更多 ▾: Alt+L and Alt+D still press
    them; and when they are back on the row, the same keys press them there (no ambiguous shortcut)."""
    from PySide6.QtTest import QTest

    from desktop.ui.overflow_bar import OverflowBar

    with opened_window(qtbot, make_db(taizhang_home, repo, "village", True)) as controller:
        window, lst = service_list_on_the_old_screen(qtbot, controller)
        settle()
        bar = lst.findChild(OverflowBar)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        for room in (bar.more.sizeHint().width(), 10_000):  # all under 更多; then all on the row
            bar._arrange(room)
            hidden = room < 10_000
            assert (lst.history_button in bar.hidden, lst.deleted_toggle in bar.hidden) == (hidden, hidden)
            assert lst.history_button.isVisible() != hidden
            lst.history_dialog = None
            lst.select_row(0)
            lst.table.setFocus()
            QTest.keyClick(lst.table, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
            qtbot.waitUntil(lambda: lst.history_dialog is not None and lst.history_dialog.isVisible(), timeout=5000)
            lst.history_dialog.done(0)
            settle()
            window.activateWindow()
            qtbot.waitUntil(window.isActiveWindow)
            before = lst.deleted_toggle.isChecked()
            lst.table.setFocus()
            QTest.keyClick(lst.table, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
            qtbot.waitUntil(lambda: lst.deleted_toggle.isChecked() != before, timeout=5000)
            lst.set_show_deleted(False)
            qtbot.waitUntil(lambda: lst.loaded and lst.model.rowCount() > 0, timeout=30_000)
            settle()
