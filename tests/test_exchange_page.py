"""导入导出 page, driven through the real widget offscreen with the real job helper."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from storage.local import set_identity
from storage.repository import WriteOp
from tests.test_exchange_util import FACILITY_HEADER, VILLAGE, make_workbook


@pytest.fixture
def page(qapp, qtbot, tmp_path):
    from desktop.ui.app import open_context
    from desktop.ui.exchange_page import create_page
    from desktop.ui.jobs import runner

    ctx = open_context(tmp_path / "pc" / "taizhang.sqlite3")
    set_identity(ctx.repo, VILLAGE, "测试村")
    ctx.repo.bulk_write([
        WriteOp("org_unit", "insert", {"org_code": "220102000000", "name": "测试县", "level": "县"}),
        WriteOp("org_unit", "insert", {"org_code": VILLAGE, "name": "测试村", "level": "村/社区",
                                       "parent_code": "220102001000", "urban_rural": "农村社区"}),
        WriteOp("facility", "insert", {"org_code": VILLAGE, "name": "党群服务中心",
                                       "category": "综合服务设施/党群服务中心", "status": "在用"}),
    ])
    ctx.reload_identity()
    widget = create_page(ctx)
    qtbot.addWidget(widget)
    yield widget
    runner().wait_idle()
    ctx.repo.engine.dispose()


def _wait(qtbot, widget):
    qtbot.waitUntil(lambda: widget.handle is not None and widget.handle.is_done(), timeout=60000)


def test_template_and_export_from_the_page(page, qtbot, tmp_path):
    page.make_template(tmp_path / "模板.xlsx")
    _wait(qtbot, page)
    assert page.status.text().startswith("已生成填报模板")
    assert "服务记录" in load_workbook(tmp_path / "模板.xlsx").sheetnames
    page.period.setText("2024年13月")
    page.export_to(tmp_path / "x.xlsx")
    assert "格式不对" in page.status.text() and not (tmp_path / "x.xlsx").exists()
    page.period.setText("")
    page.export_to(tmp_path / "x.xlsx")
    _wait(qtbot, page)
    assert "已导出 1 条记录" in page.status.text()
    assert load_workbook(tmp_path / "x.xlsx")["服务设施"]["B4"].value == "党群服务中心"  # A: 序号
    page.export_csv_to(tmp_path / "csv")
    _wait(qtbot, page)
    assert (tmp_path / "csv" / "服务设施.csv").exists()


def test_dry_run_then_import_and_a_rejected_workbook(page, qtbot, tmp_path):
    good = make_workbook(tmp_path / "好.xlsx", {"服务设施": [FACILITY_HEADER,
                                                          ["卫生室", "卫生室/社区卫生服务站", "在用", 90, 50]]})
    bad = make_workbook(tmp_path / "坏.xlsx", {"服务设施": [FACILITY_HEADER,
                                                          ["文化站", "不存在的类别", "在用", 90, 50]]})
    page.import_paths([good, bad], dry_run=True)
    _wait(qtbot, page)
    assert page.ctx.repo.count("facility") == 1
    text = page.summary.toPlainText()
    assert "[可导入] 好.xlsx" in text and "[已拒绝] 坏.xlsx" in text and "“不存在的类别”不是可选项" in text
    assert "试运行" in page.status.text()
    page.import_paths([good, bad], dry_run=False)
    _wait(qtbot, page)
    assert page.ctx.repo.count("facility") == 2
    assert "已导入 1 个，拒绝 1 个" in page.status.text()
    from desktop.ui.exchange_page import report_dir

    assert (report_dir() / "坏-错误报告.xlsx").exists()


def test_cancel_rolls_the_workbook_back(page, qtbot, tmp_path):
    rows = [FACILITY_HEADER] + [[f"设施{i}", "其他", "在用", 10, 5] for i in range(300)]
    path = make_workbook(tmp_path / "多.xlsx", {"服务设施": rows})
    page.import_paths([path], dry_run=False)
    page.handle.cancel()
    _wait(qtbot, page)
    assert page.ctx.repo.count("facility") == 1
    assert page.status.text().startswith("已取消")


def test_full_export_needs_a_purpose_and_is_listed_in_settings(page, qtbot, tmp_path):
    from desktop.ui.privacy_widget import PrivacyWidget
    from tests.test_exchange_util import valid_id

    repo = page.ctx.repo
    repo.create("staff", {"org_code": VILLAGE, "name": "李四", "id_number": valid_id(3), "roles": ["网格员"],
                          "status": "在岗"})
    page.export_to(tmp_path / "m.xlsx")
    _wait(qtbot, page)
    assert "已遮挡" in page.status.text()
    assert valid_id(3) not in id_column(tmp_path / "m.xlsx")
    assert not page.purpose.isEnabled()
    page.full_export.setChecked(True)
    assert page.purpose.isEnabled()
    page.export_to(tmp_path / "f.xlsx")
    assert "请填写用途" in page.status.text() and not (tmp_path / "f.xlsx").exists()
    page.purpose.setText("报县民政局年度核查")
    page.export_to(tmp_path / "f.xlsx")
    _wait(qtbot, page)
    assert "本次导出已记录" in page.status.text(), page.status.text()
    assert valid_id(3) in id_column(tmp_path / "f.xlsx")
    widget = PrivacyWidget(page.ctx)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.table.rowCount() == 1, timeout=30000)
    assert widget.table.item(0, 6).text() == "报县民政局年度核查" and widget.table.item(0, 7).text() == "f.xlsx"


def id_column(path) -> list:
    """The 公民身份号码 column of the exported 社区工作者 sheet (found by its header: 序号 comes first)."""
    ws = load_workbook(path)["社区工作者"]
    col = next(c.column for row in ws.iter_rows(max_row=5) for c in row if str(c.value or "").startswith("公民身份号码"))
    return [c[0].value for c in ws.iter_rows(min_col=col, max_col=col)]
