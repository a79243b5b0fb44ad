"""Guard against a reference-count bug of PySide6 6.12 (shiboken6) on Python 3.11.

Measured here (PySide6-Essentials 6.12.0, CPython 3.11.7): every PySide call that returns
``None`` — every void method such as ``setText``/``setItem``/``setToolTip``, and getters that
return a null object such as ``parent()`` — hands back ``None`` WITHOUT taking a reference, so
each call permanently lowers ``None``'s reference count by one.  A fresh process starts with
about 5,000 references; after that many calls CPython aborts the whole process with
"Fatal Python error: none_dealloc: deallocating None".  Filling one table of 400 villages × 14
checks makes ~45,000 such calls.

Since Python 3.12 ``None`` is immortal (PEP 683), which is why the bug does not show there.  This
guard gives ``None`` the same property on older CPython by adding 2**40 to its reference count
once per process: the count can then never reach zero in practice (10**12 leaked references).
It is idempotent, does nothing on Python ≥ 3.12 or non-CPython, and imports no Qt.

Call :func:`apply` once, as early as possible, in every process that uses PySide6 (the desktop
app's start-up and the test session).
"""

from __future__ import annotations

import ctypes
import sys

BOOST = 1 << 40
_applied = False


def needed() -> bool:
    return sys.implementation.name == "cpython" and sys.version_info < (3, 12)


def apply() -> bool:
    """Make ``None`` effectively immortal on CPython < 3.12; True if it was applied now."""
    global _applied
    if _applied or not needed():
        return False
    refcount = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt is the first field of every object
    refcount.value += BOOST
    _applied = True
    return True
