"""The volunteer service register of 民政部令第67号《志愿服务记录与证明出具办法》.

- Totals of service hours per volunteer and per team for a year: **the ledger's own totals**. 证明
  are issued through 全国志愿服务信息系统 (第十五、十七条), never from these figures, and every output
  says so.
- 第十一条: a service record made more than 10 working days after the activity is marked 补录
  (``reports.workdays``: holidays and 调休 count); "made" is when the record was first saved.
- 第四条: records kept outside the national system are entered into it "按统一数据标准": the export
  has one row per service record, its columns read from ``volunteer_national.json`` (data a county
  can copy and adjust when the national template changes).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection

from reports.facts import in_scope
from reports.workdays import LATE_AFTER_WORKDAYS, WorkdayCalendar
from storage.models import table_for
from storage.schema import record_type
from storage.validation import display_text, mask, stored_value

NOT_A_CERTIFICATE = ("以上为本台账登记的服务时长合计，仅供村(社区)掌握情况，不是志愿服务记录证明；"
                     "志愿服务记录证明请通过全国志愿服务信息系统出具（民政部令第67号第十五条、第十七条）。")
NATIONAL_COLUMNS = Path(__file__).with_name("volunteer_national.json")
SOURCES = ("volunteer", "team", "hours")


@dataclass
class HourRow:
    """One 服务时长 record with its volunteer and team, and whether it was entered late."""

    hours_id: str
    org_code: str
    volunteer: dict
    team: dict
    hours: dict
    entered_on: dt.date
    late_workdays: int  # working days between the activity and the entry

    @property
    def late(self) -> bool:
        return self.late_workdays > LATE_AFTER_WORKDAYS

    @property
    def late_text(self) -> str:
        return (f"补录：活动后第 {self.late_workdays} 个工作日才登记（应在 {LATE_AFTER_WORKDAYS} 个工作日内）"
                if self.late else "")


@dataclass
class Totals:
    name: str
    hours: float = 0.0
    records: int = 0
    late: int = 0
    volunteers: set = field(default_factory=set)


def hour_rows(conn: Connection, code: str, year: int, calendar: WorkdayCalendar) -> list[HourRow]:
    """The year's service hours in the scope of ``code``, oldest first."""
    h, v, t = table_for("volunteer_hours"), table_for("volunteer"), table_for("volunteer_team")
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    stmt = (select(h, v.c.name.label("v_name"), v.c.gender.label("v_gender"), v.c.id_number.label("v_id_number"),
                   v.c.birth_date.label("v_birth_date"), v.c.phone.label("v_phone"),
                   v.c.residence.label("v_residence"), v.c.registration_no.label("v_registration_no"),
                   v.c.service_types.label("v_service_types"), v.c.team_id.label("v_team_id"),
                   t.c.name.label("t_name"), t.c.leader.label("t_leader"))
            .join(v, v.c.id == h.c.volunteer_id)
            .outerjoin(t, (t.c.id == v.c.team_id) & t.c.deleted.is_(False))
            .where(h.c.deleted.is_(False), v.c.deleted.is_(False), h.c.date >= first, h.c.date <= last,
                   in_scope(h.c.org_code, code))
            .order_by(h.c.date, h.c.created_at, h.c.id))
    hours_type, volunteer_type = record_type("volunteer_hours"), record_type("volunteer")
    out = []
    for r in conn.execute(stmt).mappings():
        hours = {f.name: stored_value(f, r[f.name]) for f in hours_type.fields}
        hours["created_at"] = r["created_at"]
        volunteer = {name: stored_value(volunteer_type.field(name), r[f"v_{name}"])
                     for name in ("name", "gender", "id_number", "birth_date", "phone", "residence", "registration_no",
                                  "service_types")}
        entered = _day(r["created_at"])
        activity = _day(hours["date"])
        out.append(HourRow(r["id"], r["org_code"], volunteer, {"name": r["t_name"], "leader": r["t_leader"]}, hours,
                           entered, calendar.workdays_between(activity, entered)))
    return out


def _day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone().date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def totals(rows: list[HourRow]) -> tuple[list[Totals], list[Totals], Totals]:
    """Per volunteer (by name and ID), per team, and the whole scope."""
    by_volunteer: dict[tuple, Totals] = {}
    by_team: dict[str, Totals] = {}
    everyone = Totals("合计")
    for r in rows:
        who = (r.org_code, r.volunteer["name"], r.volunteer["id_number"] or "")
        for bucket in (by_volunteer.setdefault(who, Totals(r.volunteer["name"])),
                       by_team.setdefault(r.team["name"] or "（未加入志愿服务队）", Totals(r.team["name"] or "（未加入志愿服务队）")),
                       everyone):
            bucket.hours += float(r.hours["hours"] or 0)
            bucket.records += 1
            bucket.late += r.late
            bucket.volunteers.add(who)
    order = lambda t: (-t.hours, t.name)  # noqa: E731
    return sorted(by_volunteer.values(), key=order), sorted(by_team.values(), key=order), everyone


def load_columns(path: str | Path | None = None) -> list[dict]:
    """The national export's columns: the shipped file, or a county's own copy (checked, Chinese errors)."""
    path = Path(path) if path else NATIONAL_COLUMNS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"无法读取列设置文件“{path}”：{exc}") from None
    columns = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(columns, list) or not columns:
        raise ValueError(f"列设置文件“{path}”缺少 columns 列表")
    fields = {"volunteer": record_type("volunteer").field_names, "team": record_type("volunteer_team").field_names,
              "hours": record_type("volunteer_hours").field_names + ("created_at",)}
    for i, col in enumerate(columns, 1):
        if not isinstance(col, dict) or not str(col.get("header") or "").strip():
            raise ValueError(f"列设置文件“{path}”第 {i} 列缺少列名（header）")
        source = col.get("source")
        if source is None and "value" in col or source == "late":
            continue
        kind, _, name = str(source or "").partition(".")
        if kind not in fields or name not in fields[kind]:
            raise ValueError(f"列设置文件“{path}”第 {i} 列“{col['header']}”的来源“{source}”不存在；"
                             "可用 volunteer.<字段>、team.<字段>、hours.<字段> 或 late")
    return columns


def national_rows(rows: list[HourRow], columns: list[dict], *, full: bool = False) -> list[list]:
    """One row per service record; ID numbers and phones masked unless ``full``."""
    types = {"volunteer": record_type("volunteer"), "team": record_type("volunteer_team"),
             "hours": record_type("volunteer_hours")}
    out = []
    for r in rows:
        line = []
        for col in columns:
            source = col.get("source")
            if source is None:
                line.append(col.get("value"))
                continue
            if source == "late":
                line.append(r.late_text)
                continue
            kind, _, name = source.partition(".")
            value = getattr(r, kind).get(name)
            if name == "created_at":
                line.append(r.entered_on.isoformat())
                continue
            f = types[kind].field(name)
            if f.pii and full:
                line.append(value)
            elif f.pii:
                line.append(mask(f.type, value))
            else:
                line.append(display_text(f, value) or None)
        out.append(line)
    return out
