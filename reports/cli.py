"""``taizhang report``: the 达标 report for a village, township or county as an Excel workbook."""

from __future__ import annotations

import argparse
import datetime as dt

from storage.cli import UserError


def add_report_arguments(p: argparse.ArgumentParser, *, org_required: bool) -> None:
    p.add_argument("--year", type=int, default=None,
                   help="年度（默认：已填年度基础数据的最近一年）")
    p.add_argument("--profile", default="国家",
                   help="指标方案：国家、吉林省、沈阳市、商丘市、正宁县、本机保存的自定义方案名称，或方案文件(.json)路径")
    p.add_argument("-o", "--output", help="输出文件：.xlsx 为 Excel，.pdf 为可打印的 PDF")
    p.add_argument("--org", required=org_required,
                   help="区划代码（村/社区、乡镇/街道或县）" + ("" if org_required else "，默认：本机单位"))
    p.add_argument("--list-profiles", action="store_true", help="列出可用的指标方案后退出")


def latest_year(engine) -> int:
    """The latest year (not in the future) with 年度基础数据; last year if there is none."""
    from sqlalchemy import func, select

    from storage.models import table_for

    oy = table_for("org_year")
    this_year = dt.date.today().year
    with engine.connect() as conn:
        year = conn.execute(select(func.max(oy.c.year)).where(oy.c.deleted.is_(False), oy.c.year <= this_year)).scalar()
    return int(year) if year else this_year - 1


def run_report(engine, repo, args, default_org: str | None) -> int:
    from reports.excel import write_report
    from reports.facts import ScopeError
    from reports.profiles import ProfileError, all_profiles, find_profile
    from reports.report import build_report

    if args.list_profiles:
        for p in all_profiles(repo):
            print(f"{p.name}\t{'内置' if p.builtin else '自定义'}\t{p.source}")
        return 0
    if not args.output:
        raise UserError("请用 -o 指定输出文件，例如：-o 达标报告.xlsx 或 -o 达标报告.pdf")
    as_pdf = str(args.output).lower().endswith(".pdf")
    if not as_pdf and not str(args.output).lower().endswith(".xlsx"):
        raise UserError(f"输出文件“{args.output}”应以 .xlsx（Excel）或 .pdf（PDF）结尾")
    org = args.org or default_org
    if not org:
        raise UserError("本机尚未设置单位，请用 --org 指定区划代码（村/社区、乡镇/街道或县）")
    if args.year is None:
        args.year = latest_year(engine)
    if not 2000 <= args.year <= 2100:
        raise UserError(f"年度 {args.year} 不对，请填写四位年份，例如 --year 2024")
    try:
        profile = find_profile(args.profile, repo)
        report = build_report(engine, org, args.year, profile)
    except (ProfileError, ScopeError) as exc:
        raise UserError(str(exc)) from None
    try:
        if as_pdf:
            from reports.paper import write_report_pdf

            path = write_report_pdf(report, args.output).path
        else:
            path = write_report(report, args.output)
    except PermissionError:
        raise UserError(f"无法写入“{args.output}”：文件可能正在 Excel/WPS 中打开，请关闭后重试") from None
    met = sum(1 for r in report.indicators if r.status == "met")
    not_met = sum(1 for r in report.indicators if r.status == "not_met")
    print(f"{report.scope.name} {args.year}年（方案：{profile.name}）：达标 {met} 项，未达标 {not_met} 项，"
          f"数据质量问题 {len(report.quality)} 条，用时 {report.seconds:.2f} 秒")
    print(f"已保存：{path}")
    return 0


def _report(args) -> int:
    from storage import local
    from storage.cli import open_repository

    repo = open_repository()
    ident = local.identity(repo)
    return run_report(repo.engine, repo, args, ident.org_code if ident else None)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="生成年度指标达标报告（Excel 或 PDF）",
                       description="计算专栏1主要指标、村(社区)达标检查和数据质量检查，写成 Excel 或 PDF 报告（按 -o 的扩展名）。"
                                   "示例：taizhang report --year 2024 --profile 吉林省 -o 达标报告.xlsx")
    add_report_arguments(p, org_required=False)
    p.set_defaults(func=_report)

