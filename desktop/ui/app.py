"""Starting the desktop app: ``taizhang`` (no subcommand) → ``run_app()``.

Order: rotating PII-free log → QApplication + CJK font + theme → open (create/upgrade) the local
database → first-run setup if this PC has no village yet (or the demo village, filled in a write job)
→ main window → offer drafts left by a crash (``desktop.forms.offer_drafts``).

``AppController`` does the same without ``exec()`` so tests and the screenshot script drive it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QTranslator, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.ui import ui_thread_gc
from storage import __version__

log = logging.getLogger("taizhang.desktop")

DEMO_RECORDS = 2000


class _CrashReporter(QObject):
    """Receives crash messages from any thread; shows them on the UI thread."""

    message = Signal(str)

    def __init__(self):
        super().__init__()
        self.message.connect(self._show)
        self.boxes: list[QMessageBox] = []

    def _show(self, text: str) -> None:
        parent = QApplication.activeWindow()
        box = QMessageBox(QMessageBox.Icon.Critical, "程序出错", text, QMessageBox.StandardButton.Ok, parent)
        box.setObjectName("crash_message")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        box.finished.connect(lambda *_: self.boxes.remove(box) if box in self.boxes else None)
        self.boxes.append(box)
        box.open()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives every thread that allocates its own malloc arena and rarely returns their memory:
    with the job threads refreshing 100,000-row lists, peak RSS grew by ~50 MB (measured 264 → 220 MB
    with 2 arenas).  Linux/glibc only; elsewhere nothing to do.  Call before any worker thread starts."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, int(arenas))  # -8 = M_ARENA_MAX
    except (OSError, AttributeError):
        log.debug("mallopt not available (not glibc)")


def ensure_qapplication(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        limit_malloc_arenas()
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("社区服务台账")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Taizhang")
    # The app icon (installers/icons, copied to desktop/resources) and the desktop entry's id, so the
    # taskbar/dock shows the 社区服务台账 icon for the window too (not a generic one).
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for png in sorted((Path(__file__).resolve().parents[1] / "resources").glob("taizhang-*.png")):
        icon.addFile(str(png))
    if not icon.isNull():
        app.setWindowIcon(icon)
    app.setDesktopFileName("org.taizhang.ledger")
    install_chinese(app)
    ui_thread_gc.install(app)  # Qt objects are never destroyed on a job's thread (see the module)
    return app


def install_chinese(app: QApplication) -> bool:
    """Qt's own Chinese translations, so its standard dialogs, buttons and calendar speak Chinese.

    qtbase_zh_CN.qm ships with PySide6-Essentials (``QLibraryInfo`` TranslationsPath; PyInstaller's
    PySide6 hook copies it into the bundle).  The file dialogs are Qt's own (not the desktop's
    native one), so “查找范围/文件名/保存” are Chinese even on a PC whose system language is English.
    Returns whether the translation was found (a missing file leaves Qt's English, nothing breaks)."""
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, Qt

    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, True)
    if getattr(app, "_taizhang_qt_zh", None) is not None:
        return True
    translator = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if not translator.load("qtbase_zh_CN", folder):
        log.warning("Qt's Chinese translation (qtbase_zh_CN.qm) not found in %s", folder)
        return False
    app.installTranslator(translator)
    missing = _QtGaps(app)
    app.installTranslator(missing)  # installed last, asked first; answers only its few strings
    app._taizhang_qt_zh = (translator, missing)  # keep them alive as long as the application
    return True


# Strings of Qt's file dialog that qtbase_zh_CN.qm (Qt 6.8–6.11) leaves in English.
QT_GAPS = {
    ("QFileDialog", "&Look in:"): "查找范围(&L)：",
    ("QFileDialog", "Look in:"): "查找范围：",
    ("QFileDialog", "Files of type:"): "文件类型：",
    ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
    ("QFileDialog", "Back"): "后退",
    ("QFileDialog", "Forward"): "前进",
    ("QFileDialog", "Parent Directory"): "上一级文件夹",
    ("QFileDialog", "Create New Folder"): "新建文件夹",
    ("QFileDialog", "List View"): "列表",
    ("QFileDialog", "Detail View"): "详细信息",
}


class _QtGaps(QTranslator):
    """Chinese for the few Qt strings its own translation misses (QT_GAPS); None (a null string) = not mine."""

    def translate(self, context, source, disambiguation=None, n=-1):  # noqa: D401 - Qt override
        return QT_GAPS.get((context, source))

    def isEmpty(self) -> bool:  # noqa: N802 - Qt naming
        return False


def open_context(db_path: Path | None = None):
    """Open (create/upgrade) the local database and build the AppContext."""
    from desktop.ui.context import AppContext
    from storage import local
    from storage.db import default_db_path, open_database
    from storage.repository import Repository

    path = Path(db_path) if db_path else default_db_path()
    engine = open_database(path)
    repo = Repository(engine, actor="本机用户")
    repo.device_id = local.device_id(repo)
    user = repo.get_setting("user")
    if user:
        repo.actor = user
    if local.identity(repo) is not None and not local.is_demo(repo):
        from storage import operators

        try:
            operators.start_of_day(repo)  # a PC with one member of staff is not asked anything
        except operators.OperatorError as exc:
            log.warning("TAIZHANG_OPERATOR not used: %s", exc)
    return AppContext(repo, path)


class AppController(QObject):
    """First run (if needed) → main window.  ``window_ready`` fires with the MainWindow."""

    window_ready = Signal(object)

    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.window = None
        self.first_run = None
        self.operator_dialog = None
        self.demo_job = None
        self._connect(ctx)

    def start(self):
        from desktop.ui.theme import apply_theme

        apply_theme(QApplication.instance(), self.ctx.settings.large_font)
        if self.ctx.identity is None:
            from desktop.ui.first_run import FirstRunDialog

            self.first_run = FirstRunDialog()
            self.first_run.finished.connect(self._first_run_done)
            self.first_run.open()
            return self.first_run
        from storage import operators

        if not self.ctx.is_demo and operators.needs_choice(self.ctx.repo):
            from desktop.ui.operator_dialog import OperatorDialog

            self.operator_dialog = OperatorDialog(self.ctx.repo)
            self.operator_dialog.finished.connect(lambda _result: self.show_main_window())
            self.operator_dialog.open()
            return self.operator_dialog
        return self.show_main_window()

    def _first_run_done(self, result: int) -> None:
        from desktop.ui.first_run import DEMO, VILLAGE
        from storage import local

        dialog = self.first_run
        if dialog is None or dialog.choice is None:
            QApplication.instance().quit()
            return
        if dialog.choice == VILLAGE:
            local.set_identity(self.ctx.repo, dialog.org_code, dialog.org_name, demo=False)
            if dialog.server_url:
                self.ctx.repo.set_setting("server_url", dialog.server_url)
                self.ctx.remember_stored(server_url=dialog.server_url)
            log.info("first run: this PC now keeps the ledger of one village/community")
            self.ctx.reload_identity()
            self.show_main_window()
        elif dialog.choice == DEMO:
            self.open_demo(dialog)

    def open_demo(self, parent=None):
        from desktop.ui.jobs import write_op
        from storage import local
        from storage.demo import fill_demo

        repo = self.ctx.repo

        def work(job):
            fill_demo(repo, records=DEMO_RECORDS, progress=lambda n: job.progress(n, 0, f"已写入 {n:,} 条演示记录"))
            return local.identity(repo)  # the demo village, read here

        def done(identity):
            self.ctx.reload_identity(identity)
            self.show_main_window()

        self.demo_job = (write_op(work).with_progress("正在生成演示村“幸福村（演示数据）”…")
                         .success(done).affects("facility", "staff", "training", "volunteer", "volunteer_team",
                                                "volunteer_hours", "service", "social_org")
                         .failure(self._startup_failed)
                         .on_cancelled(lambda: QApplication.instance().quit())
                         .run_in_background(parent))
        return self.demo_job

    def _startup_failed(self, exc: BaseException) -> None:
        from desktop.ui.jobs import describe_error

        QMessageBox.critical(None, "无法生成演示数据", describe_error(exc))
        QApplication.instance().quit()

    def leave_demo(self) -> Path | None:
        """Move the demo database aside (kept in backups/, never deleted) and start the first-run setup."""
        import datetime as dt

        from desktop.ui.jobs import runner

        if not self.ctx.is_demo or self.ctx.db_path is None:
            return None
        runner().wait_idle(60)
        app = QApplication.instance()
        quit_on_close = app.quitOnLastWindowClosed()
        app.setQuitOnLastWindowClosed(False)  # closing the main window here must not end the app
        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None
        path = Path(self.ctx.db_path)
        self.ctx.repo.engine.dispose()
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = path.parent / "backups" / f"演示数据-{stamp}.sqlite3"
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(path) + suffix)
            if src.exists():
                src.replace(Path(str(target) + suffix))
        log.info("demo database moved to the backups folder; starting first-run setup")
        try:
            self.ctx = open_context(path)
            self._connect(self.ctx)
            self.start()
        finally:
            app.setQuitOnLastWindowClosed(quit_on_close)
        return target

    def _connect(self, ctx) -> None:
        ctx.setup_requested.connect(self.leave_demo)

    def show_main_window(self):
        from desktop.ui.main_window import MainWindow, opens_maximised

        self.window = MainWindow(self.ctx)
        screen = self.window.screen()
        if opens_maximised(screen.availableGeometry().size() if screen is not None else None):
            self.window.showMaximized()
        else:
            self.window.show()
        QTimer.singleShot(0, self._offer_drafts)
        self.window_ready.emit(self.window)
        return self.window

    def _offer_drafts(self) -> None:
        from desktop.forms import offer_drafts

        if self.window is None:
            return
        try:
            saved = offer_drafts(self.window, self.ctx.repo, org_code=self.ctx.org_code)
        except Exception:  # noqa: BLE001 - drafts are a bonus; never block starting the app
            log.exception("offering drafts failed")
            return
        if saved:
            from storage.schema import RECORD_TYPES

            for name in RECORD_TYPES:  # the restored records may be of any type: let every list refresh
                self.ctx.records_changed.emit(name)
        self.ctx.refresh_unsent_count()


def run_app(argv: list[str] | None = None) -> int:
    from desktop.logging_setup import install_excepthook, setup_logging

    log_path = setup_logging()
    app = ensure_qapplication(argv)
    reporter = _CrashReporter()
    install_excepthook(reporter.message.emit)
    from desktop.ui.theme import apply_theme

    apply_theme(app, False)
    try:
        ctx = open_context()
    except Exception as exc:  # noqa: BLE001 - the database could not be opened: say so in Chinese
        from desktop.ui.jobs import describe_error

        log.exception("could not open the database")
        QMessageBox.critical(None, "无法打开台账数据库",
                             f"{describe_error(exc)}\n\n日志文件：{log_path}")
        return 1
    controller = AppController(ctx)
    controller.start()
    app._taizhang_keepalive = (controller, reporter)  # noqa: SLF001 - keep Python owners alive
    code = app.exec()
    from desktop.ui.jobs import runner

    runner().shutdown()
    ctx.repo.engine.dispose()
    log.info("app closed")
    return code


__all__ = ["run_app", "AppController", "open_context", "ensure_qapplication", "DEMO_RECORDS"]
