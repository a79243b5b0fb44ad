"""Paper: ledgers, the month slip and the 达标 report as PDF, read back with poppler."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess

import pytest
from reportlab.lib.pagesizes import A4

from exchange.pdf import (MARGIN, LedgerSelection, PdfDoc, cell_text, ledger_layout, month_selection, write_ledger_pdf,
                          year_selection)
from storage import local
from storage.choices import DEFAULT_CHOICES
from storage.repository import WriteOp
from storage.schema import RECORD_TYPES, record_type
from storage.validation import id_check_char

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils 未安装（test.sh 会安装）")

UNIT = "测试村"


def pdftext(path, first: int | None = None, last: int | None = None) -> str:
    cmd = ["pdftotext", "-layout"]
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    return subprocess.run([*cmd, str(path), "-"], check=True, capture_output=True, text=True).stdout


def pdfpages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _service(village: str, day: dt.date, i: int) -> dict:
    return {"org_code": village, "date": day, "category": DEFAULT_CHOICES["service_category"][i % 5],
            "mode": "上门", "target": "老年人", "persons": 1 + i % 30}


def _staff(village: str, i: int) -> dict:
    first17 = f"22010219800101{i:03d}"
    return {"org_code": village, "name": f"工作人员{i}", "id_number": first17 + id_check_char(first17),
            "phone": f"1380013{i:04d}", "roles": ["网格员"], "status": "在岗"}


@pytest.fixture
def ledger(repo, village):
    """测试村: 250 service records in March 2024, 40 in April 2024, 7 in 2023; 3 staff."""
    local.set_identity(repo, village, UNIT)
    ops = [WriteOp("service", "insert", _service(village, dt.date(2024, 3, 1 + i % 28), i)) for i in range(250)]
    ops += [WriteOp("service", "insert", _service(village, dt.date(2024, 4, 2), i)) for i in range(40)]
    ops += [WriteOp("service", "insert", _service(village, dt.date(2023, 6, 1), i)) for i in range(7)]
    ops += [WriteOp("staff", "insert", _staff(village, i)) for i in range(3)]
    repo.bulk_write(ops)
    return repo


def test_a_month_ledger_reads_back_with_title_unit_numbers_pages_and_signatures(ledger, village, tmp_path):
    path = tmp_path / "服务.pdf"
    result = write_ledger_pdf(ledger.engine, path, "service", month_selection(village, "2024-03"), org_name=UNIT)
    assert result.rows == 250
    pages = pdfpages(path)
    assert result.pages == pages > 1
    first = pdftext(path, 1, 1)
    assert "测试村服务记录台账" in first and "填报单位：测试村（区划代码 220102001001）" in first
    assert "期间：2024年3月" in first and "共250条" in first.replace(" ", "")
    assert "序号" in first and "服务类别" in first and "人次" in first
    assert re.search(rf"第1页\s*共{pages}页", first)
    assert "制表人" in first and "审核人" in first and "填报日期" in first and "单位（盖章）" in first
    # every row is one line here: the pages hold what the first page holds, the last the rest
    per_page = len(re.findall(r"^\s*\d+\s+2024-03-\d\d", first, re.M))
    assert per_page > 20 and pages == math.ceil(250 / per_page)
    last = pdftext(path, pages, pages)
    assert "序号" in last and f"第{pages}页" in last  # the header is repeated on every page
    numbers = [int(n) for n in re.findall(r"^\s*(\d+)\s+2024-", pdftext(path), re.M)]
    assert numbers == list(range(1, 251))  # 序号 runs on across pages; April and 2023 left out
    assert not (tmp_path / "服务.pdf.part").exists()


def test_year_and_all_selections(ledger, village, tmp_path):
    year = write_ledger_pdf(ledger.engine, tmp_path / "y.pdf", "service", year_selection(village, 2024))
    assert year.rows == 290 and "2024年度" in pdftext(year.path, 1, 1)
    everything = write_ledger_pdf(ledger.engine, tmp_path / "a.pdf", "service", LedgerSelection(village))
    assert everything.rows == 297
    empty = write_ledger_pdf(ledger.engine, tmp_path / "e.pdf", "service", month_selection(village, "2025-01"))
    assert empty.rows == 0 and pdfpages(empty.path) == 1
    assert "共0条" in pdftext(empty.path).replace(" ", "") and "本期间没有记录" in pdftext(empty.path)


def test_the_chinese_font_is_embedded(ledger, village, tmp_path):
    path = write_ledger_pdf(ledger.engine, tmp_path / "s.pdf", "staff", LedgerSelection(village)).path
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all(r[-5] == "yes" for r in rows), fonts  # every font in the file is embedded
    assert any("WenQuanYi" in r[0] or "CJK" in r[0] for r in rows), fonts


def test_id_numbers_and_phones_masked_unless_a_full_printout_is_chosen(ledger, village, tmp_path):
    full_id = _staff(village, 1)["id_number"]
    masked = write_ledger_pdf(ledger.engine, tmp_path / "m.pdf", "staff", LedgerSelection(village), org_name=UNIT)
    text = pdftext(masked.path)
    assert full_id not in text and "13800130001" not in text
    assert full_id[:6] + "********" + full_id[-4:] in text and "138****0001" in text
    assert "身份证号码、手机号已遮盖" in text
    full = write_ledger_pdf(ledger.engine, tmp_path / "f.pdf", "staff", LedgerSelection(village), full=True)
    text = pdftext(full.path)
    assert full_id in text and "13800130001" in text and "含完整个人信息" in text


def test_cell_text_masks_like_the_list():
    f = record_type("staff").field("id_number")
    assert cell_text(f, "220102198001010015") == "220102********0015"
    assert cell_text(f, "220102198001010015", full=True) == "220102198001010015"
    assert cell_text(record_type("social_org").field("brand"), 1) == "是"


def test_cancel_leaves_no_file(ledger, village, tmp_path):
    class Stop(Exception):
        pass

    def progress(done, total):
        raise Stop()

    path = tmp_path / "c.pdf"
    with pytest.raises(Stop):
        write_ledger_pdf(ledger.engine, path, "service", year_selection(village, 2024), progress=progress)
    assert list(tmp_path.glob("c.pdf*")) == []


def test_every_record_type_has_a_layout_that_fits_a4():
    for name, rt in RECORD_TYPES.items():
        if name in ("period", "org_unit"):
            continue
        is_landscape, cols, fitted = ledger_layout(rt, DEFAULT_CHOICES)
        width = (A4[1] if is_landscape else A4[0]) - 2 * MARGIN
        assert fitted[0].header == "序号" and len(fitted) == len(cols) + 1, name
        assert sum(c.width for c in fitted) == pytest.approx(width), name
    assert ledger_layout(record_type("service"), DEFAULT_CHOICES)[0] is False  # the service ledger fits portrait
    assert ledger_layout(record_type("staff"), DEFAULT_CHOICES)[0] is True


def test_long_text_wraps_inside_its_cell(tmp_path):
    from exchange.pdf import Col

    doc = PdfDoc(tmp_path / "w.pdf", title="t")
    doc.table([Col("序号", 40), Col("名称", 80)], [["1", "很长的名称" * 8]])
    doc.close()
    text = pdftext(tmp_path / "w.pdf")
    lines = [line for line in text.splitlines() if "很长" in line]
    assert len(lines) >= 4  # 40 characters in an 80-point column take several lines


def test_month_slip(ledger, village, tmp_path):
    from reports.paper import write_month_slip

    result = write_month_slip(ledger, tmp_path / "月报表.pdf", village, "2024-03", org_name=UNIT)
    text = pdftext(result.path)
    assert "测试村2024年3月社区服务台账月报表" in text and "填报期：2024-03" in text
    row = next(line for line in text.splitlines() if "服务记录" in line and "1 " in line)
    assert re.search(r"服务记录\s+250\s+\d+\s+297", row), row
    persons = sum(1 + i % 30 for i in range(250))
    assert re.search(rf"服务人次合计\s+{persons}", text)
    assert "提交前检查" in text and "2024年度基础数据" in text and "未通过" in text  # no 年度基础数据 yet
    assert "制表人（签字）" in text and "单位（盖章）" in text and "盖章处" in text
    assert re.search(r"第1页\s*共1页", text)


def test_taizhang_print_cli(ledger, village, tmp_path, capsys):
    from desktop.cli import main

    out = tmp_path / "服务.pdf"
    assert main(["print", "service", "--period", "2024-04", "-o", str(out)]) == 0
    assert "40 条" in capsys.readouterr().out and "共40条" in pdftext(out).replace(" ", "")
    assert main(["print", "staff", "-o", str(tmp_path / "人员.pdf")]) == 0
    assert main(["print", "month", "--period", "2024-03", "-o", str(tmp_path / "月.pdf")]) == 0
    assert "月报表" in pdftext(tmp_path / "月.pdf")
    assert main(["print", "month", "-o", str(tmp_path / "x.pdf")]) == 1
    assert "请用 --period 指定填报期" in capsys.readouterr().err
    assert main(["print", "service", "--period", "2024-13", "-o", str(tmp_path / "x.pdf")]) == 1
    assert "格式不对" in capsys.readouterr().err
    assert main(["print", "service", "-o", str(tmp_path / "x.xlsx")]) == 1
    assert "应以 .pdf 结尾" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_report_as_pdf_from_both_clis(repo, taizhang_home, tmp_path, capsys):
    from county_server.cli import main as server_main
    from desktop.cli import main
    from tests.fixtures.county import COUNTY, YEAR, build_county

    build_county(repo)
    out = tmp_path / "县.pdf"
    assert main(["report", "--year", str(YEAR), "--profile", "沈阳市", "--org", COUNTY, "-o", str(out)]) == 0
    text = pdftext(out)
    assert "示范县2024年度城乡社区服务体系主要指标达标报告" in text and "指标方案" in text
    i4 = next(line for line in text.splitlines() if line.strip().startswith("I4"))
    assert "48.8" in i4 and "≥40" in i4.replace(" ", "") and "已达标" in i4
    i1 = next(line for line in text.splitlines() if line.strip().startswith("I1 "))
    assert "差" in i1 and "未达标" in i1
    assert "指标完成度" in text and "村(社区)达标检查" in text and "数据质量检查" in text
    assert re.search(r"差\s+70\s+m²", text)  # a standards gap
    assert "220112********" in text  # data-quality findings keep ID numbers masked
    assert re.search(rf"第1页\s*共{pdfpages(out)}页", text)
    url = f"sqlite:///{taizhang_home / 'taizhang.sqlite3'}"
    server_out = tmp_path / "镇.pdf"
    assert server_main(["--db", url, "report", "--year", str(YEAR), "--profile", "吉林省", "--org", "220112003000",
                        "-o", str(server_out)]) == 0
    assert "R7村" in pdftext(server_out)
    assert main(["report", "--org", COUNTY, "-o", str(tmp_path / "x.doc")]) == 1
    assert "应以 .xlsx（Excel）或 .pdf（PDF）结尾" in capsys.readouterr().err


def test_excel_export_prints_well_and_still_reimports(ledger, village, tmp_path):
    from openpyxl import load_workbook

    from exchange.export import export_workbook
    from exchange.importer import import_workbook

    path, n = export_workbook(ledger, tmp_path / "导出.xlsx", org_code=village, full=True, purpose="往返测试")
    wb = load_workbook(path)
    assert "服务记录（2023年）" in wb.sheetnames and "服务记录（2024年）" in wb.sheetnames  # one sheet per year
    assert "服务记录" not in wb.sheetnames
    ws = wb["服务记录（2023年）"]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$3:$3"  # the header row on every printed page
    assert "制表人" in ws.oddFooter.left.text and "审核人" in ws.oddFooter.left.text
    assert ws.oddFooter.center.text == "第 &P 页 共 &N 页" and "单位（盖章）" in ws.oddFooter.right.text
    assert ws["A3"].value == "序号" and [ws.cell(row=r, column=1).value for r in range(4, 11)] == list(range(1, 8))
    assert ws.max_row == 3 + 7 and wb["服务记录（2024年）"].max_row == 3 + 290
    assert "年度" not in wb["社区工作者"].title and wb["社区工作者"]["A4"].value == 1
    # the same workbook back into the same ledger: every record recognised, 序号 and year sheets understood
    again = import_workbook(ledger, path, scope=village)
    assert again.status == "imported", again.text()
    assert again.total("unchanged") == n and not again.errors
    assert not [w for w in again.warnings if "序号" in w.message]


def test_year_sheets_are_read_but_a_second_plain_sheet_is_still_refused(ledger, village, tmp_path):
    from openpyxl import load_workbook

    from exchange.export import export_workbook
    from exchange.importer import import_workbook

    path, _ = export_workbook(ledger, tmp_path / "导出.xlsx", org_code=village, full=True, purpose="往返测试")
    wb = load_workbook(path)
    wb.copy_worksheet(wb["服务记录（2023年）"]).title = "服务记录"
    wb.save(tmp_path / "双份.xlsx")
    result = import_workbook(ledger, tmp_path / "双份.xlsx", scope=village)
    assert result.status != "imported" and "请合并为一张表后再导入" in result.text()
