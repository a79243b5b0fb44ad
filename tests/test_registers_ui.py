"""pytest-qt: the registers in the app — 培训到期 (人员), 培训表彰 (志愿者), 困难老人."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook

from desktop.ui.jobs import runner
from storage import local
from storage.repository import WriteOp, org_unit_id
from tests.fixtures.county import id_no

VILLAGE = "220112001001"


def _village(repo):
    local.set_identity(repo, VILLAGE, "幸福社区")
    today = dt.date.today()
    repo.bulk_write([
        WriteOp("org_unit", "insert", {"org_code": VILLAGE, "name": "幸福社区", "level": "村/社区",
                                       "urban_rural": "城市社区"}, org_unit_id(VILLAGE)),
        WriteOp("staff", "insert", {"org_code": VILLAGE, "name": "老书记", "gender": "男",
                                    "id_number": id_no(dt.date(1968, 3, 1)), "roles": ["党组织书记"],
                                    "joined_on": dt.date(2010, 1, 1), "status": "在岗"}, "00000000-0000-4000-8000-000000000401"),
        WriteOp("staff", "insert", {"org_code": VILLAGE, "name": "新网格员", "gender": "女",
                                    "id_number": id_no(dt.date(1995, 3, 1)), "roles": ["网格员"],
                                    "joined_on": dt.date(2015, 1, 1), "status": "在岗"}, "00000000-0000-4000-8000-000000000402"),
        WriteOp("training", "insert", {"org_code": VILLAGE, "staff_id": "00000000-0000-4000-8000-000000000402",
                                       "date": today - dt.timedelta(days=30), "course": "网格化管理", "days": 1}),
    ])


def test_training_due_tab_lists_overdue_first_and_exports(qtbot, repo, tmp_path):
    from desktop.ui.context import AppContext
    from desktop.ui.training_due_page import TrainingDuePage

    _village(repo)
    page = TrainingDuePage(AppContext(repo))
    qtbot.addWidget(page)
    page.profile_combo.setCurrentText("吉林省")
    assert runner().wait_idle(30)
    t = page.table
    assert t.rowCount() == 2
    assert (t.item(0, 0).text(), t.item(0, 1).text(), t.item(0, 3).text()) == ("已逾期", "老书记", "从未培训")
    assert t.item(1, 0).text() == "已完成" and t.item(1, 1).text() == "新网格员"
    assert "已逾期 1 人" in page.summary.text() and "吉林 专栏4-1" in page.rule.text()
    page.export_to(tmp_path / "due.xlsx")
    assert runner().wait_idle(30)
    assert load_workbook(tmp_path / "due.xlsx")["培训到期"].cell(row=3, column=3).value == "老书记"


def test_registers_have_their_pages_and_tabs(qtbot, repo):
    from desktop.ui.context import AppContext
    from desktop.ui.record_pages import elderly_page, staff_page, volunteer_page

    _village(repo)
    ctx = AppContext(repo)
    staff, volunteers, elderly = staff_page(ctx), volunteer_page(ctx), elderly_page(ctx)
    for w in (staff, volunteers, elderly):
        qtbot.addWidget(w)
    assert [staff.tabs.tabText(i) for i in range(staff.tabs.count())] == ["社区工作者", "培训记录", "培训到期"]
    assert volunteers.tabs.tabText(3) == "培训表彰" and volunteers.lists[3].rt.name == "volunteer_event"
    staff.tabs.setCurrentIndex(2)
    assert staff.current_list() is None  # list actions (新建, 删除) have no target on the due list
    assert elderly.rt.name == "elderly_person"
    assert runner().wait_idle(30)
