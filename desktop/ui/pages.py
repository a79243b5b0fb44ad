"""The page registry behind the main window's left navigation.

Each :class:`PageSpec` names a Chinese title and a factory by MODULE PATH:
``<module>.<factory>(ctx: AppContext) -> QWidget | None``.  Pages are created lazily, the first
time the user opens them.  Contract for the helpers who own a page module:

* ``desktop/ui/periods_page.py``    ``create_page(ctx)`` — 月报与同步 (month-end periods, sync)
* ``desktop/ui/indicators_page.py`` ``create_page(ctx)`` — 指标 (the plans' indicators, 达标 checks)
* ``desktop/ui/exchange_page.py``   ``create_page(ctx)`` — 导入导出 (Excel in/out)
* ``desktop/ui/review_page.py``     ``create_page(ctx)`` — 审核 (township review; optional entry)
* ``desktop/ui/board_page.py``      ``create_page(ctx)`` — 汇总看板 (optional entry)
* ``desktop/ui/backup_widget.py``   ``create_widget(ctx)`` — backup/restore box inside 设置
  (see :data:`SETTINGS_SECTIONS`; embedded by ``desktop/ui/settings_page.py``)

Until such a file exists the navigation shows a plain Chinese page saying what will be there; the
moment the file lands it is used (import by name; the fallback happens ONLY on
``ModuleNotFoundError`` for exactly that module — any other import error is logged and shown as an
error page, never hidden).  ``optional`` entries are not shown at all until their module exists.
A factory may return ``None`` to say "not on this PC" (e.g. a township-only page on a village PC);
the entry is then hidden.

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
    placeholder: str = ""  # Chinese: what this page will offer (shown until the module exists)
    optional: bool = False  # hidden until the module exists


PAGES: tuple[PageSpec, ...] = (
    PageSpec("facility", "设施", "desktop.ui.record_pages", "facility_page"),
    PageSpec("staff", "人员", "desktop.ui.record_pages", "staff_page"),
    PageSpec("volunteer", "志愿者", "desktop.ui.record_pages", "volunteer_page"),
    PageSpec("service", "服务记录", "desktop.ui.record_pages", "service_page"),
    PageSpec("social_org", "社会组织", "desktop.ui.record_pages", "social_org_page"),
    PageSpec("periods", "月报与同步", "desktop.ui.periods_page", placeholder=(
        "这里将提供：每月月报的提交、乡镇审核与退回的状态，以及与县服务器同步（上传本机变更、"
        "下载上级数据），离线时可导出同步文件带到乡镇。")),
    PageSpec("indicators", "指标", "desktop.ui.indicators_page", placeholder=(
        "这里将提供：按规划“专栏1”计算的主要指标和达标检查，按村(社区)、乡镇、县汇总，"
        "可导出表格。")),
    PageSpec("exchange", "导入导出", "desktop.ui.exchange_page", placeholder=(
        "这里将提供：从县里下发或本村填写的Excel表格导入台账（整表全部成功或全部不导入，"
        "逐行说明错误），以及把台账导出为Excel。")),
    PageSpec("review", "审核", "desktop.ui.review_page", optional=True),
    PageSpec("board", "汇总看板", "desktop.ui.board_page", optional=True),
    PageSpec("settings", "设置", "desktop.ui.settings_page"),
)

# Boxes embedded in the 设置 page, same rules as pages (factory(ctx) -> QWidget | None).
SETTINGS_SECTIONS: tuple[PageSpec, ...] = (
    PageSpec("backup", "备份与恢复", "desktop.ui.backup_widget", "create_widget", placeholder=(
        "这里将提供：一键备份本机台账数据库到U盘或其他文件夹，以及从备份恢复（恢复前会先自动备份当前数据）。")),
    PageSpec("privacy", "个人信息保护", "desktop.ui.privacy_widget", "create_widget"),
)


def module_available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return False
        raise
    return True


def visible_pages() -> list[PageSpec]:
    """Registry entries to show: optional ones only once their module exists."""
    out = []
    for spec in PAGES:
        if spec.optional:
            try:
                if not module_available(spec.module):
                    continue
            except Exception:  # noqa: BLE001 - a broken optional module shows as an error page
                log.exception("optional page module %s failed to import", spec.module)
        out.append(spec)
    return out


def resolve_factory(spec: PageSpec) -> Callable[["AppContext"], QWidget | None]:
    """The page factory, a placeholder factory if the module is not there, or an error page factory."""
    try:
        module = importlib.import_module(spec.module)
        return getattr(module, spec.factory)
    except ModuleNotFoundError as exc:
        if exc.name != spec.module:
            log.exception("page module %s could not import %s", spec.module, exc.name)
            return lambda ctx, exc=exc: error_page(spec, exc)  # bound now: `exc` is unset after except
        return lambda ctx: placeholder_page(spec)
    except Exception as exc:  # noqa: BLE001 - a broken page must not take the app down
        log.exception("page module %s failed to load", spec.module)
        return lambda ctx, exc=exc: error_page(spec, exc)


def create_page(spec: PageSpec, ctx: "AppContext") -> QWidget | None:
    factory = resolve_factory(spec)
    try:
        return factory(ctx)
    except Exception as exc:  # noqa: BLE001
        log.exception("page %s failed to build", spec.key)
        return error_page(spec, exc)


def _message_page(title: str, text: str, object_name: str) -> QWidget:
    page = QWidget()
    page.setObjectName(object_name)
    layout = QVBoxLayout(page)
    if title:
        heading = QLabel(title)
        heading.setObjectName("pageTitle")
        layout.addWidget(heading)
    body = QLabel(text)
    body.setWordWrap(True)
    body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    layout.addWidget(body)
    layout.addStretch(1)
    return page


def placeholder_page(spec: PageSpec) -> QWidget:
    text = spec.placeholder or "此功能尚未包含在本版本中。"
    heading = "" if spec in SETTINGS_SECTIONS else spec.title  # a settings box already has its title
    return _message_page(heading, text + "\n\n（本版本尚未包含此功能，升级后自动出现在这里。）",
                         f"placeholder_{spec.key}")


def error_page(spec: PageSpec, exc: BaseException) -> QWidget:
    from desktop.logging_setup import log_file_path

    return _message_page(spec.title, f"“{spec.title}”页面无法打开（{type(exc).__name__}）。其他功能不受影响。"
                                     f"请把日志文件 {log_file_path()} 发给县民政局信息管理员。",
                         f"error_{spec.key}")


__all__ = ["PageSpec", "PAGES", "SETTINGS_SECTIONS", "visible_pages", "resolve_factory", "create_page",
           "placeholder_page", "error_page", "module_available"]
