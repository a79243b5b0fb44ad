"""``taizhang-server import FILE... [--dry-run] [--report-dir DIR]``: Excel workbooks villages submit.

Each workbook is checked cell by cell and then written entirely or not at all
(one transaction through ``Repository.bulk_write``, entering the change log
so that villages pull what the county imported).  One summary line per
workbook goes to standard output; annotated error reports go to --report-dir.
Exit status: 0 when every workbook was imported (with --dry-run: would be),
1 when any was rejected or holds a row older than the record it names (冲突: kept
beside the record in the conflict list, see ``taizhang-server conflicts``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from storage.cli import UserError


def county_scope(repo, explicit: str | None) -> str | None:
    """The county whose villages this server accepts: --county, else the one county in the org registry."""
    from storage.orgcode import LEVEL_LABELS, OrgCode
    from storage.validation import check_org_code

    if explicit:
        problems = check_org_code(explicit, "--county")
        if problems:
            raise UserError(problems[0].message)
        return OrgCode(explicit).county.code
    counties = sorted({r["org_code"] for r in repo.list("org_unit") if r["level"] == LEVEL_LABELS["county"]})
    if len(counties) == 1:
        return counties[0]
    if len(counties) > 1:
        raise UserError(f"服务器上登记了多个县（{'、'.join(counties)}），请用 --county 指明本次导入属于哪个县")
    return None


def _run(args) -> int:
    from exchange.importer import Progress, expand_paths, import_files, import_total_line
    from storage.db import open_server_database
    from storage.repository import Repository

    files = expand_paths(args.files)
    missing = [str(p) for p in files if not p.exists()]
    if not files:
        raise UserError("没有找到要导入的 .xlsx 文件，请检查文件或文件夹路径")
    engine = open_server_database(args.db)
    try:
        repo = Repository(engine, actor=args.actor, device_id=None)
        scope = county_scope(repo, args.county)
        if scope is None:
            print("提示：服务器尚未登记组织机构，本次不检查工作簿是否属于本县"
                  "（可先运行 taizhang-server admin load-orgs，或用 --county 指定）", file=sys.stderr)
        interactive = sys.stderr.isatty()

        def progress(p: Progress) -> None:
            if interactive:
                print(f"\r[{p.file_index + 1}/{p.file_count}] {p.path.name}：{p.stage} {p.rows} 行   ",
                      end="", file=sys.stderr, flush=True)

        def on_result(result) -> None:
            if interactive:
                print("\r", end="", file=sys.stderr)
            print(result.text(), flush=True)

        if missing:
            print(f"提示：找不到 {len(missing)} 个文件：{'、'.join(missing)}", file=sys.stderr)
        results = import_files(repo, files, scope=scope, dry_run=args.dry_run, report_dir=args.report_dir,
                               progress=progress, on_result=on_result)
    finally:
        engine.dispose()
    print(import_total_line(results, args.dry_run) + ("（试运行，未写入任何数据）" if args.dry_run else ""))
    if args.report_dir and any(r.status == "rejected" for r in results):
        print(f"错误报告（带批注的工作簿）在 {Path(args.report_dir)}，请发回报送单位改正")
    return 0 if all(r.ok for r in results) else 1


def _conflicts(args) -> int:
    """Rows of older exports that met a newer record: list them, or keep one version (--keep)."""
    from storage import conflicts
    from storage.db import open_server_database
    from storage.repository import Repository

    engine = open_server_database(args.db)
    try:
        repo = Repository(engine, actor=args.actor, device_id=None)
        waiting = [c for c in conflicts.open_conflicts(repo) if c["origin"] == conflicts.ORIGIN_IMPORT]
        if args.keep:
            matches = [c for c in waiting if args.id and c["id"].startswith(args.id)]
            if len(matches) != 1:
                raise UserError(f"没有唯一以“{args.id or ''}”开头的导入冲突，请用 taizhang-server import-conflicts 查看编号")
            conflicts.choose(repo, matches[0]["id"], "local" if args.keep == "table" else "server")
            print("已采用导入表格中的版本" if args.keep == "table" else "已保留当前保存的版本")
            return 0
        print(f"未处理的导入冲突：{len(waiting)} 条")
        for c in waiting:
            diff = [k for k in c["local"] if c["server"] is None or c["local"].get(k) != c["server"].get(k)]
            print(f"  {c['id'][:8]}  {c['label']}  {c['org_code']}  当前第{c['server_version']}版，"
                  f"与表格不同的字段：{'、'.join(diff) or '无'}")
        return 0
    finally:
        engine.dispose()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="导入村(社区)报送的 Excel 工作簿（每个工作簿全部导入或全部不导入）")
    p.add_argument("files", nargs="+", metavar="文件", help="工作簿（.xlsx）或包含工作簿的文件夹")
    p.add_argument("--dry-run", action="store_true", help="只检查并显示将新建/更新/未变/拒绝的条数，不写入")
    p.add_argument("--report-dir", help="把有错误的工作簿的错误报告（标注了错误单元格的副本）写到这个文件夹")
    p.add_argument("--county", help="本县的12位区划代码（默认取服务器组织机构中唯一的县）")
    p.add_argument("--actor", default="县级Excel导入", help="记入修改记录的操作人")
    p.set_defaults(func=_run)
    p = sub.add_parser("import-conflicts", help="查看导入时与较新记录冲突的行（较旧的表格），--keep 选择保留哪个版本")
    p.add_argument("id", nargs="?", help="冲突编号（前几位即可）")
    p.add_argument("--keep", choices=["table", "current"], help="采用表格中的版本（table）或保留当前保存的版本（current）")
    p.add_argument("--actor", default="县级Excel导入", help="记入修改记录的操作人")
    p.set_defaults(func=_conflicts)
