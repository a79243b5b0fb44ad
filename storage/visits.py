"""特殊困难老年人月探访率: who on the register was visited in a month (吉林 专栏2-2, 商丘 专栏2-2: 100%).

A visit is a 服务记录 of category 特殊困难老年人探访 that names the person (探访对象).  For a month:

- due: on the register for the whole month (纳入名册 on or before the 1st, not left before the last
  day) — these make the rate's denominator and, unvisited, the list of who is still to be visited;
- someone added or leaving during the month counts only if visited in it (visited, they count on
  both sides; not visited, on neither: a person added on the 28th is not yet overdue);
- several visits to one person count once.

The month checklist (storage.periods) shows it before submission; the 达标 report's visit check and
``taizhang visits`` read the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from storage.models import table_for
from storage.validation import mask

VISIT_CATEGORY = "特殊困难老年人探访"


@dataclass
class Person:
    id: str
    org_code: str
    name: str
    id_number: str | None

    @property
    def label(self) -> str:
        return f"{self.name}（{mask('id_number', self.id_number)}）" if self.id_number else self.name


@dataclass
class MonthVisits:
    org_code: str
    period: str
    due: list[Person] = field(default_factory=list)        # on the register the whole month
    visited: set[str] = field(default_factory=set)         # ids visited in the month (due or not)
    extra: list[Person] = field(default_factory=list)      # joined or left in the month and visited

    @property
    def denominator(self) -> int:
        return len(self.due) + len(self.extra)

    @property
    def numerator(self) -> int:
        return sum(1 for p in self.due if p.id in self.visited) + len(self.extra)

    @property
    def not_visited(self) -> list[Person]:
        return [p for p in self.due if p.id not in self.visited]

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator * 100 if self.denominator else None

    def describe(self) -> str:
        if not self.denominator:
            return "特殊困难老年人名册为空（在“特殊困难老年人”页登记需要探访的老人）"
        text = f"应探访 {self.denominator} 人，已探访 {self.numerator} 人，探访率 {self.rate:.0f}%"
        missing = self.not_visited
        if missing:
            names = "、".join(p.label for p in missing[:10]) + ("等" if len(missing) > 10 else "")
            text += f"；尚未探访：{names}"
        return text


def month_bounds(period: str) -> tuple[dt.date, dt.date]:
    year, month = int(period[:4]), int(period[5:7])
    first = dt.date(year, month, 1)
    last = (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
    return first, last


def month_visits(conn: Connection, org_filter, period: str) -> dict[str, MonthVisits]:
    """Per village, the month's visits; ``org_filter(column)`` selects the villages (one, or a scope)."""
    first, last = month_bounds(period)
    e, s = table_for("elderly_person"), table_for("service")
    registered = conn.execute(
        select(e.c.id, e.c.org_code, e.c.name, e.c.id_number, e.c.added_on, e.c.left_on)
        .where(e.c.deleted.is_(False), org_filter(e.c.org_code), e.c.added_on <= last,
               or_(e.c.left_on.is_(None), e.c.left_on >= first))
        .order_by(e.c.org_code, e.c.name, e.c.id)).all()
    visited = {(r.org_code, r.visited_id) for r in conn.execute(
        select(s.c.org_code, s.c.visited_id)
        .where(and_(s.c.deleted.is_(False), s.c.category == VISIT_CATEGORY, s.c.visited_id.isnot(None),
                    s.c.date >= first, s.c.date <= last, org_filter(s.c.org_code)))
        .distinct())}
    out: dict[str, MonthVisits] = {}
    for r in registered:
        month = out.setdefault(r.org_code, MonthVisits(r.org_code, period))
        person = Person(r.id, r.org_code, r.name, r.id_number)
        seen = (r.org_code, r.id) in visited
        if seen:
            month.visited.add(r.id)
        whole_month = r.added_on <= first and (r.left_on is None or r.left_on >= last)
        if whole_month:
            month.due.append(person)
        elif seen:
            month.extra.append(person)
    return out


def village_month(conn: Connection, org_code: str, period: str) -> MonthVisits:
    return month_visits(conn, lambda col: col == org_code, period).get(org_code) or MonthVisits(org_code, period)
