"""Month-end periods (填报期, domain.md §3.6): states, who may move them, completeness, locks.

A period is one calendar month (``YYYY-MM``) of one village (or township).
Its state lives in a ``period`` record (storage.schema PERIOD) written through
the Repository, so every transition is in the change log, audited, and
carried by sync and offline packages like any other change.  The record id is
derived from (org code, month), so the village, the township and the county
all name the same record and never create two.

States and transitions (DHIS2's data approval with reasons added)::

    未提交 ──submit(村)──▶ 已提交 ──approve(乡镇)──▶ 乡镇已审核 ──accept(县)──▶ 县已接收
       ▲                    │  ▲                        │                         │
       │                    │  └──────submit(村)─ 已退回 ◀─return(乡镇/县)─┘        │
       │                    └──return(乡镇/县)──▶ 已退回 ◀──────reopen(县, 须填原因)──┘

Which records belong to a period: a record whose type has a ``date_field``
(服务记录、培训记录、服务时长) belongs to the month of that date, for its own
``org_code``.  Standing registers (设施、工作者、志愿者、队伍、社会组织、年度数据)
have no month: they are checked when a village submits but are never locked,
because a facility or a person outlives any one month.

Locks: a period in 县已接收 is read-only everywhere — every Repository carries
``lock_guard`` (installed in ``Repository.__init__``), so a local edit, an
Excel import, a sync batch on the server and an offline package are all
refused with the same Chinese reason.  Only the county reopens (→ 已退回, with
a reason).  Edits to a submitted or township-approved period are allowed but
send it back to review: ``PeriodState.changed_after`` is set when a record of
the month changed after the last submit/review, the township sees 提交后有修改,
and the county cannot accept until the township has reviewed again.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import Connection, func, select

from storage.models import ORG_NAMESPACE, Conflict, table_for, utcnow
from storage.orgcode import OrgCode
from storage.repository import WriteRefused
from storage.schema import RECORD_TYPES, RecordType
from storage.validation import check_record
from storage.visits import village_month

NOT_SUBMITTED = "未提交"
SUBMITTED = "已提交"
APPROVED = "乡镇已审核"
ACCEPTED = "县已接收"
RETURNED = "已退回"
STATES = (NOT_SUBMITTED, SUBMITTED, APPROVED, ACCEPTED, RETURNED)

ROLES = ("village", "township", "county", "admin")
ROLE_LABELS = {"village": "村(社区)", "township": "乡镇/街道", "county": "县民政局", "admin": "管理员"}

# action -> (allowed from-states, to-state, role that may do it)
ACTIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "submit": ((NOT_SUBMITTED, RETURNED), SUBMITTED, "village"),
    "approve": ((SUBMITTED,), APPROVED, "township"),
    "return": ((SUBMITTED, APPROVED), RETURNED, "township"),  # the county may return too, see may_act
    "accept": ((APPROVED,), ACCEPTED, "county"),
    "reopen": ((ACCEPTED,), RETURNED, "county"),
    # the village takes back a submission the township has not reviewed yet
    "withdraw": ((SUBMITTED,), NOT_SUBMITTED, "village"),
    # records changed after the submission or the township's review: submit again (back to review)
    "resubmit": ((SUBMITTED, APPROVED), SUBMITTED, "village"),
}
ACTION_LABELS = {"submit": "提交", "approve": "审核通过", "return": "退回", "accept": "接收", "reopen": "重新打开",
                 "withdraw": "撤回", "resubmit": "重新提交"}

# What a village must have for a month before it can submit (the plans' 工作台账: services rendered
# that month; the standing registers must exist at all) is declared on the record types
# (``RecordType.required_in_month`` / ``required_standing``).


def dated_types() -> tuple[str, ...]:
    """Record types a date places in a month (the month lock applies to them)."""
    return tuple(name for name, rt in RECORD_TYPES.items() if rt.date_field and not rt.month_workflow)


# Registers that carry from month to month; each month the clerk confirms each one unchanged or edits it.
STANDING_TYPES = ("org_year", "facility", "staff", "volunteer_team", "volunteer", "social_org")
UNCHANGED, EDITED, UNCONFIRMED = "本月无变化", "本月有修改", "待确认"

DEFAULT_DEADLINE_DAY = 5  # a month's report is due by the 5th of the next month (setting period_deadline_day)
BEIJING = dt.timezone(dt.timedelta(hours=8))

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")
_BODY_RE = re.compile(r"^[^（(：:]*(?:[（(](?P<summary>.*?)[）)])?[：:](?P<note>.*)$")
_NOTE_RE = re.compile(r"\s*\[record:(\w+):([0-9a-f-]{36})\]\s*$")


# --------------------------------------------------------------------------- periods as months


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


# --------------------------------------------------------------------------- reasons with per-record notes


@dataclass(frozen=True)
class RecordNote:
    record_type: str
    record_id: str
    note: str
    summary: str = ""  # e.g. "2024-03-05 养老" so the line reads well without the app


NOTE_SEP = " ▶ "  # stored text fields fold newlines, so per-record notes are joined with a marker


def format_reason(general: str, notes: Iterable[RecordNote] = ()) -> str:
    """A reason text: the general reason, then one item per record with a machine-readable marker."""
    parts = [" ".join((general or "").split())]
    for n in notes:
        label = RECORD_TYPES[n.record_type].label
        parts.append(f"{label}{'（' + n.summary + '）' if n.summary else ''}：{' '.join(n.note.split())} "
                     f"[record:{n.record_type}:{n.record_id}]")
    return NOTE_SEP.join(p for p in parts if p)


def parse_reason(reason: str | None) -> tuple[str, list[RecordNote]]:
    """Split a reason into its general text and the per-record notes (markers removed)."""
    general, notes = [], []
    for part in (reason or "").split(NOTE_SEP.strip()):
        part = part.strip()
        m = _NOTE_RE.search(part)
        if m:
            body = part[:m.start()]  # stored text is NFKC-normalised: （）： may have become ():
            b = _BODY_RE.match(body)
            summary, note = (b.group("summary") or "", b.group("note")) if b else ("", body)
            notes.append(RecordNote(m.group(1), m.group(2), note.strip(), summary.strip()))
        elif part:
            general.append(part)
    return " ".join(general), notes


def display_reason(reason: str | None) -> str:
    """The reason as a person reads it: general text, then one line per record (markers removed)."""
    parts = [p.strip() for p in (reason or "").split(NOTE_SEP.strip())]
    lines = [_NOTE_RE.sub("", p) for p in parts if p]
    if len(lines) <= 1:
        return "\n".join(lines)
    return "\n".join([lines[0]] + ["· " + line for line in lines[1:]])


# --------------------------------------------------------------------------- state


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


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.datetime) else str(value)


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


def month_counts(repo, org_code: str, period: str) -> dict[str, int]:
    """The month's live records per dated type (what a submission covers), by type name."""
    start, end = month_bounds(period)
    out: dict[str, int] = {}
    with repo.engine.connect() as conn:
        for name in dated_types():
            t = table_for(name)
            col = t.c[RECORD_TYPES[name].date_field]
            out[name] = conn.execute(select(func.count()).select_from(t).where(
                t.c.org_code == org_code, t.c.deleted.is_(False), col >= start, col < end)).scalar_one()
    return out


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


# --------------------------------------------------------------------------- who may do what


def in_scope(role: str, actor_org: str, target_org: str) -> bool:
    if role == "admin":
        return True
    if role == "village":
        return actor_org == target_org
    if role == "township":
        return OrgCode(actor_org).scope.contains(target_org)
    if role == "county":
        return OrgCode(actor_org).county.scope.contains(target_org)
    return False


def action_between(old_status: str, new_status: str) -> str | None:
    if old_status == new_status:
        return None
    for name, (froms, to, _role) in ACTIONS.items():
        if to == new_status and old_status in froms:
            if name == "return" and old_status == ACCEPTED:
                continue
            return name
    return None


def may_act(role: str, action: str, actor_org: str | None = None, target_org: str | None = None) -> str | None:
    """None if this role may do this action on this org's period, else a Chinese refusal."""
    _froms, _to, needed = ACTIONS[action]
    label = ACTION_LABELS[action]
    allowed = {needed, "admin"}
    if action == "return":
        allowed.add("county")  # the county may send back what a township approved
    if role not in allowed:
        who = "或".join(dict.fromkeys(ROLE_LABELS[r] for r in (needed, "county") if r in allowed))
        return f"{ROLE_LABELS.get(role, role)}账号不能{label}填报期，只有{who}可以{label}"
    if actor_org and target_org and not in_scope(role, actor_org, target_org):
        return f"{target_org}不在本账号（{actor_org}）的管辖范围内，不能{label}它的填报期"
    return None


def check_transition(old: dict | None, new: dict, *, role: str | None = None,
                     actor_org: str | None = None) -> str | None:
    """Validate a change of a ``period`` record; ``role`` None means "not known here" (skip role check)."""
    old_status = (old or {}).get("status") if old and not old.get("deleted") else NOT_SUBMITTED
    old_status = old_status or NOT_SUBMITTED
    new_status = new.get("status") or NOT_SUBMITTED
    period = new.get("period")
    if old and old.get("period") and old.get("org_code") and (
            old["period"] != period or old["org_code"] != new.get("org_code")):
        return "填报期记录的单位和月份不能修改"
    if new.get("deleted") and not (old or {}).get("deleted"):
        return "填报期记录不能删除"
    if old_status == new_status:
        # same state: only the reason may be completed (e.g. a typo in a return reason), never in a lock
        if old_status == ACCEPTED and (old or {}).get("reason") != new.get("reason"):
            return f"{period_label(period)}已由县民政局接收，已锁定，不能修改"
        return None
    action = action_between(old_status, new_status)
    if action is None:
        if new_status == NOT_SUBMITTED and old_status in (APPROVED, ACCEPTED):
            return f"{period_label(period)}的月报乡镇已审核（{old_status}），不能再撤回；如需更正请联系乡镇退回"
        return f"填报期状态不能从“{old_status}”直接改为“{new_status}”"
    if action in ("return", "reopen") and not (new.get("reason") or "").strip():
        return f"{ACTION_LABELS[action]}填报期必须填写原因"
    if role is not None:
        return may_act(role, action, actor_org, new.get("org_code"))
    return None


# --------------------------------------------------------------------------- locks (Repository guard)

_cache = threading.local()  # .locked: (transaction, its set); one entry per thread


def _locked_set(conn: Connection) -> set[tuple[str, str]]:
    """(org code, period) pairs that are locked; cached for the current transaction.

    Keyed by the innermost one: a savepoint rolled back (a pulled page retried change by change)
    may have locked or unlocked a month, so what was read inside it must not outlive it.
    Every write asks (a bulk write 100,000 times), so the cache is a thread-local attribute
    rather than ``conn.info``, which cost twice as much to reach.
    """
    txn = conn.get_nested_transaction() or conn.get_transaction()
    cached = getattr(_cache, "locked", None)
    if cached is not None and cached[0] is txn:
        return cached[1]
    t = table_for("period")
    rows = conn.execute(select(t.c.org_code, t.c.period).where(
        t.c.status == ACCEPTED, t.c.deleted.is_(False))).all()
    locked = {(r[0], r[1]) for r in rows}
    if txn is not None:  # outside a transaction nothing identifies what was read
        _cache.locked = (txn, locked)
    return locked


def forget_locked_periods() -> None:
    """Drop this thread's cached locks: a period record was just written."""
    _cache.locked = None


def lock_refusal(org_code: str, period: str, label: str) -> str:
    return (f"{period_label(period)}的台账已由县民政局接收并锁定，不能新增、修改或删除该月的{label}。"
            "如确需更正，请联系县民政局重新打开该填报期")


def lock_guard(conn: Connection, rt: RecordType, op: str, new: dict, old: dict | None) -> str | None:
    """Repository guard: no write into an accepted period; period records follow the state machine."""
    if rt.month_workflow:
        forget_locked_periods()  # this write may lock or unlock a month
        return check_transition(old, new)
    if not rt.date_field:
        return None
    locked = _locked_set(conn)
    if not locked:
        return None
    for values in (new, old):
        if not values:
            continue
        p = period_of(values.get(rt.date_field))
        if p and (values.get("org_code"), p) in locked:
            return lock_refusal(values.get("org_code"), p, rt.label)
    return None


# --------------------------------------------------------------------------- completeness check


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
                f"共 {n} 条" if n else f"还没有{rt.label}记录，请在“{rt.label}”页录入"))
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
    for name in STANDING_TYPES:
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


def confirm_unchanged(repo, org_code: str, period: str, type_names: Iterable[str]) -> PeriodState:
    """Record that these standing registers did not change this month (on the month's period record)."""
    labels = []
    for name in type_names:
        if name not in STANDING_TYPES:
            raise PeriodError(f"“{RECORD_TYPES[name].label if name in RECORD_TYPES else name}”不是逐月结转的台账，"
                              "不需要确认")
        labels.append(RECORD_TYPES[name].label)
    st = get_state(repo, org_code, period)
    if st.status not in (NOT_SUBMITTED, RETURNED):
        raise PeriodError(f"{period_label(period)}当前状态为“{st.status}”，不能再确认台账；"
                          "如需更改，请先撤回或等待退回")
    confirmed = [x for x in _standing_labels() if x in st.confirmed or x in labels]
    return _write(repo, org_code, period, {"status": st.status, "confirmed": confirmed})


def _standing_labels() -> list[str]:
    return [RECORD_TYPES[n].label for n in STANDING_TYPES]


# --------------------------------------------------------------------------- transitions (local writes)


class PeriodError(WriteRefused):
    """A transition that may not happen now; Chinese message (a WriteRefused: shown as such everywhere)."""


def _write(repo, org_code: str, period: str, values: dict) -> PeriodState:
    pid = period_id(org_code, period)
    existing = repo.get("period", pid, include_deleted=True)
    if existing is None:
        repo.create("period", {"org_code": org_code, "period": period, **values}, record_id=pid)
    else:
        repo.update("period", pid, values, expected_version=existing["version"])
    return get_state(repo, org_code, period)


def _now_iso() -> str:
    return utcnow().isoformat()


def _check(repo, action: str, org_code: str, period: str, role: str, actor_org: str | None) -> PeriodState:
    month_bounds(period)
    refusal = may_act(role, action, actor_org, org_code)
    if refusal:
        raise PeriodError(refusal)
    st = get_state(repo, org_code, period)
    froms = ACTIONS[action][0]
    if st.status not in froms:
        raise PeriodError(f"{period_label(period)}当前状态为“{st.status}”，不能{ACTION_LABELS[action]}"
                          f"（只有“{'”或“'.join(froms)}”的填报期可以{ACTION_LABELS[action]}）")
    return st


def submit(repo, org_code: str, period: str, *, role: str = "village", actor_org: str | None = None) -> PeriodState:
    _check(repo, "submit", org_code, period, role, actor_org or org_code)
    return _submit(repo, org_code, period)


def _submit(repo, org_code: str, period: str) -> PeriodState:
    checklist = completeness(repo, org_code, period)
    if not checklist.ok:
        raise PeriodError(f"{period_label(period)}的台账还不能提交：{checklist.summary()}")
    return _write(repo, org_code, period, {"status": SUBMITTED, "submitted_at": _now_iso(),
                                           "submitted_by": repo.actor, "reason": None})


def resubmit(repo, org_code: str, period: str, *, role: str = "village", actor_org: str | None = None
             ) -> PeriodState:
    """Submit again after records of a submitted or approved month changed (back to the township's review)."""
    st = _check(repo, "resubmit", org_code, period, role, actor_org or org_code)
    if not st.needs_rereview:
        raise PeriodError(f"{period_label(period)}的月报提交后没有修改，不需要重新提交")
    return _submit(repo, org_code, period)


def withdraw(repo, org_code: str, period: str, *, role: str = "village", actor_org: str | None = None
             ) -> PeriodState:
    """Take a submission back before the township reviewed it (状态回到未提交)."""
    _check(repo, "withdraw", org_code, period, role, actor_org or org_code)
    return _write(repo, org_code, period, {"status": NOT_SUBMITTED, "submitted_at": None, "submitted_by": None})


def submit_or_resubmit(repo, org_code: str, period: str, **kw) -> PeriodState:
    """The month page's one submit button: first submission, after a return, or after later edits."""
    if get_state(repo, org_code, period).status in (SUBMITTED, APPROVED):
        return resubmit(repo, org_code, period, **kw)
    return submit(repo, org_code, period, **kw)


def approve(repo, org_code: str, period: str, *, role: str = "township", actor_org: str | None = None
            ) -> PeriodState:
    _check(repo, "approve", org_code, period, role, actor_org)
    return _write(repo, org_code, period, {"status": APPROVED, "reviewed_at": _now_iso(),
                                           "reviewed_by": repo.actor})


def return_period(repo, org_code: str, period: str, reason: str, *, notes: Iterable[RecordNote] = (),
                  role: str = "township", actor_org: str | None = None) -> PeriodState:
    notes = list(notes)
    if not (reason or "").strip() and not notes:
        raise PeriodError("退回填报期必须填写原因，写明哪里需要改正")
    _check(repo, "return", org_code, period, role, actor_org)
    text = format_reason(reason or "请按以下意见改正：", notes)
    return _write(repo, org_code, period, {"status": RETURNED, "reason": text[:1000],
                                           "reviewed_at": _now_iso(), "reviewed_by": repo.actor})


def accept(repo, org_code: str, period: str, *, role: str = "county", actor_org: str | None = None) -> PeriodState:
    st = _check(repo, "accept", org_code, period, role, actor_org)
    if st.needs_rereview:
        raise PeriodError(f"{period_label(period)}的台账在乡镇审核后又有修改，需乡镇重新审核后才能接收")
    return _write(repo, org_code, period, {"status": ACCEPTED, "accepted_at": _now_iso(),
                                           "accepted_by": repo.actor})


def reopen(repo, org_code: str, period: str, reason: str, *, role: str = "county",
           actor_org: str | None = None) -> PeriodState:
    if not (reason or "").strip():
        raise PeriodError("重新打开已接收的填报期必须填写原因")
    _check(repo, "reopen", org_code, period, role, actor_org)
    return _write(repo, org_code, period, {"status": RETURNED, "reason": f"县民政局重新打开：{reason.strip()}"[:1000],
                                           "accepted_at": None, "accepted_by": None})


# --------------------------------------------------------------------------- server-side rule (policy hook)


def check_change(conn: Connection, change, role: str, actor_org: str) -> str | None:
    """For the server's policy: may an account with this role and org make this change?

    Period records: the transition must be one this role may make, in scope.
    Everything else: the lock guard already runs in the Repository; here we
    only add that township and county accounts do not enter a village's
    records of a month that is under their review (they return it instead).
    """
    rt = RECORD_TYPES.get(change.record_type)
    if rt is None or not rt.month_workflow:
        return None
    t = table_for("period")
    old = conn.execute(select(t).where(t.c.id == change.record_id)).mappings().first()
    old = dict(old) if old else None
    new = dict(change.payload)
    if change.record_id != period_id(change.org_code, str(new.get("period"))):
        return "填报期记录编号与单位、月份不符，已拒绝"
    old_status = (old or {}).get("status") or NOT_SUBMITTED
    new_status = new.get("status") or NOT_SUBMITTED
    if old_status == new_status:
        # only the role that set this state may amend its wording; the village may not touch others' states
        if old_status in (APPROVED, ACCEPTED) and role == "village":
            return "村(社区)账号不能修改乡镇或县已处理的填报期"
        if old and old_status == RETURNED and role == "village" and old.get("reason") != new.get("reason"):
            return "村(社区)账号不能修改退回原因"
        return check_transition(old, new) if old else None
    refusal = check_transition(old, new, role=role, actor_org=actor_org)
    if refusal is None and old_status == APPROVED and new_status == SUBMITTED:
        if not state(conn, change.org_code, str(new.get("period"))).needs_rereview:
            return (f"{period_label(str(new.get('period')))}的月报乡镇已审核，审核后没有修改，"
                    "不需要重新提交")
    if refusal is None and old_status == APPROVED and new_status == ACCEPTED:
        if state(conn, change.org_code, str(new.get("period"))).needs_rereview:
            return (f"{period_label(str(new.get('period')))}的台账在乡镇审核后又有修改，"
                    "需乡镇重新审核后县里才能接收")
    return refusal


__all__ = [
    "NOT_SUBMITTED", "SUBMITTED", "APPROVED", "ACCEPTED", "RETURNED", "STATES", "ROLES", "ACTIONS",
    "PeriodState", "PeriodError", "Checklist", "CheckItem", "RecordNote",
    "period_of", "month_bounds", "previous_period", "recent_periods", "period_label", "deadline", "period_id",
    "format_reason", "parse_reason", "display_reason", "state", "get_state", "list_states", "returned_notices",
    "in_scope", "may_act", "check_transition", "lock_guard", "completeness",
    "submit", "approve", "return_period", "accept", "reopen", "check_change", "dated_types",
    "withdraw", "resubmit", "submit_or_resubmit", "next_step", "NextStep", "edit_notice", "month_counts",
    "records_changed_since",
]
