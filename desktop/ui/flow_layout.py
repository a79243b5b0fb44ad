"""A toolbar layout that wraps onto more rows when the window is narrow (large-font mode, 1366×768).

``FlowLayout`` places its widgets left to right at their preferred width and starts a new row when
the next one would not fit.  Its minimum width is that of its widest item, so a toolbar never makes
a page wider than the screen; the height it needs for a given width comes from ``heightForWidth``,
which the page's vertical box layout honours.  Hidden widgets take no room.

An :class:`~desktop.ui.overflow_bar.OverflowBar` that does not fit at the end of a row takes the rest
of that row (down to its 更多 button) rather than starting a new one.

Keep a label together with its input by putting both in :func:`labelled` (one item that wraps as a
unit: “单位：[……]” never splits across rows).  Tab order is unaffected: it follows widget creation.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QLayoutItem, QSizePolicy, QVBoxLayout, QWidget


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, h_spacing: int = 8, v_spacing: int = 6):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._h, self._v = h_spacing, v_spacing
        self._hfw: dict[int, int] = {}  # width -> height, until the layout changes
        self.setContentsMargins(0, 0, 0, 0)

    # ------------------------------------------------------------------ QLayout API
    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt's naming
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        # Qt asks this many times per layout pass: remember the answer until the layout changes
        height = self._hfw.get(width)
        if height is None:
            if len(self._hfw) > 16:
                self._hfw.clear()
            height = self._hfw[width] = self._arrange(QRect(0, 0, width, 0), apply=False)
        return height

    def invalidate(self) -> None:
        self._hfw.clear()
        super().invalidate()

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - preferred: everything on one row
        visible = self._visible()
        m = self.contentsMargins()
        width = sum(i.sizeHint().width() for i in visible) + self._h * max(0, len(visible) - 1)
        height = max((i.sizeHint().height() for i in visible), default=0)
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802 - one item per row at the narrowest
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # ------------------------------------------------------------------ placement
    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def _arrange(self, rect: QRect, apply: bool) -> int:
        """Place the items in rows inside ``rect``; returns the height used."""
        m: QMargins = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        rows: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        x = 0
        for item in self._visible():
            hint = item.sizeHint().expandedTo(item.minimumSize())
            width = max(item.minimumSize().width(), min(hint.width(), area.width()))
            if rows[-1] and x + self._h + width > area.width():
                rest = area.width() - x - self._h
                widget = item.widget()
                if widget is not None and widget.property("overflows") and rest >= item.minimumSize().width():
                    width = rest  # an OverflowBar takes the rest of the row (its extra buttons go under 更多)
                else:
                    rows.append([])
                    x = 0
            size = QSize(width, hint.height())
            x += (self._h if rows[-1] else 0) + width
            rows[-1].append((item, size))
        y = area.y()
        for row in rows:
            if not row:
                continue
            line_h = max(s.height() for _i, s in row)
            if apply:
                x = area.x()
                for item, size in row:
                    item.setGeometry(QRect(QPoint(x, y + (line_h - size.height()) // 2), size))
                    x += size.width() + self._h
            y += line_h + self._v
        used = y - area.y() - (self._v if any(rows) else 0)
        return max(0, used) + m.top() + m.bottom()


def labelled(text: str, widget: QWidget, *more: QWidget) -> QWidget:
    """“label + input (+ more)” as one unit that wraps together; the label's buddy is the input."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(4)
    if text:
        label = QLabel(text)
        label.setBuddy(widget)
        row.addWidget(label)
    row.addWidget(widget)
    for w in more:
        row.addWidget(w)
    box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    return box


def scrolling_body(page: QWidget) -> QVBoxLayout:
    """Give a form/panel page a vertical scroll area and return the layout to fill.

    The content stretches to fill the page when there is room and scrolls (instead of pushing the
    window past the bottom of a 1366×768 screen) when there is not.  Keep the content's minimum
    width small (wrapping labels, FlowLayout rows): sideways scrolling is not wanted."""
    from PySide6.QtWidgets import QFrame, QScrollArea

    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea()
    scroll.setObjectName("pageScroll")
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    # not a Tab stop of its own (it shows no focus); it scrolls to whichever control has the focus
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    outer.addWidget(scroll)
    inner = QWidget()
    inner.setObjectName("pageBody")
    scroll.setWidget(inner)
    return QVBoxLayout(inner)


COMPACT_CHARS = "taizhang_compact_chars"  # widget property: the combo's minimum width in Chinese characters


def compact_combo(combo, chars: int = 6) -> None:
    """A combo box that shows its longest entry when there is room (its preferred width) but may be
    narrowed to about ``chars`` Chinese characters (its minimum width), so a long village name never
    makes a page wider than the screen; the drop-down list stays wide enough to read every entry."""
    from PySide6.QtWidgets import QComboBox

    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    combo.setProperty(COMPACT_CHARS, int(chars))
    fit_combo_popup(combo)


def fit_combo_popup(combo) -> None:
    """Measure a compact combo for the current font: its minimum width, and a drop-down list as wide as
    its longest entry.  Call again after refilling the combo (the main window does after a font change)."""
    chars = combo.property(COMPACT_CHARS)
    if chars:
        fm = combo.fontMetrics()
        combo.setMinimumWidth(fm.horizontalAdvance("中" * int(chars)) + 2 * fm.height())  # + arrow and frame
    view = combo.view()
    fm = view.fontMetrics()  # measured directly: the view's own size hints lag behind a font change
    widest = max((fm.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())), default=0)
    view.setMinimumWidth(widest + 2 * fm.averageCharWidth() + 24)  # item padding and the scroll bar


__all__ = ["FlowLayout", "labelled", "compact_combo", "fit_combo_popup", "scrolling_body", "COMPACT_CHARS"]
