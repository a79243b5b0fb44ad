"""pytest-qt: the township/county review view and the completeness board, with real widgets offscreen."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from desktop.ui.jobs import runner
from storage import local
from storage import periods as P
from storage.repository import WriteOp
from tests.test_periods import fill_month

COUNTY = "220102000000"
TOWN = "220102001000"
WEST = "220102002000"
VILLAGES = {"220102001001": "幸福村", "220102001002": "光明社区", "220102001003": "团结村", "220102002001": "前进村"}


def shots_dir(tmp_path: Path) -> Path:
    """Where the screenshot tests save their pictures: tmp_path, so a test run leaves the checkout clean.
    TAIZHANG_SCREENSHOTS=docs/screenshots refreshes the README's pictures on purpose."""
    target = Path(os.environ.get("TAIZHANG_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def county_tree(repo):
    ops = [WriteOp("org_unit", "insert", {"org_code": COUNTY, "name": "南关区", "level": "县"}),
           WriteOp("org_unit", "insert", {"org_code": TOWN, "name": "永吉街道", "level": "乡镇/街道",
                                          "parent_code": COUNTY}),
           WriteOp("org_unit", "insert", {"org_code": WEST, "name": "曙光镇", "level": "乡镇/街道",
                                          "parent_code": COUNTY})]
    for code, name in VILLAGES.items():
        ops.append(WriteOp("org_unit", "insert", {"org_code": code, "name": name, "level": "村/社区",
                                                  "parent_code": code[:9] + "000", "urban_rural": "农村社区"}))
    repo.bulk_write(ops)


def make_ctx(repo, org, name):
    from desktop.ui.context import AppContext

    local.set_identity(repo, org, name)
    return AppContext(repo)


def _wait(qtbot):
    assert runner().wait_idle(30)


def test_review_view_township_returns_and_approves(qtbot, repo, tmp_path):
    from desktop.ui.review_page import ReviewPage, create_page

    county_tree(repo)
    month = P.previous_period()
    for code in ("220102001001", "220102001002", "220102002001"):
        fill_month(repo, org=code, month=month, services=2)
        P.submit(repo, code, month)
    ctx = make_ctx(repo, TOWN, "永吉街道")
    page = create_page(ctx)
    assert isinstance(page, ReviewPage) and page.role == "township"
    qtbot.addWidget(page)
    page.resize(1100, 650)
    page.show()
    _wait(qtbot)  # the page reads in read jobs
    # only this township's villages, with their month's state
    names = [page.units.item(i, 0).text() for i in range(page.units.rowCount())]
    assert names == ["幸福村（220102001001）", "光明社区（220102001002）", "团结村（220102001003）"]
    assert page.units.item(0, 2).text() == "已提交" and page.units.item(2, 2).text() == "未提交"
    assert page.summary.text() == "共 3 个村(社区)，待审核 2 个"
    assert not page.accept_btn.isVisible() and page.approve_btn.isVisible()

    page.select_org("220102001001")
    _wait(qtbot)
    assert page.records.rowCount() == 2
    assert "√ " + P.period_label(month) + "的服务记录：已录入 2 条" in page.checklist.text()
    assert page.approve_btn.isEnabled() and page.return_btn.isEnabled()

    # 修改记录 of one record of the month (a reviewer checks what the village changed)
    assert not page.history_btn.isEnabled()
    page.records.selectRow(0)
    name, rec = page._month_rows[0]
    repo.update(name, rec["id"], {"note": "复核后补充的备注"})
    assert page.history_btn.isEnabled()
    history = page.show_history()
    qtbot.waitUntil(lambda: history.table.rowCount() == 2)
    assert [history.table.item(1, c).text() for c in (2, 3, 5)] == ["修改", "备注", "复核后补充的备注"]
    history.done(0)

    # 退回 with a general reason and a note on the selected record
    page.records.selectRow(1)
    dialog = page.open_return_dialog()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "请填写原因" in dialog.error.text()  # no reason, no return
    dialog.reason.setPlainText("服务对象填写不准确")
    note_edit = dialog.note_edits[0][3]
    note_edit.setText("应为特殊困难老年人")
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    _wait(qtbot)
    st = P.get_state(repo, "220102001001", month)
    assert st.status == P.RETURNED
    general, notes = P.parse_reason(st.reason)
    assert general == "服务对象填写不准确" and notes[0].note == "应为特殊困难老年人"
    assert notes[0].record_id == page._month_rows[1][1]["id"]
    assert page.units.item(0, 2).text() == "已退回"
    assert "退回完成" in page.message.text()
    assert not page.approve_btn.isEnabled()

    page.select_org("220102001002")
    _wait(qtbot)
    qtbot.mouseClick(page.approve_btn, Qt.MouseButton.LeftButton)
    _wait(qtbot)
    assert P.get_state(repo, "220102001002", month).status == P.APPROVED
    assert page.units.item(1, 2).text() == "乡镇已审核"
    assert page.summary.text() == "共 3 个村(社区)，待审核 0 个"

    # the state changed elsewhere since the list was loaded: the action is refused, in Chinese, without blocking
    fill_month(repo, org="220102001003", month=month, services=1)
    P.submit(repo, "220102001003", month)
    page.reload()
    _wait(qtbot)
    page.select_org("220102001003")
    _wait(qtbot)
    P.return_period(repo, "220102001003", month, "县里直接退回", role="county", actor_org=COUNTY)
    qtbot.mouseClick(page.approve_btn, Qt.MouseButton.LeftButton)
    _wait(qtbot)
    assert "审核通过没有完成" in page.message.text() and "当前状态为“已退回”，不能审核通过" in page.message.text()
    assert P.get_state(repo, "220102001003", month).status == P.RETURNED
    assert page.units.item(2, 2).text() == "已退回"  # the list shows the state as it is now

    page.select_org("220102001001")
    _wait(qtbot)
    QApplication.processEvents()
    assert page.grab().save(str(shots_dir(tmp_path) / "review.png"))


def test_review_view_county_accepts_and_reopens(qtbot, repo):
    from desktop.ui.review_page import create_page

    county_tree(repo)
    month = P.previous_period()
    fill_month(repo, org="220102002001", month=month, services=1)
    P.submit(repo, "220102002001", month)
    P.approve(repo, "220102002001", month, actor_org=WEST)
    ctx = make_ctx(repo, COUNTY, "南关区")
    page = create_page(ctx)
    qtbot.addWidget(page)
    page.show()
    _wait(qtbot)
    assert page.units.rowCount() == 4 and page.summary.text() == "共 4 个村(社区)，待接收 1 个"
    # one township at a time
    page.township_box.setCurrentIndex(page.township_box.findData(TOWN))
    _wait(qtbot)
    assert page.units.rowCount() == 3 and page.summary.text() == "共 3 个村(社区)，待接收 0 个"
    page.township_box.setCurrentIndex(page.township_box.findData(WEST))
    _wait(qtbot)
    assert page.units.rowCount() == 1 and page.units.item(0, 0).text() == "前进村（220102002001）"
    assert not page.approve_btn.isVisible()
    page.select_org("220102002001")
    _wait(qtbot)
    assert page.accept_btn.isEnabled() and not page.reopen_btn.isEnabled()
    qtbot.mouseClick(page.accept_btn, Qt.MouseButton.LeftButton)
    _wait(qtbot)
    assert P.get_state(repo, "220102002001", month).locked
    assert page.reopen_btn.isEnabled() and not page.accept_btn.isEnabled()
    dialog = page.open_reopen_dialog()
    dialog.reason.setPlainText("人次统计口径调整")
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    _wait(qtbot)
    st = P.get_state(repo, "220102002001", month)
    assert st.status == P.RETURNED and "人次统计口径调整" in st.reason


def test_review_page_absent_on_village_pc(qtbot, repo):
    from desktop.ui import board_page, review_page

    county_tree(repo)
    ctx = make_ctx(repo, "220102001001", "幸福村")
    assert review_page.create_page(ctx) is None
    assert board_page.create_page(ctx) is None


def test_completeness_board_page(qtbot, repo, tmp_path):
    from desktop.ui.board_page import CELL_COLORS, BoardPage, create_page
    from reports import completeness as C

    county_tree(repo)
    months = list(reversed(P.recent_periods(3)))
    # 幸福村 submitted every month, 光明社区 was returned last month, the others have not reported
    for m in months:
        fill_month(repo, org="220102001001", month=m, services=1)
        P.submit(repo, "220102001001", m)
        # submitted the day before the due day, whatever today's date is
        on_time = (P.deadline(m) - dt.timedelta(days=1)).isoformat()
        repo.update("period", P.period_id("220102001001", m), {"submitted_at": on_time})
    fill_month(repo, org="220102001002", month=months[-1], services=1)
    P.submit(repo, "220102001002", months[-1])
    P.return_period(repo, "220102001002", months[-1], "缺少服务对象", actor_org=TOWN)
    ctx = make_ctx(repo, COUNTY, "南关区")
    page = create_page(ctx)
    assert isinstance(page, BoardPage)
    qtbot.addWidget(page)
    page.resize(1000, 640)
    page.show()
    page.months_box.setCurrentIndex(0)  # 3 months
    _wait(qtbot)  # the board is built in a read job
    headers = [page.table.horizontalHeaderItem(i).text() for i in range(page.table.columnCount())]
    assert headers == ["乡镇/街道", "村(社区)"] + [P.period_label(m) for m in months]
    assert page.table.rowCount() == 4
    last_col = 2 + len(months) - 1
    first = page.table.item(0, last_col)
    assert page.table.item(0, 1).text() == "幸福村" and first.text() == C.ON_TIME
    assert first.background().color().name().upper() == CELL_COLORS[C.ON_TIME]
    returned = page.table.item(1, last_col)
    assert returned.text() == C.RETURNED and "缺少服务对象" in returned.toolTip()
    # older months of the others are past their due day
    assert page.table.item(3, 2).text() == C.OVERDUE
    rates = {page.rates.item(i, 0).text(): [page.rates.item(i, j).text() for j in range(1, 6)]
             for i in range(page.rates.rowCount())}
    assert rates["永吉街道"] == ["3", "1", "1", "33.3%", "33.3%"]
    assert rates["曙光镇"] == ["1", "0", "0", "0.0%", "0.0%"]
    assert rates["南关区合计"] == ["4", "1", "1", "25.0%", "25.0%"]

    out = tmp_path / "看板.xlsx"
    handle = page.export_to(out)
    qtbot.waitUntil(handle.is_done, timeout=20000)
    from openpyxl import load_workbook

    wb = load_workbook(out)
    assert wb["明细"].cell(row=3, column=2).value == "幸福村"
    assert "已导出" in page.message.text()
    page.months_box.setCurrentIndex(1)
    _wait(qtbot)
    QApplication.processEvents()
    assert page.grab().save(str(shots_dir(tmp_path) / "board.png"))
