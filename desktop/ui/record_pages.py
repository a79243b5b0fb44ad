"""Page factories for the record lists in the navigation (registered in desktop/ui/pages.py).

人员 holds the staff list and, in a second tab, all training records (trainings are entered inside a
staff member's form).  志愿者 holds volunteers, the teams (队伍) and all service hours (服务时长,
entered inside a volunteer's form).
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from desktop.ui.context import AppContext
from desktop.ui.record_list import RecordListPage


class TabbedRecordPage(QWidget):
    """Several record lists in tabs; list actions go to the visible tab."""

    def __init__(self, lists: list[tuple[str, RecordListPage]]):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.lists = [page for _t, page in lists]
        for title, page in lists:
            self.tabs.addTab(page, title)
        layout.addWidget(self.tabs)

    def current_list(self) -> RecordListPage:
        return self.tabs.currentWidget()


def current_list(page: QWidget) -> RecordListPage | None:
    if isinstance(page, RecordListPage):
        return page
    if isinstance(page, TabbedRecordPage):
        return page.current_list()
    return None


def facility_page(ctx: AppContext) -> QWidget:
    return RecordListPage(ctx, "facility", "服务设施")


def staff_page(ctx: AppContext) -> QWidget:
    return TabbedRecordPage([("社区工作者", RecordListPage(ctx, "staff", "社区工作者")),
                             ("培训记录", RecordListPage(ctx, "training", "培训记录"))])


def volunteer_page(ctx: AppContext) -> QWidget:
    return TabbedRecordPage([("志愿者", RecordListPage(ctx, "volunteer", "志愿者")),
                             ("志愿服务队", RecordListPage(ctx, "volunteer_team", "志愿服务队")),
                             ("服务时长", RecordListPage(ctx, "volunteer_hours", "志愿服务时长"))])


def service_page(ctx: AppContext) -> QWidget:
    return RecordListPage(ctx, "service", "服务记录")


def social_org_page(ctx: AppContext) -> QWidget:
    return RecordListPage(ctx, "social_org", "社区社会组织")


__all__ = ["facility_page", "staff_page", "volunteer_page", "service_page", "social_org_page",
           "TabbedRecordPage", "current_list"]
