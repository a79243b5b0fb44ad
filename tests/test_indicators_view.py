"""pytest-qt: the 指标 page over the fixture county, real widgets offscreen."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt

from desktop.ui.jobs import runner
from storage import local
from tests.fixtures.county import CODES, COUNTY, YEAR, build_county, rid
from tests.test_review_ui import shots_dir



@pytest.fixture
def page(qtbot, repo):
    from desktop.ui.context import AppContext
    from desktop.ui.indicators_page import IndicatorsPage, create_page

    build_county(repo)
    local.set_identity(repo, COUNTY, "示范县")
    widget = create_page(AppContext(repo))
    assert isinstance(widget, IndicatorsPage)
    qtbot.addWidget(widget)
    widget.resize(1280, 820)
    assert runner().wait_idle(30)  # the unit and profile choices arrive from a read job
    return widget


def cell(view, row, col, role=Qt.ItemDataRole.DisplayRole):
    """What a QTableView shows in a cell (through its sort/filter proxy)."""
    model = view.model()
    return model.data(model.index(row, col), role)


def rows_of(view) -> int:
    return view.model().rowCount()


def _compute(page, profile="沈阳市"):
    page.profile_combo.setCurrentText(profile)
    page.compute()
    assert runner().wait_idle(60)
    assert page.report is not None


def test_page_lists_scope_and_computes(page):
    assert page.org_combo.itemData(0) == COUNTY  # own unit first
    assert page.org_combo.count() == 1 + 3 + 22
    assert page.year_spin.value() == YEAR  # the latest year with base data
    assert [page.profile_combo.itemText(i) for i in range(5)] == ["国家", "吉林省", "沈阳市", "商丘市", "正宁县"]
    _compute(page)
    t = page.summary
    assert t.rowCount() == 14
    rows = {t.item(r, 0).text(): r for r in range(14)}
    r4 = rows["I4"]
    # I4 = 8830 m² / (18100 / 100) = 48.8 m² ≥ 40 (worked out in test_reports_indicators)
    assert (t.item(r4, 2).text(), t.item(r4, 3).text(), t.item(r4, 4).text()) == ("8830", "181", "48.8 m²")
    assert t.item(r4, 6).text() == "✓ 达标"
    assert t.item(rows["I1"], 6).text() == "✗ 未达标"
    assert t.item(rows["I8"], 6).text() == "无目标值" and t.item(rows["I8"], 5).text() == "无目标值"
    # colour AND text: the status cell carries both
    assert t.item(r4, 6).background().color().name().upper() == "#C6EFCE"
    assert rows_of(page.units) == 3 + 22
    assert page.tabs.tabText(3) == "数据质量（8）"
    assert "未达标" in page.tabs.tabText(2)
    st = page.standards
    # 沈阳市 sets 7 of the 14 checks (two area checks, activity, hours, elderly, shelter, training days)
    assert rows_of(st) == 22 * 7 and cell(st, 0, 0) == "U1社区"  # sorted by division code
    assert cell(st, 0, 4, Qt.ItemDataRole.BackgroundRole).name().upper() == "#C6EFCE"  # colour AND text
    page.only_failing.setChecked(True)
    shown = rows_of(st)
    assert shown and all(cell(st, r, 4) in ("✗ 未达标", "无法计算") for r in range(shown))
    assert shown == sum(c.status in ("not_met", "cannot") for c in page.report.standards)
    page.only_failing.setChecked(False)
    assert rows_of(st) == 22 * 7


def test_units_table_sorts_by_value(page):
    _compute(page)
    t = page.units
    col = 3 + 3  # I4
    t.sortByColumn(col, Qt.SortOrder.DescendingOrder)
    names = [cell(t, r, 0) for r in range(rows_of(t))]
    # R6: 350 m² / (400 / 100) = 87.5 per 100 households, the highest; then seven at exactly 70:
    # U1 700 / 10; standard rural R1 R5 R8 R9 R10 350 / 5; 山前乡 (5×350 + 280) / (2900 / 100) = 2030 / 29
    assert names[0] == "R6村"
    assert set(names[1:8]) == {"U1社区", "R1村", "R5村", "R8村", "R9村", "R10村", "山前乡"}
    assert cell(t, 8, col, Qt.ItemDataRole.UserRole) < 70
    values = [cell(t, r, col, Qt.ItemDataRole.UserRole) for r in range(rows_of(t))]
    numeric = [v for v in values if isinstance(v, float)]
    assert numeric == sorted(numeric, reverse=True)
    # the matrix shows the value and one sign; the words are in the tooltip
    assert cell(t, 0, col).endswith("✓") and cell(t, 0, col, Qt.ItemDataRole.ToolTipRole).startswith("✓ 达标")
    # U4 has no 户数: the cell says so in words
    u4 = names.index("U4社区")
    assert cell(t, u4, col) == "缺数据" and "缺少户数" in cell(t, u4, col, Qt.ItemDataRole.ToolTipRole)


def test_drill_down_opens_the_counted_records(page, qtbot):
    _compute(page)
    rows = {page.summary.item(r, 0).text(): r for r in range(14)}
    page._summary_clicked(rows["I5"], 2)  # click 分子 of I5
    assert runner().wait_idle(30)
    dialog = page.drill_dialog
    assert dialog.isVisible()
    table = dialog.table
    assert table.rowCount() == 67  # staff in post in urban communities with 城镇常住人口
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    names = {table.item(r, headers.index("姓名")).text() for r in range(table.rowCount())}
    assert "U3专职7" in names and not {"U3离岗委员", "U3专职8", "U5已删委员"} & names
    ids = [table.item(r, headers.index("公民身份号码")).text() for r in range(table.rowCount())]
    assert all(i[6:14] == "********" for i in ids)  # masked
    dialog.close()

    # from the per-village table: U2's I2 (0 of 1) lists nothing; U10's I2 lists its one 综合 in use
    t = page.units
    r = next(r for r in range(rows_of(t)) if cell(t, r, 0) == "U10社区")
    page._unit_clicked(r, 3 + 1)
    assert runner().wait_idle(30)
    d = page.drill_dialog
    assert d.table.rowCount() == 1 and d.table.item(0, 1).text() == "U10党群服务中心"


def test_drill_down_by_keyboard(page, qtbot):
    """Enter on a number opens its records, as a click does (full keyboard operation)."""
    from PySide6.QtCore import Qt

    _compute(page)
    rows = {page.summary.item(r, 0).text(): r for r in range(14)}
    page.summary.setCurrentCell(rows["I5"], 2)
    page.summary.setFocus()
    qtbot.keyClick(page.summary, Qt.Key.Key_Return)
    assert runner().wait_idle(30)
    dialog = page.drill_dialog
    assert dialog.isVisible() and dialog.table.rowCount() == 67  # the same 67 staff as by mouse
    dialog.close()


def test_chart_and_screenshot(page, qtbot, tmp_path):
    _compute(page)
    rows = {page.summary.item(r, 0).text(): r for r in range(14)}
    page.summary.setCurrentCell(rows["I4"], 4)
    assert len(page.chart.bars) == 22 and page.chart.target.value == 40
    assert page.chart.bars[0][0] == "U1社区" and page.chart.bars[0][2] == "met"
    # clicking a bar drills into that village
    page.chart._chart_clicked = None
    page._bar_clicked(0)
    assert runner().wait_idle(30)
    assert page.drill_dialog.table.rowCount() == 1
    page.drill_dialog.close()
    page.show()
    qtbot.waitExposed(page)
    qtbot.wait(100)  # the tables fit their columns shortly after they are shown
    shots = shots_dir(tmp_path)
    assert page.grab().save(str(shots / "indicators.png"))
    page.tabs.setCurrentIndex(2)
    assert page.grab().save(str(shots / "indicators_standards.png"))


def test_export_through_job(page, tmp_path):
    _compute(page, "正宁县")
    target = tmp_path / "报告.xlsx"
    page.export(str(target))
    assert runner().wait_idle(60)
    wb = load_workbook(target)
    assert wb["封面"]["B6"].value == "正宁县"
    assert page.status.text().startswith("已导出")


def test_village_pc_sees_only_its_village(qtbot, repo):
    from desktop.ui.context import AppContext
    from desktop.ui.indicators_page import create_page

    build_county(repo)
    local.set_identity(repo, CODES["R7"], "R7村")
    page = create_page(AppContext(repo))
    qtbot.addWidget(page)
    assert runner().wait_idle(30)
    assert page.org_combo.count() == 1
    _compute(page, "沈阳市")
    assert rows_of(page.units) == 0
    assert len(page.chart.bars) == 1
    checks = {cell(page.standards, r, 1): cell(page.standards, r, 5) for r in range(rows_of(page.standards))}
    assert checks["综合服务设施建筑面积"] == "综合服务设施建筑面积 280 m²，农村标准 ≥ 350 m²，差 70 m²"


def test_custom_profile_saved_and_used(page, monkeypatch):
    from reports.profiles import find_profile

    base = find_profile("吉林省").to_dict()
    base["name"] = "示范县方案"
    base["targets"]["I4"] = {"op": ">=", "value": 60, "text": "≥60 m²", "quote": "县定"}
    from reports.profiles import profile_from_dict

    page.save_profile(profile_from_dict(base))
    assert runner().wait_idle(30)
    assert page.profile_combo.currentText() == "示范县方案"
    _compute(page, "示范县方案")
    rows = {page.summary.item(r, 0).text(): r for r in range(14)}
    assert page.summary.item(rows["I4"], 6).text() == "✗ 未达标"  # 48.8 < 60
    assert rid("U1.zh")  # fixture ids are stable


def test_profile_editor_builds_a_profile(qtbot):
    from desktop.ui.indicator_dialogs import ProfileEditor
    from reports.profiles import find_profile

    editor = ProfileEditor(find_profile("吉林省"))
    qtbot.addWidget(editor)
    assert editor.ops[3].currentText() == "≥" and editor.values[3].value() == 30  # I4 ≥ 30 m²
    editor.values[3].setValue(35)
    editor.ops[8].setCurrentIndex(1)  # I9: from 无目标值 to ≥ 10
    editor.values[8].setValue(10)
    editor.ops[0].setCurrentIndex(0)  # I1: no target any more
    p = editor.profile("本县方案")
    assert (p.target("I4").op, p.target("I4").value, p.target("I4").text) == (">=", 35, "≥35 m²")
    assert (p.target("I9").op, p.target("I9").value) == (">=", 10)
    assert not p.target("I1").has_target
    # an unchanged target keeps the plan's text and quote
    assert p.target("I2").quote == find_profile("吉林省").target("I2").quote


def test_unit_removed_meanwhile_shows_chinese_error(page, repo):
    from storage.repository import org_unit_id

    index = page.org_combo.findData(CODES["R3"])
    page.org_combo.setCurrentIndex(index)
    repo.delete("org_unit", org_unit_id(CODES["R3"]))
    page.compute()
    assert runner().wait_idle(30)
    assert page.report is None
    assert page.status.text() == f"计算失败：数据库中没有区划代码为 {CODES['R3']} 的组织机构，请先在“组织机构”中添加，或核对代码"
    assert page.compute_button.isEnabled()


def test_first_show_computes_with_defaults(page, qtbot):
    page.show()
    qtbot.waitExposed(page)
    assert runner().wait_idle(60)
    assert page.report is not None and page.report.scope.code == COUNTY and page.report.scope.year == YEAR
    assert page.summary.rowCount() == 14


def test_one_village_leads_with_its_own_checks(page):
    """A village's own page: the standards checks first, counts that agree with the tab, what it lacks
    in words; no 各村 tab and no one-bar chart; 不适用 indicators left out and named in one line."""
    from reports.indicators import NOT_APPLICABLE, NOT_MET

    page.org_combo.setCurrentIndex(page.org_combo.findData(CODES["R3"]))
    _compute(page, "国家")
    report = page.report
    assert report.scope.level == "village"
    failing = sum(c.status == NOT_MET for c in report.standards)
    assert page.tabs.tabText(2) == f"达标检查（未达标 {failing}）"
    text = page.status.text()
    assert f"✗ 未达标 {failing} 项" in text and text.startswith(f"{report.scope.name} {YEAR}年本村达标检查")
    if failing:
        assert "还缺：" in text
    assert page.tabs.currentIndex() == 2 and not page.tabs.isTabVisible(1)
    assert not page.chart_area.isVisibleTo(page)
    skipped = [r for r, res in enumerate(report.indicators) if res.status == NOT_APPLICABLE]
    assert skipped and all(page.summary.isRowHidden(r) for r in skipped)
    assert f"略去了 {len(skipped)} 项" in text
    # back to the county: every tab and the chart again
    page.org_combo.setCurrentIndex(0)
    _compute(page, "国家")
    assert page.tabs.isTabVisible(1) and not any(page.summary.isRowHidden(r) for r in range(page.summary.rowCount()))
