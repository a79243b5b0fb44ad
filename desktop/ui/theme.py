"""Fonts, contrast, focus and large-font mode for the whole app.

* ``pick_cjk_family()`` finds an installed font that renders Simplified Chinese (Noto Sans CJK,
  Source Han, WenQuanYi, Microsoft YaHei, …) and logs a warning if there is none (Chinese would
  show as boxes: on Linux install ``fonts-wqy-microhei``, see scripts/system-deps.sh).
* ``apply_theme(app, large)`` sets the application font (body 15 px, large mode 20 px — above the
  18 px the issue asks for), a high-contrast palette (text #1a1a1a on white, ≥ 12:1; selection white
  on #0b4f9c, ≥ 8:1) and a style sheet whose only job is a clearly visible 2 px focus frame.  Every
  widget that does not set its own font follows the application font, so the whole UI scales.
"""

from __future__ import annotations

import logging

import shiboken6
from PySide6.QtCore import QPointF, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette, QPolygonF
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOptionHeader

log = logging.getLogger("taizhang.desktop.theme")

NORMAL_PX = 15
LARGE_PX = 20

PREFERRED_CJK = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                 "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Microsoft YaHei", "Microsoft YaHei UI",
                 "PingFang SC", "SimHei", "SimSun", "Droid Sans Fallback", "AR PL UMing CN")

FOCUS = "#d46b08"  # orange focus frame: visible next to the blue selection
SELECTION = "#0b4f9c"

_cjk_family: str | None = None
_cjk_checked = False


def pick_cjk_family() -> str | None:
    global _cjk_family, _cjk_checked
    if _cjk_checked:
        return _cjk_family
    _cjk_checked = True
    families = QFontDatabase.families()
    available = set(families)
    for name in PREFERRED_CJK:
        if name in available:
            _cjk_family = name
            break
    else:
        for name in families:
            if QFontDatabase.WritingSystem.SimplifiedChinese in QFontDatabase.writingSystems(name):
                _cjk_family = name
                break
    if _cjk_family is None:
        log.warning("no font for Simplified Chinese is installed: Chinese text will show as boxes. "
                    "Install fonts-wqy-microhei or fonts-noto-cjk.")
    else:
        log.info("CJK font: %s", _cjk_family)
    return _cjk_family


def body_px(large: bool) -> int:
    return LARGE_PX if large else NORMAL_PX


def app_font(large: bool) -> QFont:
    font = QFont()
    family = pick_cjk_family()
    if family:
        font.setFamilies([family, *[f for f in QFont().families() if f != family]])
    font.setPixelSize(body_px(large))
    return font


def palette() -> QPalette:
    pal = QPalette()
    text, base, window = QColor("#1a1a1a"), QColor("#ffffff"), QColor("#f3f4f6")
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        pal.setColor(group, QPalette.ColorRole.Window, window)
        pal.setColor(group, QPalette.ColorRole.WindowText, text)
        pal.setColor(group, QPalette.ColorRole.Base, base)
        pal.setColor(group, QPalette.ColorRole.AlternateBase, QColor("#eef2f7"))
        pal.setColor(group, QPalette.ColorRole.Text, text)
        pal.setColor(group, QPalette.ColorRole.Button, QColor("#e8eaed"))
        pal.setColor(group, QPalette.ColorRole.ButtonText, text)
        pal.setColor(group, QPalette.ColorRole.Highlight, QColor(SELECTION))
        pal.setColor(group, QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
        pal.setColor(group, QPalette.ColorRole.ToolTipBase, QColor("#fffbe6"))
        pal.setColor(group, QPalette.ColorRole.ToolTipText, text)
        pal.setColor(group, QPalette.ColorRole.PlaceholderText, QColor("#595959"))
        pal.setColor(group, QPalette.ColorRole.Link, QColor(SELECTION))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b6b6b"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b6b6b"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#6b6b6b"))
    return pal


def style_sheet(large: bool) -> str:
    px = body_px(large)
    return f"""
QLineEdit:focus, QComboBox:focus, QDateEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus,
QPlainTextEdit:focus, QTextEdit:focus, QCheckBox:focus, QRadioButton:focus {{
    border: 2px solid {FOCUS}; border-radius: 3px;
}}
QPushButton {{ padding: 4px 12px; }}
QPushButton:focus, QToolButton:focus {{ border: 2px solid {FOCUS}; border-radius: 3px; }}
QTableView:focus, QListView:focus, QListWidget:focus, QTreeView:focus {{ border: 2px solid {FOCUS}; }}
QListWidget#navigation {{ background: #1f2d3d; color: #ffffff; font-size: {px + 1}px; border: none; }}
QListWidget#navigation::item {{ padding: 9px 14px; }}
QListWidget#navigation::item:selected {{ background: #ffffff; color: #0b2d5b; font-weight: bold; }}
QListWidget#navigation:focus {{ border: 2px solid {FOCUS}; }}
QLabel#pageTitle {{ font-size: {px + 6}px; font-weight: bold; }}
QLabel#demoBanner {{ background: #ad4e00; color: #ffffff; padding: 4px 10px; font-weight: bold; }}
QLabel#fieldError {{ color: #b01b1b; }}
QPushButton[destructive="true"] {{ color: #ffffff; background: #b01b1b; border: 1px solid #7a1010;
    border-radius: 3px; }}
QPushButton[destructive="true"]:focus {{ border: 2px solid {FOCUS}; }}
QCheckBox::indicator, QRadioButton::indicator {{ width: {px - 2}px; height: {px - 2}px; }}
"""


def mark_destructive(button, safe=None) -> None:
    """删除/放弃 look like what they do (red, style sheet above) and 不删除 stays a plain button; the
    style's Yes/No icons (a green tick on 删除, a red cross on 不删除) are removed: they said the opposite."""
    from PySide6.QtGui import QIcon

    for b in (button, safe):
        if b is not None:
            b.setIcon(QIcon())
    button.setProperty("destructive", True)
    button.style().unpolish(button)
    button.style().polish(button)


class SortArrowStyle(QProxyStyle):
    """Fusion with a header sort arrow that reads like the 排序 box and scales with the font.

    Fusion draws a fixed 7 px arrow, ▲ for a descending sort (Qt hands styles SortUp for descending),
    so "日期 ▲" stood beside "日期 降序", and in large-font mode the arrow was a speck crowding the
    text.  Here descending shows ▼, ascending ▲, sized from the header's font, in room of its own
    that the section's size hint includes (so a fitted column never cuts its header's text)."""

    def _arrow_size(self, option) -> int:
        return max(7, option.fontMetrics.height() // 2) if option is not None else 7

    def sizeFromContents(self, ct, option, size, widget=None):  # noqa: N802 - Qt's naming
        size = super().sizeFromContents(ct, option, size, widget)
        if ct == QStyle.ContentsType.CT_HeaderSection and isinstance(option, QStyleOptionHeader) \
                and option.sortIndicator != QStyleOptionHeader.SortIndicator.None_:
            size = QSize(size.width() + self._arrow_size(option), size.height())
        return size

    def subElementRect(self, element, option, widget=None):  # noqa: N802 - Qt's naming
        if element == QStyle.SubElement.SE_HeaderArrow and option is not None:
            side = self._arrow_size(option)
            r = option.rect
            margin = self.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, option, widget)
            return QRect(r.right() - margin - side, r.center().y() - side // 2, side, side)
        if element == QStyle.SubElement.SE_HeaderLabel and isinstance(option, QStyleOptionHeader) \
                and option.sortIndicator != QStyleOptionHeader.SortIndicator.None_:
            r = super().subElementRect(element, option, widget)
            arrow = self.subElementRect(QStyle.SubElement.SE_HeaderArrow, option, widget)
            return QRect(r.left(), r.top(), max(0, min(r.right(), arrow.left() - 2) - r.left()), r.height())
        return super().subElementRect(element, option, widget)

    def drawPrimitive(self, element, option, painter, widget=None):  # noqa: N802 - Qt's naming
        if element != QStyle.PrimitiveElement.PE_IndicatorHeaderArrow or not isinstance(option, QStyleOptionHeader):
            return super().drawPrimitive(element, option, painter, widget)
        if option.sortIndicator == QStyleOptionHeader.SortIndicator.None_:
            return None
        down = option.sortIndicator == QStyleOptionHeader.SortIndicator.SortUp  # Qt's SortUp = descending
        r = option.rect
        side = min(r.width(), r.height())
        x, y = r.center().x() - side / 2, r.center().y() - side / 2
        if down:
            points = [QPointF(x, y + side * 0.2), QPointF(x + side, y + side * 0.2), QPointF(x + side / 2, y + side * 0.8)]
        else:
            points = [QPointF(x, y + side * 0.8), QPointF(x + side, y + side * 0.8), QPointF(x + side / 2, y + side * 0.2)]
        painter.save()
        painter.setRenderHint(painter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(option.palette.windowText())
        painter.drawPolygon(QPolygonF(points))
        painter.restore()
        return None


def apply_theme(app: QApplication, large: bool) -> None:
    # one style for the application's life: the font size needs no new style (the arrow follows the
    # header's font), and replacing it would make Qt delete a Python-made style widgets still hold
    # (Qt deletes it when something else replaces it: then a new one is made)
    style = getattr(app, "sort_arrow_style", None)
    if style is None or not shiboken6.isValid(style):
        app.sort_arrow_style = SortArrowStyle("Fusion")
        app.setStyle(app.sort_arrow_style)
    app.setPalette(palette())
    app.setFont(app_font(large))
    app.setStyleSheet(style_sheet(large))


__all__ = ["apply_theme", "SortArrowStyle", "pick_cjk_family", "app_font", "body_px", "NORMAL_PX", "LARGE_PX", "mark_destructive"]
