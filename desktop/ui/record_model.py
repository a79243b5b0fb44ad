"""A lazy table model over one record type (Anki-browser style: hold ids, fetch rows in pages).

``RecordTableModel`` keeps only the ordered list of SQLite rowids that match the current filter
(100,000 ints ≈ 3 MB) and fetches the visible rows in pages of ``PAGE_SIZE`` with one
``rowid IN (…)`` query, keeping a bounded cache of pages.  Searching, filtering and sorting are done
in SQL (``RecordFilter`` → WHERE / ORDER BY), so opening or re-sorting 100,000 rows never builds
100,000 Python row objects.  The list page re-sorts (header click) and refreshes (after a save or
sync) through read jobs (``sort_in_background``, ``reload_in_background``), off the UI thread.

Columns come from ``RecordType.list_columns`` (child types get their parent's name first).
ID numbers and phones are stored in clear in the database; they are masked here
(``storage.validation.display_text``) for cells AND tooltips — the full value is only in the edit form.

Reads only: the model never writes.  It is usable (and tested) without a view.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from sqlalchemy.engine import Engine

from storage.schema import Field, RecordType, record_type
from storage.validation import display_text, normalize_text, stored_value

log = logging.getLogger("taizhang.desktop.model")

PAGE_SIZE = 200
ID_CACHE_MIN_ROWS = 20_000  # smaller results are cheaper to re-query than to keep
ID_CACHE_ENTRIES = 3
MAX_CACHED_PAGES = 30
_DIGITS = re.compile(r"^\d+[Xx]?$")


@dataclass
class RecordFilter:
    """What the list shows: search text, exact-match filters, a date range, live or deleted rows."""

    search: str = ""
    equals: dict[str, str] = field(default_factory=dict)  # field name -> choice value
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Column:
    key: str  # field name, or "_parent" for the parent's name
    header: str
    field: Field | None
    sql: str  # SQL expression for SELECT and ORDER BY


def columns_for(rt: RecordType) -> list[Column]:
    cols = []
    if rt.parent and rt.parent_field:
        parent_field = rt.field(rt.parent_field)
        cols.append(Column("_parent", parent_field.label, None,
                           f'(SELECT p.name FROM "{rt.parent}" p WHERE p.id = t."{rt.parent_field}")'))
    for name in rt.list_columns:
        f = rt.field(name)
        header = f"{f.label}（{f.unit}）" if f.unit and f.unit != f.label else f.label
        cols.append(Column(name, header, f, f't."{name}"'))
    return cols


def display_value(f: Field | None, value: Any) -> str:
    """A stored (raw SQLite) value as the list shows it, as everywhere else (PII masked)."""
    return display_text(f, stored_value(f, value))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def build_where(rt: RecordType, flt: RecordFilter, org_code: str | None) -> tuple[str, list]:
    """SQL WHERE clause (table alias ``t``) and parameters for a filter."""
    # With a date range the date index is the selective one: a unary + keeps SQLite from choosing the
    # (org_code, deleted) index, which matches every row of the village and needs a sort (33 → 19 ms).
    ranged = bool(rt.date_field and (flt.date_from or flt.date_to))
    plus = "+" if ranged else ""
    clauses = [f"{plus}t.deleted = ?"]
    params: list[Any] = [1 if flt.deleted else 0]
    if org_code:
        clauses.append(f"{plus}t.org_code = ?")
        params.append(org_code)
    for name, value in flt.equals.items():
        if value in (None, ""):
            continue
        f = rt.field(name)
        if f.type == "multichoice":
            # JSON arrays may be stored with \u escapes: compare decoded items, not text
            clauses.append(f'EXISTS (SELECT 1 FROM json_each(t."{name}") WHERE json_each.value = ?)')
            params.append(value)
        else:
            clauses.append(f't."{name}" = ?')
            params.append(value)
    if rt.date_field and (flt.date_from or flt.date_to):
        if flt.date_from:
            clauses.append(f't."{rt.date_field}" >= ?')
            params.append(flt.date_from.isoformat())
        if flt.date_to:
            clauses.append(f't."{rt.date_field}" <= ?')
            params.append(flt.date_to.isoformat())
    q = normalize_text(flt.search).replace(" ", "") if flt.search else ""
    if q:
        ors, ps = [], []
        digits = bool(_DIGITS.match(q))
        for name in rt.search_fields:
            f = rt.field(name)
            if f.type in ("id_number", "phone"):
                if digits:  # "last digits of the ID or phone"
                    ors.append(f't."{name}" LIKE ? ESCAPE \'\\\'')
                    ps.append(f"%{_like_escape(q.upper() if f.type == 'id_number' else q)}")
            else:
                ors.append(f't."{name}" LIKE ? ESCAPE \'\\\'')
                ps.append(f"%{_like_escape(q)}%")
        if rt.parent and rt.parent_field:
            ors.append(f'(SELECT p.name FROM "{rt.parent}" p WHERE p.id = t."{rt.parent_field}") LIKE ? ESCAPE \'\\\'')
            ps.append(f"%{_like_escape(q)}%")
        if not ors:
            ors.append("0")
        clauses.append("(" + " OR ".join(ors) + ")")
        params.extend(ps)
    return " AND ".join(clauses), params


class RecordTableModel(QAbstractTableModel):
    """Lazy rows of one record type for one org unit; see module docstring."""

    reloaded = Signal(int)  # row count after a reload

    def __init__(self, engine: Engine, type_name: str, org_code: str | None, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.rt = record_type(type_name)
        self.org_code = org_code
        self.columns = columns_for(self.rt)
        self.filter = RecordFilter()
        self.sort_column: int | None = None
        self.sort_order = Qt.SortOrder.AscendingOrder
        self._rowids: array | list[int] = array("q")
        self._pages: OrderedDict[int, list[tuple]] = OrderedDict()
        self.last_query_ms = 0.0
        self._generation = 0
        self.pending = False  # a background id query (refresh or sort) is running
        self.totals: dict[str, float] = {}  # unit → sum over the filtered rows (合计 line)
        self._id_cache: OrderedDict[tuple, list[int]] = OrderedDict()

    # ------------------------------------------------------------------ queries
    def _order_by(self) -> str:
        if self.sort_column is None:
            if self.rt.date_field:
                return f't."{self.rt.date_field}" DESC, t.rowid DESC'
            if "name" in self.rt.field_names:
                return 't."name" COLLATE PINYIN ASC, t.rowid ASC'
            return "t.rowid ASC"
        col = self.columns[self.sort_column]
        direction = "DESC" if self.sort_order == Qt.SortOrder.DescendingOrder else "ASC"
        # names and other free text in pinyin order (storage.collation), not by character code
        collate = " COLLATE PINYIN" if col.field is None or col.field.type == "text" else ""
        return f"{col.sql}{collate} {direction}, t.rowid {direction}"

    def _id_query(self) -> tuple[str, tuple]:
        where, params = build_where(self.rt, self.filter, self.org_code)
        return f'SELECT t.rowid FROM "{self.rt.name}" t WHERE {where} ORDER BY {self._order_by()}', tuple(params)

    def _run_id_query(self, sql: str, params: tuple) -> list[int]:
        """Any thread: the engine's pool gives this thread its own connection (plain DB-API cursor:
        100,000 ids without building 100,000 SQLAlchemy Row objects)."""
        with self.engine.connect() as conn:
            cur = conn.connection.cursor()
            try:
                cur.execute(sql, params)
                # streamed into a packed array: 8 bytes per row and no 100,000 int objects to fragment
                # the heap (a list of ints made every refresh cost RSS that was never given back)
                return array("q", (r[0] for r in cur))
            finally:
                cur.close()

    def _cached_id_query(self, sql: str, params: tuple) -> list[int]:
        """The big unfiltered lists are re-shown often (clearing the search box): keep the last few
        large results until the data changes (``invalidate``; every refresh after a write does)."""
        key = (sql, params)
        hit = self._id_cache.get(key)
        if hit is not None:
            self._id_cache.move_to_end(key)
            return hit
        rowids = self._run_id_query(sql, params)
        if len(rowids) >= ID_CACHE_MIN_ROWS:
            self._id_cache[key] = rowids
            if len(self._id_cache) > ID_CACHE_ENTRIES:
                self._id_cache.popitem(last=False)
        return rowids

    def invalidate(self) -> None:
        """Forget cached id lists (the data changed)."""
        self._id_cache.clear()

    def _apply_rowids(self, rowids: list[int]) -> int:
        self.beginResetModel()
        self._rowids = rowids
        self._pages.clear()
        self.endResetModel()
        self.reloaded.emit(len(rowids))
        return len(rowids)

    def reload(self) -> int:
        """Re-run the id query for the current filter and sort now; returns the row count."""
        import time

        self._generation += 1  # results of a background refresh started earlier are now stale
        self.pending = False
        sql, params = self._id_query()
        start = time.perf_counter()
        rowids = self._cached_id_query(sql, params)
        self.last_query_ms = (time.perf_counter() - start) * 1000
        self.totals = self._totals_query()
        return self._apply_rowids(rowids)

    def reload_in_background(self):
        """Refresh after data changed elsewhere (a save, a sync) without blocking the UI thread.

        The id query runs as a read job (desktop.ui.jobs.op); the rows swap in when it is done.
        A later ``reload``/``reload_in_background``/``sort_in_background`` makes this one's result
        stale (dropped).
        """
        self.invalidate()
        return self._query_in_background()

    def sort_in_background(self, column: int, order=Qt.SortOrder.AscendingOrder):
        """Re-sort for a header click without blocking the UI thread.

        Ordering 100,000 ids takes 90–220 ms in SQLite (more on an old PC), so the id query runs as a
        read job on the job helper's read pool; the rows keep their old order until the sorted ids
        arrive (``reloaded`` is emitted then).  A sort the cache already holds costs no query.  The
        data did not change, so cached id lists stay.  ``sort`` (Qt's API) stays synchronous for
        callers without an event loop.
        """
        self._set_sort(column, order)
        return self._query_in_background()

    def total_fields(self) -> list:
        """The amounts a 合计 line adds up for the filtered rows: 人次 of services, 小时 of hours/trainings."""
        return [f for f in self.rt.fields if self.rt.date_field and f.type in ("int", "decimal")
                and f.unit in ("人次", "小时", "天")]

    def _totals_query(self) -> dict[str, float]:
        """Any thread: the sums over the current filter (one SQL aggregate, never the rows)."""
        fields = self.total_fields()
        if not fields:
            return {}
        where, params = build_where(self.rt, self.filter, self.org_code)
        sums = ", ".join(f'COALESCE(SUM(t."{f.name}"), 0)' for f in fields)
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql(f'SELECT {sums} FROM "{self.rt.name}" t WHERE {where}', tuple(params)).first()
        return {f.unit: float(v or 0) for f, v in zip(fields, row)}

    def _query_in_background(self):
        from desktop.ui.jobs import op

        self._generation += 1
        generation = self._generation
        sql, params = self._id_query()
        key = (sql, params)
        cached = self._id_cache.get(key)  # read here, on the UI thread: the cache is not thread-safe

        def work(job):
            import time

            totals = self._totals_query()
            if cached is not None:
                return cached, 0.0, totals
            start = time.perf_counter()
            rowids = self._run_id_query(sql, params)
            return rowids, (time.perf_counter() - start) * 1000, totals

        def apply(result) -> None:
            rowids, elapsed_ms, totals = result
            if generation != self._generation:
                return  # a newer query (another sort, a search, a save) has been started meanwhile
            self.totals = totals
            self.last_query_ms = elapsed_ms
            if len(rowids) >= ID_CACHE_MIN_ROWS:
                self._id_cache[key] = rowids
                self._id_cache.move_to_end(key)
                while len(self._id_cache) > ID_CACHE_ENTRIES:
                    self._id_cache.popitem(last=False)
            self._apply_rowids(rowids)

        self.pending = True
        handle = op(work).success(apply).run_in_background()
        handle.finished.connect(lambda _outcome: self._job_finished(generation))
        return handle

    def _job_finished(self, generation: int) -> None:
        if generation == self._generation:
            self.pending = False

    def set_filter(self, flt: RecordFilter) -> int:
        self.filter = flt
        return self.reload()

    def set_filter_in_background(self, flt: RecordFilter):
        """``set_filter`` as a read job (see ``sort_in_background``): a search over 100,000 records
        takes 10–75 ms here and several times that on an old PC, too long for the UI thread while
        someone types.  The rows keep showing the previous result until the new ids arrive."""
        self.filter = flt
        return self._query_in_background()

    def _page(self, page_no: int) -> list[tuple]:
        page = self._pages.get(page_no)
        if page is not None:
            self._pages.move_to_end(page_no)
            return page
        ids = self._rowids[page_no * PAGE_SIZE:(page_no + 1) * PAGE_SIZE]
        select = ", ".join(c.sql for c in self.columns)
        sql = (f'SELECT t.rowid, t.id, t.version, {select} FROM "{self.rt.name}" t '
               f'WHERE t.rowid IN ({", ".join("?" * len(ids))})')
        with self.engine.connect() as conn:
            fetched = {r[0]: r for r in conn.exec_driver_sql(sql, tuple(ids))}
        fields = [c.field for c in self.columns]
        page = []
        for rid in ids:
            r = fetched.get(rid)
            if r is None:  # vanished since the id query (deleted elsewhere): an empty row until reload
                page.append((None, None, ("",) * len(fields)))
                continue
            page.append((r[1], r[2], tuple(display_value(f, v) for f, v in zip(fields, r[3:]))))
        self._pages[page_no] = page
        if len(self._pages) > MAX_CACHED_PAGES:
            self._pages.popitem(last=False)
        return page

    def _row(self, row: int) -> tuple:
        return self._page(row // PAGE_SIZE)[row % PAGE_SIZE]

    # ------------------------------------------------------------------ helpers for views and tests
    def record_id(self, row: int) -> str | None:
        if 0 <= row < len(self._rowids):
            return self._row(row)[0]
        return None

    def row_of(self, record_id: str) -> int:
        """Row of a record id in the current result (−1 if not shown)."""
        with self.engine.connect() as conn:
            rowid = conn.exec_driver_sql(f'SELECT rowid FROM "{self.rt.name}" WHERE id = ?', (record_id,)).scalar()
        try:
            return self._rowids.index(rowid)
        except ValueError:
            return -1

    def display_row(self, row: int) -> tuple[str, ...]:
        return self._row(row)[2]

    def column_index(self, key: str) -> int:
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        raise KeyError(key)

    def cached_pages(self) -> int:
        return len(self._pages)

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rowids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = self._row(index.row())[2][index.column()]
            if role == Qt.ItemDataRole.ToolTipRole:
                return text if len(text) > 8 else None
            return text
        if role == Qt.ItemDataRole.TextAlignmentRole:
            f = self.columns[index.column()].field
            if f is not None and f.is_numeric:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self.filter.deleted:
            return QColor("#5a5a5a")
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section].header if 0 <= section < len(self.columns) else None
        return str(section + 1)

    def _set_sort(self, column: int, order) -> None:
        self.sort_column = None if column < 0 or column >= len(self.columns) else column
        self.sort_order = order

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Qt's sort: synchronous (the list page uses :meth:`sort_in_background`)."""
        self._set_sort(column, order)
        self.reload()


__all__ = ["RecordTableModel", "RecordFilter", "Column", "columns_for", "display_value", "build_where",
           "PAGE_SIZE"]
