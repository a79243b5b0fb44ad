"""Start-up self-test of an installed app: ``TAIZHANG_SELF_TEST=1 taizhang``.

Used by the installer test (and by a county IT person after installing on a PC, e.g. over
remote access): the app starts exactly as usual; as soon as its first window is on screen this
prints one line saying what the user sees, and the app closes itself.

    TAIZHANG_SELF_TEST window: <main window title>          the main window appeared (exit 0)
    TAIZHANG_SELF_TEST dialog: <dialog title>               e.g. first-run setup (then closed)
    TAIZHANG_SELF_TEST message: <title>: <text>             a message box (e.g. database error)
    TAIZHANG_SELF_TEST timeout                              nothing appeared within the limit

The window must really be shown and painted (``grab()`` of a visible, non-empty widget); nothing
is simulated.  On Windows run it with ``taizhang-cli.exe``, which has a console to print to.
"""

from __future__ import annotations

import os
import sys

ENV = "TAIZHANG_SELF_TEST"
PREFIX = "TAIZHANG_SELF_TEST"


def requested() -> bool:
    return os.environ.get(ENV, "") not in ("", "0")


def _say(text: str) -> None:
    line = f"{PREFIX} " + " ".join(part.strip() for part in text.splitlines() if part.strip())  # one line
    if sys.stdout is not None:
        print(line, flush=True)


def install(timeout_seconds: float = 60.0) -> None:
    """Watch for the first window of the app starting in this process (call before run_app)."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QMessageBox

    from desktop.ui.app import ensure_qapplication

    app = ensure_qapplication()
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer(app)
    timer.setInterval(100)

    def painted(widget) -> bool:
        pixmap = widget.grab()
        return widget.isVisible() and not pixmap.isNull() and pixmap.width() > 0 and pixmap.height() > 0

    def check() -> None:
        for widget in QApplication.topLevelWidgets():
            if not widget.isVisible():
                continue
            if isinstance(widget, QMessageBox) and painted(widget):
                _say(f"message: {widget.windowTitle()}: {widget.text()}")
                widget.done(0)  # the app goes on as if the user pressed the button
                return
            if isinstance(widget, QMainWindow) and painted(widget):
                timer.stop()
                _say(f"window: {widget.windowTitle()}")
                QTimer.singleShot(0, app.quit)
                return
            if isinstance(widget, QDialog) and painted(widget):
                _say(f"dialog: {widget.windowTitle()}")
                widget.reject()
                return
        if clock.elapsed() > timeout_seconds * 1000:
            timer.stop()
            _say("timeout")
            app.exit(2)

    timer.timeout.connect(check)
    timer.start()
    app._taizhang_self_test = timer  # noqa: SLF001 - keep the timer's Python owner alive
