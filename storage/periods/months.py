"""Periods as calendar months: ``YYYY-MM`` text, its bounds and label, the deadline, the record id."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from storage.models import ORG_NAMESPACE
from storage.schema import RECORD_TYPES

DEFAULT_DEADLINE_DAY = 5  # a month's report is due by the 5th of the next month (setting period_deadline_day)
BEIJING = dt.timezone(dt.timedelta(hours=8))

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


def dated_types() -> tuple[str, ...]:
    """Record types a date places in a month (the month lock applies to them)."""
    return tuple(name for name, rt in RECORD_TYPES.items() if rt.date_field and not rt.month_workflow)


def period_of(date: dt.date | str | None) -> str | None:
    if date is None:
        return None
    if isinstance(date, str):
        date = dt.date.fromisoformat(date[:10])
    return f"{date.year:04d}-{date.month:02d}"


def month_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First day of the month and first day of the next month."""
    m = _PERIOD_RE.match(period or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"填报期“{period}”格式不对，应为“年-月”，如2024-03")
    year, month = int(m.group(1)), int(m.group(2))
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def previous_period(today: dt.date | None = None) -> str:
    """The month a village reports on now: last month (month-end reporting)."""
    today = today or dt.datetime.now(BEIJING).date()
    first = today.replace(day=1)
    return period_of(first - dt.timedelta(days=1))


def recent_periods(count: int = 12, today: dt.date | None = None) -> list[str]:
    """The last ``count`` complete months, newest first."""
    out, p = [], previous_period(today)
    for _ in range(count):
        out.append(p)
        p = previous_period(month_bounds(p)[0])
    return out


def period_label(period: str) -> str:
    start, _ = month_bounds(period)
    return f"{start.year}年{start.month}月"


def deadline(period: str, deadline_day: int = DEFAULT_DEADLINE_DAY) -> dt.datetime:
    """End of the due day (Beijing time) in the month after the period, as UTC."""
    _, next_month = month_bounds(period)
    due = dt.datetime.combine(next_month.replace(day=deadline_day), dt.time(23, 59, 59), BEIJING)
    return due.astimezone(dt.timezone.utc)


def period_id(org_code: str, period: str) -> str:
    """Every PC and the server name a village's month by the same record id."""
    return str(uuid.uuid5(ORG_NAMESPACE, f"period:{org_code}:{period}"))
