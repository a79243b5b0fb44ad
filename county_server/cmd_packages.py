"""Offline packages on the county server: ``taizhang-server import-package F`` and the upload endpoint's core.

A package is applied exactly like an online push from the village device
that signed it: the same ``process_push`` (county_server.api_sync) with that
device's account as the principal, so scope rules, period rules and locks
are the online ones, and the package id is the batch id — importing the same
package again replays the stored answers and writes nothing.

The package must carry a valid Ed25519 signature by the public key the device
registered at its latest sign-in (``server_device.package_public_key``); the
database holds no private key, so reading it is not enough to forge one.  The
answer is a receipt signed with the server's receipt key, a file outside the
database (``county_server.signing``).
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from county_server.auth import Principal
from county_server.models import Account, Device, utcnow
from reports.fill.library import catalogue_index
from sync import package as PK
from sync.protocol import APPLIED, CONFLICT, DUPLICATE, REJECTED

log = logging.getLogger("taizhang-server.packages")


@dataclass
class ServerImport:
    receipt: PK.Receipt
    replayed: bool
    applied: int
    duplicate: int

    def summary(self) -> str:
        text = f"新写入 {self.applied} 条，服务器已有 {self.duplicate} 条"
        if self.receipt.conflicts:
            text += f"，{len(self.receipt.conflicts)} 条与服务器上的修改冲突（两个版本都已保留，村里下次联网同步时选择）"
        if self.receipt.rejected:
            text += f"，{len(self.receipt.rejected)} 条被拒绝：" + "；".join(
                sorted({r["message"] for r in self.receipt.rejected})[:5])
        if self.replayed:
            text = "这个数据包以前已导入过，本次没有写入任何数据（" + text + "）"
        return text


def signing_device(engine, package: PK.Package) -> Principal:
    """The registered, unrevoked device whose key signed this package, as a principal; else PackageError."""
    devices, accounts = Device.__table__, Account.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(devices.c.id, devices.c.package_public_key, devices.c.revoked_at,
                   accounts.c.id.label("account_id"), accounts.c.name, accounts.c.role, accounts.c.org_code,
                   accounts.c.disabled)
            .join(accounts, accounts.c.id == devices.c.account_id)
            .where(devices.c.client_device_id == package.device_id)).mappings().all()
    who = package.manifest.get("org_name") or package.org_code
    for row in rows:
        if not row["package_public_key"] or not package.verify(row["package_public_key"]):
            continue
        if row["revoked_at"] is not None:
            raise PK.PackageError("导出这个数据包的电脑已被县民政局撤销登录，数据包不能导入。请该村重新登录后再导出")
        if row["disabled"]:
            raise PK.PackageError(f"导出这个数据包的账号“{row['name']}”已停用，数据包不能导入")
        return Principal(row["account_id"], row["name"], row["role"], row["org_code"], row["id"])
    if rows and not any(row["package_public_key"] for row in rows):
        raise PK.PackageError(
            f"导出这个数据包的电脑（{who}）是用旧版本程序登录的，县级服务器上没有它的数据包签名公钥，无法确认数据包的真伪，"
            "已拒绝导入。请该村联网重新登录一次（taizhang login），再重新导出数据包")
    raise PK.PackageError(
        f"数据包的签名不对：它不是由{who}已登录的电脑导出的，"
        "或在导出后被改动过（也可能该电脑导出后又重新登录过）。已拒绝导入，请该村用本机重新导出")


def import_package(state, data: bytes, *, via: Principal | None = None) -> ServerImport:
    """Verify and apply a package; ``via`` is the township/county account that brought it (scope-checked)."""
    from county_server import policy
    from county_server.api_sync import process_push

    from county_server.signing import encryption_key, server_key

    package = PK.read_package(data, encryption_key(state))
    principal = signing_device(state.engine, package)
    signer = server_key(state)  # before anything is applied: no import without its receipt
    if principal.org_code != package.org_code:
        raise PK.PackageError(f"数据包自称属于{package.org_code}，但导出它的电脑登录的是{principal.org_code}，已拒绝导入")
    if via is not None and not policy.in_scope(via, package.org_code):
        raise PK.PackageError(f"数据包属于{package.org_code}，不在账号“{via.name}”（{via.org_code}）的管辖范围内，已拒绝导入")
    answer = process_push(state, principal, package.package_id, package.changes, [])
    held, rejected, conflicts = [], [], []
    counts = {APPLIED: 0, DUPLICATE: 0}
    for r in answer["results"]:
        outcome = r["outcome"]
        if outcome in (APPLIED, DUPLICATE):
            held.append(r["change_id"])
            counts[outcome] += 1
        elif outcome == CONFLICT:
            conflicts.append({"change_id": r["change_id"], "message": r.get("message") or ""})
        elif outcome == REJECTED:
            rejected.append({"change_id": r["change_id"], "message": r.get("message") or ""})
    by = via.name if via is not None else "县级服务器"
    receipt = PK.Receipt(package.package_id, package.org_code, package.device_id, held, rejected, conflicts,
                         utcnow().isoformat(timespec="seconds"), by,
                         periods=period_changes(state.engine, package.org_code),
                         report_templates=catalogue_index(state.engine)).sign(signer)
    log.info("离线包 %s（%s）：收下 %d 条，拒绝 %d 条，冲突 %d 条%s", package.package_id, package.org_code,
             len(held), len(rejected), len(conflicts), "（重复导入，按上次的结果答复）" if answer.get("replayed") else "")
    return ServerImport(receipt, bool(answer.get("replayed")), counts[APPLIED], counts[DUPLICATE])


def period_changes(engine, org_code: str) -> list[dict]:
    """Every change of this village's ``period`` records, in order (a few per month): what the receipt carries."""
    from storage.models import ChangeLog
    from storage.repository import change_from_row
    from storage.schema import month_workflow_type

    with engine.connect() as conn:
        t = ChangeLog.__table__
        rows = conn.execute(select(t).where(t.c.org_code == org_code,
                                            t.c.record_type == month_workflow_type().name)
                            .order_by(t.c.seq)).all()
    return [change_from_row(r).to_dict() for r in rows]


def server_state(engine, receipt_key_path: str | None = None):
    """What ``process_push`` and receipts need, outside the web app (the CLI); the receipt key is read on first use."""
    from county_server.models import create_server_tables
    from county_server.signing import key_path
    from storage.repository import Repository

    create_server_tables(engine)
    return SimpleNamespace(engine=engine, repo=Repository(engine, actor="县级服务器", device_id=None),
                           receipt_key_path=key_path(receipt_key_path), receipt_key=None)


def receipt_path_for(package_path: Path) -> Path:
    return package_path.with_name(package_path.stem + "-回执.tzrcpt")


def _import_package(args) -> int:
    from storage.cli import UserError
    from storage.db import open_server_database

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"无法读取数据包文件“{path}”：{exc.strerror or exc}") from None
    from county_server.signing import SigningKeyError

    engine = open_server_database(args.db)
    try:
        result = import_package(server_state(engine, getattr(args, "receipt_key", None)), data)
    except (PK.PackageError, SigningKeyError) as exc:
        raise UserError(str(exc)) from None
    finally:
        engine.dispose()
    out = Path(args.receipt) if args.receipt else receipt_path_for(path)
    out.write_bytes(result.receipt.to_bytes())
    print(f"已导入 {result.receipt.org_code} 的数据包：{result.summary()}")
    print(f"回执已写入 {out}，请带回该村，在村里的电脑上用“导入回执”读入")
    return 0 if result.receipt.held or not result.receipt.rejected else 1


def _board(args) -> int:
    from reports import completeness as C
    from storage import periods as P
    from storage.cli import UserError
    from storage.db import open_server_database
    from storage.validation import check_org_code

    if check_org_code(args.scope):
        raise UserError(f"--scope：{args.scope}不是有效的12位区划代码（县或乡镇/街道的代码，如220102000000）")
    engine = open_server_database(args.db)
    try:
        state = server_state(engine)
        months = list(reversed(P.recent_periods(args.months)))
        board = C.build_board(state.repo, args.scope, months)
    finally:
        engine.dispose()
    if not board.rows:
        raise UserError(f"{args.scope}下没有村(社区)。请先用 admin load-orgs 导入组织机构")
    out = C.export_xlsx(board, args.output)
    latest = board.total[months[-1]]
    print(f"{board.scope_name}{P.period_label(months[-1])}：{latest.villages} 个村(社区)，报送率 "
          f"{C.percent(latest.reporting_rate)}，按时报送率 {C.percent(latest.on_time_rate)}；已写入 {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-package", help="导入村(社区)的离线数据包，并生成回执")
    p.add_argument("file", help="数据包文件（.tzpkg）")
    p.add_argument("-r", "--receipt", help="回执写到哪里（默认：数据包旁边的 “…-回执.tzrcpt”）")
    p.set_defaults(func=_import_package)
    p = sub.add_parser("board", help="月报报送情况（按时/逾期/未报/退回，报送率）导出为Excel")
    p.add_argument("--scope", required=True, help="县或乡镇/街道的12位区划代码")
    p.add_argument("--months", type=int, default=6, help="最近几个月（默认6）")
    p.add_argument("-o", "--output", required=True, help="输出的 .xlsx 文件")
    p.set_defaults(func=_board)
