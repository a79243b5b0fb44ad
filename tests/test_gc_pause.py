"""Automatic cycle collection is paused while a batch is written (storage/gc_pause.py)."""

from __future__ import annotations

import gc
import threading

import pytest

from storage.gc_pause import collection_paused
from storage.repository import WriteOp


@pytest.fixture
def collector_on():
    """CPython's own collector, as in the server and the command line (the Qt tests' application
    turns it off for the session: desktop/ui/ui_thread_gc.py)."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_nested_pauses_restore_the_collector_once_the_last_ends(collector_on):
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    was = gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_overlapping_batches_on_two_threads(collector_on):
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with collection_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with collection_paused():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after the first ended": False}
    assert gc.isenabled()


def test_a_bulk_write_runs_without_automatic_collection(repo, village, collector_on):
    """Between its chunks (the progress calls, inside the transaction) collection stays paused;
    it is back on once the write returns."""
    during = []
    ops = [WriteOp("service", "insert", {"org_code": village, "date": "2024-06-01", "category": "养老",
                                         "mode": "上门", "target": "老年人", "persons": i % 9 + 1})
           for i in range(3000)]
    repo.bulk_write(ops, chunk=1000, progress=lambda done: during.append((done, gc.isenabled())))
    assert during == [(1000, False), (2000, False), (3000, False)]
    assert gc.isenabled() and repo.count("service") == 3000


def test_every_batch_the_executor_runs_is_paused(repo, village, collector_on, monkeypatch):
    """A single save and a sync apply go through the executor alone, without bulk_write."""
    from storage import decision, executor

    seen = []
    real = decision.decide

    def decide(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(executor, "decide", decide)
    repo.create("service", {"org_code": village, "date": "2024-06-01", "category": "养老", "mode": "上门",
                            "target": "老年人", "persons": 2})
    assert seen == [False] and gc.isenabled()
