"""``taizhang fill`` and ``taizhang-server fill``: department reports filled from the ledger."""

from __future__ import annotations

import argparse
import datetime as dt

from reports.cli import on_this_pc
from storage.cli import UserError


def add_fill_arguments(p: argparse.ArgumentParser, *, server: bool) -> None:
    p.add_argument("template", nargs="?", help="模板：.xlsx 文件路径，或 --list 列出的模板名称")
    p.add_argument("--period", help="统计期间：2024-05（月）、2024-Q3（季度）或 2024（年度）")
    p.add_argument("--org", required=False,
                   help="区划代码（村/社区、乡镇/街道或县）" + ("" if server else "，默认：本机单位"))
    p.add_argument("-o", "--output", help="输出的 Excel 文件（.xlsx）")
    p.add_argument("--filler", default="", help="填报人姓名（写入“填报人”）")
    p.add_argument("--list", action="store_true", help="列出可用的报表模板（内置示例和县级发布的）")
    p.add_argument("--catalogue", action="store_true", help="列出模板可用的统计项和筛选字段")
    p.add_argument("--check", action="store_true", help="只检查模板（映射表的统计项、字段、值和单元格）")
    p.add_argument("--prepare", action="store_true",
                   help="为部门报表加上空白映射表（统计项可下拉选择），用 -o 指定保存的模板文件")


def run_fill(engine, repo, args, default_org: str | None) -> int:
    from reports.fill.catalogue import catalogue_text
    from reports.fill.fill import FillError, fill_template, period_for_month
    from reports.fill.library import all_templates, find_template
    from reports.fill.template import MAPPING_SHEET, TemplateError

    if args.catalogue:
        print(catalogue_text(repo.choices()))
        return 0
    if args.list:
        today = dt.date.today()
        for e in all_templates(engine):
            due = period_for_month(e.template.period_kind, today.year, today.month)
            when = f"本月应报：{due.text}" if due else "本月不报"
            print(f"{e.name}\t{e.template.period_label}\t{e.origin}\t{when}")
        return 0
    if not args.template:
        raise UserError("请给出模板（.xlsx 文件或模板名称），或用 --list 查看可用的模板")
    try:
        if args.prepare:
            if not args.output:
                raise UserError("请用 -o 指定保存的模板文件，例如：-o 模板.xlsx")
            from reports.fill.prepare import prepare

            path = prepare(args.template, args.output, repo.choices())
            print(f"已加上映射表：{path}\n请在“{MAPPING_SHEET}”表中每个要填的数字写一行，"
                  f"再用 taizhang fill --check {path} 检查")
            return 0
        template = find_template(args.template, engine, repo.choices())
        if args.check:
            print(f"模板“{template.name}”（{template.period_label}）检查通过：{len(template.mappings)} 条映射")
            return 0
        if not args.period:
            raise UserError("请用 --period 指定统计期间，例如 --period 2024-Q3")
        if not args.output or not str(args.output).lower().endswith(".xlsx"):
            raise UserError("请用 -o 指定输出的 Excel 文件（以 .xlsx 结尾），例如：-o 统计表.xlsx")
        org = args.org or default_org
        if not org:
            raise UserError("本机尚未设置单位，请用 --org 指定区划代码（村/社区、乡镇/街道或县）")
        result = fill_template(engine, template, org, args.period, filler=args.filler)
        path = result.save(args.output)
    except (TemplateError, FillError) as exc:
        raise UserError(str(exc)) from None
    numbers = sum(1 for c in result.cells if c.mapping.measure.is_number)
    print(f"{result.unit.name} {result.period.text}《{template.name}》：已填 {numbers} 个数字")
    print(f"已保存：{path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fill", help="按部门报表模板，从台账生成报表（一表通）",
                       description="用台账数据填写部门报表模板，保持部门原有格式。"
                                   "示例：taizhang fill 志愿服务情况统计表 --period 2024-05 -o 志愿服务.xlsx")
    add_fill_arguments(p, server=False)
    p.set_defaults(func=on_this_pc(run_fill))
