"""pytest-qt: 打印预览 / 打印 / 导出PDF on a record list, the month page and 指标 — all from the core's layout."""

from __future__ import annotations

import re

import pytest
from PySide6.QtGui import QPageLayout
from PySide6.QtPrintSupport import QPrinter

from desktop.ui.jobs import runner
from desktop.ui.printing import LedgerChoice, export_pdf, preview, print_paper
from tests.test_paper import UNIT, ledger, pdfpages, pdftext  # noqa: F401 - ledger is a fixture

pytestmark = pytest.mark.skipif(pdftext is None, reason="poppler-utils")


@pytest.fixture
def service_list(qtbot, ledger):  # noqa: F811 - the fixture imported above
    from desktop.ui.context import AppContext
    from desktop.ui.record_list import RecordListPage

    page = RecordListPage(AppContext(ledger), "service")
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    qtbot.waitUntil(lambda: page.loaded, timeout=30_000)
    return page


def test_the_list_offers_preview_print_and_pdf(service_list):
    names = {b.objectName() for b in service_list.findChildren(type(service_list.new_button))}
    assert {"printPreview", "printPaper", "exportPdf"} <= names


def test_preview_shows_the_pdf_of_the_filtered_list(qtbot, service_list, tmp_path):
    service_list.search.setText("养老")
    service_list.filter_in_background()
    qtbot.waitUntil(lambda: not service_list.model.pending, timeout=30_000)
    shown = service_list.model.rowCount()
    assert 0 < shown < 297
    handle = preview(service_list, service_list.paper_job(LedgerChoice("list")))
    qtbot.waitUntil(handle.is_done, timeout=60_000)
    dialog = service_list._paper_preview
    assert dialog.isVisible() and not dialog.page_label.pixmap().isNull()
    pages = dialog.pages.count
    assert pages == pdfpages(dialog.path) > 1 and f"共 {pages} 页" in dialog.info.text()
    dialog.next_button.click()
    assert dialog.page_spin.value() == 2 and dialog.prev_button.isEnabled()
    text = pdftext(dialog.path)
    assert "测试村服务记录台账" in text and "含“养老”" in text and f"共{shown}条" in text.replace(" ", "")
    saved = dialog.save_copy(tmp_path / "副本")
    assert saved == tmp_path / "副本.pdf" and pdfpages(saved) == pages
    scratch = dialog.path.parent
    dialog.close()
    assert not scratch.exists()  # the preview's temporary PDF is removed with the dialog


def test_export_pdf_of_a_month(qtbot, service_list, tmp_path):
    handle = export_pdf(service_list, service_list.paper_job(LedgerChoice("month", period="2024-04")),
                        tmp_path / "四月")
    qtbot.waitUntil(handle.is_done, timeout=60_000)
    text = pdftext(tmp_path / "四月.pdf")
    assert "期间：2024年4月" in text and "共40条" in text.replace(" ", "") and re.search(r"第1页\s*共1页", text)


def test_print_paints_the_same_pages_on_the_printer(qtbot, service_list, tmp_path):
    printer = QPrinter()
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)  # a printer that writes a file
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    job = service_list.paper_job(LedgerChoice("year", year=2024))
    print_paper(service_list, job, printer)
    assert runner().wait_idle(120)
    qtbot.waitUntil(lambda: (tmp_path / "printed.pdf").exists(), timeout=60_000)
    assert runner().wait_idle(120)
    direct = job.make(tmp_path / "direct.pdf", lambda *_: None)
    assert pdfpages(tmp_path / "printed.pdf") == direct.pages > 1


def test_month_page_and_indicators_print_from_the_core(qtbot, ledger, village, tmp_path):  # noqa: F811
    from desktop.ui.context import AppContext
    from desktop.ui.indicators_page import IndicatorsPage
    from desktop.ui.periods_page import PeriodsPage

    ctx = AppContext(ledger)
    month = PeriodsPage(ctx)
    qtbot.addWidget(month)
    month.set_period("2024-03")
    handle = export_pdf(month, month.paper_job(), tmp_path / "月报表.pdf")
    qtbot.waitUntil(handle.is_done, timeout=60_000)
    text = pdftext(tmp_path / "月报表.pdf")
    assert f"{UNIT}2024年3月社区服务台账月报表" in text and "制表人（签字）" in text
    indicators = IndicatorsPage(ctx)
    qtbot.addWidget(indicators)
    assert indicators.paper_job() is None and "请先点“计算”" in indicators.status.text()


def test_ctrl_p_prints_the_visible_page(qtbot, ledger, village):  # noqa: F811
    from desktop.ui.context import AppContext
    from desktop.ui.main_window import MainWindow

    window = MainWindow(AppContext(ledger))
    qtbot.addWidget(window)
    assert window.action_print.shortcut().toString() == "Ctrl+P"
    window.show_page("service")
    assert window.paper_page() is window.current_list()
    window.show_page("periods")
    assert window.paper_page() is window.current_page()
    assert runner().wait_idle(60)


def test_a_full_printout_asks_for_a_purpose_and_is_recorded(qtbot, ledger, tmp_path):  # noqa: F811
    from PySide6.QtWidgets import QDialogButtonBox

    from desktop.ui.context import AppContext
    from desktop.ui.printing import LedgerScopeDialog
    from desktop.ui.record_list import RecordListPage
    from storage import disclosure
    from tests.test_paper import _staff

    dialog = LedgerScopeDialog("社区工作者", False, True, 3)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.purpose.isEnabled()
    dialog.full.setChecked(True)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible() and "用途" in dialog.error.text()  # 完整 without 用途 is not accepted
    dialog.purpose.setText("报县年度核查")  # (keyClicks types ASCII only)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible() and dialog.choice() == LedgerChoice("list", full=True, purpose="报县年度核查")
    not_allowed = LedgerScopeDialog("社区工作者", False, True, 3, full_allowed=False)
    qtbot.addWidget(not_allowed)
    assert not not_allowed.full.isEnabled() and "县里规定" in not_allowed.full.toolTip()

    page = RecordListPage(AppContext(ledger), "staff")
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.loaded, timeout=30_000)
    changed = []
    page.ctx.records_changed.connect(changed.append)
    handle = export_pdf(page, page.paper_job(LedgerChoice("list", full=True, purpose="报县年度核查")),
                        tmp_path / "完整")
    qtbot.waitUntil(handle.is_done, timeout=60_000)
    assert changed == ["disclosure"]  # 设置 → 个人信息保护 and the unsent count follow
    full_id = _staff(ledger.get_setting("org_code"), 1)["id_number"]
    assert full_id in pdftext(tmp_path / "完整.pdf")
    (row,) = ledger.list("disclosure")
    assert (row["action"], row["purpose"], row["row_count"], row["file_name"]) == (
        disclosure.PRINT, "报县年度核查", 3, "完整.pdf")
    disclosure.remember_sign_in(ledger, "village", ["county"])  # a role the county does not allow
    handle = export_pdf(page, page.paper_job(LedgerChoice("list", full=True, purpose="核查")), tmp_path / "拒绝")
    qtbot.waitUntil(handle.is_done, timeout=60_000)
    assert not (tmp_path / "拒绝.pdf").exists() and len(ledger.list("disclosure")) == 1
