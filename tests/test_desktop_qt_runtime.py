"""The installed PySide6 must not leak references to None.

PySide6 6.12.0 on CPython 3.11 drops one reference to ``None`` on every call that returns None
(void methods, null getters); after ~5,000 calls CPython aborts the whole process with
"deallocating None" — a county's indicator tables make ~45,000 such calls.  pyproject.toml keeps
PySide6 below 6.12; this test fails if an upgrade brings the bug back.
"""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
before = sys.getrefcount(None)
for i in range(20_000):
    label.setText(str(i))
    label.parent()
print(sys.getrefcount(None) - before, label.text(), flush=True)
"""


def test_void_calls_do_not_drop_references_to_none():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    leak, text = done.stdout.split()
    assert text == "19999"
    assert abs(int(leak)) < 100  # with the bug: -40,000 (and the process aborts at exit)
