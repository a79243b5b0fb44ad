"""Typing into real widgets as a user does, and the ID numbers the desktop tests type."""

from __future__ import annotations

from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from storage.validation import id_check_char

VALID_ID = "22010219800101" + "123"
VALID_ID += id_check_char(VALID_ID)
BAD_ID = VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1")  # one wrong check character


def type_text(widget, text: str) -> None:
    """Type like a user; Chinese through an input-method commit (QTest.keyClicks aborts on non-ASCII)."""
    widget.setFocus()
    if text.isascii():
        QTest.keyClicks(widget, text)
    else:
        event = QInputMethodEvent()
        event.setCommitString(text)
        QApplication.sendEvent(widget, event)
