"""The page registry behind the main window's left navigation.

Each :class:`PageSpec` names a Chinese title and a factory by module path:
``<module>.<factory>(ctx: AppContext) -> QWidget | None``.  Pages are imported and created lazily,
the first time the user opens them (a cold start imports none of them).  ``optional`` entries
(township review, board) are built at start instead: their factory returns ``None`` on a PC where
they do not belong, and the entry is then not shown.  :data:`SETTINGS_SECTIONS` are boxes the
设置 page embeds, by the same rules.

A page that fails while it is built shows an error page saying so in Chinese (the traceback goes
to the log); the rest of the app keeps working.

Pages receive the :class:`desktop.ui.context.AppContext`; they react to its signals
(``records_changed``, ``sync_state_changed`` …) and run long work with ``desktop.ui.jobs``.
Navigation shortcuts: Ctrl+1 … Ctrl+9 in registry order (shown in the nav tooltips).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from desktop.ui.context import AppContext

log = logging.getLogger("taizhang.desktop.pages")


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    module: str
    factory: str = "create_page"
    optional: bool = False  # built at start; hidden where its factory returns None


PAGES: tuple[PageSpec, ...] = (
    PageSpec("facility", "设施", "desktop.ui.record_pages", "facility_page"),
    PageSpec("staff", "人员", "desktop.ui.record_pages", "staff_page"),
    PageSpec("volunteer", "志愿者", "desktop.ui.record_pages", "volunteer_page"),
    PageSpec("service", "服务记录", "desktop.ui.record_pages", "service_page"),
    PageSpec("social_org", "社会组织", "desktop.ui.record_pages", "social_org_page"),
    PageSpec("elderly", "困难老人", "desktop.ui.record_pages", "elderly_page"),
    PageSpec("periods", "月报与同步", "desktop.ui.periods_page"),
    PageSpec("indicators", "指标", "desktop.ui.indicators_page"),
    PageSpec("exchange", "导入导出", "desktop.ui.exchange_page"),
    PageSpec("review", "审核", "desktop.ui.review_page", optional=True),
    PageSpec("board", "汇总看板", "desktop.ui.board_page", optional=True),
    PageSpec("accounts", "账号管理", "desktop.ui.accounts_page", optional=True),
    PageSpec("settings", "设置", "desktop.ui.settings_page"),
)

# Boxes embedded in the 设置 page, same rules as pages (factory(ctx) -> QWidget | None).
SETTINGS_SECTIONS: tuple[PageSpec, ...] = (
    PageSpec("backup", "备份与恢复", "desktop.ui.backup_widget", "create_widget"),
    PageSpec("privacy", "个人信息保护", "desktop.ui.privacy_widget", "create_widget"),
)


def resolve_factory(spec: PageSpec) -> Callable[["AppContext"], QWidget | None]:
    return getattr(importlib.import_module(spec.module), spec.factory)


def create_page(spec: PageSpec, ctx: "AppContext") -> QWidget | None:
    try:
        return resolve_factory(spec)(ctx)
    except Exception as exc:  # noqa: BLE001
        log.exception("page %s failed to build", spec.key)
        return error_page(spec, exc)


def error_page(spec: PageSpec, exc: BaseException) -> QWidget:
    """What the navigation shows for a page that failed to build: which page, what to do."""
    from desktop.logging_setup import log_file_path

    page = QWidget()
    page.setObjectName(f"error_{spec.key}")
    layout = QVBoxLayout(page)
    heading = QLabel(spec.title)
    heading.setObjectName("pageTitle")
    layout.addWidget(heading)
    body = QLabel(f"“{spec.title}”页面无法打开（{type(exc).__name__}）。其他功能不受影响。"
                  f"请把日志文件 {log_file_path()} 发给县民政局信息管理员。")
    body.setWordWrap(True)
    body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    layout.addWidget(body)
    layout.addStretch(1)
    return page


__all__ = ["PageSpec", "PAGES", "SETTINGS_SECTIONS", "resolve_factory", "create_page", "error_page"]
