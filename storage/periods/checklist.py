"""What a village must have before it submits a month (the checklist), and the standing registers
carried from month to month that the clerk confirms unchanged or edits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from storage.models import Conflict, table_for
from storage.periods.months import month_bounds, period_label
from storage.periods.states import state
from storage.schema import RECORD_TYPES, RecordType
from storage.validation import check_record
from storage.visits import village_month

UNCHANGED, EDITED, UNCONFIRMED = "本月无变化", "本月有修改", "待确认"


@dataclass
class CheckItem:
    key: str
    label: str  # what is checked, in Chinese
    ok: bool
    detail: str = ""  # what was found / what to do
    blocking: bool = True


@dataclass
class Checklist:
    org_code: str
    period: str
    items: list[CheckItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items if i.blocking)

    @property
    def problems(self) -> list[CheckItem]:
        return [i for i in self.items if i.blocking and not i.ok]

    def summary(self) -> str:
        if self.ok:
            return f"{period_label(self.period)}的台账已齐全，可以提交"
        return "；".join(f"{i.label}：{i.detail}" for i in self.problems)


def completeness(repo, org_code: str, period: str) -> Checklist:
    """What must be true before a village submits a month, as a checklist (Chinese)."""
    start, end = month_bounds(period)
    checklist = Checklist(org_code, period)
    errors: list[str] = []
    with repo.engine.connect() as conn:
        for rt in (rt for rt in RECORD_TYPES.values() if rt.required_in_month):
            name = rt.name
            t = table_for(name)
            col = t.c[rt.date_field]
            n = conn.execute(select(func.count()).select_from(t).where(
                t.c.org_code == org_code, t.c.deleted.is_(False), col >= start, col < end)).scalar_one()
            checklist.items.append(CheckItem(
                f"month:{name}", f"{period_label(period)}的{rt.label}", n > 0,
                f"已录入 {n} 条" if n else f"还没有{period_label(period)}的{rt.label}，请先录入本月开展的服务"))
        for rt in (rt for rt in RECORD_TYPES.values() if rt.required_standing):
            name = rt.name
            t = table_for(name)
            n = conn.execute(select(func.count()).select_from(t).where(
                t.c.org_code == org_code, t.c.deleted.is_(False))).scalar_one()
            checklist.items.append(CheckItem(
                f"standing:{name}", rt.label, n > 0,
                f"共 {n} 条" if n else f"还没有{rt.record_noun}，请在“{rt.label}”页录入"))
        t = table_for("org_year")
        year_row = conn.execute(select(t).where(t.c.org_code == org_code, t.c.deleted.is_(False),
                                                t.c.year == start.year)).mappings().first()
        filled = bool(year_row) and year_row["households"] is not None and year_row["population"] is not None
        checklist.items.append(CheckItem(
            "standing:org_year", f"{start.year}年度基础数据", filled,
            "户数、常住人口已填" if filled else f"请在“年度基础数据”中填写{start.year}年的户数和常住人口"))
        # validation errors outstanding: the month's records and the standing registers
        for name, rt in RECORD_TYPES.items():
            if not rt.in_workbook:  # the county's registry and the month records themselves
                continue
            t = table_for(name)
            stmt = select(t).where(t.c.org_code == org_code, t.c.deleted.is_(False))
            if rt.date_field:
                stmt = stmt.where(t.c[rt.date_field] >= start, t.c[rt.date_field] < end)
            for row in conn.execute(stmt).mappings():
                for issue in check_record(rt, dict(row)):
                    if issue.is_error and len(errors) < 20:
                        errors.append(f"{rt.label}“{_summary(rt, row)}”：{issue.message}")
        visits = village_month(conn, org_code, period)
        # 吉林 专栏2-2、商丘 专栏2-2: shown before submission, not blocking (the register may still be growing)
        checklist.items.append(CheckItem(
            "visits", "特殊困难老年人探访", visits.denominator == 0 or visits.numerator == visits.denominator,
            visits.describe(), blocking=False))
        confirmations = standing_confirmations(conn, org_code, period)
        open_conflicts = conn.execute(select(func.count()).select_from(Conflict).where(
            Conflict.org_code == org_code, Conflict.resolved_at.is_(None))).scalar_one()
        st = state(conn, org_code, period)
    checklist.items.append(CheckItem(
        "errors", "没有未改正的错误", not errors,
        "未发现错误" if not errors else "请先改正：" + "；".join(errors)))
    checklist.items.append(CheckItem(
        "conflicts", "没有待处理的同步冲突", open_conflicts == 0,
        "无" if not open_conflicts else f"有 {open_conflicts} 条记录在两处都被修改，请先在“同步冲突”中选择保留哪一版"))
    for c in confirmations:
        checklist.items.append(CheckItem(
            f"confirm:{c.type_name}", f"确认{c.label}", c.status != UNCONFIRMED,
            f"{c.status}（共 {c.count} 条）" if c.status != UNCONFIRMED
            else f"共 {c.count} 条，请核对后点“本月无变化”，有变化请直接修改", blocking=False))
    # the state is told in one sentence above the checklist (next_step); here it is never a red ×
    checklist.items.append(CheckItem("state", "填报期状态", True, f"当前状态：{st.display_status}", blocking=False))
    return checklist


def _summary(rt: RecordType, row) -> str:
    parts = []
    if rt.date_field and row.get(rt.date_field):
        parts.append(str(row[rt.date_field]))
    for key in ("name", "category", "course", "activity"):
        if row.get(key):
            parts.append(str(row[key]))
            break
    return " ".join(parts) or str(row["id"])[:8]


# --------------------------------------------------------------------------- carried forward, confirmed


def standing_types() -> tuple[str, ...]:
    """Registers carried from month to month (``RecordType.carried_forward``), in schema order."""
    return tuple(name for name, rt in RECORD_TYPES.items() if rt.carried_forward)


@dataclass(frozen=True)
class Confirmation:
    type_name: str
    label: str
    count: int  # live records of the register
    status: str  # 本月无变化 / 本月有修改 / 待确认


def standing_confirmations(conn: Connection, org_code: str, period: str) -> list[Confirmation]:
    """Each standing register of a village's month: confirmed unchanged, edited in the month, or not yet.

    Readable wherever the month's period record is (the township and county get it by sync)."""
    start, end = month_bounds(period)
    first = dt.datetime.combine(start, dt.time(), tzinfo=dt.timezone.utc)  # month_bounds: end is exclusive
    last = dt.datetime.combine(end, dt.time(), tzinfo=dt.timezone.utc)
    st = state(conn, org_code, period)
    out = []
    for name in standing_types():
        t = table_for(name)
        mine = [t.c.org_code == org_code]
        if name == "org_year":
            mine.append(t.c.year == start.year)
        count = conn.execute(select(func.count()).select_from(t).where(t.c.deleted.is_(False), *mine)).scalar_one()
        edited = conn.execute(select(func.count()).select_from(t).where(
            *mine, t.c.updated_at >= first, t.c.updated_at < last)).scalar_one()
        label = RECORD_TYPES[name].label
        status = UNCHANGED if label in st.confirmed else (EDITED if edited else UNCONFIRMED)
        out.append(Confirmation(name, label, count, status))
    return out
