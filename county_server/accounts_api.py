"""Account management over HTTP, for the 账号管理 page of a county or township PC.

``GET /accounts`` → the accounts the caller may see (role, org unit, state, last sign-in, sign-in lock,
its signed-in PCs).  ``POST /accounts/action`` → one action on one account: ``create`` (a one-time
password, changed at the first sign-in), ``reset-password``, ``disable``, ``enable``, ``unlock``,
``set-role`` (role and org unit together; the account's PCs must sign in again), ``revoke-device``.

Who may manage whom (``refusal``): a county account the village, township and county accounts of its
county; a township account the village accounts of its villages; an admin account everyone; a village
account no one.  Nobody changes their own account here (``taizhang passwd`` is for one's own password).
Every action is recorded in ``server_admin_log`` with the signed-in account as actor, like the
server's own ``taizhang-server admin`` commands.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from county_server import accounts as A
from county_server import policy
from county_server.auth import ROLE_LABELS, ROLES, Principal
from county_server.deps import ApiError, current_principal
from county_server.errors import responses
from sync import limits

router = APIRouter(tags=["账号"])

# the roles each role may manage (and create)
MANAGES = {"admin": ROLES, "county": ("village", "township", "county"), "township": ("village",), "village": ()}


class AccountDevice(BaseModel):
    id: str = Field(description="设备编号（服务器端）")
    device_name: str = Field(description="电脑名称")
    created_at: str | None = Field(None, description="首次登录时间（UTC，ISO 8601）")
    last_seen: str | None = Field(None, description="最近同步时间（UTC，ISO 8601）")


class AccountRow(BaseModel):
    name: str
    role: str = Field(description="village / township / county / admin")
    role_label: str = Field(description="角色（中文）")
    org_code: str
    org_name: str = Field("", description="单位名称（组织机构中没有时为空）")
    state: Literal["active", "disabled", "must_change_password"]
    state_label: str = Field(description="状态（中文）：正常 / 已停用 / 待改密码")
    last_login: str | None = Field(None, description="最近登录时间（UTC，ISO 8601）")
    locked_until: str | None = Field(None, description="因多次输错密码而锁定到何时（UTC）；未锁定为空")
    manageable: bool = Field(description="本账号能否管理它")
    devices: list[AccountDevice] = Field(description="已登录（未撤销）的电脑")


class AccountList(BaseModel):
    accounts: list[AccountRow]
    creatable_roles: list[str] = Field(description="本账号可以创建的角色")


class AccountAction(BaseModel):
    action: Literal["create", "reset-password", "disable", "enable", "unlock", "set-role", "revoke-device"]
    name: str = Field(min_length=1, max_length=limits.MAX_NAME_CHARS, description="账号的用户名")
    role: str | None = Field(None, max_length=20, description="create、set-role：新的角色")
    org_code: str | None = Field(None, max_length=limits.MAX_ORG_CODE_CHARS,
                                 description="create、set-role：账号所属单位的12位区划代码")
    device_id: str | None = Field(None, max_length=limits.MAX_ID_CHARS, description="revoke-device：设备编号")


class AccountActionResult(BaseModel):
    message: str = Field(description="结果（中文）")
    one_time_password: str | None = Field(None, description="create、reset-password：一次性密码（只显示这一次）")
    account: AccountRow | None = None


def actor_of(p: Principal) -> str:
    return f"{p.name}（{ROLE_LABELS.get(p.role, p.role)}，{p.org_code}）"


def refusal(p: Principal, role: str, org_code: str) -> str | None:
    """Why ``p`` may not manage an account of ``role`` at ``org_code`` (Chinese), or None if it may."""
    allowed = MANAGES.get(p.role, ())
    if not allowed:
        return "村(社区)账号不能管理账号，请联系乡镇或县民政局"
    if role not in allowed:
        who = "、".join(ROLE_LABELS[r] for r in allowed)
        return f"{ROLE_LABELS.get(p.role, p.role)}账号只能管理{who}账号，{ROLE_LABELS.get(role, role)}账号请联系县民政局信息管理员"
    if not policy.in_scope(p, org_code):
        return f"{org_code}不在本账号（{p.org_code}）的管辖范围内"
    return None


def _when(value) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _rows(app_state, p: Principal, names: list[str] | None = None) -> list[AccountRow]:
    from county_server import throttle
    from storage.repository import org_unit_id

    accounts = [a for a in A.list_accounts(app_state.engine) if policy.in_scope(p, a["org_code"])
                and (names is None or a["name"] in names)]
    devices = A.account_devices(app_state.engine, [a["id"] for a in accounts])
    locks = {row["key"]: row["locked_until"] for row in throttle.current_locks(app_state.engine)}
    org_names: dict[str, str] = {}
    out = []
    for a in accounts:
        code = a["org_code"]
        if code not in org_names:
            org_names[code] = (app_state.repo.get("org_unit", org_unit_id(code)) or {}).get("name") or ""
        state = "disabled" if a["disabled"] else "must_change_password" if a["must_change_password"] else "active"
        out.append(AccountRow(
            name=a["name"], role=a["role"], role_label=ROLE_LABELS.get(a["role"], a["role"]), org_code=code,
            org_name=org_names[code], state=state,
            state_label={"disabled": "已停用", "must_change_password": "待改密码"}.get(state, "正常"),
            last_login=_when(a["last_login"]), locked_until=_when(locks.get(throttle.account_key(a["name"]))),
            manageable=a["name"] != p.name and refusal(p, a["role"], code) is None,
            devices=[AccountDevice(id=d["id"], device_name=d["device_name"], created_at=_when(d["created_at"]),
                                   last_seen=_when(d["last_seen"])) for d in devices.get(a["id"], [])]))
    return out


@router.get("/accounts", summary="账号列表：角色、单位、状态、最近登录、已登录的电脑", response_model=AccountList,
            responses=responses(403))
def list_accounts(request: Request, principal: Principal = Depends(current_principal)) -> AccountList:
    if not MANAGES.get(principal.role):
        raise ApiError(403, "forbidden", refusal(principal, "village", principal.org_code))
    return AccountList(accounts=_rows(request.app.state, principal), creatable_roles=list(MANAGES[principal.role]))


def _act(state, p: Principal, req: AccountAction) -> AccountActionResult:
    """One action, checked and recorded; raises ApiError."""
    engine, actor, name = state.engine, actor_of(p), req.name.strip()
    try:
        if req.action == "create":
            role, org = _role_and_org(state, p, req)
            one_time = A.create_account(engine, name, role, org, actor=actor)
            return AccountActionResult(message=f"账号 {name} 已创建", one_time_password=one_time,
                                       account=_only(state, p, name))
        if name == p.name:
            raise ApiError(403, "forbidden", "不能在这里更改自己的账号；修改自己的密码请用 taizhang passwd")
        target = A.get_account(engine, name)
        why = refusal(p, target["role"], target["org_code"])
        if why:
            raise ApiError(403, "forbidden", why)
        if req.action == "reset-password":
            one_time = A.reset_password(engine, name, actor=actor)
            message = f"账号 {name} 的密码已重置：一次性密码只能用来在下次登录时设置新密码"
            return AccountActionResult(message=message, one_time_password=one_time, account=_only(state, p, name))
        if req.action in ("disable", "enable"):
            A.set_disabled(engine, name, req.action == "disable", actor=actor)
            message = (f"账号 {name} 已停用：它的所有电脑在下一次请求时即被拒绝" if req.action == "disable"
                       else f"账号 {name} 已启用")
        elif req.action == "unlock":
            was = A.unlock_account(engine, name, actor=actor)
            message = f"账号 {name} 已解锁" if was else f"账号 {name} 没有被锁定，失败次数已清零"
        elif req.action == "set-role":
            role, org = _role_and_org(state, p, req)
            signed_out = A.set_role(engine, name, role, org, actor=actor)
            message = (f"账号 {name} 现在是{ROLE_LABELS[role]}账号（{org}）"
                       + (f"；它登录过的 {signed_out} 台电脑须重新登录" if signed_out else ""))
        else:  # revoke-device
            if not req.device_id:
                raise ApiError(400, "bad_request", "请选择要撤销登录的电脑")
            row = A.revoke_account_device(engine, name, req.device_id, actor=actor)
            message = f"电脑“{row['device_name']}”已撤销登录：它下次同步时需要重新登录"
    except ValueError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    return AccountActionResult(message=message, account=_only(state, p, name))


def _role_and_org(state, p: Principal, req: AccountAction) -> tuple[str, str]:
    """The role and org unit a create or set-role asks for, checked: known unit, within reach."""
    from storage.repository import org_unit_id

    from county_server.auth import check_role_and_org

    role, org = (req.role or "").strip(), (req.org_code or "").strip()
    try:
        check_role_and_org(role, org)
    except ValueError as exc:
        raise ApiError(400, "bad_request", str(exc).replace("请用 --org 指定", "请填写")) from None
    why = refusal(p, role, org)
    if why:
        raise ApiError(403, "forbidden", why)
    if state.repo.get("org_unit", org_unit_id(org)) is None:
        raise ApiError(400, "bad_request", f"区划代码 {org} 不在服务器的组织机构中，请核对，或请县里先导入组织机构")
    return role, org


def _only(state, p: Principal, name: str) -> AccountRow | None:
    rows = _rows(state, p, [name])
    return rows[0] if rows else None


@router.post("/accounts/action", summary="对一个账号执行一项管理操作（每次都记录）",
             response_model=AccountActionResult, responses=responses(403))
async def account_action(req: AccountAction, request: Request,
                         principal: Principal = Depends(current_principal)) -> AccountActionResult:
    if not MANAGES.get(principal.role):
        raise ApiError(403, "forbidden", refusal(principal, "village", principal.org_code))
    return await run_in_threadpool(_act, request.app.state, principal, req)
