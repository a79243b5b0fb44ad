"""Who may write and read what on the county server.

Scope (issue 4): a village account writes only its own org unit, a township
account only its villages (and its own township-level records), a county
account its county, an admin everything.  Org units are maintained by the
county (``admin load-orgs``); village and township accounts cannot change them.

Every pushed change passes ``check_change`` before the repository applies it;
a refusal becomes a ``rejected`` outcome with the Chinese reason and a
``server_rejection`` row.
"""

from __future__ import annotations

from sqlalchemy import Connection

from county_server.auth import ROLE_LABELS, Principal
from storage import periods
from storage.orgcode import OrgCode, Scope
from storage.repository import Change
from storage.schema import RECORD_TYPES


def write_scope(p: Principal) -> Scope:
    """The org units this account may write (and reads back): its own unit's area; everything for an admin."""
    return Scope.everything() if p.role == "admin" else OrgCode(p.org_code).scope


def write_prefixes(p: Principal) -> list[str]:
    """``write_scope`` as org-code prefixes (the form the sync summary sends to clients)."""
    return [write_scope(p).prefix]


def org_unit_scope(p: Principal) -> Scope:
    """Org units every account pulls: the whole county tree (names of neighbours, the township, the county)."""
    return Scope.everything() if p.role == "admin" else OrgCode(p.org_code).county.scope


def org_unit_prefix(p: Principal) -> str:
    return org_unit_scope(p).prefix


def in_scope(p: Principal, org_code: str | None) -> bool:
    return write_scope(p).contains(org_code)


def may_read(p: Principal, record_type: str, org_code: str | None) -> bool:
    """Records in the account's scope, and the county-maintained registry of its whole county."""
    rt = RECORD_TYPES.get(record_type)
    return in_scope(p, org_code) or (rt is not None and rt.county_maintained
                                     and org_unit_scope(p).contains(org_code))


def read_filter(p: Principal, org_code_col, type_col=None, *, record_type: str | None = None):
    """``may_read`` as a SQL condition: over a column of record types (the change log), or for the
    rows of one ``record_type``'s table."""
    from sqlalchemy import and_, or_

    clauses = [write_scope(p).sql(org_code_col)]
    registry = [name for name, rt in RECORD_TYPES.items() if rt.county_maintained]
    if type_col is not None:
        clauses.append(and_(type_col.in_(registry), org_unit_scope(p).sql(org_code_col)))
    elif record_type in registry:
        clauses.append(org_unit_scope(p).sql(org_code_col))
    return or_(*clauses)


def _who(p: Principal) -> str:
    return f"账号“{p.name}”（{ROLE_LABELS.get(p.role, p.role)}，{p.org_code}）"


_SCOPE_OK: dict[tuple, bool] = {}


def check_change(conn: Connection, p: Principal, change: Change, old: dict | None) -> str | None:
    """A Chinese refusal if this account may not make this change, else None."""
    old_org = old.get("org_code") if old is not None else None
    key = (p.role, p.org_code, change.record_type, change.org_code, change.payload.get("org_code"), old_org)
    # a month's submission record is checked every time: whether it may move depends on its state
    rt = RECORD_TYPES.get(change.record_type)
    cacheable = rt is not None and not rt.month_workflow
    if cacheable and _SCOPE_OK.get(key):
        return None  # the same account, type and org units passed a moment ago (a batch repeats them)
    refusal = _check_change(conn, p, change, old)
    if refusal is None and cacheable and len(_SCOPE_OK) < 50_000:
        _SCOPE_OK[key] = True
    return refusal


def _check_change(conn: Connection, p: Principal, change: Change, old: dict | None) -> str | None:
    rt = RECORD_TYPES.get(change.record_type)
    if rt is None:
        return f"未知的记录类型“{change.record_type}”，请升级台账程序"
    payload_org = change.payload.get("org_code")
    if payload_org != change.org_code:
        return f"这条{rt.label}的区划代码前后不一致（{change.org_code} 与 {payload_org}），已拒绝"
    if change.record_type == "disclosure" and (change.op != "insert" or old is not None):
        return "个人信息查看导出记录只能新增，不能修改或删除，服务器已拒绝并记录"
    if rt.county_maintained and p.role not in ("county", "admin"):
        return (f"{rt.label}（{change.org_code}）由县民政局统一维护，{_who(p)}不能新建或修改。"
                "本机的这项修改已撤回，如需更正名称或城乡分类请联系县民政局")
    if not in_scope(p, change.org_code):
        return (f"这条{rt.label}属于{change.org_code}，不在{_who(p)}的管辖范围内，"
                "服务器已拒绝并记录。请检查这条记录的所属单位")
    if old is not None and not in_scope(p, old.get("org_code")):
        return (f"这条{rt.label}原属于{old.get('org_code')}，不在{_who(p)}的管辖范围内，"
                "不能把它改到本单位，服务器已拒绝并记录")
    if p.role == "village" and not rt.township_allowed and change.org_code != p.org_code:
        return f"{rt.label}只能属于本村(社区){p.org_code}"
    return period_workflow_check(conn, p, change)


def period_workflow_check(conn: Connection, p: Principal, change: Change) -> str | None:
    """The month-end workflow's rule (``storage.periods.check_change``).

    Called for every pushed change after the scope check.  ``storage.periods.check_change``
    decides whether this role may make a ``period`` record's transition.  Writes into a
    locked (accepted) month are refused by the repository's ``lock_guard``, which every
    Repository carries, so they come back as ``rejected`` from ``apply_change``.
    """
    return periods.check_change(conn, change, p.role, p.org_code)
