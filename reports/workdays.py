"""China's working days: statutory holidays and 调休 (adjusted working days), as data.

民政部令第67号 第十一条: a volunteer's service record is to be made within 10 working days of the
activity.  Working days are not Monday to Friday: the State Council publishes each year's holidays
and the weekend days worked in lieu (调休).  The years the ``chinesecalendar`` package knows come
from it (a maintained package, updated each year); a county adds a later year, or corrects one, as
two county-maintained lists, ``statutory_holidays`` and ``adjusted_workdays`` (dates as
YYYY-MM-DD), with ``taizhang-server calendar add``; they reach every PC with the choice lists at
sync.  A year neither knows counts weekends only, and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import chinese_calendar

LATE_AFTER_WORKDAYS = 10  # 民政部令第67号 第十一条


@dataclass
class WorkdayCalendar:
    holidays: set[dt.date] = field(default_factory=set)   # the county's statutory holidays
    workdays: set[dt.date] = field(default_factory=set)   # the county's 调休 working days

    @classmethod
    def from_choices(cls, choices: dict[str, list[str]]) -> "WorkdayCalendar":
        def dates(name: str) -> set[dt.date]:
            out = set()
            for item in choices.get(name) or ():
                try:
                    out.add(dt.date.fromisoformat(str(item).strip()))
                except ValueError:
                    continue  # a malformed entry is refused when the county saves it (parse_dates)
            return out

        return cls(dates("statutory_holidays"), dates("adjusted_workdays"))

    def county_years(self) -> set[int]:
        return {d.year for d in self.holidays | self.workdays}

    def knows(self, year: int) -> bool:
        """True when the year's holiday arrangement is known (the county's lists or the package)."""
        return year in self.county_years() or _package_knows(year)

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if day.year not in self.county_years() and _package_knows(day.year):
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def workdays_between(self, first: dt.date, last: dt.date) -> int:
        """Working days after ``first`` up to and including ``last`` (0 when last ≤ first)."""
        n, day = 0, first
        while day < last:
            day += dt.timedelta(days=1)
            n += self.is_workday(day)
        return n

    def deadline(self, activity: dt.date, workdays: int = LATE_AFTER_WORKDAYS) -> dt.date:
        """The last day a record of ``activity`` is on time: the ``workdays``-th working day after it."""
        day, n = activity, 0
        while n < workdays:
            day += dt.timedelta(days=1)
            n += self.is_workday(day)
        return day


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def parse_dates(text_items: list[str], what: str) -> list[str]:
    """Dates a county types (2027-01-01, 2027/1/1, 2027年1月1日), normalised; a Chinese error names the bad one."""
    from storage.validation import parse_date

    out = []
    for i, item in enumerate(text_items, 1):
        try:
            out.append(parse_date(item).isoformat())
        except ValueError:
            raise ValueError(f"{what}第 {i} 个日期“{item}”无法识别，请写成 2027-01-01 这样的格式") from None
    return sorted(set(out))
