"""``taizhang-server admin users|disable|enable|reset-password|set-role|audit``: accounts at the county.

Every action is recorded (``server_admin_log``) with the operating-system user who ran it;
``admin audit`` lists the record.  ``admin devices [NAME]`` (in cmd_admin) lists one account's PCs.
"""

from __future__ import annotations

import argparse

from storage.cli import UserError


def _engine(args):
    from county_server.models import create_server_tables
    from storage.db import open_server_database

    engine = open_server_database(args.db)
    create_server_tables(engine)
    return engine


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _users(args) -> int:
    from county_server.accounts import list_accounts
    from county_server.auth import ROLE_LABELS

    rows = list_accounts(_engine(args))
    if not rows:
        print("还没有账号，请用 admin add-user 创建")
        return 0
    print("账号          角色          单位代码      状态          最近登录（UTC）     有效设备")
    for r in rows:
        state = "已停用" if r["disabled"] else ("待改密码" if r["must_change_password"] else "正常")
        print(f"{r['name']:<12}  {ROLE_LABELS.get(r['role'], r['role']):<10}  {r['org_code']}  {state:<10}  "
              f"{_when(r['last_login']):<16}  {r['devices']}")
    print(f"共 {len(rows)} 个账号")
    return 0


def _set_disabled(args, disabled: bool) -> int:
    from county_server.accounts import set_disabled

    try:
        acc = set_disabled(_engine(args), args.name, disabled)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if disabled:
        print(f"账号 {acc['name']} 已停用：它的所有电脑在下一次请求时即被拒绝，不能再登录或同步")
    else:
        print(f"账号 {acc['name']} 已启用")
    return 0


def _reset_password(args) -> int:
    from county_server.accounts import reset_password

    try:
        one_time = reset_password(_engine(args), args.name)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(f"账号 {args.name.strip()} 的一次性密码：{one_time}")
    print("请当面或电话告知本人。它只能用来在下次登录时设置新密码（taizhang login 会要求输入新密码）；"
          "本密码不会再次显示。")
    return 0


def _set_role(args) -> int:
    from county_server.accounts import set_role
    from county_server.auth import ROLE_LABELS
    from storage.repository import Repository, org_unit_id

    engine = _engine(args)
    if Repository(engine).get("org_unit", org_unit_id(args.org)) is None:
        raise UserError(f"区划代码 {args.org} 还不在服务器的组织机构中，请先用 admin load-orgs 导入组织机构")
    try:
        signed_out = set_role(engine, args.name, args.role, args.org)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(f"账号 {args.name.strip()} 现在是{ROLE_LABELS[args.role]}账号（{args.org}）"
          + (f"；它登录过的 {signed_out} 台电脑须重新登录" if signed_out else ""))
    return 0


def _audit(args) -> int:
    from county_server.accounts import admin_log

    rows = admin_log(_engine(args), args.limit)
    if not rows:
        print("还没有管理操作记录")
        return 0
    for r in rows:
        print(f"{_when(r['at'])}  {r['actor']:<24}  {r['action']:<16}  {r['target']:<14}  {r['detail']}")
    return 0


def add_account_arguments(p: argparse.ArgumentParser) -> None:
    """An account's name, role and unit: ``admin add-user`` and ``admin set-role`` ask the same."""
    p.add_argument("name", help="用户名")
    p.add_argument("--role", required=True, choices=["village", "township", "county", "admin"],
                   help="角色：village 村(社区)、township 乡镇、county 县、admin 管理员")
    p.add_argument("--org", required=True, help="账号所属单位的12位区划代码")


def register_admin(asub: argparse._SubParsersAction) -> None:
    p = asub.add_parser("users", help="列出账号：角色、单位、状态、最近登录、有效设备数")
    p.set_defaults(func=_users)
    p = asub.add_parser("disable", help="停用账号（它的电脑在下一次请求时即被拒绝）")
    p.add_argument("name", help="用户名")
    p.set_defaults(func=lambda a: _set_disabled(a, True))
    p = asub.add_parser("enable", help="重新启用账号")
    p.add_argument("name", help="用户名")
    p.set_defaults(func=lambda a: _set_disabled(a, False))
    p = asub.add_parser("reset-password", help="重置密码：显示一个一次性密码，本人下次登录时必须改成新密码")
    p.add_argument("name", help="用户名")
    p.set_defaults(func=_reset_password)
    p = asub.add_parser("set-role", help="更改账号的角色和所属单位（调动岗位时；它的电脑须重新登录）")
    add_account_arguments(p)
    p.set_defaults(func=_set_role)
    p = asub.add_parser("audit", help="管理操作记录（谁在何时对哪个账号做了什么）")
    p.add_argument("--limit", type=int, default=200, help="最多显示多少条（默认 200，最新的在前）")
    p.set_defaults(func=_audit)
