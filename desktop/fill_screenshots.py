#!/usr/bin/env python3
"""Screenshots for docs/reports.md (一表通): a department workbook, its mapping sheet, the filled
report (rendered by LibreOffice, as a clerk sees them in a spreadsheet), and the app's 报表 box and
month checklist (Qt offscreen), over the fixture county of the tests.

    .venv/bin/python -m desktop.fill_screenshots                 # → docs/screenshots/fill-*.png

Runs in a throw-away data directory; needs LibreOffice (soffice) and poppler (pdftoppm).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _render(xlsx: Path, png: Path, work: Path) -> None:
    """First page of a workbook as LibreOffice prints it, trimmed to the printed content."""
    from PySide6.QtGui import QImage

    subprocess.run(["soffice", f"-env:UserInstallation=file://{work / 'lo-profile'}", "--headless", "--convert-to",
                    "pdf", "--outdir", str(work), str(xlsx)], check=True, capture_output=True, timeout=180)
    stem = work / xlsx.stem
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(stem) + ".pdf",
                    str(stem)], check=True, timeout=60)
    image = QImage(str(stem) + ".png")
    white = image.pixel(0, 0)
    rows = [y for y in range(image.height()) if any(image.pixel(x, y) != white for x in range(0, image.width(), 2))]
    cols = [x for x in range(image.width()) if any(image.pixel(x, y) != white for y in range(rows[0], rows[-1], 2))]
    m = 12
    image.copy(max(cols[0] - m, 0), max(rows[0] - m, 0), cols[-1] - cols[0] + 2 * m,
               rows[-1] - rows[0] + 2 * m).save(str(png))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="一表通文档截图")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="taizhang-fill-shots-"))
    os.environ["TAIZHANG_HOME"] = str(work / "home")
    sys.path.insert(0, str(ROOT))

    from openpyxl import load_workbook

    from desktop.ui.app import ensure_qapplication
    from desktop.ui.jobs import runner
    from reports.fill.fill import fill_template
    from reports.fill.library import BUILTIN_DIR
    from reports.fill.template import MAPPING_SHEET, load_template, landscape_fit_width
    from storage import local
    from storage.db import open_database
    from storage.repository import Repository
    from tests.fixtures.county import T2, build_county

    from desktop.ui.theme import apply_theme

    app = ensure_qapplication()
    apply_theme(app, large=False)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "城乡社区服务设施情况统计表"
    department = load_workbook(BUILTIN_DIR / f"{name}.xlsx")
    mapping = department[MAPPING_SHEET]
    del department[MAPPING_SHEET]
    department.save(work / "department.xlsx")
    _render(work / "department.xlsx", args.out / "fill-department.png", work)

    only_mapping = load_workbook(BUILTIN_DIR / f"{name}.xlsx")
    for ws in only_mapping.worksheets:
        if ws.title != MAPPING_SHEET:
            ws.sheet_state = "hidden"
    only_mapping[MAPPING_SHEET].sheet_state = "visible"
    only_mapping.active = only_mapping.sheetnames.index(MAPPING_SHEET)
    landscape_fit_width(only_mapping[MAPPING_SHEET])
    only_mapping[MAPPING_SHEET].print_area = f"A1:F{min(mapping.max_row, 16)}"
    only_mapping.save(work / "mapping.xlsx")
    _render(work / "mapping.xlsx", args.out / "fill-mapping.png", work)

    engine = open_database(work / "county.sqlite3")
    repo = Repository(engine, actor="截图")
    build_county(repo)
    local.set_identity(repo, T2, "河东镇")
    fill_template(engine, load_template(BUILTIN_DIR / f"{name}.xlsx"), T2, "2024-Q4",
                  filler="李娟").save(work / "filled.xlsx")
    _render(work / "filled.xlsx", args.out / "fill-filled.png", work)

    from desktop.ui.context import AppContext
    from desktop.ui.fill_box import FillBox

    box = FillBox(AppContext(repo))
    box.resize(1000, 520)
    box.show()
    box.load()
    runner().wait_idle(30)
    app.processEvents()
    box.templates.setCurrentIndex(next(i for i, e in enumerate(box.entries) if e.name == name))
    box.period.setText("2024-Q4")
    box.fill_to(work / "box.xlsx")
    runner().wait_idle(60)
    app.processEvents()
    box.cells.selectRow(24)
    box.grab().save(str(args.out / "fill-app.png"))
    box.drill(24)
    runner().wait_idle(30)
    for _ in range(5):
        app.processEvents()
    box.dialog.resize(900, 300)
    box.dialog.grab().save(str(args.out / "fill-drill.png"))
    # the month's checklist of a village: carried-forward registers to confirm
    from desktop.ui.periods_page import create_page
    from storage import periods as P
    from tests.fixtures.county import CODES

    local.set_identity(repo, CODES["R1"], "R1村")
    month = P.previous_period()
    P.confirm_unchanged(repo, CODES["R1"], month, ["staff", "volunteer_team"])
    page = create_page(AppContext(repo))
    page.resize(900, 640)
    page.show()
    for _ in range(5):
        app.processEvents()
    page.checklist.parentWidget().grab().save(str(args.out / "fill-confirm.png"))
    for p in sorted(args.out.glob("fill-*.png")):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
