"""Who is due for training: one rule per plan, one row per person (domain.md §5 培训).

- 吉林 专栏4-1: “每年至少对村（社区）党组织书记、村（居）民委员会主任培训一次，其他成员及社区专职
  工作人员每 2 年至少培训一次” — counted from each person's own last training, not by calendar
  years: trained on 2024-05-10, a 书记 is due again by 2025-05-10, a 网格员 by 2026-05-10.
- 沈阳 专栏8-1: “城乡社区工作者每年接受培训教育不少于 3 天” — training days within the calendar year.

The due list, the 吉林/沈阳 standards checks and indicator I14 (两委成员 trained this year) are all
read from the same rows (``person_rows`` then ``evaluate``), so they cannot disagree.

A person never trained is due one interval after 到岗日期 (a new 书记 within a year of taking
post); with no 到岗日期 the training is overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from reports.facts import COMMITTEE_ROLES, LEADER_ROLES, in_scope, staff_in_post
from storage.models import table_for
from storage.schema import record_type
from storage.validation import stored_value

DONE, DUE_SOON, WAITING, OVERDUE = "已完成", "即将到期", "待培训", "已逾期"
STATUS_ORDER = {OVERDUE: 0, DUE_SOON: 1, WAITING: 2, DONE: 3}
DUE_SOON_DAYS = 60

JILIN, SHENYANG = "jilin_interval", "shenyang_days"
RULE_QUOTES = {
    JILIN: "吉林 专栏4-1：书记、主任每年至少培训一次，其他成员及社区专职工作人员每 2 年至少培训一次",
    SHENYANG: "沈阳 专栏8-1：城乡社区工作者每年接受培训教育不少于 3 天",
}


@dataclass
class Person:
    """One staff member in post, with what the rules need of their trainings."""

    staff_id: str
    org_code: str
    name: str
    roles: tuple[str, ...]
    joined_on: dt.date | None
    last_training: dt.date | None
    days_in_year: float
    trainings_in_year: int

    @property
    def is_leader(self) -> bool:
        return any(r in LEADER_ROLES for r in self.roles)

    @property
    def is_committee(self) -> bool:
        return any(r in COMMITTEE_ROLES for r in self.roles)


@dataclass
class DueRow:
    person: Person
    org_name: str
    ref_date: dt.date
    rule: str = ""          # what applies, in words
    due_on: dt.date | None = None
    status: str = DONE
    detail: str = ""        # why this status, in words
    rules: list[str] = field(default_factory=list)  # rule ids applied (JILIN, SHENYANG)

    @property
    def overdue(self) -> bool:
        return self.status == OVERDUE


def reference_date(year: int, today: dt.date | None = None) -> dt.date:
    """Rules are judged on the last day of a past year, on today in the current year."""
    today = today or dt.date.today()
    return today if year >= today.year else dt.date(year, 12, 31)


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February in a year that has none
        return d.replace(year=d.year + years, day=28)


def person_rows(conn: Connection, code: str, year: int) -> list[Person]:
    """Staff in post in the year within the scope of ``code``, with their training history up to the year's end."""
    s, tr = table_for("staff"), table_for("training")
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    history = (select(tr.c.staff_id, func.max(tr.c.date).label("last_training"))
               .where(tr.c.deleted.is_(False), tr.c.date <= last).group_by(tr.c.staff_id).subquery())
    in_year = (select(tr.c.staff_id, func.coalesce(func.sum(tr.c.days), 0).label("days"),
                      func.count().label("n"))
               .where(tr.c.deleted.is_(False), tr.c.date >= first, tr.c.date <= last)
               .group_by(tr.c.staff_id).subquery())
    stmt = (select(s.c.id, s.c.org_code, s.c.name, s.c.roles, s.c.joined_on, history.c.last_training,
                   in_year.c.days, in_year.c.n)
            .outerjoin(history, history.c.staff_id == s.c.id)
            .outerjoin(in_year, in_year.c.staff_id == s.c.id)
            .where(staff_in_post(s, year), in_scope(s.c.org_code, code))
            .order_by(s.c.org_code, s.c.name, s.c.id))
    out = []
    for r in conn.execute(stmt):
        roles = stored_value(record_type("staff").field("roles"), r.roles) or ()
        out.append(Person(r.id, r.org_code, r.name, tuple(roles), _date(r.joined_on), _date(r.last_training),
                          float(r.days or 0), int(r.n or 0)))
    return out


def _date(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _jilin(p: Person, ref: dt.date) -> tuple[str, dt.date | None, str, str]:
    years = 1 if p.is_leader else 2
    who = "书记、主任每年至少培训一次" if p.is_leader else "其他人员每 2 年至少培训一次"
    start = p.last_training or p.joined_on
    if start is None:
        return who, None, OVERDUE, "从未参加培训，也没有到岗日期"
    due = add_years(start, years)
    if p.last_training:
        since, act = f"上次培训 {p.last_training.isoformat()}", "再次培训"
    else:
        since, act = f"从未参加培训（到岗 {p.joined_on.isoformat()}）", "参加培训"
    if due < ref:
        return who, due, OVERDUE, f"{since}，应在 {due.isoformat()} 前{act}，已逾期 {(ref - due).days} 天"
    if (due - ref).days <= DUE_SOON_DAYS:
        return who, due, DUE_SOON, f"{since}，应在 {due.isoformat()} 前{act}"
    return who, due, DONE if p.last_training else WAITING, f"{since}，下次应在 {due.isoformat()} 前"


def _shenyang(p: Person, ref: dt.date, year: int, year_over: bool) -> tuple[str, dt.date | None, str, str]:
    who = "每年培训不少于 3 天"
    due = dt.date(year, 12, 31)
    have = f"{year}年已培训 {p.days_in_year:g} 天"
    if p.days_in_year >= 3:
        return who, due, DONE, f"{have}，达到 3 天"
    short = f"{have}，还差 {3 - p.days_in_year:g} 天"
    if year_over:
        return who, due, OVERDUE, f"{short}（{year}年已结束）"
    status = DUE_SOON if (due - ref).days <= DUE_SOON_DAYS else WAITING
    return who, due, status, f"{short}，须在 {due.isoformat()} 前补足"


def _apply(rule: str, p: Person, year: int, today: dt.date) -> tuple[str, dt.date | None, str, str]:
    ref = reference_date(year, today)
    return _jilin(p, ref) if rule == JILIN else _shenyang(p, ref, year, today.year > year)


def evaluate(people: list[Person], rules: tuple[str, ...], year: int, names: dict[str, str] | None = None,
             today: dt.date | None = None) -> list[DueRow]:
    """One row per person; with several rules the status is the most urgent one and the details are joined."""
    today = today or dt.date.today()
    ref = reference_date(year, today)
    names = names or {}
    rows = []
    for p in people:
        row = DueRow(p, names.get(p.org_code, p.org_code), ref, rules=list(rules))
        parts = []
        for rule in rules:
            parts.append(_apply(rule, p, year, today))
        if not parts:
            row.status, row.detail = DONE, "所选指标方案没有规定培训周期"
        else:
            worst = min(parts, key=lambda x: STATUS_ORDER[x[2]])
            row.status, row.due_on = worst[2], worst[1]
            row.rule = "；".join(x[0] for x in parts)
            row.detail = "；".join(x[3] for x in parts)
        rows.append(row)
    rows.sort(key=lambda r: (STATUS_ORDER[r.status], r.person.org_code, r.due_on or dt.date.min, r.person.name))
    return rows


def rule_status(p: Person, rule: str, year: int, today: dt.date | None = None) -> str:
    return _apply(rule, p, year, today or dt.date.today())[2]


def training_due(conn: Connection, code: str, year: int, rules: tuple[str, ...],
                 today: dt.date | None = None) -> list[DueRow]:
    ou = table_for("org_unit")
    names = dict(conn.execute(select(ou.c.org_code, ou.c.name).where(ou.c.deleted.is_(False))).all())
    return evaluate(person_rows(conn, code, year), rules, year, names, today)


def training_due_list(engine: Engine, code: str, year: int, rules: tuple[str, ...]) -> list[DueRow]:
    """:func:`training_due` on a connection of its own (what the desktop's read job calls)."""
    with engine.connect() as conn:
        return training_due(conn, code, year, rules)
