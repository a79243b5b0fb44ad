"""A row of buttons that never wraps: the buttons that do not fit go under a 更多 ▾ menu button.

In large-font mode at 1024×768 a list's toolbar wrapped onto three rows and pushed the list down.
``OverflowBar`` shows its buttons left to right while they fit; the rest (the last ones first) are
hidden and offered as the entries of the 更多 menu, which say the same, are enabled and checked as the
buttons are, and press them.  更多 is a normal button in the Tab order (Enter, Space or ↓ open its
menu), so every action stays reachable by keyboard; a hidden button's own shortcut (the Alt+D of
最近删除(&D)) still presses it, through a stand-in shortcut that is on only while the button is hidden.
Its minimum width is that of 更多 alone; put it last in a :class:`~desktop.ui.flow_layout.FlowLayout`,
which gives it the rest of its row.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QShortcut
from PySide6.QtWidgets import QAbstractButton, QHBoxLayout, QMenu, QPushButton, QSizePolicy, QWidget

SPACING = 8


class OverflowBar(QWidget):
    def __init__(self, buttons: list[QAbstractButton], parent: QWidget | None = None):
        super().__init__(parent)
        self.setProperty("overflows", True)  # FlowLayout: give me the rest of the row, not a new one
        self.buttons = list(buttons)
        self.more = QPushButton("更多 ▾")
        self.more.setObjectName("more")
        self.more.setToolTip("窗口较窄，放不下的按钮在这里")
        self.more.setStyleSheet("QPushButton::menu-indicator { image: none; width: 0px; }")  # ▾ says it
        self.menu = QMenu(self.more)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.more.setMenu(self.menu)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(SPACING)
        for b in self.buttons:
            layout.addWidget(b)
        layout.addWidget(self.more)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.hidden: list[QAbstractButton] = []
        # Qt ignores the shortcut of a hidden button; while one is hidden its stand-in here (the bar stays
        # visible, showing 更多) presses it. Off while the button shows, or the two would be ambiguous.
        self.stand_ins: dict[QAbstractButton, QShortcut] = {}
        for b in self.buttons:
            if not b.shortcut().isEmpty():
                stand_in = QShortcut(b.shortcut(), self)
                stand_in.setEnabled(False)
                stand_in.activated.connect(lambda b=b: self._press(b))
                self.stand_ins[b] = stand_in
        self._arrange(10_000)

    # ---------------------------------------------------------------- sizes
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's naming: every button on the row
        widths = [b.sizeHint().width() for b in self.buttons]
        height = max([b.sizeHint().height() for b in self.buttons] + [self.more.sizeHint().height()])
        return QSize(sum(widths) + SPACING * max(0, len(widths) - 1), height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - 更多 alone
        return QSize(self.more.sizeHint().width(), self.sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._arrange(event.size().width())

    # ---------------------------------------------------------------- placement
    def _arrange(self, width: int) -> None:
        """Show the first buttons that fit ``width`` (leaving room for 更多 if any must go)."""
        widths = [b.sizeHint().width() for b in self.buttons]
        if sum(widths) + SPACING * max(0, len(widths) - 1) <= width:
            shown = len(widths)
        else:
            room = width - self.more.sizeHint().width()
            shown, used = 0, 0
            while shown < len(widths) and used + widths[shown] + SPACING <= room:
                used += widths[shown] + SPACING
                shown += 1
        for i, b in enumerate(self.buttons):
            b.setVisible(i < shown)
        self.hidden = self.buttons[shown:]
        self.more.setVisible(bool(self.hidden))
        for b, stand_in in self.stand_ins.items():
            stand_in.setEnabled(b in self.hidden)

    @staticmethod
    def _press(button: QAbstractButton) -> None:
        """What the button's own shortcut would do: press it, if it can be pressed now."""
        if button.isEnabled():
            button.click()

    def _fill_menu(self) -> None:
        """The hidden buttons as menu entries, in their current state."""
        self.menu.clear()
        for b in self.hidden:
            action = self.menu.addAction(b.text())
            action.setObjectName(b.objectName())
            action.setToolTip(b.toolTip())
            action.setEnabled(b.isEnabled())
            if b.isCheckable():
                action.setCheckable(True)
                action.setChecked(b.isChecked())
            action.triggered.connect(lambda _checked=False, b=b: b.click())


__all__ = ["OverflowBar"]
