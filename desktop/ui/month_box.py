"""The month chooser of the month-end pages (月报与同步, 审核): the last 12 months, newest first."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from storage import periods as P


class MonthBox(QComboBox):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("period")
        for p in P.recent_periods(12):
            self.addItem(P.period_label(p), p)

    @property
    def period(self) -> str:
        return self.currentData()

    def set_period(self, period: str) -> None:
        """Select a month, adding it when it is older than the list (e.g. a returned month)."""
        i = self.findData(period)
        if i < 0:
            self.addItem(P.period_label(period), period)
            i = self.count() - 1
        self.setCurrentIndex(i)
