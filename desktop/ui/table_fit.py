"""Column widths that fit the table's width, shared by the pages with tables (指标, 审核, 汇总看板, …).

On a 1024×768 screen in large font a table that sizes every column to its contents scrolls sideways.
``fit_columns(view)`` instead gives each column what its contents ask for while that fits, and when it
does not, narrows the widest columns first (never below their header's text: long cells are elided,
their full text is in the tooltip or the drill-down) — the "water level" way.  With ``optional``
columns (by priority, the last ones first) that still do not fit, those columns are hidden and named
in the header's tooltip.  The fit is re-done whenever the table is resized (``keep_fitted``).
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView

FOCUS_FRAME = 2  # the style sheet's focus border (theme.py) is 2 px on each side


def column_room(view: QAbstractItemView) -> int:
    """The width the columns may take without a horizontal scroll bar: the view less its frame (at the
    focus border's thickness) and a vertical scroll bar (long tables nearly always have one)."""
    frame = max(view.frameWidth(), FOCUS_FRAME)
    bar = view.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    return view.width() - 2 * frame - bar


def wanted_width(view: QTableView, column: int, cap: int) -> int:
    """What a column's contents ask for (the first rows Qt samples), capped; at least its header."""
    return max(min(view.sizeHintForColumn(column), cap), header_width(view, column))


def header_width(view: QTableView, column: int) -> int:
    """The header's text (and the sort arrow beside it) uncut."""
    return view.horizontalHeader().sectionSizeHint(column)


def level_widths(wanted: list[int], floors: list[int], room: int) -> list[int]:
    """Narrow the widest columns first until the sum fits ``room``: every column gets
    min(wanted, max(floor, level)) for the highest level that fits (no column below its floor)."""
    if sum(wanted) <= room:
        return list(wanted)
    lo, hi = 0, max(wanted)
    while lo < hi:  # the highest level whose widths still fit
        mid = (lo + hi + 1) // 2
        if sum(min(w, max(f, mid)) for w, f in zip(wanted, floors)) <= room:
            lo = mid
        else:
            hi = mid - 1
    return [min(w, max(f, lo)) for w, f in zip(wanted, floors)]


def fit_columns(view: QTableView, *, stretch: int | None = None, optional: int = 0, cap_chars: int = 24,
                elide: bool = True) -> list[str]:
    """Fit the columns of ``view`` into its width (see the module docstring); returns the headers of
    the columns it hid.

    ``stretch``: the column that takes what is left (default: the last); ``optional``: how many of the
    last columns may be hidden, last first, when even their headers do not fit; ``elide=False``: no
    column is narrowed below its contents (a table of short numbers), optional ones are hidden instead."""
    model = view.model()
    if model is None or view.width() <= 0:
        return []
    header = view.horizontalHeader()
    count = model.columnCount()
    if count == 0:
        return []
    stretch = count - 1 if stretch is None else stretch
    for c in range(count):  # a hidden section measures 0: show them all, then hide what does not fit
        view.setColumnHidden(c, False)
    cap = view.fontMetrics().horizontalAdvance("中") * cap_chars
    room = column_room(view)
    wanted = [wanted_width(view, c, cap) for c in range(count)]
    floors = [header_width(view, c) for c in range(count)] if elide else list(wanted)
    shown = count
    while shown > count - optional and shown > 1 and sum(floors[:shown]) > room:
        shown -= 1
    columns = list(range(shown))
    widths = level_widths([wanted[c] for c in columns], [floors[c] for c in columns], room)
    header.setStretchLastSection(False)
    for c in range(count):
        view.setColumnHidden(c, c >= shown)
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
    for c, width in zip(columns, widths):
        view.setColumnWidth(c, width)
    if stretch < shown:
        # the stretched column takes what is left over (at least its share above)
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    names = [str(model.headerData(c, header.orientation()) or "") for c in range(shown, count)]
    header.setToolTip("屏幕较窄，这些列没有显示：" + "、".join(names) if names else "")
    return names


class _Refit(QObject):
    """Re-fits a table's columns shortly after it was resized or its rows changed."""

    def __init__(self, view: QTableView, kwargs: dict, on_hidden):
        super().__init__(view)
        self.view, self.kwargs, self.on_hidden = view, kwargs, on_hidden
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(30)
        self.timer.timeout.connect(self.fit)
        view.installEventFilter(self)
        model = view.model()
        if model is not None:
            for signal in (model.modelReset, model.layoutChanged, model.rowsInserted):
                signal.connect(self.timer.start)

    def fit(self) -> None:
        if not shiboken6.isValid(self.view):  # the table is being deleted
            return
        hidden = fit_columns(self.view, **self.kwargs)
        if self.on_hidden is not None:
            self.on_hidden(hidden)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's naming
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.FontChange):
            self.timer.start()
        return False


def keep_fitted(view: QTableView, on_hidden=None, **kwargs) -> _Refit:
    """Fit now and again after every resize or new contents (arguments as for fit_columns);
    ``on_hidden(headers)`` hears which columns are hidden after each fit (to say so on screen).
    Returns the fitter: ``.fit()`` after filling a QTableWidget item by item."""
    refit = _Refit(view, kwargs, on_hidden)
    refit.fit()
    return refit


__all__ = ["fit_columns", "keep_fitted", "column_room", "level_widths"]
