"""``taizhang-server admin disclosures`` and ``admin full-export-roles``: personal information at the county.

Disclosure records (full exports, ID numbers shown in full) are written on the PCs by
storage.disclosure and reach the county by sync or package; here they are listed.  Which roles may
export full numbers is a county setting, sent to every PC at its next sign-in.
"""

from __future__ import annotations

import argparse

from storage.cli import UserError


def _repo(args):
    from county_server.models import create_server_tables
    from storage.db import open_server_database
    from storage.repository import Repository

    engine = open_server_database(args.db)
    create_server_tables(engine)
    return Repository(engine, actor="县级服务器管理员")


def _disclosures(args) -> int:
    from storage.disclosure import list_disclosures

    rows = list_disclosures(_repo(args), args.org, limit=args.limit)
    if not rows:
        print("没有个人信息完整导出或查看的记录" + (f"（{args.org}）" if args.org else ""))
        return 0
    print("时间（UTC）                区划代码      操作人        方式              记录类型            条数  用途  文件")
    for r in rows:
        print(f"{r['at']:<26} {r['org_code']}  {r['actor'][:12]:<12}  {r['action']:<14}  {r['record_types'][:16]:<16}  "
              f"{r['row_count'] or 0:>5}  {r['purpose']}  {r['file_name'] or ''}")
    print(f"共 {len(rows)} 条")
    return 0


def _full_export_roles(args) -> int:
    from storage import disclosure

    repo = _repo(args)
    if args.roles:
        try:
            roles = disclosure.parse_roles(",".join(args.roles))
        except ValueError as exc:
            raise UserError(str(exc)) from None
        repo.set_setting(disclosure.S_FULL_EXPORT_ROLES, ",".join(roles))
        from county_server.accounts import record_action

        record_action(repo.engine, "full-export-roles", "", ",".join(roles))
        print("已设置：各电脑下次登录后生效。", end="")
    labels = "、".join(disclosure.ROLE_LABELS[r] for r in disclosure.full_export_roles(repo)) or "（无）"
    print(f"可以导出完整身份号码和手机号的角色：{labels}")
    return 0


def register_admin(asub: argparse._SubParsersAction) -> None:
    p = asub.add_parser("disclosures", help="个人信息完整导出和查看的记录（谁、何时、哪些记录、多少条、用途、文件）")
    p.add_argument("--org", help="只看这个区划代码（或其前缀，如乡镇的前9位）下的记录")
    p.add_argument("--limit", type=int, default=500, help="最多显示多少条（默认 500，最新的在前）")
    p.set_defaults(func=_disclosures)
    p = asub.add_parser("full-export-roles", help="查看或设置哪些角色可以导出完整的身份号码和手机号")
    p.add_argument("roles", nargs="*", metavar="角色", help="village、township、county、admin 中的若干个；不写则只显示当前设置")
    p.set_defaults(func=_full_export_roles)
    p = asub.add_parser("package-key", help="把数据包解密密钥导出到文件，交给需要在本机审核数据包的乡镇电脑（慎用）")
    p.add_argument("-o", "--output", required=True, help="密钥文件名（新文件，仅本用户可读）")
    p.set_defaults(func=_package_key)


def _package_key(args) -> int:
    """Write the county's package key to a file for a township collector's PC (``taizhang package-key FILE``)."""
    import os

    from county_server.cmd_packages import server_state
    from county_server.signing import encryption_key
    from storage.db import open_server_database
    from sync.package import x25519_private_text

    state = server_state(open_server_database(args.db), getattr(args, "receipt_key", None))
    key = encryption_key(state)
    out = args.output
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UserError(f"文件 {out} 已存在，为免覆盖，请换一个文件名") from None
    except OSError as exc:
        raise UserError(f"无法写入 {out}：{exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(x25519_private_text(key))
    from county_server.accounts import record_action

    record_action(state.engine, "package-key", str(out), "导出数据包解密密钥")
    print(f"已导出数据包解密密钥到 {out}。持有它的电脑能打开本县所有村的数据包（含身份号码和手机号）："
          "只交给确需在本机审核的乡镇收集员，在其电脑上运行 taizhang package-key 文件 后立即删除该文件。")
    return 0
