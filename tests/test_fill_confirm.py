"""The month's checklist asks the clerk to confirm each standing register ("本月无变化", or edit it);
the confirmations are recorded on the month's period record (pytest-qt on the real page) and are
seen at the township after both PCs sync with a real server process."""

from __future__ import annotations

from PySide6.QtCore import Qt

from desktop.ui.jobs import runner
from storage import periods as P
from tests.serverproc import TOWNSHIP, VILLAGE, ServerProcess, SyncTestClient, setup_county
from tests.test_periods_ui import village_page
from tests.test_review_ui import county_tree

import pytest

pytestmark = pytest.mark.usefixtures("insecure_keyring")


def confirm_rows(page):
    return {page.checklist.item(i).data(Qt.ItemDataRole.UserRole): page.checklist.item(i)
            for i in range(page.checklist.count())}


def test_clerk_confirms_standing_registers_on_the_month_page(qtbot, repo):
    county_tree(repo)
    page = village_page(qtbot, repo)
    month = page.period
    rows = confirm_rows(page)
    keys = [f"confirm:{n}" for n in P.standing_types()]
    assert all(k in rows for k in keys)
    assert rows["confirm:staff"].text().startswith("○  确认社区工作者：共 0 条，请核对后点“本月无变化”")

    qtbot.mouseClick(page.confirm_btn, Qt.MouseButton.LeftButton)  # nothing selected: told what to do
    assert "请先在清单中选中" in page.message.text()
    rows["confirm:staff"].setSelected(True)
    rows["confirm:volunteer"].setSelected(True)
    qtbot.mouseClick(page.confirm_btn, Qt.MouseButton.LeftButton)
    assert runner().wait_idle(30)
    assert P.get_state(repo, VILLAGE, month).confirmed == ("社区工作者", "志愿者")
    assert "社区工作者、志愿者" in page.message.text()
    rows = confirm_rows(page)
    assert rows["confirm:staff"].text().startswith("√  确认社区工作者：本月无变化")
    assert rows["confirm:facility"].text().startswith("○")

    # editing a register in the month counts as going through it
    repo.create("facility", {"org_code": VILLAGE, "name": "幸福村日间照料中心", "category": "养老服务设施",
                             "status": "在用"})
    with repo.engine.connect() as conn:
        by_type = {c.type_name: c.status for c in P.standing_confirmations(conn, VILLAGE, P.period_of(
            __import__("datetime").date.today()))}
    assert by_type["facility"] == P.EDITED


def test_confirmations_reach_the_township_by_sync(qtbot, tmp_path):
    server = ServerProcess(f"sqlite:///{tmp_path / 'county.sqlite3'}", home=tmp_path / "server")
    server.start()
    village = township = None
    try:
        setup_county(server)
        village = SyncTestClient(tmp_path / "clients", "cun", server.url, "cun")
        township = SyncTestClient(tmp_path / "clients", "zhen", server.url, "zhen")
        village.sync()
        month = P.previous_period()
        P.confirm_unchanged(village.repo, VILLAGE, month, ["facility", "social_org"])
        with pytest.raises(P.PeriodError, match="不是逐月结转的台账"):
            P.confirm_unchanged(village.repo, VILLAGE, month, ["service"])
        assert village.sync().applied >= 1
        township.sync()
        assert P.get_state(township.repo, VILLAGE, month).confirmed == ("服务设施", "社区社会组织")
        with township.engine.connect() as conn:
            seen = {c.label: c.status for c in P.standing_confirmations(conn, VILLAGE, month)}
        assert seen["服务设施"] == seen["社区社会组织"] == P.UNCHANGED and seen["志愿者"] == P.UNCONFIRMED
        # …and on the township's review page, in the village's checklist
        from desktop.ui.context import AppContext
        from desktop.ui.review_page import ReviewPage, create_page

        page = create_page(AppContext(township.repo))
        assert isinstance(page, ReviewPage) and page.role == "township"
        qtbot.addWidget(page)
        page.set_period(month)
        assert runner().wait_idle(30)  # the villages' rows are read in a job
        page.select_org(VILLAGE)
        assert runner().wait_idle(30)  # the month's checklist is read in a job
        text = page.checklist.text()
        assert "√ 确认服务设施：本月无变化" in text and "○ 确认志愿者：共 0 条" in text
        assert township.repo.get_setting("org_code") == TOWNSHIP
    finally:
        for c in (village, township):
            if c is not None:
                c.close()
        server.stop()


def test_reports_box_fills_a_template_and_drills_down_to_the_records(qtbot, repo, tmp_path):
    """导入导出 → 报表: due this month, fill for a period, the filled cells listed, a cell's records."""
    from openpyxl import load_workbook

    from desktop.ui.exchange_page import ExchangePage
    from storage import local
    from tests.fixtures.county import T2, build_county
    from tests.test_review_ui import make_ctx

    build_county(repo)
    page = ExchangePage(make_ctx(repo, T2, "河东镇"))
    qtbot.addWidget(page)
    page.resize(1000, 900)
    page.show()
    box = page.fill_box
    qtbot.waitUntil(lambda: box.templates.count() >= 3, timeout=10000)
    assert "本月应报：" in box.due.text() and "《志愿服务情况统计表》" in box.due.text()
    index = next(i for i, e in enumerate(box.entries) if e.name == "城乡社区服务设施情况统计表")
    box.templates.setCurrentIndex(index)
    assert box.period.text().count("-Q") == 1  # a quarterly report offers a quarter
    box.period.setText("2024-Q4")
    out = tmp_path / "设施.xlsx"
    box.fill_to(out)
    assert runner().wait_idle(60)
    assert "已生成《城乡社区服务设施情况统计表》2024年第4季度" in box.status.text()
    ws = load_workbook(out)["表1"]
    rows = [box.cells.item(r, 0).text() for r in range(box.cells.rowCount())]
    assert len(rows) == sum(1 for c in box.result.cells if c.mapping.measure.is_number) > 0
    # the 合计 of 综合服务设施 个数 in 河东镇 (U9–U12, R1–R4; R3 has none; U10 has two): 8
    total = next(r for r in range(box.cells.rowCount()) if box.cells.item(r, 3).text() == "河东镇"
                 and box.cells.item(r, 1).text() == "服务设施·数量" and "综合服务设施" in box.cells.item(r, 2).text())
    assert box.cells.item(total, 4).text() == "8"
    assert ws[box.cells.item(total, 0).text().split("!")[1]].value == 8
    box.cells.setCurrentCell(total, 0)
    box.drill(total)
    assert runner().wait_idle(30)
    qtbot.waitUntil(lambda: getattr(box, "dialog", None) is not None and box.dialog.isVisible(), timeout=5000)
    assert box.dialog.table.rowCount() == 8
    assert local.identity(repo).org_code == T2
