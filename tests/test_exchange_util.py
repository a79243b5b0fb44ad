"""Shared builders for the Excel tests: workbooks as villages really make them (openpyxl, LibreOffice)."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from storage.models import ChangeLog
from storage.validation import id_check_char

VILLAGE = "220102001001"
COUNTY = "220102000000"
OTHER_COUNTY_VILLAGE = "220103001001"


def valid_id(seq: int = 1, born: str = "19800101", area: str = "220102") -> str:
    first17 = f"{area}{born}{seq:03d}"
    return first17 + id_check_char(first17)


STAFF_HEADER = ["姓名*", "性别", "公民身份号码*", "手机号", "职务*", "在岗状态*", "到岗日期"]
FACILITY_HEADER = ["名称*", "类别*", "状态*", "建筑面积(m²)", "居民活动区域面积(m²)"]


def staff_row(i: int = 1, **over) -> list:
    row = {"姓名*": f"张{'一二三四五六七八九'[i % 9]}", "性别": "男", "公民身份号码*": valid_id(i),
           "手机号": f"1380013{i:04d}", "职务*": "网格员", "在岗状态*": "在岗", "到岗日期": "2020-03-01"}
    row.update(over)
    return [row[h] for h in STAFF_HEADER]


def make_workbook(path: Path, sheets: dict[str, list[list]], *, title: str | None = "幸福村台账",
                  unit_line: str | None = f"填报单位：测试村  区划代码：{VILLAGE}", merge_title: bool = True) -> Path:
    """Sheets as a clerk makes them: merged title, a unit line with the code, header, rows."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        top = 0
        if title:
            ws.append([title])
            top += 1
            if merge_title:
                ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(3, len(rows[0]) if rows else 3))
        if unit_line:
            ws.append([unit_line])
        for row in rows:
            ws.append(row)
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.isdigit() and len(c.value) > 9:
                    c.number_format = "@"
    wb.save(path)
    return path


def patch_sheet_xml(path: Path, out: Path, sheet_index: int, replace) -> Path:
    """Rewrite one sheet's XML (to build quirks openpyxl will not write, e.g. a WPS dimension)."""
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == f"xl/worksheets/sheet{sheet_index}.xml":
                data = replace(data)
            zout.writestr(item, data)
    return out


def soffice_convert(src: Path, out_dir: Path, tmp_path: Path, fmt: str = "xlsx", infilter: str | None = None) -> Path:
    """Convert with real LibreOffice (private profile so parallel runs don't clash)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is not installed; scripts/system-deps.sh installs libreoffice-calc-nogui")
    profile = tmp_path / "lo-profile"
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(tmp_path))
    extra = [f"--infilter={infilter}"] if infilter else []
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", *extra,
                    "--convert-to", fmt, "--outdir", str(out_dir), str(src)],
                   check=True, capture_output=True, timeout=180, env=env)
    result = out_dir / (src.stem + "." + fmt.split(":")[0])
    assert result.exists(), f"LibreOffice did not write {result}"
    return result


def change_count(repo) -> int:
    from sqlalchemy import func, select

    with repo.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ChangeLog.__table__)).scalar_one()


def record_counts(repo) -> dict[str, int]:
    from storage.schema import workbook_types

    return {t: repo.count(t) for t in workbook_types()}


def fill_template(template: Path, out: Path, rows: dict[str, list[dict]]) -> Path:
    """Type rows into our own template (by header label), as a village clerk does in Excel."""
    wb = load_workbook(template)
    for sheet, records in rows.items():
        ws = wb[sheet]
        headers = {str(c.value).rstrip("*").split("(")[0]: c.column for c in ws[3] if c.value}
        for i, rec in enumerate(records):
            for label, value in rec.items():
                ws.cell(row=4 + i, column=headers[label], value=value)
    wb.save(out)
    return out


def test_valid_id_has_correct_check_character():
    from storage.validation import check_id_number

    assert check_id_number(valid_id(7)) == []


def test_make_workbook_puts_header_below_title_and_unit_line(tmp_path):
    path = make_workbook(tmp_path / "a.xlsx", {"社区工作者": [STAFF_HEADER, staff_row()]})
    ws = load_workbook(path)["社区工作者"]
    assert ws["A1"].value == "幸福村台账" and "A1:G1" in ws.merged_cells
    assert ws["A3"].value == "姓名*" and ws["C4"].number_format == "@"


def test_read_ahead_loads_sheets_on_a_side_thread_and_hands_each_error_to_its_sheet(tmp_path):
    from exchange.reader import RawWorkbook, WorkbookError

    path = tmp_path / "three.xlsx"
    wb = Workbook()
    first = wb.active
    first.title = "甲"
    first.append(["日期", "人次"])
    first.append(["2024-03-05", 3])
    wb.create_sheet("乙")["XFD1048576"] = "远处的单元格"
    wb.create_sheet("丙").append(["在", "这里"])
    wb.save(path)

    raw = RawWorkbook(path)
    infos = list(raw.sheets)
    raw.read_ahead(infos)
    assert raw._ahead_thread is not None and raw._ahead_thread.name == "读取工作表"
    assert list(raw.rows(infos[0]).iter_rows()) == [["日期", "人次"], ["2024-03-05", 3.0]]
    with pytest.raises(WorkbookError, match="第1048576行"):
        raw.rows(infos[1])  # the side thread's refusal, raised where the sheet is asked for
    assert list(raw.rows(infos[2]).iter_rows()) == [["在", "这里"]]
    assert raw.scan(infos[2]).max_row == 1
    raw.close()
    assert not raw._ahead_thread.is_alive()

    closing_early = RawWorkbook(path)  # cancelled import: closing while sheets are still queued
    closing_early.read_ahead(list(closing_early.sheets))
    closing_early.close()
    assert not closing_early._ahead_thread.is_alive()
