"""Render the app icon (taizhang.svg) to the PNG sizes the Linux menu uses (also copied to
desktop/resources/ for the window icon) and a Windows .ico.

Run with the project's venv:  QT_QPA_PLATFORM=offscreen .venv/bin/python installers/icons/make_icons.py
The outputs are committed, so a normal build does not need to run this.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(QSize(size, size), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv)  # noqa: F841 - needed for rendering
    renderer = QSvgRenderer(str(HERE / "taizhang.svg"))
    if not renderer.isValid():
        print("taizhang.svg is not a valid SVG", file=sys.stderr)
        return 1
    resources = HERE.parents[1] / "desktop" / "resources"  # the running app's window icon
    resources.mkdir(exist_ok=True)
    for size in SIZES:
        for out in (HERE / f"taizhang-{size}.png", resources / f"taizhang-{size}.png"):
            if not render(renderer, size).save(str(out)):
                print(f"cannot write {out}", file=sys.stderr)
                return 1
    # Qt's ICO writer stores one image; Windows scales it.  256 px keeps it sharp on high-DPI screens.
    if not render(renderer, 256).save(str(HERE / "taizhang.ico"), "ICO"):
        print("cannot write taizhang.ico (Qt imageformats plugin qico missing?)", file=sys.stderr)
        return 1
    print("icons written to", HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
