"""``taizhang template`` and ``taizhang export`` (village side, no Qt)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from storage.cli import UserError


def _scope(repo, org: str | None) -> tuple[str | None, str | None]:
    from storage import local
    from storage.validation import check_org_code

    if org:
        problems = check_org_code(org, "--org")
        if problems:
            raise UserError(problems[0].message)
        return org, None
    ident = local.identity(repo)
    return (ident.org_code, ident.org_name) if ident else (None, None)


def _period(value: str | None) -> str | None:
    if value is None:
        return None
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", value.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise UserError(f"填报期“{value}”格式不对，应为“年-月”，如 2024-03")
    return f"{m.group(1)}-{int(m.group(2)):02d}"


def _template(args) -> int:
    from exchange.export import write_template
    from storage.cli import open_repository

    repo = open_repository()
    org, _ = _scope(repo, args.org)
    path = write_template(repo, args.output, org_code=org, period=_period(args.period))
    print(f"已生成填报模板：{path}" + ("" if org else "（未设置本机单位，模板中没有区划代码）"))
    return 0


def _export(args) -> int:
    from exchange.export import export_csv, export_workbook
    from storage.cli import open_repository

    repo = open_repository()
    org, _ = _scope(repo, args.org)
    if not org:
        raise UserError("本机尚未设置所属村(社区)，无法导出。请先在程序中完成首次设置，或用 --org 指定区划代码")
    period = _period(args.period)
    out = Path(args.output)
    if args.purpose and not args.full:
        raise UserError("--purpose 只和 --full 一起使用：默认导出的身份号码和手机号是遮挡的，不需要填写用途")
    how = "（身份号码、手机号完整，已记录本次导出）" if args.full else "（身份号码、手机号已遮挡；需要完整信息请加 --full --purpose 用途）"
    if args.csv or out.suffix.lower() == ".csv":
        folder = out if not out.suffix else out.parent
        paths = export_csv(repo, folder, org_code=org, period=period, full=args.full, purpose=args.purpose)
        print(f"已导出 CSV（UTF-8 带 BOM）{len(paths)} 个文件到 {folder}{how}")
        return 0
    path, n = export_workbook(repo, out, org_code=org, period=period, full=args.full, purpose=args.purpose,
                              progress=lambda k: print(f"\r已写出 {k} 条", end="", file=sys.stderr))
    print(file=sys.stderr)
    print(f"已导出 {n} 条记录到 {path}" + (f"（填报期 {period}）" if period else "") + how)
    return 0


def _import(args) -> int:
    from exchange.importer import import_files, import_total_line
    from storage.cli import open_repository

    repo = open_repository()
    scope, _ = _scope(repo, None)
    results = import_files(repo, args.files, scope=scope, dry_run=args.dry_run, report_dir=args.report_dir,
                           on_result=lambda r: print(r.text(), flush=True))
    if not results:
        raise UserError("没有找到要导入的 .xlsx 文件，请检查文件或文件夹路径")
    print(import_total_line(results, args.dry_run))
    return 0 if all(r.ok for r in results) else 1


PRINTABLE = ("service", "facility", "staff", "training", "volunteer_team", "volunteer", "volunteer_hours",
             "social_org", "org_year")


def _print(args) -> int:
    from exchange.pdf import LedgerSelection, month_selection, write_ledger_pdf, year_selection
    from storage import disclosure
    from storage.cli import open_repository

    if not str(args.output).lower().endswith(".pdf"):
        raise UserError(f"输出文件“{args.output}”应以 .pdf 结尾")
    if args.period and args.year:
        raise UserError("--period 与 --year 只能选一个")
    if args.purpose and not args.full:
        raise UserError("--purpose 只和 --full 一起使用：默认打印的身份证号码和手机号是遮盖的，不需要填写用途")
    if args.full and args.what == "month":
        raise UserError("月报表里没有身份证号码和手机号，不需要 --full")
    repo = open_repository()
    org, name = _scope(repo, args.org)
    if not org:
        raise UserError("本机尚未设置所属村(社区)，无法打印。请先在程序中完成首次设置，或用 --org 指定区划代码")
    period = _period(args.period)
    if args.what == "month":
        from reports.paper import write_month_slip

        if not period:
            raise UserError("打印月报表请用 --period 指定填报期，如 --period 2024-03")
        result = write_month_slip(repo, args.output, org, period, org_name=name)
        print(f"已生成 {period} 月报表：{result.path}（{result.pages} 页）")
        return 0
    if args.year is not None and not 2000 <= args.year <= 2100:
        raise UserError(f"年度 {args.year} 不对，请填写四位年份，例如 --year 2024")
    sel = (month_selection(org, period) if period else year_selection(org, args.year) if args.year
           else LedgerSelection(org))

    def write():
        return write_ledger_pdf(repo.engine, args.output, args.what, sel, org_name=name, choices=repo.choices(),
                                full=args.full,
                                progress=lambda k, n: print(f"\r已排版 {k}/{n} 条", end="", file=sys.stderr))

    if args.full:  # a disclosure: allowed by role, with a purpose, and recorded
        with disclosure.allow_full(repo, args.purpose, action=disclosure.PRINT, record_types=[args.what],
                                   file_name=Path(args.output).name, org_code=org) as full:
            result = write()
            full.rows = result.rows
    else:
        result = write()
    print(file=sys.stderr)
    how = "；身份证号码、手机号完整，已记录本次打印" if args.full else ""
    print(f"已生成 PDF：{result.path}（{result.rows} 条，{result.pages} 页{how}）")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("template", help="生成 Excel 填报模板（每类记录一张表，带下拉选项和填写说明）")
    p.add_argument("-o", "--output", required=True, help="输出文件，如 模板.xlsx")
    p.add_argument("--org", help="区划代码（默认：本机所属村(社区)）")
    p.add_argument("--period", help="填报期 YYYY-MM（写入模板标题和元数据）")
    p.set_defaults(func=_template)
    p = sub.add_parser("export", help="把本村的台账导出为 Excel（或 CSV），可交给县里导入")
    p.add_argument("-o", "--output", required=True, help="输出文件 .xlsx；以 .csv 结尾或加 --csv 时导出 CSV")
    p.add_argument("--period", help="只导出该填报期（YYYY-MM）的服务、培训、时长记录；设施、人员等全部导出")
    p.add_argument("--org", help="区划代码（默认：本机所属村(社区)）")
    p.add_argument("--csv", action="store_true", help="导出 CSV（每类记录一个文件，UTF-8 带 BOM）到 -o 指定的文件夹")
    p.add_argument("--full", action="store_true",
                   help="导出完整的身份号码和手机号（默认遮挡）；须有县里授权的角色并用 --purpose 说明用途，每次都会记录")
    p.add_argument("--purpose", help="完整导出的用途，如“报县民政局年度核查”（与 --full 一起使用）")
    p.set_defaults(func=_export)
    p = sub.add_parser("import", help="把填好的 Excel 工作簿导入本机台账（只接受本单位的数据；全部导入或全部不导入）")
    p.add_argument("files", nargs="+", metavar="文件", help="工作簿（.xlsx）或包含工作簿的文件夹")
    p.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    p.add_argument("--report-dir", help="错误报告（标注了错误单元格的副本）保存到这个文件夹")
    p.set_defaults(func=_import)
    p = sub.add_parser("print", help="把台账或月报表打印成 PDF（A4，标题、序号、每页表头、页码、签字栏）",
                       description="示例：taizhang print service --year 2024 -o 服务记录台账.pdf；"
                                   "taizhang print month --period 2024-03 -o 月报表.pdf")
    p.add_argument("what", choices=[*PRINTABLE, "month"], metavar="类型",
                   help="记录类型：" + "、".join(PRINTABLE) + "；month 为本月月报表")
    p.add_argument("--period", help="只打印该月（YYYY-MM）的记录；month 必填")
    p.add_argument("--year", type=int, help="只打印该年度的记录")
    p.add_argument("-o", "--output", required=True, help="输出的 PDF 文件")
    p.add_argument("--org", help="区划代码（默认：本机所属村(社区)）")
    p.add_argument("--full", action="store_true",
                   help="打印完整的身份证号码和手机号（默认遮盖）；须有县里授权的角色并用 --purpose 说明用途，每次都会记录")
    p.add_argument("--purpose", help="完整打印的用途，如“报县民政局年度核查”（与 --full 一起使用）")
    p.set_defaults(func=_print)
