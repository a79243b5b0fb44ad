"""A lazy table model over one record type (Anki-browser style: hold ids, fetch rows in pages).

``RecordTableModel`` keeps only the ordered list of SQLite rowids that match the current filter
(100,000 ints ≈ 0.8 MB, packed) and fetches the visible rows in pages of ``PAGE_SIZE``, keeping a
bounded cache of pages.  The queries are the core's read API (``storage.reading.RecordReader``:
ids for a filter and sort, rows for ids); this model builds no SQL.  The list page re-sorts
(header click), searches and refreshes (after a save or sync) through read jobs
(``sort_in_background``, ``set_filter_in_background``, ``reload_in_background``), which also bring
the first page of rows along.  With ``rows_in_background`` on (the list page sets it), a page not
yet read is fetched by a read job too: its cells show empty for that moment.  Without it (tests,
callers without an event loop) ``reload`` and page reads run where they are called.

Columns come from ``RecordType.list_columns`` (child types get their parent's name first).
ID numbers and phones are stored in clear in the database; they are masked here
(``storage.validation.display_text``) for cells AND tooltips — the full value is only in the edit form.

Reads only: the model never writes.  It is usable (and tested) without a view.
"""

from __future__ import annotations

import logging
import time
from array import array
from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from sqlalchemy.engine import Engine

from storage.reading import Column, RecordFilter, RecordReader, columns_for, display_value

log = logging.getLogger("taizhang.desktop.model")

PAGE_SIZE = 200
ID_CACHE_MIN_ROWS = 20_000  # smaller results are cheaper to re-query than to keep
ID_CACHE_ENTRIES = 3
MAX_CACHED_PAGES = 30


class RecordTableModel(QAbstractTableModel):
    """Lazy rows of one record type for one org unit; see module docstring."""

    reloaded = Signal(int)  # row count after a reload

    def __init__(self, engine: Engine, type_name: str, org_code: str | None, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.reader = RecordReader(engine, type_name, org_code)
        self.rt = self.reader.rt
        self.org_code = org_code
        self.columns = self.reader.columns
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
        self.rows_in_background = False  # read pages not yet cached in read jobs (the list page sets it)
        self._pages_loading: set[int] = set()
        self.locate_id: str | None = None  # a record whose row the next background query finds too
        self._located: dict[str, int] = {}  # record id -> rowid, found by the last background query

    # ------------------------------------------------------------------ queries
    def _id_query(self) -> tuple[str, tuple]:
        return self.reader.id_query(self.filter, self.sort_column,
                                    self.sort_order == Qt.SortOrder.DescendingOrder)

    def list_condition(self) -> tuple[str, tuple, str]:
        """The current filter and order as the core's reader states them (a printout of the list keeps
        both): (WHERE condition, parameters, ORDER BY clause)."""
        return self.reader.condition(self.filter, self.sort_column, self.sort_order == Qt.SortOrder.DescendingOrder)

    def _cached_id_query(self, sql: str, params: tuple) -> list[int]:
        """The big unfiltered lists are re-shown often (clearing the search box): keep the last few
        large results until the data changes (``invalidate``; every refresh after a write does)."""
        key = (sql, params)
        hit = self._id_cache.get(key)
        if hit is not None:
            self._id_cache.move_to_end(key)
            return hit
        rowids = self.reader.run_id_query(sql, params)
        self._remember_ids(key, rowids)
        return rowids

    def _remember_ids(self, key: tuple, rowids) -> None:
        if len(rowids) >= ID_CACHE_MIN_ROWS:
            self._id_cache[key] = rowids
            self._id_cache.move_to_end(key)
            while len(self._id_cache) > ID_CACHE_ENTRIES:
                self._id_cache.popitem(last=False)

    def invalidate(self) -> None:
        """Forget cached id lists (the data changed)."""
        self._id_cache.clear()

    def _apply_rowids(self, rowids: list[int], first_page: list[tuple] | None = None) -> int:
        self.beginResetModel()
        self._rowids = rowids
        self._pages.clear()
        self._pages_loading.clear()
        if first_page is not None:
            self._pages[0] = first_page
        self.endResetModel()
        self.reloaded.emit(len(rowids))
        return len(rowids)

    def reload(self) -> int:
        """Re-run the id query for the current filter and sort now, where it is called (tests, callers
        without an event loop); returns the row count.  The list page uses the background variants."""
        self._generation += 1  # results of a background refresh started earlier are now stale
        self.pending = False
        sql, params = self._id_query()
        start = time.perf_counter()
        rowids = self._cached_id_query(sql, params)
        self.last_query_ms = (time.perf_counter() - start) * 1000
        self.totals = self.reader.totals(self.filter)
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

    def _query_in_background(self):
        from desktop.ui.jobs import op

        self._generation += 1
        generation = self._generation
        sql, params = self._id_query()
        key = (sql, params)
        cached = self._id_cache.get(key)  # read here, on the UI thread: the cache is not thread-safe
        reader, locate, flt = self.reader, self.locate_id, self.filter
        self.locate_id = None

        def work(job):
            start = time.perf_counter()
            rowids = cached if cached is not None else reader.run_id_query(sql, params)
            elapsed = 0.0 if cached is not None else (time.perf_counter() - start) * 1000
            first_page = reader.rows(rowids[:PAGE_SIZE])  # the rows shown first come along
            located = reader.rowid_of(locate) if locate else None
            return rowids, elapsed, first_page, located, reader.totals(flt)

        def apply(result) -> None:
            rowids, elapsed_ms, first_page, located, totals = result
            if generation != self._generation:
                return  # a newer query (another sort, a search, a save) has been started meanwhile
            self.totals = totals
            self.last_query_ms = elapsed_ms
            self._remember_ids(key, rowids)
            self._located = {locate: located} if locate and located is not None else {}
            self._apply_rowids(rowids, first_page)

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

    def _page_ids(self, page_no: int):
        return self._rowids[page_no * PAGE_SIZE:(page_no + 1) * PAGE_SIZE]

    def _store_page(self, page_no: int, page: list[tuple]) -> list[tuple]:
        self._pages[page_no] = page
        if len(self._pages) > MAX_CACHED_PAGES:
            self._pages.popitem(last=False)
        return page

    def _page(self, page_no: int, *, now: bool = False) -> list[tuple]:
        """A page of rows: cached, or read now (``now``, or without ``rows_in_background``), or
        empty placeholders while a read job fetches it (the view's path)."""
        page = self._pages.get(page_no)
        if page is not None:
            self._pages.move_to_end(page_no)
            return page
        ids = self._page_ids(page_no)
        if self.rows_in_background and not now:
            self._load_page_in_background(page_no, ids)
            return [(None, None, ("",) * len(self.columns))] * len(ids)
        return self._store_page(page_no, self.reader.rows(ids))

    def _load_page_in_background(self, page_no: int, ids) -> None:
        if page_no in self._pages_loading:
            return
        from desktop.ui.jobs import op

        self._pages_loading.add(page_no)
        generation, reader = self._generation, self.reader

        def apply(rows: list[tuple]) -> None:
            self._pages_loading.discard(page_no)
            if generation != self._generation:
                return  # the ids changed meanwhile: this page belongs to an older result
            self._store_page(page_no, rows)
            first, last = page_no * PAGE_SIZE, page_no * PAGE_SIZE + len(rows) - 1
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.columns) - 1))

        op(lambda job: reader.rows(ids)).success(apply).failure(
            lambda exc: self._pages_loading.discard(page_no)).run_in_background()

    def _row(self, row: int, *, now: bool = False) -> tuple:
        return self._page(row // PAGE_SIZE, now=now)[row % PAGE_SIZE]

    # ------------------------------------------------------------------ helpers for views and tests
    def record_id(self, row: int) -> str | None:
        """The record id of a row (a selected row is shown, so its page is cached; read now if not)."""
        if 0 <= row < len(self._rowids):
            return self._row(row, now=True)[0]
        return None

    def row_of(self, record_id: str) -> int:
        """Row of a record id in the current result (−1 if not shown).

        Looked up without a query when the record is on a cached page or was located by the last
        background query (``locate_id``); otherwise read now, unless rows are read in background."""
        for page_no, page in self._pages.items():
            for i, r in enumerate(page):
                if r[0] == record_id:
                    return page_no * PAGE_SIZE + i
        rowid = self._located.get(record_id)
        if rowid is None:
            if self.rows_in_background:
                return -1
            rowid = self.reader.rowid_of(record_id)
        try:
            return self._rowids.index(rowid)
        except ValueError:
            return -1

    def display_row(self, row: int) -> tuple[str, ...]:
        """The texts of a row (for callers and tests: read now if its page is not cached yet)."""
        return self._row(row, now=True)[2]

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


__all__ = ["RecordTableModel", "RecordFilter", "Column", "columns_for", "display_value",
           "PAGE_SIZE"]  # the query helpers live in storage.reading; re-exported for the list page
