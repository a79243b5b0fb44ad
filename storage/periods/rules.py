"""Who may move a period where: the actions, the roles and their scopes, the transition check on a
``period`` record, and the server policy's rule for a synced change."""

from __future__ import annotations

from sqlalchemy import Connection, select

from storage.models import table_for
from storage.orgcode import OrgCode
from storage.periods.months import period_id, period_label
from storage.periods.states import ACCEPTED, APPROVED, NOT_SUBMITTED, RETURNED, SUBMITTED, state
from storage.schema import RECORD_TYPES

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
