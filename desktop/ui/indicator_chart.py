"""The 指标 page's bar chart: one horizontal bar per unit against the target line, drawn with
QPainter (no QtCharts: pyside6-addons is ~400 MB)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

from reports.indicators import CANNOT, MET, NO_TARGET, NOT_APPLICABLE, NOT_MET
from reports.profiles import Target
from desktop.ui.indicator_tables import SHORT_MARK

BAR_COLORS = {MET: "#2E7D32", NOT_MET: "#C62828", NO_TARGET: "#1565C0", CANNOT: "#9E9E9E", NOT_APPLICABLE: "#BDBDBD"}


class BarChart(QWidget):
    """Horizontal bars (one per unit) against the target line; value and text mark beside each bar."""

    bar_clicked = Signal(int)
    BAR_H = 22

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = ""
        self.unit = ""
        self.target: Target | None = None
        self.bars: list[tuple[str, float | None, str, str]] = []  # label, value, status, value text
        self.setMinimumHeight(120)

    def set_data(self, title: str, unit: str, target: Target | None, bars) -> None:
        self.title, self.unit, self.target, self.bars = title, unit, target, list(bars)
        self.BAR_H = max(22, self.fontMetrics().height() + 8)  # large-font mode gets taller bars
        self.setMinimumHeight(60 + self.BAR_H * max(1, len(self.bars)))
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(600, 60 + self.BAR_H * max(1, len(self.bars)))

    def _scale_max(self) -> float:
        values = [b[1] for b in self.bars if b[1] is not None]
        top = max(values + ([self.target.value] if self.target and self.target.has_target else []) + [0])
        return top * 1.1 if top > 0 else 1.0

    def mousePressEvent(self, event):
        row = int((event.position().y() - 40) // self.BAR_H)
        if 0 <= row < len(self.bars):
            self.bar_clicked.emit(row)

    def paintEvent(self, _event):
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#FFFFFF"))
        fm = p.fontMetrics()
        p.setPen(QColor("#000000"))
        bold = QFont(p.font())
        bold.setBold(True)
        p.setFont(bold)
        p.drawText(8, 8 + fm.ascent(), self.title)
        p.setFont(QFont(self.font()))
        if not self.bars:
            p.drawText(8, 40 + fm.ascent(), "没有可显示的数据")
            return
        label_w = min(220, max(fm.horizontalAdvance(b[0]) for b in self.bars) + 16)
        text_w = max(fm.horizontalAdvance(f"{b[3]} {SHORT_MARK[b[2]]}") for b in self.bars) + 16
        left, top = label_w, 40
        width = max(60, self.width() - left - text_w - 10)
        top_value = self._scale_max()
        for i, (label, value, status, vtext) in enumerate(self.bars):
            y = top + i * self.BAR_H
            p.setPen(QColor("#000000"))
            p.drawText(QRectF(4, y, label_w - 10, self.BAR_H), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(label, Qt.TextElideMode.ElideRight, label_w - 12))
            w = 0.0 if value is None else width * max(0.0, value) / top_value
            p.fillRect(QRectF(left, y + 4, w, self.BAR_H - 8), QColor(BAR_COLORS[status]))
            p.setPen(QColor("#000000"))
            mark = SHORT_MARK[status]
            p.drawText(QRectF(left + w + 6, y, text_w + width, self.BAR_H), Qt.AlignmentFlag.AlignVCenter,
                       f"{vtext} {mark}".strip())
        p.setPen(QPen(QColor("#37474F"), 1))
        p.drawLine(left, top - 4, left, top + len(self.bars) * self.BAR_H)
        if self.target and self.target.has_target:
            x = left + width * self.target.value / top_value
            pen = QPen(QColor("#E65100"), 2, Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawLine(int(x), top - 6, int(x), top + len(self.bars) * self.BAR_H)
            p.drawText(int(x) + 4, top - 8, f"目标 {self.target.text}")
        p.end()


# --------------------------------------------------------------------------- dialogs
