"""The period's transitions as local writes: submit, withdraw, resubmit, approve, return, accept, reopen,
and the clerk's confirmation that standing registers did not change this month."""

from __future__ import annotations

from typing import Iterable

from storage.models import utcnow
from storage.periods.checklist import completeness, standing_types
from storage.periods.months import month_bounds, period_id, period_label
from storage.periods.reasons import RecordNote, format_reason
from storage.periods.rules import ACTION_LABELS, ACTIONS, may_act
from storage.periods.states import (ACCEPTED, APPROVED, NOT_SUBMITTED, RETURNED, SUBMITTED, PeriodState,
                                    get_state)
from storage.repository import WriteRefused
from storage.schema import RECORD_TYPES


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


def confirm_unchanged(repo, org_code: str, period: str, type_names: Iterable[str]) -> PeriodState:
    """Record that these standing registers did not change this month (on the month's period record)."""
    labels = []
    for name in type_names:
        if name not in standing_types():
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
    return [RECORD_TYPES[n].label for n in standing_types()]
