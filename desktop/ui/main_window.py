"""The main window: left navigation (desktop.ui.pages registry), pages, menus, status bar.

Keyboard: Ctrl+1…Ctrl+9 open the navigation entries in order; Ctrl+N 新建, Enter/F2 修改,
Delete 删除, Ctrl+F 搜索, F5 刷新, Ctrl+D 最近删除, Ctrl+H 修改记录 act on the visible list; Ctrl+Shift+L 大字模式;
F1 本页说明 (help for the current screen).  The navigation itself is a list: Tab to it, arrows to move.
"""

from __future__ import annotations

import datetime as dt
import logging

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QMessageBox, QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from desktop.ui import printing
from desktop.ui import pages as page_registry
from desktop.ui.context import AppContext, SyncState
from desktop.ui.record_pages import current_list
from storage import __version__
from storage.schema import record_type

log = logging.getLogger("taizhang.desktop.window")

APP_NAME = "社区服务台账"


def format_local(ts: dt.datetime | None) -> str:
    if ts is None:
        return "从未"
    return ts.astimezone().strftime("%Y-%m-%d %H:%M")


PREFERRED_SIZE = QSize(1200, 760)
WINDOW_FRAME = QSize(16, 40)  # title bar and borders (Windows 7/10, UOS at 96 dpi)


def initial_size(work_area: QSize | None) -> QSize:
    """1200×760, but never taller or wider than the screen's work area (1366×768 with a taskbar leaves
    728 px: a 760 px window would open with its status bar behind the taskbar)."""
    if work_area is None:
        return PREFERRED_SIZE
    return PREFERRED_SIZE.boundedTo(work_area - WINDOW_FRAME).expandedTo(QSize(640, 480))


def opens_maximised(work_area: QSize | None) -> bool:
    """Village PCs' 1024×768 and 1366×768 screens: the window opens maximised (every pixel is needed);
    on a large screen it opens at its preferred size."""
    return work_area is not None and (work_area.width() <= 1440 or work_area.height() <= 900)


def enter_presses_buttons(page: QWidget) -> None:
    """Enter (as well as Space) presses the focused button of a page, as it does in a dialog:
    many users expect Enter.  Qt does this for buttons with autoDefault, which only dialogs set."""
    for button in page.findChildren(QPushButton):
        button.setAutoDefault(True)


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext):
        super().__init__()
        self.ctx = ctx
        self.setObjectName("main_window")
        self.page_widgets: dict[str, QWidget] = {}
        # Optional entries (township review, board …) are built now: their factory decides whether
        # they exist on this PC at all (None = not here), so the navigation never shows a dead entry.
        self.specs = []
        for spec in page_registry.PAGES:
            if spec.optional:
                page = page_registry.create_page(spec, ctx)
                if page is None:
                    continue
                self.page_widgets[spec.key] = page
                enter_presses_buttons(page)
            self.specs.append(spec)

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.demo_banner = QLabel("演示数据：这是练习用的“幸福村（演示数据）”，内容是虚构的，不会上传到县服务器。")
        self.demo_banner.setObjectName("demoBanner")
        self.demo_banner.setWordWrap(True)  # never the widest thing in the window (large-font mode)
        outer.addWidget(self.demo_banner)
        self.backup_banner = self._backup_reminder()
        outer.addWidget(self.backup_banner)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setAccessibleName("导航")
        self.stack = QStackedWidget()
        for i, spec in enumerate(self.specs):
            item = QListWidgetItem(spec.title)
            item.setData(Qt.ItemDataRole.UserRole, spec.key)
            if i < 9:
                item.setToolTip(f"{spec.title}（Ctrl+{i + 1}）")
            self.nav.addItem(item)
            holder = self.page_widgets.get(spec.key)
            if holder is None:
                holder = QWidget()  # replaced by the real page on first visit
                holder.setObjectName(f"holder_{spec.key}")
            self.stack.addWidget(holder)
        self.nav.currentRowChanged.connect(self.show_page_at)
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)

        self._build_menus()
        self._build_status_bar()
        ctx.identity_changed.connect(self._update_title)
        ctx.settings_changed.connect(self._settings_changed)
        self._update_title()
        self._fit_nav()
        screen = self.screen()
        self.resize(initial_size(screen.availableGeometry().size() if screen is not None else None))
        self.nav.setCurrentRow(0)
        self.nav.setFocus()

    # ------------------------------------------------------------------ pages
    def page_index(self, key: str) -> int:
        for i, spec in enumerate(self.specs):
            if spec.key == key:
                return i
        raise KeyError(key)

    def show_page(self, key: str) -> QWidget:
        i = self.page_index(key)
        self.nav.setCurrentRow(i)
        return self.page_widgets.get(key) or self.show_page_at(i)

    def show_page_at(self, i: int) -> QWidget | None:
        if i < 0 or i >= len(self.specs):
            return None
        spec = self.specs[i]
        page = self.page_widgets.get(spec.key)
        if page is None:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                page = page_registry.create_page(spec, self.ctx)
            finally:
                QApplication.restoreOverrideCursor()
            if page is None:  # "not on this PC"
                self.nav.item(i).setHidden(True)
                return None
            old = self.stack.widget(i)
            self.stack.insertWidget(i, page)
            self.stack.removeWidget(old)
            old.deleteLater()
            self.page_widgets[spec.key] = page
            enter_presses_buttons(page)
        self.stack.setCurrentIndex(i)
        self._update_actions()
        return page

    def current_page(self) -> QWidget | None:
        return self.stack.currentWidget()

    def current_list(self):
        page = self.current_page()
        return current_list(page) if page is not None else None

    # ------------------------------------------------------------------ menus and shortcuts
    def _action(self, menu, text: str, shortcut, slot, name: str) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut:
            if isinstance(shortcut, (list, tuple)):
                action.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _on_list(self, method: str):
        def run():
            lst = self.current_list()
            if lst is not None:
                getattr(lst, method)()
        return run

    def paper_page(self) -> QWidget | None:
        """The visible page that can print (a record list, the month page, 指标), if any."""
        for candidate in (self.current_list(), self.current_page()):
            if candidate is not None and hasattr(candidate, "paper_job"):
                return candidate
        return None

    def _on_paper(self, action):
        def run():
            page = self.paper_page()
            if page is None:
                self.statusBar().showMessage("本页没有可打印的内容：请在记录列表、“月报与同步”或“指标”页打印", 5000)
                return
            action(page, page.paper_job())
        return run

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("文件(&F)")
        self.action_preview = self._action(file_menu, "打印预览(&V)…", None, self._on_paper(printing.preview),
                                           "action_print_preview")
        self.action_print = self._action(file_menu, "打印(&P)…", "Ctrl+P", self._on_paper(printing.print_paper),
                                         "action_print")
        self.action_pdf = self._action(file_menu, "导出PDF(&D)…", None, self._on_paper(printing.export_pdf),
                                       "action_export_pdf")
        file_menu.addSeparator()
        self._action(file_menu, "退出(&Q)", "Ctrl+Q", self.close, "action_quit")
        rec = bar.addMenu("记录(&R)")
        self.action_new = self._action(rec, "新建(&N)", "Ctrl+N", self._on_list("new_record"), "action_new")
        self.action_edit = self._action(rec, "修改(&E)", "F2", self._on_list("edit_record"), "action_edit")
        self.action_delete = self._action(rec, "删除(&D)", QKeySequence.StandardKey.Delete,
                                          self._on_list("delete_record"), "action_delete")
        self.action_search = self._action(rec, "搜索(&S)", "Ctrl+F", self._on_list("focus_search"), "action_search")
        self.action_refresh = self._action(rec, "刷新(&R)", "F5", self._on_list("reload"), "action_refresh")
        self.action_deleted = self._action(rec, "最近删除", "Ctrl+D", self._toggle_deleted, "action_deleted")
        self.action_history = self._action(rec, "修改记录(&L)…", "Ctrl+H", self._on_list("show_history"),
                                           "action_history")
        nav = bar.addMenu("转到(&G)")
        for i, spec in enumerate(self.specs):
            self._action(nav, spec.title, f"Ctrl+{i + 1}" if i < 9 else None,
                         lambda _c=False, i=i: self.focus_page(i), f"action_go_{spec.key}")
        view = bar.addMenu("视图(&V)")
        self.action_large = self._action(view, "大字模式(&L)", "Ctrl+Shift+L", self._toggle_large, "action_large")
        self.action_large.setCheckable(True)
        self.action_large.setChecked(self.ctx.settings.large_font)
        help_menu = bar.addMenu("帮助(&H)")
        self._action(help_menu, "打开日志文件夹", None, self._open_logs, "action_logs")
        self.action_help = self._action(help_menu, "本页说明(&H)", "F1", self.show_help, "action_help")
        self._action(help_menu, "关于(&A)", None, self.show_about, "action_about")

    def _backup_reminder(self) -> QWidget:
        """A gentle line on top when no backup was made for 7 days: 现在备份 / 以后再说 (this session)."""
        from storage import backup as bk

        bar = QWidget(self)  # parented at once: shown while parentless it would open as a window of its own
        bar.setObjectName("backupReminder")
        bar.setStyleSheet("#backupReminder{background:#fff7e0;border-bottom:1px solid #e0c060}")
        row = QHBoxLayout(bar)
        row.setContentsMargins(10, 4, 10, 4)
        text = None
        if not self.ctx.is_demo and self.ctx.db_path is not None:
            try:
                text = bk.backup_reminder(self.ctx.db_path)
            except OSError:
                text = None
        label = QLabel(text or "")
        label.setWordWrap(True)
        row.addWidget(label, 1)
        now = QPushButton("现在备份…")
        now.setObjectName("backupNow")
        now.clicked.connect(lambda: (bar.hide(), self.show_page("settings")))
        later = QPushButton("以后再说")
        later.clicked.connect(bar.hide)
        row.addWidget(now)
        row.addWidget(later)
        bar.setVisible(bool(text))
        return bar

    def focus_page(self, i: int) -> None:
        if self.nav.item(i) is None or self.nav.item(i).isHidden():
            return
        self.nav.setCurrentRow(i)
        lst = self.current_list()
        (lst.table if lst is not None else self.nav).setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _toggle_deleted(self) -> None:
        lst = self.current_list()
        if lst is not None:
            lst.set_show_deleted(not lst.deleted_toggle.isChecked())

    def _toggle_large(self) -> None:
        self.ctx.set_large_font(self.action_large.isChecked())

    def _settings_changed(self, key: str) -> None:
        if key == "large_font":
            from desktop.ui.theme import apply_theme

            self.action_large.setChecked(self.ctx.settings.large_font)
            app = QApplication.instance()
            if app is not None:
                apply_theme(app, self.ctx.settings.large_font)
            self._fit_nav()
            self._fit_combo_popups()

    def _fit_combo_popups(self) -> None:
        """Compact combo boxes were measured for the old font size (minimum width, drop-down list)."""
        from PySide6.QtWidgets import QComboBox

        from desktop.ui.flow_layout import COMPACT_CHARS, fit_combo_popup

        for combo in self.findChildren(QComboBox):
            if combo.property(COMPACT_CHARS):
                fit_combo_popup(combo)

    def _fit_nav(self) -> None:
        fm = self.nav.fontMetrics()
        width = max(fm.horizontalAdvance(s.title) for s in self.specs) + 64
        self.nav.setFixedWidth(max(150, int(width * (1.1 if self.ctx.settings.large_font else 1.0))))

    def _update_actions(self) -> None:
        lst = self.current_list()
        for a in (self.action_new, self.action_edit, self.action_delete, self.action_search,
                  self.action_refresh, self.action_deleted):
            a.setEnabled(lst is not None)

    def _open_logs(self) -> None:
        from desktop.logging_setup import log_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def about_text(self) -> str:
        from desktop.logging_setup import log_file_path

        ident = self.ctx.identity
        place = f"{ident.org_name}（{ident.org_code}）" if ident else "尚未设置"
        return (f"<b>{APP_NAME}</b> 版本 {__version__}<br><br>"
                f"本机单位：{place}<br>"
                f"数据库：{self.ctx.db_path or '内存'}<br>"
                f"日志文件：{log_file_path()}<br><br>"
                "城乡社区服务体系建设的台账程序：离线记录设施、人员、志愿者、服务，月底同步到县服务器。")

    def show_help(self):
        """F1: what the current screen is for, how to fill it, which plan asks for it (desktop/ui/help_page.py)."""
        from desktop.ui.help_page import show_help

        row = self.nav.currentRow()
        spec = self.specs[row] if 0 <= row < len(self.specs) else self.specs[0]
        return show_help(self, spec.key, spec.title)

    def show_about(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, f"关于{APP_NAME}", self.about_text(),
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("about")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.open()
        return box

    # ------------------------------------------------------------------ title and status bar
    def _update_title(self) -> None:
        ident = self.ctx.identity
        place = f" — {ident.org_name}（{ident.org_code}）" if ident else ""
        demo = " 【演示数据，不会同步】" if self.ctx.is_demo else ""
        self.setWindowTitle(f"{APP_NAME} {__version__}{place}{demo}")
        self.demo_banner.setVisible(self.ctx.is_demo)
        self._show_sync_state(self.ctx.sync_state)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_online = QLabel()
        self.status_online.setObjectName("status_online")
        self.status_unsent = QLabel()
        self.status_unsent.setObjectName("status_unsent")
        self.status_last_sync = QLabel()
        self.status_last_sync.setObjectName("status_last_sync")
        self.status_period = QLabel()
        self._period_reads = 0  # the latest read of the month's state (an older answer is dropped)
        self.status_period.setObjectName("status_period")
        self.status_version = QLabel(f"版本 {__version__}")
        self.status_version.setObjectName("status_version")
        # who writes are recorded as (storage.operators): the person chosen at start-up
        self.status_operator = QLabel(f"操作人：{self.ctx.repo.actor}")
        self.status_operator.setObjectName("status_operator")
        for w in (self.status_operator, self.status_online, self.status_unsent, self.status_last_sync,
                  self.status_period):
            sb.addPermanentWidget(w)
        sb.addPermanentWidget(self.status_version)
        self.ctx.unsent_count_changed.connect(self._show_unsent)
        self.ctx.sync_state_changed.connect(self._show_sync_state)
        self.ctx.period_changed.connect(lambda _p: self._show_period())
        self.ctx.records_changed.connect(self._records_changed)
        self._show_unsent(self.ctx.unsent_count)
        self._show_period()

    def _records_changed(self, type_name: str) -> None:
        self.ctx.refresh_unsent_count()
        if record_type(type_name).month_workflow:
            self._show_period()

    def _show_unsent(self, count: int) -> None:
        self.status_unsent.setText(f"未上传变更：{count:,} 条")
        self.status_unsent.setToolTip("本机已保存、尚未上传到县服务器的修改条数")

    def _show_sync_state(self, state: SyncState) -> None:
        if self.ctx.is_demo:
            text = "演示数据（不同步）"
        elif state.running:
            text = "正在同步…"
        elif state.online is True:
            text = "在线"
        elif state.online is False:
            text = "离线"
        elif not self.ctx.server_url():
            text = "离线（未设置县服务器）"
        else:
            text = "离线（尚未连接）"
        self.status_online.setText(text)
        self.status_online.setToolTip(state.message or text)
        self.status_last_sync.setText(f"上次同步：{format_local(state.last_success_at)}")

    def _show_period(self) -> None:
        """The month being reported and its state, read in a job (a newer read's answer wins)."""
        from desktop.ui.jobs import op
        from storage.periods import period_label

        period = self.ctx.current_period()
        self.status_period.setToolTip(f"本月底前后要报送的是{period_label(period)}的台账；在“月报与同步”中提交")
        self._period_reads += 1
        asked, ctx = self._period_reads, self.ctx

        def show(status: str | None) -> None:
            if asked == self._period_reads:
                self.status_period.setText(f"当前月报：{period_label(period)}" + (f"（{status}）" if status else ""))

        if not self.status_period.text():
            show(None)  # the month at once; its state when the read comes back
        op(lambda _job: ctx.current_period_status()).success(show).run_in_background(self)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:
        from desktop.ui.jobs import runner

        jobs = runner()
        if any(h.job.writes for h in jobs.active()):
            self.statusBar().showMessage("正在完成保存，请稍候…")
            jobs.wait_idle(30)
        # Open forms are not closed one by one: their autosaved drafts survive and are offered next time.
        super().closeEvent(event)


__all__ = ["MainWindow", "APP_NAME", "format_local"]
