"""Sorting a record list by a column header runs the id query as a read job (desktop.ui.jobs), never on
the UI thread; the rows end sorted and the selected record stays selected.  Also from the keyboard."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.ui.jobs import runner


@pytest.fixture
def service_list(qtbot, repo):
    from desktop.ui.context import AppContext
    from desktop.ui.record_list import RecordListPage
    from storage.demo import fill_demo

    fill_demo(repo, records=3000)  # the demo village: 3,000 service records among the rest
    ctx = AppContext(repo)
    page = RecordListPage(ctx, "service")
    qtbot.addWidget(page)
    page.resize(1100, 600)
    page.show()
    qtbot.waitUntil(lambda: page.loaded, timeout=30_000)
    yield page
    assert runner().wait_idle(30)


def column_values(page, key: str) -> list[int]:
    col = page.model.column_index(key)
    return [int(page.model.display_row(r)[col]) for r in range(page.model.rowCount())]


def test_header_sort_runs_as_a_read_job_and_keeps_the_selection(qtbot, service_list, monkeypatch):
    page, model = service_list, service_list.model
    n = model.rowCount()
    assert n >= 2000
    threads = []
    real_query = model.reader.run_id_query

    def recording_query(sql, params):  # the real query; only notes the thread it runs on
        threads.append(threading.current_thread())
        return real_query(sql, params)

    monkeypatch.setattr(model.reader, "run_id_query", recording_query)
    page.select_row(1234)
    chosen = page.selected_id()
    before = [model.record_id(r) for r in range(20)]

    persons = model.column_index("persons")
    header = page.table.horizontalHeader()
    with qtbot.waitSignal(model.reloaded, timeout=30_000):
        header.setSortIndicator(persons, Qt.SortOrder.AscendingOrder)  # what a header click does
        # the click returned at once: the rows are still in the old order, the sort is a running job
        assert model.pending and page.sort_handle in runner().active()
        assert [model.record_id(r) for r in range(20)] == before
        assert page.count_label.text() == "正在排序…"
    assert threads and all(t is not threading.main_thread() for t in threads)
    values = column_values(page, "persons")
    assert len(values) == n and values == sorted(values)
    assert page.selected_id() == chosen  # the same record, at its new row, scrolled into view
    row = page.selected_row()
    assert model.record_id(row) == chosen
    assert page.table.visualRect(model.index(row, 0)).intersects(page.table.viewport().rect())
    assert page.count_label.text().startswith(f"共 {n:,} 条，合计")
    assert page.sort_combo.currentText().endswith("升序") and model.pending is False

    # two quick clicks: only the last order is shown (the first result is dropped as stale)
    header.setSortIndicator(persons, Qt.SortOrder.DescendingOrder)
    date = model.column_index("date")
    header.setSortIndicator(date, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: not model.pending, timeout=30_000)
    col = model.column_index("date")
    dates = [model.display_row(r)[col] for r in range(model.rowCount())]
    assert dates == sorted(dates)
    assert page.selected_id() == chosen


def test_sort_from_the_keyboard(qtbot, service_list):
    page, model = service_list, service_list.model
    page.sort_combo.setFocus()
    with qtbot.waitSignal(model.reloaded, timeout=30_000):
        target = page.sort_combo.findText("人次 降序")
        assert target >= 0
        while page.sort_combo.currentIndex() != target:  # arrow keys, as a keyboard user chooses
            key = Qt.Key.Key_Down if page.sort_combo.currentIndex() < target else Qt.Key.Key_Up
            QTest.keyClick(page.sort_combo, key)
    header = page.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (
        model.column_index("persons"), Qt.SortOrder.DescendingOrder)
    values = column_values(page, "persons")
    assert values == sorted(values, reverse=True)


def test_search_and_filters_run_as_read_jobs_and_only_the_last_one_counts(qtbot, service_list, monkeypatch):
    """Typing in the search box and choosing a filter never query on the UI thread; when several
    queries overlap (a filter chosen while a search runs), only the latest one's rows are shown."""
    page, model = service_list, service_list.model
    total = model.rowCount()
    threads = []
    real_query = model.reader.run_id_query

    def recording_query(sql, params):
        threads.append(threading.current_thread())
        return real_query(sql, params)

    monkeypatch.setattr(model.reader, "run_id_query", recording_query)
    page.select_row(0)
    chosen = page.selected_id()
    chosen_category = page.model.display_row(0)[model.column_index("category")]

    with qtbot.waitSignal(model.reloaded, timeout=30_000):
        page.search.setText("上门")  # (QTest.keyClicks types ASCII only)
        QTest.keyClick(page.search, Qt.Key.Key_Return)  # Enter searches at once (no typing pause)
        assert model.pending and page.count_label.text() == "正在查找…"
    searched = model.rowCount()
    assert 0 < searched < total and page.count_label.text().startswith(f"找到 {searched:,} 条，合计")

    combo = page.filter_combos["category"]
    first = page.filter_handle = page.filter_in_background()  # the same search again, then at once…
    with qtbot.waitSignal(model.reloaded, timeout=30_000):
        combo.setCurrentIndex(combo.findData(chosen_category))  # …a filter: the newer query
        assert page.filter_handle is not first
    assert runner().wait_idle(30)
    col = model.column_index("category")
    rows = [model.display_row(r)[col] for r in range(model.rowCount())]
    assert rows and set(rows) == {chosen_category} and model.rowCount() <= searched
    assert threads and threading.main_thread() not in threads
    if chosen in {model.record_id(r) for r in range(model.rowCount())}:
        assert page.selected_id() == chosen  # still among the results: still selected


def arrow_rows(header, section: int) -> list[int]:
    """Width of the dark (arrow) pixels in each row of the section's arrow area, top to bottom."""
    from PySide6.QtWidgets import QStyle, QStyleOptionHeader

    opt = QStyleOptionHeader()
    opt.initFrom(header)
    opt.rect = header.rect().adjusted(header.sectionViewportPosition(section), 0, 0, 0)
    opt.rect.setWidth(header.sectionSize(section))
    opt.sortIndicator = QStyleOptionHeader.SortIndicator.SortUp
    area = header.style().subElementRect(QStyle.SubElement.SE_HeaderArrow, opt, header)
    image = header.grab().toImage()
    rows = []
    for y in range(area.top(), area.bottom() + 1):
        rows.append(sum(image.pixelColor(x, y).lightness() < 120 for x in range(area.left(), area.right() + 1)))
    return [n for n in rows if n]


@pytest.mark.parametrize("large", [False, True])
def test_the_sort_arrow_reads_like_the_sort_box_and_scales_with_the_font(qtbot, app_look, large):
    """日期 降序 shows ▼ beside 日期 (Fusion drew ▲), as big as the font asks, and the header's size
    hint leaves it room beside the text."""
    from PySide6.QtGui import QStandardItemModel
    from PySide6.QtWidgets import QTableView

    from desktop.ui.theme import apply_theme

    apply_theme(app_look, large)
    model = QStandardItemModel(2, 2)
    model.setHorizontalHeaderLabels(["日期", "服务类别"])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    header = view.horizontalHeader()
    header.setSortIndicatorShown(True)
    header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
    view.resizeColumnsToContents()
    view.show()
    qtbot.waitExposed(view)
    rows = arrow_rows(header, 0)
    assert len(rows) >= header.fontMetrics().height() // 5  # not a 7 px speck in large font
    assert rows[0] > rows[-1]  # wide at the top: ▼ for a descending sort
    header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
    rows = arrow_rows(header, 0)
    assert rows[0] < rows[-1]  # ▲ for ascending
    text = header.fontMetrics().horizontalAdvance("日期")
    assert header.sectionSizeHint(0) >= text + len(rows) + 8  # the text and the arrow side by side
