"""A period's state: the five states, the state read from its ``period`` record (with edits made after
the submission or review), the sentence the month page shows, and the notice a form shows before saving."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import Connection, func, select

from storage.models import table_for
from storage.periods.months import dated_types, month_bounds, period_id, period_label
from storage.schema import RECORD_TYPES

if TYPE_CHECKING:
    from storage.periods.checklist import Checklist

NOT_SUBMITTED = "未提交"
SUBMITTED = "已提交"
APPROVED = "乡镇已审核"
ACCEPTED = "县已接收"
RETURNED = "已退回"
STATES = (NOT_SUBMITTED, SUBMITTED, APPROVED, ACCEPTED, RETURNED)


@dataclass
class PeriodState:
    org_code: str
    period: str
    status: str = NOT_SUBMITTED
    reason: str | None = None
    version: int = 0
    submitted_at: str | None = None
    submitted_by: str | None = None
    reviewed_at: str | None = None
    reviewed_by: str | None = None
    accepted_at: str | None = None
    accepted_by: str | None = None
    changed_after: str | None = None  # ISO time of the last record edit after submit/review, if any
    changed_count: int = 0  # how many of the month's records were written after submit/review
    exists: bool = False
    confirmed: tuple[str, ...] = ()  # labels of the standing registers confirmed unchanged this month

    @property
    def locked(self) -> bool:
        return self.status == ACCEPTED

    @property
    def needs_rereview(self) -> bool:
        """Records changed after the village submitted or the township approved."""
        return self.status in (SUBMITTED, APPROVED) and self.changed_after is not None

    @property
    def display_status(self) -> str:
        if self.needs_rereview:
            return f"{self.status}（提交后有修改，待重新审核）"
        return self.status


def _state_from_row(org_code: str, period: str, row: dict | None) -> PeriodState:
    if not row or row.get("deleted"):
        return PeriodState(org_code, period)
    return PeriodState(org_code, period, status=row["status"] or NOT_SUBMITTED, reason=row.get("reason"),
                       version=row["version"], submitted_at=row.get("submitted_at"),
                       submitted_by=row.get("submitted_by"), reviewed_at=row.get("reviewed_at"),
                       reviewed_by=row.get("reviewed_by"), accepted_at=row.get("accepted_at"),
                       accepted_by=row.get("accepted_by"), exists=True,
                       confirmed=tuple(row.get("confirmed") or ()))


def last_record_change(conn: Connection, org_code: str, period: str) -> dt.datetime | None:
    """When a record of this village's month was last written (UTC)."""
    start, end = month_bounds(period)
    latest = None
    for name in dated_types():
        rt = RECORD_TYPES[name]
        t = table_for(name)
        col = t.c[rt.date_field]
        value = conn.execute(select(func.max(t.c.updated_at)).where(
            t.c.org_code == org_code, col >= start, col < end)).scalar()
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value is not None:
            value = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
            latest = value if latest is None or value > latest else latest
    return latest


def records_changed_since(conn: Connection, org_code: str, period: str, since: dt.datetime) -> int:
    """How many of this village's month's records (deleted ones too) were written after ``since`` (UTC)."""
    start, end = month_bounds(period)
    total = 0
    for name in dated_types():
        t = table_for(name)
        col = t.c[RECORD_TYPES[name].date_field]
        total += conn.execute(select(func.count()).select_from(t).where(
            t.c.org_code == org_code, col >= start, col < end, t.c.updated_at > since)).scalar_one()
    return total


def state(conn: Connection, org_code: str, period: str) -> PeriodState:
    t = table_for("period")
    row = conn.execute(select(t).where(t.c.id == period_id(org_code, period))).mappings().first()
    st = _state_from_row(org_code, period, dict(row) if row else None)
    if st.status in (SUBMITTED, APPROVED):
        mark = st.reviewed_at if st.status == APPROVED else st.submitted_at
        last = last_record_change(conn, org_code, period)
        if mark and last and last > dt.datetime.fromisoformat(mark):
            st.changed_after = last.isoformat()
            st.changed_count = max(1, records_changed_since(conn, org_code, period, _aware(mark)))
    return st


def _aware(iso: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(iso)
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


@dataclass(frozen=True)
class NextStep:
    """The month's state as one plain sentence, and the one thing to do next (an ACTIONS key or None)."""
    sentence: str
    action: str | None = None


def next_step(st: PeriodState, checklist: "Checklist | None" = None) -> NextStep:
    """What a village clerk reads at the top of the month page (village's point of view)."""
    if st.status in (NOT_SUBMITTED, RETURNED):
        action = "submit"
        first = "已退回，请按退回意见改正后重新提交" if st.status == RETURNED else "还没有提交"
        if checklist is not None and not checklist.ok:
            return NextStep(f"{first}。下面还有 {len(checklist.problems)} 项要先完成，完成后才能提交", None)
        return NextStep(f"{first}。检查都已通过，可以提交" if st.status == NOT_SUBMITTED
                        else f"{first}。检查都已通过，可以重新提交", action)
    if st.status == SUBMITTED:
        if st.needs_rereview:
            return NextStep(f"提交后又修改了 {st.changed_count} 条，请重新提交", "resubmit")
        return NextStep("已提交，等待乡镇审核。乡镇审核之前，如发现错误可以撤回", "withdraw")
    if st.status == APPROVED:
        if st.needs_rereview:
            return NextStep(f"乡镇审核后又修改了 {st.changed_count} 条，请重新提交，由乡镇重新审核", "resubmit")
        return NextStep("乡镇已审核通过，等待县民政局接收。不需要再做什么")
    return NextStep("县民政局已接收，本月台账已锁定。如确需更正，请联系县民政局重新打开")


def edit_notice(st: PeriodState) -> tuple[str, bool] | None:
    """Before a record of this month is saved: (what to tell the clerk, whether saving is refused)."""
    label = period_label(st.period)
    if st.status == ACCEPTED:
        return (f"{label}的台账已由县民政局接收并锁定，这条记录不能保存。"
                "如确需更正，请联系县民政局重新打开该填报期。", True)
    if st.status == SUBMITTED:
        return (f"{label}的月报已经提交，正在等待乡镇审核。\n保存这条记录后，需要在“月报与同步”中重新提交月报。", False)
    if st.status == APPROVED:
        return (f"{label}的月报乡镇已审核通过。\n保存这条记录后，需要重新提交月报，由乡镇重新审核。", False)
    return None


def get_state(repo, org_code: str, period: str) -> PeriodState:
    with repo.engine.connect() as conn:
        return state(conn, org_code, period)


def list_states(repo, org_codes: Iterable[str] | None = None, periods: Iterable[str] | None = None
                ) -> dict[tuple[str, str], PeriodState]:
    """All stored period records (optionally filtered), keyed by (org code, period)."""
    t = table_for("period")
    stmt = select(t).where(t.c.deleted.is_(False))
    if org_codes is not None:
        stmt = stmt.where(t.c.org_code.in_(list(org_codes)))
    if periods is not None:
        stmt = stmt.where(t.c.period.in_(list(periods)))
    with repo.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    return {(r["org_code"], r["period"]): _state_from_row(r["org_code"], r["period"], r) for r in rows}


def returned_notices(repo, org_code: str) -> list[PeriodState]:
    """Periods sent back to this village; they stay until the village resubmits."""
    states = list_states(repo, [org_code])
    return sorted((s for s in states.values() if s.status == RETURNED), key=lambda s: s.period)
