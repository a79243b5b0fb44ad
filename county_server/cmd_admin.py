"""``taizhang-server admin …``: org-unit tree, accounts, devices."""

from __future__ import annotations

import argparse
import csv
import getpass
import sys
from pathlib import Path

from county_server import cmd_accounts, cmd_privacy
from storage.cli import UserError
from storage.orgcode import LEVELS, OrgCode

HEADER_ALIASES = {
    "code": ("code", "org_code", "区划代码", "统计用区划代码", "代码"),
    "name": ("name", "名称", "单位名称", "村(社区)名称", "名字"),
    "urban_rural": ("urban_rural", "urban/rural", "城乡分类", "城乡分类代码", "城乡"),
    "relocation": ("relocation", "易地扶贫搬迁集中安置社区", "易地扶贫搬迁", "易地搬迁安置", "易地搬迁安置社区",
                   "易地扶贫搬迁安置", "易地搬迁", "搬迁安置社区", "搬迁安置", "安置社区"),
}
HEADER_NAMES = {"code": "区划代码", "name": "名称", "urban_rural": "城乡分类", "relocation": "易地搬迁安置"}
URBAN = {"城市社区", "城市", "城镇", "urban", "u", "111", "112", "121"}
RURAL = {"农村社区", "农村", "乡村", "rural", "r", "122", "123", "210", "220"}
TRUE = {"是", "1", "true", "yes", "y", "√", "t"}
FALSE = {"否", "0", "false", "no", "n", "", "f"}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_org_rows(path: Path) -> list[list[str]]:
    if not path.exists():
        raise UserError(f"找不到文件 {path}")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        rows = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    if suffix in (".csv", ".txt"):
        data = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise UserError(f"{path.name}：无法识别文件编码，请另存为 UTF-8 编码的 CSV")
        return [[c.strip() for c in row] for row in csv.reader(text.splitlines())]
    raise UserError(f"{path.name}：只支持 .csv 或 .xlsx 文件")


def _header_columns(header: list[str]) -> tuple[dict[str, int], list[int]]:
    """Which column holds which field, and the indexes of non-empty header cells no alias names."""
    known = {a.lower(): key for key, aliases in HEADER_ALIASES.items() for a in aliases}
    columns: dict[str, int] = {}
    unknown: list[int] = []
    for i, h in enumerate(header):
        if not h:
            continue
        key = known.get(h)
        if key is None:
            unknown.append(i)
        else:
            columns.setdefault(key, i)
    return columns, unknown


def _accepted_headers() -> str:
    return "；".join(f"{HEADER_NAMES[key]}（或 {'、'.join(a for a in aliases if a != HEADER_NAMES[key])}）"
                    for key, aliases in HEADER_ALIASES.items())


def parse_org_rows(rows: list[list[str]]) -> list[dict]:
    """Rows → org-unit values; all-or-nothing: every problem is reported with its row number."""
    from storage.validation import check_org_code

    rows = [r for r in rows if any(c for c in r)]
    if not rows:
        raise UserError("文件中没有数据行")
    header = [c.strip().lower() for c in rows[0]]
    columns, unknown = _header_columns(header)
    if "code" in columns:
        data, first = rows[1:], 2
        # a column the loader does not know would otherwise be dropped silently (its 是 values lost)
        if unknown:
            raise UserError(f"表头中有无法识别的列：{'、'.join(rows[0][i].strip() for i in unknown)}。"
                            f"可用的列名：{_accepted_headers()}；请改成其中之一，或删去这一列后重新导入")
    else:  # no header: code, name, urban/rural, relocation
        columns, data, first = {"code": 0, "name": 1, "urban_rural": 2, "relocation": 3}, rows, 1
    if "name" not in columns:
        raise UserError(f"表头中缺少“名称”列（应有：{'、'.join(HEADER_NAMES.values())}）")
    out, errors = [], []
    for n, row in enumerate(data, start=first):
        def col(key):
            i = columns.get(key)
            return row[i].strip() if i is not None and i < len(row) and row[i] is not None else ""

        code, name = col("code").replace(" ", ""), col("name")
        issues = check_org_code(code, "区划代码")
        if not code or issues:
            errors.append(f"第{n}行：{issues[0].message if issues else '区划代码为空'}")
            continue
        if not name:
            errors.append(f"第{n}行：{code} 的名称为空，请填写")
            continue
        org = OrgCode(code)
        level = org.level
        values = {"org_code": code, "name": name, "level": org.level_label,
                  "parent_code": str(org.parent) if org.parent else None}
        ur = col("urban_rural").lower()
        if level == "village":
            if ur in {u.lower() for u in URBAN}:
                values["urban_rural"] = "城市社区"
            elif ur in {r.lower() for r in RURAL}:
                values["urban_rural"] = "农村社区"
            else:
                errors.append(f"第{n}行：{code} {name} 的城乡分类“{col('urban_rural')}”无法识别，"
                              "请填写“城市社区”或“农村社区”（或统计用城乡分类代码111-220）")
                continue
        if level == "village" and "relocation" not in columns:
            raise UserError(f"表头中缺少“易地搬迁安置”列：第{n}行 {code} {name} 是村（社区），每个村都要填写"
                            "是否为易地扶贫搬迁集中安置社区（“是”或“否”）。请加上这一列后重新导入，未导入任何数据")
        reloc = col("relocation").lower()
        if reloc in TRUE:
            values["relocation"] = True
        elif reloc in FALSE:
            values["relocation"] = False if level == "village" else None
        else:
            errors.append(f"第{n}行：{code} 的易地扶贫搬迁集中安置社区标记“{col('relocation')}”无法识别，请填写“是”或“否”")
            continue
        out.append(values)
    codes = {v["org_code"] for v in out}
    if len(codes) != len(out):
        seen, dups = set(), set()
        for v in out:
            (dups if v["org_code"] in seen else seen).add(v["org_code"])
        errors.append(f"区划代码重复：{'、'.join(sorted(dups))}，每个代码只能出现一次")
    if errors:
        raise UserError("组织机构文件有误，未导入任何数据：\n" + "\n".join(errors[:50]) +
                        (f"\n……另有{len(errors) - 50}处错误" if len(errors) > 50 else ""))
    return out


def _load_orgs(args) -> int:
    from storage.db import open_server_database
    from storage.repository import Repository, WriteOp, org_unit_id

    values = parse_org_rows(read_org_rows(Path(args.file)))
    engine = open_server_database(args.db)
    repo = Repository(engine, actor="县级管理员")
    known = {v["org_code"] for v in values} | {r["org_code"] for r in repo.list("org_unit")}
    missing = sorted({v["parent_code"] for v in values if v["parent_code"] and v["parent_code"] not in known})
    if missing:
        raise UserError(f"上级单位不在文件中，也不在服务器上：{'、'.join(missing)}。请在文件中加上这些乡镇/县的行，未导入任何数据")
    ops, created, updated = [], 0, 0
    for v in sorted(values, key=lambda v: LEVELS.index(OrgCode(v["org_code"]).level)):  # parents first
        old = repo.get("org_unit", org_unit_id(v["org_code"]), include_deleted=True)
        if old is None:
            ops.append(WriteOp("org_unit", "insert", v))
            created += 1
        elif old["deleted"] or any(old.get(k) != v.get(k) for k in v):
            if old["deleted"]:
                repo.restore("org_unit", old["id"])
            ops.append(WriteOp("org_unit", "update", v, old["id"]))
            updated += 1
    if ops:
        repo.bulk_write(ops)
    print(f"组织机构已导入：新增 {created} 个，更新 {updated} 个，未变 {len(values) - created - updated} 个")
    return 0


def _read_password(confirm: bool = True) -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise UserError("没有从标准输入读到密码")
        return line.rstrip("\r\n")
    pw = getpass.getpass("密码：")
    if confirm and getpass.getpass("再次输入密码：") != pw:
        raise UserError("两次输入的密码不一致，账号未创建")
    return pw


def _add_user(args) -> int:
    from county_server.auth import ROLE_LABELS, add_account
    from county_server.models import create_server_tables
    from storage.db import open_server_database
    from storage.repository import Repository, org_unit_id

    engine = open_server_database(args.db)
    create_server_tables(engine)
    org = Repository(engine).get("org_unit", org_unit_id(args.org))
    if org is None:
        raise UserError(f"区划代码 {args.org} 还不在服务器的组织机构中，请先用 admin load-orgs 导入组织机构")
    password = _read_password()
    try:
        add_account(engine, args.name, password, args.role, args.org)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    from county_server.accounts import record_action

    record_action(engine, "add-user", args.name, f"{args.role} {args.org}")
    print(f"账号已创建：{args.name}（{ROLE_LABELS[args.role]}，{org['name']} {args.org}）")
    return 0


def _devices(args) -> int:
    from county_server.auth import list_devices
    from county_server.models import create_server_tables
    from storage.db import open_server_database

    engine = open_server_database(args.db)
    create_server_tables(engine)
    rows = list_devices(engine)
    if getattr(args, "name", None):
        rows = [r for r in rows if r["account"] == args.name.strip()]
    if not rows:
        print(f"账号 {args.name} 还没有登录过任何电脑" if getattr(args, "name", None) else "还没有设备登录过本服务器")
        return 0
    print("设备编号                              账号        单位          电脑名称          最近同步（UTC）    状态")
    for r in rows:
        seen = r["last_seen"].strftime("%Y-%m-%d %H:%M") if r["last_seen"] else "-"
        state = "已撤销" if r["revoked_at"] else "有效"
        print(f"{r['id']}  {r['account']:<10}  {r['org_code']}  {r['device_name'][:16]:<16}  {seen:<16}  {state}")
    return 0


def _revoke(args) -> int:
    from county_server.auth import revoke_device
    from county_server.models import create_server_tables
    from storage.db import open_server_database

    engine = open_server_database(args.db)
    create_server_tables(engine)
    try:
        row = revoke_device(engine, args.device_id)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    from county_server.accounts import record_action

    record_action(engine, "revoke-device", row["id"], row["device_name"])
    print(f"设备 {row['id']}（{row['device_name']}）已撤销：它下次同步时需要重新登录")
    return 0


def _unlock(args) -> int:
    from county_server import throttle
    from county_server.models import create_server_tables
    from storage.db import open_server_database

    engine = open_server_database(args.db)
    create_server_tables(engine)
    if not args.name and not args.address:
        locks = throttle.current_locks(engine)
        if not locks:
            print("当前没有被锁定的账号或地址")
        for row in locks:
            kind, _, who = row["key"].partition(":")
            print(f"{'账号' if kind == 'account' else '地址'} {who}：连续失败{row['failures']}次，"
                  f"锁定至 {row['locked_until']:%Y-%m-%d %H:%M}（UTC）")
        return 0
    was = throttle.unlock(engine, args.name, args.address)
    who = "、".join(filter(None, [f"账号“{args.name}”" if args.name else "", f"地址 {args.address}" if args.address else ""]))
    print(f"{who}已解锁，失败次数已清零" if was else f"{who}没有被锁定，失败次数已清零")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)  # migration chatter is not for the admin
    admin = sub.add_parser("admin", help="管理：导入组织机构、创建账号、查看和撤销设备")
    asub = admin.add_subparsers(dest="admin_command", metavar="管理命令", required=True)
    p = asub.add_parser("load-orgs", help="从 CSV 或 xlsx 导入组织机构（区划代码、名称、城乡分类、易地搬迁安置标记）")
    p.add_argument("file", help="CSV 或 xlsx 文件")
    p.set_defaults(func=_load_orgs)
    p = asub.add_parser("add-user", help="创建账号（密码从标准输入读取或提示输入）")
    cmd_accounts.add_account_arguments(p)
    p.set_defaults(func=_add_user)
    p = asub.add_parser("devices", help="列出登录过的设备（可只看一个账号的）")
    p.add_argument("name", nargs="?", help="用户名（不写则列出全部）")
    p.set_defaults(func=_devices)
    p = asub.add_parser("revoke-device", help="撤销一台设备的登录（丢失或更换电脑时）")
    p.add_argument("device_id", help="设备编号（admin devices 中显示，可只输入前几位）")
    p.set_defaults(func=_revoke)
    p = asub.add_parser("unlock", help="解除因多次登录失败而锁定的账号（或电脑地址）；不带参数则列出当前的锁定")
    p.add_argument("name", nargs="?", help="用户名")
    p.add_argument("--address", help="被锁定的电脑地址（IP）")
    p.set_defaults(func=_unlock)
    cmd_privacy.register_admin(asub)
    cmd_accounts.register_admin(asub)
