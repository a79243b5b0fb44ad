"""How a form waits: its reads and writes run as jobs, its questions are window-modal message boxes.

The desktop rule (desktop/ui/jobs.py): every record write runs as a ``write_op`` on the one writer
thread, and reads run as read jobs, so the UI thread never touches the database.  A form that must
know the answer before it goes on (a save, the state of a month before saving into it) waits in a
local event loop: the window keeps painting, and the form is disabled meanwhile so nothing can be
typed or pressed twice.

Message boxes are window-modal: they block the form (and the window it belongs to), not every
window of the app.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.ui.jobs import op, write_op
from desktop.ui.theme import mark_destructive
from storage.repository import WriteRefused


def warn(parent: QWidget | None, title: str, text: str, name: str = "form_warning") -> None:
    """A warning box with a Chinese button (a bare QMessageBox would say “OK”)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    box.setObjectName(name)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.addButton("知道了", QMessageBox.ButtonRole.AcceptRole)
    box.exec()


def ask(parent: QWidget | None, title: str, text: str, name: str, yes: str, no: str, *,
        destructive: bool = False, default_yes: bool = False) -> bool:
    """A yes/no question with Chinese buttons; True if ``yes`` was pressed (Esc answers ``no``)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setObjectName(name)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.DestructiveRole if destructive
                               else QMessageBox.ButtonRole.AcceptRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    if destructive:
        mark_destructive(yes_button, no_button)
    box.setDefaultButton(yes_button if default_yes else no_button)
    box.setEscapeButton(no_button)
    box.exec()
    return box.clickedButton() is yes_button


def _wait_for(job, target: QWidget | None, parent: QWidget | None, form=None) -> Any:
    """Run ``job`` and wait for it in a local event loop with ``target`` disabled; re-raise its error."""
    outcome: dict = {}
    loop = QEventLoop()

    def succeeded(result):
        outcome["result"] = result
        loop.quit()

    def failed(exc):
        outcome["error"] = exc
        loop.quit()

    def cancelled():
        outcome["error"] = WriteRefused("保存被取消，记录没有保存，表单内容仍保留。")
        loop.quit()

    if target is not None:
        target.setEnabled(False)
    if form is not None:
        form._saving = True
    try:
        job.success(succeeded).failure(failed).on_cancelled(cancelled).run_in_background(parent)
        if not outcome:
            loop.exec()
    finally:
        if target is not None:
            target.setEnabled(True)
        if form is not None:
            form._saving = False
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def run_write(parent: QWidget, fn: Callable[[], Any], form=None) -> Any:
    """Run ``fn()`` (a repository write) on the app's single DB writer thread and return its result.

    No progress dialog with 取消 is offered: one record saves in milliseconds (it only waits if an
    import is running), and a cancelled save whose transaction already committed would leave the
    user unsure.  Errors raised by ``fn`` are re-raised here, on the UI thread.
    """
    return _wait_for(write_op(lambda _job: fn()), form or parent, parent, form)


def run_read(parent: QWidget | None, fn: Callable[[], Any]) -> Any:
    """Run ``fn()`` (a read) as a read job and return its result, the form disabled meanwhile."""
    return _wait_for(op(lambda _job: fn()), parent, parent)


__all__ = ["warn", "ask", "run_write", "run_read"]
