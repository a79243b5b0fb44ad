"""Python's cycle collector runs on the UI thread only, while the desktop app lives.

CPython starts an automatic collection in whichever thread is allocating when a generation's
threshold is crossed: in this app that is usually a job's worker (a workbook import, a 100,000-row
read) or the Excel reader's read-ahead thread.  If that collection frees the wrapper of a Python-made
Qt object that sat in a reference cycle (a job's handle whose callbacks point back at its page, an
app context), the C++ object is destroyed on that worker thread (PySide6 moves only widgets' deletion
to the UI thread) while the UI thread may be delivering its events; a timer it ran stays registered
with the UI thread's event loop, pointing at freed memory ("Timers cannot be stopped from another
thread").  The process then dies with a segmentation fault inside the event loop, at a random later
moment.  ``tests/test_ui_thread_gc.py`` shows a worker's collection destroying a QObject, and shows
that with this module installed it is destroyed on the UI thread instead.

So while the QApplication lives, automatic collection is off and a timer on the UI thread collects
each generation when its count passes the threshold CPython itself would use.  Reference counting
still frees everything that is not in a cycle at once; only cycles wait for the timer (at most
``INTERVAL_MS``).  Plain command-line runs (no QApplication) keep CPython's own collector.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication


class UiThreadCollector(QObject):
    """Owned by the application: turns automatic collection off and collects from a UI-thread timer."""

    INTERVAL_MS = 500

    def __init__(self, app: QApplication):
        super().__init__(app)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(self.INTERVAL_MS)

    def collect_due(self) -> int | None:
        """Collect the oldest generation whose count passed its threshold, as CPython would; returns
        that generation (None when nothing was due).  Must run on the UI thread."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                return generation
        return None


def install(app: QApplication) -> UiThreadCollector:
    """Make ``app`` own the one collector (idempotent; call on the UI thread when the app is made)."""
    collector = app.findChild(UiThreadCollector)
    if collector is None:
        collector = UiThreadCollector(app)
    return collector


def installed(app: QApplication | None = None) -> UiThreadCollector | None:
    app = app or QApplication.instance()
    return app.findChild(UiThreadCollector) if app is not None else None


__all__ = ["UiThreadCollector", "install", "installed"]
