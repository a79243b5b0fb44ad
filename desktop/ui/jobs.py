"""The ONE helper for long work in the desktop app (modelled on Anki's QueryOp/CollectionOp).

Usage (from the UI thread)::

    from desktop.ui.jobs import op, write_op

    def work(job):                       # runs in a worker thread; NEVER touches widgets
        rows = []
        for i, item in enumerate(items):
            job.progress(i, len(items), "正在读取…")   # raises JobCancelled once 取消 was pressed
            rows.append(...)
        return rows

    (op(work)
        .with_progress("正在读取数据")       # QProgressDialog with 取消, shown only if the job takes > 0.5 s
        .success(lambda rows: ...)          # called on the UI thread with fn's return value
        .failure(lambda exc: ...)           # optional; default: a Chinese message box (describe_error)
        .run_in_background(parent_widget))

Rules (binding for every helper's desktop code):

* Workers get a :class:`JobControl`: ``job.progress(done, total, text)`` reports progress (cheap;
  throttled before it reaches Qt) and raises :class:`JobCancelled` after the user pressed 取消;
  ``job.cancelled()`` returns the flag for loops that prefer to check it; ``job.raise_if_cancelled()``.
  Passing ``progress=lambda n: job.progress(n, total, text)`` to ``Repository.bulk_write`` therefore
  makes 取消 roll the whole transaction back (bulk_write is one transaction).
* Results, errors, progress and cancellation come back through Qt signals (queued to the UI thread);
  callbacks run on the UI thread.  An exception in ``fn`` becomes ``failure(exc)``; without a
  failure callback the user sees :func:`describe_error` (Chinese: what happened, what to do, where
  the log is) and the traceback goes to the log (PII masked by ``desktop.logging_setup``).
* **Database writes happen in exactly one place: the single DB writer thread.**  Every write the
  app makes (form save, delete, restore, import, sync apply, demo fill, backup restore, settings
  that come with record writes) runs as ``write_op(fn)`` — a job on a QThreadPool with exactly one
  thread, so writes are serialised in submission order and never run on the UI thread, and SQLite
  never sees two writers from this process (the record form, ``desktop/forms/record_form.py``
  ``run_write``, saves this way too and waits in a local event loop).  Read-only work uses ``op(fn)`` (a small read pool; WAL
  lets readers run beside the writer).
* Work that waits on the network (sync) runs as ``network_op(fn)`` on its own thread, never on the
  writer: its database writes are handed to the writer thread one at a time with
  :func:`run_on_writer` (``SyncClient(writer=run_on_writer)``), so a form save waits at most for
  one of those short transactions, never for the server's answer.  Small UI preference writes (``Repository.set_setting`` for
  large-font mode and similar, a few hundred microseconds) are the one documented exception and may
  run on the UI thread.
* ``write_op(fn).affects("service", ...)`` makes the app context emit ``records_changed(type)`` and
  refresh the unsent-changes count after success, so lists and the status bar update themselves.
* Python's cycle collector runs on the UI thread only (``desktop/ui/ui_thread_gc.py``, installed with
  the QApplication): a collection started by a worker's allocations would destroy Qt objects (a
  model, a timer, a closed page's handle) on the worker, and crash the event loop later.
* Tests: ``handle = job.run_in_background(w)`` returns a :class:`JobHandle`; ``qtbot.waitUntil(
  handle.is_done)`` or ``runner().wait_idle()`` waits for it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QWidget

log = logging.getLogger("taizhang.desktop.jobs")

SHOW_PROGRESS_AFTER_MS = 500
_PROGRESS_MIN_INTERVAL_S = 0.05


class JobCancelled(Exception):
    """Raised inside a worker (by ``job.progress`` / ``raise_if_cancelled``) after 取消 was pressed."""


class JobControl:
    """What a worker function receives: progress reporting and the cancel flag (thread-safe)."""

    def __init__(self, signals: "_JobSignals"):
        self._signals = signals
        self._cancel = threading.Event()
        self._last_emit = 0.0

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def raise_if_cancelled(self) -> None:
        if self._cancel.is_set():
            raise JobCancelled()

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        """Report progress (total 0 = unknown); raises JobCancelled if the user cancelled."""
        self.raise_if_cancelled()
        now = time.monotonic()
        if now - self._last_emit >= _PROGRESS_MIN_INTERVAL_S or (total and done >= total):
            self._last_emit = now
            self._signals.progressed.emit(int(done), int(total), str(text))


class _JobSignals(QObject):
    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    was_cancelled = Signal()


_ON_WRITER = threading.local()  # .active: this thread is the database writer


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[JobControl], Any], control: JobControl, signals: _JobSignals,
                 writes: bool = False):
        super().__init__()
        self.setAutoDelete(True)
        self._fn, self._control, self._signals, self._writes = fn, control, signals, writes

    def run(self) -> None:  # worker thread: no widgets here, only signal emission
        _ON_WRITER.active = self._writes
        try:
            self._control.raise_if_cancelled()
            result = self._fn(self._control)
        except JobCancelled:
            self._emit(self._signals.was_cancelled)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the UI thread
            log.error("job failed: %s", exc, exc_info=(type(exc), exc, exc.__traceback__))
            self._emit(self._signals.failed, exc)
        else:
            # The function returned, so its work is done (a write is committed): report that, even if
            # 取消 was pressed at the last moment — telling the user "not saved" would be false.
            self._emit(self._signals.succeeded, result)

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the app is shutting down and the receiver is gone: nobody to tell
            log.info("job finished after the app closed; result dropped")


class JobHandle(QObject):
    """A running job, owned by the UI thread. ``finished`` fires once, after the callbacks ran."""

    finished = Signal(str)  # "success" | "failure" | "cancelled"

    def __init__(self, job: "Job", parent: QWidget | None):
        super().__init__()
        self.job = job
        self.parent_widget = parent
        # owned by the handle: the worker's runnable holds the signals too, and a QObject must not be
        # destroyed there when the runnable lets go of it after the handle did (see ui_thread_gc)
        self.signals = _JobSignals(self)
        self.control = JobControl(self.signals)
        self.outcome: str | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.dialog: QProgressDialog | None = None
        self._show_timer: QTimer | None = None
        self.signals.progressed.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self.signals.succeeded.connect(self._on_success, Qt.ConnectionType.QueuedConnection)
        self.signals.failed.connect(self._on_failure, Qt.ConnectionType.QueuedConnection)
        self.signals.was_cancelled.connect(self._on_cancelled, Qt.ConnectionType.QueuedConnection)
        self._last = (0, 0, "")

    # ---------------------------------------------------------------- UI thread
    def is_done(self) -> bool:
        return self.outcome is not None

    def _parent_gone(self) -> bool:
        """The widget the job was started for was deleted (its page or form closed) before the answer
        came: its callbacks would touch a dead C++ object, so the answer is dropped."""
        return self.parent_widget is not None and not shiboken6.isValid(self.parent_widget)

    def cancel(self) -> None:
        self.control.cancel()

    def _start_progress_ui(self) -> None:
        if self.job.label is None:
            return
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.timeout.connect(self._show_dialog)
        self._show_timer.start(SHOW_PROGRESS_AFTER_MS)

    def _show_dialog(self) -> None:
        if self.is_done() or self._parent_gone():
            return
        dlg = QProgressDialog(self.job.label, "取消", 0, 0, self.parent_widget)
        dlg.setWindowTitle("请稍候")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.canceled.connect(self._on_user_cancel)
        self.dialog = dlg
        self._apply_progress()
        dlg.show()

    def _on_user_cancel(self) -> None:
        self.control.cancel()
        if self.dialog is not None:
            self.dialog.setLabelText("正在取消，请稍候…（已做的修改会全部撤回）"
                                     if self.job.writes else "正在取消，请稍候…")
            self.dialog.setCancelButton(None)  # pressed once is enough

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self._last = (done, total, text)
        self._apply_progress()
        for cb in self.job.progress_callbacks:
            cb(done, total, text)

    def _apply_progress(self) -> None:
        if self.dialog is None or self.control.cancelled():
            return
        done, total, text = self._last
        self.dialog.setMaximum(max(total, 0))
        if total:
            self.dialog.setValue(min(done, total))
        label = self.job.label or ""
        if text:
            label = f"{label}\n{text}"
        if total:
            label += f"\n{done:,} / {total:,}"
        self.dialog.setLabelText(label)

    def _close_progress(self) -> None:
        if self._show_timer is not None:
            self._show_timer.stop()
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self._on_user_cancel)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

    def _finish(self, outcome: str) -> None:
        self.outcome = outcome
        _runner()._forget(self)
        self.finished.emit(outcome)

    def _on_success(self, result: Any) -> None:
        self._close_progress()
        self.result = result
        try:
            if self.job.affected_types:
                from desktop.ui.context import current_context

                ctx = current_context()
                if ctx is not None:
                    for name in self.job.affected_types:
                        ctx.records_changed.emit(name)
                    ctx.refresh_unsent_count()
            if self._parent_gone():
                log.info("job answer dropped: its window was closed before it came")
            elif self.job.on_success is not None:
                self.job.on_success(result)
        finally:
            self._finish("success")

    def _on_failure(self, exc: BaseException) -> None:
        self._close_progress()
        self.error = exc
        try:
            if self._parent_gone():
                log.info("job failure not shown: its window was closed (%s)", type(exc).__name__)
            elif self.job.on_failure is not None:
                self.job.on_failure(exc)
            else:
                show_error(self.parent_widget, exc, title=self.job.label or "操作未完成")
        finally:
            self._finish("failure")

    def _on_cancelled(self) -> None:
        self._close_progress()
        try:
            if self.job.on_cancel is not None and not self._parent_gone():
                self.job.on_cancel()
        finally:
            self._finish("cancelled")


class Job:
    """Builder for one piece of background work; see the module docstring."""

    def __init__(self, fn: Callable[[JobControl], Any], *, writes: bool = False):
        self.fn = fn
        self.writes = writes
        self.label: str | None = None
        self.on_success: Callable[[Any], None] | None = None
        self.on_failure: Callable[[BaseException], None] | None = None
        self.on_cancel: Callable[[], None] | None = None
        self.progress_callbacks: list[Callable[[int, int, str], None]] = []
        self.affected_types: tuple[str, ...] = ()
        self.network = False  # network_op: runs on the network thread

    def with_progress(self, label: str) -> "Job":
        """Show a progress dialog (with 取消) titled ``label`` if the job runs longer than 0.5 s."""
        self.label = label
        return self

    def success(self, cb: Callable[[Any], None]) -> "Job":
        self.on_success = cb
        return self

    def failure(self, cb: Callable[[BaseException], None]) -> "Job":
        self.on_failure = cb
        return self

    def on_cancelled(self, cb: Callable[[], None]) -> "Job":
        self.on_cancel = cb
        return self

    def on_progress(self, cb: Callable[[int, int, str], None]) -> "Job":
        """Extra UI-thread progress listener (e.g. an inline progress bar instead of the dialog)."""
        self.progress_callbacks.append(cb)
        return self

    def affects(self, *record_types: str) -> "Job":
        """After success: emit ``records_changed`` for these types and refresh the unsent count."""
        self.affected_types = tuple(record_types)
        return self

    def run_in_background(self, parent: QWidget | None = None) -> JobHandle:
        return _runner().submit(self, parent)


def op(fn: Callable[[JobControl], Any]) -> Job:
    """A read-only background job (runs on the read pool)."""
    return Job(fn, writes=False)


def write_op(fn: Callable[[JobControl], Any]) -> Job:
    """A job that writes to the database: runs on the single DB writer thread (serialised)."""
    return Job(fn, writes=True)


def network_op(fn: Callable[[JobControl], Any]) -> Job:
    """A job that talks to the server (sync): runs on the network thread, never holding the writer.

    Its database writes go through :func:`run_on_writer`."""
    job = Job(fn, writes=False)
    job.network = True
    return job


class _WriterCall(QRunnable):
    def __init__(self, fn: Callable[[], Any]):
        super().__init__()
        self.setAutoDelete(True)
        self.fn, self.result, self.error, self.done = fn, None, None, threading.Event()

    def run(self) -> None:
        _ON_WRITER.active = True
        try:
            self.result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the waiting thread
            self.error = exc
        finally:
            self.done.set()


def run_on_writer(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on the database writer thread and wait for it (from a worker thread, never the UI).

    Queued behind the writes already submitted, like any ``write_op``; on the writer thread itself it
    simply runs."""
    if getattr(_ON_WRITER, "active", False):
        return fn()
    call = _WriterCall(fn)
    _runner().write_pool.start(call)
    call.done.wait()
    if call.error is not None:
        raise call.error
    return call.result


class JobRunner(QObject):
    """Owns the thread pools: many readers, exactly one database writer."""

    def __init__(self):
        super().__init__()
        self.read_pool = QThreadPool()
        self.read_pool.setMaxThreadCount(2)
        self.write_pool = QThreadPool()
        self.write_pool.setMaxThreadCount(1)  # THE database writer thread
        self.write_pool.setExpiryTimeout(-1)
        self.network_pool = QThreadPool()
        self.network_pool.setMaxThreadCount(1)  # one sync at a time
        self._active: set[JobHandle] = set()

    def submit(self, job: Job, parent: QWidget | None) -> JobHandle:
        handle = JobHandle(job, parent)
        self._active.add(handle)
        handle._start_progress_ui()
        pool = self.write_pool if job.writes else self.network_pool if job.network else self.read_pool
        pool.start(_Runnable(job.fn, handle.control, handle.signals, writes=job.writes))
        return handle

    def _forget(self, handle: JobHandle) -> None:
        self._active.discard(handle)

    def active(self) -> list[JobHandle]:
        return list(self._active)

    def cancel_all(self) -> None:
        for handle in list(self._active):
            handle.cancel()

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """At exit: cancel reads, let queued writes finish (a write is never cut off half-way)."""
        for handle in list(self._active):
            if not handle.job.writes:
                handle.cancel()
        self.network_pool.waitForDone(int(timeout_s * 1000))  # its last writes still go to the writer
        self.write_pool.waitForDone(int(timeout_s * 1000))
        self.read_pool.waitForDone(int(timeout_s * 1000))

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait (processing events) until every job finished and its callbacks ran."""
        deadline = time.monotonic() + timeout_s
        app = QApplication.instance()
        while self._active and time.monotonic() < deadline:
            self.read_pool.waitForDone(20)
            self.write_pool.waitForDone(20)
            self.network_pool.waitForDone(20)
            if app is not None:
                app.processEvents()
        return not self._active


_RUNNER: JobRunner | None = None


def _runner() -> JobRunner:
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = JobRunner()
    return _RUNNER


def runner() -> JobRunner:
    """The process-wide job runner (created on first use, on the UI thread)."""
    return _runner()


# --------------------------------------------------------------------------- errors in Chinese


def describe_error(exc: BaseException) -> str:
    """A Chinese message for the user: what happened and what to do."""
    from storage.cli import UserError
    from storage.db import DatabaseError
    from storage.repository import WriteRefused
    from storage.validation import ValidationError
    from sync.package import PackageError

    if isinstance(exc, (ValidationError, WriteRefused, DatabaseError, UserError, PackageError)):
        return str(exc)
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError) or "database is locked" in text:
        if "locked" in text or "busy" in text:
            return "数据库正被其他操作占用（可能是导入或同步正在进行）。请等它完成后再试一次，刚才的操作没有保存。"
        if "disk" in text or "full" in text:
            return "磁盘空间不足或磁盘出错，刚才的操作没有保存。请清理磁盘空间后重试。"
    cause = getattr(exc, "orig", None)
    if cause is not None and cause is not exc:
        return describe_error(cause)
    if isinstance(exc, PermissionError):
        return f"没有权限读写文件：{getattr(exc, 'filename', '') or text}。请换一个文件夹，或关闭正在使用该文件的程序后重试。"
    if isinstance(exc, FileNotFoundError):
        return f"找不到文件：{getattr(exc, 'filename', '') or text}。请检查文件是否已被移动或删除。"
    if isinstance(exc, OSError):
        return f"读写文件或网络时出错：{text}。请检查后重试。"
    if isinstance(exc, MemoryError):
        return "电脑内存不足，操作没有完成。请关闭其他程序后重试。"
    from desktop.logging_setup import log_file_path

    return (f"程序内部出错（{type(exc).__name__}）。刚才的操作没有完成，已保存的数据不受影响。"
            f"请把日志文件 {log_file_path()} 发给县民政局信息管理员。")


def show_error(parent: QWidget | None, exc: BaseException, title: str = "操作未完成") -> None:
    box = QMessageBox(QMessageBox.Icon.Warning, title, describe_error(exc), QMessageBox.StandardButton.Ok, parent)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()


def ask(parent: QWidget, title: str, text: str, yes: str, on_yes: Callable[[], Any], *, no: str = "取消",
        name: str = "confirm", destructive: bool = False) -> QMessageBox:
    """One deliberate confirmation before an action that cannot be undone: window-modal (the event loop
    keeps running), the safe button ``no`` is the default and Esc; ``on_yes`` runs only after ``yes``.
    Returns the open box (object name ``name``; its buttons are named ``yes`` and ``no``)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setObjectName(name)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    yes_button.setObjectName("yes")
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    no_button.setObjectName("no")
    if destructive:
        from desktop.ui.theme import mark_destructive

        mark_destructive(yes_button, no_button)
    box.setDefaultButton(no_button)
    box.setEscapeButton(no_button)
    box.finished.connect(lambda _r: on_yes() if box.clickedButton() is yes_button else None)
    box.open()
    return box


__all__ = ["op", "write_op", "network_op", "run_on_writer", "Job", "JobControl", "JobHandle", "JobCancelled", "JobRunner", "runner",
           "describe_error", "show_error", "ask", "SHOW_PROGRESS_AFTER_MS"]
