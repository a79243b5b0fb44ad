"""The job helper (desktop.ui.jobs): results, Chinese errors, cancel, the single writer thread."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("PySide6")

from desktop.ui import jobs  # noqa: E402


def test_success_runs_in_worker_and_returns_on_ui_thread(qtbot):
    seen = {}

    def work(job):
        seen["worker"] = threading.current_thread() is not threading.main_thread()
        job.progress(1, 2, "一半")
        return 42

    handle = jobs.op(work).success(lambda r: seen.setdefault("result", (r, threading.current_thread()
                                                                         is threading.main_thread())))\
        .run_in_background()
    qtbot.waitUntil(handle.is_done, timeout=5000)
    assert seen["worker"] is True
    assert seen["result"] == (42, True)
    assert handle.outcome == "success"
    # the signals the worker emitted through belong to the handle (Qt ownership): a worker letting go
    # of its reference last never destroys a UI-thread object
    assert handle.signals.parent() is handle


def test_failure_gets_chinese_message(qtbot):
    from storage.repository import WriteRefused

    errors = []
    handle = jobs.op(lambda job: (_ for _ in ()).throw(WriteRefused("这条记录已经删除"))) \
        .failure(errors.append).run_in_background()
    qtbot.waitUntil(handle.is_done, timeout=5000)
    assert handle.outcome == "failure"
    assert jobs.describe_error(errors[0]) == "这条记录已经删除"
    assert "日志文件" in jobs.describe_error(ZeroDivisionError("x"))


def test_cancel_stops_worker_and_rolls_back_bulk_write(qtbot, repo, village):
    from storage.repository import WriteOp

    started = threading.Event()
    ops = [WriteOp("service", "insert", {"org_code": village, "date": "2024-03-05", "category": "养老",
                                         "mode": "上门", "target": "老年人", "persons": 1})
           for _ in range(3000)]

    def work(job):
        def progress(n):
            started.set()
            time.sleep(0.05)
            job.progress(n, len(ops), "写入中")
        return repo.bulk_write(ops, progress=progress, chunk=100)

    cancelled = []
    handle = jobs.write_op(work).with_progress("正在写入").on_cancelled(lambda: cancelled.append(True)) \
        .run_in_background()
    assert started.wait(5)
    handle.cancel()
    qtbot.waitUntil(handle.is_done, timeout=10000)
    assert handle.outcome == "cancelled" and cancelled == [True]
    assert repo.count("service") == 0  # one transaction: nothing half-written


def test_cancel_after_the_write_committed_reports_success(qtbot, repo, village):
    """取消 pressed after the last progress call: the record IS saved, so the user must hear so."""
    committed = threading.Event()
    release = threading.Event()

    def work(job):
        job.progress(0, 1, "保存中")
        saved = repo.create("social_org", {"org_code": village, "name": "读书会", "org_type": "文体"})
        committed.set()
        release.wait(5)  # 取消 arrives now, after the commit
        return saved

    results, cancelled = [], []
    handle = jobs.write_op(work).success(results.append).on_cancelled(lambda: cancelled.append(True)) \
        .run_in_background()
    assert committed.wait(5)
    handle.cancel()
    release.set()
    qtbot.waitUntil(handle.is_done, timeout=5000)
    assert handle.outcome == "success" and cancelled == []
    assert results[0]["name"] == "读书会" and repo.count("social_org") == 1


def test_progress_dialog_appears_for_slow_jobs_and_cancel_button_works(qtbot):
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)

    def work(job):
        for i in range(200):
            job.progress(i, 200, "处理中")
            time.sleep(0.02)
        return "done"

    handle = jobs.op(work).with_progress("正在处理").run_in_background(parent)
    qtbot.waitUntil(lambda: handle.dialog is not None and handle.dialog.isVisible(), timeout=3000)
    assert "正在处理" in handle.dialog.labelText()
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    button = handle.dialog.findChild(QPushButton)
    assert button.text() == "取消"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(handle.is_done, timeout=5000)
    assert handle.outcome == "cancelled"


def test_writes_are_serialised_on_one_thread(qtbot):
    threads, overlap, running = set(), [], []
    lock = threading.Lock()

    def work(job):
        with lock:
            running.append(1)
            overlap.append(len(running))
        threads.add(threading.get_ident())
        time.sleep(0.01)
        with lock:
            running.pop()

    handles = [jobs.write_op(work).run_in_background() for _ in range(6)]
    qtbot.waitUntil(lambda: all(h.is_done() for h in handles), timeout=5000)
    assert max(overlap) == 1 and len(threads) == 1


def test_an_answer_for_a_deleted_widget_is_dropped(qtbot):
    """A page or form closed (and deleted) while its read job ran: the answer is dropped, its callback
    (which would touch the dead widget) is not called, and the job still finishes."""
    import shiboken6
    from PySide6.QtWidgets import QLabel

    release = threading.Event()
    label = QLabel("读取中")
    seen = []

    def show(text):
        seen.append(text)
        label.setText(text)  # would raise RuntimeError on a deleted label

    handle = jobs.op(lambda job: release.wait(5) and "完成").success(show).failure(seen.append) \
        .run_in_background(label)
    label.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(label), timeout=5000)
    release.set()
    qtbot.waitUntil(handle.is_done, timeout=5000)
    assert handle.outcome == "success" and seen == []

    kept = QLabel()  # the same job for a widget still open gets its answer
    qtbot.addWidget(kept)
    handle = jobs.op(lambda job: "完成").success(kept.setText).run_in_background(kept)
    qtbot.waitUntil(handle.is_done, timeout=5000)
    assert kept.text() == "完成"
