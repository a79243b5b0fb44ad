"""The app's read-only tables (账号, 审核, 看板, 报表单元格, 修改记录, …) made one way.

A clerk reads and selects in them, never edits a cell; Tab goes on to the next control (arrows move
inside the table, so the keyboard never gets stuck in one); no row numbers.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtWidgets import QAbstractItemView, QTableWidget


def read_only_table(headers: Sequence[str], *, name: str = "", rows: bool = True, single: bool = False,
                    row_count: int = 0) -> QTableWidget:
    """A QTableWidget with these column headers. ``rows``: a click selects the whole row (not for a grid
    whose cells each mean something); ``single``: one row at a time (the table chooses what the
    buttons act on)."""
    table = QTableWidget(row_count, len(headers))
    if name:
        table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTabKeyNavigation(False)
    table.verticalHeader().setVisible(False)
    if rows:
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if single:
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    return table


__all__ = ["read_only_table"]
