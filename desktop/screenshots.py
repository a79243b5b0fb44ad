#!/usr/bin/env python3
"""Render screenshots of every main view of the desktop app with the demo village.

    .venv/bin/python -m desktop.screenshots                 # → docs/screenshots/desktop-*.png
    .venv/bin/python -m desktop.screenshots --out /tmp/shots --records 5000

Runs offscreen (no display needed) in a throw-away data directory, so it never touches real data.
Chinese renders with the CJK font the app picks (fonts-wqy-microhei on Linux, see system-deps.sh);
the script fails if no CJK font is installed rather than producing screenshots full of boxes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="桌面程序各主要页面的截图（演示村数据）")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--records", type=int, default=2000, help="演示服务记录条数")
    parser.add_argument("--width", type=int, default=1180)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args(argv)

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="taizhang-shots-"))
    os.environ["TAIZHANG_HOME"] = str(home)
    sys.path.insert(0, str(ROOT))

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from desktop.ui.app import AppController, ensure_qapplication, open_context
    from desktop.ui.jobs import runner
    from desktop.ui.theme import pick_cjk_family
    from storage.demo import fill_demo

    app = ensure_qapplication()
    if pick_cjk_family() is None:
        print("没有找到中文字体，截图中的中文会显示成方框。请先安装 fonts-wqy-microhei。", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def settle() -> None:
        # a few rounds over ~0.2 s: tables re-fit their columns on a short timer after a resize
        for _ in range(10):
            app.processEvents()
            time.sleep(0.02)

    def save(widget, name: str) -> None:
        settle()
        path = args.out / f"desktop-{name}.png"
        image = widget.grab().toImage()
        # 256 colours are plenty for a UI and make the PNGs several times smaller for the repository
        image = image.convertToFormat(QImage.Format.Format_Indexed8,
                                      Qt.ImageConversionFlag.ThresholdDither | Qt.ImageConversionFlag.AvoidDither)
        image.save(str(path), "PNG", 9)
        written.append(path)

    # 1. first-run dialog on an empty database
    ctx = open_context(home / "first.sqlite3")
    first = AppController(ctx).start()
    save(first, "first-run")
    first.done(0)
    ctx.repo.engine.dispose()

    # 2. the demo village
    ctx = open_context(home / "taizhang.sqlite3")
    fill_demo(ctx.repo, records=args.records)
    ctx.reload_identity()
    controller = AppController(ctx)
    window = controller.start()
    window.showNormal()  # it opens maximised on small screens; the shots have a fixed size
    window.resize(args.width, args.height)
    settle()
    for spec in window.specs:
        window.show_page(spec.key)
        runner().wait_idle(60)
        lst = window.current_list()
        if lst is not None and lst.model.rowCount():
            lst.select_row(0)
        save(window, spec.key)
    # tabs inside 人员 and 志愿者
    for key, tab in (("staff", 1), ("volunteer", 1), ("volunteer", 2)):
        page = window.show_page(key)
        page.tabs.setCurrentIndex(tab)
        runner().wait_idle(60)
        save(window, f"{key}-{page.current_list().rt.name}")
        page.tabs.setCurrentIndex(0)
    # a search, the record form, 最近删除, large font
    window.show_page("staff")
    staff = window.current_list()
    staff.search.setText(ctx.repo.list("staff")[0]["phone"][-4:])
    staff.apply_filter()
    staff.select_row(0)
    save(window, "staff-search")
    staff.search.clear()
    staff.apply_filter()
    staff.select_row(0)
    form = staff.edit_record()
    if form is not None:
        form.resize(760, 700)
        save(form, "form-staff")
        form.done(0)
    window.show_page("service")
    window.action_new.trigger()
    service = window.current_list()
    if service.open_forms:
        form = service.open_forms[-1]
        save(form, "form-service-new")
        form.done(0)
    window.action_large.trigger()
    window.show_page("service")
    save(window, "large-font")
    # an old office PC: 1024×768 (minus the taskbar), large font, the window as it opens (maximised)
    window.showNormal()
    window.resize(1008, 688)
    runner().wait_idle(60)
    save(window, "large-font-1024x768")
    window.show_page("periods")
    runner().wait_idle(60)
    save(window, "periods-1024x768-large")
    window.show_page("indicators")
    runner().wait_idle(120)
    save(window, "indicators-1024x768-large")
    window.resize(args.width, args.height)
    window.action_large.trigger()

    runner().wait_idle(30)
    window.close()
    ctx.repo.engine.dispose()
    QApplication.processEvents()
    for path in written:
        print(f"{path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
