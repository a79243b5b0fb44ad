"""The 指标 page's tables: cells that sort by number, a lazy rows model (a county's 400 villages ×
14 checks) with its filtering proxy, and the status colours (always with a text mark, never colour
alone)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidgetItem

from reports.indicators import CANNOT, MET, NO_TARGET, NOT_APPLICABLE, NOT_MET

COLORS = {MET: "#C6EFCE", NOT_MET: "#FFC7CE", CANNOT: "#FFEB9C", NO_TARGET: "#FFFFFF", NOT_APPLICABLE: "#F2F2F2"}
SHORT_MARK = {MET: "✓ 达标", NOT_MET: "✗ 未达标", NO_TARGET: "", CANNOT: "无法计算", NOT_APPLICABLE: "不适用"}
# the 各村(社区) matrix: the value and one sign, so 14 indicators fit beside the names (full text in the tooltip)
MATRIX_MARK = {MET: "✓", NOT_MET: "✗", NO_TARGET: "", CANNOT: "缺数据", NOT_APPLICABLE: "—"}
SUMMARY_COLUMNS = ["编号", "指标", "分子", "分母", "数值", "目标值", "状态", "说明"]
DRILL_COLUMNS = (2, 4)  # clicking 分子 or 数值 shows the records counted


class SortItem(QTableWidgetItem):
    """A cell that sorts by a number (or text) kept in UserRole, not by its display text."""

    def __init__(self, text: str, key=None):
        super().__init__(text)
        self.setData(Qt.ItemDataRole.UserRole, key if key is not None else text)
        self.setFlags(self.flags() & ~Qt.ItemFlag.ItemIsEditable)

    def __lt__(self, other):
        a, b = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        if isinstance(a, (int, float)):
            return False  # numbers before "—"
        if isinstance(b, (int, float)):
            return True
        return str(a) < str(b)


class Cell:
    """One cell of a :class:`RowsModel`: display text, sort key, status colour, tooltip."""

    __slots__ = ("text", "key", "status", "tip")

    def __init__(self, text: str, key=None, status: str | None = None, tip: str = ""):
        self.text, self.key, self.status, self.tip = text, (key if key is not None else text), status, tip


class RowsModel(QAbstractTableModel):
    """Read-only rows of Cells.  A county has 400 villages × 14 checks: a model serves them lazily
    (a QTableWidget would build 30,000+ item objects on the UI thread)."""

    def __init__(self, headers: list[str], parent=None):
        super().__init__(parent)
        self.headers = headers
        self.header_tips: list[str] = []
        self.rows: list[list[Cell]] = []
        self.payload: list = []  # what each row stands for (a UnitRow, a StandardCheck)

    def set_rows(self, rows: list[list[Cell]], payload: list, headers: list[str] | None = None,
                 header_tips: list[str] | None = None) -> None:
        self.beginResetModel()
        if headers is not None:
            self.headers = headers
            self.header_tips = header_tips or []
        self.rows, self.payload = rows, payload
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole \
                and section < len(self.header_tips):
            return self.header_tips[section] or None
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        cell = self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell.text
        if role == Qt.ItemDataRole.UserRole:
            return cell.key
        if role == Qt.ItemDataRole.BackgroundRole and cell.status:
            return QColor(COLORS[cell.status])
        if role == Qt.ItemDataRole.ForegroundRole and cell.status:
            return QColor("#000000")
        if role == Qt.ItemDataRole.ToolTipRole and cell.tip:
            return cell.tip
        return None


class RowsProxy(QSortFilterProxyModel):
    """Sorts by the cells' keys (UserRole; numbers or texts, one kind per column, compared in C++),
    optionally shows only the rows whose status column is failing."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(Qt.ItemDataRole.UserRole)
        self.only_status: tuple[str, ...] = ()
        self.status_column = -1

    def set_only(self, statuses: tuple[str, ...], column: int) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt ≥ 6.9
            self.beginFilterChange()
            self.only_status, self.status_column = statuses, column
            self.endFilterChange()
        else:  # pragma: no cover - older Qt
            self.only_status, self.status_column = statuses, column
            self.invalidateFilter()

    def filterAcceptsRow(self, row, parent):
        if not self.only_status:
            return True
        return self.sourceModel().rows[row][self.status_column].status in self.only_status

    def source_payload(self, proxy_row: int):
        return self.sourceModel().payload[self.mapToSource(self.index(proxy_row, 0)).row()]


def number_text(x) -> str:
    if x is None:
        return "—"
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def status_item(text: str, status: str, key=None) -> SortItem:
    item = SortItem(text, key)
    item.setBackground(QBrush(QColor(COLORS[status])))
    item.setForeground(QBrush(QColor("#000000")))
    return item
