"""Page factories for the record lists in the navigation (registered in desktop/ui/pages.py).

人员 holds the staff list, in a second tab all training records (trainings are entered inside a
staff member's form), and in a third who is due for training.  志愿者 holds volunteers, the teams
(队伍), all service hours (服务时长) and trainings/awards (培训表彰), both entered inside a
volunteer's form.  困难老人 is the register of 特殊困难老年人 whom the monthly visits name.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from desktop.ui.context import AppContext
from desktop.ui.record_list import RecordListPage


class TabbedRecordPage(QWidget):
    """Several record lists in tabs; list actions go to the visible tab."""

    def __init__(self, lists: list[tuple[str, QWidget]]):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.lists = [page for _t, page in lists if isinstance(page, RecordListPage)]
        for title, page in lists:
            self.tabs.addTab(page, title)
        layout.addWidget(self.tabs)

    def current_list(self) -> RecordListPage | None:
        page = self.tabs.currentWidget()
        return page if isinstance(page, RecordListPage) else None


def current_list(page: QWidget) -> RecordListPage | None:
    if isinstance(page, RecordListPage):
        return page
    if isinstance(page, TabbedRecordPage):
        return page.current_list()
    return None


def facility_page(ctx: AppContext) -> QWidget:
    return RecordListPage(ctx, "facility", "服务设施")


def staff_page(ctx: AppContext) -> QWidget:
    from desktop.ui.training_due_page import TrainingDuePage

    return TabbedRecordPage([("社区工作者", RecordListPage(ctx, "staff", "社区工作者")),
                             ("培训记录", RecordListPage(ctx, "training", "培训记录")),
                             ("培训到期", TrainingDuePage(ctx))])


def volunteer_page(ctx: AppContext) -> QWidget:
    return TabbedRecordPage([("志愿者", RecordListPage(ctx, "volunteer", "志愿者")),
                             ("志愿服务队", RecordListPage(ctx, "volunteer_team", "志愿服务队")),
                             ("服务时长", RecordListPage(ctx, "volunteer_hours", "志愿服务时长")),
                             ("培训表彰", RecordListPage(ctx, "volunteer_event", "志愿者培训表彰"))])


def elderly_page(ctx: AppContext) -> QWidget:
    return RecordListPage(ctx, "elderly_person", "特殊困难老年人")


def service_page(ctx: AppContext) -> QWidget:
    return RecordListPage(ctx, "service", "服务记录")


def social_org_page(ctx: AppContext) -> QWidget:
    return RecordListPage(ctx, "social_org", "社区社会组织")


__all__ = ["facility_page", "staff_page", "volunteer_page", "service_page", "social_org_page", "elderly_page",
           "TabbedRecordPage", "current_list"]
