"""``taizhang report``: the 达标 report for a village, township or county as an Excel workbook."""

from __future__ import annotations

import argparse
import datetime as dt
import re

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


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="生成年度指标达标报告（Excel 或 PDF）",
                       description="计算专栏1主要指标、村(社区)达标检查和数据质量检查，写成 Excel 或 PDF 报告（按 -o 的扩展名）。"
                                   "示例：taizhang report --year 2024 --profile 吉林省 -o 达标报告.xlsx")
    add_report_arguments(p, org_required=False)
    p.set_defaults(func=on_this_pc(run_report))
    register_training(sub)
    register_volunteers(sub)
    register_visits(sub)



def on_this_pc(run):
    """A subcommand over this PC's ledger: ``run(engine, repo, args, this PC's unit)``."""
    def command(args) -> int:
        from storage import local
        from storage.cli import open_repository

        repo = open_repository()
        ident = local.identity(repo)
        return run(repo.engine, repo, args, ident.org_code if ident else None)
    return command


def _unit_and_year(args, default_org: str | None) -> tuple[str, int]:
    """--org (default: this PC's unit) and --year (default: this year); -o must be .xlsx."""
    org = args.org or default_org
    if not org:
        raise UserError("本机尚未设置单位，请用 --org 指定区划代码（村/社区、乡镇/街道或县）")
    if getattr(args, "output", None) and not str(args.output).lower().endswith(".xlsx"):
        raise UserError(f"输出文件“{args.output}”应以 .xlsx 结尾")
    return org, getattr(args, "year", None) or dt.date.today().year


def run_training_due(engine, repo, args, default_org: str | None) -> int:
    """Print (or write with -o) who is due or overdue for training under the profile's rules."""
    from reports.excel import write_training_due
    from reports.facts import ScopeError, resolve_scope
    from reports.profiles import ProfileError, find_profile
    from reports.training import OVERDUE, STATUS_ORDER, training_due

    org, year = _unit_and_year(args, default_org)
    try:
        profile = find_profile(args.profile, repo)
        with engine.connect() as conn:
            scope = resolve_scope(conn, org, year)
            rows = training_due(conn, org, year, profile.training_rules)
    except (ProfileError, ScopeError) as exc:
        raise UserError(str(exc)) from None
    if not profile.training_rules:
        print(f"指标方案“{profile.name}”没有规定培训周期；可用 --profile 吉林省（书记、主任每年，其他成员每两年）"
              "或 --profile 沈阳市（每年不少于3天）")
        return 0
    title = f"{scope.name} {year}年 社区工作者培训到期名单（方案：{profile.name}）"
    counts = {s: sum(1 for r in rows if r.status == s) for s in STATUS_ORDER}
    summary = "，".join(f"{s} {n} 人" for s, n in counts.items())
    if args.output:
        try:
            path = write_training_due(rows, args.output, title, profile.training_rules)
        except PermissionError:
            raise UserError(f"无法写入“{args.output}”：文件可能正在 Excel/WPS 中打开，请关闭后重试") from None
        print(f"{title}：在岗 {len(rows)} 人，{summary}")
        print(f"已保存：{path}")
        return 0
    print(title)
    for r in rows:
        print(f"{r.status}\t{r.org_name}\t{r.person.name}\t{'、'.join(r.person.roles)}\t"
              f"应培训日期 {r.due_on.isoformat() if r.due_on else '—'}\t{r.detail}")
    print(f"在岗 {len(rows)} 人，{summary}")
    return 1 if counts[OVERDUE] and args.strict else 0


def register_training(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("training", help="社区工作者培训：到期名单",
                       description="按指标方案的培训规定（吉林 专栏4-1、沈阳 专栏8-1）列出每名在岗社区工作者的上次培训、"
                                   "应培训日期和状态（已逾期 / 即将到期 / 待培训 / 已完成）。")
    tsub = p.add_subparsers(dest="training_command", metavar="子命令", required=True)
    d = tsub.add_parser("due", help="培训到期名单",
                        description="示例：taizhang training due --profile 吉林省 -o 培训到期.xlsx")
    d.add_argument("--year", type=int, default=None, help="年度（默认：今年；往年按12月31日判断）")
    d.add_argument("--profile", default="国家", help="指标方案（默认“国家”：吉林、沈阳两条规定都检查）")
    d.add_argument("--org", help="区划代码，默认：本机单位")
    d.add_argument("-o", "--output", help="输出的 Excel 文件（.xlsx）；不写则显示在屏幕上")
    d.add_argument("--strict", action="store_true", help="有人已逾期时以状态 1 退出（供脚本使用）")
    d.set_defaults(func=on_this_pc(run_training_due))


def run_volunteers(engine, repo, args, default_org: str | None) -> int:
    """``taizhang volunteers hours`` and ``export-national`` (民政部令第67号)."""
    from reports.excel import write_table, write_volunteer_hours
    from reports.facts import ScopeError, resolve_scope
    from reports.volunteers import NOT_A_CERTIFICATE, hour_rows, load_columns, national_rows, totals
    from reports.workdays import WorkdayCalendar

    org, year = _unit_and_year(args, default_org)
    calendar = WorkdayCalendar.from_choices(repo.choices() if repo is not None else {})
    try:
        with engine.connect() as conn:
            scope = resolve_scope(conn, org, year)
            rows = hour_rows(conn, org, year, calendar)
    except ScopeError as exc:
        raise UserError(str(exc)) from None
    if not calendar.knows(year):
        print(f"提示：尚无{year}年的法定节假日安排，工作日暂按周一至周五计算；请县民政局在服务器上登记本年安排"
              "（taizhang-server calendar add）后同步。")
    title = f"{scope.name} {year}年 志愿服务时长"
    if args.volunteers_command == "hours":
        per_volunteer, per_team, total = totals(rows)
        late = f"，其中补录 {total.late} 条" if total.late else ""
        if not args.output:
            for t in per_volunteer:
                print(f"{t.name}\t{t.hours:g} 小时\t{t.records} 条" + (f"\t补录 {t.late} 条" if t.late else ""))
        print(f"{title}：志愿者 {len(per_volunteer)} 人，服务时长 {total.hours:g} 小时，服务记录 {total.records} 条{late}")
        print(NOT_A_CERTIFICATE)
        if args.output:
            print(f"已保存：{_writable(write_volunteer_hours, title, per_volunteer, per_team, total, rows, args.output)}")
        return 0
    if not args.output:
        raise UserError("请用 -o 指定输出的 Excel 文件，例如：-o 全国志愿服务信息系统导入.xlsx")
    if args.purpose and not args.full:
        raise UserError("--purpose 只和 --full 一起使用：默认导出的身份证号和手机号已隐去中间位，不需要填写用途")
    if args.full and not (args.purpose or "").strip():
        raise UserError("导出完整身份证号和手机号时，请用 --purpose 说明用途，例如 --purpose 录入全国志愿服务信息系统")
    try:
        columns = load_columns(args.columns)
    except ValueError as exc:
        raise UserError(str(exc)) from None

    def write(full: bool):
        note = ("" if full else "身份证号、手机号已隐去中间位；录入全国志愿服务信息系统需要完整号码时，用 --full 导出。")
        table = national_rows(rows, columns, full=full)
        return table, _writable(write_table, "志愿服务记录", [c["header"] for c in columns], table, args.output, None,
                                note)

    if args.full:  # a disclosure: allowed by role (a county setting), with a purpose, and recorded
        from pathlib import Path

        from storage import disclosure

        if repo is None:
            raise UserError("完整导出须在本机台账上进行（要检查本机账号的角色并记录本次导出）")
        with disclosure.allow_full(repo, args.purpose, action=disclosure.EXPORT_XLSX,
                                   record_types=["volunteer_hours", "volunteer"], file_name=Path(args.output).name,
                                   org_code=org) as full:
            table, path = write(True)
            full.rows = len(table)
    else:
        table, path = write(False)
    masked = "完整身份证号和手机号，已记录本次导出" if args.full else "身份证号、手机号已隐去中间位"
    print(f"{title}：服务记录 {len(table)} 条（每条一行，{masked}）")
    print(f"已保存：{path}")
    return 0


def _writable(write, *args):
    try:
        return write(*args)
    except PermissionError:
        raise UserError(f"无法写入“{args[-1] if isinstance(args[-1], str) else args}”："
                        "文件可能正在 Excel/WPS 中打开，请关闭后重试") from None


def register_volunteers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("volunteers", help="志愿服务记录（民政部令第67号）：时长合计、导出到全国志愿服务信息系统")
    vsub = p.add_subparsers(dest="volunteers_command", metavar="子命令", required=True)
    h = vsub.add_parser("hours", help="每名志愿者、每支队伍的服务时长合计（台账合计，不是证明）",
                        description="示例：taizhang volunteers hours --year 2025 -o 志愿服务时长.xlsx")
    n = vsub.add_parser("export-national", help="导出为全国志愿服务信息系统的导入表（每条服务记录一行）",
                        description="示例：taizhang volunteers export-national --year 2025 -o 导入表.xlsx")
    for q in (h, n):
        q.add_argument("--year", type=int, default=None, help="年度（默认：今年）")
        q.add_argument("--org", help="区划代码，默认：本机单位")
        q.add_argument("-o", "--output", help="输出的 Excel 文件（.xlsx）")
        q.set_defaults(func=on_this_pc(run_volunteers))
    n.add_argument("--columns", help="列设置文件（.json，默认用程序自带的全国系统模板列）")
    n.add_argument("--full", action="store_true", help="导出完整身份证号和手机号（须同时用 --purpose 说明用途）")
    n.add_argument("--purpose", help="导出完整号码的用途")


def run_visits(engine, repo, args, default_org: str | None) -> int:
    """``taizhang visits --period YYYY-MM``: the month's visit rate per village and who is not yet visited."""
    from reports.facts import ScopeError, in_scope, resolve_scope
    from storage.visits import month_visits

    org, _year = _unit_and_year(args, default_org)
    period = args.period or dt.date.today().strftime("%Y-%m")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        raise UserError(f"填报期“{period}”不对，请写成 2025-03 这样的格式")
    try:
        with engine.connect() as conn:
            scope = resolve_scope(conn, org, int(period[:4]))
            by_village = month_visits(conn, lambda col: in_scope(col, org), period)
    except ScopeError as exc:
        raise UserError(str(exc)) from None
    names = {v.code: v.name for v in scope.villages}
    num = den = 0
    for code in sorted(by_village):
        month = by_village[code]
        num, den = num + month.numerator, den + month.denominator
        print(f"{names.get(code, code)}：{month.describe()}")
    label = f"{scope.name} {period[:4]}年{int(period[5:])}月 特殊困难老年人探访"
    if not den:
        print(f"{label}：名册上没有需要探访的老人（在“特殊困难老年人”页登记）")
        return 0
    print(f"{label}：应探访 {den} 人，已探访 {num} 人，探访率 {num / den * 100:.1f}%（目标 100%：吉林 专栏2-2、商丘 专栏2-2）")
    return 0


def register_visits(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("visits", help="特殊困难老年人月探访率和尚未探访的名单",
                       description="示例：taizhang visits --period 2025-03")
    p.add_argument("--period", help="填报期 YYYY-MM（默认：本月）")
    p.add_argument("--org", help="区划代码，默认：本机单位（乡镇、县：列出各村(社区)）")
    p.set_defaults(func=on_this_pc(run_visits))
