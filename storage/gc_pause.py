"""Python's automatic cycle collection paused while a batch is written.

A batch (5,000 Excel rows, a sync page) allocates hundreds of thousands of short-lived dicts and
lists.  Almost all of them are freed by reference counting the moment they are done with, but the
cycle collector is started by the allocation count alone and each time walks every container
still alive, including the caller's whole workbook or page: a quarter of a 100,000-record bulk
write went there (``python -m benchmarks core``; docs/core.md).  So the executor pauses automatic
collection for the batch; the cycles a batch leaves are collected by the first allocation after it.

Re-entrant and thread-safe: the server writes batches on several threads at once; collection
comes back on when the last of them ends, and only if it was on before the first began (the
desktop app keeps it off and collects on its UI thread: ``desktop/ui/ui_thread_gc.py``).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_batches = 0
_was_enabled = False


@contextmanager
def collection_paused() -> Iterator[None]:
    global _batches, _was_enabled
    with _lock:
        if _batches == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _batches += 1
    try:
        yield
    finally:
        with _lock:
            _batches -= 1
            if _batches == 0 and _was_enabled:
                gc.enable()


__all__ = ["collection_paused"]
