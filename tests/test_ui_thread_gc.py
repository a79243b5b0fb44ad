"""Python's cycle collector and Qt's threads (desktop/ui/ui_thread_gc.py).

A Qt object whose Python wrapper sits in a reference cycle is freed by the cycle collector, and
destroyed in whichever thread ran that collection (PySide6 hands widgets over to the UI thread, but
not models, timers, contexts or a job's handle).  CPython collects in the thread that happens to be
allocating, so without the rule a job's worker destroys Qt objects behind the UI thread's back: the
intermittent segfaults in the event loop.  These tests show the mechanism and the rule."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, Qt, QTimer


def _dropped_object_in_a_cycle(*, with_timer: bool) -> list[str]:
    """Make a parentless QObject (optionally with a running timer, as a job's handle has), put its
    wrapper in a cycle, drop it; returns where it gets destroyed ("ui" or "worker", appended by Qt's
    ``destroyed`` signal in the destroying thread).

    Destroyed on a worker, a running timer would stay registered with the UI thread's event loop,
    pointing at freed memory ("Timers cannot be stopped from another thread"): that is how the
    segfaults came, a while later.  So only the test that keeps the rule gives its object a timer."""
    where: list[str] = []
    ui_thread = threading.get_ident()  # the OS thread: the test runs on the UI thread
    owner = QObject()
    owner.cycle = owner
    if with_timer:
        QTimer(owner).start(60_000)
    owner.destroyed.connect(lambda *_: where.append("ui" if threading.get_ident() == ui_thread else "worker"),
                            Qt.ConnectionType.DirectConnection)
    del owner
    return where


def _allocate_cycles_on_a_worker() -> None:
    """What an import or a large read does to the collector: many new container objects."""

    def churn():
        kept = []
        for _ in range(50_000):
            node: list = []
            node.append(node)
            kept.append(node)

    worker = threading.Thread(target=churn, name="作业线程")
    worker.start()
    worker.join()


def test_a_workers_automatic_collection_destroys_qt_objects_on_the_worker(qapp):
    """The hazard itself, with CPython's automatic collection switched back on for a moment."""
    from desktop.ui import ui_thread_gc

    assert ui_thread_gc.installed(qapp) is not None and not gc.isenabled()
    gc.collect()  # the object's cycle is the youngest garbage: the worker's first collection finds it
    gc.enable()
    try:
        where = _dropped_object_in_a_cycle(with_timer=False)
        _allocate_cycles_on_a_worker()
    finally:
        gc.disable()
    assert where == ["worker"]


def test_with_the_rule_qt_objects_are_destroyed_on_the_ui_thread(qapp, qtbot):
    from desktop.ui import ui_thread_gc

    collector = ui_thread_gc.installed(qapp)
    gc.collect()
    where = _dropped_object_in_a_cycle(with_timer=True)
    _allocate_cycles_on_a_worker()
    assert where == [], "the worker's allocations must not start a collection"
    assert gc.get_count()[0] > collector.thresholds[0]
    qtbot.waitUntil(lambda: where != [], timeout=5000)  # the UI thread's timer collects
    assert where == ["ui"]


def test_the_desktop_app_installs_the_rule_once(qapp):
    from desktop.ui import ui_thread_gc
    from desktop.ui.app import ensure_qapplication

    app = ensure_qapplication()
    assert app is qapp
    assert len(app.findChildren(ui_thread_gc.UiThreadCollector)) == 1
    assert not gc.isenabled()


def test_collect_due_follows_cpythons_thresholds(qapp):
    from desktop.ui import ui_thread_gc

    collector = ui_thread_gc.installed(qapp)
    gc.collect()
    assert collector.collect_due() is None  # nothing allocated since: nothing due
    junk = [[] for _ in range(collector.thresholds[0] + 10)]
    assert collector.collect_due() == 0
    assert gc.get_count()[0] < collector.thresholds[0]
    del junk
