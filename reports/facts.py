"""Per-village figures for one year, gathered with a handful of grouped SQL queries.

Everything the indicators (I1–I14) and the standards checks need is reduced
in the database to one row per village (``GROUP BY org_code``): a county of
400 villages with a million service records costs seven queries, never a
Python loop over records.  The same filters are reused by the drill-down
queries (``reports.drilldown``), so the records shown behind a number are
exactly the records that were counted.

Counting rules (documented in docs/reports.md):
- tombstoned records (``deleted``) are excluded everywhere;
- facilities count only when 状态 = 在用 and not built after the year (建成年份 empty or ≤ year);
- staff count only when 在岗状态 = 在岗, 到岗日期 empty or ≤ 31 Dec of the year, and
  离岗日期 empty or after 31 Dec of the year (i.e. not left in or before that year);
- trainings, service records count only when dated in the year; who is due for training is
  judged per person from their own last training (reports.training).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Text, and_, case, cast, exists, extract, func, or_, select, text
from sqlalchemy.engine import Connection

from storage.models import table_for
from storage.orgcode import LEVEL_LABELS, OrgCode

COMPREHENSIVE = "综合服务设施/党群服务中心"
COMMERCE = "便民商业网点"
ELDERLY = "养老服务设施"
SHELTER = "应急避难场所"
SOCIAL_WORK_STATION = "社会工作站(点)"
CERTIFIED = ("助理社会工作师", "社会工作师", "高级社会工作师")
LEADER_ROLES = ("党组织书记", "村(居)委会主任")
COMMITTEE_ROLES = ("党组织书记", "村(居)委会主任", "两委委员")
DISASTER_ROLE = "灾害信息员"
VISIT_CATEGORY = "特殊困难老年人探访"
URBAN, RURAL = "城市社区", "农村社区"


class ScopeError(ValueError):
    """The org unit asked for does not exist or is not usable (Chinese message)."""


@dataclass
class Village:
    code: str
    name: str
    township: str
    urban_rural: str | None
    record_id: str
    households: int | None = None
    population: int | None = None
    urban_population: int | None = None
    total_building_area: float | None = None
    org_year_id: str | None = None
    org_year_rows: int = 0
    # facilities in use, by category: count, building area sum, number with an area
    fac_count: dict = field(default_factory=dict)
    fac_area: dict = field(default_factory=dict)
    fac_area_n: dict = field(default_factory=dict)
    zh_activity: float = 0.0  # 综合服务设施 with both areas: activity sum
    zh_building_both: float = 0.0  # … and building sum
    zh_min_hours: float | None = None
    zh_hours_n: int = 0
    zh_holiday_n: int = 0
    kiosks: int = 0
    staff: int = 0
    certified: int = 0
    disaster: int = 0
    people: list = field(default_factory=list)  # reports.training.Person: staff in post and their trainings
    elderly_new_estate: int = 0  # 养老服务设施 in use marked 位于新建居住区
    social_orgs: int = 0
    teams: int = 0
    party_teams: int = 0
    visit_months: set = field(default_factory=set)
    visit_register: dict = field(default_factory=dict)  # month → storage.visits.MonthVisits (the named visits)

    @property
    def is_urban(self) -> bool:
        return self.urban_rural == URBAN

    @property
    def is_rural(self) -> bool:
        return self.urban_rural == RURAL

    def count(self, category: str) -> int:
        return self.fac_count.get(category, 0)

    def area(self, category: str) -> float:
        return self.fac_area.get(category, 0.0)

    @property
    def committee(self) -> int:
        return sum(1 for p in self.people if p.is_committee)

    @property
    def committee_trained(self) -> int:
        """两委成员 with at least one training in the year (I14)."""
        return sum(1 for p in self.people if p.is_committee and p.trainings_in_year)


@dataclass
class Township:
    code: str
    name: str
    record_id: str
    stations: int = 0


@dataclass
class Scope:
    code: str
    name: str
    level: str  # county / township / village
    year: int
    villages: list[Village]
    townships: list[Township]

    @property
    def level_name(self) -> str:
        return LEVEL_LABELS[self.level]


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def in_scope(column, scope_code: str):
    """Filter a column of org codes to the area of ``scope_code`` (``storage.orgcode.Scope.sql``)."""
    return OrgCode(scope_code).scope.sql(column)


def roles_contains(column, role: str):
    """JSON list column contains a role (stored as JSON text; escaped or not)."""
    as_text = func.coalesce(cast(column, Text), "")
    forms = {json.dumps(role), json.dumps(role, ensure_ascii=False)}
    return or_(*[as_text.contains(f, autoescape=True) for f in forms])


def facility_live(t, year: int):
    return and_(t.c.deleted.is_(False), t.c.status == "在用",
                or_(t.c.built_year.is_(None), t.c.built_year <= year))


def staff_in_post(t, year: int):
    end = year_bounds(year)[1]
    return and_(t.c.deleted.is_(False), t.c.status == "在岗",
                or_(t.c.joined_on.is_(None), t.c.joined_on <= end),
                or_(t.c.left_on.is_(None), t.c.left_on > end))


def is_committee(t):
    return or_(*[roles_contains(t.c.roles, r) for r in COMMITTEE_ROLES])


def trained_between(staff, first: dt.date, last: dt.date):
    tr = table_for("training")
    return exists(select(tr.c.id).where(tr.c.staff_id == staff.c.id, tr.c.deleted.is_(False),
                                        tr.c.date >= first, tr.c.date <= last))


def resolve_scope(conn: Connection, code: str, year: int) -> Scope:
    ou = table_for("org_unit")
    code = (code or "").strip()
    if len(code) != 12 or not code.isdigit():
        raise ScopeError(f"区划代码“{code}”应为12位数字，请核对后重新输入")
    level = OrgCode(code).level
    me = conn.execute(select(ou.c.name).where(ou.c.org_code == code, ou.c.deleted.is_(False))).first()
    if me is None:
        raise ScopeError(f"数据库中没有区划代码为 {code} 的组织机构，请先在“组织机构”中添加，或核对代码")
    rows = conn.execute(select(ou.c.id, ou.c.org_code, ou.c.name, ou.c.level, ou.c.urban_rural)
                        .where(ou.c.deleted.is_(False), in_scope(ou.c.org_code, code))
                        .order_by(ou.c.org_code)).all()
    villages = [Village(code=r.org_code, name=r.name, township=OrgCode(r.org_code).township.code, urban_rural=r.urban_rural,
                        record_id=r.id) for r in rows if r.level == LEVEL_LABELS["village"]]
    townships = [Township(code=r.org_code, name=r.name, record_id=r.id) for r in rows if r.level == LEVEL_LABELS["township"]]
    return Scope(code=code, name=me.name, level=level, year=year, villages=villages, townships=townships)


def gather(conn: Connection, code: str, year: int, *, with_visits: bool = True) -> Scope:
    """Resolve the scope and fill every village's figures for the year.

    ``with_visits=False`` leaves out the one query over the service records (the slow one:
    a county has a million) so that the caller can run it concurrently (``visit_months``).
    """
    scope = resolve_scope(conn, code, year)
    by_code = {v.code: v for v in scope.villages}
    first, last = year_bounds(year)

    # org_year: the year's base figures (latest edit wins if a village has two rows)
    oy = table_for("org_year")
    for r in conn.execute(select(oy.c.id, oy.c.org_code, oy.c.households, oy.c.population, oy.c.urban_population,
                                 oy.c.total_building_area)
                          .where(oy.c.deleted.is_(False), oy.c.year == year, in_scope(oy.c.org_code, code))
                          .order_by(oy.c.org_code, oy.c.updated_at)):
        v = by_code.get(r.org_code)
        if v is None:
            continue
        v.org_year_rows += 1
        v.org_year_id = r.id
        v.households, v.population = r.households, r.population
        v.urban_population, v.total_building_area = r.urban_population, r.total_building_area

    # facilities in use, grouped by village and category
    f = table_for("facility")
    both = and_(f.c.building_area.isnot(None), f.c.activity_area.isnot(None))
    stmt = (select(f.c.org_code, f.c.category, func.count(), func.sum(f.c.building_area), func.count(f.c.building_area),
                   func.sum(case((both, f.c.activity_area), else_=None)),
                   func.sum(case((both, f.c.building_area), else_=None)),
                   func.min(f.c.daily_open_hours), func.count(f.c.daily_open_hours),
                   func.sum(case((f.c.open_on_holidays.is_(True), 1), else_=0)),
                   func.sum(func.coalesce(f.c.kiosks, 0)), func.sum(case((f.c.new_estate.is_(True), 1), else_=0)))
            .where(facility_live(f, year), in_scope(f.c.org_code, code))
            .group_by(f.c.org_code, f.c.category))
    stations = {}
    for (org, cat, n, area, area_n, act, bld, min_h, hours_n, holiday_n, kiosks, new_estate) in conn.execute(stmt):
        if cat == SOCIAL_WORK_STATION and OrgCode(org).level == "township":
            stations[org] = n
        v = by_code.get(org)
        if v is None:
            continue
        v.fac_count[cat] = n
        v.fac_area[cat] = float(area or 0)
        v.fac_area_n[cat] = area_n
        v.kiosks += int(kiosks or 0)
        if cat == ELDERLY:
            v.elderly_new_estate = int(new_estate or 0)
        if cat == COMPREHENSIVE:
            v.zh_activity, v.zh_building_both = float(act or 0), float(bld or 0)
            v.zh_min_hours, v.zh_hours_n, v.zh_holiday_n = min_h, hours_n, int(holiday_n or 0)
    for t in scope.townships:
        t.stations = stations.get(t.code, 0)

    # staff in post
    s = table_for("staff")
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    stmt = (select(s.c.org_code, func.count(), one(s.c.social_work_cert.in_(CERTIFIED)),
                   one(roles_contains(s.c.roles, DISASTER_ROLE)))
            .where(staff_in_post(s, year), in_scope(s.c.org_code, code)).group_by(s.c.org_code))
    for row in conn.execute(stmt):
        v = by_code.get(row[0])
        if v is None:
            continue
        v.staff, v.certified, v.disaster = (int(x or 0) for x in row[1:])
    # each person's trainings: the training rules and I14 read these (reports.training)
    from reports.training import person_rows  # reports.training builds on this module's filters

    for person in person_rows(conn, code, year):
        if person.org_code in by_code:
            by_code[person.org_code].people.append(person)

    so = table_for("social_org")
    for org, n in conn.execute(select(so.c.org_code, func.count())
                               .where(so.c.deleted.is_(False), in_scope(so.c.org_code, code))
                               .group_by(so.c.org_code)):
        if org in by_code:
            by_code[org].social_orgs = n

    vt = table_for("volunteer_team")
    for org, n, party in conn.execute(select(vt.c.org_code, func.count(), one(vt.c.party_backbone.is_(True)))
                                      .where(vt.c.deleted.is_(False), in_scope(vt.c.org_code, code))
                                      .group_by(vt.c.org_code)):
        if org in by_code:
            by_code[org].teams, by_code[org].party_teams = n, int(party or 0)

    if with_visits:
        apply_visit_months(scope, visit_months(conn, code, year))
    return scope


def visit_months(conn: Connection, code: str, year: int) -> dict[str, set[int]]:
    """Months of the year in which each village has a 特殊困难老年人探访 service record."""
    first, last = year_bounds(year)
    out: dict[str, set[int]] = {}
    for org, m in conn.execute(_visit_months_query(conn, code, first, last)):
        out.setdefault(org, set()).add(int(m))
    return out


def apply_visit_months(scope: Scope, months: dict[str, set[int]]) -> None:
    for v in scope.villages:
        v.visit_months = set(months.get(v.code, ()))


def _visit_months_query(conn: Connection, code: str, first: dt.date, last: dt.date):
    """(village, month) pairs with a 特殊困难老年人探访 service record in the year.

    A county has about a million service records.  On SQLite the planner walks
    the date or org index and then fetches every row of the year at random
    (≈9 s for 1,000,000 rows); a plain sequential scan (``NOT INDEXED``) is ~7x
    faster, so SQLite gets that hint.  PostgreSQL's planner chooses by itself.
    """
    sv = table_for("service")
    if conn.dialect.name == "sqlite":
        area = OrgCode(code).scope
        where = "org_code = :scope" if area.level == "village" else "org_code LIKE :scope"
        scope = code if area.level == "village" else area.like_pattern
        return text(f"SELECT org_code, CAST(strftime('%m', date) AS INTEGER) AS m FROM service "
                    "INDEXED BY ix_service_visit_scan "
                    f"WHERE deleted = 0 AND category = :cat AND date >= :first AND date <= :last AND {where} "
                    "GROUP BY org_code, m").bindparams(cat=VISIT_CATEGORY, first=first.isoformat(),
                                                       last=last.isoformat(), scope=scope)
    month = extract("month", sv.c.date)
    return (select(sv.c.org_code, month)
            .where(sv.c.deleted.is_(False), sv.c.category == VISIT_CATEGORY, sv.c.date >= first, sv.c.date <= last,
                   in_scope(sv.c.org_code, code))
            .group_by(sv.c.org_code, month))
